/**
 * A fake ProbeResult with the shapes of the ConvNetJS CIFAR-10 net, seeded, so viz tests do not need
 * the network. Values are random but shaped like the real thing: ReLU outputs are max(0, conv output),
 * pooled maps are 2x2 maxima of them, ReLU gradients are zero where the unit is off, images are smooth
 * blobs (so the input pictures look like pictures), probabilities are a softmax.
 */
import { Rng } from '../../src/util/rng.js';
import type { EpochMetrics, LayerProbe, ProbeResult } from '../../src/viz/types.js';
import { layerDef } from '../../src/nn/layers/registry.js';
import type { LayerConfig } from '../../src/nn/layers/layer.js';

export const CIFAR_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

type Shape = [number, number, number];

function normal(rng: Rng, n: number, std: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal(0, std);
  return a;
}

/** Spatially smooth random maps (a few Gaussian blobs per map), P x C x H x W. */
function smoothMaps(rng: Rng, P: number, [C, H, W]: Shape, amp: number, bias = 0): Float32Array {
  const a = new Float32Array(P * C * H * W);
  for (let m = 0; m < P * C; m++) {
    const blobs = 3;
    const cx = Array.from({ length: blobs }, () => rng.next() * W);
    const cy = Array.from({ length: blobs }, () => rng.next() * H);
    const r = Array.from({ length: blobs }, () => (0.15 + rng.next() * 0.3) * Math.max(H, W));
    const s = Array.from({ length: blobs }, () => rng.normal(0, amp));
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        let v = bias;
        for (let b = 0; b < blobs; b++) v += s[b] * Math.exp(-((x - cx[b]) ** 2 + (y - cy[b]) ** 2) / (2 * r[b] * r[b]));
        a[m * H * W + y * W + x] = v + rng.normal(0, amp * 0.1);
      }
    }
  }
  return a;
}

function relu(a: Float32Array): Float32Array {
  return a.map((v) => (v > 0 ? v : 0));
}

function pool2(a: Float32Array, P: number, [C, H, W]: Shape): Float32Array {
  const h = H / 2;
  const w = W / 2;
  const out = new Float32Array(P * C * h * w);
  for (let m = 0; m < P * C; m++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = m * H * W + 2 * y * W + 2 * x;
        out[m * h * w + y * w + x] = Math.max(a[i], a[i + 1], a[i + W], a[i + W + 1]);
      }
    }
  }
  return out;
}

function maskWhereZero(g: Float32Array, act: Float32Array): Float32Array {
  return g.map((v, i) => (act[i] > 0 ? v : 0));
}

export interface FakeProbeOptions {
  seed?: number;
  probeCount?: number;
  /** Multiplies every weight (to fake training progress across epochs). */
  weightGain?: number;
}

