/**
 * The server against strangers and odd files: DNS rebinding (Host header), an empty --host, FIFOs and
 * other special files in a served folder, and the Content-Security-Policy on every answer.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowedHostNames, CSP, hostOfHeader, startServer, type RunningServer } from '../../src/serve/server.js';
import { tempDir } from '../data/fixtures.js';
import { runCli } from '../helpers/cli.js';
import { rawGet, SseClient } from './helpers.js';

/** A folder of runs: a/ (report, metrics, a FIFO picture), fifo-run/ (run.json and metrics.jsonl are FIFOs). */
function makeRuns(): string {
  const root = join(tempDir('cnnviz-hostile-serve-'), 'runs');
  const a = join(root, 'a');
  mkdirSync(join(a, 'epoch-001'), { recursive: true });
  writeFileSync(join(a, 'index.html'), '<!doctype html><title>a</title><main>report</main>');
  writeFileSync(join(a, 'run.json'), JSON.stringify({ config: { model: 'm', optimizer: { method: 'sgd', learningRate: 0.01 } } }));
  writeFileSync(join(a, 'metrics.jsonl'), `${JSON.stringify({ epoch: 1, testAccuracy: 0.25 })}\n`);
  execFileSync('mkfifo', [join(a, 'epoch-001', 'pipe.png'), join(a, 'pipe.jsonl')]);
  const f = join(root, 'fifo-run');
  mkdirSync(join(f, 'epoch-001'), { recursive: true });
  execFileSync('mkfifo', [join(f, 'run.json'), join(f, 'metrics.jsonl'), join(f, 'live.jsonl'), join(f, 'epoch-001', 'epoch.json')]);
  return root;
}

describe('cnnviz serve: hostile requests and files', () => {
  let root: string;
  let server: RunningServer;
  let port: number;
  beforeAll(async () => {
    root = makeRuns();
    server = await startServer({ root, port: 0, pollMs: 50 });
    port = server.port;
  });
  afterAll(async () => {
    await server.close();
  });

  it('item 3: answers only Host names of this server (DNS rebinding gets 421, no run data)', async () => {
    for (const host of ['evil.example.com', 'evil.example.com:' + port, '127.0.0.1.evil.example.com', 'localhost.evil.example.com']) {
      for (const path of ['/.cnnviz/runs', '/', '/a/run.json', '/a/', '/.cnnviz/events?run=a']) {
        const r = await rawGet(port, path, { headers: { Host: host } });
        expect(r.status, `${host} ${path}`).toBe(421);
        expect(r.body).not.toMatch(/optimizer|report/);
      }
    }
    // No Host at all (HTTP/1.0): refused too.
    const bare = await new Promise<string>((resolve, reject) => {
      const sock = connect(port, '127.0.0.1', () => sock.end('GET /.cnnviz/runs HTTP/1.0\r\n\r\n'));
      let text = '';
      sock.on('data', (d) => (text += String(d)));
      sock.on('end', () => resolve(text));
      sock.on('error', reject);
    });
    expect(bare).toMatch(/^HTTP\/1\.1 421 /);
    for (const host of ['localhost', `localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, 'LOCALHOST.', '127.0.0.1']) {
      expect((await rawGet(port, '/.cnnviz/runs', { headers: { Host: host } })).status, host).toBe(200);
    }
  });

  it('item 3: the allowed names: loopback, the bound address, and for a wildcard the machine\'s own addresses', () => {
    expect(hostOfHeader('Example.COM.:8080')).toBe('example.com');
    expect(hostOfHeader('[::1]:80')).toBe('[::1]');
    expect([...allowedHostNames('127.0.0.1')].sort()).toEqual(['127.0.0.1', '[::1]', 'localhost']);
    expect(allowedHostNames('192.168.7.9').has('192.168.7.9')).toBe(true);
    expect(allowedHostNames('fe80::1').has('[fe80::1]')).toBe(true);
    const any = allowedHostNames('0.0.0.0');
    expect(any.has('evil.example.com')).toBe(false);
    expect(any.size).toBeGreaterThanOrEqual(3);
  });

  it('item 3: --host "" is refused (it would listen on every interface)', async () => {
    await expect(startServer({ root, host: '', port: 0 })).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/--host: empty/) as unknown });
    const r = await runCli(['serve', root, '--host', '', '--port', '0'], { timeoutMs: 20_000 });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--host: empty/);
  });

  it('item 5: FIFOs in a served folder answer 404 at once and never block the server', async () => {
    // More than libuv's 4 pool threads: before, each GET of a FIFO held one thread for ever.
    const gets = [];
    for (let i = 0; i < 8; i++) gets.push(rawGet(port, i % 2 ? '/a/epoch-001/pipe.png' : '/a/pipe.jsonl'));
    for (const r of await Promise.all(gets)) expect(r.status).toBe(404);
    // A run whose files are all FIFOs is listed (without data), and its event stream opens.
    const list = await rawGet(port, '/.cnnviz/runs');
    expect(list.status).toBe(200);
    const runs = (JSON.parse(list.body) as { runs: { name: string; metrics: unknown[]; pictures: string[] }[] }).runs;
    expect(runs.find((r) => r.name === 'fifo-run')).toMatchObject({ metrics: [], pictures: [] });
    const sse = new SseClient(port, '/.cnnviz/events?run=fifo-run');
    expect(await sse.opened).toBe(200);
    await sse.waitFor('hello');
    sse.close();
    // Still answering ordinary files.
    expect((await rawGet(port, '/a/run.json')).status).toBe(200);
  });

  it('item 12: every answer carries the Content-Security-Policy', async () => {
    const answers = await Promise.all(['/', '/a/', '/a/run.json', '/a/missing.png', '/a', '/../x', '/favicon.ico', '/fifo-run/'].map((p) => rawGet(port, p)));
    for (const r of answers) expect(r.headers['content-security-policy']).toBe(CSP);
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 404, 301, 403, 204, 200]);
    expect((await rawGet(port, '/', { headers: { Host: 'evil.example.com' } })).headers['content-security-policy']).toBe(CSP);
    // No network origin anywhere in the policy: only 'self', data: and blob:.
    expect(CSP).not.toMatch(/https?:|\*/);
    expect(CSP).toMatch(/default-src 'none'/);
    expect(CSP).toMatch(/frame-ancestors 'none'/);
  });
});
