/**
 * All pictures of one epoch: for every layer its activations, activation gradients and (for layers
 * with weights) weights and weight gradients, plus stats.json; the probe images with their top-3
 * predictions; animation frames. Layout on disk:
 *
 *   <out>/epoch-NNN/epoch.json                 what was written (the report reads this)
 *   <out>/epoch-NNN/probe.json, probe.png      probe images, true labels, top-3 predictions
 *   <out>/epoch-NNN/walkthrough.png, .json     probe image 0 through the first conv, ReLU and pool, forward and backward
 *   <out>/epoch-NNN/walkthrough-batchnorm.png, .json, walkthrough-residual.png, .json   the same for conv ->
 *                                               batch norm -> ReLU and a residual block (walkthrough-blocks.ts)
 *   <out>/epoch-NNN/LL-<type>/activations.png, activation-gradients.png, weights.png, weight-gradients.png
 *   <out>/epoch-NNN/LL-<type>/stats.json       shape, parameter count, min/max/mean/std, scales used
 *   <out>/epoch-NNN/LL-<type>/top-patches.png, .json   conv/ReLU/pool: the 9 test patches that excite each channel most
 *   <out>/animations/frames/LL-<type>-<quantity>/epoch-NNN.webp  frames at the run scale
 *   <out>/animations/LL-<type>-<quantity>.webp                   animated, all epochs so far
 *   <out>/epoch-NNN/explorer/LLL.js, probe.js, summary.json   the probe tensors as float32 (explorer/data.ts)
 *   <out>/viz-scale-state.json                 the run scales (VizScaleState), reloaded when not passed
 */
