/**
 * Global average pooling, {"type": "gap"}: each channel's mean over all positions, C x H x W -> C x 1 x 1
 * (ResNets end with it instead of a large fc layer, so the classifier sees one number per feature).
 */
import { globalAvgPoolBackward, globalAvgPoolForward } from '../../tensor/avgpool.js';
import { defineLayer } from './layer.js';
import { below, passThroughGradient } from './wording.js';

export const gapLayer = defineLayer<Record<string, never>>({
  type: 'gap',
  parse: () => ({}),
  outShape: (_c, [prev]) => [prev[0], 1, 1],
  describe: () => 'global average pool',
  hints: {
    negative: 'if-inputs-can', explain: 'gap',
    role: () => 'global-mean',
    noun: () => 'the global average pool',
    passesDown: () => 'spreads each channel\u2019s gradient evenly over all its positions',
    words: (ctx) => ({
      what: 'Global average pooling: the mean of each channel over all positions, one number per channel. Backward: spreads each channel\u2019s gradient evenly over its positions.',
      pictures: {
        activations: 'One value per channel per image: the average of that channel\u2019s map.',
        'activation-gradients': passThroughGradient(ctx, `divides it evenly among the positions of each map of ${below(ctx)}`),
      },
    }),
  },
  create: (node) => {
    const [c, h, w] = node.inShapes[0];
    return {
      forward(inputs, output, n) {
        globalAvgPoolForward(n * c, h * w, inputs[0], output);
      },
      backward(_inputs, _output, outputGrad, inputGrads, n) {
        globalAvgPoolBackward(n * c, h * w, outputGrad, inputGrads[0]);
      },
    };
  },
  onnx: (_node, b) => b.output('GlobalAveragePool', [b.as4d(b.inputs[0])]),
});
