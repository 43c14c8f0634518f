/**
 * ONNX TensorProto <-> typed arrays. Floats come from `raw_data` (little-endian, as the ONNX spec
 * says) or `float_data`/`double_data`; integers (Reshape shapes, Pad amounts) from `raw_data`,
 * `int64_data` or `int32_data`. cnnviz writes float32 tensors as raw_data, as PyTorch does.
 */
import { UserError } from '../../util/errors.js';
import { DataType, type OnnxTensor } from './proto.js';

const TYPE_NAMES: Record<number, string> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string', 9: 'bool',
  10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64', 16: 'bfloat16',
};

export function dimsOf(t: OnnxTensor): number[] {
  return t.dims ?? [];
}

export function elementCount(t: OnnxTensor): number {
  return dimsOf(t).reduce((a, b) => a * b, 1);
}

/** The raw bytes copied into a fresh, aligned buffer (protobuf slices may start at any byte). */
function rawCopy(t: OnnxTensor, bytesPer: number, where: string): ArrayBuffer {
  const raw = t.raw_data!;
  const n = elementCount(t);
  if (raw.byteLength !== n * bytesPer) {
    throw new UserError(`${where}: tensor "${t.name ?? ''}" has ${raw.byteLength} bytes of data, its shape [${dimsOf(t).join(', ')}] needs ${n * bytesPer}`);
  }
  const buf = new ArrayBuffer(raw.byteLength);
  new Uint8Array(buf).set(raw);
  return buf;
}

function checkCount(t: OnnxTensor, got: number, where: string): void {
  const n = elementCount(t);
  if (got !== n) throw new UserError(`${where}: tensor "${t.name ?? ''}" holds ${got} values, its shape [${dimsOf(t).join(', ')}] needs ${n}`);
}

/** A float tensor's values as float32 (float64 tensors are rounded to float32). */
export function toFloat32(t: OnnxTensor, where: string): Float32Array {
  const type = t.data_type ?? 0;
  if (type === DataType.FLOAT) {
    if (t.raw_data && t.raw_data.byteLength > 0) return new Float32Array(rawCopy(t, 4, where));
    const v = t.float_data ?? [];
    checkCount(t, v.length, where);
    return Float32Array.from(v);
  }
  if (type === DataType.DOUBLE) {
    if (t.raw_data && t.raw_data.byteLength > 0) return Float32Array.from(new Float64Array(rawCopy(t, 8, where)));
    const v = t.double_data ?? [];
    checkCount(t, v.length, where);
    return Float32Array.from(v);
  }
  throw new UserError(`${where}: tensor "${t.name ?? ''}" holds ${TYPE_NAMES[type] ?? `type ${type}`} values; cnnviz imports float32 weights (convert the model to float32 first)`);
}

/** An integer tensor's values (shapes, pads, axes). */
export function toIntegers(t: OnnxTensor, where: string): number[] {
  const type = t.data_type ?? 0;
  if (type === DataType.INT64) {
    if (t.raw_data && t.raw_data.byteLength > 0) return Array.from(new BigInt64Array(rawCopy(t, 8, where)), Number);
    const v = t.int64_data ?? [];
    checkCount(t, v.length, where);
    return v.map(Number);
  }
  if (type === DataType.INT32) {
    if (t.raw_data && t.raw_data.byteLength > 0) return Array.from(new Int32Array(rawCopy(t, 4, where)));
    const v = t.int32_data ?? [];
    checkCount(t, v.length, where);
    return v;
  }
  throw new UserError(`${where}: tensor "${t.name ?? ''}" holds ${TYPE_NAMES[type] ?? `type ${type}`} values where integers are expected`);
}

/** A float32 tensor as TensorProto (raw little-endian bytes). */
export function floatTensor(name: string, dims: number[], data: Float32Array): OnnxTensor {
  const n = dims.reduce((a, b) => a * b, 1);
  if (n !== data.length) throw new Error(`tensor ${name}: shape [${dims.join(', ')}] needs ${n} values, got ${data.length}`);
  const copy = new Float32Array(data);
  return { name, dims, data_type: DataType.FLOAT, raw_data: new Uint8Array(copy.buffer) };
}

/** An int64 tensor as TensorProto. */
export function int64Tensor(name: string, dims: number[], values: number[]): OnnxTensor {
  return { name, dims, data_type: DataType.INT64, raw_data: new Uint8Array(BigInt64Array.from(values, BigInt).buffer) };
}
