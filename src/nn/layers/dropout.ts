import { dropoutBackward, dropoutForward, fillDropoutMask } from '../../tensor/dropout.js';
import type { LayerConfig, Shape3 } from '../spec.js';
import { ensureUint8, Layer, type PassContext } from './layer.js';

/**
 * Inverted dropout: kept values are scaled by 1/(1-p) while training, so testing is the identity.
 * (ConvNetJS scales by p at test time instead, which is its own quirk.) Masks are a pure function of
 * (seed, layer, step, sample), so any split of a batch among workers drops the same units.
 */
export class DropoutLayer extends Layer {
  private keep: Uint8Array = new Uint8Array(0);
  private readonly dropProb: number;

  constructor(config: Extract<LayerConfig, { type: 'dropout' }>, index: number, inShape: Shape3) {
    super(config, index, inShape, inShape);
    this.dropProb = config.dropProb;
  }

  forward(input: Float32Array, output: Float32Array, n: number, ctx: PassContext): void {
    const count = n * this.outSize;
    if (ctx.training) {
      this.keep = ensureUint8(this.keep, count);
      fillDropoutMask(this.keep, count, this.dropProb, ctx.seed, this.index, ctx.step, ctx.firstSample, this.outSize);
    }
    dropoutForward(input, output, this.keep, count, this.dropProb, ctx.training);
  }

  backward(_input: Float32Array, _output: Float32Array, outputGrad: Float32Array, inputGrad: Float32Array | null, n: number, ctx: PassContext): void {
    if (!inputGrad) return;
    const count = n * this.outSize;
    if (ctx.training) dropoutBackward(outputGrad, inputGrad, this.keep, count, this.dropProb);
    else inputGrad.set(outputGrad.subarray(0, count));
  }
}
