/**
 * What `train` is given and what it hands back: the run (settings, model, data, where it starts),
 * where it reports to, the picture hooks, and the outcome. Types only, so every step of the
 * trainer (session.ts, epoch.ts, evaluate.ts, checkpoint.ts, the picture modules) can share them.
 */
import type { Cifar10 } from '../data/cifar10.js';
import type { Preprocessing } from '../data/preprocess.js';
import type { OptimizerState } from '../nn/optimizers.js';
import type { TrainingProgress } from '../nn/snapshot.js';
import type { ModelSpec } from '../nn/spec.js';
import type { ProbeResult } from '../viz/types.js';
import type { RunSettings, TrainConfig } from './config.js';
import type { WeightAverageState } from './ema.js';
import type { EpochRecord } from './metrics.js';
import type { PatchPassResult } from './patch-pass.js';
import type { SkippedStep } from './viz-steps.js';

/** Where the trainer reports to: progress while training, a record per epoch, messages. */
export interface TrainReporter {
  log(message: string): void;
  batch(p: {
    epoch: number; epochs: number; batch: number; batches: number; loss: number; accuracy: number; imagesPerSecond: number;
    /** This batch alone (loss with decay, accuracy, images): what the live log (live.jsonl) plots. */
    stepLoss?: number; stepAccuracy?: number; images?: number;
  }): void;
  epoch(record: EpochRecord): void;
}

/** Called at the end of an epoch whose pictures are due. Returns state to keep in checkpoints. */
export interface EpochVisualizer {
  epochEnd(args: { epoch: number; probe: ProbeResult; records: EpochRecord[]; confusion: number[][]; classNames: string[]; patches?: PatchPassResult }): Promise<void>;
  /** `--viz-steps`: pictures at optimizer step `step` (epochsCompleted epochs done before it), then the report. */
  step?(args: { step: number; epochsCompleted: number; probe: ProbeResult; records: EpochRecord[]; classNames: string[] }): Promise<void>;
  /** After every epoch (pictures or not): the report page. */
  report(args: { records: EpochRecord[]; confusion: number[][]; classNames: string[]; skippedSteps?: readonly SkippedStep[] }): Promise<void>;
  state(): Record<string, unknown> | undefined;
  restore(state: Record<string, unknown> | undefined): void;
}

/** Progress inside an epoch, kept in a checkpoint written mid-epoch (Ctrl-C) so resuming is exact. */
export interface EpochProgress {
  /** Next batch to run. */
  batch: number;
  lossSum: number;
  decaySum: number;
  correct: number;
  seen: number;
  trainSeconds: number;
}

export interface TrainRun {
  config: TrainConfig;
  settings: RunSettings;
  spec: ModelSpec;
  data: Cifar10;
  preprocessing: Preprocessing;
  /** Starting parameters: initialised, from a snapshot, or from the checkpoint being resumed. */
  initialParams: Float32Array;
  /** Starting state (running statistics) likewise; absent: the layers' initial values. */
  initialState?: Float32Array;
  /** When resuming: the checkpoint's optimizer state and progress. */
  resume?: { optimizer: OptimizerState; progress: TrainingProgress; average?: WeightAverageState };
  reporter: TrainReporter;
  visualizer?: EpochVisualizer;
  /** Checked between batches; when it returns true the run checkpoints and stops (exit 130). */
  interrupted: () => boolean;
  /** Share of the training time --viz-steps may spend drawing (default LOG_BUDGET; tests and the bench change it). */
  vizStepBudget?: number;
}

export interface TrainOutcome {
  status: 'completed' | 'interrupted';
  epochsCompleted: number;
  records: EpochRecord[];
  lastCheckpoint?: string;
  params: Float32Array;
  state: Float32Array;
}

/** Wall-clock seconds, for the timings in the epoch records. */
export const now = (): number => performance.now() / 1000;
