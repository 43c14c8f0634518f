/**
 * How pixel bytes become network inputs. Plain data (JSON-serialisable), so a checkpoint can keep it
 * and evaluation uses exactly what training used.
 */
import { UserError } from '../util/errors.js';
import type { Cifar10Split } from './cifar10.js';

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
 * Exact: integer sums are exact in doubles for any CIFAR-sized set.
 */
export function computeChannelStats(split: Cifar10Split): ChannelStats {
  if (split.count === 0) throw new UserError('cannot compute channel statistics of an empty training set');
  const sum = [0, 0, 0];
  const sumSq = [0, 0, 0];
  const px = split.pixels;
  for (let i = 0; i < split.count; i++) {
    for (let c = 0; c < 3; c++) {
      const base = i * 3072 + c * 1024;
      // Partial sums stay small integers (< 2^31), so the inner loop works in int-ish doubles.
      let s = 0;
      let q = 0;
      for (let k = 0; k < 1024; k++) {
        const v = px[base + k];
        s += v;
        q += v * v;
      }
      sum[c] += s;
      sumSq[c] += q;
    }
  }
  const n = split.count * 1024;
  const mean = sum.map((s) => s / n) as [number, number, number];
  const std = sumSq.map((q, c) => Math.sqrt(Math.max(0, q / n - mean[c] * mean[c]))) as [number, number, number];
  return { mean, std };
}

/** `--normalize` → standardisation with the training set's statistics; otherwise ConvNetJS scaling. */
export function makePreprocessing(normalize: boolean, train: Cifar10Split): Preprocessing {
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
