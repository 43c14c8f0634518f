import { describe, expect, it } from 'vitest';
import {
  batchNormBackward, batchNormForwardEval, batchNormForwardTrain, invStdOf, updateRunningStats, type BatchNormDims,
} from '../../src/tensor/batchnorm.js';
import { refBatchNormForward } from './reference.js';
import { expectForwardClose, expectGradClose, makeRng, numericGrad, project, randomArray } from './helpers.js';

const cases: { label: string; d: BatchNormDims; affine: boolean }[] = [
  { label: 'n3 c4 5x3 (after conv)', d: { n: 3, c: 4, spatial: 15 }, affine: true },
  { label: 'n5 c6 1x1 (after fc)', d: { n: 5, c: 6, spatial: 1 }, affine: true },
  { label: 'n2 c3 4x4 no affine', d: { n: 2, c: 3, spatial: 16 }, affine: false },
];
const EPS = 1e-5;

function setup(d: BatchNormDims, affine: boolean, seed: number) {
  const rng = makeRng(seed);
  const count = d.n * d.c * d.spatial;
  // Channels with different offsets and scales, so normalising does something.
  const input = randomArray(rng, count);
  for (let i = 0; i < count; i++) {
    const c = Math.floor(i / d.spatial) % d.c;
    input[i] = Math.fround(input[i] * (0.5 + c) + c - 1);
  }
  const gamma = affine ? randomArray(rng, d.c, 0.5, 1.5) : null;
  const beta = affine ? randomArray(rng, d.c) : null;
  const r = randomArray(rng, count);
  return { input, gamma, beta, r, count };
}

describe('batch norm forward vs float64 reference', () => {
  for (const { label, d, affine } of cases) {
    it(`training: ${label}`, () => {
      const { input, gamma, beta, count } = setup(d, affine, 1);
      const out = new Float32Array(count);
      const mean = new Float32Array(d.c);
      const variance = new Float32Array(d.c);
      const invStd = new Float32Array(d.c);
      batchNormForwardTrain(d, input, gamma, beta, EPS, out, mean, variance, invStd);
      expectForwardClose(`bn train ${label}`, out, refBatchNormForward(d, input, gamma, beta, EPS, null), 1e-5);
      // The returned statistics are the batch's: normalising with them as "running" gives the same output.
      expectForwardClose(`bn stats ${label}`, out, refBatchNormForward(d, input, gamma, beta, EPS, { mean, variance }), 1e-5);
      for (let c = 0; c < d.c; c++) expect(invStd[c]).toBeCloseTo(1 / Math.sqrt(variance[c] + EPS), 4);
    });
    it(`evaluation: ${label}`, () => {
      const { input, gamma, beta, count } = setup(d, affine, 2);
      const rng = makeRng(9);
      const runningMean = randomArray(rng, d.c);
      const runningVar = randomArray(rng, d.c, 0.2, 3);
      const out = new Float32Array(count);
      batchNormForwardEval(d, input, gamma, beta, EPS, runningMean, runningVar, out);
      expectForwardClose(`bn eval ${label}`, out, refBatchNormForward(d, input, gamma, beta, EPS, { mean: runningMean, variance: runningVar }), 1e-5);
    });
  }
});

describe('batch norm backward: finite differences, accumulating into the gradients', () => {
  for (const { label, d, affine } of cases) {
    it(`training: ${label}`, () => {
      const { input, gamma, beta, r, count } = setup(d, affine, 3);
      const out = new Float32Array(count);
      const mean = new Float32Array(d.c);
      const variance = new Float32Array(d.c);
      const invStd = new Float32Array(d.c);
      batchNormForwardTrain(d, input, gamma, beta, EPS, out, mean, variance, invStd);
      // Start every gradient at 0.25: backward must add to it.
      const inputGrad = new Float32Array(count).fill(0.25);
      const gammaGrad = new Float32Array(d.c).fill(0.25);
      const betaGrad = new Float32Array(d.c).fill(0.25);
      batchNormBackward(d, true, input, gamma, mean, invStd, r, inputGrad, affine ? gammaGrad : null, affine ? betaGrad : null);
      const minus = (a: Float32Array) => a.map((v) => v - 0.25);
      expectGradClose(`bn ${label} d/dinput`, minus(inputGrad),
        numericGrad((x) => project(refBatchNormForward(d, x, gamma, beta, EPS, null), r), input), 5e-4);
      if (affine) {
        expectGradClose(`bn ${label} d/dgamma`, minus(gammaGrad), numericGrad((g) => project(refBatchNormForward(d, input, g, beta, EPS, null), r), gamma!));
        expectGradClose(`bn ${label} d/dbeta`, minus(betaGrad), numericGrad((bb) => project(refBatchNormForward(d, input, gamma, bb, EPS, null), r), beta!));
      }
    });
    it(`evaluation: ${label}`, () => {
      const { input, gamma, beta, r, count } = setup(d, affine, 4);
      const rng = makeRng(8);
      const runningMean = randomArray(rng, d.c);
      const runningVar = randomArray(rng, d.c, 0.2, 3);
      const invStd = new Float32Array(d.c);
      invStdOf(runningVar, EPS, invStd);
      const inputGrad = new Float32Array(count).fill(-0.5);
      const gammaGrad = new Float32Array(d.c);
      batchNormBackward(d, false, input, gamma, runningMean, invStd, r, inputGrad, affine ? gammaGrad : null, null);
      const running = { mean: runningMean, variance: runningVar };
      expectGradClose(`bn eval ${label} d/dinput`, inputGrad.map((v) => v + 0.5),
        numericGrad((x) => project(refBatchNormForward(d, x, gamma, beta, EPS, running), r), input));
      if (affine) {
        expectGradClose(`bn eval ${label} d/dgamma`, gammaGrad, numericGrad((g) => project(refBatchNormForward(d, input, g, beta, EPS, running), r), gamma!));
      }
    });
  }
});

describe('updateRunningStats', () => {
  it('PyTorch rule: (1 - momentum) * running + momentum * stat, unbiased variance', () => {
    const runningMean = Float32Array.from([0, 1]);
    const runningVar = Float32Array.from([1, 2]);
    updateRunningStats(runningMean, runningVar, [2, -1], [4, 0.5], 5, 0.1);
    expect(runningMean[0]).toBeCloseTo(0.2, 6);
    expect(runningMean[1]).toBeCloseTo(0.9 * 1 - 0.1, 6);
    expect(runningVar[0]).toBeCloseTo(0.9 + 0.1 * 4 * (5 / 4), 6);
    expect(runningVar[1]).toBeCloseTo(1.8 + 0.1 * 0.5 * (5 / 4), 6);
  });
});
