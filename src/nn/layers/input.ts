import { defineLayer } from './layer.js';

/** The network's one input: its output is the (preprocessed) image batch itself. */
export const inputLayer = defineLayer<{ channels: number; height: number; width: number }>({
  type: 'input',
  arity: { min: 0, max: 0 },
  parse: (r) => ({ channels: r.int('out_depth', 1), height: r.int('out_sy', 1), width: r.int('out_sx', 1) }),
  outShape: (c) => [c.channels, c.height, c.width],
  describe: (c) => `input ${c.width}x${c.height}x${c.channels}`,
  hints: {
    negative: 'can', explain: 'input',
    role: () => 'image',
    noun: () => 'the input',
    passesDown: () => 'passes nothing on',
    words: () => ({
      what: 'The input layer does no computation and has no weights: its output ("activation") is the image itself, after preprocessing.',
      pictures: {
        activations:
          'The input layer\u2019s "activation" is just the probe image, one row per image. It is drawn as stored (bytes 0..255) so you can recognise it; the network receives the preprocessed numbers (their range is printed on the picture).',
        'activation-gradients':
          'Not a second copy of the image: d(loss)/d(pixel), a saliency map. Middle tile: the gradient of each pixel\u2019s red, green and blue value (grey = 0, each channel shown as 0.5 + g/(2s)); right tile: its size, max over RGB of |g| (black = 0). Bright pixels are the ones whose change would move the loss most, i.e. what the network is looking at for this decision.',
      },
    }),
  },
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
