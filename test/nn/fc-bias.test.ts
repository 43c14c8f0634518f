/**
 * `"bias": false` on fc layers (and on the fc a loss layer implies): no biases parameter, in the counts,
 * the passes, snapshots and ONNX (a Gemm without C, both ways). Before, the field was ignored: the
 * biases were still created, counted and trained.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { evalContext, Network } from '../../src/nn/network.js';
import { loadOnnxSnapshot } from '../../src/nn/onnx/load.js';
import { snapshotToOnnx } from '../../src/nn/onnx/network-export.js';
import { decodeModel } from '../../src/nn/onnx/proto.js';
import { loadModel, saveSnapshot } from '../../src/nn/snapshot.js';
import { paramDecls, parseSpec } from '../../src/nn/spec.js';
import { formatSummary, summarize } from '../../src/nn/summary.js';
import { Rng } from '../../src/util/rng.js';
import { gradCheck } from '../helpers/gradcheck.js';

const input = { type: 'input', out_sx: 4, out_sy: 4, out_depth: 2 };
const DEFS = [
  input,
  { type: 'fc', num_neurons: 6, bias: false, activation: 'tanh' },
  { type: 'fc', num_neurons: 5 },
  { type: 'softmax', num_classes: 3, bias: false },
];

describe('fc with "bias": false', () => {
  it('declares no biases: summary counts weights only and says "no bias"', () => {
    const spec = parseSpec(DEFS, 'spec.json');
    const names = (i: number) => paramDecls(spec, i).map((d) => d.name);
    expect(spec.layers.map((l) => l.type)).toEqual(['input', 'fc', 'tanh', 'fc', 'fc', 'softmax']);
    expect(names(1)).toEqual(['weights']);
    expect(names(3)).toEqual(['weights', 'biases']);
    expect(names(4)).toEqual(['weights']); // the fc softmax implies
    expect(summarize(spec).totalParams).toBe(32 * 6 + (6 * 5 + 5) + 5 * 3);
    expect(formatSummary(spec)).toMatch(/fully connected, 6 units, no bias/);
    expect(new Network(spec).params.length).toBe(32 * 6 + 35 + 15);
    expect(() => parseSpec([input, { type: 'fc', num_neurons: 2, bias: 0 }, { type: 'softmax', num_classes: 2 }], 'spec.json'))
      .toThrow(/spec\.json: layer 1 \(fc\).*field "bias" must be true or false/);
  });

  it('computes W x exactly (no bias term)', () => {
    const spec = parseSpec([input, { type: 'fc', num_neurons: 3, bias: false, bias_pref: 0.7 }, { type: 'regression', num_neurons: 3, bias: false }], 'r');
    const net = new Network(spec);
    net.initialize(2);
    const rng = new Rng(5);
    const x = new Float32Array(2 * 32).map(() => rng.next() - 0.5);
    const out = net.forward(x, 2, evalContext(net));
    const w1 = net.layers[1].params[0].data;
    const w2 = net.layers[2].params[0].data;
    for (let b = 0; b < 2; b++) {
      const h = [0, 1, 2].map((o) => w1.subarray(o * 32, o * 32 + 32).reduce((s, w, i) => s + w * x[b * 32 + i], 0));
      for (let o = 0; o < 3; o++) expect(out[b * 3 + o]).toBeCloseTo(h.reduce((s, v, i) => s + w2[o * 3 + i] * v, 0), 5);
    }
  });

  it('passes finite-difference gradient checks', () => {
    gradCheck(DEFS, { labels: Int32Array.from([0, 2, 1]) }, 3, 6, { paramProbes: 6 });
  });

  it('survives a snapshot and ONNX export (Gemm without C) and import, with the same outputs', async () => {
    const spec = parseSpec(DEFS, 'spec.json');
    const net = new Network(spec);
    net.initialize(4);
    const dir = mkdtempSync(join(tmpdir(), 'cnnviz-fcbias-'));
    const file = join(dir, 'snap.json');
    await saveSnapshot(file, { spec, params: net.params });
    const loaded = loadModel(file).snapshot!;
    expect(loaded.params).toEqual(net.params);
    expect(loaded.spec.layers[1].bias).toBe(false);

    const rng = new Rng(8);
    const n = 3;
    const x = new Float32Array(n * 32).map(() => rng.next() - 0.5);
    const ours = net.forward(x, n, evalContext(net)).slice(0, n * 3);
    const bytes = snapshotToOnnx({ spec, params: net.params }, net);
    const gemms = decodeModel(bytes, 'x.onnx').graph!.node!.filter((nd) => nd.op_type === 'Gemm');
    expect(gemms.map((g) => g.input!.length)).toEqual([2, 3, 2]);

    const session = await ort.InferenceSession.create(bytes);
    try {
      const res = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, [n, 2, 4, 4]) });
      const theirs = res[session.outputNames[0]].data as Float32Array;
      ours.forEach((v, i) => expect(Math.abs(v - theirs[i])).toBeLessThan(1e-5));
    } finally {
      await session.release();
    }

    const onnxFile = join(dir, 'net.onnx');
    writeFileSync(onnxFile, bytes);
    const snap = loadOnnxSnapshot(onnxFile);
    const fcParams = snap.spec.layers.flatMap((l, i) => (l.type === 'fc' ? [paramDecls(snap.spec, i).map((d) => d.name).join()] : []));
    expect(fcParams).toEqual(['weights', 'weights,biases', 'weights']);
    const back = new Network(snap.spec);
    back.params.set(snap.params);
    expect(back.params.length).toBe(net.params.length);
    expect(back.forward(x, n, evalContext(back)).slice(0, n * 3)).toEqual(ours);
  });
});
