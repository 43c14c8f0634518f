/**
 * ONNX files as plain objects: decode and encode `onnx.ModelProto` with protobufjs and the official
 * schema (schema/onnx.proto, vendored verbatim from the onnx repository; see schema/README.md).
 * Field names are the schema's own (snake_case, `keepCase`), int64 values become numbers, bytes stay
 * Uint8Array. Only the fields cnnviz reads or writes are typed below; the rest pass through untyped.
 *
 * A file that is not ONNX, a truncated one, and one whose tensors live in external data files each
 * fail with one line naming the file (UserError, exit 2).
 */
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { errorMessage, UserError } from '../../util/errors.js';
import { readRegularFileSync } from '../../util/regular-file.js';

export interface OnnxDim {
  dim_value?: number;
  dim_param?: string;
}

export interface OnnxValueInfo {
  name: string;
  type?: { tensor_type?: { elem_type?: number; shape?: { dim?: OnnxDim[] } } };
}

export interface OnnxTensor {
  name?: string;
  dims?: number[];
  data_type?: number;
  float_data?: number[];
  int32_data?: number[];
  int64_data?: number[];
  double_data?: number[];
  raw_data?: Uint8Array;
  data_location?: number;
  external_data?: { key: string; value?: string }[];
}

export interface OnnxAttribute {
  name: string;
  type?: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: OnnxTensor;
  floats?: number[];
  ints?: number[];
}

export interface OnnxNode {
  name?: string;
  op_type: string;
  domain?: string;
  input?: string[];
  output?: string[];
  attribute?: OnnxAttribute[];
}

export interface OnnxGraph {
  name?: string;
  node?: OnnxNode[];
  initializer?: OnnxTensor[];
  input?: OnnxValueInfo[];
  output?: OnnxValueInfo[];
}

export interface OnnxModel {
  ir_version?: number;
  producer_name?: string;
  producer_version?: string;
  opset_import?: { domain?: string; version?: number }[];
  graph?: OnnxGraph;
  metadata_props?: { key: string; value?: string }[];
}

/** TensorProto.DataType values cnnviz meets. */
export const DataType = { FLOAT: 1, INT32: 6, INT64: 7, FLOAT16: 10, DOUBLE: 11 } as const;
/** AttributeProto.AttributeType values cnnviz writes. */
export const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;
/** TensorProto.DataLocation.EXTERNAL */
const EXTERNAL = 1;

let modelType: protobuf.Type | null = null;

/** The schema, parsed once. It sits at the repository root, the same three levels above src/ and dist/ modules. */
function schema(): protobuf.Type {
  if (modelType) return modelType;
  const text = readFileSync(new URL('../../../schema/onnx.proto', import.meta.url), 'utf8');
  const root = protobuf.parse(text, { keepCase: true }).root;
  modelType = root.lookupType('onnx.ModelProto');
  return modelType;
}

/**
 * Decode ONNX bytes. `file` names the source in messages. Checks what makes a file unusable before any
 * conversion: not a model, cut short, tensors stored outside the file.
 */
export function decodeModel(bytes: Uint8Array, file: string): OnnxModel {
  const type = schema();
  // Every ONNX writer (the onnx library, PyTorch, TensorFlow's tf2onnx) serialises fields in number
  // order, so a model starts with field 1 (ir_version, a varint): tag byte 0x08.
  if (bytes.length === 0) throw new UserError(`${file}: empty file, not an ONNX model`);
  if (bytes[0] !== 0x08) {
    throw new UserError(`${file}: not an ONNX model (an ONNX file starts with its IR version; this one starts with byte 0x${bytes[0].toString(16).padStart(2, '0')})`);
  }
  let model: OnnxModel;
  try {
    const msg = type.decode(bytes);
    model = type.toObject(msg, { longs: Number, arrays: true, defaults: false }) as OnnxModel;
  } catch (e) {
    const why = errorMessage(e);
    if (/index out of range/i.test(why)) {
      throw new UserError(`${file}: truncated ONNX file: its protobuf data ends early (${bytes.length} bytes read; copy the file again)`);
    }
    throw new UserError(`${file}: not an ONNX model (protobuf decoding failed: ${why})`);
  }
  if (!model.graph || !model.graph.node || model.graph.node.length === 0) {
    throw new UserError(`${file}: not an ONNX model, or a truncated one: it holds no graph nodes`);
  }
  for (const t of allTensors(model.graph)) {
    if (t.data_location === EXTERNAL || (t.external_data && t.external_data.length > 0)) {
      const location = t.external_data?.find((e) => e.key === 'location')?.value ?? '?';
      throw new UserError(
        `${file}: tensor "${t.name ?? ''}" keeps its data in an external file (${location}); cnnviz reads self-contained ` +
          `.onnx files only: save the model again with its weights inside (onnx.save_model(model, path, save_as_external_data=False))`,
      );
    }
  }
  return model;
}

function* allTensors(g: OnnxGraph): Generator<OnnxTensor> {
  yield* g.initializer ?? [];
  for (const n of g.node ?? []) {
    for (const a of n.attribute ?? []) if (a.t) yield a.t;
  }
}

export function readModelFile(path: string): OnnxModel {
  // A regular file only (a FIFO or /dev/zero would block or never end).
  return decodeModel(readRegularFileSync(path), path);
}

/** Encode a model object (schema field names) as ONNX bytes. Throws (internal error) on a malformed object. */
export function encodeModel(model: OnnxModel): Uint8Array {
  const type = schema();
  const problem = type.verify(model);
  if (problem) throw new Error(`ONNX export built a malformed model: ${problem}`);
  return type.encode(type.fromObject(model)).finish();
}
