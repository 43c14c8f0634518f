/**
 * The layer registry: every layer type, one line each. A new type is one file in this folder (its
 * LayerDef: fields, shapes, parameters, state, description, picture hints, forward and backward), one
 * line here, and its tests.
 */
import { UserError } from '../../util/errors.js';
import { reluLayer, sigmoidLayer, tanhLayer } from './activation.js';
import { addLayer } from './add.js';
import { batchNormLayer } from './batchnorm.js';
import { shuffleLayer, sliceLayer } from './channels.js';
import { concatLayer } from './concat.js';
import { convLayer } from './conv.js';
import { dropoutLayer } from './dropout.js';
import { fcLayer } from './fc.js';
import { gapLayer } from './gap.js';
import { inputLayer } from './input.js';
import { layerNormLayer } from './layernorm.js';
import type { LayerDef } from './layer.js';
import { leakyReluLayer } from './leakyrelu.js';
import { regressionLayer, softmaxLayer, svmLayer } from './loss.js';
import { lrnLayer } from './lrn.js';
import { maxoutLayer } from './maxout.js';
import { clipLayer, eluLayer, geluLayer, hardSigmoidLayer, hardSwishLayer, siluLayer, softplusLayer } from './modern-activations.js';
import { mulLayer } from './mul.js';
import { preluLayer } from './prelu.js';
import { poolLayer } from './pool.js';
import { affineLayer } from './affine.js';

const LAYER_DEFS: LayerDef[] = [
  inputLayer,
  convLayer,
  poolLayer,
  fcLayer,
  reluLayer,
  sigmoidLayer,
  tanhLayer,
  maxoutLayer,
  dropoutLayer,
  lrnLayer,
  softmaxLayer,
  svmLayer,
  regressionLayer,
  leakyReluLayer,
  batchNormLayer,
  addLayer,
  concatLayer,
  gapLayer,
  mulLayer,
  clipLayer,
  hardSigmoidLayer,
  hardSwishLayer,
  siluLayer,
  geluLayer,
  eluLayer,
  softplusLayer,
  preluLayer,
  shuffleLayer,
  sliceLayer,
  layerNormLayer,
  affineLayer,
];

const BY_TYPE = new Map<string, LayerDef>();

/** Add a layer type (tests register test-only types such as a join; real types go in LAYER_DEFS). */
export function registerLayer(def: LayerDef): void {
  if (BY_TYPE.has(def.type)) throw new Error(`layer type "${def.type}" is registered twice`);
  BY_TYPE.set(def.type, def);
}
for (const def of LAYER_DEFS) registerLayer(def);

const modules: string[] = [];

/**
 * Register the layer types a module exports (every export with a `type` and `create`), by URL, so that
 * worker threads can load the same module before parsing a spec (the pool passes layerModules() on).
 * For layer types that live outside this folder, e.g. test-only ones.
 */
export async function registerLayerModule(url: string): Promise<void> {
  if (modules.includes(url)) return;
  const m = (await import(url)) as Record<string, unknown>;
  for (const value of Object.values(m)) {
    const def = value as Partial<LayerDef> | null;
    if (def && typeof def === 'object' && typeof def.type === 'string' && typeof def.create === 'function' && !BY_TYPE.has(def.type)) registerLayer(def as LayerDef);
  }
  modules.push(url);
}

export function layerModules(): string[] {
  return [...modules];
}

export function layerTypes(): string[] {
  return [...BY_TYPE.keys()];
}

export function findLayerDef(type: string): LayerDef | undefined {
  return BY_TYPE.get(type);
}

/** The def of a type known to be registered (built layers). */
export function layerDef(type: string): LayerDef {
  const def = BY_TYPE.get(type);
  if (!def) throw new UserError(`layer type "${type}" is not known (known: ${layerTypes().join(', ')})`);
  return def;
}
