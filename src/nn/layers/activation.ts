import { reluBackward, reluForward, sigmoidBackward, sigmoidForward, tanhBackward, tanhForward } from '../../tensor/activations.js';
import type { WasmKernels } from '../../tensor/wasm.js';
import { defineLayer, same, type LayerDef, type LayerHints } from './layer.js';

type Elementwise = (input: Float32Array, output: Float32Array, count: number) => void;
type ElementwiseBackward = (output: Float32Array, outputGrad: Float32Array, inputGrad: Float32Array | null, count: number) => void;

/** An element-wise activation whose backward needs only its output (ConvNetJS's relu, sigmoid, tanh). */
function activation(type: string, describe: string, negative: LayerHints['negative'], fwd: Elementwise, bwd: ElementwiseBackward, simd: boolean): LayerDef {
  return defineLayer<Record<string, never>>({
    type,
    activationSugar: true,
    parse: () => ({}),
    outShape: same,
    describe: () => describe,
    hints: { negative, explain: type },
    fromConvNetJS: () => ({ type }),
    create: (node) => {
      let wk: WasmKernels | null = null;
      return {
        reserveWasm(k) {
          // ReLU has a SIMD kernel (same results as the TypeScript one); sigmoid and tanh stay in TypeScript.
          if (simd) wk = k;
        },
        forward(inputs, output, n) {
          const input = inputs[0];
          const count = n * node.outSize;
          if (wk && wk.owns(input) && wk.owns(output)) wk.x.reluForward(input.byteOffset, output.byteOffset, count);
          else fwd(input, output, count);
        },
        backward(_inputs, output, outputGrad, inputGrads, n) {
          const inputGrad = inputGrads[0];
          if (!inputGrad) return;
          const count = n * node.outSize;
          if (wk && wk.owns(output) && wk.owns(outputGrad) && wk.owns(inputGrad)) {
            wk.x.reluBackward(output.byteOffset, outputGrad.byteOffset, inputGrad.byteOffset, count);
          } else {
            bwd(output, outputGrad, inputGrad, count);
          }
        },
      };
    },
  });
}

export const reluLayer = activation('relu', 'relu', 'never', reluForward, reluBackward, true);
export const sigmoidLayer = activation('sigmoid', 'sigmoid', 'never', sigmoidForward, sigmoidBackward, false);
export const tanhLayer = activation('tanh', 'tanh', 'can', tanhForward, tanhBackward, false);
