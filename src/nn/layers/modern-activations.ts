/**
 * The element-wise activations of today's CNNs (MobileNet, EfficientNet, ConvNeXt and course code):
 * clip (ReLU6), hardsigmoid, hardswish, silu, gelu, elu and softplus. Kernels in src/tensor/activations.ts
 * (backward from the input). They run the TypeScript kernels on either kernel choice (on wasm memory
 * views with the wasm kernels), as sigmoid and tanh do.
 *
 * ONNX: each exports as the standard op where opset 13 has one (Clip, HardSigmoid, Elu, Softplus), else
 * as the ops PyTorch writes for it (hardswish: HardSigmoid + Mul; silu: Sigmoid + Mul; gelu: its Erf
 * form). The import reads those ops and patterns back (src/nn/onnx/import.ts).
 */
import {
  clipActivation, eluActivation, geluActivation, hardSigmoidActivation, hardSwishActivation, siluActivation, softplusActivation, type InputActivation,
} from '../../tensor/activations.js';
import type { DefReader } from '../def-reader.js';
import { defineLayer, same, type LayerDef, type LayerHints, type LayerRole, type LayerWords, type OnnxBuilder, type OnnxExportNode } from './layer.js';

/** Each activation’s own words (LayerHints.words), its role among the layers and what its backward hands down. */
const WORDS: Record<string, { words: LayerWords; role: LayerRole; noun: string; passesDown: string }> = {
  clip: { passesDown: 'passes the gradient only where the input was strictly between the bounds', role: 'gate', noun: 'the clip', words: {
        what: 'Clip: out = min(max(x, min), max). ReLU6 (MobileNet v2) is clip to 0..6: a ReLU that also stops growing at 6. Backward: the gradient passes where min < x < max and is cut to zero where the value was clipped.',
        pictures: {
          activations: 'Values between the bounds; a tile flat at the top of the scale is a channel that saturated at max (no gradient passes there).',
          'activation-gradients': 'd(loss)/d(output). The layer below receives it only where the input was strictly between the bounds.',
        },
    } },
  hardsigmoid: { passesDown: 'multiplies the gradient by \u03b1 on the slope and passes none where it is flat at 0 or 1', role: 'squash', noun: 'the hard sigmoid', words: {
        what: 'Hard sigmoid: out = max(0, min(1, \u03b1x + \u03b2)), a piecewise-linear sigmoid (MobileNet v3\u2019s gates use \u03b1 = 1/6, \u03b2 = 1/2). Backward: \u03b1 \u00b7 dy on the slope, zero where it is flat at 0 or 1.',
        pictures: {
          activations: 'Values in 0..1 (never negative): 1 = gate fully open, 0 = closed.',
        },
    } },
  hardswish: { passesDown: 'multiplies the gradient by (2x + 3)/6 between \u22123 and 3, passes it unchanged above 3 and cuts it below \u22123', role: 'leaky-gate', noun: 'the hard swish', words: {
        what: 'Hard swish (MobileNet v3): out = x \u00b7 relu6(x + 3) / 6. Zero below \u22123, x above 3, a smooth-looking curve between that dips slightly below zero (to \u22120.375 at x = \u22121.5). Backward: dy \u00b7 (2x + 3)/6 between \u22123 and 3, dy above 3, 0 below \u22123.',
        pictures: {
          activations: 'Mostly like a ReLU\u2019s picture, with faint blue where inputs were slightly negative (the small dip).',
        },
    } },
  silu: { passesDown: 'multiplies the gradient by s + x\u00b7s\u00b7(1 \u2212 s), s = sigmoid(x): about 1 for large x, near 0 for very negative x', role: 'leaky-gate', noun: 'the SiLU', words: {
        what: 'SiLU (swish, EfficientNet): out = x \u00b7 sigmoid(x). Like a ReLU for large |x|, but smooth, and slightly negative (down to about \u22120.28) for negative inputs. Backward: dy \u00b7 (s + x s (1 \u2212 s)) with s = sigmoid(x).',
        pictures: {
          activations: 'Red where the input was positive; faint blue for small negative inputs (large negative ones go to 0).',
        },
    } },
  gelu: { passesDown: 'multiplies the gradient by \u03a6(x) + x\u00b7\u03c6(x): about 1 for large x, near 0 for very negative x', role: 'leaky-gate', noun: 'the GELU', words: {
        what: 'GELU (ConvNeXt, transformers): out = x \u00b7 \u03a6(x), x times the probability that a standard normal variable is below x (computed exactly, with erf). Close to ReLU away from 0, smooth near it, slightly negative (down to about \u22120.17) for negative inputs.',
        pictures: {
          activations: 'Red where the input was positive; faint blue for small negative inputs.',
        },
    } },
  elu: { passesDown: 'passes the gradient unchanged where x > 0 and multiplies it by \u03b1e^x elsewhere (never exactly zero)', role: 'leaky-gate', noun: 'the ELU', words: {
        what: 'ELU: out = x for x > 0, \u03b1(e^x \u2212 1) otherwise, which flattens out at \u2212\u03b1 for very negative x. Backward: dy for x > 0, dy \u00b7 \u03b1e^x otherwise (never exactly zero, so units cannot die).',
        pictures: {
          activations: 'Red where the input was positive; blue down to \u2212\u03b1 where it was negative.',
        },
    } },
  softplus: { passesDown: 'multiplies the gradient by sigmoid(x)', role: 'leaky-gate', noun: 'the softplus', words: {
        what: 'Softplus: out = log(1 + e^x), a smooth ReLU that is always positive. Backward: dy \u00b7 sigmoid(x).',
        pictures: {
          activations: 'Always positive: white-to-red (about 0.69 where the input was 0).',
        },
    } },
};

