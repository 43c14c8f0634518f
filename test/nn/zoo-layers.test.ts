/**
 * The layers that torchvision's mobile and grouped networks need, inside networks: finite differences
 * through the wiring, on the WebAssembly kernels (depthwise: its own direct kernel) and on the
 * TypeScript ones. The kernels themselves are checked against float64 references in test/tensor.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseSpec } from '../../src/nn/spec.js';
import { gradCheck } from '../helpers/gradcheck.js';

const input = { type: 'input', name: 'x', out_sx: 7, out_sy: 6, out_depth: 4 };
const saved = process.env.CNNVIZ_KERNELS;
afterEach(() => {
  if (saved === undefined) delete process.env.CNNVIZ_KERNELS;
  else process.env.CNNVIZ_KERNELS = saved;
});

/** A MobileNet-style block: depthwise 3x3 (stride 2, multiplier 2), then a grouped 1x1. */
const MOBILE = [
  input,
  { type: 'conv', name: 'dw', sx: 3, pad: 1, stride: 2, filters: 8, groups: 4 },
  { type: 'tanh', name: 't1' },
  { type: 'conv', name: 'gw', sx: 1, filters: 6, groups: 2, bias: false },
  { type: 'tanh', name: 't2' },
  { type: 'conv', name: 'g3', sx: 3, pad: 1, filters: 6, groups: 3 },
  { type: 'softmax', num_classes: 3 },
];

describe('grouped and depthwise convolution in a network', () => {
  for (const kernels of ['wasm', 'js']) {
    it(`gradients on the ${kernels} kernels`, () => {
      process.env.CNNVIZ_KERNELS = kernels;
      gradCheck(MOBILE, { labels: Int32Array.from([0, 2]) }, 2);
    });
  }

  it('weights are [filters, inputs / groups, kH, kW], and groups must divide both channel counts', () => {
    const spec = parseSpec(MOBILE, 'm.json');
    expect(spec.layers[1]).toMatchObject({ groups: 4 });
    expect(() => parseSpec([input, { type: 'conv', sx: 3, filters: 6, groups: 4 }, { type: 'softmax', num_classes: 2 }], 'bad.json')).toThrow(
      /groups.*\(4\) must divide both the 4 input channels and the 6 filters/,
    );
  });
});
