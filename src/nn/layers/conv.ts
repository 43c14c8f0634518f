import { conv2dBackward, conv2dForward, makeConv2dDims, type Conv2dDims } from '../../tensor/conv2d.js';
import { allocConvWasm, conv2dBackwardWasm, conv2dForwardWasm, winogradConv, type ConvWasmBuffers } from '../../tensor/conv2d-wasm.js';
import type { DefReader } from '../def-reader.js';
import { defineLayer, onnxWindow, type ExplainContext, type LayerImpl, type LayerNode, type LayerWords, type Shape3 } from './layer.js';
import { called, cap, gradientFrom, hasRole, onlyNext, pct, zerosSentence } from './wording.js';

export interface ConvFields {
  filters: number;
  kernelH: number;
  kernelW: number;
  stride: number;
  pad: number;
  biasPref: number;
  l1DecayMul: number;
  l2DecayMul: number;
  /** false: no biases (a conv followed by batch norm, whose beta does their job). */
  bias: boolean;
}

/** ConvNetJS defaults: no L1 decay unless asked for per layer, full L2 decay. */
export function decayFields(r: DefReader): { l1DecayMul: number; l2DecayMul: number } {
  return { l1DecayMul: r.real('l1_decay_mul', 0), l2DecayMul: r.real('l2_decay_mul', 1) };
}

/** ConvNetJS: relus like a bit of positive bias to get gradients early. */
export function biasPrefField(r: DefReader): number {
  return r.real('bias_pref', r.str('activation') === 'relu' ? 0.1 : 0);
}

export function windowOut(input: number, kernel: number, stride: number, pad: number): number {
  return Math.floor((input + 2 * pad - kernel) / stride) + 1;
}

/** Output height and width of a sliding window (conv, pool), or the user error when it does not fit. */
export function windowShape(
  c: { kernelH: number; kernelW: number; stride: number; pad: number },
  prev: Shape3,
  fail: (field: string, problem: string) => never,
): [number, number] {
  const h = windowOut(prev[1], c.kernelH, c.stride, c.pad);
  const w = windowOut(prev[2], c.kernelW, c.stride, c.pad);
  if (h < 1 || w < 1) {
    const field = prev[2] + 2 * c.pad < c.kernelW ? 'sx' : 'sy';
    fail(
      field,
      `(${c.kernelW}x${c.kernelH} window, stride ${c.stride}, pad ${c.pad}) does not fit its ${prev[1]}x${prev[2]} input: output would be ${h}x${w}, smaller than 1x1`,
    );
  }
  return [h, w];
}

function convDims(node: LayerNode<ConvFields>): Conv2dDims {
  const c = node.config;
  const [inC, inH, inW] = node.inShapes[0];
  return { n: 0, inC, inH, inW, outC: c.filters, kH: c.kernelH, kW: c.kernelW, stride: c.stride, pad: c.pad, outH: node.outShape[1], outW: node.outShape[2] };
}

/**
 * The biases' values and gradient: the parameter's, or (bias: false) zeros and a scratch gradient that
 * is cleared on each use and never read.
 */
function biasesOf(node: LayerNode<ConvFields>): () => { data: Float32Array; grad: Float32Array } {
  if (node.config.bias) return () => node.params[1];
  const none = { data: new Float32Array(node.config.filters), grad: new Float32Array(node.config.filters) };
  return () => {
    none.grad.fill(0);
    return none;
  };
}

/** Convolution on the TypeScript reference kernels. */
function convJs(node: LayerNode<ConvFields>): LayerImpl {
  const dims = convDims(node);
  const biasesNow = biasesOf(node);
  return {
    forward(inputs, output, n, ctx) {
      const weights = node.params[0];
      dims.n = n;
      conv2dForward(dims, inputs[0], weights.data, biasesNow().data, output, ctx.ws);
    },
    backward(inputs, _output, outputGrad, inputGrads, n, ctx) {
      const weights = node.params[0];
      dims.n = n;
      conv2dBackward(dims, inputs[0], weights.data, outputGrad, inputGrads[0], weights.grad, biasesNow().grad, ctx.ws);
    },
  };
}

