/**
 * The layers of issue 15 inside networks: batchnorm, add, concat, gap, avg pool and conv without bias.
 * Their kernels are checked one by one against float64 references in test/tensor; here: the wiring
 * (finite differences through a residual block and a branching graph), the running statistics (used in
 * evaluation, equal for any number of workers, saved and restored exactly), and the ResNet presets.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadCifar10 } from '../../src/data/cifar10.js';
import { makePreprocessing } from '../../src/data/preprocess.js';
import type { PassContext } from '../../src/nn/layers/layer.js';
import { Network } from '../../src/nn/network.js';
import { defaultOptimizerOptions } from '../../src/nn/optimizers.js';
import { parseSnapshot, type Snapshot } from '../../src/nn/snapshot.js';
import { parseSpec, presetSpec } from '../../src/nn/spec.js';
import { refBatchNormForward } from '../tensor/reference.js';
import type { TrainConfig } from '../../src/train/config.js';
import { train, type TrainOutcome } from '../../src/train/trainer.js';
import { Rng } from '../../src/util/rng.js';
import { tempDir } from '../data/fixtures.js';
import { gradCheck } from '../helpers/gradcheck.js';
import { silentReporter, smallCifar, smallConfig } from '../helpers/train.js';

const input = { type: 'input', name: 'x', out_sx: 6, out_sy: 6, out_depth: 3 };

/**
 * A residual block with a projection shortcut, as in the presets, with tanh for relu: in training a
 * weight's step moves every value of its batch-norm channel, and relu's kink would sit within h of some.
 */
const RESIDUAL = [
  input,
  { type: 'conv', name: 'c1', sx: 3, pad: 1, stride: 2, filters: 4, bias: false },
  { type: 'batchnorm', name: 'bn1' },
  { type: 'tanh', name: 'r1' },
  { type: 'conv', name: 'c2', sx: 3, pad: 1, filters: 4, bias: false },
  { type: 'batchnorm', name: 'bn2', momentum: 0.3 },
  { type: 'conv', name: 'proj', inputs: ['x'], sx: 1, stride: 2, filters: 4, bias: false },
  { type: 'batchnorm', name: 'projbn', affine: false },
  { type: 'add', name: 'sum', inputs: ['bn2', 'projbn'] },
  { type: 'tanh', name: 'out' },
  { type: 'gap' },
  { type: 'softmax', num_classes: 3 },
];

/** Branches that join by concat and by a three-way add, with avg and max pools and a batch norm after an fc. */
const BRANCHING = [
  input,
  { type: 'conv', name: 'a', sx: 3, pad: 1, filters: 3, activation: 'tanh' },
  { type: 'pool', name: 'avg', inputs: ['a'], mode: 'avg', sx: 3, stride: 2, pad: 1 },
  { type: 'pool', name: 'avgpad', inputs: ['a'], mode: 'avg', sx: 3, stride: 2, pad: 1, count_include_pad: true },
  { type: 'pool', name: 'max', inputs: ['x'], sx: 2, stride: 2 },
  { type: 'concat', name: 'cat', inputs: ['avg', 'max', 'avgpad'] },
  { type: 'conv', name: 'b', sx: 1, filters: 9, bias: false },
  { type: 'add', name: 'three', inputs: ['b', 'cat', 'b'] },
  { type: 'fc', num_neurons: 5 },
  { type: 'batchnorm' },
  { type: 'softmax', num_classes: 3 },
];

describe('new layers in networks: finite-difference gradient checks', () => {
  const labels = Int32Array.from([0, 2, 1, 2]);
  it('a residual block (conv without bias, batch norm, projection shortcut, add, gap), training', () => {
    gradCheck(RESIDUAL, { labels }, 4, 8, { paramProbes: 4, randomState: true });
  });
  it('the same block in evaluation (running statistics)', () => {
    gradCheck(RESIDUAL, { labels }, 4, 8, { paramProbes: 4, randomState: true, training: false });
  });
  it('a branching graph: concat of avg / max pools, a three-way add reading one layer twice, batch norm after fc', () => {
    gradCheck(BRANCHING, { labels }, 4, 8, { paramProbes: 4, randomState: true });
  });
});

