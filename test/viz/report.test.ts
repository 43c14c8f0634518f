import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'fast-png';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeEpochViz } from '../../src/viz/epoch.js';
import { confusionTable, writeReport, type ReportRunInfo } from '../../src/viz/report.js';
import { createVizScaleState } from '../../src/viz/scale.js';
import { CIFAR_CLASSES, fakeCifarProbe, fakeMetrics } from './fake-probe.js';
import { explorerReferences, readExplorerIndex } from '../helpers/explorer.js';

/** Every src= and href= value of the page, minus in-page anchors, decoded to relative paths. */
function references(html: string): string[] {
  const refs = [...html.matchAll(/\b(?:src|href)\s*=\s*"([^"]*)"/g)].map((m) => m[1]);
  return refs.filter((r) => !r.startsWith('#')).map((r) => decodeURIComponent(r));
}

describe('index.html', () => {
  const out = mkdtempSync(join(tmpdir(), 'cnnviz-viz-report-'));
  const run: ReportRunInfo = {
    name: 'test run <cifar>',
    model: 'input 32x32x3\nconv 5x5x16 ...',
    classNames: CIFAR_CLASSES,
    metrics: fakeMetrics(2),
    confusion: [{ epoch: 2, matrix: CIFAR_CLASSES.map((_, i) => CIFAR_CLASSES.map((__, j) => (i === j ? 50 : j))) }],
    details: { seed: 7 },
  };
  beforeAll(async () => {
    const state = createVizScaleState();
    for (const e of [1, 2]) await writeEpochViz(out, e, fakeCifarProbe({ seed: e }), { scale: 'layer', scaleState: state, classNames: CIFAR_CLASSES });
    await writeReport(out, run);
  });

  it('references only files that exist, all relative, no external URLs', () => {
    const html = readFileSync(join(out, 'index.html'), 'utf8');
    // The page, and the explorer's layer files (the layers are drawn by explorer/explorer.js).
    const refs = [...references(html), ...explorerReferences(out)];
    expect(refs.length).toBeGreaterThan(60);
    for (const r of refs) {
      expect(r).not.toMatch(/^[a-z]+:/i); // no http:, file:, data: ...
      expect(r.startsWith('/')).toBe(false);
      expect(existsSync(join(out, r)), r).toBe(true);
    }
    expect(html).not.toMatch(/https?:\/\//);
    // What a learner needs is there.
    for (const must of ['plots/loss.png', 'plots/accuracy.png', 'epoch-002/probe.png', 'epoch-002/01-conv/weights.png', 'epoch-001/00-input/activation-gradients.png', 'animations/01-conv-weights.webp', 'animations/02-relu-activations.webp']) {
      expect(refs).toContain(must);
    }
    expect(html).toContain('id="moment-slider"');
    expect(readExplorerIndex(out).moments.map((m) => m.label)).toEqual(['epoch 1', 'epoch 2']); // training order on the slider
    expect(html).toContain('id="epoch-2"'); // the latest probe images
    expect(html).toContain('saliency map');
    expect(html).toContain('test run &lt;cifar&gt;');
    expect(html).toContain('class="confusion"');
  });

  it('does not link a file that is missing', async () => {
    const gone = 'epoch-001/04-conv/weight-gradients.png';
    rmSync(join(out, gone));
    rmSync(join(out, 'plots'), { recursive: true });
    await writeReport(out, { ...run, metrics: [] });
    const refs = [...references(readFileSync(join(out, 'index.html'), 'utf8')), ...explorerReferences(out)];
    expect(refs).not.toContain(gone);
    expect(refs).not.toContain('plots/loss.png');
    expect(refs).toContain('epoch-002/04-conv/weight-gradients.png');
    for (const r of refs) expect(existsSync(join(out, r)), r).toBe(true);
  });

  it('plots decode and have a sensible size', async () => {
    await writeReport(out, run);
    for (const f of ['plots/loss.png', 'plots/accuracy.png']) {
      const png = decode(readFileSync(join(out, f)));
      expect([png.width, png.height]).toEqual([640, 400]);
    }
  });
});

describe('index.html after a single epoch', () => {
  it('shows no animations (one frame shows no change) and no plots without metrics', async () => {
    const out = mkdtempSync(join(tmpdir(), 'cnnviz-viz-report1-'));
    await writeEpochViz(out, 5, fakeCifarProbe({ seed: 5 }), { scale: 'layer', classNames: CIFAR_CLASSES });
    await writeReport(out, { name: 'snapshot', model: 'm', classNames: CIFAR_CLASSES, metrics: [] });
    const html = readFileSync(join(out, 'index.html'), 'utf8');
    const refs = [...references(html), ...explorerReferences(out)];
    expect(refs.some((r) => r.startsWith('animations/'))).toBe(false);
    expect(refs.some((r) => r.startsWith('plots/'))).toBe(false);
    expect(refs).toContain('epoch-005/11-softmax/activations.png');
    for (const r of refs) expect(existsSync(join(out, r)), r).toBe(true);
  });
});

describe('confusionTable', () => {
  it('has a row per true class and a cell per predicted class, with the overall accuracy', () => {
    const html = confusionTable([[3, 1], [0, 4]], ['cat', 'dog']);
    expect((html.match(/<tr>/g) ?? []).length).toBe(3);
    expect(html).toContain('7 of 8 correct (87.5%)');
  });
});

describe('metrics table', () => {
  it('shows the accuracy on the first 1,000 test images beside the whole test split when the run measured it', async () => {
    const out = mkdtempSync(join(tmpdir(), 'cnnviz-viz-report-first-'));
    const base: ReportRunInfo = { name: 'first', model: 'm', classNames: CIFAR_CLASSES, metrics: fakeMetrics(2), confusion: [], details: {} };
    await writeReport(out, base);
    const without = readFileSync(join(out, 'index.html'), 'utf8');
    expect(without).not.toContain('first 1,000');
    const metrics = fakeMetrics(2).map((m, i) => ({ ...m, testAccuracy: 0.5 + i * 0.1, testAccuracyFirst1000: 0.712 + i * 0.1 }));
    await writeReport(out, { ...base, metrics });
    const html = readFileSync(join(out, 'index.html'), 'utf8');
    expect(html).toContain('<th>test acc.</th><th title="test accuracy on test images 0..999 alone">test acc., first 1,000</th>');
    // Latest epoch first: its whole-split and first-1,000 accuracies side by side.
    expect(html).toMatch(/<tr><td>2<\/td>(<td>[^<]*<\/td>){3}<td>60\.0%<\/td><td>81\.2%<\/td>/);
    expect(html).toMatch(/<tr><td>1<\/td>(<td>[^<]*<\/td>){3}<td>50\.0%<\/td><td>71\.2%<\/td>/);
  });
});
