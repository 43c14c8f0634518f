/**
 * Reader for CIFAR-10 in the official binary layout (cifar-10-batches-bin):
 *   data_batch_1.bin .. data_batch_5.bin   training records
 *   test_batch.bin                         test records
 *   batches.meta.txt                       class names, one per line (blank lines ignored)
 * A record is 3073 bytes: 1 label byte (0..9), then 1024 red, 1024 green and 1024 blue bytes,
 * each plane row-major 32x32. Any number of records per file is accepted.
 *
 * Pixels stay bytes in memory (3072 per image, about 184 MB for all 60,000 images); they become
 * floats one mini-batch at a time (see batch.ts). Every problem with the files is a UserError
 * (exit code 2) naming the file: never a silent partial load.
 */
import { promises as fsp, type Stats } from 'node:fs';
import { join } from 'node:path';
import { capClassName } from '../util/class-names.js';
import { UserError } from '../util/errors.js';

export interface Cifar10Split {
  count: number;
  labels: Uint8Array;
  /** count*3072 bytes; each record's 3 planes (R, G, B; 32x32 row-major each) as in the file. */
  pixels: Uint8Array;
}

export interface Cifar10 {
  dir: string;
  classNames: string[];
  train: Cifar10Split;
  test: Cifar10Split;
}

export interface LoadCifar10Options {
  /** Use only the first N training records (data_batch_1 first). Larger than available = all. */
  trainLimit?: number;
  /** Use only the first N test records. Larger than available = all. */
  testLimit?: number;
  /**
   * Allocate labels and pixels on SharedArrayBuffers, so worker threads can be handed the same
   * memory without a copy. Default false.
   */
  shared?: boolean;
}

/** CIFAR-10's classes in label order (as batches.meta.txt lists them), for networks without their own names. */
export const CIFAR10_CLASS_NAMES: readonly string[] = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

export const CIFAR10_IMAGE = { channels: 3, height: 32, width: 32 } as const;
/** Bytes of one image (3 planes of 32x32). */
export const CIFAR10_PIXELS = 3 * 32 * 32;
/** Bytes of one record in a batch file: label byte + pixels. */
export const CIFAR10_RECORD_BYTES = 1 + CIFAR10_PIXELS;
export const CIFAR10_CLASS_COUNT = 10;
export const CIFAR10_TRAIN_FILES = [
  'data_batch_1.bin',
  'data_batch_2.bin',
  'data_batch_3.bin',
  'data_batch_4.bin',
  'data_batch_5.bin',
] as const;
export const CIFAR10_TEST_FILES = ['test_batch.bin'] as const;
export const CIFAR10_META_FILE = 'batches.meta.txt';
/** Name of the folder inside the official archive, and under the data folder. */
export const CIFAR10_FOLDER = 'cifar-10-batches-bin';

const HOW_TO_GET =
  'Get the data with `cnnviz download` (saves it to data/cifar-10-batches-bin), ' +
  'or point to an existing copy with --data <dir>.';

/** Records read per file read call (about 3 MB). */
const CHUNK_RECORDS = 1024;

interface BatchFile {
  name: string;
  path: string;
  records: number;
}

async function statOrNull(path: string): Promise<Stats | null> {
  try {
    return await fsp.stat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
    throw new UserError(`${path}: cannot read (${(e as Error).message})`);
  }
}

/** A hint when the folder is close to right: the parent of the data folder, or the Python version. */
async function folderHint(dir: string): Promise<string> {
  const inner = await statOrNull(join(dir, CIFAR10_FOLDER));
  if (inner?.isDirectory()) return ` Did you mean --data ${join(dir, CIFAR10_FOLDER)}?`;
  const py = await statOrNull(join(dir, 'data_batch_1'));
  if (py?.isFile()) {
    return ' This looks like the Python version of CIFAR-10; cnnviz reads the binary version (cifar-10-binary.tar.gz).';
  }
  return '';
}

