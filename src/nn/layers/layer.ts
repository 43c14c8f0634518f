/**
 * What a layer type is: one `LayerDef` object per type, in one file under src/nn/layers/, listed in
 * registry.ts. Everything else (spec parsing, the network, summary, predict, the workers, the memory
 * estimate, the pictures and their words, the ConvNetJS import) asks the registry; nothing outside this
 * folder compares a layer's type with a name (test/nn/no-type-names.test.ts checks it).
 */
import type { WasmKernels } from '../../tensor/wasm.js';
import type { Workspace } from '../../tensor/workspace.js';
import type { DefReader } from '../def-reader.js';

/** Shape of one sample: [channels, height, width]. */
export type Shape3 = [number, number, number];

export type ParamName = 'weights' | 'biases' | 'gamma' | 'beta';
export type StateName = 'runningMean' | 'runningVar';

/** Fields every built layer (graph node) has, whatever its type. */
export interface NodeConfig {
  type: string;
  /** Unique in the network: the user's "name", else the picture folder name, e.g. "01-conv". */
  name: string;
  /** Indices (into ModelSpec.layers) of the layers whose outputs it reads, in order. Empty for the input. */
  inputs: number[];
  /** Index of the definition in the user's spec that produced it (error messages). */
  source: number;
}

/** A built layer's configuration: the node fields plus the fields its type parsed (e.g. conv's `filters`). */
export type LayerConfig = NodeConfig & Record<string, unknown>;

/** A trainable tensor a layer type declares: its shape, decay multipliers and initialisation. */
export interface ParamDecl {
  name: ParamName;
  /** e.g. conv weights [outC, inC, kH, kW], biases [outC]. */
  shape: number[];
  l1DecayMul: number;
  l2DecayMul: number;
  /** 'fan-in': N(0, 1/fan_in) with fan_in = product of shape[1..] (ConvNetJS); or a constant. */
  init: 'fan-in' | { fill: number };
}

/** A non-trainable tensor (e.g. batch-norm running statistics) in the network's state vector. */
export interface StateDecl {
  name: StateName;
  shape: number[];
  /** Initial value of every element. */
  init: number;
}

/** A parameter tensor of a built layer: views of the network's flat parameter and gradient vectors. */
export interface ParamTensor {
  name: ParamName;
  shape: number[];
  data: Float32Array;
  grad: Float32Array;
  l1DecayMul: number;
  l2DecayMul: number;
  /**
   * On the wasm kernels: byte address of the copy of `data` in wasm memory, which the network refreshes
   * once per parameter update (PassContext.paramsKey), not per layer and pass. -1 on the js kernels.
   */
  wasmAt: number;
}

/** A state tensor of a built layer: a view of the network's flat state vector. */
export interface StateTensor {
  name: StateName;
  shape: number[];
  data: Float32Array;
}

/** What a pass needs besides the tensors: mode, scratch space, and keys for reproducible randomness. */
export interface PassContext {
  training: boolean;
  ws: Workspace;
  /** Run seed, optimizer step and the index of this micro-batch's first sample within the mini-batch (dropout masks). */
  seed: number;
  step: number;
  firstSample: number;
  /**
   * Identifies the parameter values: a forward with the same key as the last one reuses the copy of the
   * weights in wasm memory. Undefined: copy (always correct). Worker threads pass the command number,
   * since the parameters only change between commands.
   */
  paramsKey?: number;
}

/** Targets of a loss layer: class labels (softmax, svm) or values (regression). */
export interface LossTarget {
  labels?: Int32Array;
  values?: Float32Array;
  /** Label smoothing of the softmax cross-entropy (training only; 0 or absent: none). */
  smoothing?: number;
}

/**
 * A built layer as its kernels see it: shapes, parameter and state tensors, and the slice of the
 * statistics vector a training forward fills (see LayerDef.stats).
 */
export interface LayerNode<F = Record<string, unknown>> {
  readonly config: NodeConfig & F;
  readonly index: number;
  readonly inShapes: Shape3[];
  readonly outShape: Shape3;
  /** Values per sample of each input and of the output. */
  readonly inSizes: number[];
  readonly outSize: number;
  readonly params: ParamTensor[];
  readonly state: StateTensor[];
  /** This layer's per-micro-batch statistics (length LayerDef.stats), written by a training forward. */
  readonly stats: Float32Array;
  /**
   * The kernels, chosen once per network (CNNVIZ_KERNELS): the WebAssembly instance whose memory holds
   * every activation, activation gradient and weight copy, or null for the TypeScript reference kernels.
   * A layer type picks its implementation from this in `create`; it never falls back per call.
   */
  readonly wasm: WasmKernels | null;
}

