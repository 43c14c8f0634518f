/**
 * Read-only static files under one folder, for `cnnviz serve`.
 *
 * resolveRequestPath() decides which file a URL path may name: the decoded path must be plain
 * segments (no "..", ".", empty or dot-led segments, no backslash, NUL or drive letter), and the real
 * path (symlinks followed) must stay inside the real served folder; otherwise 403. Dot-led names are
 * refused because the atomic writer's temp files start with a dot: a half-written file is never served.
 *
 * sendFile() serves regular files only: it opens with O_NONBLOCK (a FIFO would otherwise block a
 * thread of libuv's pool until a writer came, and a few such requests stop the server and the
 * training in the same process) and checks fstat of that descriptor. It opens the file first and answers from that descriptor (fstat for the length, a stream
 * from the same descriptor): a file replaced (temp + rename) or deleted meanwhile is served whole as it
 * was when opened, and a failing read ends that response, never the process.
 *
 * Why not sirv or serve-handler: sirv's dev mode (needed: files appear while training) stats and then
 * opens by name with an unhandled stream error (a file deleted in between crashes the process; one
 * replaced in between is sent with the old length), follows symlinks out of the folder and serves dot
 * files; serve-handler pulls in directory listings, rewrites and old path-to-regexp/minimatch. What we
 * need is ~100 lines; the content types come from mrmime (the table sirv uses).
 */
import { constants, promises as fsp, realpathSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, sep } from 'node:path';
import { lookup } from 'mrmime';

export type Resolved = { ok: true; abs: string; segments: string[] } | { ok: false; status: 400 | 403 | 404; reason: string };

const EXTRA_TYPES: Record<string, string> = { jsonl: 'application/x-ndjson', map: 'application/json' };

export function contentType(name: string): string {
  const ext = name.slice(name.lastIndexOf('.') + 1).toLowerCase();
  const t = EXTRA_TYPES[ext] ?? lookup(name) ?? 'application/octet-stream';
  return /^text\/|json|javascript|svg/.test(t) ? `${t}; charset=utf-8` : t;
}

/** The real path of the served folder, or undefined when it does not exist (any more). */
export function realRoot(root: string): string | undefined {
  try {
    return realpathSync(root);
  } catch {
    return undefined;
  }
}

function inside(real: string, rootReal: string): boolean {
  return real === rootReal || real.startsWith(rootReal.endsWith(sep) ? rootReal : rootReal + sep);
}

/** Checks a URL path (the part before "?", still percent-encoded) against the rules above. */
export function checkUrlPath(rawPath: string): { ok: true; segments: string[] } | { ok: false; status: 400 | 403; reason: string } {
  if (!rawPath.startsWith('/') || rawPath.startsWith('//')) return { ok: false, status: 403, reason: 'not a relative path' };
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return { ok: false, status: 400, reason: 'malformed percent-encoding' };
  }
  if (/[\\\0]/.test(decoded) || /%5c|%00/i.test(rawPath)) return { ok: false, status: 403, reason: 'backslash or NUL in path' };
  const segments = decoded.split('/').slice(1);
  if (segments.length > 0 && segments[segments.length - 1] === '') segments.pop();
  for (const s of segments) {
    if (s === '' || s.startsWith('.') || /^[a-zA-Z]:/.test(s)) return { ok: false, status: 403, reason: `segment "${s}" not allowed` };
  }
  return { ok: true, segments };
}

/** The file or folder a URL path names inside rootReal (which must be a real path), following the rules above. */
export async function resolveRequestPath(rootReal: string, rawPath: string): Promise<Resolved> {
  const checked = checkUrlPath(rawPath);
  if (!checked.ok) return checked;
  const abs = join(rootReal, ...checked.segments);
  let real: string;
  try {
    real = await fsp.realpath(abs);
  } catch {
    return { ok: false, status: 404, reason: 'not found' };
  }
  if (!inside(real, rootReal)) return { ok: false, status: 403, reason: 'outside the served folder' };
  return { ok: true, abs: real, segments: checked.segments };
}

export function sendText(res: ServerResponse, status: number, text: string, type = 'text/plain; charset=utf-8'): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
  res.end(text);
}

/** Sends one regular file (GET or HEAD). Returns false (nothing sent) when it is not a regular file. */
export async function sendFile(req: IncomingMessage, res: ServerResponse, abs: string): Promise<boolean> {
  let fh: Awaited<ReturnType<typeof fsp.open>>;
  try {
    fh = await fsp.open(abs, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return false;
  }
  let st;
  try {
    st = await fh.stat();
  } catch {
    await fh.close().catch(() => undefined);
    return false;
  }
  if (!st.isFile()) {
    await fh.close().catch(() => undefined);
    return false;
  }
  const etag = `W/"${st.ino.toString(16)}-${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
  const headers = {
    'Content-Type': contentType(abs),
    'Content-Length': st.size,
    'Last-Modified': st.mtime.toUTCString(),
    ETag: etag,
    // Files change while training: always revalidate (cheap, 304 when unchanged).
    'Cache-Control': 'no-cache',
    'X-Content-Type-Options': 'nosniff',
  };
  if (req.headers['if-none-match'] === etag) {
    await fh.close().catch(() => undefined);
    res.writeHead(304, { ETag: etag, 'Cache-Control': 'no-cache' });
    res.end();
    return true;
  }
  res.writeHead(200, headers);
  if (req.method === 'HEAD' || st.size === 0) {
    await fh.close().catch(() => undefined);
    res.end();
    return true;
  }
  const stream = fh.createReadStream({ start: 0, end: st.size - 1, autoClose: true });
  stream.on('error', () => res.destroy());
  res.on('close', () => stream.destroy());
  stream.pipe(res);
  return true;
}
