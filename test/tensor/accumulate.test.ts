/**
 * Every backward kernel ADDS into its input gradient (+=), so a tensor read by two layers receives the
 * sum of their gradients (the network zeroes the buffers once per pass). Here: backward into a buffer
 * holding `prior` equals prior + backward into zeros. (conv2d and dense: their own convention tests.)
 */
import { describe, expect, it } from 'vitest';
import {
  leakyReluBackward, leakyReluForward, reluBackward, reluForward, sigmoidBackward, sigmoidForward, tanhBackward, tanhForward,
} from '../../src/tensor/activations.js';
import { dropoutBackward, fillDropoutMask } from '../../src/tensor/dropout.js';
import { l2RegressionLoss, softmaxCrossEntropy, svmLoss } from '../../src/tensor/losses.js';
import { lrnBackward, lrnForward } from '../../src/tensor/lrn.js';
import { maxoutBackward, maxoutForward } from '../../src/tensor/maxout.js';
import { makePool2dDims, maxPool2dBackward, maxPool2dForward } from '../../src/tensor/pool2d.js';
import { Workspace } from '../../src/tensor/workspace.js';
import { makeRng, randomArray } from './helpers.js';

const rng = makeRng(31);
const n = 2;
const c = 4;
const h = 3;
const w = 4;
const count = n * c * h * w;
const x = randomArray(rng, count);
const dy = randomArray(rng, count);
const prior = randomArray(rng, count, 2, 3);

function expectAdds(label: string, backward: (grad: Float32Array) => void, size = count): void {
  const fresh = new Float32Array(size);
  backward(fresh);
  expect(fresh.some((v) => v !== 0), `${label}: the check needs a non-zero gradient`).toBe(true);
  const into = prior.slice(0, size);
  backward(into);
  for (let i = 0; i < size; i++) expect(into[i], `${label}[${i}]`).toBeCloseTo(prior[i] + fresh[i], 5);
}

describe('backward kernels accumulate into the input gradient', () => {
  it('relu, sigmoid, tanh (from the output), leaky relu (from the input)', () => {
    const y = new Float32Array(count);
    for (const [name, fwd, bwd] of [['relu', reluForward, reluBackward], ['sigmoid', sigmoidForward, sigmoidBackward], ['tanh', tanhForward, tanhBackward]] as const) {
      fwd(x, y, count);
      expectAdds(name, (g) => bwd(y, dy, g, count));
    }
    leakyReluForward(x, y, count, 0.1);
    expectAdds('leakyrelu', (g) => leakyReluBackward(x, dy, g, count, 0.1));
  });

  it('dropout, maxout, max pool, lrn', () => {
    const keep = new Uint8Array(count);
    fillDropoutMask(keep, count, 0.3, 1, 2, 3, 0, c * h * w);
    expectAdds('dropout', (g) => dropoutBackward(dy, g, keep, count, 0.3));

    const outC = c / 2;
    const mo = new Float32Array(n * outC * h * w);
    const am = new Int32Array(mo.length);
    maxoutForward(n, c, h * w, 2, x, mo, am);
    expectAdds('maxout', (g) => maxoutBackward(n, c, h * w, 2, dy, am, g));

    const d = makePool2dDims(n, c, h, w, 2, 2, 1, 0); // overlapping windows: some inputs win twice
    const po = new Float32Array(n * c * d.outH * d.outW);
    const pam = new Int32Array(po.length);
    maxPool2dForward(d, x, po, pam);
    expectAdds('maxpool', (g) => maxPool2dBackward(d, dy, pam, g));

    const ld = { n, c, h, w, size: 3, k: 1, alpha: 0.5, beta: 0.75 };
    const lo = new Float32Array(count);
    const scale = new Float32Array(count);
    lrnForward(ld, x, lo, scale);
    expectAdds('lrn', (g) => lrnBackward(ld, x, scale, dy, g, new Workspace()));
  });

  it('softmax cross-entropy, svm and L2 regression losses', () => {
    const k = 6;
    const labels = new Int32Array([1, 4]);
    const logits = x.subarray(0, n * k);
    expectAdds('softmax', (g) => softmaxCrossEntropy(n, k, logits, labels, new Float32Array(n * k), g), n * k);
    expectAdds('svm', (g) => svmLoss(n, k, logits, labels, g), n * k);
    expectAdds('regression', (g) => l2RegressionLoss(n, k, logits, dy, g), n * k);
  });
});
