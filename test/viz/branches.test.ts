/**
 * branches.png (a layer whose type sums its inputs, hint `sumsInputs`): its rows are the inputs and
 * the sum for one probe image, and its caption and row title say so instead of the activations' "one
 * row per image" / "rows: probe image".
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { Network } from '../../src/nn/network.js';
import { parseSpec } from '../../src/nn/spec.js';
import { runProbe } from '../../src/train/probe.js';
import { Rng } from '../../src/util/rng.js';
import { writeEpochViz } from '../../src/viz/epoch.js';

const seen = vi.hoisted(() => [] as string[][]);
const rowTitles = vi.hoisted(() => [] as string[]);

vi.mock('../../src/viz/picture.js', async (importOriginal) => {
  const m = await importOriginal<typeof import('../../src/viz/picture.js')>();
  return {
    ...m,
    composePicture: (spec: Parameters<typeof m.composePicture>[0], engine: Parameters<typeof m.composePicture>[1]) => {
      seen.push(spec.captions);
      rowTitles.push(spec.plan.rowTitle);
      return m.composePicture(spec, engine);
    },
  };
});

describe('branches.png', () => {
  it('has a caption naming its rows (the inputs, then their sum, for probe image 0)', async () => {
    const net = new Network(parseSpec([
      { type: 'input', name: 'x', out_sx: 6, out_sy: 6, out_depth: 3 },
      { type: 'conv', name: 'a', sx: 3, pad: 1, filters: 2 },
      { type: 'conv', name: 'b', inputs: ['x'], sx: 1, filters: 2 },
      { type: 'add', name: 'sum', inputs: ['a', 'b'] },
      { type: 'softmax', num_classes: 3 },
    ], 'branches.json'));
    net.initialize(1);
    const n = 3;
    const rng = new Rng(2);
    const raw = new Uint8Array(n * 108).map(() => Math.floor(rng.next() * 256));
    const images = Float32Array.from(raw, (v) => v / 255 - 0.5);
    const probe = runProbe(net, images, Int32Array.from([0, 1, 2]), raw, [0, 1, 2]);
    expect(probe.layers.map((l) => l.sumsInputs === true)).toEqual([false, false, false, true, false, false]);
    const out = mkdtempSync(join(tmpdir(), 'cnnviz-viz-branches-'));
    const summary = await writeEpochViz(out, 1, probe, { scale: 'robust', classNames: ['p', 'q', 'r'], animations: 'none' });
    const layer = summary.layers.find((l) => l.index === 3)!;
    expect(layer).toBeDefined();
    const file = join(out, 'epoch-001', '03-add', 'branches.png');
    expect(existsSync(file)).toBe(true);
    const branchIndex = seen.findIndex((c) => c[0].startsWith('Layer 3 ') && c.some((x) => x.startsWith('Branches')));
    const branches = seen.filter((c) => c[0].startsWith('Layer 3 ') && c.some((x) => x.startsWith('Branches')));
    expect(branches).toHaveLength(1);
    // The axis line above the grid names its rows as branches, not probe images.
    expect(rowTitles[branchIndex]).toBe('input branch, then the sum');
    expect(rowTitles[seen.findIndex((c) => c[0].startsWith('Layer 3 ') && c[1].startsWith('Activations'))]).toBe('probe image');
    const line = branches[0].find((x) => x.startsWith('Branches'))!;
    expect(line).toMatch(/^Branches and their sum for probe image 0 only: one row per input of this layer \(2 rows\), then the sum it outputs;.* Shape 3×2×6×6\.$/);
    expect(line).not.toMatch(/one row per image/);
    // The layer's own activations keep their usual caption.
    expect(seen.filter((c) => c[0].startsWith('Layer 3 ') && c[1].startsWith("Activations: this layer's output for each probe image (one row per image"))).toHaveLength(1);
  });
});