/**
 * The computation of one built layer. Tensors are flat NCHW buffers the network owns.
 * Backward ADDS (+=) into the parameter gradients and into the input gradients (the network zeroes
 * them once per pass, so a tensor read by two layers receives the sum); a null input gradient is not wanted.
 */
export interface LayerImpl {
  forward(inputs: Float32Array[], output: Float32Array, n: number, ctx: PassContext): void;
  backward(inputs: Float32Array[], output: Float32Array, outputGrad: Float32Array, inputGrads: (Float32Array | null)[], n: number, ctx: PassContext): void;
  /**
   * Loss layers only: the loss summed over the batch; adds d(loss)/d(input) into inputGrad (null: the
   * value only, e.g. the test loss). Called instead of backward.
   */
  loss?(input: Float32Array, output: Float32Array, inputGrad: Float32Array | null, n: number, target: LossTarget): number;
  /**
   * On the wasm kernels, whenever the network lays out its buffers for batches of up to n samples (after
   * the weight copies): reserve scratch in node.wasm (addresses only: the memory may grow, and views made
   * now would detach).
   */
  reserveWasm?(n: number): void;
  /**
   * This layer and a ReLU that alone reads its output, run as one pass over memory (training replicas,
   * see Network's `fuse`): absent when its kernels have no fused variant. Then this layer's own output
   * is never written and the ReLU's is.
   */
  fuseRelu?: FusedRelu;
}

/** A layer's passes fused with the ReLU after it (LayerImpl.fuseRelu). */
export interface FusedRelu {
  /** Writes max(0, this layer's output) into reluOutput. */
  forward(inputs: Float32Array[], reluOutput: Float32Array, n: number, ctx: PassContext): void;
  /** This layer's backward given the ReLU's output and output gradient (the ReLU's backward folded in). */
  backward(inputs: Float32Array[], reluOutput: Float32Array, reluOutputGrad: Float32Array, inputGrads: (Float32Array | null)[], n: number, ctx: PassContext): void;
}

/** The four pictures every layer may have (the same names as src/viz's Quantity). */
export type PictureQuantity = 'activations' | 'activation-gradients' | 'weights' | 'weight-gradients';

/**
 * What a layer does in the graph, for the walkthroughs and the questions: a role, never a type name.
 * image: the network's input; filter: a learned sliding filter bank (conv); dense: fully connected;
 * gate: passes values (and gradients) only where they are positive (ReLU); leaky-gate: scales the
 * negative ones by a small factor instead; squash: a saturating
 * non-linearity; window-max / window-mean: pooling over a window; global-mean: one mean per channel;
 * normalise: per-channel normalisation (batch norm); sum: adds its inputs (residual add); loss: the last node.
 */
export type LayerRole = 'image' | 'filter' | 'dense' | 'gate' | 'leaky-gate' | 'squash' | 'window-max' | 'window-mean' | 'global-mean' | 'normalise' | 'sum' | 'loss' | 'other';

/** One built layer as its words see it: its fields and shape, and the facts measured on this run's probe. */
export interface LayerView {
  index: number;
  type: string;
  name: string;
  config: Record<string, unknown>;
  description: string;
  inputs: number[];
  /** Indices of the layers that read its output. */
  readBy: number[];
  outShape: Shape3;
  /** Fraction of exactly-zero values of each picture's data (probe pass), when measured. */
  zeros: Partial<Record<PictureQuantity, number>>;
}

/** A neighbour of a layer, with the words its own type gives about itself. */
export interface NeighbourView extends LayerView {
  role: LayerRole;
  /** How it is called in a sentence, e.g. "the ReLU (layer 3)", "batch norm (layer 2)". */
  called: string;
  /** What its backward pass hands to its input, e.g. "passes the gradient only where it fired". */
  passesDown: string;
}

