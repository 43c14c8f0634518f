import { describe, expect, it } from 'vitest';
import { resizeSplit } from '../../src/data/resize.js';
import { subsetSplit, type ImageSplit } from '../../src/data/split.js';

/** Two 8x8 RGB images, planar: R constant, G constant, B a left-to-right ramp (0..224). */
function rampSplit(shared = false): ImageSplit {
  const size = 3 * 64;
  const pixels = new Uint8Array(shared ? new SharedArrayBuffer(2 * size) : new ArrayBuffer(2 * size));
  for (let n = 0; n < 2; n++) {
    for (let i = 0; i < 64; i++) {
      pixels[n * size + i] = n === 0 ? 200 : 10;
      pixels[n * size + 64 + i] = 50;
      pixels[n * size + 128 + i] = (i % 8) * 32;
    }
  }
  return { count: 2, labels: Uint8Array.of(3, 7), pixels, shape: [3, 8, 8] };
}

describe('resizeSplit', () => {
  it('resizes every image, channel by channel, keeping labels and order', async () => {
    const out = await resizeSplit(rampSplit(), 12, 20);
    expect(out.shape).toEqual([3, 12, 20]);
    expect(out.count).toBe(2);
    expect([...out.labels]).toEqual([3, 7]);
    const size = 3 * 12 * 20;
    expect(out.pixels.length).toBe(2 * size);
    const plane = 12 * 20;
    // Constant planes stay constant: a mixed-up interleave would leak one channel into another.
    for (let n = 0; n < 2; n++) {
      const r = out.pixels.subarray(n * size, n * size + plane);
      const g = out.pixels.subarray(n * size + plane, n * size + 2 * plane);
      expect(new Set(r)).toEqual(new Set([n === 0 ? 200 : 10]));
      expect(new Set(g)).toEqual(new Set([50]));
      // The blue ramp still rises from left to right in every row (lanczos may ring a little at the ends).
      const b = out.pixels.subarray(n * size + 2 * plane, n * size + 3 * plane);
      for (let y = 0; y < 12; y++) {
        const row = Array.from(b.subarray(y * 20, (y + 1) * 20));
        expect(row[19] - row[0]).toBeGreaterThan(150);
        expect(row[10]).toBeGreaterThan(row[5]);
        expect(row[15]).toBeGreaterThan(row[10]);
      }
    }
  });

  it('keeps one channel one channel, and shared pixels shared', async () => {
    const grey: ImageSplit = { count: 1, labels: Uint8Array.of(1), pixels: new Uint8Array(new SharedArrayBuffer(16)).fill(99), shape: [1, 4, 4] };
    const out = await resizeSplit(grey, 9, 7);
    expect(out.shape).toEqual([1, 9, 7]);
    expect(out.pixels.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(new Set(out.pixels)).toEqual(new Set([99]));
  });

  it('returns the split itself when the size already fits', async () => {
    const s = rampSplit();
    expect(await resizeSplit(s, 8, 8)).toBe(s);
  });

  it('subsetSplit copies the chosen images in order', () => {
    const s = rampSplit();
    const sub = subsetSplit(s, [1, 0, 1]);
    expect([...sub.labels]).toEqual([7, 3, 7]);
    expect(sub.pixels[0]).toBe(10);
    expect(sub.pixels[192]).toBe(200);
    expect(sub.pixels[384]).toBe(10);
  });
});
