import { readFileSync } from 'node:fs';
import type { Preprocessing } from '../data/preprocess.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { errorMessage, UserError } from '../util/errors.js';
import { importConvNetJS, isConvNetJSSnapshot } from './convnetjs-import.js';
import { Network } from './network.js';
import { specParamCount } from './memory.js';
import { parseJsonText } from '../util/json-text.js';
import type { OptimizerOptions, OptimizerState } from './optimizers.js';
import { DEFAULT_PRESET, parseSpec, presetNames, presetSpec, specFromLayers, type LayerConfig, type ModelSpec } from './spec.js';

export const SNAPSHOT_FORMAT = 'cnnviz-snapshot';
export const SNAPSHOT_VERSION = 1;

/** Training progress stored in a checkpoint, enough to resume exactly. */
export interface TrainingProgress {
  /** Epochs completed. */
  epoch: number;
  /** The run's configuration (see run.json), for resuming with the same settings. */
  config: Record<string, unknown>;
  /** Metrics of the epochs so far, so a resumed run's metrics files continue. */
  metrics: unknown[];
  /** Anything else the trainer needs (e.g. visualisation scale state). */
  extra?: Record<string, unknown>;
}

/** A network with everything needed to use it again: spec, weights, class names, preprocessing. */
export interface Snapshot {
  spec: ModelSpec;
  params: Float32Array;
  classNames?: string[];
  preprocessing?: Preprocessing;
  optimizer?: { options: OptimizerOptions; state: OptimizerState };
  training?: TrainingProgress;
}

/** How a model was given to a command, and what it turned out to be. */
export interface LoadedModel {
  kind: 'preset' | 'spec' | 'snapshot' | 'convnetjs';
  spec: ModelSpec;
  snapshot?: Snapshot;
}

function f32ToBase64(a: Float32Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

function base64ToF32(s: string, expected: number, what: string, file: string): Float32Array {
  const buf = Buffer.from(s, 'base64');
  if (buf.byteLength !== expected * 4) {
    throw new UserError(`${file}: ${what} holds ${buf.byteLength / 4} values, the network needs ${expected} (file damaged or from another model)`);
  }
  const out = new Float32Array(expected);
  new Uint8Array(out.buffer).set(buf);
  return out;
}

export function serializeSnapshot(s: Snapshot): string {
  const json: Record<string, unknown> = {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    layer_defs: s.spec.layerDefs,
    layers: s.spec.layers,
    classNames: s.classNames ?? null,
    preprocessing: s.preprocessing ?? { kind: 'scale' },
    paramCount: s.params.length,
    params: f32ToBase64(s.params),
  };
  if (s.optimizer) {
    json.optimizer = {
      options: s.optimizer.options,
      step: s.optimizer.state.step,
      gsum: f32ToBase64(s.optimizer.state.gsum),
      xsum: f32ToBase64(s.optimizer.state.xsum),
    };
  }
  if (s.training) json.training = s.training;
  return JSON.stringify(json);
}

export async function saveSnapshot(path: string, s: Snapshot): Promise<void> {
  await writeFileAtomic(path, serializeSnapshot(s));
}

export function parseSnapshot(json: Record<string, unknown>, file: string): Snapshot {
  if (json.version !== SNAPSHOT_VERSION) throw new UserError(`${file}: snapshot version ${String(json.version)} is not supported (expected ${SNAPSHOT_VERSION})`);
  if (!Array.isArray(json.layers) || !Array.isArray(json.layer_defs)) throw new UserError(`${file}: snapshot has no "layers" list`);
  const spec = specFromLayers(json.layers as LayerConfig[], json.layer_defs as Record<string, unknown>[], file);
  // Counted from the spec: building the network here would allocate before the memory check.
  const net = { paramCount: specParamCount(spec) };
  if (typeof json.params !== 'string') throw new UserError(`${file}: snapshot has no "params"`);
  const params = base64ToF32(json.params, net.paramCount, 'params', file);
  const snap: Snapshot = { spec, params };
  if (Array.isArray(json.classNames)) snap.classNames = json.classNames as string[];
  if (json.preprocessing && typeof json.preprocessing === 'object') snap.preprocessing = json.preprocessing as Preprocessing;
  const opt = json.optimizer as Record<string, unknown> | undefined;
  if (opt) {
    const options = opt.options as OptimizerOptions;
    snap.optimizer = {
      options,
      state: {
        method: options.method,
        step: Number(opt.step),
        gsum: base64ToF32(String(opt.gsum), net.paramCount, 'optimizer.gsum', file),
        xsum: base64ToF32(String(opt.xsum), net.paramCount, 'optimizer.xsum', file),
      },
    };
  }
  if (json.training && typeof json.training === 'object') snap.training = json.training as TrainingProgress;
  return snap;
}

function readJson(path: string): unknown {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new UserError(`${path}: no such file (--model takes a preset name (${presetNames().join(', ')}), a spec .json or a snapshot .json)`);
    }
    throw new UserError(`${path}: cannot read: ${errorMessage(e)}`);
  }
  return parseJsonText(bytes, path, 'a model spec or snapshot .json');
}

/** Resolve `--model <preset|spec.json|snapshot.json|convnetjs.json>`. */
export function loadModel(model: string | undefined): LoadedModel {
  const name = model ?? DEFAULT_PRESET;
  if (presetNames().includes(name)) return { kind: 'preset', spec: presetSpec(name) };
  const json = readJson(name);
  if (json && typeof json === 'object' && !Array.isArray(json)) {
    const o = json as Record<string, unknown>;
    if (o.format === SNAPSHOT_FORMAT) {
      const snapshot = parseSnapshot(o, name);
      return { kind: 'snapshot', spec: snapshot.spec, snapshot };
    }
    if (isConvNetJSSnapshot(o)) {
      const snapshot = importConvNetJS(o, name);
      return { kind: 'convnetjs', spec: snapshot.spec, snapshot };
    }
  }
  return { kind: 'spec', spec: parseSpec(json, name) };
}

/** Build the network of a loaded model: snapshot weights if it has them, otherwise seeded initialisation. */
export function networkFor(model: LoadedModel, seed: number): Network {
  const net = new Network(model.spec);
  if (model.snapshot) net.params.set(model.snapshot.params);
  else net.initialize(seed);
  return net;
}
