/**
 * The explorer's data: the probe tensors of one epoch (or step) as float32, so the report can draw
 * them itself and print the exact value under the pointer. Written by writeEpochViz beside the
 * pictures; the format is in docs/explorer-data.md.
 *
 *   <moment>/explorer/LLL.js        one layer: cnnvizExplorerData(<header JSON>, "<base64>")
 *   <moment>/explorer/probe.js      the raw probe images: cnnvizExplorerProbe(<header JSON>, "<base64>")
 *   <moment>/explorer/summary.json  per layer and quantity: scales and statistics, per-channel health
 *
 * The data files are JavaScript (a call with a JSON header and a base64 string of little-endian
 * float32 or float16 values) because a page opened from disk may load <script src> but not fetch() a file.
 * float16 (`--explorer-data half`, the default) halves the files; each block then carries a power of
 * two it was divided by, so that its largest value sits near the top of float16's range and small
 * gradients keep their 11 significant bits instead of vanishing below float16's smallest number.
 */
import { computeStats, maxAbs, maxPositive, robustScale } from '../scale.js';
import type { LayerProbe, ProbeResult } from '../types.js';

export const EXPLORER_DATA_DIR = 'explorer';
export const EXPLORER_SUMMARY_FILE = 'summary.json';
/** Bumped when the layout of the data files changes (2: float16 blocks with a scale). */
export const EXPLORER_FORMAT = 2;

/** What `--explorer-data` keeps: float32, float16 (half the size, relative error at most 2^-11), nothing. */
export type ExplorerDataMode = 'full' | 'half' | 'off';
export const EXPLORER_DATA_MODES: readonly ExplorerDataMode[] = ['full', 'half', 'off'];
export const DEFAULT_EXPLORER_DATA = 'half' satisfies ExplorerDataMode;
/** Blocks larger than this many values are left out (e.g. a 4096 x 25088 fc of an imported network). */
export const MAX_BLOCK_VALUES = 8_000_000;

export type ExplorerQuantity = 'activations' | 'activation-gradients' | 'weights' | 'weight-gradients';
export const EXPLORER_QUANTITIES: readonly ExplorerQuantity[] = ['activations', 'activation-gradients', 'weights', 'weight-gradients'];

/** One tensor in a data file: its values are floats [offset, offset + product(shape)) of the payload. */
export interface ExplorerBlock {
  quantity: ExplorerQuantity;
  /** (P, C, H, W) for activations and their gradients; [outC, inC, kH, kW] for weights and their gradients. */
  shape: number[];
  offset: number;
  /** float16 files: the stored values are the tensor divided by this power of two (value = stored x scale). */
  scale?: number;
}

export interface ExplorerDataHeader {
  format: number;
  /** How the payload stores values: little-endian float32 (absent in format 1) or float16. */
  dtype?: 'float32' | 'float16';
  /** Folder of the moment, e.g. "epoch-003" or "step-000050". */
  moment: string;
  layer: number;
  blocks: ExplorerBlock[];
  /** Quantities left out, with the reason (too large). */
  omitted?: Partial<Record<ExplorerQuantity, string>>;
}

/** Scales of one quantity of one layer in one moment (what the page's common scales are made of). */
export interface ExplorerScales {
  /** 'sequential' (non-negative, 0..s) or 'diverging' (-s..s). */
  kind: 'sequential' | 'diverging';
  /** Largest |value| (or largest value, sequential). */
  max: number;
  /** 99.5th percentile of |value| (see robustScale). */
  robust: number;
  min: number;
  mean: number;
  std: number;
  zeroFraction: number;
}

/** Per output channel of one layer in one moment (a channel's health over the epochs). */
export interface ChannelHealth {
  /** Activations: mean and standard deviation over probe images and positions; fraction exactly 0. */
  mean: number[];
  std: number[];
  zero: number[];
  /** Mean |d(loss)/d(activation)| over probe images and positions. */
  gradMeanAbs: number[];
  /** Layers with weights: L2 norm of filter k, and of its gradient. */
  weightNorm?: number[];
  weightGradNorm?: number[];
}

