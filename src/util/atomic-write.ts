/**
 * Atomic file writes (temp file in the same folder, then rename) and safe folder creation.
 *
 * - Folders are created one level at a time from the nearest existing ancestor, never with
 *   `mkdir -p` (recursive mkdir loops forever on paths like /proc/foo, where the kernel answers
 *   ENOENT for a folder it will never create).
 * - Every temp file in flight is remembered and removed on any exit of the process (normal end,
 *   error, process.exit after Ctrl-C/SIGTERM). Temps left by a process killed hard (SIGKILL) are
 *   removed by removeStaleTemps the next time a run uses the folder.
 * - A failed write throws a UserError of one line naming the file (ENOSPC, EROFS, ENOTDIR...),
 *   never a stack trace, and leaves no temp file.
 * - Every write first calls the write hook (setWriteHook; a run folder's owner uses it to refuse
 *   writes through symbolic links and to list the files the run writes), once its folder exists and
 *   before the temp file is created. The rename replaces a symlink at the target itself, never the
 *   file it points to.
 */
import { accessSync, constants, promises as fsp, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { errorMessage, UserError } from './errors.js';

let counter = 0;
let writeHook: ((path: string) => void) | undefined;

/** Install (or with undefined remove) the function every write calls first with its target path; it may throw to refuse. */
export function setWriteHook(hook: ((path: string) => void) | undefined): void {
  writeHook = hook;
}

/** Tell the write hook about a file written some other way (an append). */
export function noteWrite(path: string): void {
  writeHook?.(path);
}
const liveTemps = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', removeLiveTemps);
}

/** Remove every temp file this process is still writing (exit paths). */
export function removeLiveTemps(): void {
  for (const t of liveTemps) rmSync(t, { force: true });
  liveTemps.clear();
}

const TEMP_RE = /^\..+\.(\d+)\.\d+\.tmp$/;

function tempNameFor(path: string): string {
  counter += 1;
  installExitHook();
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${counter}.tmp`);
  liveTemps.add(tmp);
  return tmp;
}

/** Whether a process with this id exists (EPERM: it does, owned by someone else). Used for stale temp files and locks. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Remove temp files (`.<name>.<pid>.<n>.tmp`) in `dir` left by processes that no longer exist (never following a symlink). */
export function removeStaleTemps(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = TEMP_RE.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || pidAlive(pid)) continue;
    // rm of a symlink removes the link; a folder with a temp's name is not ours.
    try {
      if (lstatSync(join(dir, name)).isDirectory()) continue;
    } catch {
      continue;
    }
    rmSync(join(dir, name), { force: true });
  }
}

const REASONS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'it is a folder',
  ENOENT: 'the folder cannot be created there',
  EEXIST: 'a file is in the way',
};

/** One line for a failed file operation: what the system said, in words, with its code. */
export function ioReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code && REASONS[code]) return `${REASONS[code]} (${code})`;
  return errorMessage(e).split('\n')[0];
}

function writeError(path: string, e: unknown): UserError {
  if (e instanceof UserError) return e;
  return new UserError(`${path}: cannot write: ${ioReason(e)}`);
}

/** The ancestors of `dir` that do not exist yet, outermost first; fails when a file is in the way. */
function missingFolders(dir: string): string[] {
  const missing: string[] = [];
  let cur = resolve(dir);
  for (;;) {
    let isDir: boolean;
    try {
      isDir = statSync(cur).isDirectory();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw e;
      missing.push(cur);
      const parent = dirname(cur);
      if (parent === cur) throw e;
      cur = parent;
      continue;
    }
    if (!isDir) throw Object.assign(new Error(`${cur} is a file, not a folder`), { code: 'ENOTDIR' });
    return missing.reverse();
  }
}

/**
 * Create `dir` and its missing parents, one level at a time (see the module notes: no recursive
 * mkdir). Throws the system error (ENOTDIR, ENOENT, EACCES...) at the first level that fails.
 */
export function makeDirs(dir: string): void {
  for (const d of missingFolders(dir)) {
    try {
      mkdirSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(d).isDirectory()) throw e;
    }
  }
}

// Fault injection for tests of a full disk: CNNVIZ_TEST_DISK_FULL_AFTER=<bytes> makes the atomic
// writes of this process fail with ENOSPC once that many bytes have been written (half the file that
// crosses the limit is written first, as a real full disk would).
const diskFullAfter = process.env.CNNVIZ_TEST_DISK_FULL_AFTER === undefined ? Infinity : Number(process.env.CNNVIZ_TEST_DISK_FULL_AFTER);
let bytesWritten = 0;

function injectedFull(size: number): boolean {
  if (bytesWritten + size <= diskFullAfter) {
    bytesWritten += size;
    return false;
  }
  return true;
}

function enospc(): Error {
  return Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
}

/**
 * Write a file so that readers see either the old content or the whole new content, never half:
 * write a temp file in the same folder, then rename it over the target. Failures throw a UserError
 * naming `path`; the temp file is removed.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array | Uint8Array[]): Promise<void> {
  try {
    makeDirs(dirname(path));
    writeHook?.(path);
  } catch (e) {
    throw writeError(path, e);
  }
  const tmp = tempNameFor(path);
  try {
    const size = typeof data === 'string' ? Buffer.byteLength(data) : Array.isArray(data) ? data.reduce((a, c) => a + c.byteLength, 0) : data.byteLength;
    if (injectedFull(size)) {
      await fsp.writeFile(tmp, typeof data === 'string' ? data.slice(0, data.length >> 1) : Array.isArray(data) ? (data[0] ?? new Uint8Array(0)) : data.subarray(0, size >> 1), { flag: 'wx' });
      throw enospc();
    }
    // Chunks (several tensors) are written one after the other, never concatenated in memory.
    // 'wx' (O_CREAT | O_EXCL): a link planted at the temp's predictable name is never followed.
    await fsp.writeFile(tmp, data, { flag: 'wx' });
    await fsp.rename(tmp, path);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw writeError(path, e);
  } finally {
    liveTemps.delete(tmp);
  }
}

/** Synchronous twin of writeFileAtomic, for exit paths where awaiting is not possible. */
export function writeFileAtomicSync(path: string, data: string | Uint8Array): void {
  let tmp: string | undefined;
  try {
    makeDirs(dirname(path));
    writeHook?.(path);
    tmp = tempNameFor(path);
    const size = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
    if (injectedFull(size)) throw enospc();
    writeFileSync(tmp, data, { flag: 'wx' });
    renameSync(tmp, path);
  } catch (e) {
    if (tmp) rmSync(tmp, { force: true });
    throw writeError(path, e);
  } finally {
    if (tmp) liveTemps.delete(tmp);
  }
}

/**
 * Fail fast (one line, exit 2) unless `dir` is, or can be made, a writable folder. `what` names the
 * option for the message, e.g. "--out".
 */
export function ensureWritableDir(dir: string, what: string): void {
  try {
    makeDirs(dir);
    accessSync(dir, constants.W_OK);
    // Root passes access() on read-only mounts: probe with a real file.
    const probe = join(dir, `.cnnviz-write-test.${process.pid}.${++counter}.tmp`);
    liveTemps.add(probe);
    try {
      writeFileSync(probe, '', { flag: 'wx' });
    } finally {
      rmSync(probe, { force: true });
      liveTemps.delete(probe);
    }
  } catch (e) {
    throw new UserError(`${what} ${dir}: cannot write there: ${ioReason(e)}`);
  }
}
