import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../data/fixtures.js';
import { runCli } from '../helpers/cli.js';
import { readExplorerLayer } from '../helpers/explorer.js';

// The ResNet presets on the real CIFAR-10 (CIFAR10_DIR=../shared/cifar10); skipped without it.
const CIFAR10_DIR = process.env.CIFAR10_DIR;

describe.skipIf(!CIFAR10_DIR)('ResNet and speedrun presets on real CIFAR-10 images', () => {
  for (const model of ['resnet8', 'resnet20', 'speedrun']) {
    // Pictures for resnet8 only (they are the same kinds for resnet20, and cost time).
    const viz = model === 'resnet8';
    it(`${model}: the training loss falls over a few epochs on 32 images${viz ? '; batch-norm and residual pictures are drawn' : ''}`, { timeout: 240_000 }, async () => {
      const out = join(tempDir('cnnviz-resnet-'), 'run');
      const r = await runCli([
        'train', '--model', model, '--data', CIFAR10_DIR!, '--train-limit', '32', '--test-limit', '10', '--epochs', '4', '--batch-size', '32',
        '--micro-batch', '16', '--lr-schedule', 'constant', '--lr', '0.05', '--augment', 'none', '--workers', '2', '--out', out, '--json',
        ...(viz ? ['--viz-every', '4', '--probe-count', '1'] : ['--viz', 'none']),
      ], { timeoutMs: 240_000 });
      expect(r.stderr).not.toMatch(/internal error/);
      expect(r.code).toBe(0);
      const epochs = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { trainDataLoss: number });
      expect(epochs).toHaveLength(4);
      expect(epochs[3].trainDataLoss).toBeLessThan(epochs[0].trainDataLoss - 0.1);
      const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { config: { optimizer: { method: string; weightDecay: number }; tta?: string } };
      // The preset's recipe fills what was not given.
      expect(run.config.optimizer.method).toBe('nesterov');
      expect(run.config.optimizer.weightDecay).toBe(5e-4);
      expect(run.config.tta).toBe(model === 'speedrun' ? 'flip' : undefined);
      if (!viz) return;
      expect(existsSync(join(out, 'epoch-004/02-batchnorm/channels.png'))).toBe(true);
      expect(existsSync(join(out, 'epoch-004/09-add/branches.png'))).toBe(true);
      const bnStats = JSON.parse(readFileSync(join(out, 'epoch-004/02-batchnorm/stats.json'), 'utf8')) as { runningVar: { values: number[] } };
      expect(bnStats.runningVar.values).toHaveLength(16);
      // The explorer shows the add's branches picture under the add's own title and words.
      expect(readExplorerLayer(out, 9).extraWords.branches?.[0]).toContain('Residual connection');
      expect(readExplorerLayer(out, 2).extraWords.channels?.[0]).toContain('gamma');
      expect(readFileSync(join(out, 'index.html'), 'utf8')).toContain('Walkthrough: a residual block');
    });
  }
});
