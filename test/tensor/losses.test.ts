import { describe, expect, it } from 'vitest';
import { l2RegressionLoss, softmax, softmaxCrossEntropy, svmLoss } from '../../src/tensor/losses.js';
import {
  refL2RegressionLoss,
  refSoftmax,
  refSoftmaxCrossEntropy,
  refSvmLoss,
} from './reference.js';
import { expectForwardClose, expectGradClose, makeRng, numericGrad, randomArray } from './helpers.js';

const n = 4;
const classes = 7;

function labels(seed: number): Int32Array {
  const rng = makeRng(seed);
  return Int32Array.from({ length: n }, () => rng.int(classes));
}

describe('softmax / cross-entropy', () => {
  it('softmax matches the reference and rows sum to 1', () => {
    const logits = randomArray(makeRng(1), n * classes, -4, 4);
    const probs = new Float32Array(n * classes);
    softmax(n, classes, logits, probs);
    expectForwardClose('softmax', probs, refSoftmax(n, classes, logits));
    for (let b = 0; b < n; b++) {
      const row = probs.subarray(b * classes, (b + 1) * classes).reduce((a, v) => a + v, 0);
      expect(row).toBeCloseTo(1, 6);
    }
  });

  it('loss is the batch SUM of -log p_y; gradient = probs - onehot passes the gradient check', () => {
    const logits = randomArray(makeRng(2), n * classes, -3, 3);
    const y = labels(3);
    const probs = new Float32Array(n * classes);
    const grad = new Float32Array(n * classes);
    const loss = softmaxCrossEntropy(n, classes, logits, y, probs, grad);
    const ref = refSoftmaxCrossEntropy(n, classes, logits, y);
    console.log(`softmaxCrossEntropy loss ${loss} ref ${ref}`);
    expect(Math.abs(loss - ref) / ref).toBeLessThan(1e-6);
    expectForwardClose('softmaxCrossEntropy probs', probs, refSoftmax(n, classes, logits));
    let perSampleSum = 0;
    for (let b = 0; b < n; b++) {
      perSampleSum += softmaxCrossEntropy(1, classes, logits.subarray(b * classes), y.subarray(b), new Float32Array(classes), null);
    }
    expect(loss).toBeCloseTo(perSampleSum, 10);
    expectGradClose('softmaxCrossEntropy d/dlogits', grad, numericGrad((z) => refSoftmaxCrossEntropy(n, classes, z, y), logits));
  });

  it('label smoothing: loss against (1 - e) onehot + e / classes, gradient probs - target passes the gradient check', () => {
    const e = 0.1;
    const logits = randomArray(makeRng(4), n * classes, -3, 3);
    const y = labels(5);
    // Reference: -sum_i t_i log p_i in float64.
    const ref = (z: ArrayLike<number>) => {
      let loss = 0;
      const p = refSoftmax(n, classes, z);
      for (let b = 0; b < n; b++) {
        for (let i = 0; i < classes; i++) loss -= ((i === y[b] ? 1 - e : 0) + e / classes) * Math.log(p[b * classes + i]);
      }
      return loss;
    };
    const grad = new Float32Array(n * classes);
    const loss = softmaxCrossEntropy(n, classes, logits, y, new Float32Array(n * classes), grad, e);
    expect(Math.abs(loss - ref(logits)) / ref(logits)).toBeLessThan(1e-6);
    expectGradClose('softmaxCrossEntropy smoothed d/dlogits', grad, numericGrad(ref, logits));
  });

  it('is numerically stable: huge logits give a finite loss, p_y = 0 gives a finite (large) loss', () => {
    const logits = new Float32Array([1e4, -1e4, 0, 3e38, -3e38, 0]);
    const y = new Int32Array([1, 1]);
    const probs = new Float32Array(6);
    const grad = new Float32Array(6);
    const loss = softmaxCrossEntropy(2, 3, logits, y, probs, grad);
    expect(Number.isFinite(loss)).toBe(true);
    expect(loss).toBeCloseTo(2e4 + 6e38, -34);
    expect(Array.from(probs)).toEqual([1, 0, 0, 1, 0, 0]);
    expect(Array.from(grad)).toEqual([1, -1, 0, 1, -1, 0]);
  });
});

describe('svmLoss', () => {
  it('matches the reference and passes the gradient check away from the hinge kinks', () => {
    const rng = makeRng(4);
    const y = labels(5);
    const scores = randomArray(rng, n * classes, -1.5, 1.5);
    // Keep every margin s_i - s_y + 1 at least 0.05 away from 0 (the kink).
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < classes; i++) {
        const m = scores[b * classes + i] - scores[b * classes + y[b]] + 1;
        if (i !== y[b] && Math.abs(m) < 0.05) scores[b * classes + i] += 0.1;
      }
    }
    const grad = new Float32Array(n * classes);
    const loss = svmLoss(n, classes, scores, y, grad);
    const ref = refSvmLoss(n, classes, scores, y);
    console.log(`svmLoss loss ${loss} ref ${ref}`);
    expect(loss).toBeGreaterThan(1);
    expect(Math.abs(loss - ref) / ref).toBeLessThan(1e-6);
    expectGradClose('svmLoss d/dscores', grad, numericGrad((s) => refSvmLoss(n, classes, s, y), scores));
  });

  it('no violations: zero loss and zero gradient (no ConvNetJS constant-1 term)', () => {
    const scores = new Float32Array([5, 0, 0, 0, 5, 3.5]);
    const grad = new Float32Array(6);
    expect(svmLoss(2, 3, scores, new Int32Array([0, 1]), grad)).toBe(0);
    expect(Array.from(grad)).toEqual([0, 0, 0, 0, 0, 0]);
  });
});

describe('l2RegressionLoss', () => {
  it('= sum 0.5 (x - t)^2 with gradient x - t', () => {
    const rng = makeRng(6);
    const dims = 5;
    const x = randomArray(rng, n * dims, -2, 2);
    const t = randomArray(rng, n * dims, -2, 2);
    const grad = new Float32Array(n * dims);
    const loss = l2RegressionLoss(n, dims, x, t, grad);
    const ref = refL2RegressionLoss(n, dims, x, t);
    expect(Math.abs(loss - ref) / ref).toBeLessThan(1e-6);
    expectGradClose('l2RegressionLoss d/doutputs', grad, numericGrad((xx) => refL2RegressionLoss(n, dims, xx, t), x));
  });
});
