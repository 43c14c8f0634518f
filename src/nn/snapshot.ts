import type { Preprocessing } from '../data/preprocess.js';
import { readTensors, writeJsonWithTensors, type NamedTensor } from '../util/tensor-file.js';
import { UserError } from '../util/errors.js';
import { importConvNetJS, isConvNetJSSnapshot } from './convnetjs-import.js';
import { Network, networkSizes } from './network.js';
import { isOnnxPath, loadOnnxSnapshot } from './onnx/load.js';
import { parseJsonText } from '../util/json-text.js';
import { readRegularFileSync } from '../util/regular-file.js';
import { OPTIMIZER_METHODS, optimizerOptionsProblem, optimizerStateProblem, type OptimizerOptions, type OptimizerState } from './optimizers.js';
import { capClassName } from '../util/class-names.js';
import { oneOfProblem, realNumberProblem, wholeNumberProblem } from '../util/checks.js';
import { DEFAULT_PRESET, paramDecls, parseSpec, presetNames, presetSpec, type ModelSpec } from './spec.js';

export const SNAPSHOT_FORMAT = 'cnnviz-snapshot';
/**
 * Version 2 (graph engine): the spec is stored only as the user's `layer_defs` and parsed by the same
 * parser as a spec file; `paramShapes` records every parameter tensor so a file whose weights do not fit
 * its spec is refused; `state` holds the non-trainable tensors. Version 1 files (desugared `layers` next
 * to `layer_defs`, no state) still load: their `layer_defs` are parsed and checked against `layers`.
 */
export const SNAPSHOT_VERSION = 3;
const READABLE_VERSIONS = [1, 2, 3];
/*
 * Version 3: as version 2, but the tensors (params, state, optimizer gsum/xsum) are in a binary file
 * beside the JSON (src/util/tensor-file.ts), named in its "binary" field: a checkpoint is no longer one
 * JSON string, which V8 cannot build past 512 MiB (about 33M parameters with the optimizer state).
 */

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
  /** A checkpoint of a run with --ema: the moving average of the parameters and of the state. */
  average?: { params: Float32Array; state: Float32Array };
}

/** How a model was given to a command, and what it turned out to be. */
export interface LoadedModel {
  kind: 'preset' | 'spec' | 'snapshot' | 'convnetjs' | 'onnx';
  spec: ModelSpec;
  snapshot?: Snapshot;
}

