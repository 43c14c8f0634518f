import { UserError } from '../util/errors.js';

/** Shape of one sample: [channels, height, width]. */
export type Shape3 = [number, number, number];

/**
 * A layer after desugaring ConvNetJS's shorthands (activation, drop_prob, the fc layer implied by a
 * softmax/svm/regression): what the network is actually built from. `source` is the index of the layer
 * definition in the user's spec that produced it, for error messages.
 */
export type LayerConfig =
  | { type: 'input'; source: number; channels: number; height: number; width: number }
  | {
      type: 'conv';
      source: number;
      filters: number;
      kernelH: number;
      kernelW: number;
      stride: number;
      pad: number;
      biasPref: number;
      l1DecayMul: number;
      l2DecayMul: number;
    }
  | { type: 'pool'; source: number; kernelH: number; kernelW: number; stride: number; pad: number }
  | { type: 'fc'; source: number; units: number; biasPref: number; l1DecayMul: number; l2DecayMul: number }
  | { type: 'relu' | 'sigmoid' | 'tanh'; source: number }
  | { type: 'maxout'; source: number; groupSize: number }
  | { type: 'dropout'; source: number; dropProb: number }
  | { type: 'lrn'; source: number; k: number; n: number; alpha: number; beta: number }
  | { type: 'softmax' | 'svm'; source: number; classes: number }
  | { type: 'regression'; source: number; outputs: number };

export type LayerType = LayerConfig['type'];

/** A model spec as parsed: the user's definitions (kept for the record) and the layers to build. */
export interface ModelSpec {
  /** Where it came from (preset name or file path), for messages. */
  origin: string;
  /** The layer definitions as the user wrote them (ConvNetJS layer_defs). */
  layerDefs: Record<string, unknown>[];
  layers: LayerConfig[];
  /** Per layer: output shape of one sample. */
  shapes: Shape3[];
}

export const DEFAULT_PRESET = 'convnetjs-cifar10';

/** ConvNetJS's CIFAR-10 demo network, as written in the demo's page. */
const PRESETS: Record<string, Record<string, unknown>[]> = {
  'convnetjs-cifar10': [
    { type: 'input', out_sx: 32, out_sy: 32, out_depth: 3 },
    { type: 'conv', sx: 5, filters: 16, stride: 1, pad: 2, activation: 'relu' },
    { type: 'pool', sx: 2, stride: 2 },
    { type: 'conv', sx: 5, filters: 20, stride: 1, pad: 2, activation: 'relu' },
    { type: 'pool', sx: 2, stride: 2 },
    { type: 'conv', sx: 5, filters: 20, stride: 1, pad: 2, activation: 'relu' },
    { type: 'pool', sx: 2, stride: 2 },
    { type: 'softmax', num_classes: 10 },
  ],
};

export function presetNames(): string[] {
  return Object.keys(PRESETS);
}

export function presetLayerDefs(name: string): Record<string, unknown>[] | undefined {
  const defs = PRESETS[name];
  return defs ? defs.map((d) => ({ ...d })) : undefined;
}

const KNOWN_TYPES = new Set([
  'input', 'conv', 'pool', 'fc', 'relu', 'sigmoid', 'tanh', 'maxout', 'dropout', 'lrn', 'softmax', 'svm', 'regression',
]);

/** Reads typed fields of one layer definition, failing with a message naming the layer and field. */
class DefReader {
  constructor(
    private readonly def: Record<string, unknown>,
    private readonly where: string,
  ) {}

  fail(field: string, problem: string): never {
    throw new UserError(`${this.where}: field "${field}" ${problem}`);
  }