/** A layer in its graph: itself, the layers it reads (prev) and the layers that read it (next). */
export interface ExplainContext {
  self: LayerView;
  prev: NeighbourView[];
  next: NeighbourView[];
}

/** A layer's words for the report and the pictures, from its node and its neighbours. */
export interface LayerWords {
  /** One or two sentences: what the layer does (forward and backward). */
  what: string;
  /** Per picture: what it shows and how to read it, with this run's measured facts. */
  pictures: Partial<Record<PictureQuantity, string>>;
  /** Pictures this layer does not draw, with the reason shown instead. */
  noPicture?: Partial<Record<PictureQuantity, string>>;
  /** A short note printed inside a picture (the report has the long words). */
  pictureNotes?: Partial<Record<PictureQuantity, string>>;
  /** Caption of its top-patches picture (what each channel responds to), when it has one. */
  topPatches?: string;
  /** Title and text of its per-channel bar picture (channels.png), when it has one. */
  channels?: [string, string];
  /** Title and text of its branches picture (branches.png), when it sums its inputs. */
  branches?: [string, string];
}

/** A series of the per-channel bar picture: a parameter or state tensor, with a reference line. */
export interface ChannelBar {
  name: ParamName | StateName;
  /** e.g. 1 for gamma ("no scaling"). */
  reference?: number;
}

/** What the pictures and the report need to know about a layer type. */
export interface LayerHints {
  /** Can its outputs be negative? 'never' / 'can' / 'if-inputs-can' (pool, dropout...: as their inputs). */
  negative: 'never' | 'can' | 'if-inputs-can';
  /** A short name for its kind of words (recorded as `explain` in stats.json); the words are `words`. */
  explain: string;
  /** A loss layer: the network's last node; `probabilities` when its output sums to 1 per sample. */
  loss?: { target: 'labels' | 'values'; probabilities: boolean };
  /** How its `weights` are drawn: conv filters [outC, inC, kH, kW], or fc units laid out in the input's shape. */
  weights?: 'filters' | 'units';
  /**
   * How its output positions relate to its inputs' (receptive fields, top patches): 'same' keeps them
   * (each output value depends on the same position of its inputs: element-wise, or across channels at
   * one position); 'window' slides a window given by its fields kernelH, kernelW, stride, pad. Absent:
   * positions are not kept (fc, global pooling, loss), and no layer after it has a receptive field.
   */
  positions?: 'same' | 'window';
  /** Its channels get top-patch pictures ("what each channel responds to"); needs `positions`. */
  topPatches?: boolean;
  /** An output of exactly 0 means the unit is off (ReLU): layer health counts units off for every image (dead). */
  deadWhenZero?: boolean;
  /** Its output is the element-wise sum of its inputs (add): the pictures show each input beside the sum (branches.png). */
  sumsInputs?: boolean;
  /** Its role in walkthroughs and questions (default 'other'). */
  role?(c: LayerConfig): LayerRole;
  /** How a neighbour names it, e.g. "the ReLU", "batch norm" (default: its type). */
  noun?(c: LayerConfig): string;
  /** What its backward pass hands its input, as a clause: "passes the gradient only where it fired". */
  passesDown?(c: LayerConfig): string;
  /** Its words, from the node, its neighbours and the run's facts (every registered type has them). */
  words?(ctx: ExplainContext): LayerWords;
  /** Its per-channel bar picture (channels.png): the parameter and state tensors drawn, in order. */
  channelBars?: ChannelBar[];
}

/** An ONNX attribute: int lists and strings as they are, a plain number is an int, `{ float }` a float. */
export type OnnxAttrs = Record<string, number | number[] | string | { float: number }>;

/**
 * What a layer type's `onnx` hook writes with (src/nn/onnx/export.ts implements it, one per node, so
 * the layer files depend on this interface only). Values are ONNX value names. cnnviz keeps every value
 * as (C, H, W) per sample; ONNX values are rank 4 [N, C, H, W], or rank 2 [N, C*H*W] after Gemm/Flatten.
 */