import { promises as fsp } from 'node:fs';
import { basename, join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { errorMessage, UserError } from '../util/errors.js';
import { boundPlan, truncateLabel } from './bounds.js';
import type { LayerProbe, ProbeResult, UserImageInfo } from './types.js';
import { Canvas, encodeCanvasPng, encodeCanvasWebp, lineHeight, fitText, textEngine, wrapText, type TextEngine } from './canvas.js';
import { colourNote, probeWords, quantityLine } from './explain.js';
import type { LayerWords } from '../nn/layers/layer.js';
import {
  QUANTITIES,
  drawImageTile,
  gutterColor,
  hasPicture,
  planPicture,
  tileNaturalScale,
  type LayerShapeInfo,
  type PicturePlan,
  type Quantity,
} from './grid.js';
import { composePicture, type ColorBarSpec, type PictureGeometry } from './picture.js';
import {
  coerceVizScaleState,
  colorBarLabels,
  computeStats,
  countClipped,
  formatNumber,
  naturalScale,
  resolveAnimationScale,
  resolveRunScale,
  robustScale,
  ROBUST_PERCENTILE,
  scaleText,
  tileScaleLabel,
  type ColorMapKind,
  type QuantityStats,
  type VizScaleMode,
  type VizScaleState,
} from './scale.js';
import { FRAME_EXT, FRAMES_DIR, writeAnimations } from './animate.js';
import { composeWalkthrough, computeWalkthrough, type WalkthroughData } from './walkthrough.js';
import { composeBnWalkthrough, composeResidualWalkthrough, computeBnWalkthrough, computeResidualWalkthrough, type BnWalkthroughData, type ResidualWalkthroughData } from './walkthrough-blocks.js';
import { composeTopPatches, type PatchSet } from './patches.js';
import { composeChannelBars } from './channel-bars.js';
import { DEFAULT_EXPLORER_DATA, explorerFiles, type ExplorerDataMode } from './explorer/data.js';

export interface EpochVizOptions {
  scale: VizScaleMode;
  /**
   * Run scales kept across epochs (create with createVizScaleState()). When absent, the state is
   * loaded from <out>/viz-scale-state.json (or started fresh). Either way it is updated and saved there.
   */
  scaleState?: VizScaleState;
  classNames: string[];
  /**
   * Animation work: 'update' (default) writes this epoch's frames and rebuilds the animated WebPs from
   * all frames so far (spliced, not re-encoded: cheap); 'frames' only writes the frames (call writeAnimations() later); 'none' skips both.
   */
  animations?: 'update' | 'frames' | 'none';
  /** Top receptive-field patches per conv/ReLU/pool channel (from a pass over a fixed test subset). */
  patches?: PatchSet;
  /**
   * Pictures taken during training (`--viz-steps`): the optimizer step. They go to step-NNNNNN/
   * (same layout), their captions name the step, and their animation frames sort after the epochs
   * completed before them (`epoch` = epochs completed so far).
   */
  step?: number;
  /** The probe tensors for the report's explorer (explorer/data.ts): float32, float16 (default) or none. */
  explorerData?: ExplorerDataMode;
}

/** Folder of a step's pictures (`--viz-steps`), e.g. step-000050. */
export function stepDirName(step: number): string {
  return `step-${pad(step, 6)}`;
}

/** What captions call the moment: "epoch 3", or "step 50 (epoch 1)" for a step in the first epoch. */
export function momentText(epoch: number, step?: number): string {
  if (step === 0) return 'step 0 (before training)';
  return step === undefined ? `epoch ${epoch}` : `step ${step} (epoch ${epoch + 1})`;
}

/** What one picture used, as recorded in stats.json (`quantities.<q>.picture`). */
export interface PictureSummary {
  file: string;
  colorMap: ColorMapKind | 'mixed';
  scaleMode: VizScaleMode;
  /** The scale s of the picture (layer/run mode), or the largest tile scale (map mode); 0 for images. */
  scale: number;
  /** Run mode: the epoch the scale was fixed at. */
  fixedAtEpoch?: number;
  /** Colour bars exactly as drawn: kind, scale and the three printed numbers. */
  bars: { kind: ColorBarSpec['kind']; scale: number; labels: [string, string, string]; caption: string }[];
  /** Values beyond the scale (clipped to the end colours): run and robust modes. */
  clipped: number;
  /** Map mode: each tile's scale (row-major, rows x cols) and the label printed under it. */
  tileScales?: number[];
  tileLabels?: string[];
  /** Where the grid is inside the PNG, and its layout. */
  grid: { x: number; y: number; width: number; height: number; rows: number; cols: number; zoom: number; gutter: number; gutterRgb: number[]; cellW: number; cellH: number };
  width: number;
  height: number;
}

/** What identifies a layer in stats.json and epoch.json. */
export interface LayerFacts {
  index: number;
  type: string;
  name: string;
  /** The layer type's short name for its kind of words (LayerHints.explain). */
  explain: string;
  description: string;
  outShape: [number, number, number];
  paramCount: number;
  weightShape?: [number, number, number, number];
}

export interface LayerStatsFile {
  epoch: number;
  layer: LayerFacts & { activationsNonNegative: boolean };
  probeCount: number;
  scaleMode: VizScaleMode;
  quantities: Partial<Record<Quantity, QuantityStats & { shape: number[]; picture: PictureSummary }>>;
  biases?: QuantityStats;
  biasGrads?: QuantityStats;
  noPicture?: Partial<Record<Quantity, string>>;
}

export interface LayerVizSummary extends LayerFacts {
  /** Folder relative to the output folder, e.g. "epoch-003/01-conv". */
  dir: string;
  /** Picture files relative to the output folder, by quantity. */
  files: Partial<Record<Quantity, string>>;
  /** stats.json relative to the output folder. */
  statsFile: string;
  ranges: Partial<Record<Quantity, { min: number; max: number; mean: number; std: number; zeroFraction: number }>>;
  /** Quantities without a picture for this layer kind, with the reason (e.g. the softmax's gradient). */
  noPicture?: Partial<Record<Quantity, string>>;
  /** What each channel responds to: top-patches.png and .json (relative to the output folder). */
  patches?: { png: string; json: string; subsetImages: number };
  /** Per picture: scale used and values beyond it. */
  scales?: Partial<Record<Quantity, { scale: number; clipped: number; count: number }>>;
  /** The layer's words in this network, with this epoch's measured facts (its type's LayerHints.words). */
  words?: LayerWords;
  /** The layer's role (LayerHints.role), the layers it reads, and its fields. */
  role?: string;
  inputs?: number[];
  config?: Record<string, unknown>;
  /**
   * Pictures of particular layer kinds, relative to the output folder: batch norm's per-channel gamma,
   * beta and running statistics (channels.png), a join's input branches and their sum (branches.png).
   */
  extras?: { file: string; kind: 'channels' | 'branches' }[];
}

export interface ProbePrediction {
  /** Position in the probe (row in every picture). */
  row: number;
  /** Index in the test split. */
  testIndex: number;
  label: number;
  labelName: string;
  top3: { class: number; name: string; p: number }[];
  correct: boolean;
}

export interface EpochVizSummary {
  epoch: number;
  /** `--viz-steps` pictures: the step (then `epoch` counts the epochs completed before it). */
  step?: number;
  /** Folder relative to the output folder, e.g. "epoch-003". */
  dir: string;
  scaleMode: VizScaleMode;
  layers: LayerVizSummary[];
  probe: { json: string; png: string; scoreKind: 'probability' | 'score'; predictions: ProbePrediction[]; userImage?: UserImageInfo };
  /** The walkthrough (first conv -> ReLU -> pool for one probe image), when the network has that chain. */
  walkthrough?: { png: string; json: string; data: WalkthroughData };
  /** The first conv -> batch norm -> ReLU, when the network has that chain. */
  bnWalkthrough?: { png: string; json: string; data: BnWalkthroughData };
  /** A residual block (and the gradient norms of every block), when the network adds two paths. */
  residualWalkthrough?: { png: string; json: string; data: ResidualWalkthroughData };
  /** Animated files (relative to the output folder) rebuilt this epoch. */
  animations: string[];
  /** Every file written, relative to the output folder. */
  files: string[];
  /** Wall time of writeEpochViz in seconds. */
  seconds: number;
  textEngine: TextEngine;
}

export const SCALE_STATE_FILE = 'viz-scale-state.json';

/** Pictures drawn and encoded at the same time: enough to keep sharp's threads busy, few enough to bound memory. */
const PICTURES_IN_FLIGHT = 4;

/** Run async jobs with at most `n` in flight, in the order they were queued. */
export function concurrencyLimit(n: number): <T>(job: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(job: () => Promise<T>): Promise<T> => {
    if (active >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await job();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}
export const EPOCH_INDEX_FILE = 'epoch.json';

/** JSON with 2-space indent, but arrays of numbers/strings kept on one line. */
export function toJson(v: unknown): string {
  return `${JSON.stringify(v, null, 2).replace(/\[\s+([^[\]{}]*?)\s+\]/g, (_m, inner: string) => `[${inner.replace(/\s*\n\s*/g, ' ')}]`)}\n`;
}

export function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

export function epochDirName(epoch: number): string {
  return `epoch-${pad(epoch, 3)}`;
}

export function layerDirName(index: number, type: string): string {
  return `${pad(index, 2)}-${type.toLowerCase().replace(/[^a-z0-9_-]/g, '_') || 'layer'}`;
}

function formatShape(s: readonly number[]): string {
  return s.join('×');
}

/** The shape facts of every layer, with inputIsImage worked out from what it reads. */
export function layerShapeInfos(layers: readonly LayerProbe[]): LayerShapeInfo[] {
  return layers.map((l) => ({
    index: l.index,
    type: l.type,
    outShape: l.outShape,
    weightShape: l.weights?.shape,
    weightLayout: l.weightLayout,
    // Layer 0 is the input layer: the image, when it has 3 channels.
    inputIsImage: l.inputs.length === 1 && l.inputs[0] === 0 && layers[0].outShape[0] === 3,
    activationsNonNegative: l.activationsNonNegative,
  }));
}

/** Names for a layer's output channels when they are the classes (the final K x 1 x 1 layers). */
function classChannelNames(layers: readonly LayerProbe[], i: number, classNames: string[]): string[] | undefined {
  const K = classNames.length;
  if (K === 0) return undefined;
  for (let j = i; j < layers.length; j++) {
    const [c, h, w] = layers[j].outShape;
    if (c !== K || h !== 1 || w !== 1) return undefined;
  }
  return classNames;
}

/** The animated quantities: each layer's activations, and the weights of the first layer with weights. */
export function animatedPictures(layers: readonly LayerProbe[]): { layer: number; quantity: Quantity }[] {
  const out: { layer: number; quantity: Quantity }[] = layers.map((_, i) => ({ layer: i, quantity: 'activations' as Quantity }));
  const first = layers.findIndex((l) => l.weights !== undefined);
  if (first >= 0) out.push({ layer: first, quantity: 'weights' });
  return out;
}

export function animationName(l: { index: number; type: string }, q: Quantity): string {
  return `${layerDirName(l.index, l.type)}-${q}`;
}

function quantityData(l: LayerProbe, q: Quantity): Float32Array | undefined {
  switch (q) {
    case 'activations':
      return l.activations;
    case 'activation-gradients':
      return l.activationGrads;
    case 'weights':
      return l.weights?.data;
    case 'weight-gradients':
      return l.weightGrads;
  }
}

function quantityShape(l: LayerProbe, q: Quantity, P: number): number[] {
  if (q === 'activations' || q === 'activation-gradients') return [P, ...l.outShape];
  return l.weights ? [...l.weights.shape] : [];
}

function checkLength(what: string, data: Float32Array, shape: readonly number[]): void {
  const n = shape.reduce((a, b) => a * b, 1);
  if (data.length !== n) throw new Error(`viz: ${what} has ${data.length} values, expected ${n} for shape ${formatShape(shape)}`);
}

interface RenderedPicture {
  canvas: Canvas;
  summary: PictureSummary;
}

interface PictureJob {
  layer: LayerProbe;
  info: LayerShapeInfo;
  plan: PicturePlan;
  data: Float32Array;
  images?: Uint8Array;
  epoch: number;
  /** Caption text for the moment, e.g. "epoch 3" or "step 50 (epoch 1)". */
  moment: string;
  probeCount: number;
  mode: VizScaleMode;
  /** Scale state key for run scales. */
  key: string;
  /** Whether a softmax-like loss layer reads this layer's outputs (the note on class scores). */
  feedsProbabilities: boolean;
  state: VizScaleState;
  inputRange?: { min: number; max: number };
  /** What the rows and tiles are, when not the quantity's usual rows (one per probe image), e.g. branches.png. */
  rowsLine?: string;
  /** The layer's short note for this picture (LayerWords.pictureNotes). */
  note?: string;
}

function picturePlanKind(plan: PicturePlan): ColorMapKind | 'mixed' {
  return plan.mixed ? 'mixed' : plan.colorKind;
}

/**
 * Decides the scales of a picture (mode rules), composes and encodes it.
 * `forceRun`: an animation frame: the animation's growing scale (resolveAnimationScale) whatever the mode.
 */
function renderPicture(job: PictureJob, engine: TextEngine, file: string, forceRun = false): RenderedPicture {
  const { plan, data, layer, epoch } = job;
  const mode: VizScaleMode = forceRun ? 'run' : job.mode;
  const kind = plan.colorKind;
  const isImage = kind === 'image';
  const own = isImage ? 0 : naturalScale(kind, data);
  let tileScales: number[];
  let scale = mode === 'robust' && !isImage ? robustScale(kind, data) : own;
  let fixedAtEpoch: number | undefined;
  const run = isImage ? { scale: 0, fixedAtEpoch: epoch } : resolveRunScale(job.state, job.key, own, epoch);
  const animation = forceRun && !isImage ? resolveAnimationScale(job.state, job.key, robustScale(kind, data), epoch) : undefined;
  if (mode === 'map' && !isImage) {
    tileScales = plan.tiles.map((t) => (t ? tileNaturalScale(t, plan, data) : 0));
    scale = Math.max(0, ...tileScales);
  } else if (mode === 'run') {
    scale = animation ? animation.scale : run.scale;
    fixedAtEpoch = animation ? animation.since : run.fixedAtEpoch;
    tileScales = [scale];
  } else {
    tileScales = [scale];
  }
  const clipped = isImage || (mode !== 'run' && mode !== 'robust') ? 0 : countClipped(kind === 'sequential' ? 'sequential' : 'diverging', data, scale);
  const nan = isImage ? 0 : countNaN(data);

  const mapMode = mode === 'map' && !isImage;
  const barFor = (k: ColorBarSpec['kind'], caption: string): ColorBarSpec => ({
    kind: k,
    scale,
    labels: mapMode ? (k === 'sequential' ? ['0', 's/2', 's'] : ['-s', '0', 's']) : colorBarLabels(k, scale),
    caption,
  });
  const bars: ColorBarSpec[] = [];
  if (plan.mixed) {
    bars.push(barFor('signed-rgb', 'gradient, each RGB channel'));
    bars.push(barFor('sequential', 'max over RGB of |gradient|'));
  } else if (kind === 'signed-rgb') {
    const what = plan.quantity === 'weight-gradients' ? 'weight gradient' : plan.quantity === 'weights' ? 'weight' : 'value';
    bars.push(barFor('signed-rgb', `${what}, each RGB channel`));
  } else if (kind === 'diverging' || kind === 'sequential') {
    bars.push(barFor(kind, plan.quantity.endsWith('gradients') ? 'gradient value' : 'value'));
  }

  const isInput = layer.index === 0;
  const captions = [
    `Layer ${layer.index} · ${layer.description || layer.type} · ${job.moment}`,
    `${job.rowsLine ?? quantityLine(plan.quantity, isInput, kind === 'signed-rgb' && !isInput)} Shape ${formatShape(quantityShape(layer, plan.quantity, job.probeCount))}.`,
  ];
  const barKind = kind === 'sequential' ? 'sequential' : 'diverging';
  if (isImage) {
    const r = job.inputRange;
    captions.push(r ? `Drawn as stored (bytes 0..255) so you can recognise it; the network receives them preprocessed, spanning ${formatNumber(r.min)} .. ${formatNumber(r.max)}.` : '');
  } else if (mapMode) {
    captions.push(`Colour scale: per tile (map): each tile uses its own s = ${kind === 'sequential' ? 'max value' : 'max |value|'}, printed under it.`);
  } else if (mode === 'robust') {
    const total = data.length;
    const what = kind === 'sequential' ? 'value' : '|value|';
    const clipText = clipped > 0
      ? ` ${clipped.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} values (${percentText(clipped / total)}) are beyond it, drawn in the end colour (largest ${what} ${formatNumber(own)}).`
      : ` No values are beyond it (largest ${what} ${formatNumber(own)}).`;
    const how = scale === own ? `s = the largest ${what}` : `robust: s = the ${ROBUST_PERCENTILE}th percentile of ${what}`;
    // Zero is white in the middle of a diverging map, but black at the bottom of a sequential one.
    const zero = kind === 'sequential' ? 'Zero is black, the bottom of the scale.' : 'Zero is the middle colour.';
    captions.push(`Colour scale: ${scaleText(barKind, scale)} for the whole picture (${how}). ${zero}${clipText}`);
  } else if (mode === 'run') {
    const total = data.length;
    const clipText = clipped > 0 ? ` ${clipped.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} values (${percentText(clipped / total)}) are beyond it and clipped.` : ' No values are beyond it.';
    // Epoch 0 is the start: step pictures before the first epoch ended.
    const when = fixedAtEpoch === 0 ? 'before the first epoch ended' : `at epoch ${fixedAtEpoch}`;
    captions.push(
      animation
        ? `Colour scale: ${scaleText(barKind, scale)}, shared by the animation's frames: the largest ${ROBUST_PERCENTILE}th percentile of |value| so far, last raised ${when}.${clipText}`
        : `Colour scale: ${scaleText(barKind, scale)}, fixed ${when} (run scale).${clipText}`,
    );
  } else {
    captions.push(`Colour scale: ${scaleText(barKind, scale)} for the whole picture (layer scale: s = ${kind === 'sequential' ? 'max value' : 'max |value|'}).`);
  }
  if (!isImage && (plan.quantity === 'activations' || plan.quantity === 'activation-gradients')) {
    let zeros = 0;
    for (let i = 0; i < data.length; i++) if (data[i] === 0) zeros++;
    // The sparsity a learner looks for (ReLU off, gradient routed by a max pool), counted, in the picture too.
    captions.push(`Exactly zero: ${percentText(zeros / Math.max(1, data.length))} of the ${data.length.toLocaleString('en-US')} values${plan.colorKind === 'sequential' ? ' (black)' : plan.colorKind === 'diverging' ? ' (white)' : ''}.`);
  }
  const notes = [colourNote(plan.mixed ? 'mixed' : kind)];
  if (job.note) notes.push(job.note);
  if (nan > 0) notes.push(`${nan} NaN values are shown in magenta.`);
  const lossLayer = layer.isLoss;
  if (scale === 0 && !isImage) {
    notes.push(
      lossLayer && plan.quantity === 'activation-gradients'
        ? "All values are zero: this is the loss layer. Backpropagation starts from the loss at this layer's input, so the gradient appears on the previous layer's activation gradients, not here."
        : 'All values are zero.',
    );
  }
  if (job.feedsProbabilities && plan.quantity === 'activation-gradients') {
    notes.push('These outputs are the class scores fed to the softmax: d(loss)/d(score) = probability − 1 for the true class (blue) and the probability for every other class (red).');
  }

  const { canvas, geometry } = composePicture(
    { plan, data, images: job.images, captions: captions.filter((c) => c), tileScales, perTileLabels: mapMode, bars, notes },
    engine,
  );
  return {
    canvas,
    summary: {
      file,
      colorMap: picturePlanKind(plan),
      scaleMode: mode,
      scale,
      ...(fixedAtEpoch !== undefined ? { fixedAtEpoch } : {}),
      bars: bars.map((b) => ({ kind: b.kind, scale: b.scale, labels: b.labels, caption: b.caption })),
      clipped,
      ...(mapMode
        ? {
            tileScales,
            tileLabels: plan.tiles.map((t, i) => (t && t.kind !== 'image' ? tileScaleLabel(t.kind === 'magnitude' ? 'sequential' : kind, tileScales[i]) : '')),
          }
        : {}),
      grid: { ...gridSummary(geometry), gutterRgb: [...gutterColor(plan)] },
      width: geometry.width,
      height: geometry.height,
    },
  };
}

/** A fraction as a percentage for captions: "0.37%", "<0.01%". */
export function percentText(f: number): string {
  const p = 100 * f;
  if (p > 0 && p < 0.01) return '<0.01%';
  return `${p < 10 ? p.toFixed(2) : p.toFixed(1)}%`;
}

function gridSummary(g: PictureGeometry): Omit<PictureSummary['grid'], 'gutterRgb'> {
  return {
    x: g.gridX, y: g.gridY, width: g.grid.width, height: g.grid.height, rows: g.grid.rows, cols: g.grid.cols,
    zoom: g.grid.zoom, gutter: g.grid.gutter, cellW: g.grid.cellW, cellH: g.grid.cellH,
  };
}

function countNaN(data: Float32Array): number {
  let n = 0;
  for (let i = 0; i < data.length; i++) if (Number.isNaN(data[i])) n++;
  return n;
}

/** Reads <out>/viz-scale-state.json if present. */
export async function loadScaleState(outDir: string): Promise<VizScaleState> {
  try {
    return coerceVizScaleState(JSON.parse(await fsp.readFile(join(outDir, SCALE_STATE_FILE), 'utf8')));
  } catch {
    return coerceVizScaleState(undefined);
  }
}

function topK(probs: Float32Array, row: number, classes: number, k: number): { class: number; p: number }[] {
  const idx = Array.from({ length: classes }, (_, i) => i);
  idx.sort((a, b) => probs[row * classes + b] - probs[row * classes + a]);
  return idx.slice(0, k).map((c) => ({ class: c, p: probs[row * classes + c] }));
}

/** Top-3 predictions of every probe image. */
export function probePredictions(probe: ProbeResult, classNames: string[]): { predictions: ProbePrediction[]; scoreKind: 'probability' | 'score' } {
  const P = probe.labels.length;
  const classes = P > 0 ? Math.round(probe.probabilities.length / P) : 0;
  let isProb = classes > 0;
  for (let p = 0; p < P && isProb; p++) {
    let sum = 0;
    for (let c = 0; c < classes; c++) {
      const v = probe.probabilities[p * classes + c];
      if (!(v >= 0)) isProb = false;
      sum += v;
    }
    if (Math.abs(sum - 1) > 1e-3) isProb = false;
  }
  const name = (c: number): string => classNames[c] ?? `class ${c}`;
  const predictions = probe.labels.map((label, p) => {
    const top3 = topK(probe.probabilities, p, classes, Math.min(3, classes)).map((t) => ({ class: t.class, name: name(t.class), p: t.p }));
    return { row: p, testIndex: probe.probeIndices[p] ?? -1, label, labelName: name(label), top3, correct: top3.length > 0 && top3[0].class === label };
  });
  return { predictions, scoreKind: isProb ? 'probability' : 'score' };
}

function formatScore(p: number, kind: 'probability' | 'score'): string {
  return kind === 'probability' ? `${(100 * p).toFixed(p >= 0.995 || p < 0.1 ? 1 : 0)}%` : formatNumber(p);
}

/** The probe images enlarged 4x, each with its true label and top-3 predictions. */
export function composeProbeCanvas(probe: ProbeResult, preds: ProbePrediction[], scoreKind: 'probability' | 'score', epoch: number, engine: TextEngine, moment = `epoch ${epoch}`): Canvas {
  const [ch, H, W] = probe.imageShape;
  const P = preds.length;
  const zoom = Math.max(1, Math.ceil(128 / Math.max(H, W)));
  const user = probe.userImage;
  const cellW = Math.max(W * zoom, user ? 260 : 120);
  const gap = 14;
  const perRow = Math.min(P, 8);
  const rows = Math.ceil(P / Math.max(1, perRow));
  const textLines = 5;
  const textH = textLines * lineHeight(11) + 4;
  const margin = 10;
  const width = Math.max(user ? 560 : 440, margin * 2 + perRow * cellW + (perRow - 1) * gap);
  // Title and subtitle wrap to the width: with one to three probe images the picture is narrower than the subtitle.
  const title = wrapText(user ? `Your image · model of epoch ${epoch}` : `Probe images · ${moment}`, 14, width - 2 * margin, engine, true);
  const subtitle = wrapText(
    user
      ? `${user.width}x${user.height} px${user.width === W && user.height === H ? '' : `, stretched to ${W}x${H}`}: what the network sees. No true label; its top 3 ${scoreKind === 'probability' ? 'probabilities' : 'scores'}.`
      : `The same ${P} test ${P === 1 ? 'image' : 'images'} every epoch: true label, then the network's top 3 ${scoreKind === 'probability' ? 'probabilities' : 'scores'} (green = top-1 correct).`,
    11, width - 2 * margin, engine,
  );
  const titleH = title.length * lineHeight(14) + subtitle.length * lineHeight(11) + 8;
  const height = margin * 2 + titleH + rows * (H * zoom + textH + gap);
  const c = new Canvas(width, height);
  title.forEach((text, k) => c.text({ x: margin, y: margin + k * lineHeight(14), text, size: 14, bold: true, color: '#111111' }));
  subtitle.forEach((text, k) => c.text({ x: margin, y: margin + title.length * lineHeight(14) + k * lineHeight(11), text, size: 11, color: '#444444' }));
  const img = { data: c.data, width, height };
  preds.forEach((pr, i) => {
    const x = margin + (i % perRow) * (cellW + gap);
    const y = margin + titleH + Math.floor(i / perRow) * (H * zoom + textH + gap);
    if (ch === 3 || ch === 1) drawImageTile(img, x, y, probe.images, i * ch * H * W, H, W, zoom, ch);
    let ty = y + H * zoom + 3;
    const add = (text: string, color: string, bold = false): void => {
      c.text({ x, y: ty, text: fitText(text, 11, cellW, engine, bold), size: 11, color, bold });
      ty += lineHeight(11);
    };
    if (user) {
      add(`${i}: ${basename(user.file)}`, '#555555');
      add(user.labelFrom === 'option' ? `loss vs: ${pr.labelName} (--label)` : `loss vs: ${pr.labelName} (predicted)`, '#111111', true);
      // No true label: nothing to mark right or wrong.
      pr.top3.forEach((t, k) => add(`${k + 1}. ${t.name} ${formatScore(t.p, scoreKind)}`, '#333333', k === 0));
      return;
    }
    add(`${i}: test #${pr.testIndex}`, '#555555');
    add(`true: ${pr.labelName}`, '#111111', true);
    pr.top3.forEach((t, k) => add(`${k + 1}. ${t.name} ${formatScore(t.p, scoreKind)}`, k === 0 ? (pr.correct ? '#1a7f37' : '#c62828') : '#333333', k === 0));
  });
  return c;
}

/**
 * Writes every picture of one epoch (see the module notes for the layout) and returns what it wrote.
 * All files are written atomically (temp file, then rename). PNG encoding runs on sharp's threads,
 * all pictures in parallel.
 */
export async function writeEpochViz(outDir: string, epoch: number, probe: ProbeResult, opts: EpochVizOptions): Promise<EpochVizSummary> {
  const t0 = performance.now();
  if (!Number.isInteger(epoch) || epoch < 0) throw new Error(`viz: bad epoch ${epoch}`);
  const engine = await textEngine();
  const state = opts.scaleState ?? (await loadScaleState(outDir));
  const animations = opts.animations ?? 'update';
  const mode = opts.scale;
  const P = probe.labels.length;
  const step = opts.step;
  const epochDir = step === undefined ? epochDirName(epoch) : stepDirName(step);
  const moment = momentText(epoch, step);
  // Frames sort by (epochs completed, step): epoch-001.webp, then epoch-001-step-000600.webp, ...
  const frameBase = step === undefined ? epochDir : `${epochDirName(epoch)}-${stepDirName(step)}`;
  const infos = layerShapeInfos(probe.layers);
  const files: string[] = [];
  const writes: Promise<void>[] = [];
  // A picture that fails (too large, disk full...) is recorded and the others go on; see the end.
  const failures: { file: string; message: string }[] = [];
  const failed = (rel: string, e: unknown): void => {
    const message = errorMessage(e).split('\n')[0];
    failures.push({ file: rel, message: message.includes(rel) ? message : `${rel}: ${message}` });
  };
  const write = (rel: string, data: string | Uint8Array): void => {
    files.push(rel);
    writes.push(
      writeFileAtomic(join(outDir, rel), data).catch((e: unknown) => {
        files.splice(files.indexOf(rel), 1);
        failed(rel, e);
      }),
    );
  };
  // Class names label rows and columns: a 5,000-character name must not make a 30,000 px picture.
  const classNames = opts.classNames.map((n) => truncateLabel(n));
  const imageShapeOk = probe.layers.length > 0 && probe.imageShape.join() === probe.layers[0].outShape.join() && probe.images.length === P * probe.imageShape.reduce((a, b) => a * b, 1);
  const animated = new Set(animatedPictures(probe.layers).map((a) => `${a.layer}/${a.quantity}`));

  const layerSummaries: LayerVizSummary[] = [];
  const words = probeWords(probe.layers);
  const layerDone: Promise<void>[] = [];
  const limit = concurrencyLimit(PICTURES_IN_FLIGHT);
  probe.layers.forEach((layer, li) => {
    const info = infos[li];
    const dirRel = `${epochDir}/${layerDirName(layer.index, layer.type)}`;
    const channelNames = classChannelNames(probe.layers, li, classNames);
    const probeLabels = probe.labels.map((l) => classNames[l] ?? `${l}`);
    const facts: LayerFacts = {
      index: layer.index, type: layer.type, name: layer.name, explain: layer.explain, description: layer.description, outShape: layer.outShape,
      paramCount: layer.paramCount, ...(layer.weights ? { weightShape: layer.weights.shape } : {}),
    };
    const stats: LayerStatsFile = {
      epoch,
      layer: { ...facts, activationsNonNegative: layer.activationsNonNegative },
      probeCount: P,
      scaleMode: mode,
      quantities: {},
      ...(layer.biases ? { biases: computeStats(layer.biases) } : {}),
      ...(layer.biasGrads ? { biasGrads: computeStats(layer.biasGrads) } : {}),
    };
    const summary: LayerVizSummary = {
      ...facts,
      dir: dirRel, files: {}, statsFile: `${dirRel}/stats.json`, ranges: {}, words: words[li], inputs: [...layer.inputs],
      ...(layer.role ? { role: layer.role } : {}), ...(layer.config ? { config: layer.config } : {}),
    };
    layerSummaries.push(summary);
    const pictures: Promise<void>[] = [];
    for (const q of QUANTITIES) {
      if (!hasPicture(info, q)) continue;
      const data = quantityData(layer, q);
      if (!data) continue;
      const shape = quantityShape(layer, q, P);
      checkLength(`layer ${layer.index} ${q}`, data, shape);
      const st = computeStats(data);
      summary.ranges[q] = { min: st.min, max: st.max, mean: st.mean, std: st.std, zeroFraction: st.zeroFraction };
      const skip = words[li].noPicture?.[q];
      if (skip) {
        summary.noPicture = { ...summary.noPicture, [q]: skip };
        stats.noPicture = { ...stats.noPicture, [q]: skip };
        continue;
      }
      if (P === 0 && (q === 'activations' || q === 'activation-gradients')) continue;
      const plan = boundPlan(planPicture(info, q, P, { probeLabels, channelNames, images: imageShapeOk }));
      const job: PictureJob = {
        layer, info, plan, data, images: imageShapeOk ? probe.images : undefined, epoch, moment, probeCount: P, mode,
        key: `${layerDirName(layer.index, layer.type)}/${q}`, state,
        feedsProbabilities: probe.layers.some((l) => l.outputsProbabilities && l.inputs.includes(layer.index)),
        inputRange: q === 'activations' ? { min: st.min, max: st.max } : undefined,
        note: words[li].pictureNotes?.[q],
      };
      const rel = `${dirRel}/${q}.png`;
      const frameRel = `${FRAMES_DIR}/${animationName(layer, q)}/${frameBase}.${FRAME_EXT}`;
      const wantFrame = animations !== 'none' && animated.has(`${li}/${q}`);
      summary.files[q] = rel;
      // Drawn only when a slot is free: all pictures' raw canvases at once cost hundreds of MB.
      pictures.push(
        limit(async () => {
          try {
            const r = renderPicture(job, engine, `${q}.png`);
            stats.quantities[q] = { ...st, shape, picture: r.summary };
            summary.scales = { ...summary.scales, [q]: { scale: r.summary.scale, clipped: r.summary.clipped, count: data.length } };
            write(rel, await encodeCanvasPng(r.canvas, engine));
            if (wantFrame) {
              const frame = plan.colorKind === 'image' ? r.canvas : renderPicture(job, engine, `${q}.png`, true).canvas;
              write(frameRel, await encodeCanvasWebp(frame, engine));
            }
          } catch (e) {
            delete summary.files[q];
            failed(rel, e);
          }
        }),
      );
    }
    const lp = opts.patches?.patches.find((t) => t.layer === layer.index);
    if (lp && opts.patches) {
      const set = opts.patches;
      summary.patches = { png: `${dirRel}/top-patches.png`, json: `${dirRel}/top-patches.json`, subsetImages: set.testIndices.length };
      const { png, json } = summary.patches;
      write(json, toJson({ epoch, layer: layer.index, type: layer.type, subsetImages: set.testIndices.length, rule: 'per channel: each image scores its largest activation over positions; the 9 best images, one patch each (the receptive field at that position)', rf: lp.rf, channels: lp.channels }));
      pictures.push(limit(async () => write(png, await encodeCanvasPng(composeTopPatches(lp, set.images, set.imageShape, set.testIndices.length, epoch, engine, layer.description), engine))));
    }
    // Per-channel bars (batch norm: gamma, beta and the running statistics), as its type lists them.
    const tensors = [...(layer.channelParams ?? []), ...(layer.state ?? [])];
    const series = (layer.channelBars ?? []).flatMap((b) => {
      const t = tensors.find((x) => x.name === b.name);
      return t ? [{ name: b.name, values: t.values, ...(b.reference === undefined ? {} : { reference: b.reference }) }] : [];
    });
    if (series.length > 0) {
      const rel = `${dirRel}/channels.png`;
      summary.extras = [...(summary.extras ?? []), { file: rel, kind: 'channels' }];
      const title = `Layer ${layer.index} · ${layer.description} · ${moment}`;
      const sub = 'Per channel, one bar each; a grey line marks the value that changes nothing (1 for a scale).';
      pictures.push(limit(async () => write(rel, await encodeCanvasPng(composeChannelBars(title, sub, series, engine), engine))));
    }
    for (const c of layer.channelParams ?? []) (stats as unknown as Record<string, unknown>)[c.name] = { ...computeStats(c.values), values: Array.from(c.values) };
    for (const s of layer.state ?? []) (stats as unknown as Record<string, unknown>)[s.name] = { ...computeStats(s.values), values: Array.from(s.values) };
    // A join (add): each input branch and the sum, for the first probe image, on one colour scale.
    if (layer.inputs.length >= 2 && layer.sumsInputs === true && P > 0) {
      const rel = `${dirRel}/branches.png`;
      const size = layer.activations.length / P;
      const rows = [...layer.inputs.map((j) => probe.layers[j].activations.subarray(0, size)), layer.activations.subarray(0, size)];
      const data = new Float32Array(rows.length * size);
      rows.forEach((r, k) => data.set(r, k * size));
      const labels = [...layer.inputs.map((j, k) => `input ${k + 1}: ${probe.layers[j].name}`), 'sum'];
      const planned = planPicture(info, 'activations', rows.length, { probeLabels: labels, channelNames, images: false });
      // Its rows are this layer's inputs and their sum, not probe images.
      const plan = boundPlan({ ...planned, rowTitle: 'input branch, then the sum' });
      const job: PictureJob = {
        layer, info, plan, data, epoch, moment, probeCount: rows.length, mode: mode === 'map' ? 'layer' : mode,
        key: `${layerDirName(layer.index, layer.type)}/branches`, state, feedsProbabilities: false,
        rowsLine: `Branches and their sum for probe image 0 only: one row per input of this layer (${layer.inputs.length} rows), then the sum it outputs; one tile per channel, all on one colour scale.`,
      };
      summary.extras = [...(summary.extras ?? []), { file: rel, kind: 'branches' }];
      pictures.push(
        limit(async () => {
          try {
            write(rel, await encodeCanvasPng(renderPicture(job, engine, 'branches.png').canvas, engine));
          } catch (e) {
            failed(rel, e);
          }
        }),
      );
    }
    layerDone.push(
      Promise.all(pictures).then(() => {
        // Keep the quantities in their fixed order in the JSON.
        const ordered: LayerStatsFile['quantities'] = {};
        for (const q of QUANTITIES) if (stats.quantities[q]) ordered[q] = stats.quantities[q];
        stats.quantities = ordered;
        write(`${dirRel}/stats.json`, toJson(stats));
      }),
    );
  });

  // Probe images and predictions.
  const { predictions, scoreKind } = probePredictions(probe, classNames);
  const probeJson = `${epochDir}/probe.json`;
  const probePng = `${epochDir}/probe.png`;
  write(probeJson, toJson({ epoch, ...(step === undefined ? {} : { step }), classNames, scoreKind, imageShape: probe.imageShape, predictions, ...(probe.userImage ? { userImage: probe.userImage } : {}) }));
  if (P > 0 && (probe.imageShape[0] === 3 || probe.imageShape[0] === 1) && probe.images.length >= P * probe.imageShape.reduce((a, b) => a * b, 1)) {
    layerDone.push(
      (async () => encodeCanvasPng(composeProbeCanvas(probe, predictions, scoreKind, epoch, engine, moment), engine))().then(
        (png) => write(probePng, png),
        (e: unknown) => failed(probePng, e),
      ),
    );
  }

  // The walkthrough: one probe image through the first conv, ReLU and pool, forward and backward.
  const walk = computeWalkthrough(probe, 0);
  let walkthrough: EpochVizSummary['walkthrough'];
  if (walk) {
    walkthrough = { png: `${epochDir}/walkthrough.png`, json: `${epochDir}/walkthrough.json`, data: walk };
    write(walkthrough.json, toJson(walk));
    const png = walkthrough.png;
    layerDone.push(encodeCanvasPng(composeWalkthrough(probe, walk, classNames, engine), engine).then((b) => write(png, b)));
  }

  // conv -> batch norm -> ReLU, and a residual block: the same, for the networks that have them.
  const bnWalk = computeBnWalkthrough(probe, 0);
  let bnWalkthrough: EpochVizSummary['bnWalkthrough'];
  if (bnWalk) {
    bnWalkthrough = { png: `${epochDir}/walkthrough-batchnorm.png`, json: `${epochDir}/walkthrough-batchnorm.json`, data: bnWalk };
    write(bnWalkthrough.json, toJson(bnWalk));
    const png = bnWalkthrough.png;
    layerDone.push(encodeCanvasPng(composeBnWalkthrough(probe, bnWalk, classNames, engine), engine).then((b) => write(png, b)));
  }
  const resWalk = computeResidualWalkthrough(probe, 0);
  let residualWalkthrough: EpochVizSummary['residualWalkthrough'];
  if (resWalk) {
    residualWalkthrough = { png: `${epochDir}/walkthrough-residual.png`, json: `${epochDir}/walkthrough-residual.json`, data: resWalk };
    write(residualWalkthrough.json, toJson(resWalk));
    const png = residualWalkthrough.png;
    layerDone.push(encodeCanvasPng(composeResidualWalkthrough(probe, resWalk, classNames, engine), engine).then((b) => write(png, b)));
  }

  // The probe tensors as float32 for the report's explorer (values under the pointer, drill-down).
  try {
    const dataMode = opts.explorerData ?? DEFAULT_EXPLORER_DATA;
    if (dataMode !== 'off') for (const [rel, text] of explorerFiles(epochDir, epoch, step, probe, dataMode)) write(`${epochDir}/${rel}`, text);
  } catch (e) {
    failed(`${epochDir}/explorer`, e);
  }

  await Promise.all(layerDone);
  await Promise.all(writes);
  files.push(SCALE_STATE_FILE);
  await writeFileAtomic(join(outDir, SCALE_STATE_FILE), toJson(state));

  let animationFiles: string[] = [];
  if (animations === 'update') {
    try {
      animationFiles = await writeAnimations(outDir);
    } catch (e) {
      failed('animations', e);
    }
  }
  files.push(...animationFiles);

  const result: EpochVizSummary = {
    epoch,
    ...(step === undefined ? {} : { step }),
    dir: epochDir,
    scaleMode: mode,
    layers: layerSummaries,
    probe: { json: probeJson, png: files.includes(probePng) ? probePng : '', scoreKind, predictions, ...(probe.userImage ? { userImage: probe.userImage } : {}) },
    ...(walkthrough ? { walkthrough } : {}),
    ...(bnWalkthrough ? { bnWalkthrough } : {}),
    ...(residualWalkthrough ? { residualWalkthrough } : {}),
    animations: animationFiles,
    files,
    seconds: 0,
    textEngine: engine,
  };
  result.seconds = (performance.now() - t0) / 1000;
  const index = { ...result, files: files.filter((f) => f.startsWith(epochDir)) };
  await writeFileAtomic(join(outDir, epochDir, EPOCH_INDEX_FILE), toJson(index));
  result.files.push(`${epochDir}/${EPOCH_INDEX_FILE}`);
  if (failures.length > 0) {
    const more = failures.length > 1 ? ` (and ${failures.length - 1} more)` : '';
    throw new UserError(`${failures.length} picture file(s) of epoch ${epoch} could not be written${more}: ${failures[0].message}`);
  }
  return result;
}
