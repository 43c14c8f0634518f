import { conv2dBackward, conv2dForward, type Conv2dDims } from '../../tensor/conv2d.js';
import { allocConvWasm, conv2dBackwardWasm, conv2dForwardWasm, type ConvWasmBuffers } from '../../tensor/conv2d-wasm.js';
import type { WasmKernels } from '../../tensor/wasm.js';
import type { LayerConfig, Shape3 } from '../spec.js';
import { Layer, type ParamTensor, type PassContext } from './layer.js';

export type ParamAllocator = (name: ParamTensor['name'], shape: number[], l1DecayMul: number, l2DecayMul: number) => ParamTensor;

type ConvConfig = Extract<LayerConfig, { type: 'conv' }>;

export class ConvLayer extends Layer {
  readonly weights: ParamTensor;
  readonly biases: ParamTensor;
  private readonly dims: Conv2dDims;
  private wk: WasmKernels | null = null;
  private wbuf: ConvWasmBuffers | null = null;
  private wcap = 0;

  constructor(config: ConvConfig, index: number, inShape: Shape3, outShape: Shape3, alloc: ParamAllocator) {
    super(config, index, inShape, outShape);
    this.weights = alloc('weights', [config.filters, inShape[0], config.kernelH, config.kernelW], config.l1DecayMul, config.l2DecayMul);
    // ConvNetJS never decays biases.
    this.biases = alloc('biases', [config.filters], 0, 0);
    this.params.push(this.weights, this.biases);
    this.dims = {
      n: 0, inC: inShape[0], inH: inShape[1], inW: inShape[2], outC: config.filters,
      kH: config.kernelH, kW: config.kernelW, stride: config.stride, pad: config.pad, outH: outShape[1], outW: outShape[2],
    };
  }

  override reserveWasm(wk: WasmKernels, n: number): void {
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

  forward(input: Float32Array, output: Float32Array, n: number, ctx: PassContext): void {
    this.dims.n = n;
    const buf = this.wasmFor(n, input, output);
    if (buf) {
      const wk = this.wk!;
      const heap = wk.heap;
      heap.set(this.weights.data, buf.weights / 4);
      heap.set(this.biases.data, buf.bias / 4);
      conv2dForwardWasm(wk, this.dims, input.byteOffset, output.byteOffset, buf);
      return;
    }
    conv2dForward(this.dims, input, this.weights.data, this.biases.data, output, ctx.ws);
  }

  backward(input: Float32Array, _output: Float32Array, outputGrad: Float32Array, inputGrad: Float32Array | null, n: number, ctx: PassContext): void {
    this.dims.n = n;
    const buf = this.wasmFor(n, input, outputGrad, inputGrad);
    if (buf) {
      const wk = this.wk!;
      const heap = wk.heap;
      const wg = this.weights.grad;
      const bg = this.biases.grad;
      heap.set(this.weights.data, buf.weights / 4);
      heap.set(wg, buf.weightGrad / 4);
      heap.set(bg, buf.biasGrad / 4);
      conv2dBackwardWasm(wk, this.dims, input.byteOffset, outputGrad.byteOffset, inputGrad ? inputGrad.byteOffset : -1, buf);
      wg.set(heap.subarray(buf.weightGrad / 4, buf.weightGrad / 4 + wg.length));
      bg.set(heap.subarray(buf.biasGrad / 4, buf.biasGrad / 4 + bg.length));
      return;
    }
    conv2dBackward(this.dims, input, this.weights.data, outputGrad, inputGrad, this.weights.grad, this.biases.grad, ctx.ws);
  }
}
