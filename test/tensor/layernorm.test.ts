import { describe, expect, it } from 'vitest';
import { affineBackward, affineForward, layerNormBackward, layerNormForward, layerNormScratch } from '../../src/tensor/layernorm.js';
import { expectForwardClose, expectGradClose, makeRng, numericGrad, project, randomArray } from './helpers.js';

/** Slow reference in float64, indexed (b, c, p): each pixel's C values normalised over the channels. */
function refLayerNorm(n: number, c: number, spatial: number, eps: number, x: ArrayLike<number>, gamma: ArrayLike<number>, beta: ArrayLike<number>): Float64Array {
  const out = new Float64Array(n * c * spatial);
  for (let b = 0; b < n; b++) {
    for (let p = 0; p < spatial; p++) {
      const at = (k: number) => (b * c + k) * spatial + p;
      let mean = 0;
      for (let k = 0; k < c; k++) mean += x[at(k)];
      mean /= c;
      let v = 0;
      for (let k = 0; k < c; k++) v += (x[at(k)] - mean) ** 2;
      v /= c;
      for (let k = 0; k < c; k++) out[at(k)] = gamma[k] * ((x[at(k)] - mean) / Math.sqrt(v + eps)) + beta[k];
    }
  }
  return out;
}

describe('layer norm over channels', () => {
  const [n, c, spatial, eps] = [2, 5, 6, 1e-5];

  it('forward matches the float64 reference; each pixel is normalised over its channels, not over the batch or the positions', () => {
    const rng = makeRng(1);
    const x = randomArray(rng, n * c * spatial, -2, 3);
    const gamma = randomArray(rng, c, 0.5, 1.5);
    const beta = randomArray(rng, c);
    const out = new Float32Array(x.length);
    layerNormForward(n, c, spatial, eps, x, gamma, beta, out, layerNormScratch(spatial));
    expectForwardClose('layernorm', out, refLayerNorm(n, c, spatial, eps, x, gamma, beta));
    // With gamma 1 and beta 0 every pixel's C values have mean 0 and variance ~1.
    layerNormForward(n, c, spatial, eps, x, new Float32Array(c).fill(1), new Float32Array(c), out, layerNormScratch(spatial));
    for (let b = 0; b < n; b++) {
      for (let p = 0; p < spatial; p++) {
        const vals = Array.from({ length: c }, (_, k) => out[(b * c + k) * spatial + p]);
        const m = vals.reduce((s, v) => s + v, 0) / c;
        expect(Math.abs(m)).toBeLessThan(1e-6);
        expect(vals.reduce((s, v) => s + (v - m) ** 2, 0) / c).toBeCloseTo(1, 3);
      }
    }
  });

  it('backward adds the gradients of x, gamma and beta (finite differences of the reference)', () => {
    const rng = makeRng(2);
    const x = randomArray(rng, n * c * spatial, -2, 2);
    const gamma = randomArray(rng, c, 0.5, 1.5);
    const beta = randomArray(rng, c);
    const r = randomArray(rng, x.length);
    const dx = new Float32Array(x.length).fill(0.5);
    const dGamma = new Float32Array(c).fill(0.25);
    const dBeta = new Float32Array(c);
    layerNormBackward(n, c, spatial, eps, x, gamma, r, dx, dGamma, dBeta, layerNormScratch(spatial));
    const loss = (xx: ArrayLike<number>, g: ArrayLike<number>, be: ArrayLike<number>) => project(refLayerNorm(n, c, spatial, eps, xx, g, be), r);
    expectGradClose('layernorm dx', dx.map((v) => v - 0.5), numericGrad((xx) => loss(xx, gamma, beta), x));
    expectGradClose('layernorm dgamma', dGamma.map((v) => v - 0.25), numericGrad((g) => loss(x, g, beta), gamma));
    expectGradClose('layernorm dbeta', dBeta, numericGrad((be) => loss(x, gamma, be), beta));
    // No input gradient wanted: the parameter gradients still arrive.
    const dG2 = new Float32Array(c);
    layerNormBackward(n, c, spatial, eps, x, gamma, r, null, dG2, new Float32Array(c), layerNormScratch(spatial));
    dGamma.forEach((v, k) => expect(dG2[k]).toBeCloseTo(v - 0.25, 6));
  });
});

describe('per-channel affine (scale)', () => {
  it('forward is gamma[c] * x + beta[c]; backward adds dx, dgamma, dbeta', () => {
    const rng = makeRng(3);
    const [n, c, spatial] = [2, 3, 4];
    const x = randomArray(rng, n * c * spatial);
    const gamma = randomArray(rng, c);
    const beta = randomArray(rng, c);
    const ref = (xx: ArrayLike<number>, g: ArrayLike<number>, be: ArrayLike<number>) =>
      Float64Array.from({ length: n * c * spatial }, (_, i) => g[Math.floor(i / spatial) % c] * xx[i] + be[Math.floor(i / spatial) % c]);
    const out = new Float32Array(x.length);
    affineForward(n, c, spatial, x, gamma, beta, out);
    expectForwardClose('affine', out, ref(x, gamma, beta));
    const r = randomArray(rng, x.length);
    const dx = new Float32Array(x.length);
    const dGamma = new Float32Array(c);
    const dBeta = new Float32Array(c);
    affineBackward(n, c, spatial, x, gamma, r, dx, dGamma, dBeta);
    expectGradClose('affine dx', dx, numericGrad((xx) => project(ref(xx, gamma, beta), r), x));
    expectGradClose('affine dgamma', dGamma, numericGrad((g) => project(ref(x, g, beta), r), gamma));
    expectGradClose('affine dbeta', dBeta, numericGrad((be) => project(ref(x, gamma, be), r), beta));
  });
});
