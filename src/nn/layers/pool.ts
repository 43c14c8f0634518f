import { maxPool2dBackward, maxPool2dForward, type Pool2dDims } from '../../tensor/pool2d.js';
import type { WasmKernels } from '../../tensor/wasm.js';
import type { LayerConfig, Shape3 } from '../spec.js';
import { ensureInt32, Layer } from './layer.js';

type PoolConfig = Extract<LayerConfig, { type: 'pool' }>;

export class MaxPoolLayer extends Layer {
  private readonly dims: Pool2dDims;
  /** Flat input index of each output's maximum, from the last forward pass. */
  private argmax: Int32Array = new Int32Array(0);
  private wk: WasmKernels | null = null;
  /** Address of the argmax in wasm memory (n * outSize int32) when on the wasm kernels. */
  private wasmArgmax = 0;
  private wasmCap = 0;
  /** Whether the last forward ran on the wasm kernels (its argmax is in wasm memory). */
  private lastOnWasm = false;

  constructor(config: PoolConfig, index: number, inShape: Shape3, outShape: Shape3) {
    super(config, index, inShape, outShape);
    this.dims = {
      n: 0, c: inShape[0], inH: inShape[1], inW: inShape[2], kH: config.kernelH, kW: config.kernelW,
      stride: config.stride, pad: config.pad, outH: outShape[1], outW: outShape[2],
    };
  }

  override reserveWasm(wk: WasmKernels, n: number): void {
    this.wk = wk;
    this.wasmArgmax = wk.alloc(n * this.outSize);
    this.wasmCap = n;
  }

  forward(input: Float32Array, output: Float32Array, n: number): void {
    this.dims.n = n;
    const wk = this.wk;
    if (wk && n <= this.wasmCap && wk.owns(input) && wk.owns(output)) {
      const d = this.dims;
      wk.x.maxPoolForward(n * d.c, d.inH, d.inW, d.kH, d.kW, d.stride, d.pad, d.outH, d.outW, input.byteOffset, output.byteOffset, this.wasmArgmax);
      this.lastOnWasm = true;
      return;
    }
    this.lastOnWasm = false;
    this.argmax = ensureInt32(this.argmax, n * this.outSize);
    maxPool2dForward(this.dims, input, output, this.argmax);
  }

  backward(_input: Float32Array, _output: Float32Array, outputGrad: Float32Array, inputGrad: Float32Array | null, n: number): void {
    if (!inputGrad) return;
    this.dims.n = n;
    const wk = this.wk;
    if (this.lastOnWasm && wk) {
      if (wk.owns(outputGrad) && wk.owns(inputGrad)) {
        wk.x.maxPoolBackward(n * this.outSize, n * this.inSize, outputGrad.byteOffset, this.wasmArgmax, inputGrad.byteOffset);
        return;
      }
      this.argmax = ensureInt32(this.argmax, n * this.outSize);
      this.argmax.set(new Int32Array(wk.memory.buffer, this.wasmArgmax, n * this.outSize));
    }
    maxPool2dBackward(this.dims, outputGrad, this.argmax, inputGrad);
  }
}
