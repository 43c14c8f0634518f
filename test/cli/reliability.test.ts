/**
 * Issue 13: reliability of the CLI under bad inputs and faults. Each test would fail on the
 * behaviour the issue reports (exit 0 with NaN parameters, stack traces, hangs, writes outside out/...).
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultOptimizerOptions } from '../../src/nn/optimizers.js';
import { Network } from '../../src/nn/network.js';
import { saveSnapshot } from '../../src/nn/snapshot.js';
import { parseSpec, presetSpec } from '../../src/nn/spec.js';
import { tempDir, writeCifarDir } from '../data/fixtures.js';
import { runCli } from '../helpers/cli.js';
import { expectOneLine } from '../helpers/run-fixture.js';
import { SMALL_SPEC, smallCifar, smallConfig, trainSmall } from '../helpers/train.js';
import type { EpochVisualizer } from '../../src/train/trainer.js';
import { UserError } from '../../src/util/errors.js';

const root = tempDir('cnnviz-reliab-');
// 200 generated training images and 20 test images.
const data = writeCifarDir(join(root, 'cifar'), [40, 40, 40, 40, 40], 20);
const smallData = smallCifar();
const specFile = join(root, 'small.json');
writeFileSync(specFile, JSON.stringify(SMALL_SPEC));
let n = 0;
const fresh = (): string => join(root, `run${++n}`);

/** Every file under dir, relative paths. */
function walk(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]));
}

const oneLine = expectOneLine;

/** A snapshot (with optimizer state and progress, so it can be resumed) whose parameters are partly NaN. */
async function nanCheckpoint(): Promise<string> {
  const spec = parseSpec(SMALL_SPEC, 'small.json');
  const net = new Network(spec);
  net.initialize(1);
  net.params[3] = NaN;
  net.params[10] = Infinity;
  const file = join(root, `nan-${++n}.json`);
  const P = net.paramCount;
  await saveSnapshot(file, {
    spec, params: net.params, classNames: ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'],
    optimizer: { options: defaultOptimizerOptions('sgd'), state: { method: 'sgd', step: 1, gsum: new Float32Array(P), xsum: new Float32Array(P) } },
    training: { epoch: 0, config: { model: specFile, data, epochs: 1, batchSize: 16, microBatch: 4, optimizer: defaultOptimizerOptions('sgd'), seed: 1, augmentation: null, normalize: false, probeCount: 2, viz: 'none', vizEvery: 1, vizScale: 'layer' }, metrics: [] },
  });
  return file;
}

describe('item 1: divergence is caught before any checkpoint', () => {
  it('the last batch diverging (the command of the issue): exit 3, no checkpoint', async () => {
    const out = fresh();
    // Two batches: both losses are finite (each checked before its update); the last update makes the
    // parameters NaN. This run used to exit 0 with 22,400 of 22,466 parameters NaN in its checkpoint.
    const r = await runCli(['train', '--data', data, '--train-limit', '64', '--test-limit', '8', '--epochs', '1', '--viz', 'none', '--workers', '1', '--lr', '1e30', '--quiet', '--out', out]);
    expect(r.code).toBe(3);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/training diverged: 22,400 of 22,466 parameters became NaN or infinite in epoch 1 .*try a smaller learning rate/);
    expect(walk(join(out, 'checkpoints'))).toEqual([]);
  });

  it('predict, visualize and --resume refuse non-finite parameters with exit 2', async () => {
    const ck = await nanCheckpoint();
    const img = join(root, 'img.png');
    const { default: sharp } = await import('sharp');
    await sharp(Buffer.alloc(32 * 32 * 3, 100), { raw: { width: 32, height: 32, channels: 3 } }).png().toFile(img);
    for (const args of [
      ['predict', '--model', ck, '--image', img],
      ['visualize', '--model', ck, '--out', fresh(), '--image', img],
      ['train', '--resume', ck, '--epochs', '2', '--out', fresh(), '--quiet'],
    ]) {
      const r = await runCli(args);
      expect(r.code, args[0]).toBe(2);
      oneLine(r.stderr);
      expect(r.stderr).toMatch(/2 of [\d,]+ parameters are NaN or infinite/);
    }
  });
});

