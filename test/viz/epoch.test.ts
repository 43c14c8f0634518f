import { mkdtempSync, readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'fast-png';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIVERGING_LUT, DIVERGING_SIZE, DIVERGING_ZERO_RGB, SEQUENTIAL_ZERO_RGB } from '../../src/viz/colormap.js';
import { resetTextEngine } from '../../src/viz/canvas.js';
import { layerShapeInfos, writeEpochViz, type LayerStatsFile } from '../../src/viz/epoch.js';
import { DARK_GUTTER_RGB, GUTTER_RGB, QUANTITIES, pictureGridLayout } from '../../src/viz/grid.js';
import { colorBarLabels, computeStats, createVizScaleState, maxAbs, maxPositive } from '../../src/viz/scale.js';
import type { LayerProbe, ProbeResult } from '../../src/viz/types.js';
import { CIFAR_CLASSES, fakeCifarProbe } from './fake-probe.js';

function tmp(name: string): string {
  return mkdtempSync(join(tmpdir(), `cnnviz-viz-${name}-`));
}

function readPng(path: string): { width: number; height: number; px: (x: number, y: number) => number[] } {
  const png = decode(readFileSync(path));
  expect(png.depth).toBe(8);
  const ch = png.channels;
  return {
    width: png.width,
    height: png.height,
    px: (x, y) => {
      const o = (y * png.width + x) * ch;
      return [png.data[o], png.data[o + 1], png.data[o + 2]];
    },
  };
}

function readStats(out: string, epoch: number, layerDir: string): LayerStatsFile {
  return JSON.parse(readFileSync(join(out, `epoch-${String(epoch).padStart(3, '0')}`, layerDir, 'stats.json'), 'utf8')) as LayerStatsFile;
}

function allFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => statSync(join(dir, f)).isFile());
}

function quantityData(l: LayerProbe, q: string): Float32Array | undefined {
  return q === 'activations' ? l.activations : q === 'activation-gradients' ? l.activationGrads : q === 'weights' ? l.weights?.data : l.weightGrads;
}

