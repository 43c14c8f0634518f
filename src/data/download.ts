/**
 * Getting CIFAR-10 onto the disk safely: download (or take a local tarball), check its MD5 before
 * anything else, extract into a temporary folder refusing entries that would escape it, validate
 * the extracted data with the reader, and only then rename it to `<dir>/cifar-10-batches-bin`.
 * An interrupted or corrupted download therefore never looks like data, and temporary files are
 * removed on failure (and, if a process died hard, by the next run).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, promises as fsp, renameSync, rmdirSync, rmSync, type Stats } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SingleBar } from 'cli-progress';
import { extract as tarExtract, type ReadEntry } from 'tar';
import { makeDirs, pidAlive } from '../util/atomic-write.js';
import { UserError, errorMessage } from '../util/errors.js';
import { CIFAR10_FOLDER, validateCifar10Dir } from './cifar10.js';
import { CIFAR100_FILES, validateCifar100Dir } from './cifar100.js';
import { loadIdx, IDX_FILES } from './idx.js';
import type { DatasetKind } from './split.js';

export const CIFAR10_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz';
export const CIFAR10_MD5 = 'c32a1d4ab5d03f1284b67883e8d87530';
/** Size of the official archive, as published with the dataset. */
export const CIFAR10_ARCHIVE_BYTES = 170_052_171;
/** Default parent folder of cifar-10-batches-bin, relative to the working directory. */
export const DEFAULT_DATA_DIR = 'data';
/** Environment variables that override the archive URL and its MD5 (for mirrors). */
export const URL_ENV = 'CNNVIZ_CIFAR10_URL';
export const MD5_ENV = 'CNNVIZ_CIFAR10_MD5';

const TEMP_PREFIX = '.cnnviz-download.';
const MAX_REDIRECTS = 10;

/** Where progress goes: process.stderr by default. */
export interface ProgressOutput {
  write(s: string): unknown;
  isTTY?: boolean;
}

export interface DownloadOptions {
  /** Parent folder: the data ends up in `<dir>/cifar-10-batches-bin`. */
  dir: string;
  /** Archive URL; default $CNNVIZ_CIFAR10_URL, else the official one. Ignored with `from`. */
  url?: string;
  /** Expected MD5 of the archive (32 hex digits); default $CNNVIZ_CIFAR10_MD5, else the official one. */
  md5?: string;
  /** Use this local tarball instead of downloading. */
  from?: string;
  /** Replace an existing `<dir>/cifar-10-batches-bin`. Without it an existing valid folder is kept. */
  force?: boolean;
  /** Status lines (default: to stderr). */
  log?: (msg: string) => void;
  /** 'auto' (default): a bar when `progressOutput` is a TTY, otherwise a line every 10%. */
  progress?: 'auto' | 'bar' | 'lines' | 'off';
  progressOutput?: ProgressOutput;
  /** Give up when the connection is idle this long (ms). Default 60 s. */
  idleTimeoutMs?: number;
  /**
   * Give up when the average rate since the start stays below this (bytes/s) once `rateGraceMs` have
   * passed, so a server that trickles a byte now and then cannot hold the command forever. Default 16 KiB/s.
   */
  minBytesPerSecond?: number;
  /** Time before the minimum rate applies (ms). Default 60 s. */
  rateGraceMs?: number;
  /** Most bytes accepted (a body without Content-Length has no other bound). Default: 5% above the official archive's size. */
  maxBytes?: number;
}

export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
export const DEFAULT_MIN_BYTES_PER_SECOND = 16 * 1024;
export const DEFAULT_RATE_GRACE_MS = 60_000;
/** The official archive plus 5%: room for a mirror's slightly different packing, nothing like 200 MB extra. */
export const DEFAULT_MAX_BYTES = Math.ceil(CIFAR10_ARCHIVE_BYTES * 1.05);

function seconds(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`;
}

const defaultLog = (msg: string): void => {
  process.stderr.write(`${msg}\n`);
};

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

function resolveMd5(md5: string | undefined): string {
  const value = (md5 ?? process.env[MD5_ENV] ?? CIFAR10_MD5).trim().toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(value)) throw new UserError(`--md5: expected 32 hexadecimal digits, got "${md5}"`);
  return value;
}

function resolveUrl(url: string | undefined): URL {
  const raw = url ?? (process.env[URL_ENV] || undefined) ?? CIFAR10_URL;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new UserError(`--url: not a valid URL: "${raw}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new UserError(`--url: only http and https URLs are supported, got "${raw}" (for a local file use --from)`);
  }
  return parsed;
}

