import { describe, expect, it } from 'vitest';
import { liveGradSlots, Network } from '../../src/nn/network.js';
import { parseSpec, presetSpec, type ModelSpec } from '../../src/nn/spec.js';
import { nativeKernels } from '../../src/tensor/native.js';
import { withKernels } from '../helpers/kernels.js';

/** Two training passes and an evaluation of a replica-style network ('live' gradients), fused or not. */
function run(spec: ModelSpec, fuse: boolean) {
  const seedNet = new Network(spec);
  seedNet.initialize(5);
  const net = new Network(spec, { params: seedNet.params.slice(), state: seedNet.state.slice(), activationGrads: 'live', fuse });
  const [c, h, w] = spec.shapes[0];
  const n = 3;
  const x = Float32Array.from({ length: n * c * h * w }, (_, i) => Math.sin(i * 0.37) * 1.5);
  const labels = Int32Array.from([1, 2, 0]);
  const ctx = { training: true, ws: net.ws, seed: 1, step: 0, firstSample: 0 };
  const losses: number[] = [];
  for (let pass = 0; pass < 2; pass++) {
    net.zeroGrads();
    net.forward(x, n, ctx);
    losses.push(net.backward({ labels }, ctx));
  }
  const evalOut = net.forward(x, n, { ...ctx, training: false }).slice();
  return { net, losses, grads: net.grads.slice(), stats: net.stats.slice(), evalOut };
}

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

const input = { type: 'input', name: 'image', out_sx: 7, out_sy: 5, out_depth: 2 };
/** bn1 feeds a ReLU alone (fused); bn2 feeds a ReLU and the add (not fused); conv -> relu (conv offers no fusion). */
const mixed = [
  input,
  { type: 'conv', name: 'c1', sx: 3, filters: 3, stride: 1, pad: 1 },
  { type: 'batchnorm', name: 'bn1' },
  { type: 'relu', name: 'r1' },
  { type: 'conv', name: 'c2', sx: 3, filters: 3, stride: 1, pad: 1 },
  { type: 'batchnorm', name: 'bn2' },
  { type: 'relu', name: 'r2' },
  { type: 'add', name: 'sum', inputs: ['r2', 'bn2'] },
  { type: 'relu', name: 'r3' },
  { type: 'conv', name: 'c3', sx: 1, filters: 4, stride: 1, pad: 0 },
  { type: 'relu', name: 'r4' },
  { type: 'softmax', num_classes: 4 },
];

describe.runIf(nativeKernels() !== null)('a layer and the ReLU after it as one pass (native kernels)', () => {
  it('resnet8: every ReLU after a batch norm or an add is fused, with the same loss, gradients, statistics and outputs bit for bit', () => {
    withKernels('native', () => {
      const spec = presetSpec('resnet8');
      const plain = run(spec, false);
      const fused = run(spec, true);
      const relus = spec.layers.filter((l) => l.type === 'relu').length;
      expect(fused.net.fusedReluPairs.length).toBe(relus);
      expect(plain.net.fusedReluPairs).toEqual([]);
      for (const [p, r] of fused.net.fusedReluPairs) {
        expect(['batchnorm', 'add']).toContain(spec.layers[p].type);
        expect(spec.layers[r].type).toBe('relu');
      }
      expect(fused.losses).toEqual(plain.losses);
      expect(bits(fused.grads)).toEqual(bits(plain.grads));
      expect(bits(fused.stats)).toEqual(bits(plain.stats));
      expect(bits(fused.evalOut)).toEqual(bits(plain.evalOut));
      expect(fused.grads.some((g) => g !== 0)).toBe(true);
    });
  });

  it('fuses only where the producer offers it and the ReLU alone reads it', () => {
    withKernels('native', () => {
      const spec = parseSpec(mixed, 'mixed.json');
      const name = (i: number) => spec.layers[i].name;
      const plain = run(spec, false);
      const fused = run(spec, true);
      expect(fused.net.fusedReluPairs.map(([p, r]) => [name(p), name(r)])).toEqual([['bn1', 'r1'], ['sum', 'r3']]);
      expect(fused.losses).toEqual(plain.losses);
      expect(bits(fused.grads)).toEqual(bits(plain.grads));
      expect(bits(fused.evalOut)).toEqual(bits(plain.evalOut));
    });
  });

  it('on the WebAssembly or TypeScript kernels nothing is fused', () => {
    for (const kernels of ['wasm', 'js']) {
      withKernels(kernels, () => {
        const net = new Network(presetSpec('resnet8'), { activationGrads: 'live', fuse: true });
        expect(net.fusedReluPairs).toEqual([]);
      });
    }
  });
});

describe('live gradient slots with fused ReLUs', () => {
  it("a fused ReLU's gradient lives until its producer's step, and shares no slot with a gradient alive then", () => {
    const spec = presetSpec('resnet20');
    const net = new Network(spec);
    // Every ReLU after a batch norm or add, as the native kernels fuse them.
    const diesAt = net.layers.map((l, i) => (l.type === 'relu' && ['batchnorm', 'add'].includes(net.layers[l.inputs[0]].type) ? l.inputs[0] : i));
    expect(diesAt.filter((d, i) => d !== i).length).toBe(19);
    const slots = liveGradSlots(net.layers, diesAt);
    const born = net.layers.map((_, j) => Math.max(j, ...net.layers.filter((l) => l.inputs.includes(j)).map((l) => l.index)));
    const last = net.layers.length - 1;
    for (let a = 0; a <= last; a++) {
      for (let b = a + 1; b <= last; b++) {
        // Alive over [diesAt, born]: overlapping lives may not share.
        const overlap = Math.max(diesAt[a], diesAt[b]) <= Math.min(born[a], born[b]);
        if (overlap) expect(slots[a], `layers ${a} and ${b}`).not.toBe(slots[b]);
      }
    }
    // Without the later deaths, a ReLU's slot may go to its producer's input (the case fusion must avoid).
    const unfused = liveGradSlots(net.layers);
    const clash = net.layers.some((l, c) => diesAt[c] !== c && net.layers[diesAt[c]].inputs.some((x) => unfused[x] === unfused[c]));
    expect(clash).toBe(true);
  });
});
