/**
 * Concatenation along channels, {"type": "concat", "inputs": ["a", "b"]}: inputs of the same height and
 * width; the output's channels are the first input's, then the second's, and so on.
 */
import { concatBackward, concatForward } from '../../tensor/elementwise.js';
import { defineLayer } from './layer.js';
import { below, passThroughGradient } from './wording.js';

export const concatLayer = defineLayer<Record<string, never>>({
  type: 'concat',
  arity: { min: 2, max: Infinity },
  parse: () => ({}),
  outShape(_c, inShapes, fail) {
    const [first] = inShapes;
    inShapes.forEach((s, k) => {
      if (s[1] !== first[1] || s[2] !== first[2]) {
        fail('inputs', `must have the same height and width: input 1 is ${first[1]}x${first[2]}, input ${k + 1} is ${s[1]}x${s[2]}`);
      }
    });
    return [inShapes.reduce((a, s) => a + s[0], 0), first[1], first[2]];
  },
  describe: () => 'concat (channels of its inputs, one after another)',
  hints: {
    negative: 'if-inputs-can', explain: 'concat', positions: 'same',
    noun: () => 'the concat',
    passesDown: () => 'hands each input the slice of the gradient for its own channels',
    words: (ctx) => ({
      what: `Concat: stacks the channels of ${below(ctx)} one after another. Backward: each input receives the slice of the gradient for its own channels.`,
      pictures: {
        activations: 'The input maps side by side, channel after channel.',
        'activation-gradients': passThroughGradient(ctx, 'splits it by channel and returns each slice to the input the channels came from'),
      },
    }),
  },
  create: (node) => ({
    forward(inputs, output, n) {
      concatForward(n, node.inSizes, inputs, output);
    },
    backward(_inputs, _output, outputGrad, inputGrads, n) {
      concatBackward(n, node.inSizes, outputGrad, inputGrads);
    },
  }),
  onnx: (_node, b) => b.output('Concat', b.sameRank(b.inputs), { axis: 1 }),
  // A Concat of constants (a Reshape's target shape) is folded by the import driver.
  onnxImport: {
    ops: ['Concat'],
    read(n) {
      const k = n.inputCount;
      // A one-input Concat (DenseNet's first layer of a block) passes its input on.
      if (k === 1) return n.same(0);
      const ins = Array.from({ length: k }, (_, i) => n.value(i));
      const allFlat = ins.every((v) => v.flat);
      const axisAttr = n.int('axis', 1);
      const axis = axisAttr < 0 ? axisAttr + (allFlat ? 2 : 4) : axisAttr;
      if (axis !== 1) n.fail(`attribute "axis" is ${axisAttr}; cnnviz concatenates along channels (axis 1) only`);
      for (const [i, v] of ins.entries()) {
        if (v.flat && !allFlat) n.image(i);
        if (allFlat && v.shape[1] * v.shape[2] !== 1) n.fail(`concatenates flattened vectors of ${v.shape.join('x')} values; cnnviz concatenates along channels only`);
        if (v.shape[1] !== ins[0].shape[1] || v.shape[2] !== ins[0].shape[2]) {
          n.fail(`concatenates ${ins.map((u) => u.shape.join('x')).join(' and ')}; channels can be joined only when height and width agree`);
        }
      }
      const channels = ins.reduce((s, v) => s + v.shape[0], 0);
      n.emit({ type: 'concat' }, { inputs: ins.map((_, i) => i), out: { shape: [channels, ins[0].shape[1], ins[0].shape[2]], flat: allFlat } });
    },
  },
});
