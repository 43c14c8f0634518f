import { lrnBackward, lrnForward, type LrnDims } from '../../tensor/lrn.js';
import { defineLayer, ensureFloat32, same } from './layer.js';
import { passThroughGradient } from './wording.js';

/** Local response normalisation across channels, as ConvNetJS defines it. */
export const lrnLayer = defineLayer<{ k: number; n: number; alpha: number; beta: number }>({
  type: 'lrn',
  parse: (r) => ({ k: r.real('k'), n: r.int('n', 1), alpha: r.real('alpha'), beta: r.real('beta') }),
  outShape: same,
  describe: (c) => `local response norm k=${c.k} n=${c.n} alpha=${c.alpha} beta=${c.beta}`,
  hints: {
    negative: 'if-inputs-can', explain: 'lrn', positions: 'same',
    noun: () => 'the local response normalisation',
    passesDown: () => 'passes the gradient down through its normalisation (each value\u2019s gradient also depends on its neighbouring channels)',
    words: (ctx) => ({
      what: 'Local response normalisation: divides each value by a power of the summed squares of neighbouring channels at the same position.',
      pictures: {
        activations: 'The normalised maps: strong responses next to strong neighbours are damped.',
        'activation-gradients': passThroughGradient(ctx, 'hands it through the normalisation, mixed across neighbouring channels'),
      },
    }),
  },
  fromConvNetJS: (l, num) => ({ type: 'lrn', k: num('k'), n: num('n'), alpha: num('alpha'), beta: num('beta') }),
  create: (node) => {
    const c = node.config;
    const [ch, h, w] = node.inShapes[0];
    const dims: LrnDims = { n: 0, c: ch, h, w, size: c.n, k: c.k, alpha: c.alpha, beta: c.beta };
    /** The denominator before the power, k + alpha/n * sum a_j^2, per element. */
    let scaleCache: Float32Array = new Float32Array(0);
    return {
      forward(inputs, output, n) {
        dims.n = n;
        scaleCache = ensureFloat32(scaleCache, n * node.outSize);
        lrnForward(dims, inputs[0], output, scaleCache);
      },
      backward(inputs, _output, outputGrad, inputGrads, n, ctx) {
        dims.n = n;
        lrnBackward(dims, inputs[0], scaleCache, outputGrad, inputGrads[0], ctx.ws);
      },
    };
  },
  onnx({ config: c }, b) {
    // cnnviz (ConvNetJS): S = k + alpha/n * sum over channels [i - floor(n/2), i + floor(n/2)]. ONNX LRN
    // sums over `size` channels centred the same way when size is odd, dividing alpha by size: size
    // 2*floor(n/2)+1 with alpha scaled by size/n gives the same S for any n.
    const size = 2 * Math.floor(c.n / 2) + 1;
    b.output('LRN', [b.as4d(b.inputs[0])], { size, alpha: { float: (c.alpha * size) / c.n }, beta: { float: c.beta }, bias: { float: c.k } });
  },
});
