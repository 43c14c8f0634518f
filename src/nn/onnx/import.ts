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
import { layerDef } from '../layers/registry.js';
import type { Shape3 } from '../spec.js';
import { DataType, type OnnxAttribute, type OnnxModel, type OnnxNode, type OnnxTensor } from './proto.js';
import { dimsOf, toFloat32, toIntegers } from './tensors.js';

export const MIN_OPSET = 9;
export const MAX_OPSET = 18;

/**
 * ONNX ops cnnviz imports. Pad only in front of AveragePool (how PyTorch writes count_include_pad);
 * Shape, Gather and Unsqueeze only as arithmetic on shapes (how PyTorch writes x.view(x.size(0), -1)).
 */
export const SUPPORTED_OPS = [
  'Conv', 'Relu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'BatchNormalization',
  'Add', 'Concat', 'Gemm', 'MatMul', 'Flatten', 'Reshape', 'Softmax', 'Dropout', 'Identity', 'Constant', 'Pad',
  'Shape', 'Gather', 'Unsqueeze',
] as const;

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

/** A value flowing between ONNX nodes, as cnnviz sees it. */
interface Val {
  /** The cnnviz node producing it. */
  def: string;
  shape: Shape3;
  /** ONNX shape is [N, C*H*W] rather than [N, C, H, W]. */
  flat: boolean;
  /** A zero Pad in front of an AveragePool (PyTorch's count_include_pad), not yet applied. */
  pad?: number;
  /** Softmax applied: only allowed on the graph's output. */
  softmax?: boolean;
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

function outSize(input: number, kernel: number, stride: number, pad: number): number {
  return Math.floor((input + 2 * pad - kernel) / stride) + 1;
}

/** Imports one decoded ONNX model; `file` names it in messages. */
class Importer {
  private readonly defs: LayerDef[] = [];
  private readonly tensors: Record<string, Record<string, NamedTensor>> = {};
  private readonly vals = new Map<string, Val>();
  private readonly consts = new Map<string, OnnxTensor>();
  private readonly consumers = new Map<string, number>();
  private readonly usedNames = new Set<string>();
  /** MatMul outputs whose fc node may still take its bias from the Add that follows. */
  private readonly fcAwaitingBias = new Map<string, string>();
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

