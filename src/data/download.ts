/**
 * Getting a data set onto the disk safely, one flow for all of them (sources.ts says what differs):
 * every file downloaded (or, for an archive, taken from a local copy) under a temporary name, its MD5
 * checked against the published one before anything else, an archive unpacked refusing entries that
 * would escape its folder, the data checked with its reader, and only then the folder renamed to
 * `<dir>/<folder>`. An interrupted or corrupted download therefore never looks like data, and
 * temporary files are removed on failure (and, if a process died hard, by the next run).
 */
import { promises as fsp, type Stats } from 'node:fs';
import { join, sep } from 'node:path';
import { UserError, errorMessage } from '../util/errors.js';
import { fetchToFile, md5OfFile, parseHttpUrl, type FetchLimits } from '../util/http-fetch.js';
import { mb, type ProgressMode } from '../util/progress.js';
import { isDir, openStaging, type Staging } from '../util/staging.js';
import { extractArchive, findDataFolder } from './archive.js';
import { CIFAR10_ARCHIVE_BYTES, DATASET_SOURCES, sizeCap, sourceBytes, type DatasetSource, type DownloadName, type PublishedFile } from './sources.js';
import type { DatasetKind } from './split.js';

export { tarEntryProblem } from './archive.js';
export { DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MIN_BYTES_PER_SECOND, DEFAULT_RATE_GRACE_MS } from '../util/http-fetch.js';
export type { ProgressOutput } from '../util/progress.js';
export {
  CIFAR10_ARCHIVE_BYTES, CIFAR10_MD5, CIFAR10_URL, DATASET_SOURCES, DOWNLOADABLE, MD5_ENV, URL_ENV, sourceBytes,
  type DatasetSource, type DownloadName,
} from './sources.js';

/** Default parent folder of the data folders, relative to the working directory. */
export const DEFAULT_DATA_DIR = 'data';
/** CIFAR-10's size cap: the official archive plus a little (5% and 64 KiB). */
export const DEFAULT_MAX_BYTES = sizeCap(CIFAR10_ARCHIVE_BYTES);

export interface DownloadOptions extends FetchLimits {
  /** Parent folder: the data ends up in `<dir>/<folder>` (cifar-10-batches-bin, mnist, ...). */
  dir: string;
  /**
   * A mirror: for an archive (CIFAR-10, CIFAR-100) the archive's URL, otherwise the folder URL holding
   * the same files. Default: CIFAR-10's $CNNVIZ_CIFAR10_URL, else where the data set is published.
   */
  url?: string;
  /** An archive's expected MD5 (32 hex digits); default CIFAR-10's $CNNVIZ_CIFAR10_MD5, else the published one. */
  md5?: string;
  /** Expected MD5 per file name, over the published ones (a mirror with its own packing; tests). */
  md5s?: Record<string, string>;
  /** An archive: use this local copy instead of downloading. */
  from?: string;
  /** Replace an existing data folder. Without it an existing valid folder is kept. */
  force?: boolean;
  /** Status lines (default: to stderr). */
  log?: (msg: string) => void;
  /** Most bytes accepted per file. Default: the published size plus 5% and 64 KiB. */
  maxBytes?: number;
}

const defaultLog = (msg: string): void => {
  process.stderr.write(`${msg}\n`);
};

/** `cnnviz download` with the name when it is not the default. */
const downloadCommand = (name: DownloadName): string => `cnnviz download${name === 'cifar-10' ? '' : ` ${name}`}`;

/** Where each file comes from: the mirror (--url, or the environment) or where it is published. */
function fileUrls(source: DatasetSource, url: string | undefined): URL[] {
  const mirror = url ?? ((source.env && process.env[source.env.url]) || undefined);
  if (mirror === undefined) return source.files.map((f) => parseHttpUrl(source.baseUrl + f.name, '--url'));
  const m = parseHttpUrl(mirror, '--url');
  if (source.archive) return [m];
  const folder = m.pathname.endsWith('/') ? m : new URL(`${m.href}/`);
  return source.files.map((f) => new URL(f.name, folder));
}

