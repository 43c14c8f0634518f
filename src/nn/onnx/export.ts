/**
 * cnnviz network -> ONNX model (opset 13, IR 7: read by onnxruntime, onnx2torch and PyTorch tooling).
 * Input "input" [batch, C, H, W] float32 (already preprocessed: the scaling is recorded in
 * metadata_props "cnnviz.preprocess" as `mean=r,g,b std=r,g,b` on pixel/255), output "probabilities"
 * [batch, classes] for a softmax network ("scores" for svm, "outputs" for regression).
 *
 * The input is a list of built nodes in order, each with the names of the nodes it reads, its settings
 * and its named tensors in cnnviz's layouts (see import.ts); ONNX value names are the cnnviz node names,
 * initializers `<node>.<tensor>`. cnnviz keeps every value as (C, H, W); ONNX values here are rank 4
 * [N, C, H, W] except after Gemm/Flatten (rank 2 [N, features]): a Flatten or Reshape is inserted
 * where an op needs the other rank.
 */
import type { Preprocessing } from '../../data/preprocess.js';
import { formatPreprocessText, PREPROCESS_METADATA_KEY } from '../../data/preprocess-option.js';
import { UserError } from '../../util/errors.js';
import type { Shape3 } from '../spec.js';
import { CLASS_NAMES_METADATA_KEY } from './import.js';
import { AttrType, DataType, type OnnxAttribute, type OnnxModel, type OnnxNode, type OnnxTensor } from './proto.js';
import { floatTensor, int64Tensor } from './tensors.js';

export const EXPORT_OPSET = 13;
const EXPORT_IR_VERSION = 7;

export interface ExportNode {
  name: string;
  /** Built node type: input, conv, pool, fc, relu, sigmoid, tanh, leakyrelu, maxout, dropout, lrn, batchnorm, add, concat, gap, softmax, svm, regression. */
  type: string;
  /** Names of the nodes it reads (none for the input). */
  inputs: string[];
  outShape: Shape3;
  /** The node's settings (its LayerConfig): camelCase or spec (snake_case) field names. */
  settings: Record<string, unknown>;
  /** Named tensors: weights, biases, gamma, beta, runningMean, runningVar. */
  tensors: Record<string, Float32Array>;
}

export interface ExportOptions {
  preprocessing?: Preprocessing;
  classNames?: string[];
  producerVersion?: string;
  graphName?: string;
}

function attr(name: string, value: number | number[] | string, float = false): OnnxAttribute {
  if (typeof value === 'string') return { name, type: AttrType.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: AttrType.INTS, ints: value };
  return float ? { name, type: AttrType.FLOAT, f: value } : { name, type: AttrType.INT, i: value };
}

/** A setting under any of its names (LayerConfig camelCase, or layer_defs snake_case). */
function setting<T>(n: ExportNode, names: string[], fallback: T): T {
  for (const k of names) if (n.settings[k] !== undefined) return n.settings[k] as T;
  return fallback;
}

class Builder {
  readonly nodes: OnnxNode[] = [];
  readonly inits: OnnxTensor[] = [];
  private readonly rank = new Map<string, 2 | 4>();
  private readonly shapes = new Map<string, Shape3>();

  op(opType: string, inputs: string[], output: string, name: string, attrs: OnnxAttribute[] = [], rank: 2 | 4 = 4, shape?: Shape3): string {
    this.nodes.push({ name, op_type: opType, input: inputs, output: [output], attribute: attrs });
    this.rank.set(output, rank);
    if (shape) this.shapes.set(output, shape);
    return output;
  }

  declare(value: string, rank: 2 | 4, shape: Shape3): void {
    this.rank.set(value, rank);
    this.shapes.set(value, shape);
  }

  shapeOf(value: string): Shape3 {
    return this.shapes.get(value)!;
  }

  init(t: OnnxTensor): string {
    this.inits.push(t);
    return t.name!;
  }

  /** The value as [N, C, H, W]. */
  as4d(value: string): string {
    if (this.rank.get(value) === 4) return value;
    const [c, h, w] = this.shapeOf(value);
    const shape = this.init(int64Tensor(`${value}.shape4d`, [4], [0, c, h, w]));
    return this.op('Reshape', [value, shape], `${value}.4d`, `${value}.4d`, [], 4, [c, h, w]);
  }

  /** The value as [N, C*H*W]. */
  as2d(value: string): string {
    if (this.rank.get(value) === 2) return value;
    return this.op('Flatten', [value], `${value}.flat`, `${value}.flat`, [attr('axis', 1)], 2, this.shapeOf(value));
  }

  rankOf(value: string): 2 | 4 {
    return this.rank.get(value) ?? 4;
  }

}

/** cnnviz layer types the exporter writes (the ONNX ops for each are in emitNode). */
export const EXPORTABLE_TYPES = [
  'input', 'conv', 'pool', 'fc', 'relu', 'sigmoid', 'tanh', 'leakyrelu', 'dropout', 'lrn', 'maxout', 'batchnorm', 'add', 'concat', 'gap',
  'softmax', 'svm', 'regression',
];

