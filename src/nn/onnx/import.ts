/**
 * ONNX graph -> cnnviz graph spec: `layer_defs` nodes (with `name`, and `inputs` where a node does not
 * read the node before it) plus each node's named tensors (weights, biases, gamma, beta, runningMean,
 * runningVar) in cnnviz's layouts:
 *   conv weights [outC, inC, kH, kW] (ONNX's own layout), fc weights [units, inC, inH, inW] (each unit's
 *   weights in its input's NCHW shape: ONNX's Flatten order), biases and per-channel tensors [C].
 *
 * Supported (opsets 9 to 18): see SUPPORTED_OPS. Shapes are tracked per value as cnnviz (C, H, W);
 * `flat` marks a value that ONNX sees as [N, C*H*W] (after Flatten/Reshape/Gemm), which cnnviz keeps
 * as (C, H, W) because its fc layers flatten in the same NCHW order.
 *
 * The network's output must be a fully connected layer (Gemm, or MatMul + Add), optionally followed by
 * Softmax: it becomes cnnviz's `softmax` node, whose fully connected layer is part of it (ConvNetJS's
 * convention), holding that layer's weights.
 */
import type { Preprocessing } from '../../data/preprocess.js';
import { parsePreprocessText, PREPROCESS_METADATA_KEY } from '../../data/preprocess-option.js';
import { UserError } from '../../util/errors.js';
import type { LayerDef as LayerTypeDef, OnnxImportNode, OnnxImportValue } from '../layers/layer.js';
import { findLayerDef, layerDef, layerTypes } from '../layers/registry.js';
import type { Shape3 } from '../spec.js';
import { DataType, type OnnxAttribute, type OnnxModel, type OnnxNode, type OnnxTensor } from './proto.js';
import { dimsOf, elementCount, toFloat32, toIntegers } from './tensors.js';

export const MIN_OPSET = 9;
export const MAX_OPSET = 18;

/**
 * The ops this driver reads itself: structure and shapes (Pad only in front of a layer type that takes it
 * in, onnxImport.pads; Shape, Gather, Unsqueeze and Concat of constants only as arithmetic on shapes, how
 * PyTorch writes x.view(x.size(0), -1); Erf only in GELU's pattern, Pow and Sqrt only in LayerNorm's; Add,
 * Sub, Mul and Div with a constant as a per-channel scale; Transpose only in a channel shuffle or to
 * channels-last and back). Every other op is read by the layer type that declares it (LayerDef.onnxImport,
 * in its file under src/nn/layers/).
 */
const DRIVER_OPS = [
  'Flatten', 'Reshape', 'Softmax', 'LogSoftmax', 'Identity', 'Constant', 'Pad', 'Shape', 'Gather', 'Unsqueeze', 'Div', 'Erf', 'Transpose', 'Cast', 'Sub',
  'ConstantOfShape', 'Pow', 'Sqrt',
];

/**
 * Ops that may read a channels-last value (between Transpose [0, 2, 3, 1] and [0, 3, 1, 2]): per-pixel
 * ones, for which the layout does not matter, and those the driver reads in that layout itself
 * (ReduceMean in LayerNorm's pattern, MatMul as a 1x1 conv, arithmetic with a per-channel constant).
 */
const CHANNELS_LAST_OPS = [
  'Transpose', 'ReduceMean', 'LayerNormalization', 'MatMul', 'Add', 'Sub', 'Mul', 'Div', 'Relu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'Clip', 'HardSigmoid', 'HardSwish',
  'Elu', 'Softplus', 'Identity', 'Dropout',
];

/** The layer type of arithmetic with constants, a per-channel map a[c] * x + b[c] (its LayerDef.affineFold.isMap). */
const AFFINE_TYPE = layerTypes().find((t) => findLayerDef(t)?.affineFold?.isMap)!;

/** Per ONNX op, the layer type that imports it. */
function layerImporters(): Map<string, LayerTypeDef> {
  const byOp = new Map<string, LayerTypeDef>();
  for (const t of layerTypes()) {
    const def = findLayerDef(t)!;
    for (const op of def.onnxImport?.ops ?? []) if (!byOp.has(op)) byOp.set(op, def);
  }
  return byOp;
}

/** ONNX ops cnnviz imports: the driver's, then those the layer types declare. */
export const SUPPORTED_OPS: readonly string[] = [...DRIVER_OPS, ...[...layerImporters().keys()].filter((op) => !DRIVER_OPS.includes(op))];

export const CLASS_NAMES_METADATA_KEY = 'cnnviz.class_names';

export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}

export type LayerDef = Record<string, unknown> & { type: string; name: string };

export interface ImportedGraph {
  layerDefs: LayerDef[];
  /** Per node name: its tensors by cnnviz name (weights, biases, gamma, beta, runningMean, runningVar). */
  tensors: Record<string, Record<string, NamedTensor>>;
  inputShape: Shape3;
  /** From metadata_props, when the file states it. */
  preprocessing?: Preprocessing;
  classNames?: string[];
  opset: number;
  producer: string;
}

const IMPORTERS = layerImporters();

/** The ops whose layer types take a Pad in front of them into themselves. */
const PAD_TAKERS = [...IMPORTERS].filter(([, d]) => d.onnxImport?.pads).map(([op]) => op);

/**
 * Ops folded when their data (input 0) is an integer constant: how PyTorch computes the pads of F.pad
 * (ConstantOfShape, Concat, Reshape to [-1, 2], Slice backwards, Transpose, Reshape, Cast).
 */
const INTEGER_TENSOR_OPS = ['ConstantOfShape', 'Reshape', 'Slice', 'Transpose'];

/** Ops folded when every input is an integer constant (shape arithmetic). */
const INTEGER_ARITHMETIC = ['Add', 'Sub', 'Mul', 'Div', 'Cast'];

function isInteger(t: OnnxTensor | undefined): boolean {
  return t !== undefined && (t.data_type === DataType.INT64 || t.data_type === DataType.INT32);
}

/** A value flowing between ONNX nodes, as cnnviz sees it. */
interface Val {
  /** The cnnviz node producing it. */
  def: string;
  shape: Shape3;
  /** ONNX shape is [N, C*H*W] rather than [N, C, H, W]. */
  flat: boolean;
  /** A Pad in front of a layer type that takes it in (onnxImport.pads), not yet applied. */
  pad?: OnnxImportValue['pad'];
  /** Softmax applied: only allowed on the graph's output. */
  softmax?: boolean;
  /**
   * Halfway through PyTorch's channel shuffle: reshaped to [N, groups, C/groups, H, W] (and then
   * transposed to [N, C/groups, groups, H, W]); only the rest of the shuffle may read it.
   */
  shuffle?: { groups: number; transposed: boolean };
  /** ONNX holds it channels-last, [N, H, W, C]: the Transpose node that made it so, as messages name it. */
  nhwc?: string;
}

/** Shortest decimal that rounds to the same float32 (ONNX float attributes are float32: 1e-5, not 9.99999975e-6). */
export function float32Decimal(x: number): number {
  const f = Math.fround(x);
  for (let digits = 1; digits <= 9; digits++) {
    const d = Number(f.toPrecision(digits));
    if (Math.fround(d) === f) return d;
  }
  return f;
}

/** Short lower-case names of ops in node names. */
const OP_ALIASES: Record<string, string> = {
  Conv: 'conv', BatchNormalization: 'bn', Gemm: 'fc', MatMul: 'fc', MaxPool: 'maxpool', AveragePool: 'avgpool',
  GlobalAveragePool: 'gap', LeakyRelu: 'leakyrelu',
};

/**
 * A readable cnnviz name from an ONNX node name (PyTorch writes module path + op):
 * "/layer1/conv1/Conv" -> "layer1.conv1", "/layer1/Relu_1" -> "layer1.relu_1", "/stem/stem.0/Conv" -> "stem.0.conv".
 */
function cleanName(raw: string, op: string): string {
  const alias = OP_ALIASES[op] ?? op.toLowerCase();
  let parts = raw.split('/').filter(Boolean);
  const last = parts.length - 1;
  if (last >= 0 && parts[last].startsWith(op)) {
    parts[last] = alias + parts[last].slice(op.length);
    // "conv1/conv": the module's name already says what it is.
    if (last > 0 && parts[last] === alias && parts[last - 1].toLowerCase().startsWith(alias)) parts.pop();
  }
  parts = parts.filter((p, i) => !(i + 1 < parts.length && parts[i + 1].startsWith(`${p}.`)));
  const s = parts.join('.').replace(/[^A-Za-z0-9._-]/g, '_');
  return s || alias;
}

