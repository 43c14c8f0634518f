/**
 * Setting up a training run from the `train` command's options, without the CLI: resume-settings merge,
 * configuration, output folder, model and data checks, starting weights and state. The commander action
 * (src/cli/commands/train.ts) only parses options and reports.
 */
import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { formatAugment, parseAugment } from '../data/augment.js';
import type { Cifar100Labels } from '../data/cifar100.js';
import { DATASET_NAMES, defaultAugment, loadDataset, resolveDataOptions, type DataOptions, type Dataset, type DatasetKind } from '../data/dataset.js';
import { ensureData } from '../data/download.js';
import { imageSize, shapeText } from '../data/split.js';
import { makePreprocessing, type Preprocessing } from '../data/preprocess.js';
import { holdBack } from '../data/holdout.js';
import type { TtaMode } from '../data/tta.js';
import { assertFiniteParams } from '../nn/finite.js';
import { assertMemoryFits, trainingMemory } from '../nn/memory.js';
import { defaultOptimizerOptions, optimizerOptionsProblem, type OptimizerMethod } from '../nn/optimizers.js';
import { loadModel, networkFor, type LoadedModel, type Snapshot } from '../nn/snapshot.js';
import { lossOf, presetSpec, type ModelSpec } from '../nn/spec.js';
import { kernelsLabel } from '../tensor/wasm.js';
import { UserError } from '../util/errors.js';
import type { RunSettings, TrainConfig, VizMode, VizScaleMode } from './config.js';
import { fitImagesToModel } from './fit-images.js';
import { chooseProbe, MAX_PROBE_COUNT, parseProbeIndices } from './probe.js';
import { claimRunFolder, resumeFolder, runFolderOf, type RunFolder } from './run-folder.js';
import { validateSavedConfig, validateSavedProgress } from './validate-config.js';
import { presetRecipe } from './recipes.js';
import { DEFAULT_LR_SCHEDULE, describeSchedule, parseStepEpochs, type LrSchedule, type LrScheduleKind } from './schedule.js';
import type { VizSteps } from './viz-steps.js';
import type { ExplorerDataMode } from '../viz/explorer/data.js';

/** The `train` command's options, as commander gives them. */
export interface TrainOptions {
  model: string;
  data?: string;
  /** --dataset: the kind of data, when --data could be read as more than one (or to download it). */
  dataset?: DatasetKind;
  /** --labels (CIFAR-100). */
  labels?: Cifar100Labels;
  /** --test-fraction (image folder). */
  testFraction?: number;
  /** --input-size as [height, width] (image folder). */
  inputSize?: [number, number];
  /** --channels (image folder). */
  channels?: number;
  download: boolean;
  epochs: number;
  batchSize: number;
  microBatch: number;
  optimizer: OptimizerMethod;
  lr?: number;
  momentum?: number;
  l1: number;
  l2: number;
  ro?: number;
  eps?: number;
  beta1?: number;
  beta2?: number;
  nesterov?: boolean;
  weightDecay?: number;
  lrSchedule?: LrScheduleKind;
  warmup?: number;
  lrSteps?: string;
  lrStepFactor?: number;
  labelSmoothing?: number;
  /** --tta, --ema, --holdout. */
  tta?: TtaMode;
  ema?: number;
  holdout?: number;
  workers: number;
  seed: number;
  out?: string;
  name?: string;
  trainLimit?: number;
  testLimit?: number;
  /** --augment; undefined: the data set's default (defaultAugment). */
  augment?: string;
  normalize?: boolean;
  probe?: string;
  probeCount: number;
  viz: VizMode;
  vizEvery: number;
  vizScale: VizScaleMode;
  /** --viz-steps (parsed by the CLI). */
  vizSteps?: VizSteps;
  /** --explorer-data: the probe tensors the report's explorer reads (float32, float16, none). */
  explorerData?: ExplorerDataMode;
  resume?: string;
  json?: boolean;
  quiet?: boolean;
  /** --max-memory in bytes (the CLI sets the limit with setMemoryLimit). */
  maxMemory?: number;
  /** Replace the run in a non-empty --out. */
  overwrite?: boolean;
  /** --preprocess: the input scaling (e.g. an imported ONNX model's), over what the model records. */
  preprocess?: Preprocessing;
}

