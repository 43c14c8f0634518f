import { appendFileSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostWarning, isLoopback, startServer, type RunningServer } from '../../src/serve/server.js';
import { checkUrlPath } from '../../src/serve/static.js';
import { tempDir } from '../data/fixtures.js';
import { rawGet, SseClient } from './helpers.js';

const PNG_1PX = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a5d1a2a90000000049454e44ae426082', 'hex');

function point(step: number): string {
  return `${JSON.stringify({ t: step, step, epoch: 1, epochs: 2, batch: step, batches: 100, loss: 2 - step / 100, accuracy: step / 200, epochLoss: 2, epochAccuracy: 0.1, imagesPerSecond: 500, n: 1 })}\n`;
}

/** A folder of runs: a/ (report, pictures, metrics, live.jsonl), b/ (run.json only), a secret beside it, symlinks. */
function makeRuns(): { root: string; outside: string } {
  const base = tempDir('cnnviz-serve-');
  const root = join(base, 'runs');
  const a = join(root, 'a');
  mkdirSync(join(a, 'epoch-001', '01-conv'), { recursive: true });
  mkdirSync(join(a, 'empty-folder'), { recursive: true });
  mkdirSync(join(root, 'b'), { recursive: true });
  writeFileSync(join(a, 'index.html'), '<!doctype html><title>a</title><header><h1>a</h1></header><main>report</main>');
  writeFileSync(join(a, 'run.json'), JSON.stringify({ config: { model: 'm', batchSize: 8, epochs: 2, optimizer: { method: 'sgd', learningRate: 0.01 } } }));
  writeFileSync(join(a, 'metrics.jsonl'), `${JSON.stringify({ epoch: 1, testAccuracy: 0.25, trainLoss: 2 })}\n`);
  writeFileSync(join(a, 'metrics.csv'), 'epoch,trainLoss\n1,2\n');
  writeFileSync(join(a, 'live.jsonl'), point(1) + point(2));
  writeFileSync(join(a, 'epoch-001', 'epoch.json'), '{}');
  writeFileSync(join(a, 'epoch-001', '01-conv', 'weights.png'), PNG_1PX);
  writeFileSync(join(a, 'epoch-001', '01-conv', 'frame.webp'), Buffer.from('RIFF0000WEBPVP8L', 'latin1'));
  writeFileSync(join(a, '.index.html.123.4.tmp'), 'half written');
  writeFileSync(join(root, 'b', 'run.json'), '{}');
  writeFileSync(join(base, 'secret.txt'), 'SECRET');
  symlinkSync(join(base, 'secret.txt'), join(a, 'link-out.txt'));
  symlinkSync(base, join(a, 'dir-out'));
  symlinkSync(join(a, 'metrics.csv'), join(a, 'link-in.csv'));
  return { root, outside: base };
}

