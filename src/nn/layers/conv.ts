import { conv2dBackward, conv2dForward, type Conv2dDims } from '../../tensor/conv2d.js';
import { allocConvWasm, conv2dBackwardWasm, conv2dForwardWasm, type ConvWasmBuffers } from '../../tensor/conv2d-wasm.js';
import type { WasmKernels } from '../../tensor/wasm.js';
import type { DefReader } from '../def-reader.js';
import { defineLayer, type LayerImpl, type LayerNode, type PassContext, type Shape3 } from './layer.js';

export interface ConvFields {
  filters: number;
  kernelH: number;
  kernelW: number;
  stride: number;
  pad: number;
  biasPref: number;
  l1DecayMul: number;
  l2DecayMul: number;
}

/** ConvNetJS defaults: no L1 decay unless asked for per layer, full L2 decay. */
export function decayFields(r: DefReader): { l1DecayMul: number; l2DecayMul: number } {
  return { l1DecayMul: r.real('l1_decay_mul', 0), l2DecayMul: r.real('l2_decay_mul', 1) };
}

/** ConvNetJS: relus like a bit of positive bias to get gradients early. */
export function biasPrefField(r: DefReader): number {
  return r.real('bias_pref', r.str('activation') === 'relu' ? 0.1 : 0);
}

export function windowOut(input: number, kernel: number, stride: number, pad: number): number {
  return Math.floor((input + 2 * pad - kernel) / stride) + 1;
}

/** Output height and width of a sliding window (conv, pool), or the user error when it does not fit. */
export function windowShape(
  c: { kernelH: number; kernelW: number; stride: number; pad: number },
  prev: Shape3,
  fail: (field: string, problem: string) => never,
): [number, number] {
  const h = windowOut(prev[1], c.kernelH, c.stride, c.pad);
  const w = windowOut(prev[2], c.kernelW, c.stride, c.pad);
  if (h < 1 || w < 1) {
    const field = prev[2] + 2 * c.pad < c.kernelW ? 'sx' : 'sy';
    fail(
      field,
      `(${c.kernelW}x${c.kernelH} window, stride ${c.stride}, pad ${c.pad}) does not fit its ${prev[1]}x${prev[2]} input: output would be ${h}x${w}, smaller than 1x1`,
    );
  }
  return [h, w];
}

class ConvImpl implements LayerImpl {
  private readonly dims: Conv2dDims;
  private wk: WasmKernels | null = null;
  private wbuf: ConvWasmBuffers | null = null;
  private wcap = 0;

  constructor(private readonly node: LayerNode<ConvFields>) {
    const c = node.config;
    const [inC, inH, inW] = node.inShapes[0];
    this.dims = {
      n: 0, inC, inH, inW, outC: c.filters, kH: c.kernelH, kW: c.kernelW, stride: c.stride, pad: c.pad, outH: node.outShape[1], outW: node.outShape[2],
    };
  }

  reserveWasm(wk: WasmKernels, n: number): void {
    this.wk = wk;
    this.wbuf = allocConvWasm(wk, { ...this.dims, n }, n);
    this.wcap = n;
  }

  /** The wasm buffers when this pass can run on the wasm kernels (all tensors in its memory). */
  private wasmFor(n: number, ...arrays: (Float32Array | null)[]): ConvWasmBuffers | null {
    const wk = this.wk;
    if (!wk || !this.wbuf || n > this.wcap) return null;
    for (const a of arrays) if (a && !wk.owns(a)) return null;
    return this.wbuf;
  }

  forward(inputs: Float32Array[], output: Float32Array, n: number, ctx: PassContext): void {
    const [weights, biases] = this.node.params;
    this.dims.n = n;
    const input = inputs[0];
    const buf = this.wasmFor(n, input, output);
    if (buf) {
      const wk = this.wk!;
      const heap = wk.heap;
      heap.set(weights.data, buf.weights / 4);
      heap.set(biases.data, buf.bias / 4);
      conv2dForwardWasm(wk, this.dims, input.byteOffset, output.byteOffset, buf);
      return;
    }
    conv2dForward(this.dims, input, weights.data, biases.data, output, ctx.ws);
  }

  backward(inputs: Float32Array[], _output: Float32Array, outputGrad: Float32Array, inputGrads: (Float32Array | null)[], n: number, ctx: PassContext): void {
    const [weights, biases] = this.node.params;
    this.dims.n = n;
    const input = inputs[0];
    const inputGrad = inputGrads[0];
    const buf = this.wasmFor(n, input, outputGrad, inputGrad);
    if (buf) {
      const wk = this.wk!;
      const heap = wk.heap;
      const wg = weights.grad;
      const bg = biases.grad;
      heap.set(weights.data, buf.weights / 4);
      heap.set(wg, buf.weightGrad / 4);
      heap.set(bg, buf.biasGrad / 4);
      conv2dBackwardWasm(wk, this.dims, input.byteOffset, outputGrad.byteOffset, inputGrad ? inputGrad.byteOffset : -1, buf);
      wg.set(heap.subarray(buf.weightGrad / 4, buf.weightGrad / 4 + wg.length));
      bg.set(heap.subarray(buf.biasGrad / 4, buf.biasGrad / 4 + bg.length));
      return;
    }
    conv2dBackward(this.dims, input, weights.data, outputGrad, inputGrad, weights.grad, biases.grad, ctx.ws);
  }
}

export const convLayer = defineLayer<ConvFields>({
  type: 'conv',
  takesActivation: true,
  parse(r) {
    const kernelW = r.int('sx', 1);
    return {
      filters: r.int('filters', 1), kernelW, kernelH: r.int('sy', 1, kernelW), stride: r.int('stride', 1, 1), pad: r.int('pad', 0, 0),
      biasPref: biasPrefField(r), ...decayFields(r),
    };
  },
  outShape(c, [prev], fail) {
    const [h, w] = windowShape(c, prev, fail);
    return [c.filters, h, w];
  },
  params: (c, [prev]) => [
    { name: 'weights', shape: [c.filters, prev[0], c.kernelH, c.kernelW], l1DecayMul: c.l1DecayMul, l2DecayMul: c.l2DecayMul, init: 'fan-in' },
    // ConvNetJS never decays biases.
    { name: 'biases', shape: [c.filters], l1DecayMul: 0, l2DecayMul: 0, init: { fill: c.biasPref } },
  ],
  describe: (c) => `conv ${c.kernelW}x${c.kernelH}, ${c.filters} filters, stride ${c.stride}, pad ${c.pad}`,
  hints: { negative: 'can', explain: 'conv', weights: 'filters' },
  fromConvNetJS: (l, num) => ({
    type: 'conv', sx: num('sx'), sy: num('sy'), filters: num('out_depth'), stride: num('stride'), pad: num('pad', 0),
    l1_decay_mul: num('l1_decay_mul', 0), l2_decay_mul: num('l2_decay_mul', 1),
  }),
  create: (node) => new ConvImpl(node),
});