/** Whether the user gave an option on the command line (not its default). */
export type Explicit = (name: keyof TrainOptions) => boolean;

export interface RunSetup {
  config: TrainConfig;
  settings: RunSettings;
  model: LoadedModel;
  data: Dataset;
  preprocessing: Preprocessing;
  initialParams: Float32Array;
  initialState: Float32Array;
  /** The checkpoint being resumed. */
  resume?: Snapshot & Required<Pick<Snapshot, 'optimizer' | 'training'>>;
  /** Seconds spent loading the data. */
  loadSeconds: number;
  /** The claimed (locked) output folder: release() when the run ends (also done on exit). */
  folder: RunFolder;
}

function timestamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

/** A checkpoint to resume, or a user error saying why it is not one. */
export function loadCheckpoint(path: string): NonNullable<RunSetup['resume']> {
  const snap = loadModel(path).snapshot;
  if (!snap?.training || !snap.optimizer) throw new UserError(`--resume ${path}: not a cnnviz training checkpoint (no optimizer state or progress)`);
  // Saved settings are checked with the rules of the options they came from, progress for what the trainer needs.
  validateSavedConfig(snap.training.config, path);
  validateSavedProgress(snap.training, snap.optimizer.state.step, path);
  assertFiniteParams(snap.params, path);
  return snap as NonNullable<RunSetup['resume']>;
}

/**
 * Options that fix what a run computes, so a resumed run keeps its checkpoint's values: changing one
 * would no longer reach the weights of an uninterrupted run. Given with --resume, each is compared with
 * the checkpoint's setting (read as a new run would read it): the same value is accepted (the command
 * line repeated with --resume), a different one refused, never dropped. Every `train` option is in this
 * table or in RESUME_FREE_OPTIONS (a test checks).
 */
const RESUME_FIXED: Record<string, ((c: TrainConfig) => unknown) | null> = {
  model: (c) => c.model, batchSize: (c) => c.batchSize, microBatch: (c) => c.microBatch,
  optimizer: (c) => c.optimizer.method, nesterov: (c) => c.optimizer.method, lr: (c) => c.optimizer.learningRate,
  lrSchedule: (c) => c.lrSchedule ?? DEFAULT_LR_SCHEDULE, warmup: (c) => c.lrSchedule ?? DEFAULT_LR_SCHEDULE,
  lrSteps: (c) => c.lrSchedule ?? DEFAULT_LR_SCHEDULE, lrStepFactor: (c) => c.lrSchedule ?? DEFAULT_LR_SCHEDULE,
  labelSmoothing: (c) => c.labelSmoothing ?? 0, momentum: (c) => c.optimizer.momentum, weightDecay: (c) => c.optimizer.weightDecay ?? 0,
  l1: (c) => c.optimizer.l1Decay, l2: (c) => c.optimizer.l2Decay, ro: (c) => c.optimizer.ro, eps: (c) => c.optimizer.eps,
  beta1: (c) => c.optimizer.beta1, beta2: (c) => c.optimizer.beta2, seed: (c) => c.seed, trainLimit: (c) => c.trainLimit ?? null,
  testLimit: (c) => c.testLimit ?? null, augment: (c) => c.augmentation, normalize: (c) => c.normalize, probe: (c) => c.probe ?? null,
  probeCount: (c) => c.probeCount, tta: (c) => c.tta ?? 'none', ema: (c) => c.ema ?? null, holdout: (c) => c.holdout ?? 0,
  // Not settings of the checkpoint: always refused (--out names the folder; the checkpoint keeps its scaling).
  name: null, preprocess: null,
};
export const RESUME_FIXED_OPTIONS = Object.keys(RESUME_FIXED) as (keyof TrainOptions)[];

/** The `train` options a resumed run honours: the rest of its settings, and how it runs. */
export const RESUME_FREE_OPTIONS = [
  'epochs', 'data', 'download', 'viz', 'vizEvery', 'vizScale', 'vizSteps', 'explorerData', 'resume', 'out', 'overwrite', 'workers', 'json', 'quiet', 'maxMemory', 'serve',
] as const;

