/**
 * Reading files the user names (--model, --image, a checkpoint's binary) or that sit in a served
 * folder, without hanging or swallowing an endless stream: a FIFO, /dev/zero or a socket is refused
 * with one line instead of being read.
 *
 * Files are opened with O_NONBLOCK (opening a FIFO for reading then returns at once instead of
 * waiting for a writer, which would block the thread, or a libuv pool thread, for ever) and checked
 * with fstat on that same descriptor, so a file swapped between a check and the open is still caught.
 * Only regular files are read, and only their fstat size (a file growing meanwhile is not followed).
 */
import { closeSync, constants, fstatSync, openSync, promises as fsp, readSync, type Stats } from 'node:fs';
import { ioReason } from './atomic-write.js';
import { UserError } from './errors.js';

const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

/** What a non-regular file is, for messages. */
export function fileKind(st: Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

export interface RegularFileOptions {
  /** Prefix of messages, e.g. "--model". Default: none. */
  what?: string;
  /** Refuse files larger than this many bytes (default: no limit). */
  maxBytes?: number;
  /** The message for a missing file (default "no such file"). */
  missing?: string;
}

function label(path: string, opts: RegularFileOptions): string {
  return opts.what ? `${opts.what} ${path}` : path;
}

/**
 * Open `path` for reading when it is a regular file; returns the descriptor and its size. Throws a
 * UserError naming the file otherwise (missing, a folder, a FIFO, a device, unreadable, too large).
 */
export function openRegularFile(path: string, opts: RegularFileOptions = {}): { fd: number; size: number } {
  let fd: number;
  try {
    fd = openSync(path, READ_FLAGS);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError(`${label(path, opts)}: ${opts.missing ?? 'no such file'}`);
    if (code === 'EISDIR') throw new UserError(`${label(path, opts)}: is a folder, not a file`);
    throw new UserError(`${label(path, opts)}: cannot read: ${ioReason(e)}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new UserError(`${label(path, opts)}: is ${fileKind(st)}, not a regular file`);
    if (opts.maxBytes !== undefined && st.size > opts.maxBytes) {
      throw new UserError(`${label(path, opts)}: ${st.size} bytes is too large (at most ${opts.maxBytes})`);
    }
    return { fd, size: st.size };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/** Read up to `length` bytes at `position` (fewer at the end of the file). */
function readAt(fd: number, into: Uint8Array, position: number): number {
  let at = 0;
  while (at < into.length) {
    let n: number;
    try {
      n = readSync(fd, into, at, into.length - at, position + at);
    } catch (e) {
      // O_NONBLOCK only matters for the open; a regular file never answers EAGAIN, but be safe.
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      throw e;
    }
    if (n <= 0) break;
    at += n;
  }
  return at;
}

/** The whole content of a regular file (see openRegularFile for what is refused). */
export function readRegularFileSync(path: string, opts: RegularFileOptions = {}): Buffer {
  const { fd, size } = openRegularFile(path, opts);
  try {
    const buf = Buffer.allocUnsafe(size);
    const n = readAt(fd, buf, 0);
    return n === size ? buf : buf.subarray(0, n);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${label(path, opts)}: cannot read: ${ioReason(e)}`);
  } finally {
    closeSync(fd);
  }
}

/**
 * The first `n` bytes of `path` (fewer when it is shorter), or undefined when it is not a readable
 * regular file. For telling formats apart without reading a whole file.
 */
export function readFileHead(path: string, n: number): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(path, READ_FLAGS);
  } catch {
    return undefined;
  }
  try {
    if (!fstatSync(fd).isFile()) return undefined;
    const buf = Buffer.alloc(n);
    return buf.subarray(0, readAt(fd, buf, 0));
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * Async read of a regular file for the server (never blocks a pool thread on a FIFO). Resolves
 * undefined when the file is missing, not regular, larger than maxBytes or unreadable.
 */
export async function readRegularFile(path: string, maxBytes = Infinity): Promise<Buffer | undefined> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(path, READ_FLAGS);
  } catch {
    return undefined;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile() || st.size > maxBytes) return undefined;
    const buf = Buffer.allocUnsafe(st.size);
    let at = 0;
    while (at < st.size) {
      const { bytesRead } = await fh.read(buf, at, st.size - at, at);
      if (bytesRead <= 0) break;
      at += bytesRead;
    }
    return buf.subarray(0, at);
  } catch {
    return undefined;
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** Async readRegularFile as UTF-8 text, or `fallback`. */
export async function readRegularText(path: string, fallback = ''): Promise<string> {
  return (await readRegularFile(path))?.toString('utf8') ?? fallback;
}
