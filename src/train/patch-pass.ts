/**
 * One forward pass (test mode) over a fixed subset of the test split at the end of an epoch, on the
 * main thread's replica. It collects, at no extra pass:
 * - the top-9 receptive-field patches of every conv, ReLU and pool channel (src/viz/patches.ts rule);
 * - layer health: each layer's activation mean and standard deviation over the subset, and for ReLU
 *   layers the fraction of dead units (a unit = one channel at one position; dead = zero for every
 *   subset image).
 * Cost: one forward pass of SUBSET_SIZE images; measured 0.45-0.7 s for 500 images on the
 * ConvNetJS CIFAR-10 net (see the issue-11 note).
 */
import { fillBatch } from '../data/batch.js';
import type { Cifar10Split } from '../data/cifar10.js';
import type { Preprocessing } from '../data/preprocess.js';
import { evalContext, type Network } from '../nn/network.js';
import { layerHints } from '../nn/spec.js';
import { ChannelTopK, receptiveFields, TOP_PATCHES, type LayerTopPatches, type PatchSet } from '../viz/patches.js';
import { windowOf } from './probe.js';

/** How many test images the patch/health pass looks at: the first SUBSET_SIZE of the test split. */
export const SUBSET_SIZE = 500;
const CHUNK = 50;

export interface LayerActivationHealth {
  layer: number;
  type: string;
  mean: number;
  std: number;
  /** ReLU-like layers: the fraction of units that were zero for every subset image. */
  deadFraction?: number;
}

export interface PatchPassResult extends PatchSet {
  health: LayerActivationHealth[];
  seconds: number;
}

export function patchPass(net: Network, split: Cifar10Split, pre: Preprocessing, size = SUBSET_SIZE, withPatches = true): PatchPassResult {
  const t0 = performance.now();
  const count = Math.min(size, split.count);
  const testIndices = Array.from({ length: count }, (_, i) => i);
  const [c, h, w] = net.inputShape;
  // Which layers get patches and dead-unit counts, and how positions pass through, is each layer type's
  // own declaration (LayerHints: positions, topPatches, deadWhenZero), not decided here by type name.
  const layers = net.layers.map((l) => {
    const hints = layerHints(l.config);
    return {
      type: l.type as string, kind: hints.explain, positions: hints.positions, topPatches: hints.topPatches === true, deadWhenZero: hints.deadWhenZero === true,
      inputs: [...l.inputs], outShape: l.outShape as [number, number, number], window: windowOf(l.config),
    };
  });
  const rfs = receptiveFields(layers);
  const trackers = layers.map((l, i) => (withPatches && l.topPatches && rfs[i] ? new ChannelTopK(l.outShape[0], TOP_PATCHES) : undefined));
  const sums = layers.map(() => ({ sum: 0, sq: 0, n: 0 }));
  const fired = layers.map((l) => (l.deadWhenZero ? new Uint8Array(l.outShape[0] * l.outShape[1] * l.outShape[2]) : undefined));
  const images = new Float32Array(CHUNK * c * h * w);
  const labels = new Int32Array(CHUNK);
  const ctx = evalContext(net);
  for (let start = 0; start < count; start += CHUNK) {
    const n = Math.min(CHUNK, count - start);
    fillBatch(split, testIndices, start, n, images, labels, pre, null, { seed: 0, epoch: 0 });
    net.forward(images, n, ctx);
    for (let i = 1; i < layers.length; i++) {
      const acts = net.acts[i];
      const size = net.layers[i].outSize;
      trackers[i]?.offerBatch(acts, n, layers[i].outShape, start, testIndices);
      const s = sums[i];
      // Mean and variance in float64 over all values of the chunk.
      for (let k = 0; k < n * size; k++) {
        const v = acts[k];
        s.sum += v;
        s.sq += v * v;
      }
      s.n += n * size;
      const f = fired[i];
      if (f) for (let b = 0; b < n; b++) for (let k = 0; k < size; k++) if (acts[b * size + k] > 0) f[k] = 1;
    }
  }
  const raw = split.pixels.subarray(0, count * c * h * w).slice();
  const patches: LayerTopPatches[] = [];
  trackers.forEach((t, i) => {
    if (t) patches.push({ layer: i, kind: layers[i].kind, rf: rfs[i]!, channels: t.top });
  });
  const health: LayerActivationHealth[] = [];
  for (let i = 1; i < layers.length; i++) {
    const s = sums[i];
    const mean = s.n ? s.sum / s.n : 0;
    const entry: LayerActivationHealth = { layer: i, type: layers[i].type, mean, std: s.n ? Math.sqrt(Math.max(0, s.sq / s.n - mean * mean)) : 0 };
    const f = fired[i];
    if (f && count > 0) {
      let dead = 0;
      for (let k = 0; k < f.length; k++) if (!f[k]) dead++;
      entry.deadFraction = dead / f.length;
    }
    health.push(entry);
  }
  return { testIndices, images: raw, imageShape: [c, h, w], patches, health, seconds: (performance.now() - t0) / 1000 };
}