/** The options that say how to read the data: a resumed run reads it as it recorded, so each is refused. */
export const RESUME_DATA_OPTIONS = ['dataset', 'labels', 'testFraction', 'inputSize', 'channels'] as const;

const flagOf = (key: string): string => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
const shown = (v: unknown): string => (v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v));

/**
 * Refuse options given with --resume whose value differs from the checkpoint's `saved` settings (see
 * RESUME_FIXED), naming each with both values.
 */
export function refuseResumeConflicts(checkpoint: string, saved: TrainConfig, opts: TrainOptions, explicit: Explicit): void {
  const given = RESUME_FIXED_OPTIONS.filter((k) => explicit(k));
  if (given.length === 0) return;
  // The options read as a new run would read them (recipes, defaults per method), then compared field by field.
  let asNew: TrainConfig | undefined;
  try {
    asNew = newConfig(opts, saved.data, explicit);
  } catch {
    // Options a new run would refuse differ from any checkpoint: reported below as conflicts.
  }
  const conflicts = given.flatMap((k) => {
    const field = RESUME_FIXED[k];
    if (!field) return [`${flagOf(k)} (not a setting a resumed run can take)`];
    const want = asNew ? field(asNew) : undefined;
    const have = field(saved);
    return asNew && JSON.stringify(want) === JSON.stringify(have) ? [] : [`${flagOf(k)} ${asNew ? shown(want) : String(opts[k])} (the checkpoint: ${shown(have)})`];
  });
  if (conflicts.length === 0) return;
  const named = given.includes('name') ? '; --out names the folder to continue in' : '';
  throw new UserError(
    `--resume ${checkpoint}: ${conflicts.join(', ')}: a resumed run keeps the checkpoint's settings, so that it ` +
      `reaches the weights of a run that was never stopped (it may change --epochs, --data, --viz* and --explorer-data${named}). ` +
      `To train these weights with other settings, start a new run from them: --model ${checkpoint} (a fresh optimizer)`,
  );
}

/** The checkpoint's configuration, with the few settings a resumed run may change (--epochs, --data, --viz*, --explorer-data). */
export function resumedConfig(checkpoint: NonNullable<RunSetup['resume']>, opts: TrainOptions, explicit: Explicit): TrainConfig {
  const config = { ...(checkpoint.training.config as unknown as TrainConfig) };
  if (explicit('epochs')) config.epochs = opts.epochs;
  if (explicit('data')) config.data = opts.data!;
  if (explicit('viz')) config.viz = opts.viz;
  if (explicit('vizEvery')) config.vizEvery = opts.vizEvery;
  if (explicit('vizScale')) config.vizScale = opts.vizScale;
  if (explicit('vizSteps')) config.vizSteps = opts.vizSteps;
  if (explicit('explorerData')) config.explorerData = opts.explorerData;
  return config;
}

/**
 * A new run's configuration from the options (dataDir: the data folder, found or downloaded; dataset: how
 * to read it, absent for CIFAR-10). A preset's recipe (src/train/recipes.ts) replaces the general
 * defaults of the options not given, and the data set decides the default augmentation.
 */
