import { fillBatch } from '../data/batch.js';
import type { Cifar10Split } from '../data/cifar10.js';
import type { Preprocessing } from '../data/preprocess.js';
import { assertFiniteOutputs } from '../nn/finite.js';
import { evalContext, type Network } from '../nn/network.js';
import { describeLayer, layerHints } from '../nn/spec.js';
import { UserError } from '../util/errors.js';
import { TRAIN_DEFAULTS } from './config.js';
import { Rng } from '../util/rng.js';
import type { LayerProbe, ProbeResult } from '../viz/types.js';

export const DEFAULT_PROBE_COUNT: number = TRAIN_DEFAULTS.probeCount;
/** Most probe images: every activation picture has a row per probe image (and a probe pass holds all their activations). */
export const MAX_PROBE_COUNT = 64;

/** The probe: test images chosen once per run from the seed (or given), the same every epoch. */
export function chooseProbe(testCount: number, seed: number, count = DEFAULT_PROBE_COUNT, given?: number[]): number[] {
  if (given) {
    for (const i of given) {
      if (!Number.isInteger(i) || i < 0 || i >= testCount) throw new UserError(`--probe: index ${i} is outside the test split (0..${testCount - 1})`);
    }
    if (given.length > MAX_PROBE_COUNT) throw new UserError(`--probe: ${given.length} images, at most ${MAX_PROBE_COUNT} can be visualised`);
    return given;
  }
  // A stream of its own, so the probe does not shift when other draws change.
  const perm = new Rng(seed ^ 0x70be5eed).permutation(testCount);
  return Array.from(perm.subarray(0, Math.min(count, testCount, MAX_PROBE_COUNT)));
}

/** Parse `--probe 3,17,42`. */
export function parseProbeIndices(s: string): number[] {
  const parts = s.split(',').map((p) => p.trim()).filter((p) => p.length > 0);
  const out = parts.map((p) => Number(p));
  if (out.length === 0 || out.some((v) => !Number.isInteger(v) || v < 0)) {
    throw new UserError(`--probe: "${s}" is not a comma-separated list of test image indices`);
  }
  // A repeated index would draw the same image twice (two identical rows in every picture).
  const twice = out.find((v, i) => out.indexOf(v) !== i);
  if (twice !== undefined) throw new UserError(`--probe: "${s}" lists test image ${twice} more than once; give each index once`);
  if (out.length > MAX_PROBE_COUNT) throw new UserError(`--probe: ${out.length} images, at most ${MAX_PROBE_COUNT} can be visualised`);
  return out;
}

/**
 * One forward and backward pass of the probe images (test mode: no dropout; loss against their true
 * labels), capturing every layer's activations, activation gradients, weights and weight gradients.
 * Uses the network's own gradient buffer, which it zeroes before and after.
 */