describe('layer fields', () => {
  it('are checked with messages naming layer and field', () => {
    const bad = (extra: Record<string, unknown>, type = 'batchnorm') => () => parseSpec([input, { type, ...extra }, { type: 'softmax', num_classes: 2 }], 'spec.json');
    expect(bad({ momentum: 2 })).toThrow(/batchnorm.*field "momentum" must be between 0 and 1/);
    expect(bad({ affine: 'yes' })).toThrow(/field "affine" must be true or false/);
    expect(bad({ sx: 2, mode: 'median' }, 'pool')).toThrow(/field "mode" must be "max" or "avg"/);
    expect(bad({ sx: 2, count_include_pad: true }, 'pool')).toThrow(/count_include_pad" applies to "mode": "avg" only/);
    expect(() => parseSpec([input, { type: 'conv', name: 'c', sx: 3, filters: 2 }, { type: 'add', inputs: ['x', 'c'] }, { type: 'softmax', num_classes: 2 }], 'spec.json'))
      .toThrow(/add.*field "inputs" must all have the same shape: input 1 is 3x6x6, input 2 is 2x4x4/);
    expect(() => parseSpec([input, { type: 'pool', name: 'p', sx: 2 }, { type: 'concat', inputs: ['x', 'p'] }, { type: 'softmax', num_classes: 2 }], 'spec.json'))
      .toThrow(/concat.*same height and width/);
  });
});

describe('batch-norm running statistics', () => {
  it('evaluation normalises with them; training with the batch statistics, which foldState folds in', () => {
    const spec = parseSpec([{ type: 'input', out_sx: 2, out_sy: 2, out_depth: 3 }, { type: 'batchnorm', momentum: 0.25 }, { type: 'softmax', num_classes: 12 }], 'bn');
    const net = new Network(spec);
    net.initialize(1);
    net.resetState();
    const rng = new Rng(4);
    const n = 5;
    const x = new Float32Array(n * 12).map(() => 3 * rng.next() - 1);
    const bn = net.layers[1];
    const [gamma, beta] = bn.params;
    gamma.data.set([1.5, 0.5, 2]);
    beta.data.set([0.1, -0.2, 0.3]);
    const ctx: PassContext = { training: true, ws: net.ws, seed: 1, step: 0, firstSample: 0 };
    net.forward(x, n, ctx);
    const d = { n, c: 3, spatial: 4 };
    const close = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).forEach((v, i) => expect(v).toBeCloseTo(b[i], 5));
    close(net.acts[1].subarray(0, n * 12), refBatchNormForward(d, x, gamma.data, beta.data, 1e-5, null));
    // Fold this micro-batch's statistics: mean and unbiased variance with momentum 0.25 from 0 / 1.
    net.foldState([net.stats.slice()], [n]);
    const [rm, rv] = bn.state;
    for (let c = 0; c < 3; c++) {
      const vals: number[] = [];
      for (let b = 0; b < n; b++) for (let s = 0; s < 4; s++) vals.push(x[(b * 3 + c) * 4 + s]);
      const mean = vals.reduce((a, v) => a + v, 0) / vals.length;
      const unbiased = vals.reduce((a, v) => a + (v - mean) ** 2, 0) / (vals.length - 1);
      expect(rm.data[c]).toBeCloseTo(0.25 * mean, 5);
      expect(rv.data[c]).toBeCloseTo(0.75 + 0.25 * unbiased, 5);
    }
    net.forward(x, n, { ...ctx, training: false });
    close(net.acts[1].subarray(0, n * 12), refBatchNormForward(d, x, gamma.data, beta.data, 1e-5, { mean: rm.data, variance: rv.data }));
  });
});

