import { WasmKernels } from '../tensor/wasm.js';
import { Workspace } from '../tensor/workspace.js';
import { Rng } from '../util/rng.js';
import { ActivationLayer } from './layers/activation.js';
import { ConvLayer, type ParamAllocator } from './layers/conv.js';
import { DropoutLayer } from './layers/dropout.js';
import { FullyConnectedLayer } from './layers/fc.js';
import { InputLayer } from './layers/input.js';
import { type Layer, type ParamTensor, type PassContext } from './layers/layer.js';
import { LossLayer, type LossTarget } from './layers/loss.js';
import { LrnLayer } from './layers/lrn.js';
import { MaxoutLayer } from './layers/maxout.js';
import { MaxPoolLayer } from './layers/pool.js';
import { paramCountOf, type LayerConfig, type ModelSpec, type Shape3 } from './spec.js';

/** Where a parameter tensor sits in the network's flat parameter vector. */
export interface ParamRange {
  layer: number;
  name: ParamTensor['name'];
  offset: number;
  length: number;
  l1DecayMul: number;
  l2DecayMul: number;
}

function countParams(spec: ModelSpec): number {
  return spec.layers.reduce((total, layer, i) => total + paramCountOf(layer, spec.shapes[i - 1]), 0);
}

function buildLayer(config: LayerConfig, index: number, inShape: Shape3, outShape: Shape3, alloc: ParamAllocator): Layer {
  switch (config.type) {
    case 'input': return new InputLayer(config, outShape);
    case 'conv': return new ConvLayer(config, index, inShape, outShape, alloc);
    case 'fc': return new FullyConnectedLayer(config, index, inShape, outShape, alloc);
    case 'pool': return new MaxPoolLayer(config, index, inShape, outShape);
    case 'relu':
    case 'sigmoid':
    case 'tanh': return new ActivationLayer(config, index, inShape);
    case 'maxout': return new MaxoutLayer(config, index, inShape, outShape);
    case 'dropout': return new DropoutLayer(config, index, inShape);
    case 'lrn': return new LrnLayer(config, index, inShape);
    case 'softmax':
    case 'svm':
    case 'regression': return new LossLayer(config, index, inShape, outShape);
  }
}

export interface NetworkBuffers {
  /** Flat parameter vector (e.g. a view of a SharedArrayBuffer shared by worker replicas). */
  params?: Float32Array;
  /** Flat gradient vector, same layout as params. */
  grads?: Float32Array;
}

/**
 * A network: layers in order, all parameters in one flat vector (so replicas can share it and an
 * optimizer can walk it), and per-layer activation and activation-gradient buffers for a batch.
 */
export class Network {
  readonly layers: Layer[];
  readonly params: Float32Array;
  readonly grads: Float32Array;
  readonly paramRanges: ParamRange[] = [];
  /** acts[i]: output of layer i for the current batch (N, C, H, W). */
  readonly acts: Float32Array[];
  /** actGrads[i]: d(loss)/d(acts[i]) after backward. */
  readonly actGrads: Float32Array[];
  readonly ws = new Workspace();
  /**
   * The WebAssembly kernels' instance when they are selected (CNNVIZ_KERNELS, see src/tensor/wasm.ts):
   * then acts and actGrads are views into its memory, so the kernels work on them in place.
   */
  readonly wasm: WasmKernels | null;
  private capacity = 0;
  private batchSize = 0;

  constructor(
    readonly spec: ModelSpec,
    buffers: NetworkBuffers = {},
  ) {
    const total = countParams(spec);
    this.params = buffers.params ?? new Float32Array(total);
    this.grads = buffers.grads ?? new Float32Array(total);
    if (this.params.length !== total || this.grads.length !== total) {
      throw new Error(`parameter buffers hold ${this.params.length}/${this.grads.length} values, the network needs ${total}`);
    }
    let offset = 0;
    let layerIndex = 0;
    const alloc: ParamAllocator = (name, shape, l1DecayMul, l2DecayMul) => {
      const length = shape.reduce((a, b) => a * b, 1);
      const t: ParamTensor = {
        name, shape, l1DecayMul, l2DecayMul,
        data: this.params.subarray(offset, offset + length),
        grad: this.grads.subarray(offset, offset + length),
      };
      this.paramRanges.push({ layer: layerIndex, name, offset, length, l1DecayMul, l2DecayMul });
      offset += length;
      return t;
    };
    this.layers = spec.layers.map((config, i) => {
      layerIndex = i;
      return buildLayer(config, i, spec.shapes[Math.max(0, i - 1)], spec.shapes[i], alloc);
    });
    this.acts = this.layers.map(() => new Float32Array(0));
    this.actGrads = this.layers.map(() => new Float32Array(0));
    this.wasm = WasmKernels.forSelectedKernels();
  }

