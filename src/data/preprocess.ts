/**
 * How pixel bytes become network inputs. Plain data (JSON-serialisable), so a checkpoint can keep it
 * and evaluation uses exactly what training used.
 */
import { UserError } from '../util/errors.js';
import type { ImageSplit } from './split.js';

export type Preprocessing =
  /** v/255 - 0.5, as the ConvNetJS CIFAR-10 demo does. */
  | { kind: 'scale' }
  /** (v - mean[c]) / std[c], per channel, mean and std in 0..255 pixel units. */
  | { kind: 'standardize'; mean: [number, number, number]; std: [number, number, number] };

export interface ChannelStats {
  mean: [number, number, number];
  std: [number, number, number];
}

export const SCALE: Preprocessing = { kind: 'scale' };

/**
 * Per-channel mean and (population) standard deviation of the split's pixels, in 0..255 units.
 * Exact: integer sums are exact in doubles for any CIFAR-sized set. A one-channel (grey) split gets its
 * one channel's values in all three slots, so the lookup table's first channel is right for it.
 */
export function computeChannelStats(split: ImageSplit): ChannelStats {
  if (split.count === 0) throw new UserError('cannot compute channel statistics of an empty training set');
  const [C, H, W] = split.shape;
  const plane = H * W;
  if (C !== 1 && C !== 3) throw new UserError(`cannot standardise ${C}-channel images (1 or 3 channels)`);
  const sum = [0, 0, 0];
  const sumSq = [0, 0, 0];
  const px = split.pixels;
  for (let i = 0; i < split.count; i++) {
    for (let c = 0; c < C; c++) {
      const base = (i * C + c) * plane;
      // Partial sums stay small integers (< 2^31 for images up to 181x181), so the inner loop works in int-ish doubles.
      let s = 0;
      let q = 0;
      for (let k = 0; k < plane; k++) {
        const v = px[base + k];
        s += v;
        q += v * v;
      }
      sum[c] += s;
      sumSq[c] += q;
    }
  }
  if (C === 1) {
    sum.fill(sum[0]);
    sumSq.fill(sumSq[0]);
  }
  const n = split.count * plane;
  const mean = sum.map((s) => s / n) as [number, number, number];
  const std = sumSq.map((q, c) => Math.sqrt(Math.max(0, q / n - mean[c] * mean[c]))) as [number, number, number];
  return { mean, std };
}

/** `--normalize` → standardisation with the training set's statistics; otherwise ConvNetJS scaling. */
export function makePreprocessing(normalize: boolean, train: ImageSplit): Preprocessing {
  if (!normalize) return { kind: 'scale' };
  const { mean, std } = computeChannelStats(train);
  return { kind: 'standardize', mean, std };
}

/** Smallest standard deviation used when dividing (a constant channel would otherwise give Infinity). */
const MIN_STD = 1e-3;

/** Scale and offset of channel c: input = byte * scale + offset. */
export function channelAffine(pre: Preprocessing, c: number): { scale: number; offset: number } {
  if (pre.kind === 'scale') return { scale: 1 / 255, offset: -0.5 };
  const std = Math.max(pre.std[c], MIN_STD);
  return { scale: 1 / std, offset: -pre.mean[c] / std };
}

/** Network input for byte v of channel c. */
export function preprocessValue(v: number, c: number, pre: Preprocessing): number {
  const { scale, offset } = channelAffine(pre, c);
  return Math.fround(v * scale + offset);
}

/** Inverse of preprocessValue, clamped to 0..255 (e.g. to draw an input image). */
export function toPixelValue(x: number, c: number, pre: Preprocessing): number {
  const { scale, offset } = channelAffine(pre, c);
  const v = Math.round((x - offset) / scale);
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * Fill `lut` (length >= 768) with the input value of every byte of every channel:
 * lut[c*256 + v] = preprocessValue(v, c, pre).
 */
export function fillLookupTable(pre: Preprocessing, lut: Float32Array): void {
  for (let c = 0; c < 3; c++) {
    const { scale, offset } = channelAffine(pre, c);
    for (let v = 0; v < 256; v++) lut[c * 256 + v] = v * scale + offset;
  }
}

export function describePreprocessing(pre: Preprocessing): string {
  if (pre.kind === 'scale') return 'pixel/255 - 0.5';
  const f = (a: number[]): string => a.map((x) => x.toFixed(2)).join(', ');
  return `standardize per channel (mean ${f(pre.mean)}; std ${f(pre.std)})`;
}