/** ONNX nodes of one cnnviz layer (a switch on the type: the ONNX mapping of every layer type in one place). */
function emitNode(b: Builder, n: ExportNode, outputName: (n: ExportNode) => string): void {
  const x = n.inputs[0];
  const out = outputName(n);
  const t = n.tensors;
  const shape = n.outShape;
  const w = (name: string, dims: number[], data: Float32Array) => b.init(floatTensor(`${n.name}.${name}`, dims, data));
  switch (n.type) {
    case 'conv': {
      const x4 = b.as4d(x);
      const inC = b.shapeOf(x4)[0];
      const kH = setting(n, ['kernelH', 'sy', 'sx'], 1);
      const kW = setting(n, ['kernelW', 'sx'], 1);
      const stride = setting(n, ['stride'], 1);
      const pad = setting(n, ['pad'], 0);
      const inputs = [x4, w('weights', [shape[0], inC, kH, kW], t.weights)];
      if (t.biases) inputs.push(w('biases', [shape[0]], t.biases));
      b.op('Conv', inputs, out, n.name, [
        attr('kernel_shape', [kH, kW]), attr('strides', [stride, stride]), attr('pads', [pad, pad, pad, pad]),
        attr('dilations', [1, 1]), attr('group', 1),
      ], 4, shape);
      return;
    }
    case 'pool': {
      const x4 = b.as4d(x);
      const kH = setting(n, ['kernelH', 'sy', 'sx'], 2);
      const kW = setting(n, ['kernelW', 'sx'], 2);
      const stride = setting(n, ['stride'], 2);
      const pad = setting(n, ['pad'], 0);
      const geometry = [attr('kernel_shape', [kH, kW]), attr('strides', [stride, stride]), attr('pads', [pad, pad, pad, pad])];
      // cnnviz's max pool lets only in-bounds positions compete: ONNX MaxPool's padding (-inf) is the same.
      if (setting<string>(n, ['mode'], 'max') === 'avg') {
        const include = setting<boolean>(n, ['countIncludePad', 'count_include_pad'], false);
        b.op('AveragePool', [x4], out, n.name, [...geometry, attr('count_include_pad', include ? 1 : 0)], 4, shape);
      } else {
        b.op('MaxPool', [x4], out, n.name, geometry, 4, shape);
      }
      return;
    }
    case 'fc': {
      const x2 = b.as2d(x);
      const s = b.shapeOf(x2);
      const inSize = s[0] * s[1] * s[2];
      b.op('Gemm', [x2, w('weights', [shape[0], inSize], t.weights), w('biases', [shape[0]], t.biases)], out, n.name, [
        attr('alpha', 1, true), attr('beta', 1, true), attr('transB', 1),
      ], 2, shape);
      return;
    }
    case 'relu':
    case 'sigmoid':
    case 'tanh': {
      const op = { relu: 'Relu', sigmoid: 'Sigmoid', tanh: 'Tanh' }[n.type as 'relu'];
      b.op(op, [x], out, n.name, [], b.rankOf(x), shape);
      return;
    }
    case 'leakyrelu':
      b.op('LeakyRelu', [x], out, n.name, [attr('alpha', setting(n, ['alpha'], 0.01), true)], b.rankOf(x), shape);
      return;
    case 'dropout': {
      // Identity at inference; kept so a trainer that reads the file (onnx2torch) gets its dropout back.
      const ratio = b.init(floatTensor(`${n.name}.ratio`, [], Float32Array.of(setting(n, ['dropProb', 'drop_prob'], 0.5))));
      b.op('Dropout', [x, ratio], out, n.name, [], b.rankOf(x), shape);
      return;
    }
    case 'lrn': {
      // cnnviz (ConvNetJS): S = k + alpha/n * sum over channels [i - floor(n/2), i + floor(n/2)]. ONNX LRN
      // sums over `size` channels centred the same way when size is odd, dividing alpha by size: size
      // 2*floor(n/2)+1 with alpha scaled by size/n gives the same S for any n.
      const nn = setting(n, ['n'], 5);
      const size = 2 * Math.floor(nn / 2) + 1;
      b.op('LRN', [b.as4d(x)], out, n.name, [
        attr('size', size), attr('alpha', (setting(n, ['alpha'], 1e-4) * size) / nn, true), attr('beta', setting(n, ['beta'], 0.75), true),
        attr('bias', setting(n, ['k'], 2), true),
      ], 4, shape);
      return;
    }
    case 'maxout': {
      // Output channel i = max of input channels i*g .. i*g+g-1 (leftover channels ignored):
      // Slice away the leftover, Reshape to [N, C/g, g, H, W], ReduceMax over the group axis.
      let x4 = b.as4d(x);
      const [inC, h, wd] = b.shapeOf(x4);
      const g = setting(n, ['groupSize', 'group_size'], 2);
      const outC = Math.floor(inC / g);
      if (outC * g !== inC) {
        const starts = b.init(int64Tensor(`${n.name}.slice_starts`, [1], [0]));
        const ends = b.init(int64Tensor(`${n.name}.slice_ends`, [1], [outC * g]));
        const axes = b.init(int64Tensor(`${n.name}.slice_axes`, [1], [1]));
        x4 = b.op('Slice', [x4, starts, ends, axes], `${n.name}.used`, `${n.name}.used`, [], 4, [outC * g, h, wd]);
      }
      const groups = b.init(int64Tensor(`${n.name}.groups`, [5], [0, outC, g, h, wd]));
      const grouped = b.op('Reshape', [x4, groups], `${n.name}.grouped`, `${n.name}.grouped`, [], 4);
      b.op('ReduceMax', [grouped], out, n.name, [attr('axes', [2]), attr('keepdims', 0)], 4, shape);
      return;
    }
    case 'batchnorm': {
      const c = shape[0];
      const affine = setting<boolean>(n, ['affine'], true) !== false && t.gamma !== undefined;
      const gamma = affine ? t.gamma : new Float32Array(c).fill(1);
      const beta = affine ? t.beta : new Float32Array(c);
      b.op('BatchNormalization', [
        x, w('gamma', [c], gamma), w('beta', [c], beta), w('runningMean', [c], t.runningMean), w('runningVar', [c], t.runningVar),
      ], out, n.name, [
        attr('epsilon', setting(n, ['eps', 'epsilon'], 1e-5), true),
        // ONNX: running = running * momentum + batch * (1 - momentum); cnnviz (PyTorch): the other way round.
        attr('momentum', 1 - setting(n, ['momentum'], 0.1), true),
      ], b.rankOf(x), shape);
      return;
    }
    case 'add':
    case 'concat': {
      const ranks = new Set(n.inputs.map((i) => b.rankOf(i)));
      const ins = ranks.size === 1 ? n.inputs : n.inputs.map((i) => b.as4d(i));
      const rank = ranks.size === 1 ? [...ranks][0] : 4;
      if (n.type === 'add') b.op('Add', ins, out, n.name, [], rank, shape);
      else b.op('Concat', ins, out, n.name, [attr('axis', 1)], rank, shape);
      return;
    }
    case 'gap':
      b.op('GlobalAveragePool', [b.as4d(x)], out, n.name, [], 4, shape);
      return;
    case 'softmax':
      b.op('Softmax', [b.as2d(x)], out, n.name, [attr('axis', 1)], 2, shape);
      return;
    case 'svm':
    case 'regression':
      b.op('Identity', [b.as2d(x)], out, n.name, [], 2, shape);
      return;
    default:
      throw new UserError(`cannot export layer "${n.name}" (${n.type}) to ONNX: cnnviz's exporter knows ${EXPORTABLE_TYPES.join(', ')}`);
  }
}

