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
  ROBUST_MIN_VALUES,
  ROBUST_PERCENTILE,
  scaleText,
  tileScaleLabel,
  type ColorMapKind,
  type QuantityStats,
  type VizScaleMode,
  type VizScaleState,
} from './scale.js';
import { FRAME_EXT, FRAMES_DIR, listFrames, writeAnimations } from './animate.js';
import { composeWalkthrough, computeWalkthrough, type WalkthroughData } from './walkthrough.js';
import { composeBnWalkthrough, composeResidualWalkthrough, computeBnWalkthrough, computeResidualWalkthrough, type BnWalkthroughData, type ResidualWalkthroughData } from './walkthrough-blocks.js';
import { composeTopPatches, type PatchSet } from './patches.js';
import { composeChannelBars } from './channel-bars.js';
import { dataBlock, DEFAULT_EXPLORER_DATA, explorerFiles, explorerLayerFile, readLayerDataScript, type ExplorerDataMode } from './explorer/data.js';

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
  /** An animation frame: the scale all frames of the animation share, and the epoch it was last raised. */
  animation?: { scale: number; since: number };
}

function picturePlanKind(plan: PicturePlan): ColorMapKind | 'mixed' {
  return plan.mixed ? 'mixed' : plan.colorKind;
}

/**
 * Decides the scales of a picture (mode rules), composes and encodes it.
 * `job.animation`: an animation frame, drawn at the animation's shared scale whatever the mode.
 */
