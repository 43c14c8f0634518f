/**
 * Text stays inside its picture: titles are drawn bold, so they are wrapped by their bold width, and
 * the probe picture's subtitle wraps when few probe images make the picture narrow. Checked with the
 * layout's own width estimate (for svg text it is a little wider than what librsvg draws).
 */
import { describe, expect, it } from 'vitest';
import type { Canvas, TextEngine } from '../../src/viz/canvas.js';
import { fitText, textWidth } from '../../src/viz/canvas.js';
import { composeProbeCanvas, probePredictions } from '../../src/viz/epoch.js';
import { planPicture } from '../../src/viz/grid.js';
import { composeTopPatches, type TopPatch } from '../../src/viz/patches.js';
import { composePicture } from '../../src/viz/picture.js';
import { colorBarLabels } from '../../src/viz/scale.js';
import { CIFAR_CLASSES, fakeCifarProbe } from './fake-probe.js';

function overflowing(c: Canvas, engine: TextEngine): string[] {
  return c.texts
    .filter((t) => (t.anchor ?? 'start') === 'start' && t.x + textWidth(t.text, t.size, engine, t.bold) > c.width)
    .map((t) => `${t.text} (${t.x + textWidth(t.text, t.size, engine, t.bold)} > ${c.width})`);
}

describe('text fits its picture', () => {
  for (const engine of ['svg', 'bitmap'] as const) {
    it(`probe picture with 1 and 2 images: title and subtitle wrap (${engine})`, () => {
      for (const P of [1, 2]) {
        const probe = fakeCifarProbe({ probeCount: P });
        const { predictions, scoreKind } = probePredictions(probe, CIFAR_CLASSES);
        const c = composeProbeCanvas(probe, predictions, scoreKind, 12, engine);
        expect(overflowing(c, engine), `P=${P}`).toEqual([]);
        expect(c.texts.map((t) => t.text).join(' ')).toMatch(P === 1 ? /The same 1 test image every/ : /The same 2 test images every/);
      }
    });

    it(`a bold picture title is wrapped by its bold width (${engine})`, () => {
      const plan = planPicture({ index: 16, type: 'conv', outShape: [2, 3, 3], inputIsImage: false, activationsNonNegative: false }, 'activations', 1);
      const data = Float32Array.from({ length: 18 }, (_, i) => i - 9);
      // A title just under the width measured regular, but over it measured bold.
      const width = 440;
      let title = 'Layer 16 · conv 1x1, 32 filters, stride 2, pad 0, no bias';
      const words = ['· epoch', '12', 'of', 'a', 'long', 'run', 'with', 'many', 'words', 'in', 'its', 'title', 'here', 'and', 'more'];
      for (const w of words) {
        const next = `${title} ${w}`;
        if (textWidth(next, 14, engine) > width - 20) break;
        title = next;
      }
      const bars = [{ kind: 'diverging' as const, scale: 9, labels: colorBarLabels('diverging', 9), caption: 'value' }];
      const { canvas } = composePicture({ plan, data, captions: [title, 'Activations'], tileScales: [9], perTileLabels: false, bars, notes: [] }, engine);
      expect(canvas.width).toBe(width);
      expect(overflowing(canvas, engine)).toEqual([]);
    });

    it(`probe labels with long class names are cut to fit, ellipsis and bold included (${engine})`, () => {
      // 40 characters: what the pictures keep of a class name; wide letters, so the cut is deep.
      const names = CIFAR_CLASSES.map((c, i) => (i % 2 === 0 ? 'W'.repeat(40) : `${c}${'m'.repeat(40 - c.length)}`));
      for (const P of [1, 3]) {
        const probe = fakeCifarProbe({ probeCount: P });
        const { predictions, scoreKind } = probePredictions(probe, names);
        const c = composeProbeCanvas(probe, predictions, scoreKind, 12, engine);
        expect(overflowing(c, engine), `P=${P}`).toEqual([]);
        // Each label stays in its cell (128 px: the 32 px image at zoom 4), not only in the picture.
        const labels = c.texts.filter((t) => t.size === 11 && t.y > 128);
        expect(labels.length).toBeGreaterThanOrEqual(4 * P);
        const wide = labels.filter((t) => textWidth(t.text, t.size, engine, t.bold) > 128).map((t) => `${t.text} (${textWidth(t.text, t.size, engine, t.bold)})`);
        expect(wide, `P=${P}`).toEqual([]);
        expect(labels.some((t) => t.text.endsWith('…'))).toBe(true);
      }
    });

    it(`fitText keeps the longest prefix that fits with its ellipsis (${engine})`, () => {
      for (const text of ['cat', 'automobile automobile automobile', 'W'.repeat(100_000), 'ab😀cd😀'.repeat(50)]) {
        for (const max of [1, 20, 57, 120, 400]) {
          const t = fitText(text, 11, max, engine, true);
          if (t === text) {
            expect(textWidth(text, 11, engine, true)).toBeLessThanOrEqual(max);
            continue;
          }
          const kept = [...t.slice(0, -1)];
          expect(t.endsWith('…')).toBe(true);
          expect(kept.length).toBeGreaterThanOrEqual(1);
          expect(text.startsWith(kept.join(''))).toBe(true);
          if (kept.length > 1) expect(textWidth(t, 11, engine, true), `${max}`).toBeLessThanOrEqual(max);
          // One more character would not fit.
          const longer = `${[...text].slice(0, kept.length + 1).join('')}…`;
          if (kept.length + 1 < [...text].length) expect(textWidth(longer, 11, engine, true)).toBeGreaterThan(max);
        }
      }
    });

    it(`top-patch title of a first conv layer (${engine})`, () => {
      const patch = (image: number): TopPatch => ({ image, testIndex: image, value: 1 - image / 10, y: 0, x: 0 });
      const t = { layer: 1, kind: 'conv', rf: { sizeH: 5, sizeW: 5, jump: 1, offsetH: 2, offsetW: 2 }, channels: [Array.from({ length: 9 }, (_, i) => patch(i))] };
      const c = composeTopPatches(t, new Uint8Array(9 * 3 * 32 * 32), [3, 32, 32], 500, 2, engine, 'conv 5x5, 16 filters, stride 1, pad 2');
      expect(overflowing(c, engine)).toEqual([]);
    });
  }
});
