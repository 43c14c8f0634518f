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
import { UserError } from '../util/errors.js';
import { parseClassNames, readClassNamesFile } from './class-names.js';
import { allocBytes, checkLimit as checkLimitOf, classCounts as countClasses, type Dataset, type ImageShape, type ImageSplit } from './split.js';

/** A CIFAR-10 split: pixels are each record's 3 planes (R, G, B; 32x32 row-major each) as in the file. */
export type Cifar10Split = ImageSplit;
export type Cifar10 = Dataset;

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
/** [channels, height, width] of a CIFAR image (CIFAR-10 and CIFAR-100). */
export const CIFAR_SHAPE: Readonly<ImageShape> = [3, 32, 32];
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

export interface BatchFile {
  name: string;
  path: string;
  records: number;
}

/** How records of a CIFAR binary file are laid out: label bytes, then 3072 pixel bytes. */
export interface RecordFormat {
  /** Bytes of one record (labels + pixels). */
  recordBytes: number;
  /** Which byte of the record is the label used. */
  labelOffset: number;
  /** Labels must be below this. */
  classes: number;
  /** Data set name for messages. */
  what: string;
  /** How to get a fresh copy (for messages). */
  fresh: string;
}

const CIFAR10_FORMAT: RecordFormat = {
  recordBytes: CIFAR10_RECORD_BYTES, labelOffset: 0, classes: CIFAR10_CLASS_COUNT, what: 'CIFAR-10', fresh: 'Get a fresh copy with `cnnviz download --force`.',
};

export async function statOrNull(path: string): Promise<Stats | null> {
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

/** A batch file's presence and size (a whole number of records); `missing` says what the folder should hold. */
export async function checkRecordFile(path: string, name: string, format: RecordFormat, missing: string): Promise<BatchFile> {
  const st = await statOrNull(path);
  if (!st) throw new UserError(`${path}: file missing. ${missing}`);
  if (!st.isFile()) throw new UserError(`${path}: not a regular file`);
  if (st.size === 0) {
    throw new UserError(`${path}: file is empty (0 bytes); expected records of ${format.recordBytes} bytes. ${format.fresh}`);
  }
  const rest = st.size % format.recordBytes;
  if (rest !== 0) {
    throw new UserError(
      `${path}: size ${st.size} bytes is not a multiple of the ${format.recordBytes}-byte record ` +
        `(${Math.floor(st.size / format.recordBytes)} records + ${rest} bytes); the file looks truncated. ${format.fresh}`,
    );
  }
  return { name, path, records: st.size / format.recordBytes };
}

async function checkBatchFile(dir: string, name: string): Promise<BatchFile> {
  return checkRecordFile(join(dir, name), name, CIFAR10_FORMAT,
    `A CIFAR-10 folder holds data_batch_1.bin .. data_batch_5.bin, test_batch.bin and batches.meta.txt.${await folderHint(dir)} ${HOW_TO_GET}`);
}

export { parseClassNames };

export async function readClassNames(dir: string): Promise<string[]> {
  const path = join(dir, CIFAR10_META_FILE);
  const st = await statOrNull(path);
  if (!st) {
    throw new UserError(`${path}: file missing (the class names, one per line).${await folderHint(dir)} ${HOW_TO_GET}`);
  }
  return readClassNamesFile(path, CIFAR10_CLASS_COUNT);
}

function checkLimit(value: number | undefined, flag: string): number {
  return checkLimitOf(value, flag, (m) => {
    throw new UserError(m);
  });
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
  format: RecordFormat = CIFAR10_FORMAT,
): Promise<void> {
  const RB = format.recordBytes;
  const skip = RB - CIFAR10_PIXELS;
  const fh = await fsp.open(file.path, 'r');
  try {
    let done = 0;
    while (done < want) {
      const n = Math.min(CHUNK_RECORDS, want - done);
      const bytes = n * RB;
      let got = 0;
      while (got < bytes) {
        const { bytesRead } = await fh.read(chunk, got, bytes - got, done * RB + got);
        if (bytesRead === 0) {
          throw new UserError(
            `${file.path}: file ended early at byte ${done * RB + got} (it changed while being read?)`,
          );
        }
        got += bytesRead;
      }
      for (let r = 0; r < n; r++) {
        const o = r * RB;
        const label = chunk[o + format.labelOffset];
        if (label >= format.classes) {
          throw new UserError(
            `${file.path}: record ${done + r} has label byte ${label}, above ${format.classes - 1}; ` +
              `the file is corrupted or not ${format.what} binary data.`,
          );
        }
        if (labels) labels[at + done + r] = label;
        if (pixels) chunk.copy(pixels, (at + done + r) * CIFAR10_PIXELS, o + skip, o + RB);
      }
      done += n;
    }
  } finally {
    await fh.close();
  }
}

export async function loadSplit(
  files: BatchFile[],
  limit: number,
  shared: boolean,
  chunk: Buffer,
  format: RecordFormat = CIFAR10_FORMAT,
): Promise<Cifar10Split> {
  const available = files.reduce((s, f) => s + f.records, 0);
  const count = Math.min(available, limit);
  const labels = allocBytes(count, shared);
  const pixels = allocBytes(count * CIFAR10_PIXELS, shared);
  let at = 0;
  for (const f of files) {
    if (at >= count) break;
    const want = Math.min(f.records, count - at);
    await readRecords(f, want, labels, pixels, at, chunk, format);
    at += want;
  }
  return { count, labels, pixels, shape: [...CIFAR_SHAPE] };
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
  return { dir, kind: 'cifar-10', classNames: files.classNames, train, test };
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
  return countClasses(split, CIFAR10_CLASS_COUNT);
}

/** Check every record of the files (labels, sizes) without keeping them; returns the record count. */
export async function validateRecords(files: BatchFile[], format: RecordFormat): Promise<number> {
  const chunk = Buffer.allocUnsafe(CHUNK_RECORDS * format.recordBytes);
  let n = 0;
  for (const f of files) {
    await readRecords(f, f.records, null, null, 0, chunk, format);
    n += f.records;
  }
  return n;
}

/** A read buffer for loadSplit with this format. */
export function recordChunk(format: RecordFormat): Buffer {
  return Buffer.allocUnsafe(CHUNK_RECORDS * format.recordBytes);
}
