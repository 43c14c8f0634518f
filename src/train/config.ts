import type { Augmentation } from '../data/augment.js';
import type { DataOptions } from '../data/dataset.js';
import type { TtaMode } from '../data/tta.js';
import type { OptimizerOptions } from '../nn/optimizers.js';
import type { LrSchedule } from './schedule.js';

import { VIZ_SCALE_MODES, type VizScaleMode } from '../viz/scale.js';
import type { VizSteps } from './viz-steps.js';
import type { ExplorerDataMode } from '../viz/explorer/data.js';

export { VIZ_SCALE_MODES, type VizScaleMode };
export type VizMode = 'all' | 'none';
export const VIZ_MODES: readonly VizMode[] = ['all', 'none'];

/** Everything that decides what a training run computes; recorded in run.json and in checkpoints. */
export interface TrainConfig {
  model: string;
  /** Folder with the data (CIFAR-10 binaries, CIFAR-100, MNIST IDX files or an image folder). */
  data: string;
  /** How to read it (kind, CIFAR-100 labels, image-folder size...); absent: CIFAR-10. */
  dataset?: DataOptions;
  epochs: number;
  batchSize: number;
  /** Images per micro-batch: the fixed unit whose gradients are summed in order (worker-count independent). */
  microBatch: number;
  optimizer: OptimizerOptions;
  /** How the learning rate changes over the run (absent in older runs: constant). */
  lrSchedule?: LrSchedule;
  /** Softmax label smoothing in training (absent in older runs: 0). */
  labelSmoothing?: number;
  seed: number;
  trainLimit?: number;
  testLimit?: number;
  augmentation: Augmentation | null;
  normalize: boolean;
  probe?: number[];
  probeCount: number;
  viz: VizMode;
  vizEvery: number;
  vizScale: VizScaleMode;
  /** Pictures during training (--viz-steps); absent in older runs: none. */
  vizSteps?: VizSteps;
  /** Test-time augmentation of the reported accuracies (--tta); absent: none. */
  tta?: TtaMode;
  /** Decay of the moving average of the weights the accuracies are reported for (--ema); absent: none. */
  ema?: number;
  /** Training images held back for validation (--holdout): the last ones; absent: none. */
  holdout?: number;
  /** The explorer's probe tensors (--explorer-data); absent in older runs: the default, half. */
  explorerData?: ExplorerDataMode;
}

/** Settings that change how a run is carried out but not what it computes. */
export interface RunSettings {
  out: string;
  workers: number;
  json: boolean;
  quiet: boolean;
  /** Checkpoint to continue from. */
  resume?: string;
}

export const TRAIN_DEFAULTS = {
  epochs: 10,
  batchSize: 32,
  microBatch: 8,
  optimizer: 'sgd',
  learningRate: 0.01,
  momentum: 0.9,
  l2Decay: 0.0001,
  seed: 1,
  augment: 'flip,shift',
  /** Probe images when --probe is not given (train and visualize). */
  probeCount: 8,
  vizEvery: 1,
  vizScale: 'robust',
  vizSteps: 'log',
  explorerData: 'half',
} as const;
