import { maxPool2dBackward, maxPool2dForward, type Pool2dDims } from '../../tensor/pool2d.js';
import type { LayerConfig, Shape3 } from '../spec.js';
import { ensureInt32, Layer } from './layer.js';

type PoolConfig = Extract<LayerConfig, { type: 'pool' }>;

export class MaxPoolLayer extends Layer {
  private readonly dims: Pool2dDims;
  /** Flat input index of each output's maximum, from the last forward pass. */
  private argmax: Int32Array = new Int32Array(0);

  constructor(config: PoolConfig, index: number, inShape: Shape3, outShape: Shape3) {
    super(config, index, inShape, outShape);
    this.dims = {
      n: 0, c: inShape[0], inH: inShape[1], inW: inShape[2], kH: config.kernelH, kW: config.kernelW,
      stride: config.stride, pad: config.pad, outH: outShape[1], outW: outShape[2],
    };
  }

  forward(input: Float32Array, output: Float32Array, n: number): void {
    this.dims.n = n;
    this.argmax = ensureInt32(this.argmax, n * this.outSize);
    maxPool2dForward(this.dims, input, output, this.argmax);
  }

  backward(_input: Float32Array, _output: Float32Array, outputGrad: Float32Array, inputGrad: Float32Array | null, n: number): void {
    if (!inputGrad) return;
    this.dims.n = n;
    maxPool2dBackward(this.dims, outputGrad, this.argmax, inputGrad);
  }
}
