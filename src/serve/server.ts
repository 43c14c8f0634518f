/**
 * The HTTP server of `cnnviz serve <folder>` and `cnnviz train --serve`: read-only, one folder.
 *
 * The folder is either one run (it has run.json, index.html or metrics.jsonl; always so for
 * `train --serve`) or a folder of runs (each direct subfolder with run.json or index.html is a run).
 *
 *   GET /                        the run's report (a run), or the runs page that lists and compares them
 *   GET /<run>/...               files of a run (static.ts rules: nothing outside the folder, no dot files)
 *   GET /.cnnviz/events?run=R    server-sent events of run R ("" for a single run): feed.ts
 *   GET /.cnnviz/runs            the runs as JSON (name, settings, epochs, metrics, picture folders)
 * A run folder without index.html yet (training before its first epoch) answers with a small page
 * that has the live chart and turns into the report when it is written. Folders are never listed.
 *
 * Only requests whose Host header names this server are answered (localhost, 127.0.0.1, [::1], the
 * address it listens on; with a wildcard address, this machine's addresses); others get 421. That
 * stops DNS rebinding: a web page at evil.example.com whose name is made to point at 127.0.0.1
 * reaches the port, but its requests carry Host: evil.example.com. Every answer carries a
 * Content-Security-Policy (CSP below): pages may run their own inline scripts and styles and load
 * from this server only, never from another origin.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorMessage, isUserError, UserError } from '../util/errors.js';
import { readRegularText } from '../util/regular-file.js';
import { liveScript } from '../viz/live-client.js';
import { RunFeed, listPictureFolders } from './feed.js';
import { runsPage } from './runs-page.js';
import { checkUrlPath, realRoot, resolveRequestPath, sendFile, sendText } from './static.js';

export const DEFAULT_PORT = 8080;
/** Ports tried after DEFAULT_PORT when --port is not given, before any free port. */
const PORT_TRIES = 20;

export interface ServeOptions {
  root: string;
  host?: string;
  /** Port to use; undefined = DEFAULT_PORT or the next free one. 0 = any free port. */
  port?: number;
  /** The folder is one run (train --serve) rather than found out from its files. */
  singleRun?: boolean;
  pollMs?: number;
  /** Open event streams at most (default 200); more get 503. */
  maxClients?: number;
  /** First port tried when `port` is not given (default DEFAULT_PORT; tests use their own). */
  basePort?: number;
  /**
   * Draws the chosen runs' pictures of one epoch at shared scales into outDir (see
   * src/train/compare.ts; passed in by the CLI so this folder does not depend on training code).
   * Without it the runs page shows each run's own pictures.
   */
  compare?: CompareFn;
}

/** Returns JSON with `layers[].quantities[].files[]` relative to outDir (or null). */
export type CompareFn = (runDirs: string[], names: string[], epoch: number, outDir: string) => Promise<{ layers: { quantities: { files: (string | null)[] }[] }[] }>;

/** Comparisons kept on disk (a temp folder removed on close), newest last. */
const COMPARE_CACHE = 6;

