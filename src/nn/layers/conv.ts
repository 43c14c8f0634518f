import { conv2dBackward, conv2dForward, convOutSize, makeConv2dDims, type Conv2dDims } from '../../tensor/conv2d.js';
import { allocConvWasm, conv2dBackwardWasm, conv2dForwardWasm, winogradConv, type ConvWasmBuffers } from '../../tensor/conv2d-wasm.js';
import { padPlanesBackward, padPlanesForward, type PadMode } from '../../tensor/pad.js';
import type { DefReader } from '../def-reader.js';
import { defineLayer, ensureFloat32, foldIntoWeightsIn, foldIntoWeightsOut, onnxWindow, type ExplainContext, type LayerImpl, type LayerNode, type LayerWords, type Shape3 } from './layer.js';
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
  /**
   * Channel groups: filters of group g read only input channels g*inC/groups .. (g+1)*inC/groups - 1
   * (ResNeXt, RegNet). groups = input channels: depthwise, each filter reads one channel (MobileNet).
   */
  groups: number;
  /** Padding per side when they differ (pad_top, pad_bottom, pad_left, pad_right; each defaults to pad). */
  padTop: number;
  padBottom: number;
  padLeft: number;
  padRight: number;
  /** Spacing of the kernel taps (dilated convolution), 1 for an ordinary one. */
  dilation: number;
  /** What the padding holds (PyTorch's padding_mode): zeros, or the image mirrored or its edge repeated. */
  padMode: 'zeros' | PadMode;
}

/** ConvNetJS defaults: no L1 decay unless asked for per layer, full L2 decay. */
export function decayFields(r: DefReader): { l1DecayMul: number; l2DecayMul: number } {
  return { l1DecayMul: r.real('l1_decay_mul', 0), l2DecayMul: r.real('l2_decay_mul', 1) };
}

/** "pad_mode": "zeros" (default), "reflect" or "replicate" (PyTorch's padding_mode). */
function padModeField(r: DefReader): ConvFields['padMode'] {
  const mode = r.str('pad_mode') ?? 'zeros';
  if (mode !== 'zeros' && mode !== 'reflect' && mode !== 'replicate') r.fail('pad_mode', `must be "zeros", "reflect" or "replicate", got ${JSON.stringify(mode)}`);
  return mode as ConvFields['padMode'];
}

/** ConvNetJS: relus like a bit of positive bias to get gradients early. */
export function biasPrefField(r: DefReader): number {
  return r.real('bias_pref', r.str('activation') === 'relu' ? 0.1 : 0);
}

/** Output height and width of a sliding window (conv, pool; ceil: pool's ceil_mode), or the user error when it does not fit. */
export function windowShape(
  c: { kernelH: number; kernelW: number; stride: number; pad: number; ceilMode?: boolean },
  prev: Shape3,
  fail: (field: string, problem: string) => never,
): [number, number] {
  const h = convOutSize(prev[1], c.kernelH, c.stride, c.pad, c.ceilMode);
  const w = convOutSize(prev[2], c.kernelW, c.stride, c.pad, c.ceilMode);
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
  return {
    n: 0, inC, inH, inW, outC: c.filters, kH: c.kernelH, kW: c.kernelW, stride: c.stride, pad: c.pad, outH: node.outShape[1], outW: node.outShape[2],
    groups: c.groups, padTop: c.padTop, padLeft: c.padLeft, dilation: c.dilation,
  };
}

/** Padding that differs by side, or dilation: only the TypeScript kernel (im2col + gemm) handles them. */
function generalGeometry(c: ConvFields): boolean {
  return c.padMode !== 'zeros' || c.dilation !== 1 || c.padTop !== c.pad || c.padBottom !== c.pad || c.padLeft !== c.pad || c.padRight !== c.pad;
}

function isDepthwise(node: LayerNode<ConvFields>): boolean {
  return node.config.groups > 1 && node.config.groups === node.inShapes[0][0];
}

/**
 * Depthwise convolution on the WebAssembly kernels' direct kernel (src/tensor/wasm/depthwise.ts):
 * weights and biases read from the network's copies in wasm memory, gradients accumulated in wasm
 * scratch and added back at the end of backward, as convWasm does.
 */
