/**
 * Setting up a training run: the worker pool, the main thread's network over the pool's shared
 * parameters and state, the optimizer, and where the run starts (fresh, or the resumed checkpoint's
 * epoch, batch, metrics, health sums and picture state). A `Session` is the state the trainer's
 * steps (epoch.ts, evaluate.ts, checkpoint.ts, the picture modules) read and advance.
 */
import { Network } from '../nn/network.js';
import { Optimizer } from '../nn/optimizers.js';
import { WorkerPool } from '../parallel/pool.js';
import { hashKeys, Rng } from '../util/rng.js';
import { WeightAverage } from './ema.js';
import { HealthMeter, type HealthMeterState } from './health.js';
import type { EpochRecord } from './metrics.js';
import { chooseProbe } from './probe.js';
import type { EpochProgress, TrainOutcome, TrainRun } from './run.js';
import { DEFAULT_LR_SCHEDULE, learningRateAt } from './schedule.js';

export interface Session {
  run: TrainRun;
  pool: WorkerPool;
  /** The main thread's replica: folds each step's statistics into the state; used for probes and checkpoints. */
  net: Network;
  optimizer: Optimizer;
  /** --ema: the moving average of the weights and batch-norm statistics (evaluated and checkpointed). */
  average?: WeightAverage;
  /** One per finished epoch (a resumed run starts with the checkpoint's). */
  records: EpochRecord[];
  /** The epoch being run, from 0; after the last one, config.epochs. */
  epoch: number;
  progress: EpochProgress;
  health: HealthMeter;
  /** The test images the probe pictures show. */
  probeIndices: number[];
  batches: number;
  classes: number;
  /** The learning rate of optimizer step `step`. */
  rateAt(step: number): number;
  lastCheckpoint?: string;
}

export function freshProgress(): EpochProgress {
  return { batch: 0, lossSum: 0, decaySum: 0, correct: 0, seen: 0, trainSeconds: 0 };
}

/** The workers, sized for this run's data. */
export function startPool(run: TrainRun): WorkerPool {
  const { config, settings, spec, data } = run;
  return new WorkerPool({
    // Buffers sized by the data actually used: --batch-size 10000000 on 64 images needs 64 images' worth.
    spec, workers: settings.workers, seed: config.seed, microBatch: config.microBatch, maxBatchSize: Math.max(1, Math.min(config.batchSize, data.train.count)),
    evalMicroBatch: 50, preprocessing: run.preprocessing, augmentation: config.augmentation, labelSmoothing: config.labelSmoothing ?? 0,
    tta: config.tta, train: data.train, test: data.test, val: data.val,
  });
}

/** Parameters, state, optimizer and progress: fresh, or where the resumed checkpoint left them. */
export function startSession(run: TrainRun, pool: WorkerPool): Session {
  const { config, spec, data } = run;
  pool.params.set(run.initialParams);
  const net = new Network(spec, { params: pool.params, state: pool.state });
  if (run.initialState) pool.state.set(run.initialState);
  else net.resetState();
  const optimizer = new Optimizer(config.optimizer, net.paramCount, run.resume?.optimizer);
  const average = config.ema === undefined ? undefined : new WeightAverage(config.ema, pool.params, pool.state, run.resume?.average);
  const records: EpochRecord[] = (run.resume?.progress.metrics as EpochRecord[] | undefined)?.slice() ?? [];
  const saved = run.resume?.progress.extra?.epochProgress as EpochProgress | undefined;
  run.visualizer?.restore(run.resume?.progress.extra?.viz as Record<string, unknown> | undefined);
  const probeIndices = chooseProbe(data.test.count, config.seed, config.probeCount, config.probe);
  const batches = Math.ceil(data.train.count / config.batchSize);
  const health = new HealthMeter(net.paramRanges, batches);
  const savedHealth = run.resume?.progress.extra?.health as HealthMeterState | undefined;
  if (saved && savedHealth) health.restore(savedHealth);
  // The rate of each step is a function of the optimizer's step count (kept in checkpoints), so a
  // resumed run continues on the same curve.
  const schedule = config.lrSchedule ?? DEFAULT_LR_SCHEDULE;
  const scheduleLength = { epochs: config.epochs, stepsPerEpoch: Math.max(batches, 1) };
  return {
    run, pool, net, optimizer, average, records, probeIndices, batches, health,
    epoch: run.resume?.progress.epoch ?? 0,
    progress: saved ?? freshProgress(),
    classes: spec.shapes[spec.shapes.length - 1][0],
    rateAt: (step) => learningRateAt(schedule, config.optimizer.learningRate, step, scheduleLength),
  };
}

/** The order of the training images in `epoch`: a function of the seed and the epoch alone. */
export function epochPermutation(seed: number, epoch: number, n: number): Int32Array {
  return new Rng(hashKeys(seed, 0x5eed0000 + epoch)).permutation(n);
}

export function outcome(s: Session, status: TrainOutcome['status'], epochsCompleted: number): TrainOutcome {
  return { status, epochsCompleted, records: s.records, lastCheckpoint: s.lastCheckpoint, params: s.pool.params.slice(), state: s.pool.state.slice() };
}
