import { describe, expect, it } from 'vitest';
import { Canvas } from '../../src/viz/canvas.js';
import { boundPlan, MAX_GRID_HEIGHT, truncateLabel } from '../../src/viz/bounds.js';
import { DEFAULT_MAX_WIDTH, gridLayout, planPicture, type LayerShapeInfo } from '../../src/viz/grid.js';

const fcInfo = (units: number): LayerShapeInfo => ({ index: 3, type: 'fc', outShape: [units, 1, 1], weightShape: [units, 64, 1, 1], inputIsImage: false, activationsNonNegative: false });

describe('picture bounds', () => {
  it('wraps a wide strip of units into bands, keeping every tile once', () => {
    const plan = planPicture(fcInfo(5000), 'activations', 4);
    const b = boundPlan(plan);
    expect(gridLayout(b.rows, b.cols, b.tileH, b.tileW).width).toBeLessThanOrEqual(DEFAULT_MAX_WIDTH);
    const offsets = b.tiles.filter((t) => t !== null).map((t) => (t as { offset: number }).offset);
    expect(offsets).toHaveLength(4 * 5000);
    expect(new Set(offsets).size).toBe(4 * 5000);
    expect(b.rowLabels[0]).toMatch(/^0 \[0–\d+\]$/);
    expect(b.rows % 4).toBe(0);
  });

  it('cuts very tall pictures and says so', () => {
    const plan = planPicture(fcInfo(20_000), 'weights', 4);
    const b = boundPlan(plan);
    expect(b.rows).toBeLessThan(20_000);
    expect(gridLayout(b.rows, b.cols, b.tileH, b.tileW, { zoom: 1 }).height).toBeLessThanOrEqual(MAX_GRID_HEIGHT);
    expect(b.rowTitle).toMatch(/first \d+ of 20000 rows shown/);
  });

  it('cuts at the zoom the layout draws with: the depthwise 5x5 conv of 1152 filters in MnasNet fits the canvas limit', () => {
    const conv: LayerShapeInfo = { index: 115, type: 'conv', outShape: [1152, 1, 1], weightShape: [1152, 1, 5, 5], weightLayout: 'filters', inputIsImage: false, activationsNonNegative: false };
    const b = boundPlan(planPicture(conv, 'weights', 2));
    expect(b.rows).toBeLessThan(1152);
    expect(gridLayout(b.rows, b.cols, b.tileH, b.tileW).height).toBeLessThanOrEqual(MAX_GRID_HEIGHT);
  });

  it('leaves ordinary pictures alone', () => {
    const plan = planPicture(fcInfo(10), 'activations', 8);
    expect(boundPlan(plan)).toBe(plan);
  });

  it('truncates long labels and refuses giant canvases', () => {
    expect(truncateLabel('x'.repeat(5000))).toHaveLength(40);
    expect(truncateLabel('cat')).toBe('cat');
    expect(() => new Canvas(31_624, 400)).toThrow(/the picture would be 31624x400 px, more than the limit/);
  });
});