const INPUT_NAME = 'input';
const OUTPUT_NAMES: Record<string, string> = { softmax: 'probabilities', svm: 'scores', regression: 'outputs' };

/** Build the ONNX model of a network given as built nodes in order (input first, loss last). */
export function exportOnnxModel(nodes: ExportNode[], opts: ExportOptions = {}): OnnxModel {
  const b = new Builder();
  const input = nodes[0];
  const last = nodes[nodes.length - 1];
  if (input.type !== 'input') throw new Error('ONNX export: the first node must be the input');
  const outName = OUTPUT_NAMES[last.type];
  if (!outName) throw new Error(`ONNX export: the last node must be a loss layer, got ${last.type}`);
  // ONNX value names: "input", the node names, and the output name for the last node.
  const rename = new Map([[input.name, INPUT_NAME]]);
  b.declare(INPUT_NAME, 4, input.outShape);
  const outputName = (n: ExportNode) => (n === last ? outName : n.name);
  for (const n of nodes.slice(1)) emitNode(b, { ...n, inputs: n.inputs.map((i) => rename.get(i) ?? i) }, () => outputName(n));

  const [c, h, w] = input.outShape;
  const dim = (v: number | string) => (typeof v === 'string' ? { dim_param: v } : { dim_value: v });
  const valueInfo = (name: string, dims: (number | string)[]) => ({
    name, type: { tensor_type: { elem_type: DataType.FLOAT, shape: { dim: dims.map(dim) } } },
  });
  const metadata = [{ key: PREPROCESS_METADATA_KEY, value: formatPreprocessText(opts.preprocessing ?? { kind: 'scale' }) }];
  if (opts.classNames) metadata.push({ key: CLASS_NAMES_METADATA_KEY, value: JSON.stringify(opts.classNames) });
  return {
    ir_version: EXPORT_IR_VERSION,
    producer_name: 'cnnviz',
    producer_version: opts.producerVersion ?? '',
    opset_import: [{ domain: '', version: EXPORT_OPSET }],
    metadata_props: metadata,
    graph: {
      name: opts.graphName ?? 'cnnviz',
      node: b.nodes,
      initializer: b.inits,
      input: [valueInfo(INPUT_NAME, ['batch', c, h, w])],
      output: [valueInfo(outName, ['batch', last.outShape[0]])],
    },
  };
}