describe('writeEpochViz on the CIFAR net shapes (layer scale)', () => {
  const out = tmp('epoch');
  const probe = fakeCifarProbe({ seed: 3 });
  let summary: Awaited<ReturnType<typeof writeEpochViz>>;
  beforeAll(async () => {
    summary = await writeEpochViz(out, 3, probe, { scale: 'layer', classNames: CIFAR_CLASSES, animations: 'none' });
  });

  it('writes the documented folder layout', () => {
    const files = allFiles(out);
    expect(files).toContain('epoch-003/probe.json');
    expect(files).toContain('epoch-003/probe.png');
    expect(files).toContain('epoch-003/epoch.json');
    expect(files).toContain('viz-scale-state.json');
    for (const d of ['00-input', '02-relu', '03-pool', '05-relu', '06-pool', '08-relu', '09-pool']) {
      expect(readdirSync(join(out, 'epoch-003', d)).sort()).toEqual(['activation-gradients.png', 'activations.png', 'stats.json']);
    }
    // Softmax and the loss are one step: no (all-zero) gradient picture, a statement instead.
    expect(readdirSync(join(out, 'epoch-003', '11-softmax')).sort()).toEqual(['activations.png', 'stats.json']);
    expect(readStats(out, 3, '11-softmax').noPicture?.['activation-gradients']).toMatch(/p \u2212 one-hot/);
    for (const d of ['01-conv', '04-conv', '07-conv', '10-fc']) {
      expect(readdirSync(join(out, 'epoch-003', d)).sort()).toEqual(['activation-gradients.png', 'activations.png', 'stats.json', 'weight-gradients.png', 'weights.png']);
    }
    // Atomic writes leave no temp files behind.
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(summary.layers).toHaveLength(12);
    for (const f of summary.files) expect(existsSync(join(out, f))).toBe(true);
  });

  it('each PNG has the size stats.json records, and its grid the size the layout rules give', () => {
    const infos = layerShapeInfos(probe.layers);
    for (const [i, layer] of probe.layers.entries()) {
      const dir = `${String(layer.index).padStart(2, '0')}-${layer.type}`;
      const stats = readStats(out, 3, dir);
      for (const q of QUANTITIES) {
        const entry = stats.quantities[q];
        if (!quantityData(layer, q) || stats.noPicture?.[q]) {
          expect(entry).toBeUndefined();
          continue;
        }
        const pic = entry!.picture;
        const png = readPng(join(out, 'epoch-003', dir, `${q}.png`));
        expect([png.width, png.height]).toEqual([pic.width, pic.height]);
        const layout = pictureGridLayout(infos[i], q, 8);
        expect([pic.grid.width, pic.grid.height, pic.grid.zoom]).toEqual([layout.width, layout.height, layout.zoom]);
        // The grid's frame is where stats.json says: gutter colour at its four corners.
        const g = pic.grid;
        for (const [x, y] of [[g.x, g.y], [g.x + g.width - 1, g.y], [g.x, g.y + g.height - 1], [g.x + g.width - 1, g.y + g.height - 1]]) {
          expect(png.px(x, y)).toEqual(g.gutterRgb);
        }
        // Colour pictures (zero = mid grey) get a dark gutter, the rest a neutral grey one.
        expect(g.gutterRgb).toEqual(pic.colorMap === 'signed-rgb' || pic.colorMap === 'mixed' ? [...DARK_GUTTER_RGB] : [...GUTTER_RGB]);
        expect(g.x + g.width).toBeLessThanOrEqual(png.width);
        expect(g.y + g.height).toBeLessThanOrEqual(png.height);
      }
    }
  });

  it("stats.json holds each quantity's min/max/mean/std and the exact scale its colour bar prints", () => {
    for (const layer of probe.layers) {
      const dir = `${String(layer.index).padStart(2, '0')}-${layer.type}`;
      const stats = readStats(out, 3, dir);
      expect(stats.layer.outShape).toEqual(layer.outShape);
      expect(stats.layer.paramCount).toBe(layer.paramCount);
      for (const q of QUANTITIES) {
        const data = quantityData(layer, q);
        if (!data || stats.noPicture?.[q]) continue;
        const entry = stats.quantities[q]!;
        const st = computeStats(data);
        expect(entry.min).toBe(st.min);
        expect(entry.max).toBe(st.max);
        expect(entry.mean).toBeCloseTo(st.mean, 12);
        expect(entry.std).toBeCloseTo(st.std, 12);
        const pic = entry.picture;
        expect(pic.scaleMode).toBe('layer');
        if (pic.colorMap === 'image') {
          expect(pic.bars).toEqual([]);
          continue;
        }
        const sequential = pic.colorMap === 'sequential';
        // Sequential pictures: s = max value; everything else: s = max |value|.
        expect(pic.scale).toBe(sequential ? maxPositive(data) : maxAbs(data));
        expect(sequential).toBe(q === 'activations' && layer.activationsNonNegative);
        for (const bar of pic.bars) {
          expect(bar.scale).toBe(pic.scale);
          expect(bar.labels).toEqual(colorBarLabels(bar.kind, pic.scale));
        }
        expect(pic.clipped).toBe(0);
      }
    }
  });

  it('writes the probe predictions, top-3 sorted', () => {
    const pj = JSON.parse(readFileSync(join(out, 'epoch-003/probe.json'), 'utf8')) as { scoreKind: string; predictions: { label: number; top3: { class: number; p: number }[]; correct: boolean }[] };
    expect(pj.scoreKind).toBe('probability');
    expect(pj.predictions).toHaveLength(8);
    for (const [i, p] of pj.predictions.entries()) {
      expect(p.label).toBe(probe.labels[i]);
      expect(p.top3).toHaveLength(3);
      expect(p.top3[0].p).toBeGreaterThanOrEqual(p.top3[1].p);
      expect(p.top3[1].p).toBeGreaterThanOrEqual(p.top3[2].p);
      expect(p.correct).toBe(p.top3[0].class === p.label);
      const row = Array.from(probe.probabilities.subarray(i * 10, i * 10 + 10));
      expect(p.top3[0].p).toBeCloseTo(Math.max(...row), 6);
    }
  });
});

