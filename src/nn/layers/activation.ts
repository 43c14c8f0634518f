import { reluBackward, reluForward, sigmoidBackward, sigmoidForward, tanhBackward, tanhForward } from '../../tensor/activations.js';
import { defineLayer, same, type LayerDef, type LayerHints, type LayerImpl, type LayerNode } from './layer.js';

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
  hints: Partial<LayerHints> = {},
): LayerDef {
  return defineLayer<Record<string, never>>({
    type,
    activationSugar: true,
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

// Sigmoid and tanh have no SIMD kernels: the TypeScript ones work on wasm memory views too.
export const reluLayer = activation('relu', 'Relu', 'never', reluForward, reluBackward, reluWasm, { topPatches: true, deadWhenZero: true });
export const sigmoidLayer = activation('sigmoid', 'Sigmoid', 'never', sigmoidForward, sigmoidBackward);
export const tanhLayer = activation('tanh', 'Tanh', 'can', tanhForward, tanhBackward);
