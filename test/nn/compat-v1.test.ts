/**
 * The graph engine must behave as the code before it: fixtures in test/fixtures were made with that
 * code (see test/fixtures/README.md). Probabilities to 1e-6, resumed weights bit for bit.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { evalContext } from '../../src/nn/network.js';
import { loadModel, networkFor } from '../../src/nn/snapshot.js';
import { tempDir } from '../data/fixtures.js';
import { runCli } from '../helpers/cli.js';
import { smallCifar } from '../helpers/train.js';

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
  const saved = process.env.CNNVIZ_KERNELS;
  afterEach(() => {
    if (saved === undefined) delete process.env.CNNVIZ_KERNELS;
    else process.env.CNNVIZ_KERNELS = saved;
  });

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
      const ck = JSON.parse(readFileSync(join(out, 'checkpoints', 'epoch-002.json'), 'utf8')) as { params: string };
      const sha = createHash('sha256').update(Buffer.from(ck.params, 'base64')).digest('hex');
      expect(sha).toBe(expected[`resumedParamsSha256_${kernels}`]);
    });
  }
});
