/**
 * Every layer explains itself from its own node and its neighbours: the words name the layers that
 * really come before and after it (a conv feeding batch norm says batch norm, not "the ReLU"), and
 * the captions fit the layer's own type.
 */
import { describe, expect, it } from 'vitest';
import { explainLayers, explainContexts, specViews } from '../../src/nn/layers/explain.js';
import { parseSpec, presetSpec } from '../../src/nn/spec.js';

function wordsOf(defs: Record<string, unknown>[]) {
  const spec = parseSpec({ layers: defs }, 'test');
  return { spec, words: explainLayers(specViews(spec)) };
}

const input = { type: 'input', out_sx: 8, out_sy: 8, out_depth: 3 };

describe('layer words follow the real graph', () => {
  it('every resnet8 conv names the batch norm after it, and no conv claims a ReLU comes next', () => {
    const spec = presetSpec('resnet8');
    const words = explainLayers(specViews(spec));
    let convs = 0;
    spec.layers.forEach((l, i) => {
      if (l.type !== 'conv') return;
      convs++;
      const w = words[i];
      expect(w.pictures.activations, l.name).toMatch(/batch norm \(layer \d+\)/);
      expect(w.pictures['activation-gradients'], l.name).toMatch(/It comes down from batch norm \(layer \d+\)/);
      expect(`${w.pictures.activations} ${w.pictures['activation-gradients']}`, l.name).not.toMatch(/ReLU/);
    });
    expect(convs).toBe(9);
  });

  it('the ConvNetJS net: conv -> ReLU -> pool is said as it is', () => {
    const spec = presetSpec('convnetjs-cifar10');
    const words = explainLayers(specViews(spec));
    expect(spec.layers[1].type).toBe('conv');
    expect(words[1].pictures['activation-gradients']).toMatch(/comes down from the ReLU \(layer 2\), which passes the gradient only where it fired/);
    expect(words[2].pictures['activation-gradients']).toMatch(/comes down from the max pool \(layer 3\).*That is the max pool \(layer 3\) at work/);
    // The fc before the softmax explains p - one-hot; the softmax draws no gradient picture.
    const fc = spec.layers.length - 2;
    expect(words[fc].pictures['activation-gradients']).toMatch(/p \u2212 one-hot/);
    expect(words[fc + 1].noPicture?.['activation-gradients']).toMatch(/fully connected layer \(layer \d+\)/);
  });

  it('an add reports what it reads; a layer read twice sums both gradients', () => {
    const spec = presetSpec('resnet8');
    const ctx = explainContexts(specViews(spec));
    const add = spec.layers.findIndex((l) => l.type === 'add');
    const words = explainLayers(specViews(spec));
    expect(words[add].what).toMatch(/the sum of batch norm \(layer 8\) and the ReLU \(layer 3\)/);
    expect(ctx[3].next.map((n) => n.index)).toEqual([4, 9]);
    expect(words[3].pictures['activation-gradients']).toMatch(/2 layers read this output, so its gradient is the sum/);
    // The stem ReLU hands its gradient to batch norm, which only it reads.
    expect(words[3].pictures['activation-gradients']).toMatch(/hands the result to batch norm \(layer 2\): that gradient is zero wherever/);
  });

  it('top-patches captions fit the layer: a leaky ReLU never speaks of channels that never fire', () => {
    const { words } = wordsOf([input, { type: 'conv', sx: 3, filters: 4, pad: 1 }, { type: 'leakyrelu' }, { type: 'pool', sx: 2, stride: 2 }, { type: 'softmax', num_classes: 2 }]);
    expect(words[2].topPatches).toMatch(/leaky ReLU is monotonic/);
    expect(words[2].topPatches).not.toMatch(/never fire/);
    expect(words[1].topPatches).toMatch(/filter k/);
    expect(words[3].topPatches).toMatch(/the leaky ReLU \(layer 2\)/);
  });

  it('an average pool speaks of spreading, not of winners; a conv before a sigmoid does not claim a ReLU', () => {
    const { words } = wordsOf([input, { type: 'conv', sx: 3, filters: 4, pad: 1 }, { type: 'sigmoid' }, { type: 'pool', sx: 2, stride: 2, mode: 'avg' }, { type: 'softmax', num_classes: 2 }]);
    expect(words[3].what).toMatch(/Average pooling/);
    expect(`${words[3].pictures['activation-gradients']}`).not.toMatch(/winner/);
    expect(words[2].pictures['activation-gradients']).toMatch(/comes down from the average pool \(layer 3\), which spreads each value evenly/);
    expect(words[1].pictures['activation-gradients']).toMatch(/comes down from the sigmoid \(layer 2\)/);
    expect(words[1].pictures['activation-gradients']).not.toMatch(/ReLU/);
  });
});
