/**
 * Fully connected layer, batch first, weights [outF, inF] (row o = the weights of output o, as ConvNetJS's
 * filters):  out[b, o] = bias[o] + sum_i w[o, i] * in[b, i].
 * All three products go through sgemm:
 *   Y[n, outF]   = X[n, inF] * W^T + bias                     (bias null: no bias term)
 *   dW[outF, inF] += dY^T * X,   db[o] += sum_b dY[b, o]      (ACCUMULATED; db skipped when null)
 *   dX[n, inF]   += dY * W                                  (ACCUMULATED; skipped when null)
 */
import { sgemm } from './gemm.js';

export function denseForward(
  n: number,
  inF: number,
  outF: number,
  input: Float32Array,
  weights: Float32Array,
  bias: Float32Array | null,
  output: Float32Array,
): void {
  if (bias === null) {
    output.fill(0, 0, n * outF);
  } else {
    for (let b = 0; b < n; b++) {
      const row = b * outF;
      for (let o = 0; o < outF; o++) output[row + o] = bias[o];
    }
  }
  sgemm(false, true, n, outF, inF, 1, input, 0, inF, weights, 0, inF, 1, output, 0, outF);
}

export function denseBackward(
  n: number,
  inF: number,
  outF: number,
  input: Float32Array,
  weights: Float32Array,
  outputGrad: Float32Array,
  inputGrad: Float32Array | null,
  weightGrad: Float32Array,
  biasGrad: Float32Array | null,
): void {
  if (biasGrad !== null) {
    for (let o = 0; o < outF; o++) {
      let sum = 0;
      for (let b = 0, i = o; b < n; b++, i += outF) sum += outputGrad[i];
      biasGrad[o] += sum;
    }
  }
  sgemm(true, false, outF, inF, n, 1, outputGrad, 0, outF, input, 0, inF, 1, weightGrad, 0, inF);
  if (inputGrad !== null) {
    sgemm(false, false, n, inF, outF, 1, outputGrad, 0, outF, weights, 0, inF, 1, inputGrad, 0, inF);
  }
}
