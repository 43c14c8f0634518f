import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir, writeCifarDir } from '../data/fixtures.js';
import { runCli } from '../helpers/cli.js';

/** A network taking 40x40 RGB images: larger than CIFAR-10's 32x32. */
const SPEC_40 = [
  { type: 'input', out_sx: 40, out_sy: 40, out_depth: 3 },
  { type: 'conv', sx: 3, filters: 4, stride: 2, pad: 1, activation: 'relu' },
  { type: 'pool', sx: 2, stride: 2 },
  { type: 'softmax', num_classes: 10 },
];

describe('a model with a larger input than the data', () => {
  const dir = tempDir('cnnviz-resize-');
  const data = writeCifarDir(join(dir, 'cifar'), [6, 6, 6, 6, 6], 10);
  const spec = join(dir, 'net40.json');
  writeFileSync(spec, JSON.stringify(SPEC_40));

  it('train resizes the CIFAR-10 images to the model\'s input and says so; visualize resizes its probe images', async () => {
    const out = join(dir, 'run');
    const r = await runCli(['train', '--model', spec, '--data', data, '--epochs', '1', '--batch-size', '10', '--probe-count', '2', '--viz-steps', 'none', '--out', out, '--workers', '1']);
    expect(r.stderr).toContain('resized from 32x32x3 to 40x40x3');
    expect(r.code).toBe(0);
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { data: { imageShape: number[]; resizedFrom?: number[] } };
    expect(run.data.imageShape).toEqual([3, 40, 40]);
    expect(run.data.resizedFrom).toEqual([3, 32, 32]);
    // The probe picture of the input layer is drawn at the model's size.
    const probe = JSON.parse(readFileSync(join(out, 'epoch-001', 'probe.json'), 'utf8')) as { imageShape: number[] };
    expect(probe.imageShape).toEqual([3, 40, 40]);

    const vout = join(dir, 'vis');
    const v = await runCli(['visualize', '--model', join(out, 'checkpoints', 'epoch-001.json'), '--data', data, '--probe', '1,4', '--out', vout]);
    expect(v.code).toBe(0);
    expect(v.stderr).toContain('probe images resized from 32x32x3 to 40x40x3');
    const vprobe = JSON.parse(readFileSync(join(vout, `epoch-001`, 'probe.json'), 'utf8')) as { imageShape: number[]; predictions: { testIndex: number }[] };
    expect(vprobe.imageShape).toEqual([3, 40, 40]);
    // The probe keeps the test images' own numbers.
    expect(vprobe.predictions.map((p) => p.testIndex)).toEqual([1, 4]);
    expect(existsSync(join(vout, 'index.html'))).toBe(true);
  });

  it('still refuses a model whose channels differ from the data\'s', async () => {
    const grey = join(dir, 'grey.json');
    writeFileSync(grey, JSON.stringify([{ ...SPEC_40[0], out_depth: 1 }, ...SPEC_40.slice(1)]));
    const r = await runCli(['train', '--model', grey, '--data', data, '--epochs', '1', '--out', join(dir, 'grey-run')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/40x40x1.*32x32x3/);
  });
});