function depthwiseWasm(node: LayerNode<ConvFields>): LayerImpl {
  const wk = node.wasm!;
  const d = convDims(node);
  const mult = d.outC / d.inC;
  const geo = (n: number) => [n, d.inC, d.inH, d.inW, mult, d.kH, d.kW, d.stride, d.pad, d.outH, d.outW] as const;
  let bias = 0;
  let weightGrad = 0;
  let biasGrad = 0;
  return {
    reserveWasm() {
      if (node.config.bias) bias = node.params[1].wasmAt;
      else {
        bias = wk.alloc(d.outC);
        wk.heap.fill(0, bias / 4, bias / 4 + d.outC);
      }
      weightGrad = wk.alloc(node.params[0].data.length);
      biasGrad = wk.alloc(d.outC);
    },
    forward(inputs, output, n) {
      wk.x.depthwiseForward(...geo(n), inputs[0].byteOffset, node.params[0].wasmAt, bias, output.byteOffset);
    },
    backward(inputs, _output, outputGrad, inputGrads, n) {
      const wg = node.params[0].grad;
      const heap = wk.heap;
      heap.set(wg, weightGrad / 4);
      heap.fill(0, biasGrad / 4, biasGrad / 4 + d.outC);
      const inputGrad = inputGrads[0];
      wk.x.depthwiseBackward(...geo(n), inputs[0].byteOffset, node.params[0].wasmAt, outputGrad.byteOffset, inputGrad ? inputGrad.byteOffset : 0, inputGrad ? 1 : 0, weightGrad, biasGrad);
      wg.set(heap.subarray(weightGrad / 4, weightGrad / 4 + wg.length));
      if (node.config.bias) {
        const bg = node.params[1].grad;
        for (let o = 0; o < d.outC; o++) bg[o] += heap[biasGrad / 4 + o];
      }
    },
  };
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

/**
 * Reflect or replicate padding: the input padded into scratch (src/tensor/pad.ts), then an unpadded
 * convolution on the TypeScript kernels; backward folds the padded input's gradient back.
 */
function convPadded(node: LayerNode<ConvFields>): LayerImpl {
  const c = node.config;
  const mode = c.padMode as PadMode;
  const [inC, inH, inW] = node.inShapes[0];
  const pads = [c.padTop, c.padLeft, c.padBottom, c.padRight] as const;
  const ph = inH + c.padTop + c.padBottom;
  const pw = inW + c.padLeft + c.padRight;
  const dims: Conv2dDims = { ...convDims(node), inH: ph, inW: pw, pad: 0, padTop: 0, padLeft: 0 };
  const biasesNow = biasesOf(node);
  let padded: Float32Array = new Float32Array(0);
  let paddedGrad: Float32Array = new Float32Array(0);
  const pad = (input: Float32Array, n: number) => {
    padded = ensureFloat32(padded, n * inC * ph * pw);
    padPlanesForward(n * inC, inH, inW, pads, mode, input, padded);
  };
  return {
    forward(inputs, output, n, ctx) {
      dims.n = n;
      pad(inputs[0], n);
      conv2dForward(dims, padded, node.params[0].data, biasesNow().data, output, ctx.ws);
    },
    backward(inputs, _output, outputGrad, inputGrads, n, ctx) {
      dims.n = n;
      pad(inputs[0], n);
      const inputGrad = inputGrads[0];
      if (inputGrad) {
        paddedGrad = ensureFloat32(paddedGrad, n * inC * ph * pw);
        paddedGrad.fill(0, 0, n * inC * ph * pw);
      }
      const weights = node.params[0];
      conv2dBackward(dims, padded, weights.data, outputGrad, inputGrad ? paddedGrad : null, weights.grad, biasesNow().grad, ctx.ws);
      if (inputGrad) padPlanesBackward(n * inC, inH, inW, pads, mode, paddedGrad, inputGrad);
    },
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
  const inC = ctx.prev[0]?.outShape[0] ?? 0;
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
        'The filters. Filter k produces map k of the activations. First layer: one colour tile per filter (its red, green and blue kernels together); trained filters become edge, colour and blob detectors. Deeper layers: one row per filter, one tile per input channel it reads.' +
        (c.groups === 1 ? '' : c.groups === inC
          ? ` This conv is depthwise (${c.groups} groups, one per input channel): each filter reads ONE input channel (one tile per row), so its maps are the input channels filtered on their own, and mixing channels is left to the 1x1 conv after it.`
          : ` This conv has ${c.groups} groups: the input channels are split into ${c.groups} groups of ${inC / c.groups}, and each filter reads only its own group\u2019s channels (${inC / c.groups} tiles per row).`),
      'weight-gradients':
        `d(loss)/d(filter weights) from the probe images (evaluation mode): for each filter, \u03a3 over images and over every position of (input patch) \u00d7 (activation gradient at that position). One filter is used at all ${(ctx.self.outShape[1] * ctx.self.outShape[2]).toLocaleString('en-US')} positions, so its gradient is a sum over all of them: input patterns where the gradient was large dominate. Training moves the weights the opposite way (w \u2190 w \u2212 learning rate \u00d7 gradient), with the gradients of its own batches. A picture of pure noise or of all zeros is a warning sign.`,
    },
    topPatches: 'Row k belongs to filter k of the weights: the patches show what that filter has learned to detect in real images, which is often clearer than the filter\u2019s own weights.',
  };
}