export function fakeCifarProbe(opts: FakeProbeOptions = {}): ProbeResult {
  const P = opts.probeCount ?? 8;
  const gain = opts.weightGain ?? 1;
  // The probe (images, labels) is the same every epoch, as in a real run; the values vary with seed.
  const probeRng = new Rng(12345);
  const images = new Uint8Array(P * 3 * 32 * 32);
  const imgF = smoothMaps(probeRng, P, [3, 32, 32], 90, 120);
  for (let i = 0; i < images.length; i++) images[i] = Math.max(0, Math.min(255, Math.round(imgF[i])));
  const input = Float32Array.from(images, (v) => v / 255 - 0.5);
  const labels = Array.from({ length: P }, () => probeRng.int(10));
  const rng = new Rng(opts.seed ?? 1);

  const conv1 = smoothMaps(rng, P, [16, 32, 32], 0.8 * gain, -0.1);
  const relu1 = relu(conv1);
  const pool1 = pool2(relu1, P, [16, 32, 32]);
  const conv2 = smoothMaps(rng, P, [20, 16, 16], 1.2 * gain, -0.2);
  const relu2 = relu(conv2);
  const pool2a = pool2(relu2, P, [20, 16, 16]);
  const conv3 = smoothMaps(rng, P, [20, 8, 8], 1.5 * gain, -0.2);
  const relu3 = relu(conv3);
  const pool3 = pool2(relu3, P, [20, 8, 8]);
  const scores = normal(rng, P * 10, 2 * gain);
  const probs = new Float32Array(P * 10);
  for (let p = 0; p < P; p++) {
    let m = -Infinity;
    for (let c = 0; c < 10; c++) m = Math.max(m, scores[p * 10 + c]);
    let s = 0;
    for (let c = 0; c < 10; c++) s += (probs[p * 10 + c] = Math.exp(scores[p * 10 + c] - m));
    for (let c = 0; c < 10; c++) probs[p * 10 + c] /= s;
  }
  const gradScores = probs.map((v, i) => v - (labels[Math.floor(i / 10)] === i % 10 ? 1 : 0));

  type GraphFields = 'name' | 'inputs' | 'explain' | 'isLoss' | 'outputsProbabilities' | 'weightLayout' | 'config' | 'role';
  // The fields these types parse, as the network would report them.
  const configs: Record<string, Record<string, unknown>> = {
    conv: { kernelH: 5, kernelW: 5, stride: 1, pad: 2, bias: true },
    pool: { kernelH: 2, kernelW: 2, stride: 2, pad: 0, mode: 'max' },
  };
  const layer = (l: Omit<LayerProbe, 'activationGrads' | GraphFields> & { activationGrads?: Float32Array }, gradStd: number): LayerProbe => {
    const [C, H, W] = l.outShape;
    // A chain, as the network would report it (the registry's hints for these types).
    const graph = {
      name: `${String(l.index).padStart(2, '0')}-${l.type}`, inputs: l.index === 0 ? [] : [l.index - 1], explain: l.type,
      isLoss: l.type === 'softmax', outputsProbabilities: l.type === 'softmax', ...(l.type === 'fc' ? { weightLayout: 'units' as const } : {}),
      config: configs[l.type] ?? {}, role: layerDef(l.type).hints.role?.((configs[l.type] ?? {}) as LayerConfig) ?? 'other',
    };
    return { ...l, ...graph, activationGrads: l.activationGrads ?? smoothMaps(rng, P, [C, H, W], gradStd) };
  };
  const weights = (shape: [number, number, number, number]): { data: Float32Array; shape: [number, number, number, number] } => {
    const fanIn = shape[1] * shape[2] * shape[3];
    return { data: normal(rng, shape.reduce((a, b) => a * b, 1), gain * Math.sqrt(2 / fanIn)), shape };
  };
  const w1 = weights([16, 3, 5, 5]);
  const w2 = weights([20, 16, 5, 5]);
  const w3 = weights([20, 20, 5, 5]);
  const w4 = weights([10, 20, 4, 4]);
  const layers: LayerProbe[] = [
    layer({ index: 0, type: 'input', description: 'input 32x32x3', outShape: [3, 32, 32], paramCount: 0, activationsNonNegative: false, activations: input }, 2e-3),
    layer({ index: 1, type: 'conv', description: 'conv 5x5, 16 filters, stride 1, pad 2', outShape: [16, 32, 32], paramCount: 1216, activationsNonNegative: false, activations: conv1, weights: w1, weightGrads: normal(rng, w1.data.length, 0.02), biases: normal(rng, 16, 0.01), biasGrads: normal(rng, 16, 0.01) }, 3e-3),
    layer({ index: 2, type: 'relu', description: 'relu', outShape: [16, 32, 32], paramCount: 0, activationsNonNegative: true, activations: relu1 }, 3e-3),
    layer({ index: 3, type: 'pool', description: 'pool 2x2, stride 2', outShape: [16, 16, 16], paramCount: 0, activationsNonNegative: true, activations: pool1 }, 6e-3),
    layer({ index: 4, type: 'conv', description: 'conv 5x5, 20 filters, stride 1, pad 2', outShape: [20, 16, 16], paramCount: 8020, activationsNonNegative: false, activations: conv2, weights: w2, weightGrads: normal(rng, w2.data.length, 0.01), biases: normal(rng, 20, 0.01), biasGrads: normal(rng, 20, 0.01) }, 6e-3),
    layer({ index: 5, type: 'relu', description: 'relu', outShape: [20, 16, 16], paramCount: 0, activationsNonNegative: true, activations: relu2 }, 6e-3),
    layer({ index: 6, type: 'pool', description: 'pool 2x2, stride 2', outShape: [20, 8, 8], paramCount: 0, activationsNonNegative: true, activations: pool2a }, 1e-2),
    layer({ index: 7, type: 'conv', description: 'conv 5x5, 20 filters, stride 1, pad 2', outShape: [20, 8, 8], paramCount: 10020, activationsNonNegative: false, activations: conv3, weights: w3, weightGrads: normal(rng, w3.data.length, 0.01), biases: normal(rng, 20, 0.01), biasGrads: normal(rng, 20, 0.01) }, 1e-2),
    layer({ index: 8, type: 'relu', description: 'relu', outShape: [20, 8, 8], paramCount: 0, activationsNonNegative: true, activations: relu3 }, 1e-2),
    layer({ index: 9, type: 'pool', description: 'pool 2x2, stride 2', outShape: [20, 4, 4], paramCount: 0, activationsNonNegative: true, activations: pool3 }, 2e-2),
    layer({ index: 10, type: 'fc', description: 'fc, 10 units', outShape: [10, 1, 1], paramCount: 3210, activationsNonNegative: false, activations: scores, activationGrads: gradScores, weights: w4, weightGrads: normal(rng, w4.data.length, 0.05), biases: normal(rng, 10, 0.01), biasGrads: normal(rng, 10, 0.01) }, 0.1),
    layer({ index: 11, type: 'softmax', description: 'softmax, 10 classes', outShape: [10, 1, 1], paramCount: 0, activationsNonNegative: true, activations: probs, activationGrads: gradScores }, 0.1),
  ];
  // ReLU gradients vanish where the unit is off; the conv before sees the same masked gradient.
  for (const i of [2, 5, 8]) {
    layers[i].activationGrads = maskWhereZero(layers[i].activationGrads, layers[i].activations);
    layers[i - 1].activationGrads = layers[i].activationGrads;
  }
  return {
    probeIndices: Array.from({ length: P }, (_, i) => 17 * i + 3),
    labels,
    probabilities: probs,
    images,
    imageShape: [3, 32, 32],
    layers,
  };
}

/** Fake per-epoch metrics (loss falling, accuracy rising). */
export function fakeMetrics(epochs: number): EpochMetrics[] {
  return Array.from({ length: epochs }, (_, i) => {
    const e = i + 1;
    const trainLoss = 2.3 * Math.exp(-0.25 * e) + 0.6;
    return {
      epoch: e,
      trainLoss,
      trainDataLoss: trainLoss - 0.05,
      trainDecayLoss: 0.05,
      trainAccuracy: 0.9 - 0.8 * Math.exp(-0.3 * e),
      testAccuracy: 0.75 - 0.65 * Math.exp(-0.3 * e),
      testLoss: trainLoss + 0.1 * e * 0.1 + 0.1,
      seconds: 30 + e,
      imagesPerSecond: 1600,
    };
  });
}