export interface OnnxBuilder {
  /** The node's inputs, in order. */
  readonly inputs: string[];
  rankOf(value: string): 2 | 4;
  /** A value's (C, H, W). */
  shapeOf(value: string): Shape3;
  /** The value as [N, C, H, W] (adds a Reshape if it is rank 2). */
  as4d(value: string): string;
  /** The value as [N, C*H*W] (adds a Flatten if it is rank 4). */
  as2d(value: string): string;
  /** A float32 initializer named `<node>.<name>`; returns its value name. */
  floats(name: string, dims: number[], data: Float32Array): string;
  /** An int64 initializer named `<node>.<name>`. */
  ints(name: string, dims: number[], values: number[]): string;
  /** The values at one rank: as they are if their ranks agree, else each as [N, C, H, W]. */
  sameRank(values: string[]): string[];
  /** An intermediate op whose output (and node name) is `<node>.<name>`; returns that value. */
  step(name: string, opType: string, inputs: string[], attrs: OnnxAttrs, rank: 2 | 4, shape?: Shape3): string;
  /** The node's own op: its output is the node's value, of the node's output shape and its first input's rank. */
  output(opType: string, inputs: string[], attrs?: OnnxAttrs): void;
}

/** A built node as its `onnx` hook sees it: its fields, output shape and named tensors (params and state). */
export interface OnnxExportNode<F = Record<string, unknown>> {
  config: NodeConfig & F;
  outShape: Shape3;
  tensors: Record<string, Float32Array>;
}

/**
 * What a layer type's `onnxImport` hook reads one ONNX node with (src/nn/onnx/import.ts implements it,
 * so the layer files depend on this interface only). Inputs are the node's, by position.
 */
export interface OnnxImportNode {
  readonly opType: string;
  readonly opset: number;
  /** How many inputs the node lists. */
  readonly inputCount: number;
  /** Attributes, with the ONNX default the caller gives. */
  has(name: string): boolean;
  int(name: string, fallback: number): number;
  float(name: string, fallback: number): number;
  ints(name: string): number[] | undefined;
  str(name: string, fallback: string): string;
  /** Whether input i is given (present and not ""). */
  hasInput(i: number): boolean;
  /** Whether input i is a stored constant (initializer or Constant) rather than computed from the image. */
  isConstant(i: number): boolean;
  /** Input i, computed from the image: its (C, H, W), whether ONNX holds it flat as [N, C*H*W], and a Pad in front (onnxImport.pads). */
  value(i: number): OnnxImportValue;
  /** Input i as value(i), which must be image-shaped (N, C, H, W): a flat vector only when it is 1x1. */
  image(i: number): OnnxImportValue;
  /**
   * The one node that reads this node's output, when exactly one does (and the output is not the graph's):
   * a neighbour this layer may take in (emit's `through`), e.g. a MatMul's bias Add.
   */
  follower(): OnnxImportNode | undefined;
  /** This node passes input i on unchanged (a one-input Concat). */
  same(i: number): void;
  /**
   * The sliding-window attributes of a Conv or pool for a kH x kW kernel on input 0: one stride, padding
   * per side [top, left, bottom, right] (from pads or auto_pad) and one dilation. `general` false: the
   * same padding on all four sides and dilation 1, or the node is refused.
   */
  window(kH: number, kW: number, general: boolean): { stride: number; pads: number[]; dilation: number };
  /** Input i as a stored constant (initializer or Constant): its name, dims and float values. */
  constant(i: number, what: string): { name: string; dims: number[]; data: Float32Array };
  /** The shortest decimal that rounds to the same float32 (ONNX float attributes: 1e-5, not 9.99999975e-6). */
  decimal(x: number): number;
  /** Stop with one message naming the ONNX node and its op. */
  fail(problem: string): never;
  /**
   * The cnnviz layer this node becomes: its definition fields, the inputs it reads (default [0]), its
   * tensors by parameter name, and its output (default: input 0's shape and flatness).
   */
  emit(
    fields: Record<string, unknown> & { type: string },
    options?: {
      inputs?: number[];
      tensors?: Record<string, { shape: number[]; data: Float32Array }>;
      out?: { shape: Shape3; flat: boolean };
      /** A follower() taken into this layer: the layer's output is the follower's output. */
      through?: OnnxImportNode;
    },
  ): void;
}

