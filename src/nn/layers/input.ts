import { defineLayer } from './layer.js';

/** The network's one input: its output is the (preprocessed) image batch itself. */
export const inputLayer = defineLayer<{ channels: number; height: number; width: number }>({
  type: 'input',
  arity: { min: 0, max: 0 },
  parse: (r) => ({ channels: r.int('out_depth', 1), height: r.int('out_sy', 1), width: r.int('out_sx', 1) }),
  outShape: (c) => [c.channels, c.height, c.width],
  describe: (c) => `input ${c.width}x${c.height}x${c.channels}`,
  hints: { negative: 'can', explain: 'input' },
  fromConvNetJS: (l, num) => ({ type: 'input', out_sx: num('out_sx'), out_sy: num('out_sy'), out_depth: num('out_depth') }),
  create: () => ({
    forward() {
      // The network copies the images into this layer's output.
    },
    backward() {
      // Nothing to pass on: d(loss)/d(image) is the input layer's activation gradient itself.
    },
  }),
});