/** The branching residual spec on 32x32 images, for training runs. */
const TRAIN_SPEC = [
  { type: 'input', name: 'x', out_sx: 32, out_sy: 32, out_depth: 3 },
  { type: 'conv', name: 'c1', sx: 3, pad: 1, stride: 2, filters: 4, bias: false },
  { type: 'batchnorm', name: 'bn1' },
  { type: 'relu', name: 'r1' },
  { type: 'conv', name: 'c2', sx: 3, pad: 1, filters: 4, bias: false },
  { type: 'batchnorm', name: 'bn2' },
  { type: 'add', name: 'sum', inputs: ['bn2', 'r1'] },
  { type: 'relu', name: 'out' },
  { type: 'pool', mode: 'avg', sx: 2, stride: 2 },
  { type: 'gap' },
  { type: 'softmax', num_classes: 10 },
];

async function trainBranching(config: TrainConfig, workers: number, out: string, resume?: Snapshot, interruptAfter?: number): Promise<TrainOutcome> {
  const spec = parseSpec(TRAIN_SPEC, 'branching.json');
  const data = await loadCifar10(config.data, { shared: true });
  const net = new Network(spec);
  net.initialize(config.seed);
  net.resetState();
  let batches = 0;
  return train({
    config, settings: { out, workers, json: false, quiet: true }, spec, data, preprocessing: makePreprocessing(false, data.train),
    initialParams: resume ? resume.params : net.params, initialState: resume ? resume.state : net.state,
    resume: resume ? { optimizer: resume.optimizer!.state, progress: resume.training! } : undefined,
    reporter: { ...silentReporter, batch: () => void (batches += 1) },
    interrupted: () => interruptAfter !== undefined && batches >= interruptAfter,
  });
}

const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const stateOf = (file: string) => parseSnapshot(JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>, file);

describe('a branching batch-norm network in training', () => {
  const data = smallCifar();
  const config = smallConfig(data, {
    model: 'branching.json', epochs: 3, optimizer: { ...defaultOptimizerOptions('nesterov'), learningRate: 0.05, l2Decay: 0, weightDecay: 5e-4 },
    lrSchedule: { kind: 'cosine', stepFactor: 0.1 },
  });

  it('trains to the same weights and running statistics with 1 and 3 workers, and resumes exactly mid-epoch', async () => {
    const outOne = tempDir('cnnviz-bn-');
    const one = await trainBranching(config, 1, outOne);
    const three = await trainBranching(config, 3, tempDir('cnnviz-bn-'));
    expect(bits(one.params).equals(bits(three.params))).toBe(true);
    const s1 = stateOf(one.lastCheckpoint!);
    const s3 = stateOf(three.lastCheckpoint!);
    expect(s1.state!.length).toBe(2 * (4 + 4));
    expect(bits(s1.state!).equals(bits(s3.state!))).toBe(true);
    // The running statistics moved away from their initial 0 and 1.
    expect(s1.state!.some((v, i) => (i % 8 < 4 ? v !== 0 : v !== 1))).toBe(true);

    const out = tempDir('cnnviz-bn-');
    const cut = await trainBranching(config, 2, out, undefined, 6);
    expect(cut.status).toBe('interrupted');
    const resumed = await trainBranching(config, 2, out, stateOf(cut.lastCheckpoint!));
    expect(bits(resumed.params).equals(bits(one.params))).toBe(true);
    expect(bits(stateOf(resumed.lastCheckpoint!).state!).equals(bits(s1.state!))).toBe(true);
    expect(resumed.records.map((r) => r.testAccuracy)).toEqual(one.records.map((r) => r.testAccuracy));
  });
});

describe('ResNet presets', () => {
  it('resnet8 and resnet20 have the parameter counts of He et al. / the PyTorch anchor', () => {
    const count = (name: string) => new Network(presetSpec(name)).paramCount;
    expect(count('resnet8')).toBe(78_042);
    expect(count('resnet20')).toBe(272_474);
  });
});
