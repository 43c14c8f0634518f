import { avgPool2dBackward, avgPool2dForward } from '../../tensor/avgpool.js';
import { convOutSize } from '../../tensor/conv2d.js';
import { maxPool2dBackward, maxPool2dForward, type Pool2dDims } from '../../tensor/pool2d.js';
import { windowShape } from './conv.js';
import { defineLayer, ensureInt32, onnxWindow, type ExplainContext, type LayerImpl, type LayerNode, type LayerWords, type OnnxAttrs } from './layer.js';
import { below, cap, gradientFrom, onlyPrev, pct, zerosSentence } from './wording.js';

export interface PoolFields {
  kernelH: number;
  kernelW: number;
  stride: number;
  pad: number;
  /** "max" (ConvNetJS, the default) or "avg". */
  mode: 'max' | 'avg';
  /** avg: whether padding positions count in the divisor (PyTorch's count_include_pad; default false). */
  countIncludePad: boolean;
  /** PyTorch's ceil_mode: output sizes rounded up, the last window hanging over the bottom/right edge. */
  ceilMode: boolean;
  /** Padding per side when they differ (pad_top, pad_bottom, pad_left, pad_right; each defaults to pad). */
  padTop: number;
  padBottom: number;
  padLeft: number;
  padRight: number;
  /** Max pool: spacing of the window's taps (PyTorch's MaxPool2d dilation), 1 for an ordinary pool. */
  dilation: number;
}

/** Padding that differs by side, or dilation: the TypeScript kernels handle them (the SIMD max pool does not). */
function general(c: PoolFields): boolean {
  return c.dilation !== 1 || c.padTop !== c.pad || c.padBottom !== c.pad || c.padLeft !== c.pad || c.padRight !== c.pad;
}

function poolDims(node: LayerNode<PoolFields>): Pool2dDims {
  const c = node.config;
  const [ch, inH, inW] = node.inShapes[0];
  return {
    n: 0, c: ch, inH, inW, kH: c.kernelH, kW: c.kernelW, stride: c.stride, pad: c.pad, outH: node.outShape[1], outW: node.outShape[2],
    padTop: c.padTop, padLeft: c.padLeft, padBottom: c.padBottom, padRight: c.padRight, dilation: c.dilation,
  };
}

/** Max pooling on the TypeScript kernels; argmax: flat input index of each output's maximum. */
function maxPoolJs(node: LayerNode<PoolFields>): LayerImpl {
  const dims = poolDims(node);
  let argmax: Int32Array = new Int32Array(0);
  return {
    forward(inputs, output, n) {
      dims.n = n;
      argmax = ensureInt32(argmax, n * node.outSize);
      maxPool2dForward(dims, inputs[0], output, argmax);
    },
    backward(_inputs, _output, outputGrad, inputGrads, n) {
      dims.n = n;
      maxPool2dBackward(dims, outputGrad, argmax, inputGrads[0]);
    },
  };
}

/** Average pooling ({"mode": "avg"}, src/tensor/avgpool.ts): TypeScript kernels, on wasm memory views too. */
function avgPool(node: LayerNode<PoolFields>): LayerImpl {
  const dims = poolDims(node);
  const includePad = node.config.countIncludePad;
  return {
    forward(inputs, output, n) {
      dims.n = n;
      avgPool2dForward(dims, inputs[0], output, includePad);
    },
    backward(_inputs, _output, outputGrad, inputGrads, n) {
      dims.n = n;
      avgPool2dBackward(dims, outputGrad, inputGrads[0], includePad);
    },
  };
}

