import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../data/fixtures.js';
import { runCli } from '../helpers/cli.js';

// End to end on the real CIFAR-10 (CIFAR10_DIR=../shared/cifar10); skipped without it.
const CIFAR10_DIR = process.env.CIFAR10_DIR;

describe.skipIf(!CIFAR10_DIR)('cnnviz train on the real CIFAR-10', () => {
  it('trains one epoch on 2000 images, evaluates 500, and writes every output', async () => {
    const out = join(tempDir('cnnviz-e2e-'), 'run');
    const r = await runCli(['train', '--data', CIFAR10_DIR!, '--epochs', '1', '--train-limit', '2000', '--test-limit', '500', '--out', out, '--json'], { timeoutMs: 300_000 });
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.code).toBe(0);
    const epoch = JSON.parse(r.stdout.trim()) as { trainImages: number; testImages: number; testAccuracy: number; trainLoss: number };
    expect(epoch.trainImages).toBe(2000);
    expect(epoch.testImages).toBe(500);
    // One epoch on 2000 real images already beats chance (10%) clearly; a broken pipeline does not.
    expect(epoch.testAccuracy).toBeGreaterThan(0.15);
    expect(epoch.trainLoss).toBeLessThan(Math.log(10));
    for (const f of ['run.json', 'metrics.jsonl', 'metrics.csv', 'index.html', 'checkpoints/epoch-001.json', 'epoch-001/00-input/activation-gradients.png', 'epoch-001/01-conv/weights.png', 'plots/accuracy.png']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { data: { classNames: string[] } };
    expect(run.data.classNames[3]).toBe('cat');
  });
});
