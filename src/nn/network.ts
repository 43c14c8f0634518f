import { WasmKernels } from '../tensor/wasm.js';
import { Workspace } from '../tensor/workspace.js';
import { Rng } from '../util/rng.js';
import type {
  LayerConfig, LayerDef, LayerImpl, LayerNode, LossTarget, ParamName, ParamTensor, PassContext, Shape3, StateName, StateTensor,
} from './layers/layer.js';
import { layerDef } from './layers/registry.js';
import { inputShapes, paramDecls, stateDecls, type ModelSpec } from './spec.js';

/** Where a parameter tensor sits in the network's flat parameter vector. */
export interface ParamRange {
  layer: number;
  name: ParamName;
  offset: number;
  length: number;
  l1DecayMul: number;
  l2DecayMul: number;
}

/** Where a state tensor sits in the network's flat state vector. */
export interface StateRange {
  layer: number;
  name: StateName;
  offset: number;
  length: number;
}

/** A built layer: a node of the graph with its type's definition, tensors and computation. */
export class Layer implements LayerNode {
  readonly inSizes: number[];
  readonly outSize: number;
  readonly impl: LayerImpl;

  constructor(
    readonly def: LayerDef,
    readonly config: LayerConfig,
    readonly index: number,
    readonly inShapes: Shape3[],
    readonly outShape: Shape3,
    readonly params: ParamTensor[],
    readonly state: StateTensor[],
    readonly stats: Float32Array,
    readonly wasm: WasmKernels | null,
  ) {
    this.inSizes = inShapes.map((s) => s[0] * s[1] * s[2]);
    this.outSize = outShape[0] * outShape[1] * outShape[2];
    this.impl = def.create(this);
  }

  get type(): string {
    return this.config.type;
  }

  get name(): string {
    return this.config.name;
  }

  /** Indices of the layers it reads. */
  get inputs(): number[] {
    return this.config.inputs;
  }
}

export interface NetworkBuffers {
  /** Flat parameter vector (e.g. a view of a SharedArrayBuffer shared by worker replicas). */
  params?: Float32Array;
  /** Flat gradient vector, same layout as params. */
  grads?: Float32Array;
  /** Flat state vector (non-trainable tensors such as running statistics), shared like params. */
  state?: Float32Array;
  /**
   * 'live': activation gradients whose lifetimes in backward do not overlap share memory, so after a
   * backward actGrads[i] no longer holds layer i's gradient (except the input's, with inputGrad). For
   * training replicas, which only want the parameter gradients: a resnet20 micro-batch of 16 needs
   * ~43 MB of activation gradients otherwise, more than the L3 cache, and they went out to memory and
   * back. Default 'all': every layer keeps its own (pictures read them).
   */
  activationGrads?: 'all' | 'live';
  /**
   * Run a layer and the ReLU that alone reads its output as one pass where the layer offers it
   * (LayerImpl.fuseRelu: batch norm and add on the native kernels): one pass over memory instead of two
   * each way. The producer's own activation is then not written (acts[p] holds nothing); for training
   * replicas, which hand back parameter gradients only. Default false.
   */
  fuse?: boolean;
}

const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** Sizes of the flat vectors a spec's network needs. */
export function networkSizes(spec: ModelSpec): { params: number; state: number; stats: number } {
  let params = 0;
  let state = 0;
  let stats = 0;
  spec.layers.forEach((c, i) => {
    for (const p of paramDecls(spec, i)) params += size(p.shape);
    for (const s of stateDecls(spec, i)) state += size(s.shape);
    stats += layerDef(c.type).stats?.(c, inputShapes(spec, i)) ?? 0;
  });
  return { params, state, stats };
}

/**
 * A network: a directed acyclic graph of layers in topological order (spec order), all parameters in
 * one flat vector and all non-trainable state in a second one (so replicas can share them and an
 * optimizer can walk them), and per-layer activation and activation-gradient buffers for a batch.
 * Forward runs the layers in order, backward in reverse; backward kernels add into the activation
 * gradients, which are zeroed once per pass, so a layer read by two others gets the sum.
 */
