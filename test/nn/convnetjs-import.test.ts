import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { importConvNetJS } from '../../src/nn/convnetjs-import.js';
import { evalContext, Network } from '../../src/nn/network.js';

// ConvNetJS (the npm package) is the original this project follows; it is CommonJS without types.
interface Vol { w: Float64Array; sx: number; sy: number; depth: number }
interface CnnNet { makeLayers(defs: unknown[]): void; forward(v: Vol, training?: boolean): Vol; toJSON(): unknown }
interface ConvNetJS {
  Net: new () => CnnNet;
  Vol: new (sx: number, sy: number, depth: number, c?: number) => Vol;
  Trainer: new (net: CnnNet, opts: Record<string, unknown>) => { train(x: Vol, y: number): unknown };
}
const convnetjs = createRequire(import.meta.url)('convnetjs') as ConvNetJS;

/** Deterministic pseudo-random numbers for the test inputs (ConvNetJS itself uses Math.random for init). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function makeVol(sx: number, sy: number, depth: number, rand: () => number): Vol {
  const v = new convnetjs.Vol(sx, sy, depth, 0);
  for (let i = 0; i < v.w.length; i++) v.w[i] = rand() - 0.5;
  return v;
}

/** ConvNetJS volume (x, y, d channels-last) to one NCHW sample. */
function volToNchw(v: Vol): Float32Array {
  const out = new Float32Array(v.sx * v.sy * v.depth);
  for (let d = 0; d < v.depth; d++) {
    for (let y = 0; y < v.sy; y++) for (let x = 0; x < v.sx; x++) out[d * v.sx * v.sy + y * v.sx + x] = v.w[(y * v.sx + x) * v.depth + d];
  }
  return out;
}

function compare(layerDefs: unknown[], inShape: [number, number, number], trainSteps: number): number {
  const [c, h, w] = inShape;
  const rand = lcg(42);
  const cnet = new convnetjs.Net();
  cnet.makeLayers(layerDefs);
  const trainer = new convnetjs.Trainer(cnet, { method: 'sgd', learning_rate: 0.01, momentum: 0.9, batch_size: 4, l2_decay: 0.001 });
  for (let i = 0; i < trainSteps; i++) trainer.train(makeVol(w, h, c, rand), i % 3);
  // Through text, as a user would bring it.
  const json = JSON.parse(JSON.stringify(cnet.toJSON())) as Record<string, unknown>;
  const snap = importConvNetJS(json, 'convnetjs.json');
  const net = new Network(snap.spec);
  net.params.set(snap.params);

  let worst = 0;
  const n = 5;
  const inputs = Array.from({ length: n }, () => makeVol(w, h, c, rand));
  const batch = new Float32Array(n * c * h * w);
  inputs.forEach((v, i) => batch.set(volToNchw(v), i * c * h * w));
  const ours = net.forward(batch, n, evalContext(net));
  inputs.forEach((v, i) => {
    const theirs = cnet.forward(v, false).w;
    for (let k = 0; k < theirs.length; k++) worst = Math.max(worst, Math.abs(theirs[k] - ours[i * theirs.length + k]));
  });
  return worst;
}

describe('ConvNetJS snapshots', () => {
  it('gives the same class probabilities as ConvNetJS for the CIFAR-10 demo network after training', () => {
    const defs = [
      { type: 'input', out_sx: 32, out_sy: 32, out_depth: 3 },
      { type: 'conv', sx: 5, filters: 16, stride: 1, pad: 2, activation: 'relu' },
      { type: 'pool', sx: 2, stride: 2 },
      { type: 'conv', sx: 5, filters: 20, stride: 1, pad: 2, activation: 'relu' },
      { type: 'pool', sx: 2, stride: 2 },
      { type: 'conv', sx: 5, filters: 20, stride: 1, pad: 2, activation: 'relu' },
      { type: 'pool', sx: 2, stride: 2 },
      { type: 'softmax', num_classes: 10 },
    ];
    const err = compare(defs, [3, 32, 32], 12);
    console.log(`convnetjs-cifar10: max |p_convnetjs - p_cnnviz| = ${err.toExponential(2)}`);
    expect(err).toBeLessThan(1e-5);
  });

  it('maps non-square volumes, stride 2, padding, fc, tanh, sigmoid, maxout and lrn the same way', () => {
    const defs = [
      { type: 'input', out_sx: 7, out_sy: 5, out_depth: 3 },
      { type: 'conv', sx: 3, sy: 2, filters: 6, stride: 2, pad: 1, activation: 'tanh' },
      { type: 'lrn', k: 1, n: 3, alpha: 0.1, beta: 0.75 },
      { type: 'pool', sx: 2, stride: 1, pad: 0 },
      { type: 'fc', num_neurons: 8, activation: 'maxout', group_size: 2 },
      { type: 'fc', num_neurons: 6, activation: 'sigmoid' },
      { type: 'softmax', num_classes: 4 },
    ];
    // No training: ConvNetJS's LRN backward differs from the true derivative (see src/tensor/lrn.ts).
    const err = compare(defs, [3, 5, 7], 0);
    console.log(`awkward network: max |p_convnetjs - p_cnnviz| = ${err.toExponential(2)}`);
    expect(err).toBeLessThan(1e-5);
  });
});