// ---------------------------------------------------------------------------------------------
// Progress

interface Progress {
  update(bytes: number): void;
  stop(): void;
}

function makeProgress(mode: DownloadOptions['progress'], out: ProgressOutput, total: number | null): Progress {
  const useBar = mode === 'bar' || (mode === 'auto' && out.isTTY === true);
  if (mode === 'off') return { update() {}, stop() {} };
  if (useBar && total !== null) {
    const bar = new SingleBar({
      stream: out as NodeJS.WritableStream,
      format: 'downloading [{bar}] {percentage}% | {done} / {size} MB | {speed} MB/s | eta {eta_formatted}',
      hideCursor: true,
      barsize: 30,
    });
    const t0 = Date.now();
    bar.start(total, 0, { done: '0.0', size: mb(total), speed: '0.0' });
    return {
      update(bytes) {
        const secs = Math.max((Date.now() - t0) / 1000, 1e-3);
        bar.update(Math.min(bytes, total), { done: mb(bytes), speed: mb(bytes / secs) });
      },
      stop() {
        bar.stop();
      },
    };
  }
  // Plain lines: every 10% of a known size, else every 20 MB.
  const step = total !== null ? total / 10 : 20e6;
  let next = step;
  return {
    update(bytes) {
      if (bytes < next) return;
      while (next <= bytes) next += step;
      const pct = total !== null ? ` (${Math.floor((100 * bytes) / total)}%)` : '';
      out.write(`downloading: ${mb(bytes)}${total !== null ? ` / ${mb(total)}` : ''} MB${pct}\n`);
    },
    stop() {},
  };
}

// ---------------------------------------------------------------------------------------------
// HTTP

/** Why a transfer was stopped by us (timeouts, size cap), so the message says that rather than "aborted". */
interface StopReason {
  reason?: string;
}

function request(url: URL, signal: AbortSignal, idleMs: number, redirects: number, stop: StopReason): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const get = url.protocol === 'https:' ? https.get : http.get;
    const req = get(
      url,
      { headers: { 'user-agent': 'cnnviz', 'accept-encoding': 'identity' }, signal },
      (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400 && res.headers.location) {
          res.resume();
          if (redirects >= MAX_REDIRECTS) {
            reject(new UserError(`download of ${url.href} failed: more than ${MAX_REDIRECTS} redirects`));
            return;
          }
          let next: URL;
          try {
            next = new URL(res.headers.location, url);
          } catch {
            reject(new UserError(`download of ${url.href} failed: bad redirect to "${res.headers.location}"`));
            return;
          }
          if (next.protocol !== 'http:' && next.protocol !== 'https:') {
            reject(new UserError(`download of ${url.href} failed: redirect to unsupported URL ${next.href}`));
            return;
          }
          request(next, signal, idleMs, redirects + 1, stop).then(resolve, reject);
          return;
        }
        if (status !== 200) {
          res.resume();
          reject(new UserError(`download of ${url.href} failed: HTTP ${status} ${res.statusMessage ?? ''}`.trimEnd()));
          return;
        }
        resolve(res);
      },
    );
    req.setTimeout(idleMs, () => {
      stop.reason ??= `no data for ${seconds(idleMs)} (idle timeout)`;
      req.destroy(new Error(stop.reason));
    });
    req.on('error', (e) => reject(e));
  });
}

