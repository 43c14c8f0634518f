import { UserError } from '../util/errors.js';
import { DefReader } from './def-reader.js';
import type { LayerConfig, LayerDef, LayerHints, ParamDecl, Shape3, StateDecl } from './layers/layer.js';
import { findLayerDef, layerDef, layerTypes } from './layers/registry.js';
import { resnetLayerDefs } from './resnet.js';
import { speedrunLayerDefs } from './speedrun.js';

export type { LayerConfig, Shape3 } from './layers/layer.js';

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
  // ConvNetJS's MNIST demo network. The demo feeds random 24x24 crops of the 28x28 digits (and the
  // centre crop to test); cnnviz feeds the whole 28x28 image and gets that jitter from --augment shift
  // instead, so nothing of the digit is cut off. Both sizes end in 4x4x16 before the classifier.
  'convnetjs-mnist': [
    { type: 'input', out_sx: 28, out_sy: 28, out_depth: 1 },
    { type: 'conv', sx: 5, filters: 8, stride: 1, pad: 2, activation: 'relu' },
    { type: 'pool', sx: 2, stride: 2 },
    { type: 'conv', sx: 5, filters: 16, stride: 1, pad: 2, activation: 'relu' },
    { type: 'pool', sx: 3, stride: 3 },
    { type: 'softmax', num_classes: 10 },
  ],
  resnet8: resnetLayerDefs(1),
  resnet20: resnetLayerDefs(3),
  speedrun: speedrunLayerDefs(),
};

export function presetNames(): string[] {
  return Object.keys(PRESETS);
}

export function presetLayerDefs(name: string): Record<string, unknown>[] | undefined {
  const defs = PRESETS[name];
  return defs ? defs.map((d) => ({ ...d })) : undefined;
}

function layerWhere(origin: string, index: number, type?: string, name?: string): string {
  return `${origin}: layer ${index}${type ? ` (${type}${name ? ` "${name}"` : ''})` : ''}`;
}

/** The picture folder name of a layer, also its default node name: "01-conv". */
export function defaultLayerName(index: number, type: string): string {
  return `${String(index).padStart(2, '0')}-${type.toLowerCase().replace(/[^a-z0-9_-]/g, '_') || 'layer'}`;
}

/** One built layer before the graph is ordered: which definition made it and what it reads. */
interface Piece {
  config: LayerConfig;
  def: LayerDef;
  /** Name the user gave (on the last piece of a definition). */
  userName?: string;
  /** Input names as the user wrote them (first piece of a definition), or the previous piece. */
  inputNames?: string[];
  where: string;
}

/**
 * Desugar ConvNetJS layer_defs into the layers to build (same rules as ConvNetJS's Net.makeLayers:
 * "activation", "drop_prob", and the fc a loss layer implies), reading each type's fields through the
 * registry. A definition's `inputs` go to its first layer, its `name` to its last.
 */
function desugar(defs: Record<string, unknown>[], origin: string): Piece[] {
  const pieces: Piece[] = [];
  const sugar = layerTypes().filter((t) => layerDef(t).activationSugar);
  defs.forEach((def, i) => {
    if (def === null || typeof def !== 'object' || Array.isArray(def)) {
      throw new UserError(`${layerWhere(origin, i)}: must be an object like {"type": "conv", ...}`);
    }
    const type = def.type;
    if (typeof type !== 'string') throw new UserError(`${layerWhere(origin, i)}: field "type" is missing or not a string`);
    const ldef = findLayerDef(type);
    if (!ldef) throw new UserError(`${layerWhere(origin, i)}: field "type" is "${type}", not one of ${layerTypes().join(', ')}`);
    const rawName = def.name;
    if (rawName !== undefined && (typeof rawName !== 'string' || rawName.length === 0)) {
      throw new UserError(`${layerWhere(origin, i, type)}: field "name" must be a non-empty string, got ${JSON.stringify(rawName)}`);
    }
    const userName = rawName as string | undefined;
    const where = layerWhere(origin, i, type, userName);
    const r: DefReader = new DefReader(def, where);
    const isInput = (ldef.arity?.max ?? 1) === 0;
    if (i === 0 && !isInput) r.fail('type', `must be "input" for the first layer`);
    if (i > 0 && isInput) r.fail('type', `is "${type}", which is only allowed as the first layer`);
    const inputNames = r.strings('inputs');
    if (isInput && inputNames) r.fail('inputs', 'is not allowed on the input layer');

    const built: { type: string; fields: Record<string, unknown>; def: LayerDef }[] = [];
    const fields = ldef.parse(r) as Record<string, unknown>;
    for (const extra of ldef.implies?.(fields) ?? []) built.push({ ...extra, def: layerDef(extra.type) });
    built.push({ type, fields, def: ldef });
    const activation = r.str('activation');
    if (activation !== undefined) {
      if (!ldef.takesActivation) r.fail('activation', `is only allowed on ${layerTypes().filter((t) => layerDef(t).takesActivation).join(' and ')} layers`);
      const adef = findLayerDef(activation);
      if (!adef || !adef.activationSugar) r.fail('activation', `is "${activation}", not one of ${sugar.join(', ')}`);
      built.push({ type: activation, fields: adef.parse(r) as Record<string, unknown>, def: adef });
    }
    const dropout = layerDef('dropout');
    if (r.has('drop_prob') && ldef !== dropout) built.push({ type: 'dropout', fields: dropout.parse(r) as Record<string, unknown>, def: dropout });

    built.forEach((b, k) => {
      const last = k === built.length - 1;
      pieces.push({
        config: { ...b.fields, type: b.type, name: '', inputs: [], source: i },
        def: b.def,
        userName: last ? userName : undefined,
        inputNames: k === 0 ? inputNames : undefined,
        where: layerWhere(origin, i, b.type, last ? userName : undefined),
      });
    });
  });
  return pieces;
}

