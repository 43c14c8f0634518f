import { describe, expect, it } from 'vitest';
import { DIVERGING_LUT, DIVERGING_SIZE, DIVERGING_ZERO_RGB, SEQUENTIAL_LUT } from '../../src/viz/colormap.js';
import {
  GUTTER_RGB,
  drawPlan,
  gridLayout,
  pictureGridLayout,
  planPicture,
  tileOrigin,
  type LayerShapeInfo,
  type RawImage,
} from '../../src/viz/grid.js';

const px = (img: RawImage, x: number, y: number): number[] => {
  const o = (y * img.width + x) * 3;
  return [img.data[o], img.data[o + 1], img.data[o + 2]];
};
const lut = (t: Uint8Array, i: number): number[] => [t[i * 3], t[i * 3 + 1], t[i * 3 + 2]];

function info(partial: Partial<LayerShapeInfo> & Pick<LayerShapeInfo, 'outShape'>): LayerShapeInfo {
  return { index: 1, type: 'conv', inputIsImage: false, activationsNonNegative: false, ...partial };
}

// Layout rules: zoom = ceil(48 / max(h, w)) (56 for 1x1 cells), lowered while wider than 2000 px;
// gutter 2 px between tiles and around the grid: width = cols*w*zoom + (cols+1)*2.
describe('grid pixel size follows from the layer shape and the layout rules', () => {
  const P = 8;
  const cases: [string, LayerShapeInfo, 'activations' | 'activation-gradients' | 'weights', number, number, number][] = [
    ['conv 16x32x32 activations', info({ outShape: [16, 32, 32] }), 'activations', 2, 16 * 64 + 17 * 2, 8 * 64 + 9 * 2],
    ['pool 20x4x4 activations', info({ type: 'pool', outShape: [20, 4, 4] }), 'activations', 12, 20 * 48 + 21 * 2, 8 * 48 + 9 * 2],
    ['fc 10x1x1 activation gradients', info({ type: 'fc', outShape: [10, 1, 1] }), 'activation-gradients', 56, 10 * 56 + 11 * 2, 8 * 56 + 9 * 2],
    ['input 3x32x32 activations (one colour tile per image)', info({ index: 0, type: 'input', outShape: [3, 32, 32] }), 'activations', 2, 64 + 4, 8 * 64 + 9 * 2],
    ['input 3x32x32 gradients (image, gradient, magnitude)', info({ index: 0, type: 'input', outShape: [3, 32, 32] }), 'activation-gradients', 2, 3 * 64 + 4 * 2, 8 * 64 + 9 * 2],
    // Colour filters: 8 per row, tiles at least 80 px.
    ['first conv weights 16x3x5x5 (one colour tile per filter)', info({ outShape: [16, 32, 32], weightShape: [16, 3, 5, 5], inputIsImage: true }), 'weights', 16, 8 * 80 + 9 * 2, 2 * (80 + 17) + 3 * 2], // + a label strip: each filter numbered,
    ['deeper conv weights 20x16x5x5 (row per filter)', info({ outShape: [20, 16, 16], weightShape: [20, 16, 5, 5] }), 'weights', 10, 16 * 50 + 17 * 2, 20 * 50 + 21 * 2],
    ['fc weights 10x20x4x4 (row per unit, tile per input channel)', info({ type: 'fc', index: 10, outShape: [10, 1, 1], weightShape: [10, 20, 4, 4], weightLayout: 'units' }), 'weights', 12, 20 * 48 + 21 * 2, 10 * 48 + 11 * 2],
    ['wide conv 64x32x32 (zoom lowered to fit 1200 px, not below 1)', info({ outShape: [64, 32, 32] }), 'activations', 1, 64 * 32 + 65 * 2, 8 * 32 + 9 * 2],
    ['conv 40x16x16 (zoom 3 -> 1 to fit 1200 px)', info({ outShape: [40, 16, 16] }), 'activations', 1, 40 * 16 + 41 * 2, 8 * 16 + 9 * 2],
    ['conv 20x16x16 (zoom 3 fits 1200 px)', info({ outShape: [20, 16, 16] }), 'activations', 3, 20 * 48 + 21 * 2, 8 * 48 + 9 * 2],
  ];
  for (const [name, inf, q, zoom, w, h] of cases) {
    it(name, () => {
      const l = pictureGridLayout(inf, q, P);
      expect(l.zoom).toBe(zoom);
      expect(l.width).toBe(w);
      expect(l.height).toBe(h);
    });
  }

  it('8 colour filters per row, wrapping', () => {
    const l = pictureGridLayout(info({ outShape: [40, 32, 32], weightShape: [40, 3, 3, 3], inputIsImage: true }), 'weights', P);
    expect([l.rows, l.cols, l.zoom]).toEqual([5, 8, 27]);
    const plan = planPicture(info({ outShape: [40, 32, 32], weightShape: [40, 3, 3, 3], inputIsImage: true }), 'weights', P);
    expect(plan.tiles.filter((t) => t !== null)).toHaveLength(40);
  });

  it('adds the label strip under every row in map mode', () => {
    const l = gridLayout(2, 3, 5, 5, { labelBelow: 13 });
    expect(l.height).toBe(2 * (50 + 13) + 3 * 2);
    expect(tileOrigin(l, 1, 2)).toEqual({ x: 2 + 2 * 52, y: 2 + 50 + 13 + 2 });
  });
});

