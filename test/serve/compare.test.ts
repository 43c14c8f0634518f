import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../src/serve/server.js';
import { drawComparison } from '../../src/train/compare.js';
import { tempDir, writeCifarDir } from '../data/fixtures.js';
import { runCli } from '../helpers/cli.js';
import { rawGet } from './helpers.js';

interface PictureStats {
  quantities: Record<string, { max: number; min: number; picture: { scale: number; clipped: number; scaleMode: string } }>;
}

describe('comparing runs at one colour scale', () => {
  const root = join(tempDir('cnnviz-compare-'), 'runs');
  beforeAll(async () => {
    const data = writeCifarDir(join(tempDir('cnnviz-compare-'), 'cifar'), [16, 16, 16, 16, 16], 10);
    // Two learning rates: different weights, so different natural scales.
    for (const [name, lr] of [['lr-small', '0.001'], ['lr-large', '0.1']]) {
      const r = await runCli(['train', '--data', data, '--out', join(root, name), '--epochs', '1', '--batch-size', '8', '--lr', lr, '--workers', '1', '--probe-count', '2', '--test-limit', '10']);
      expect(r.code, r.stderr).toBe(0);
    }
  }, 120_000);

  it('draws the same layer of each run with one shared scale, the largest over the runs', async () => {
    const out = tempDir('cnnviz-compare-out-');
    const cmp = await drawComparison([join(root, 'lr-small'), join(root, 'lr-large')], ['lr-small', 'lr-large'], 1, out);
    const conv = cmp.layers.find((l) => l.title.startsWith('Layer 1 · conv'))!;
    expect(conv.quantities.map((q) => q.quantity)).toEqual(['activations', 'activation-gradients', 'weights', 'weight-gradients']);
    for (const q of conv.quantities) {
      expect(q.files.every((f) => f !== null)).toBe(true);
      const stats = [0, 1].map((i) => JSON.parse(readFileSync(join(out, String(i), 'epoch-001', '01-conv', 'stats.json'), 'utf8')) as PictureStats);
      const own = stats.map((s) => Math.max(Math.abs(s.quantities[q.quantity].min), Math.abs(s.quantities[q.quantity].max)));
      // Both pictures at the same scale, which is the larger of the two runs' own maxima: nothing clipped.
      expect(stats[0].quantities[q.quantity].picture.scale).toBe(stats[1].quantities[q.quantity].picture.scale);
      expect(stats[0].quantities[q.quantity].picture.scale).toBeCloseTo(Math.max(...own), 5);
      expect(stats.map((s) => s.quantities[q.quantity].picture.clipped)).toEqual([0, 0]);
      expect(q.scale).toBeCloseTo(Math.max(...own), 5);
    }
    // The runs really differ (otherwise the test shows nothing).
    const w = [0, 1].map((i) => (JSON.parse(readFileSync(join(out, String(i), 'epoch-001', '01-conv', 'stats.json'), 'utf8')) as PictureStats).quantities.weights.max);
    expect(w[0]).not.toBe(w[1]);
    expect(cmp.probeIndices).toHaveLength(2);
  });

  it('serves the comparison and its pictures over HTTP, and refuses unknown runs', async () => {
    const server = await startServer({ root, port: 0, compare: drawComparison });
    try {
      const r = await rawGet(server.port, '/.cnnviz/compare?epoch=1&run=lr-small&run=lr-large');
      expect(r.status, r.body).toBe(200);
      const cmp = JSON.parse(r.body) as { layers: { quantities: { files: string[] }[] }[] };
      const file = cmp.layers[1].quantities[0].files[1];
      expect(file).toMatch(/^\/\.cnnviz\/compare-files\/[0-9a-f]{16}\/1\/epoch-001\/01-conv\/activations\.png$/);
      const png = await rawGet(server.port, file);
      expect(png.status).toBe(200);
      expect(png.headers['content-type']).toBe('image/png');
      expect((await rawGet(server.port, '/.cnnviz/compare-files/../../etc/passwd')).status).toBeGreaterThanOrEqual(400);
      expect((await rawGet(server.port, '/.cnnviz/compare?epoch=1&run=nope')).status).toBe(404);
      expect((await rawGet(server.port, '/.cnnviz/compare?epoch=1&run=..')).status).toBe(404);
      const missing = await rawGet(server.port, '/.cnnviz/compare?epoch=7&run=lr-small');
      expect(missing.status).toBe(400);
      expect(JSON.parse(missing.body)).toMatchObject({ error: expect.stringMatching(/lr-small: no checkpoint for epoch 7/) as unknown });
    } finally {
      await server.close();
    }
  });
});
