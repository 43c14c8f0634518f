import { leakyReluBackward, leakyReluForward } from '../../tensor/activations.js';
import { defineLayer, same } from './layer.js';

/** Leaky ReLU, {"type": "leakyrelu", "alpha": 0.01}: x for x > 0, alpha * x otherwise. */
export const leakyReluLayer = defineLayer<{ alpha: number }>({
  type: 'leakyrelu',
  parse: (r) => ({ alpha: r.real('alpha', 0.01) }),
  outShape: same,
  describe: (c) => `leaky relu alpha=${c.alpha}`,
  hints: { negative: 'can', explain: 'leakyrelu', positions: 'same', topPatches: true },
  create: (node) => ({
    forward(inputs, output, n) {
      leakyReluForward(inputs[0], output, n * node.outSize, node.config.alpha);
    },
    backward(inputs, _output, outputGrad, inputGrads, n) {
      leakyReluBackward(inputs[0], outputGrad, inputGrads[0], n * node.outSize, node.config.alpha);
    },
  }),
  onnx: ({ config: c }, b) => b.output('LeakyRelu', b.inputs, { alpha: { float: c.alpha } }),
  onnxImport: { ops: ['LeakyRelu'], read: (n) => n.emit({ type: 'leakyrelu', alpha: n.decimal(n.float('alpha', 0.01)) }) },
});
