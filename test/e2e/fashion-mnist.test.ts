import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { loadIdx } from '../../src/data/idx.js';
import { tempDir } from '../data/fixtures.js';
import { runCli } from '../helpers/cli.js';

// End to end on the real Fashion-MNIST, as Debian's dataset-fashion-mnist installs it (FASHION_MNIST_DIR
// points elsewhere); skipped without it.
const DIR = process.env.FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';
const present = existsSync(join(DIR, 'train-images-idx3-ubyte.gz')) || existsSync(join(DIR, 'train-images-idx3-ubyte'));

describe.skipIf(!present)('cnnviz train on the real Fashion-MNIST', () => {
  it('reads all 70,000 images as 28x28 grey with the published class names', async () => {
    const d = await loadIdx(DIR);
    expect(d.kind).toBe('fashion-mnist');
    expect([d.train.count, d.test.count]).toEqual([60_000, 10_000]);
    expect(d.train.shape).toEqual([1, 28, 28]);
    expect(d.classNames).toEqual(['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']);
    // Balanced: 6,000 training and 1,000 test images per class.
    const counts = new Array(10).fill(0);
    for (const l of d.test.labels) counts[l]++;
    expect(counts).toEqual(new Array(10).fill(1000));
  });

  it('trains convnetjs-mnist one epoch on 3,000 images, beats chance, and names the classes in every output', async () => {
    const out = join(tempDir('cnnviz-e2e-'), 'run');
    const r = await runCli(['train', '--data', DIR, '--model', 'convnetjs-mnist', '--epochs', '1', '--train-limit', '3000', '--test-limit', '500', '--viz-steps', 'none', '--out', out, '--json'], { timeoutMs: 300_000 });
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/\(Fashion-MNIST, 28x28x1, 10 classes\)/);
    const epoch = JSON.parse(r.stdout.trim()) as { testAccuracy: number; trainLoss: number };
    // One epoch on 3,000 real images is far above chance (10%); a pipeline that scrambles channels or labels is not.
    expect(epoch.testAccuracy).toBeGreaterThan(0.5);
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { data: { classNames: string[]; imageShape: number[] } };
    expect(run.data.classNames[9]).toBe('Ankle boot');
    expect(run.data.imageShape).toEqual([1, 28, 28]);
    const probe = JSON.parse(readFileSync(join(out, 'epoch-001', 'probe.json'), 'utf8')) as { imageShape: number[]; predictions: { labelName: string; top3: { name: string }[] }[] };
    expect(probe.imageShape).toEqual([1, 28, 28]);
    expect(probe.predictions.every((p) => run.data.classNames.includes(p.labelName) && p.top3.every((t) => run.data.classNames.includes(t.name)))).toBe(true);
    const html = readFileSync(join(out, 'index.html'), 'utf8');
    expect(html).toContain('T-shirt/top');
    // The input picture draws the grey images as images (one column), in grey: R = G = B everywhere.
    const { data, info } = await sharp(join(out, 'epoch-001', '00-input', 'activations.png')).raw().toBuffer({ resolveWithObject: true });
    let grey = 0;
    let coloured = 0;
    for (let i = 0; i < data.length; i += info.channels) {
      if (data[i] === data[i + 1] && data[i + 1] === data[i + 2]) grey++;
      else coloured++;
    }
    expect(coloured / (grey + coloured)).toBeLessThan(0.01);
    // predict takes any image and reads it as the model's 28x28 grey input, answering with a Fashion-MNIST name.
    const img = join(tempDir(), 'shoe.png');
    const d = await loadIdx(DIR, { trainLimit: 0, testLimit: 1 });
    writeFileSync(img, await sharp(Buffer.from(d.test.pixels), { raw: { width: 28, height: 28, channels: 1 } }).resize(100, 100).png().toBuffer());
    const p = await runCli(['predict', '--model', join(out, 'checkpoints', 'epoch-001.json'), '--image', img]);
    expect(p.code).toBe(0);
    expect(p.stdout.split('\n')[0]).toMatch(new RegExp(`^(${run.data.classNames.map((n) => n.replace(/[/]/g, '\\/')).join('|')})\\s+\\d+\\.\\d+%$`));
  }, 300_000);
});