function inputActivation<F>(
  type: string,
  parse: (r: DefReader) => F,
  kernel: (f: F) => InputActivation,
  describe: (f: F) => string,
  negative: LayerHints['negative'],
  onnx: (node: OnnxExportNode<F>, b: OnnxBuilder) => void,
  onnxImport?: LayerDef['onnxImport'],
): LayerDef {
  return defineLayer<F>({
    type,
    parse,
    outShape: same,
    describe,
    hints: { negative, explain: type, positions: 'same', role: () => WORDS[type].role, noun: () => WORDS[type].noun, passesDown: () => WORDS[type].passesDown, words: () => WORDS[type].words },
    create: (node) => {
      const k = kernel(node.config);
      return {
        forward(inputs, output, n) {
          k.forward(inputs[0], output, n * node.outSize);
        },
        backward(inputs, _output, outputGrad, inputGrads, n) {
          k.backward(inputs[0], outputGrad, inputGrads[0], n * node.outSize);
        },
      };
    },
    onnx,
    onnxImport,
  });
}

const f32 = (x: number) => ({ float: x });

export interface ClipFields {
  /** Lower and upper bounds; null: none. */
  min: number | null;
  max: number | null;
}

function optionalReal(r: DefReader, field: string): number | null {
  return r.has(field) ? r.real(field, 0) : null;
}

export const clipLayer = inputActivation<ClipFields>(
  'clip',
  (r) => {
    const f = { min: optionalReal(r, 'min'), max: optionalReal(r, 'max') };
    if (f.min !== null && f.max !== null && !(f.min <= f.max)) r.fail('max', `(${f.max}) must be at least "min" (${f.min})`);
    return f;
  },
  (f) => clipActivation(f.min ?? -Infinity, f.max ?? Infinity),
  (f) => (f.min === 0 && f.max === 6 ? 'relu6 (clip to 0..6)' : `clip to ${f.min ?? '-inf'}..${f.max ?? 'inf'}`),
  'can',
  ({ config: c }, b) => {
    const bound = (name: string, v: number | null) => (v === null ? '' : b.floats(name, [], Float32Array.of(v)));
    b.output('Clip', [b.inputs[0], bound('min', c.min), bound('max', c.max)]);
  },
  {
    ops: ['Clip'],
    read(n) {
      const bound = (attr: string, i: number): number | undefined => {
        if (n.opset < 11) return n.has(attr) ? n.float(attr, 0) : undefined;
        if (!n.hasInput(i)) return undefined;
        const d = n.constant(i, attr).data;
        if (d.length !== 1) n.fail(`${attr} must be a single number, got ${d.length} values`);
        return d[0];
      };
      const lo = bound('min', 1);
      const hi = bound('max', 2);
      if (lo !== undefined && hi !== undefined && !(lo <= hi)) n.fail(`min (${lo}) is above max (${hi})`);
      const fields: Record<string, unknown> & { type: string } = { type: 'clip' };
      // Bounds beyond float32's range are none (how exporters write a one-sided clamp).
      if (lo !== undefined && lo > -3.4e38) fields.min = n.decimal(lo);
      if (hi !== undefined && hi < 3.4e38) fields.max = n.decimal(hi);
      n.emit(fields.min === 0 && fields.max === undefined ? { type: 'relu' } : fields);
    },
  },
);

