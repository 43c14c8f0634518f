/**
 * Issue 11: every picture answers its question. Content checks on a real network's probe pass:
 * layer-specific captions, zero fractions printed = zero fractions of the data, the walkthrough's
 * numbers, the robust scale's clipped counts, and the top patches really being the maximal ones.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { SCALE } from '../../src/data/preprocess.js';
import { Network } from '../../src/nn/network.js';
import { layerHints, presetSpec } from '../../src/nn/spec.js';
import { patchPass } from '../../src/train/patch-pass.js';
import { runProbe, windowOf } from '../../src/train/probe.js';
import { Rng } from '../../src/util/rng.js';
import { writeEpochViz, type LayerStatsFile } from '../../src/viz/epoch.js';
import { pct, probeWords } from '../../src/viz/explain.js';
import { ChannelTopK, receptiveFields } from '../../src/viz/patches.js';
import { writeReport } from '../../src/viz/report.js';
import { ROBUST_PERCENTILE } from '../../src/viz/scale.js';
import type { ProbeResult } from '../../src/viz/types.js';
import { computeWalkthrough, poolWinners, type WalkthroughData } from '../../src/viz/walkthrough.js';
import { CIFAR_CLASSES } from './fake-probe.js';

/** A real network's probe pass on random smooth images (the relationships between layers are real). */
function realProbe(seed: number, P = 4): { net: Network; probe: ProbeResult } {
  const net = new Network(presetSpec('convnetjs-cifar10'));
  net.initialize(seed);
  const rng = new Rng(seed);
  const raw = new Uint8Array(P * 3 * 32 * 32);
  for (let i = 0; i < raw.length; i++) raw[i] = Math.floor(128 + 100 * Math.sin(i / 37 + rng.next()) * rng.next());
  const images = Float32Array.from(raw, (v) => v / 255 - 0.5);
  const labels = Int32Array.from({ length: P }, (_, i) => i % 10);
  return { net, probe: runProbe(net, images, labels, raw, Array.from({ length: P }, (_, i) => i)) };
}

function zeroFrac(a: Float32Array, start = 0, end = a.length): number {
  let z = 0;
  for (let i = start; i < end; i++) if (a[i] === 0) z++;
  return z / (end - start);
}