  get paramCount(): number {
    return this.params.length;
  }

  get inputShape(): Shape3 {
    return this.spec.shapes[0];
  }

  get outputSize(): number {
    return this.layers[this.layers.length - 1].outSize;
  }

  /** Initialise as ConvNetJS does: weights ~ N(0, 1/fan_in), biases = bias_pref; seeded, in layer order. */
  initialize(seed: number): void {
    const rng = new Rng(seed);
    for (const layer of this.layers) {
      const config = layer.config;
      if (config.type !== 'conv' && config.type !== 'fc') continue;
      for (const p of layer.params) {
        if (p.name === 'biases') {
          p.data.fill(config.biasPref);
        } else {
          const fanIn = p.shape.slice(1).reduce((a, b) => a * b, 1);
          const std = Math.sqrt(1 / fanIn);
          for (let i = 0; i < p.data.length; i++) p.data[i] = rng.normal(0, std);
        }
      }
    }
  }

  private ensureCapacity(n: number): void {
    if (n <= this.capacity) return;
    const wk = this.wasm;
    if (wk) {
      // Lay everything out again for n samples: addresses first (the memory may grow), views after.
      wk.reset();
      const at = this.layers.map((layer) => [wk.alloc(n * layer.outSize), wk.alloc(n * layer.outSize)]);
      for (const layer of this.layers) layer.reserveWasm(wk, n);
      this.layers.forEach((layer, i) => {
        this.acts[i] = wk.f32(at[i][0], n * layer.outSize);
        this.actGrads[i] = wk.f32(at[i][1], n * layer.outSize);
      });
      this.capacity = n;
      return;
    }
    this.layers.forEach((layer, i) => {
      this.acts[i] = new Float32Array(n * layer.outSize);
      this.actGrads[i] = new Float32Array(n * layer.outSize);
    });
    this.capacity = n;
  }

  /** Forward a batch of n images (N, C, H, W); returns the last layer's output (probabilities for softmax). */
  forward(images: Float32Array, n: number, ctx: PassContext): Float32Array {
    this.ensureCapacity(n);
    this.batchSize = n;
    const first = this.layers[0];
    if (images.length < n * first.outSize) throw new Error(`input holds ${images.length} values, ${n} images need ${n * first.outSize}`);
    this.acts[0].set(images.subarray(0, n * first.outSize));
    for (let i = 1; i < this.layers.length; i++) {
      this.layers[i].forward(this.acts[i - 1], this.acts[i], n, ctx);
    }
    return this.acts[this.layers.length - 1];
  }

  /**
   * Backward after forward: returns the data loss summed over the batch, accumulates parameter
   * gradients into `grads` and fills actGrads. `inputGrad` also computes d(loss)/d(image) (probe pass).
   */
  backward(target: LossTarget, ctx: PassContext, inputGrad = false): number {
    const n = this.batchSize;
    const last = this.layers.length - 1;
    const lossLayer = this.layers[last] as LossLayer;
    const loss = lossLayer.loss(this.acts[last - 1], this.acts[last], this.actGrads[last - 1], n, target);
    this.actGrads[last].fill(0);
    for (let i = last - 1; i >= 1; i--) {
      const wantInputGrad = i > 1 || inputGrad;
      this.layers[i].backward(this.acts[i - 1], this.acts[i], this.actGrads[i], wantInputGrad ? this.actGrads[i - 1] : null, n, ctx);
    }
    return loss;
  }

  zeroGrads(): void {
    this.grads.fill(0);
  }

  /** Whether a layer's outputs can never be negative (choose a sequential colour map for them). */
  activationsNonNegative(index: number): boolean {
    const type = this.layers[index].type;
    if (type === 'relu' || type === 'sigmoid' || type === 'softmax') return true;
    if (type === 'pool' || type === 'maxout' || type === 'dropout' || type === 'lrn') return index > 0 && this.activationsNonNegative(index - 1);
    return false;
  }

  /** Parameter tensors of a layer by name. */
  param(layer: number, name: ParamTensor['name']): ParamTensor | undefined {
    return this.layers[layer].params.find((p) => p.name === name);
  }
}

/** A pass context for evaluation (no dropout), with a network's own workspace. */
export function evalContext(net: Network): PassContext {
  return { training: false, ws: net.ws, seed: 0, step: 0, firstSample: 0 };
}