/** A two-layer probe with known values: input 3x2x2 and a conv whose single map is [[-1, 0], [0, 1]]. */
/** The graph fields of layer i of a chain. */
function chain(i: number, type: string) {
  return { name: `0${i}-${type}`, inputs: i === 0 ? [] : [i - 1], explain: type, isLoss: false, outputsProbabilities: false };
}

function knownProbe(convValues: number[]): ProbeResult {
  const input = new Float32Array(12).fill(0.25);
  return {
    probeIndices: [5],
    labels: [1],
    probabilities: Float32Array.from([0.25, 0.75]),
    images: new Uint8Array(12).fill(200),
    imageShape: [3, 2, 2],
    layers: [
      { index: 0, type: 'input', ...chain(0, 'input'), description: 'input 2x2x3', outShape: [3, 2, 2], paramCount: 0, activationsNonNegative: false, activations: input, activationGrads: new Float32Array(12) },
      {
        index: 1, type: 'conv', ...chain(1, 'conv'), description: 'conv 1x1, 1 filter', outShape: [1, 2, 2], paramCount: 4, activationsNonNegative: false,
        activations: Float32Array.from(convValues), activationGrads: Float32Array.from([0, 0, 0, 0]),
        weights: { data: Float32Array.from([0.5, 0, -0.5]), shape: [1, 3, 1, 1] }, weightGrads: new Float32Array(3),
      },
      { index: 2, type: 'relu', ...chain(2, 'relu'), description: 'relu', outShape: [1, 2, 2], paramCount: 0, activationsNonNegative: true, activations: Float32Array.from(convValues.map((v) => Math.max(0, v))), activationGrads: new Float32Array(4) },
    ],
  };
}

describe('known values in the written PNG', () => {
  it('a 2x2 map [[-1, 0], [0, 1]] lands as blocks of the negative, middle and positive colours', async () => {
    const out = tmp('known');
    await writeEpochViz(out, 1, knownProbe([-1, 0, 0, 1]), { scale: 'layer', classNames: ['a', 'b'], animations: 'none' });
    const stats = readStats(out, 1, '01-conv');
    const pic = stats.quantities.activations!.picture;
    expect(pic.scale).toBe(1);
    expect(pic.bars[0].labels).toEqual(['-1', '0', '1']);
    const g = pic.grid;
    expect(g.zoom).toBe(24); // ceil(48 / 2)
    const png = readPng(join(out, 'epoch-001/01-conv/activations.png'));
    const z = g.zoom;
    const block = (bx: number, by: number, dx: number, dy: number): number[] => png.px(g.x + g.gutter + bx * z + dx, g.y + g.gutter + by * z + dy);
    for (const [dx, dy] of [[0, 0], [z - 1, 0], [0, z - 1], [z - 1, z - 1], [z >> 1, z >> 1]]) {
      expect(block(0, 0, dx, dy)).toEqual([DIVERGING_LUT[0], DIVERGING_LUT[1], DIVERGING_LUT[2]]);
      expect(block(1, 0, dx, dy)).toEqual([...DIVERGING_ZERO_RGB]);
      expect(block(0, 1, dx, dy)).toEqual([...DIVERGING_ZERO_RGB]);
      const e = (DIVERGING_SIZE - 1) * 3;
      expect(block(1, 1, dx, dy)).toEqual([DIVERGING_LUT[e], DIVERGING_LUT[e + 1], DIVERGING_LUT[e + 2]]);
    }
    // The ReLU of it on the sequential map: zero is black.
    const relu = readStats(out, 1, '02-relu').quantities.activations!.picture;
    const rp = readPng(join(out, 'epoch-001/02-relu/activations.png'));
    expect(rp.px(relu.grid.x + 2, relu.grid.y + 2)).toEqual([...SEQUENTIAL_ZERO_RGB]);
    // First conv filter in colour: R = +s, G = 0, B = -s -> (255, 128, 0).
    const w = readStats(out, 1, '01-conv').quantities.weights!.picture;
    expect(w.colorMap).toBe('signed-rgb');
    const wp = readPng(join(out, 'epoch-001/01-conv/weights.png'));
    expect(wp.px(w.grid.x + 2 + 3, w.grid.y + 2 + 3)).toEqual([255, 128, 0]);
  });
});