function renderPicture(job: PictureJob, engine: TextEngine, file: string): RenderedPicture {
  const { plan, data, layer, epoch } = job;
  const forceRun = job.animation !== undefined;
  const mode: VizScaleMode = forceRun ? 'run' : job.mode;
  const kind = plan.colorKind;
  const isImage = kind === 'image';
  const own = isImage ? 0 : naturalScale(kind, data);
  let tileScales: number[];
  let scale = mode === 'robust' && !isImage ? robustScale(kind, data) : own;
  let fixedAtEpoch: number | undefined;
  const run = isImage ? { scale: 0, fixedAtEpoch: epoch } : resolveRunScale(job.state, job.key, own, epoch);
  const animation = isImage ? undefined : job.animation;
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
        ? `Colour scale: ${scaleText(barKind, scale)}, shared by every frame of this animation (frames drawn before a raise are redrawn): the largest ${data.length < ROBUST_MIN_VALUES ? '|value|' : `${ROBUST_PERCENTILE}th percentile of |value|`} among its frames, set ${when}.${clipText}`
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

/**
 * The job of a picture's animation frame: its scale is the animation's (resolveAnimationScale), and
 * `raised` says it changed, so the frames drawn before are on another scale and must be redrawn.
 */
function animationFrameJob(job: PictureJob): { job: PictureJob; raised: boolean } {
  const before = job.state.entries[`animation:${job.key}`]?.scale;
  const animation = resolveAnimationScale(job.state, job.key, robustScale(job.plan.colorKind, job.data), job.epoch);
  return { job: { ...job, animation }, raised: animation.scale !== before };
}

/**
 * Draws every frame of an animation but the current one (`current`, its file's base name) again at
 * the current frame's scale, from the values its moment stored for the explorer (explorer/data.ts), so
 * that all frames share one scale. A frame whose moment kept no data (--explorer-data off, or a moment
 * written before the data existed) cannot be redrawn: it is removed, and the animation starts later.
 */
async function redrawEarlierFrames(
  outDir: string, name: string, current: string, job: PictureJob, engine: TextEngine,
  limit: <T>(f: () => Promise<T>) => Promise<T>, write: (rel: string, data: Uint8Array) => void, failed: (rel: string, e: unknown) => void,
): Promise<void> {
  const q = job.plan.quantity;
  const frames = (await listFrames(outDir, name)).filter((f) => basename(f.file) !== `${current}.${FRAME_EXT}`);
  await Promise.all(
    frames.map((f) =>
      limit(async () => {
        const rel = `${FRAMES_DIR}/${name}/${basename(f.file)}`;
        const moment = f.step === undefined ? epochDirName(f.epoch) : stepDirName(f.step);
        const data = await storedQuantity(join(outDir, moment, explorerLayerFile(job.layer.index)), q, job.data.length);
        try {
          if (!data) {
            await fsp.rm(f.file, { force: true });
            return;
          }
          const frame = renderPicture({ ...job, data, epoch: f.epoch, moment: momentText(f.epoch, f.step), inputRange: undefined }, engine, `${q}.png`);
          write(rel, await encodeCanvasWebp(frame.canvas, engine));
        } catch (e) {
          failed(rel, e);
        }
      }),
    ),
  );
}

/** One quantity of a layer as a moment's data file stored it, or undefined when absent or of another size. */
async function storedQuantity(path: string, q: Quantity, length: number): Promise<Float32Array | undefined> {
  try {
    const block = dataBlock(readLayerDataScript(await fsp.readFile(path, 'utf8')), q);
    return block && block.data.length === length ? block.data : undefined;
  } catch {
    return undefined;
  }
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
 * Files written in the background: each write is atomic (temp file, then rename); a file that fails
 * (too large, disk full...) is recorded and the others go on. `files` lists what was written.
 */
interface EpochWriter {
  files: string[];
  failures: { file: string; message: string }[];
  write(rel: string, data: string | Uint8Array): void;
  failed(rel: string, e: unknown): void;
  /** Waits for every write queued so far. */
  settle(): Promise<void>;
}

function epochWriter(outDir: string): EpochWriter {
  const files: string[] = [];
  const failures: { file: string; message: string }[] = [];
  const writes: Promise<void>[] = [];
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
  return { files, failures, write, failed, settle: async () => void (await Promise.all(writes)) };
}

/** What every picture of one moment needs to know. */
interface EpochContext {
  outDir: string;
  epoch: number;
  step?: number;
  probe: ProbeResult;
  /** The moment's folder (epoch-NNN or step-NNNNNN), its caption text, and its animation frames' base name. */
  epochDir: string;
  moment: string;
  frameBase: string;
  P: number;
  mode: VizScaleMode;
  state: VizScaleState;
  engine: TextEngine;
  animations: 'update' | 'frames' | 'none';
  /** Class names, truncated for labels. */
  classNames: string[];
  imageShapeOk: boolean;
  infos: LayerShapeInfo[];
  words: LayerWords[];
  /** "layer/quantity" of the animated pictures. */
  animated: Set<string>;
  patches?: PatchSet;
  out: EpochWriter;
  /** Pictures drawn only when a slot is free: all raw canvases at once cost hundreds of MB. */
  limit: <T>(job: () => Promise<T>) => Promise<T>;
  /** Earlier animation frames being redrawn on a raised scale. */
  redraws: Promise<void>[];
}

function epochContext(outDir: string, epoch: number, probe: ProbeResult, opts: EpochVizOptions, engine: TextEngine, state: VizScaleState): EpochContext {
  const P = probe.labels.length;
  const step = opts.step;
  const epochDir = step === undefined ? epochDirName(epoch) : stepDirName(step);
  return {
    outDir, epoch, step, probe, epochDir,
    moment: momentText(epoch, step),
    // Frames sort by (epochs completed, step): epoch-001.webp, then epoch-001-step-000600.webp, ...
    frameBase: step === undefined ? epochDir : `${epochDirName(epoch)}-${stepDirName(step)}`,
    P, mode: opts.scale, state, engine, animations: opts.animations ?? 'update',
    // Class names label rows and columns: a 5,000-character name must not make a 30,000 px picture.
    classNames: opts.classNames.map((n) => truncateLabel(n)),
    imageShapeOk: probe.layers.length > 0 && probe.imageShape.join() === probe.layers[0].outShape.join() && probe.images.length === P * probe.imageShape.reduce((a, b) => a * b, 1),
    infos: layerShapeInfos(probe.layers),
    words: probeWords(probe.layers),
    animated: new Set(animatedPictures(probe.layers).map((a) => `${a.layer}/${a.quantity}`)),
    ...(opts.patches ? { patches: opts.patches } : {}),
    out: epochWriter(outDir),
    limit: concurrencyLimit(PICTURES_IN_FLIGHT),
    redraws: [],
  };
}

/** The records of one layer this moment: its stats.json and its entry in epoch.json, filled in as pictures are drawn. */
function layerRecords(ctx: EpochContext, layer: LayerProbe, li: number): { stats: LayerStatsFile; summary: LayerVizSummary } {
  const dirRel = `${ctx.epochDir}/${layerDirName(layer.index, layer.type)}`;
  const facts: LayerFacts = {
    index: layer.index, type: layer.type, name: layer.name, explain: layer.explain, description: layer.description, outShape: layer.outShape,
    paramCount: layer.paramCount, ...(layer.weights ? { weightShape: layer.weights.shape } : {}),
  };
  const stats: LayerStatsFile = {
    epoch: ctx.epoch,
    layer: { ...facts, activationsNonNegative: layer.activationsNonNegative },
    probeCount: ctx.P,
    scaleMode: ctx.mode,
    quantities: {},
    ...(layer.biases ? { biases: computeStats(layer.biases) } : {}),
    ...(layer.biasGrads ? { biasGrads: computeStats(layer.biasGrads) } : {}),
  };
  const summary: LayerVizSummary = {
    ...facts,
    dir: dirRel, files: {}, statsFile: `${dirRel}/stats.json`, ranges: {}, words: ctx.words[li], inputs: [...layer.inputs],
    ...(layer.role ? { role: layer.role } : {}), ...(layer.config ? { config: layer.config } : {}),
  };
  return { stats, summary };
}

/** The layer's four quantity pictures (and their animation frames); fills in stats and summary. */
function quantityPictures(ctx: EpochContext, layer: LayerProbe, li: number, stats: LayerStatsFile, summary: LayerVizSummary): Promise<void>[] {
  const { probe, P, engine } = ctx;
  const info = ctx.infos[li];
  const words = ctx.words[li];
  const channelNames = classChannelNames(probe.layers, li, ctx.classNames);
  const probeLabels = probe.labels.map((l) => ctx.classNames[l] ?? `${l}`);
  const pictures: Promise<void>[] = [];
  for (const q of QUANTITIES) {
    if (!hasPicture(info, q)) continue;
    const data = quantityData(layer, q);
    if (!data) continue;
    const shape = quantityShape(layer, q, P);
    checkLength(`layer ${layer.index} ${q}`, data, shape);
    const st = computeStats(data);
    summary.ranges[q] = { min: st.min, max: st.max, mean: st.mean, std: st.std, zeroFraction: st.zeroFraction };
    const skip = words.noPicture?.[q];
    if (skip) {
      summary.noPicture = { ...summary.noPicture, [q]: skip };
      stats.noPicture = { ...stats.noPicture, [q]: skip };
      continue;
    }
    if (P === 0 && (q === 'activations' || q === 'activation-gradients')) continue;
    const plan = boundPlan(planPicture(info, q, P, { probeLabels, channelNames, images: ctx.imageShapeOk }));
    const job: PictureJob = {
      layer, info, plan, data, images: ctx.imageShapeOk ? probe.images : undefined, epoch: ctx.epoch, moment: ctx.moment, probeCount: P, mode: ctx.mode,
      key: `${layerDirName(layer.index, layer.type)}/${q}`, state: ctx.state,
      feedsProbabilities: probe.layers.some((l) => l.outputsProbabilities && l.inputs.includes(layer.index)),
      inputRange: q === 'activations' ? { min: st.min, max: st.max } : undefined,
      note: words.pictureNotes?.[q],
    };
    const rel = `${summary.dir}/${q}.png`;
    const wantFrame = ctx.animations !== 'none' && ctx.animated.has(`${li}/${q}`);
    summary.files[q] = rel;
    pictures.push(
      ctx.limit(async () => {
        try {
          const r = renderPicture(job, engine, `${q}.png`);
          stats.quantities[q] = { ...st, shape, picture: r.summary };
          summary.scales = { ...summary.scales, [q]: { scale: r.summary.scale, clipped: r.summary.clipped, count: data.length } };
          ctx.out.write(rel, await encodeCanvasPng(r.canvas, engine));
          if (wantFrame) await animationFrame(ctx, job, r.canvas);
        } catch (e) {
          delete summary.files[q];
          ctx.out.failed(rel, e);
        }
      }),
    );
  }
  return pictures;
}

/**
 * This moment's frame of a picture's animation, on the animation's scale; when that scale grew, the
 * earlier frames are drawn again on it, from the data each moment stored. `picture`: the picture
 * itself, the frame of an image (no scale).
 */
async function animationFrame(ctx: EpochContext, job: PictureJob, picture: Canvas): Promise<void> {
  const q = job.plan.quantity;
  const name = animationName(job.layer, q);
  const frameJob = job.plan.colorKind === 'image' ? undefined : animationFrameJob(job);
  const frame = frameJob ? renderPicture(frameJob.job, ctx.engine, `${q}.png`).canvas : picture;
  ctx.out.write(`${FRAMES_DIR}/${name}/${ctx.frameBase}.${FRAME_EXT}`, await encodeCanvasWebp(frame, ctx.engine));
  if (frameJob?.raised) ctx.redraws.push(redrawEarlierFrames(ctx.outDir, name, ctx.frameBase, frameJob.job, ctx.engine, ctx.limit, ctx.out.write, ctx.out.failed));
}

/** Top receptive-field patches of the layer's channels (conv, ReLU, pool), when the pass found them. */
function patchPictures(ctx: EpochContext, layer: LayerProbe, summary: LayerVizSummary): Promise<void>[] {
  const set = ctx.patches;
  const lp = set?.patches.find((t) => t.layer === layer.index);
  if (!set || !lp) return [];
  summary.patches = { png: `${summary.dir}/top-patches.png`, json: `${summary.dir}/top-patches.json`, subsetImages: set.testIndices.length };
  const { png, json } = summary.patches;
  ctx.out.write(json, toJson({ epoch: ctx.epoch, layer: layer.index, type: layer.type, subsetImages: set.testIndices.length, rule: 'per channel: each image scores its largest activation over positions; the 9 best images, one patch each (the receptive field at that position)', rf: lp.rf, channels: lp.channels }));
  return [ctx.limit(async () => ctx.out.write(png, await encodeCanvasPng(composeTopPatches(lp, set.images, set.imageShape, set.testIndices.length, ctx.epoch, ctx.engine, layer.description), ctx.engine)))];
}

/** Per-channel bars (batch norm: gamma, beta and the running statistics), as the layer's type lists them. */
function channelBarsPicture(ctx: EpochContext, layer: LayerProbe, summary: LayerVizSummary): Promise<void>[] {
  const tensors = [...(layer.channelParams ?? []), ...(layer.state ?? [])];
  const series = (layer.channelBars ?? []).flatMap((b) => {
    const t = tensors.find((x) => x.name === b.name);
    return t ? [{ name: b.name, values: t.values, ...(b.reference === undefined ? {} : { reference: b.reference }) }] : [];
  });
  if (series.length === 0) return [];
  const rel = `${summary.dir}/channels.png`;
  summary.extras = [...(summary.extras ?? []), { file: rel, kind: 'channels' }];
  const title = `Layer ${layer.index} · ${layer.description} · ${ctx.moment}`;
  const sub = 'Per channel, one bar each; a grey line marks the value that changes nothing (1 for a scale).';
  return [ctx.limit(async () => ctx.out.write(rel, await encodeCanvasPng(composeChannelBars(title, sub, series, ctx.engine), ctx.engine)))];
}

/** A join (add): each input branch and the sum, for the first probe image, on one colour scale. */
function branchesPicture(ctx: EpochContext, layer: LayerProbe, li: number, summary: LayerVizSummary): Promise<void>[] {
  const { probe, P } = ctx;
  if (!(layer.inputs.length >= 2 && layer.sumsInputs === true && P > 0)) return [];
  const rel = `${summary.dir}/branches.png`;
  const size = layer.activations.length / P;
  const rows = [...layer.inputs.map((j) => probe.layers[j].activations.subarray(0, size)), layer.activations.subarray(0, size)];
  const data = new Float32Array(rows.length * size);
  rows.forEach((r, k) => data.set(r, k * size));
  const labels = [...layer.inputs.map((j, k) => `input ${k + 1}: ${probe.layers[j].name}`), 'sum'];
  const channelNames = classChannelNames(probe.layers, li, ctx.classNames);
  const planned = planPicture(ctx.infos[li], 'activations', rows.length, { probeLabels: labels, channelNames, images: false });
  // Its rows are this layer's inputs and their sum, not probe images.
  const plan = boundPlan({ ...planned, rowTitle: 'input branch, then the sum' });
  const job: PictureJob = {
    layer, info: ctx.infos[li], plan, data, epoch: ctx.epoch, moment: ctx.moment, probeCount: rows.length, mode: ctx.mode === 'map' ? 'layer' : ctx.mode,
    key: `${layerDirName(layer.index, layer.type)}/branches`, state: ctx.state, feedsProbabilities: false,
    rowsLine: `Branches and their sum for probe image 0 only: one row per input of this layer (${layer.inputs.length} rows), then the sum it outputs; one tile per channel, all on one colour scale.`,
  };
  summary.extras = [...(summary.extras ?? []), { file: rel, kind: 'branches' }];
  return [
    ctx.limit(async () => {
      try {
        ctx.out.write(rel, await encodeCanvasPng(renderPicture(job, ctx.engine, 'branches.png').canvas, ctx.engine));
      } catch (e) {
        ctx.out.failed(rel, e);
      }
    }),
  ];
}

/** stats.json records a layer's per-channel parameters and state (batch norm) in full. */
function channelStats(layer: LayerProbe, stats: LayerStatsFile): void {
  for (const c of layer.channelParams ?? []) (stats as unknown as Record<string, unknown>)[c.name] = { ...computeStats(c.values), values: Array.from(c.values) };
  for (const s of layer.state ?? []) (stats as unknown as Record<string, unknown>)[s.name] = { ...computeStats(s.values), values: Array.from(s.values) };
}

/** stats.json, once the layer's pictures have recorded their scales (quantities in their fixed order). */
async function writeLayerStats(ctx: EpochContext, stats: LayerStatsFile, summary: LayerVizSummary, pictures: Promise<void>[]): Promise<void> {
  await Promise.all(pictures);
  const ordered: LayerStatsFile['quantities'] = {};
  for (const q of QUANTITIES) if (stats.quantities[q]) ordered[q] = stats.quantities[q];
  stats.quantities = ordered;
  ctx.out.write(summary.statsFile, toJson(stats));
}

/** Every picture of one layer, and its stats.json: its summary, and a promise of its files. */
function layerPictures(ctx: EpochContext, layer: LayerProbe, li: number): { summary: LayerVizSummary; done: Promise<void> } {
  const { stats, summary } = layerRecords(ctx, layer, li);
  const pictures = [...quantityPictures(ctx, layer, li, stats, summary), ...patchPictures(ctx, layer, summary), ...channelBarsPicture(ctx, layer, summary)];
  channelStats(layer, stats);
  pictures.push(...branchesPicture(ctx, layer, li, summary));
  return { summary, done: writeLayerStats(ctx, stats, summary, pictures) };
}

/** probe.json and probe.png: the probe images with their true labels and top-3 predictions. */
function probeFiles(ctx: EpochContext): { record: EpochVizSummary['probe']; done: Promise<void> } {
  const { probe, P, epoch, step } = ctx;
  const { predictions, scoreKind } = probePredictions(probe, ctx.classNames);
  const json = `${ctx.epochDir}/probe.json`;
  const png = `${ctx.epochDir}/probe.png`;
  ctx.out.write(json, toJson({ epoch, ...(step === undefined ? {} : { step }), classNames: ctx.classNames, scoreKind, imageShape: probe.imageShape, predictions, ...(probe.userImage ? { userImage: probe.userImage } : {}) }));
  const record = { json, png, scoreKind, predictions, ...(probe.userImage ? { userImage: probe.userImage } : {}) };
  if (!(P > 0 && (probe.imageShape[0] === 3 || probe.imageShape[0] === 1) && probe.images.length >= P * probe.imageShape.reduce((a, b) => a * b, 1))) return { record, done: Promise.resolve() };
  const done = (async () => encodeCanvasPng(composeProbeCanvas(probe, predictions, scoreKind, epoch, ctx.engine, ctx.moment), ctx.engine))().then(
    (b) => ctx.out.write(png, b),
    (e: unknown) => ctx.out.failed(png, e),
  );
  return { record, done };
}

type Walkthroughs = Pick<EpochVizSummary, 'walkthrough' | 'bnWalkthrough' | 'residualWalkthrough'>;

/**
 * The walkthroughs, for the networks that have their chain: probe image 0 through the first conv,
 * ReLU and pool; conv -> batch norm -> ReLU; a residual block. Forward and backward.
 */
function walkthroughFiles(ctx: EpochContext): { records: Walkthroughs; done: Promise<void>[] } {
  const { probe, epochDir, classNames, engine } = ctx;
  const records: Walkthroughs = {};
  const done: Promise<void>[] = [];
  const add = <D>(key: keyof Walkthroughs, file: string, data: D | undefined, compose: (d: D) => Canvas): void => {
    if (!data) return;
    const rec = { png: `${epochDir}/${file}.png`, json: `${epochDir}/${file}.json`, data };
    (records as Record<string, unknown>)[key] = rec;
    ctx.out.write(rec.json, toJson(data));
    done.push(encodeCanvasPng(compose(data), engine).then((b) => ctx.out.write(rec.png, b)));
  };
  add('walkthrough', 'walkthrough', computeWalkthrough(probe, 0), (d) => composeWalkthrough(probe, d, classNames, engine));
  add('bnWalkthrough', 'walkthrough-batchnorm', computeBnWalkthrough(probe, 0), (d) => composeBnWalkthrough(probe, d, classNames, engine));
  add('residualWalkthrough', 'walkthrough-residual', computeResidualWalkthrough(probe, 0), (d) => composeResidualWalkthrough(probe, d, classNames, engine));
  return { records, done };
}

/** The probe tensors for the report's explorer (values under the pointer, drill-down), unless off. */
function explorerDataFiles(ctx: EpochContext, mode: ExplorerDataMode): void {
  try {
    if (mode !== 'off') for (const [rel, text] of explorerFiles(ctx.epochDir, ctx.epoch, ctx.step, ctx.probe, mode)) ctx.out.write(`${ctx.epochDir}/${rel}`, text);
  } catch (e) {
    ctx.out.failed(`${ctx.epochDir}/explorer`, e);
  }
}

/** Rebuilds the animated files from their frames ('update'); returns them. */
async function rebuildAnimations(ctx: EpochContext): Promise<string[]> {
  if (ctx.animations !== 'update') return [];
  try {
    return await writeAnimations(ctx.outDir);
  } catch (e) {
    ctx.out.failed('animations', e);
    return [];
  }
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
  const ctx = epochContext(outDir, epoch, probe, opts, engine, state);
  const { out, epochDir, step } = ctx;

  const layers = probe.layers.map((layer, li) => layerPictures(ctx, layer, li));
  const probeRecord = probeFiles(ctx);
  const walks = walkthroughFiles(ctx);
  explorerDataFiles(ctx, opts.explorerData ?? DEFAULT_EXPLORER_DATA);

  await Promise.all([...layers.map((l) => l.done), probeRecord.done, ...walks.done]);
  await Promise.all(ctx.redraws);
  await out.settle();
  out.files.push(SCALE_STATE_FILE);
  await writeFileAtomic(join(outDir, SCALE_STATE_FILE), toJson(state));
  const animationFiles = await rebuildAnimations(ctx);
  out.files.push(...animationFiles);

  const { png } = probeRecord.record;
  const result: EpochVizSummary = {
    epoch,
    ...(step === undefined ? {} : { step }),
    dir: epochDir,
    scaleMode: ctx.mode,
    layers: layers.map((l) => l.summary),
    probe: { ...probeRecord.record, png: out.files.includes(png) ? png : '' },
    ...walks.records,
    animations: animationFiles,
    files: out.files,
    seconds: (performance.now() - t0) / 1000,
    textEngine: engine,
  };
  await writeEpochIndex(outDir, result);
  if (out.failures.length > 0) {
    const more = out.failures.length > 1 ? ` (and ${out.failures.length - 1} more)` : '';
    throw new UserError(`${out.failures.length} picture file(s) of epoch ${epoch} could not be written${more}: ${out.failures[0].message}`);
  }
  return result;
}

/** <moment>/epoch.json: what was written, with the moment's own files only (the report reads this). */
async function writeEpochIndex(outDir: string, result: EpochVizSummary): Promise<void> {
  const index = { ...result, files: result.files.filter((f) => f.startsWith(result.dir)) };
  await writeFileAtomic(join(outDir, result.dir, EPOCH_INDEX_FILE), toJson(index));
  result.files.push(`${result.dir}/${EPOCH_INDEX_FILE}`);
}
