import { l2RegressionLoss, softmax, softmaxCrossEntropy, svmLoss } from '../../tensor/losses.js';
import { defineLayer, type LayerDef, type LayerHints, type LayerNode, type LayerWords, type LossTarget } from './layer.js';
import { below } from './wording.js';

/** What each loss layer says: its name, what it hands down, and its words. */
const SAYS: Record<'softmax' | 'svm' | 'regression', { noun: string; passesDown: string; words: (below: string) => LayerWords }> = {
  softmax: {
    noun: 'the softmax',
    passesDown: 'hands down d(loss)/d(score) = p \u2212 one-hot(true class): p \u2212 1 at the true class (blue) and p at every other class (red, as large as the wrongly given probability); a confident correct image has an almost white row',
    words: (from) => ({
      what: 'Softmax: turns the class scores s into probabilities p[k] = e^s[k] / \u03a3 e^s[j] that sum to 1. The loss is \u2212log p[true class] (cross-entropy).',
      pictures: { activations: 'The class probabilities for each probe image (values printed). The brightest cell is the prediction.' },
      noPicture: {
        'activation-gradients': `No activation-gradient picture here, on purpose: softmax and the cross-entropy loss are computed as one step, whose gradient d(loss)/d(scores) = p \u2212 one-hot(true class) appears on the activation-gradient picture of ${from}: blue at the true class (p \u2212 1 < 0), red at every other class by its probability p. The gradient of the loss with respect to the probabilities themselves is never used by backpropagation.`,
      },
    }),
  },
  svm: {
    noun: 'the SVM loss',
    passesDown: 'hands down +1 for each class whose score comes within the margin of the true class\u2019s score, and minus their count at the true class',
    words: (from) => ({
      what: 'SVM loss layer: passes the class scores through unchanged; the loss is the multiclass hinge loss \u03a3 over wrong classes j of max(0, s[j] \u2212 s[true] + 1).',
      pictures: { activations: 'The class scores, unchanged.' },
      noPicture: {
        'activation-gradients': `No activation-gradient picture here: the hinge loss is computed from this layer\u2019s input, so its gradient (+1 for each class within the margin, minus their count at the true class) appears on the activation-gradient picture of ${from}.`,
      },
    }),
  },
  regression: {
    noun: 'the regression loss',
    passesDown: 'hands down out \u2212 target',
    words: (from) => ({
      what: 'Regression loss layer: passes values through; the loss is \u00bd \u03a3 (out \u2212 target)\u00b2.',
      pictures: { activations: 'The predicted values, unchanged.' },
      noPicture: {
        'activation-gradients': `No activation-gradient picture here: the loss gradient (out \u2212 target) appears on the activation-gradient picture of ${from}.`,
      },
    }),
  },
};

/**
 * Loss layers: the network's last node. Forward gives the network's output (softmax: probabilities;
 * svm and regression: the raw scores); `loss` returns the loss summed over the batch and adds
 * d(loss)/d(input) into the input gradient (without one: the test loss, the same number). As in ConvNetJS, a definition implies the fc before it.
 */
function lossLayer(
  type: 'softmax' | 'svm' | 'regression',
  field: 'num_classes' | 'num_neurons',
  describe: (k: number) => string,
  loss: NonNullable<LayerHints['loss']>,
  negative: LayerHints['negative'],
): LayerDef {
  return defineLayer<{ outputs: number; bias: boolean }>({
    type,
    // "bias" belongs to the fc the definition implies (false: an fc without biases, e.g. ONNX Gemm without C).
    parse: (r) => ({ outputs: r.int(field, type === 'regression' ? 1 : 2), bias: r.bool('bias', true) }),
    implies: (f) => [{ type: 'fc', fields: { units: f.outputs, biasPref: 0, l1DecayMul: 0, l2DecayMul: 1, bias: f.bias } }],
    outShape(c, [prev], fail) {
      const size = prev[0] * prev[1] * prev[2];
      if (size !== c.outputs) fail(field, `(${c.outputs}) does not match the ${size} values of its input`);
      return [c.outputs, 1, 1];
    },
    describe: (c) => describe(c.outputs),
    hints: {
      negative, explain: type, loss,
      role: () => 'loss',
      noun: () => SAYS[type].noun,
      passesDown: () => SAYS[type].passesDown,
      words: (ctx) => SAYS[type].words(below(ctx)),
    },
    fromConvNetJS: (l, num) => ({ type, [field]: num('out_depth') }),
    create: (node: LayerNode<{ outputs: number; bias: boolean }>) => ({
      forward(inputs, output, n) {
        if (type === 'softmax') softmax(n, node.outSize, inputs[0], output);
        else output.set(inputs[0].subarray(0, n * node.outSize));
      },
      backward() {
        throw new Error('a loss layer is differentiated with loss(), not backward()');
      },
      loss(input: Float32Array, output: Float32Array, inputGrad: Float32Array | null, n: number, target: LossTarget): number {
        const k = node.outSize;
        const where = `layer ${node.index} (${type})`;
        if (type === 'regression') {
          if (!target.values) throw new Error(`${where} needs target values`);
          return l2RegressionLoss(n, k, input, target.values, inputGrad);
        }
        const labels = target.labels;
        if (!labels) throw new Error(`${where} needs class labels`);
        for (let i = 0; i < n; i++) {
          if (labels[i] < 0 || labels[i] >= k) throw new Error(`${where}: label ${labels[i]} of sample ${i} is outside 0..${k - 1}`);
        }
        if (type === 'softmax') return softmaxCrossEntropy(n, k, input, labels, output, inputGrad, target.smoothing ?? 0);
        return svmLoss(n, k, input, labels, inputGrad);
      },
    }),
    onnx(_node, b) {
      const x = b.as2d(b.inputs[0]);
      if (type === 'softmax') b.output('Softmax', [x], { axis: 1 });
      else b.output('Identity', [x]); // svm and regression output their scores
    },
  });
}

export const softmaxLayer = lossLayer('softmax', 'num_classes', (k) => `softmax, ${k} classes`, { target: 'labels', probabilities: true }, 'never');
export const svmLayer = lossLayer('svm', 'num_classes', (k) => `svm (hinge loss), ${k} classes`, { target: 'labels', probabilities: false }, 'can');
export const regressionLayer = lossLayer('regression', 'num_neurons', (k) => `L2 regression, ${k} outputs`, { target: 'values', probabilities: false }, 'can');
