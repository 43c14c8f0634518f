/**
 * Generic HTTP(S) download of one file: redirects followed (at most 10, http and https only), the
 * body streamed into a new file while its MD5 is computed, and a transfer that stalls, trickles,
 * grows past a size cap or stops short of its Content-Length ended with one clear message. Nothing
 * here knows which data set it fetches; the caller checks the MD5 and removes the file on failure.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UserError, errorMessage } from './errors.js';
import { makeProgress, type ProgressMode, type ProgressOutput } from './progress.js';

const MAX_REDIRECTS = 10;
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
export const DEFAULT_MIN_BYTES_PER_SECOND = 16 * 1024;
export const DEFAULT_RATE_GRACE_MS = 60_000;

/** How a transfer is shown and when it is given up. */
export interface FetchLimits {
  /** 'auto' (default): a bar when `progressOutput` is a TTY, otherwise a line every 10%. */
  progress?: ProgressMode;
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
}

export interface FetchOptions extends FetchLimits {
  signal: AbortSignal;
  /** Most bytes accepted (a body without Content-Length has no other bound). */
  maxBytes: number;
  /** What the file is, for the size-cap messages ("a CIFAR-10 archive"). */
  what: string;
  /** Appended to a failed connection's message: what else the user can do. */
  hint: string;
}

export function seconds(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`;
}

/** An http or https URL, or a UserError naming `option`. */
export function parseHttpUrl(raw: string, option: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new UserError(`${option}: not a valid URL: "${raw}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new UserError(`${option}: only http and https URLs are supported, got "${raw}" (for a local file use --from)`);
  }
  return parsed;
}

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
export async function fetchToFile(url: URL, dest: string, opts: FetchOptions): Promise<{ md5: string; bytes: number }> {
  const { signal, maxBytes, what } = opts;
  const idleMs = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const minRate = opts.minBytesPerSecond ?? DEFAULT_MIN_BYTES_PER_SECOND;
  const graceMs = opts.rateGraceMs ?? DEFAULT_RATE_GRACE_MS;
  const stop: StopReason = {};
  const t0 = Date.now();
  let res: http.IncomingMessage;
  try {
    res = await request(url, signal, idleMs, 0, stop);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`download of ${url.href} failed: ${stop.reason ?? errorMessage(e)}. ${opts.hint}`);
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

/** MD5 and size of a local file (a tarball given with --from). */
export async function md5OfFile(path: string): Promise<{ md5: string; bytes: number }> {
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