export interface ExplorerLayerSummary {
  layer: number;
  name: string;
  type: string;
  /** Layers it reads (the graph the layer map and the receptive field follow). */
  inputs: number[];
  outShape: [number, number, number];
  /** Sliding window (conv, pool): receptive fields grow by it. */
  window?: { kernelH: number; kernelW: number; stride: number; pad: number };
  activationsNonNegative: boolean;
  scales: Partial<Record<ExplorerQuantity, ExplorerScales>>;
  channels: ChannelHealth;
}

export interface ExplorerMomentSummary {
  format: number;
  moment: string;
  epoch: number;
  step?: number;
  probeCount: number;
  layers: ExplorerLayerSummary[];
}

/** The data file of layer `index` inside a moment folder, e.g. "explorer/007.js". */
export function explorerLayerFile(index: number): string {
  return `${EXPLORER_DATA_DIR}/${String(index).padStart(3, '0')}.js`;
}

export const EXPLORER_PROBE_FILE = `${EXPLORER_DATA_DIR}/probe.js`;

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** Little-endian float32 bytes (copies on a big-endian machine, where the array's own bytes are not). */
function float32Bytes(data: Float32Array): Uint8Array {
  const out = new Uint8Array(data.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i], true);
  return out;
}

/** Round half to even (ties go to the even integer, as IEEE rounding does). */
function roundEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The float16 bit pattern nearest to x (round to nearest even; beyond 65504 infinity; NaN stays NaN). */
export function float16Bits(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= 65520) return sign | 0x7c00;
  // Subnormals (and zero) count in units of 2^-24; a carry into 1024 is the smallest normal number's pattern.
  if (a < 2 ** -14) return sign | roundEven(a * 2 ** 24);
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  // A mantissa that rounds up to 2048 carries into the exponent through the addition.
  return sign | (((e + 15) << 10) + roundEven((a / 2 ** e) * 1024) - 1024);
}

/** The value of a float16 bit pattern. */
export function float16Value(h: number): number {
  const e = (h >> 10) & 31;
  const m = h & 1023;
  const v = e === 0 ? m * 2 ** -24 : e === 31 ? (m ? NaN : Infinity) : (1024 + m) * 2 ** (e - 25);
  return h & 0x8000 ? -v : v;
}

/**
 * The power of two a block is divided by before rounding to float16: its largest finite |value|
 * lands in [2^14, 2^15), so values down to 2^-29 of it keep 11 significant bits.
 */
export function float16BlockScale(data: Float32Array): number {
  const m = maxAbs(data);
  return m > 0 ? 2 ** (Math.floor(Math.log2(m)) - 14) : 1;
}

/** Little-endian float16 bytes of data / scale. */
function float16Bytes(data: Float32Array, scale: number): Uint8Array {
  const out = new Uint8Array(data.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) view.setUint16(i * 2, float16Bits(data[i] / scale), true);
  return out;
}

function quantityData(l: LayerProbe, q: ExplorerQuantity): { data: Float32Array; shape: number[] } | undefined {
  const P = l.outShape[0] > 0 ? l.activations.length / (l.outShape[0] * l.outShape[1] * l.outShape[2]) : 0;
  switch (q) {
    case 'activations':
      return { data: l.activations, shape: [P, ...l.outShape] };
    case 'activation-gradients':
      return { data: l.activationGrads, shape: [P, ...l.outShape] };
    case 'weights':
      return l.weights ? { data: l.weights.data, shape: [...l.weights.shape] } : undefined;
    case 'weight-gradients':
      return l.weights && l.weightGrads ? { data: l.weightGrads, shape: [...l.weights.shape] } : undefined;
  }
}

/** Wraps a header and binary payload as a line of JavaScript calling `fn`. */
function scriptCall(fn: string, header: unknown, payload: Uint8Array): string {
  // JSON is valid JavaScript; "</" is escaped so the text is also safe inside an HTML page.
  return `${fn}(${JSON.stringify(header).replace(/<\//g, '<\\/')},"${base64(payload)}");\n`;
}

