import { describe, expect, it } from 'vitest';
import { Network } from '../../src/nn/network.js';
import { presetSpec } from '../../src/nn/spec.js';

describe('the speedrun preset', () => {
  it('is the 7-conv network of src/nn/speedrun.ts: pooling before batch norm, widths 24 / 32 / 128 / 128, 498,498 parameters as in PyTorch', () => {
    const spec = presetSpec('speedrun');
    const types = spec.layers.map((l) => l.type);
    expect(types.filter((t) => t === 'conv')).toHaveLength(7);
    // Each block: conv, pool, bn, relu, conv, bn, relu.
    expect(types.slice(4, 11)).toEqual(['conv', 'pool', 'batchnorm', 'relu', 'conv', 'batchnorm', 'relu']);
    expect(spec.shapes.filter((_, i) => types[i] === 'conv').map((s) => s.join('x'))).toEqual([
      '24x32x32', '32x32x32', '32x16x16', '128x16x16', '128x8x8', '128x8x8', '128x4x4',
    ]);
    expect(types.slice(-3)).toEqual(['gap', 'fc', 'softmax']);
    // scripts/pytorch/cifar_recipe.py --net speedrun: sum(p.numel() for p in Speedrun().parameters()).
    expect(new Network(spec).paramCount).toBe(498_498);
  });

  it('fits other data: 28x28 grey images with 100 classes end in 128 x 3 x 3 before the pooling', () => {
    const spec = presetSpec('speedrun', { shape: [1, 28, 28], classes: 100 });
    expect(spec.shapes[0]).toEqual([1, 28, 28]);
    expect(spec.shapes[spec.shapes.length - 4]).toEqual([128, 3, 3]);
    expect(spec.shapes[spec.shapes.length - 1]).toEqual([100, 1, 1]);
  });
});