export interface HardSigmoidFields {
  alpha: number;
  beta: number;
}

export const hardSigmoidLayer = inputActivation<HardSigmoidFields>(
  'hardsigmoid',
  // ONNX's defaults; PyTorch's Hardsigmoid is alpha 1/6, beta 0.5.
  (r) => ({ alpha: r.real('alpha', 0.2), beta: r.real('beta', 0.5) }),
  (f) => hardSigmoidActivation(f.alpha, f.beta),
  (f) => `hardsigmoid max(0, min(1, ${+f.alpha.toPrecision(4)}x + ${+f.beta.toPrecision(4)}))`,
  'never',
  ({ config: c }, b) => b.output('HardSigmoid', b.inputs, { alpha: f32(c.alpha), beta: f32(c.beta) }),
  { ops: ['HardSigmoid'], read: (n) => n.emit({ type: 'hardsigmoid', alpha: n.decimal(n.float('alpha', 0.2)), beta: n.decimal(n.float('beta', 0.5)) }) },
);

export const hardSwishLayer = inputActivation<Record<string, never>>(
  'hardswish',
  () => ({}),
  () => hardSwishActivation,
  () => 'hardswish x * relu6(x + 3) / 6',
  'can',
  (_node, b) => {
    const x = b.inputs[0];
    const gate = b.step('gate', 'HardSigmoid', [x], { alpha: f32(1 / 6), beta: f32(0.5) }, b.rankOf(x), b.shapeOf(x));
    b.output('Mul', [x, gate]);
  },
  { ops: ['HardSwish'], read: (n) => n.emit({ type: 'hardswish' }) },
);

export const siluLayer = inputActivation<Record<string, never>>(
  'silu',
  () => ({}),
  () => siluActivation,
  () => 'silu (swish) x * sigmoid(x)',
  'can',
  (_node, b) => {
    const x = b.inputs[0];
    const gate = b.step('gate', 'Sigmoid', [x], {}, b.rankOf(x), b.shapeOf(x));
    b.output('Mul', [x, gate]);
  },
);

export const geluLayer = inputActivation<Record<string, never>>(
  'gelu',
  () => ({}),
  () => geluActivation,
  () => 'gelu x * Phi(x) (exact, erf form)',
  'can',
  (_node, b) => {
    // x * 0.5 * (1 + erf(x / sqrt 2)), as PyTorch writes nn.GELU() for opsets below 20.
    const x = b.inputs[0];
    const rank = b.rankOf(x);
    const shape = b.shapeOf(x);
    const scaled = b.step('scaled', 'Div', [x, b.floats('sqrt2', [], Float32Array.of(Math.SQRT2))], {}, rank, shape);
    const e = b.step('erf', 'Erf', [scaled], {}, rank, shape);
    const onePlus = b.step('one_plus', 'Add', [e, b.floats('one', [], Float32Array.of(1))], {}, rank, shape);
    const times = b.step('times_x', 'Mul', [x, onePlus], {}, rank, shape);
    b.output('Mul', [times, b.floats('half', [], Float32Array.of(0.5))]);
  },
);

export const eluLayer = inputActivation<{ alpha: number }>(
  'elu',
  (r) => ({ alpha: r.real('alpha', 1) }),
  (f) => eluActivation(f.alpha),
  (f) => `elu, alpha ${f.alpha}`,
  'can',
  ({ config: c }, b) => b.output('Elu', b.inputs, { alpha: f32(c.alpha) }),
  { ops: ['Elu'], read: (n) => n.emit({ type: 'elu', alpha: n.decimal(n.float('alpha', 1)) }) },
);

export const softplusLayer = inputActivation<Record<string, never>>(
  'softplus',
  () => ({}),
  () => softplusActivation,
  () => 'softplus log(1 + e^x)',
  'never',
  (_node, b) => b.output('Softplus', b.inputs),
  { ops: ['Softplus'], read: (n) => n.emit({ type: 'softplus' }) },
);
