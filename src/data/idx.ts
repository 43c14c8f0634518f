/**
 * Reader for MNIST and Fashion-MNIST in the IDX format, gzipped or not:
 *   train-images-idx3-ubyte[.gz]  train-labels-idx1-ubyte[.gz]
 *   t10k-images-idx3-ubyte[.gz]   t10k-labels-idx1-ubyte[.gz]
 * (also the `train-images.idx3-ubyte` spelling some copies use). An IDX file starts with a big-endian
 * magic number, 0x0000 0803 for images (unsigned bytes, 3 dimensions: count, rows, columns) and
 * 0x0000 0801 for labels (1 dimension: count), then the dimension sizes, then the bytes. Images are
 * one grey channel and stay one channel: the split's shape is [1, rows, columns].
 *
 * Both data sets use the same file names; which one a folder holds decides the class names: forced by
 * --dataset, else Fashion-MNIST when the test labels are Fashion-MNIST's (by their SHA-256) or the
 * folder's name says "fashion", else MNIST's digits.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { UserError, errorMessage } from '../util/errors.js';
import { FASHION_MNIST_CLASS_NAMES, MNIST_CLASS_NAMES } from './class-names.js';
import { allocBytes, checkLimit, type Dataset, type ImageSplit } from './split.js';

export const IDX_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;
type IdxRole = keyof typeof IDX_FILES;

/** SHA-256 of Fashion-MNIST's uncompressed t10k-labels-idx1-ubyte (10,008 bytes): tells it from MNIST. */
const FASHION_TEST_LABELS_SHA256 = '0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34';
const CLASSES = 10;
/** Largest side accepted (an IDX header could claim anything). */
const MAX_SIDE = 4096;

/** The file of a role in `dir`: plain or .gz, in either spelling; null when none exists. */
export async function findIdxFile(dir: string, role: IdxRole): Promise<string | null> {
  const name = IDX_FILES[role];
  const dotted = name.replace(/-idx(\d)-/, '.idx$1-');
  for (const n of [name, `${name}.gz`, dotted, `${dotted}.gz`]) {
    try {
      if ((await fsp.stat(join(dir, n))).isFile()) return join(dir, n);
    } catch {
      // try the next spelling
    }
  }
  return null;
}

/** Whether `dir` holds at least one IDX file (for detection). */
export async function hasIdxFiles(dir: string): Promise<boolean> {
  for (const role of Object.keys(IDX_FILES) as IdxRole[]) if ((await findIdxFile(dir, role)) !== null) return true;
  return false;
}

/** A file's bytes, gunzipped when it is gzip (by its first two bytes, whatever its name). */
export async function readMaybeGzip(path: string): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await fsp.readFile(path);
  } catch (e) {
    throw new UserError(`${path}: cannot read (${errorMessage(e)})`);
  }
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      return gunzipSync(bytes);
    } catch (e) {
      throw new UserError(`${path}: cannot unpack the gzip data (${errorMessage(e)}); the file looks truncated or damaged`);
    }
  }
  return bytes;
}

/** Parse an IDX header: the dimension sizes, checked against the expected number of dimensions. */
export function idxDims(bytes: Buffer, path: string, dims: 1 | 3): number[] {
  const expected = `0x0000080${dims} (unsigned bytes, ${dims} dimension${dims > 1 ? 's' : ''})`;
  if (bytes.length < 4) throw new UserError(`${path}: ${bytes.length} bytes, too short for an IDX file`);
  const magic = bytes.readUInt32BE(0);
  if (bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== 0x08 || bytes[3] !== dims) {
    throw new UserError(
      `${path}: IDX magic number 0x${magic.toString(16).padStart(8, '0')}, expected ${expected}; ` +
        `not an ${dims === 3 ? 'image' : 'label'} file of MNIST / Fashion-MNIST`,
    );
  }
  const header = 4 + 4 * dims;
  if (bytes.length < header) throw new UserError(`${path}: ${bytes.length} bytes, too short for the ${header}-byte IDX header`);
  const sizes = Array.from({ length: dims }, (_, i) => bytes.readUInt32BE(4 + 4 * i));
  const want = header + sizes.reduce((a, b) => a * b, 1);
  if (dims === 3 && (sizes[1] === 0 || sizes[2] === 0 || sizes[1] > MAX_SIDE || sizes[2] > MAX_SIDE)) {
    throw new UserError(`${path}: IDX dimensions ${sizes.join(' x ')}: images of ${sizes[1]}x${sizes[2]} pixels are not possible`);
  }
  if (sizes[0] === 0) throw new UserError(`${path}: IDX dimensions ${sizes.join(' x ')}: no records`);
  if (bytes.length !== want) {
    throw new UserError(
      `${path}: ${bytes.length} bytes, but its IDX dimensions ${sizes.join(' x ')} need ${want}` +
        (bytes.length < want ? '; the file looks truncated' : ' (extra bytes at the end)'),
    );
  }
  return sizes;
}

