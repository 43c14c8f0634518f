/**
 * What the CLI refuses, or says it did not do, instead of running on and failing later or silently
 * dropping input: degenerate optimizer settings, options a resumed run cannot change, unclear paths,
 * --probe beside --image, unbounded --viz-steps lists, and networks whose outputs overflow.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir, writeCifarDir } from '../data/fixtures.js';
import { runCli } from '../helpers/cli.js';
import { SMALL_SPEC } from '../helpers/train.js';

const root = tempDir('cnnviz-refusals-');
const data = writeCifarDir(join(root, 'cifar'), [40, 40, 40, 40, 40], 20);
const specFile = join(root, 'small.json');
writeFileSync(specFile, JSON.stringify(SMALL_SPEC));
const quick = ['--data', data, '--model', specFile, '--train-limit', '32', '--test-limit', '8', '--viz', 'none', '--epochs', '1', '--workers', '1', '--quiet'];

describe('train: degenerate optimizer settings', () => {
  it('--beta1 1, --beta2 1 and --ro 1 are refused by the option parser (exit 2, nothing written)', async () => {
    for (const [flag, method] of [['--beta1', 'adam'], ['--beta2', 'adamw'], ['--ro', 'windowgrad']]) {
      const out = join(root, `degenerate${flag}`);
      const r = await runCli(['train', ...quick, '--optimizer', method, flag, '1', '--out', out]);
      expect(r.code, flag).toBe(2);
      expect(r.stderr).toContain(`argument '1' is invalid. expected a number >= 0 and below 1`);
      expect(existsSync(out)).toBe(false);
    }
  });

  it('--eps 0 is refused for a method that divides by it, and accepted for sgd', async () => {
    const out = join(root, 'eps0');
    const r = await runCli(['train', ...quick, '--optimizer', 'adadelta', '--eps', '0', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('cnnviz: --eps 0: must be above 0 for adadelta: the update divides by the root of an accumulator plus eps, 0 / 0 for a parameter whose gradients were 0');
    expect(existsSync(out)).toBe(false);
    const ok = await runCli(['train', ...quick, '--optimizer', 'sgd', '--eps', '0', '--out', join(root, 'eps0-sgd')]);
    expect(ok.code, ok.stderr).toBe(0);
  });
});

describe('train --resume with options it cannot honour', () => {
  it('refuses them by name (exit 2, the run untouched); the options it honours still work', async () => {
    const out = join(root, 'resume-conflicts');
    const first = await runCli(['train', ...quick, '--out', out]);
    expect(first.code, first.stderr).toBe(0);
    const ck = join(out, 'checkpoints', 'epoch-001.json');
    const r = await runCli(['train', '--resume', ck, '--epochs', '2', '--lr', '0.5', '--batch-size', '4', '--optimizer', 'adam', '--workers', '1', '--quiet']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`cnnviz: --resume ${ck}: --batch-size, --optimizer, --lr cannot change on a resumed run`);
    expect(r.stderr).toContain(`--model ${ck}`);
    expect(existsSync(join(out, 'checkpoints', 'epoch-002.json'))).toBe(false);
    const ok = await runCli(['train', '--resume', ck, '--epochs', '2', '--workers', '1', '--viz', 'none', '--quiet']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(existsSync(join(out, 'checkpoints', 'epoch-002.json'))).toBe(true);
  });
});
