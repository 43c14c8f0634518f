/**
 * Local response normalisation across channels, as ConvNetJS defines it. At each (sample, y, x), with
 * a_j the input at channel j, C channels, window n = `size` (ConvNetJS's `n`, should be odd), n2 = floor(n / 2):
 *
 *   S_i   = k + alpha/n * sum_{j = max(0, i-n2)}^{min(C-1, i+n2)} a_j^2
 *   out_i = a_i * S_i^-beta
 *
 * Tensors are [n, c, h, w]. Forward stores S (before the power) in the caller's `scale` cache (same shape
 * as the input); backward reads it together with the forward's input.
 *
 * Backward is the true derivative. Since j is in i's window iff i is in j's window,
 *   d out_i / d a_j = [i == j] S_i^-beta - (2 alpha beta / n) a_i a_j S_i^(-beta-1)
 *   dL/da_j = g_j S_j^-beta - (2 alpha beta / n) a_j * sum_{i in window(j)} g_i a_i S_i^(-beta-1)
 * computed with two per-sample scratch buffers: t_i = g_i a_i S_i^(-beta-1) and S_i^-beta (one pow each).
 * NOTE: ConvNetJS's LocalResponseNormalizationLayer.backward has a bug: its cross term uses a_j * a_j where
 * the derivative has a_i * a_j (`var g = -aj*this.beta*Math.pow(S,this.beta-1)*this.alpha/this.n*2*aj;`).
 * We do not copy it; test/tensor checks this backward against finite differences (and that the ConvNetJS
 * formula fails that check).
 */
import type { Workspace } from './workspace.js';

export interface LrnDims {
  n: number;
  c: number;
  h: number;
  w: number;
  /** Window size across channels (ConvNetJS's `n`; should be odd). */
  size: number;
  k: number;
  alpha: number;
  beta: number;
}

/** output[n, c, h, w] = LRN(input); scale[same shape] = S (the denominator before the power). */
export function lrnForward(d: LrnDims, input: Float32Array, output: Float32Array, scale: Float32Array): void {
  const { n, c: C, h, w, size, k, alpha, beta } = d;
  const HW = h * w;
  const n2 = Math.floor(size / 2);
  const alphaOverN = alpha / size;
  for (let b = 0; b < n; b++) {
    const base = b * C * HW;
    for (let i = 0; i < C; i++) {
      const jLo = Math.max(0, i - n2);
      const jHi = Math.min(C - 1, i + n2);
      const first = base + jLo * HW;
      const span = (jHi - jLo) * HW;
      const row = base + i * HW;
      for (let p = 0; p < HW; p++) {
        // Window sum in float64 straight from the definition (a running sum would cancel badly).
        let sum = 0;
        for (let q = first + p, end = q + span; q <= end; q += HW) {
          const a = input[q];
          sum += a * a;
        }
        const S = k + alphaOverN * sum;
        scale[row + p] = S;
        output[row + p] = input[row + p] * Math.pow(S, -beta);
      }
    }
  }
}

/**
 * inputGrad[n, c, h, w] += dL/d input (ACCUMULATED; null: skip), from lrnForward's input and scale.
 * Scratch 'lrn.t' and 'lrn.sb' (one sample each) come from ws.
 */
export function lrnBackward(
  d: LrnDims,
  input: Float32Array,
  scale: Float32Array,
  outputGrad: Float32Array,
  inputGrad: Float32Array | null,
  ws: Workspace,
): void {
  if (inputGrad === null) return;
  const { n, c: C, h, w, size, alpha, beta } = d;
  const HW = h * w;
  const per = C * HW;
  const n2 = Math.floor(size / 2);
  const coef = (2 * alpha * beta) / size;
  const t = ws.get('lrn.t', per); // g_i a_i S_i^(-beta-1)
  const sb = ws.get('lrn.sb', per); // S_i^-beta
  for (let b = 0; b < n; b++) {
    const base = b * per;
    for (let q = 0; q < per; q++) {
      const S = scale[base + q];
      const sNegBeta = Math.pow(S, -beta);
      sb[q] = sNegBeta;
      t[q] = (outputGrad[base + q] * input[base + q] * sNegBeta) / S;
    }
    for (let j = 0; j < C; j++) {
      const iLo = Math.max(0, j - n2);
      const iHi = Math.min(C - 1, j + n2);
      const first = iLo * HW;
      const span = (iHi - iLo) * HW;
      const row = j * HW;
      for (let p = 0; p < HW; p++) {
        let sum = 0;
        for (let q = first + p, end = q + span; q <= end; q += HW) sum += t[q];
        const g = base + row + p;
        inputGrad[g] += outputGrad[g] * sb[row + p] - coef * input[g] * sum;
      }
    }
  }
}