async function checkFolder(dir: string): Promise<void> {
  const st = await statOrNull(dir);
  if (!st) throw new UserError(`CIFAR-10 folder not found: ${dir}. ${HOW_TO_GET}`);
  if (!st.isDirectory()) throw new UserError(`${dir}: not a folder; expected the CIFAR-10 binary folder. ${HOW_TO_GET}`);
}

async function checkBatchFile(dir: string, name: string): Promise<BatchFile> {
  const path = join(dir, name);
  const st = await statOrNull(path);
  if (!st) {
    throw new UserError(
      `${path}: file missing. A CIFAR-10 folder holds data_batch_1.bin .. data_batch_5.bin, test_batch.bin ` +
        `and batches.meta.txt.${await folderHint(dir)} ${HOW_TO_GET}`,
    );
  }
  if (!st.isFile()) throw new UserError(`${path}: not a regular file`);
  if (st.size === 0) {
    throw new UserError(
      `${path}: file is empty (0 bytes); expected records of ${CIFAR10_RECORD_BYTES} bytes. ` +
        'Get a fresh copy with `cnnviz download --force`.',
    );
  }
  const rest = st.size % CIFAR10_RECORD_BYTES;
  if (rest !== 0) {
    throw new UserError(
      `${path}: size ${st.size} bytes is not a multiple of the ${CIFAR10_RECORD_BYTES}-byte record ` +
        `(${Math.floor(st.size / CIFAR10_RECORD_BYTES)} records + ${rest} bytes); the file looks truncated. ` +
        'Get a fresh copy with `cnnviz download --force`.',
    );
  }
  return { name, path, records: st.size / CIFAR10_RECORD_BYTES };
}

/** Parse the text of batches.meta.txt: one class name per line, blank lines ignored, each capped (capClassName). */
export function parseClassNames(text: string, path: string): string[] {
  const names = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .map(capClassName);
  if (names.length !== CIFAR10_CLASS_COUNT) {
    throw new UserError(
      `${path}: expected ${CIFAR10_CLASS_COUNT} class names (one per line), found ${names.length}` +
        (names.length > 0 && names.length <= 20 ? ` (${names.join(', ')})` : ''),
    );
  }
  return names;
}

export async function readClassNames(dir: string): Promise<string[]> {
  const path = join(dir, CIFAR10_META_FILE);
  const st = await statOrNull(path);
  if (!st) {
    throw new UserError(`${path}: file missing (the class names, one per line).${await folderHint(dir)} ${HOW_TO_GET}`);
  }
  if (!st.isFile()) throw new UserError(`${path}: not a regular file`);
  return parseClassNames(await fsp.readFile(path, 'utf8'), path);
}

function checkLimit(value: number | undefined, flag: string): number {
  if (value === undefined) return Infinity;
  if (!Number.isInteger(value) || value < 0) throw new UserError(`${flag} must be a whole number >= 0, got ${value}`);
  return value;
}

/**
 * Read the first `want` records of `file` into labels/pixels starting at record `at` (pixels may be
 * null to only validate). Checks every label byte read.
 */
async function readRecords(
  file: BatchFile,
  want: number,
  labels: Uint8Array | null,
  pixels: Uint8Array | null,
  at: number,
  chunk: Buffer,
): Promise<void> {
  const fh = await fsp.open(file.path, 'r');
  try {
    let done = 0;
    while (done < want) {
      const n = Math.min(CHUNK_RECORDS, want - done);
      const bytes = n * CIFAR10_RECORD_BYTES;
      let got = 0;
      while (got < bytes) {
        const { bytesRead } = await fh.read(chunk, got, bytes - got, done * CIFAR10_RECORD_BYTES + got);
        if (bytesRead === 0) {
          throw new UserError(
            `${file.path}: file ended early at byte ${done * CIFAR10_RECORD_BYTES + got} (it changed while being read?)`,
          );
        }
        got += bytesRead;
      }
      for (let r = 0; r < n; r++) {
        const o = r * CIFAR10_RECORD_BYTES;
        const label = chunk[o];
        if (label > 9) {
          throw new UserError(
            `${file.path}: record ${done + r} has label byte ${label}, above 9; ` +
              'the file is corrupted or not CIFAR-10 binary data.',
          );
        }
        if (labels) labels[at + done + r] = label;
        if (pixels) chunk.copy(pixels, (at + done + r) * CIFAR10_PIXELS, o + 1, o + CIFAR10_RECORD_BYTES);
      }
      done += n;
    }
  } finally {
    await fh.close();
  }
}

