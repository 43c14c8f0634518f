import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSpec } from '../../src/nn/spec.js';
import { createProgram } from '../../src/cli/main.js';
import { checkModelForData, loadCheckpoint, newConfig, refuseResumeConflicts, RESUME_FIXED_OPTIONS, RESUME_FREE_OPTIONS, RESUME_DATA_OPTIONS, resumedConfig, type TrainOptions } from '../../src/train/setup.js';
import type { TrainConfig } from '../../src/train/config.js';
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

  it('fills a preset\'s recipe for the options not given, test-time flips included, and lets an option given win', () => {
    const given = (...keys: (keyof TrainOptions)[]) => (k: keyof TrainOptions) => keys.includes(k);
    const preset = newConfig({ ...options, model: 'speedrun', tta: 'none', lr: undefined }, '/data', given());
    expect(preset.tta).toBe('flip');
    expect(preset.labelSmoothing).toBe(0.2);
    expect(preset.epochs).toBe(12);
    expect([preset.optimizer.method, preset.optimizer.learningRate, preset.batchSize, preset.microBatch]).toEqual(['nesterov', 0.2, 128, 32]);
    expect(newConfig({ ...options, model: 'speedrun', tta: 'none' }, '/data', given('tta')).tta).toBeUndefined();
    expect(newConfig({ ...options, model: 'speedrun', labelSmoothing: 0 }, '/data', given('labelSmoothing')).labelSmoothing).toBe(0);
    // The ResNet presets do not flip at test time unless asked.
    expect(newConfig({ ...options, model: 'resnet20', tta: 'none' }, '/data', given()).tta).toBeUndefined();
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

  it('refuses options a resumed run cannot honour when they differ from the checkpoint, naming both values; every train option is classified', () => {
    const checkpoint = loadCheckpoint(join(FIX, 'checkpoint-v1.json'));
    const saved = checkpoint.training.config as unknown as TrainConfig; // sgd, lr 0.05, batch 16, seed 3
    const refuse = (given: Partial<TrainOptions>): (() => void) => () =>
      refuseResumeConflicts('ck.json', saved, { ...options, ...given }, (k) => k in given);
    // The command line repeated with --resume: the same values are accepted.
    expect(refuse({ lr: 0.05, batchSize: 16, optimizer: 'sgd', seed: 3, epochs: 5, workers: 1 })).not.toThrow();
    expect(refuse({ lr: 0.5, batchSize: 16, optimizer: 'adam' })).toThrow(
      /^--resume ck\.json: --optimizer adam \(the checkpoint: sgd\), --lr 0\.5 \(the checkpoint: 0\.05\): a resumed run keeps the checkpoint's settings.*--model ck\.json \(a fresh optimizer\)$/,
    );
    expect(refuse({ augment: 'none' })).toThrow('--augment {"flip":false,"shift":0} (the checkpoint: {"flip":true,"shift":2})');
    expect(refuse({ name: 'x' })).toThrow(/--name \(not a setting a resumed run can take\).*--out names the folder to continue in/);
    expect(refuse({ nesterov: true, optimizer: 'adam' })).toThrow(/--optimizer adam .*--nesterov true/);
    const train = createProgram().commands.find((c) => c.name() === 'train')!;
    const attributes = train.options.map((o) => o.attributeName()).sort();
    expect([...RESUME_FIXED_OPTIONS, ...RESUME_FREE_OPTIONS, ...RESUME_DATA_OPTIONS].sort()).toEqual(attributes);
  });

  it('refuses a file that is not a training checkpoint', () => {
    expect(() => loadCheckpoint(join(FIX, 'tiny-all-layers.json'))).toThrow(/not a cnnviz training checkpoint/);
  });

  it('checks the model against the data: image shape, classes, class-label targets', () => {
    const data = { dir: '/data', kind: 'cifar-10' as const, classNames: NAMES, train: { count: 0, labels: new Uint8Array(0), pixels: new Uint8Array(0), shape: [3, 32, 32] as [number, number, number] } };
    const spec = (defs: unknown[]) => parseSpec(defs, 'm.json');
    const input = { type: 'input', out_sx: 32, out_sy: 32, out_depth: 3 };
    expect(() => checkModelForData(spec([input, { type: 'softmax', num_classes: 10 }]), data)).not.toThrow();
    expect(() => checkModelForData(spec([input, { type: 'softmax', num_classes: 4 }]), data)).toThrow(/m.json: the last layer has 4 classes, but \/data has 10/);
    expect(() => checkModelForData(spec([input, { type: 'regression', num_neurons: 10 }]), data)).toThrow(/a regression network cannot be trained on CIFAR-10 class labels/);
    expect(() => checkModelForData(spec([{ ...input, out_sx: 24 }, { type: 'svm', num_classes: 10 }]), data)).toThrow(UserError);
  });
});
