/**
 * PReLU (He et al. 2015), {"type": "prelu"}: x for x > 0, a[c] * x otherwise, with a learned slope a[c]
 * per channel ({"shared": true}: one slope for all channels). Slopes start at 0.25 (PyTorch's default)
 * and are not decayed. Backward: dx = dy (x > 0) or dy * a[c]; da[c] += sum of dy * x where x <= 0.
 * The slopes are the layer's `weights` ([C], or [1] shared). ONNX: PRelu with slopes [C, 1, 1].
 */
import { defineLayer, same, type LayerNode } from './layer.js';

interface PreluFields {
  shared: boolean;
}

function slopeOf(node: LayerNode<PreluFields>): (c: number) => number {
  const a = node.params[0].data;
  return node.config.shared ? () => a[0] : (c) => a[c];
}

export const preluLayer = defineLayer<PreluFields>({
  type: 'prelu',
  parse: (r) => ({ shared: r.bool('shared', false) }),
  outShape: same,
  params: (c, [prev]) => [{ name: 'weights', shape: [c.shared ? 1 : prev[0]], l1DecayMul: 0, l2DecayMul: 0, init: { fill: 0.25 } }],
  describe: (c) => `prelu (learned slope for x < 0${c.shared ? ', one for all channels' : ', one per channel'})`,
  hints: { negative: 'can', explain: 'prelu', positions: 'same', topPatches: true, role: () => 'leaky-gate', noun: () => 'the PReLU', passesDown: () => 'passes the gradient unchanged where x > 0 and multiplies it by the learned slope elsewhere', words: () => ({
      what: 'PReLU: out = x for x > 0, a \u00b7 x otherwise, with the slope a LEARNED per channel (it starts at 0.25). A leaky ReLU whose leak the network chooses. Backward: dy for x > 0, a \u00b7 dy otherwise; the slope\u2019s gradient is \u03a3 dy \u00b7 x over the negative inputs.',
      pictures: {
        activations: 'Red where the input was positive; blue (a \u00b7 x) where negative, fainter for channels whose slope is small.',
        weights: 'The learned slopes, one per channel: 0 = a ReLU, 1 = no activation at all, negative = the channel flips negative inputs.',
        'weight-gradients': 'd(loss)/d(slope): \u03a3 over images and negative positions of dy \u00b7 x.',
      },
  }) },
  create: (node) => {
    const [channels, h, w] = node.outShape;
    const plane = h * w;
    return {
      forward(inputs, output, n) {
        const x = inputs[0];
        const slope = slopeOf(node);
        for (let b = 0; b < n; b++) {
          for (let c = 0; c < channels; c++) {
            const a = slope(c);
            for (let i = (b * channels + c) * plane, end = i + plane; i < end; i++) output[i] = x[i] > 0 ? x[i] : a * x[i];
          }
        }
      },
      backward(inputs, _output, outputGrad, inputGrads, n) {
        const x = inputs[0];
        const dx = inputGrads[0];
        const slope = slopeOf(node);
        const da = node.params[0].grad;
        for (let b = 0; b < n; b++) {
          for (let c = 0; c < channels; c++) {
            const a = slope(c);
            let sum = 0;
            for (let i = (b * channels + c) * plane, end = i + plane; i < end; i++) {
              if (x[i] > 0) {
                if (dx) dx[i] += outputGrad[i];
              } else {
                if (dx) dx[i] += a * outputGrad[i];
                sum += outputGrad[i] * x[i];
              }
            }
            da[node.config.shared ? 0 : c] += sum;
          }
        }
      },
    };
  },
  onnx: ({ config: c, tensors: t }, b) => {
    const x = b.as4d(b.inputs[0]);
    const channels = b.shapeOf(x)[0];
    b.output('PRelu', [x, b.floats('slope', c.shared ? [1] : [channels, 1, 1], t.weights)]);
  },
  onnxImport: {
    ops: ['PRelu'],
    read(n) {
      const v = n.value(0);
      const { name, dims, data } = n.constant(1, 'slope');
      const c = v.shape[0];
      // [C], [C, 1, 1] or [1]: one slope per channel, or one for all (broadcast against N, C, H, W).
      const perChannel = data.length === c && (dims.length === 1 || dims.slice(1).every((k) => k === 1));
      if (data.length !== 1 && !perChannel) n.fail(`slope "${name}" has shape [${dims.join(', ')}]; cnnviz needs one slope per channel ([${c}, 1, 1]) or one for all`);
      const shared = data.length === 1 && c !== 1;
      n.emit(shared ? { type: 'prelu', shared: true } : { type: 'prelu' }, { tensors: { weights: { shape: [shared ? 1 : c], data } } });
    },
  },
});