export function newConfig(opts: TrainOptions, dataDir: string, explicit: Explicit = () => true, dataset?: DataOptions): TrainConfig {
  const recipe = presetRecipe(opts.model);
  const pick = <K extends keyof TrainOptions, V>(k: K, fromRecipe: V | undefined): TrainOptions[K] | V =>
    explicit(k) || fromRecipe === undefined ? opts[k] : fromRecipe;
  let method = pick('optimizer', recipe?.optimizer);
  if (opts.nesterov) {
    if (method !== 'sgd' && method !== 'nesterov') throw new UserError(`--nesterov: applies to sgd, not --optimizer ${method}`);
    method = 'nesterov';
  }
  const o = defaultOptimizerOptions(method);
  const optimizer = {
    ...o,
    learningRate: opts.lr ?? recipe?.learningRate ?? o.learningRate, momentum: opts.momentum ?? recipe?.momentum ?? o.momentum,
    l1Decay: opts.l1, l2Decay: pick('l2', recipe?.l2Decay), weightDecay: opts.weightDecay ?? recipe?.weightDecay ?? o.weightDecay,
    ro: opts.ro ?? o.ro, eps: opts.eps ?? o.eps, beta1: opts.beta1 ?? o.beta1, beta2: opts.beta2 ?? o.beta2,
  };
  const degenerate = optimizerOptionsProblem(optimizer);
  if (degenerate) throw new UserError(`--${degenerate[0]} ${optimizer[degenerate[0]]}: ${degenerate[1]}`);
  const scheduleGiven = explicit('lrSchedule') || explicit('warmup') || explicit('lrSteps') || explicit('lrStepFactor');
  const lrSchedule: LrSchedule = scheduleGiven || !recipe
    ? {
        kind: opts.lrSchedule ?? DEFAULT_LR_SCHEDULE.kind, stepFactor: opts.lrStepFactor ?? DEFAULT_LR_SCHEDULE.stepFactor,
        ...(opts.warmup !== undefined ? { warmupEpochs: opts.warmup } : {}),
        ...(opts.lrSteps !== undefined ? { stepEpochs: parseStepEpochs(opts.lrSteps) } : {}),
      }
    : recipe.lrSchedule;
  const batchSize = pick('batchSize', recipe?.batchSize);
  return {
    model: opts.model, data: dataDir, epochs: pick('epochs', recipe?.epochs), batchSize, microBatch: Math.min(pick('microBatch', recipe?.microBatch), batchSize),
    optimizer, lrSchedule, labelSmoothing: pick('labelSmoothing', recipe?.labelSmoothing) ?? 0,
    seed: opts.seed, trainLimit: opts.trainLimit, testLimit: opts.testLimit, augmentation: parseAugment(explicit('augment') && opts.augment !== undefined ? opts.augment : defaultAugment(dataset?.kind ?? 'cifar-10')),
    normalize: opts.normalize === true, probe: opts.probe ? parseProbeIndices(opts.probe) : undefined, probeCount: opts.probeCount,
    viz: opts.viz, vizEvery: opts.vizEvery, vizScale: opts.vizScale, vizSteps: opts.vizSteps ?? 'none',
    ...ttaOf(pick('tta', recipe?.tta)), ...(opts.ema !== undefined ? { ema: opts.ema } : {}),
    ...(opts.holdout ? { holdout: opts.holdout } : {}),
    ...(opts.explorerData ? { explorerData: opts.explorerData } : {}),
    ...(dataset ? { dataset } : {}),
  };
}

/** The run's test-time augmentation field: absent for none. */
function ttaOf(tta: TtaMode | undefined): { tta?: TtaMode } {
  return tta && tta !== 'none' ? { tta } : {};
}

/** A new run's default output folder: out/<model name>-<date>-<time> (or --name). */
export function defaultOut(opts: TrainOptions): string {
  const modelName = existsSync(opts.model) ? basename(opts.model).replace(/\.(json|onnx)$/i, '') : basename(opts.model);
  return join('out', opts.name ?? `${modelName}-${timestamp()}`);
}

/** Fail unless the model can be trained on this data: image shape, number of classes, class labels as targets. */
export function checkModelForData(spec: ModelSpec, data: Pick<Dataset, 'dir' | 'classNames' | 'kind' | 'train'>): void {
  const s = spec.shapes[0];
  const d = data.train.shape;
  const what = DATASET_NAMES[data.kind];
  if (s.join() !== d.join()) {
    throw new UserError(
      `${spec.origin}: layer 0 (input): fields "out_sx", "out_sy", "out_depth" give ${shapeText(s)}, ` +
        `but the ${what} images of ${data.dir} are ${shapeText(d)}` +
        (data.kind === 'image-folder' ? ' (--input-size and --channels choose theirs)' : ''),
    );
  }
  const loss = lossOf(spec);
  const classes = spec.shapes[spec.shapes.length - 1][0];
  if (loss.target === 'labels' && classes !== data.classNames.length) {
    throw new UserError(`${spec.origin}: the last layer has ${classes} classes, but ${data.dir} has ${data.classNames.length}`);
  }
  if (loss.target !== 'labels') {
    throw new UserError(`${spec.origin}: a ${spec.layers[spec.layers.length - 1].type} network cannot be trained on ${what} class labels; use softmax or svm`);
  }
}

