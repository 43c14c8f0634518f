import { leakyReluBackward, leakyReluForward } from '../../tensor/activations.js';
import { defineLayer, same } from './layer.js';
import { below, cap, gradientFrom, zerosSentence } from './wording.js';

/** Leaky ReLU, {"type": "leakyrelu", "alpha": 0.01}: x for x > 0, alpha * x otherwise. */
export const leakyReluLayer = defineLayer<{ alpha: number }>({
  type: 'leakyrelu',
  parse: (r) => ({ alpha: r.real('alpha', 0.01) }),
  outShape: same,
  describe: (c) => `leaky relu alpha=${c.alpha}`,
  hints: {
    negative: 'can', explain: 'leakyrelu', positions: 'same', topPatches: true,
    role: () => 'leaky-gate',
    noun: () => 'the leaky ReLU',
    passesDown: (c) => `passes the gradient unchanged where its input was positive and multiplied by \u03b1 = ${String(c.alpha)} elsewhere`,
    words: (ctx) => ({
      what: `Leaky ReLU: out = x for x > 0, \u03b1x otherwise (\u03b1 = ${String(ctx.self.config.alpha)}). Backward: the gradient passes unchanged where x > 0 and scaled by \u03b1 elsewhere, so, unlike a ReLU, it is never cut to zero.`,
      pictures: {
        activations: 'Red where the unit fired (x > 0); faint blue (\u03b1x) where its input was negative. No value is cut to zero.',
        'activation-gradients': [`d(loss)/d(output). ${gradientFrom(ctx)}`, zerosSentence(ctx, 'activation-gradients'), `${cap(below(ctx))} receives it multiplied by 1 where x > 0 and by \u03b1 elsewhere.`].filter(Boolean).join(' '),
      },
      topPatches: `A leaky ReLU is monotonic, so its channels rank images as ${below(ctx)} does: the patches are where that layer\u2019s output was largest.`,
    }),
  },
  create: (node) => ({
    forward(inputs, output, n) {
      leakyReluForward(inputs[0], output, n * node.outSize, node.config.alpha);
    },
    backward(inputs, _output, outputGrad, inputGrads, n) {
      leakyReluBackward(inputs[0], outputGrad, inputGrads[0], n * node.outSize, node.config.alpha);
    },
  }),
  onnx: ({ config: c }, b) => b.output('LeakyRelu', b.inputs, { alpha: { float: c.alpha } }),
});
