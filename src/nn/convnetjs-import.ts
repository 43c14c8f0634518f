import { UserError } from '../util/errors.js';
import { Network } from './network.js';
import type { Snapshot } from './snapshot.js';
import { specFromLayers, type LayerConfig } from './spec.js';

/**
 * Load a ConvNetJS snapshot (`JSON.stringify(net.toJSON())`). ConvNetJS stores volumes channels-last,
 * w[((sx*y)+x)*depth+d]; we store NCHW. Conv filter f, channel d, row y, column x maps to
 * [f][d][y][x]; an fc unit's weight for input (x, y, d) maps to [unit][d][y][x].
 */

type Json = Record<string, unknown>;

export function isConvNetJSSnapshot(o: Json): boolean {
  const layers = o.layers;
  return Array.isArray(layers) && layers.length > 0 && typeof (layers[0] as Json)?.layer_type === 'string';
}

/** A ConvNetJS Vol's values: an array, or an object {"0": .., "1": ..} (how JSON.stringify writes a typed array). */
function volValues(vol: unknown, expected: number, where: string): ArrayLike<number> {
  const w = (vol as Json | undefined)?.w;
  let values: number[] | undefined;
  if (Array.isArray(w)) values = w as number[];
  else if (w && typeof w === 'object') {
    const o = w as Record<string, number>;
    values = Array.from({ length: Object.keys(o).length }, (_, i) => o[String(i)]);
  }
  if (!values || values.length !== expected || values.some((v) => typeof v !== 'number')) {
    throw new UserError(`${where}: expected a volume of ${expected} numbers`);
  }
  return values;
}

function num(l: Json, field: string, where: string, fallback?: number): number {
  const v = l[field] ?? fallback;
  if (typeof v !== 'number') throw new UserError(`${where}: field "${field}" is missing or not a number`);
  return v;
}

export function importConvNetJS(json: Json, file: string): Snapshot {
  const src = json.layers as Json[];
  const layers: LayerConfig[] = [];
  const layerDefs: Json[] = [];
  src.forEach((l, i) => {
    const where = `${file}: ConvNetJS layer ${i} (${String(l.layer_type)})`;
    const decay = { l1DecayMul: num(l, 'l1_decay_mul', where, 0), l2DecayMul: num(l, 'l2_decay_mul', where, 1) };
    switch (l.layer_type) {
      case 'input':
        layers.push({ type: 'input', source: i, channels: num(l, 'out_depth', where), height: num(l, 'out_sy', where), width: num(l, 'out_sx', where) });
        layerDefs.push({ type: 'input', out_sx: l.out_sx, out_sy: l.out_sy, out_depth: l.out_depth });
        break;
      case 'conv':
        layers.push({
          type: 'conv', source: i, filters: num(l, 'out_depth', where), kernelW: num(l, 'sx', where), kernelH: num(l, 'sy', where),
          stride: num(l, 'stride', where), pad: num(l, 'pad', where, 0), biasPref: 0, ...decay,
        });
        layerDefs.push({ type: 'conv', sx: l.sx, sy: l.sy, filters: l.out_depth, stride: l.stride, pad: l.pad ?? 0, l1_decay_mul: decay.l1DecayMul, l2_decay_mul: decay.l2DecayMul });
        break;
      case 'pool':
        layers.push({ type: 'pool', source: i, kernelW: num(l, 'sx', where), kernelH: num(l, 'sy', where), stride: num(l, 'stride', where), pad: num(l, 'pad', where, 0) });
        layerDefs.push({ type: 'pool', sx: l.sx, sy: l.sy, stride: l.stride, pad: l.pad ?? 0 });
        break;
      case 'fc': {
        layers.push({ type: 'fc', source: i, units: num(l, 'out_depth', where), biasPref: 0, ...decay });
        // An fc right before a loss layer is the one ConvNetJS adds itself; the loss def implies it.
        const next = src[i + 1]?.layer_type;
        if (next !== 'softmax' && next !== 'svm' && next !== 'regression') {
          layerDefs.push({ type: 'fc', num_neurons: l.out_depth, l1_decay_mul: decay.l1DecayMul, l2_decay_mul: decay.l2DecayMul });
        }
        break;
      }
      case 'relu':
      case 'sigmoid':
      case 'tanh':
        layers.push({ type: l.layer_type, source: i });
        layerDefs.push({ type: l.layer_type });
        break;
      case 'maxout':
        layers.push({ type: 'maxout', source: i, groupSize: num(l, 'group_size', where, 2) });
        layerDefs.push({ type: 'maxout', group_size: l.group_size ?? 2 });
        break;
      case 'dropout':
        layers.push({ type: 'dropout', source: i, dropProb: num(l, 'drop_prob', where, 0.5) });
        layerDefs.push({ type: 'dropout', drop_prob: l.drop_prob ?? 0.5 });
        break;
      case 'lrn': {
        const lrn = { k: num(l, 'k', where), n: num(l, 'n', where), alpha: num(l, 'alpha', where), beta: num(l, 'beta', where) };
        layers.push({ type: 'lrn', source: i, ...lrn });
        layerDefs.push({ type: 'lrn', ...lrn });
        break;
      }
      case 'softmax':
      case 'svm':
        layers.push({ type: l.layer_type, source: i, classes: num(l, 'out_depth', where) });
        layerDefs.push({ type: l.layer_type, num_classes: l.out_depth });
        break;
      case 'regression':
        layers.push({ type: 'regression', source: i, outputs: num(l, 'out_depth', where) });
        layerDefs.push({ type: 'regression', num_neurons: l.out_depth });
        break;
      default:
        throw new UserError(`${where}: layer type "${String(l.layer_type)}" is not supported`);
    }
  });

  const spec = specFromLayers(layers, layerDefs, file);
  const net = new Network(spec);
  net.layers.forEach((layer, i) => {
    if (layer.type !== 'conv' && layer.type !== 'fc') return;
    const where = `${file}: ConvNetJS layer ${i} (${layer.type})`;
    const l = src[i];
    const filters = l.filters as unknown[];
    const weights = net.param(i, 'weights')!;
    const biases = net.param(i, 'biases')!;
    const [outC, inC, kH, kW] = weights.shape;
    if (!Array.isArray(filters) || filters.length !== outC) throw new UserError(`${where}: expected ${outC} filters`);
    const perFilter = inC * kH * kW;
    for (let f = 0; f < outC; f++) {
      const w = volValues(filters[f], perFilter, `${where} filter ${f}`);
      for (let y = 0; y < kH; y++) {
        for (let x = 0; x < kW; x++) {
          for (let d = 0; d < inC; d++) {
            weights.data[f * perFilter + d * kH * kW + y * kW + x] = w[(y * kW + x) * inC + d];
          }
        }
      }
    }
    biases.data.set(Array.from(volValues(l.biases, outC, `${where} biases`)));
  });
  return { spec, params: net.params };
}