describe('scale modes', () => {
  it('run: the first epoch fixes the scale, later epochs clip beyond it and say how many', async () => {
    const out = tmp('run');
    const state = createVizScaleState();
    await writeEpochViz(out, 1, knownProbe([-1, 0, 0, 1]), { scale: 'run', scaleState: state, classNames: ['a', 'b'], animations: 'none' });
    expect(state.entries['01-conv/activations']).toEqual({ scale: 1, epoch: 1 });
    await writeEpochViz(out, 2, knownProbe([-3, 0, 0.5, 2]), { scale: 'run', scaleState: state, classNames: ['a', 'b'], animations: 'none' });
    const pic = readStats(out, 2, '01-conv').quantities.activations!.picture;
    expect(pic).toMatchObject({ scaleMode: 'run', scale: 1, fixedAtEpoch: 1, clipped: 2 });
    expect(pic.bars[0].labels).toEqual(['-1', '0', '1']);
    // The state is saved beside the epochs and picked up when the caller passes none.
    const saved = JSON.parse(readFileSync(join(out, 'viz-scale-state.json'), 'utf8'));
    expect(saved.entries['01-conv/activations']).toEqual({ scale: 1, epoch: 1 });
    await writeEpochViz(out, 3, knownProbe([-5, 0, 0, 5]), { scale: 'run', classNames: ['a', 'b'], animations: 'none' });
    expect(readStats(out, 3, '01-conv').quantities.activations!.picture).toMatchObject({ scale: 1, fixedAtEpoch: 1, clipped: 2 });
  });

  it('map: every tile its own scale, listed in stats.json with the label printed under it', async () => {
    const out = tmp('map');
    const probe = fakeCifarProbe({ seed: 4 });
    await writeEpochViz(out, 1, probe, { scale: 'map', classNames: CIFAR_CLASSES, animations: 'none' });
    const stats = readStats(out, 1, '04-conv');
    const pic = stats.quantities.activations!.picture;
    expect(pic.tileScales).toHaveLength(8 * 20);
    const data = probe.layers[4].activations;
    for (const t of [0, 17, 159]) {
      expect(pic.tileScales![t]).toBe(maxAbs(data, t * 256, (t + 1) * 256));
    }
    expect(pic.tileLabels![17]).toMatch(/^±/);
    expect(pic.bars[0].labels).toEqual(['-s', '0', 's']);
    // A 15 px label strip (9 px text) under every row of tiles.
    expect(pic.grid.height).toBe(8 * (48 + 17) + 9 * 2);
  });
});

describe('text engines', () => {
  const saved = process.env.CNNVIZ_VIZ_TEXT;
  afterAll(() => {
    if (saved === undefined) delete process.env.CNNVIZ_VIZ_TEXT;
    else process.env.CNNVIZ_VIZ_TEXT = saved;
    resetTextEngine();
  });
  it('the built-in bitmap font path writes decodable pictures with text on them', async () => {
    process.env.CNNVIZ_VIZ_TEXT = 'bitmap';
    resetTextEngine();
    const out = tmp('bitmap');
    const s = await writeEpochViz(out, 1, knownProbe([-1, 0, 0, 1]), { scale: 'layer', classNames: ['a', 'b'], animations: 'none' });
    expect(s.textEngine).toBe('bitmap');
    const png = readPng(join(out, 'epoch-001/01-conv/activations.png'));
    // Some dark text pixels in the caption strip (above the grid).
    const g = readStats(out, 1, '01-conv').quantities.activations!.picture.grid;
    let dark = 0;
    for (let y = 0; y < g.y; y++) for (let x = 0; x < png.width; x++) if (png.px(x, y)[0] < 100) dark++;
    expect(dark).toBeGreaterThan(100);
  });
});
