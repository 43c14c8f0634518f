import { conv2dBackward, conv2dForward, type Conv2dDims } from '../../tensor/conv2d.js';
import type { LayerConfig, Shape3 } from '../spec.js';
import { Layer, type ParamTensor, type PassContext } from './layer.js';

export type ParamAllocator = (name: ParamTensor['name'], shape: number[], l1DecayMul: number, l2DecayMul: number) => ParamTensor;

type ConvConfig = Extract<LayerConfig, { type: 'conv' }>;

export class ConvLayer extends Layer {
  readonly weights: ParamTensor;
  readonly biases: ParamTensor;
  private readonly dims: Conv2dDims;

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

  forward(input: Float32Array, output: Float32Array, n: number, ctx: PassContext): void {
    this.dims.n = n;
    conv2dForward(this.dims, input, this.weights.data, this.biases.data, output, ctx.ws);
  }

  backward(input: Float32Array, _output: Float32Array, outputGrad: Float32Array, inputGrad: Float32Array | null, n: number, ctx: PassContext): void {
    this.dims.n = n;
    conv2dBackward(this.dims, input, this.weights.data, outputGrad, inputGrad, this.weights.grad, this.biases.grad, ctx.ws);
  }
}
