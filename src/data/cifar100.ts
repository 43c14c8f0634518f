/**
 * Reader for CIFAR-100 in the official binary layout (cifar-100-binary):
 *   train.bin, test.bin        records of 3074 bytes: coarse label (0..19), fine label (0..99),
 *                              then 1024 red, 1024 green and 1024 blue bytes (32x32 row-major planes)
 *   fine_label_names.txt       100 class names, one per line
 *   coarse_label_names.txt     20 superclass names, one per line
 * `labels` picks which label the network learns. Same checks as CIFAR-10 (cifar10.ts): every problem
 * is a UserError naming the file.
 */
import { join } from 'node:path';
import { UserError } from '../util/errors.js';
import { readClassNamesFile } from './class-names.js';
import { checkRecordFile, loadSplit, recordChunk, statOrNull, validateRecords, type RecordFormat } from './cifar10.js';
import { checkLimit, type Dataset } from './split.js';

export const CIFAR100_LABEL_KINDS = ['fine', 'coarse'] as const;
export type Cifar100Labels = (typeof CIFAR100_LABEL_KINDS)[number];
export const CIFAR100_RECORD_BYTES = 2 + 3072;
export const CIFAR100_FILES = { train: 'train.bin', test: 'test.bin', fine: 'fine_label_names.txt', coarse: 'coarse_label_names.txt' } as const;
/** Name of the folder inside the official archive. */
export const CIFAR100_ARCHIVE_FOLDER = 'cifar-100-binary';
const CLASSES: Record<Cifar100Labels, number> = { fine: 100, coarse: 20 };

function format(labels: Cifar100Labels): RecordFormat {
  return {
    recordBytes: CIFAR100_RECORD_BYTES, labelOffset: labels === 'coarse' ? 0 : 1, classes: CLASSES[labels],
    what: `CIFAR-100 (${labels} labels)`, fresh: 'Get a fresh copy with `cnnviz download cifar-100 --force`.',
  };
}

export interface LoadCifar100Options {
  labels?: Cifar100Labels;
  trainLimit?: number;
  testLimit?: number;
  shared?: boolean;
}

async function checkFiles(dir: string, labels: Cifar100Labels) {
  const st = await statOrNull(dir);
  if (!st) throw new UserError(`CIFAR-100 folder not found: ${dir}. Get the data with \`cnnviz download cifar-100\`.`);
  if (!st.isDirectory()) throw new UserError(`${dir}: not a folder; expected the CIFAR-100 binary folder`);
  const inner = await statOrNull(join(dir, CIFAR100_ARCHIVE_FOLDER));
  const hint = inner?.isDirectory() ? ` Did you mean --data ${join(dir, CIFAR100_ARCHIVE_FOLDER)}?` : '';
  const missing = `A CIFAR-100 folder holds train.bin, test.bin, fine_label_names.txt and coarse_label_names.txt (the binary version).${hint}`;
  const f = format(labels);
  const train = await checkRecordFile(join(dir, CIFAR100_FILES.train), CIFAR100_FILES.train, f, missing);
  const test = await checkRecordFile(join(dir, CIFAR100_FILES.test), CIFAR100_FILES.test, f, missing);
  const classNames = await readClassNamesFile(join(dir, CIFAR100_FILES[labels]), CLASSES[labels]);
  return { train, test, classNames, format: f };
}

export async function loadCifar100(dir: string, opts: LoadCifar100Options = {}): Promise<Dataset> {
  const fail = (m: string): never => {
    throw new UserError(m);
  };
  const trainLimit = checkLimit(opts.trainLimit, '--train-limit', fail);
  const testLimit = checkLimit(opts.testLimit, '--test-limit', fail);
  const files = await checkFiles(dir, opts.labels ?? 'fine');
  const chunk = recordChunk(files.format);
  const shared = opts.shared ?? false;
  const train = await loadSplit([files.train], trainLimit, shared, chunk, files.format);
  const test = await loadSplit([files.test], testLimit, shared, chunk, files.format);
  return { dir, kind: 'cifar-100', classNames: files.classNames, train, test };
}

/** Check a whole CIFAR-100 folder (both label kinds of every record) without keeping the pixels. */
export async function validateCifar100Dir(dir: string): Promise<{ train: number; test: number }> {
  let counts = { train: 0, test: 0 };
  for (const labels of CIFAR100_LABEL_KINDS) {
    const files = await checkFiles(dir, labels);
    counts = { train: await validateRecords([files.train], files.format), test: await validateRecords([files.test], files.format) };
  }
  return counts;
}
