import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir, writeCifarDir } from '../data/fixtures.js';
import { killLeftoverClis, runCli } from '../helpers/cli.js';
import { rawGet, SseClient } from './helpers.js';

const URL_RE = /at http:\/\/127\.0\.0\.1:(\d+)\//;

// `serve` and `train --serve` run until Ctrl-C: a test that fails or times out before sending it must
// not leave its child serving after the test run.
afterEach(async () => {
  await killLeftoverClis();
});

describe('killLeftoverClis', () => {
  it('ends a child that would serve forever, and waits for its exit', async () => {
    let spawned = false;
    const run = runCli(['serve', tempDir('cnnviz-serve-cli-'), '--port', '0'], { onSpawn: () => (spawned = true) });
    expect(spawned).toBe(true);
    expect(await killLeftoverClis()).toBe(1);
    const r = await run;
    expect(r.signal).toBe('SIGKILL');
    expect(await killLeftoverClis()).toBe(0);
  });
});

describe('cnnviz serve (CLI)', () => {
  it('serves a folder, prints it as given with the URL, and stops cleanly on Ctrl-C', async () => {
    const cwd = tempDir('cnnviz-serve-cli-');
    const root = join(cwd, 'out');
    mkdirSync(join(root, 'r1'), { recursive: true });
    writeFileSync(join(root, 'r1', 'run.json'), '{}');
    let pid = 0;
    let port = 0;
    let fetched: number[] = [];
    // As the README shows it: `serving out/ at http://127.0.0.1:8080/`, the folder as typed (not its absolute path).
    const r = await runCli(['serve', 'out/', '--port', '0'], {
      cwd,
      timeoutMs: 30_000,
      onSpawn: (p) => (pid = p),
      onStderr: (chunk) => {
        const m = URL_RE.exec(chunk);
        if (!m || port) return;
        port = Number(m[1]);
        void Promise.all([rawGet(port, '/'), rawGet(port, '/r1/run.json')]).then((rs) => {
          fetched = rs.map((x) => x.status);
          process.kill(pid, 'SIGINT');
        });
      },
    });
    expect(port).toBeGreaterThan(0);
    expect(fetched).toEqual([200, 200]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^serving out\/ at http:\/\/127\.0\.0\.1:\d+\/ \(Ctrl-C to stop\)$/m);
    expect(r.stderr).toMatch(/stopping the server/);
    expect(r.stderr).not.toMatch(/warning/);
  });

  it('exits 2 with one line for a missing folder or a taken --port', async () => {
    const missing = await runCli(['serve', join(tempDir('cnnviz-serve-cli-'), 'nope')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^cnnviz: .*nope: no such folder\n$/);
    const srv = createServer();
    const port = await new Promise<number>((resolve) => srv.listen(0, '127.0.0.1', () => resolve((srv.address() as { port: number }).port)));
    try {
      const taken = await runCli(['serve', tempDir('cnnviz-serve-cli-'), '--port', String(port)]);
      expect(taken.code).toBe(2);
      expect(taken.stderr).toMatch(new RegExp(`^cnnviz: --port ${port}: port ${port} on 127\\.0\\.0\\.1 is already in use`));
    } finally {
      srv.close();
    }
  });

  it('refuses a port above 65535 with one line and exit 2 (serve --port and train --serve), before anything starts', async () => {
    const serve = await runCli(['serve', tempDir('cnnviz-serve-cli-'), '--port', '65536']);
    expect(serve.code).toBe(2);
    expect(serve.stderr).toMatch(/^error: option '--port <n>' argument '65536' is invalid\. expected a whole number >= 0 and <= 65535, got "65536"\n$/);
    const out = join(tempDir('cnnviz-serve-cli-'), 'run');
    const train = await runCli(['train', '--serve', '99999', '--data', join(tempDir('cnnviz-serve-cli-'), 'none'), '--no-download', '--out', out]);
    expect(train.code).toBe(2);
    expect(train.stderr).toMatch(/^error: option '--serve \[port\]' argument '99999' is invalid\. .*<= 65535/);
    expect(train.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('cnnviz train --serve (CLI)', () => {
  // Under load (the full suite on 2 shared cores) two tiny epochs can take a minute: every wait below
  // shares one deadline, the child is killed before the test's own timeout, and afterEach kills it
  // if the test fails any other way.
  const BUDGET_MS = 180_000;
  it('streams batch points and the next epoch while training, then serves until Ctrl-C', async () => {
    const data = writeCifarDir(join(tempDir('cnnviz-serve-train-'), 'cifar'), [40, 40, 40, 40, 40], 20);
    const out = join(tempDir('cnnviz-serve-train-'), 'run');
    const deadline = Date.now() + BUDGET_MS - 20_000;
    const left = () => Math.max(1, deadline - Date.now());
    let pid = 0;
    let started = false;
    let seen: { points: number; report: boolean; metrics: number } | undefined;
    let failure: unknown;
    const r = await runCli(['train', '--data', data, '--out', out, '--epochs', '2', '--batch-size', '4', '--workers', '1', '--probe-count', '2', '--serve', '0'], {
      timeoutMs: BUDGET_MS - 10_000,
      onSpawn: (p) => (pid = p),
      onStderr: (chunk) => {
        const m = URL_RE.exec(chunk);
        if (!m || started) return;
        started = true;
        const port = Number(m[1]);
        const es = new SseClient(port, '/.cnnviz/events?run=');
        void (async () => {
          try {
            await es.waitFor('hello', () => true, left());
            // Batch points arrive on the open stream while training runs, before the last epoch's records.
            const firstPoints = await es.waitFor('points', () => true, left());
            // Epoch 2's folder and records arrive on the open stream, and the report is rewritten.
            await es.waitFor('pictures', (d) => Array.isArray(d) && d.includes('epoch-002'), left());
            const lastMetrics = await es.waitFor('metrics', (d) => Array.isArray(d) && d.length === 2, left());
            expect(es.events.indexOf(firstPoints)).toBeLessThan(es.events.indexOf(lastMetrics));
            let page = '';
            while (!page.includes('epoch-002') && Date.now() < deadline) {
              await new Promise((res) => setTimeout(res, 200));
              page = (await rawGet(port, '/')).body;
            }
            seen = {
              points: es.events.filter((e) => e.event === 'points').length,
              report: page.includes('epoch-002') && es.events.some((e) => e.event === 'report'),
              metrics: 2,
            };
          } catch (e) {
            failure = e;
          } finally {
            es.close();
            try {
              process.kill(pid, 'SIGINT');
            } catch {
              // Already gone (it failed on its own): the assertions below say why.
            }
          }
        })();
      },
    });
    expect(failure).toBeUndefined();
    expect(seen).toEqual({ points: expect.any(Number) as unknown, report: true, metrics: 2 });
    expect(r.stderr).toMatch(/training finished; still serving/);
    expect(r.code).toBe(0);
  }, BUDGET_MS);
});
