/**
 * Layer normalisation over channels, {"type": "layernorm", "eps": 1e-6}: at every pixel of every image,
 * the C values of that pixel (one per channel) are normalised to mean 0 and variance 1 (biased, over the
 * channels), then channel c is scaled by gamma[c] and shifted by beta[c]. ConvNeXt's LayerNorm (on its
 * channels-last values) and LayerNorm2d. Unlike batch norm, which normalises each channel over the batch
 * and the positions and so keeps running statistics for evaluation, the statistics belong to one pixel of
 * one image: training and evaluation compute the same thing, and there is no state. After an fc
 * (C x 1 x 1) it is the usual LayerNorm over the units. Kernels: src/tensor/layernorm.ts.
 *
 * ONNX: opset 13 has no LayerNormalization op, so the export writes the decomposition PyTorch writes
 * (ReduceMean over channels, Sub, Pow 2, ReduceMean, Add eps, Sqrt, Div, Mul gamma, Add beta), on NCHW
 * values with axes [1]; the import reads that pattern (src/nn/onnx/import.ts: also over the last axis of
 * a channels-last value between Transposes) and, here, LayerNormalization (opset 17) over channels.
 */
import { layerNormBackward, layerNormForward, layerNormScratch } from '../../tensor/layernorm.js';
import { defineLayer, foldIntoGammaBeta, same } from './layer.js';
import { below, passThroughGradient } from './wording.js';

interface LayerNormFields {
  eps: number;
  l1DecayMul: number;
  l2DecayMul: number;
}

export const layerNormLayer = defineLayer<LayerNormFields>({
  type: 'layernorm',
  parse: (r) => ({
    eps: r.real('eps', 1e-5, [1e-12, 1]),
    l1DecayMul: r.real('l1_decay_mul', 0),
    l2DecayMul: r.real('l2_decay_mul', 0),
  }),
  outShape: same,
  params: (c, [prev]) => [
    { name: 'gamma', shape: [prev[0]], l1DecayMul: c.l1DecayMul, l2DecayMul: c.l2DecayMul, init: { fill: 1 } },
    { name: 'beta', shape: [prev[0]], l1DecayMul: c.l1DecayMul, l2DecayMul: c.l2DecayMul, init: { fill: 0 } },
  ],
  describe: (c) => `layer norm over channels, eps ${c.eps}`,
  hints: {
    negative: 'can', explain: 'layernorm', positions: 'same',
    noun: () => 'layer norm',
    passesDown: () => 'multiplies the gradient by \u03b3/\u03c3 of each pixel, after taking out, per pixel, its mean over the channels and its part along the normalised values',
    channelBars: [{ name: 'gamma', reference: 1 }, { name: 'beta' }],
    words: (ctx) => ({
      what: `Layer normalisation over channels: at each pixel of each image, the ${ctx.self.outShape[0]} values of that pixel (one per channel) get their mean subtracted and are divided by their standard deviation \u03c3, then channel c is scaled by \u03b3[c] and shifted by \u03b2[c]. Batch norm normalises each channel over the batch and the positions (with running averages at test time); here every pixel of every image is normalised on its own, the same in training and evaluation (ConvNeXt). Its input is ${below(ctx)}.`,
      pictures: {
        activations: 'Normalised maps: at every pixel the channels\u2019 values have mean 0 and spread 1 before \u03b3 and \u03b2, so a tile shows how its channel stands against the other channels at that pixel, not how strong the pixel is (a dark and a bright patch look alike). \u03b3 and \u03b2 are the per-channel bars.',
        'activation-gradients': passThroughGradient(ctx, `multiplies it by \u03b3 and divides by each pixel\u2019s \u03c3, after removing, per pixel, its mean over the channels and its part along the normalised values, before handing it to ${below(ctx)}`),
      },
      channels: [
        'Per channel: gamma and beta',
        'Layer norm brings the values of each pixel, across the channels, to mean 0 and spread 1; then gamma multiplies each channel (the grey line marks 1, no change) and beta shifts it. There are no running statistics: each pixel of each image is normalised with its own.',
      ],
    }),
  },
  affineFold: { output: foldIntoGammaBeta },
  create: (node) => {
    const [c, h, w] = node.outShape;
    const spatial = h * w;
    const scratch = layerNormScratch(spatial);
    const { eps } = node.config;
    return {
      forward(inputs, output, n) {
        layerNormForward(n, c, spatial, eps, inputs[0], node.params[0].data, node.params[1].data, output, scratch);
      },
      backward(inputs, _output, outputGrad, inputGrads, n) {
        layerNormBackward(n, c, spatial, eps, inputs[0], node.params[0].data, outputGrad, inputGrads[0], node.params[0].grad, node.params[1].grad, scratch);
      },
    };
  },
  onnx({ config: c, outShape, tensors: t }, b) {
    // PyTorch's decomposition (opset 13 has no LayerNormalization), over axis 1 of NCHW.
    const [ch, h, w] = outShape;
    const x = b.as4d(b.inputs[0]);
    const pixel: [number, number, number] = [1, h, w];
    const mean = b.step('mean', 'ReduceMean', [x], { axes: [1], keepdims: 1 }, 4, pixel);
    const centred = b.step('centred', 'Sub', [x, mean], {}, 4, outShape);
    const square = b.step('square', 'Pow', [centred, b.floats('two', [], Float32Array.of(2))], {}, 4, outShape);
    const variance = b.step('variance', 'ReduceMean', [square], { axes: [1], keepdims: 1 }, 4, pixel);
    const plusEps = b.step('plus_eps', 'Add', [variance, b.floats('eps', [], Float32Array.of(c.eps))], {}, 4, pixel);
    const sigma = b.step('sigma', 'Sqrt', [plusEps], {}, 4, pixel);
    const normalised = b.step('normalised', 'Div', [centred, sigma], {}, 4, outShape);
    const scaled = b.step('scaled', 'Mul', [normalised, b.floats('gamma', [1, ch, 1, 1], t.gamma)], {}, 4, outShape);
    b.output('Add', [scaled, b.floats('beta', [1, ch, 1, 1], t.beta)]);
  },
  onnxImport: {
    ops: ['LayerNormalization'],
    read(n) {
      // Opset 17: normalises over the axes from `axis` on; cnnviz's is over channels only.
      const v = n.value(0);
      const axis = n.int('axis', -1);
      const overChannels = v.channelsLast ? axis === -1 || axis === 3 : (v.flat || (v.shape[1] === 1 && v.shape[2] === 1)) && axis === 1;
      if (!overChannels) n.fail(`normalises over axis ${axis} on; cnnviz's layernorm normalises over the channels only (the last axis of a channels-last value, or axis 1 of a [N, C] or [N, C, 1, 1] one)`);
      const ch = v.shape[0];
      const perChannel = (i: number, what: string, fill: number) => {
        if (!n.hasInput(i)) return { shape: [ch], data: new Float32Array(ch).fill(fill) };
        const t = n.constant(i, what);
        if (t.data.length !== ch) n.fail(`${what} "${t.name}" has shape [${t.dims.join(', ')}], expected ${ch} values`);
        return { shape: [ch], data: t.data };
      };
      const tensors = { gamma: perChannel(1, 'scale', 1), beta: perChannel(2, 'bias', 0) };
      n.emit({ type: 'layernorm', eps: n.decimal(n.float('epsilon', 1e-5)) }, { tensors });
    },
  },
});
