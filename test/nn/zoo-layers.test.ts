/**
 * The layers that torchvision's mobile and grouped networks need, inside networks: finite differences
 * through the wiring, on the WebAssembly kernels (depthwise: its own direct kernel) and on the
 * TypeScript ones. The kernels themselves are checked against float64 references in test/tensor.
 */
import { describe, expect, it } from 'vitest';
import { describeLayer, parseSpec } from '../../src/nn/spec.js';
import { gradCheck } from '../helpers/gradcheck.js';
import { restoreKernelsAfterEach } from '../helpers/kernels.js';

const input = { type: 'input', name: 'x', out_sx: 7, out_sy: 6, out_depth: 4 };
restoreKernelsAfterEach();

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

/**
 * Every new layer type in one network: clip, hardsigmoid, hardswish, silu, gelu, elu, softplus, prelu
 * (per channel and shared), a squeeze-and-excitation gate (mul with a Cx1x1 input), an element-wise mul
 * of two maps, a ceil_mode max pool and class scores from a global pool (softmax with "fc": false).
 */
const ZOO = [
  input,
  { type: 'conv', name: 'c1', sx: 3, pad: 1, filters: 6 },
  { type: 'clip', name: 'clip', min: -0.3, max: 0.4 },
  { type: 'conv', name: 'c2', sx: 3, pad: 1, filters: 6, groups: 3 },
  { type: 'hardswish', name: 'hs' },
  { type: 'gap', name: 'squeeze' },
  { type: 'conv', name: 'excite', sx: 1, filters: 6 },
  { type: 'hardsigmoid', name: 'gate', alpha: 0.5, beta: 0.5 },
  { type: 'mul', name: 'se', inputs: ['hs', 'gate'] },
  { type: 'silu', name: 'silu' },
  { type: 'gelu', name: 'gelu', inputs: ['c2'] },
  { type: 'mul', name: 'product', inputs: ['silu', 'gelu'] },
  { type: 'pool', name: 'pool', sx: 2, stride: 2, ceil_mode: true },
  { type: 'elu', name: 'elu', alpha: 0.7 },
  { type: 'prelu', name: 'prelu' },
  { type: 'conv', name: 'c3', sx: 3, pad: 1, filters: 5, dilation: 2, pad_top: 2, pad_left: 0, pad_right: 3 },
  { type: 'softplus', name: 'softplus' },
  { type: 'prelu', name: 'prelu1', shared: true },
  { type: 'slice', name: 'left', from: 0, to: 2 },
  { type: 'slice', name: 'right', inputs: ['prelu1'], from: 2, to: 5 },
  { type: 'tanh', name: 'branch' },
  { type: 'concat', name: 'join', inputs: ['left', 'branch', 'right'] },
  { type: 'shuffle', name: 'shuffle', groups: 2 },
  { type: 'conv', name: 'c4', sx: 1, filters: 5, inputs: ['shuffle'] },
  { type: 'gap', name: 'scores' },
  { type: 'softmax', num_classes: 5, fc: false },
];

describe('the zoo layers in a network', () => {
  for (const kernels of ['wasm', 'js']) {
    it(`gradients on the ${kernels} kernels`, () => {
      process.env.CNNVIZ_KERNELS = kernels;
      gradCheck(ZOO, { labels: Int32Array.from([1, 4]) }, 2, 8, { paramProbes: 6 });
    });
  }

  it('shapes: ceil_mode keeps the overhanging window, the softmax without fc reads the 5 pooled scores', () => {
    const spec = parseSpec(ZOO, 'zoo.json');
    const at = (name: string) => spec.shapes[spec.layers.findIndex((l) => l.name === name)];
    expect(at('pool')).toEqual([6, 3, 4]); // 6x7 -> 3x4 (3x3 without ceil_mode)
    // Dilation 2 spans 5: 3 + 2 + 1 - 5 + 1 = 2 rows, 4 + 0 + 3 - 5 + 1 = 3 columns.
    expect(at('c3')).toEqual([5, 2, 3]);
    expect(at('join')).toEqual([8, 2, 3]);
    expect(() => parseSpec([input, { type: 'shuffle', groups: 3 }, { type: 'softmax', num_classes: 2 }], 's.json')).toThrow(/"groups" \(3\) must divide the 4 channels/);
    expect(() => parseSpec([input, { type: 'slice', from: 2, to: 5 }, { type: 'softmax', num_classes: 2 }], 's.json')).toThrow(/channels 2\.\.4 are not inside the 4 channels/);
    expect(spec.layers.filter((l) => l.type === 'fc')).toHaveLength(0);
    expect(() => parseSpec([input, { type: 'mul', inputs: ['x', 'x'] }, { type: 'conv', name: 'q', sx: 1, filters: 2 }, { type: 'mul', inputs: ['x', 'q'] }, { type: 'softmax', num_classes: 2 }], 'm.json')).toThrow(
      /input 2 \(2x6x7\) must have input 1's shape \(4x6x7\) or one value per channel \(4x1x1\)/,
    );
  });
});

describe('pools with padding per side and dilation', () => {
  const img = { type: 'input', out_sx: 8, out_sy: 8, out_depth: 2 };
  const spec = (pool: Record<string, unknown>) => parseSpec([img, { type: 'pool', ...pool }, { type: 'softmax', num_classes: 2 }], 'p.json');

  it('shapes and summary lines', () => {
    const s = spec({ sx: 3, stride: 1, pad: 2, pad_left: 0, dilation: 2 });
    // height 8 + 2 + 2 - 5 + 1 = 8, width 8 + 0 + 2 - 5 + 1 = 6
    expect(s.shapes[1]).toEqual([2, 8, 6]);
    expect(describeLayer(s.layers[1])).toMatch(/max pool 3x3, stride 1, pads top 2 bottom 2 left 0 right 2, dilation 2/);
  });

  it('refuses dilation on an average pool and padding as wide as the window', () => {
    expect(() => spec({ sx: 2, mode: 'avg', dilation: 2 })).toThrow(/dilation.*applies to "mode": "max" only/);
    expect(() => spec({ sx: 2, stride: 1, pad_right: 2 })).toThrow(/pad_right.*\(2\) must be smaller than the pooling window/);
  });
});
