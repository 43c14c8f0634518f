/**
 * What the CLI refuses, or says it did not do, instead of running on and failing later or silently
 * dropping input: degenerate optimizer settings, options a resumed run cannot change, unclear paths,
 * --probe beside --image, unbounded --viz-steps lists, and networks whose outputs overflow.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { Network } from '../../src/nn/network.js';
import { saveSnapshot } from '../../src/nn/snapshot.js';
import { parseSpec } from '../../src/nn/spec.js';
import { CLASS_NAMES, tempDir, writeCifarDir } from '../data/fixtures.js';
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
  it('refuses values that differ from the checkpoint, naming both (exit 2, the run untouched); the same values are accepted', async () => {
    const out = join(root, 'resume-conflicts');
    const first = await runCli(['train', ...quick, '--out', out]);
    expect(first.code, first.stderr).toBe(0);
    const ck = join(out, 'checkpoints', 'epoch-001.json');
    const r = await runCli(['train', '--resume', ck, '--epochs', '2', '--lr', '0.5', '--batch-size', '4', '--optimizer', 'adam', '--workers', '1', '--quiet']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(
      `cnnviz: --resume ${ck}: --batch-size 4 (the checkpoint: 32), --optimizer adam (the checkpoint: sgd), --lr 0.5 (the checkpoint: 0.01): a resumed run keeps the checkpoint's settings`,
    );
    expect(r.stderr).toContain(`--model ${ck}`);
    expect(existsSync(join(out, 'checkpoints', 'epoch-002.json'))).toBe(false);
    // The first command line repeated with --resume (same values) is accepted.
    const ok = await runCli(['train', ...quick, '--lr', '0.01', '--out', out, '--resume', ck, '--epochs', '2']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(existsSync(join(out, 'checkpoints', 'epoch-002.json'))).toBe(true);
  });
});

/** A snapshot of the small network with every parameter set to `value` (its sign kept). */
async function snapshotWith(name: string, value: number, nanAt?: number): Promise<string> {
  const spec = parseSpec(SMALL_SPEC, 'small.json');
  const net = new Network(spec);
  net.initialize(1);
  for (let i = 0; i < net.params.length; i++) net.params[i] = net.params[i] < 0 ? -value : value;
  if (nanAt !== undefined) net.params[nanAt] = NaN;
  const file = join(root, name);
  await saveSnapshot(file, { spec, params: net.params, classNames: CLASS_NAMES });
  return file;
}

