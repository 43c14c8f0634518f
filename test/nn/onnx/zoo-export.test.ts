/**
 * The layers the torchvision zoo needs (grouped and depthwise conv, ...): `cnnviz export` checked with
 * onnxruntime to 1e-5 on real test images, and export then import giving the same network bit for bit.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { evalContext, Network } from '../../../src/nn/network.js';
import { loadOnnxSnapshot } from '../../../src/nn/onnx/load.js';
import { snapshotToOnnx } from '../../../src/nn/onnx/network-export.js';
import { parseSpec, type ModelSpec } from '../../../src/nn/spec.js';
import { fixtureImages } from './fixtures.js';

async function ortProbabilities(bytes: Uint8Array, input: Float32Array, n: number): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', input.slice(0, n * 3072), [n, 3, 32, 32]) });
    return out[session.outputNames[0]].data as Float32Array;
  } finally {
    await session.release();
  }
}

/** Export to onnxruntime and back into cnnviz; returns max |cnnviz - onnxruntime|. */
async function exportAndBack(spec: ModelSpec, seed: number, tweak?: (net: Network) => void): Promise<number> {
  const net = new Network(spec);
  net.initialize(seed);
  tweak?.(net);
  if (net.state.length) net.state.forEach((_, i) => (net.state[i] = 0.5 + ((i * 7919) % 13) / 13));
  const { batch, n } = fixtureImages({ kind: 'scale' });
  const ours = net.forward(batch, n, evalContext(net)).slice(0, n * net.outputSize);
  const bytes = snapshotToOnnx({ spec, params: net.params, state: net.state }, net);
  const theirs = await ortProbabilities(bytes, batch, n);
  let worst = 0;
  for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i] - theirs[i]));
  const file = join(mkdtempSync(join(tmpdir(), 'cnnviz-zoo-')), 'm.onnx');
  writeFileSync(file, bytes);
  const snap = loadOnnxSnapshot(file);
  expect(snap.spec.layers.map((l) => l.type)).toEqual(spec.layers.map((l) => l.type));
  expect(snap.params).toEqual(net.params);
  const back = new Network(snap.spec);
  back.params.set(snap.params);
  back.state.set(snap.state);
  expect(back.forward(batch, n, evalContext(back)).slice(0, ours.length)).toEqual(ours);
  return worst;
}

const input = { type: 'input', out_sx: 32, out_sy: 32, out_depth: 3 };

describe('ONNX export of the zoo layers, checked with onnxruntime', () => {
  it('grouped and depthwise convolution (MobileNet block: depthwise with multiplier 2, grouped 1x1)', async () => {
    const spec = parseSpec([
      input,
      { type: 'conv', sx: 3, filters: 8, stride: 2, pad: 1, activation: 'relu' },
      { type: 'conv', sx: 3, filters: 16, stride: 2, pad: 1, groups: 8 },
      { type: 'relu' },
      { type: 'conv', sx: 1, filters: 12, groups: 4, bias: false },
      { type: 'softmax', num_classes: 10 },
    ], 'mobile');
    expect(await exportAndBack(spec, 3)).toBeLessThan(1e-5);
  });
});

describe('ONNX export of pools with padding per side and dilation, and of reflect and replicate padding, checked with onnxruntime', () => {
  it('a dilated max pool, max and average pools padded per side (padding counted or not), convs padded by reflection and replication', async () => {
    const spec = parseSpec([
      input,
      { type: 'conv', sx: 3, filters: 6, pad: 1 },
      { type: 'pool', sx: 3, stride: 2, pad: 1, dilation: 2 },
      { type: 'pool', sx: 2, stride: 2, mode: 'avg', count_include_pad: true, pad: 1, pad_left: 0, pad_bottom: 0 },
      { type: 'pool', sx: 2, sy: 3, stride: 1, pad: 1, pad_left: 0, pad_right: 0 },
      { type: 'pool', sx: 3, sy: 2, stride: 1, mode: 'avg', pad: 0, pad_left: 1, pad_right: 1 },
      { type: 'conv', sx: 3, filters: 6, pad: 1, pad_mode: 'reflect' },
      { type: 'conv', sx: 3, filters: 6, stride: 2, pad: 2, pad_left: 1, pad_mode: 'replicate' },
      { type: 'softmax', num_classes: 10 },
    ], 'pools');
    expect(spec.shapes.slice(2, 6).map((x) => x.join('x'))).toEqual(['6x15x15', '6x8x8', '6x8x7', '6x7x7']);
    expect(await exportAndBack(spec, 3)).toBeLessThan(1e-5);
  });
});