describe('cnnviz serve: HTTP', () => {
  let runs: { root: string; outside: string };
  let server: RunningServer;
  let port: number;
  beforeAll(async () => {
    runs = makeRuns();
    server = await startServer({ root: runs.root, port: 0, pollMs: 50 });
    port = server.port;
  });
  afterAll(async () => {
    await server.close();
  });

  it('listens on 127.0.0.1 only by default and prints that URL', () => {
    expect(server.host).toBe('127.0.0.1');
    expect(server.url).toBe(`http://127.0.0.1:${port}/`);
    expect((server.server.address() as { address: string }).address).toBe('127.0.0.1');
  });

  it('serves run files with their content types', async () => {
    const cases: [string, RegExp][] = [
      ['/a/index.html', /^text\/html; charset=utf-8$/],
      ['/a/epoch-001/01-conv/weights.png', /^image\/png$/],
      ['/a/epoch-001/01-conv/frame.webp', /^image\/webp$/],
      ['/a/run.json', /^application\/json; charset=utf-8$/],
      ['/a/live.jsonl', /^application\/x-ndjson; charset=utf-8$/],
      ['/a/metrics.csv', /^text\/csv; charset=utf-8$/],
    ];
    for (const [path, type] of cases) {
      const r = await rawGet(port, path);
      expect(r.status, path).toBe(200);
      expect(r.headers['content-type'], path).toMatch(type);
      expect(r.headers['x-content-type-options']).toBe('nosniff');
    }
    const png = await rawGet(port, '/a/epoch-001/01-conv/weights.png');
    expect(Number(png.headers['content-length'])).toBe(PNG_1PX.length);
    // A run folder URL serves its report; without the slash it redirects (relative links must work).
    expect((await rawGet(port, '/a/')).body).toContain('report');
    const redirect = await rawGet(port, '/a');
    expect(redirect.status).toBe(301);
    expect(redirect.headers.location).toBe('/a/');
    // Revalidation: the ETag comes back as 304.
    const again = await rawGet(port, '/a/run.json', { headers: { 'If-None-Match': String((await rawGet(port, '/a/run.json')).headers.etag) } });
    expect(again.status).toBe(304);
  });

  it('refuses traversal, encoded dots, absolute paths, backslashes, dot files and symlinks out of the folder', async () => {
    const refused = [
      '/../secret.txt',
      '/a/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/a/%2E%2E/%2e%2e/secret.txt',
      '/..%2fsecret.txt',
      '/a/..%5c..%5csecret.txt',
      '/a\\..\\..\\secret.txt',
      '//etc/passwd',
      `/${encodeURIComponent(join(runs.outside, 'secret.txt'))}`,
      '/C:/Windows/win.ini',
      '/a/%00index.html',
      '/a/.index.html.123.4.tmp',
      '/a/link-out.txt',
      '/a/dir-out/secret.txt',
    ];
    for (const path of refused) {
      const r = await rawGet(port, path);
      expect([400, 403, 404], path).toContain(r.status);
      expect(r.body, path).not.toContain('SECRET');
      expect(r.body, path).not.toContain('half written');
    }
    // A symlink that stays inside the folder is fine.
    expect((await rawGet(port, '/a/link-in.csv')).status).toBe(200);
    expect(checkUrlPath('/a/%2e%2e/b')).toMatchObject({ ok: false, status: 403 });
    expect(checkUrlPath('/a/%zz')).toMatchObject({ ok: false, status: 400 });
    expect(checkUrlPath('/a/b%20c.png')).toEqual({ ok: true, segments: ['a', 'b c.png'] });
  });

  it('answers 404 for missing files and never lists folders; it is read-only', async () => {
    expect((await rawGet(port, '/a/nothing.png')).status).toBe(404);
    expect((await rawGet(port, '/nope/index.html')).status).toBe(404);
    const folder = await rawGet(port, '/a/epoch-001/');
    expect(folder.status).toBe(404);
    expect(folder.body).not.toContain('01-conv');
    expect((await rawGet(port, '/a/empty-folder/')).status).toBe(404);
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const r = await rawGet(port, '/a/run.json', { method });
      expect(r.status).toBe(405);
      expect(r.headers.allow).toBe('GET, HEAD');
    }
    const head = await rawGet(port, '/a/run.json', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
  });

  it('lists the runs, and the page at / compares them', async () => {
    const list = JSON.parse((await rawGet(port, '/.cnnviz/runs')).body) as { single: boolean; runs: { name: string; hasReport: boolean; metrics: unknown[]; pictures: string[] }[] };
    expect(list.single).toBe(false);
    expect(list.runs.map((r) => r.name)).toEqual(['a', 'b']);
    expect(list.runs[0]).toMatchObject({ hasReport: true, pictures: ['epoch-001'] });
    expect(list.runs[0].metrics).toHaveLength(1);
    const page = await rawGet(port, '/');
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).toContain('cnnviz runs');
    // A run without a report yet gets the waiting page with the live script.
    const waiting = await rawGet(port, '/b/');
    expect(waiting.status).toBe(200);
    expect(waiting.body).toContain('/.cnnviz/events');
  });

  it('streams the live points, whole lines only, and announces new reports and pictures', async () => {
    const live = join(runs.root, 'a', 'live.jsonl');
    const es = new SseClient(port, '/.cnnviz/events?run=a');
    try {
      expect(await es.opened).toBe(200);
      const hello = (await es.waitFor('hello')).data as { points: { step: number }[]; metrics: unknown[]; pictures: string[] };
      expect(hello.points.map((p) => p.step)).toEqual([1, 2]);
      expect(hello.pictures).toEqual(['epoch-001']);
      // Half a line is not sent; the rest completes it.
      const line = point(3);
      appendFileSync(live, line.slice(0, 20));
      appendFileSync(live, point(4).slice(0, 0));
      await new Promise((r) => setTimeout(r, 200));
      expect(es.events.filter((e) => e.event === 'points')).toEqual([]);
      appendFileSync(live, line.slice(20));
      const pts = (await es.waitFor('points')).data as { step: number }[];
      expect(pts.map((p) => p.step)).toEqual([3]);
      // A rewritten (thinned) file: a reset with its points.
      writeFileSync(`${live}.new`, point(10) + point(20));
      renameSync(`${live}.new`, live);
      const reset = (await es.waitFor('reset', (d) => Array.isArray(d) && d.length === 2)).data as { step: number }[];
      expect(reset.map((p) => p.step)).toEqual([10, 20]);
      // A new report and a new epoch folder.
      mkdirSync(join(runs.root, 'a', 'epoch-002'), { recursive: true });
      writeFileSync(join(runs.root, 'a', 'epoch-002', 'epoch.json'), '{}');
      writeFileSync(join(runs.root, 'a', 'index.html.new'), '<main>epoch 2</main>');
      renameSync(join(runs.root, 'a', 'index.html.new'), join(runs.root, 'a', 'index.html'));
      await es.waitFor('report');
      await es.waitFor('pictures', (d) => Array.isArray(d) && d.includes('epoch-002'));
      writeFileSync(join(runs.root, 'a', 'metrics.jsonl'), `${JSON.stringify({ epoch: 1 })}\n${JSON.stringify({ epoch: 2 })}\n`);
      await es.waitFor('metrics', (d) => Array.isArray(d) && d.length === 2);
    } finally {
      es.close();
    }
  });

  it('refuses event streams for unknown or malformed runs', async () => {
    for (const run of ['nope', '..', '../runs', '.hidden', 'a/epoch-001', '']) {
      expect((await rawGet(port, `/.cnnviz/events?run=${encodeURIComponent(run)}`)).status, run).toBe(404);
    }
  });

  it('keeps serving with 50 open streams, clients that vanish mid-stream and a run folder deleted while served', async () => {
    const dir = join(runs.root, 'c');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'run.json'), '{}');
    writeFileSync(join(dir, 'live.jsonl'), point(1));
    const clients = Array.from({ length: 50 }, () => new SseClient(port, '/.cnnviz/events?run=c'));
    try {
      expect(await Promise.all(clients.map((c) => c.opened))).toEqual(new Array(50).fill(200));
      await Promise.all(clients.map((c) => c.waitFor('hello')));
      // Half of them go away without a goodbye, then the run gains a point: the rest get it.
      clients.slice(0, 25).forEach((c) => c.close());
      appendFileSync(join(dir, 'live.jsonl'), point(2));
      await Promise.all(clients.slice(25).map((c) => c.waitFor('points')));
      // The folder disappears: the streams say so, the server stays up.
      rmSync(dir, { recursive: true, force: true });
      await Promise.all(clients.slice(25).map((c) => c.waitFor('gone')));
      expect((await rawGet(port, '/c/run.json')).status).toBe(404);
      expect((await rawGet(port, '/a/run.json')).status).toBe(200);
    } finally {
      clients.forEach((c) => c.close());
    }
  });
});