function allocBytes(n: number, shared: boolean): Uint8Array {
  return shared ? new Uint8Array(new SharedArrayBuffer(n)) : new Uint8Array(n);
}

async function loadSplit(
  files: BatchFile[],
  limit: number,
  shared: boolean,
  chunk: Buffer,
): Promise<Cifar10Split> {
  const available = files.reduce((s, f) => s + f.records, 0);
  const count = Math.min(available, limit);
  const labels = allocBytes(count, shared);
  const pixels = allocBytes(count * CIFAR10_PIXELS, shared);
  let at = 0;
  for (const f of files) {
    if (at >= count) break;
    const want = Math.min(f.records, count - at);
    await readRecords(f, want, labels, pixels, at, chunk);
    at += want;
  }
  return { count, labels, pixels };
}

async function checkAllFiles(dir: string): Promise<{ train: BatchFile[]; test: BatchFile[]; classNames: string[] }> {
  await checkFolder(dir);
  const train: BatchFile[] = [];
  for (const name of CIFAR10_TRAIN_FILES) train.push(await checkBatchFile(dir, name));
  const test: BatchFile[] = [];
  for (const name of CIFAR10_TEST_FILES) test.push(await checkBatchFile(dir, name));
  const classNames = await readClassNames(dir);
  return { train, test, classNames };
}

/**
 * Load CIFAR-10 from `dir`. Every file's presence and size are always checked; with limits only the
 * first records are read (and their labels checked).
 */
export async function loadCifar10(
  dir: string,
  opts: LoadCifar10Options = {},
): Promise<Cifar10> {
  const trainLimit = checkLimit(opts.trainLimit, '--train-limit');
  const testLimit = checkLimit(opts.testLimit, '--test-limit');
  const files = await checkAllFiles(dir);
  const chunk = Buffer.allocUnsafe(CHUNK_RECORDS * CIFAR10_RECORD_BYTES);
  const shared = opts.shared ?? false;
  const train = await loadSplit(files.train, trainLimit, shared, chunk);
  const test = await loadSplit(files.test, testLimit, shared, chunk);
  return { dir, classNames: files.classNames, train, test };
}

/**
 * Check a whole CIFAR-10 folder (files present, sizes, class names, every label byte) without
 * keeping the pixels. Returns the record counts. Throws the same UserErrors as loadCifar10.
 */
export async function validateCifar10Dir(dir: string): Promise<{ train: number; test: number; classNames: string[] }> {
  const files = await checkAllFiles(dir);
  const chunk = Buffer.allocUnsafe(CHUNK_RECORDS * CIFAR10_RECORD_BYTES);
  let train = 0;
  for (const f of files.train) {
    await readRecords(f, f.records, null, null, 0, chunk);
    train += f.records;
  }
  let test = 0;
  for (const f of files.test) {
    await readRecords(f, f.records, null, null, 0, chunk);
    test += f.records;
  }
  return { train, test, classNames: files.classNames };
}

/** Records per class (length 10). */
export function classCounts(split: Cifar10Split): number[] {
  const counts = new Array<number>(CIFAR10_CLASS_COUNT).fill(0);
  for (let i = 0; i < split.count; i++) counts[split.labels[i]]++;
  return counts;
}