/** Max pooling on the SIMD kernels (bit-identical to the TypeScript ones), argmax kept in wasm memory. */
function maxPoolWasm(node: LayerNode<PoolFields>): LayerImpl {
  const wk = node.wasm!;
  const d = poolDims(node);
  let argmaxAt = 0;
  return {
    reserveWasm(n) {
      argmaxAt = wk.alloc(n * node.outSize);
    },
    forward(inputs, output, n) {
      wk.x.maxPoolForward(n * d.c, d.inH, d.inW, d.kH, d.kW, d.stride, d.pad, d.outH, d.outW, inputs[0].byteOffset, output.byteOffset, argmaxAt);
    },
    backward(_inputs, _output, outputGrad, inputGrads, n) {
      const inputGrad = inputGrads[0];
      if (inputGrad) wk.x.maxPoolBackward(n * node.outSize, n * node.inSizes[0], outputGrad.byteOffset, argmaxAt, inputGrad.byteOffset);
    },
  };
}

/** The pool's words: max (winners, a sparse gradient below) or average (spread evenly). */
function poolWords(ctx: ExplainContext): LayerWords {
  const c = ctx.self.config as unknown as PoolFields;
  const win = `${c.kernelW}\u00d7${c.kernelH}`;
  const halves = c.stride === 2 && c.kernelW === 2 && c.kernelH === 2 ? ' (2\u00d72, stride 2 halves width and height)' : ` (${win} windows, stride ${c.stride})`;
  const zAct = ctx.self.zeros.activations;
  const prev = onlyPrev(ctx);
  const topPatches = `A pooled channel responds to the same things as the channel of ${below(ctx)} it pools, over a slightly larger patch.`;
  if (c.mode === 'avg') {
    return {
      what: `Average pooling: each output is the mean of a window${halves}. No weights. Backward: each output\u2019s gradient is shared equally by every position of its window (so, unlike max pooling, the gradient below is not sparse).`,
      pictures: {
        activations: `The mean of each window: a smoothed, smaller copy of the maps of ${below(ctx)}.`,
        'activation-gradients': [`d(loss)/d(pool output). ${gradientFrom(ctx)}`, zerosSentence(ctx, 'activation-gradients'), `${cap(below(ctx))} receives it spread evenly over each window.`].filter(Boolean).join(' '),
      },
      topPatches,
    };
  }
  const sparse = c.stride >= c.kernelW && c.stride >= c.kernelH ? ` (for ${win} windows that do not overlap at least ${Math.round(100 * (1 - 1 / (c.kernelW * c.kernelH)))}% of it)` : '';
  const below0 = prev?.zeros['activation-gradients'];
  return {
    what: `Max pooling: each output is the largest value of a small window of its input${halves}. No weights. Backward: each output\u2019s gradient goes only to the input position that won its window; the other positions get exactly 0.`,
    pictures: {
      activations: `The maxima of each window: a smaller, coarser copy of the maps of ${below(ctx)}, keeping the strongest responses.${zAct === undefined ? '' : ` Here ${pct(zAct)} of the values are exactly 0 (black).`}`,
      'activation-gradients': [
        `d(loss)/d(pool output). ${gradientFrom(ctx)}`,
        zerosSentence(ctx, 'activation-gradients'),
        (ctx.self.zeros['activation-gradients'] ?? 1) < 0.5 ? 'So this gradient is dense: every pooled value feeds the layer above.' : '',
        `The sparse picture is one layer down: in the backward pass the pool routes each of these values to the single winning position of its window and gives the other positions 0, so ${below(ctx)} receives a gradient that is mostly zeros${sparse}.`,
        below0 !== undefined && prev ? `Measured: ${prev.called} receives a gradient that is ${pct(below0)} zeros.` : '',
      ].filter(Boolean).join(' '),
    },
    pictureNotes: {
      'activation-gradients': 'Max pool: going backward, the pool passes each value only to the winner (the max) of its window and 0 to the other positions, so the layer below receives a sparse gradient.',
    },
    topPatches,
  };
}

