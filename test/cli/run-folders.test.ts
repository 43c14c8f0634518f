/**
 * Issue 13, items 2, 4, 8 and 10: checkpoints as JSON + binary, run folders that are never mixed or
 * overwritten by accident, damaged snapshots and saved settings refused with one line (exit 2).
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Network } from '../../src/nn/network.js';
import { loadModel, paramShapes, saveSnapshot } from '../../src/nn/snapshot.js';
import { parseSpec } from '../../src/nn/spec.js';
import { runCli } from '../helpers/cli.js';
import { expectOneLine, smallRunFixture } from '../helpers/run-fixture.js';
import { SMALL_SPEC } from '../helpers/train.js';

const { root, data, specFile, fresh } = smallRunFixture('cnnviz-runs-');
const oneLine = expectOneLine;
const quick = ['--data', data, '--model', specFile, '--train-limit', '32', '--test-limit', '8', '--workers', '1', '--viz', 'none', '--quiet'];

async function trainedRun(epochs = 1): Promise<string> {
  const out = fresh();
  const r = await runCli(['train', ...quick, '--epochs', String(epochs), '--out', out]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return out;
}

describe('item 2: checkpoints are a small JSON plus a binary file', () => {
  it('the JSON holds no tensors, the binary beside it does; predict and resume read the pair', async () => {
    const out = await trainedRun();
    const files = readdirSync(join(out, 'checkpoints'));
    const bin = files.find((f) => /^epoch-001\.[0-9a-f]{16}\.bin$/.test(f));
    expect(bin).toBeDefined();
    expect(files.sort()).toEqual(['epoch-001.json', bin].sort());
    const json = JSON.parse(readFileSync(join(out, 'checkpoints', 'epoch-001.json'), 'utf8')) as Record<string, unknown>;
    expect(json.version).toBe(3);
    expect(json.params).toBeUndefined();
    expect((json.binary as { tensors: { name: string }[] }).tensors.map((t) => t.name)).toEqual(['params', 'optimizer.gsum', 'optimizer.xsum']);
    const r = await runCli(['train', '--resume', join(out, 'checkpoints', 'epoch-001.json'), '--epochs', '2', '--quiet']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(existsSync(join(out, 'checkpoints', 'epoch-002.json'))).toBe(true);
  });

  it('the JSON stays small however many parameters (no 512 MiB string: this is what limited ~33M parameters)', async () => {
    const spec = parseSpec([{ type: 'input', out_sx: 32, out_sy: 32, out_depth: 3 }, { type: 'fc', num_neurons: 1000 }, { type: 'softmax', num_classes: 10 }], 'big.json');
    const net = new Network(spec);
    const file = join(root, 'big.json');
    const P = net.paramCount;
    await saveSnapshot(file, { spec, params: net.params, optimizer: { options: { method: 'sgd', learningRate: 0.01, momentum: 0.9, l1Decay: 0, l2Decay: 0, ro: 0.95, eps: 1e-6, beta1: 0.9, beta2: 0.999 }, state: { method: 'sgd', step: 0, gsum: new Float32Array(P), xsum: new Float32Array(P) } } });
    expect(P).toBeGreaterThan(3_000_000);
    expect(readFileSync(file).length).toBeLessThan(4096);
    expect(loadModel(file).snapshot!.params.length).toBe(P);
  });

  it('old single-JSON checkpoints (base64 tensors) still load', async () => {
    const spec = parseSpec(SMALL_SPEC, 'small.json');
    const net = new Network(spec);
    net.initialize(3);
    const b64 = (a: Float32Array): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
    const file = join(root, 'v2.json');
    writeFileSync(file, JSON.stringify({ format: 'cnnviz-snapshot', version: 2, layer_defs: SMALL_SPEC, classNames: null, preprocessing: { kind: 'scale' }, paramCount: net.paramCount, paramShapes: paramShapes(spec), params: b64(net.params) }));
    expect(Buffer.from(loadModel(file).snapshot!.params.buffer).equals(Buffer.from(net.params.buffer))).toBe(true);
    const r = await runCli(['summary', '--model', join('test', 'fixtures', 'checkpoint-v1.json')]);
    expect(r.code).toBe(0);
  });

  it('a checkpoint whose binary file is missing or damaged: one line, exit 2', async () => {
    const out = await trainedRun();
    const ck = join(out, 'checkpoints', 'epoch-001.json');
    const moved = fresh('moved-');
    mkdirSync(moved);
    copyFileSync(ck, join(moved, 'epoch-001.json'));
    const r = await runCli(['summary', '--model', join(moved, 'epoch-001.json')]);
    expect(r.code).toBe(2);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/binary file .* cannot be read: .*copy it together with the \.json/);
  });
});

describe('item 4: run folders', () => {
  it('a second run into an existing run folder is refused; --overwrite replaces it whole', async () => {
    const out = await trainedRun(2);
    const again = await runCli(['train', ...quick, '--epochs', '1', '--out', out]);
    expect(again.code).toBe(2);
    oneLine(again.stderr);
    expect(again.stderr).toMatch(/--out .*: the folder is not empty .*--overwrite/);
    expect(existsSync(join(out, 'checkpoints', 'epoch-002.json'))).toBe(true);
    const over = await runCli(['train', ...quick, '--epochs', '1', '--out', out, '--overwrite']);
    expect(over.code).toBe(0);
    // Nothing of the first run is mixed in.
    expect(existsSync(join(out, 'checkpoints', 'epoch-002.json'))).toBe(false);
    expect(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);
    expect(existsSync(join(out, '.cnnviz.lock'))).toBe(false);
  });

  it('two runs into one folder at once: the second fails with exit 2, the first goes on', async () => {
    const out = fresh();
    let pid = 0;
    let second: Promise<Awaited<ReturnType<typeof runCli>>> | undefined;
    // A first run far too long to end by itself during the test: stopped with Ctrl-C once the second has failed.
    const first = await runCli(['train', '--data', data, '--model', specFile, '--epochs', '100', '--batch-size', '4', '--workers', '1', '--viz', 'none', '--out', out], {
      onSpawn: (p) => (pid = p),
      onStderr: (chunk) => {
        if (!second && /batch \d+\/50/.test(chunk)) {
          second = runCli(['train', ...quick, '--epochs', '1', '--out', out]);
          void second.then(() => process.kill(pid, 'SIGINT'));
        }
      },
    });
    expect(second).toBeDefined();
    const r = await second!;
    expect(r.code).toBe(2);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(new RegExp(`another cnnviz run \\(pid ${pid}\\) is writing there`));
    expect(first.code).toBe(130);
    expect(existsSync(join(out, '.cnnviz.lock'))).toBe(false);
  });

  it('a run that fails validation late writes nothing', async () => {
    const out = fresh();
    const wrong = join(root, 'wrong-classes.json');
    writeFileSync(wrong, JSON.stringify([{ type: 'input', out_sx: 32, out_sy: 32, out_depth: 3 }, { type: 'softmax', num_classes: 7 }]));
    const r = await runCli(['train', ...quick, '--model', wrong, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/7 classes/);
    expect(existsSync(out)).toBe(false);
  });

  it('--resume without --out: into the run folder only when it is one (run.json), else --out is required', async () => {
    const out = await trainedRun();
    const ck = join(out, 'checkpoints', 'epoch-001.json');
    const x = fresh('x');
    const sub = join(x, 'sub');
    mkdirSync(sub, { recursive: true });
    // A checkpoint is its JSON and the binary file it names: copy both.
    for (const f of readdirSync(join(out, 'checkpoints'))) copyFileSync(join(out, 'checkpoints', f), join(sub, f));
    const r = await runCli(['train', '--resume', join(sub, 'epoch-001.json'), '--epochs', '2', '--quiet']);
    expect(r.code).toBe(2);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/not inside a run folder .*--out <dir>/);
    expect(readdirSync(x)).toEqual(['sub']);
    const elsewhere = fresh();
    const ok = await runCli(['train', '--resume', join(sub, 'epoch-001.json'), '--epochs', '2', '--out', elsewhere, '--quiet']);
    expect(ok.code).toBe(0);
    expect(existsSync(join(elsewhere, 'checkpoints', 'epoch-002.json'))).toBe(true);
    // Resuming into the run's own folder is continuing, not overwriting.
    const own = await runCli(['train', '--resume', ck, '--epochs', '2', '--out', out, '--quiet']);
    expect(own.code).toBe(0);
  });
});

describe('item 8: damaged snapshots give one line and exit 2', () => {
  const v1 = JSON.parse(readFileSync(join('test', 'fixtures', 'checkpoint-v1.json'), 'utf8')) as Record<string, unknown> & { layer_defs: unknown[]; layers: unknown[] };
  const convnetjs = createRequire(import.meta.url)('convnetjs') as { Net: new () => { makeLayers(d: unknown[]): void; toJSON(): unknown } };
  const cjNet = new convnetjs.Net();
  cjNet.makeLayers([{ type: 'input', out_sx: 8, out_sy: 8, out_depth: 3 }, { type: 'conv', sx: 3, filters: 2, stride: 1, pad: 1, activation: 'relu' }, { type: 'softmax', num_classes: 10 }]);
  const cj = (): { layers: Record<string, unknown>[] } => JSON.parse(JSON.stringify(cjNet.toJSON())) as { layers: Record<string, unknown>[] };
  const clone = (): typeof v1 => JSON.parse(JSON.stringify(v1)) as typeof v1;
  const cases: [string, () => unknown, RegExp][] = [
    ['a first layer that is not input', () => { const o = clone(); o.layer_defs = o.layer_defs.slice(1); o.layers = o.layers.slice(1); return o; }, /must be "input" for the first layer/],
    ['a layer with missing fields', () => { const o = clone(); delete (o.layer_defs[1] as Record<string, unknown>).sx; return o; }, /layer 1 \(conv\): field "sx" is missing/],
    ['layers: []', () => { const o = clone(); o.layers = []; return o; }, /lists 0 layers/],
    ['layer_defs: []', () => { const o = clone(); o.layer_defs = []; o.layers = []; return o; }, /needs at least an input layer and a loss layer/],
    ['a layer that is a string', () => { const o = clone(); o.layer_defs[1] = 'conv'; return o; }, /layer 1: must be an object/],
    ['numeric classNames', () => { const o = clone(); o.classNames = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]; return o; }, /field "classNames" must be a list of names/],
    ['preprocessing without mean', () => { const o = clone(); o.preprocessing = { kind: 'standardize', std: [1, 1, 1] }; return o; }, /field "preprocessing\.mean" must be a list of 3 numbers/],
    ['optimizer options out of range', () => { const o = clone(); (o.optimizer as { options: Record<string, unknown> }).options.momentum = 7; return o; }, /optimizer\.options\.momentum/],
    ['a ConvNetJS snapshot without an input layer', () => { const o = cj(); o.layers = o.layers.slice(1); return o; }, /must be "input" for the first layer/],
    ['ConvNetJS out_depth -4', () => { const o = cj(); o.layers[0].out_depth = -4; return o; }, /field "out_depth" must be a whole number >= 1, got -4/],
    ['ConvNetJS stride 0', () => { const o = cj(); o.layers[1].stride = 0; return o; }, /field "stride" must be a whole number >= 1, got 0/],
  ];
  it.each(cases)('%s', async (_name, make, message) => {
    const file = `${fresh('damaged-')}.json`;
    writeFileSync(file, JSON.stringify(make()));
    const r = await runCli(['summary', '--model', file]);
    expect(r.code).toBe(2);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/internal error/);
  });
});

describe('item 10: resume checks the saved settings', () => {
  const edited = async (edit: (training: Record<string, unknown>) => void): Promise<string> => {
    const out = await trainedRun();
    const ck = join(out, 'checkpoints', 'epoch-001.json');
    const json = JSON.parse(readFileSync(ck, 'utf8')) as { training: Record<string, unknown> };
    edit(json.training);
    writeFileSync(ck, JSON.stringify(json));
    return ck;
  };
  const cfg = (t: Record<string, unknown>): Record<string, unknown> => t.config as Record<string, unknown>;

  it.each([
    ['microBatch: 0', (t: Record<string, unknown>) => void (cfg(t).microBatch = 0), /training\.config\.microBatch: expected a whole number >= 1, got 0/],
    ['batchSize: "abc"', (t: Record<string, unknown>) => void (cfg(t).batchSize = 'abc'), /training\.config\.batchSize: expected a whole number >= 1, got "abc"/],
    ['a negative progress value', (t: Record<string, unknown>) => void (t.epoch = -1), /training\.epoch: expected a whole number >= 0, got -1/],
    ['a metrics field that is not a list', (t: Record<string, unknown>) => void (t.metrics = 'many'), /training\.metrics: expected a list/],
  ])('%s: one line, exit 2', async (_name, edit, message) => {
    const ck = await edited(edit);
    const r = await runCli(['train', '--resume', ck, '--epochs', '3', '--quiet']);
    expect(r.code).toBe(2);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(message);
  });

  it('--epochs not above the epochs done: nothing left to do, exit 2', async () => {
    const out = await trainedRun(2);
    const ck = join(out, 'checkpoints', 'epoch-002.json');
    for (const epochs of ['1', '2']) {
      const r = await runCli(['train', '--resume', ck, '--epochs', epochs]);
      expect(r.code).toBe(2);
      oneLine(r.stderr);
      expect(r.stderr).toMatch(/nothing left to do: the checkpoint has 2 epoch\(s\) done and the run asks for \d; pass --epochs with a total above 2/);
    }
  });
});