describe('cnnviz serve: ports and hosts', () => {
  function occupy(): Promise<{ srv: Server; port: number }> {
    return new Promise((resolve) => {
      const srv = createServer();
      srv.listen(0, '127.0.0.1', () => resolve({ srv, port: (srv.address() as { port: number }).port }));
    });
  }

  it('fails with a clear message (exit 2) when the asked port is taken, and takes the next free one otherwise', async () => {
    const root = makeRuns().root;
    const { srv, port } = await occupy();
    try {
      await expect(startServer({ root, port })).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(new RegExp(`--port ${port}: port ${port} on 127\\.0\\.0\\.1 is already in use`)) as unknown });
      const s = await startServer({ root, basePort: port });
      try {
        expect(s.port).not.toBe(port);
        expect(s.port).toBeGreaterThan(0);
        expect((await rawGet(s.port, '/a/run.json')).status).toBe(200);
      } finally {
        await s.close();
      }
    } finally {
      srv.close();
    }
  });

  it('warns for hosts other than loopback', () => {
    for (const h of ['127.0.0.1', 'localhost', '::1', '127.0.1.1']) {
      expect(isLoopback(h), h).toBe(true);
      expect(hostWarning(h, 'out')).toBeUndefined();
    }
    for (const h of ['0.0.0.0', '::', '192.168.1.20']) expect(hostWarning(h, 'out'), h).toMatch(/not a loopback address.*network/);
  });
});
