import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { Network } from '../../src/nn/network.js';
import { saveSnapshot } from '../../src/nn/snapshot.js';
import { presetSpec } from '../../src/nn/spec.js';
import { tempDir, writeCifarDir } from '../data/fixtures.js';
import { runCli } from '../helpers/cli.js';

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
  const links = linkedFiles(html);
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
    expect(expectAllLinksExist(join(out, 'index.html'))).toBeGreaterThan(40);
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
