import { beforeAll, describe, expect, it } from 'vitest';
import { findLayerDef, registerLayer } from '../../src/nn/layers/registry.js';
import { liveGradSlots, Network } from '../../src/nn/network.js';
import { parseSpec, presetSpec } from '../../src/nn/spec.js';
import { formatSummary, summarize } from '../../src/nn/summary.js';
import { UserError } from '../../src/util/errors.js';
import { gradCheck } from '../helpers/gradcheck.js';
import { testJoinLayer } from '../helpers/test-layers.js';

beforeAll(() => {
  if (!findLayerDef('testjoin')) registerLayer(testJoinLayer);
});

const input = { type: 'input', name: 'image', out_sx: 6, out_sy: 5, out_depth: 2 };

/** One input feeding two convolutions (and `a` feeding two layers), joined, then a classifier. */
const branching = [
  input,
  { type: 'conv', name: 'a', inputs: ['image'], sx: 3, filters: 3, stride: 1, pad: 1 },
  { type: 'conv', name: 'b', inputs: ['image'], sx: 1, filters: 3, stride: 1, pad: 0, activation: 'tanh' },
  { type: 'sigmoid', name: 'c', inputs: ['a'] }, // smooth: no kink for the finite differences to cross
  { type: 'testjoin', name: 'join', inputs: ['c', 'b', 'a'] },
  { type: 'softmax', num_classes: 4 },
];

