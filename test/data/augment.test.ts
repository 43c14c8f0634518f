import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { augmentDraw, formatAugment, parseAugment } from '../../src/data/augment.js';
import { fillBatch } from '../../src/data/batch.js';
import type { Cifar10Split } from '../../src/data/cifar10.js';
import {
  computeChannelStats,
  makePreprocessing,
  preprocessValue,
  toPixelValue,
  type Preprocessing,
} from '../../src/data/preprocess.js';
import { UserError } from '../../src/util/errors.js';

/** A split of `count` random-ish images with labels i % 10. */
function makeSplit(count: number, seed = 1): Cifar10Split {
  const pixels = new Uint8Array(count * 3072);
  let s = seed >>> 0;
  for (let i = 0; i < pixels.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    pixels[i] = s >>> 24;
  }
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) labels[i] = i % 10;
  return { count, labels, pixels, shape: [3, 32, 32] };
}

const SCALE: Preprocessing = { kind: 'scale' };
const px = (split: Cifar10Split, r: number, c: number, x: number, y: number): number =>
  split.pixels[r * 3072 + c * 1024 + y * 32 + x];
const at = (out: Float32Array, i: number, c: number, x: number, y: number): number => out[i * 3072 + c * 1024 + y * 32 + x];

/** Find a record index whose draw under (seed, epoch) satisfies `pred`. */
function findRecord(aug: { flip: boolean; shift: number }, seed: number, epoch: number, n: number, pred: (d: ReturnType<typeof augmentDraw>) => boolean): number {
  for (let r = 0; r < n; r++) if (pred(augmentDraw(aug, seed, epoch, r))) return r;
  throw new Error('no record with the wanted draw');
}

describe('parseAugment', () => {
  it('accepts flip, shift, flip,shift (in any order), shift=N and none', () => {
    expect(parseAugment('flip,shift')).toEqual({ flip: true, shift: 2 });
    expect(parseAugment('shift, flip')).toEqual({ flip: true, shift: 2 });
    expect(parseAugment('flip')).toEqual({ flip: true, shift: 0 });
    expect(parseAugment('shift')).toEqual({ flip: false, shift: 2 });
    expect(parseAugment('none')).toEqual({ flip: false, shift: 0 });
    expect(parseAugment('flip,shift=3')).toEqual({ flip: true, shift: 3 });
    expect(formatAugment(parseAugment('flip,shift'))).toBe('flip,shift');
    expect(formatAugment(null)).toBe('none');
  });

  it('names the bad item', () => {
    expect(() => parseAugment('flip,rotate')).toThrow(UserError);
    expect(() => parseAugment('flip,rotate')).toThrow(/unknown item "rotate"/);
    expect(() => parseAugment('')).toThrow(/empty/);
    expect(() => parseAugment('none,flip')).toThrow(/"none" cannot be combined/);
    expect(() => parseAugment('shift=99')).toThrow(/"shift=99"/);
    // --help once offered "both"; the list form flip,shift is the one spelling.
    expect(() => parseAugment('both')).toThrow(/unknown item "both"/);
  });
});

describe('augmentation draws', () => {
  const aug = { flip: true, shift: 2 };
  it('are a pure function of (seed, epoch, record index)', () => {
    expect(augmentDraw(aug, 7, 3, 12345)).toEqual(augmentDraw(aug, 7, 3, 12345));
    const a = Array.from({ length: 200 }, (_, r) => augmentDraw(aug, 7, 3, r));
    const otherEpoch = Array.from({ length: 200 }, (_, r) => augmentDraw(aug, 7, 4, r));
    const otherSeed = Array.from({ length: 200 }, (_, r) => augmentDraw(aug, 8, 3, r));
    expect(otherEpoch).not.toEqual(a);
    expect(otherSeed).not.toEqual(a);
  });

  it('cover dx, dy in -2..2 and flip about half the time, like floor(random*5-2)', () => {
    const dxs = new Map<number, number>();
    let flips = 0;
    const n = 5000;
    for (let r = 0; r < n; r++) {
      const d = augmentDraw(aug, 1, 0, r);
      dxs.set(d.dx, (dxs.get(d.dx) ?? 0) + 1);
      expect(d.dy).toBeGreaterThanOrEqual(-2);
      expect(d.dy).toBeLessThanOrEqual(2);
      if (d.flip) flips++;
    }
    expect([...dxs.keys()].sort()).toEqual([-1, -2, 0, 1, 2].sort());
    for (const c of dxs.values()) expect(c).toBeGreaterThan(n / 5 - 150);
    expect(Math.abs(flips - n / 2)).toBeLessThan(200);
    expect(augmentDraw({ flip: false, shift: 0 }, 1, 0, 3)).toEqual({ flip: false, dx: 0, dy: 0 });
  });
});

