import { maxoutBackward, maxoutForward } from '../../tensor/maxout.js';
import { defineLayer, ensureInt32 } from './layer.js';

/** Maxout across channels: the largest of each group of group_size channels (ConvNetJS). */
export const maxoutLayer = defineLayer<{ groupSize: number }>({
  type: 'maxout',
  activationSugar: true,
  parse: (r) => ({ groupSize: r.int('group_size', 1, 2) }),
  outShape(c, [prev], fail) {
    const ch = Math.floor(prev[0] / c.groupSize);
    if (ch < 1) fail('group_size', `(${c.groupSize}) is larger than the ${prev[0]} input channels`);
    return [ch, prev[1], prev[2]];
  },
  describe: (c) => `maxout, groups of ${c.groupSize}`,
  hints: { negative: 'if-inputs-can', explain: 'maxout' },
  fromConvNetJS: (l, num) => ({ type: 'maxout', group_size: num('group_size', 2) }),
  create: (node) => {
    let argmax: Int32Array = new Int32Array(0);
    const [inC, h, w] = node.inShapes[0];
    const g = node.config.groupSize;
    return {
      forward(inputs, output, n) {
        argmax = ensureInt32(argmax, n * node.outSize);
        maxoutForward(n, inC, h * w, g, inputs[0], output, argmax);
      },
      backward(_inputs, _output, outputGrad, inputGrads, n) {
        maxoutBackward(n, inC, h * w, g, outputGrad, argmax, inputGrads[0]);
      },
    };
  },
});
