import { denseBackward, denseForward } from '../../tensor/dense.js';
import { biasPrefField, decayFields } from './conv.js';
import { defineLayer, foldIntoWeightsIn, foldIntoWeightsOut, type OnnxImportNode } from './layer.js';
import { gradientFrom, hasRole, onlyNext, zerosSentence } from './wording.js';

export interface FcFields {
  units: number;
  biasPref: number;
  l1DecayMul: number;
  l2DecayMul: number;
  /** false: no biases parameter (an fc followed by batch norm, or an imported Gemm without C). */
  bias: boolean;
}

/** Fully connected: each output unit's weights have the input's shape [inC, inH, inW] (NCHW order). */
export const fcLayer = defineLayer<FcFields>({
  type: 'fc',
  takesActivation: true,
  parse: (r) => ({ units: r.int('num_neurons', 1), biasPref: biasPrefField(r), ...decayFields(r), bias: r.bool('bias', true) }),
  outShape: (c) => [c.units, 1, 1],
  params: (c, [prev]) => [
    { name: 'weights', shape: [c.units, prev[0], prev[1], prev[2]], l1DecayMul: c.l1DecayMul, l2DecayMul: c.l2DecayMul, init: 'fan-in' },
    ...(c.bias ? [{ name: 'biases' as const, shape: [c.units], l1DecayMul: 0, l2DecayMul: 0, init: { fill: c.biasPref } }] : []),
  ],
  describe: (c) => `fully connected, ${c.units} units${c.bias ? '' : ', no bias'}`,
  hints: {
    negative: 'can', explain: 'fc', weights: 'units',
    role: () => 'dense',
    noun: () => 'the fully connected layer',
    passesDown: () => 'sends each unit\u2019s gradient back through its weights to every input value',
    words(ctx) {
      const next = onlyNext(ctx);
      const scores = hasRole(next, 'loss');
      return {
        what: `Fully connected: every output unit is a weighted sum of all input values plus a bias, out[k] = b[k] + \u03a3 w[k, i] x[i].${scores ? ` Its outputs are the class scores ${next.called} turns into the loss.` : ''}`,
        pictures: {
          activations: scores
            ? `One cell per unit and image, its value printed: the raw class scores (logits) that ${next.called} reads; the largest score is the prediction.`
            : 'One cell per unit and image: the weighted sum of all inputs plus the bias, before any non-linearity.',
          'activation-gradients': scores
            ? [`d(loss)/d(score): ${next.called} ${next.passesDown}.`, zerosSentence(ctx, 'activation-gradients')].filter(Boolean).join(' ')
            : [`d(loss)/d(unit output). ${gradientFrom(ctx)}`, zerosSentence(ctx, 'activation-gradients')].filter(Boolean).join(' '),
          weights:
            'Row k: the weights of unit k laid out in the shape of its input (one tile per input channel), so you can see which input positions and channels push its output up (red) or down (blue).',
          'weight-gradients':
            'd(loss)/d(weights) from the probe images (evaluation mode) = \u03a3 over images of (unit\u2019s output gradient) \u00d7 (input values): each row is the input pattern weighted by how much that unit\u2019s output should change. Every weight is used once per image: no sharing across positions, unlike a conv.',
        },
      };
    },
  },
  fromConvNetJS: (l, num) => ({ type: 'fc', num_neurons: num('out_depth'), l1_decay_mul: num('l1_decay_mul', 0), l2_decay_mul: num('l2_decay_mul', 1) }),
  affineFold: { output: foldIntoWeightsOut, input: (f, t, a, b) => foldIntoWeightsIn(f, t, a, b, 1) },
  create: (node) => {
    const inF = node.inSizes[0];
    const outF = node.outSize;
    const hasBias = node.config.bias;
    return {
      forward(inputs, output, n) {
        const [w, b] = node.params;
        denseForward(n, inF, outF, inputs[0], w.data, hasBias ? b.data : null, output);
      },
      backward(inputs, _output, outputGrad, inputGrads, n) {
        const [w, b] = node.params;
        denseBackward(n, inF, outF, inputs[0], w.data, outputGrad, inputGrads[0], w.grad, hasBias ? b.grad : null);
      },
    };
  },
  onnx({ outShape, tensors: t }, b) {
    const x = b.as2d(b.inputs[0]);
    const [c, h, w] = b.shapeOf(x);
    const units = outShape[0];
    // Gemm's C is optional (opset 11+): without biases the node has two inputs.
    const inputs = [x, b.floats('weights', [units, c * h * w], t.weights)];
    if (t.biases) inputs.push(b.floats('biases', [units], t.biases));
    b.output('Gemm', inputs, { alpha: { float: 1 }, beta: { float: 1 }, transB: 1 });
  },
  // Gemm, or MatMul with the Add of its bias after it (a MatMul alone: an fc without biases).
  onnxImport: {
    ops: ['Gemm', 'MatMul'],
    read(n) {
      const v = n.value(0);
      const gemm = n.opType === 'Gemm';
      if (gemm && n.int('transA', 0) !== 0) n.fail('attribute "transA" must be 0 (the input is [N, features])');
      if (!gemm && !v.flat && v.shape[1] * v.shape[2] !== 1) {
        n.fail('multiplies an image-shaped value; cnnviz supports MatMul on flat [N, features] values (after Flatten) only');
      }
      const inSize = v.shape[0] * v.shape[1] * v.shape[2];
      const wt = n.constant(1, 'weight');
      const transB = gemm && n.int('transB', 0) === 1;
      const units = wt.dims.length === 2 ? (transB ? wt.dims[0] : wt.dims[1]) : -1;
      if (wt.dims.length !== 2 || (transB ? wt.dims[1] : wt.dims[0]) !== inSize) {
        n.fail(`weight "${wt.name}" has shape [${wt.dims.join(', ')}], which does not fit an input of ${inSize} values${gemm ? '' : ` (expected [${inSize}, units])`}`);
      }
      // cnnviz's layout: [units, inputs].
      const weights = transB ? wt.data : transpose(wt.data, inSize, units);
      const alpha = gemm ? n.float('alpha', 1) : 1;
      if (alpha !== 1) for (let i = 0; i < weights.length; i++) weights[i] = Math.fround(weights[i] * alpha);
      let biasOf: OnnxImportNode | undefined = gemm && n.hasInput(2) ? n : undefined;
      let beta = gemm ? n.float('beta', 1) : 1;
      if (!gemm) {
        const add = n.follower();
        if (add?.opType === 'Add' && add.inputCount === 2 && (add.isConstant(0) || add.isConstant(1))) biasOf = add;
        beta = 1;
      }
      let biases: Float32Array | null = null;
      if (biasOf) {
        const k = biasOf === n ? 2 : biasOf.isConstant(0) ? 0 : 1;
        const c = biasOf.constant(k, 'bias');
        if (c.data.length !== units && c.data.length !== 1) biasOf.fail(`bias "${c.name}" has shape [${c.dims.join(', ')}], expected ${units} values`);
        biases = Float32Array.from({ length: units }, (_, i) => Math.fround((c.data.length === 1 ? c.data[0] : c.data[i]) * beta));
      }
      const [c, h, w] = v.shape;
      const tensors: Record<string, { shape: number[]; data: Float32Array }> = { weights: { shape: [units, c, h, w], data: weights } };
      const fields: Record<string, unknown> & { type: string } = { type: 'fc', num_neurons: units };
      if (biases) tensors.biases = { shape: [units], data: biases };
      else fields.bias = false;
      n.emit(fields, { tensors, out: { shape: [units, 1, 1], flat: true }, through: biasOf && biasOf !== n ? biasOf : undefined });
    },
  },
});

function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
  return out;
}