/**
 * Convolution on the WebAssembly kernels. The weights and biases are read from the network's copy in
 * wasm memory (ParamTensor.wasmAt); the gradients accumulate in wasm memory during backward and are
 * added back into the network's gradient vector at its end.
 */
function convWasm(node: LayerNode<ConvFields>): LayerImpl {
  const wk = node.wasm!;
  const dims = convDims(node);
  let buf: ConvWasmBuffers | null = null;
  return {
    reserveWasm(n) {
      const weights = node.params[0];
      let bias: number;
      if (node.config.bias) {
        bias = node.params[1].wasmAt;
      } else {
        // bias: false: zeros of its own in wasm memory.
        bias = wk.alloc(node.config.filters);
        wk.heap.fill(0, bias / 4, bias / 4 + node.config.filters);
      }
      buf = allocConvWasm(wk, { ...dims, n }, n, { weights: weights.wasmAt, bias });
    },
    forward(inputs, output, n, ctx) {
      dims.n = n;
      conv2dForwardWasm(wk, dims, inputs[0].byteOffset, output.byteOffset, buf!, ctx.paramsKey);
    },
    backward(inputs, _output, outputGrad, inputGrads, n, ctx) {
      const weights = node.params[0];
      const biases = node.config.bias ? node.params[1] : null;
      const b = buf!;
      dims.n = n;
      const heap = wk.heap;
      const wg = weights.grad;
      heap.set(wg, b.weightGrad / 4);
      if (biases) heap.set(biases.grad, b.biasGrad / 4);
      const inputGrad = inputGrads[0];
      conv2dBackwardWasm(wk, dims, inputs[0].byteOffset, outputGrad.byteOffset, inputGrad ? inputGrad.byteOffset : -1, b, ctx.paramsKey);
      wg.set(heap.subarray(b.weightGrad / 4, b.weightGrad / 4 + wg.length));
      if (biases) biases.grad.set(heap.subarray(b.biasGrad / 4, b.biasGrad / 4 + biases.grad.length));
    },
  };
}

/** The conv's words: what follows it in this network decides what its activations and gradients look like. */
function convWords(ctx: ExplainContext): LayerWords {
  const c = ctx.self.config as unknown as ConvFields;
  const bias = c.bias ? 'b[k] + ' : '';
  const shrink = c.stride > 1 ? ` With stride ${c.stride} it moves ${c.stride} pixels at a time, so its maps are ${c.stride} times smaller in width and height than its input.` : '';
  const next = onlyNext(ctx);
  const after = ctx.next.length > 0 ? ` Its signed output goes to ${called(ctx.next)}.` : '';
  let gradFacts = zerosSentence(ctx, 'activation-gradients');
  if (hasRole(next, 'gate') && next.zeros['activation-gradients'] !== undefined && ctx.self.zeros['activation-gradients'] !== undefined) {
    gradFacts += ` ${cap(next.called)} received a gradient that is already ${pct(next.zeros['activation-gradients'])} zeros; its mask adds zeros wherever it did not fire, which gives the ${pct(ctx.self.zeros['activation-gradients'])} here.`;
  } else if (hasRole(next, 'normalise')) {
    gradFacts += ` Zeros stay zeros through ${next.called}: the pattern is the one of its own output gradient, rescaled per channel.`;
  }
  return {
    what: `Convolution: slides each filter over its input; out[k, y, x] = ${bias}\u03a3 w[k] \u00b7 (input patch at y, x). One output map per filter, and the same filter is used at every position (weight sharing).${shrink}`,
    pictures: {
      activations: `Tile k is the map of filter k (tile k in the weights picture): red where the input patch looks like the filter, blue where it looks like its negative.${after}`,
      'activation-gradients': [`d(loss)/d(conv output). ${gradientFrom(ctx)}`, gradFacts].filter(Boolean).join(' '),
      weights:
        'The filters. Filter k produces map k of the activations. First layer: one colour tile per filter (its red, green and blue kernels together); trained filters become edge, colour and blob detectors. Deeper layers: one row per filter, one tile per input channel it reads.',
      'weight-gradients':
        `d(loss)/d(filter weights) from the probe images (evaluation mode): for each filter, \u03a3 over images and over every position of (input patch) \u00d7 (activation gradient at that position). One filter is used at all ${(ctx.self.outShape[1] * ctx.self.outShape[2]).toLocaleString('en-US')} positions, so its gradient is a sum over all of them: input patterns where the gradient was large dominate. Training moves the weights the opposite way (w \u2190 w \u2212 learning rate \u00d7 gradient), with the gradients of its own batches. A picture of pure noise or of all zeros is a warning sign.`,
    },
    topPatches: 'Row k belongs to filter k of the weights: the patches show what that filter has learned to detect in real images, which is often clearer than the filter\u2019s own weights.',
  };
}