/** The data file of one layer (JavaScript text): float32 values, or float16 with a scale per block ('half'). */
export function layerDataScript(moment: string, layer: LayerProbe, mode: Exclude<ExplorerDataMode, 'off'> = DEFAULT_EXPLORER_DATA): string {
  const half = mode === 'half';
  const blocks: ExplorerBlock[] = [];
  const parts: Float32Array[] = [];
  const omitted: Partial<Record<ExplorerQuantity, string>> = {};
  let offset = 0;
  for (const q of EXPLORER_QUANTITIES) {
    const d = quantityData(layer, q);
    if (!d || d.data.length === 0) continue;
    if (d.data.length > MAX_BLOCK_VALUES) {
      omitted[q] = `${d.data.length.toLocaleString('en-US')} values, more than the ${MAX_BLOCK_VALUES.toLocaleString('en-US')} the explorer keeps`;
      continue;
    }
    blocks.push({ quantity: q, shape: d.shape, offset, ...(half ? { scale: float16BlockScale(d.data) } : {}) });
    parts.push(d.data);
    offset += d.data.length;
  }
  const bytes = new Uint8Array(offset * (half ? 2 : 4));
  blocks.forEach((b, i) => bytes.set(half ? float16Bytes(parts[i], b.scale!) : float32Bytes(parts[i]), b.offset * (half ? 2 : 4)));
  const header: ExplorerDataHeader = {
    format: EXPLORER_FORMAT, dtype: half ? 'float16' : 'float32', moment, layer: layer.index, blocks, ...(Object.keys(omitted).length ? { omitted } : {}),
  };
  return scriptCall('cnnvizExplorerData', header, bytes);
}

/**
 * Reads a layer's data file (any format): its header and every value as float32 (float16 values
 * times their block's scale, which is exact). Throws when the text is not a data file.
 */
export function readLayerDataScript(text: string): { header: ExplorerDataHeader; values: Float32Array } {
  const m = /^cnnvizExplorerData\((\{.*\}),"([A-Za-z0-9+/=]*)"\);\n?$/s.exec(text);
  if (!m) throw new Error('not an explorer data file');
  const header = JSON.parse(m[1]) as ExplorerDataHeader;
  const bytes = Buffer.from(m[2], 'base64');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const half = header.dtype === 'float16';
  const values = new Float32Array(bytes.byteLength / (half ? 2 : 4));
  if (!half) {
    for (let i = 0; i < values.length; i++) values[i] = view.getFloat32(i * 4, true);
    return { header, values };
  }
  for (const b of header.blocks) {
    const n = b.shape.reduce((x, y) => x * y, 1);
    for (let i = b.offset; i < b.offset + n; i++) values[i] = float16Value(view.getUint16(i * 2, true)) * (b.scale ?? 1);
  }
  return { header, values };
}

/** One block of a data file (a view into `values`), or undefined when the file has none for the quantity. */
export function dataBlock(file: { header: ExplorerDataHeader; values: Float32Array }, q: ExplorerQuantity): { shape: number[]; data: Float32Array } | undefined {
  const b = file.header.blocks.find((x) => x.quantity === q);
  if (!b) return undefined;
  const n = b.shape.reduce((x, y) => x * y, 1);
  return { shape: b.shape, data: file.values.subarray(b.offset, b.offset + n) };
}

/** The raw probe images (P x 3 x H x W bytes as stored), for the receptive-field outline. */
export function probeDataScript(moment: string, probe: ProbeResult): string {
  const P = probe.labels.length;
  return scriptCall('cnnvizExplorerProbe', { format: EXPLORER_FORMAT, moment, shape: [P, ...probe.imageShape], labels: probe.labels, testIndices: probe.probeIndices }, probe.images.subarray(0, P * probe.imageShape.reduce((a, b) => a * b, 1)));
}

