import { maxoutBackward, maxoutForward } from '../../tensor/maxout.js';
import { defineLayer, ensureInt32 } from './layer.js';
import { passThroughGradient } from './wording.js';

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
  hints: {
    negative: 'if-inputs-can', explain: 'maxout', positions: 'same',
    noun: () => 'the maxout',
    passesDown: () => 'sends each value only to the channel that won its group, 0 to the others',
    words: (ctx) => ({
      what: `Maxout: each output is the largest of a group of ${String(ctx.self.config.groupSize)} input channels. Backward: the gradient goes only to the winning channel of each group (like max pooling across channels).`,
      pictures: {
        activations: 'The winner of each channel group at every position.',
        'activation-gradients': passThroughGradient(ctx, 'hands it only to the channel that won, 0 to the others'),
      },
    }),
  },
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
  onnx({ config: c, outShape }, b) {
    // Output channel i = max of input channels i*g .. i*g+g-1 (leftover channels ignored):
    // Slice away the leftover, Reshape to [N, C/g, g, H, W], ReduceMax over the group axis.
    let x = b.as4d(b.inputs[0]);
    const [inC, h, w] = b.shapeOf(x);
    const g = c.groupSize;
    const outC = outShape[0];
    if (outC * g !== inC) {
      const slice = [b.ints('slice_starts', [1], [0]), b.ints('slice_ends', [1], [outC * g]), b.ints('slice_axes', [1], [1])];
      x = b.step('used', 'Slice', [x, ...slice], {}, 4, [outC * g, h, w]);
    }
    const grouped = b.step('grouped', 'Reshape', [x, b.ints('groups', [5], [0, outC, g, h, w])], {}, 4);
    b.output('ReduceMax', [grouped], { axes: [2], keepdims: 0 });
  },
});
