import { maxoutBackward, maxoutForward } from '../../tensor/maxout.js';
import type { LayerConfig, Shape3 } from '../spec.js';
import { ensureInt32, Layer } from './layer.js';

export class MaxoutLayer extends Layer {
  private argmax: Int32Array = new Int32Array(0);
  private readonly groupSize: number;

  constructor(config: Extract<LayerConfig, { type: 'maxout' }>, index: number, inShape: Shape3, outShape: Shape3) {
    super(config, index, inShape, outShape);
    this.groupSize = config.groupSize;
  }

  forward(input: Float32Array, output: Float32Array, n: number): void {
    this.argmax = ensureInt32(this.argmax, n * this.outSize);
    maxoutForward(n, this.inShape[0], this.inShape[1] * this.inShape[2], this.groupSize, input, output, this.argmax);
  }

  backward(_input: Float32Array, _output: Float32Array, outputGrad: Float32Array, inputGrad: Float32Array | null, n: number): void {
    if (!inputGrad) return;
    maxoutBackward(n, this.inShape[0], this.inShape[1] * this.inShape[2], this.groupSize, outputGrad, this.argmax, inputGrad);
  }
}