/** Resolve names to pieces, order the graph (inputs before readers, spec order otherwise) and check it. */
function orderGraph(pieces: Piece[]): Piece[] {
  const byName = new Map<string, number>();
  pieces.forEach((p, i) => {
    if (p.userName === undefined) return;
    if (byName.has(p.userName)) throw new UserError(`${p.where}: field "name" "${p.userName}" is used by another layer too`);
    byName.set(p.userName, i);
  });
  // Inputs as piece indices: named, or the piece before (the input layer reads nothing).
  const reads: number[][] = pieces.map((p, i) => {
    if (p.inputNames) {
      return p.inputNames.map((name) => {
        const j = byName.get(name);
        if (j === undefined) {
          const known = [...byName.keys()];
          throw new UserError(`${p.where}: field "inputs" names "${name}", which is no layer's name${known.length ? ` (named: ${known.join(', ')})` : ' (no layer has a "name")'}`);
        }
        if (j === i) throw new UserError(`${p.where}: field "inputs" names the layer itself ("${name}")`);
        return j;
      });
    }
    return (p.def.arity?.max ?? 1) === 0 ? [] : [i - 1];
  });
  // Kahn's algorithm, always taking the earliest ready piece: a chain keeps its spec order.
  const pending = reads.map((r) => r.length);
  const readers: number[][] = pieces.map(() => []);
  reads.forEach((r, i) => r.forEach((j) => readers[j].push(i)));
  const ready = pending.flatMap((c, i) => (c === 0 ? [i] : []));
  const order: number[] = [];
  while (ready.length > 0) {
    ready.sort((a, b) => a - b);
    const i = ready.shift()!;
    order.push(i);
    for (const k of readers[i]) if (--pending[k] === 0) ready.push(k);
  }
  if (order.length < pieces.length) {
    // Walk back along inputs from a piece left over until a piece repeats: that is a cycle.
    const left = new Set(pieces.flatMap((_, i) => (pending[i] > 0 ? [i] : [])));
    let at = Math.min(...left);
    const path: number[] = [];
    while (!path.includes(at)) {
      path.push(at);
      at = reads[at].find((j) => left.has(j))!;
    }
    const cycle = path.slice(path.indexOf(at)).reverse();
    const label = (i: number) => pieces[i].userName ?? `layer ${pieces[i].config.source} (${pieces[i].config.type})`;
    const first = pieces[cycle[0]];
    throw new UserError(`${first.where}: field "inputs" makes a cycle: ${[...cycle, cycle[0]].map(label).join(' -> ')}`);
  }
  const position = new Map(order.map((p, k) => [p, k]));
  return order.map((p, k) => {
    const piece = pieces[p];
    piece.config.inputs = reads[p].map((j) => position.get(j)!);
    piece.config.name = piece.userName ?? defaultLayerName(k, piece.config.type);
    return piece;
  });
}

