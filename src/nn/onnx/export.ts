/**
 * cnnviz network -> ONNX model (opset 13, IR 7: read by onnxruntime, onnx2torch and PyTorch tooling).
 * Input "input" [batch, C, H, W] float32 (already preprocessed: the scaling is recorded in
 * metadata_props "cnnviz.preprocess" as `mean=r,g,b std=r,g,b` on pixel/255), output "probabilities"
 * [batch, classes] for a softmax network ("scores" for svm, "outputs" for regression).
 *
 * The input is a list of built nodes in order, each with the names of the nodes it reads, its config
 * and its named tensors in cnnviz's layouts (see import.ts); ONNX value names are the cnnviz node names,
 * initializers `<node>.<tensor>`. Each layer type writes its own ops through its LayerDef's `onnx` hook
 * (src/nn/layers/<type>.ts) with the OnnxBuilder here, which keeps track of ranks: cnnviz keeps every
 * value as (C, H, W); ONNX values here are rank 4 [N, C, H, W] except after Gemm/Flatten (rank 2
 * [N, features]), and a Flatten or Reshape is inserted where an op needs the other rank.
 */
import type { Preprocessing } from '../../data/preprocess.js';
import { formatPreprocessText, PREPROCESS_METADATA_KEY } from '../../data/preprocess-option.js';
import { UserError } from '../../util/errors.js';
import type { LayerHints, OnnxAttrs, OnnxBuilder, OnnxExportNode, Shape3 } from '../layers/layer.js';
import { findLayerDef, layerDef, layerTypes } from '../layers/registry.js';
import { CLASS_NAMES_METADATA_KEY } from './import.js';
import { AttrType, DataType, type OnnxAttribute, type OnnxModel, type OnnxNode, type OnnxTensor } from './proto.js';
import { floatTensor, int64Tensor } from './tensors.js';

export const EXPORT_OPSET = 13;
const EXPORT_IR_VERSION = 7;

/** A built node: its config (type, name, fields), output shape, tensors, and the names of the nodes it reads. */
export interface ExportNode extends OnnxExportNode {
  /** Names of the nodes it reads (none for the input). */
  inputNames: string[];
}

export interface ExportOptions {
  preprocessing?: Preprocessing;
  classNames?: string[];
  producerVersion?: string;
  graphName?: string;
}

function attributes(attrs: OnnxAttrs): OnnxAttribute[] {
  return Object.entries(attrs).map(([name, v]): OnnxAttribute => {
    if (typeof v === 'string') return { name, type: AttrType.STRING, s: new TextEncoder().encode(v) };
    if (Array.isArray(v)) return { name, type: AttrType.INTS, ints: v };
    if (typeof v === 'object') return { name, type: AttrType.FLOAT, f: v.float };
    if (!Number.isInteger(v)) throw new Error(`ONNX attribute ${name} = ${v}: an int attribute needs an integer (write { float: ${v} })`);
    return { name, type: AttrType.INT, i: v };
  });
}

/** The ONNX graph being written: nodes, initializers, and the rank and (C, H, W) of each value. */
class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly inits: OnnxTensor[] = [];
  private readonly rank = new Map<string, 2 | 4>();
  private readonly shapes = new Map<string, Shape3>();

  op(opType: string, inputs: string[], output: string, name: string, attrs: OnnxAttrs, rank: 2 | 4, shape?: Shape3): string {
    this.nodes.push({ name, op_type: opType, input: inputs, output: [output], attribute: attributes(attrs) });
    this.declare(output, rank, shape);
    return output;
  }

  declare(value: string, rank: 2 | 4, shape?: Shape3): void {
    this.rank.set(value, rank);
    if (shape) this.shapes.set(value, shape);
  }

  shapeOf(value: string): Shape3 {
    return this.shapes.get(value)!;
  }

  rankOf(value: string): 2 | 4 {
    return this.rank.get(value) ?? 4;
  }

  init(t: OnnxTensor): string {
    this.inits.push(t);
    return t.name!;
  }

  as4d(value: string): string {
    if (this.rankOf(value) === 4) return value;
    const [c, h, w] = this.shapeOf(value);
    const shape = this.init(int64Tensor(`${value}.shape4d`, [4], [0, c, h, w]));
    return this.op('Reshape', [value, shape], `${value}.4d`, `${value}.4d`, {}, 4, [c, h, w]);
  }

  as2d(value: string): string {
    if (this.rankOf(value) === 2) return value;
    return this.op('Flatten', [value], `${value}.flat`, `${value}.flat`, { axis: 1 }, 2, this.shapeOf(value));
  }

  /** What the `onnx` hook of node `name` writes with: its inputs, and its output value `output`. */
  forNode(name: string, inputs: string[], output: string, outShape: Shape3): OnnxBuilder {
    return {
      inputs,
      rankOf: (v) => this.rankOf(v),
      shapeOf: (v) => this.shapeOf(v),
      as4d: (v) => this.as4d(v),
      as2d: (v) => this.as2d(v),
      floats: (t, dims, data) => this.init(floatTensor(`${name}.${t}`, dims, data)),
      ints: (t, dims, values) => this.init(int64Tensor(`${name}.${t}`, dims, values)),
      sameRank: (values) => (new Set(values.map((v) => this.rankOf(v))).size === 1 ? values : values.map((v) => this.as4d(v))),
      step: (part, opType, ins, attrs, rank, shape) => this.op(opType, ins, `${name}.${part}`, `${name}.${part}`, attrs, rank, shape),
      output: (opType, ins, attrs = {}) => {
        this.op(opType, ins, output, name, attrs, this.rankOf(ins[0]), outShape);
      },
    };
  }
}

/** The layer types the exporter can write: those whose LayerDef has an `onnx` hook. */
export function exportableTypes(): string[] {
  return layerTypes().filter((t) => findLayerDef(t)?.onnx);
}

const INPUT_NAME = 'input';

/** The model's output name, from the loss layer's hints. */
function outputName(loss: LayerHints['loss']): string | undefined {
  if (!loss) return undefined;
  if (loss.probabilities) return 'probabilities';
  return loss.target === 'labels' ? 'scores' : 'outputs';
}

/** Build the ONNX model of a network given as built nodes in order (input first, loss last). */
export function exportOnnxModel(nodes: ExportNode[], opts: ExportOptions = {}): OnnxModel {
  const b = new GraphBuilder();
  const input = nodes[0];
  const last = nodes[nodes.length - 1];
  if (input.inputNames.length > 0) throw new Error('ONNX export: the first node must be the input');
  const outName = outputName(layerDef(last.config.type).hints.loss);
  if (!outName) throw new Error(`ONNX export: the last node must be a loss layer, got ${last.config.type}`);
  // ONNX value names: "input", the node names, and the output name for the last node.
  const rename = new Map([[input.config.name, INPUT_NAME]]);
  b.declare(INPUT_NAME, 4, input.outShape);
  for (const n of nodes.slice(1)) {
    const { name, type } = n.config;
    const def = layerDef(type);
    if (!def.onnx) throw new UserError(`cannot export layer "${name}" (${type}) to ONNX: cnnviz's exporter knows ${exportableTypes().join(', ')}`);
    const inputs = n.inputNames.map((i) => rename.get(i) ?? i);
    def.onnx(n, b.forNode(name, inputs, n === last ? outName : name, n.outShape));
  }

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