/** A value as an onnxImport hook sees it. */
export interface OnnxImportValue {
  shape: Shape3;
  flat: boolean;
  /**
   * An ONNX Pad in front, not yet applied (only a type whose onnxImport declares `pads` sees one): per
   * side [top, left, bottom, right], and its mode (constant padding is zeros).
   */
  pad?: { pads: [number, number, number, number]; mode: 'constant' | 'reflect' | 'edge' };
  /**
   * ONNX holds it channels-last, [N, H, W, C] (between a Transpose [0, 2, 3, 1] and its way back): only
   * per-pixel ops may read it, and "the last axis" is the channels.
   */
  channelsLast?: boolean;
}

/** A layer's imported tensors by name, as the ONNX import's folds see them. */
export type FoldTensors = Record<string, { shape: number[]; data: Float32Array }>;

/**
 * How the ONNX import folds a per-channel map y -> a[c] * y + b[c] (arithmetic with constants) into a
 * layer of this type (src/nn/onnx/import.ts, foldScales). Each hook returns the layer's new tensors
 * (never changing the given arrays: ONNX initializers may be shared) and may edit its definition
 * fields, or returns undefined where the result would not be exact.
 */
export interface AffineFold {
  /** This type is that map itself (its gamma and beta are a and b). */
  isMap?: boolean;
  /** The map applied to this layer's output, per output channel. */
  output?(fields: Record<string, unknown>, t: FoldTensors, a: Float32Array, b: Float32Array): FoldTensors | undefined;
  /** The map applied to this layer's only input, per input channel. */
  input?(fields: Record<string, unknown>, t: FoldTensors, a: Float32Array, b: Float32Array): FoldTensors | undefined;
}

/** (W y + bias) * a + b = (a W) y + (a bias + b), per output channel of weights [units, ...]; a layer without biases gets some for a shift. */
export function foldIntoWeightsOut(fields: Record<string, unknown>, t: FoldTensors, a: Float32Array, b: Float32Array): FoldTensors {
  const units = t.weights.shape[0];
  const per = t.weights.data.length / units;
  const out: FoldTensors = { ...t, weights: { shape: t.weights.shape, data: t.weights.data.map((x, i) => x * a[Math.floor(i / per)]) } };
  const old = t.biases?.data;
  if (old || b.some((x) => x !== 0)) {
    out.biases = { shape: [units], data: Float32Array.from({ length: units }, (_, u) => a[u] * (old ? old[u] : 0) + b[u]) };
    delete fields.bias;
  }
  return out;
}

/**
 * W (a y + b) = (W a) y + W b, per input channel of weights [units, inPer, ...] read in `groups` groups
 * (filters of group g read input channels g * inPer ..); the shift goes into the biases.
 */
export function foldIntoWeightsIn(fields: Record<string, unknown>, t: FoldTensors, a: Float32Array, b: Float32Array, groups: number): FoldTensors {
  const [units, inPer] = t.weights.shape;
  const per = t.weights.data.length / units;
  const window = per / inPer;
  const wd = new Float32Array(t.weights.data.length);
  const bias = new Float64Array(units);
  for (let u = 0; u < units; u++) {
    for (let j = 0; j < inPer; j++) {
      const ch = Math.floor(u / (units / groups)) * inPer + j;
      for (let q = 0; q < window; q++) {
        const i = u * per + j * window + q;
        wd[i] = t.weights.data[i] * a[ch];
        bias[u] += t.weights.data[i] * b[ch];
      }
    }
  }
  const out: FoldTensors = { ...t, weights: { shape: t.weights.shape, data: wd } };
  const old = t.biases?.data;
  if (old || b.some((x) => x !== 0)) {
    out.biases = { shape: [units], data: Float32Array.from(bias, (x, u) => x + (old ? old[u] : 0)) };
    delete fields.bias;
  }
  return out;
}

/** gamma * y + beta, then * a + b: (a gamma) y + (a beta + b) (batch norm, layer norm, affine). */
export function foldIntoGammaBeta(_fields: Record<string, unknown>, t: FoldTensors, a: Float32Array, b: Float32Array): FoldTensors {
  return {
    ...t,
    gamma: { shape: t.gamma.shape, data: t.gamma.data.map((g, k) => g * a[k]) },
    beta: { shape: t.beta.shape, data: t.beta.data.map((be, k) => be * a[k] + b[k]) },
  };
}

