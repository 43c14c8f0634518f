/**
 * The data sets `cnnviz download` knows: where each is published, its files with their published
 * MD5s and sizes, whether it is one archive to unpack (and how its data folder is recognised inside),
 * and the reader that checks an installed copy. download.ts runs the one flow over these.
 */
import { CIFAR10_FOLDER, validateCifar10Dir } from './cifar10.js';
import { CIFAR100_FILES, validateCifar100Dir } from './cifar100.js';
import { IDX_FILES, loadIdx } from './idx.js';

export const CIFAR10_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz';
export const CIFAR10_MD5 = 'c32a1d4ab5d03f1284b67883e8d87530';
/** Size of the official archive, as published with the dataset. */
export const CIFAR10_ARCHIVE_BYTES = 170_052_171;
/** Environment variables that override CIFAR-10's archive URL and its MD5 (for mirrors). */
export const URL_ENV = 'CNNVIZ_CIFAR10_URL';
export const MD5_ENV = 'CNNVIZ_CIFAR10_MD5';

/** A file as published: name, its published MD5 and size. */
export interface PublishedFile {
  name: string;
  md5: string;
  bytes: number;
}

export interface DatasetSource {
  /** Human name. */
  title: string;
  /** The folder it is installed as, inside the data folder. */
  folder: string;
  /** Base URL the files are under (a file's URL is base + name). */
  baseUrl: string;
  /** The files: gzipped IDX files (kept as they are), or one tar.gz archive to unpack. */
  files: PublishedFile[];
  /**
   * One archive to unpack: its data folder is `folder` when the archive has it, else the folder that
   * holds `marker`; `lacks` says what the archive was missing when neither is found.
   */
  archive?: { marker: string; folder?: string; lacks: string };
  /** Environment variables naming a mirror's URL and MD5. */
  env?: { url: string; md5: string };
  /** Check an installed folder with its reader; returns the image counts. */
  validate(dir: string): Promise<{ train: number; test: number }>;
}

export const DOWNLOADABLE = ['cifar-10', 'mnist', 'fashion-mnist', 'cifar-100'] as const;
export type DownloadName = (typeof DOWNLOADABLE)[number];

async function validateIdx(dir: string, kind: 'mnist' | 'fashion-mnist'): Promise<{ train: number; test: number }> {
  const d = await loadIdx(dir, { kind });
  return { train: d.train.count, test: d.test.count };
}

/** MNIST-like: four gzipped IDX files under `baseUrl`, in IDX_FILES order, kept as they are. */
function idxSource(kind: 'mnist' | 'fashion-mnist', title: string, baseUrl: string, md5s: readonly string[], bytes: readonly number[]): DatasetSource {
  const names = [IDX_FILES.trainImages, IDX_FILES.trainLabels, IDX_FILES.testImages, IDX_FILES.testLabels];
  return {
    title,
    folder: kind,
    baseUrl,
    files: names.map((f, i) => ({ name: `${f}.gz`, md5: md5s[i], bytes: bytes[i] })),
    validate: (dir) => validateIdx(dir, kind),
  };
}

/**
 * Where the data sets are published and their checksums, as published (MD5: CIFAR-10's and
 * CIFAR-100's on their page, MNIST's and Fashion-MNIST's as torchvision lists them for these mirrors).
 */
export const DATASET_SOURCES: Record<DownloadName, DatasetSource> = {
  'cifar-10': {
    title: 'CIFAR-10',
    folder: CIFAR10_FOLDER,
    baseUrl: CIFAR10_URL.slice(0, CIFAR10_URL.lastIndexOf('/') + 1),
    files: [{ name: 'cifar-10-binary.tar.gz', md5: CIFAR10_MD5, bytes: CIFAR10_ARCHIVE_BYTES }],
    archive: { marker: 'data_batch_1.bin', folder: CIFAR10_FOLDER, lacks: `no ${CIFAR10_FOLDER} folder (no data_batch_1.bin in it)` },
    env: { url: URL_ENV, md5: MD5_ENV },
    validate: validateCifar10Dir,
  },
  mnist: idxSource(
    'mnist', 'MNIST', 'https://ossci-datasets.s3.amazonaws.com/mnist/',
    ['f68b3c2dcbeaaa9fbdd348bbdeb94873', 'd53e105ee54ea40749a09fcbcd1e9432', '9fb629c4189551a2d022fa330f9573f3', 'ec29112dd5afa0611ce80d1b7f02629c'],
    [9_912_422, 28_881, 1_648_877, 4_542],
  ),
  'fashion-mnist': idxSource(
    'fashion-mnist', 'Fashion-MNIST', 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/',
    ['8d4fb7e6c68d591d4c3dfef9ec88bf0d', '25c81989df183df01b3e8a0aad5dffbe', 'bef4ecab320f06d8554ea6380940ec79', 'bb300cfdad3c16e7a12a480ee83cd310'],
    [26_421_880, 29_515, 4_422_102, 5_148],
  ),
  'cifar-100': {
    title: 'CIFAR-100',
    folder: 'cifar-100',
    baseUrl: 'https://www.cs.toronto.edu/~kriz/',
    files: [{ name: 'cifar-100-binary.tar.gz', md5: '03b5dce01913d631647c71ecec9e9cb8', bytes: 168_513_733 }],
    archive: { marker: CIFAR100_FILES.train, lacks: `no ${CIFAR100_FILES.train}` },
    validate: validateCifar100Dir,
  },
};

/** The total size of a source's files. */
export function sourceBytes(name: DownloadName): number {
  return DATASET_SOURCES[name].files.reduce((a, f) => a + f.bytes, 0);
}

/**
 * Most bytes accepted for a file: the published size plus 5% and 64 KiB, room for a mirror's slightly
 * different packing (and tiny label files), nothing like 200 MB extra.
 */
export function sizeCap(bytes: number): number {
  return Math.ceil(bytes * 1.05) + 65_536;
}
