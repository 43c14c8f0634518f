import { dropoutBackward, dropoutForward, fillDropoutMask } from '../../tensor/dropout.js';
import { defineLayer, ensureUint8, same } from './layer.js';
import { below, passThroughGradient } from './wording.js';

/**
 * Inverted dropout: kept values are scaled by 1/(1-p) while training, so testing is the identity.
 * (ConvNetJS scales by p at test time instead, which is its own quirk.) Masks are a pure function of
 * (seed, layer, step, sample), so any split of a batch among workers drops the same units.
 */
export const dropoutLayer = defineLayer<{ dropProb: number }>({
  type: 'dropout',
  parse: (r) => ({ dropProb: r.real('drop_prob', 0.5, [0, 0.999]) }),
  outShape: same,
  describe: (c) => `dropout p=${c.dropProb}`,
  hints: {
    negative: 'if-inputs-can', explain: 'dropout', positions: 'same',
    noun: () => 'the dropout',
    passesDown: () => 'passes the gradient through (unchanged in evaluation mode, as in the probe; in training only where it kept the value)',
    words: (ctx) => ({
      what: `Dropout: during training sets each value to 0 with probability p = ${String(ctx.self.config.dropProb)} (and scales the rest); in the probe pass (evaluation mode) it passes every value through unchanged.`,
      pictures: {
        activations: `In evaluation mode identical to the output of ${below(ctx)}.`,
        'activation-gradients': passThroughGradient(ctx, 'passes it unchanged (evaluation mode)'),
      },
    }),
  },
  fromConvNetJS: (l, num) => ({ type: 'dropout', drop_prob: num('drop_prob', 0.5) }),
  create: (node) => {
    let keep: Uint8Array = new Uint8Array(0);
    const p = node.config.dropProb;
    return {
      forward(inputs, output, n, ctx) {
        const count = n * node.outSize;
        if (ctx.training) {
          keep = ensureUint8(keep, count);
          fillDropoutMask(keep, count, p, ctx.seed, node.index, ctx.step, ctx.firstSample, node.outSize);
        }
        dropoutForward(inputs[0], output, keep, count, p, ctx.training);
      },
      backward(_inputs, _output, outputGrad, inputGrads, n, ctx) {
        const inputGrad = inputGrads[0];
        if (!inputGrad) return;
        const count = n * node.outSize;
        if (ctx.training) dropoutBackward(outputGrad, inputGrad, keep, count, p);
        else for (let i = 0; i < count; i++) inputGrad[i] += outputGrad[i];
      },
    };
  },
  // Identity at inference; kept so a trainer that reads the file (onnx2torch) gets its dropout back.
  onnx: ({ config: c }, b) => b.output('Dropout', [b.inputs[0], b.floats('ratio', [], Float32Array.of(c.dropProb))]),
});
