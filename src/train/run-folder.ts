/**
 * The output folder of a training run (or of `visualize`), claimed before anything is written into it:
 * - a lock file (`.cnnviz.lock`, created exclusively, holding the pid, the process's start time and
 *   the boot id) so a second run into the same folder at the same time fails with exit 2 instead of
 *   mixing files. A lock is stale (and taken over) when its process is gone, the machine has been
 *   rebooted since, or its pid now belongs to another process (a different start time; a lock
 *   without one: a process that is not cnnviz). The lock is removed when the process exits.
 * - a list of the files the run writes (`.cnnviz-files`, one JSON string per line, relative paths),
 *   appended before each file is first written. `--overwrite` removes exactly those files (and the
 *   folders that they leave empty) and nothing else; a non-empty folder without the list holds no
 *   cnnviz run that can be replaced, and is refused.
 * - no write goes through a symbolic link inside the folder (a linked subfolder is refused; a linked
 *   file is replaced by the rename, never written through).
 * - taking the lock removes the temp files a killed run left in the folders it wrote.
 * - the folder a `--resume` continues in: the checkpoint's run folder only when it is one (run.json).
 */
import { closeSync, constants, existsSync, fstatSync, lstatSync, openSync, readdirSync, readFileSync, readSync, rmdirSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ensureWritableDir, ioReason, pidAlive, removeStaleTemps, setWriteHook } from '../util/atomic-write.js';
import { UserError } from '../util/errors.js';

export const LOCK_FILE = '.cnnviz.lock';
/** The list of files a run wrote (see the module notes). */
export const FILE_LIST = '.cnnviz-files';

/**
 * The folder `--resume <checkpoint>` continues in when no --out is given: the run folder the
 * checkpoint sits in (`<run>/checkpoints/<file>`), but only when it is one (it has run.json).
 */
export function resumeFolder(checkpoint: string): string {
  const run = runFolderOf(checkpoint);
  if (run === undefined) {
    const dir = dirname(resolve(checkpoint));
    const where = basename(dir) === 'checkpoints' ? dirname(dir) : dir;
    throw new UserError(
      `--resume ${checkpoint}: the checkpoint is not inside a run folder (no run.json in ${where}); say where the run continues with --out <dir>`,
    );
  }
  return run;
}

/** The run folder a checkpoint sits in (`<run>/checkpoints/<file>` with `<run>/run.json`), if it is in one. */
export function runFolderOf(checkpoint: string): string | undefined {
  const dir = dirname(resolve(checkpoint));
  const run = basename(dir) === 'checkpoints' ? dirname(dir) : dir;
  return existsSync(join(run, 'run.json')) ? run : undefined;
}

export interface ClaimOptions {
  /** The option that named the folder, for messages. */
  what: string;
  /** Replace an existing run's files. */
  overwrite: boolean;
  /** The run folder of the checkpoint being resumed: writing into it is continuing, not overwriting. */
  resuming?: string;
}

export interface RunFolder {
  dir: string;
  /** Remove the lock (also done on process exit). */
  release(): void;
}

/** What a lock file records about the process holding it. */
interface LockHolder {
  pid: number;
  /** Start time of the process in clock ticks since boot (/proc/<pid>/stat field 22), when known. */
  start?: number;
  /** /proc/sys/kernel/random/boot_id when it was taken, when known. */
  boot?: string;
}

