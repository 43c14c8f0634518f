import type { LayerConfig, Shape3 } from '../spec.js';
import { Layer } from './layer.js';

/** Layer 0: its output is the (preprocessed) image batch itself. */
export class InputLayer extends Layer {
  constructor(config: Extract<LayerConfig, { type: 'input' }>, shape: Shape3) {
    super(config, 0, shape, shape);
  }

  forward(input: Float32Array, output: Float32Array, n: number): void {
    if (input !== output) output.set(input.subarray(0, n * this.outSize));
  }

  backward(): void {
    // Nothing to pass on: d(loss)/d(image) is the input layer's activation gradient itself.
  }
}
