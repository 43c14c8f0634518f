/**
 * Small PyTorch networks made of the blocks of torchvision's mobile, grouped and course-style models
 * (test/fixtures/onnx/make_zoo_fixtures.py; the same six CIFAR-10 test images as expected.json):
 * cnnviz must import them into the intended layers and reproduce PyTorch's probabilities to 1e-5, on
 * the WebAssembly kernels and on the TypeScript ones.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parsePreprocessText } from '../../../src/data/preprocess-option.js';
import { evalContext, Network } from '../../../src/nn/network.js';
import { loadOnnxSnapshot } from '../../../src/nn/onnx/load.js';
import { FIXTURES, fixtureImages } from './fixtures.js';
import { restoreKernelsAfterEach } from '../../helpers/kernels.js';

interface ZooExpected {
  models: Record<string, { file: string; preprocess: { mean: number[]; std: number[] }; probabilities: number[][] }>;
}
const zoo = JSON.parse(readFileSync(`${FIXTURES}expected-zoo.json`, 'utf8')) as ZooExpected;

function run(name: string, file?: string): { worst: number; types: string[] } {
  const m = zoo.models[name];
  const pre = parsePreprocessText(`mean=${m.preprocess.mean.join(',')} std=${m.preprocess.std.join(',')}`, name);
  const snap = loadOnnxSnapshot(`${FIXTURES}${file ?? m.file}`, pre);
  const net = new Network(snap.spec);
  net.params.set(snap.params);
  net.state.set(snap.state);
  const { batch, n } = fixtureImages(pre);
  const out = net.forward(batch, n, evalContext(net));
  let worst = 0;
  m.probabilities.forEach((row, i) => row.forEach((p, k) => (worst = Math.max(worst, Math.abs(out[i * 10 + k] - p)))));
  return { worst, types: snap.spec.layers.map((l) => l.type) };
}

restoreKernelsAfterEach();

const LAYERS: Record<string, string[]> = {
  // depthwise/grouped convs, relu6, hardswish, silu, SE gates (mul), ceil_mode pool, ReduceMean as gap
  mobile_blocks: ['conv', 'clip', 'hardswish', 'hardsigmoid', 'silu', 'sigmoid', 'mul', 'add', 'pool', 'gap'],
  course_acts: ['gelu', 'elu', 'prelu', 'softplus', 'leakyrelu'],
  squeeze_head: ['concat', 'gap', 'softmax'],
  // torchvision's ShuffleNet v2 units: channel split and shuffle
  shuffle_units: ['slice', 'shuffle', 'concat', 'conv', 'gap'],
  // pools padded per side (F.pad + AvgPool2d, MaxPool2d((3, 2), padding=(1, 0))) and a dilated max pool
  pad_pools: ['pool', 'fc'],
  // convs with padding_mode reflect and replicate (Pad of mode reflect and edge), F.pad zeros before a conv
  pad_convs: ['conv', 'gap'],
  // arithmetic with constants folded into convs, batch norm and the fc; x + 1.0 before a padded conv kept as an affine layer
  const_arith: ['conv', 'batchnorm', 'affine', 'gap'],
  // torchvision's ConvNeXt blocks: channels-last LayerNorm and MatMuls (1x1 convs), LayerNorm2d, GELU, layer scale
  convnext_blocks: ['conv', 'layernorm', 'gelu', 'add', 'gap'],
};

describe('PyTorch networks with the zoo blocks, imported', () => {
  for (const kernels of ['wasm', 'js']) {
    for (const name of Object.keys(LAYERS)) {
      it(`${name} gives PyTorch's probabilities to 1e-5 (${kernels} kernels)`, () => {
        process.env.CNNVIZ_KERNELS = kernels;
        const { worst, types } = run(name);
        console.log(`${name} (${kernels}): max |cnnviz - PyTorch| = ${worst.toExponential(2)}`);
        expect(worst).toBeLessThan(1e-5);
        for (const t of LAYERS[name]) expect(types, t).toContain(t);
      });
    }
  }

  it('reads the patterns as single layers: x*sigmoid(x) is silu, x*hardsigmoid(x) hardswish, the Erf chain gelu', () => {
    const mobile = run('mobile_blocks').types;
    // The SE gates stay sigmoid/hardsigmoid + mul (they scale another value); the activations fuse.
    expect(mobile.filter((t) => t === 'mul')).toHaveLength(2);
    expect(mobile.filter((t) => t === 'hardswish')).toHaveLength(1);
    expect(mobile.filter((t) => t === 'silu')).toHaveLength(1);
    const course = run('course_acts').types;
    expect(course).not.toContain('mul');
    // The 3x1 kernel padded (1, 0) and the dilated conv keep their geometry.
    const m = zoo.models.course_acts;
    const snap = loadOnnxSnapshot(`${FIXTURES}${m.file}`);
    expect(snap.spec.layers.find((l) => l.type === 'conv' && l.kernelW === 1)).toMatchObject({ kernelH: 3, padTop: 1, padBottom: 1, padLeft: 0, padRight: 0 });
    expect(snap.spec.layers.find((l) => l.type === 'conv' && l.dilation === 2)).toMatchObject({ kernelH: 3, pad: 2 });
    expect(course.filter((t) => t === 'prelu')).toHaveLength(2);
  });

  it('pools keep padding per side and dilation, convs their padding mode; F.pad (its pads computed from integers) and the zero Pad of AvgPool2d merge into the pool', () => {
    const snap = loadOnnxSnapshot(`${FIXTURES}${zoo.models.pad_pools.file}`);
    const pools = snap.spec.layers.filter((l) => l.type === 'pool');
    expect(pools.map((p) => [p.mode, p.kernelH, p.kernelW, p.padTop, p.padLeft, p.padBottom, p.padRight, p.dilation])).toEqual([
      ['max', 3, 3, 1, 1, 1, 1, 2],
      // F.pad(x, (0, 1, 1, 0)): left 0, right 1, top 1, bottom 0, counted as zeros.
      ['avg', 2, 2, 1, 0, 0, 1, 1],
      ['max', 3, 2, 1, 0, 1, 0, 1],
      ['avg', 2, 3, 0, 1, 0, 1, 1],
    ]);
    expect(pools.map((p) => p.countIncludePad)).toEqual([false, true, false, false]);
    const convs = loadOnnxSnapshot(`${FIXTURES}${zoo.models.pad_convs.file}`).spec.layers.filter((l) => l.type === 'conv');
    expect(convs.map((c) => [c.padMode, c.padTop, c.padLeft, c.padBottom, c.padRight])).toEqual([
      ['reflect', 1, 1, 1, 1],
      ['replicate', 2, 1, 2, 1],
      // F.pad(x, (1, 0, 2, 1)) with zeros: left 1, right 0, top 2, bottom 1, folded into the conv.
      ['zeros', 2, 1, 1, 0],
    ]);
    expect(snap.spec.shapes.filter((_, i) => snap.spec.layers[i].type === 'pool').map((s) => s.join('x'))).toEqual(['8x15x15', '8x8x8', '8x8x7', '8x7x7']);
  });
});

describe('arithmetic with constants and ConvNeXt, folded', () => {
  it('every Mul, Add, Sub and Div by a constant folds into a neighbour, except x + 1.0 before a zero-padded conv', () => {
    // PyTorch: conv0((x - mean) / 3), conv1(x) * 2.0, gamma * conv2(x) + 0.5 (conv2 has no bias), bn(x) - 0.25,
    // conv3(x + 1.0) with padding 1, fc(x) * 0.5: only the + 1.0 remains, as an affine layer.
    expect(run('const_arith').types).toEqual(['input', 'conv', 'conv', 'relu', 'conv', 'relu', 'batchnorm', 'relu', 'pool', 'affine', 'conv', 'relu', 'gap', 'fc', 'softmax']);
    const snap = loadOnnxSnapshot(`${FIXTURES}${zoo.models.const_arith.file}`);
    // The bias-free conv2 received biases from the + 0.5 (scaled by nothing: 0.5 each).
    expect(snap.spec.layers.filter((l) => l.type === 'conv').map((l) => l.bias)).toEqual([true, true, true, true]);
    const scale = snap.spec.layers.findIndex((l) => l.type === 'affine');
    expect(snap.spec.layers[scale + 1]).toMatchObject({ type: 'conv', pad: 1 });
  });

  it('ConvNeXt: no Transpose, affine layer or separate MatMul survives; each block is conv 7x7 depthwise, layernorm, conv 1x1, gelu, conv 1x1, add', () => {
    const types = run('convnext_blocks').types;
    expect(types).toEqual([
      'input', 'conv', 'layernorm',
      ...Array(2).fill(['conv', 'layernorm', 'conv', 'gelu', 'conv', 'add']).flat(),
      'layernorm', 'conv',
      'conv', 'layernorm', 'conv', 'gelu', 'conv', 'add',
      'gap', 'layernorm', 'fc', 'softmax',
    ]);
    const snap = loadOnnxSnapshot(`${FIXTURES}${zoo.models.convnext_blocks.file}`);
    const ln = snap.spec.layers.filter((l) => l.type === 'layernorm');
    expect(ln.map((l) => l.eps)).toEqual(Array(ln.length).fill(1e-6));
    const dw = snap.spec.layers.filter((l) => l.type === 'conv' && l.kernelH === 7);
    expect(dw.map((l) => [l.groups, l.pad])).toEqual([[8, 3], [8, 3], [16, 3]]);
  });

  it('ConvNeXt at opset 17: LayerNormalization nodes import as the same layers, with the same probabilities', () => {
    const decomposed = run('convnext_blocks');
    const fused = run('convnext_blocks', 'convnext_blocks_opset17.onnx');
    expect(fused.types).toEqual(decomposed.types);
    expect(fused.worst).toBeLessThan(1e-5);
  });
});