function readSmall(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** A process's start time in clock ticks since boot, from /proc (Linux); undefined elsewhere or when gone. */
export function processStartTime(pid: number): number | undefined {
  const stat = readSmall(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // Fields after the command name (which may hold spaces and parentheses): state is field 3, starttime 22.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const start = Number(fields[19]);
  return Number.isFinite(start) ? start : undefined;
}

function bootId(): string | undefined {
  return readSmall('/proc/sys/kernel/random/boot_id')?.trim() || undefined;
}

/** The holder a lock file's text names: `{"pid":..,"start":..,"boot":".."}`, or an older lock's bare pid. */
export function parseLock(text: string): LockHolder | undefined {
  const t = text.trim();
  if (/^\d+$/.test(t)) return { pid: Number(t) };
  try {
    const o = JSON.parse(t) as Record<string, unknown>;
    if (!Number.isSafeInteger(o.pid) || (o.pid as number) <= 0) return undefined;
    return {
      pid: o.pid as number,
      start: Number.isSafeInteger(o.start) ? (o.start as number) : undefined,
      boot: typeof o.boot === 'string' ? o.boot : undefined,
    };
  } catch {
    return undefined;
  }
}

/** Whether the process a lock names is still the one that took it (see the module notes). */
export function lockHolderAlive(h: LockHolder): boolean {
  if (h.pid === process.pid || !pidAlive(h.pid)) return false;
  const boot = bootId();
  if (h.boot !== undefined && boot !== undefined && h.boot !== boot) return false;
  const start = processStartTime(h.pid);
  if (h.start !== undefined) return start === undefined || start === h.start;
  // A lock without a start time (older cnnviz, or written by hand, e.g. "1"): trust it only when
  // that pid runs cnnviz (bin/cnnviz.js, or a `cnnviz` launcher, among its arguments).
  const cmdline = readSmall(`/proc/${h.pid}/cmdline`);
  return cmdline === undefined || cmdline.split('\0').some((arg) => /(^|\/)cnnviz(\.js)?$/.test(arg));
}

function describeKind(path: string): string {
  try {
    const st = lstatSync(path);
    if (st.isSymbolicLink()) return existsSync(path) ? 'a symbolic link' : 'a symbolic link to nothing';
    if (st.isDirectory()) return 'a folder';
    return st.isFile() ? 'a file' : 'a special file';
  } catch {
    return 'missing';
  }
}

/** The text of an existing lock, read without following a link or blocking on a FIFO; undefined when it is not a regular file. */
function readLockText(lock: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(lock, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? '' : undefined;
  }
  try {
    if (!fstatSync(fd).isFile()) return undefined;
    const buf = Buffer.alloc(4096);
    return buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

function takeLock(dir: string, what: string): () => void {
  const lock = join(dir, LOCK_FILE);
  const clear = `if no cnnviz run is writing there, delete ${lock}`;
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(lock, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new UserError(`${what} ${dir}: cannot write there: ${ioReason(e)}`);
      const text = readLockText(lock);
      if (text === undefined) {
        throw new UserError(`${what} ${dir}: ${lock} is ${describeKind(lock)}, not a cnnviz lock file; ${clear}`);
      }
      const holder = parseLock(text);
      if (holder && lockHolderAlive(holder)) {
        throw new UserError(`${what} ${dir}: another cnnviz run (pid ${holder.pid}) is writing there; wait for it or choose another folder (${clear})`);
      }
      // Left by a process that died, or whose pid now runs something else, or unreadable: take it over.
      rmSync(lock, { force: true });
      continue;
    }
    const text = `${JSON.stringify({ pid: process.pid, start: processStartTime(process.pid), boot: bootId() })}\n`;
    writeSync(fd, text);
    closeSync(fd);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      process.removeListener('exit', release);
      if (readLockText(lock) === text) rmSync(lock, { force: true });
    };
    process.on('exit', release);
    return release;
  }
  throw new UserError(`${what} ${dir}: another cnnviz run is taking the folder at the same moment`);
}

/** A relative path from the file list that stays inside the folder (a damaged list must not reach out). */
function safeRelative(rel: unknown): string | undefined {
  if (typeof rel !== 'string' || rel === '' || rel.includes('\0') || rel.includes('\\') || isAbsolute(rel)) return undefined;
  const parts = rel.split('/');
  return parts.every((p) => p !== '' && p !== '.' && p !== '..') ? rel : undefined;
}

/** The relative paths in a folder's file list; undefined when there is none. Refuses a list that is not a regular file. */
function readFileList(dir: string, what: string): string[] | undefined {
  const path = join(dir, FILE_LIST);
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return undefined;
  }
  if (!st.isFile()) throw new UserError(`${what} ${dir}: ${path} is ${describeKind(path)}, not cnnviz's list of the run's files; remove it`);
  const out: string[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line) continue;
    try {
      const rel = safeRelative(JSON.parse(line));
      // Never the lock (taken by this process now) or the list itself.
      if (rel !== undefined && rel !== LOCK_FILE && rel !== FILE_LIST) out.push(rel);
    } catch {
      // a damaged line (cut by a crash): skip it
    }
  }
  return out;
}

