import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { Network } from '../../src/nn/network.js';
import { saveSnapshot } from '../../src/nn/snapshot.js';
import { presetSpec } from '../../src/nn/spec.js';
import { tempDir, writeCifarDir } from '../data/fixtures.js';
import { runCli } from '../helpers/cli.js';
import { explorerReferences } from '../helpers/explorer.js';

/** Every src/href in a page that is a local file (not #anchor, data: or javascript:). */
function linkedFiles(html: string): string[] {
  const out: string[] = [];
  for (const m of html.matchAll(/(?:src|href)="([^"]+)"/g)) {
    const ref = m[1];
    if (/^(#|data:|javascript:|https?:)/.test(ref)) continue;
    out.push(decodeURIComponent(ref.split('#')[0]));
  }
  return out;
}

function expectAllLinksExist(page: string): number {
  const html = readFileSync(page, 'utf8');
  // The page's links and the explorer's (its layer files list each layer's pictures).
  const links = [...linkedFiles(html), ...(existsSync(join(dirname(page), 'explorer', 'index.js')) ? explorerReferences(dirname(page)) : [])];
  for (const l of links) expect(existsSync(join(dirname(page), l)), l).toBe(true);
  return links.length;
}

describe('cnnviz visualize', () => {
  const dir = tempDir('cnnviz-vis-');
  const data = writeCifarDir(join(dir, 'cifar'), [4, 4, 4, 4, 4], 12);

  it('draws every layer and a report for a snapshot on test images, linking only files that exist', async () => {
    const net = new Network(presetSpec('convnetjs-cifar10'));
    net.initialize(3);
    const snap = join(dir, 'snap.json');
    await saveSnapshot(snap, { spec: net.spec, params: net.params });
    const out = join(dir, 'vis');
    const r = await runCli(['visualize', '--model', snap, '--out', out, '--data', data, '--probe', '0,5,11']);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    for (const layer of ['00-input', '01-conv', '02-relu', '03-pool', '10-fc', '11-softmax']) {
      expect(existsSync(join(out, 'epoch-000', layer, 'activations.png')), layer).toBe(true);
      // Softmax + loss are one step: its gradient is shown at the fc layer, not as an all-zero picture.
      expect(existsSync(join(out, 'epoch-000', layer, 'activation-gradients.png')), layer).toBe(layer !== '11-softmax');
    }
    expect(existsSync(join(out, 'epoch-000', '04-conv', 'weight-gradients.png'))).toBe(true);
    const stats = JSON.parse(readFileSync(join(out, 'epoch-000', '01-conv', 'stats.json'), 'utf8')) as { probeCount: number };
    expect(stats.probeCount).toBe(3);
    // 9 on the page, the rest in the explorer's layer files (every picture of the 12 layers).
    expect(expectAllLinksExist(join(out, 'index.html'))).toBeGreaterThanOrEqual(40);
  });

  it("draws a user's own image", async () => {
    const net = new Network(presetSpec('convnetjs-cifar10'));
    net.initialize(4);
    const snap = join(dir, 'snap2.json');
    await saveSnapshot(snap, { spec: net.spec, params: net.params });
    const image = join(dir, 'mine.png');
    await sharp({ create: { width: 50, height: 40, channels: 3, background: { r: 200, g: 40, b: 90 } } }).png().toFile(image);
    const out = join(dir, 'vis-image');
    const r = await runCli(['visualize', '--model', snap, '--out', out, '--image', image, '--label', '3']);
    expect(r.code).toBe(0);
    const probe = JSON.parse(readFileSync(join(out, 'epoch-000', 'probe.json'), 'utf8')) as unknown;
    expect(JSON.stringify(probe)).toContain('cat'); // label 3 of the CIFAR-10 names
    const input = await sharp(join(out, 'epoch-000', '00-input', 'activations.png')).metadata();
    expect(input.width).toBeGreaterThan(32);
    expectAllLinksExist(join(out, 'index.html'));
  });

  it('--image: a class name for --label, no --out needed, says it stretched the image, no true label, no one-frame animations', async () => {
    const net = new Network(presetSpec('convnetjs-cifar10'));
    net.initialize(5);
    const snap = join(dir, 'snap3.json');
    await saveSnapshot(snap, { spec: net.spec, params: net.params });
    const image = join(dir, 'photo.png');
    await sharp({ create: { width: 200, height: 120, channels: 3, background: { r: 20, g: 140, b: 90 } } }).png().toFile(image);
    const r = await runCli(['visualize', '--model', snap, '--image', image, '--label', 'Automobile'], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = join(dir, 'out', 'visualize-snap3-photo');
    expect(r.stdout.trim()).toBe(join('out', 'visualize-snap3-photo', 'index.html'));
    const probe = JSON.parse(readFileSync(join(out, 'epoch-000', 'probe.json'), 'utf8')) as { predictions: { labelName: string }[]; userImage: unknown };
    expect(probe.predictions[0].labelName).toBe('automobile');
    expect(probe.userImage).toEqual({ file: image, width: 200, height: 120, labelFrom: 'option' });
    const html = readFileSync(join(out, 'index.html'), 'utf8');
    expect(html).toContain('200\u00d7120 px, resized (stretched, not cropped)');
    expect(html).toContain('There is no true label');
    expect(html).not.toMatch(/the same 1 test images/i);
    // The report's opening text and walkthrough speak of the user's image, not of test images and true labels.
    expect(html).not.toMatch(/test images \(the <i>probe<\/i>\)|against their true labels|Probe image 0/);
    expect(html).toContain('Your image, <b>photo.png</b>, goes through the network');
    expect(html).toMatch(/measured against <b>automobile<\/b> \(the class you gave with --label\); every picture has one row: your image/);
    expect(html).toContain('Your image, channels');
    expect(existsSync(join(out, 'animations'))).toBe(false);
    const bad = await runCli(['visualize', '--model', snap, '--image', image, '--label', 'giraffe', '--out', join(dir, 'x')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--label "giraffe".*automobile/);
  });
});

describe('cnnviz predict', () => {
  const dir = tempDir('cnnviz-predict-');
  it('names the classes of a preset, and --top must be a whole number >= 1', async () => {
    const image = join(dir, 'p.png');
    await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 20, g: 140, b: 90 } } }).png().toFile(image);
    const ok = await runCli(['predict', '--model', 'convnetjs-cifar10', '--image', image, '--top', '3']);
    expect(ok.code).toBe(0);
    const lines = ok.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    for (const l of lines) expect(l).toMatch(/^(airplane|automobile|bird|cat|deer|dog|frog|horse|ship|truck) /);
    for (const top of ['abc', '0', '-1', '1.5']) {
      const r = await runCli(['predict', '--model', 'convnetjs-cifar10', '--image', image, '--top', top]);
      expect(r.code, top).toBe(2);
      expect(r.stdout, top).toBe('');
    }
  });
});

describe('report of a training run', () => {
  it('links only files that exist, after each epoch', async () => {
    const dir = tempDir('cnnviz-report-');
    const data = writeCifarDir(join(dir, 'cifar'), [8, 8, 8, 8, 8], 10);
    const out = join(dir, 'run');
    const r = await runCli(['train', '--data', data, '--epochs', '2', '--out', out, '--quiet', '--viz-every', '2', '--probe-count', '2']);
    expect(r.code).toBe(0);
    // Pictures only for epoch 2 (--viz-every 2), curves for both epochs.
    expect(existsSync(join(out, 'epoch-001'))).toBe(false);
    expect(existsSync(join(out, 'epoch-002', '01-conv', 'weights.png'))).toBe(true);
    expect(existsSync(join(out, 'plots', 'loss.png'))).toBe(true);
    const html = readFileSync(join(out, 'index.html'), 'utf8');
    expect(html).not.toContain('epoch-001/');
    expectAllLinksExist(join(out, 'index.html'));
  });
});
