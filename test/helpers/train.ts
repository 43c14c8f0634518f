import { join } from 'node:path';
import { loadCifar10 } from '../../src/data/cifar10.js';
import { holdBack } from '../../src/data/holdout.js';
import { makePreprocessing } from '../../src/data/preprocess.js';
import { Network } from '../../src/nn/network.js';
import { defaultOptimizerOptions } from '../../src/nn/optimizers.js';
import type { Snapshot } from '../../src/nn/snapshot.js';
import { parseSpec } from '../../src/nn/spec.js';
import type { TrainConfig } from '../../src/train/config.js';
import { train, type EpochVisualizer, type TrainOutcome, type TrainReporter } from '../../src/train/trainer.js';
import { tempDir, writeCifarDir } from '../data/fixtures.js';

/** A small network touching conv, relu, pool, dropout and fc, on CIFAR-shaped input. */
export const SMALL_SPEC = [
  { type: 'input', out_sx: 32, out_sy: 32, out_depth: 3 },
  { type: 'conv', sx: 5, filters: 4, stride: 2, pad: 2, activation: 'relu' },
  { type: 'pool', sx: 2, stride: 2 },
  { type: 'fc', num_neurons: 12, activation: 'tanh', drop_prob: 0.3 },
  { type: 'softmax', num_classes: 10 },
];

export const silentReporter: TrainReporter = { log: () => undefined, batch: () => undefined, epoch: () => undefined };

/** A generated CIFAR-format folder: 60 training images (uneven files) and 20 test images. */
export function smallCifar(): string {
  return writeCifarDir(join(tempDir('cnnviz-train-'), 'cifar'), [13, 11, 12, 10, 14], 20);
}

export function smallConfig(data: string, overrides: Partial<TrainConfig> = {}): TrainConfig {
  return {
    model: 'small.json', data, epochs: 2, batchSize: 16, microBatch: 4,
    optimizer: { ...defaultOptimizerOptions('sgd'), learningRate: 0.05, l2Decay: 0.001 },
    seed: 7, augmentation: { flip: true, shift: 2 }, normalize: false, probeCount: 4, viz: 'none', vizEvery: 1, vizScale: 'layer',
    ...overrides,
  };
}

/** Train in-process on the worker pool, optionally resuming from a checkpoint snapshot. */
export async function trainSmall(
  config: TrainConfig,
  opts: { workers: number; out?: string; resume?: Snapshot; interruptAfterBatches?: number; spec?: unknown[]; visualizer?: EpochVisualizer; log?: (m: string) => void },
): Promise<TrainOutcome> {
  const spec = parseSpec(opts.spec ?? SMALL_SPEC, 'small.json');
  const data = holdBack(await loadCifar10(config.data, { shared: true, trainLimit: config.trainLimit, testLimit: config.testLimit }), config.holdout);
  const net = new Network(spec);
  net.initialize(config.seed);
  let batches = 0;
  return train({
    config, settings: { out: opts.out ?? tempDir('cnnviz-out-'), workers: opts.workers, json: false, quiet: true },
    spec, data, preprocessing: makePreprocessing(config.normalize, data.train),
    initialParams: opts.resume ? opts.resume.params : net.params,
    initialState: opts.resume?.state,
    resume: opts.resume
      ? {
          optimizer: opts.resume.optimizer!.state, progress: opts.resume.training!,
          ...(opts.resume.average ? { average: { ...opts.resume.average, updates: opts.resume.training!.extra!.emaUpdates as number } } : {}),
        }
      : undefined,
    reporter: { ...silentReporter, batch: () => void (batches += 1), log: opts.log ?? silentReporter.log },
    visualizer: opts.visualizer,
    interrupted: () => opts.interruptAfterBatches !== undefined && batches >= opts.interruptAfterBatches,
  });
}
