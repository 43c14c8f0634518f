/**
 * QA follow-ups (issue 13 items and ONNX export): a bad --probe leaves no run folder, --workers is
 * lowered to what can be busy, and export refuses a network that cannot fit with one line (exit 2).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { usefulWorkers } from '../../src/train/setup.js';
import { tempDir, writeCifarDir } from '../data/fixtures.js';
import { runCli } from '../helpers/cli.js';
import { SMALL_SPEC } from '../helpers/train.js';

const root = tempDir('cnnviz-followup-');
const data = writeCifarDir(join(root, 'cifar'), [40, 40, 40, 40, 40], 20);
const specFile = join(root, 'small.json');
writeFileSync(specFile, JSON.stringify(SMALL_SPEC));
const quick = ['--data', data, '--model', specFile, '--train-limit', '32', '--test-limit', '8', '--viz', 'none', '--epochs', '1'];

describe('train: --probe outside the test split', () => {
  it('exits 2 with one line and leaves no run folder', async () => {
    const out = join(root, 'bad-probe');
    const r = await runCli(['train', ...quick, '--workers', '1', '--probe', '8', '--out', out, '--quiet']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('cnnviz: --probe: index 8 is outside the test split (0..7)');
    expect(existsSync(out)).toBe(false);
  });
});

describe('train: --workers', () => {
  it('the most workers that can be busy: training or evaluation tasks, at most 4 per core', () => {
    expect(usefulWorkers(32, 8, 100, 2)).toBe(4); // 4 training tasks, 2 evaluation tasks
    expect(usefulWorkers(32, 8, 10000, 2)).toBe(8); // 200 evaluation tasks, 4 per core
    expect(usefulWorkers(32, 8, 10000, 64)).toBe(200);
    expect(usefulWorkers(1, 8, 1, 2)).toBe(1);
  });

  it('--workers 1000 is lowered and the header line says so', async () => {
    const out = join(root, 'many-workers');
    const r = await runCli(['train', ...quick, '--workers', '1000', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/; 4 worker\(s\) \(--workers 1000: at most 4 can be busy\);/);
  });
});

describe('export: a network that cannot fit', () => {
  it('exits 2 with one line naming the estimate and writes nothing', async () => {
    const spec = join(root, 'bigpad.json');
    writeFileSync(spec, JSON.stringify([
      { type: 'input', out_sx: 32, out_sy: 32, out_depth: 3 }, { type: 'conv', sx: 3, filters: 2, pad: 100000 }, { type: 'softmax', num_classes: 10 },
    ]));
    const out = join(root, 'bigpad.onnx');
    const r = await runCli(['export', '--model', spec, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/bigpad\.json needs about .* TiB of memory .*more than the limit/);
    expect(existsSync(out)).toBe(false);
  });
});

describe('packaging', () => {
  it('package.json (packed as it is) has no script npm runs or warns about on a global install', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> };
    for (const s of ['preinstall', 'install', 'postinstall', 'prepare']) expect(pkg.scripts[s], s).toBeUndefined();
    // npm install / npm ci in a clone still build dist/ (README): preprepare runs only for the project itself.
    expect(pkg.scripts.preprepare).toBe('npm run build');
    expect(pkg.scripts.prepack).toMatch(/npm run build$/);
  });
});