async function requireIdx(dir: string, role: IdxRole): Promise<string> {
  const path = await findIdxFile(dir, role);
  if (path === null) {
    throw new UserError(
      `${join(dir, IDX_FILES[role])}[.gz]: file missing. An MNIST / Fashion-MNIST folder holds ` +
        `${Object.values(IDX_FILES).join(', ')} (each may be .gz). Get one with \`cnnviz download mnist\` or \`cnnviz download fashion-mnist\`.`,
    );
  }
  return path;
}

async function readSplit(dir: string, images: IdxRole, labels: IdxRole, limit: number, shared: boolean): Promise<{ split: ImageSplit; labelBytes: Buffer }> {
  const imgPath = await requireIdx(dir, images);
  const lblPath = await requireIdx(dir, labels);
  const img = await readMaybeGzip(imgPath);
  const [n, rows, cols] = idxDims(img, imgPath, 3);
  const lbl = await readMaybeGzip(lblPath);
  const [m] = idxDims(lbl, lblPath, 1);
  if (n !== m) throw new UserError(`${lblPath}: ${m} labels, but ${basename(imgPath)} holds ${n} images; the two files must agree`);
  for (let i = 0; i < m; i++) {
    if (lbl[8 + i] >= CLASSES) throw new UserError(`${lblPath}: label ${i} is ${lbl[8 + i]}, outside 0..${CLASSES - 1}`);
  }
  const count = Math.min(n, limit);
  const size = rows * cols;
  const split: ImageSplit = { count, labels: allocBytes(count, shared), pixels: allocBytes(count * size, shared), shape: [1, rows, cols] };
  split.labels.set(lbl.subarray(8, 8 + count));
  split.pixels.set(img.subarray(16, 16 + count * size));
  return { split, labelBytes: lbl };
}

export type IdxKind = 'mnist' | 'fashion-mnist';

export interface LoadIdxOptions {
  /** Force the class names (--dataset); default: detected (see the header). */
  kind?: IdxKind;
  trainLimit?: number;
  testLimit?: number;
  shared?: boolean;
}

export async function loadIdx(dir: string, opts: LoadIdxOptions = {}): Promise<Dataset> {
  const fail = (m: string): never => {
    throw new UserError(m);
  };
  const trainLimit = checkLimit(opts.trainLimit, '--train-limit', fail);
  const testLimit = checkLimit(opts.testLimit, '--test-limit', fail);
  const shared = opts.shared ?? false;
  const { split: train } = await readSplit(dir, 'trainImages', 'trainLabels', trainLimit, shared);
  const { split: test, labelBytes } = await readSplit(dir, 'testImages', 'testLabels', testLimit, shared);
  if (train.shape.join() !== test.shape.join()) {
    throw new UserError(`${await requireIdx(dir, 'testImages')}: images of ${test.shape[1]}x${test.shape[2]}, but the training images are ${train.shape[1]}x${train.shape[2]}`);
  }
  const kind = opts.kind ?? idxKindOf(dir, labelBytes);
  return { dir, kind, classNames: [...(kind === 'fashion-mnist' ? FASHION_MNIST_CLASS_NAMES : MNIST_CLASS_NAMES)], train, test };
}

function idxKindOf(dir: string, testLabels: Buffer | null): IdxKind {
  if (testLabels && createHash('sha256').update(testLabels).digest('hex') === FASHION_TEST_LABELS_SHA256) return 'fashion-mnist';
  return /fashion/i.test(resolve(dir)) ? 'fashion-mnist' : 'mnist';
}

/** MNIST or Fashion-MNIST: by the test labels' SHA-256, else the folder's name (see the header). */
export async function detectIdxKind(dir: string): Promise<IdxKind> {
  const path = await findIdxFile(dir, 'testLabels');
  const bytes = path === null ? null : await readMaybeGzip(path).catch(() => null);
  return idxKindOf(dir, bytes);
}