/** Each file's expected MD5: given per file, given for the archive (--md5, the environment), or the published one. */
function expectedMd5s(source: DatasetSource, opts: DownloadOptions): string[] {
  const single = source.files.length === 1;
  return source.files.map((f) => {
    let given: string | undefined = opts.md5s?.[f.name];
    let what = `MD5 of ${f.name}`;
    if (given === undefined && single && opts.md5 !== undefined) [given, what] = [opts.md5, '--md5'];
    else if (given === undefined && single && source.env && process.env[source.env.md5] !== undefined) [given, what] = [process.env[source.env.md5], `$${source.env.md5}`];
    const v = (given ?? f.md5).trim().toLowerCase();
    if (!/^[0-9a-f]{32}$/.test(v)) throw new UserError(`${what}: expected 32 hexadecimal digits, got "${given}"`);
    return v;
  });
}

/** An existing data folder is kept when its reader accepts it. */
async function keepExisting(source: DatasetSource, target: string, log: (msg: string) => void): Promise<string> {
  try {
    await source.validate(target);
  } catch (e) {
    throw new UserError(`${target} already exists but is not valid: ${errorMessage(e)} Use --force to replace it.`);
  }
  log(`${source.title} is already in ${target} (use --force to fetch it again)`);
  return target;
}

async function checkLocalArchive(from: string, expected: string): Promise<void> {
  let st: Stats;
  try {
    st = await fsp.stat(from);
  } catch {
    throw new UserError(`${from}: file not found (--from expects ${expected})`);
  }
  if (!st.isFile()) throw new UserError(`${from}: not a file (--from expects ${expected})`);
}

/** Fetch (or take `from`) every file into the staging folder and check its MD5; returns the paths. */
async function fetchFiles(name: DownloadName, opts: DownloadOptions, staging: Staging, urls: URL[] | null, md5s: string[], log: (msg: string) => void): Promise<string[]> {
  const source = DATASET_SOURCES[name];
  const archive = source.archive !== undefined;
  const published = md5s.every((m, i) => m === source.files[i].md5);
  if (opts.from !== undefined) log(`checking ${opts.from}`);
  else log(`downloading ${source.title}${published ? ` (${mb(sourceBytes(name))} MB)` : ''} from ${urls![0].host} into ${join(opts.dir, source.folder)}`);
  await fsp.mkdir(staging.files);
  const paths: string[] = [];
  for (const [i, f] of source.files.entries()) {
    const label = opts.from ?? urls![i].href;
    const path = opts.from ?? join(staging.files, f.name);
    const got = opts.from !== undefined
      ? await md5OfFile(opts.from)
      : await fetchToFile(urls![i], path, {
        ...opts,
        signal: staging.signal,
        maxBytes: opts.maxBytes ?? sizeCap(f.bytes),
        what: archive ? `a ${source.title} archive` : `${f.name} of ${source.title}`,
        hint: archive
          ? `Check the network, or fetch the archive another way and run \`${downloadCommand(name)} --from <file>\`.`
          : 'Check the network, or fetch the files another way and give their folder to train with --data.',
      });
    if (got.md5 !== md5s[i]) throw new UserError(md5Mismatch(label, f, got, md5s[i], archive));
    paths.push(path);
  }
  log(`MD5 ok (${paths.length === 1 ? md5s[0] : `${paths.length} files`})${archive ? '; extracting' : ''}`);
  return paths;
}

function md5Mismatch(label: string, f: PublishedFile, got: { md5: string; bytes: number }, want: string, archive: boolean): string {
  const noun = archive ? 'archive' : 'file';
  const published = want === f.md5 ? `; the published ${noun} is ${f.bytes.toLocaleString('en-US')} bytes` : '';
  return `${label}: MD5 mismatch: got ${got.md5}, expected ${want} (${got.bytes.toLocaleString('en-US')} bytes${published}). ` +
    `The ${noun} is damaged or not the expected one; nothing was ${archive ? 'extracted' : 'kept'}.` +
    (archive ? ' (A mirror with its own archive needs --md5.)' : '');
}

/** The staged data folder: the fetched files as they are, or the archive unpacked. */
async function unpack(source: DatasetSource, paths: string[], staging: Staging, label: string): Promise<string> {
  if (!source.archive) return staging.files;
  await fsp.mkdir(staging.extract);
  await extractArchive(paths[0], staging.extract, label);
  if (paths[0].startsWith(staging.files)) await fsp.rm(paths[0], { force: true });
  const found = await findDataFolder(staging.extract, source.archive.marker, source.archive.folder);
  if (found === null) throw new UserError(`${label}: the archive holds ${source.archive.lacks}`);
  return found;
}