/** ", depthwise" (each filter reads one input channel) or ", 4 groups" in descriptions. */
function groupsWords(c: ConvFields): string {
  if (c.groups === 1) return '';
  return c.groups === c.filters ? `, depthwise (${c.groups} groups: each filter reads one input channel)` : `, ${c.groups} groups`;
}

export const convLayer = defineLayer<ConvFields>({
  type: 'conv',
  takesActivation: true,
  parse(r) {
    const kernelW = r.int('sx', 1);
    const pad = r.int('pad', 0, 0);
    return {
      filters: r.int('filters', 1), kernelW, kernelH: r.int('sy', 1, kernelW), stride: r.int('stride', 1, 1), pad,
      biasPref: biasPrefField(r), ...decayFields(r), bias: r.bool('bias', true), groups: r.int('groups', 1, 1),
      padTop: r.int('pad_top', 0, pad), padBottom: r.int('pad_bottom', 0, pad), padLeft: r.int('pad_left', 0, pad), padRight: r.int('pad_right', 0, pad),
      dilation: r.int('dilation', 1, 1), padMode: padModeField(r),
    };
  },
  outShape(c, [prev], fail) {
    if (c.padMode === 'reflect' && (Math.max(c.padTop, c.padBottom) >= prev[1] || Math.max(c.padLeft, c.padRight) >= prev[2])) {
      fail('pad_mode', `"reflect" needs padding smaller than the ${prev[1]}x${prev[2]} input (a mirror reaches back at most to the far edge)`);
    }
    if (prev[0] % c.groups !== 0 || c.filters % c.groups !== 0) {
      fail('groups', `(${c.groups}) must divide both the ${prev[0]} input channels and the ${c.filters} filters`);
    }
    if (!generalGeometry(c)) {
      const [h, w] = windowShape(c, prev, fail);
      return [c.filters, h, w];
    }
    const h = convOutSize(prev[1], c.kernelH, c.stride, c.padTop, false, c.padBottom, c.dilation);
    const w = convOutSize(prev[2], c.kernelW, c.stride, c.padLeft, false, c.padRight, c.dilation);
    if (h < 1 || w < 1) {
      fail('sx', `(${c.kernelW}x${c.kernelH} window, dilation ${c.dilation}, stride ${c.stride}, pads top ${c.padTop} bottom ${c.padBottom} left ${c.padLeft} right ${c.padRight}) does not fit its ${prev[1]}x${prev[2]} input`);
    }
    return [c.filters, h, w];
  },
  params: (c, [prev]) => [
    { name: 'weights', shape: [c.filters, prev[0] / c.groups, c.kernelH, c.kernelW], l1DecayMul: c.l1DecayMul, l2DecayMul: c.l2DecayMul, init: 'fan-in' },
    // ConvNetJS never decays biases.
    ...(c.bias ? [{ name: 'biases' as const, shape: [c.filters], l1DecayMul: 0, l2DecayMul: 0, init: { fill: c.biasPref } }] : []),
  ],
  describe: (c) => {
    const pads = c.padTop === c.pad && c.padBottom === c.pad && c.padLeft === c.pad && c.padRight === c.pad
      ? `pad ${c.pad}` : `pads top ${c.padTop} bottom ${c.padBottom} left ${c.padLeft} right ${c.padRight}`;
    const dil = c.dilation === 1 ? '' : `, dilation ${c.dilation} (taps ${c.dilation} px apart)`;
    const mode = c.padMode === 'zeros' ? '' : ` (${c.padMode === 'reflect' ? 'mirrored image' : 'repeated edge'})`;
    return `conv ${c.kernelW}x${c.kernelH}, ${c.filters} filters, stride ${c.stride}, ${pads}${mode}${dil}${groupsWords(c)}${c.bias ? '' : ', no bias'}`;
  },
  hints: {
    negative: 'can', explain: 'conv', weights: 'filters', positions: 'window', topPatches: true,
    role: () => 'filter',
    noun: () => 'the conv',
    passesDown: () => 'sends each position\u2019s gradient back through the filters to every input position in its window (a transposed convolution)',
    words: convWords,
  },
  scratch(c, [prev], [outC, h, w]) {
    // im2col: one sample's input unfolded, inC x kH x kW rows of outH x outW positions (a grouped conv
    // unfolds one group at a time; counted whole, the estimate errs high).
    const shared = prev[0] * c.kernelH * c.kernelW * h * w;
    // A 3x3 conv whose output is its input's size takes the Winograd kernels: padded input and its
    // gradient, and the transformed patches (4 x the input). Counted for every 3x3 filter bank that
    // could (a stride-2 one is counted too: the estimate errs high).
    const wino = c.groups === 1 && c.kernelH === 3 && c.kernelW === 3 && winogradConv(makeConv2dDims(1, prev[0], h, w, outC, 3, 3, 1, 1));
    return { shared, perSample: wino ? 2 * prev[0] * (h + 2) * (w + 2) + 4 * prev[0] * h * w : 0 };
  },
  benchKind: (c) => `conv ${c.kernelW}x${c.kernelH}${c.stride !== 1 ? ` s${c.stride}` : ''}${c.groups > 1 ? (c.groups === c.filters ? ' depthwise' : ' grouped') : ''}`,
  fromConvNetJS: (l, num) => ({
    type: 'conv', sx: num('sx'), sy: num('sy'), filters: num('out_depth'), stride: num('stride'), pad: num('pad', 0),
    l1_decay_mul: num('l1_decay_mul', 0), l2_decay_mul: num('l2_decay_mul', 1),
  }),
  // Grouped convolutions other than depthwise, dilated ones and padding that differs by side run the
  // TypeScript kernel (on wasm memory views when the
  // wasm kernels are chosen): one im2col + gemm per group.
  affineFold: {
    output: foldIntoWeightsOut,
    input(f, t, a, b) {
      // Not exact before zero padding with a shift: the padding would have to hold b (x + b padded is b
      // at the border, x padded then convolved sees 0 there). Reflect and replicate padding copy shifted
      // pixels: exact.
      const padded = ['pad', 'pad_bottom', 'pad_left', 'pad_right'].some((k) => Number(f[k] ?? 0) !== 0) && (f.pad_mode ?? 'zeros') === 'zeros';
      if (padded && b.some((x) => x !== 0)) return undefined;
      return foldIntoWeightsIn(f, t, a, b, Number(f.groups ?? 1));
    },
  },
  create: (node) => {
    if (node.config.padMode !== 'zeros') return convPadded(node);
    if (!node.wasm || generalGeometry(node.config)) return convJs(node);
    return isDepthwise(node) ? depthwiseWasm(node) : node.config.groups > 1 ? convJs(node) : convWasm(node);
  },
  onnx({ config: c, outShape, tensors: t }, b) {
    const x = b.as4d(b.inputs[0]);
    const inputs = [x, b.floats('weights', [outShape[0], b.shapeOf(x)[0] / c.groups, c.kernelH, c.kernelW], t.weights)];
    if (t.biases) inputs.push(b.floats('biases', [outShape[0]], t.biases));
    const window = { ...onnxWindow(c), dilations: [c.dilation, c.dilation], group: c.groups };
    if (c.padMode === 'zeros') {
      b.output('Conv', inputs, { ...window, pads: [c.padTop, c.padLeft, c.padBottom, c.padRight] });
      return;
    }
    // Reflect or replicate padding: an ONNX Pad (mode reflect or edge) in front, as PyTorch writes it.
    const [inC, inH, inW] = b.shapeOf(x);
    const pads = b.ints('pads', [8], [0, 0, c.padTop, c.padLeft, 0, 0, c.padBottom, c.padRight]);
    const shape: Shape3 = [inC, inH + c.padTop + c.padBottom, inW + c.padLeft + c.padRight];
    inputs[0] = b.step('pad', 'Pad', [x, pads], { mode: c.padMode === 'reflect' ? 'reflect' : 'edge' }, 4, shape);
    b.output('Conv', inputs, { ...window, pads: [0, 0, 0, 0] });
  },
  onnxImport: {
    ops: ['Conv'],
    // A Pad in front: zeros fold into the conv's pads, reflect and edge become its pad_mode.
    pads: true,
    read(n) {
      const v = n.image(0);
      const inC = v.shape[0];
      const group = n.int('group', 1);
      if (!(group >= 1) || inC % group !== 0) n.fail(`attribute "group" is ${group}; it must divide the ${inC} input channels`);
      const { name: wName, dims: wd, data } = n.constant(1, 'weight');
      if (wd.length !== 4 || wd[1] !== inC / group || wd[0] % group !== 0) {
        n.fail(`weight "${wName}" has shape [${wd.join(', ')}]; expected [filters, ${inC / group}, kH, kW]${group > 1 ? ` with filters a multiple of ${group} (group ${group})` : ''}`);
      }
      const [filters, , kH, kW] = wd;
      const ks = n.ints('kernel_shape');
      if (ks && (ks[0] !== kH || ks[1] !== kW)) n.fail(`attribute "kernel_shape" [${ks.join(', ')}] disagrees with the weight's ${kH}x${kW}`);
      const { stride, pads, dilation } = n.window(kH, kW, true);
      let padMode: ConvFields['padMode'] = 'zeros';
      if (v.pad) {
        if (v.pad.mode !== 'constant') {
          if (pads.some((p) => p !== 0)) n.fail(`pads with zeros after a Pad of mode ${v.pad.mode}; cnnviz's conv pads one way only`);
          padMode = v.pad.mode === 'reflect' ? 'reflect' : 'replicate';
        }
        for (let k = 0; k < 4; k++) pads[k] += v.pad.pads[k];
      }
      const [top, left, bottom, right] = pads;
      const h = convOutSize(v.shape[1], kH, stride, top, false, bottom, dilation);
      const w = convOutSize(v.shape[2], kW, stride, left, false, right, dilation);
      if (h < 1 || w < 1) n.fail(`a ${kH}x${kW} window does not fit its ${v.shape[1]}x${v.shape[2]} input`);
      const tensors: Record<string, { shape: number[]; data: Float32Array }> = { weights: { shape: [filters, inC / group, kH, kW], data } };
      if (n.hasInput(2)) {
        const bias = n.constant(2, 'bias');
        if (bias.data.length !== filters) n.fail(`bias "${bias.name}" has shape [${bias.dims.join(', ')}], expected ${filters} values`);
        tensors.biases = { shape: [filters], data: bias.data };
      }
      const fields: Record<string, unknown> & { type: string } = { type: 'conv', sx: kW, sy: kH, filters, stride, pad: top };
      if (!n.hasInput(2)) fields.bias = false;
      if (group > 1) fields.groups = group;
      if (pads.some((p) => p !== top)) Object.assign(fields, { pad_bottom: bottom, pad_left: left, pad_right: right });
      if (dilation !== 1) fields.dilation = dilation;
      if (padMode !== 'zeros') fields.pad_mode = padMode;
      n.emit(fields, { tensors, out: { shape: [filters, h, w], flat: false } });
    },
  },
});