function fails(defs: unknown[], message: RegExp): void {
  let error: unknown;
  try {
    parseSpec(defs, 'g.json');
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(UserError);
  expect((error as Error).message).toMatch(message);
  expect((error as Error).message).toMatch(/^g\.json: /);
}

describe('graph specs', () => {
  it('parse a chain exactly as before: each layer reads the previous one, default names are the picture folders', () => {
    const spec = presetSpec('convnetjs-cifar10');
    expect(spec.layers.map((l) => l.inputs)).toEqual(spec.layers.map((_, i) => (i === 0 ? [] : [i - 1])));
    expect(spec.layers.slice(0, 4).map((l) => l.name)).toEqual(['00-input', '01-conv', '02-relu', '03-pool']);
  });

  it('wire names and inputs; a definition with an activation gives its name to the activation', () => {
    const spec = parseSpec(branching, 'g.json');
    const names = spec.layers.map((l) => l.name);
    expect(names).toEqual(['image', 'a', '02-conv', 'b', 'c', 'join', '06-fc', '07-softmax']);
    const byName = (n: string) => spec.layers[names.indexOf(n)];
    expect(byName('02-conv').inputs).toEqual([0]); // b's conv reads the image, b is its tanh
    expect(byName('join').inputs.map((i) => names[i])).toEqual(['c', 'b', 'a']);
    expect(spec.shapes[names.indexOf('join')]).toEqual([3, 5, 6]);
  });

  it('orders a spec whose nodes come before their inputs (topologically, spec order otherwise)', () => {
    const spec = parseSpec(
      [input, { type: 'testjoin', name: 'j', inputs: ['p', 'q'] }, { type: 'relu', name: 'p', inputs: ['image'] }, { type: 'tanh', name: 'q', inputs: ['image'] }, { type: 'softmax', num_classes: 3, inputs: ['j'] }],
      'g.json',
    );
    expect(spec.layers.map((l) => l.name)).toEqual(['image', 'p', 'q', 'j', '04-fc', '05-softmax']);
  });

  it('summarises a graph with names and inputs (a chain keeps the old table)', () => {
    const text = formatSummary(parseSpec(branching, 'g.json'));
    expect(text.split('\n')[0]).toMatch(/^#\s+name\s+layer\s+inputs\s+output/);
    expect(text).toMatch(/join\s+test join \(sum\)\s+c, b, a\s+3 x 5 x 6/);
    expect(summarize(parseSpec(branching, 'g.json')).rows[5]).toMatchObject({ name: 'join', inputs: ['c', 'b', 'a'] });
    expect(formatSummary(presetSpec('convnetjs-cifar10')).split('\n')[0]).toMatch(/^ #\s+layer\s+output/);
  });

  it('gives a tensor read by two layers the sum of their gradients (finite differences, input and parameters)', () => {
    gradCheck(branching, { labels: Int32Array.from([0, 3, 1]) }, 3, 20);
  });

  it('zeroes activation gradients once per pass: two backward passes give the same gradients', () => {
    const net = new Network(parseSpec(branching, 'g.json'));
    net.initialize(2);
    const x = Float32Array.from({ length: 2 * 60 }, (_, i) => Math.sin(i));
    const ctx = { training: true, ws: net.ws, seed: 1, step: 0, firstSample: 0 };
    const labels = Int32Array.from([1, 2]);
    net.forward(x, 2, ctx);
    net.backward({ labels }, ctx, true);
    const first = net.actGrads.map((g) => g.slice());
    net.forward(x, 2, ctx);
    net.backward({ labels }, ctx, true);
    net.actGrads.forEach((g, i) => expect(Array.from(g), `layer ${i}`).toEqual(Array.from(first[i])));
  });

  it("with activationGrads 'live', shares gradient memory by lifetime and gives the same parameter gradients", () => {
    for (const spec of [parseSpec(branching, 'g.json'), presetSpec('resnet8')]) {
      const nets = (['all', 'live'] as const).map((activationGrads) => {
        const net = new Network(spec, { activationGrads });
        net.initialize(3);
        return net;
      });
      const [c, h, w] = spec.shapes[0];
      const x = Float32Array.from({ length: 2 * c * h * w }, (_, i) => Math.sin(i * 0.37));
      const labels = Int32Array.from([1, 2]);
      for (const net of nets) {
        const ctx = { training: true, ws: net.ws, seed: 1, step: 0, firstSample: 0 };
        for (let pass = 0; pass < 2; pass++) {
          net.zeroGrads();
          net.forward(x, 2, ctx);
          net.backward({ labels }, ctx);
        }
      }
      expect(Array.from(nets[1].grads)).toEqual(Array.from(nets[0].grads));
      // The gradients really share memory: fewer distinct (buffer, offset) pairs than layers.
      const places = new Set(nets[1].actGrads.map((g) => `${nets[1].actGrads.findIndex((o) => o.buffer === g.buffer)}:${g.byteOffset}`));
      if (spec.layers.length > 20) expect(places.size).toBeLessThan(spec.layers.length / 2);
    }
  });

  it('live gradient slots: a gradient never shares with one alive at the same backward step', () => {
    const spec = presetSpec('resnet20');
    const net = new Network(spec);
    const slots = liveGradSlots(net.layers);
    const last = net.layers.length - 1;
    const born = net.layers.map((_, j) => Math.max(j, ...net.layers.filter((l) => l.inputs.includes(j)).map((l) => l.index)));
    for (let a = 0; a <= last; a++) {
      for (let b = a + 1; b <= last; b++) {
        const overlap = Math.max(a, b) <= Math.min(born[a], born[b]);
        if (overlap) expect(slots[a], `layers ${a} and ${b}`).not.toBe(slots[b]);
      }
    }
    expect(new Set(slots).size).toBeLessThan(net.layers.length / 4);
  });

  const bad: [string, unknown[], RegExp][] = [
    ['unknown input', [input, { type: 'relu', name: 'r', inputs: ['nope'] }, { type: 'softmax', num_classes: 3 }], /layer 1 \(relu "r"\): field "inputs" names "nope", which is no layer's name \(named: image, r\)/],
    ['cycle', [input, { type: 'testjoin', name: 'x', inputs: ['image', 'y'] }, { type: 'relu', name: 'y', inputs: ['x'] }, { type: 'softmax', num_classes: 3, inputs: ['y'] }], /layer 2 \(relu "y"\): field "inputs" makes a cycle: y -> x -> y/],
    ['unused branch', [input, { type: 'relu', name: 'lost', inputs: ['image'] }, { type: 'tanh', inputs: ['image'] }, { type: 'softmax', num_classes: 3 }], /layer 1 \(relu "lost"\): no layer reads its output \(an unused branch\)/],
    ['shapes that do not fit', [input, { type: 'conv', name: 'k', sx: 3, filters: 4, pad: 1 }, { type: 'testjoin', inputs: ['image', 'k'] }, { type: 'softmax', num_classes: 3 }], /layer 2 \(testjoin\): field "inputs" must all have one shape, got 2x5x6 and 4x5x6/],
    ['two input layers', [input, { type: 'input', name: 'second', out_sx: 6, out_sy: 5, out_depth: 2 }, { type: 'softmax', num_classes: 3 }], /layer 1 \(input "second"\): field "type" is "input", which is only allowed as the first layer/],
    ['name used twice', [input, { type: 'relu', name: 'image' }, { type: 'softmax', num_classes: 3 }], /layer 1 \(relu "image"\): field "name" "image" is used by another layer too/],
    ['name clashes with a default name', [input, { type: 'relu', name: '02-tanh' }, { type: 'tanh' }, { type: 'softmax', num_classes: 3 }], /field "name" "02-tanh" is also the name of layer 1 \(relu\)/],
    ['too few inputs', [input, { type: 'testjoin', inputs: ['image'] }, { type: 'softmax', num_classes: 3 }], /layer 1 \(testjoin\): field "inputs" gives 1 input\(s\); a testjoin layer reads 2 or more/],
    ['inputs on the input layer', [{ ...input, inputs: ['x'] }, { type: 'softmax', num_classes: 3 }], /layer 0 \(input "image"\): field "inputs" is not allowed on the input layer/],
    ['reads itself', [input, { type: 'relu', name: 'r', inputs: ['r'] }, { type: 'softmax', num_classes: 3 }], /field "inputs" names the layer itself/],
    ['inputs not a list of names', [input, { type: 'relu', inputs: 'image' }, { type: 'softmax', num_classes: 3 }], /layer 1 \(relu\): field "inputs" must be a non-empty list of layer names/],
  ];
  for (const [label, defs, message] of bad) {
    it(`refuses, naming the node: ${label}`, () => fails(defs, message));
  }
});