/** The reader's check of the staged folder, naming files as they are inside the archive or folder. */
async function validateStaged(source: DatasetSource, found: string, staging: Staging, label: string): Promise<{ train: number; test: number }> {
  try {
    return await source.validate(found);
  } catch (e) {
    const root = source.archive ? staging.extract : staging.files;
    const msg = errorMessage(e).split(root + sep).join('');
    const what = source.archive ? 'the archive does not hold' : 'the downloaded files are not';
    throw new UserError(`${label}: ${what} valid ${source.title} data: ${msg}`);
  }
}

/**
 * Download a data set (or, for an archive, take `from`) and install it as `<dir>/<folder>`
 * (data/cifar-10-batches-bin, data/mnist, ...). Returns that folder. An existing valid folder is kept
 * unless `force`; a failure or Ctrl-C leaves nothing behind.
 */
export async function downloadDataset(name: DownloadName, opts: DownloadOptions): Promise<string> {
  const log = opts.log ?? defaultLog;
  const source = DATASET_SOURCES[name];
  const md5s = expectedMd5s(source, opts);
  if (opts.from !== undefined && !source.archive) throw new UserError(`--from: ${name} is ${source.files.length} files, not one archive`);
  const urls = opts.from === undefined ? fileUrls(source, opts.url) : null;
  const target = join(opts.dir, source.folder);
  if (!opts.force && (await isDir(target))) return keepExisting(source, target, log);
  if (opts.from !== undefined) await checkLocalArchive(opts.from, source.files[0].name);

  const staging = await openStaging(opts.dir, target);
  try {
    const paths = await fetchFiles(name, opts, staging, urls, md5s, log);
    const label = opts.from ?? (source.archive ? urls![0].href : new URL('.', urls![0]).href);
    const found = await unpack(source, paths, staging, label);
    const counts = await validateStaged(source, found, staging, label);
    if ((await staging.install(found, opts.force === true)) === 'taken') {
      // Another process installed it meanwhile; keep theirs if it is valid.
      await source.validate(target);
      log(`${source.title} appeared in ${target} meanwhile; keeping it`);
      return target;
    }
    log(`${source.title} ready in ${target} (${counts.train} training and ${counts.test} test images)`);
    return target;
  } finally {
    await staging.close();
  }
}

/** CIFAR-10 into `<dir>/cifar-10-batches-bin`: downloadDataset('cifar-10', opts). */
export function downloadCifar10(opts: DownloadOptions): Promise<string> {
  return downloadDataset('cifar-10', opts);
}

export interface EnsureOptions {
  /** From `--no-download`: never download, fail with directions instead. */
  noDownload: boolean;
  log: (msg: string) => void;
  /** Parent folder of the default data folder (default `data`, relative to the working directory). */
  dataRoot?: string;
  /** Passed to downloadDataset (defaults there: env, then published). */
  url?: string;
  md5?: string;
  progress?: ProgressMode;
}

/**
 * The folder `train` reads: `--data` as given; else, for a downloadable `--dataset` (CIFAR-10 when
 * none is given), data/<folder>, downloaded first when missing (unless noDownload).
 */
export async function ensureData(dataDir: string | undefined, kind: DatasetKind | undefined, opts: EnsureOptions): Promise<string> {
  if (dataDir !== undefined) return dataDir;
  if (kind === 'image-folder') throw new UserError('--dataset image-folder: give the folder with --data <dir>');
  const name: DownloadName = kind ?? 'cifar-10';
  const source = DATASET_SOURCES[name];
  const root = opts.dataRoot ?? DEFAULT_DATA_DIR;
  const target = join(root, source.folder);
  try {
    await fsp.stat(target);
    return target;
  } catch {
    // missing: fall through
  }
  const size = `${Math.round(sourceBytes(name) / 1e6)} MB`;
  if (opts.noDownload) {
    const offline = source.archive ? `, or offline with \`${downloadCommand(name)} --from ${source.files[0].name}\`` : '';
    throw new UserError(
      `${source.title} not found in ${target}, and --no-download was given. Get it with \`${downloadCommand(name)}\` (${size})${offline}, ` +
        'or point to a copy with --data <dir>.',
    );
  }
  const host = fileUrls(source, opts.url)[0].host;
  opts.log(`${source.title} not found in ${target}: downloading it first (about ${size} from ${host}; --data <dir> uses a copy elsewhere, --no-download stops this)`);
  return downloadDataset(name, { dir: root, url: opts.url, md5: opts.md5, log: opts.log, progress: opts.progress });
}

/** ensureData for CIFAR-10. */
export function ensureCifar10(dataDir: string | undefined, opts: EnsureOptions): Promise<string> {
  return ensureData(dataDir, 'cifar-10', opts);
}