/** Statistics per output channel: activations over images and positions, filter norms. */
export function channelHealth(l: LayerProbe): ChannelHealth {
  const [C, H, W] = l.outShape;
  const plane = H * W;
  const P = C * plane > 0 ? l.activations.length / (C * plane) : 0;
  const h: ChannelHealth = { mean: [], std: [], zero: [], gradMeanAbs: [] };
  for (let c = 0; c < C; c++) {
    let s = 0;
    let s2 = 0;
    let z = 0;
    let g = 0;
    for (let p = 0; p < P; p++) {
      const base = (p * C + c) * plane;
      for (let i = 0; i < plane; i++) {
        const v = l.activations[base + i];
        s += v;
        s2 += v * v;
        if (v === 0) z++;
        g += Math.abs(l.activationGrads[base + i] ?? 0);
      }
    }
    const n = P * plane || 1;
    const mean = s / n;
    h.mean.push(round(mean));
    h.std.push(round(Math.sqrt(Math.max(0, s2 / n - mean * mean))));
    h.zero.push(round(z / n));
    h.gradMeanAbs.push(round(g / n));
  }
  if (l.weights) {
    const [K] = l.weights.shape;
    const per = l.weights.data.length / K;
    const norm = (d: Float32Array | undefined): number[] =>
      Array.from({ length: K }, (_, k) => {
        let s = 0;
        if (d) for (let i = k * per; i < (k + 1) * per; i++) s += d[i] * d[i];
        return round(Math.sqrt(s));
      });
    h.weightNorm = norm(l.weights.data);
    h.weightGradNorm = norm(l.weightGrads);
  }
  return h;
}

/** 5 significant digits: enough for a sparkline, and the JSON stays small. */
function round(x: number): number {
  return Number.isFinite(x) ? Number(x.toPrecision(5)) : 0;
}

function scalesOf(kind: 'sequential' | 'diverging', data: Float32Array): ExplorerScales {
  const st = computeStats(data);
  return {
    kind,
    max: round(kind === 'sequential' ? maxPositive(data) : maxAbs(data)),
    robust: round(robustScale(kind, data)),
    min: round(st.min), mean: round(st.mean), std: round(st.std), zeroFraction: round(st.zeroFraction),
  };
}

/** One moment's summary.json: per layer the scales of each quantity and the per-channel health. */
export function momentSummary(moment: string, epoch: number, step: number | undefined, probe: ProbeResult): ExplorerMomentSummary {
  return {
    format: EXPLORER_FORMAT,
    moment,
    epoch,
    ...(step === undefined ? {} : { step }),
    probeCount: probe.labels.length,
    layers: probe.layers.map((l) => {
      const scales: ExplorerLayerSummary['scales'] = {};
      for (const q of EXPLORER_QUANTITIES) {
        const d = quantityData(l, q);
        if (!d || d.data.length === 0) continue;
        scales[q] = scalesOf(q === 'activations' && l.activationsNonNegative ? 'sequential' : 'diverging', d.data);
      }
      const w = l.window;
      return {
        layer: l.index, name: l.name, type: l.type, inputs: [...l.inputs], outShape: l.outShape,
        ...(w ? { window: { kernelH: w.kernelH, kernelW: w.kernelW, stride: w.stride, pad: w.pad } } : {}),
        activationsNonNegative: l.activationsNonNegative, scales, channels: channelHealth(l),
      };
    }),
  };
}

/** Every explorer file of one moment: path relative to the moment folder, and its text. */
export function explorerFiles(moment: string, epoch: number, step: number | undefined, probe: ProbeResult, mode: Exclude<ExplorerDataMode, 'off'> = DEFAULT_EXPLORER_DATA): [string, string][] {
  const out: [string, string][] = probe.layers.map((l) => [explorerLayerFile(l.index), layerDataScript(moment, l, mode)]);
  if (probe.labels.length > 0) out.push([EXPLORER_PROBE_FILE, probeDataScript(moment, probe)]);
  out.push([`${EXPLORER_DATA_DIR}/${EXPLORER_SUMMARY_FILE}`, `${JSON.stringify(momentSummary(moment, epoch, step, probe))}\n`]);
  return out;
}
