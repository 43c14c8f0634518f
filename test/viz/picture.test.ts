import { describe, expect, it } from 'vitest';
import { composePicture } from '../../src/viz/picture.js';
import { planPicture } from '../../src/viz/grid.js';
import { colorBarLabels, maxAbs } from '../../src/viz/scale.js';

describe('composePicture', () => {
  it('prints the colour bar numbers it is given (the ones stats.json records)', () => {
    const plan = planPicture({ index: 3, type: 'conv', outShape: [2, 3, 3], inputIsImage: false, activationsNonNegative: false }, 'activation-gradients', 2);
    const data = Float32Array.from({ length: 36 }, (_, i) => (i - 17) * 1.3e-4);
    const s = maxAbs(data);
    const labels = colorBarLabels('diverging', s);
    expect(labels).toEqual(['-2.34e-3', '0', '2.34e-3']);
    for (const engine of ['svg', 'bitmap'] as const) {
      const { canvas, geometry } = composePicture(
        { plan, data, captions: ['Layer 3 · conv · epoch 1', 'Activation gradients'], tileScales: [s], perTileLabels: false, bars: [{ kind: 'diverging', scale: s, labels, caption: 'gradient value' }], notes: [] },
        engine,
      );
      const texts = canvas.texts.map((t) => t.text);
      for (const l of labels) expect(texts).toContain(l);
      expect(texts).toContain('Layer 3 · conv · epoch 1');
      expect(geometry.width).toBe(canvas.width);
      expect(geometry.grid.width).toBe(2 * 48 + 3 * 2); // 2 channels of 3x3 at zoom 16
    }
  });
});
