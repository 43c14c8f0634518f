/**
 * Conformance of every registered layer type: it has its own words (what it does, its noun and what
 * its backward hands down), passes a finite-difference gradient check inside a network, round-trips
 * through ONNX export and import where it exports, and gets its pictures drawn with its words. A new
 * layer type fails here until one of the networks below contains it.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { explainLayers, specViews } from '../../src/nn/layers/explain.js';
import { layerDef, layerTypes } from '../../src/nn/layers/registry.js';
import { evalContext, Network } from '../../src/nn/network.js';
import { loadOnnxSnapshot } from '../../src/nn/onnx/load.js';
import { snapshotToOnnx } from '../../src/nn/onnx/network-export.js';
import { parseSpec, type ModelSpec } from '../../src/nn/spec.js';
import { runProbe } from '../../src/train/probe.js';
import { Rng } from '../../src/util/rng.js';
import { writeEpochViz, type EpochVizSummary } from '../../src/viz/epoch.js';
import { gradCheck } from '../helpers/gradcheck.js';

const input = { type: 'input', out_sx: 8, out_sy: 8, out_depth: 3 };

/** Networks that together contain every registered layer type. */
const NETWORKS: { name: string; defs: Record<string, unknown>[]; labels?: number[]; values?: number[]; onnx: boolean; pictures: boolean }[] = [
  {
    name: 'chain of the ConvNetJS types',
    defs: [
      { type: 'input', out_sx: 7, out_sy: 6, out_depth: 3 },
      { type: 'conv', sx: 3, sy: 2, filters: 6, stride: 2, pad: 1, activation: 'relu' },
      { type: 'pool', sx: 2, stride: 1 },
      { type: 'conv', sx: 2, filters: 4, stride: 1, pad: 0 },
      { type: 'leakyrelu', alpha: 0.2 },
      { type: 'pool', sx: 2, stride: 1, mode: 'avg' },
      { type: 'fc', num_neurons: 7, activation: 'tanh', drop_prob: 0.25 },
      { type: 'fc', num_neurons: 5, activation: 'sigmoid' },
      { type: 'softmax', num_classes: 3 },
    ],
    labels: [0, 2, 1, 1],
    onnx: true,
    pictures: true,
  },
  {
    // LRN and maxout export for onnxruntime, but cnnviz's ONNX import reads neither back.
    name: 'lrn and maxout, svm loss',
    defs: [input, { type: 'conv', sx: 3, filters: 4, stride: 2, pad: 1, activation: 'maxout', group_size: 2 }, { type: 'lrn', k: 1, n: 3, alpha: 0.5, beta: 0.75 }, { type: 'svm', num_classes: 3 }],
    labels: [1, 0, 2, 2],
    onnx: false,
    pictures: true,
  },
  {
    name: 'a residual block with batch norm, concat and global average pooling',
    defs: [
      { ...input, name: 'image' },
      { type: 'conv', name: 'c1', sx: 3, filters: 4, pad: 1, bias: false },
      { type: 'batchnorm', name: 'bn1' },
      { type: 'relu', name: 'r1' },
      { type: 'conv', name: 'c2', inputs: ['r1'], sx: 3, filters: 4, pad: 1, bias: false },
      { type: 'batchnorm', name: 'bn2' },
      { type: 'add', name: 'sum', inputs: ['bn2', 'r1'] },
      { type: 'relu', name: 'r2' },
      { type: 'concat', name: 'cat', inputs: ['r2', 'r1'] },
      { type: 'gap', name: 'gap' },
      { type: 'softmax', num_classes: 3 },
    ],
    labels: [2, 1, 0, 1],
    onnx: false,
    pictures: true,
  },
  {
    name: 'the model-zoo types: depthwise conv, modern activations, a squeeze-and-excitation gate, slice and shuffle',
    defs: [
      { ...input, name: 'x' },
      { type: 'conv', name: 'c1', sx: 3, filters: 4, pad: 1 },
      // No kinks near the values here (clip's bounds far off, elu with alpha 1, whose slope is continuous):
      // a finite difference across a kink says nothing; the kinks are checked per kernel in test/tensor.
      { type: 'clip', name: 'clip', min: -2, max: 2 },
      { type: 'conv', name: 'dw', sx: 3, filters: 4, pad: 1, groups: 4 },
      { type: 'hardswish', name: 'hs' },
      { type: 'gap', name: 'squeeze' },
      { type: 'conv', name: 'excite', sx: 1, filters: 4 },
      { type: 'hardsigmoid', name: 'gate', alpha: 1 / 6, beta: 0.5 },
      { type: 'mul', name: 'se', inputs: ['hs', 'gate'] },
      { type: 'silu', name: 'silu' },
      { type: 'gelu', name: 'gelu' },
      { type: 'elu', name: 'elu', alpha: 1 },
      { type: 'softplus', name: 'softplus' },
      { type: 'prelu', name: 'prelu' },
      { type: 'slice', name: 'half', from: 0, to: 2 },
      { type: 'concat', name: 'join', inputs: ['half', 'prelu'] },
      { type: 'shuffle', name: 'shuffle', groups: 2 },
      { type: 'fc', num_neurons: 3 },
      { type: 'softmax', num_classes: 3 },
    ],
    labels: [0, 2, 1, 1],
    onnx: true,
    pictures: true,
  },
  {
    name: 'pools with padding per side and dilation, convs with reflect and replicate padding',
    defs: [
      input,
      { type: 'conv', sx: 3, filters: 4, pad: 1, pad_mode: 'reflect' },
      { type: 'pool', sx: 3, stride: 1, pad: 2, dilation: 2 },
      { type: 'pool', sx: 2, stride: 2, mode: 'avg', count_include_pad: true, pad: 1, pad_left: 0, pad_bottom: 0 },
      { type: 'pool', sx: 2, sy: 3, stride: 1, pad: 1, pad_left: 0, pad_right: 0 },
      { type: 'conv', sx: 3, filters: 3, pad: 2, pad_left: 0, pad_bottom: 1, pad_mode: 'replicate' },
      { type: 'fc', num_neurons: 3 },
      { type: 'softmax', num_classes: 3 },
    ],
    labels: [1, 0, 2, 1],
    onnx: true,
    pictures: true,
  },
  {
    // A ConvNeXt-like block: layer norm over channels (also after an fc) and per-channel scales (what
    // the import makes of arithmetic with constants).
    name: 'layer norm over channels and per-channel scales',
    defs: [
      { ...input, name: 'x' },
      { type: 'conv', name: 'c1', sx: 3, filters: 4, pad: 1 },
      { type: 'layernorm', name: 'ln', eps: 1e-6 },
      { type: 'gelu', name: 'g' },
      { type: 'affine', name: 'shift' },
      { type: 'conv', name: 'c2', sx: 3, filters: 4, pad: 1 },
      { type: 'relu', name: 'r' },
      { type: 'affine', name: 'gamma' },
      { type: 'gap', name: 'gap' },
      { type: 'fc', num_neurons: 5 },
      { type: 'layernorm', name: 'ln_fc' },
      { type: 'softmax', num_classes: 3 },
    ],
    labels: [2, 0, 1, 2],
    onnx: true,
    pictures: true,
  },
  {
    // Training and visualize refuse regression networks (the data has class labels, not values): no pictures.
    name: 'regression loss',
    defs: [input, { type: 'fc', num_neurons: 4, activation: 'sigmoid' }, { type: 'regression', num_neurons: 2 }],
    values: [0.1, -0.4, 0.7, 1.2, 0, -1, 0.3, 0.5],
    // cnnviz's ONNX import reads every model as a classifier: a regression model exports, but does not round-trip.
    onnx: false,
    pictures: false,
  },
];