class Attrs {
  private readonly map = new Map<string, OnnxAttribute>();
  constructor(
    node: OnnxNode,
    private readonly where: string,
  ) {
    for (const a of node.attribute ?? []) this.map.set(a.name, a);
  }
  has(name: string): boolean {
    return this.map.has(name);
  }
  int(name: string, fallback: number): number {
    const a = this.map.get(name);
    return a === undefined ? fallback : Number(a.i ?? 0);
  }
  float(name: string, fallback: number): number {
    const a = this.map.get(name);
    return a === undefined ? fallback : (a.f ?? 0);
  }
  ints(name: string): number[] | undefined {
    const a = this.map.get(name);
    return a === undefined ? undefined : (a.ints ?? []).map(Number);
  }
  str(name: string, fallback: string): string {
    const a = this.map.get(name);
    return a === undefined ? fallback : Buffer.from(a.s ?? new Uint8Array(0)).toString('utf8');
  }
  tensor(name: string): OnnxTensor | undefined {
    return this.map.get(name)?.t;
  }
  fail(attr: string, problem: string): never {
    throw new UserError(`${this.where}: attribute "${attr}" ${problem}`);
  }
}


/** Imports one decoded ONNX model; `file` names it in messages. */
class Importer {
  private readonly defs: LayerDef[] = [];
  private readonly tensors: Record<string, Record<string, NamedTensor>> = {};
  private readonly vals = new Map<string, Val>();
  private readonly consts = new Map<string, OnnxTensor>();
  private readonly consumers = new Map<string, number>();
  /** The nodes reading each value. */
  private readonly readers = new Map<string, OnnxNode[]>();
  /** Nodes already taken in by a pattern (silu's Mul, gelu's Erf chain) or a layer (a MatMul's bias Add). */
  private readonly absorbed = new Set<OnnxNode>();
  /** The ONNX node behind each follower() handed to a layer type. */
  private readonly followers = new Map<OnnxImportNode, OnnxNode>();
  private readonly usedNames = new Set<string>();
  readonly opset: number;

  constructor(
    private readonly model: OnnxModel,
    private readonly file: string,
  ) {
    const ops = (model.opset_import ?? []).filter((o) => !o.domain || o.domain === 'ai.onnx');
    if (ops.length === 0) throw new UserError(`${file}: the model names no ONNX operator set (opset_import); not an ONNX model, or a truncated one`);
    this.opset = Number(ops[0].version ?? 0);
    if (this.opset < MIN_OPSET || this.opset > MAX_OPSET) {
      throw new UserError(`${file}: ONNX opset ${this.opset} is not supported (cnnviz imports opsets ${MIN_OPSET} to ${MAX_OPSET}; re-export with e.g. torch.onnx.export(..., opset_version=13))`);
    }
  }

  /** A stored tensor, once its shape is known to be one (a negative dimension is damage, not a shape). */
  private addConst(name: string, t: OnnxTensor, where: string): void {
    const dims = dimsOf(t).map(Number);
    if (dims.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      throw new UserError(`${where} "${t.name ?? name}" has shape [${dims.join(', ')}]: dimensions must be whole numbers of 0 or more`);
    }
    this.consts.set(name, t);
  }

  /** Index of each node in the graph: unnamed nodes are named by op and index. */
  private readonly nodeIndex = new Map<OnnxNode, number>();

  private where(node: OnnxNode): string {
    return `${this.file}: ${nodeLabel(node, this.nodeIndex.get(node) ?? -1)}`;
  }

  private uniqueName(base: string): string {
    let name = base;
    for (let k = 2; this.usedNames.has(name); k++) name = `${base}_${k}`;
    this.usedNames.add(name);
    return name;
  }

  private emit(def: Omit<LayerDef, 'name'>, base: string, inputs: string[], tensors?: Record<string, NamedTensor>): string {
    const name = this.uniqueName(base);
    const prev = this.defs[this.defs.length - 1]?.name;
    const full: LayerDef = { name, ...def } as LayerDef;
    // Agreed graph spec: a node without "inputs" reads the node before it, so linear parts stay ConvNetJS-like.
    if (!(inputs.length === 1 && inputs[0] === prev)) full.inputs = inputs;
    this.defs.push(full);
    if (tensors) this.tensors[name] = tensors;
    return name;
  }

  private val(node: OnnxNode, index: number): Val {
    const name = node.input?.[index] ?? '';
    const v = this.vals.get(name);
    if (!v) {
      if (this.consts.has(name)) throw new UserError(`${this.where(node)}: input ${index} ("${name}") is a constant where cnnviz needs a value computed from the image`);
      throw new UserError(`${this.where(node)}: input ${index} ("${name}") is not produced by any earlier node`);
    }
    if (v.softmax) throw new UserError(`${this.where(node)}: reads the output of a Softmax; cnnviz supports Softmax only as the network's last operation`);
    if (v.shuffle && node.op_type !== 'Transpose' && node.op_type !== 'Reshape') {
      throw new UserError(`${this.where(node)}: reads a 5-D value; cnnviz reads Reshape to 5-D only as a channel shuffle (Reshape, Transpose [0, 2, 1, 3, 4], Reshape)`);
    }
    if (v.nhwc && !CHANNELS_LAST_OPS.includes(node.op_type)) {
      throw new UserError(
        `${this.where(node)}: reads a channels-last value (made by ${v.nhwc}); cnnviz reads channels-last values only in per-pixel ops ` +
          `(LayerNorm's pattern, MatMul as a 1x1 conv, arithmetic with constants, activations) up to a Transpose [0, 3, 1, 2] back`,
      );
    }
    if (v.pad && node.op_type !== 'Pad' && !IMPORTERS.get(node.op_type)?.onnxImport?.pads) {
      throw new UserError(`${this.where(node)}: reads the output of a Pad; cnnviz reads Pad only in front of ${PAD_TAKERS.join(' or ')}`);
    }
    return v;
  }

  private constant(node: OnnxNode, index: number, what: string, optional = false): OnnxTensor | undefined {
    const name = node.input?.[index] ?? '';
    if (name === '') {
      if (optional) return undefined;
      throw new UserError(`${this.where(node)}: has no ${what} (input ${index})`);
    }
    const t = this.consts.get(name);
    if (!t) throw new UserError(`${this.where(node)}: ${what} ("${name}") must be a stored constant (initializer), not computed from the image`);
    return t;
  }

  private floats(node: OnnxNode, index: number, what: string, expected: number[]): Float32Array {
    const t = this.constant(node, index, what)!;
    const data = toFloat32(t, this.where(node));
    const count = expected.reduce((a, b) => a * b, 1);
    if (data.length !== count) {
      throw new UserError(`${this.where(node)}: ${what} ("${t.name ?? ''}") has shape [${dimsOf(t).join(', ')}], expected ${count} values ([${expected.join(', ')}])`);
    }
    return data;
  }

  private setOut(node: OnnxNode, v: Val): void {
    const out = node.output ?? [];
    for (let i = 1; i < out.length; i++) {
      if (out[i] && (this.consumers.get(out[i]) ?? 0) > 0) {
        throw new UserError(`${this.where(node)}: output ${i} ("${out[i]}") is used, but cnnviz supports only the first output of ${node.op_type}`);
      }
    }
    this.vals.set(out[0], v);
  }

