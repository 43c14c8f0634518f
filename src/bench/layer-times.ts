/**
 * Time per layer type of one replica's training pass (forward + backward of a micro-batch, as a worker
 * runs it), for `npm run bench`: where a network's time goes. The loop is Network.forward / backward's,
 * with a clock around each layer; the best of several rounds per layer (the machine is shared, and other
 * processes only ever slow a round down).
 */
import type { PassContext } from '../nn/layers/layer.js';
import { Network } from '../nn/network.js';
import type { ModelSpec } from '../nn/spec.js';
import { Rng } from '../util/rng.js';

export interface LayerTypeTime {
  /** Layer type, with "3x3" / "1x1" and "s2" for convolutions. */
  kind: string;
  layers: number;
  /** Microseconds per image, forward and backward. */
  forwardUs: number;
  backwardUs: number;
}

/** The layer's row: its type's benchKind (conv: "conv 3x3 s2"), else its type. */
export function kindOf(net: Network, i: number): string {
  const l = net.layers[i];
  return l.def.benchKind?.(l.config) ?? l.config.type;
}

export function layerTypeTimes(spec: ModelSpec, n: number, rounds = 8): LayerTypeTime[] {
  const net = new Network(spec);
  net.initialize(1);
  net.resetState();
  const rng = new Rng(3);
  const images = new Float32Array(n * net.layers[0].outSize).map(() => rng.next() - 0.5);
  const labels = Int32Array.from({ length: n }, () => rng.int(net.outputSize));
  const ctx: PassContext = { training: true, ws: net.ws, seed: 1, step: 0, firstSample: 0 };
  const L = net.layers.length;
  const fwd = new Array<number>(L).fill(Infinity);
  const bwd = new Array<number>(L).fill(Infinity);
  const { acts, actGrads } = net;
  const clock = () => performance.now();
  for (let r = 0; r < rounds + 2; r++) {
    net.forward(images, n, ctx); // lays the buffers out, and copies the images in
    for (let i = 1; i < L; i++) {
      const layer = net.layers[i];
      const t = clock();
      layer.impl.forward(layer.inputs.map((j) => acts[j]), acts[i], n, ctx);
      if (r >= 2) fwd[i] = Math.min(fwd[i], clock() - t);
    }
    net.zeroGrads();
    net.backward({ labels }, ctx); // zeroes the activation gradients and fills the loss layer's
    for (let i = 0; i < L; i++) if (i !== L - 1 && i !== net.layers[L - 1].inputs[0]) actGrads[i].fill(0);
    for (let i = L - 2; i >= 1; i--) {
      const layer = net.layers[i];
      const t = clock();
      layer.impl.backward(layer.inputs.map((j) => acts[j]), acts[i], actGrads[i], layer.inputs.map((j) => (j > 0 ? actGrads[j] : null)), n, ctx);
      if (r >= 2) bwd[i] = Math.min(bwd[i], clock() - t);
    }
  }
  const byKind = new Map<string, LayerTypeTime>();
  for (let i = 1; i < L; i++) {
    const kind = kindOf(net, i);
    const row = byKind.get(kind) ?? { kind, layers: 0, forwardUs: 0, backwardUs: 0 };
    row.layers += 1;
    row.forwardUs += (1000 * fwd[i]) / n;
    if (i < L - 1) row.backwardUs += (1000 * bwd[i]) / n;
    byKind.set(kind, row);
  }
  return [...byKind.values()].sort((a, b) => b.forwardUs + b.backwardUs - (a.forwardUs + a.backwardUs));
}
