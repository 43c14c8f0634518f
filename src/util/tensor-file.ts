/**
 * A small JSON file with its float32 tensors in a binary file beside it, written as a pair:
 *
 *   epoch-003.json                    {"...": ..., "binary": {"file": "epoch-003.<hash>.bin", "bytes": N, "sha256": "...",
 *                                        "tensors": [{"name": "params", "offset": 0, "length": P}, ...]}}
 *   epoch-003.<16 hex of sha256>.bin  the tensors, little-endian float32, one after the other
 *
 * Why: one JSON string with base64 tensors passes V8's 512 MiB string limit at about 33M parameters
 * ("Invalid string length"); the binary file has no such limit and is read without decoding.
 *
 * Atomic as a pair: the binary file's name carries a hash of its content, so a new binary never
 * replaces one an existing JSON points to. It is written (temp + rename) first, then the JSON
 * (temp + rename), and only then are older binaries of the same JSON removed. A crash at any point
 * leaves either the old pair or the new pair readable, plus at worst an orphan binary that the next
 * write removes. Reading checks the size and the SHA-256, so a damaged or mismatched binary file is
 * a one-line error, never wrong numbers.
 */
import { createHash } from 'node:crypto';
import { closeSync, promises as fsp, readSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { writeFileAtomic } from './atomic-write.js';
import { errorMessage, UserError } from './errors.js';
import { openRegularFile } from './regular-file.js';

export interface TensorRef {
  name: string;
  /** Offset in float32 values from the start of the binary file. */
  offset: number;
  length: number;
}

export interface BinaryRef {
  file: string;
  bytes: number;
  sha256: string;
  tensors: TensorRef[];
}

export interface NamedTensor {
  name: string;
  data: Float32Array;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function stemOf(jsonPath: string): string {
  return basename(jsonPath).replace(/\.json$/i, '');
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The bytes of the tensors in order, and the reference the JSON keeps. */
function layout(jsonPath: string, tensors: NamedTensor[]): { chunks: Uint8Array[]; ref: BinaryRef } {
  if (!LITTLE_ENDIAN) throw new Error('binary checkpoints are written little-endian; this machine is big-endian');
  const hash = createHash('sha256');
  const chunks: Uint8Array[] = [];
  const refs: TensorRef[] = [];
  let offset = 0;
  for (const t of tensors) {
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    hash.update(bytes);
    chunks.push(bytes);
    refs.push({ name: t.name, offset, length: t.data.length });
    offset += t.data.length;
  }
  const sha256 = hash.digest('hex');
  return { chunks, ref: { file: `${stemOf(jsonPath)}.${sha256.slice(0, 16)}.bin`, bytes: offset * 4, sha256, tensors: refs } };
}

/**
 * Write `json` (with `json[key]` set to the binary reference) and the tensors as a pair (see the
 * module notes). `serialize` turns the final object into the JSON text.
 */
export async function writeJsonWithTensors(
  jsonPath: string,
  json: Record<string, unknown>,
  tensors: NamedTensor[],
  opts: { key?: string; serialize?: (o: Record<string, unknown>) => string } = {},
): Promise<BinaryRef> {
  const { chunks, ref } = layout(jsonPath, tensors);
  const dir = dirname(jsonPath);
  await writeFileAtomic(join(dir, ref.file), chunks);
  const text = (opts.serialize ?? ((o) => JSON.stringify(o)))({ ...json, [opts.key ?? 'binary']: ref });
  await writeFileAtomic(jsonPath, text);
  // The JSON now points at the new binary: older ones of this stem are garbage.
  const re = new RegExp(`^${escapeRe(stemOf(jsonPath))}\\.[0-9a-f]{16}\\.bin$`);
  for (const name of await fsp.readdir(dir).catch(() => [] as string[])) {
    if (name !== ref.file && re.test(name)) await fsp.rm(join(dir, name), { force: true });
  }
  return ref;
}

/** Check the shape of a binary reference read from a JSON file; returns it typed. */
export function parseBinaryRef(value: unknown, file: string, field = 'binary'): BinaryRef {
  const bad = (what: string): never => {
    throw new UserError(`${file}: field "${field}" ${what} (damaged file)`);
  };
  if (!value || typeof value !== 'object' || Array.isArray(value)) return bad('must be an object');
  const v = value as Record<string, unknown>;
  if (typeof v.file !== 'string' || !/^[^/\\]+\.bin$/.test(v.file) || v.file.startsWith('.')) bad('.file must be a file name ending in .bin');
  if (!Number.isInteger(v.bytes) || (v.bytes as number) < 0) bad('.bytes must be a whole number');
  if (typeof v.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(v.sha256)) bad('.sha256 must be 64 hexadecimal digits');
  if (!Array.isArray(v.tensors)) bad('.tensors must be a list');
  const tensors = (v.tensors as unknown[]).map((t, i) => {
    const o = (t && typeof t === 'object' ? t : {}) as Record<string, unknown>;
    if (typeof o.name !== 'string') bad(`.tensors[${i}].name must be a string`);
    for (const k of ['offset', 'length']) if (!Number.isInteger(o[k]) || (o[k] as number) < 0) bad(`.tensors[${i}].${k} must be a whole number`);
    if ((o.offset as number) + (o.length as number) > (v.bytes as number) / 4) bad(`.tensors[${i}] lies beyond the binary file's ${String(v.bytes)} bytes`);
    return { name: o.name as string, offset: o.offset as number, length: o.length as number };
  });
  return { file: v.file as string, bytes: v.bytes as number, sha256: v.sha256 as string, tensors };
}

/**
 * Read the tensors a JSON file's binary reference names (the binary file beside `jsonPath`),
 * checking its size and SHA-256. Returns views into one aligned buffer, by name.
 */
export function readTensors(jsonPath: string, refValue: unknown, field = 'binary'): Map<string, Float32Array> {
  const ref = parseBinaryRef(refValue, jsonPath, field);
  const binPath = join(dirname(jsonPath), ref.file);
  let fd: number;
  let size: number;
  try {
    // A regular file only (a FIFO there would block the read for ever).
    ({ fd, size } = openRegularFile(binPath));
  } catch (e) {
    const why = errorMessage(e).slice(binPath.length + 2);
    throw new UserError(`${jsonPath}: its binary file ${binPath} cannot be read: ${why} (copy it together with the .json)`);
  }
  let floats: Float32Array;
  let bytes: Uint8Array;
  try {
    // The size first: "bytes": 1e15 in a damaged JSON must be this line, not a failed allocation.
    if (size !== ref.bytes) throw new UserError(`${binPath}: holds ${size} bytes, ${basename(jsonPath)} expects ${ref.bytes} (damaged or from another checkpoint)`);
    try {
      floats = new Float32Array(Math.ceil(ref.bytes / 4));
    } catch {
      throw new UserError(`${binPath}: ${ref.bytes} bytes is more than this process can hold in one buffer`);
    }
    bytes = new Uint8Array(floats.buffer, 0, ref.bytes);
    let at = 0;
    while (at < ref.bytes) {
      const n = readSync(fd, bytes, at, ref.bytes - at, at);
      if (n <= 0) break;
      at += n;
    }
    if (at !== ref.bytes) throw new UserError(`${binPath}: ended after ${at} of ${ref.bytes} bytes`);
  } finally {
    closeSync(fd);
  }
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== ref.sha256) throw new UserError(`${binPath}: content does not match its checksum in ${basename(jsonPath)} (damaged file)`);
  const out = new Map<string, Float32Array>();
  for (const t of ref.tensors) out.set(t.name, floats.subarray(t.offset, t.offset + t.length));
  return out;
}