/** Stream `url` into `dest` (created, must not exist) and return the MD5 of what was received. */
async function fetchToFile(
  url: URL,
  dest: string,
  signal: AbortSignal,
  opts: DownloadOptions,
  what = 'a CIFAR-10 archive',
): Promise<{ md5: string; bytes: number }> {
  const idleMs = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const minRate = opts.minBytesPerSecond ?? DEFAULT_MIN_BYTES_PER_SECOND;
  const graceMs = opts.rateGraceMs ?? DEFAULT_RATE_GRACE_MS;
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const stop: StopReason = {};
  const t0 = Date.now();
  let res: http.IncomingMessage;
  try {
    res = await request(url, signal, idleMs, 0, stop);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(
      `download of ${url.href} failed: ${stop.reason ?? errorMessage(e)}. Check the network, or fetch the archive another way ` +
        'and run `cnnviz download --from <file>`.',
    );
  }
  const lengthHeader = res.headers['content-length'];
  const total = lengthHeader !== undefined && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : null;
  if (total !== null && total > maxBytes) {
    res.destroy();
    throw new UserError(
      `download of ${url.href} refused: the server announces ${total.toLocaleString('en-US')} bytes, more than the ` +
        `${maxBytes.toLocaleString('en-US')} ${what} can be; nothing was kept`,
    );
  }
  const progress = makeProgress(opts.progress ?? 'auto', opts.progressOutput ?? process.stderr, total);
  const hash = createHash('md5');
  let received = 0;
  let lastData = Date.now();
  const halt = (reason: string): void => {
    stop.reason ??= reason;
    res.destroy(new Error(reason));
  };
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      received += chunk.length;
      lastData = Date.now();
      if (received > maxBytes) {
        const reason = `more than ${maxBytes.toLocaleString('en-US')} bytes received, more than ${what} can be (size cap)`;
        stop.reason ??= reason;
        cb(new Error(reason));
        return;
      }
      hash.update(chunk);
      progress.update(received);
      cb(null, chunk);
    },
  });
  // Idle and minimum-rate watch: the socket timeout alone misses a server that trickles a byte at a time.
  const watch = setInterval(() => {
    const now = Date.now();
    if (now - lastData >= idleMs) halt(`no data for ${seconds(idleMs)} (idle timeout)`);
    else if (now - t0 >= graceMs && received / ((now - t0) / 1000) < minRate) {
      halt(
        `too slow: ${received.toLocaleString('en-US')} bytes in ${seconds(now - t0)}, below the minimum average of ` +
          `${(minRate / 1024).toFixed(minRate < 10240 ? 1 : 0)} KiB/s (rate timeout after ${seconds(graceMs)})`,
      );
    }
  }, Math.max(10, Math.min(1000, Math.floor(Math.min(idleMs, graceMs) / 4))));
  // A server that closes early must not look like a clean end: IncomingMessage emits 'aborted' and
  // an error when the body stops short of Content-Length; the explicit check below is a backstop.
  try {
    await pipeline(res, meter, createWriteStream(dest, { flags: 'wx' }), { signal });
  } catch (e) {
    progress.stop();
    const of = total !== null ? ` of ${total}` : '';
    if (stop.reason) {
      throw new UserError(`download of ${url.href} stopped after ${received}${of} bytes: ${stop.reason}; nothing was kept, run the command again`);
    }
    throw new UserError(
      `download of ${url.href} was cut off after ${received}${of} bytes (${errorMessage(e)}); nothing was kept, ` +
        'run the command again',
    );
  } finally {
    clearInterval(watch);
  }
  progress.stop();
  if (total !== null && received !== total) {
    throw new UserError(
      `download of ${url.href} was cut off after ${received} of ${total} bytes; nothing was kept, run the command again`,
    );
  }
  return { md5: hash.digest('hex'), bytes: received };
}

async function md5OfFile(path: string): Promise<{ md5: string; bytes: number }> {
  const hash = createHash('md5');
  let bytes = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      cb();
    },
  });
  await pipeline(createReadStream(path), meter);
  return { md5: hash.digest('hex'), bytes };
}

// ---------------------------------------------------------------------------------------------
// Extraction

/** Why a tar entry must not be extracted, or null if it is fine. */
export function tarEntryProblem(path: string, type: string): string | null {
  const p = path.replace(/\\/g, '/');
  if (p.startsWith('/') || /^[a-zA-Z]:/.test(p) || isAbsolute(path)) return 'has an absolute path';
  if (p.split('/').includes('..')) return "has a '..' path that escapes the target folder";
  if (type === 'SymbolicLink' || type === 'Link') return 'is a link (not expected in a CIFAR-10 archive)';
  if (!['File', 'OldFile', 'ContiguousFile', 'Directory'].includes(type)) return `is of unsupported type ${type}`;
  return null;
}

