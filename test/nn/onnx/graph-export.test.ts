import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import type { Preprocessing } from '../../../src/data/preprocess.js';
import { evalContext, Network } from '../../../src/nn/network.js';
import { loadOnnxSnapshot } from '../../../src/nn/onnx/load.js';
import { snapshotToOnnx } from '../../../src/nn/onnx/network-export.js';
import { presetNames, presetSpec } from '../../../src/nn/spec.js';
import { Rng } from '../../../src/util/rng.js';
import { readCifarTestImages } from './cifar.js';
import { fixtureImages, fixturePath, fixturePreprocessing } from './fixtures.js';

/** The six fixture images plus the first 20 CIFAR-10 test images when CIFAR10_DIR is set. */
function images(pre: Preprocessing): { batch: Float32Array; n: number } {
  const fixture = fixtureImages(pre);
  const more = readCifarTestImages(pre, 20);
  if (!more) return fixture;
  const batch = new Float32Array((fixture.n + more.n) * 3072);
  batch.set(fixture.batch);
  batch.set(more.batch, fixture.n * 3072);
  return { batch, n: fixture.n + more.n };
}

async function runOrt(bytes: Uint8Array, input: Float32Array, n: number): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', input.slice(0, n * 3072), [n, 3, 32, 32]) });
    return out[session.outputNames[0]].data as Float32Array;
  } finally {
    await session.release();
  }
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** Export, check with onnxruntime (1e-5), import again and check the predictions are identical. */
async function checkExport(net: Network, pre: Preprocessing): Promise<void> {
  const bytes = snapshotToOnnx({ spec: net.spec, params: net.params, state: net.state, preprocessing: pre }, net);
  const { batch, n } = images(pre);
  const k = net.outputSize;
  const ours = net.forward(batch, n, evalContext(net)).slice(0, n * k);
  expect(maxDiff(ours, await runOrt(bytes, batch, n))).toBeLessThan(1e-5);
  const file = join(mkdtempSync(join(tmpdir(), 'cnnviz-onnx-')), 'net.onnx');
  writeFileSync(file, bytes);
  const snap = loadOnnxSnapshot(file);
  expect(snap.preprocessing ?? { kind: 'scale' }).toEqual(pre);
  const back = new Network(snap.spec);
  back.params.set(snap.params);
  back.state.set(snap.state);
  expect(back.forward(batch, n, evalContext(back)).slice(0, n * k)).toEqual(ours);
}

describe('ONNX export of graphs with batch norm, adds, concat and average pooling', () => {
  for (const name of ['resnet_bn', 'avgpool_concat']) {
    it(`PyTorch's ${name} imported, exported again: onnxruntime agrees to 1e-5, re-import is identical`, async () => {
      const pre = fixturePreprocessing(name);
      const snap = loadOnnxSnapshot(fixturePath(name), pre);
      const net = new Network(snap.spec);
      net.params.set(snap.params);
      net.state.set(snap.state);
      await checkExport(net, pre);
    });
  }

  // The presets with batch norm (running statistics): the ResNets.
  for (const preset of presetNames().filter((p) => p.startsWith('resnet'))) {
    it(`preset ${preset} with non-trivial running statistics`, async () => {
      const net = new Network(presetSpec(preset));
      net.initialize(7);
      const rng = new Rng(3);
      for (const r of net.stateRanges) {
        for (let i = 0; i < r.length; i++) net.state[r.offset + i] = r.name === 'runningVar' ? 0.5 + Math.abs(rng.normal(0, 1)) : rng.normal(0, 0.3);
      }
      await checkExport(net, { kind: 'standardize', mean: [120, 115, 100], std: [60, 61, 62] });
    });
  }
});
