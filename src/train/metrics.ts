import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { EpochMetrics } from '../viz/types.js';

/** Per-epoch record: the viz contract's fields plus timings split by phase. */
export interface EpochRecord extends EpochMetrics {
  testLoss: number;
  trainImages: number;
  testImages: number;
  /** Seconds spent in training steps only (imagesPerSecond = trainImages / trainSeconds). */
  trainSeconds: number;
  evalSeconds: number;
  vizSeconds: number;
  /** Learning rate of the epoch's last optimizer step. */
  learningRate: number;
  /**
   * Test accuracy on the first 1,000 test records only (CIFAR-10's lossless ones; images 1000..9999
   * of the shared copy were rebuilt from JPEG). Absent when the test set has 1,000 images or fewer.
   */
  testAccuracyFirst1000?: number;
  /** --holdout: accuracy and mean loss on the training images held back (never trained on). */
  valAccuracy?: number;
  valLoss?: number;
  /** What the test and validation figures were computed with (--ema, --tta); absent: the trained weights alone. */
  evaluatedWith?: string;
}

const CSV_COLUMNS: (keyof EpochRecord)[] = [
  'epoch', 'trainLoss', 'trainDataLoss', 'trainDecayLoss', 'trainAccuracy', 'testAccuracy', 'testLoss',
  'seconds', 'trainSeconds', 'evalSeconds', 'vizSeconds', 'imagesPerSecond', 'trainImages', 'testImages', 'learningRate', 'testAccuracyFirst1000',
  'valAccuracy', 'valLoss', 'evaluatedWith',
];

/** Rewrite metrics.jsonl and metrics.csv whole (atomically) after each epoch: never a half line. */
export async function writeMetricsFiles(outDir: string, records: EpochRecord[]): Promise<void> {
  const jsonl = records.map((r) => JSON.stringify(r)).join('\n') + (records.length ? '\n' : '');
  const csv = [CSV_COLUMNS.join(','), ...records.map((r) => CSV_COLUMNS.map((c) => String(r[c] ?? '')).join(','))].join('\n') + '\n';
  await Promise.all([writeFileAtomic(join(outDir, 'metrics.jsonl'), jsonl), writeFileAtomic(join(outDir, 'metrics.csv'), csv)]);
}

/** Confusion matrix: rows = true class, columns = predicted class. */
export function confusionMatrix(labels: Uint8Array, predictions: Int32Array, count: number, classes: number): number[][] {
  const m = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < count; i++) {
    const p = predictions[i];
    if (p >= 0 && p < classes && labels[i] < classes) m[labels[i]][p] += 1;
  }
  return m;
}
