import { denseBackward, denseForward } from '../../tensor/dense.js';
import type { LayerConfig, Shape3 } from '../spec.js';
import type { ParamAllocator } from './conv.js';
import { Layer, type ParamTensor, type PassContext } from './layer.js';

type FcConfig = Extract<LayerConfig, { type: 'fc' }>;

/** Fully connected: each output unit's weights have the input's shape [inC, inH, inW] (NCHW order). */
export class FullyConnectedLayer extends Layer {
  readonly weights: ParamTensor;
  readonly biases: ParamTensor;

  constructor(config: FcConfig, index: number, inShape: Shape3, outShape: Shape3, alloc: ParamAllocator) {
    super(config, index, inShape, outShape);
    this.weights = alloc('weights', [config.units, inShape[0], inShape[1], inShape[2]], config.l1DecayMul, config.l2DecayMul);
    this.biases = alloc('biases', [config.units], 0, 0);
    this.params.push(this.weights, this.biases);
  }

  forward(input: Float32Array, output: Float32Array, n: number): void {
    denseForward(n, this.inSize, this.outSize, input, this.weights.data, this.biases.data, output);
  }

  backward(input: Float32Array, _output: Float32Array, outputGrad: Float32Array, inputGrad: Float32Array | null, n: number, _ctx: PassContext): void {
    denseBackward(n, this.inSize, this.outSize, input, this.weights.data, outputGrad, inputGrad, this.weights.grad, this.biases.grad);
  }
}
