/**
 * Per-channel affine map, {"type": "affine"}: out[c] = gamma[c] * x[c] + beta[c], with gamma and beta
 * learned per channel (starting at 1 and 0, not decayed unless l1_decay_mul / l2_decay_mul say so):
 * batch norm's gamma and beta without the normalisation. Backward: dx = gamma[c] * dy;
 * dgamma[c] += sum of dy * x, dbeta[c] += sum of dy. Kernels: src/tensor/layernorm.ts (affine*).
 *
 * The ONNX import makes it from arithmetic of a value with a constant (Mul, Add, Sub, Div by a scalar
 * or a per-channel constant: x * 2, (x - mean) / std, a layer scale) and then folds it into a
 * neighbouring conv, fc, batch norm or layer norm where that is exact (src/nn/onnx/import.ts); only what
 * no neighbour can take stays an affine layer. ONNX export: Mul by gamma, Add beta.
 */
import { affineBackward, affineForward } from '../../tensor/layernorm.js';
import { defineLayer, foldIntoGammaBeta, same } from './layer.js';
import { below, passThroughGradient } from './wording.js';

interface ScaleFields {
  l1DecayMul: number;
  l2DecayMul: number;
}

export const affineLayer = defineLayer<ScaleFields>({
  type: 'affine',
  parse: (r) => ({ l1DecayMul: r.real('l1_decay_mul', 0), l2DecayMul: r.real('l2_decay_mul', 0) }),
  outShape: same,
  params: (c, [prev]) => [
    { name: 'gamma', shape: [prev[0]], l1DecayMul: c.l1DecayMul, l2DecayMul: c.l2DecayMul, init: { fill: 1 } },
    { name: 'beta', shape: [prev[0]], l1DecayMul: c.l1DecayMul, l2DecayMul: c.l2DecayMul, init: { fill: 0 } },
  ],
  describe: () => 'affine (per channel: gamma * x + beta)',
  hints: {
    negative: 'can', explain: 'affine', positions: 'same', topPatches: true,
    noun: () => 'the per-channel scale',
    passesDown: () => 'multiplies each channel\u2019s gradient by that channel\u2019s \u03b3',
    channelBars: [{ name: 'gamma', reference: 1 }, { name: 'beta' }],
    words: (ctx) => ({
      what: `Per-channel scale and shift: out = \u03b3[c] \u00b7 x + \u03b2[c], one learned \u03b3 and \u03b2 per channel of ${below(ctx)} (batch norm\u2019s \u03b3 and \u03b2 without its normalisation). An imported model\u2019s arithmetic with constants (x \u00b7 2, x \u2212 mean, a layer scale) becomes one, where no neighbouring layer could take it into its own weights. Backward: the input receives \u03b3[c] \u00b7 dy.`,
      pictures: {
        activations: 'The input\u2019s maps, each channel multiplied by its \u03b3 and shifted by its \u03b2 (the per-channel bars): a channel with \u03b3 near 0 is turned down, a negative \u03b3 flips its colours.',
        'activation-gradients': passThroughGradient(ctx, `multiplies it by \u03b3 of each channel before handing it to ${below(ctx)}`),
      },
      channels: [
        'Per channel: gamma and beta',
        'Each channel of the input is multiplied by gamma (the grey line marks 1, no change) and shifted by beta.',
      ],
    }),
  },
  affineFold: {
    isMap: true,
    output: foldIntoGammaBeta,
    // g (a x + b) + be = (g a) x + (g b + be).
    input: (_f, t, a, b) => ({
      gamma: { shape: t.gamma.shape, data: t.gamma.data.map((g, k) => g * a[k]) },
      beta: { shape: t.beta.shape, data: t.beta.data.map((be, k) => t.gamma.data[k] * b[k] + be) },
    }),
  },
  create: (node) => {
    const [c, h, w] = node.outShape;
    return {
      forward(inputs, output, n) {
        affineForward(n, c, h * w, inputs[0], node.params[0].data, node.params[1].data, output);
      },
      backward(inputs, _output, outputGrad, inputGrads, n) {
        affineBackward(n, c, h * w, inputs[0], node.params[0].data, outputGrad, inputGrads[0], node.params[0].grad, node.params[1].grad);
      },
    };
  },
  onnx({ outShape, tensors: t }, b) {
    const x = b.inputs[0];
    const ch = outShape[0];
    // Per channel: [C] against [N, C], [1, C, 1, 1] against [N, C, H, W].
    const dims = b.rankOf(x) === 2 ? (outShape[1] * outShape[2] === 1 ? [ch] : null) : [1, ch, 1, 1];
    const x4 = dims ? x : b.as4d(x);
    const d = dims ?? [1, ch, 1, 1];
    const scaled = b.step('scaled', 'Mul', [x4, b.floats('gamma', d, t.gamma)], {}, b.rankOf(x4), outShape);
    b.output('Add', [scaled, b.floats('beta', d, t.beta)]);
  },
});