  /**
   * Stride, padding per side [top, left, bottom, right] and dilation of a Conv/MaxPool/AveragePool.
   * cnnviz has one stride for both axes; convolutions take any padding and one dilation for both axes,
   * pools the same padding on all four sides and no dilation (`general` false).
   */
  private geometry(a: Attrs, kernel: [number, number], input: Shape3, general: boolean): { stride: number; pads: number[]; dilation: number } {
    const strides = a.ints('strides') ?? [1, 1];
    if (strides.length !== 2) a.fail('strides', `must have 2 values for images (NCHW), got [${strides.join(', ')}]`);
    if (strides.some((v) => !Number.isSafeInteger(v) || v < 1)) a.fail('strides', `is [${strides.join(', ')}]; strides must be 1 or more`);
    if (strides[0] !== strides[1]) a.fail('strides', `is [${strides.join(', ')}]; cnnviz needs the same stride in both directions`);
    const dil = a.ints('dilations') ?? [1, 1];
    if (dil.length !== 2 || dil.some((d) => !Number.isSafeInteger(d) || d < 1)) a.fail('dilations', `is [${dil.join(', ')}]; dilations must be 2 values of 1 or more`);
    if (dil[0] !== dil[1]) a.fail('dilations', `is [${dil.join(', ')}]; cnnviz needs the same dilation in both directions`);
    if (!general && dil[0] !== 1) a.fail('dilations', `is [${dil.join(', ')}]; cnnviz pools with dilation 1 only`);
    const dilation = dil[0];
    const stride = strides[0];
    const auto = a.str('auto_pad', 'NOTSET');
    let pads: number[];
    if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') {
      const begin: number[] = [];
      const end: number[] = [];
      for (const d of [0, 1]) {
        const size = input[1 + d];
        const total = Math.max(0, (Math.ceil(size / stride) - 1) * stride + dilation * (kernel[d] - 1) + 1 - size);
        // The odd pixel goes at the end (SAME_UPPER) or the beginning (SAME_LOWER).
        const small = Math.floor(total / 2);
        begin.push(auto === 'SAME_UPPER' ? small : total - small);
        end.push(total - begin[d]);
      }
      pads = [...begin, ...end];
    } else if (auto === 'VALID') {
      pads = [0, 0, 0, 0];
    } else if (auto === 'NOTSET' || auto === '') {
      pads = a.ints('pads') ?? [0, 0, 0, 0];
    } else {
      a.fail('auto_pad', `is "${auto}", not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER`);
    }
    if (pads.length !== 4) a.fail('pads', `is [${pads.join(', ')}]; images need 4 values (top, left, bottom, right)`);
    if (pads.some((p) => !Number.isSafeInteger(p) || p < 0)) a.fail('pads', `is [${pads.join(', ')}]; padding must be 0 or more`);
    if (!general && pads.some((p) => p !== pads[0])) {
      a.fail(auto === 'NOTSET' || auto === '' ? 'pads' : 'auto_pad', `gives padding [${pads.join(', ')}]; cnnviz pools with the same padding on all four sides`);
    }
    return { stride, pads, dilation };
  }

  private spatialInput(node: OnnxNode, v: Val): void {
    if (v.flat && (v.shape[1] !== 1 || v.shape[2] !== 1)) {
      throw new UserError(`${this.where(node)}: reads a flattened vector; cnnviz supports ${node.op_type} on image-shaped (N, C, H, W) values only`);
    }
  }

  run(): ImportedGraph {
    const g = this.model.graph!;
    for (const t of g.initializer ?? []) this.addConst(t.name ?? '', t, `${this.file}: initializer`);
    for (const n of g.node ?? []) {
      for (const i of n.input ?? []) {
        this.consumers.set(i, (this.consumers.get(i) ?? 0) + 1);
        if (!this.readers.has(i)) this.readers.set(i, []);
        this.readers.get(i)!.push(n);
      }
    }
    for (const o of g.output ?? []) this.consumers.set(o.name, (this.consumers.get(o.name) ?? 0) + 1);

    const nodes = g.node ?? [];
    nodes.forEach((n, i) => this.nodeIndex.set(n, i));
    const inputShape = this.input();
    this.importNodes(nodes);

    const outputs = g.output ?? [];
    if (outputs.length !== 1) throw new UserError(`${this.file}: the model has ${outputs.length} outputs; cnnviz needs exactly one (the class scores)`);
    this.foldScales(this.vals.get(outputs[0].name)?.def);
    this.finish(outputs[0].name);

    const result: ImportedGraph = {
      layerDefs: this.defs, tensors: this.tensors, inputShape, opset: this.opset,
      producer: [this.model.producer_name, this.model.producer_version].filter(Boolean).join(' ') || 'unknown',
    };
    for (const p of this.model.metadata_props ?? []) {
      if (p.key === PREPROCESS_METADATA_KEY) result.preprocessing = parsePreprocessText(p.value ?? '', `${this.file}: metadata_props "${p.key}"`);
      if (p.key === CLASS_NAMES_METADATA_KEY) result.classNames = parseClassNames(p.value ?? '', `${this.file}: metadata_props "${p.key}"`);
    }
    const classes = Number(this.defs[this.defs.length - 1].num_classes);
    if (result.classNames && result.classNames.length !== classes) {
      throw new UserError(`${this.file}: metadata_props "${CLASS_NAMES_METADATA_KEY}" names ${result.classNames.length} classes, but the model outputs ${classes} class scores`);
    }
    return result;
  }

  /**
   * Every node, collecting what blocks the import rather than stopping at the first: op types cnnviz
   * does not import (each with its count and first node, wherever they are), then nodes of known ops
   * that cnnviz cannot take as they are. A node reading a blocked value is not checked (its input is
   * unknown), and says so in the count at the end.
   */
  private importNodes(nodes: OnnxNode[]): void {
    const unknown = new Map<string, { count: number; first: OnnxNode }>();
    for (const n of nodes) {
      const op = opKey(n);
      if (!SUPPORTED_OPS.includes(op)) {
        const u = unknown.get(op);
        if (u) u.count++;
        else unknown.set(op, { count: 1, first: n });
      }
    }
    const problems: string[] = [...unknown].map(([op, u]) => `${op}: ${u.count} node${u.count === 1 ? '' : 's'}, first ${nodeLabel(u.first, this.nodeIndex.get(u.first)!)}: op not supported`);
    const blocked = new Set<string>();
    let unchecked = 0;
    // Constants first, so that patterns can read the ones their later nodes use (gelu's 1 and 0.5).
    for (const n of nodes) {
      if (n.op_type !== 'Constant' || unknown.has(opKey(n))) continue;
      try {
        this.node(n);
      } catch {
        // reported in order below
      }
    }
    for (const n of nodes) {
      if (this.absorbed.has(n)) continue;
      if ((n.input ?? []).some((i) => blocked.has(i))) {
        for (const o of n.output ?? []) blocked.add(o);
        unchecked++;
        continue;
      }
      if (unknown.has(opKey(n))) {
        for (const o of n.output ?? []) blocked.add(o);
        continue;
      }
      try {
        this.node(n);
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        problems.push(e.message.startsWith(`${this.file}: `) ? e.message.slice(this.file.length + 2) : e.message);
        for (const o of n.output ?? []) blocked.add(o);
      }
    }
    if (problems.length === 0) return;
    if (problems.length === 1 && unknown.size === 0) throw new UserError(`${this.file}: ${problems[0]}`);
    const lines = [
      `${this.file}: cnnviz cannot import ${problems.length === 1 ? 'this' : `these ${problems.length}`} (nothing was imported):`,
      ...problems.map((p) => `  ${p}`),
    ];
    if (unchecked > 0) lines.push(`  (${unchecked} node${unchecked === 1 ? '' : 's'} after them, reading their outputs, were not checked)`);
    if (unknown.size > 0) lines.push(`cnnviz imports these ONNX ops: ${SUPPORTED_OPS.join(', ')}`);
    throw new UserError(lines.join('\n'));
  }

  private input(): Shape3 {
    const g = this.model.graph!;
    const real = (g.input ?? []).filter((i) => !this.consts.has(i.name));
    if (real.length !== 1) {
      throw new UserError(`${this.file}: the model has ${real.length} inputs (${real.map((i) => i.name).join(', ')}); cnnviz needs exactly one image input`);
    }
    const info = real[0];
    const tt = info.type?.tensor_type;
    if (tt?.elem_type !== undefined && tt.elem_type !== DataType.FLOAT) {
      throw new UserError(`${this.file}: input "${info.name}" has element type ${tt.elem_type}; cnnviz needs float32 images`);
    }
    const dims = tt?.shape?.dim ?? [];
    const chw = dims.slice(1).map((d) => Number(d.dim_value ?? 0));
    if (dims.length !== 4 || chw.some((d) => !(d > 0))) {
      const shown = dims.map((d) => (d.dim_value ? String(d.dim_value) : (d.dim_param ?? '?'))).join(', ');
      throw new UserError(`${this.file}: input "${info.name}" has shape [${shown}]; cnnviz needs images [N, C, H, W] with fixed C, H and W`);
    }
    const shape: Shape3 = [chw[0], chw[1], chw[2]];
    const name = this.uniqueName(cleanName(info.name, 'input'));
    this.defs.push({ name, type: 'input', out_sx: shape[2], out_sy: shape[1], out_depth: shape[0] });
    this.vals.set(info.name, { def: name, shape, flat: false });
    return shape;
  }

  private node(node: OnnxNode): void {
    const op = node.op_type;
    const where = this.where(node);
    if (node.domain && node.domain !== 'ai.onnx') {
      throw new UserError(`${where}: operator domain "${node.domain}" is not supported; cnnviz imports these standard ONNX ops: ${SUPPORTED_OPS.join(', ')}`);
    }
    const a = new Attrs(node, where);
    const base = cleanName(node.name ?? '', op);
    if (INTEGER_ARITHMETIC.includes(op) && (node.input ?? []).length > 0 && (node.input ?? []).every((i) => isInteger(this.consts.get(i)))) {
      return this.integerArithmetic(node);
    }
    if (INTEGER_TENSOR_OPS.includes(op) && isInteger(this.consts.get(node.input?.[0] ?? ''))) return this.integerTensor(node, a);
    switch (op) {
      case 'Constant': {
        const t = a.tensor('value');
        if (t) this.addConst(node.output![0], t, `${where}: tensor`);
        else if (a.has('value_ints')) this.consts.set(node.output![0], { dims: [a.ints('value_ints')!.length], data_type: DataType.INT64, int64_data: a.ints('value_ints') });
        else if (a.has('value_int')) this.consts.set(node.output![0], { dims: [], data_type: DataType.INT64, int64_data: [a.int('value_int', 0)] });
        else if (a.has('value_float')) this.consts.set(node.output![0], { dims: [], data_type: DataType.FLOAT, float_data: [a.float('value_float', 0)] });
        else throw new UserError(`${where}: only tensor, int and float constants are supported`);
        return;
      }
      case 'Identity': {
        const src = node.input?.[0] ?? '';
        if (this.consts.has(src)) this.consts.set(node.output![0], this.consts.get(src)!);
        else this.setOut(node, this.val(node, 0));
        return;
      }
      case 'Sigmoid':
      case 'HardSigmoid':
        // The pattern pass: x * Sigmoid(x) is silu, x * HardSigmoid(x) hardswish; else the layer types'.
        if (this.gatedSelf(node, a)) return;
        break;
      case 'Div':
        if (this.soleReader(node.output?.[0] ?? '')?.op_type === 'Erf') return this.gelu(node, base);
        if (this.floatOperand(node) >= 0) return this.constArithmetic(node, base);
        throw new UserError(`${where}: cnnviz reads Div only by a constant (a scalar or one value per channel) or in GELU's form x * 0.5 * (1 + erf(x / sqrt 2))`);
      case 'Add':
      case 'Mul':
        if (this.floatOperand(node) >= 0) return this.constArithmetic(node, base);
        this.sameLayout(node);
        break;
      case 'ReduceMean':
        if (this.layerNorm(node, a, base)) return;
        if (this.val(node, 0).nhwc) throw new UserError(`${where}: cnnviz reads ReduceMean of a channels-last value only in LayerNorm's pattern (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div over the last axis)`);
        break;
      case 'Pow':
      case 'Sqrt':
        throw new UserError(`${where}: cnnviz reads ${op} only in LayerNorm's pattern (ReduceMean, Sub, Pow 2, ReduceMean, Add eps, Sqrt, Div over the channels)`);
      case 'MatMul':
        if (this.vals.get(node.input?.[0] ?? '')?.nhwc) return this.channelsLastMatMul(node, base);
        break;
      case 'Erf': throw new UserError(`${where}: cnnviz reads Erf only in GELU's form x * 0.5 * (1 + erf(x / sqrt 2)), as PyTorch writes nn.GELU()`);
      case 'Concat':
        if ((node.input ?? []).every((i) => this.consts.has(i))) return this.shapeArithmetic(node, a);
        break;
      case 'Flatten': {
        const v = this.val(node, 0);
        const axis = a.int('axis', 1);
        if (axis !== 1) a.fail('axis', `is ${axis}; cnnviz supports Flatten(axis=1) (keep the batch axis, flatten the rest)`);
        this.setOut(node, { ...v, flat: true });
        return;
      }
      case 'Reshape': return this.reshape(node, base);
      case 'Sub':
        if (this.floatOperand(node) >= 0) return this.constArithmetic(node, base);
        throw new UserError(`${where}: cnnviz reads Sub only with a constant (a scalar or one value per channel), or as arithmetic on integer shapes`);
      case 'Cast':
        throw new UserError(`${where}: cnnviz reads ${op} only as arithmetic on integer shapes (folded at import)`);
      case 'Transpose': {
        const v = this.val(node, 0);
        const perm = a.ints('perm') ?? [];
        // To channels-last and back around per-pixel ops (ConvNeXt): no layer, the layout is tracked.
        if (perm.join() === '0,2,3,1' && !v.shuffle && !v.flat && !v.nhwc) {
          this.setOut(node, { ...v, nhwc: nodeLabel(node, this.nodeIndex.get(node) ?? -1) });
          return;
        }
        if (perm.join() === '0,3,1,2' && v.nhwc) {
          this.setOut(node, { def: v.def, shape: v.shape, flat: false });
          return;
        }
        if (!v.shuffle || v.shuffle.transposed || perm.join() !== '0,2,1,3,4') {
          a.fail(
            'perm',
            `is [${perm.join(', ')}]; cnnviz reads Transpose only inside a channel shuffle (Reshape to [N, g, C/g, H, W], Transpose [0, 2, 1, 3, 4], Reshape) ` +
              `or as [0, 2, 3, 1] to channels-last and [0, 3, 1, 2] back around per-pixel ops (ConvNeXt's LayerNorm and MatMuls)`,
          );
        }
        this.setOut(node, { ...v, shuffle: { groups: v.shuffle!.groups, transposed: true } });
        return;
      }
      case 'Softmax':
      case 'LogSoftmax': {
        // LogSoftmax (log_softmax + nll_loss course code) gives the log of the same probabilities.
        const v = this.val(node, 0);
        const axis = a.int('axis', this.opset >= 13 ? -1 : 1);
        const rank = v.flat ? 2 : 4;
        if (!(axis === 1 || axis === -1 || axis === rank - 1) || (!v.flat && (v.shape[1] !== 1 || v.shape[2] !== 1))) {
          throw new UserError(`${where}: cnnviz supports ${op} over the class scores of a flat [N, classes] output only`);
        }
        this.setOut(node, { ...v, softmax: true });
        return;
      }
      case 'Pad': return this.padOp(node, a);
      case 'Gather':
        // Gather of an image value along channels: a layer type's (shuffle, slice).
        if (!this.consts.has(node.input?.[0] ?? '')) break;
        return this.shapeArithmetic(node, a);
      case 'Shape':
      case 'Unsqueeze': return this.shapeArithmetic(node, a);
    }
    // Every other op: the layer type that declares it.
    const def = IMPORTERS.get(op);
    if (!def) throw new UserError(`${where}: op "${op}" is not supported; cnnviz imports ${SUPPORTED_OPS.join(', ')}`);
    def.onnxImport!.read(this.reader(node, a, base));
  }

  /** What a layer type's onnxImport hook reads `node` with. */
  private reader(node: OnnxNode, a: Attrs, base: string): OnnxImportNode {
    const where = this.where(node);
    const inputName = (i: number) => node.input?.[i] ?? '';
    const view = (v: Val): OnnxImportValue => {
      const out: OnnxImportValue = v.pad ? { shape: v.shape, flat: v.flat, pad: v.pad } : { shape: v.shape, flat: v.flat };
      if (v.nhwc) out.channelsLast = true;
      return out;
    };
    return {
      opType: node.op_type,
      opset: this.opset,
      inputCount: (node.input ?? []).length,
      has: (name) => a.has(name),
      int: (name, fallback) => a.int(name, fallback),
      float: (name, fallback) => a.float(name, fallback),
      ints: (name) => a.ints(name),
      str: (name, fallback) => a.str(name, fallback),
      hasInput: (i) => inputName(i) !== '',
      isConstant: (i) => this.consts.has(inputName(i)),
      value: (i) => view(this.val(node, i)),
      image: (i) => {
        const v = this.val(node, i);
        this.spatialInput(node, v);
        return view(v);
      },
      follower: () => {
        const next = this.soleReader(node.output?.[0] ?? '');
        if (!next || this.absorbed.has(next) || (next.domain && next.domain !== 'ai.onnx')) return undefined;
        const r = this.reader(next, new Attrs(next, this.where(next)), cleanName(next.name ?? '', next.op_type));
        this.followers.set(r, next);
        return r;
      },
      same: (i) => {
        const v = this.val(node, i);
        this.setOut(node, { def: v.def, shape: v.shape, flat: v.flat });
      },
      window: (kH, kW, general) => this.geometry(a, [kH, kW], this.val(node, 0).shape, general),
      constant: (i, what) => {
        const t = this.constant(node, i, what)!;
        const data = t.data_type === BOOL || t.data_type === DataType.INT64 || t.data_type === DataType.INT32
          ? Float32Array.from(t.data_type === BOOL ? [boolValue(t) ? 1 : 0] : toIntegers(t, where))
          : toFloat32(t, where);
        return { name: t.name ?? node.input![i], dims: dimsOf(t).map(Number), data };
      },
      decimal: float32Decimal,
      fail: (problem) => {
        throw new UserError(`${where}: ${problem}`);
      },
      emit: (fields, options = {}) => {
        // NaN or infinite attributes are damage: say so here, naming the node, not later in the spec.
        for (const [k, v] of Object.entries(fields)) {
          if (typeof v === 'number' && !Number.isFinite(v)) throw new UserError(`${where}: ${k} is ${v}; it must be a finite number`);
        }
        const inputs = (options.inputs ?? [0]).map((i) => this.val(node, i));
        const name = this.emit(fields, base, inputs.map((v) => v.def), options.tensors);
        const out = options.out ?? inputs[0];
        const through = options.through && this.followers.get(options.through);
        if (options.through && !through) throw new Error('emit: "through" must be a follower() of this node');
        if (through) this.absorbed.add(through);
        // Only per-pixel ops read a channels-last value (val): their output keeps the layout.
        const nhwc = inputs[0]?.nhwc;
        this.setOut(through ?? node, nhwc ? { def: name, shape: out.shape, flat: out.flat, nhwc } : { def: name, shape: out.shape, flat: out.flat });
      },
    };
  }

  /** The one node reading `value`, when exactly one does (and it is not a graph output). */
  private soleReader(value: string): OnnxNode | undefined {
    const r = this.readers.get(value) ?? [];
    return r.length === 1 && (this.consumers.get(value) ?? 0) === 1 ? r[0] : undefined;
  }

  /**
   * x * Sigmoid(x) as silu, x * HardSigmoid(x) (alpha 1/6, beta 1/2) as hardswish: the way PyTorch writes
   * nn.SiLU and nn.Hardswish for opset 13. Returns whether the node was taken that way.
   */
  private gatedSelf(node: OnnxNode, a: Attrs): boolean {
    const x = node.input?.[0] ?? '';
    const out = node.output?.[0] ?? '';
    const mul = this.soleReader(out);
    if (!mul || mul.op_type !== 'Mul' || (mul.domain && mul.domain !== 'ai.onnx')) return false;
    const ins = mul.input ?? [];
    if (!(ins.length === 2 && ((ins[0] === x && ins[1] === out) || (ins[0] === out && ins[1] === x)))) return false;
    let type = 'silu';
    if (node.op_type === 'HardSigmoid') {
      if (Math.fround(a.float('alpha', 0.2)) !== Math.fround(1 / 6) || Math.fround(a.float('beta', 0.5)) !== 0.5) return false;
      type = 'hardswish';
    }
    const v = this.val(node, 0);
    const name = this.emit({ type }, cleanName(mul.name ?? '', 'Mul').replace(/mul(_\d+)?$/, type) || type, [v.def]);
    this.absorbed.add(mul);
    this.vals.set(mul.output![0], { ...v, def: name });
    return true;
  }

  /** The single float a constant input holds, or undefined (not a stored scalar). */
  private scalar(name: string): number | undefined {
    const t = this.consts.get(name);
    if (!t || (t.data_type !== DataType.FLOAT && t.data_type !== DataType.DOUBLE)) return undefined;
    const d = toFloat32(t, `${this.file}: tensor`);
    return d.length === 1 ? d[0] : undefined;
  }

  /**
   * GELU in its Erf form, as PyTorch writes nn.GELU(): Div(x, sqrt 2) -> Erf -> Add 1 -> Mul x -> Mul 0.5
   * (each product in either order). Any other Div is refused.
   */
  private gelu(node: OnnxNode, base: string): void {
    const refuse = (): never => {
      throw new UserError(`${this.where(node)}: cnnviz reads Div only in GELU's form x * 0.5 * (1 + erf(x / sqrt 2)), as PyTorch writes nn.GELU()`);
    };
    const [x, d] = node.input ?? [];
    if (this.scalar(d) !== Math.fround(Math.SQRT2)) refuse();
    const erf = this.soleReader(node.output![0]);
    if (erf?.op_type !== 'Erf') refuse();
    const add = this.soleReader(erf!.output![0]);
    const other = (n: OnnxNode | undefined, v: string) => (n?.input ?? []).find((i) => i !== v) ?? '';
    if (add?.op_type !== 'Add' || this.scalar(other(add, erf!.output![0])) !== 1) refuse();
    const times = this.soleReader(add!.output![0]);
    if (times?.op_type !== 'Mul' || other(times, add!.output![0]) !== x) refuse();
    const half = this.soleReader(times!.output![0]);
    if (half?.op_type !== 'Mul' || this.scalar(other(half, times!.output![0])) !== 0.5) refuse();
    const v = this.val(node, 0);
    const name = this.emit({ type: 'gelu' }, base.replace(/div(_\d+)?$/, 'gelu'), [v.def]);
    for (const n of [erf!, add!, times!, half!]) this.absorbed.add(n);
    this.vals.set(half!.output![0], { ...v, def: name });
  }

  /**
   * Which input of a two-input Add/Sub/Mul/Div is a float constant while the other is computed from the
   * image (-1 when not so): arithmetic with a constant, read as a per-channel scale.
   */
  private floatOperand(node: OnnxNode): number {
    const ins = node.input ?? [];
    if (ins.length !== 2) return -1;
    const isFloat = (i: string) => this.consts.has(i) && !isInteger(this.consts.get(i));
    if (isFloat(ins[0]) && this.vals.has(ins[1])) return 0;
    if (isFloat(ins[1]) && this.vals.has(ins[0])) return 1;
    return -1;
  }

  /** An Add or Mul of two values reads them in one layout (both NCHW or both channels-last). */
  private sameLayout(node: OnnxNode): void {
    const vs = (node.input ?? []).map((i) => this.vals.get(i)).filter((v): v is Val => v !== undefined);
    const last = vs.find((v) => v.nhwc);
    if (last && vs.some((v) => !v.nhwc)) {
      throw new UserError(`${this.where(node)}: ${node.op_type} of a channels-last value (made by ${last.nhwc}) and an NCHW one; transpose one of them first`);
    }
  }

  /**
   * Mul, Add, Sub or Div of a value by a constant that is a scalar or one number per channel ([1, C, 1, 1]
   * or [C, 1, 1] against NCHW; [C] against a channels-last or a flat [N, C] value, where the last axis is
   * the channels): out = a[c] * x + b[c], an `affine` layer, which foldScales then takes into a neighbour
   * where that is exact. c / x is not of that form and is refused, as is a constant that varies along
   * height or width.
   */
  private constArithmetic(node: OnnxNode, base: string): void {
    const where = this.where(node);
    const op = node.op_type;
    const ki = this.floatOperand(node);
    const v = this.val(node, 1 - ki);
    const t = this.consts.get(node.input![ki])!;
    const k = toFloat32(t, where);
    const dims = dimsOf(t).map(Number);
    const [c, h, w] = v.shape;
    const core = [...dims];
    while (core.length > 0 && core[0] === 1) core.shift();
    const rank = v.flat ? 2 : 4;
    let perChannel: Float32Array | undefined;
    if (dims.length <= rank) {
      if (k.length === 1) perChannel = new Float32Array(c).fill(k[0]);
      else if ((v.nhwc || (v.flat && h * w === 1)) && core.join() === String(c)) perChannel = k;
      else if (!v.flat && !v.nhwc && core.join() === [c, 1, 1].join()) perChannel = k;
    }
    if (!perChannel) {
      const expected = v.nhwc || v.flat ? `[${c}]` : `[1, ${c}, 1, 1] or [${c}, 1, 1]`;
      throw new UserError(`${where}: ${op} by constant "${t.name ?? node.input![ki]}" of shape [${dims.join(', ')}]; cnnviz reads arithmetic with a constant only of one value or one per channel (${expected} here)`);
    }
    let gamma: Float32Array;
    let beta: Float32Array;
    const ones = () => new Float32Array(c).fill(1);
    if (op === 'Mul') [gamma, beta] = [Float32Array.from(perChannel), new Float32Array(c)];
    else if (op === 'Add') [gamma, beta] = [ones(), Float32Array.from(perChannel)];
    else if (op === 'Sub') [gamma, beta] = ki === 1 ? [ones(), perChannel.map((x) => -x)] : [new Float32Array(c).fill(-1), Float32Array.from(perChannel)];
    else {
      if (ki === 0) throw new UserError(`${where}: divides a constant by a value; cnnviz reads Div only of a value by a constant`);
      if (perChannel.some((x) => x === 0)) throw new UserError(`${where}: divides by zero`);
      [gamma, beta] = [perChannel.map((x) => 1 / x), new Float32Array(c)];
    }
    const name = this.emit({ type: AFFINE_TYPE }, base.replace(/(mul|add|sub|div)(_\d+)?$/, 'affine$2'), [v.def], { gamma: { shape: [c], data: gamma }, beta: { shape: [c], data: beta } });
    this.setOut(node, { ...v, def: name });
  }

  /** The axes a ReduceMean reduces (opset 18: an input), or undefined when not stated (all of them). */
  private reduceAxes(node: OnnxNode, a: Attrs): number[] | undefined {
    if (this.opset >= 18) return (node.input?.[1] ?? '') !== '' ? toIntegers(this.constant(node, 1, 'axes')!, this.where(node)) : undefined;
    return a.ints('axes');
  }

  /**
   * LayerNorm over channels as PyTorch writes it below opset 17: ReduceMean(x) -> Sub(x, mean) -> Pow 2 ->
   * ReduceMean -> Add eps -> Sqrt -> Div(x - mean, sqrt), over the last axis of a channels-last value
   * (ConvNeXt: nn.LayerNorm after a Transpose [0, 2, 3, 1]) or axis 1 of an NCHW one. Its gamma and beta
   * (the Mul and Add after it) arrive as affine layers and fold into it. Returns whether `node` started it.
   */
  private layerNorm(node: OnnxNode, a: Attrs, base: string): boolean {
    const x = node.input?.[0] ?? '';
    const v = this.vals.get(x);
    if (!v || v.softmax || v.shuffle || v.pad) return false;
    const axes = this.reduceAxes(node, a);
    if (!axes || axes.length !== 1 || a.int('keepdims', 1) !== 1) return false;
    const axis = axes[0] < 0 ? axes[0] + (v.flat ? 2 : 4) : axes[0];
    const overChannels = v.nhwc ? axis === 3 : axis === 1 && (!v.flat || v.shape[1] * v.shape[2] === 1);
    if (!overChannels) return false;
    const mean = node.output![0];
    const sub = this.soleReader(mean);
    if (sub?.op_type !== 'Sub' || sub.input?.[0] !== x || sub.input?.[1] !== mean) return false;
    const d = sub.output![0];
    const dReaders = this.readers.get(d) ?? [];
    const pow = dReaders.find((n) => n.op_type === 'Pow');
    const div = dReaders.find((n) => n.op_type === 'Div');
    if (dReaders.length !== 2 || (this.consumers.get(d) ?? 0) !== 2 || !pow || !div) return false;
    if (pow.input?.[0] !== d || this.scalar(pow.input?.[1] ?? '') !== 2) return false;
    const mean2 = this.soleReader(pow.output![0]);
    if (mean2?.op_type !== 'ReduceMean') return false;
    const a2 = new Attrs(mean2, this.where(mean2));
    if (this.reduceAxes(mean2, a2)?.join() !== axes.join() || a2.int('keepdims', 1) !== 1) return false;
    const add = this.soleReader(mean2.output![0]);
    if (add?.op_type !== 'Add') return false;
    const eps = this.scalar((add.input ?? []).find((i) => i !== mean2.output![0]) ?? '');
    if (eps === undefined || !(eps > 0)) return false;
    const sqrt = this.soleReader(add.output![0]);
    if (sqrt?.op_type !== 'Sqrt' || this.soleReader(sqrt.output![0]) !== div || div.input?.[0] !== d || div.input?.[1] !== sqrt.output![0]) return false;
    const c = v.shape[0];
    const tensors = { gamma: { shape: [c], data: new Float32Array(c).fill(1) }, beta: { shape: [c], data: new Float32Array(c) } };
    const name = this.emit({ type: 'layernorm', eps: float32Decimal(eps) }, base.replace(/reducemean(_\d+)?$/, 'layernorm'), [v.def], tensors);
    for (const n of [sub, pow, mean2, add, sqrt, div]) this.absorbed.add(n);
    this.vals.set(div.output![0], { ...v, def: name });
    return true;
  }

  /** MatMul of a channels-last value by a [C, units] constant: a 1x1 conv (ConvNeXt's Linear layers). */
  private channelsLastMatMul(node: OnnxNode, base: string): void {
    const v = this.val(node, 0);
    const t = this.constant(node, 1, 'weight')!;
    const dims = dimsOf(t).map(Number);
    const c = v.shape[0];
    if (dims.length !== 2 || dims[0] !== c) {
      throw new UserError(`${this.where(node)}: weight "${t.name ?? node.input![1]}" has shape [${dims.join(', ')}]; a MatMul of a channels-last value needs [${c}, units]`);
    }
    const units = dims[1];
    const data = toFloat32(t, this.where(node));
    const weights = new Float32Array(units * c);
    for (let i = 0; i < c; i++) for (let u = 0; u < units; u++) weights[u * c + i] = data[i * units + u];
    const name = this.emit(
      { type: 'conv', sx: 1, sy: 1, filters: units, stride: 1, pad: 0, bias: false }, base.replace(/fc(_\d+)?$/, 'conv$1'), [v.def],
      { weights: { shape: [units, c, 1, 1], data: weights } },
    );
    this.setOut(node, { ...v, def: name, shape: [units, v.shape[1], v.shape[2]] });
  }

  /**
   * Folds `affine` layers (arithmetic with constants) into their neighbours where the result is exact in
   * real arithmetic, until none folds: into the layer below when only the affine layer reads it (a conv's or
   * fc's weights and biases per output channel, batch or layer norm's gamma and beta, another affine layer),
   * else into the one layer reading it (a conv's or fc's weights per input channel, the shift into its
   * biases; another affine layer). Every tensor is new: ONNX initializers may be shared by several nodes.
   */
  private foldScales(outputDef: string | undefined): void {
    const defs = this.defs;
    defs.forEach((d, i) => {
      if (i > 0 && !d.inputs) d.inputs = [defs[i - 1].name];
    });
    for (let changed = true; changed; ) {
      changed = false;
      for (const s of defs) {
        if (findLayerDef(s.type)?.affineFold?.isMap && (this.foldBack(s, outputDef) || this.foldForward(s, outputDef))) {
          changed = true;
          break;
        }
      }
    }
    defs.forEach((d, i) => {
      const ins = d.inputs as string[] | undefined;
      if (i > 0 && ins?.length === 1 && ins[0] === defs[i - 1].name) delete d.inputs;
    });
  }

  private readersOf(name: string): LayerDef[] {
    return this.defs.filter((d) => (d.inputs as string[] | undefined)?.includes(name));
  }

  /** Removes affine layer `s`, whose readers now read `by` instead. */
  private dropScale(s: LayerDef, by: string): void {
    for (const d of this.defs) if (d.inputs) d.inputs = (d.inputs as string[]).map((i) => (i === s.name ? by : i));
    for (const v of this.vals.values()) if (v.def === s.name) v.def = by;
    this.defs.splice(this.defs.indexOf(s), 1);
    delete this.tensors[s.name];
  }

  private foldBack(s: LayerDef, outputDef: string | undefined): boolean {
    const below = (s.inputs as string[])[0];
    const p = this.defs.find((d) => d.name === below);
    const fold = p && findLayerDef(p.type)?.affineFold?.output;
    if (!p || !fold || p.name === outputDef || this.readersOf(p.name).length !== 1) return false;
    const { gamma: a, beta: b } = this.tensors[s.name];
    const t = fold(p, this.tensors[p.name], a.data, b.data);
    if (!t) return false;
    this.tensors[p.name] = t;
    this.dropScale(s, p.name);
    return true;
  }

  private foldForward(s: LayerDef, outputDef: string | undefined): boolean {
    if (s.name === outputDef) return false;
    const readers = this.readersOf(s.name);
    const r = readers[0];
    const fold = r && findLayerDef(r.type)?.affineFold?.input;
    if (readers.length !== 1 || !fold || (r.inputs as string[]).length !== 1) return false;
    const { gamma: a, beta: b } = this.tensors[s.name];
    const t = fold(r, this.tensors[r.name], a.data, b.data);
    if (!t) return false;
    this.tensors[r.name] = t;
    this.dropScale(s, (s.inputs as string[])[0]);
    return true;
  }

  private padOp(node: OnnxNode, a: Attrs): void {
    const v = this.val(node, 0);
    this.spatialInput(node, v);
    const mode = a.str('mode', 'constant');
    let pads: number[];
    let value = 0;
    if (this.opset < 11) {
      pads = a.ints('pads') ?? [];
      value = a.float('value', 0);
    } else {
      pads = toIntegers(this.constant(node, 1, 'pads')!, this.where(node));
      const vt = this.constant(node, 2, 'constant value', true);
      if (vt) value = toFloat32(vt, this.where(node))[0] ?? 0;
      if ((node.input?.[3] ?? '') !== '') throw new UserError(`${this.where(node)}: Pad with "axes" is not supported`);
    }
    // [N, C, H, W begins, N, C, H, W ends]
    const where = this.where(node);
    if (pads.length !== 8 || pads[0] !== 0 || pads[1] !== 0 || pads[4] !== 0 || pads[5] !== 0 || pads.some((p) => !Number.isSafeInteger(p) || p < 0)) {
      throw new UserError(`${where}: pads [${pads.join(', ')}]; cnnviz reads Pad only of height and width (4-D pads of 0 or more on axes 2 and 3)`);
    }
    if (mode !== 'constant' && mode !== 'reflect' && mode !== 'edge') throw new UserError(`${where}: mode "${mode}" is not one of constant, reflect, edge`);
    if (mode === 'constant' && value !== 0) throw new UserError(`${where}: pads with ${value}; cnnviz reads constant Pad only with zeros`);
    const reader = this.soleReader(node.output![0]);
    if (!reader || !(PAD_TAKERS.includes(reader.op_type) || reader.op_type === 'Pad')) {
      throw new UserError(`${where}: cnnviz reads Pad only in front of a single ${PAD_TAKERS.join(' or ')}, which takes it in`);
    }
    const sides: [number, number, number, number] = [pads[2], pads[3], pads[6], pads[7]];
    if (v.pad) {
      // Zeros after zeros, as PyTorch writes F.pad before AvgPool2d(count_include_pad=True): one Pad.
      if (mode !== 'constant' || v.pad.mode !== 'constant') throw new UserError(`${where}: pads a value padded already; cnnviz merges two Pads only when both pad with zeros`);
      for (let k = 0; k < 4; k++) sides[k] += v.pad.pads[k];
    }
    this.setOut(node, { ...v, pad: { pads: sides, mode } });
  }

  /**
   * Integer arithmetic on shapes, folded to constants at import. Shape(x) gives [0, C, H, W] (or
   * [0, C*H*W] when flat): the batch size is unknown, and 0 is what Reshape reads as "keep this
   * dimension", the only use cnnviz accepts for it (every other op on these integers is unsupported).
   */
  private shapeArithmetic(node: OnnxNode, a: Attrs): void {
    const where = this.where(node);
    const ints = (index: number, what: string) => toIntegers(this.constant(node, index, what)!, where);
    const out = node.output![0];
    const set = (values: number[], dims: number[]) => this.consts.set(out, { name: out, dims, data_type: DataType.INT64, int64_data: values });
    switch (node.op_type) {
      case 'Shape': {
        const v = this.val(node, 0);
        let shape = v.flat ? [0, v.shape[0] * v.shape[1] * v.shape[2]] : [0, ...v.shape];
        const rank = shape.length;
        const clamp = (k: number) => Math.min(rank, Math.max(0, k < 0 ? k + rank : k));
        shape = shape.slice(clamp(a.int('start', 0)), clamp(a.int('end', rank)));
        set(shape, [shape.length]);
        return;
      }
      case 'Gather': {
        const data = ints(0, 'data');
        const t = this.constant(node, 1, 'indices')!;
        const indices = toIntegers(t, where);
        if (a.int('axis', 0) !== 0 || dimsOf(this.consts.get(node.input![0])!).length !== 1) {
          throw new UserError(`${where}: cnnviz supports Gather only on 1-D integer shapes (as in x.view(x.size(0), -1))`);
        }
        set(indices.map((i) => data[i < 0 ? i + data.length : i]), dimsOf(t));
        return;
      }
      case 'Unsqueeze': {
        const t = this.constant(node, 0, 'data')!;
        const axes = this.opset >= 13 ? ints(1, 'axes') : (a.ints('axes') ?? []);
        const dims = [...dimsOf(t)];
        for (const ax of [...axes].map((x) => (x < 0 ? x + dims.length + axes.length : x)).sort((p, q) => p - q)) dims.splice(ax, 0, 1);
        set(toIntegers(t, where), dims);
        return;
      }
      default: {
        // Concat of constants: 1-D integer vectors joined (the target shape of a Reshape).
        const parts = (node.input ?? []).map((_, i) => this.constant(node, i, `input ${i}`)!);
        if (parts.some((t) => dimsOf(t).length !== 1)) throw new UserError(`${where}: cnnviz supports Concat of constants only for 1-D integer shapes`);
        const values = parts.flatMap((t) => toIntegers(t, where));
        set(values, [values.length]);
      }
    }
  }

  private reshape(node: OnnxNode, base: string): void {
    const v = this.val(node, 0);
    const target = toIntegers(this.constant(node, 1, 'shape')!, this.where(node));
    const size = v.shape[0] * v.shape[1] * v.shape[2];
    const [c, h, w] = v.shape;
    const batch = (k: number) => k === 0 || k === -1;
    if (v.shuffle) {
      // The end of a channel shuffle: back to [N, C, H, W].
      if (!(v.shuffle.transposed && target.length === 4 && batch(target[0]) && (target[1] === c || target[1] === -1) && target[2] === h && target[3] === w)) {
        throw new UserError(`${this.where(node)}: reshapes a 5-D value to [${target.join(', ')}]; cnnviz reads only a channel shuffle's Reshape back to [N, ${c}, ${h}, ${w}]`);
      }
      const name = this.emit({ type: 'shuffle', groups: v.shuffle.groups }, base.replace(/reshape(_\d+)?$/, 'shuffle'), [v.def]);
      this.setOut(node, { def: name, shape: v.shape, flat: false });
      return;
    }
    if (target.length === 5 && !v.flat && batch(target[0]) && target[1] * target[2] === c && target[1] > 1 && target[3] === h && target[4] === w) {
      this.setOut(node, { ...v, shuffle: { groups: target[1], transposed: false } });
      return;
    }
    const flatOk = target.length === 2 && (target[1] === size || (target[1] === -1 && target[0] !== -1)) && (target[0] === 0 || target[0] === -1 || target[1] === -1 || target[0] > 0);
    const sameImage = target.length === 4 && (target[0] === 0 || target[0] === -1) && target[1] === v.shape[0] && target[2] === v.shape[1] && target[3] === v.shape[2];
    if (flatOk) this.setOut(node, { ...v, flat: true });
    else if (sameImage) this.setOut(node, { ...v, flat: false });
    else throw new UserError(`${this.where(node)}: reshapes to [${target.join(', ')}]; cnnviz supports Reshape to a flat vector [N, ${size}] only`);
  }

  /**
   * Add, Sub, Mul, Div (rounding toward zero, as ONNX integer Div) and Cast of integer constants, with
   * numpy broadcasting of a one-value operand: the arithmetic on shapes PyTorch writes for
   * x.view(b, g, c // g, h, w) and x.chunk(2, dim=1), folded to constants at import.
   */
  private integerArithmetic(node: OnnxNode): void {
    const where = this.where(node);
    const ts = (node.input ?? []).map((i) => this.consts.get(i)!);
    const vals = ts.map((t) => toIntegers(t, where));
    const out = node.output![0];
    let r: number[];
    if (node.op_type === 'Cast') r = vals[0];
    else {
      const [p, q] = vals;
      const len = Math.max(p.length, q.length);
      if ((p.length !== len && p.length !== 1) || (q.length !== len && q.length !== 1)) throw new UserError(`${where}: integer operands of ${p.length} and ${q.length} values do not broadcast`);
      const at = (v: number[], i: number) => (v.length === 1 ? v[0] : v[i]);
      const f = { Add: (x: number, y: number) => x + y, Sub: (x: number, y: number) => x - y, Mul: (x: number, y: number) => x * y, Div: (x: number, y: number) => Math.trunc(x / y) }[node.op_type as 'Add'];
      if (node.op_type === 'Div' && q.some((y) => y === 0)) throw new UserError(`${where}: divides by zero`);
      r = Array.from({ length: len }, (_, i) => f(at(p, i), at(q, i)));
    }
    const dims = dimsOf(ts.reduce((big, t) => (elementCount(t) > elementCount(big) ? t : big), ts[0]));
    this.consts.set(out, { name: out, dims, data_type: DataType.INT64, int64_data: r });
  }

  /** ConstantOfShape, Reshape, Slice and Transpose of an integer constant, folded to a constant. */
  private integerTensor(node: OnnxNode, a: Attrs): void {
    const where = this.where(node);
    const t = this.consts.get(node.input![0])!;
    const dims = dimsOf(t).map(Number);
    const values = toIntegers(t, where);
    const ints = (i: number, what: string) => toIntegers(this.constant(node, i, what)!, where);
    let outDims: number[];
    let out: number[];
    switch (node.op_type) {
      case 'ConstantOfShape': {
        const v = a.tensor('value');
        const fill = v ? (isInteger(v) ? toIntegers(v, where)[0] : toFloat32(v, where)[0]) : 0;
        if (v && !isInteger(v) && fill !== 0) throw new UserError(`${where}: cnnviz folds ConstantOfShape only of integers or zeros`);
        outDims = values;
        out = new Array<number>(values.reduce((x, y) => x * y, 1)).fill(fill ?? 0);
        break;
      }
      case 'Reshape': {
        const target = ints(1, 'shape');
        const known = target.reduce((x, d, k) => x * (d === -1 ? 1 : d === 0 ? dims[k] : d), 1);
        outDims = target.map((d, k) => (d === -1 ? values.length / known : d === 0 ? dims[k] : d));
        if (outDims.reduce((x, y) => x * y, 1) !== values.length) throw new UserError(`${where}: cannot reshape ${values.length} integers to [${target.join(', ')}]`);
        out = values;
        break;
      }
      case 'Transpose': {
        const perm = a.ints('perm') ?? dims.map((_, k) => dims.length - 1 - k);
        outDims = perm.map((k) => dims[k]);
        out = reindex(dims, outDims, (idx) => perm.map((_, k) => idx[perm.indexOf(k)]), values);
        break;
      }
      default: {
        // Slice (opset 10+: starts, ends, axes and steps are inputs).
        if (this.opset < 10) throw new UserError(`${where}: cnnviz folds Slice of integers at opset 10 or later only`);
        const starts = ints(1, 'starts');
        const ends = ints(2, 'ends');
        const axes = (node.input?.[3] ?? '') !== '' ? ints(3, 'axes') : starts.map((_, k) => k);
        const steps = (node.input?.[4] ?? '') !== '' ? ints(4, 'steps') : starts.map(() => 1);
        const picks = dims.map((d) => Array.from({ length: d }, (_, k) => k));
        axes.forEach((ax0, k) => {
          const ax = ax0 < 0 ? ax0 + dims.length : ax0;
          const d = dims[ax];
          const step = steps[k];
          if (step === 0) throw new UserError(`${where}: Slice step 0`);
          const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x < 0 ? x + d : x));
          const start = step > 0 ? clamp(starts[k], 0, d) : clamp(starts[k], 0, d - 1);
          const end = step > 0 ? clamp(ends[k], 0, d) : clamp(ends[k], -1, d - 1);
          const list: number[] = [];
          for (let i = start; step > 0 ? i < end : i > end; i += step) list.push(i);
          picks[ax] = list;
        });
        outDims = picks.map((l) => l.length);
        out = reindex(dims, outDims, (idx) => idx.map((i, k) => picks[k][i]), values);
      }
    }
    this.consts.set(node.output![0], { name: node.output![0], dims: outDims, data_type: DataType.INT64, int64_data: out });
  }

  /** The graph output must be a fully connected layer (maybe softmaxed): it becomes the softmax node. */
  private finish(output: string): void {
    const v = this.vals.get(output);
    if (!v) throw new UserError(`${this.file}: output "${output}" is not computed from the image by any supported node`);
    if (v.nhwc) throw new UserError(`${this.file}: output "${output}" is channels-last (after ${v.nhwc}) and never transposed back; cnnviz needs NCHW class scores`);
    const i = this.defs.findIndex((d) => d.name === v.def);
    const def = this.defs[i];
    // A fully connected layer: its weights are drawn as units (LayerHints.weights).
    const isFc = layerDef(String(def.type)).hints.weights === 'units';
    if (!isFc && v.shape[1] === 1 && v.shape[2] === 1 && i === this.defs.length - 1) {
      // Class scores computed by another layer, e.g. SqueezeNet's conv -> ReLU -> global average pool:
      // a softmax that reads them as they are (no fully connected layer of its own).
      this.emit({ type: 'softmax', num_classes: v.shape[0], fc: false }, 'softmax', [v.def]);
      return;
    }
    if (!isFc) {
      throw new UserError(
        `${this.file}: output "${output}" comes from a ${def.type} node of shape ${v.shape.join('x')}; cnnviz needs the class scores to come from a fully connected layer ` +
          `(Gemm, or MatMul + Add) or a layer whose output is [classes, 1, 1], optionally followed by Softmax`,
      );
    }
    if (i !== this.defs.length - 1) throw new UserError(`${this.file}: nodes after the output layer "${def.name}" compute nothing that reaches the output; remove them`);
    // The softmax definition builds the fully connected layer (named by its position, e.g. "10-fc")
    // and the softmax layer, which takes the definition's name.
    const { num_neurons: classes, name: fcName, ...rest } = def;
    const name = this.uniqueName('softmax');
    this.defs[i] = { name, ...rest, type: 'softmax', num_classes: classes } as LayerDef;
    this.tensors[name] = this.tensors[fcName];
    delete this.tensors[fcName];
  }
}