/** The data options given on the command line (what --dataset, --labels, ... say). */
function givenDataOptions(opts: TrainOptions): DataOptions {
  return {
    ...(opts.dataset !== undefined ? { kind: opts.dataset } : {}),
    ...(opts.labels !== undefined ? { labels: opts.labels } : {}),
    ...(opts.testFraction !== undefined ? { testFraction: opts.testFraction } : {}),
    ...(opts.inputSize !== undefined ? { inputSize: opts.inputSize } : {}),
    ...(opts.channels !== undefined ? { channels: opts.channels } : {}),
  };
}

/** Refuse, before decoding, an image folder whose decoded images would not fit in memory. */
function checkDataMemory(bytes: number, what: string): void {
  assertMemoryFits({ bytes, parts: [{ what: 'decoded images', bytes }], largestBuffer: bytes, replicaActivations: 0 }, what, {
    hint: 'use --train-limit, --test-limit, or a smaller --input-size or --channels 1',
  });
}

/** Images per evaluation task (one worker evaluates this many test images at a time). */
export const EVAL_MICRO_BATCH = 50;

/**
 * The most worker threads a run can keep busy: training tasks per batch or evaluation tasks over the
 * test split, whichever is more, and never more than 4 per available core (more only adds threads
 * and memory that wait). --workers above this is lowered to it (the header line says so).
 */
export function usefulWorkers(batchSize: number, microBatch: number, testCount: number, cores = availableParallelism()): number {
  const tasks = Math.max(Math.ceil(batchSize / Math.max(1, microBatch)), Math.ceil(testCount / EVAL_MICRO_BATCH), 1);
  return Math.min(tasks, 4 * cores);
}

/** What the header line says of --holdout, --tta and --ema (nothing when none is on). */
function evaluationText(config: TrainConfig, data: Dataset): string {
  const parts = [
    ...(data.val ? [`${data.val.count} held back for validation`] : []),
    ...(config.tta && config.tta !== 'none' ? [`test-time ${config.tta}`] : []),
    ...(config.ema !== undefined ? [`weight average ${config.ema}`] : []),
  ];
  return parts.length ? `; ${parts.join(', ')}` : '';
}