export const convLayer = defineLayer<ConvFields>({
  type: 'conv',
  takesActivation: true,
  parse(r) {
    const kernelW = r.int('sx', 1);
    return {
      filters: r.int('filters', 1), kernelW, kernelH: r.int('sy', 1, kernelW), stride: r.int('stride', 1, 1), pad: r.int('pad', 0, 0),
      biasPref: biasPrefField(r), ...decayFields(r), bias: r.bool('bias', true),
    };
  },
  outShape(c, [prev], fail) {
    const [h, w] = windowShape(c, prev, fail);
    return [c.filters, h, w];
  },
  params: (c, [prev]) => [
    { name: 'weights', shape: [c.filters, prev[0], c.kernelH, c.kernelW], l1DecayMul: c.l1DecayMul, l2DecayMul: c.l2DecayMul, init: 'fan-in' },
    // ConvNetJS never decays biases.
    ...(c.bias ? [{ name: 'biases' as const, shape: [c.filters], l1DecayMul: 0, l2DecayMul: 0, init: { fill: c.biasPref } }] : []),
  ],
  describe: (c) => `conv ${c.kernelW}x${c.kernelH}, ${c.filters} filters, stride ${c.stride}, pad ${c.pad}${c.bias ? '' : ', no bias'}`,
  hints: {
    negative: 'can', explain: 'conv', weights: 'filters', positions: 'window', topPatches: true,
    role: () => 'filter',
    noun: () => 'the conv',
    passesDown: () => 'sends each position\u2019s gradient back through the filters to every input position in its window (a transposed convolution)',
    words: convWords,
  },
  scratch(c, [prev], [outC, h, w]) {
    // im2col: one sample's input unfolded, inC x kH x kW rows of outH x outW positions.
    const shared = prev[0] * c.kernelH * c.kernelW * h * w;
    // A 3x3 conv whose output is its input's size takes the Winograd kernels: padded input and its
    // gradient, and the transformed patches (4 x the input). Counted for every 3x3 filter bank that
    // could (a stride-2 one is counted too: the estimate errs high).
    const wino = c.kernelH === 3 && c.kernelW === 3 && winogradConv(makeConv2dDims(1, prev[0], h, w, outC, 3, 3, 1, 1));
    return { shared, perSample: wino ? 2 * prev[0] * (h + 2) * (w + 2) + 4 * prev[0] * h * w : 0 };
  },
  benchKind: (c) => `conv ${c.kernelW}x${c.kernelH}${c.stride !== 1 ? ` s${c.stride}` : ''}`,
  fromConvNetJS: (l, num) => ({
    type: 'conv', sx: num('sx'), sy: num('sy'), filters: num('out_depth'), stride: num('stride'), pad: num('pad', 0),
    l1_decay_mul: num('l1_decay_mul', 0), l2_decay_mul: num('l2_decay_mul', 1),
  }),
  create: (node) => (node.wasm ? convWasm(node) : convJs(node)),
  onnx({ config: c, outShape, tensors: t }, b) {
    const x = b.as4d(b.inputs[0]);
    const inputs = [x, b.floats('weights', [outShape[0], b.shapeOf(x)[0], c.kernelH, c.kernelW], t.weights)];
    if (t.biases) inputs.push(b.floats('biases', [outShape[0]], t.biases));
    b.output('Conv', inputs, { ...onnxWindow(c), dilations: [1, 1], group: 1 });
  },
});
