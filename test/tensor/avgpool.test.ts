import { describe, expect, it } from 'vitest';
import { avgPool2dBackward, avgPool2dForward, globalAvgPoolBackward, globalAvgPoolForward } from '../../src/tensor/avgpool.js';
import { makePool2dDims, type Pool2dDims } from '../../src/tensor/pool2d.js';
import { refAvgPool2dForward } from './reference.js';
import { expectForwardClose, expectGradClose, makeRng, numericGrad, project, randomArray, sided } from './helpers.js';

const cases: { label: string; d: Pool2dDims }[] = [
  { label: 'n2 c3 8x6 k2 s2 p0', d: makePool2dDims(2, 3, 8, 6, 2, 2, 2, 0) },
  { label: 'n2 c2 7x5 k3 s2 p1', d: makePool2dDims(2, 2, 7, 5, 3, 3, 2, 1) },
  { label: 'n1 c2 5x7 k3x2 s1 p1', d: makePool2dDims(1, 2, 5, 7, 3, 2, 1, 1) },
  { label: 'n2 c2 7x8 k3x2 s2 pads t0 l1 b2 r0', d: sided(2, 2, 7, 8, 3, 2, 2, [0, 1, 2, 0], 1) },
  { label: 'n1 c2 6x6 k3 s2 pads t2 l0 b1 r2', d: sided(1, 2, 6, 6, 3, 3, 2, [2, 0, 1, 2], 1) },
];

const outCount = (d: Pool2dDims) => d.n * d.c * d.outH * d.outW;

describe('avg pool vs float64 reference and finite differences', () => {
  for (const { label, d } of cases) {
    for (const includePad of [false, true]) {
      it(`${label} count_include_pad ${includePad}`, () => {
        const rng = makeRng(1);
        const input = randomArray(rng, d.n * d.c * d.inH * d.inW);
        const out = new Float32Array(outCount(d));
        avgPool2dForward(d, input, out, includePad);
        expectForwardClose(`avgpool ${label} ${includePad}`, out, refAvgPool2dForward(d, input, includePad), 1e-6);
        const r = randomArray(rng, outCount(d));
        const inputGrad = new Float32Array(input.length).fill(1);
        avgPool2dBackward(d, r, inputGrad, includePad);
        expectGradClose(`avgpool ${label} ${includePad} d/dinput`, inputGrad.map((v) => v - 1),
          numericGrad((x) => project(refAvgPool2dForward(d, x, includePad), r), input));
      });
    }
  }

  it('per-side padding: count_include_pad counts the padding on the padded sides only', () => {
    // 1x4 row, window 1x3 stride 3, pads left 2 right 0: windows [-2..0] and [1..3].
    const d = sided(1, 1, 1, 4, 1, 3, 3, [0, 2, 0, 0], 1);
    const out = new Float32Array(2);
    avgPool2dForward(d, Float32Array.from([3, 6, 9, 12]), out, true);
    expect([...out]).toEqual([1, 9]);
    avgPool2dForward(d, Float32Array.from([3, 6, 9, 12]), out, false);
    expect([...out]).toEqual([3, 9]);
  });

  it('padding lowers border averages only when counted', () => {
    const d = makePool2dDims(1, 1, 4, 4, 3, 3, 1, 1);
    const ones = new Float32Array(16).fill(1);
    const out = new Float32Array(16);
    avgPool2dForward(d, ones, out, false);
    expect(out.every((v) => v === 1)).toBe(true);
    avgPool2dForward(d, ones, out, true);
    expect(out[0]).toBeCloseTo(4 / 9, 6);
    expect(out[5]).toBe(1);
  });
});

describe('global average pool', () => {
  it('mean of each plane; backward spreads gradient / spatial and adds', () => {
    const rng = makeRng(2);
    const planes = 6;
    const spatial = 10;
    const input = randomArray(rng, planes * spatial);
    const out = new Float32Array(planes);
    globalAvgPoolForward(planes, spatial, input, out);
    const ref = (x: ArrayLike<number>) => Float64Array.from({ length: planes }, (_, p) => {
      let s = 0;
      for (let i = 0; i < spatial; i++) s += x[p * spatial + i];
      return s / spatial;
    });
    expectForwardClose('gap', out, ref(input), 1e-6);
    const r = randomArray(rng, planes);
    const g = new Float32Array(input.length).fill(3);
    globalAvgPoolBackward(planes, spatial, r, g);
    expectGradClose('gap d/dinput', g.map((v) => v - 3), numericGrad((x) => project(ref(x), r), input));
  });
});