export interface RunningServer {
  url: string;
  host: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

/**
 * What pages served here may do: run their inline scripts and styles (the reports are single
 * self-contained files), load scripts, styles, pictures and data from this server (and data:/blob:
 * pictures they make themselves); no other origin, no plugins, no framing by other sites, no forms.
 */
export const CSP =
  "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
  "font-src 'self' data:; connect-src 'self'; media-src 'self' blob:; worker-src 'self' blob:; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const WILDCARDS = new Set(['0.0.0.0', '::', '[::]', '::0']);

/** The host part of a Host header, lower case, without the port and a trailing dot ("[::1]" keeps its brackets). */
export function hostOfHeader(header: string): string {
  const h = header.trim().toLowerCase();
  const name = h.startsWith('[') ? h.slice(0, h.indexOf(']') + 1) : h.replace(/:\d*$/, '');
  return name.replace(/\.$/, '');
}

/** The Host names a server listening on `host` answers to (see the module notes). */
export function allowedHostNames(host: string): Set<string> {
  const bracket = (a: string): string => (a.includes(':') && !a.startsWith('[') ? `[${a.replace(/%.*$/, '')}]` : a);
  const names = new Set(['localhost', '127.0.0.1', '[::1]', bracket(host.toLowerCase())]);
  if (WILDCARDS.has(host)) {
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) names.add(bracket(a.address.toLowerCase()));
  }
  return names;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The warning printed for a --host other than loopback, or undefined. */
export function hostWarning(host: string, root: string): string | undefined {
  return isLoopback(host)
    ? undefined
    : `warning: --host ${host} is not a loopback address: anyone who can reach this machine on the network can read the run(s) in ${root}`;
}

async function exists(path: string): Promise<boolean> {
  return fsp.stat(path).then(() => true, () => false);
}

/** Does this folder hold a run (rather than runs)? */
export async function isRunFolder(dir: string): Promise<boolean> {
  for (const f of ['run.json', 'index.html', 'metrics.jsonl']) if (await exists(join(dir, f))) return true;
  return false;
}

export interface RunListing {
  name: string;
  hasReport: boolean;
  settings: Record<string, unknown>;
  metrics: unknown[];
  pictures: string[];
}

async function readJson(path: string): Promise<unknown> {
  try {
    // Regular files only: a FIFO in a served folder must not block the thread pool.
    return JSON.parse(await readRegularText(path)) as unknown;
  } catch {
    return undefined;
  }
}

async function describeRun(dir: string, name: string): Promise<RunListing> {
  const run = (await readJson(join(dir, 'run.json'))) as { config?: Record<string, unknown> } | undefined;
  const c = run?.config ?? {};
  const opt = (c.optimizer ?? {}) as Record<string, unknown>;
  const settings: Record<string, unknown> = {
    model: c.model, optimizer: opt.method, lr: opt.learningRate, batchSize: c.batchSize, epochs: c.epochs, seed: c.seed, vizScale: c.vizScale,
  };
  const text = await readRegularText(join(dir, 'metrics.jsonl'));
  const metrics = text.split('\n').filter((l) => l.trim()).flatMap((l) => {
    try {
      return [JSON.parse(l) as unknown];
    } catch {
      return [];
    }
  });
  return { name, hasReport: await exists(join(dir, 'index.html')), settings, metrics, pictures: await listPictureFolders(dir) };
}

/** Direct subfolders that are runs, sorted by name. */
export async function listRuns(root: string): Promise<string[]> {
  let entries;
  try {
    entries = await fsp.readdir(root, { withFileTypes: true });
  } catch {
    return [];
  }
  const names = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name);
  const ok = await Promise.all(names.map(async (n) => ((await isRunFolder(join(root, n))) ? n : '')));
  return ok.filter((n) => n).sort();
}

