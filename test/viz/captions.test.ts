/**
 * Picture captions say where zero is on the picture's own colour map: the middle (white) of a
 * diverging map, the bottom (black) of a sequential one (ReLU and pool outputs, probabilities).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { writeEpochViz } from '../../src/viz/epoch.js';
import { CIFAR_CLASSES, fakeCifarProbe } from './fake-probe.js';

const seen = vi.hoisted(() => [] as { kind: string; captions: string[] }[]);

vi.mock('../../src/viz/picture.js', async (importOriginal) => {
  const m = await importOriginal<typeof import('../../src/viz/picture.js')>();
  return {
    ...m,
    composePicture: (spec: Parameters<typeof m.composePicture>[0], engine: Parameters<typeof m.composePicture>[1]) => {
      seen.push({ kind: spec.plan.mixed ? 'mixed' : spec.plan.colorKind, captions: spec.captions });
      return m.composePicture(spec, engine);
    },
  };
});

describe('picture captions', () => {
  it('robust scale: zero is black on sequential pictures, the middle colour on diverging ones', async () => {
    const out = mkdtempSync(join(tmpdir(), 'cnnviz-viz-captions-'));
    await writeEpochViz(out, 1, fakeCifarProbe({ probeCount: 2 }), { scale: 'robust', classNames: CIFAR_CLASSES, animations: 'none' });
    const scaleLine = (c: string[]) => c.find((x) => x.startsWith('Colour scale:')) ?? '';
    const sequential = seen.filter((s) => s.kind === 'sequential');
    const diverging = seen.filter((s) => s.kind === 'diverging');
    expect(sequential.length).toBeGreaterThan(0);
    expect(diverging.length).toBeGreaterThan(0);
    for (const s of sequential) {
      expect(scaleLine(s.captions)).toMatch(/Zero is black, the bottom of the scale\./);
      expect(s.captions.join(' ')).not.toMatch(/middle colour/);
    }
    for (const s of diverging) expect(scaleLine(s.captions)).toMatch(/Zero is the middle colour\./);
  });
});

describe('report colour notes', () => {
  it('the scale paragraph does not claim zero is the middle colour of every map', async () => {
    const { COLOUR_EXPLANATION } = await import('../../src/viz/explain.js');
    const scale = COLOUR_EXPLANATION.find((p) => p.includes('"robust" scale')) ?? '';
    expect(scale).not.toMatch(/Zero stays the middle colour\./);
    expect(scale).toMatch(/black on a sequential/);
  });
});
