import { maxPool2dBackward, maxPool2dForward, type Pool2dDims } from '../../tensor/pool2d.js';
import type { WasmKernels } from '../../tensor/wasm.js';
import { windowShape } from './conv.js';
import { defineLayer, ensureInt32, type LayerImpl, type LayerNode } from './layer.js';

export interface PoolFields {
  kernelH: number;
  kernelW: number;
  stride: number;
  pad: number;
}

class MaxPoolImpl implements LayerImpl {
  private readonly dims: Pool2dDims;
  /** Flat input index of each output's maximum, from the last forward pass. */
  private argmax: Int32Array = new Int32Array(0);
  private wk: WasmKernels | null = null;
  /** Address of the argmax in wasm memory (n * outSize int32) when on the wasm kernels. */
  private wasmArgmax = 0;
  private wasmCap = 0;
  /** Whether the last forward ran on the wasm kernels (its argmax is in wasm memory). */
  private lastOnWasm = false;

  constructor(private readonly node: LayerNode<PoolFields>) {
    const c = node.config;
    const [ch, inH, inW] = node.inShapes[0];
    this.dims = { n: 0, c: ch, inH, inW, kH: c.kernelH, kW: c.kernelW, stride: c.stride, pad: c.pad, outH: node.outShape[1], outW: node.outShape[2] };
  }

  reserveWasm(wk: WasmKernels, n: number): void {
    this.wk = wk;
    this.wasmArgmax = wk.alloc(n * this.node.outSize);
    this.wasmCap = n;
  }

  forward(inputs: Float32Array[], output: Float32Array, n: number): void {
    const input = inputs[0];
    this.dims.n = n;
    const wk = this.wk;
    if (wk && n <= this.wasmCap && wk.owns(input) && wk.owns(output)) {
      const d = this.dims;
      wk.x.maxPoolForward(n * d.c, d.inH, d.inW, d.kH, d.kW, d.stride, d.pad, d.outH, d.outW, input.byteOffset, output.byteOffset, this.wasmArgmax);
      this.lastOnWasm = true;
      return;
    }
    this.lastOnWasm = false;
    this.argmax = ensureInt32(this.argmax, n * this.node.outSize);
    maxPool2dForward(this.dims, input, output, this.argmax);
  }

  backward(_inputs: Float32Array[], _output: Float32Array, outputGrad: Float32Array, inputGrads: (Float32Array | null)[], n: number): void {
    const inputGrad = inputGrads[0];
    if (!inputGrad) return;
    this.dims.n = n;
    const wk = this.wk;
    const outSize = this.node.outSize;
    if (this.lastOnWasm && wk) {
      if (wk.owns(outputGrad) && wk.owns(inputGrad)) {
        wk.x.maxPoolBackward(n * outSize, n * this.node.inSizes[0], outputGrad.byteOffset, this.wasmArgmax, inputGrad.byteOffset);
        return;
      }
      this.argmax = ensureInt32(this.argmax, n * outSize);
      this.argmax.set(new Int32Array(wk.memory.buffer, this.wasmArgmax, n * outSize));
    }
    maxPool2dBackward(this.dims, outputGrad, this.argmax, inputGrad);
  }
}

export const poolLayer = defineLayer<PoolFields>({
  type: 'pool',
  parse(r) {
    const kernelW = r.int('sx', 1);
    return { kernelW, kernelH: r.int('sy', 1, kernelW), stride: r.int('stride', 1, 2), pad: r.int('pad', 0, 0) };
  },
  outShape(c, [prev], fail) {
    const [h, w] = windowShape(c, prev, fail);
    if (c.pad >= Math.min(c.kernelH, c.kernelW)) fail('pad', `(${c.pad}) must be smaller than the pooling window`);
    return [prev[0], h, w];
  },
  describe: (c) => `max pool ${c.kernelW}x${c.kernelH}, stride ${c.stride}${c.pad ? `, pad ${c.pad}` : ''}`,
  hints: { negative: 'if-inputs-can', explain: 'pool' },
  fromConvNetJS: (l, num) => ({ type: 'pool', sx: num('sx'), sy: num('sy'), stride: num('stride'), pad: num('pad', 0) }),
  create: (node) => new MaxPoolImpl(node),
});