function waitingPage(runName: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${runName.replace(/[<>&"]/g, '')} · cnnviz (live)</title>
<style>body{margin:0;font:15px/1.5 system-ui,sans-serif;color:#1d1d1f;background:#fafafa}header,main{max-width:1500px;margin:0 auto;padding:0 20px}header{padding-top:18px}</style>
</head><body><header><h1>${runName.replace(/[<>&"]/g, '')}</h1><p>Training has started; the report appears here after the first epoch.</p></header><main data-waiting="1"></main>
<script>${liveScript()}</script></body></html>
`;
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(e);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  // "" would listen on every interface (and print http://:PORT/).
  if (host.trim() === '') throw new UserError('--host: empty; give an address such as 127.0.0.1 (0.0.0.0 for every interface makes the runs visible to the network)');
  const hostNames = allowedHostNames(host);
  const pollMs = opts.pollMs ?? 500;
  const maxClients = opts.maxClients ?? 200;
  const rootGiven = opts.root;
  const single = opts.singleRun ?? (await isRunFolder(rootGiven));
  const feeds = new Map<string, RunFeed>();
  let streams = 0;

  const runDir = (root: string, run: string): string => (run === '' ? root : join(root, run));
  let compareRoot: string | undefined;
  const comparisons = new Map<string, Promise<unknown>>();

  /** GET /.cnnviz/compare?epoch=N&run=a&run=b: the comparison as JSON, drawn once and kept. */
  async function compareRoute(root: string, query: URLSearchParams, res: ServerResponse): Promise<void> {
    const json = (status: number, v: unknown) => sendText(res, status, JSON.stringify(v), 'application/json; charset=utf-8');
    const names = query.getAll('run');
    const epoch = Number(query.get('epoch'));
    if (!Number.isInteger(epoch) || epoch < 1) return json(400, { error: 'epoch: a whole number >= 1' });
    if (names.length < 1 || names.length > 8) return json(400, { error: 'choose 1 to 8 runs' });
    for (const n of names) {
      if (n.includes('/') || !checkUrlPath(`/${n}`).ok || !(await isRunFolder(join(root, n)))) return json(404, { error: `no such run: ${n}` });
    }
    const dirs = names.map((n) => join(root, n));
    if (!opts.compare) {
      // Each run's own pictures (their own scales).
      const layers = new Map<string, { title: string; quantities: Map<string, (string | null)[]> }>();
      for (let i = 0; i < dirs.length; i++) {
        const summary = (await readJson(join(dirs[i], `epoch-${String(epoch).padStart(3, '0')}`, 'epoch.json'))) as
          | { layers?: { index: number; type: string; description: string; files: Record<string, string> }[] }
          | undefined;
        for (const l of summary?.layers ?? []) {
          const key = `${l.index}-${l.type}`;
          if (!layers.has(key)) layers.set(key, { title: `Layer ${l.index} · ${l.type} — ${l.description}`, quantities: new Map() });
          for (const [q, f] of Object.entries(l.files)) {
            const files = layers.get(key)!.quantities.get(q) ?? new Array<string | null>(dirs.length).fill(null);
            files[i] = `/${encodeURIComponent(names[i])}/${f.split('/').map(encodeURIComponent).join('/')}`;
            layers.get(key)!.quantities.set(q, files);
          }
        }
      }
      return json(200, {
        note: 'Each picture at its own colour scale (printed on its colour bar).',
        layers: [...layers.values()].map((l) => ({ title: l.title, quantities: [...l.quantities].map(([q, files]) => ({ title: q, files })) })),
      });
    }
    const marks = await Promise.all(dirs.map((d) => fsp.stat(join(d, 'checkpoints', `epoch-${String(epoch).padStart(3, '0')}.json`)).then((s) => s.mtimeMs, () => 0)));
    const key = createHash('sha1').update(JSON.stringify([names, epoch, marks])).digest('hex').slice(0, 16);
    let job = comparisons.get(key);
    if (!job) {
      compareRoot ??= await fsp.mkdtemp(join(tmpdir(), 'cnnviz-compare-'));
      const out = join(compareRoot, key);
      const compare = opts.compare;
      job = compare(dirs, names, epoch, out).then((r) => {
        for (const l of r.layers) for (const q of l.quantities) q.files = q.files.map((f) => (f ? `/.cnnviz/compare-files/${key}/${f.split('/').map(encodeURIComponent).join('/')}` : null));
        return r;
      });
      comparisons.set(key, job);
      job.catch(() => comparisons.delete(key));
      while (comparisons.size > COMPARE_CACHE) {
        const oldest = comparisons.keys().next().value as string;
        comparisons.delete(oldest);
        void fsp.rm(join(compareRoot, oldest), { recursive: true, force: true });
      }
    }
    try {
      return json(200, await job);
    } catch (e) {
      return json(isUserError(e) ? 400 : 500, { error: errorMessage(e) });
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const asked = req.headers.host;
    if (asked === undefined || !hostNames.has(hostOfHeader(asked))) {
      return sendText(res, 421, `this server answers only to ${[...hostNames].slice(0, 4).join(', ')} (Host: ${JSON.stringify(asked ?? '')} refused)\n`);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return sendText(res, 405, 'read-only: GET and HEAD only\n');
    }
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : rawUrl.slice(q + 1));
    const root = realRoot(rootGiven);
    if (!root) return sendText(res, 404, 'the served folder no longer exists\n');

    if (rawPath === '/.cnnviz/events') {
      const run = query.get('run') ?? '';
      if (single ? run !== '' : !checkUrlPath(`/${run}`).ok || run === '' || run.includes('/')) return sendText(res, 404, 'no such run\n');
      const dir = runDir(root, run);
      if (!(await exists(dir))) return sendText(res, 404, 'no such run\n');
      if (streams >= maxClients) return sendText(res, 503, 'too many open event streams\n');
      let feed = feeds.get(run);
      if (!feed) {
        const f: RunFeed = new RunFeed(dir, pollMs, () => {
          if (feeds.get(run) === f) feeds.delete(run);
        });
        feeds.set(run, f);
        feed = f;
      }
      streams += 1;
      res.on('close', () => (streams -= 1));
      req.socket.setNoDelay(true);
      await feed.add(res);
      return;
    }
    if (rawPath === '/.cnnviz/compare' && !single) return compareRoute(root, query, res);
    if (rawPath.startsWith('/.cnnviz/compare-files/') && compareRoot) {
      const r = await resolveRequestPath(compareRoot, rawPath.slice('/.cnnviz/compare-files'.length));
      if (r.ok && (await sendFile(req, res, r.abs))) return;
      return sendText(res, r.ok ? 404 : r.status, 'not found\n');
    }
    if (rawPath === '/favicon.ico') {
      res.writeHead(204, { 'Cache-Control': 'max-age=86400' });
      res.end();
      return;
    }
    if (rawPath === '/.cnnviz/runs') {
      const names = single ? [''] : await listRuns(root);
      const runs = await Promise.all(names.map((n) => describeRun(runDir(root, n), n)));
      return sendText(res, 200, JSON.stringify({ single, runs }), 'application/json; charset=utf-8');
    }

    const resolved = await resolveRequestPath(root, rawPath);
    if (!resolved.ok) {
      // A run folder without its report yet: the waiting page with the live chart.
      if (resolved.status === 404 && /(^|\/)index\.html$/.test(rawPath)) {
        const parent = await resolveRequestPath(root, rawPath.replace(/index\.html$/, ''));
        if (parent.ok && (await isRunFolder(parent.abs))) return sendText(res, 200, waitingPage(parent.segments.at(-1) ?? 'cnnviz run'), 'text/html; charset=utf-8');
      }
      return sendText(res, resolved.status, `${resolved.status === 404 ? 'not found' : 'forbidden'}\n`);
    }
    const st = await fsp.stat(resolved.abs).catch(() => undefined);
    if (!st) return sendText(res, 404, 'not found\n');
    if (st.isDirectory()) {
      if (!rawPath.endsWith('/')) {
        res.writeHead(301, { Location: `${rawPath}/${q < 0 ? '' : rawUrl.slice(q)}` });
        res.end();
        return;
      }
      if (resolved.segments.length === 0 && !single) return sendText(res, 200, runsPage(), 'text/html; charset=utf-8');
      const index = join(resolved.abs, 'index.html');
      if (await sendFile(req, res, index)) return;
      if (resolved.segments.length === 0 || (resolved.segments.length === 1 && (await isRunFolder(resolved.abs)))) {
        return sendText(res, 200, waitingPage(resolved.segments[0] ?? 'cnnviz run'), 'text/html; charset=utf-8');
      }
      return sendText(res, 404, 'not found (folders are not listed)\n');
    }
    if (!(await sendFile(req, res, resolved.abs))) return sendText(res, 404, 'not found\n');
  }

  const server = createServer((req, res) => {
    res.setHeader('Content-Security-Policy', CSP);
    handle(req, res).catch(() => {
      if (!res.headersSent) sendText(res, 500, 'internal error\n');
      else res.destroy();
    });
  });
  server.on('clientError', (_e, socket) => socket.destroy());
  server.keepAliveTimeout = 5000;

  let port: number;
  if (opts.port !== undefined) {
    try {
      port = await listen(server, host, opts.port);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') throw new UserError(`--port ${opts.port}: port ${opts.port} on ${host} is already in use; choose another, or leave --port out to take the next free one`);
      if (code === 'EACCES') throw new UserError(`--port ${opts.port}: not allowed to listen on port ${opts.port} (ports below 1024 need root); choose another`);
      if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new UserError(`--host ${host}: no such address on this machine`);
      throw e;
    }
  } else {
    port = -1;
    const base = opts.basePort ?? DEFAULT_PORT;
    for (let p = base; p <= base + PORT_TRIES && port < 0; p++) {
      try {
        port = await listen(server, host, p);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new UserError(`--host ${host}: no such address on this machine`);
        if (code !== 'EADDRINUSE') throw e;
      }
    }
    if (port < 0) port = await listen(server, host, 0);
  }
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}/`,
    host,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        for (const f of [...feeds.values()]) f.stop();
        if (compareRoot) void fsp.rm(compareRoot, { recursive: true, force: true });
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