describe('fillBatch', () => {
  const split = makeSplit(64);

  it('without augmentation copies records in NCHW order through the preprocessing, with labels', () => {
    const idx = Int32Array.from([5, 0, 63]);
    const out = new Float32Array(3 * 3072);
    const labels = new Int32Array(3);
    fillBatch(split, idx, 0, 3, out, labels, SCALE, null, { seed: 1, epoch: 0 });
    expect(Array.from(labels)).toEqual([5, 0, 3]);
    for (let i = 0; i < 3; i++) {
      for (let c = 0; c < 3; c++) {
        for (const [x, y] of [[0, 0], [31, 0], [7, 19], [31, 31]]) {
          expect(at(out, i, c, x, y)).toBe(Math.fround(px(split, idx[i], c, x, y) / 255 - 0.5));
        }
      }
    }
    // aug present but switched off is the same as null
    const out2 = new Float32Array(3 * 3072);
    fillBatch(split, idx, 0, 3, out2, labels, SCALE, { flip: false, shift: 0 }, { seed: 1, epoch: 0 });
    expect(out2).toEqual(out);
  });

  it('flip mirrors each row left-right', () => {
    const aug = { flip: true, shift: 0 };
    const r = findRecord(aug, 3, 0, 64, (d) => d.flip);
    const out = new Float32Array(3072);
    fillBatch(split, [r], 0, 1, out, new Int32Array(1), SCALE, aug, { seed: 3, epoch: 0 });
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 32; y++) {
        for (let x = 0; x < 32; x++) expect(at(out, 0, c, x, y)).toBe(Math.fround(px(split, r, c, 31 - x, y) / 255 - 0.5));
      }
    }
  });

  it('shift moves pixels and fills from outside with 0 (after preprocessing)', () => {
    const aug = { flip: false, shift: 2 };
    const r = findRecord(aug, 5, 2, 64, (d) => d.dx === 2 && d.dy === -1);
    const out = new Float32Array(3072);
    fillBatch(split, [r], 0, 1, out, new Int32Array(1), SCALE, aug, { seed: 5, epoch: 2 });
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 32; y++) {
        for (let x = 0; x < 32; x++) {
          const sx = x + 2;
          const sy = y - 1;
          const want = sx > 31 || sy < 0 ? 0 : Math.fround(px(split, r, c, sx, sy) / 255 - 0.5);
          expect(at(out, 0, c, x, y)).toBe(want);
        }
      }
    }
    expect(at(out, 0, 0, 30, 5)).toBe(0); // the two right-most columns came from outside
    expect(at(out, 0, 1, 4, 0)).toBe(0); // the top row came from outside
  });

  it('matches convnetjs.augment(V, 32, dx, dy, flip) for every draw', () => {
    const require = createRequire(import.meta.url);
    interface ConvVol { w: Float64Array | number[]; get(x: number, y: number, d: number): number }
    const convnetjs = require('convnetjs') as {
      Vol: new (sx: number, sy: number, depth: number, c: number) => ConvVol;
      augment: (v: ConvVol, crop: number, dx: number, dy: number, flip: boolean) => ConvVol;
    };
    const aug = { flip: true, shift: 2 };
    const key = { seed: 11, epoch: 4 };
    const idx = Array.from({ length: 40 }, (_, i) => (i * 7) % 64);
    const out = new Float32Array(idx.length * 3072);
    fillBatch(split, idx, 0, idx.length, out, new Int32Array(idx.length), SCALE, aug, key);
    let maxDiff = 0;
    let flips = 0;
    let shifted = 0;
    idx.forEach((r, i) => {
      // As the ConvNetJS CIFAR-10 demo builds its input volume.
      const V = new convnetjs.Vol(32, 32, 3, 0.0);
      for (let k = 0; k < 1024; k++) for (let c = 0; c < 3; c++) V.w[k * 3 + c] = split.pixels[r * 3072 + c * 1024 + k] / 255.0 - 0.5;
      const d = augmentDraw(aug, key.seed, key.epoch, r);
      if (d.flip) flips++;
      if (d.dx !== 0 || d.dy !== 0) shifted++;
      const W = convnetjs.augment(V, 32, d.dx, d.dy, d.flip);
      for (let c = 0; c < 3; c++) {
        for (let y = 0; y < 32; y++) {
          for (let x = 0; x < 32; x++) maxDiff = Math.max(maxDiff, Math.abs(at(out, i, c, x, y) - W.get(x, y, c)));
        }
      }
    });
    expect(maxDiff).toBeLessThan(1e-6);
    expect(flips).toBeGreaterThan(5);
    expect(shifted).toBeGreaterThan(20);
  });

  it('does not depend on how the epoch is cut into batches', () => {
    const aug = { flip: true, shift: 2 };
    const order = Int32Array.from({ length: 30 }, (_, i) => (i * 13) % 64);
    const key = { seed: 9, epoch: 1 };
    const whole = new Float32Array(30 * 3072);
    const wholeLabels = new Int32Array(30);
    fillBatch(split, order, 0, 30, whole, wholeLabels, SCALE, aug, key);
    const part = new Float32Array(7 * 3072);
    const partLabels = new Int32Array(7);
    for (let start = 0; start < 30; start += 7) {
      const c = Math.min(7, 30 - start);
      fillBatch(split, order, start, c, part, partLabels, SCALE, aug, key);
      expect(part.subarray(0, c * 3072)).toEqual(whole.subarray(start * 3072, (start + c) * 3072));
      expect(partLabels.subarray(0, c)).toEqual(wholeLabels.subarray(start, start + c));
    }
    // another epoch gives another augmentation
    fillBatch(split, order, 0, 7, part, partLabels, SCALE, aug, { seed: 9, epoch: 2 });
    expect(part).not.toEqual(whole.subarray(0, 7 * 3072));
  });

  it('checks its arguments', () => {
    const out = new Float32Array(2 * 3072);
    const labels = new Int32Array(2);
    expect(() => fillBatch(split, [0, 64], 0, 2, out, labels, SCALE, null, { seed: 0, epoch: 0 })).toThrow(/record index 64/);
    expect(() => fillBatch(split, [0], 0, 2, out, labels, SCALE, null, { seed: 0, epoch: 0 })).toThrow(RangeError);
    expect(() => fillBatch(split, [0, 1, 2], 0, 3, out, new Int32Array(3), SCALE, null, { seed: 0, epoch: 0 })).toThrow(/out holds/);
  });
});