describe('item 3: checkpoint before pictures; bounded pictures; a failed picture does not stop training', () => {
  it('the checkpoint is written before the pictures; failed pictures are reported and training goes on', async () => {
    const out = fresh();
    const logs: string[] = [];
    const calls: { epoch: number; checkpointThere: boolean }[] = [];
    const visualizer: EpochVisualizer = {
      async epochEnd({ epoch }) {
        calls.push({ epoch, checkpointThere: existsSync(join(out, 'checkpoints', `epoch-${String(epoch).padStart(3, '0')}.json`)) });
        if (epoch === 1) throw new UserError(`${join(out, 'epoch-001', '01-conv', 'weights.png')}: cannot write: no space left on the device (ENOSPC)`);
      },
      report: async () => undefined,
      state: () => undefined,
      restore: () => undefined,
    };
    const outcome = await trainSmall(smallConfig(smallData, { viz: 'all', epochs: 2 }), { workers: 1, out, visualizer, log: (m) => logs.push(m) });
    expect(outcome.status).toBe('completed');
    expect(calls).toEqual([{ epoch: 1, checkpointThere: true }, { epoch: 2, checkpointThere: true }]);
    expect(logs.join('\n')).toMatch(/pictures of epoch 1 failed: .*weights\.png: cannot write: no space left on the device \(ENOSPC\); training goes on/);
    expect(readdirSync(join(out, 'checkpoints')).filter((f) => f.endsWith('.json')).sort()).toEqual(['epoch-001.json', 'epoch-002.json']);
  });

  it('a 5,000-character class name gives pictures of ordinary width', async () => {
    const d = writeCifarDir(join(root, 'longnames'), [8, 8, 8, 8, 8], 8);
    const names = ['x'.repeat(5000), 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
    writeFileSync(join(d, 'batches.meta.txt'), `${names.join('\n')}\n`);
    const out = fresh();
    const r = await runCli(['train', '--data', d, '--model', specFile, '--epochs', '1', '--workers', '1', '--probe', '3,4', '--out', out, '--quiet']);
    expect(r.code).toBe(0);
    const { default: sharp } = await import('sharp');
    for (const f of walk(out).filter((p) => p.endsWith('.png'))) {
      const meta = await sharp(join(out, f)).metadata();
      expect(meta.width, f).toBeLessThan(3000);
    }
  });

  it('caps the probe count (exit 2 before anything is drawn)', async () => {
    const r = await runCli(['train', '--data', data, '--probe-count', '1000', '--out', fresh()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--probe-count.*<= 64/);
    const v = await runCli(['visualize', '--model', 'convnetjs-cifar10', '--probe-count', '65', '--out', fresh()]);
    expect(v.code).toBe(2);
  });
});

describe('item 5: a fatal error ends the process at once', () => {
  it('exits even when something else keeps the event loop busy', async () => {
    // A preloaded module keeps a timer alive forever, as queued picture work or a stuck worker would.
    const keepAlive = join(root, 'keep-alive.mjs');
    writeFileSync(keepAlive, 'setInterval(() => {}, 1000);\n');
    const r = await runCli(['train', '--data', join(root, 'missing'), '--out', fresh()], {
      env: { NODE_OPTIONS: `--import ${keepAlive}` },
      timeoutMs: 30_000,
    });
    expect(r.signal).toBeNull();
    expect(r.code).toBe(2);
  });
});

describe('items 6 and 7: unwritable --out fails fast with one line', () => {
  it('visualize --out <a regular file>: one line naming the path, exit 2', async () => {
    const file = join(root, 'a-file');
    writeFileSync(file, 'x');
    const r = await runCli(['visualize', '--model', 'convnetjs-cifar10', '--out', file, '--data', data]);
    expect(r.code).toBe(2);
    oneLine(r.stderr);
    expect(r.stderr).toContain(file);
  });

  it('--out /proc/...: exit 2 at once (no endless mkdir), train and visualize', async () => {
    for (const args of [
      ['train', '--data', data, '--out', '/proc/cnnviz-test/run', '--quiet'],
      ['visualize', '--model', 'convnetjs-cifar10', '--out', '/proc/cnnviz-test/vis', '--data', data],
    ]) {
      const r = await runCli(args, { timeoutMs: 30_000 });
      expect(r.signal, args[0]).toBeNull();
      expect(r.code, args[0]).toBe(2);
      oneLine(r.stderr);
      expect(r.stderr).toMatch(/\/proc\/cnnviz-test.*cannot write there/);
    }
  });

  it('a full disk while training: one line naming the file, exit 2, no temp files', async () => {
    const out = fresh();
    const r = await runCli(['train', '--data', data, '--model', specFile, '--train-limit', '16', '--test-limit', '8', '--epochs', '1', '--workers', '1', '--probe-count', '2', '--out', out], {
      // Enough for run.json, not for the checkpoint.
      env: { CNNVIZ_TEST_DISK_FULL_AFTER: '6000' },
    });
    expect(r.code).toBe(2);
    // The checkpoint (JSON + binary) and the metrics files are written together: whichever hits the full disk is named.
    expect(r.stderr.trim().split('\n').pop()).toMatch(/^cnnviz: .*(epoch-001\.json|epoch-001\.[0-9a-f]{16}\.bin|metrics\.csv|metrics\.jsonl): cannot write: no space left on the device \(ENOSPC\)$/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(walk(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a full disk while drawing (visualize): one line naming a file, exit 2, no temp files', async () => {
    const net = new Network(presetSpec('convnetjs-cifar10'));
    net.initialize(3);
    const snap = join(root, 'vis-snap.json');
    await saveSnapshot(snap, { spec: net.spec, params: net.params });
    const out = fresh();
    const r = await runCli(['visualize', '--model', snap, '--out', out, '--data', data, '--probe', '0,1'], { env: { CNNVIZ_TEST_DISK_FULL_AFTER: '20000' } });
    expect(r.code).toBe(2);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/no space left on the device \(ENOSPC\)/);
    expect(r.stderr).toContain(out);
    expect(walk(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('item 9: size limits', () => {
  const specWith = (name: string, defs: unknown[]): string => {
    const f = join(root, name);
    writeFileSync(f, JSON.stringify(defs));
    return f;
  };
  const input = { type: 'input', out_sx: 32, out_sy: 32, out_depth: 3 };

  it('refuses networks too big for the memory limit, naming the estimate and the limit', async () => {
    const cases = [
      specWith('pad.json', [input, { type: 'conv', sx: 3, filters: 4, pad: 100000 }, { type: 'softmax', num_classes: 10 }]),
      specWith('fc.json', [input, { type: 'fc', num_neurons: 100000000 }, { type: 'softmax', num_classes: 10 }]),
    ];
    for (const model of cases) {
      const r = await runCli(['train', '--data', data, '--model', model, '--out', fresh(), '--quiet'], { timeoutMs: 30_000 });
      expect(r.code, model).toBe(2);
      oneLine(r.stderr);
      expect(r.stderr).toMatch(/needs about [\d.,]+ [KMGTPE]iB of memory .*more than the limit of [\d.,]+ [KMGT]iB \(the machine's memory/);
    }
  });

  it('predict refuses a 20000x20000 input before reading the image', async () => {
    const model = specWith('huge-input.json', [{ type: 'input', out_sx: 20000, out_sy: 20000, out_depth: 3 }, { type: 'conv', sx: 3, filters: 8, pad: 1 }, { type: 'softmax', num_classes: 10 }]);
    const r = await runCli(['predict', '--model', model, '--image', join(root, 'no-such.png'), '--max-memory', '2G'], { timeoutMs: 30_000 });
    expect(r.code).toBe(2);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/more than the limit of 2\.0 GiB \(--max-memory\)/);
  });

  it('--max-memory is the limit; --batch-size far beyond the data is clamped to it', async () => {
    const small = await runCli(['train', '--data', data, '--model', specFile, '--max-memory', '20M', '--out', fresh(), '--quiet']);
    expect(small.code).toBe(2);
    expect(small.stderr).toMatch(/limit of 20 MiB \(--max-memory\)/);
    const out = fresh();
    const r = await runCli(['train', '--data', data, '--model', specFile, '--train-limit', '64', '--test-limit', '8', '--batch-size', '10000000', '--epochs', '1', '--viz', 'none', '--workers', '1', '--out', out, '--max-memory', '1G', '--json', '--quiet']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).trainImages).toBe(64);
  });
});

describe('item 11: SIGTERM is handled like Ctrl-C', () => {
  it('finishes the batch, writes the interrupted checkpoint, exits 143', async () => {
    const out = fresh();
    let pid = 0;
    let sent = false;
    const r = await runCli(['train', '--data', data, '--model', specFile, '--epochs', '3', '--batch-size', '4', '--out', out, '--workers', '1', '--viz', 'none'], {
      onSpawn: (p) => (pid = p),
      onStderr: (chunk) => {
        if (!sent && /batch \d+\/50/.test(chunk)) {
          sent = true;
          process.kill(pid, 'SIGTERM');
        }
      },
    });
    expect(sent).toBe(true);
    expect(r.code).toBe(143);
    expect(r.stderr).toMatch(/SIGTERM: finishing this batch/);
    expect(existsSync(join(out, 'checkpoints', 'epoch-000-interrupted.json'))).toBe(true);
    expect(walk(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('smaller defects', () => {
  it('--name is one path segment', async () => {
    for (const name of ['../../escape', '/abs', '', 'a/b']) {
      const r = await runCli(['train', '--data', data, '--name', name], { cwd: root });
      expect(r.code, name).toBe(2);
      expect(r.stderr).toMatch(/--name/);
    }
    expect(existsSync(join(root, '..', '..', 'escape'))).toBe(false);
    expect(existsSync(join(root, 'out'))).toBe(false);
  });

  it('seeds are 0 .. 2^32-1; an empty seed is not 0', async () => {
    for (const seed of ['4294967296', '', '-1', '1.5', 'abc']) {
      const r = await runCli(['train', '--data', data, '--seed', seed, '--out', fresh()]);
      expect(r.code, seed).toBe(2);
      expect(r.stderr).toMatch(/--seed/);
    }
    const v = await runCli(['visualize', '--model', 'convnetjs-cifar10', '--seed', '4294967296', '--out', fresh()]);
    expect(v.code).toBe(2);
  });

  it('a PNG given as --model: one clean line', async () => {
    const png = join(root, 'model.png');
    const { default: sharp } = await import('sharp');
    await sharp(Buffer.alloc(4 * 4 * 3, 200), { raw: { width: 4, height: 4, channels: 3 } }).png().toFile(png);
    for (const cmd of ['summary', 'train']) {
      const r = await runCli([cmd, '--model', png, ...(cmd === 'train' ? ['--data', data, '--out', fresh()] : [])]);
      expect(r.code).toBe(2);
      oneLine(r.stderr);
      expect(r.stderr).toMatch(/model\.png: not a JSON file \(it looks like a PNG image\)/);
      // eslint-disable-next-line no-control-regex
      expect(r.stderr).not.toMatch(/[\u0000-\u0008\u000e-\u001f\u0080-\uffff]/);
    }
  });

  it('with --viz none the final line names no index.html', async () => {
    const out = fresh();
    const r = await runCli(['train', '--data', data, '--model', specFile, '--train-limit', '16', '--test-limit', '8', '--epochs', '1', '--workers', '1', '--viz', 'none', '--out', out]);
    expect(r.code).toBe(0);
    const last = r.stderr.trim().split('\n').pop()!;
    expect(last).toMatch(/^done: 1 epoch\(s\); checkpoint /);
    expect(last).not.toMatch(/index\.html/);
    expect(existsSync(join(out, 'index.html'))).toBe(false);
    expect(statSync(join(out, 'checkpoints', 'epoch-001.json')).size).toBeGreaterThan(0);
    expect(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);
  });
});
