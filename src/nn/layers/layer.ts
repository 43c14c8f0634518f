import type { WasmKernels } from '../../tensor/wasm.js';
import type { Workspace } from '../../tensor/workspace.js';
import type { LayerConfig, Shape3 } from '../spec.js';

/** A trainable tensor of a layer: values, the gradient accumulated into it, and its decay multipliers. */
export interface ParamTensor {
  name: 'weights' | 'biases';
  /** e.g. conv weights [outC, inC, kH, kW], biases [outC]. */
  shape: number[];
  data: Float32Array;
  grad: Float32Array;
  l1DecayMul: number;
  l2DecayMul: number;
}

/** What a pass needs besides the tensors: mode, scratch space, and keys for reproducible randomness. */
export interface PassContext {
  training: boolean;
  ws: Workspace;
  /** Run seed, optimizer step and the index of this micro-batch's first sample within the mini-batch (dropout masks). */
  seed: number;
  step: number;
  firstSample: number;
}

/**
 * A layer is a thin object around kernels: it knows its shapes and parameters and calls the kernels
 * on flat NCHW buffers that the network owns. Parameter gradients accumulate (+=); input gradients
 * are overwritten.
 */
export abstract class Layer {
  readonly params: ParamTensor[] = [];
  readonly inSize: number;
  readonly outSize: number;

  constructor(
    readonly config: LayerConfig,
    readonly index: number,
    readonly inShape: Shape3,
    readonly outShape: Shape3,
  ) {
    this.inSize = inShape[0] * inShape[1] * inShape[2];
    this.outSize = outShape[0] * outShape[1] * outShape[2];
  }

  get type(): LayerConfig['type'] {
    return this.config.type;
  }

  /**
   * Called by a network on the WebAssembly kernels whenever it lays out its buffers for batches of up
   * to n samples: reserve any scratch this layer needs in `wk` (addresses only: the memory may grow, and
   * views made now would detach). Layers that keep nothing there ignore it.
   */
  reserveWasm(_wk: WasmKernels, _n: number): void {
    // nothing by default
  }

  abstract forward(input: Float32Array, output: Float32Array, n: number, ctx: PassContext): void;

  /** inputGrad is null for the first layer after the input, which needs no gradient of the image... unless asked. */
  abstract backward(
    input: Float32Array,
    output: Float32Array,
    outputGrad: Float32Array,
    inputGrad: Float32Array | null,
    n: number,
    ctx: PassContext,
  ): void;
}

/** Grow-only typed buffer for per-batch layer state (argmax, masks, caches). */
export function ensureInt32(buf: Int32Array | undefined, size: number): Int32Array {
  return buf && buf.length >= size ? buf : new Int32Array(size);
}
export function ensureUint8(buf: Uint8Array | undefined, size: number): Uint8Array {
  return buf && buf.length >= size ? buf : new Uint8Array(size);
}
export function ensureFloat32(buf: Float32Array | undefined, size: number): Float32Array {
  return buf && buf.length >= size ? buf : new Float32Array(size);
}