function base64ToF32(s: string, expected: number, what: string, file: string): Float32Array {
  // Buffer.from skips characters that are not base64: check the text first, so a damaged field is not
  // reported as a count of values ("1.5 values").
  const bad = /[^A-Za-z0-9+/=\s]/.exec(s);
  if (bad) throw new UserError(`${file}: field "${what}" is not base64 (character ${JSON.stringify(bad[0])} at ${bad.index}); file damaged`);
  const buf = Buffer.from(s, 'base64');
  if (buf.byteLength % 4 !== 0) {
    throw new UserError(`${file}: field "${what}" holds ${buf.byteLength} bytes, not whole float32 values (4 bytes each); file damaged`);
  }
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

/** The JSON part of a snapshot (version 3): everything but the tensors. */
function snapshotJson(s: Snapshot): Record<string, unknown> {
  const json: Record<string, unknown> = {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    layer_defs: s.spec.layerDefs,
    classNames: s.classNames ?? null,
    preprocessing: s.preprocessing ?? { kind: 'scale' },
    paramCount: s.params.length,
    paramShapes: paramShapes(s.spec),
  };
  if (s.state && s.state.length > 0) json.stateCount = s.state.length;
  if (s.optimizer) json.optimizer = { options: s.optimizer.options, step: s.optimizer.state.step };
  if (s.training) json.training = s.training;
  return json;
}

/**
 * Write a snapshot: `path` (small JSON) and the tensors in `<stem>.<hash>.bin` beside it, atomically
 * as a pair (see src/util/tensor-file.ts). Copy both files to move a checkpoint.
 */
export async function saveSnapshot(path: string, s: Snapshot): Promise<void> {
  const tensors: NamedTensor[] = [{ name: 'params', data: s.params }];
  if (s.state && s.state.length > 0) tensors.push({ name: 'state', data: s.state });
  if (s.optimizer) tensors.push({ name: 'optimizer.gsum', data: s.optimizer.state.gsum }, { name: 'optimizer.xsum', data: s.optimizer.state.xsum });
  if (s.average) tensors.push({ name: 'average.params', data: s.average.params });
  if (s.average && s.average.state.length > 0) tensors.push({ name: 'average.state', data: s.average.state });
  await writeJsonWithTensors(path, snapshotJson(s), tensors);
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
  // Version 3 keeps the tensors in the binary file beside the JSON; versions 1 and 2 as base64 fields.
  const binary = version >= 3 ? readTensors(file, json.binary) : undefined;
  const has = (name: string, field: unknown): boolean => (binary ? binary.has(name) : typeof field === 'string');
  const tensor = (name: string, field: unknown, expected: number): Float32Array => {
    if (!binary) {
      if (typeof field !== 'string') throw new UserError(`${file}: snapshot has no "${name}"`);
      return base64ToF32(field, expected, name, file);
    }
    const t = binary.get(name);
    if (!t) throw new UserError(`${file}: snapshot has no "${name}" in its binary file`);
    if (t.length !== expected) throw new UserError(`${file}: ${name} holds ${t.length} values, the network needs ${expected} (file damaged or from another model)`);
    return t;
  };
  const params = tensor('params', json.params, sizes.params);
  const snap: Snapshot = { spec, params };
  if (has('state', json.state)) snap.state = tensor('state', json.state, sizes.state);
  else if (sizes.state > 0 && version > 1) throw new UserError(`${file}: snapshot has no "state", its network needs ${sizes.state} values`);
  const classNames = json.classNames;
  if (classNames !== null && classNames !== undefined) {
    if (!Array.isArray(classNames) || !classNames.every((n) => typeof n === 'string')) {
      throw new UserError(`${file}: field "classNames" must be a list of names (strings), got ${JSON.stringify(classNames).slice(0, 60)}`);
    }
    snap.classNames = (classNames as string[]).map(capClassName);
  }
  if (json.preprocessing !== undefined && json.preprocessing !== null) snap.preprocessing = checkPreprocessing(json.preprocessing, spec, file);
  const opt = json.optimizer;
  if (opt !== undefined && opt !== null) {
    if (typeof opt !== 'object' || Array.isArray(opt)) throw new UserError(`${file}: field "optimizer" must be an object`);
    const o = opt as Record<string, unknown>;
    const options = checkOptimizerOptions(o.options, file);
    const stepProblem = wholeNumberProblem(o.step, 0);
    if (stepProblem) throw new UserError(`${file}: field "optimizer.step": ${stepProblem}`);
    snap.optimizer = {
      options,
      state: {
        method: options.method,
        step: o.step as number,
        gsum: tensor('optimizer.gsum', o.gsum, sizes.params),
        xsum: tensor('optimizer.xsum', o.xsum, sizes.params),
      },
    };
    const stateProblem = optimizerStateProblem(snap.optimizer.state);
    if (stateProblem) throw new UserError(`${file}: optimizer.${stateProblem[0]}: ${stateProblem[1]} (damaged checkpoint, or not one cnnviz wrote)`);
  }
  if (json.training !== undefined && json.training !== null) {
    if (typeof json.training !== 'object' || Array.isArray(json.training)) throw new UserError(`${file}: field "training" must be an object`);
    snap.training = json.training as TrainingProgress;
  }
  if (binary?.has('average.params')) {
    snap.average = { params: tensor('average.params', undefined, sizes.params), state: sizes.state > 0 ? tensor('average.state', undefined, sizes.state) : new Float32Array(0) };
  }
  return snap;
}

/** A snapshot's preprocessing, checked: what predict and visualize apply to every pixel. */
function checkPreprocessing(value: unknown, spec: ModelSpec, file: string): Preprocessing {
  const bad = (problem: string, sub = ''): never => {
    throw new UserError(`${file}: field "preprocessing${sub}" ${problem}`);
  };
  if (!value || typeof value !== 'object' || Array.isArray(value)) return bad('must be an object like {"kind": "scale"}');
  const p = value as Record<string, unknown>;
  if (p.kind === 'scale') return { kind: 'scale' };
  if (p.kind !== 'standardize') return bad(`has kind ${JSON.stringify(p.kind)}, not "scale" or "standardize"`);
  const channels = spec.shapes[0][0];
  for (const k of ['mean', 'std'] as const) {
    const v = p[k];
    if (!Array.isArray(v) || v.length < Math.min(channels, 3) || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      bad(`must be a list of ${Math.min(channels, 3)} numbers (one per channel), got ${JSON.stringify(v)?.slice(0, 40)}`, `.${k}`);
    }
  }
  if (!(p.std as number[]).every((x) => x > 0)) bad('must be positive', '.std');
  return value as Preprocessing;
}

/** A snapshot's optimizer options, checked with the rules of the train options they came from. */
function checkOptimizerOptions(value: unknown, file: string): OptimizerOptions {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new UserError(`${file}: field "optimizer.options" must be an object`);
  const o = value as Record<string, unknown>;
  const problems: [string, string | null][] = [
    ['method', oneOfProblem(o.method, OPTIMIZER_METHODS)],
    ['learningRate', realNumberProblem(o.learningRate, 0)],
    ...(['l1Decay', 'l2Decay', 'eps'] as const).map((k): [string, string | null] => [k, realNumberProblem(o[k], 0)]),
    ...(['momentum', 'ro', 'beta1', 'beta2'] as const).map((k): [string, string | null] => [k, realNumberProblem(o[k], 0, 1)]),
  ];
  for (const [k, problem] of problems) if (problem) throw new UserError(`${file}: field "optimizer.options.${k}": ${problem}`);
  const degenerate = optimizerOptionsProblem(value as OptimizerOptions);
  if (degenerate) throw new UserError(`${file}: field "optimizer.options.${degenerate[0]}" is ${String(o[degenerate[0]])}: ${degenerate[1]}`);
  return value as OptimizerOptions;
}

/** V8's longest string (2^29 - 24 characters): a larger JSON file cannot be parsed at all. */
const MAX_JSON_BYTES = 2 ** 29 - 24;

function readJson(path: string): unknown {
  // A regular file only: /dev/zero or a FIFO would never end (or never start).
  const bytes = readRegularFileSync(path, {
    missing: `no such file (--model takes a preset name (${presetNames().join(', ')}), a spec .json or a snapshot .json)`,
    maxBytes: MAX_JSON_BYTES,
  });
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