describe('ONNX export of the zoo activations, gates and heads, checked with onnxruntime', () => {
  it('clip, relu6, hardsigmoid, hardswish, silu, gelu, elu, softplus, prelu, an SE gate, ceil_mode pool, scores from a global pool', async () => {
    const spec = parseSpec([
      { ...input, name: 'x' },
      { type: 'conv', name: 'c1', sx: 3, filters: 8, stride: 2, pad: 1 },
      { type: 'clip', name: 'relu6', min: 0, max: 6 },
      { type: 'conv', name: 'dw', sx: 3, filters: 8, pad: 1, groups: 8 },
      { type: 'hardswish', name: 'hs' },
      { type: 'gap', name: 'squeeze' },
      { type: 'conv', name: 'excite', sx: 1, filters: 8 },
      { type: 'hardsigmoid', name: 'gate', alpha: 1 / 6, beta: 0.5 },
      { type: 'mul', name: 'se', inputs: ['hs', 'gate'] },
      { type: 'silu', name: 'silu' },
      { type: 'pool', name: 'pool', sx: 3, stride: 2, ceil_mode: true },
      { type: 'gelu', name: 'gelu' },
      { type: 'conv', name: 'c2', sx: 3, filters: 12, pad: 1, dilation: 2, pad_bottom: 2, pad_right: 3 },
      { type: 'elu', name: 'elu', alpha: 0.5 },
      { type: 'prelu', name: 'prelu' },
      { type: 'clip', name: 'clip', min: -1.5 },
      { type: 'conv', name: 'c3', sx: 1, filters: 10 },
      { type: 'softplus', name: 'softplus' },
      { type: 'prelu', name: 'prelu1', shared: true },
      { type: 'slice', name: 'half', from: 0, to: 4 },
      { type: 'concat', name: 'join', inputs: ['half', 'prelu1'] },
      { type: 'shuffle', name: 'shuffle', groups: 2 },
      { type: 'conv', name: 'c4', sx: 1, filters: 10, groups: 2 },
      { type: 'gap', name: 'scores' },
      { type: 'softmax', num_classes: 10, fc: false },
    ], 'zoo');
    expect(spec.shapes[spec.layers.findIndex((l) => l.name === 'pool')]).toEqual([8, 8, 8]); // 16 -> 8 (7 without ceil_mode)
    expect(await exportAndBack(spec, 4)).toBeLessThan(1e-5);
  });
});

describe('ONNX export of layer norm and per-channel scales, checked with onnxruntime', () => {
  it('layernorm (opset 13: the ReduceMean/Sub/Pow/Sqrt/Div pattern over channels) and affine (Mul, Add) export and import back as themselves', async () => {
    // Each affine layer sits where nothing can take it in (after a relu, before gap, with a shift before a zero-padded conv).
    const spec = parseSpec([
      input,
      { type: 'conv', sx: 4, filters: 8, stride: 4 },
      { type: 'layernorm', eps: 1e-6 },
      { type: 'conv', sx: 3, filters: 8, pad: 1, groups: 8 },
      { type: 'relu' },
      { type: 'affine' },
      { type: 'conv', sx: 3, filters: 6, pad: 1 },
      { type: 'gap' },
      { type: 'layernorm' },
      { type: 'softmax', num_classes: 10 },
    ], 'layernorm');
    const worst = await exportAndBack(spec, 5, (net) => {
      // gamma and beta away from their initial 1 and 0, so that a fold that drops or swaps them shows.
      for (const l of net.layers) for (const p of l.params) if (p.name === 'gamma' || p.name === 'beta') p.data.forEach((_, i) => (p.data[i] = (p.name === 'gamma' ? 1 : 0) + Math.sin(3 * i + p.data.length)));
    });
    expect(worst).toBeLessThan(1e-5);
  });
});