export class Network {
  readonly layers: Layer[];
  readonly params: Float32Array;
  readonly grads: Float32Array;
  readonly state: Float32Array;
  /** Per-micro-batch statistics written by a training forward (see LayerDef.stats); folded into state by foldState. */
  readonly stats: Float32Array;
  readonly paramRanges: ParamRange[] = [];
  readonly stateRanges: StateRange[] = [];
  /** acts[i]: output of layer i for the current batch (N, C, H, W). */
  readonly acts: Float32Array[];
  /** actGrads[i]: d(loss)/d(acts[i]) after backward. */
  readonly actGrads: Float32Array[];
  /** Which actGrads backward has zeroed so far in this pass (see backward). */
  private readonly gradZeroed: Uint8Array;
  /** Storage slot of each layer's activation gradient (one per layer unless NetworkBuffers.activationGrads is 'live'). */
  private readonly gradSlots: number[];
  /** fusedRelu[p] = c: layer p runs the ReLU c in its own passes (NetworkBuffers.fuse); -1: none. */
  private readonly fusedRelu: Int32Array;
  /** fusedInto[c] = p for such a ReLU c; -1 for every other layer. */
  private readonly fusedInto: Int32Array;
  readonly ws = new Workspace();
  /**
   * The WebAssembly kernels' instance when they are selected (CNNVIZ_KERNELS, see src/tensor/wasm.ts):
   * then acts and actGrads are views into its memory, so the kernels work on them in place.
   */
  readonly wasm: WasmKernels | null;
  private capacity = 0;
  private batchSize = 0;
  /** paramsKey of the weights now copied into wasm memory (NaN: none / unknown). */
  private wasmParamsKey = NaN;

  constructor(
    readonly spec: ModelSpec,
    buffers: NetworkBuffers = {},
  ) {
    const sizes = networkSizes(spec);
    this.params = buffers.params ?? new Float32Array(sizes.params);
    this.grads = buffers.grads ?? new Float32Array(sizes.params);
    this.state = buffers.state ?? new Float32Array(sizes.state);
    this.stats = new Float32Array(sizes.stats);
    if (this.params.length !== sizes.params || this.grads.length !== sizes.params) {
      throw new Error(`parameter buffers hold ${this.params.length}/${this.grads.length} values, the network needs ${sizes.params}`);
    }
    if (this.state.length !== sizes.state) throw new Error(`the state buffer holds ${this.state.length} values, the network needs ${sizes.state}`);
    this.wasm = WasmKernels.forSelectedKernels();
    let paramAt = 0;
    let stateAt = 0;
    let statsAt = 0;
    this.layers = spec.layers.map((config, i) => {
      const def = layerDef(config.type);
      const ins = inputShapes(spec, i);
      const params = paramDecls(spec, i).map((d): ParamTensor => {
        const length = size(d.shape);
        const t = {
          name: d.name, shape: d.shape, l1DecayMul: d.l1DecayMul, l2DecayMul: d.l2DecayMul,
          data: this.params.subarray(paramAt, paramAt + length), grad: this.grads.subarray(paramAt, paramAt + length), wasmAt: -1,
        };
        this.paramRanges.push({ layer: i, name: d.name, offset: paramAt, length, l1DecayMul: d.l1DecayMul, l2DecayMul: d.l2DecayMul });
        paramAt += length;
        return t;
      });
      const state = stateDecls(spec, i).map((d): StateTensor => {
        const length = size(d.shape);
        this.stateRanges.push({ layer: i, name: d.name, offset: stateAt, length });
        const t = { name: d.name, shape: d.shape, data: this.state.subarray(stateAt, stateAt + length) };
        stateAt += length;
        return t;
      });
      const statsLength = def.stats?.(config, ins) ?? 0;
      const stats = this.stats.subarray(statsAt, statsAt + statsLength);
      statsAt += statsLength;
      return new Layer(def, config, i, ins, spec.shapes[i], params, state, stats, this.wasm);
    });
    this.acts = this.layers.map(() => new Float32Array(0));
    this.actGrads = this.layers.map(() => new Float32Array(0));
    this.gradZeroed = new Uint8Array(this.layers.length);
    this.fusedRelu = new Int32Array(this.layers.length).fill(-1);
    this.fusedInto = new Int32Array(this.layers.length).fill(-1);
    if (buffers.fuse) {
      const readers = this.layers.map(() => 0);
      for (const layer of this.layers) for (const j of layer.inputs) readers[j]++;
      for (const c of this.layers) {
        const p = c.inputs[0];
        if (!c.def.fusableRelu || c.inputs.length !== 1 || p === 0 || readers[p] !== 1 || !this.layers[p].impl.fuseRelu) continue;
        this.fusedRelu[p] = c.index;
        this.fusedInto[c.index] = p;
      }
    }
    // A fused ReLU's gradient is read by its producer's backward: it lives until that step.
    const diesAt = this.layers.map((_, i) => (this.fusedInto[i] >= 0 ? this.fusedInto[i] : i));
    this.gradSlots = buffers.activationGrads === 'live' ? liveGradSlots(this.layers, diesAt) : this.layers.map((_, i) => i);
  }

