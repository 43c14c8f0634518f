import { reluBackward, reluForward, sigmoidBackward, sigmoidForward, tanhBackward, tanhForward } from '../../tensor/activations.js';
import { defineLayer, same, type ExplainContext, type LayerDef, type LayerHints, type LayerImpl, type LayerNode, type LayerWords } from './layer.js';
import { below, cap, gradientFrom, hasRole, onlyNext, onlyPrev, pct, zerosSentence } from './wording.js';

type Elementwise = (input: Float32Array, output: Float32Array, count: number) => void;
type ElementwiseBackward = (output: Float32Array, outputGrad: Float32Array, inputGrad: Float32Array | null, count: number) => void;

/** ReLU on the SIMD kernels (same results as the TypeScript one), on tensors in wasm memory. */
function reluWasm(node: LayerNode): LayerImpl {
  const wk = node.wasm!;
  return {
    forward(inputs, output, n) {
      wk.x.reluForward(inputs[0].byteOffset, output.byteOffset, n * node.outSize);
    },
    backward(_inputs, output, outputGrad, inputGrads, n) {
      const inputGrad = inputGrads[0];
      if (inputGrad) wk.x.reluBackward(output.byteOffset, outputGrad.byteOffset, inputGrad.byteOffset, n * node.outSize);
    },
  };
}

/** An element-wise activation whose backward needs only its output (ConvNetJS's relu, sigmoid, tanh). */
function activation(
  type: string, onnxOp: string, negative: LayerHints['negative'], fwd: Elementwise, bwd: ElementwiseBackward, wasm?: (node: LayerNode) => LayerImpl,
  hints: Partial<LayerHints> = {}, fusableRelu = false,
): LayerDef {
  return defineLayer<Record<string, never>>({
    type,
    activationSugar: true,
    fusableRelu,
    parse: () => ({}),
    outShape: same,
    describe: () => type,
    hints: { negative, explain: type, positions: 'same', ...hints },
    fromConvNetJS: () => ({ type }),
    create: (node) => {
      if (node.wasm && wasm) return wasm(node);
      return {
        forward(inputs, output, n) {
          fwd(inputs[0], output, n * node.outSize);
        },
        backward(_inputs, output, outputGrad, inputGrads, n) {
          bwd(output, outputGrad, inputGrads[0], n * node.outSize);
        },
      };
    },
    onnx: (_node, b) => b.output(onnxOp, b.inputs),
    onnxImport: { ops: [onnxOp], read: (n) => n.emit({ type }) },
  });
}

/** The ReLU's words: its mask, the gradient it receives from whatever reads it, and what it hands below. */
function reluWords(ctx: ExplainContext): LayerWords {
  const next = onlyNext(ctx);
  const prev = onlyPrev(ctx);
  const zAct = ctx.self.zeros.activations;
  const grad = [`d(loss)/d(ReLU output): the gradient arriving from above. ${gradientFrom(ctx)}`, zerosSentence(ctx, 'activation-gradients')];
  if (hasRole(next, 'window-max')) grad.push(`That is ${next.called} at work: only window winners receive gradient.`);
  const alone = prev !== undefined && prev.readBy.length === 1;
  grad.push(`In its own backward pass the ReLU multiplies this by its mask (1 where it fired, 0 elsewhere) and hands the result to ${below(ctx)}` +
    (alone ? `: that gradient is zero wherever this ReLU\u2019s activation is black${prev.zeros['activation-gradients'] !== undefined ? ` (measured there: ${pct(prev.zeros['activation-gradients'])} zeros)` : ''}.` : ', which adds it to what its other readers hand down.'));
  return {
    what: 'ReLU: out = max(0, x) for every value. Backward: d(loss)/d(x) = d(loss)/d(out) where x > 0, and 0 where the unit did not fire. Its derivative is 1 wherever it fired, however large x is: unlike a sigmoid or tanh it does not saturate, so where it fired the gradient passes at full size.',
    pictures: {
      activations: `Black = 0 (the unit is off: its input was negative), coloured where it fired.${zAct === undefined ? '' : ` Here ${pct(zAct)} of the values are exactly 0 (black).`}`,
      'activation-gradients': grad.join(' '),
    },
    pictureNotes: {
      'activation-gradients': `ReLU: this gradient arrives from ${next ? next.called : 'the layers above'}. The ReLU passes it on only where it fired (output > 0).`,
    },
    topPatches: `A ReLU is monotonic, so its channels rank images as ${below(ctx)} does (except channels that never fire: their patches show values of 0).`,
  };
}

function squashWords(what: string, range: string, slope: string): (ctx: ExplainContext) => LayerWords {
  return (ctx) => ({
    what,
    pictures: {
      activations: `Values in ${range}: near the ends means saturated, where almost no gradient gets through.`,
      'activation-gradients': [`d(loss)/d(output). ${gradientFrom(ctx)}`, zerosSentence(ctx, 'activation-gradients'), `${cap(below(ctx))} receives it times ${slope}: small wherever this layer\u2019s activations are near the ends of ${range}.`].filter(Boolean).join(' '),
    },
  });
}

// Sigmoid and tanh have no SIMD kernels: the TypeScript ones work on wasm memory views too.
export const reluLayer = activation('relu', 'Relu', 'never', reluForward, reluBackward, reluWasm, {
  topPatches: true, deadWhenZero: true, role: () => 'gate', noun: () => 'the ReLU',
  passesDown: () => 'passes the gradient only where it fired (input > 0) and zeroes it elsewhere', words: reluWords,
}, true);
export const sigmoidLayer = activation('sigmoid', 'Sigmoid', 'never', sigmoidForward, sigmoidBackward, undefined, {
  role: () => 'squash', noun: () => 'the sigmoid', passesDown: () => 'multiplies the gradient by out\u00b7(1 \u2212 out), at most 0.25 and near 0 where it saturates',
  words: squashWords('Sigmoid: out = 1/(1 + e^\u2212x), squashing every value into (0, 1). Backward multiplies the gradient by out\u00b7(1 \u2212 out), at most 0.25 and near 0 when the unit saturates.', '(0, 1)', 'out\u00b7(1 \u2212 out)'),
});
export const tanhLayer = activation('tanh', 'Tanh', 'can', tanhForward, tanhBackward, undefined, {
  role: () => 'squash', noun: () => 'the tanh', passesDown: () => 'multiplies the gradient by 1 \u2212 out\u00b2, near 0 where it saturates',
  words: squashWords('Tanh: out = tanh(x), squashing every value into (\u22121, 1). Backward multiplies the gradient by 1 \u2212 out\u00b2, near 0 when the unit saturates.', '(\u22121, 1)', '1 \u2212 out\u00b2'),
});
