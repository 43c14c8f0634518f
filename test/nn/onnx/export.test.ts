import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { readCifarTestImages } from './cifar.js';
import type { Preprocessing } from '../../../src/data/preprocess.js';
import { evalContext, Network } from '../../../src/nn/network.js';
import { loadOnnxSnapshot } from '../../../src/nn/onnx/load.js';
import { snapshotToOnnx } from '../../../src/nn/onnx/network-export.js';
import { decodeModel } from '../../../src/nn/onnx/proto.js';
import { parseSpec, presetSpec, type ModelSpec } from '../../../src/nn/spec.js';
import { fixtureImages } from './fixtures.js';

const STANDARD: Preprocessing = { kind: 'standardize', mean: [125.3, 122.95, 113.87], std: [62.99, 62.09, 66.7] };

/** Real test images: the six fixture records, plus the first 50 of CIFAR-10's test split when CIFAR10_DIR is set. */
function images(pre: Preprocessing): { batch: Float32Array; n: number } {
  const fixture = fixtureImages(pre);
  const more = readCifarTestImages(pre, 50);
  if (!more) return fixture;
  const batch = new Float32Array((fixture.n + more.n) * 3072);
  batch.set(fixture.batch);
  batch.set(more.batch, fixture.n * 3072);
  return { batch, n: fixture.n + more.n };
}

async function runOrt(bytes: Uint8Array, input: Float32Array, n: number, shape: number[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', input.slice(0, n * shape.reduce((a, b) => a * b, 1)), [n, ...shape]) };
    const out = await session.run(feeds);
    return out[session.outputNames[0]].data as Float32Array;
  } finally {
    await session.release();
  }
}

function trainedLooking(spec: ModelSpec, seed: number): Network {
  const net = new Network(spec);
  net.initialize(seed);
  return net;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

describe('ONNX export, checked with onnxruntime', () => {
  it('convnetjs-cifar10: onnxruntime gives cnnviz predict\'s probabilities to 1e-5 on real test images', async () => {
    const spec = presetSpec('convnetjs-cifar10');
    const net = trainedLooking(spec, 3);
    const pre = STANDARD;
    const bytes = snapshotToOnnx({ spec, params: net.params, preprocessing: pre }, net);
    const { batch, n } = images(pre);
    const ours = net.forward(batch, n, evalContext(net)).slice(0, n * 10);
    const theirs = await runOrt(bytes, batch, n, [3, 32, 32]);
    expect(theirs.length).toBe(n * 10);
    expect(maxDiff(ours, theirs)).toBeLessThan(1e-5);
  });

  it('every sequential layer type (leaky relu, LRN of odd and even size, maxout with leftover channels, dropout, sigmoid, tanh) and svm/regression outputs', async () => {
    const body = [
      { type: 'input', out_sx: 32, out_sy: 32, out_depth: 3 },
      { type: 'conv', sx: 3, filters: 7, stride: 2, pad: 1, activation: 'tanh' },
      { type: 'lrn', k: 1, n: 3, alpha: 0.5, beta: 0.75 },
      { type: 'pool', sx: 3, stride: 2, pad: 1 },
      { type: 'conv', sx: 3, sy: 1, filters: 9, stride: 1, pad: 1, activation: 'maxout', group_size: 2 },
      { type: 'lrn', k: 2, n: 4, alpha: 0.1, beta: 0.6 },
      { type: 'leakyrelu', alpha: 0.2 },
      { type: 'fc', num_neurons: 12, activation: 'sigmoid', drop_prob: 0.3 },
      { type: 'fc', num_neurons: 9, activation: 'relu' },
    ];
    const { batch, n } = images({ kind: 'scale' });
    for (const loss of [{ type: 'softmax', num_classes: 10 }, { type: 'svm', num_classes: 10 }, { type: 'regression', num_neurons: 4 }]) {
      const spec = parseSpec([...body, loss], loss.type);
      const net = trainedLooking(spec, 5);
      const bytes = snapshotToOnnx({ spec, params: net.params }, net);
      const k = net.outputSize;
      const ours = net.forward(batch, n, evalContext(net)).slice(0, n * k);
      const theirs = await runOrt(bytes, batch, n, [3, 32, 32]);
      expect(maxDiff(ours, theirs), loss.type).toBeLessThan(1e-5);
    }
  });

  it('export then import gives identical predictions, preprocessing and class names', () => {
    const spec = presetSpec('convnetjs-cifar10');
    const net = trainedLooking(spec, 9);
    const classNames = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
    const bytes = snapshotToOnnx({ spec, params: net.params, preprocessing: STANDARD, classNames }, net);
    const model = decodeModel(bytes, 'x.onnx');
    const meta = model.metadata_props!.find((p) => p.key === 'cnnviz.preprocess')!.value!;
    expect(meta).toMatch(/^mean=0\.4913725\d*,0\.4821568\d*,0\.4465490\d* std=0\.2470196\d*,0\.2434901\d*,0\.2615686\d*$/);
    const dir = mkdtempSync(join(tmpdir(), 'cnnviz-onnx-'));
    const file = join(dir, 'm.onnx');
    writeFileSync(file, bytes);
    const snap = loadOnnxSnapshot(file);
    expect(snap.preprocessing).toEqual(STANDARD);
    expect(snap.classNames).toEqual(classNames);
    expect(snap.params).toEqual(net.params);
    const back = new Network(snap.spec);
    back.params.set(snap.params);
    back.state.set(snap.state);
    const { batch, n } = images(STANDARD);
    expect(back.forward(batch, n, evalContext(back))).toEqual(net.forward(batch, n, evalContext(net)));
  });
});

describe('ONNX round trip of every importable layer type', () => {
  it('conv, leaky relu, pools, fc, sigmoid, tanh, dropout: export then import predicts bit for bit the same', () => {
    const spec = parseSpec([
      { type: 'input', out_sx: 32, out_sy: 32, out_depth: 3 },
      { type: 'conv', sx: 5, filters: 6, stride: 1, pad: 2 },
      { type: 'leakyrelu', alpha: 0.05 },
      { type: 'pool', sx: 3, stride: 2, pad: 1 },
      { type: 'conv', sx: 3, sy: 1, filters: 5, stride: 2, pad: 0, activation: 'sigmoid' },
      { type: 'fc', num_neurons: 16, activation: 'tanh', drop_prob: 0.25 },
      { type: 'softmax', num_classes: 10 },
    ], 'mixed');
    const net = trainedLooking(spec, 11);
    const dir = mkdtempSync(join(tmpdir(), 'cnnviz-onnx-'));
    const file = join(dir, 'mixed.onnx');
    writeFileSync(file, snapshotToOnnx({ spec, params: net.params }, net));
    const snap = loadOnnxSnapshot(file);
    expect(snap.spec.layers.map((l) => l.type)).toEqual(spec.layers.map((l) => l.type));
    expect(snap.params).toEqual(net.params);
    const back = new Network(snap.spec);
    back.params.set(snap.params);
    const { batch, n } = images({ kind: 'scale' });
    expect(back.forward(batch, n, evalContext(back))).toEqual(net.forward(batch, n, evalContext(net)));
  });
});
