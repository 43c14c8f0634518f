import { describe, expect, it } from 'vitest';
import { lrnBackward, lrnForward, type LrnDims } from '../../src/tensor/lrn.js';
import { refLrnForward } from './reference.js';
import { Workspace } from '../../src/tensor/workspace.js';
import { expectForwardClose, expectGradClose, makeRng, maxRelErr, numericGrad, project, randomArray } from './helpers.js';

// Large alpha makes the cross-channel term of the derivative big enough to matter.
const cases: { label: string; d: LrnDims }[] = [
  { label: 'n2 c7 3x2 size5 k1 a1 b0.75', d: { n: 2, c: 7, h: 3, w: 2, size: 5, k: 1, alpha: 1, beta: 0.75 } },
  { label: 'n1 c4 2x3 size3 k2 a3 b0.5', d: { n: 1, c: 4, h: 2, w: 3, size: 3, k: 2, alpha: 3, beta: 0.5 } },
  { label: 'n3 c2 1x1 size3 k1 a0.1 b0.75 (ConvNetJS cifar)', d: { n: 3, c: 2, h: 1, w: 1, size: 3, k: 1, alpha: 0.1, beta: 0.75 } },
];

function size(d: LrnDims): number {
  return d.n * d.c * d.h * d.w;
}

/** ConvNetJS's LRN backward, bug included (a_j*a_j where the derivative has a_i*a_j), on NCHW arrays. */
function convnetjsLrnBackward(d: LrnDims, input: Float32Array, scale: Float32Array, outputGrad: Float32Array): Float64Array {
  const { n, c: C, h, w, size: sz, alpha, beta } = d;
  const n2 = Math.floor(sz / 2);
  const dx = new Float64Array(size(d));
  const at = (b: number, c: number, p: number): number => (b * C + c) * h * w + p;
  for (let b = 0; b < n; b++) {
    for (let p = 0; p < h * w; p++) {
      for (let i = 0; i < C; i++) {
        const chain = outputGrad[at(b, i, p)];
        const S = scale[at(b, i, p)];
        const SB = Math.pow(S, beta);
        for (let j = Math.max(0, i - n2); j <= Math.min(i + n2, C - 1); j++) {
          const aj = input[at(b, j, p)];
          let g = ((-aj * beta * Math.pow(S, beta - 1) * alpha) / sz) * 2 * aj;
          if (j === i) g += SB;
          dx[at(b, j, p)] += (g / (SB * SB)) * chain;
        }
      }
    }
  }
  return dx;
}

describe('lrn', () => {
  for (const { label, d } of cases) {
    it(`${label}: forward vs reference, scale cache, gradient check`, () => {
      const rng = makeRng(d.c * 100 + d.size);
      const input = randomArray(rng, size(d), -2, 2);
      const r = randomArray(rng, size(d));
      const out = new Float32Array(size(d));
      const scale = new Float32Array(size(d));
      lrnForward(d, input, out, scale);
      expectForwardClose(`lrn ${label}`, out, refLrnForward(d, input));
      // scale = S, the denominator before the power: out = a / S^beta.
      for (let i = 0; i < out.length; i++) expect(out[i]).toBeCloseTo(input[i] / Math.pow(scale[i], d.beta), 5);

      const inputGrad = new Float32Array(size(d));
      lrnBackward(d, input, scale, r, inputGrad, new Workspace());
      const numeric = numericGrad((x) => project(refLrnForward(d, x), r), input);
      expectGradClose(`lrn ${label} d/dinput`, inputGrad, numeric);
      lrnBackward(d, input, scale, r, null, new Workspace());
    });
  }

  it("the gradient check rejects ConvNetJS's buggy backward (so it can catch a subtly wrong kernel)", () => {
    const { d } = cases[0];
    const rng = makeRng(7);
    const input = randomArray(rng, size(d), -2, 2);
    const r = randomArray(rng, size(d));
    const out = new Float32Array(size(d));
    const scale = new Float32Array(size(d));
    lrnForward(d, input, out, scale);
    const numeric = numericGrad((x) => project(refLrnForward(d, x), r), input);
    const buggyErr = maxRelErr(convnetjsLrnBackward(d, input, scale, r), numeric);
    console.log(`gradcheck ConvNetJS LRN backward (expected to fail): max rel err ${buggyErr.toExponential(2)}`);
    expect(buggyErr).toBeGreaterThan(1e-2);
  });
});
