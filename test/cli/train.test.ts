import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir, writeCifarDir } from '../data/fixtures.js';
import { runCli } from '../helpers/cli.js';

// 400 generated training images and 40 test images: enough batches to interrupt a run mid-epoch.
const data = writeCifarDir(join(tempDir('cnnviz-cli-train-'), 'cifar'), [80, 80, 80, 80, 80], 40);

describe('cnnviz train (CLI)', () => {
  it('writes metrics, run.json, checkpoints and pictures, and prints JSON lines with --json', async () => {
    const out = join(tempDir('cnnviz-out-'), 'run');
    const r = await runCli(['train', '--data', data, '--epochs', '2', '--train-limit', '96', '--test-limit', '20', '--out', out, '--json', '--workers', '2', '--probe-count', '3']);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
    expect(lines.map((l) => l.epoch)).toEqual([1, 2]);
    for (const l of lines) {
      for (const k of ['trainLoss', 'trainAccuracy', 'testAccuracy', 'seconds', 'imagesPerSecond']) expect(Number.isFinite(l[k])).toBe(true);
      expect(l.trainImages).toBe(96);
      expect(l.testImages).toBe(20);
    }
    expect(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2);
    const csv = readFileSync(join(out, 'metrics.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toMatch(/^epoch,trainLoss,/);
    expect(csv).toHaveLength(3);
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { seed: number; config: { batchSize: number }; versions: { node: string }; model: { layer_defs: unknown[] } };
    expect(run.seed).toBe(1);
    expect(run.config.batchSize).toBe(32);
    expect(run.versions.node).toBe(process.versions.node);
    expect(run.model.layer_defs).toHaveLength(8);
    expect(readdirSync(join(out, 'checkpoints')).filter((f) => f.endsWith('.json')).sort()).toEqual(['epoch-001.json', 'epoch-002.json']);
    expect(existsSync(join(out, 'epoch-002', '01-conv', 'weights.png'))).toBe(true);
    // No temp files left behind by the atomic writes.
    expect(readdirSync(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    // A checkpoint is a snapshot: summary and predict take it.
    const ckpt = join(out, 'checkpoints', 'epoch-002.json');
    const s = await runCli(['summary', '--model', ckpt]);
    expect(s.code).toBe(0);
    expect(s.stdout).toContain('22,466 trainable parameters');
  });

  it('records the recipe options (schedule, label smoothing, adamw, weight decay) in run.json and each epoch\'s rate', async () => {
    const out = join(tempDir('cnnviz-out-'), 'run');
    const r = await runCli([
      'train', '--data', data, '--epochs', '2', '--train-limit', '64', '--test-limit', '10', '--out', out, '--workers', '1', '--viz', 'none',
      '--quiet', '--optimizer', 'adamw', '--weight-decay', '0.05', '--lr-schedule', 'cosine', '--warmup', '0.5', '--label-smoothing', '0.1',
    ]);
    expect(r.code).toBe(0);
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { config: Record<string, unknown> & { optimizer: Record<string, unknown> } };
    expect(run.config.lrSchedule).toEqual({ kind: 'cosine', stepFactor: 0.1, warmupEpochs: 0.5 });
    expect(run.config.labelSmoothing).toBe(0.1);
    expect(run.config.optimizer.method).toBe('adamw');
    expect(run.config.optimizer.weightDecay).toBe(0.05);
    const rates = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { learningRate: number }).learningRate);
    // 2 steps per epoch; warm-up is step 0; the cosine then runs over steps 1..3: epoch 1 ends at step 1 (full rate).
    expect(rates[0]).toBeCloseTo(0.001, 12);
    expect(rates[1]).toBeLessThan(0.001 / 2);

    const bad = await runCli(['train', '--data', data, '--optimizer', 'adam', '--nesterov', '--out', join(out, 'x'), '--viz', 'none']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--nesterov: applies to sgd/);
  });

  it('stops on Ctrl-C after the current batch with a checkpoint and exit code 130', async () => {
    const out = join(tempDir('cnnviz-out-'), 'run');
    let pid = 0;
    let sent = false;
    const r = await runCli(['train', '--data', data, '--epochs', '3', '--batch-size', '8', '--out', out, '--workers', '1', '--viz', 'none'], {
      onSpawn: (p) => (pid = p),
      onStderr: (chunk) => {
        if (!sent && /batch \d+\/50/.test(chunk)) {
          sent = true;
          process.kill(pid, 'SIGINT');
        }
      },
    });
    expect(sent).toBe(true);
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/interrupted: checkpoint written to .*epoch-000-interrupted\.json/);
    const ckpt = join(out, 'checkpoints', 'epoch-000-interrupted.json');
    expect(existsSync(ckpt)).toBe(true);
    // And the run continues from it.
    const resumed = await runCli(['train', '--resume', ckpt, '--epochs', '1', '--viz', 'none', '--quiet']);
    expect(resumed.code).toBe(0);
    expect(existsSync(join(out, 'checkpoints', 'epoch-001.json'))).toBe(true);
  });

  it('stops with a clear message when the loss diverges', async () => {
    const r = await runCli(['train', '--data', data, '--epochs', '1', '--lr', '1e30', '--momentum', '0', '--out', join(tempDir('cnnviz-out-'), 'run'), '--viz', 'none', '--quiet']);
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/the loss became (NaN|Infinity) in epoch 1, batch \d+ of 13; try a smaller learning rate \(--lr, now 1e\+30\)/);
  });

  it('fails before training when --out cannot be written', async () => {
    const file = join(tempDir('cnnviz-out-'), 'a-file');
    writeFileSync(file, 'x');
    const r = await runCli(['train', '--data', data, '--out', join(file, 'run')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--out .*a-file\/run: cannot write there/);
    expect(r.stderr).not.toMatch(/epoch 1/);
  });

  it('ends with the error of a worker that throws, never a hang', async () => {
    const r = await runCli(['train', '--data', data, '--epochs', '1', '--out', join(tempDir('cnnviz-out-'), 'run'), '--viz', 'none', '--quiet'], {
      env: { CNNVIZ_TEST_WORKER_FAULT: '3' },
      timeoutMs: 60_000,
    });
    expect(r.signal).toBeNull();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/worker \d failed: injected fault at step 3/);
  });

  it('reports a missing data folder with directions and exit code 2', async () => {
    const r = await runCli(['train', '--data', join(tempDir('cnnviz-out-'), 'nothing-here'), '--out', join(tempDir('cnnviz-out-'), 'run')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/nothing-here/);
    expect(r.stderr).toMatch(/cnnviz download/);
  });
});