describe('networks whose numbers are not finite', () => {
  it('predict and visualize refuse outputs that overflow although the parameters are finite (exit 2, one line)', async () => {
    const model = await snapshotWith('overflow.json', 3e38);
    const img = join(root, 'grey.png');
    await sharp(Buffer.alloc(32 * 32 * 3, 100), { raw: { width: 32, height: 32, channels: 3 } }).png().toFile(img);
    const cases: [string[], RegExp][] = [
      [['predict', '--model', model, '--image', img], /the network's outputs on .*grey\.png: 10 of 10 values are NaN or infinite, although its parameters are finite/],
      [['predict', '--model', model, '--image', img, '--json'], /the network's outputs on .*grey\.png: 10 of 10 values are NaN or infinite/],
      [['visualize', '--model', model, '--image', img, '--out', join(root, 'v-img')], /the network's outputs on .*grey\.png: 10 of 10/],
      [['visualize', '--model', model, '--data', data, '--probe', '1,2', '--out', join(root, 'v-test')], /the outputs of layer 1 \(01-conv\) on test images 1, 2: [\d,]+ of 2,048 values are NaN or infinite/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout, args.join(' ')).toBe('');
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
    expect(existsSync(join(root, 'v-test', 'index.html'))).toBe(false);
    // Large but not overflowing: still drawn.
    const large = await snapshotWith('large.json', 1e3);
    const ok = await runCli(['visualize', '--model', large, '--image', img, '--out', join(root, 'v-large')]);
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('export refuses a diverged network (NaN parameters) and writes nothing', async () => {
    const model = await snapshotWith('diverged.json', 0.01, 5);
    const out = join(root, 'diverged.onnx');
    const r = await runCli(['export', '--model', model, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`cnnviz: ${model}: 1 of 3,518 parameters are NaN or infinite (the training diverged); this network cannot be used`);
    expect(existsSync(out)).toBe(false);
  });
});

describe('clear messages for unclear input', () => {
  it('an empty path is refused by the option that got it (it reached the file system as "." before)', async () => {
    const cases: string[][] = [
      ['train', '--data', '', '--no-download', '--quiet'],
      ['train', ...quick, '--out', ''],
      ['visualize', '--model', specFile, '--data', ''],
      ['predict', '--model', '', '--image', 'x.png'],
    ];
    for (const args of cases) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(/argument '' is invalid\. an empty path; name a file or folder/);
    }
    const serve = await runCli(['serve', '']);
    expect(serve.code).toBe(2);
    expect(serve.stderr).toMatch(/value '' is invalid for argument 'folder'\. an empty path/);
  });

  it('serve <a file> says it is not a folder and names the folder that holds it', async () => {
    const file = join(root, 'run-a', 'index.html');
    mkdirSync(join(root, 'run-a'), { recursive: true });
    writeFileSync(file, '<p>report</p>');
    const r = await runCli(['serve', file]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`cnnviz: ${file}: not a folder; serve takes a run folder (out/<run>) or a folder of runs (out/), e.g. cnnviz serve ${join(root, 'run-a')}`);
    const missing = await runCli(['serve', join(root, 'nope')]);
    expect(missing.stderr.trim()).toBe(`cnnviz: ${join(root, 'nope')}: no such folder`);
  });
});

describe('visualize --image with options that choose test images', () => {
  it('refuses --probe, --probe-count and --data beside --image, naming them, before writing anything', async () => {
    const img = join(root, 'img18.png');
    await sharp(Buffer.alloc(32 * 32 * 3, 60), { raw: { width: 32, height: 32, channels: 3 } }).png().toFile(img);
    const out = join(root, 'v18');
    const r = await runCli(['visualize', '--model', specFile, '--image', img, '--probe', '1,2', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('cnnviz: --probe chooses test images, which --image replaces; give --image alone to draw your image, or leave it out to draw test images');
    const r2 = await runCli(['visualize', '--model', specFile, '--image', img, '--probe-count', '3', '--data', data, '--out', out]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain('cnnviz: --probe-count, --data choose test images');
    expect(existsSync(out)).toBe(false);
    const ok = await runCli(['visualize', '--model', specFile, '--image', img, '--seed', '3', '--out', out]);
    expect(ok.code, ok.stderr).toBe(0);
  });
});

describe('--viz-steps: bounded, and what is skipped is said', () => {
  it('a list is held to the time budget; the skipped steps and why are in the log, run.json and the report', async () => {
    const out = join(root, 'steps');
    // 32 steps of one image each take milliseconds; one drawing takes far longer, so after step 0 the
    // budget is spent. Step 500 is past the run (32 steps).
    const r = await runCli([
      'train', '--data', data, '--model', specFile, '--train-limit', '32', '--test-limit', '8', '--epochs', '1', '--workers', '1',
      '--batch-size', '1', '--probe-count', '2', '--viz-steps', '0,5,10,20,500', '--out', out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/--viz-steps 0,5,10,20,500: step 500 not drawn: past the run's last step \(32\)/);
    expect(r.stderr).toMatch(/--viz-steps 0,5,10,20,500: steps 5, 10, 20 not drawn: over the time budget \(8% of the projected training time up to step 20 is [\d.]+ s; the drawings so far took/);
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { vizStepsOutcome: { setting: string; drawn: number[]; skipped: { step: number; reason: string }[] } };
    expect(run.vizStepsOutcome.setting).toBe('0,5,10,20,500');
    expect(run.vizStepsOutcome.drawn).toEqual([0]);
    expect(run.vizStepsOutcome.skipped.map((s) => s.step)).toEqual([500, 5, 10, 20]);
    expect(existsSync(join(out, 'step-000000'))).toBe(true);
    expect(existsSync(join(out, 'step-000005'))).toBe(false);
    const html = readFileSync(join(out, 'index.html'), 'utf8');
    expect(html).toMatch(/--viz-steps not drawn<\/th><td class="l">steps 5, 10, 20 not drawn: over the time budget \(8% of .*; step 500 not drawn: past the run&#39;s last step \(32\)/);
  });
});