  private where(node: OnnxNode): string {
    return `${this.file}: node "${node.name ?? ''}" (${node.op_type})`;
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
    if (v.pad && node.op_type !== 'AveragePool') {
      throw new UserError(`${this.where(node)}: reads the output of a Pad; cnnviz supports Pad only in front of AveragePool`);
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

  /** stride and pad of a Conv/MaxPool/AveragePool: cnnviz has one stride and one pad for both axes. */
  private geometry(node: OnnxNode, a: Attrs, kernel: [number, number], input: Shape3): { stride: number; pad: number } {
    const strides = a.ints('strides') ?? [1, 1];
    if (strides.length !== 2) a.fail('strides', `must have 2 values for images (NCHW), got [${strides.join(', ')}]`);
    if (strides[0] !== strides[1]) a.fail('strides', `is [${strides.join(', ')}]; cnnviz needs the same stride in both directions`);
    const dil = a.ints('dilations');
    if (dil && dil.some((d) => d !== 1)) a.fail('dilations', `is [${dil.join(', ')}]; cnnviz supports dilation 1 only`);
    const stride = strides[0];
    const auto = a.str('auto_pad', 'NOTSET');
    let pads: number[];
    if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') {
      pads = [0, 1].map((d) => {
        const size = input[1 + d];
        const total = Math.max(0, (Math.ceil(size / stride) - 1) * stride + kernel[d] - size);
        if (total % 2 !== 0) a.fail('auto_pad', `${auto} needs ${total} pixels of padding on a ${size}-pixel axis: uneven, which cnnviz cannot express`);
        return total / 2;
      });
      pads = [pads[0], pads[1], pads[0], pads[1]];
    } else if (auto === 'VALID') {
      pads = [0, 0, 0, 0];
    } else if (auto === 'NOTSET' || auto === '') {
      pads = a.ints('pads') ?? [0, 0, 0, 0];
    } else {
      a.fail('auto_pad', `is "${auto}", not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER`);
    }
    if (pads.length !== 4 || pads.some((p) => p !== pads[0])) {
      a.fail('pads', `is [${pads.join(', ')}]; cnnviz needs the same padding on all four sides`);
    }
    return { stride, pad: pads[0] };
  }

  private spatialInput(node: OnnxNode, v: Val): void {
    if (v.flat && (v.shape[1] !== 1 || v.shape[2] !== 1)) {
      throw new UserError(`${this.where(node)}: reads a flattened vector; cnnviz supports ${node.op_type} on image-shaped (N, C, H, W) values only`);
    }
  }

  run(): ImportedGraph {
    const g = this.model.graph!;
    for (const t of g.initializer ?? []) this.consts.set(t.name ?? '', t);
    for (const n of g.node ?? []) for (const i of n.input ?? []) this.consumers.set(i, (this.consumers.get(i) ?? 0) + 1);
    for (const o of g.output ?? []) this.consumers.set(o.name, (this.consumers.get(o.name) ?? 0) + 1);

    const inputShape = this.input();
    for (const node of g.node ?? []) this.node(node);

    const outputs = g.output ?? [];
    if (outputs.length !== 1) throw new UserError(`${this.file}: the model has ${outputs.length} outputs; cnnviz needs exactly one (the class scores)`);
    // A MatMul no Add followed: an fc without biases (rather than zero biases that fine-tuning would move).
    for (const name of this.fcAwaitingBias.values()) {
      const def = this.defs.find((d) => d.name === name)!;
      (def as Record<string, unknown>).bias = false;
      delete this.tensors[name].biases;
    }
    this.finish(outputs[0].name);

    const result: ImportedGraph = {
      layerDefs: this.defs, tensors: this.tensors, inputShape, opset: this.opset,
      producer: [this.model.producer_name, this.model.producer_version].filter(Boolean).join(' ') || 'unknown',
    };
    for (const p of this.model.metadata_props ?? []) {
      if (p.key === PREPROCESS_METADATA_KEY) result.preprocessing = parsePreprocessText(p.value ?? '', `${this.file}: metadata_props "${p.key}"`);
      if (p.key === CLASS_NAMES_METADATA_KEY) result.classNames = parseClassNames(p.value ?? '', `${this.file}: metadata_props "${p.key}"`);
    }
    return result;
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
    switch (op) {
      case 'Constant': {
        const t = a.tensor('value');
        if (t) this.consts.set(node.output![0], t);
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
      case 'Conv': return this.conv(node, a, base);
      case 'Relu':
      case 'Sigmoid':
      case 'Tanh': {
        const v = this.val(node, 0);
        const name = this.emit({ type: op.toLowerCase() }, base, [v.def]);
        this.setOut(node, { ...v, def: name });
        return;
      }
      case 'LeakyRelu': {
        const v = this.val(node, 0);
        const name = this.emit({ type: 'leakyrelu', alpha: float32Decimal(a.float('alpha', 0.01)) }, base, [v.def]);
        this.setOut(node, { ...v, def: name });
        return;
      }
      case 'MaxPool':
      case 'AveragePool': return this.pool(node, a, base);
      case 'GlobalAveragePool': {
        const v = this.val(node, 0);
        this.spatialInput(node, v);
        const name = this.emit({ type: 'gap' }, base, [v.def]);
        this.setOut(node, { def: name, shape: [v.shape[0], 1, 1], flat: false });
        return;
      }
      case 'BatchNormalization': return this.batchnorm(node, a, base);
      case 'Add': return this.add(node, base);
      case 'Concat':
        if ((node.input ?? []).every((i) => this.consts.has(i))) return this.shapeArithmetic(node, a);
        return this.concat(node, a, base);
      case 'Gemm': return this.gemm(node, a, base);
      case 'MatMul': return this.matmul(node, base);
      case 'Flatten': {
        const v = this.val(node, 0);
        const axis = a.int('axis', 1);
        if (axis !== 1) a.fail('axis', `is ${axis}; cnnviz supports Flatten(axis=1) (keep the batch axis, flatten the rest)`);
        this.setOut(node, { ...v, flat: true });
        return;
      }
      case 'Reshape': return this.reshape(node);
      case 'Softmax': {
        const v = this.val(node, 0);
        const axis = a.int('axis', this.opset >= 13 ? -1 : 1);
        const rank = v.flat ? 2 : 4;
        if (!(axis === 1 || axis === -1 || axis === rank - 1) || (!v.flat && (v.shape[1] !== 1 || v.shape[2] !== 1))) {
          throw new UserError(`${where}: cnnviz supports Softmax over the class scores of a flat [N, classes] output only`);
        }
        this.setOut(node, { ...v, softmax: true });
        return;
      }
      case 'Dropout': return this.dropout(node, a, base);
      case 'Pad': return this.padOp(node, a);
      case 'Shape':
      case 'Gather':
      case 'Unsqueeze': return this.shapeArithmetic(node, a);
      default:
        throw new UserError(`${where}: op "${op}" is not supported; cnnviz imports ${SUPPORTED_OPS.join(', ')}`);
    }
  }

  private conv(node: OnnxNode, a: Attrs, base: string): void {
    const v = this.val(node, 0);
    this.spatialInput(node, v);
    const group = a.int('group', 1);
    if (group !== 1) a.fail('group', `is ${group}; cnnviz supports ordinary convolutions (group 1) only`);
    const wt = this.constant(node, 1, 'weight')!;
    const wd = dimsOf(wt);
    if (wd.length !== 4 || wd[1] !== v.shape[0]) {
      throw new UserError(`${this.where(node)}: weight "${wt.name ?? ''}" has shape [${wd.join(', ')}]; expected [filters, ${v.shape[0]}, kH, kW]`);
    }
    const [filters, , kH, kW] = wd;
    const ks = a.ints('kernel_shape');
    if (ks && (ks[0] !== kH || ks[1] !== kW)) a.fail('kernel_shape', `[${ks.join(', ')}] disagrees with the weight's ${kH}x${kW}`);
    const { stride, pad } = this.geometry(node, a, [kH, kW], v.shape);
    const h = outSize(v.shape[1], kH, stride, pad);
    const w = outSize(v.shape[2], kW, stride, pad);
    if (h < 1 || w < 1) throw new UserError(`${this.where(node)}: a ${kH}x${kW} window does not fit its ${v.shape[1]}x${v.shape[2]} input`);
    const tensors: Record<string, NamedTensor> = { weights: { shape: [filters, v.shape[0], kH, kW], data: toFloat32(wt, this.where(node)) } };
    const hasBias = (node.input?.[2] ?? '') !== '';
    if (hasBias) tensors.biases = { shape: [filters], data: this.floats(node, 2, 'bias', [filters]) };
    const def: Record<string, unknown> = { type: 'conv', sx: kW, sy: kH, filters, stride, pad };
    if (!hasBias) def.bias = false;
    const name = this.emit(def as LayerDef, base, [v.def], tensors);
    this.setOut(node, { def: name, shape: [filters, h, w], flat: false });
  }

  private pool(node: OnnxNode, a: Attrs, base: string): void {
    const v = this.val(node, 0);
    this.spatialInput(node, v);
    const ks = a.ints('kernel_shape');
    if (!ks || ks.length !== 2) a.fail('kernel_shape', 'must give the 2 window sizes of an image pool');
    const [kH, kW] = ks;
    const geometry = this.geometry(node, a, [kH, kW], v.shape);
    const stride = geometry.stride;
    let pad = geometry.pad;
    if (a.int('storage_order', 0) !== 0) a.fail('storage_order', 'must be 0 (row major)');
    const avg = node.op_type === 'AveragePool';
    let countIncludePad = avg && a.int('count_include_pad', 0) === 1;
    if (v.pad !== undefined) {
      // Pad(zeros) + AveragePool, as PyTorch writes AvgPool2d(count_include_pad=True).
      if (pad !== 0) a.fail('pads', 'must be 0 after a Pad');
      pad = v.pad;
      countIncludePad = true;
    }
    const h = outSize(v.shape[1], kH, stride, pad);
    const w = outSize(v.shape[2], kW, stride, pad);
    if (a.int('ceil_mode', 0) === 1) {
      const ch = Math.ceil((v.shape[1] + 2 * pad - kH) / stride) + 1;
      const cw = Math.ceil((v.shape[2] + 2 * pad - kW) / stride) + 1;
      if (ch !== h || cw !== w) a.fail('ceil_mode', `is 1, which gives a ${ch}x${cw} output where cnnviz's pools give ${h}x${w}`);
    }
    if (h < 1 || w < 1) throw new UserError(`${this.where(node)}: a ${kH}x${kW} window does not fit its ${v.shape[1]}x${v.shape[2]} input`);
    if (pad >= Math.min(kH, kW)) a.fail('pads', `(${pad}) must be smaller than the ${kH}x${kW} window`);
    const def: Record<string, unknown> = { type: 'pool', sx: kW, sy: kH, stride, pad };
    if (avg) {
      def.mode = 'avg';
      def.count_include_pad = countIncludePad;
    }
    const name = this.emit(def as LayerDef, base, [v.def]);
    this.setOut(node, { def: name, shape: [v.shape[0], h, w], flat: false });
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
    const ok = mode === 'constant' && value === 0 && pads.length === 8 && pads[0] === 0 && pads[1] === 0 && pads[4] === 0 && pads[5] === 0 &&
      pads[2] === pads[3] && pads[2] === pads[6] && pads[2] === pads[7];
    if (!ok) {
      throw new UserError(`${this.where(node)}: cnnviz supports Pad only as zero padding of the same amount on all four image sides in front of AveragePool (got mode ${mode}, value ${value}, pads [${pads.join(', ')}])`);
    }
    const consumers = (this.model.graph!.node ?? []).filter((n) => (n.input ?? []).includes(node.output![0]));
    if (consumers.length !== 1 || consumers[0].op_type !== 'AveragePool') {
      throw new UserError(`${this.where(node)}: cnnviz supports Pad only in front of a single AveragePool (as PyTorch writes count_include_pad=True)`);
    }
    this.setOut(node, { ...v, pad: pads[2] });
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

  private batchnorm(node: OnnxNode, a: Attrs, base: string): void {
    const v = this.val(node, 0);
    this.spatialInput(node, v);
    if (a.int('training_mode', 0) !== 0) a.fail('training_mode', 'is 1; export the model in inference mode (model.eval())');
    const c = v.shape[0];
    const tensors: Record<string, NamedTensor> = {
      gamma: { shape: [c], data: this.floats(node, 1, 'scale', [c]) },
      beta: { shape: [c], data: this.floats(node, 2, 'bias', [c]) },
      runningMean: { shape: [c], data: this.floats(node, 3, 'mean', [c]) },
      runningVar: { shape: [c], data: this.floats(node, 4, 'var', [c]) },
    };
    // ONNX: running = running * momentum + batch * (1 - momentum); cnnviz keeps PyTorch's convention.
    const momentum = Number((1 - Math.fround(a.float('momentum', 0.9))).toPrecision(6));
    const def = { type: 'batchnorm', momentum, eps: float32Decimal(a.float('epsilon', 1e-5)), affine: true };
    const name = this.emit(def, base, [v.def], tensors);
    this.setOut(node, { ...v, def: name });
  }

  private add(node: OnnxNode, base: string): void {
    const [x, y] = node.input ?? [];
    const xConst = this.consts.has(x);
    const yConst = this.consts.has(y);
    if (xConst || yConst) {
      // MatMul followed by Add: the Add is the fully connected layer's bias.
      const valName = xConst ? y : x;
      const fc = this.fcAwaitingBias.get(valName);
      if (!fc || (this.consumers.get(valName) ?? 0) !== 1) {
        throw new UserError(`${this.where(node)}: adding a constant is supported only as the bias right after a MatMul`);
      }
      this.fcAwaitingBias.delete(valName);
      const units = this.tensors[fc].biases.shape[0];
      const t = this.consts.get(xConst ? x : y)!;
      const data = toFloat32(t, this.where(node));
      if (data.length !== units && data.length !== 1) {
        throw new UserError(`${this.where(node)}: bias "${t.name ?? ''}" has shape [${dimsOf(t).join(', ')}], expected ${units} values`);
      }
      const biases = this.tensors[fc].biases.data;
      for (let i = 0; i < units; i++) biases[i] = data.length === 1 ? data[0] : data[i];
      this.setOut(node, this.vals.get(valName)!);
      return;
    }
    const a = this.val(node, 0);
    const b = this.val(node, 1);
    if (a.shape.join() !== b.shape.join() || (a.flat !== b.flat && a.shape[1] * a.shape[2] !== 1)) {
      throw new UserError(`${this.where(node)}: adds values of shapes ${a.shape.join('x')} and ${b.shape.join('x')}; cnnviz adds values of the same shape only (no broadcasting)`);
    }
    const name = this.emit({ type: 'add' }, base, [a.def, b.def]);
    this.setOut(node, { def: name, shape: a.shape, flat: a.flat && b.flat });
  }

  private concat(node: OnnxNode, a: Attrs, base: string): void {
    const ins = (node.input ?? []).map((_, i) => this.val(node, i));
    const allFlat = ins.every((v) => v.flat);
    const rank = allFlat ? 2 : 4;
    let axis = a.int('axis', 1);
    if (axis < 0) axis += rank;
    if (axis !== 1) a.fail('axis', `is ${a.int('axis', 1)}; cnnviz concatenates along channels (axis 1) only`);
    for (const v of ins) {
      if (v.flat && !allFlat) this.spatialInput(node, v);
      if (allFlat && v.shape[1] * v.shape[2] !== 1) {
        throw new UserError(`${this.where(node)}: concatenates flattened vectors of ${v.shape.join('x')} values; cnnviz concatenates along channels only`);
      }
      if (v.shape[1] !== ins[0].shape[1] || v.shape[2] !== ins[0].shape[2]) {
        throw new UserError(`${this.where(node)}: concatenates ${ins.map((u) => u.shape.join('x')).join(' and ')}; channels can be joined only when height and width agree`);
      }
    }
    const channels = ins.reduce((s, v) => s + v.shape[0], 0);
    const name = this.emit({ type: 'concat' }, base, ins.map((v) => v.def));
    this.setOut(node, { def: name, shape: [channels, ins[0].shape[1], ins[0].shape[2]], flat: allFlat });
  }

  /** biases null: an fc without biases ("bias": false), as a Gemm without C. */
  private fc(node: OnnxNode, base: string, v: Val, weights: Float32Array, units: number, biases: Float32Array | null): string {
    const [c, h, w] = v.shape;
    const tensors: Record<string, NamedTensor> = { weights: { shape: [units, c, h, w], data: weights } };
    if (biases) tensors.biases = { shape: [units], data: biases };
    const def: Record<string, unknown> = { type: 'fc', num_neurons: units };
    if (!biases) def.bias = false;
    return this.emit(def as LayerDef, base, [v.def], tensors);
  }

  private gemm(node: OnnxNode, a: Attrs, base: string): void {
    const v = this.val(node, 0);
    if (a.int('transA', 0) !== 0) a.fail('transA', 'must be 0 (the input is [N, features])');
    const inSize = v.shape[0] * v.shape[1] * v.shape[2];
    const wt = this.constant(node, 1, 'weight')!;
    const wd = dimsOf(wt);
    const transB = a.int('transB', 0) === 1;
    const units = wd.length === 2 ? (transB ? wd[0] : wd[1]) : -1;
    if (wd.length !== 2 || (transB ? wd[1] : wd[0]) !== inSize) {
      throw new UserError(`${this.where(node)}: weight "${wt.name ?? ''}" has shape [${wd.join(', ')}], which does not fit an input of ${inSize} values`);
    }
    const raw = toFloat32(wt, this.where(node));
    const alpha = a.float('alpha', 1);
    const weights = transB ? raw : transpose(raw, inSize, units);
    if (alpha !== 1) for (let i = 0; i < weights.length; i++) weights[i] = Math.fround(weights[i] * alpha);
    const ct = this.constant(node, 2, 'bias', true);
    const biases = ct ? new Float32Array(units) : null;
    if (ct && biases) {
      const beta = a.float('beta', 1);
      const data = toFloat32(ct, this.where(node));
      if (data.length !== units && data.length !== 1) {
        throw new UserError(`${this.where(node)}: bias "${ct.name ?? ''}" has shape [${dimsOf(ct).join(', ')}]; expected ${units} values`);
      }
      for (let i = 0; i < units; i++) biases[i] = Math.fround((data.length === 1 ? data[0] : data[i]) * beta);
    }
    const name = this.fc(node, base, v, weights === raw ? raw : weights, units, biases);
    this.setOut(node, { def: name, shape: [units, 1, 1], flat: true });
  }

  private matmul(node: OnnxNode, base: string): void {
    const v = this.val(node, 0);
    if (!v.flat && v.shape[1] * v.shape[2] !== 1) {
      throw new UserError(`${this.where(node)}: multiplies an image-shaped value; cnnviz supports MatMul on flat [N, features] values (after Flatten) only`);
    }
    const inSize = v.shape[0] * v.shape[1] * v.shape[2];
    const wt = this.constant(node, 1, 'weight')!;
    const wd = dimsOf(wt);
    if (wd.length !== 2 || wd[0] !== inSize) {
      throw new UserError(`${this.where(node)}: weight "${wt.name ?? ''}" has shape [${wd.join(', ')}]; expected [${inSize}, units]`);
    }
    const units = wd[1];
    const name = this.fc(node, base, v, transpose(toFloat32(wt, this.where(node)), inSize, units), units, new Float32Array(units));
    this.fcAwaitingBias.set(node.output![0], name);
    this.setOut(node, { def: name, shape: [units, 1, 1], flat: true });
  }

  private reshape(node: OnnxNode): void {
    const v = this.val(node, 0);
    const target = toIntegers(this.constant(node, 1, 'shape')!, this.where(node));
    const size = v.shape[0] * v.shape[1] * v.shape[2];
    const flatOk = target.length === 2 && (target[1] === size || (target[1] === -1 && target[0] !== -1)) && (target[0] === 0 || target[0] === -1 || target[1] === -1 || target[0] > 0);
    const sameImage = target.length === 4 && (target[0] === 0 || target[0] === -1) && target[1] === v.shape[0] && target[2] === v.shape[1] && target[3] === v.shape[2];
    if (flatOk) this.setOut(node, { ...v, flat: true });
    else if (sameImage) this.setOut(node, { ...v, flat: false });
    else throw new UserError(`${this.where(node)}: reshapes to [${target.join(', ')}]; cnnviz supports Reshape to a flat vector [N, ${size}] only`);
  }

  private dropout(node: OnnxNode, a: Attrs, base: string): void {
    const v = this.val(node, 0);
    let ratio = 0.5;
    if (this.opset < 12) ratio = a.float('ratio', 0.5);
    else {
      const rt = this.constant(node, 1, 'ratio', true);
      if (rt) ratio = toFloat32(rt, this.where(node))[0];
      const tm = this.constant(node, 2, 'training_mode', true);
      if (tm && toIntegersOrBool(tm)) throw new UserError(`${this.where(node)}: training_mode is true; export the model in inference mode (model.eval())`);
    }
    const name = this.emit({ type: 'dropout', drop_prob: float32Decimal(ratio) }, base, [v.def]);
    this.setOut(node, { ...v, def: name });
  }

  /** The graph output must be a fully connected layer (maybe softmaxed): it becomes the softmax node. */
  private finish(output: string): void {
    const v = this.vals.get(output);
    if (!v) throw new UserError(`${this.file}: output "${output}" is not computed from the image by any supported node`);
    const i = this.defs.findIndex((d) => d.name === v.def);
    const def = this.defs[i];
    // A fully connected layer: its weights are drawn as units (LayerHints.weights).
    if (layerDef(String(def.type)).hints.weights !== 'units') {
      throw new UserError(
        `${this.file}: output "${output}" comes from a ${def.type} node; cnnviz needs the class scores to come from a fully connected layer ` +
          `(Gemm, or MatMul + Add), optionally followed by Softmax`,
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

function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
  return out;
}

function toIntegersOrBool(t: OnnxTensor): boolean {
  if (t.data_type === 9) return (t.raw_data?.[0] ?? Number(t.int32_data?.[0] ?? 0)) !== 0;
  return false;
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

/** Convert a decoded ONNX model into a cnnviz graph spec and named tensors. */
export function importOnnxGraph(model: OnnxModel, file: string): ImportedGraph {
  return new Importer(model, file).run();
}
