import { lrnBackward, lrnForward, type LrnDims } from '../../tensor/lrn.js';
import type { LayerConfig, Shape3 } from '../spec.js';
import { ensureFloat32, Layer, type PassContext } from './layer.js';

type LrnConfig = Extract<LayerConfig, { type: 'lrn' }>;

/** Local response normalisation across channels, as ConvNetJS defines it. */
export class LrnLayer extends Layer {
  /** The denominator before the power, k + alpha/n * sum a_j^2, per element. */
  private scaleCache: Float32Array = new Float32Array(0);
  private readonly dims: LrnDims;

  constructor(config: LrnConfig, index: number, inShape: Shape3) {
    super(config, index, inShape, inShape);
    this.dims = { n: 0, c: inShape[0], h: inShape[1], w: inShape[2], size: config.n, k: config.k, alpha: config.alpha, beta: config.beta };
  }

  forward(input: Float32Array, output: Float32Array, n: number): void {
    this.dims.n = n;
    this.scaleCache = ensureFloat32(this.scaleCache, n * this.outSize);
    lrnForward(this.dims, input, output, this.scaleCache);
  }

  backward(input: Float32Array, _output: Float32Array, outputGrad: Float32Array, inputGrad: Float32Array | null, n: number, ctx: PassContext): void {
    this.dims.n = n;
    lrnBackward(this.dims, input, this.scaleCache, outputGrad, inputGrad, ctx.ws);
  }
}