/** An integer tensor of shape `outDims` whose element at index idx is `values` at source(idx) in `dims`. */
function reindex(dims: number[], outDims: number[], source: (idx: number[]) => number[], values: number[]): number[] {
  const count = outDims.reduce((x, y) => x * y, 1);
  const out = new Array<number>(count);
  for (let flat = 0; flat < count; flat++) {
    const idx: number[] = [];
    for (let k = outDims.length - 1, r = flat; k >= 0; k--) {
      idx[k] = r % outDims[k];
      r = Math.floor(r / outDims[k]);
    }
    const src = source(idx);
    out[flat] = values[src.reduce((x, i, k) => x * dims[k] + i, 0)];
  }
  return out;
}

/** ONNX's bool element type (Dropout's training_mode). */
const BOOL = 9;

function boolValue(t: OnnxTensor): boolean {
  return (t.raw_data?.[0] ?? Number(t.int32_data?.[0] ?? 0)) !== 0;
}

function parseClassNames(text: string, where: string): string[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new UserError(`${where}: expected a JSON array of class names`);
  }
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw new UserError(`${where}: expected a JSON array of class names`);
  return v as string[];
}

/** An op type, with its domain when that is not the standard one. */
function opKey(n: OnnxNode): string {
  return n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.op_type}` : n.op_type;
}

/** How messages name a node: its name, or (unnamed) its op and position in the graph. */
function nodeLabel(node: OnnxNode, index: number): string {
  return node.name ? `node "${node.name}" (${node.op_type})` : `${node.op_type} node #${index} (unnamed)`;
}

/** Convert a decoded ONNX model into a cnnviz graph spec and named tensors. */
export function importOnnxGraph(model: OnnxModel, file: string): ImportedGraph {
  return new Importer(model, file).run();
}
