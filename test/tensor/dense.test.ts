import { describe, expect, it } from 'vitest';
import { denseBackward, denseForward } from '../../src/tensor/dense.js';
import { refDenseForward } from './reference.js';
import { expectForwardClose, expectGradClose, makeRng, numericGrad, project, randomArray } from './helpers.js';

const shapes: [number, number, number][] = [
  [3, 7, 5],
  [1, 1, 1],
  [5, 33, 10],
  [2, 320, 9],
];

function tensors(n: number, inF: number, outF: number, seed: number) {
  const rng = makeRng(seed);
  return {
    input: randomArray(rng, n * inF),
    weights: randomArray(rng, outF * inF),
    bias: randomArray(rng, outF),
    r: randomArray(rng, n * outF),
  };
}

describe('denseForward vs float64 reference', () => {
  for (const [n, inF, outF] of shapes) {
    it(`n=${n} inF=${inF} outF=${outF}`, () => {
      const t = tensors(n, inF, outF, 1);
      const out = new Float32Array(n * outF).fill(NaN);
      denseForward(n, inF, outF, t.input, t.weights, t.bias, out);
      expectForwardClose(`dense ${n}x${inF}->${outF}`, out, refDenseForward(n, inF, outF, t.input, t.weights, t.bias));
    });
  }
});

describe('denseBackward finite-difference gradient checks', () => {
  for (const [n, inF, outF] of shapes.slice(0, 3)) {
    it(`n=${n} inF=${inF} outF=${outF}`, () => {
      const t = tensors(n, inF, outF, 2);
      const inputGrad = new Float32Array(n * inF); // accumulated into (+=)
      const weightGrad = new Float32Array(outF * inF);
      const biasGrad = new Float32Array(outF);
      denseBackward(n, inF, outF, t.input, t.weights, t.r, inputGrad, weightGrad, biasGrad);
      const L = (x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number>): number =>
        project(refDenseForward(n, inF, outF, x, w, b), t.r);
      const tag = `dense ${n}x${inF}->${outF}`;
      expectGradClose(`${tag} d/dinput`, inputGrad, numericGrad((x) => L(x, t.weights, t.bias), t.input));
      expectGradClose(`${tag} d/dweights`, weightGrad, numericGrad((w) => L(t.input, w, t.bias), t.weights));
      expectGradClose(`${tag} d/dbias`, biasGrad, numericGrad((b) => L(t.input, t.weights, b), t.bias));
    });
  }
});

describe('denseBackward conventions', () => {
  it('accumulates weight/bias gradients and the input gradient (+=), accepts null', () => {
    const [n, inF, outF] = shapes[0];
    const t = tensors(n, inF, outF, 3);
    const g1 = new Float32Array(n * inF);
    const w1 = new Float32Array(outF * inF);
    const b1 = new Float32Array(outF);
    denseBackward(n, inF, outF, t.input, t.weights, t.r, g1, w1, b1);
    const g2 = new Float32Array(n * inF).fill(7);
    const w2 = new Float32Array(outF * inF).fill(1);
    const b2 = new Float32Array(outF).fill(1);
    denseBackward(n, inF, outF, t.input, t.weights, t.r, g2, w2, b2);
    denseBackward(n, inF, outF, t.input, t.weights, t.r, null, w2, b2);
    for (let i = 0; i < g1.length; i++) expect(g2[i]).toBeCloseTo(7 + g1[i], 5);
    for (let i = 0; i < w1.length; i++) expect(w2[i]).toBeCloseTo(1 + 2 * w1[i], 5);
    for (let i = 0; i < b1.length; i++) expect(b2[i]).toBeCloseTo(1 + 2 * b1[i], 5);
  });
});

describe('dense without bias (fc "bias": false)', () => {
  it('forward with a null bias equals a zero bias (whatever the output held); backward skips a null bias gradient', () => {
    const [n, inF, outF] = shapes[2];
    const t = tensors(n, inF, outF, 4);
    const out = new Float32Array(n * outF).fill(NaN);
    denseForward(n, inF, outF, t.input, t.weights, null, out);
    expectForwardClose('dense no bias', out, refDenseForward(n, inF, outF, t.input, t.weights, new Float32Array(outF)));
    const g1 = new Float32Array(n * inF);
    const w1 = new Float32Array(outF * inF);
    denseBackward(n, inF, outF, t.input, t.weights, t.r, g1, w1, new Float32Array(outF));
    const g2 = new Float32Array(n * inF);
    const w2 = new Float32Array(outF * inF);
    denseBackward(n, inF, outF, t.input, t.weights, t.r, g2, w2, null);
    expect(g2).toEqual(g1);
    expect(w2).toEqual(w1);
  });
});
