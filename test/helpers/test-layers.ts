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