describe('known values land on the expected pixels', () => {
  it('a 2x2 map [[-1, 0], [0, 1]] on the diverging map at scale 1', () => {
    const inf = info({ outShape: [1, 2, 2] });
    const plan = planPicture(inf, 'activations', 1);
    const l = gridLayout(plan.rows, plan.cols, plan.tileH, plan.tileW);
    expect(l.zoom).toBe(24);
    const img: RawImage = { width: l.width + 10, height: l.height + 10, data: new Uint8Array((l.width + 10) * (l.height + 10) * 3) };
    const x0 = 5;
    const y0 = 5;
    drawPlan(img, x0, y0, l, plan, Float32Array.from([-1, 0, 0, 1]), undefined, () => 1);
    const o = tileOrigin(l, 0, 0);
    const at = (bx: number, by: number, dx: number, dy: number): number[] => px(img, x0 + o.x + bx * 24 + dx, y0 + o.y + by * 24 + dy);
    for (const [dx, dy] of [[0, 0], [23, 0], [0, 23], [23, 23], [11, 12]]) {
      expect(at(0, 0, dx, dy)).toEqual(lut(DIVERGING_LUT, 0)); // -1: most negative colour
      expect(at(1, 0, dx, dy)).toEqual([...DIVERGING_ZERO_RGB]); // 0: exact middle colour
      expect(at(0, 1, dx, dy)).toEqual([...DIVERGING_ZERO_RGB]);
      expect(at(1, 1, dx, dy)).toEqual(lut(DIVERGING_LUT, DIVERGING_SIZE - 1)); // +1: most positive colour
    }
    // Gutter around the tile.
    expect(px(img, x0, y0)).toEqual([...GUTTER_RGB]);
    expect(px(img, x0 + o.x + 48, y0 + o.y + 10)).toEqual([...GUTTER_RGB]);
  });

  it('a ReLU map on the sequential map: 0 is the first colour', () => {
    const inf = info({ type: 'relu', outShape: [2, 1, 2], activationsNonNegative: true });
    const plan = planPicture(inf, 'activations', 1);
    expect(plan.colorKind).toBe('sequential');
    const l = gridLayout(plan.rows, plan.cols, plan.tileH, plan.tileW);
    const img: RawImage = { width: l.width, height: l.height, data: new Uint8Array(l.width * l.height * 3) };
    drawPlan(img, 0, 0, l, plan, Float32Array.from([0, 2, 1, 0]), undefined, () => 2);
    const t0 = tileOrigin(l, 0, 0);
    const t1 = tileOrigin(l, 0, 1);
    expect(px(img, t0.x, t0.y)).toEqual(lut(SEQUENTIAL_LUT, 0));
    expect(px(img, t0.x + l.zoom, t0.y)).toEqual(lut(SEQUENTIAL_LUT, 255));
    expect(px(img, t1.x, t1.y)).toEqual(lut(SEQUENTIAL_LUT, 128));
    expect(px(img, t1.x + l.zoom, t1.y)).toEqual(lut(SEQUENTIAL_LUT, 0));
  });

  it('first-layer filters in colour: each channel 0.5 + w/(2s)', () => {
    const inf = info({ outShape: [2, 8, 8], weightShape: [2, 3, 1, 1], inputIsImage: true });
    const plan = planPicture(inf, 'weights', 1);
    expect(plan.colorKind).toBe('signed-rgb');
    const l = gridLayout(plan.rows, plan.cols, plan.tileH, plan.tileW);
    const img: RawImage = { width: l.width, height: l.height, data: new Uint8Array(l.width * l.height * 3) };
    // filter 0: R=+s, G=0, B=-s; filter 1: R=-s/2 (clipped values would saturate)
    drawPlan(img, 0, 0, l, plan, Float32Array.from([0.5, 0, -0.5, -0.25, 0, 9]), undefined, () => 0.5);
    const t0 = tileOrigin(l, 0, 0);
    const t1 = tileOrigin(l, 0, 1);
    expect(px(img, t0.x + 3, t0.y + 3)).toEqual([255, 128, 0]);
    expect(px(img, t1.x, t1.y)).toEqual([64, 128, 255]);
  });
});
