/**
 * Layer normalisation over channels (ConvNeXt's LayerNorm on channels-last values, LayerNorm2d), and the
 * per-channel affine map the ONNX import folds constant arithmetic into. NCHW buffers, `spatial` = H*W.
 *
 *   layernorm: per sample b and pixel p, over its C values x[b, :, p]:
 *     mu = mean_c x,  var = mean_c (x - mu)^2 (biased),  xhat = (x - mu) / sqrt(var + eps),
 *     out[b, c, p] = gamma[c] * xhat + beta[c]
 *   backward (dxhat = dy * gamma):
 *     dx = (dxhat - mean_c dxhat - xhat * mean_c (dxhat * xhat)) / sqrt(var + eps),
 *     dgamma[c] += sum over b, p of dy * xhat,  dbeta[c] += sum of dy
 *   affine:    out[b, c, p] = gamma[c] * x[b, c, p] + beta[c]
 *
 * Backward ADDS (+=) into the input and parameter gradients; a null input gradient is not wanted.
 * The statistics are per pixel: the loops run over channels outside and pixels inside, so each pass
 * reads a plane contiguously and accumulates into `spatial`-long rows.
 */

/** Per pixel of sample b: mean into `mean`, 1/sqrt(var + eps) into `invStd` (each `spatial` long). */
function pixelStats(c: number, spatial: number, eps: number, x: Float32Array, base: number, mean: Float32Array, invStd: Float32Array): void {
  mean.fill(0, 0, spatial);
  invStd.fill(0, 0, spatial);
  for (let k = 0; k < c; k++) {
    const o = base + k * spatial;
    for (let p = 0; p < spatial; p++) mean[p] += x[o + p];
  }
  for (let p = 0; p < spatial; p++) mean[p] /= c;
  for (let k = 0; k < c; k++) {
    const o = base + k * spatial;
    for (let p = 0; p < spatial; p++) {
      const d = x[o + p] - mean[p];
      invStd[p] += d * d;
    }
  }
  for (let p = 0; p < spatial; p++) invStd[p] = 1 / Math.sqrt(invStd[p] / c + eps);
}

/** Scratch of `layerNormForward`/`layerNormBackward`: 4 rows of `spatial` floats. */
export function layerNormScratch(spatial: number): Float32Array {
  return new Float32Array(4 * spatial);
}

export function layerNormForward(
  n: number, c: number, spatial: number, eps: number, x: Float32Array, gamma: Float32Array, beta: Float32Array, out: Float32Array, scratch: Float32Array,
): void {
  const mean = scratch.subarray(0, spatial);
  const invStd = scratch.subarray(spatial, 2 * spatial);
  for (let b = 0; b < n; b++) {
    const base = b * c * spatial;
    pixelStats(c, spatial, eps, x, base, mean, invStd);
    for (let k = 0; k < c; k++) {
      const o = base + k * spatial;
      const g = gamma[k];
      const be = beta[k];
      for (let p = 0; p < spatial; p++) out[o + p] = g * (x[o + p] - mean[p]) * invStd[p] + be;
    }
  }
}

export function layerNormBackward(
  n: number, c: number, spatial: number, eps: number, x: Float32Array, gamma: Float32Array, dy: Float32Array,
  dx: Float32Array | null, dGamma: Float32Array, dBeta: Float32Array, scratch: Float32Array,
): void {
  const mean = scratch.subarray(0, spatial);
  const invStd = scratch.subarray(spatial, 2 * spatial);
  const sumD = scratch.subarray(2 * spatial, 3 * spatial);
  const sumDX = scratch.subarray(3 * spatial, 4 * spatial);
  for (let b = 0; b < n; b++) {
    const base = b * c * spatial;
    pixelStats(c, spatial, eps, x, base, mean, invStd);
    sumD.fill(0, 0, spatial);
    sumDX.fill(0, 0, spatial);
    for (let k = 0; k < c; k++) {
      const o = base + k * spatial;
      const g = gamma[k];
      let dg = 0;
      let db = 0;
      for (let p = 0; p < spatial; p++) {
        const xhat = (x[o + p] - mean[p]) * invStd[p];
        const d = dy[o + p];
        dg += d * xhat;
        db += d;
        sumD[p] += d * g;
        sumDX[p] += d * g * xhat;
      }
      dGamma[k] += dg;
      dBeta[k] += db;
    }
    if (!dx) continue;
    for (let k = 0; k < c; k++) {
      const o = base + k * spatial;
      const g = gamma[k];
      for (let p = 0; p < spatial; p++) {
        const xhat = (x[o + p] - mean[p]) * invStd[p];
        dx[o + p] += (dy[o + p] * g - sumD[p] / c - xhat * (sumDX[p] / c)) * invStd[p];
      }
    }
  }
}

/** out = gamma[c] * x + beta[c]. */
export function affineForward(n: number, c: number, spatial: number, x: Float32Array, gamma: Float32Array, beta: Float32Array, out: Float32Array): void {
  for (let b = 0; b < n; b++) {
    for (let k = 0; k < c; k++) {
      const o = (b * c + k) * spatial;
      const g = gamma[k];
      const be = beta[k];
      for (let p = 0; p < spatial; p++) out[o + p] = g * x[o + p] + be;
    }
  }
}

/** dx += gamma[c] * dy; dgamma[c] += sum dy * x; dbeta[c] += sum dy. */
export function affineBackward(
  n: number, c: number, spatial: number, x: Float32Array, gamma: Float32Array, dy: Float32Array, dx: Float32Array | null, dGamma: Float32Array, dBeta: Float32Array,
): void {
  for (let b = 0; b < n; b++) {
    for (let k = 0; k < c; k++) {
      const o = (b * c + k) * spatial;
      const g = gamma[k];
      let dg = 0;
      let db = 0;
      for (let p = 0; p < spatial; p++) {
        const d = dy[o + p];
        dg += d * x[o + p];
        db += d;
        if (dx) dx[o + p] += g * d;
      }
      dGamma[k] += dg;
      dBeta[k] += db;
    }
  }
}