describe('preprocessing', () => {
  it('scale is v/255 - 0.5 as in ConvNetJS', () => {
    expect(preprocessValue(0, 0, SCALE)).toBe(-0.5);
    expect(preprocessValue(255, 2, SCALE)).toBe(0.5);
    expect(preprocessValue(51, 1, SCALE)).toBeCloseTo(-0.3, 6);
    expect(toPixelValue(preprocessValue(200, 1, SCALE), 1, SCALE)).toBe(200);
  });

  it('computeChannelStats gives per-channel mean and std in pixel units', () => {
    const split = makeSplit(10, 3);
    const { mean, std } = computeChannelStats(split);
    for (let c = 0; c < 3; c++) {
      let s = 0;
      let q = 0;
      for (let i = 0; i < 10; i++) for (let k = 0; k < 1024; k++) s += split.pixels[i * 3072 + c * 1024 + k];
      const m = s / 10240;
      for (let i = 0; i < 10; i++) for (let k = 0; k < 1024; k++) q += (split.pixels[i * 3072 + c * 1024 + k] - m) ** 2;
      expect(mean[c]).toBeCloseTo(m, 9);
      expect(std[c]).toBeCloseTo(Math.sqrt(q / 10240), 9);
    }
    // a constant image: mean exact, std 0
    const flat: Cifar10Split = { count: 1, labels: new Uint8Array(1), pixels: new Uint8Array(3072).fill(100), shape: [3, 32, 32] };
    expect(computeChannelStats(flat)).toEqual({ mean: [100, 100, 100], std: [0, 0, 0] });
    expect(() => computeChannelStats({ count: 0, labels: new Uint8Array(0), pixels: new Uint8Array(0), shape: [3, 32, 32] })).toThrow(UserError);
  });

  it('standardize gives (v - mean)/std per channel and fillBatch follows preprocessing changes', () => {
    const split = makeSplit(4, 5);
    const pre = makePreprocessing(true, split);
    expect(pre.kind).toBe('standardize');
    const std: Preprocessing = { kind: 'standardize', mean: [100, 120, 140], std: [50, 60, 70] };
    expect(preprocessValue(150, 0, std)).toBe(1);
    expect(preprocessValue(60, 1, std)).toBe(-1);
    expect(preprocessValue(140, 2, std)).toBe(0);
    expect(toPixelValue(1, 0, std)).toBe(150);
    const out = new Float32Array(3072);
    const labels = new Int32Array(1);
    fillBatch(split, [2], 0, 1, out, labels, SCALE, null, { seed: 0, epoch: 0 });
    fillBatch(split, [2], 0, 1, out, labels, std, null, { seed: 0, epoch: 0 });
    expect(out[1024 + 10]).toBeCloseTo((split.pixels[2 * 3072 + 1024 + 10] - 120) / 60, 5);
    // the standardised batch has about zero mean per channel over the set
    const all = new Float32Array(4 * 3072);
    fillBatch(split, [0, 1, 2, 3], 0, 4, all, new Int32Array(4), pre, null, { seed: 0, epoch: 0 });
    let s = 0;
    for (let i = 0; i < 4; i++) for (let k = 0; k < 1024; k++) s += all[i * 3072 + k];
    expect(Math.abs(s / 4096)).toBeLessThan(1e-4);
    // back to scale
    fillBatch(split, [2], 0, 1, out, labels, SCALE, null, { seed: 0, epoch: 0 });
    expect(out[7]).toBe(Math.fround(split.pixels[2 * 3072 + 7] / 255 - 0.5));
    expect(makePreprocessing(false, split)).toEqual({ kind: 'scale' });
  });
});