function target(n: (typeof NETWORKS)[number]) {
  return n.labels ? { labels: Int32Array.from(n.labels) } : { values: Float32Array.from(n.values!) };
}

describe('every registered layer type conforms', () => {
  it('the networks below contain every registered layer type', () => {
    const covered = new Set(NETWORKS.flatMap((n) => parseSpec(n.defs, n.name).layers.map((l) => l.type)));
    expect([...layerTypes()].filter((t) => !covered.has(t))).toEqual([]);
  });

  it('every type has its own words: what it does, its noun, what its backward hands down', () => {
    const whats = new Map<string, string>();
    for (const n of NETWORKS) {
      const spec = parseSpec(n.defs, n.name);
      const words = explainLayers(specViews(spec));
      spec.layers.forEach((l, i) => {
        const hints = layerDef(l.type).hints;
        expect(hints.words, l.type).toBeTypeOf('function');
        expect(hints.noun?.(l), l.type).toMatch(/\w/);
        expect(hints.passesDown?.(l), l.type).toMatch(/\w/);
        expect(words[i].what.length, l.type).toBeGreaterThan(20);
        expect(words[i].pictures.activations?.length, l.type).toBeGreaterThan(20);
        // One type, one sentence; two types never share one.
        const other = [...whats].find(([t, w]) => t !== l.type && w === words[i].what);
        expect(other, l.type).toBeUndefined();
        whats.set(l.type, words[i].what);
      });
    }
  });

  for (const n of NETWORKS) {
    it(`gradient check: ${n.name}`, () => {
      // Batch 4 and set running statistics, as test/nn/modern-layers.test.ts.
      if (n.name.startsWith('chain')) gradCheck(n.defs, target(n), 3);
      else gradCheck(n.defs, target(n), 4, 8, { paramProbes: 4, randomState: true });
    });
  }

  for (const n of NETWORKS.filter((x) => x.onnx)) {
    it(`ONNX export and import predict the same: ${n.name}`, () => {
      const spec = parseSpec(n.defs, n.name);
      const net = new Network(spec);
      net.initialize(7);
      const dir = mkdtempSync(join(tmpdir(), 'cnnviz-conform-'));
      const file = join(dir, 'net.onnx');
      writeFileSync(file, snapshotToOnnx({ spec, params: net.params }, net));
      const snap = loadOnnxSnapshot(file);
      const back = new Network(snap.spec);
      back.params.set(snap.params);
      back.state.set(snap.state);
      const x = new Float32Array(2 * spec.shapes[0].reduce((a, b) => a * b, 1)).map((_, i) => Math.sin(i / 7));
      const a = net.forward(x, 2, evalContext(net)).slice();
      const b = back.forward(x, 2, evalContext(back));
      for (let i = 0; i < a.length; i++) expect(b[i]).toBeCloseTo(a[i], 5);
    });
  }

  it('every exporting type with an ONNX hook exports', () => {
    // The export hooks are exercised above (round trip) and by test/nn/onnx (onnxruntime) for lrn and maxout.
    for (const t of ['conv', 'pool', 'fc', 'relu', 'sigmoid', 'tanh', 'leakyrelu', 'dropout', 'softmax', 'regression', 'lrn', 'maxout', 'batchnorm', 'add', 'gap', 'concat', 'svm', 'layernorm', 'affine']) {
      expect(layerDef(t).onnx, t).toBeTypeOf('function');
    }
  });

  for (const n of NETWORKS.filter((x) => x.pictures)) {
    it(`pictures drawn with the layer's own words: ${n.name}`, async () => {
      const spec: ModelSpec = parseSpec(n.defs, n.name);
      const net = new Network(spec);
      net.initialize(5);
      const P = 2;
      const rng = new Rng(3);
      const [c, h, w] = spec.shapes[0];
      const raw = new Uint8Array(P * c * h * w).map(() => Math.floor(rng.next() * 256));
      const images = Float32Array.from(raw, (v) => v / 255 - 0.5);
      const probe = runProbe(net, images, Int32Array.from(n.labels!.slice(0, 2)), raw, [0, 1]);
      const out = mkdtempSync(join(tmpdir(), 'cnnviz-conform-viz-'));
      await writeEpochViz(out, 1, probe, { classNames: ['a', 'b', 'c'], scale: 'robust', animations: 'none' });
      const summary = JSON.parse(readFileSync(join(out, 'epoch-001', 'epoch.json'), 'utf8')) as EpochVizSummary;
      const words = explainLayers(specViews(spec));
      summary.layers.forEach((l, i) => {
        expect(l.files.activations, `${l.type} activations`).toBeDefined();
        expect(l.words?.what, l.type).toBe(words[i].what);
        if (l.paramCount > 0 && l.weightShape) expect(l.files.weights, `${l.type} weights`).toBeDefined();
      });
    });
  }
});
