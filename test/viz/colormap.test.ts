import { describe, expect, it } from 'vitest';
import {
  DIVERGING_LUT,
  DIVERGING_MID,
  DIVERGING_SIZE,
  DIVERGING_ZERO_RGB,
  NON_FINITE_RGB,
  SEQUENTIAL_LUT,
  SEQUENTIAL_SIZE,
  SEQUENTIAL_ZERO_RGB,
  SIGNED_RGB_ZERO,
  divergingColor,
  divergingIndex,
  sequentialColor,
  sequentialIndex,
  signedChannelByte,
} from '../../src/viz/colormap.js';

const entry = (lut: Uint8Array, i: number): number[] => [lut[i * 3], lut[i * 3 + 1], lut[i * 3 + 2]];

describe('diverging map', () => {
  it('has an odd number of entries so zero has an exact middle colour', () => {
    expect(DIVERGING_SIZE % 2).toBe(1);
    expect(DIVERGING_MID).toBe((DIVERGING_SIZE - 1) / 2);
    expect(DIVERGING_LUT.length).toBe(DIVERGING_SIZE * 3);
  });

  it('maps zero exactly to the middle colour, whatever the scale', () => {
    for (const s of [1e-9, 1e-3, 1, 42, 1e6]) {
      expect(divergingIndex(0, s)).toBe(DIVERGING_MID);
      expect(divergingIndex(-0, s)).toBe(DIVERGING_MID);
      expect(divergingColor(0, s)).toEqual(DIVERGING_ZERO_RGB);
    }
    expect([...DIVERGING_ZERO_RGB]).toEqual(entry(DIVERGING_LUT, DIVERGING_MID));
    // ColorBrewer RdBu middle, near-white, neutral.
    expect([...DIVERGING_ZERO_RGB]).toEqual([0xf7, 0xf7, 0xf7]);
  });

  it('is symmetric: +-s land on the ends, -v and v equally far from the middle', () => {
    expect(divergingIndex(-2.5, 2.5)).toBe(0);
    expect(divergingIndex(2.5, 2.5)).toBe(DIVERGING_SIZE - 1);
    for (const v of [0.1, 0.37, 0.5, 0.99]) {
      expect(DIVERGING_MID - divergingIndex(-v, 1)).toBe(divergingIndex(v, 1) - DIVERGING_MID);
    }
    // negative = blue (b > r), positive = red (r > b)
    const neg = divergingColor(-1, 1);
    const pos = divergingColor(1, 1);
    expect(neg[2]).toBeGreaterThan(neg[0]);
    expect(pos[0]).toBeGreaterThan(pos[2]);
  });

  it('clips beyond the scale, and handles a zero scale and NaN', () => {
    expect(divergingIndex(10, 1)).toBe(DIVERGING_SIZE - 1);
    expect(divergingIndex(-Infinity, 1)).toBe(0);
    expect(divergingIndex(0.3, 0)).toBe(DIVERGING_MID);
    expect(divergingIndex(NaN, 1)).toBe(-1);
    expect(divergingColor(NaN, 1)).toEqual(NON_FINITE_RGB);
  });
});

describe('sequential map', () => {
  it('maps zero to its first colour (black) and s to its last', () => {
    expect(SEQUENTIAL_LUT.length).toBe(SEQUENTIAL_SIZE * 3);
    expect(sequentialIndex(0, 3)).toBe(0);
    expect(sequentialColor(0, 3)).toEqual(SEQUENTIAL_ZERO_RGB);
    expect([...SEQUENTIAL_ZERO_RGB]).toEqual(entry(SEQUENTIAL_LUT, 0));
    expect([...SEQUENTIAL_ZERO_RGB]).toEqual([0, 0, 4]);
    expect(sequentialIndex(3, 3)).toBe(SEQUENTIAL_SIZE - 1);
    expect(sequentialIndex(1.5, 3)).toBe(Math.round(0.5 * (SEQUENTIAL_SIZE - 1)));
  });

  it('gets brighter as the value grows', () => {
    let prev = -1;
    for (let i = 0; i < SEQUENTIAL_SIZE; i += 15) {
      const [r, g, b] = entry(SEQUENTIAL_LUT, i);
      const y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
      expect(y).toBeGreaterThan(prev);
      prev = y;
    }
  });

  it('clips negatives to zero and values beyond s to the end', () => {
    expect(sequentialIndex(-1, 3)).toBe(0);
    expect(sequentialIndex(7, 3)).toBe(SEQUENTIAL_SIZE - 1);
    expect(sequentialIndex(NaN, 3)).toBe(-1);
  });
});

describe('signed RGB channels (first-layer filters, input saliency)', () => {
  it('maps 0 to 128 and -s, +s to 0, 255', () => {
    expect(signedChannelByte(0, 0.2)).toBe(SIGNED_RGB_ZERO);
    expect(signedChannelByte(-0.2, 0.2)).toBe(0);
    expect(signedChannelByte(0.2, 0.2)).toBe(255);
    expect(signedChannelByte(5, 0.2)).toBe(255);
    expect(signedChannelByte(0.1, 0)).toBe(SIGNED_RGB_ZERO);
  });
});
