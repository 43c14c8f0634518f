import { join } from 'node:path';
import type { Cifar10 } from '../data/cifar10.js';
import type { Preprocessing } from '../data/preprocess.js';
import { countNonFinite } from '../nn/finite.js';
import { Network } from '../nn/network.js';
import { Optimizer, type OptimizerState } from '../nn/optimizers.js';
import { saveSnapshot, type Snapshot, type TrainingProgress } from '../nn/snapshot.js';
import type { ModelSpec } from '../nn/spec.js';
import { WorkerPool } from '../parallel/pool.js';
import { errorMessage, UserError } from '../util/errors.js';
import { hashKeys, Rng } from '../util/rng.js';
import type { ProbeResult } from '../viz/types.js';
import type { RunSettings, TrainConfig } from './config.js';
import { confusionMatrix, writeMetricsFiles, type EpochRecord } from './metrics.js';
import { HealthMeter, type HealthMeterState } from './health.js';
import { patchPass, SUBSET_SIZE, type PatchPassResult } from './patch-pass.js';
import { chooseProbe, probeSplit } from './probe.js';
import { DEFAULT_LR_SCHEDULE, learningRateAt } from './schedule.js';
import { updateRunJson } from './run-info.js';
import { WeightAverage, type WeightAverageState } from './ema.js';
import { evaluateEpoch, evaluationNote, validationFields } from './evaluation.js';
import { describeSkippedSteps, formatVizSteps, VizStepPlanner, type SkippedStep } from './viz-steps.js';

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
interface EpochProgress {
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

function epochPermutation(seed: number, epoch: number, n: number): Int32Array {
  return new Rng(hashKeys(seed, 0x5eed0000 + epoch)).permutation(n);
}

export function checkpointPath(out: string, epochsCompleted: number, midEpoch = false): string {
  const name = `epoch-${String(epochsCompleted).padStart(3, '0')}${midEpoch ? '-interrupted' : ''}.json`;
  return join(out, 'checkpoints', name);
}

const now = (): number => performance.now() / 1000;

/** Test records whose accuracy is also reported on its own (CIFAR-10's first 1,000, see EpochRecord). */
const FIRST_TEST_RECORDS = 1000;

function accuracyOfFirst(labels: Uint8Array, predictions: Int32Array, count: number): number {
  let correct = 0;
  for (let i = 0; i < count; i++) if (predictions[i] === labels[i]) correct++;
  return correct / count;
}

/** Train for config.epochs epochs (from the resumed point, if any) on a pool of worker threads. */
export async function train(run: TrainRun): Promise<TrainOutcome> {
  const { config, settings, spec, data, reporter } = run;
  const trainCount = data.train.count;
  const testCount = data.test.count;
  const classes = spec.shapes[spec.shapes.length - 1][0];
  const pool = new WorkerPool({
    // Buffers sized by the data actually used: --batch-size 10000000 on 64 images needs 64 images' worth.
    spec, workers: settings.workers, seed: config.seed, microBatch: config.microBatch, maxBatchSize: Math.max(1, Math.min(config.batchSize, trainCount)),
    evalMicroBatch: 50, preprocessing: run.preprocessing, augmentation: config.augmentation, labelSmoothing: config.labelSmoothing ?? 0,
    tta: config.tta, train: data.train, test: data.test, val: data.val,
  });
  try {
    pool.params.set(run.initialParams);
    // The main thread's replica reads the shared parameters and state; it folds each step's statistics
    // into the state and is used for probes and checkpoints.
    const net = new Network(spec, { params: pool.params, state: pool.state });
    if (run.initialState) pool.state.set(run.initialState);
    else net.resetState();
    const optimizer = new Optimizer(config.optimizer, net.paramCount, run.resume?.optimizer);
    const average = config.ema === undefined ? undefined : new WeightAverage(config.ema, pool.params, pool.state, run.resume?.average);
    const records: EpochRecord[] = (run.resume?.progress.metrics as EpochRecord[] | undefined)?.slice() ?? [];
    let epoch = run.resume?.progress.epoch ?? 0;
    const saved = run.resume?.progress.extra?.epochProgress as EpochProgress | undefined;
    let progress: EpochProgress = saved ?? { batch: 0, lossSum: 0, decaySum: 0, correct: 0, seen: 0, trainSeconds: 0 };
    run.visualizer?.restore(run.resume?.progress.extra?.viz as Record<string, unknown> | undefined);
    const probeIndices = chooseProbe(testCount, config.seed, config.probeCount, config.probe);
    const batches = Math.ceil(trainCount / config.batchSize);
    const health = new HealthMeter(net.paramRanges, batches);
    const savedHealth = run.resume?.progress.extra?.health as HealthMeterState | undefined;
    if (saved && savedHealth) health.restore(savedHealth);
    let lastCheckpoint: string | undefined;
    // The rate of each step is a function of the optimizer's step count (kept in checkpoints), so a
    // resumed run continues on the same curve.
    const schedule = config.lrSchedule ?? DEFAULT_LR_SCHEDULE;
    const scheduleLength = { epochs: config.epochs, stepsPerEpoch: Math.max(batches, 1) };
    const rateAt = (step: number) => learningRateAt(schedule, config.optimizer.learningRate, step, scheduleLength);

    // --viz-steps (viz-steps.ts): pictures during training. Drawing pauses training: its cost is its wall time.
    const stepPlan = run.visualizer?.step && config.viz !== 'none'
      ? new VizStepPlanner(config.vizSteps ?? 'none', batches, config.epochs * batches, run.vizStepBudget)
      : undefined;
    /** Steps not drawn (over the budget, or past the run): said in the log, run.json and the report. */
    const reportSkippedSteps = async (): Promise<void> => {
      const fresh = stepPlan?.takeSkipped() ?? [];
      if (!stepPlan || fresh.length === 0) return;
      reporter.log(`--viz-steps ${formatVizSteps(config.vizSteps ?? 'none')}: ${describeSkippedSteps(fresh)}`);
      await updateRunJson(settings.out, {
        vizStepsOutcome: { setting: formatVizSteps(config.vizSteps ?? 'none'), drawn: stepPlan.drawn, skipped: stepPlan.skipped },
      });
    };
    await reportSkippedSteps();
    let trainedSeconds = 0;
    let trainedSteps = 0;
    let epochStepViz = 0;
    const drawStep = async (step: number, epochsCompleted: number): Promise<void> => {
      if (!stepPlan?.due(step, trainedSeconds, trainedSteps)) return;
      const t = now();
      try {
        const probe = probeSplit(net, data.test, probeIndices, run.preprocessing);
        await run.visualizer!.step!({ step, epochsCompleted, probe, records, classNames: data.classNames });
      } catch (e) {
        reporter.log(`pictures of step ${step} failed: ${errorMessage(e).split('\n')[0]}; training goes on`);
      }
      stepPlan.drew(now() - t);
      epochStepViz += now() - t;
    };
    if (epoch === 0 && progress.batch === 0) await drawStep(0, 0);

    const snapshot = (epochsCompleted: number, epochProgress?: EpochProgress): Snapshot => ({
      spec,
      params: pool.params.slice(),
      state: pool.state.slice(),
      classNames: data.classNames,
      preprocessing: run.preprocessing,
      optimizer: { options: config.optimizer, state: optimizer.state },
      ...(average ? { average: { params: average.params.slice(), state: average.state.slice() } } : {}),
      training: {
        epoch: epochsCompleted,
        config: config as unknown as Record<string, unknown>,
        metrics: records,
        // Mid-epoch, the health meter's sums too, so the resumed epoch reports the same averages.
        extra: {
          epochProgress, viz: run.visualizer?.state(), ...(epochProgress ? { health: health.state() } : {}), ...(average ? { emaUpdates: average.updates } : {}),
        },
      },
    });

    /**
     * Nothing non-finite may reach a checkpoint: the NaN check on each batch's loss runs before the
     * update, so the last update of a run (and a test loss that overflowed) is only caught here.
     */
    const assertFinite = (epochNumber: number, where: string, testLoss?: number): void => {
      const bad = countNonFinite(pool.params);
      const lossBad = testLoss !== undefined && !Number.isFinite(testLoss);
      if (bad === 0 && !lossBad) return;
      const what = bad > 0
        ? `${bad.toLocaleString('en-US')} of ${pool.params.length.toLocaleString('en-US')} parameters became NaN or infinite`
        : `the test loss became ${testLoss}`;
      throw new UserError(
        `training diverged: ${what} in epoch ${epochNumber} (${where}); no checkpoint was written for it; ` +
          `try a smaller learning rate (--lr, now ${config.optimizer.learningRate})`,
        3,
      );
    };

    for (; epoch < config.epochs; epoch++) {
      const epochStart = now();
      pool.permutation.set(epochPermutation(config.seed, epoch, trainCount));
      for (; progress.batch < batches; progress.batch++) {
        const b = progress.batch;
        const start = b * config.batchSize;
        const count = Math.min(config.batchSize, trainCount - start);
        const t0 = now();
        const learningRate = rateAt(optimizer.state.step);
        const step = await pool.trainStep(epoch, optimizer.state.step, start, count);
        if (!Number.isFinite(step.lossSum)) {
          throw new UserError(
            `training diverged: the loss became ${step.lossSum} in epoch ${epoch + 1}, batch ${b + 1} of ${batches}; ` +
              `try a smaller learning rate (--lr, now ${config.optimizer.learningRate}); this step's rate was ${learningRate.toPrecision(3)}`,
            3,
          );
        }
        health.beforeUpdate(pool.params, pool.grads, count);
        const decay = optimizer.update(pool.params, pool.grads, net.paramRanges, count, learningRate);
        health.afterUpdate(pool.params, epoch, b);
        net.foldState(step.stats, step.counts);
        average?.update(pool.params, pool.state);
        progress.trainSeconds += now() - t0;
        progress.lossSum += step.lossSum;
        progress.decaySum += decay.l1 + decay.l2;
        progress.correct += step.correct;
        progress.seen += count;
        reporter.batch({
          epoch: epoch + 1, epochs: config.epochs, batch: b + 1, batches,
          loss: progress.lossSum / progress.seen + progress.decaySum / (b + 1),
          accuracy: progress.correct / progress.seen,
          imagesPerSecond: progress.seen / Math.max(progress.trainSeconds, 1e-9),
          stepLoss: step.lossSum / count + decay.l1 + decay.l2, stepAccuracy: step.correct / count, images: count,
        });
        trainedSeconds += now() - t0;
        trainedSteps += 1;
        if (stepPlan) await drawStep(epoch * batches + b + 1, epoch);
        if (run.interrupted() && b + 1 < batches) {
          progress.batch = b + 1;
          assertFinite(epoch + 1, `after batch ${b + 1} of ${batches}`);
          lastCheckpoint = checkpointPath(settings.out, epoch, true);
          await saveSnapshot(lastCheckpoint, snapshot(epoch, progress));
          await reportSkippedSteps();
          reporter.log(`interrupted: checkpoint written to ${lastCheckpoint}; continue with --resume ${lastCheckpoint}`);
          return { status: 'interrupted', epochsCompleted: epoch, records, lastCheckpoint, params: pool.params.slice(), state: pool.state.slice() };
        }
      }

      const evalStart = now();
      const { test: evaluation, val } = await evaluateEpoch(pool, average, testCount, data.val?.count ?? 0);
      const evalSeconds = now() - evalStart;
      const confusion = confusionMatrix(data.test.labels, evaluation.predictions, testCount, classes);
      const batchesRun = Math.max(batches, 1);
      const record: EpochRecord = {
        epoch: epoch + 1,
        trainLoss: progress.lossSum / Math.max(progress.seen, 1) + progress.decaySum / batchesRun,
        trainDataLoss: progress.lossSum / Math.max(progress.seen, 1),
        trainDecayLoss: progress.decaySum / batchesRun,
        trainAccuracy: progress.correct / Math.max(progress.seen, 1),
        testAccuracy: testCount ? evaluation.correct / testCount : 0,
        testLoss: testCount ? evaluation.lossSum / testCount : 0,
        seconds: 0,
        trainSeconds: progress.trainSeconds,
        evalSeconds,
        vizSeconds: epochStepViz,
        imagesPerSecond: progress.seen / Math.max(progress.trainSeconds, 1e-9),
        trainImages: progress.seen,
        testImages: testCount,
        learningRate: rateAt(Math.max(optimizer.state.step - 1, 0)),
        ...validationFields(val, data.val?.count ?? 0),
        ...(evaluationNote(config) ? { evaluatedWith: evaluationNote(config) } : {}),
      };
      if (testCount > FIRST_TEST_RECORDS) record.testAccuracyFirst1000 = accuracyOfFirst(data.test.labels, evaluation.predictions, FIRST_TEST_RECORDS);
      records.push(record);
      epochStepViz = 0;
      assertFinite(epoch + 1, 'at its end', testCount ? record.testLoss : undefined);
      // Every epoch: layer health, with activation statistics over a fixed test subset (one forward
      // pass, ~0.5 s); on picture epochs the same pass also collects the top patches.
      const vizDue = run.visualizer && config.viz !== 'none' && ((epoch + 1) % config.vizEvery === 0 || epoch + 1 === config.epochs);
      const pass = patchPass(net, data.test, run.preprocessing, SUBSET_SIZE, Boolean(vizDue));
      record.health = health.takeEpoch(net.layers.map((l) => ({ type: l.type, isLoss: l.def.hints.loss !== undefined })), pass.health, pass.testIndices.length);

      // The checkpoint (and metrics) first: a picture that fails must not cost the epoch.
      progress = { batch: 0, lossSum: 0, decaySum: 0, correct: 0, seen: 0, trainSeconds: 0 };
      lastCheckpoint = checkpointPath(settings.out, epoch + 1);
      record.seconds = now() - epochStart;
      await Promise.all([saveSnapshot(lastCheckpoint, snapshot(epoch + 1)), writeMetricsFiles(settings.out, records)]);

      const vizStart = now();
      if (run.visualizer && vizDue) {
        try {
          const probe = probeSplit(net, data.test, probeIndices, run.preprocessing);
          await run.visualizer.epochEnd({ epoch: epoch + 1, probe, records, confusion, classNames: data.classNames, patches: pass });
        } catch (e) {
          reporter.log(`pictures of epoch ${epoch + 1} failed: ${errorMessage(e).split('\n')[0]}; training goes on`);
        }
        record.vizSeconds += now() - vizStart;
        record.seconds = now() - epochStart;
        // Again with the pictures' timings and scale state, so a resumed run draws as this one would.
        await Promise.all([saveSnapshot(lastCheckpoint, snapshot(epoch + 1)), writeMetricsFiles(settings.out, records)]);
      }
      await reportSkippedSteps();
      if (run.visualizer) {
        try {
          await run.visualizer.report({ records, confusion, classNames: data.classNames, ...(stepPlan ? { skippedSteps: stepPlan.skipped } : {}) });
        } catch (e) {
          reporter.log(`the report page of epoch ${epoch + 1} failed: ${errorMessage(e).split('\n')[0]}; training goes on`);
        }
      }
      reporter.epoch(record);
      if (run.interrupted()) {
        reporter.log(`interrupted: checkpoint written to ${lastCheckpoint}; continue with --resume ${lastCheckpoint}`);
        return { status: 'interrupted', epochsCompleted: epoch + 1, records, lastCheckpoint, params: pool.params.slice(), state: pool.state.slice() };
      }
    }
    return { status: 'completed', epochsCompleted: epoch, records, lastCheckpoint, params: pool.params.slice(), state: pool.state.slice() };
  } finally {
    await pool.close();
  }
}
