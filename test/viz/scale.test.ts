import { describe, expect, it } from 'vitest';
import {
  coerceVizScaleState,
  colorBarLabels,
  computeStats,
  countClipped,
  createVizScaleState,
  formatNumber,
  kthSmallest,
  maxAbs,
  maxPositive,
  parseVizScaleMode,
  resolveRunScale,
  scaleText,
} from '../../src/viz/scale.js';

describe('formatNumber', () => {
  it('prints 3 significant digits, plain or exponent form', () => {
    expect(formatNumber(0)).toBe('0');
    expect(formatNumber(2.3e-3)).toBe('2.3e-3');
    expect(formatNumber(-2.346e-3)).toBe('-2.35e-3');
    expect(formatNumber(0.0123456)).toBe('0.0123');
    expect(formatNumber(1)).toBe('1');
    expect(formatNumber(3.14159)).toBe('3.14');
    expect(formatNumber(250)).toBe('250');
    expect(formatNumber(123456)).toBe('1.23e5');
    expect(formatNumber(NaN)).toBe('NaN');
  });
});

describe('colour bar labels', () => {
  it('are -s, 0, s for diverging maps and 0, s/2, s for sequential ones', () => {
    expect(colorBarLabels('diverging', 2.3e-3)).toEqual(['-2.3e-3', '0', '2.3e-3']);
    expect(colorBarLabels('signed-rgb', 0.5)).toEqual(['-0.5', '0', '0.5']);
    expect(colorBarLabels('sequential', 4)).toEqual(['0', '2', '4']);
    expect(scaleText('diverging', 2.3e-3)).toBe('±2.3e-3');
    expect(scaleText('sequential', 4)).toBe('0 .. 4');
  });
});

describe('scales and stats', () => {
  const data = Float32Array.from([-3, 0, 1, 2, NaN, Infinity]);
  it('ignore non-finite values', () => {
    expect(maxAbs(data)).toBe(3);
    expect(maxPositive(data)).toBe(2);
    const st = computeStats(data);
    expect(st).toMatchObject({ count: 6, min: -3, max: 2, mean: 0, nonFinite: 2, maxAbs: 3 });
    expect(st.std).toBeCloseTo(Math.sqrt((9 + 0 + 1 + 4) / 4), 10);
    expect(st.zeroFraction).toBeCloseTo(1 / 6, 10);
  });
  it('count clipped values', () => {
    expect(countClipped('diverging', Float32Array.from([-3, 0, 1, 2]), 1.5)).toBe(2);
    expect(countClipped('sequential', Float32Array.from([-1, 0, 1, 2]), 1.5)).toBe(2);
  });
});

describe('run scale state', () => {
  it('keeps the first non-zero scale of a picture and says when it was fixed', () => {
    const st = createVizScaleState();
    expect(resolveRunScale(st, '01-conv/activations', 0, 0)).toEqual({ scale: 0, fixedAtEpoch: 0 });
    expect(resolveRunScale(st, '01-conv/activations', 2, 1)).toEqual({ scale: 2, fixedAtEpoch: 1 });
    expect(resolveRunScale(st, '01-conv/activations', 5, 2)).toEqual({ scale: 2, fixedAtEpoch: 1 });
    const round = coerceVizScaleState(JSON.parse(JSON.stringify(st)));
    expect(round).toEqual(st);
    expect(coerceVizScaleState({ version: 2 })).toEqual(createVizScaleState());
    expect(coerceVizScaleState({ version: 1, entries: { a: { scale: 'x', epoch: 1 } } })).toEqual(createVizScaleState());
  });
  it('parses the --viz-scale values', () => {
    expect(parseVizScaleMode('map')).toBe('map');
    expect(parseVizScaleMode('layer')).toBe('layer');
    expect(parseVizScaleMode('run')).toBe('run');
    expect(parseVizScaleMode('epoch')).toBeUndefined();
  });
});

describe('kthSmallest', () => {
  it('returns what a sort puts at index k, for random, sorted, reversed, constant and tied arrays', () => {
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const cases: number[][] = [
      Array.from({ length: 1000 }, rand),
      Array.from({ length: 999 }, (_, i) => i),
      Array.from({ length: 500 }, (_, i) => 500 - i),
      Array.from({ length: 300 }, () => 0.25),
      Array.from({ length: 777 }, () => Math.floor(rand() * 5)),
      [3],
      [2, 1],
    ];
    for (const c of cases) {
      const sorted = Float64Array.from(c).sort();
      for (const k of [0, 1, Math.floor(c.length / 2), Math.ceil(0.995 * c.length) - 1, c.length - 1]) {
        if (k < 0 || k >= c.length) continue;
        expect(kthSmallest(Float64Array.from(c), k)).toBe(sorted[k]);
      }
    }
  });
});