describe('report of a real probe pass', () => {
  const out = mkdtempSync(join(tmpdir(), 'cnnviz-insight-'));
  const { probe } = realProbe(5);
  let html = '';
  beforeAll(async () => {
    await writeEpochViz(out, 1, probe, { scale: 'robust', classNames: CIFAR_CLASSES, animations: 'none' });
    await writeReport(out, { name: 'insight', model: 'x', classNames: CIFAR_CLASSES, metrics: [] });
    html = readFileSync(join(out, 'index.html'), 'utf8');
  });

  /** The report's article for layer i. */
  const article = (i: number): string => {
    const m = new RegExp(`<article class="layer" id="e1-l${i}"[\\s\\S]*?</article>`).exec(html);
    expect(m, `layer ${i}`).not.toBeNull();
    return m![0];
  };
  const figure = (a: string, q: string): string => {
    const m = new RegExp(`<figure[^>]*data-quantity="${q}"[\\s\\S]*?</figure>`).exec(a);
    expect(m, q).not.toBeNull();
    return m![0];
  };

  it('each layer shows the words of its own kind', () => {
    probe.layers.forEach((l, i) => {
      const a = article(i);
      expect(a).toContain(`data-kind="${l.type}"`);
      const what = probeWords(probe.layers)[i].what.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/'/g, '&#39;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
      expect(a).toContain(what);
    });
  });

  it('prints the zero fraction of every picture, equal to the data', () => {
    probe.layers.forEach((l, i) => {
      const a = article(i);
      for (const [q, data] of [['activations', l.activations], ['activation-gradients', l.activationGrads]] as const) {
        if (l.type === 'softmax' && q === 'activation-gradients') {
          expect(figure(a, q)).toMatch(/p \u2212 one-hot/);
          continue;
        }
        expect(figure(a, q), `layer ${i} ${q}`).toContain(`exactly zero: ${pct(zeroFrac(data))}`);
      }
    });
    // The ReLU under a 2x2 max pool: its activation gradient is at least 75% zeros, and the page says so.
    const relu = probe.layers[2];
    expect(relu.type).toBe('relu');
    expect(zeroFrac(relu.activationGrads)).toBeGreaterThanOrEqual(0.75);
    expect(figure(article(2), 'activation-gradients')).toContain(`Measured: ${pct(zeroFrac(relu.activationGrads))}`);
    expect(figure(article(3), 'activation-gradients')).toContain(`receives a gradient that is ${pct(zeroFrac(relu.activationGrads))} zeros`);
  });

  it('the walkthrough counts are the data: pool winners get the gradient, the ReLU mask cuts it', () => {
    const w = JSON.parse(readFileSync(join(out, 'epoch-001', 'walkthrough.json'), 'utf8')) as WalkthroughData;
    const [conv, relu, pool] = [probe.layers[1], probe.layers[2], probe.layers[3]];
    const n = 16 * 32 * 32;
    expect(w.layers).toEqual({ conv: 1, relu: 2, pool: 3 });
    expect(w.zeroFractions.reluOutputGradient).toBe(zeroFrac(relu.activationGrads, 0, n));
    expect(w.zeroFractions.convOutputGradient).toBe(zeroFrac(conv.activationGrads, 0, n));
    expect(w.zeroFractions.poolOutputGradient).toBe(zeroFrac(pool.activationGrads, 0, 16 * 16 * 16));
    expect(w.winnerFraction).toBe(0.25);
    // Gradient reaches the ReLU output only at winners, and the conv output only at winners that fired.
    const win = poolWinners(relu.activations, 0, relu.outShape, pool.window!, pool.outShape);
    for (let i = 0; i < n; i++) {
      if (!win[i]) expect(relu.activationGrads[i]).toBe(0);
      if (relu.activations[i] <= 0) expect(conv.activationGrads[i]).toBe(0);
    }
    expect(html).toContain(`<b>${pct(w.zeroFractions.reluOutputGradient)}</b> exactly zero`);
    expect(computeWalkthrough(probe, 0)).toEqual(w);
  });

  it('answers the four questions at the top, with this run\u2019s zero fractions and links to the layers', () => {
    const m = /<ol class="questions">([\s\S]*?)<\/ol>/.exec(html);
    expect(m).not.toBeNull();
    const items = m![1].split('<li>').slice(1);
    expect(items).toHaveLength(4);
    expect(items[0]).toMatch(/saliency/);
    expect(items[0]).toContain('href="#e1-l0"');
    expect(items[1]).toContain(`Measured: ${pct(zeroFrac(probe.layers[1].activationGrads))} of this picture\u2019s values are exactly 0`);
    expect(items[1]).toContain('It comes down from the ReLU (layer 2)');
    expect(items[2]).toContain(`Measured: ${pct(zeroFrac(probe.layers[2].activationGrads))} of this picture\u2019s values are exactly 0`);
    expect(items[3]).toContain(`Measured: ${pct(zeroFrac(probe.layers[3].activationGrads))} of this picture\u2019s values are exactly 0. So this gradient is dense`);
    expect(items[3]).toContain('href="#e1-l3"');
    expect(html).toContain('href="#e1-walkthrough"');
    expect(html).toContain('id="e1-walkthrough"');
  });

  it('robust scale: s is the 99.5th percentile of |value| and the clipped count is right', () => {
    const stats = JSON.parse(readFileSync(join(out, 'epoch-001', '01-conv', 'stats.json'), 'utf8')) as LayerStatsFile;
    const pic = stats.quantities['activation-gradients']!.picture;
    const data = probe.layers[1].activationGrads;
    const abs = Array.from(data, Math.abs).sort((a, b) => a - b);
    const s = abs[Math.ceil((ROBUST_PERCENTILE / 100) * abs.length) - 1];
    expect(pic.scaleMode).toBe('robust');
    expect(pic.scale).toBe(s);
    expect(pic.clipped).toBe(abs.filter((v) => v > s).length);
    expect(pic.clipped).toBeGreaterThan(0);
    expect(pic.clipped).toBeLessThanOrEqual(Math.ceil(0.005 * abs.length));
    expect(figure(article(1), 'activation-gradients')).toContain(`${pic.clipped.toLocaleString('en-US')} of ${data.length.toLocaleString('en-US')} values beyond s`);
  });

  it('numbers every first-layer filter', async () => {
    const stats = JSON.parse(readFileSync(join(out, 'epoch-001', '01-conv', 'stats.json'), 'utf8')) as LayerStatsFile;
    // One label strip per filter row: the grid is taller than the tiles alone.
    const g = stats.quantities.weights!.picture.grid;
    expect(g.height).toBeGreaterThan(g.rows * g.cellH + (g.rows + 1) * g.gutter);
  });
});

