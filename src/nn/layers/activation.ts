import {
  reluBackward, reluForward, sigmoidBackward, sigmoidForward, tanhBackward, tanhForward,
} from '../../tensor/activations.js';
import type { WasmKernels } from '../../tensor/wasm.js';
import type { LayerConfig, Shape3 } from '../spec.js';
import { Layer } from './layer.js';

type Elementwise = (input: Float32Array, output: Float32Array, count: number) => void;
type ElementwiseBackward = (output: Float32Array, outputGrad: Float32Array, inputGrad: Float32Array, count: number) => void;

const KERNELS: Record<'relu' | 'sigmoid' | 'tanh', [Elementwise, ElementwiseBackward]> = {
  relu: [reluForward, reluBackward],
  sigmoid: [sigmoidForward, sigmoidBackward],
  tanh: [tanhForward, tanhBackward],
};

/** relu, sigmoid, tanh: element-wise; backward from the output alone. */
export class ActivationLayer extends Layer {
  private readonly fwd: Elementwise;
  private readonly bwd: ElementwiseBackward;

  constructor(config: Extract<LayerConfig, { type: 'relu' | 'sigmoid' | 'tanh' }>, index: number, inShape: Shape3) {
    super(config, index, inShape, inShape);
    [this.fwd, this.bwd] = KERNELS[config.type];
  }

  private wk: WasmKernels | null = null;

  override reserveWasm(wk: WasmKernels): void {
    // ReLU has a SIMD kernel (same results as the TypeScript one); sigmoid and tanh stay in TypeScript.
    if (this.type === 'relu') this.wk = wk;
  }

  forward(input: Float32Array, output: Float32Array, n: number): void {
    const wk = this.wk;
    if (wk && wk.owns(input) && wk.owns(output)) wk.x.reluForward(input.byteOffset, output.byteOffset, n * this.outSize);
    else this.fwd(input, output, n * this.outSize);
  }

  backward(_input: Float32Array, output: Float32Array, outputGrad: Float32Array, inputGrad: Float32Array | null, n: number): void {
    if (!inputGrad) return;
    const wk = this.wk;
    if (wk && wk.owns(output) && wk.owns(outputGrad) && wk.owns(inputGrad)) {
      wk.x.reluBackward(output.byteOffset, outputGrad.byteOffset, inputGrad.byteOffset, n * this.outSize);
    } else {
      this.bwd(output, outputGrad, inputGrad, n * this.outSize);
    }
  }
}
