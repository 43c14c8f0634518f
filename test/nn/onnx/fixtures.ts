/** The PyTorch-made ONNX fixtures (test/fixtures/onnx, made by make_fixtures.py) and their expectations. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fillLookupTable, type Preprocessing } from '../../../src/data/preprocess.js';
import { parsePreprocessText } from '../../../src/data/preprocess-option.js';
import { evalContext, Network } from '../../../src/nn/network.js';
import { loadOnnxSnapshot } from '../../../src/nn/onnx/load.js';

export const FIXTURES = fileURLToPath(new URL('../../fixtures/onnx/', import.meta.url));

export interface FixtureModel {
  file: string;
  opset: number;
  preprocess: { mean: number[]; std: number[] };
  preprocessInFile: boolean;
  probabilities: number[][];
}

export interface Expected {
  images: { indices: number[]; labels: number[]; pixelsBase64: string[] };
  models: Record<string, FixtureModel>;
}

export const expected = JSON.parse(readFileSync(`${FIXTURES}expected.json`, 'utf8')) as Expected;

export function fixturePath(name: string): string {
  return `${FIXTURES}${expected.models[name].file}`;
}

export function fixtureBytes(name: string): Uint8Array {
  return readFileSync(fixturePath(name));
}

/** The scaling PyTorch used for a fixture, as cnnviz's --preprocess text would give it. */
export function fixturePreprocessing(name: string): Preprocessing {
  const p = expected.models[name].preprocess;
  return parsePreprocessText(`mean=${p.mean.join(',')} std=${p.std.join(',')}`, name);
}

/** The fixture images (CIFAR-10 test records, CHW bytes) as one preprocessed NCHW batch. */
export function fixtureImages(pre: Preprocessing): { batch: Float32Array; n: number; pixels: Uint8Array[] } {
  const pixels = expected.images.pixelsBase64.map((b) => new Uint8Array(Buffer.from(b, 'base64')));
  const lut = new Float32Array(768);
  fillLookupTable(pre, lut);
  const batch = new Float32Array(pixels.length * 3072);
  pixels.forEach((px, i) => {
    for (let k = 0; k < 3072; k++) batch[i * 3072 + k] = lut[(k >> 10) * 256 + px[k]];
  });
  return { batch, n: pixels.length, pixels };
}

/**
 * Imports a fixture (with PyTorch's scaling, unless the file records its own), runs the fixture images
 * and returns the largest difference from PyTorch's probabilities and the scaling the import ended with.
 */
export function pytorchAgreement(name: string): { worst: number; preprocessing: Preprocessing; expectedPreprocessing: Preprocessing } {
  const pre = fixturePreprocessing(name);
  const snap = loadOnnxSnapshot(fixturePath(name), expected.models[name].preprocessInFile ? undefined : pre);
  const net = new Network(snap.spec);
  net.params.set(snap.params);
  net.state.set(snap.state);
  const { batch, n } = fixtureImages(pre);
  const out = net.forward(batch, n, evalContext(net));
  let worst = 0;
  expected.models[name].probabilities.forEach((row, i) => row.forEach((p, k) => (worst = Math.max(worst, Math.abs(out[i * 10 + k] - p)))));
  return { worst, preprocessing: snap.preprocessing ?? { kind: 'scale' }, expectedPreprocessing: pre };
}