describe('top patches', () => {
  it('ChannelTopK keeps the 9 largest image maxima per channel (brute force)', () => {
    const rng = new Rng(3);
    const [C, H, W] = [3, 5, 4];
    const N = 40;
    const acts = new Float32Array(N * C * H * W).map(() => Math.round(rng.normal(0, 1) * 8) / 8); // ties happen
    const t = new ChannelTopK(C, 9);
    t.offerBatch(acts.subarray(0, 25 * C * H * W), 25, [C, H, W], 0, Array.from({ length: N }, (_, i) => 100 + i));
    t.offerBatch(acts.subarray(25 * C * H * W), 15, [C, H, W], 25, Array.from({ length: N }, (_, i) => 100 + i));
    for (let c = 0; c < C; c++) {
      const best = Array.from({ length: N }, (_, b) => {
        const plane = acts.subarray((b * C + c) * H * W, (b * C + c + 1) * H * W);
        const v = Math.max(...plane);
        return { image: b, v, at: plane.indexOf(v) };
      }).sort((a, b) => b.v - a.v || a.image - b.image).slice(0, 9);
      expect(t.top[c].map((p) => [p.image, p.value, p.y * W + p.x, p.testIndex])).toEqual(best.map((b) => [b.image, b.v, b.at, 100 + b.image]));
    }
  });

  it('receptive fields of the ConvNetJS CIFAR-10 net', () => {
    const spec = presetSpec('convnetjs-cifar10');
    const net = new Network(spec);
    const rf = receptiveFields(net.layers.map((l) => ({ positions: layerHints(l.config).positions, inputs: l.inputs, outShape: l.outShape, window: windowOf(l.config) })));
    expect(rf.map((r) => r?.sizeH)).toEqual([1, 5, 5, 6, 14, 14, 16, 32, 32, 36, undefined, undefined]);
    expect(rf[4]).toEqual({ sizeH: 14, sizeW: 14, jump: 2, offsetH: 6, offsetW: 6 });
  });

  it('receptive field of a join is the union of its inputs\u2019 fields', () => {
    const w3 = { kernelH: 3, kernelW: 3, stride: 1, pad: 1 };
    const rf = receptiveFields([
      { outShape: [3, 8, 8] },
      { positions: 'window', outShape: [4, 8, 8], window: w3 },
      { positions: 'window', inputs: [1], outShape: [4, 8, 8], window: w3 },
      { positions: 'same', inputs: [1, 2], outShape: [4, 8, 8] },
      { positions: 'window', inputs: [3], outShape: [4, 4, 4], window: { kernelH: 2, kernelW: 2, stride: 2, pad: 0 } },
      { positions: 'same', inputs: [3, 4], outShape: [4, 4, 4] },
    ]);
    expect(rf[3]).toEqual({ sizeH: 5, sizeW: 5, jump: 1, offsetH: 2, offsetW: 2 });
    expect(rf[4]).toEqual({ sizeH: 6, sizeW: 6, jump: 2, offsetH: 2, offsetW: 2 });
    expect(rf[5]).toBeUndefined(); // different strides from the image
  });

  it('patchPass: every kept patch is a maximal one, checked by forwarding each subset image alone', () => {
    const net = new Network(presetSpec('convnetjs-cifar10'));
    net.initialize(11);
    const S = 30;
    const rng = new Rng(4);
    const pixels = new Uint8Array(S * 3072).map(() => Math.floor(rng.next() * 256));
    const split = { count: S, labels: new Uint8Array(S), pixels };
    const pre = SCALE;
    const r = patchPass(net, split, pre, S);
    expect(r.patches.map((p) => p.layer)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // Each image alone: its per-channel maximum for layer 4 (conv 2).
    const L = 4;
    const [C, H, W] = net.layers[L].outShape;
    const maxima: number[][] = [];
    for (let b = 0; b < S; b++) {
      const one = patchPass(net, { count: 1, labels: new Uint8Array(1), pixels: pixels.subarray(b * 3072, (b + 1) * 3072) }, pre, 1);
      const t = one.patches.find((p) => p.layer === L)!;
      maxima.push(t.channels.map((list) => list[0].value));
    }
    const lp = r.patches.find((p) => p.layer === L)!;
    for (let c = 0; c < C; c++) {
      const expected = maxima.map((m, b) => ({ b, v: m[c] })).sort((x, y) => y.v - x.v || x.b - y.b).slice(0, 9);
      expect(lp.channels[c].map((p) => p.image)).toEqual(expected.map((e) => e.b));
      expect(lp.channels[c].map((p) => p.value)).toEqual(expected.map((e) => e.v));
      for (const p of lp.channels[c]) expect(p.y < H && p.x < W).toBe(true);
    }
    // Health numbers from the same pass.
    const relu = r.health.find((h) => h.layer === 2)!;
    expect(relu.deadFraction).toBeGreaterThanOrEqual(0);
    expect(relu.mean).toBeGreaterThan(0);
  });
});