/** Check each piece's number of inputs, infer every output shape, and check the loss layer and branches. */
function checkGraph(pieces: Piece[]): Shape3[] {
  const names = new Map<string, number>();
  const shapes: Shape3[] = [];
  pieces.forEach((p, i) => {
    const c = p.config;
    const other = names.get(c.name);
    if (other !== undefined) throw new UserError(`${p.where}: field "name" "${c.name}" is also the name of layer ${pieces[other].config.source} (${pieces[other].config.type})`);
    names.set(c.name, i);
    const arity = p.def.arity ?? { min: 1, max: 1 };
    if (c.inputs.length < arity.min || c.inputs.length > arity.max) {
      const want = arity.min === arity.max ? `${arity.min}` : arity.max === Infinity ? `${arity.min} or more` : `${arity.min} to ${arity.max}`;
      throw new UserError(`${p.where}: field "inputs" gives ${c.inputs.length} input(s); a ${c.type} layer reads ${want}`);
    }
    const fail = (field: string, problem: string): never => {
      throw new UserError(`${p.where}: field "${field}" ${problem}`);
    };
    shapes.push(p.def.outShape(c, c.inputs.map((j) => shapes[j]), fail));
  });
  const last = pieces[pieces.length - 1];
  if (!last.def.hints.loss) {
    throw new UserError(`${last.where}: the last layer must be a loss layer (${lossTypes().join('')})`);
  }
  for (const p of pieces.slice(0, -1)) {
    if (p.def.hints.loss) throw new UserError(`${p.where}: a loss layer (${p.config.type}) is only allowed as the last layer`);
  }
  const read = new Set(pieces.flatMap((p) => p.config.inputs));
  for (const p of pieces.slice(0, -1)) {
    if (!read.has(pieces.indexOf(p))) {
      throw new UserError(`${p.where}: no layer reads its output (an unused branch): every layer but the loss must be an input of another`);
    }
  }
  return shapes;
}

function lossTypes(): string[] {
  const types = layerTypes().filter((t) => layerDef(t).hints.loss);
  return types.length > 1 ? [`${types.slice(0, -1).join(', ')} or ${types[types.length - 1]}`] : types;
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
  const pieces = orderGraph(desugar(layerDefs, origin));
  const shapes = checkGraph(pieces);
  return { origin, layerDefs, layers: pieces.map((p) => p.config), shapes };
}

/**
 * A preset's spec; with `fit`, its input layer takes images of that [channels, height, width] and its
 * loss layer that many classes (the presets adapt to the data they are trained on).
 */
export function presetSpec(name: string, fit?: { shape: Shape3; classes: number }): ModelSpec {
  const defs = presetLayerDefs(name);
  if (!defs) throw new UserError(`unknown preset "${name}" (known: ${presetNames().join(', ')})`);
  if (fit) {
    Object.assign(defs[0], { out_depth: fit.shape[0], out_sy: fit.shape[1], out_sx: fit.shape[2] });
    const last = defs[defs.length - 1];
    if ('num_classes' in last) last.num_classes = fit.classes;
  }
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

/** Shapes of a layer's inputs. */
export function inputShapes(spec: ModelSpec, index: number): Shape3[] {
  return spec.layers[index].inputs.map((j) => spec.shapes[j]);
}

/** The parameter tensors a layer of the spec has (none for most types). */
export function paramDecls(spec: ModelSpec, index: number): ParamDecl[] {
  const c = spec.layers[index];
  return layerDef(c.type).params?.(c, inputShapes(spec, index)) ?? [];
}

export function stateDecls(spec: ModelSpec, index: number): StateDecl[] {
  const c = spec.layers[index];
  return layerDef(c.type).state?.(c, inputShapes(spec, index)) ?? [];
}

const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

export function paramCountOf(spec: ModelSpec, index: number): number {
  return paramDecls(spec, index).reduce((a, p) => a + size(p.shape), 0);
}

/** Short human description of a layer, e.g. "conv 5x5, 16 filters, stride 1, pad 2". */
export function describeLayer(layer: LayerConfig): string {
  return layerDef(layer.type).describe(layer);
}

/** What the pictures need to know about a layer's type. */
export function layerHints(layer: LayerConfig): LayerHints {
  return layerDef(layer.type).hints;
}

/** The loss of the spec's last layer: what it is trained against, and whether it outputs probabilities. */
export function lossOf(spec: ModelSpec): NonNullable<LayerHints['loss']> {
  return layerHints(spec.layers[spec.layers.length - 1]).loss!;
}

/** Whether the layers form a plain chain (every layer reads the one before), as ConvNetJS networks do. */
export function isChain(spec: ModelSpec): boolean {
  return spec.layers.every((l, i) => (i === 0 ? l.inputs.length === 0 : l.inputs.length === 1 && l.inputs[0] === i - 1));
}