/** Everything about one layer type. F: the fields it parses from a definition. */
export interface LayerDef<F = Record<string, unknown>> {
  type: string;
  /** How many inputs a node of this type reads (default exactly 1; the input layer reads 0). */
  arity?: { min: number; max: number };
  /** Read and check its fields (errors name layer and field through r.fail). */
  parse(r: DefReader): F;
  /** ConvNetJS sugar: layers a definition of this type implies before it (softmax implies an fc). */
  implies?(fields: F): { type: string; fields: Record<string, unknown> }[];
  /** ConvNetJS sugar: may be named by a conv/fc definition's "activation" field (relu, sigmoid, tanh, maxout). */
  activationSugar?: boolean;
  /** ConvNetJS sugar: a definition of this type may carry "activation" (and its fields), conv and fc. */
  takesActivation?: boolean;
  /** This type is max(0, x) (ReLU), which a producer offering LayerImpl.fuseRelu may run in its own pass. */
  fusableRelu?: boolean;
  /** Output shape of one sample from the input shapes; `fail(field, problem)` throws the user error. */
  outShape(c: NodeConfig & F, inShapes: Shape3[], fail: (field: string, problem: string) => never): Shape3;
  params?(c: NodeConfig & F, inShapes: Shape3[]): ParamDecl[];
  state?(c: NodeConfig & F, inShapes: Shape3[]): StateDecl[];
  /**
   * Floats of statistics a training forward writes into node.stats (per micro-batch). After each
   * optimizer step the trainer calls foldState with the statistics of the step's micro-batches in
   * micro-batch order, so the state does not depend on the number of workers.
   */
  stats?(c: NodeConfig & F, inShapes: Shape3[]): number;
  foldState?(c: NodeConfig & F, state: StateTensor[], stats: Float32Array[], counts: number[]): void;
  /** One line for `summary` and the pictures, e.g. "conv 5x5, 16 filters, stride 1, pad 2". */
  describe(c: NodeConfig & F): string;
  hints: LayerHints;
  /** A ConvNetJS snapshot layer (toJSON) as a definition of this type (convnetjs-import.ts). */
  fromConvNetJS?(l: Record<string, unknown>, num: (field: string, fallback?: number) => number): Record<string, unknown>;
  create(node: LayerNode<F>): LayerImpl;
  /**
   * Scratch memory of one node beyond its output and gradient (float32 values), for the memory estimate
   * (src/nn/memory.ts): `shared` is needed by one node at a time (the largest counts), `perSample` is
   * kept per node and per sample (all of them count).
   */
  scratch?(c: NodeConfig & F, inShapes: Shape3[], outShape: Shape3): { shared: number; perSample: number };
  /** Its row in `npm run bench`'s time per layer type (default: its type), e.g. conv splits by kernel and stride. */
  benchKind?(c: NodeConfig & F): string;
  /**
   * Its ONNX ops (`cnnviz export`, src/nn/onnx/export.ts), inference only. Without it a network using
   * the type cannot be exported (exit 2 naming the layer). A loss layer's output is the model's output.
   */
  onnx?(node: OnnxExportNode<F>, b: OnnxBuilder): void;
  /**
   * The ONNX ops it imports (`--model x.onnx`), each read into this type by `read`. Patterns of several
   * nodes (x * Sigmoid(x) as silu, GELU's Erf form) are recognised by the import's pattern pass first.
   */
  /** How the ONNX import folds arithmetic with constants into it (AffineFold). */
  affineFold?: AffineFold;
  onnxImport?: {
    ops: string[];
    read(node: OnnxImportNode): void;
    /** read() takes an input padded by an ONNX Pad (value(i).pad) into itself; else such an input is refused. */
    pads?: boolean;
  };
}

/** The registry holds defs of any field type; this erases F (each def is only called with its own configs). */
export function defineLayer<F>(def: LayerDef<F>): LayerDef {
  return def as unknown as LayerDef;
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

/** ONNX Conv/pool window attributes (the same stride and padding on both axes, as cnnviz has). */
export function onnxWindow(c: { kernelH: number; kernelW: number; stride: number; pad: number }): OnnxAttrs {
  return { kernel_shape: [c.kernelH, c.kernelW], strides: [c.stride, c.stride], pads: [c.pad, c.pad, c.pad, c.pad] };
}

/** The usual one-input case: the single input's shape. */
export function same(_c: NodeConfig, inShapes: Shape3[]): Shape3 {
  const s = inShapes[0];
  return [s[0], s[1], s[2]];
}
