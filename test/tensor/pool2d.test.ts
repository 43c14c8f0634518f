import { describe, expect, it } from 'vitest';
import { makePool2dDims, maxPool2dBackward, maxPool2dForward, type Pool2dDims } from '../../src/tensor/pool2d.js';
import { refMaxPool2dForward } from './reference.js';
import { distinctArray, sided, expectForwardClose, expectGradClose, makeRng, numericGrad, project, randomArray } from './helpers.js';

const cases: { label: string; d: Pool2dDims }[] = [
  { label: 'n2 c3 8x6 k2 s2 p0 (CIFAR)', d: makePool2dDims(2, 3, 8, 6, 2, 2, 2, 0) },
  { label: 'n2 c3 7x5 k3 s2 p1', d: makePool2dDims(2, 3, 7, 5, 3, 3, 2, 1) },
  { label: 'n1 c2 5x7 k3x2 s1 p1 (overlapping)', d: makePool2dDims(1, 2, 5, 7, 3, 2, 1, 1) },
  { label: 'n3 c1 6x6 k4 s3 p2', d: makePool2dDims(3, 1, 6, 6, 4, 4, 3, 2) },
  { label: 'n2 c2 7x8 k3x2 s2 pads t0 l1 b2 r0 (per side)', d: sided(2, 2, 7, 8, 3, 2, 2, [0, 1, 2, 0], 1) },
  { label: 'n2 c2 9x8 k3 s1 p2 dilation 2', d: sided(2, 2, 9, 8, 3, 3, 1, [2, 2, 2, 2], 2) },
  { label: 'n1 c3 8x7 k2x3 s2 pads t1 l0 b0 r2 dilation 3', d: sided(1, 3, 8, 7, 2, 3, 2, [1, 0, 0, 2], 3) },
];


function outCount(d: Pool2dDims): number {
  return d.n * d.c * d.outH * d.outW;
}

describe('maxPool2dForward vs float64 reference', () => {
  for (const { label, d } of cases) {
    it(label, () => {
      const rng = makeRng(1);
      const input = randomArray(rng, d.n * d.c * d.inH * d.inW);
      const out = new Float32Array(outCount(d));
      const argmax = new Int32Array(outCount(d));
      maxPool2dForward(d, input, out, argmax);
      expectForwardClose(`maxpool ${label}`, out, refMaxPool2dForward(d, input), 0);
      // argmax is the flat input index of the winner
      for (let o = 0; o < out.length; o++) expect(input[argmax[o]]).toBe(out[o]);
    });
  }

  it('dilation 2 compares taps two pixels apart', () => {
    const d = sided(1, 1, 1, 5, 1, 2, 1, [0, 0, 0, 0], 2);
    const out = new Float32Array(3);
    const argmax = new Int32Array(3);
    maxPool2dForward(d, Float32Array.from([1, 5, 3, 2, 4]), out, argmax);
    expect([...out]).toEqual([3, 5, 4]);
    expect([...argmax]).toEqual([2, 1, 4]);
  });

  it('padding never wins: all-negative input with padding gives the in-bounds max, not 0', () => {
    const d = makePool2dDims(1, 2, 5, 4, 3, 3, 2, 1);
    const input = randomArray(makeRng(2), d.n * d.c * d.inH * d.inW, -2, -0.5);
    const out = new Float32Array(outCount(d));
    maxPool2dForward(d, input, out, new Int32Array(outCount(d)));
    for (const v of out) expect(v).toBeLessThan(0);
    expectForwardClose('maxpool all-negative padded', out, refMaxPool2dForward(d, input), 0);
  });
});

describe('maxPool2dBackward finite-difference gradient checks', () => {
  for (const { label, d } of cases) {
    it(label, () => {
      const rng = makeRng(3);
      // Distinct values 2e-2 apart: no ties, and +-1e-5 never changes a window's winner.
      const input = distinctArray(rng, d.n * d.c * d.inH * d.inW, 0.02);
      const r = randomArray(rng, outCount(d));
      const out = new Float32Array(outCount(d));
      const argmax = new Int32Array(outCount(d));
      maxPool2dForward(d, input, out, argmax);
      const inputGrad = new Float32Array(input.length); // accumulated into (+=)
      maxPool2dBackward(d, r, argmax, inputGrad);
      expectGradClose(`maxpool ${label} d/dinput`, inputGrad, numericGrad((x) => project(refMaxPool2dForward(d, x), r), input));
    });
  }

  it('inputGrad = null is accepted', () => {
    const d = cases[0].d;
    maxPool2dBackward(d, new Float32Array(outCount(d)), new Int32Array(outCount(d)), null);
  });
});