/** Everything `train` needs before the first batch. */
export async function setupRun(opts: TrainOptions, explicit: Explicit, log: (message: string) => void): Promise<RunSetup> {
  let config: TrainConfig;
  let resume: RunSetup['resume'];
  let out: string;
  /** The run folder the resumed checkpoint belongs to: continuing there is not overwriting. */
  let resuming: string | undefined;
  if (opts.resume) {
    for (const k of RESUME_DATA_OPTIONS) {
      if (explicit(k)) throw new UserError(`${flagOf(k)}: a resumed run reads its data as it recorded (run.json's config.dataset); start a new run to change it`);
    }
    resume = loadCheckpoint(opts.resume);
    refuseResumeConflicts(opts.resume, resume.training.config as unknown as TrainConfig, opts, explicit);
    config = resumedConfig(resume, opts, explicit);
    const done = resume.training.epoch;
    if (config.epochs <= done) {
      throw new UserError(
        `--resume ${opts.resume}: nothing left to do: the checkpoint has ${done} epoch(s) done and the run asks for ${config.epochs}; ` +
          `pass --epochs with a total above ${done} to train further`,
      );
    }
    resuming = runFolderOf(opts.resume);
    out = opts.out ?? resumeFolder(opts.resume);
  } else {
    // The model first: its input shape is an image folder's default size (a preset's is then fitted to the data).
    const given = loadModel(opts.model, { preprocess: opts.preprocess });
    const dataDir = await ensureData(opts.data, opts.dataset, { noDownload: !opts.download, log });
    const dataset = await resolveDataOptions(dataDir, givenDataOptions(opts), given.spec.shapes[0]);
    config = newConfig(opts, dataDir, explicit, dataset.kind === 'cifar-10' ? undefined : dataset);
    out = opts.out ?? defaultOut(opts);
  }
  const settings: RunSettings = { out, workers: opts.workers, json: opts.json === true, quiet: opts.quiet === true, resume: opts.resume };

  let model: LoadedModel = resume ? { kind: 'snapshot', spec: resume.spec, snapshot: resume } : loadModel(config.model, { preprocess: opts.preprocess });
  if (model.snapshot) assertFiniteParams(model.snapshot.params, config.model);
  const loadStart = performance.now();
  // A run recorded before other data sets existed has no `dataset`: it was CIFAR-10.
  const loaded = await loadDataset(config.data, {
    ...(config.dataset ?? { kind: 'cifar-10' }), trainLimit: config.trainLimit, testLimit: config.testLimit, shared: true,
    defaultShape: model.spec.shapes[0], checkMemory: checkDataMemory, log,
  });
  if (model.kind === 'preset') model = { kind: 'preset', spec: presetSpec(config.model, { shape: loaded.train.shape, classes: loaded.classNames.length }) };
  // A model with a larger (or smaller) input than the data's sees the images resized to it; then --holdout.
  const data = holdBack(await fitImagesToModel(model.spec, loaded, log, checkDataMemory), config.holdout);
  checkModelForData(model.spec, data);
  // --probe indices are checked against the loaded test split here, before the run folder is claimed.
  if (config.probe) chooseProbe(data.test.count, config.seed, config.probeCount, config.probe);
  const busy = usefulWorkers(Math.min(config.batchSize, data.train.count), config.microBatch, data.test.count);
  if (busy < settings.workers) settings.workers = busy;
  // A resumed run keeps its checkpoint's scaling; otherwise --preprocess, then what the model records.
  const preprocessing = (resume ? undefined : opts.preprocess) ?? model.snapshot?.preprocessing ?? makePreprocessing(config.normalize, data.train);
  const loadSeconds = (performance.now() - loadStart) / 1000;
  log(
    `cnnviz train: ${data.train.count} training and ${data.test.count} test images (${DATASET_NAMES[data.kind]}, ` +
      `${shapeText(data.train.shape)}, ${data.classNames.length} classes) from ${config.data} ` +
      `(${loadSeconds.toFixed(1)} s); model ${config.model}; ${settings.workers} worker(s)` +
      `${settings.workers < opts.workers ? ` (--workers ${opts.workers}: at most ${settings.workers} can be busy)` : ''}; kernels ${kernelsLabel()}; ` +
      `augment ${formatAugment(config.augmentation)}${evaluationText(config, data)}; ${config.optimizer.method} lr ${config.optimizer.learningRate} ` +
      `(${describeSchedule(config.lrSchedule ?? DEFAULT_LR_SCHEDULE)}), batch ${config.batchSize}/${config.microBatch}; output ${out}`,
  );
  // Before anything big is allocated (the network's parameters included): refuse what cannot fit.
  assertMemoryFits(
    trainingMemory(model.spec, {
      batchSize: Math.min(config.batchSize, data.train.count), microBatch: config.microBatch, evalMicroBatch: EVAL_MICRO_BATCH, workers: settings.workers,
      trainImages: data.train.count, testImages: data.test.count, imageBytes: imageSize(data.train.shape),
      probeCount: config.viz === 'none' ? 0 : Math.min(config.probe?.length ?? config.probeCount, MAX_PROBE_COUNT),
    }),
    `${model.spec.origin} with --batch-size ${config.batchSize}, --micro-batch ${config.microBatch} and ${settings.workers} worker(s)`,
    { wasm: true },
  );
  // Everything is validated: now the first write. Claim the folder (lock, refuse a non-empty one).
  const folder = claimRunFolder(out, { what: '--out', overwrite: opts.overwrite === true, resuming });
  try {
    const net = networkFor(model, config.seed);
    return { config, settings, model, data, preprocessing, initialParams: net.params, initialState: net.state, resume, loadSeconds, folder };
  } catch (e) {
    folder.release();
    throw e;
  }
}
