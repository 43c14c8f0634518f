/**
 * Layer types that exist only in tests, to exercise the graph engine before the real ones (the `add`
 * and `batchnorm` of the modern-layers issue) arrive. Register them with registerLayer in the test.
 */
import { defineLayer, type Shape3 } from '../../src/nn/layers/layer.js';

/** testjoin: the element-wise sum of 2+ inputs of one shape. */
export const testJoinLayer = defineLayer<Record<string, never>>({
  type: 'testjoin',
  arity: { min: 2, max: Infinity },
  parse: () => ({}),
  outShape(_c, inShapes, fail): Shape3 {
    const [first] = inShapes;
    for (const s of inShapes) {
      if (s.join() !== first.join()) fail('inputs', `must all have one shape, got ${inShapes.map((x) => x.join('x')).join(' and ')}`);
    }
    return [first[0], first[1], first[2]];
  },
  describe: () => 'test join (sum)',
  hints: { negative: 'if-inputs-can', explain: 'testjoin' },
  create: (node) => ({
    forward(inputs, output, n) {
      const count = n * node.outSize;
      output.set(inputs[0].subarray(0, count));
      for (const x of inputs.slice(1)) for (let i = 0; i < count; i++) output[i] += x[i];
    },
    backward(_inputs, _output, outputGrad, inputGrads, n) {
      const count = n * node.outSize;
      for (const g of inputGrads) if (g) for (let i = 0; i < count; i++) g[i] += outputGrad[i];
    },
  }),
});

/**
 * testclamp: max(0, x), a layer type the pictures know only through its hints (positions kept, top
 * patches, dead units) and its own bench row: no code outside its definition names it.
 */
export const testClampLayer = defineLayer<Record<string, never>>({
  type: 'testclamp',
  parse: () => ({}),
  outShape: (_c, [s]): Shape3 => [s[0], s[1], s[2]],
  describe: () => 'test clamp at 0',
  hints: { negative: 'never', explain: 'testclamp', positions: 'same', topPatches: true, deadWhenZero: true },
  benchKind: () => 'clamp (test)',
  create: (node) => ({
    forward(inputs, output, n) {
      for (let i = 0; i < n * node.outSize; i++) output[i] = Math.max(0, inputs[0][i]);
    },
    backward(_inputs, output, outputGrad, inputGrads, n) {
      const g = inputGrads[0];
      if (g) for (let i = 0; i < n * node.outSize; i++) if (output[i] > 0) g[i] += outputGrad[i];
    },
  }),
});

/** testflat: identity values, but declares no `positions` (as fc or gap): receptive fields end here. */
export const testFlatLayer = defineLayer<Record<string, never>>({
  type: 'testflat',
  parse: () => ({}),
  outShape: (_c, [s]): Shape3 => [s[0], s[1], s[2]],
  describe: () => 'test pass-through without positions',
  hints: { negative: 'if-inputs-can', explain: 'testflat' },
  create: (node) => ({
    forward(inputs, output, n) {
      output.set(inputs[0].subarray(0, n * node.outSize));
    },
    backward(_inputs, _output, outputGrad, inputGrads, n) {
      const g = inputGrads[0];
      if (g) for (let i = 0; i < n * node.outSize; i++) g[i] += outputGrad[i];
    },
  }),
});
