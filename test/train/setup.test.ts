import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSpec } from '../../src/nn/spec.js';
import { createProgram } from '../../src/cli/main.js';
import { checkModelForData, loadCheckpoint, newConfig, refuseResumeConflicts, RESUME_FIXED_OPTIONS, RESUME_FREE_OPTIONS, resumedConfig, type TrainOptions } from '../../src/train/setup.js';
import { UserError } from '../../src/util/errors.js';

const FIX = join(import.meta.dirname, '..', 'fixtures');
const NAMES = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];

const options: TrainOptions = {
  model: 'convnetjs-cifar10', download: true, epochs: 10, batchSize: 4, microBatch: 8, optimizer: 'adam', l1: 0, l2: 0.0001, workers: 2, seed: 1,
  augment: 'flip', probeCount: 8, viz: 'all', vizEvery: 1, vizScale: 'layer',
};

describe('run setup without the CLI', () => {
  it('builds a new configuration: optimizer defaults per method, micro-batch at most the batch', () => {
    const config = newConfig({ ...options, lr: undefined }, '/data');
    expect(config.optimizer.method).toBe('adam');
    expect(config.optimizer.learningRate).toBe(0.001);
    expect(config.microBatch).toBe(4);
    expect(config.augmentation).toEqual({ flip: true, shift: 0 });
    expect(config.data).toBe('/data');
  });

  it('resumes with the checkpoint settings, changing only --epochs, --data and the --viz options given', () => {
    const checkpoint = loadCheckpoint(join(FIX, 'checkpoint-v1.json'));
    const saved = checkpoint.training.config as Record<string, unknown>;
    const given = new Set<keyof TrainOptions>(['epochs', 'vizScale', 'seed']);
    const config = resumedConfig(checkpoint, { ...options, epochs: 5, seed: 99, vizScale: 'run' }, (k) => given.has(k));
    expect(config.epochs).toBe(5);
    expect(config.vizScale).toBe('run');
    expect(config.seed).toBe(saved.seed); // not a setting a resumed run may change
    expect(config.batchSize).toBe(saved.batchSize);
    expect(config.data).toBe(saved.data);
  });

  it('refuses options a resumed run cannot honour, naming them all; every train option is classified', () => {
    const given = new Set<string>(['lr', 'batchSize', 'epochs', 'workers', 'nesterov']);
    expect(() => refuseResumeConflicts('ck.json', (k) => given.has(k))).toThrow(
      /^--resume ck\.json: --batch-size, --nesterov, --lr cannot change on a resumed run: it keeps the checkpoint's settings.*--model ck\.json \(a fresh optimizer\)$/,
    );
    expect(() => refuseResumeConflicts('ck.json', (k) => k === 'name')).toThrow(/--name cannot change.*--out names the folder to continue in/);
    expect(() => refuseResumeConflicts('ck.json', (k) => (RESUME_FREE_OPTIONS as readonly string[]).includes(k))).not.toThrow();
    const train = createProgram().commands.find((c) => c.name() === 'train')!;
    const attributes = train.options.map((o) => o.attributeName()).sort();
    expect([...RESUME_FIXED_OPTIONS, ...RESUME_FREE_OPTIONS].sort()).toEqual(attributes);
  });

  it('refuses a file that is not a training checkpoint', () => {
    expect(() => loadCheckpoint(join(FIX, 'tiny-all-layers.json'))).toThrow(/not a cnnviz training checkpoint/);
  });

  it('checks the model against the data: image shape, classes, class-label targets', () => {
    const data = { dir: '/data', classNames: NAMES };
    const spec = (defs: unknown[]) => parseSpec(defs, 'm.json');
    const input = { type: 'input', out_sx: 32, out_sy: 32, out_depth: 3 };
    expect(() => checkModelForData(spec([input, { type: 'softmax', num_classes: 10 }]), data)).not.toThrow();
    expect(() => checkModelForData(spec([input, { type: 'softmax', num_classes: 4 }]), data)).toThrow(/m.json: the last layer has 4 classes, but \/data has 10/);
    expect(() => checkModelForData(spec([input, { type: 'regression', num_neurons: 10 }]), data)).toThrow(/a regression network cannot be trained on CIFAR-10 class labels/);
    expect(() => checkModelForData(spec([{ ...input, out_sx: 24 }, { type: 'svm', num_classes: 10 }]), data)).toThrow(UserError);
  });
});
