/**
 * `cnnviz train` says which kernels ran (CNNVIZ_KERNELS: native, wasm or js; by default native when the
 * addon loads on this CPU, else wasm): in its first terminal line and in run.json's machine.kernels.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nativeKernels } from '../../src/tensor/native.js';
import { wasmVariant } from '../../src/tensor/wasm.js';
import { runCli } from '../helpers/cli.js';
import { smallRunFixture } from '../helpers/run-fixture.js';

const { data, specFile, fresh } = smallRunFixture('cnnviz-kernels-');
const quick = ['--data', data, '--model', specFile, '--train-limit', '16', '--test-limit', '8', '--workers', '1', '--viz', 'none', '--epochs', '1'];

async function kernelsOfRun(env: string | undefined): Promise<{ line: string; recorded: string }> {
  const out = fresh();
  const r = await runCli(['train', ...quick, '--out', out], { env: { CNNVIZ_KERNELS: env } });
  expect(r.code, r.stderr).toBe(0);
  const line = `${r.stdout}${r.stderr}`.split('\n').find((l) => l.startsWith('cnnviz train:')) ?? '';
  const recorded = (JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { machine: { kernels: string } }).machine.kernels;
  return { line, recorded };
}

describe('the kernels a run used are named', () => {
  const native = nativeKernels() ? `native avx2+fma, wasm ${wasmVariant()}` : null;
  for (const [env, want] of [
    ['wasm', `wasm ${wasmVariant()}`],
    ['js', 'js'],
    [undefined, native ?? `wasm ${wasmVariant()}`],
  ] as const) {
    it(`CNNVIZ_KERNELS=${env ?? '(unset)'}: ${want}`, async () => {
      const { line, recorded } = await kernelsOfRun(env);
      expect(recorded).toBe(want);
      expect(line).toContain(`; kernels ${want};`);
    });
  }

  it.runIf(native !== null)('CNNVIZ_KERNELS=native', async () => {
    const { line, recorded } = await kernelsOfRun('native');
    expect(recorded).toBe(native);
    expect(line).toContain(`; kernels ${native};`);
  });
});