export const poolLayer = defineLayer<PoolFields>({
  type: 'pool',
  parse(r) {
    const kernelW = r.int('sx', 1);
    const mode = r.str('mode') ?? 'max';
    if (mode !== 'max' && mode !== 'avg') r.fail('mode', `must be "max" or "avg", got ${JSON.stringify(mode)}`);
    if (mode === 'max' && r.has('count_include_pad')) r.fail('count_include_pad', 'applies to "mode": "avg" only');
    if (mode === 'avg' && r.has('dilation')) r.fail('dilation', 'applies to "mode": "max" only (an average pool has no dilation in PyTorch or ONNX)');
    const pad = r.int('pad', 0, 0);
    return {
      kernelW, kernelH: r.int('sy', 1, kernelW), stride: r.int('stride', 1, 2), pad, mode: mode as PoolFields['mode'],
      countIncludePad: r.bool('count_include_pad', false), ceilMode: r.bool('ceil_mode', false),
      padTop: r.int('pad_top', 0, pad), padBottom: r.int('pad_bottom', 0, pad), padLeft: r.int('pad_left', 0, pad), padRight: r.int('pad_right', 0, pad),
      dilation: r.int('dilation', 1, 1),
    };
  },
  outShape(c, [prev], fail) {
    const h = convOutSize(prev[1], c.kernelH, c.stride, c.padTop, c.ceilMode, c.padBottom, c.dilation);
    const w = convOutSize(prev[2], c.kernelW, c.stride, c.padLeft, c.ceilMode, c.padRight, c.dilation);
    if (!general(c)) windowShape(c, prev, fail);
    else if (h < 1 || w < 1) {
      fail('sx', `(${c.kernelW}x${c.kernelH} window, dilation ${c.dilation}, stride ${c.stride}, pads top ${c.padTop} bottom ${c.padBottom} left ${c.padLeft} right ${c.padRight}) does not fit its ${prev[1]}x${prev[2]} input`);
    }
    // The window's extent: its taps span (k - 1) * dilation + 1 pixels; padding as wide leaves windows with nothing in them.
    const spanH = (c.kernelH - 1) * c.dilation + 1;
    const spanW = (c.kernelW - 1) * c.dilation + 1;
    const sides = [['pad_top', c.padTop, spanH], ['pad_bottom', c.padBottom, spanH], ['pad_left', c.padLeft, spanW], ['pad_right', c.padRight, spanW]] as const;
    for (const [field, p, span] of sides) {
      if (p >= span) fail(general(c) ? field : 'pad', `(${p}) must be smaller than the pooling window (${span} pixels${c.dilation === 1 ? '' : ' with its dilation'})`);
    }
    // PyTorch divides such a window by its part inside the padded input, which cnnviz's kernel does not.
    if (c.ceilMode && c.mode === 'avg' && c.countIncludePad) fail('ceil_mode', 'with "count_include_pad": true is not supported');
    return [prev[0], h, w];
  },
  describe: (c) => {
    const sides = c.padTop !== c.pad || c.padBottom !== c.pad || c.padLeft !== c.pad || c.padRight !== c.pad;
    const pads = sides ? `, pads top ${c.padTop} bottom ${c.padBottom} left ${c.padLeft} right ${c.padRight}` : c.pad ? `, pad ${c.pad}` : '';
    const dil = c.dilation === 1 ? '' : `, dilation ${c.dilation} (taps ${c.dilation} px apart)`;
    return `${c.mode} pool ${c.kernelW}x${c.kernelH}, stride ${c.stride}${pads}${dil}${c.mode === 'avg' && c.countIncludePad ? ', padding counted' : ''}` +
      `${c.ceilMode ? ', ceil mode (last window overhangs)' : ''}`;
  },
  hints: {
    negative: 'if-inputs-can', explain: 'pool', positions: 'window', topPatches: true,
    role: (c) => (c.mode === 'avg' ? 'window-mean' : 'window-max'),
    noun: (c) => (c.mode === 'avg' ? 'the average pool' : 'the max pool'),
    passesDown: (c) => (c.mode === 'avg' ? 'spreads each value evenly over its window' : 'sends each value only to the winner (the max) of its window and 0 to the other positions'),
    words: poolWords,
  },
  fromConvNetJS: (l, num) => ({ type: 'pool', sx: num('sx'), sy: num('sy'), stride: num('stride'), pad: num('pad', 0) }),
  create: (node) => (node.config.mode === 'avg' ? avgPool(node) : node.wasm && !general(node.config) ? maxPoolWasm(node) : maxPoolJs(node)),
  onnx({ config: c }, b) {
    const x = b.as4d(b.inputs[0]);
    // cnnviz's max pool lets only in-bounds positions compete: ONNX MaxPool's padding (-inf) is the same.
    const ceil: OnnxAttrs = c.ceilMode ? { ceil_mode: 1 } : {};
    const window: OnnxAttrs = { ...onnxWindow(c), pads: [c.padTop, c.padLeft, c.padBottom, c.padRight] };
    if (c.mode === 'avg') b.output('AveragePool', [x], { ...window, count_include_pad: c.countIncludePad ? 1 : 0, ...ceil });
    else b.output('MaxPool', [x], { ...window, ...(c.dilation !== 1 ? { dilations: [c.dilation, c.dilation] } : {}), ...ceil });
  },
  onnxImport: {
    ops: ['MaxPool', 'AveragePool'],
    // A zero Pad in front of AveragePool: how PyTorch writes AvgPool2d(count_include_pad=True).
    pads: true,
    read(n) {
      const v = n.image(0);
      const ks = n.ints('kernel_shape');
      if (!ks || ks.length !== 2) return n.fail('attribute "kernel_shape" must give the 2 window sizes of an image pool');
      const [kH, kW] = ks;
      const { stride, pads, dilation } = n.window(kH, kW, true);
      let [top, left, bottom, right] = pads;
      if (n.int('storage_order', 0) !== 0) n.fail('attribute "storage_order" must be 0 (row major)');
      const avg = n.opType === 'AveragePool';
      if (avg && dilation !== 1) n.fail(`attribute "dilations" is [${dilation}, ${dilation}]; cnnviz's average pool has no dilation`);
      let countIncludePad = avg && n.int('count_include_pad', 0) === 1;
      if (v.pad) {
        if (!avg || v.pad.mode !== 'constant') {
          n.fail(`reads a Pad (mode ${v.pad.mode}); cnnviz reads Pad in front of a pool only as zeros before AveragePool`);
        }
        if (pads.some((p) => p !== 0)) n.fail('attribute "pads" must be 0 after a Pad');
        [top, left, bottom, right] = v.pad.pads;
        countIncludePad = true;
      }
      const ceil = n.int('ceil_mode', 0) === 1;
      const [, inH, inW] = v.shape;
      const size = (ceilMode: boolean) => [
        convOutSize(inH, kH, stride, top, ceilMode, bottom, dilation),
        convOutSize(inW, kW, stride, left, ceilMode, right, dilation),
      ];
      const [h, w] = size(ceil);
      if (h < 1 || w < 1) n.fail(`a ${kH}x${kW} window does not fit its ${inH}x${inW} input`);
      const spanH = (kH - 1) * dilation + 1;
      const spanW = (kW - 1) * dilation + 1;
      if (Math.max(top, bottom) >= spanH || Math.max(left, right) >= spanW) n.fail(`padding [${[top, left, bottom, right].join(', ')}] must be smaller than the ${kH}x${kW} window`);
      const fields: Record<string, unknown> & { type: string } = { type: 'pool', sx: kW, sy: kH, stride, pad: top };
      if ([left, bottom, right].some((p) => p !== top)) Object.assign(fields, { pad_bottom: bottom, pad_left: left, pad_right: right });
      if (dilation !== 1) fields.dilation = dilation;
      if (avg) Object.assign(fields, { mode: 'avg', count_include_pad: countIncludePad });
      // Only where it changes the output size (else the same pool, and a plainer spec).
      const [h0, w0] = size(false);
      if (ceil && (h !== h0 || w !== w0)) {
        if (avg && countIncludePad) n.fail('attribute "ceil_mode" is 1 with count_include_pad: cnnviz cannot divide the overhanging windows as ONNX does');
        fields.ceil_mode = true;
      }
      n.emit(fields, { out: { shape: [v.shape[0], h, w], flat: false } });
    },
  },
});
