/**
 * Batch norm on the WebAssembly SIMD kernels: the contract of src/tensor/batchnorm.ts (which stays the
 * reference path) with the activations at byte addresses in one WasmKernels instance's memory. The
 * per-channel vectors (statistics, gamma, beta, scale/shift) are small and live in JS; they are copied
 * into a scratch block of the instance (allocBatchNormWasm) around each call.
 * Training forward = one kernel (statistics, then the scaled output, channel by channel); evaluation =
 * channelScaleShift; backward = one kernel that sums per channel and adds the input gradient. resnet8,
 * one image: forward + backward of its 7 batch norms in wasm take a fraction of the TypeScript loops'
 * time (see npm run bench, time per layer type).
 */
import type { BatchNormDims } from './batchnorm.js';
import type { FusedKernels, WasmKernels } from './wasm.js';

/** Byte address of a layer's scratch: 6 vectors of `channels` floats (mean, var, gamma/scale, beta/shift, sums x2 or invStd). */
export interface BatchNormWasmBuffers {
  base: number;
  channels: number;
}

export function allocBatchNormWasm(wk: WasmKernels, channels: number): BatchNormWasmBuffers {
  return { base: wk.alloc(6 * channels), channels };
}

const slot = (buf: BatchNormWasmBuffers, i: number) => buf.base + i * buf.channels * 4;

function fusedOf(wk: WasmKernels): FusedKernels {
  if (!wk.fused) throw new Error('batch norm + ReLU: these kernels have no fused variant (native kernels only)');
  return wk.fused;
}

/**
 * Training forward: as batchNormForwardTrain (mean / variance / invStd returned in JS arrays). relu: fused
 * with the ReLU after it (wk.fused), `output` gets only max(0, batch norm).
 */
export function batchNormForwardTrainWasm(
  wk: WasmKernels, d: BatchNormDims, input: number, gamma: Float32Array | null, beta: Float32Array | null, eps: number, output: number,
  buf: BatchNormWasmBuffers, mean: Float32Array, variance: Float32Array, invStd: Float32Array, relu = false,
): void {
  const C = d.c;
  const heap = wk.heap;
  const g = slot(buf, 2) / 4;
  const b = slot(buf, 3) / 4;
  if (gamma) heap.set(gamma, g);
  else heap.fill(1, g, g + C);
  if (beta) heap.set(beta, b);
  else heap.fill(0, b, b + C);
  const kernel = relu ? fusedOf(wk).batchNormReluForwardTrain : wk.x.batchNormForwardTrain;
  kernel(d.n, C, d.spatial, input, slot(buf, 2), slot(buf, 3), eps, slot(buf, 0), slot(buf, 1), slot(buf, 4), output);
  mean.set(heap.subarray(slot(buf, 0) / 4, slot(buf, 0) / 4 + C));
  variance.set(heap.subarray(slot(buf, 1) / 4, slot(buf, 1) / 4 + C));
  invStd.set(heap.subarray(slot(buf, 4) / 4, slot(buf, 4) / 4 + C));
}

/** Evaluation forward with the running statistics (relu: fused, as in training). */
export function batchNormForwardEvalWasm(
  wk: WasmKernels, d: BatchNormDims, input: number, gamma: Float32Array | null, beta: Float32Array | null, eps: number,
  runningMean: Float32Array, runningVar: Float32Array, output: number, buf: BatchNormWasmBuffers, relu = false,
): void {
  const heap = wk.heap;
  const sc = slot(buf, 2) / 4;
  const sh = slot(buf, 3) / 4;
  for (let c = 0; c < d.c; c++) {
    const a = (gamma ? gamma[c] : 1) / Math.sqrt(runningVar[c] + eps);
    heap[sc + c] = a;
    heap[sh + c] = (beta ? beta[c] : 0) - runningMean[c] * a;
  }
  const kernel = relu ? fusedOf(wk).channelScaleShiftRelu : wk.x.channelScaleShift;
  kernel(d.n, d.c, d.spatial, input, slot(buf, 2), slot(buf, 3), output);
}

/**
 * Backward: as batchNormBackward; inputGrad = -1 skips the input gradient. Parameter gradients ADD.
 * reluOut >= 0: fused with the ReLU after it, whose output that is; outputGrad is then the ReLU's.
 */
export function batchNormBackwardWasm(
  wk: WasmKernels, d: BatchNormDims, training: boolean, input: number, gamma: Float32Array | null, mean: Float32Array, invStd: Float32Array,
  outputGrad: number, inputGrad: number, gammaGrad: Float32Array | null, betaGrad: Float32Array | null, buf: BatchNormWasmBuffers, reluOut = -1,
): void {
  const C = d.c;
  const heap = wk.heap;
  heap.set(mean, slot(buf, 0) / 4);
  heap.set(invStd, slot(buf, 1) / 4);
  if (gamma) heap.set(gamma, slot(buf, 2) / 4);
  else heap.fill(1, slot(buf, 2) / 4, slot(buf, 2) / 4 + C);
  const args = [d.n, C, d.spatial, training ? 1 : 0, input, slot(buf, 2), slot(buf, 0), slot(buf, 1), outputGrad, inputGrad < 0 ? 0 : inputGrad, slot(buf, 4)] as const;
  if (reluOut >= 0) fusedOf(wk).batchNormReluBackward(...args, reluOut);
  else wk.x.batchNormBackward(...args);
  const sums = slot(buf, 4) / 4;
  for (let c = 0; c < C; c++) {
    if (betaGrad) betaGrad[c] += heap[sums + c];
    if (gammaGrad) gammaGrad[c] += heap[sums + C + c];
  }
}
