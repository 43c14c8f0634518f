/**
 * Element-wise product of two inputs, {"type": "mul", "inputs": ["x", "gate"]}: the gate has x's shape,
 * or one value per channel (C x 1 x 1), broadcast over x's positions. The second form is the
 * squeeze-and-excitation gate (Hu et al. 2018; MobileNet v3, EfficientNet, RegNetY): a small branch
 * looks at the whole image (global pooling, two 1x1 convs, a sigmoid) and scales each channel of x by a
 * number between 0 and 1. Backward: x receives dy * gate; the gate receives dy * x, summed over the
 * positions it was broadcast to. Kernels: src/tensor/elementwise.ts.
 *
 * ONNX: Mul (numpy broadcasting). The import also reads Mul of a value and its own Sigmoid or
 * HardSigmoid as the silu and hardswish layers.
 */
import { mulBackward, mulForward } from '../../tensor/elementwise.js';
import { defineLayer } from './layer.js';

export const mulLayer = defineLayer<Record<string, never>>({
  type: 'mul',
  arity: { min: 2, max: 2 },
  parse: () => ({}),
  outShape(_c, [x, g], fail) {
    const sameShape = x[0] === g[0] && x[1] === g[1] && x[2] === g[2];
    const perChannel = x[0] === g[0] && g[1] === 1 && g[2] === 1;
    if (!sameShape && !perChannel) {
      fail('inputs', `input 2 (${g.join('x')}) must have input 1's shape (${x.join('x')}) or one value per channel (${x[0]}x1x1)`);
    }
    return [x[0], x[1], x[2]];
  },
  describe: () => 'mul (element-wise product; a Cx1x1 second input scales each channel)',
  hints: { negative: 'can', explain: 'mul', positions: 'same', noun: () => 'the product', passesDown: () => 'hands x the gradient times the gate, and the gate the gradient times x (summed over the positions it scaled)', words: () => ({
      what: 'Element-wise product of two inputs: out = x \u00b7 gate. When the gate is one number per channel (C\u00d71\u00d71: a squeeze-and-excitation block, MobileNet v3, EfficientNet, RegNetY) it scales each whole channel of x, so the network can turn channels up or down for this image. Backward: x receives dy \u00b7 gate; the gate receives dy \u00b7 x summed over the positions it scaled.',
      pictures: {
        activations: 'Tile k is channel k of x after scaling: compare with x\u2019s own picture (the layer below) to see which channels the gate turned down (fainter) for this image.',
        'activation-gradients': 'd(loss)/d(product). x receives it multiplied by the gate (small where the gate closed a channel), the gate receives it multiplied by x.',
      },
  }) },
  create: (node) => {
    const [c, h, w] = node.outShape;
    const gateSpatial = node.inShapes[1][1] * node.inShapes[1][2];
    return {
      forward(inputs, output, n) {
        mulForward(n, c, h * w, gateSpatial, inputs[0], inputs[1], output);
      },
      backward(inputs, _output, outputGrad, inputGrads, n) {
        mulBackward(n, c, h * w, gateSpatial, inputs[0], inputs[1], outputGrad, inputGrads[0], inputGrads[1]);
      },
    };
  },
  onnx: (_node, b) => {
    // A per-channel gate broadcasts as [N, C, 1, 1] against [N, C, H, W].
    const [x, g] = b.inputs;
    const ranks = b.sameRank([x, g]);
    b.output('Mul', b.shapeOf(g)[1] * b.shapeOf(g)[2] === 1 && b.shapeOf(x)[1] * b.shapeOf(x)[2] > 1 ? [b.as4d(x), b.as4d(g)] : ranks);
  },
  onnxImport: {
    ops: ['Mul'],
    read(n) {
      // The gate (one value per channel) is the second input, whichever order ONNX has them in.
      const perChannel = (u: { shape: number[] }) => u.shape[1] === 1 && u.shape[2] === 1;
      let [xi, gi] = [0, 1];
      if (perChannel(n.value(0)) && !perChannel(n.value(1))) [xi, gi] = [1, 0];
      const x = n.value(xi);
      const g = n.value(gi);
      const same = x.shape.join() === g.shape.join() && (x.flat === g.flat || perChannel(x));
      if (!same && !(perChannel(g) && !g.flat && g.shape[0] === x.shape[0])) {
        n.fail(`multiplies values of shapes ${x.shape.join('x')} and ${g.shape.join('x')}; cnnviz multiplies values of the same shape, or scales each channel by a Cx1x1 gate`);
      }
      n.emit({ type: 'mul' }, { inputs: [xi, gi], out: x });
    },
  },
});
