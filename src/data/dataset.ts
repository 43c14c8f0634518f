/**
 * `--data <dir>`: what kind of data a folder holds, and loading it. Recognised, in this order:
 * CIFAR-10 binaries (data_batch_1.bin...), CIFAR-100 binaries (train.bin, fine_label_names.txt...),
 * MNIST / Fashion-MNIST IDX files, a folder of class folders (ImageFolder). `--dataset` forces a kind
 * when a folder could be read as more than one. Every reader checks its files strictly and fails with
 * a UserError naming the file.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';
import { CIFAR10_FOLDER, CIFAR10_META_FILE, loadCifar10 } from './cifar10.js';
import { CIFAR100_ARCHIVE_FOLDER, CIFAR100_FILES, loadCifar100, type Cifar100Labels } from './cifar100.js';
import { detectIdxKind, hasIdxFiles, loadIdx } from './idx.js';
import { loadImageFolder } from './image-folder.js';
import { DATASET_KINDS, type Dataset, type DatasetKind, type ImageShape } from './split.js';

export { DATASET_KINDS, type Dataset, type DatasetKind };

/** How to read the data, as recorded in a run's configuration (only what applies to its kind). */
export interface DataOptions {
  /** The kind, detected or forced with --dataset. */
  kind?: DatasetKind;
  /** CIFAR-100: which labels the network learns (default fine). */
  labels?: Cifar100Labels;
  /** Image folder without train/ and test/: the fraction held out for testing (default 0.2). */
  testFraction?: number;
  /** Image folder: [height, width] images are resized to. */
  inputSize?: [number, number];
  /** Image folder: 1 (grey) or 3 (RGB). */
  channels?: number;
}

export interface LoadDataOptions extends DataOptions {
  trainLimit?: number;
  testLimit?: number;
  shared?: boolean;
  /** Image folder: the shape used for what --input-size / --channels leave open (the model's input). */
  defaultShape?: ImageShape;
  checkMemory?: (bytes: number, what: string) => void;
  log?: (message: string) => void;
}

/** Human names of the kinds, for messages. */
export const DATASET_NAMES: Record<DatasetKind, string> = {
  'cifar-10': 'CIFAR-10', 'cifar-100': 'CIFAR-100', mnist: 'MNIST', 'fashion-mnist': 'Fashion-MNIST', 'image-folder': 'image folder',
};

async function exists(path: string): Promise<boolean> {
  return (await fsp.stat(path).catch(() => null)) !== null;
}

async function hasSubfolder(dir: string): Promise<boolean> {
  const ents = await fsp.readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of ents) {
    if (e.name.startsWith('.')) continue;
    if (e.isDirectory() || (e.isSymbolicLink() && (await fsp.stat(join(dir, e.name)).catch(() => null))?.isDirectory())) return true;
  }
  return false;
}

/** The kind of data in `dir` (see the header), or a UserError saying what was expected. */
export async function detectDataset(dir: string): Promise<DatasetKind> {
  const st = await fsp.stat(dir).catch(() => null);
  if (!st) {
    throw new UserError(`data folder not found: ${dir}. Get a data set with \`cnnviz download [cifar-10|mnist|fashion-mnist|cifar-100]\`, or point --data at a folder that holds one.`);
  }
  if (!st.isDirectory()) throw new UserError(`${dir}: not a folder (--data takes the folder holding the data files)`);
  if ((await exists(join(dir, 'data_batch_1.bin'))) || (await exists(join(dir, CIFAR10_META_FILE)))) return 'cifar-10';
  if ((await exists(join(dir, CIFAR100_FILES.train))) || (await exists(join(dir, CIFAR100_FILES.fine)))) return 'cifar-100';
  if (await hasIdxFiles(dir)) return detectIdxKind(dir);
  for (const [inner, what] of [[CIFAR10_FOLDER, 'CIFAR-10'], [CIFAR100_ARCHIVE_FOLDER, 'CIFAR-100']] as const) {
    if (await exists(join(dir, inner))) throw new UserError(`${dir}: holds ${inner}, the ${what} folder; use --data ${join(dir, inner)}`);
  }
  if (await exists(join(dir, 'data_batch_1'))) {
    throw new UserError(`${dir}: this looks like the Python version of CIFAR-10; cnnviz reads the binary version (cifar-10-binary.tar.gz)`);
  }
  if (await hasSubfolder(dir)) return 'image-folder';
  throw new UserError(
    `${dir}: no data cnnviz recognises: expected CIFAR-10 binaries (data_batch_1.bin ... test_batch.bin), CIFAR-100 binaries ` +
      '(train.bin, test.bin, fine_label_names.txt), MNIST / Fashion-MNIST IDX files (train-images-idx3-ubyte[.gz] ...), ' +
      'or class folders (<class>/<image>); --dataset names the kind',
  );
}

/** Options that only apply to some kinds, refused elsewhere rather than silently ignored. */
function checkApplies(kind: DatasetKind, o: DataOptions): void {
  const only = (given: unknown, flag: string, kinds: DatasetKind[]): void => {
    if (given !== undefined && !kinds.includes(kind)) {
      throw new UserError(`${flag}: applies to ${kinds.map((k) => DATASET_NAMES[k]).join(' and ')} data, not ${DATASET_NAMES[kind]}`);
    }
  };
  only(o.labels, '--labels', ['cifar-100']);
  only(o.testFraction, '--test-fraction', ['image-folder']);
  only(o.inputSize, '--input-size', ['image-folder']);
  only(o.channels, '--channels', ['image-folder']);
}

/**
 * Resolve the options for `dir`: the kind (forced or detected) and, for an image folder, the input
 * size and channels (given, else `defaultShape`, else 32x32 RGB). What a run records and reloads with.
 */
export async function resolveDataOptions(dir: string, o: DataOptions, defaultShape?: ImageShape): Promise<DataOptions> {
  const kind = o.kind ?? (await detectDataset(dir));
  checkApplies(kind, o);
  if (kind === 'cifar-100') return { kind, labels: o.labels ?? 'fine' };
  if (kind !== 'image-folder') return { kind };
  const shape = defaultShape && (defaultShape[0] === 1 || defaultShape[0] === 3) ? defaultShape : [3, 32, 32];
  return {
    kind, inputSize: o.inputSize ?? [shape[1], shape[2]], channels: o.channels ?? shape[0],
    ...(o.testFraction !== undefined ? { testFraction: o.testFraction } : {}),
  };
}

/** Load the data of `dir` with options from resolveDataOptions (the kind is detected when absent). */
export async function loadDataset(dir: string, opts: LoadDataOptions): Promise<Dataset> {
  const o = { ...opts, ...(await resolveDataOptions(dir, opts, opts.defaultShape)) };
  const common = { trainLimit: opts.trainLimit, testLimit: opts.testLimit, shared: opts.shared };
  switch (o.kind!) {
    case 'cifar-10':
      return loadCifar10(dir, common);
    case 'cifar-100':
      return loadCifar100(dir, { ...common, labels: o.labels });
    case 'mnist':
    case 'fashion-mnist':
      return loadIdx(dir, { ...common, kind: o.kind });
    case 'image-folder':
      return loadImageFolder(dir, {
        ...common, shape: [o.channels!, o.inputSize![0], o.inputSize![1]], testFraction: o.testFraction, checkMemory: opts.checkMemory, log: opts.log,
      });
  }
}

/** The augmentation a data set trains with when --augment is not given: no left-right flip for digits. */
export function defaultAugment(kind: DatasetKind): string {
  return kind === 'mnist' ? 'shift' : 'flip,shift';
}
