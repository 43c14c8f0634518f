/**
 * The graph engine must behave as the code before it: fixtures in test/fixtures were made with that
 * code (see test/fixtures/README.md). Probabilities to 1e-6, resumed weights bit for bit.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evalContext } from '../../src/nn/network.js';
import { loadModel, networkFor, paramShapes } from '../../src/nn/snapshot.js';
import { tempDir } from '../data/fixtures.js';
import { runCli } from '../helpers/cli.js';
import { smallCifar } from '../helpers/train.js';
import { restoreKernelsAfterEach } from '../helpers/kernels.js';

const FIX = join(import.meta.dirname, '..', 'fixtures');
const CHECKPOINT = join(FIX, 'checkpoint-v1.json');
const expected = JSON.parse(readFileSync(join(FIX, 'v1-expected.json'), 'utf8')) as Record<string, unknown>;

function inputs(n: number, size: number): Float32Array {
  const a = new Float32Array(n * size);
  for (let i = 0; i < a.length; i++) a[i] = (((i * 7919) % 1013) / 1013 - 0.5) * 1.2;
  return a;
}

function expectClose(actual: ArrayLike<number>, want: number[], tol: number): void {
  expect(actual.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) expect(Math.abs(actual[i] - want[i])).toBeLessThanOrEqual(tol);
}

describe('compatibility with version-1 checkpoints and the old engine', () => {
  restoreKernelsAfterEach();

  for (const kernels of ['js', 'wasm']) {
    it(`gives the old probabilities (1e-6) for the v1 checkpoint and the seeded preset, ${kernels} kernels`, () => {
      process.env.CNNVIZ_KERNELS = kernels;
      for (const [key, model] of [['checkpoint', CHECKPOINT], ['preset', 'convnetjs-cifar10']] as const) {
        const net = networkFor(loadModel(model), 1);
        const out = net.forward(inputs(3, 3072), 3, evalContext(net));
        expectClose(out.subarray(0, 3 * net.outputSize), expected[`${key}Probabilities_${kernels}`] as number[], 1e-6);
      }
    });
  }

  it('predict --json on the v1 checkpoint prints the old probabilities', async () => {
    const r = await runCli(['predict', '--model', CHECKPOINT, '--image', join(FIX, 'predict-image.png'), '--json']);
    expect(r.code).toBe(0);
    const got = JSON.parse(r.stdout) as { probabilities: number[]; label: number; className: string };
    const want = expected.predictCli as { probabilities: number[]; label: number; className: string };
    expect(got.label).toBe(want.label);
    expect(got.className).toBe(want.className);
    expectClose(got.probabilities, want.probabilities, 1e-6);
  });

  for (const kernels of ['js', 'wasm']) {
    it(`resumes the v1 checkpoint to the same weights bit for bit, ${kernels} kernels`, async () => {
      const data = smallCifar();
      const out = tempDir('cnnviz-compat-');
      const r = await runCli(['train', '--resume', CHECKPOINT, '--data', data, '--epochs', '2', '--workers', '3', '--out', out, '--quiet'], {
        env: { CNNVIZ_KERNELS: kernels },
      });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      // Checkpoints are version 3 now (tensors in a binary file beside the JSON): hash the same bytes.
      const params = loadModel(join(out, 'checkpoints', 'epoch-002.json')).snapshot!.params;
      const sha = createHash('sha256').update(Buffer.from(params.buffer, params.byteOffset, params.byteLength)).digest('hex');
      expect(sha).toBe(expected[`resumedParamsSha256_${kernels}`]);
    });
  }
});

describe('snapshots whose weights do not fit their spec', () => {
  const v1 = JSON.parse(readFileSync(CHECKPOINT, 'utf8')) as Record<string, unknown>;

  async function refused(json: Record<string, unknown>, message: RegExp): Promise<void> {
    const file = join(tempDir('cnnviz-bad-snap-'), 'bad.json');
    writeFileSync(file, JSON.stringify(json));
    const r = await runCli(['summary', '--model', file]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  }

  it('refuses a v1 file whose layers disagree with its layer_defs (exit 2)', async () => {
    const layers = structuredClone(v1.layers) as Record<string, unknown>[];
    layers[1].filters = 5;
    await refused({ ...v1, layers }, /bad\.json: layer 1 \(conv\) has filters 5 in the snapshot's layers, but 4 in its layer_defs/);
  });

  it('refuses a v1 file whose base64 is damaged, saying so (not "params holds 1.5 values")', async () => {
    const params = v1.params as string;
    await refused({ ...v1, params: params.slice(0, 8) }, /bad\.json: field "params" holds 6 bytes, not whole float32 values \(4 bytes each\); file damaged/);
    await refused({ ...v1, params: `${params.slice(0, 100)}!*${params.slice(102)}` }, /bad\.json: field "params" is not base64 \(character "!" at 100\); file damaged/);
    const gsum = (v1.optimizer as Record<string, unknown>).gsum as string;
    await refused({ ...v1, optimizer: { ...(v1.optimizer as object), gsum: gsum.slice(0, -6) } }, /bad\.json: field "optimizer\.gsum" holds [\d]+ bytes, not whole float32 values/);
  });

  it('refuses a v2 file whose parameter shapes or count do not match its spec (exit 2)', async () => {
    const dir = tempDir('cnnviz-v2-');
    const file = join(dir, 'v2.json');
    const loaded = loadModel(CHECKPOINT);
    // A version-2 file as the graph engine wrote them (one JSON, base64 tensors; saveSnapshot now writes version 3).
    const snap = loaded.snapshot!;
    const b64 = (a: Float32Array): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
    const v2: Record<string, unknown> = {
      format: 'cnnviz-snapshot', version: 2, layer_defs: snap.spec.layerDefs, classNames: snap.classNames ?? null, preprocessing: snap.preprocessing,
      paramCount: snap.params.length, paramShapes: paramShapes(snap.spec), params: b64(snap.params),
      optimizer: { options: snap.optimizer!.options, step: snap.optimizer!.state.step, gsum: b64(snap.optimizer!.state.gsum), xsum: b64(snap.optimizer!.state.xsum) },
      training: snap.training,
    };
    writeFileSync(file, JSON.stringify(v2));
    expect(loadModel(file).snapshot!.params).toEqual(loaded.snapshot!.params);
    const shapes = structuredClone(v2.paramShapes) as [string, string, number[]][];
    shapes[0][2] = [4, 3, 3, 2];
    await refused({ ...v2, paramShapes: shapes }, /bad\.json: parameter tensor 1 is 01-conv weights 4x3x3x2 in the snapshot, but its spec builds 01-conv weights 4x3x3x3/);
    await refused({ ...v2, paramShapes: shapes.slice(1) }, /records 9 parameter tensors, its spec builds 10/);
    await refused({ ...v2, params: Buffer.from(new Float32Array(3).buffer).toString('base64') }, /params holds 3 values, the network needs 570/);
    await refused({ ...v2, version: 4 }, /snapshot version 4 is not supported/);
  });
});