  /** The [producer, ReLU] pairs that run as one pass (NetworkBuffers.fuse). */
  get fusedReluPairs(): [number, number][] {
    const pairs: [number, number][] = [];
    this.fusedRelu.forEach((c, p) => c >= 0 && pairs.push([p, c]));
    return pairs;
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

  /**
   * Initialise as ConvNetJS does: weights ~ N(0, 1/fan_in), biases = bias_pref; seeded, in layer
   * order. State tensors get their declared initial values.
   */
  initialize(seed: number): void {
    const rng = new Rng(seed);
    for (const layer of this.layers) {
      const decls = paramDecls(this.spec, layer.index);
      layer.params.forEach((p, k) => {
        const init = decls[k].init;
        if (init === 'fan-in') {
          const fanIn = p.shape.slice(1).reduce((a, b) => a * b, 1);
          const std = Math.sqrt(1 / fanIn);
          for (let i = 0; i < p.data.length; i++) p.data[i] = rng.normal(0, std);
        } else {
          p.data.fill(init.fill);
        }
      });
    }
    this.resetState();
  }

  /** Every state tensor to its declared initial value. */
  resetState(): void {
    for (const layer of this.layers) {
      const decls = stateDecls(this.spec, layer.index);
      layer.state.forEach((s, k) => s.data.fill(decls[k].init));
    }
  }

  private ensureCapacity(n: number): void {
    if (n <= this.capacity) return;
    const wk = this.wasm;
    // One buffer per gradient slot, as large as its largest layer's gradient.
    const slotFloats: number[] = [];
    this.layers.forEach((layer, i) => (slotFloats[this.gradSlots[i]] = Math.max(slotFloats[this.gradSlots[i]] ?? 0, n * layer.outSize)));
    if (wk) {
      // Lay everything out again for n samples: addresses first (the memory may grow), views after.
      // Each parameter tensor gets its own aligned copy in wasm memory, filled by the next forward.
      wk.reset();
      for (const layer of this.layers) for (const p of layer.params) p.wasmAt = wk.alloc(p.data.length);
      this.wasmParamsKey = NaN;
      const actsAt = this.layers.map((layer) => wk.alloc(n * layer.outSize));
      const slotsAt = slotFloats.map((f) => wk.alloc(f));
      for (const layer of this.layers) layer.impl.reserveWasm?.(n);
      this.layers.forEach((layer, i) => {
        this.acts[i] = wk.f32(actsAt[i], n * layer.outSize);
        this.actGrads[i] = wk.f32(slotsAt[this.gradSlots[i]], n * layer.outSize);
      });
      this.capacity = n;
      return;
    }
    const slots = slotFloats.map((f) => new Float32Array(f));
    this.layers.forEach((layer, i) => {
      this.acts[i] = new Float32Array(n * layer.outSize);
      this.actGrads[i] = slots[this.gradSlots[i]].subarray(0, n * layer.outSize);
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
    if (this.wasm && !(ctx.paramsKey === this.wasmParamsKey)) this.copyParamsToWasm(this.wasm, ctx.paramsKey);
    const acts = this.acts;
    for (let i = 1; i < this.layers.length; i++) {
      if (this.fusedInto[i] >= 0) continue; // computed by its producer
      const layer = this.layers[i];
      const relu = this.fusedRelu[i];
      if (relu >= 0) layer.impl.fuseRelu!.forward(layer.inputs.map((j) => acts[j]), acts[relu], n, ctx);
      else layer.impl.forward(layer.inputs.map((j) => acts[j]), acts[i], n, ctx);
    }
    return acts[this.layers.length - 1];
  }

  /**
   * Backward after forward: returns the data loss summed over the batch, adds parameter gradients into
   * `grads` and fills actGrads. `inputGrad` also computes d(loss)/d(image) (probe pass).
   * Layers add into their inputs' gradients, so each actGrads[j] is zeroed once per pass: just before
   * the first layer that writes it (its consumer with the highest index, as backward runs in reverse),
   * while the next thing to touch it is that layer's backward: zeroing all of them up front cost ~4% of
   * a ResNet's training time in memory traffic (the zeroes written out, then read back much later).
   */
  /**
   * The loss of the last forward's batch against `target`, summed over its samples, as the loss layer
   * computes it (no gradient): the test loss of every loss type.
   */
  lossValue(target: LossTarget): number {
    const last = this.layers.length - 1;
    const lossLayer = this.layers[last];
    return lossLayer.impl.loss!(this.acts[lossLayer.inputs[0]], this.acts[last], null, this.batchSize, target);
  }

  backward(target: LossTarget, ctx: PassContext, inputGrad = false): number {
    const n = this.batchSize;
    const last = this.layers.length - 1;
    const { acts, actGrads } = this;
    const zeroed = this.gradZeroed;
    zeroed.fill(0);
    const clear = (j: number): void => {
      if (zeroed[j]) return;
      actGrads[j].fill(0, 0, n * this.layers[j].outSize);
      zeroed[j] = 1;
    };
    clear(last);
    const lossLayer = this.layers[last];
    const lossInput = lossLayer.inputs[0];
    clear(lossInput);
    const loss = lossLayer.impl.loss!(acts[lossInput], acts[last], actGrads[lossInput], n, target);
    for (let i = last - 1; i >= 1; i--) {
      const layer = this.layers[i];
      const relu = this.fusedRelu[i];
      // A layer nothing reads from has a zero output gradient; a fused producer's own is never used.
      if (relu < 0) clear(i);
      if (this.fusedInto[i] >= 0) continue; // its producer runs its backward
      for (const j of layer.inputs) if (j > 0 || inputGrad) clear(j);
      const inputs = layer.inputs.map((j) => acts[j]);
      const inputGrads = layer.inputs.map((j) => (j > 0 || inputGrad ? actGrads[j] : null));
      if (relu >= 0) layer.impl.fuseRelu!.backward(inputs, acts[relu], actGrads[relu], inputGrads, n, ctx);
      else layer.impl.backward(inputs, acts[i], actGrads[i], inputGrads, n, ctx);
    }
    if (inputGrad) clear(0);
    return loss;
  }

  /** Copy every parameter tensor to its place in wasm memory: once per parameter update, not per layer and pass. */
  private copyParamsToWasm(wk: WasmKernels, key: number | undefined): void {
    const heap = wk.heap;
    for (const layer of this.layers) for (const p of layer.params) heap.set(p.data, p.wasmAt / 4);
    this.wasmParamsKey = key ?? NaN;
  }

  zeroGrads(): void {
    this.grads.fill(0);
  }

  /**
   * Fold per-micro-batch statistics into the state, in the order given (micro-batch order), as each
   * layer type defines (LayerDef.foldState). `stats[t]` is a vector laid out like `this.stats`.
   */
  foldState(stats: Float32Array[], counts: number[]): void {
    let at = 0;
    for (const layer of this.layers) {
      const len = layer.stats.length;
      if (layer.def.foldState && layer.state.length > 0) {
        layer.def.foldState(layer.config, layer.state, stats.map((s) => s.subarray(at, at + len)), counts);
      }
      at += len;
    }
  }

  /** Whether a layer's outputs can never be negative (choose a sequential colour map for them). */
  activationsNonNegative(index: number): boolean {
    const layer = this.layers[index];
    const negative = layer.def.hints.negative;
    if (negative === 'never') return true;
    if (negative === 'can') return false;
    return layer.inputs.length > 0 && layer.inputs.every((j) => this.activationsNonNegative(j));
  }

  /** Parameter tensors of a layer by name. */
  param(layer: number, name: ParamName): ParamTensor | undefined {
    return this.layers[layer].params.find((p) => p.name === name);
  }
}

/** A pass context for evaluation (no dropout), with a network's own workspace. */
export function evalContext(net: Network): PassContext {
  return { training: false, ws: net.ws, seed: 0, step: 0, firstSample: 0 };
}

/**
 * Storage slots for activation gradients shared by lifetime. Backward runs from the last layer down;
 * layer j's gradient is first written when its consumer with the highest index runs (born) and last
 * read by j's own backward (dies), so it lives over steps j .. born(j). A slot is handed on when its
 * occupant has died before the next gradient is born (strictly: at step j layer j still reads it). The
 * input's and the last layer's gradients keep slots of their own. Greedy, in order of birth. diesAt:
 * the step each gradient is last read at, when not its own (a fused ReLU's: its producer's step).
 */
export function liveGradSlots(
  layers: readonly { inputs: readonly number[]; outSize: number }[], diesAt: readonly number[] = layers.map((_, i) => i),
): number[] {
  const last = layers.length - 1;
  const born = layers.map((_, j) => j);
  layers.forEach((layer, i) => {
    for (const j of layer.inputs) born[j] = Math.max(born[j], i);
  });
  const slots: number[] = new Array<number>(layers.length);
  const free: { size: number; freeBelow: number; slot: number }[] = [];
  let next = 0;
  slots[0] = next++;
  slots[last] = next++;
  const order = layers.map((_, j) => j).filter((j) => j > 0 && j < last).sort((a, b) => born[b] - born[a] || b - a);
  for (const j of order) {
    // Occupants die at their step; the slot is free for a gradient born at a lower step.
    const k = free.findIndex((f) => f.size === layers[j].outSize && born[j] < f.freeBelow);
    if (k >= 0) {
      slots[j] = free[k].slot;
      free[k].freeBelow = diesAt[j];
    } else {
      slots[j] = next++;
      free.push({ size: layers[j].outSize, freeBelow: diesAt[j], slot: slots[j] });
    }
  }
  return slots;
}
