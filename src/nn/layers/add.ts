/**
 * Element-wise sum of two or more inputs of the same shape, {"type": "add", "inputs": ["a", "b"]}: the
 * join of a residual connection (He et al. 2016), out = block(x) + shortcut(x). Its backward passes the
 * output gradient unchanged to every input (added into each, src/tensor/elementwise.ts), which is why a
 * skip path carries the gradient back undiminished.
 */
import { addBackward, addForward } from '../../tensor/elementwise.js';
import { defineLayer } from './layer.js';
import { below, passThroughGradient } from './wording.js';

export const addLayer = defineLayer<Record<string, never>>({
  type: 'add',
  arity: { min: 2, max: Infinity },
  parse: () => ({}),
  outShape(_c, inShapes, fail) {
    const [first] = inShapes;
    inShapes.forEach((s, k) => {
      if (s[0] !== first[0] || s[1] !== first[1] || s[2] !== first[2]) {
        fail('inputs', `must all have the same shape: input 1 is ${first.join('x')}, input ${k + 1} is ${s.join('x')} (channels x height x width)`);
      }
    });
    return [first[0], first[1], first[2]];
  },
  describe: () => 'add (element-wise sum of its inputs)',
  hints: {
    negative: 'can', explain: 'add', positions: 'same', sumsInputs: true,
    role: () => 'sum',
    noun: () => 'the add',
    passesDown: () => 'copies the gradient unchanged to each of its inputs',
    words: (ctx) => ({
      what: `Add (residual connection): the sum of ${below(ctx)}, value by value. Backward: every input receives the same gradient, unchanged.`,
      pictures: {
        activations: 'The element-wise sum of the input maps.',
        'activation-gradients': passThroughGradient(ctx, `copies it unchanged to ${below(ctx)} (the \u201cgradient highway\u201d of residual networks)`),
      },
      branches: [
        'Residual connection: each branch and the sum',
        `Rows: the inputs of this add (${below(ctx)}), then their sum, for the first probe image on one colour scale. In a residual block one input is the block\u2019s own path and the other the shortcut (the block\u2019s input, or its 1x1 projection where the shape changes): the block only adds a correction to what the shortcut carries, and its gradient flows back unchanged to both paths, which is why deep ResNets still train; a faint branch row next to a strong shortcut row means the block changes little.`,
      ],
    }),
  },
  create: (node) => {
    const wk = node.wasm;
    const fused = wk?.fused;
    return {
      // With the native kernels, two inputs: the add and the ReLU after it in one pass (LayerImpl.fuseRelu).
      fuseRelu: fused && node.inShapes.length === 2
        ? {
            forward(inputs, reluOutput, n) {
              fused.addRelu(n * node.outSize, inputs[0].byteOffset, inputs[1].byteOffset, reluOutput.byteOffset);
            },
            backward(_inputs, reluOutput, reluOutputGrad, inputGrads, n) {
              // The ReLU's mask applied to the gradient each input receives: its backward, once per input.
              for (const g of inputGrads) if (g) wk.x.reluBackward(reluOutput.byteOffset, reluOutputGrad.byteOffset, g.byteOffset, n * node.outSize);
            },
          }
        : undefined,
      forward(inputs, output, n) {
        const count = n * node.outSize;
        if (wk && inputs.length === 2 && wk.owns(inputs[0]) && wk.owns(inputs[1]) && wk.owns(output)) {
          wk.x.addTwo(count, inputs[0].byteOffset, inputs[1].byteOffset, output.byteOffset);
          return;
        }
        addForward(count, inputs, output);
      },
      backward(_inputs, _output, outputGrad, inputGrads, n) {
        const count = n * node.outSize;
        if (wk && wk.owns(outputGrad) && inputGrads.every((g) => g === null || wk.owns(g))) {
          for (const g of inputGrads) if (g) wk.x.addTwo(count, g.byteOffset, outputGrad.byteOffset, g.byteOffset);
          return;
        }
        addBackward(count, outputGrad, inputGrads);
      },
    };
  },
  onnx: (_node, b) => b.output('Add', b.sameRank(b.inputs)),
  // Add of integer shapes is folded by the import driver, a MatMul's bias Add taken in by the fc.
  onnxImport: {
    ops: ['Add'],
    read(n) {
      if (n.isConstant(0) || n.isConstant(1)) n.fail('adding a constant is supported only as the bias right after a MatMul');
      const a = n.value(0);
      const b = n.value(1);
      if (a.shape.join() !== b.shape.join() || (a.flat !== b.flat && a.shape[1] * a.shape[2] !== 1)) {
        n.fail(`adds values of shapes ${a.shape.join('x')} and ${b.shape.join('x')}; cnnviz adds values of the same shape only (no broadcasting)`);
      }
      n.emit({ type: 'add' }, { inputs: [0, 1], out: { shape: a.shape, flat: a.flat && b.flat } });
    },
  },
});
