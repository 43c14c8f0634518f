/**
 * Registry rule: a layer type owns everything about itself in one file. The top patches, receptive
 * fields, dead-unit counts and the bench's per-type rows follow each type's declared hints
 * (LayerHints positions / topPatches / deadWhenZero, LayerDef.benchKind), so a new type registered from
 * a test file gets them with no edit elsewhere (before, lists of type names in src/viz/patches.ts,
 * src/train/patch-pass.ts and src/bench/layer-times.ts decided).
 */
import { describe, expect, it } from 'vitest';
import { kindOf } from '../../src/bench/layer-times.js';
import { SCALE } from '../../src/data/preprocess.js';
import { findLayerDef, layerTypes, registerLayer } from '../../src/nn/layers/registry.js';
import { Network } from '../../src/nn/network.js';
import { parseSpec, presetSpec } from '../../src/nn/spec.js';
import { patchPass } from '../../src/train/patch-pass.js';
import { Rng } from '../../src/util/rng.js';
import { testClampLayer, testFlatLayer } from '../helpers/test-layers.js';

for (const def of [testClampLayer, testFlatLayer]) if (!findLayerDef(def.type)) registerLayer(def);

function split(count: number, size: number) {
  const rng = new Rng(6);
  const shape: [number, number, number] = [3, Math.sqrt(size / 3), Math.sqrt(size / 3)];
  return { count, labels: new Uint8Array(count), pixels: new Uint8Array(count * size).map(() => Math.floor(rng.next() * 256)), shape };
}

describe('layer hints declared in the layer type', () => {
  it('a new element-wise type gets top patches, keeps the receptive field and has its dead units counted', () => {
    const spec = parseSpec([
      { type: 'input', out_sx: 32, out_sy: 32, out_depth: 3 },
      { type: 'conv', sx: 3, pad: 1, filters: 4 },
      { type: 'testclamp' },
      { type: 'pool', sx: 2, stride: 2 },
      { type: 'testflat' },
      { type: 'pool', sx: 2, stride: 2 },
      { type: 'softmax', num_classes: 3 },
    ], 'hints.json');
    const net = new Network(spec);
    net.initialize(2);
    const r = patchPass(net, split(12, 32 * 32 * 3), SCALE, 12);
    // conv, testclamp and the pool after it; nothing after testflat (no positions: no receptive field).
    expect(r.patches.map((p) => [p.layer, p.kind])).toEqual([[1, 'conv'], [2, 'testclamp'], [3, 'pool']]);
    expect(r.patches[1].rf).toEqual(r.patches[0].rf);
    expect(r.patches[2].rf).toEqual({ sizeH: 4, sizeW: 4, jump: 2, offsetH: 1, offsetW: 1 });
    expect(r.health.filter((h) => h.deadFraction !== undefined).map((h) => h.layer)).toEqual([2]);
  });

  it('every registered type with topPatches keeps positions; the ReLU is the built-in type with dead units', () => {
    for (const t of layerTypes()) {
      const h = findLayerDef(t)!.hints;
      if (h.topPatches) expect(h.positions, t).toBeDefined();
    }
    expect(layerTypes().filter((t) => findLayerDef(t)!.hints.deadWhenZero && !t.startsWith('test'))).toEqual(['relu']);
  });

  it('the bench names a row by the type\u2019s benchKind, else its type', () => {
    const net = new Network(presetSpec('resnet8'));
    const kinds = new Set(net.layers.map((_, i) => kindOf(net, i)));
    for (const k of ['conv 3x3', 'conv 3x3 s2', 'conv 1x1 s2', 'batchnorm', 'relu', 'add', 'gap']) expect(kinds, k).toContain(k);
    const own = new Network(parseSpec([{ type: 'input', out_sx: 2, out_sy: 2, out_depth: 1 }, { type: 'testclamp' }, { type: 'softmax', num_classes: 4 }], 'b'));
    expect(kindOf(own, 1)).toBe('clamp (test)');
  });
});