  private num(field: string, fallback: number | undefined): number {
    const v = this.def[field];
    if (v === undefined) {
      if (fallback === undefined) this.fail(field, 'is missing');
      return fallback;
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(field, `must be a number, got ${JSON.stringify(v)}`);
    return v;
  }

  /** A whole number >= min. */
  int(field: string, min: number, fallback?: number): number {
    const v = this.num(field, fallback);
    if (!Number.isInteger(v) || v < min) this.fail(field, `must be a whole number >= ${min}, got ${v}`);
    return v;
  }

  real(field: string, fallback?: number, range?: [number, number]): number {
    const v = this.num(field, fallback);
    if (range && (v < range[0] || v > range[1])) this.fail(field, `must be between ${range[0]} and ${range[1]}, got ${v}`);
    return v;
  }

  has(field: string): boolean {
    return this.def[field] !== undefined;
  }

  str(field: string): string | undefined {
    const v = this.def[field];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') this.fail(field, `must be a string, got ${JSON.stringify(v)}`);
    return v;
  }
}

function layerWhere(origin: string, index: number, type?: string): string {
  return `${origin}: layer ${index}${type ? ` (${type})` : ''}`;
}

/** Desugar ConvNetJS layer_defs into the layers to build (same rules as ConvNetJS's Net.makeLayers). */
function desugar(defs: Record<string, unknown>[], origin: string): LayerConfig[] {
  const out: LayerConfig[] = [];
  defs.forEach((def, i) => {
    if (def === null || typeof def !== 'object' || Array.isArray(def)) {
      throw new UserError(`${layerWhere(origin, i)}: must be an object like {"type": "conv", ...}`);
    }
    const type = def.type;
    if (typeof type !== 'string') throw new UserError(`${layerWhere(origin, i)}: field "type" is missing or not a string`);
    if (!KNOWN_TYPES.has(type)) {
      throw new UserError(`${layerWhere(origin, i)}: field "type" is "${type}", not one of ${[...KNOWN_TYPES].join(', ')}`);
    }
    const r = new DefReader(def, layerWhere(origin, i, type));
    if (i === 0 && type !== 'input') r.fail('type', 'must be "input" for the first layer');
    if (i > 0 && type === 'input') r.fail('type', 'is "input", which is only allowed as the first layer');

    const activation = r.str('activation');
    // ConvNetJS defaults: no L1 decay unless asked for per layer, full L2 decay.
    const decay = () => ({ l1DecayMul: r.real('l1_decay_mul', 0), l2DecayMul: r.real('l2_decay_mul', 1) });
    // ConvNetJS: relus like a bit of positive bias to get gradients early.
    const biasPref = () => r.real('bias_pref', activation === 'relu' ? 0.1 : 0);

    switch (type) {
      case 'input':
        out.push({ type, source: i, channels: r.int('out_depth', 1), height: r.int('out_sy', 1), width: r.int('out_sx', 1) });
        break;
      case 'conv': {
        const kernelW = r.int('sx', 1);
        out.push({
          type, source: i, filters: r.int('filters', 1), kernelW, kernelH: r.int('sy', 1, kernelW),
          stride: r.int('stride', 1, 1), pad: r.int('pad', 0, 0), biasPref: biasPref(), ...decay(),
        });
        break;
      }
      case 'pool': {
        const kernelW = r.int('sx', 1);
        out.push({ type, source: i, kernelW, kernelH: r.int('sy', 1, kernelW), stride: r.int('stride', 1, 2), pad: r.int('pad', 0, 0) });
        break;
      }
      case 'fc':
        out.push({ type, source: i, units: r.int('num_neurons', 1), biasPref: biasPref(), ...decay() });
        break;
      case 'relu':
      case 'sigmoid':
      case 'tanh':
        out.push({ type, source: i });
        break;
      case 'maxout':
        out.push({ type, source: i, groupSize: r.int('group_size', 1, 2) });
        break;
      case 'dropout':
        out.push({ type, source: i, dropProb: r.real('drop_prob', 0.5, [0, 0.999]) });
        break;
      case 'lrn':
        out.push({ type, source: i, k: r.real('k'), n: r.int('n', 1), alpha: r.real('alpha'), beta: r.real('beta') });
        break;
      case 'softmax':
      case 'svm': {
        const classes = r.int('num_classes', 2);
        out.push({ type: 'fc', source: i, units: classes, biasPref: 0, l1DecayMul: 0, l2DecayMul: 1 });
        out.push({ type, source: i, classes });
        break;
      }
      case 'regression': {
        const outputs = r.int('num_neurons', 1);
        out.push({ type: 'fc', source: i, units: outputs, biasPref: 0, l1DecayMul: 0, l2DecayMul: 1 });
        out.push({ type, source: i, outputs });
        break;
      }
    }

    if (activation !== undefined) {
      if (type !== 'conv' && type !== 'fc') r.fail('activation', 'is only allowed on conv and fc layers');
      if (activation === 'relu' || activation === 'sigmoid' || activation === 'tanh') out.push({ type: activation, source: i });
      else if (activation === 'maxout') out.push({ type: 'maxout', source: i, groupSize: r.int('group_size', 1, 2) });
      else r.fail('activation', `is "${activation}", not one of relu, sigmoid, tanh, maxout`);
    }
    if (r.has('drop_prob') && type !== 'dropout') {
      out.push({ type: 'dropout', source: i, dropProb: r.real('drop_prob', undefined, [0, 0.999]) });
    }
  });
  return out;
}

function outSize(input: number, kernel: number, stride: number, pad: number): number {
  return Math.floor((input + 2 * pad - kernel) / stride) + 1;
}

/** Output shape of every layer, checking that each fits its input. */
export function inferShapes(layers: LayerConfig[], origin: string): Shape3[] {
  const shapes: Shape3[] = [];
  layers.forEach((layer, i) => {
    const where = layerWhere(origin, layer.source, layer.type);
    const prev = shapes[i - 1];
    let shape: Shape3;
    switch (layer.type) {
      case 'input':
        shape = [layer.channels, layer.height, layer.width];
        break;
      case 'conv':
      case 'pool': {
        const h = outSize(prev[1], layer.kernelH, layer.stride, layer.pad);
        const w = outSize(prev[2], layer.kernelW, layer.stride, layer.pad);
        if (h < 1 || w < 1) {
          const field = prev[2] + 2 * layer.pad < layer.kernelW ? 'sx' : 'sy';
          throw new UserError(
            `${where}: field "${field}" (${layer.kernelW}x${layer.kernelH} window, stride ${layer.stride}, pad ${layer.pad}) ` +
              `does not fit its ${prev[1]}x${prev[2]} input: output would be ${h}x${w}, smaller than 1x1`,
          );
        }
        if (layer.type === 'pool' && layer.pad >= Math.min(layer.kernelH, layer.kernelW)) {
          throw new UserError(`${where}: field "pad" (${layer.pad}) must be smaller than the pooling window`);
        }
        shape = [layer.type === 'conv' ? layer.filters : prev[0], h, w];
        break;
      }
      case 'fc':
        shape = [layer.units, 1, 1];
        break;
      case 'maxout': {
        const c = Math.floor(prev[0] / layer.groupSize);
        if (c < 1) throw new UserError(`${where}: field "group_size" (${layer.groupSize}) is larger than the ${prev[0]} input channels`);
        shape = [c, prev[1], prev[2]];
        break;
      }
      case 'softmax':
      case 'svm':
        shape = [layer.classes, 1, 1];
        break;
      case 'regression':
        shape = [layer.outputs, 1, 1];
        break;
      default:
        shape = [prev[0], prev[1], prev[2]];
    }
    shapes.push(shape);
  });
  const last = layers[layers.length - 1];
  if (!['softmax', 'svm', 'regression'].includes(last.type)) {
    throw new UserError(`${layerWhere(origin, last.source, last.type)}: the last layer must be a loss layer (softmax, svm or regression)`);
  }
  layers.slice(0, -1).forEach((l) => {
    if (['softmax', 'svm', 'regression'].includes(l.type)) {
      throw new UserError(`${layerWhere(origin, l.source, l.type)}: a loss layer (${l.type}) is only allowed as the last layer`);
    }
  });
  return shapes;
}

/**
 * Parse a model spec: a ConvNetJS `layer_defs` array, or an object holding one under `layers` or
 * `layer_defs`. Fails with one message naming the layer index and field.
 */
export function parseSpec(json: unknown, origin: string): ModelSpec {
  let defs: unknown = json;
  if (json && typeof json === 'object' && !Array.isArray(json)) {
    const o = json as Record<string, unknown>;
    defs = o.layer_defs ?? o.layers;
  }
  if (!Array.isArray(defs)) {
    throw new UserError(`${origin}: a model spec must be a JSON array of layer definitions (ConvNetJS layer_defs), or an object with a "layer_defs" array`);
  }
  if (defs.length < 2) throw new UserError(`${origin}: a model spec needs at least an input layer and a loss layer, got ${defs.length} layer(s)`);
  const layerDefs = defs as Record<string, unknown>[];
  const layers = desugar(layerDefs, origin);
  const shapes = inferShapes(layers, origin);
  return { origin, layerDefs, layers, shapes };
}

/** Build a spec from already desugared layers (snapshots and ConvNetJS imports). */
export function specFromLayers(layers: LayerConfig[], layerDefs: Record<string, unknown>[], origin: string): ModelSpec {
  return { origin, layerDefs, layers, shapes: inferShapes(layers, origin) };
}

export function presetSpec(name: string): ModelSpec {
  const defs = presetLayerDefs(name);
  if (!defs) throw new UserError(`unknown preset "${name}" (known: ${presetNames().join(', ')})`);
  return parseSpec(defs, `preset ${name}`);
}

/** Fail unless the network's input is what the data gives. */
export function assertInputShape(spec: ModelSpec, data: Shape3, dataName: string): void {
  const s = spec.shapes[0];
  if (s[0] !== data[0] || s[1] !== data[1] || s[2] !== data[2]) {
    throw new UserError(
      `${spec.origin}: layer 0 (input): fields "out_sx", "out_sy", "out_depth" give ${s[2]}x${s[1]}x${s[0]}, ` +
        `but ${dataName} images are ${data[2]}x${data[1]}x${data[0]}`,
    );
  }
}

export function paramCountOf(layer: LayerConfig, inShape: Shape3 | undefined): number {
  if (layer.type === 'conv' && inShape) return layer.filters * inShape[0] * layer.kernelH * layer.kernelW + layer.filters;
  if (layer.type === 'fc' && inShape) return layer.units * inShape[0] * inShape[1] * inShape[2] + layer.units;
  return 0;
}

/** Short human description of a layer, e.g. "conv 5x5, 16 filters, stride 1, pad 2". */
export function describeLayer(layer: LayerConfig): string {
  switch (layer.type) {
    case 'input': return `input ${layer.width}x${layer.height}x${layer.channels}`;
    case 'conv': return `conv ${layer.kernelW}x${layer.kernelH}, ${layer.filters} filters, stride ${layer.stride}, pad ${layer.pad}`;
    case 'pool': return `max pool ${layer.kernelW}x${layer.kernelH}, stride ${layer.stride}${layer.pad ? `, pad ${layer.pad}` : ''}`;
    case 'fc': return `fully connected, ${layer.units} units`;
    case 'maxout': return `maxout, groups of ${layer.groupSize}`;
    case 'dropout': return `dropout p=${layer.dropProb}`;
    case 'lrn': return `local response norm k=${layer.k} n=${layer.n} alpha=${layer.alpha} beta=${layer.beta}`;
    case 'softmax': return `softmax, ${layer.classes} classes`;
    case 'svm': return `svm (hinge loss), ${layer.classes} classes`;
    case 'regression': return `L2 regression, ${layer.outputs} outputs`;
    default: return layer.type;
  }
}
