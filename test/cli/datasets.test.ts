import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectDataset } from '../../src/data/dataset.js';
import { writeCifarDir, tempDir } from '../data/fixtures.js';
import { runCli } from '../helpers/cli.js';
import { cifarTestImages, encodeImage, FINE_NAMES, writeCifar100Dir, writeClassFolders, writeIdxDir, writeSplitFolder } from '../helpers/image-folder.js';

/** A user error: exit 2, one line, no stack trace. */
function userError(r: { code: number | null; stderr: string }): string {
  expect(r.code).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines.at(-1)).not.toMatch(/^\s+at /);
  expect(r.stderr).not.toMatch(/internal error/);
  return lines.at(-1)!;
}

const FAST = ['--epochs', '1', '--workers', '1', '--viz-steps', 'none', '--json'];
/** Without pictures, where a test looks only at the data read. */
const NO_VIZ = [...FAST, '--viz', 'none'];

describe('--data recognises the kind of data; --dataset forces it', () => {
  it('detects CIFAR-10, CIFAR-100, IDX (MNIST vs Fashion-MNIST) and image folders', async () => {
    expect(await detectDataset(writeCifarDir(join(tempDir(), 'c10')))).toBe('cifar-10');
    expect(await detectDataset(writeCifar100Dir(join(tempDir(), 'c100'), 4, 2))).toBe('cifar-100');
    expect(await detectDataset(writeIdxDir(join(tempDir(), 'digits'), { train: 3, test: 2, gzip: true }))).toBe('mnist');
    expect(await detectDataset(writeIdxDir(join(tempDir(), 'Fashion'), { train: 3, test: 2 }))).toBe('fashion-mnist');
    const folder = tempDir();
    await writeClassFolders(folder, cifarTestImages(4).images);
    expect(await detectDataset(folder)).toBe('image-folder');
    await expect(detectDataset(tempDir())).rejects.toThrow(/no data cnnviz recognises/);
  });

  it('trains on a folder of class folders with their names in run.json, probe.json and the report, and refuses bad options', async () => {
    const root = tempDir('cnnviz-if-');
    await writeSplitFolder(root, 120, 30);
    const out = join(tempDir(), 'run');
    const r = await runCli(['train', '--data', root, '--input-size', '16', '--channels', '1', '--out', out, ...FAST], { timeoutMs: 120_000 });
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/120 training and 30 test images \(image folder, 16x16x1, \d+ classes\)/);
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { config: { dataset: unknown }; data: { classNames: string[]; kind: string; imageShape: number[] } };
    expect(run.data.kind).toBe('image-folder');
    expect(run.data.imageShape).toEqual([1, 16, 16]);
    expect(run.data.classNames).toContain('airplane');
    expect(run.config.dataset).toEqual({ kind: 'image-folder', inputSize: [16, 16], channels: 1 });
    const probe = JSON.parse(readFileSync(join(out, 'epoch-001', 'probe.json'), 'utf8')) as { classNames: string[]; imageShape: number[] };
    expect(probe.classNames).toEqual(run.data.classNames);
    expect(probe.imageShape).toEqual([1, 16, 16]);
    expect(readFileSync(join(out, 'index.html'), 'utf8')).toContain(`Classes: ${run.data.classNames.join(', ')}`);
    // predict and visualize --image use the model's own input (16x16 grey) and class names.
    const img = join(tempDir(), 'cat.png');
    writeFileSync(img, await encodeImage(cifarTestImages(4).images[3], 'png', 50));
    const p = await runCli(['predict', '--model', join(out, 'checkpoints', 'epoch-001.json'), '--image', img, '--json']);
    expect(p.code).toBe(0);
    const pred = JSON.parse(p.stdout) as { probabilities: number[]; className: string };
    expect(pred.probabilities).toHaveLength(run.data.classNames.length);
    expect(run.data.classNames).toContain(pred.className);
    const vout = join(tempDir(), 'vis');
    const v = await runCli(['visualize', '--model', join(out, 'checkpoints', 'epoch-001.json'), '--image', img, '--label', run.data.classNames[1], '--out', vout]);
    expect(v.code).toBe(0);
    const vprobe = JSON.parse(readFileSync(join(vout, 'epoch-001', 'probe.json'), 'utf8')) as { imageShape: number[]; predictions: { labelName: string }[] };
    expect(vprobe.imageShape).toEqual([1, 16, 16]);
    expect(vprobe.predictions[0].labelName).toBe(run.data.classNames[1]);
    // visualize on test images reads the run's folder as the run did (16x16 grey).
    const vt = await runCli(['visualize', '--model', join(out, 'checkpoints', 'epoch-001.json'), '--out', join(tempDir(), 'vis2'), '--probe-count', '3']);
    expect(vt.stderr).not.toMatch(/internal error/);
    expect(vt.code).toBe(0);

    expect(userError(await runCli(['train', '--data', root, '--labels', 'coarse', '--out', join(tempDir(), 'x')]))).toMatch(/--labels: applies to CIFAR-100 data, not image folder/);
    expect(userError(await runCli(['train', '--data', root, '--test-fraction', '0.3', '--out', join(tempDir(), 'x')]))).toMatch(/--test-fraction: .* already has train\/ and test\/ folders/);
  }, 240_000);

  it('trains a preset on CIFAR-100 (100 classes: the preset fits its classifier), with the fine class names', async () => {
    const dir = writeCifar100Dir(join(tempDir(), 'c100'), 60, 20);
    const out = join(tempDir(), 'run');
    const r = await runCli(['train', '--data', dir, '--out', out, ...FAST], { timeoutMs: 120_000 });
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.code).toBe(0);
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { data: { classNames: string[] } };
    expect(run.data.classNames).toEqual(FINE_NAMES);
    const ckpt = JSON.parse(readFileSync(join(out, 'checkpoints', 'epoch-001.json'), 'utf8')) as { classNames: string[] };
    expect(ckpt.classNames).toHaveLength(100);
    expect(existsSync(join(out, 'epoch-001', '11-softmax', 'activations.png'))).toBe(true);
    const coarse = await runCli(['train', '--data', dir, '--labels', 'coarse', '--out', join(tempDir(), 'run2'), ...NO_VIZ], { timeoutMs: 120_000 });
    expect(coarse.code).toBe(0);
    expect(coarse.stderr).toMatch(/CIFAR-100, 32x32x3, 20 classes/);
  }, 240_000);

  it('forces a kind with --dataset, and bad data exits 2 with one line naming the file', async () => {
    const idx = writeIdxDir(join(tempDir(), 'digits'), { train: 40, test: 10, rows: 28, cols: 28 });
    const out = join(tempDir(), 'run');
    const r = await runCli(['train', '--data', idx, '--dataset', 'fashion-mnist', '--model', 'convnetjs-mnist', '--out', out, ...NO_VIZ], { timeoutMs: 120_000 });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/\(Fashion-MNIST, 28x28x1, 10 classes\)/);
    expect(r.stderr).toMatch(/augment flip,shift/);
    const digits = await runCli(['train', '--data', idx, '--model', 'convnetjs-mnist', '--out', join(tempDir(), 'run'), ...NO_VIZ], { timeoutMs: 120_000 });
    expect(digits.code).toBe(0);
    // No left-right flip for digits.
    expect(digits.stderr).toMatch(/\(MNIST, 28x28x1, 10 classes\).*augment shift;/);
    // A preset fits its input to the data: convnetjs-cifar10 on 28x28x1 digits.
    const fittedOut = join(tempDir(), 'run');
    const fitted = await runCli(['train', '--data', idx, '--out', fittedOut, ...NO_VIZ], { timeoutMs: 120_000 });
    expect(fitted.code).toBe(0);
    const ckpt = JSON.parse(readFileSync(join(fittedOut, 'checkpoints', 'epoch-001.json'), 'utf8')) as { layer_defs: Record<string, unknown>[] };
    expect(ckpt.layer_defs[0]).toMatchObject({ type: 'input', out_sx: 28, out_sy: 28, out_depth: 1 });

    // A resumed run reads its data as it recorded it.
    expect(userError(await runCli(['train', '--resume', join(out, 'checkpoints', 'epoch-001.json'), '--epochs', '2', '--dataset', 'mnist']))).toMatch(
      /--dataset: a resumed run reads its data as it recorded/,
    );
    // Options that do not apply to the data are refused, not ignored.
    expect(userError(await runCli(['train', '--data', writeCifarDir(join(tempDir(), 'c10')), '--input-size', '64', '--out', join(tempDir(), 'x')]))).toMatch(
      /--input-size: applies to image folder data, not CIFAR-10/,
    );
    // Forcing the wrong kind: the reader names the file it misses.
    expect(userError(await runCli(['train', '--data', idx, '--dataset', 'cifar-100', '--out', join(tempDir(), 'x')]))).toMatch(/train\.bin: file missing/);
    // A label out of range in IDX.
    const bad = writeIdxDir(join(tempDir(), 'bad'), { train: 5, test: 3, rows: 28, cols: 28 });
    writeFileSync(join(bad, 't10k-labels-idx1-ubyte'), Buffer.from([0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 11]));
    expect(userError(await runCli(['train', '--data', bad, '--out', join(tempDir(), 'x')]))).toMatch(/t10k-labels-idx1-ubyte: label 2 is 11, outside 0\.\.9/);
    // A preset cannot read a 1-channel model on RGB data: a spec file with its own input is checked against the data.
    const specFile = join(tempDir(), 'net.json');
    writeFileSync(specFile, JSON.stringify([{ type: 'input', out_sx: 32, out_sy: 32, out_depth: 3 }, { type: 'softmax', num_classes: 10 }]));
    expect(userError(await runCli(['train', '--data', idx, '--model', specFile, '--out', join(tempDir(), 'x')]))).toMatch(/net\.json: layer 0 \(input\).*give 32x32x3, but the MNIST images of .* are 28x28x1/);
    // An image folder with too little memory: refused before decoding, with the memory it needs.
    const root = tempDir('cnnviz-if-');
    await writeClassFolders(root, cifarTestImages(40).images);
    expect(userError(await runCli(['train', '--data', root, '--input-size', '512', '--max-memory', '10M', '--out', join(tempDir(), 'x')]))).toMatch(
      /40 images of .* at 512x512x3 needs about 30 MiB of memory \(decoded images 30 MiB\), more than the limit of 10 MiB \(--max-memory\); use --train-limit/,
    );
  }, 240_000);
});
