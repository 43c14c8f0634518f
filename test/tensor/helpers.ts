/**
 * Shared helpers for the kernel tests: seeded random inputs, error measures and finite-difference
 * gradient checks.
 *
 * Gradient-check method and tolerance. The numeric gradient is a central difference
 *   (L(x + h e_i) - L(x - h e_i)) / (2h),  h = 1e-5,
 * of the FLOAT64 reference forward (test/tensor/reference.ts) of a scalar L: either a loss itself or a fixed
 * random projection L = sum(r * out). In float64 its truncation error is O(h^2 * L''') ~ 1e-10 and its
 * rounding error ~ eps64 * |L| / h ~ 1e-11 * |L|, so it is exact to ~1e-9 for our O(1..100) sized L.
 * The analytic gradient comes from the FLOAT32 backward kernel, whose error is float32 rounding:
 * eps32 = 6e-8 per operation, accumulating to about eps32 * (sum of |terms|) in each dot product, i.e.
 * relative errors of 1e-7 .. 1e-5 for the sizes used here (observed: see the console output).
 * We compare with the relative error |a - n| / max(|a| + |n|, FLOOR), FLOOR = 1e-3 so that entries whose
 * true gradient is ~0 are judged by absolute error instead of blowing up. GRAD_TOL = 1e-4 sits one to
 * two orders of magnitude above that float32 noise and far below the O(0.1 .. 1) relative error of any
 * real mistake (a wrong index, a missing term, a sign, a factor of 2); test/tensor/lrn.test.ts shows the
 * checker rejecting ConvNetJS's slightly-wrong LRN backward.
 * The inputs are rounded to float32 first, so both sides differentiate at exactly the same point; for
 * max-like ops (pool, maxout, relu, hinge) inputs are kept >= 1e-2 away from ties and kinks, so x +- h
 * never changes which branch is taken.
 */
import { convOutSize } from '../../src/tensor/conv2d.js';
import type { Pool2dDims } from '../../src/tensor/pool2d.js';
import { expect } from 'vitest';
import { Rng } from '../../src/util/rng.js';

export const GRAD_TOL = 1e-4;
export const REL_FLOOR = 1e-3;
export const FD_STEP = 1e-5;

/** Uniform values in [lo, hi) rounded to float32. */
export function randomArray(rng: Rng, n: number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * rng.next();
  return a;
}

/**
 * n distinct values in random order, spaced `spacing` apart and centred on `center`, so no two entries
 * of any window are within `spacing` of each other (no ties for max-like ops).
 */
export function distinctArray(rng: Rng, n: number, spacing = 0.02, center = 0): Float32Array {
  const perm = rng.permutation(n);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = center + (perm[i] - (n - 1) / 2) * spacing;
  return a;
}

/** Values with |x| in [margin, margin + 1): random sign, never near 0 (for ReLU's kink). */
export function awayFromZero(rng: Rng, n: number, margin = 0.05): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (rng.next() < 0.5 ? -1 : 1) * (margin + rng.next());
  return a;
}

/** max_i |a_i - b_i| / max(|a_i| + |b_i|, floor). */
export function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>, floor = REL_FLOOR): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const err = Math.abs(a[i] - b[i]) / Math.max(Math.abs(a[i]) + Math.abs(b[i]), floor);
    if (!(err <= worst)) worst = err; // NaN propagates as a failure
  }
  return worst;
}

/** sum_i r_i * out_i. */
export function project(out: ArrayLike<number>, r: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < out.length; i++) s += r[i] * out[i];
  return s;
}

/** Central-difference gradient of f at x (x is copied to float64; f sees the perturbed copy). */
export function numericGrad(f: (x: Float64Array) => number, x: ArrayLike<number>, h = FD_STEP): Float64Array {
  const xx = Float64Array.from(x);
  const g = new Float64Array(xx.length);
  for (let i = 0; i < xx.length; i++) {
    const orig = xx[i];
    xx[i] = orig + h;
    const plus = f(xx);
    xx[i] = orig - h;
    const minus = f(xx);
    xx[i] = orig;
    g[i] = (plus - minus) / (2 * h);
  }
  return g;
}

/**
 * Compare an analytic gradient with the numeric one, log the max relative error and assert it is below tol.
 * Also asserts the gradient is not trivially ~0 (a check of zeros against zeros proves nothing).
 */
export function expectGradClose(
  label: string,
  analytic: ArrayLike<number>,
  numeric: ArrayLike<number>,
  tol = GRAD_TOL,
): number {
  const err = maxRelErr(analytic, numeric);
  let maxAbs = 0;
  for (let i = 0; i < numeric.length; i++) maxAbs = Math.max(maxAbs, Math.abs(numeric[i]));
  console.log(`gradcheck ${label}: max rel err ${err.toExponential(2)} (n=${numeric.length}, max |grad| ${maxAbs.toFixed(3)})`);
  expect(maxAbs).toBeGreaterThan(1e-2);
  expect(err).toBeLessThan(tol);
  return err;
}

/** Compare a fast float32 forward with its float64 reference, log the error and assert it is below tol. */
export function expectForwardClose(label: string, fast: ArrayLike<number>, ref: ArrayLike<number>, tol = 1e-5): number {
  const err = maxRelErr(fast, ref);
  console.log(`forward ${label}: max rel err ${err.toExponential(2)} (n=${ref.length})`);
  expect(err).toBeLessThanOrEqual(tol);
  return err;
}

export function makeRng(seed: number): Rng {
  return new Rng(seed);
}

/** Pool dims with padding per side [top, left, bottom, right] and dilation. */
export function sided(n: number, c: number, inH: number, inW: number, kH: number, kW: number, stride: number, p: number[], dilation: number): Pool2dDims {
  const [padTop, padLeft, padBottom, padRight] = p;
  const outH = convOutSize(inH, kH, stride, padTop, false, padBottom, dilation);
  const outW = convOutSize(inW, kW, stride, padLeft, false, padRight, dilation);
  return { n, c, inH, inW, kH, kW, stride, pad: padTop, outH, outW, padTop, padLeft, padBottom, padRight, dilation };
}
