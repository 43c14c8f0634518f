import { describe, expect, it } from 'vitest';
import type { ParamRange } from '../../src/nn/network.js';
import { HealthMeter, TRACE_SEGMENTS } from '../../src/train/health.js';
import { healthPlotSpecs, plotXRange } from '../../src/viz/plots.js';

const layersOf = (...types: string[]) => types.map((type) => ({ type, isLoss: false }));

const ranges: ParamRange[] = [
  { layer: 1, name: 'weights', offset: 0, length: 2, l1DecayMul: 0, l2DecayMul: 1 },
  { layer: 1, name: 'biases', offset: 2, length: 1, l1DecayMul: 0, l2DecayMul: 0 },
  { layer: 3, name: 'weights', offset: 3, length: 1, l1DecayMul: 0, l2DecayMul: 1 },
];

describe('HealthMeter', () => {
  it('gradient norm of the mean gradient and ||dw||/||w|| per layer, averaged over the steps (weights only)', () => {
    const batches = 2 * TRACE_SEGMENTS;
    const m = new HealthMeter(ranges, batches);
    const params = Float32Array.of(3, 4, 100, 2);
    for (let b = 0; b < batches; b++) {
      // Summed gradient over a batch of 4: layer 1 (6, 8) -> mean (1.5, 2), norm 2.5; layer 3: 4 -> 1.
      m.beforeUpdate(params, Float32Array.of(6, 8, 1000, 4), 4);
      // Step: layer 1 weights (3,4) -> (3.3, 4.4): ratio 0.1 on the first step; bias changes are ignored.
      const before = params.slice();
      params[0] *= 1.1;
      params[1] *= 1.1;
      params[2] += 50;
      params[3] += b % 2 === 0 ? 0.2 : -0.2;
      m.afterUpdate(params, 0, b);
      expect(Math.hypot(params[0] - before[0], params[1] - before[1]) / Math.hypot(before[0], before[1])).toBeCloseTo(0.1, 6);
    }
    const h = m.takeEpoch(layersOf('input', 'conv', 'relu', 'fc'), [{ layer: 2, type: 'relu', mean: 0.5, std: 0.25, deadFraction: 0.125 }], 7);
    expect(h.layers.map((l) => l.layer)).toEqual([1, 2, 3]);
    expect(h.layers[0].gradNorm).toBeCloseTo(2.5, 6);
    expect(h.layers[0].updateRatio).toBeCloseTo(0.1, 5);
    expect(h.layers[2].gradNorm).toBeCloseTo(1, 6);
    // |0.2| / |w| with w alternating 2, 2.2: mean of 0.1 and 0.2/2.2.
    expect(h.layers[2].updateRatio).toBeCloseTo((0.1 + 0.2 / 2.2) / 2, 5);
    expect(h.layers[1]).toEqual({ layer: 2, type: 'relu', mean: 0.5, std: 0.25, deadFraction: 0.125 });
    expect(h.layers[0].deadFraction).toBeUndefined();
    expect(h.trace).toHaveLength(TRACE_SEGMENTS);
    expect(h.trace[TRACE_SEGMENTS - 1].x).toBe(1);
    expect(h.trace[0].x).toBe(0.1);
    expect(h.trace[0].gradNorm[1]).toBeCloseTo(2.5, 6);
    expect(h.subsetImages).toBe(7);
    // The next epoch starts from zero.
    expect(m.takeEpoch(layersOf('input', 'conv'), [], 0).layers[0].gradNorm).toBeUndefined();
  });

  it('health plots: one line per layer, update ratio with the 1e-3 reference on a log axis', () => {
    const layers = [{ layer: 1, type: 'conv', gradNorm: 0.5, updateRatio: 2e-3, mean: 0, std: 0.3 }, { layer: 2, type: 'relu', mean: 0.1, std: 0.2, deadFraction: 0.05 }];
    const trace = [{ x: 0.5, gradNorm: { 1: 0.4 }, updateRatio: { 1: 3e-3 } }, { x: 1, gradNorm: { 1: 0.5 }, updateRatio: { 1: 2e-3 } }];
    const m = { epoch: 1, trainLoss: 1, trainDataLoss: 1, trainDecayLoss: 0, trainAccuracy: 0, testAccuracy: 0, testLoss: 1, seconds: 1, imagesPerSecond: 1, health: { layers, trace, subsetImages: 10 } };
    const specs = healthPlotSpecs([m]);
    expect(specs.map((s) => s.name)).toEqual(['health-gradient-norm', 'health-update-ratio', 'health-dead-relu', 'health-activations']);
    const ratio = specs[1].spec;
    expect(ratio.yLog).toBe(true);
    expect(ratio.series[0].points).toEqual([[0.5, 3e-3], [1, 2e-3]]);
    expect(ratio.series[1].points.every((p) => p[1] === 1e-3)).toBe(true);
    expect(specs[2].spec.series.map((s) => s.name)).toEqual(['2 relu']);
  });

  it('health plots share one x range from the start of training, though the trace starts a fraction of an epoch in', () => {
    const layers = [{ layer: 1, type: 'conv', gradNorm: 0.5, updateRatio: 2e-3, mean: 0, std: 0.3 }, { layer: 2, type: 'relu', mean: 0.1, std: 0.2, deadFraction: 0.05 }];
    const epoch = (e: number) => ({
      epoch: e, trainLoss: 1, trainDataLoss: 1, trainDecayLoss: 0, trainAccuracy: 0, testAccuracy: 0, testLoss: 1, seconds: 1, imagesPerSecond: 1,
      health: { layers, trace: [{ x: e - 0.5, gradNorm: { 1: 0.4 }, updateRatio: { 1: 3e-3 } }, { x: e, gradNorm: { 1: 0.5 }, updateRatio: { 1: 2e-3 } }], subsetImages: 10 },
    });
    for (const metrics of [[epoch(1)], [epoch(1), epoch(2), epoch(3)]]) {
      const specs = healthPlotSpecs(metrics);
      expect(specs).toHaveLength(4);
      const last = metrics.length;
      for (const s of specs) expect(plotXRange(s.spec), s.name).toEqual([0, last]);
    }
    // A plot without a fixed range spans its points; a single x is widened so the axis is not empty.
    expect(plotXRange({ title: '', xLabel: '', yLabel: '', series: [{ name: 'a', color: '#000', points: [[0.5, 1], [2, 1]] }] })).toEqual([0.5, 2]);
    expect(plotXRange({ title: '', xLabel: '', yLabel: '', series: [{ name: 'a', color: '#000', points: [[3, 1]] }] })).toEqual([2, 4]);
  });

  it('the activation plot leaves out the loss layer by its registry hint, whatever its type is called', () => {
    const m = new HealthMeter(ranges, 10);
    const net = [{ type: 'input', isLoss: false }, { type: 'conv', isLoss: false }, { type: 'relu', isLoss: false }, { type: 'hinge', isLoss: true }];
    const acts = [1, 2, 3].map((layer) => ({ layer, type: net[layer].type, mean: 0.1 * layer, std: 0.2 }));
    const h = m.takeEpoch(net, acts, 5);
    expect(h.layers.map((l) => l.isLoss)).toEqual([undefined, undefined, true]);
    const metrics = { epoch: 1, trainLoss: 1, trainDataLoss: 1, trainDecayLoss: 0, trainAccuracy: 0, testAccuracy: 0, testLoss: 1, seconds: 1, imagesPerSecond: 1, health: h };
    const acts2 = healthPlotSpecs([metrics]).find((s) => s.name === 'health-activations')!;
    expect(acts2.spec.series.filter((s) => !s.noLegend).map((s) => s.name)).toEqual(['1 conv', '2 relu']);
  });
});
