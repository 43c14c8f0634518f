import { UserError } from '../util/errors.js';
import { Network } from './network.js';
import { findLayerDef } from './layers/registry.js';
import { parseSpec, type ModelSpec } from './spec.js';

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

/** The spec and weights of a ConvNetJS snapshot (a cnnviz Snapshot without the extras). */
export function importConvNetJS(json: Json, file: string): { spec: ModelSpec; params: Float32Array } {
  const src = json.layers as Json[];
  const layerDefs: Json[] = [];
  src.forEach((l, i) => {
    const where = `${file}: ConvNetJS layer ${i} (${String(l.layer_type)})`;
    const def = findLayerDef(String(l.layer_type));
    if (!def?.fromConvNetJS) throw new UserError(`${where}: layer type "${String(l.layer_type)}" is not supported`);
    // A layer the next one implies (the fc before a loss layer, which ConvNetJS adds itself) comes back from its definition.
    const next = findLayerDef(String(src[i + 1]?.layer_type));
    if (next?.implies?.({}).some((x) => x.type === l.layer_type)) return;
    layerDefs.push(def.fromConvNetJS(l, (field, fallback) => num(l, field, where, fallback)));
  });

  const spec = parseSpec(layerDefs, file);
  if (spec.layers.length !== src.length) throw new UserError(`${file}: its ${src.length} ConvNetJS layers build ${spec.layers.length} layers here`);
  const net = new Network(spec);
  net.layers.forEach((layer, i) => {
    const weights = layer.params.find((p) => p.name === 'weights');
    const biases = layer.params.find((p) => p.name === 'biases');
    if (!weights || !biases) return;
    const where = `${file}: ConvNetJS layer ${i} (${layer.type})`;
    const l = src[i];
    const filters = l.filters as unknown[];
    // conv [outC, inC, kH, kW]; fc [units, inC, inH, inW]: both read as ConvNetJS volumes (x, y, depth).
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