async function extractArchive(archive: string, cwd: string, source: string): Promise<void> {
  let refused: string | null = null;
  try {
    await tarExtract({
      file: archive,
      cwd,
      strict: true,
      preservePaths: false,
      filter: (path: string, entry: ReadEntry | Stats) => {
        if (refused !== null) return false;
        const type = 'type' in entry ? String(entry.type) : 'File';
        const problem = tarEntryProblem(path, type);
        if (problem !== null) {
          refused = `entry "${path}" ${problem}`;
          return false;
        }
        return true;
      },
    });
  } catch (e) {
    if (refused === null) throw new UserError(`${source}: cannot extract the archive: ${errorMessage(e)}`);
  }
  if (refused !== null) throw new UserError(`${source}: refusing to extract: archive ${refused}`);
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await fsp.lstat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function hasFile(dir: string, name: string): Promise<boolean> {
  try {
    return (await fsp.lstat(join(dir, name))).isFile();
  } catch {
    return false;
  }
}

/** The extracted folder holding the batches: cifar-10-batches-bin, or the one folder with data_batch_1.bin. */
async function findDataFolder(root: string): Promise<string | null> {
  const official = join(root, CIFAR10_FOLDER);
  if (await isDir(official)) return official;
  if (await hasFile(root, 'data_batch_1.bin')) return root;
  const queue = [root];
  for (let depth = 0; depth < 3 && queue.length > 0; depth++) {
    const level = queue.splice(0);
    for (const d of level) {
      for (const ent of await fsp.readdir(d, { withFileTypes: true })) {
        if (!ent.isDirectory()) continue;
        const sub = join(d, ent.name);
        if (await hasFile(sub, 'data_batch_1.bin')) return sub;
        queue.push(sub);
      }
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Temp files

/** Remove temp files left in `dir` by downloads whose process no longer exists. */
async function removeStaleTemps(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^\.cnnviz-download\.(\d+)\./.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || pidAlive(pid)) continue;
    await fsp.rm(join(dir, name), { recursive: true, force: true });
  }
}

/** The folders makeDirs(dir) would create: `dir` and its missing ancestors, deepest first. */
function missingDirs(dir: string): string[] {
  const out: string[] = [];
  for (let d = resolve(dir); !existsSync(d); d = dirname(d)) {
    out.push(d);
    if (dirname(d) === d) break;
  }
  return out;
}

/** After a failed download: remove the folders it created, deepest first, each only if empty. */
function removeCreatedDirs(dirs: readonly string[]): void {
  for (const d of dirs) {
    try {
      rmdirSync(d);
    } catch {
      return; // not empty (someone else wrote there) or already gone: leave it and its parents
    }
  }
}

// ---------------------------------------------------------------------------------------------

/**
 * Download (or take `from`) the CIFAR-10 binary archive and install it as
 * `<dir>/cifar-10-batches-bin`. Returns that folder. If it already exists and is valid it is kept
 * (unless `force`).
 */
/**
 * Ctrl-C / SIGTERM during a download: remove the temp files at once (putting a folder that --force
 * moved aside back first). If nobody else listens, die as the signal would have done; otherwise abort
 * the transfer and let the other listener decide. `release` removes the handlers.
 */
function cleanUpOnSignal(target: string, oldDir: string, temps: readonly string[], created: readonly string[]): { controller: AbortController; release(): void } {
  const controller = new AbortController();
  const release = (): void => {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    // Interrupted between the two renames of --force: put the old folder back first.
    if (existsSync(oldDir) && !existsSync(target)) renameSync(oldDir, target);
    for (const t of temps) rmSync(t, { recursive: true, force: true });
    if (!existsSync(target)) removeCreatedDirs(created);
    release();
    controller.abort();
    if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return { controller, release };
}

export async function downloadCifar10(opts: DownloadOptions): Promise<string> {
  const log = opts.log ?? defaultLog;
  const md5 = resolveMd5(opts.md5);
  const url = opts.from === undefined ? resolveUrl(opts.url) : null;
  const dir = opts.dir;
  const target = join(dir, CIFAR10_FOLDER);

  if (!opts.force && (await isDir(target))) {
    try {
      await validateCifar10Dir(target);
    } catch (e) {
      throw new UserError(`${target} already exists but is not valid: ${errorMessage(e)} Use --force to replace it.`);
    }
    log(`CIFAR-10 is already in ${target} (use --force to fetch it again)`);
    return target;
  }
  if (opts.from !== undefined) {
    let st: Stats;
    try {
      st = await fsp.stat(opts.from);
    } catch {
      throw new UserError(`${opts.from}: file not found (--from expects cifar-10-binary.tar.gz)`);
    }
    if (!st.isFile()) throw new UserError(`${opts.from}: not a file (--from expects cifar-10-binary.tar.gz)`);
  }

  // The folders this call creates: a failed download removes them again (an empty data/ would look like a start).
  const created = missingDirs(dir);
  try {
    makeDirs(dir);
  } catch (e) {
    removeCreatedDirs(created);
    throw new UserError(`${dir}: cannot create the data folder (${errorMessage(e)})`);
  }
  let installed = false;
  await removeStaleTemps(dir);

  const base = join(dir, `${TEMP_PREFIX}${process.pid}.${randomBytes(4).toString('hex')}`);
  const partFile = `${base}.tar.gz.part`;
  const extractDir = `${base}.extract`;
  const oldDir = `${base}.old`;
  const temps = [partFile, extractDir, oldDir];
  const { controller, release } = cleanUpOnSignal(target, oldDir, temps, created);

  try {
    let archive: string;
    let got: { md5: string; bytes: number };
    const source = opts.from ?? url!.href;
    if (opts.from !== undefined) {
      archive = opts.from;
      log(`checking ${opts.from}`);
      got = await md5OfFile(archive);
    } else {
      const sizeNote = md5 === CIFAR10_MD5 ? ` (${mb(CIFAR10_ARCHIVE_BYTES)} MB)` : '';
      log(`downloading ${url!.href}${sizeNote} into ${dir}`);
      archive = partFile;
      got = await fetchToFile(url!, partFile, controller.signal, opts);
    }
    if (got.md5 !== md5) {
      const official =
        md5 === CIFAR10_MD5 ? `; the official archive is ${CIFAR10_ARCHIVE_BYTES.toLocaleString('en-US')} bytes` : '';
      throw new UserError(
        `${source}: MD5 mismatch: got ${got.md5}, expected ${md5} (${got.bytes.toLocaleString('en-US')} bytes${official}). ` +
          'The archive is damaged or not the expected one; nothing was extracted. ' +
          '(A mirror with its own archive needs --md5.)',
      );
    }
    log(`MD5 ok (${md5}); extracting`);
    await fsp.mkdir(extractDir);
    await extractArchive(archive, extractDir, source);
    if (archive === partFile) await fsp.rm(partFile, { force: true });

    const found = await findDataFolder(extractDir);
    if (found === null) {
      throw new UserError(`${source}: the archive holds no ${CIFAR10_FOLDER} folder (no data_batch_1.bin in it)`);
    }
    let counts: { train: number; test: number };
    try {
      counts = await validateCifar10Dir(found);
    } catch (e) {
      // Name files inside the archive rather than by their temporary path.
      const msg = errorMessage(e).split(extractDir + sep).join('');
      throw new UserError(`${source}: the archive does not hold valid CIFAR-10 data: ${msg}`);
    }

    if (opts.force && (await isDir(target))) {
      await fsp.rename(target, oldDir);
    }
    try {
      await fsp.rename(found, target);
    } catch (e) {
      if (await isDir(oldDir)) await fsp.rename(oldDir, target).catch(() => undefined);
      const code = (e as NodeJS.ErrnoException).code;
      if ((code === 'EEXIST' || code === 'ENOTEMPTY') && (await isDir(target))) {
        // Another process installed it meanwhile; keep theirs if it is valid.
        await validateCifar10Dir(target);
        log(`CIFAR-10 appeared in ${target} meanwhile; keeping it`);
        installed = true;
        return target;
      }
      throw new UserError(`cannot move the extracted data to ${target}: ${errorMessage(e)}`);
    }
    log(`CIFAR-10 ready in ${target} (${counts.train} training and ${counts.test} test images)`);
    installed = true;
    return target;
  } finally {
    release();
    for (const t of temps) await fsp.rm(t, { recursive: true, force: true });
    if (!installed) removeCreatedDirs(created);
  }
}

export interface EnsureOptions {
  /** From `--no-download`: never download, fail with directions instead. */
  noDownload: boolean;
  log: (msg: string) => void;
  /** Parent folder of the default data folder (default `data`, relative to the working directory). */
  dataRoot?: string;
  /** Passed to downloadCifar10 (defaults there: env, then official). */
  url?: string;
  md5?: string;
  progress?: DownloadOptions['progress'];
}

/**
 * The folder `cnnviz train` should read. `dataDir` (from `--data`) is returned as is; the reader
 * validates it. Otherwise `data/cifar-10-batches-bin`, downloaded first when missing (unless
 * `noDownload`).
 */
export async function ensureCifar10(dataDir: string | undefined, opts: EnsureOptions): Promise<string> {
  if (dataDir !== undefined) return dataDir;
  const root = opts.dataRoot ?? DEFAULT_DATA_DIR;
  const target = join(root, CIFAR10_FOLDER);
  try {
    await fsp.stat(target);
    return target;
  } catch {
    // missing: fall through
  }
  if (opts.noDownload) {
    throw new UserError(
      `CIFAR-10 not found in ${target}, and --no-download was given. Get it with \`cnnviz download\` ` +
        `(${Math.round(CIFAR10_ARCHIVE_BYTES / 1e6)} MB), or offline with \`cnnviz download --from cifar-10-binary.tar.gz\`, ` +
        'or point to a copy with --data <dir>.',
    );
  }
  const url = resolveUrl(opts.url);
  opts.log(
    `CIFAR-10 not found in ${target}: downloading it first (about ${Math.round(CIFAR10_ARCHIVE_BYTES / 1e6)} MB from ` +
      `${url.host}; --data <dir> uses a copy elsewhere, --no-download stops this)`,
  );
  return downloadCifar10({ dir: root, url: url.href, md5: opts.md5, log: opts.log, progress: opts.progress });
}

// ---------------------------------------------------------------------------------------------
// MNIST, Fashion-MNIST and CIFAR-100

/** A file as published: name, where, its published MD5 and size. */
interface PublishedFile {
  name: string;
  md5: string;
  bytes: number;
}

export interface DatasetSource {
  /** Human name. */
  title: string;
  /** Base URL the files are under (a file's URL is base + name). */
  baseUrl: string;
  /** The files: 4 gzipped IDX files, or one tar.gz archive to unpack (CIFAR-100). */
  files: PublishedFile[];
  archive: boolean;
}

export const DOWNLOADABLE = ['cifar-10', 'mnist', 'fashion-mnist', 'cifar-100'] as const;
export type DownloadName = (typeof DOWNLOADABLE)[number];

/**
 * Where the data sets are published and their checksums, as published (MD5: MNIST's and
 * Fashion-MNIST's as torchvision lists them for these mirrors, CIFAR-100's on its page).
 */
export const DATASET_SOURCES: Record<Exclude<DownloadName, 'cifar-10'>, DatasetSource> = {
  mnist: {
    title: 'MNIST',
    baseUrl: 'https://ossci-datasets.s3.amazonaws.com/mnist/',
    archive: false,
    files: [
      { name: `${IDX_FILES.trainImages}.gz`, md5: 'f68b3c2dcbeaaa9fbdd348bbdeb94873', bytes: 9_912_422 },
      { name: `${IDX_FILES.trainLabels}.gz`, md5: 'd53e105ee54ea40749a09fcbcd1e9432', bytes: 28_881 },
      { name: `${IDX_FILES.testImages}.gz`, md5: '9fb629c4189551a2d022fa330f9573f3', bytes: 1_648_877 },
      { name: `${IDX_FILES.testLabels}.gz`, md5: 'ec29112dd5afa0611ce80d1b7f02629c', bytes: 4_542 },
    ],
  },
  'fashion-mnist': {
    title: 'Fashion-MNIST',
    baseUrl: 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/',
    archive: false,
    files: [
      { name: `${IDX_FILES.trainImages}.gz`, md5: '8d4fb7e6c68d591d4c3dfef9ec88bf0d', bytes: 26_421_880 },
      { name: `${IDX_FILES.trainLabels}.gz`, md5: '25c81989df183df01b3e8a0aad5dffbe', bytes: 29_515 },
      { name: `${IDX_FILES.testImages}.gz`, md5: 'bef4ecab320f06d8554ea6380940ec79', bytes: 4_422_102 },
      { name: `${IDX_FILES.testLabels}.gz`, md5: 'bb300cfdad3c16e7a12a480ee83cd310', bytes: 5_148 },
    ],
  },
  'cifar-100': {
    title: 'CIFAR-100',
    baseUrl: 'https://www.cs.toronto.edu/~kriz/',
    archive: true,
    files: [{ name: 'cifar-100-binary.tar.gz', md5: '03b5dce01913d631647c71ecec9e9cb8', bytes: 168_513_733 }],
  },
};

export interface DatasetDownloadOptions extends Omit<DownloadOptions, 'md5' | 'url'> {
  /** A mirror: the folder URL holding the same files, or for an archive (CIFAR-100) the archive's URL. */
  url?: string;
  /** Expected MD5 per file name, over the published ones (for a mirror with its own packing; tests). */
  md5s?: Record<string, string>;
}

/** The total size of a source's files. */
export function sourceBytes(name: Exclude<DownloadName, 'cifar-10'>): number {
  return DATASET_SOURCES[name].files.reduce((a, f) => a + f.bytes, 0);
}

/** Check an installed folder with its reader; returns the image counts. */
async function validateDownloaded(name: Exclude<DownloadName, 'cifar-10'>, dir: string): Promise<{ train: number; test: number }> {
  if (name === 'cifar-100') return validateCifar100Dir(dir);
  const d = await loadIdx(dir, { kind: name });
  return { train: d.train.count, test: d.test.count };
}

/**
 * Download MNIST, Fashion-MNIST or CIFAR-100 into `<dir>/<name>` (data/mnist, ...), as downloadCifar10
 * does CIFAR-10: every file into a temporary name, its MD5 checked against the published one, the
 * folder checked with the reader, and only then renamed into place; a failure or Ctrl-C leaves nothing
 * behind (and the next run removes what a killed one left). An existing valid folder is kept unless
 * `force`. Returns the folder.
 */
export async function downloadDataset(name: Exclude<DownloadName, 'cifar-10'>, opts: DatasetDownloadOptions): Promise<string> {
  const log = opts.log ?? defaultLog;
  const source = DATASET_SOURCES[name];
  const base = resolveUrl(opts.url ?? source.baseUrl);
  // A mirror's --url: the archive itself (CIFAR-100), or the folder holding the files.
  const urlOf = (f: PublishedFile): URL =>
    source.archive && opts.url !== undefined ? base : new URL(f.name, base.pathname.endsWith('/') ? base : new URL(`${base.href}/`));
  const dir = opts.dir;
  const target = join(dir, name);
  const md5Of = (f: PublishedFile): string => {
    const v = (opts.md5s?.[f.name] ?? f.md5).trim().toLowerCase();
    if (!/^[0-9a-f]{32}$/.test(v)) throw new UserError(`MD5 of ${f.name}: expected 32 hexadecimal digits, got "${v}"`);
    return v;
  };
  source.files.forEach(md5Of);

  if (!opts.force && (await isDir(target))) {
    try {
      await validateDownloaded(name, target);
    } catch (e) {
      throw new UserError(`${target} already exists but is not valid: ${errorMessage(e)} Use --force to replace it.`);
    }
    log(`${source.title} is already in ${target} (use --force to fetch it again)`);
    return target;
  }

  const created = missingDirs(dir);
  try {
    makeDirs(dir);
  } catch (e) {
    removeCreatedDirs(created);
    throw new UserError(`${dir}: cannot create the data folder (${errorMessage(e)})`);
  }
  let installed = false;
  await removeStaleTemps(dir);
  const tmp = join(dir, `${TEMP_PREFIX}${process.pid}.${randomBytes(4).toString('hex')}`);
  const fetchDir = `${tmp}.files`;
  const extractDir = `${tmp}.extract`;
  const oldDir = `${tmp}.old`;
  const temps = [fetchDir, extractDir, oldDir];
  const { controller, release } = cleanUpOnSignal(target, oldDir, temps, created);
  try {
    await fsp.mkdir(fetchDir);
    log(`downloading ${source.title} (${mb(sourceBytes(name))} MB) from ${base.host} into ${target}`);
    for (const f of source.files) {
      const url = urlOf(f);
      const part = join(fetchDir, f.name);
      const got = await fetchToFile(url, part, controller.signal, { ...opts, maxBytes: opts.maxBytes ?? Math.ceil(f.bytes * 1.05) + 65_536 }, `${f.name} of ${source.title}`);
      const want = md5Of(f);
      if (got.md5 !== want) {
        throw new UserError(
          `${url.href}: MD5 mismatch: got ${got.md5}, expected ${want} (${got.bytes.toLocaleString('en-US')} bytes; the published file is ` +
            `${f.bytes.toLocaleString('en-US')}). The file is damaged or not the expected one; nothing was kept.`,
        );
      }
    }
    log(`MD5 ok for ${source.files.length} file(s)`);
    let found = fetchDir;
    if (source.archive) {
      await fsp.mkdir(extractDir);
      const archive = join(fetchDir, source.files[0].name);
      await extractArchive(archive, extractDir, source.files[0].name);
      await fsp.rm(archive, { force: true });
      const inner = await findFileFolder(extractDir, CIFAR100_FILES.train);
      if (inner === null) throw new UserError(`${source.files[0].name}: the archive holds no ${CIFAR100_FILES.train}`);
      found = inner;
    }
    let counts: { train: number; test: number };
    try {
      counts = await validateDownloaded(name, found);
    } catch (e) {
      const msg = errorMessage(e).split(found + sep).join('');
      throw new UserError(`${base.href}: the downloaded files are not valid ${source.title} data: ${msg}`);
    }
    if (opts.force && (await isDir(target))) await fsp.rename(target, oldDir);
    try {
      await fsp.rename(found, target);
    } catch (e) {
      if (await isDir(oldDir)) await fsp.rename(oldDir, target).catch(() => undefined);
      throw new UserError(`cannot move the downloaded data to ${target}: ${errorMessage(e)}`);
    }
    log(`${source.title} ready in ${target} (${counts.train} training and ${counts.test} test images)`);
    installed = true;
    return target;
  } finally {
    release();
    for (const t of temps) await fsp.rm(t, { recursive: true, force: true });
    if (!installed) removeCreatedDirs(created);
  }
}

/** The folder (at most 3 levels down) that holds a file of this name. */
async function findFileFolder(root: string, file: string): Promise<string | null> {
  const queue = [root];
  for (let depth = 0; depth < 4 && queue.length > 0; depth++) {
    for (const d of queue.splice(0)) {
      if (await hasFile(d, file)) return d;
      for (const ent of await fsp.readdir(d, { withFileTypes: true })) if (ent.isDirectory()) queue.push(join(d, ent.name));
    }
  }
  return null;
}

/**
 * The folder `train` reads: `--data` as given; else, for a downloadable `--dataset`, data/<name>
 * (downloaded first when missing, unless noDownload); else CIFAR-10 as ensureCifar10 finds it.
 */
export async function ensureData(dataDir: string | undefined, kind: DatasetKind | undefined, opts: EnsureOptions): Promise<string> {
  if (dataDir !== undefined || kind === undefined || kind === 'cifar-10') return ensureCifar10(dataDir, opts);
  if (kind === 'image-folder') throw new UserError('--dataset image-folder: give the folder with --data <dir>');
  const root = opts.dataRoot ?? DEFAULT_DATA_DIR;
  const target = join(root, kind);
  if (await isDir(target)) return target;
  const title = DATASET_SOURCES[kind].title;
  if (opts.noDownload) {
    throw new UserError(`${title} not found in ${target}, and --no-download was given. Get it with \`cnnviz download ${kind}\`, or point to a copy with --data <dir>.`);
  }
  opts.log(`${title} not found in ${target}: downloading it first (about ${mb(sourceBytes(kind))} MB; --data <dir> uses a copy elsewhere, --no-download stops this)`);
  return downloadDataset(kind, { dir: root, log: opts.log, progress: opts.progress });
}
