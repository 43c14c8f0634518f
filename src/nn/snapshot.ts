import { readFileSync } from 'node:fs';
import type { Preprocessing } from '../data/preprocess.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { errorMessage, UserError } from '../util/errors.js';
import { importConvNetJS, isConvNetJSSnapshot } from './convnetjs-import.js';
import { Network, networkSizes } from './network.js';
import { isOnnxPath, loadOnnxSnapshot } from './onnx/load.js';
import { parseJsonText } from '../util/json-text.js';
import type { OptimizerOptions, OptimizerState } from './optimizers.js';
import { DEFAULT_PRESET, paramDecls, parseSpec, presetNames, presetSpec, type ModelSpec } from './spec.js';

export const SNAPSHOT_FORMAT = 'cnnviz-snapshot';
/**
 * Version 2 (graph engine): the spec is stored only as the user's `layer_defs` and parsed by the same
 * parser as a spec file; `paramShapes` records every parameter tensor so a file whose weights do not fit
 * its spec is refused; `state` holds the non-trainable tensors. Version 1 files (desugared `layers` next
 * to `layer_defs`, no state) still load: their `layer_defs` are parsed and checked against `layers`.
 */
export const SNAPSHOT_VERSION = 2;
const READABLE_VERSIONS = [1, 2];

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
  /** Non-trainable state (e.g. batch-norm running statistics); absent: the layers' initial values. */
  state?: Float32Array;
  classNames?: string[];
  preprocessing?: Preprocessing;
  optimizer?: { options: OptimizerOptions; state: OptimizerState };
  training?: TrainingProgress;
}

/** How a model was given to a command, and what it turned out to be. */
export interface LoadedModel {
  kind: 'preset' | 'spec' | 'snapshot' | 'convnetjs' | 'onnx';
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

/** Every parameter tensor of a spec, in the order of the flat vector: [layer name, tensor name, shape]. */
export function paramShapes(spec: ModelSpec): [string, string, number[]][] {
  return spec.layers.flatMap((l, i) => paramDecls(spec, i).map((p): [string, string, number[]] => [l.name, p.name, p.shape]));
}

export function serializeSnapshot(s: Snapshot): string {
  const json: Record<string, unknown> = {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    layer_defs: s.spec.layerDefs,
    classNames: s.classNames ?? null,
    preprocessing: s.preprocessing ?? { kind: 'scale' },
    paramCount: s.params.length,
    paramShapes: paramShapes(s.spec),
    params: f32ToBase64(s.params),
  };
  if (s.state && s.state.length > 0) {
    json.stateCount = s.state.length;
    json.state = f32ToBase64(s.state);
  }
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

const shapeText = (shape: unknown): string => (Array.isArray(shape) ? shape.join('x') : JSON.stringify(shape));

/** Refuse a file whose recorded tensors are not those its spec builds (exit 2). */
function checkParamShapes(spec: ModelSpec, recorded: [string, string, unknown][], file: string): void {
  const want = paramShapes(spec);
  if (recorded.length !== want.length) {
    throw new UserError(`${file}: the snapshot records ${recorded.length} parameter tensors, its spec builds ${want.length} (file damaged or edited)`);
  }
  want.forEach(([layer, name, shape], k) => {
    const [rl, rn, rs] = recorded[k];
    if (rn !== name || shapeText(rs) !== shapeText(shape)) {
      throw new UserError(
        `${file}: parameter tensor ${k + 1} is ${String(rl)} ${String(rn)} ${shapeText(rs)} in the snapshot, but its spec builds ${layer} ${name} ${shapeText(shape)} (file damaged or edited)`,
      );
    }
  });
}

/**
 * Version 1 stored the desugared layers next to layer_defs: they must be what layer_defs parse to
 * (same types, and the same value for every field both have), else the file was damaged or edited.
 */
function checkV1Layers(layers: Record<string, unknown>[], spec: ModelSpec, file: string): void {
  if (layers.length !== spec.layers.length) {
    throw new UserError(`${file}: the snapshot lists ${layers.length} layers, but its layer_defs build ${spec.layers.length} (file damaged or edited)`);
  }
  layers.forEach((old, i) => {
    const now = spec.layers[i];
    for (const [field, value] of Object.entries(old)) {
      if (field === 'source' || !(field in now) || now[field] === value) continue;
      throw new UserError(
        `${file}: layer ${i} (${now.type}) has ${field} ${JSON.stringify(value)} in the snapshot's layers, but ${JSON.stringify(now[field])} in its layer_defs (file damaged or edited)`,
      );
    }
  });
}

export function parseSnapshot(json: Record<string, unknown>, file: string): Snapshot {
  const version = json.version;
  if (typeof version !== 'number' || !READABLE_VERSIONS.includes(version)) {
    throw new UserError(`${file}: snapshot version ${String(version)} is not supported (this cnnviz reads versions ${READABLE_VERSIONS.join(' and ')})`);
  }
  if (!Array.isArray(json.layer_defs)) throw new UserError(`${file}: snapshot has no "layer_defs" list`);
  // The same parser and checks as a spec file.
  const spec = parseSpec(json.layer_defs, file);
  if (version === 1) {
    if (!Array.isArray(json.layers)) throw new UserError(`${file}: snapshot has no "layers" list`);
    checkV1Layers(json.layers as Record<string, unknown>[], spec, file);
  } else {
    if (!Array.isArray(json.paramShapes)) throw new UserError(`${file}: snapshot has no "paramShapes" list`);
    checkParamShapes(spec, json.paramShapes as [string, string, unknown][], file);
  }
  // Counted from the spec: building the network here would allocate before the memory check.
  const sizes = networkSizes(spec);
  const net = { paramCount: sizes.params };
  if (typeof json.params !== 'string') throw new UserError(`${file}: snapshot has no "params"`);
  const params = base64ToF32(json.params, net.paramCount, 'params', file);
  const snap: Snapshot = { spec, params };
  if (typeof json.state === 'string') snap.state = base64ToF32(json.state, sizes.state, 'state', file);
  else if (sizes.state > 0 && version > 1) throw new UserError(`${file}: snapshot has no "state", its network needs ${sizes.state} values`);
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

/**
 * Resolve `--model <preset|spec.json|snapshot.json|convnetjs.json|model.onnx>`. `preprocess` (--preprocess)
 * states an ONNX model's input scaling, over what its file records.
 */
export function loadModel(model: string | undefined, opts: { preprocess?: Preprocessing } = {}): LoadedModel {
  const name = model ?? DEFAULT_PRESET;
  if (presetNames().includes(name)) return { kind: 'preset', spec: presetSpec(name) };
  if (isOnnxPath(name)) {
    const snapshot = loadOnnxSnapshot(name, opts.preprocess);
    return { kind: 'onnx', spec: snapshot.spec, snapshot };
  }
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
  if (model.snapshot) {
    net.params.set(model.snapshot.params);
    if (model.snapshot.state) net.state.set(model.snapshot.state);
    else net.resetState();
  } else {
    net.initialize(seed);
  }
  return net;
}