/** Whether every folder between `dir` and `rel`'s file is a real folder (no symlink on the way). */
function realFoldersTo(dir: string, rel: string): boolean {
  const parts = rel.split('/');
  let cur = dir;
  for (const p of parts.slice(0, -1)) {
    cur = join(cur, p);
    try {
      const st = lstatSync(cur);
      if (!st.isDirectory()) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/** The folders (relative, '' = the run folder) that hold the listed files, deepest first. */
function listedFolders(files: Iterable<string>): string[] {
  const dirs = new Set<string>(['']);
  for (const f of files) {
    const parts = f.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  return [...dirs].sort((a, b) => b.split('/').length - a.split('/').length || (a < b ? 1 : -1));
}

/** Remove the temp files killed runs left in the folders the listed files are in (and the run folder). */
function removeLeftTemps(dir: string, files: Iterable<string>): void {
  for (const d of listedFolders(files)) {
    if (d === '' || realFoldersTo(dir, `${d}/x`)) removeStaleTemps(join(dir, d));
  }
}

/** Remove the listed files (never through a symlinked folder; never a folder), then the folders they leave empty. */
function removeListedFiles(dir: string, files: string[]): void {
  removeLeftTemps(dir, files);
  for (const rel of files) {
    if (!realFoldersTo(dir, rel)) continue;
    const abs = join(dir, rel);
    try {
      if (lstatSync(abs).isDirectory()) continue;
    } catch {
      continue;
    }
    rmSync(abs, { force: true });
  }
  for (const d of listedFolders(files)) {
    if (d === '' || !realFoldersTo(dir, `${d}/x`)) continue;
    try {
      rmdirSync(join(dir, d));
    } catch {
      // not empty (a file of yours, or a left-over we did not write): kept
    }
  }
}

/**
 * The write hook while a run holds its folder: refuses a write whose path goes through a symlinked
 * folder inside the run folder, and appends each new file to the list before it is first written.
 */
function fileListHook(dir: string, listed: Set<string>): (path: string) => void {
  const list = join(dir, FILE_LIST);
  return (path: string) => {
    const rel = relative(dir, resolve(path));
    if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) return;
    const posix = rel.split(sep).join('/');
    if (!realFoldersTo(dir, posix)) {
      throw new UserError(`${path}: a folder on its path inside ${dir} is a symbolic link or not a folder; cnnviz never writes through links in a run folder`);
    }
    if (listed.has(posix)) return;
    let fd: number;
    try {
      fd = openSync(list, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o644);
    } catch (e) {
      throw new UserError(`${list}: cannot write: ${ioReason(e)}`);
    }
    try {
      writeSync(fd, `${JSON.stringify(posix)}\n`);
    } finally {
      closeSync(fd);
    }
    listed.add(posix);
  };
}

/**
 * Create (if needed) and lock the run folder, then refuse it when it holds files that are not the
 * run being resumed (unless overwrite, which removes the listed files of the run in it). Call after
 * every input has been validated: this is the first write of a run. Until release, every atomic
 * write into the folder is listed and checked (fileListHook).
 */
export function claimRunFolder(dir: string, opts: ClaimOptions): RunFolder {
  ensureWritableDir(dir, opts.what);
  const release = takeLock(dir, opts.what);
  let listed: Set<string>;
  try {
    const resuming = opts.resuming !== undefined && resolve(opts.resuming) === resolve(dir);
    const files = readFileList(dir, opts.what);
    const entries = readdirSync(dir).filter((n) => n !== LOCK_FILE && n !== FILE_LIST);
    if (resuming) {
      listed = new Set(files ?? []);
      // checkpoints/ too: a run from an older cnnviz has no list.
      removeLeftTemps(dir, [...listed, 'checkpoints/x']);
    } else {
      const some = `${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}, e.g. ${entries[0]}`;
      if (entries.length > 0 && files === undefined) {
        const older = entries.includes('run.json') || entries.includes('index.html');
        throw new UserError(
          `${opts.what} ${dir}: the folder is not empty (${some}) and ` +
            (older
              ? `its run was written by an older cnnviz that did not list its files (${FILE_LIST}), so --overwrite cannot tell them from yours; move or delete them yourself, or choose a new folder`
              : `holds no cnnviz run (no ${FILE_LIST}); choose a new or empty folder`),
        );
      }
      if (entries.length > 0 && !opts.overwrite) {
        throw new UserError(`${opts.what} ${dir}: the folder is not empty (${some}); choose a new folder, or pass --overwrite to replace the run in it`);
      }
      if (files !== undefined) removeListedFiles(dir, files);
      rmSync(join(dir, FILE_LIST), { force: true });
      listed = new Set();
    }
  } catch (e) {
    release();
    throw e;
  }
  setWriteHook(fileListHook(dir, listed));
  return {
    dir,
    release: () => {
      setWriteHook(undefined);
      release();
    },
  };
}