export function runProbe(net: Network, images: Float32Array, labels: Int32Array, rawImages: Uint8Array, probeIndices: number[]): ProbeResult {
  const n = probeIndices.length;
  const ctx = evalContext(net);
  net.zeroGrads();
  const out = net.forward(images, n, ctx);
  const probabilities = out.slice(0, n * net.outputSize);
  net.backward({ labels }, ctx, true);
  const layers: LayerProbe[] = net.layers.map((layer, i) => {
    const size = n * layer.outSize;
    const hints = layerHints(layer.config);
    const probe: LayerProbe = {
      index: i,
      type: layer.type,
      name: layer.name,
      inputs: [...layer.inputs],
      explain: hints.explain,
      config: { ...layer.config },
      role: hints.role?.(layer.config) ?? 'other',
      isLoss: hints.loss !== undefined,
      outputsProbabilities: hints.loss?.probabilities === true,
      ...(hints.weights ? { weightLayout: hints.weights } : {}),
      ...(hints.sumsInputs ? { sumsInputs: true } : {}),
      ...(hints.channelBars ? { channelBars: hints.channelBars.map((b) => ({ ...b })) } : {}),
      description: describeLayer(layer.config),
      outShape: [...layer.outShape],
      paramCount: layer.params.reduce((a, p) => a + p.data.length, 0),
      activationsNonNegative: net.activationsNonNegative(i),
      activations: net.acts[i].slice(0, size),
      activationGrads: net.actGrads[i].slice(0, size),
    };
    const win = windowOf(layer.config);
    if (win) probe.window = win;
    const w = layer.params.find((p) => p.name === 'weights');
    const b = layer.params.find((p) => p.name === 'biases');
    if (w) {
      // fc weights [units, inputs] and per-channel ones such as PReLU's slopes [C] are drawn as 1x1 filters.
      const shape = w.shape.length === 4 ? w.shape : [w.shape[0], w.shape[1] ?? 1, 1, 1];
      probe.weights = { data: w.data.slice(), shape: shape as [number, number, number, number] };
      probe.weightGrads = w.grad.slice();
    }
    if (b) {
      probe.biases = b.data.slice();
      probe.biasGrads = b.grad.slice();
    }
    const other = layer.params.filter((p) => p.name !== 'weights' && p.name !== 'biases');
    if (other.length > 0) probe.channelParams = other.map((p) => ({ name: p.name, values: p.data.slice(), grads: p.grad.slice() }));
    if (layer.state.length > 0) probe.state = layer.state.map((s) => ({ name: s.name, values: s.data.slice() }));
    return probe;
  });
  net.zeroGrads();
  return { probeIndices, labels: Array.from(labels.subarray(0, n)), probabilities, images: rawImages, imageShape: [...net.inputShape], layers };
}

/**
 * The sliding-window geometry of a layer's config (conv, pool: any config with kernelH/kernelW), for
 * pool winners and receptive fields. `max` is false for an average pool (`mode: "avg"`).
 */
export function windowOf(config: unknown): LayerProbe['window'] {
  const c = config as { kernelH?: unknown; kernelW?: unknown; stride?: unknown; pad?: unknown; mode?: unknown };
  if (typeof c.kernelH !== 'number' || typeof c.kernelW !== 'number') return undefined;
  return { kernelH: c.kernelH, kernelW: c.kernelW, stride: typeof c.stride === 'number' ? c.stride : 1, pad: typeof c.pad === 'number' ? c.pad : 0, max: c.mode !== 'avg' };
}

/** Probe pass on test records of a CIFAR split. */
export function probeSplit(net: Network, split: Cifar10Split, probeIndices: number[], pre: Preprocessing, recordIndices = probeIndices): ProbeResult {
  const n = probeIndices.length;
  const [c, h, w] = net.inputShape;
  const images = new Float32Array(n * c * h * w);
  const labels = new Int32Array(n);
  fillBatch(split, probeIndices, 0, n, images, labels, pre, null, { seed: 0, epoch: 0 });
  const raw = new Uint8Array(n * c * h * w);
  probeIndices.forEach((r, i) => raw.set(split.pixels.subarray(r * c * h * w, (r + 1) * c * h * w), i * c * h * w));
  return runProbe(net, images, labels, raw, recordIndices);
}

/**
 * `visualize`: refuse a probe pass whose numbers overflowed (parameters finite but near float32's
 * limit), naming the first layer whose outputs, then gradients, are NaN or infinite: its pictures and
 * probabilities would be NaN. `file`: the model; `on`: the images, e.g. "test images 3, 17".
 */
export function assertFiniteProbe(probe: ProbeResult, file: string, on: string): void {
  const layer = (l: LayerProbe): string => `layer ${l.index} (${l.name})`;
  for (const l of probe.layers) assertFiniteOutputs(l.activations, file, `the outputs of ${layer(l)} on ${on}`);
  for (const l of probe.layers) {
    assertFiniteOutputs(l.activationGrads, file, `the loss gradients of ${layer(l)}'s outputs on ${on}`);
    if (l.weightGrads) assertFiniteOutputs(l.weightGrads, file, `the loss gradients of ${layer(l)}'s weights on ${on}`);
  }
}
