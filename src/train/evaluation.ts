/**
 * The end-of-epoch evaluation: the test split and, with --holdout, the validation split, on the
 * trained weights or (--ema) on their moving average. Test-time augmentation (--tta) is done by the
 * workers (src/parallel/micro-batch.ts).
 */
import type { EvalResult, WorkerPool } from '../parallel/pool.js';
import type { TrainConfig } from './config.js';
import { withWeights, type WeightAverage } from './ema.js';
import type { EpochRecord } from './metrics.js';

export interface EpochEvaluation {
  test: EvalResult;
  val?: EvalResult;
}

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
