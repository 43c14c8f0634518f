/**
 * The end of an epoch's numbers: the test set and, with --holdout, the validation split evaluated on
 * the workers, on the trained weights or (--ema) on their moving average (test-time augmentation,
 * --tta, is done by the workers: src/parallel/micro-batch.ts); the epoch's record (training averages,
 * test loss and accuracy, timings, learning rate) and confusion matrix; and the layer health measured
 * on a fixed test subset.
 */
import type { EvalResult, WorkerPool } from '../parallel/pool.js';
import type { TrainConfig } from './config.js';
import { withWeights, type WeightAverage } from './ema.js';
import { confusionMatrix, type EpochRecord } from './metrics.js';
import { patchPass, SUBSET_SIZE, type PatchPassResult } from './patch-pass.js';
import { now } from './run.js';
import type { Session } from './session.js';

export interface EpochEvaluation {
  test: EvalResult;
  val?: EvalResult;
}

/** The test split and, with --holdout, the validation split, on the weights or their moving average. */
export async function evaluateSplits(pool: WorkerPool, average: WeightAverage | undefined, testCount: number, valCount: number): Promise<EpochEvaluation> {
  const both = async (): Promise<EpochEvaluation> => {
    const test = await pool.evaluate(testCount);
    return valCount > 0 ? { test, val: await pool.evaluate(valCount, 'val') } : { test };
  };
  return average ? withWeights(pool, average, both) : both();
}

/** What the reported accuracies were computed with, e.g. "weight average (ema 0.999); flip test-time augmentation"; undefined: the plain weights. */
export function evaluationNote(config: Pick<TrainConfig, 'ema' | 'tta'>): string | undefined {
  const parts = [
    ...(config.ema !== undefined ? [`weight average (ema ${config.ema})`] : []),
    ...(config.tta && config.tta !== 'none' ? [`${config.tta} test-time augmentation`] : []),
  ];
  return parts.length ? parts.join('; ') : undefined; // no comma: it is a metrics.csv field
}

/** The validation fields of an epoch's record (none without --holdout). */
export function validationFields(val: EvalResult | undefined, valCount: number): Pick<EpochRecord, 'valAccuracy' | 'valLoss'> {
  if (!val || valCount === 0) return {};
  return { valAccuracy: val.correct / valCount, valLoss: val.lossSum / valCount };
}

/** Test records whose accuracy is also reported on its own (CIFAR-10's first 1,000, see EpochRecord). */
const FIRST_TEST_RECORDS = 1000;

function accuracyOfFirst(labels: Uint8Array, predictions: Int32Array, count: number): number {
  let correct = 0;
  for (let i = 0; i < count; i++) if (predictions[i] === labels[i]) correct++;
  return correct / count;
}

/** Evaluate the test set and append the epoch's record (its `seconds` and `health` come later). */
export async function evaluateEpoch(s: Session, stepPictureSeconds: number): Promise<{ record: EpochRecord; confusion: number[][] }> {
  const { data } = s.run;
  const { progress, optimizer } = s;
  const testCount = data.test.count;
  const evalStart = now();
  const { test: evaluation, val } = await evaluateSplits(s.pool, s.average, testCount, data.val?.count ?? 0);
  const evalSeconds = now() - evalStart;
  const confusion = confusionMatrix(data.test.labels, evaluation.predictions, testCount, s.classes);
  const batchesRun = Math.max(s.batches, 1);
  const record: EpochRecord = {
    epoch: s.epoch + 1,
    trainLoss: progress.lossSum / Math.max(progress.seen, 1) + progress.decaySum / batchesRun,
    trainDataLoss: progress.lossSum / Math.max(progress.seen, 1),
    trainDecayLoss: progress.decaySum / batchesRun,
    trainAccuracy: progress.correct / Math.max(progress.seen, 1),
    testAccuracy: testCount ? evaluation.correct / testCount : 0,
    testLoss: testCount ? evaluation.lossSum / testCount : 0,
    seconds: 0,
    trainSeconds: progress.trainSeconds,
    evalSeconds,
    vizSeconds: stepPictureSeconds,
    imagesPerSecond: progress.seen / Math.max(progress.trainSeconds, 1e-9),
    trainImages: progress.seen,
    testImages: testCount,
    learningRate: s.rateAt(Math.max(optimizer.state.step - 1, 0)),
    ...validationFields(val, data.val?.count ?? 0),
    ...(evaluationNote(s.run.config) ? { evaluatedWith: evaluationNote(s.run.config) } : {}),
  };
  if (testCount > FIRST_TEST_RECORDS) record.testAccuracyFirst1000 = accuracyOfFirst(data.test.labels, evaluation.predictions, FIRST_TEST_RECORDS);
  s.records.push(record);
  return { record, confusion };
}

/** Are this epoch's pictures due (every --viz-every epochs, and the last)? */
export function picturesDue(s: Session): boolean {
  const { config, visualizer } = s.run;
  return Boolean(visualizer && config.viz !== 'none' && ((s.epoch + 1) % config.vizEvery === 0 || s.epoch + 1 === config.epochs));
}

/**
 * Layer health into `record`, with activation statistics over a fixed test subset (one forward pass,
 * ~0.5 s); on picture epochs the same pass also collects the top patches.
 */
export function measureHealth(s: Session, record: EpochRecord, withPatches: boolean): PatchPassResult {
  const { data, preprocessing } = s.run;
  const pass = patchPass(s.net, data.test, preprocessing, SUBSET_SIZE, withPatches);
  record.health = s.health.takeEpoch(s.net.layers.map((l) => ({ type: l.type, isLoss: l.def.hints.loss !== undefined })), pass.health, pass.testIndices.length);
  return pass;
}
