import { describe, expect, it } from 'vitest';
import { makePool2dDims, maxPool2dBackward, maxPool2dForward, type Pool2dDims } from '../../src/tensor/pool2d.js';
import { refMaxPool2dForward } from './reference.js';
import { distinctArray, expectForwardClose, expectGradClose, makeRng, numericGrad, project, randomArray } from './helpers.js';

const cases: { label: string; d: Pool2dDims }[] = [
  { label: 'n2 c3 8x6 k2 s2 p0 (CIFAR)', d: makePool2dDims(2, 3, 8, 6, 2, 2, 2, 0) },
  { label: 'n2 c3 7x5 k3 s2 p1', d: makePool2dDims(2, 3, 7, 5, 3, 3, 2, 1) },
  { label: 'n1 c2 5x7 k3x2 s1 p1 (overlapping)', d: makePool2dDims(1, 2, 5, 7, 3, 2, 1, 1) },
  { label: 'n3 c1 6x6 k4 s3 p2', d: makePool2dDims(3, 1, 6, 6, 4, 4, 3, 2) },
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
