/**
 * Grid layouts: which tiles a picture has, where each lands, and the pixels of each tile.
 * Pure functions over raw RGB buffers (3 bytes per pixel, row-major); no I/O.
 *
 * Layout rules (rows x columns of tiles):
 * - activations / activation gradients: a row per probe image, a tile per channel. fc-like outputs
 *   (C x 1 x 1) are the same rule with 1x1 tiles, i.e. a strip of C cells per probe image, each cell
 *   wide enough to print its value.
 * - input layer (3 channels) activations: a row per probe image with one colour tile (the image).
 * - input layer activation gradients (the saliency map): a row per probe image with three tiles:
 *   the image (for reference), the gradient in colour (each RGB channel as 0.5 + g/(2s): grey = 0),
 *   and its magnitude max_c |g_c| on the sequential map.
 * - weights / weight gradients of a layer whose input is the 3-channel image: one colour tile per
 *   filter (RGB per filter, each channel 0.5 + w/(2s)), 8 per row, tiles at least 80 px.
 * - other weights (deeper conv, fc): a row per filter/unit, a tile per input channel, each tile the
 *   kernel (conv: kH x kW) or the unit's weights over that input channel (fc: inH x inW).
 * Tiles are upscaled by an integer zoom (nearest neighbour) so that a tile is at least `minTile` px
 * (48; 56 for 1x1 cells), reduced while the grid is wider than `maxWidth` (1200). A `gutter` (2 px,
 * neutral grey; dark grey in colour pictures, whose zero is mid grey) separates the tiles and frames
 * the grid.
 */
import {
  DIVERGING_LUT,
  NON_FINITE_RGB,
  SEQUENTIAL_LUT,
  divergingIndex,
  sequentialIndex,
  signedChannelByte,
  type RGB,
} from './colormap.js';
import type { ColorMapKind } from './scale.js';

/** Gutter between tiles: neutral mid grey, distinct from black (sequential 0) and near-white (diverging 0). */
export const GUTTER_RGB: RGB = [112, 112, 112];
/** Gutter for colour pictures (signed RGB, whose zero is mid grey 128): dark grey, so tiles stand apart. */
export const DARK_GUTTER_RGB: RGB = [40, 40, 40];

/** The gutter colour a plan uses. */
export function gutterColor(plan: Pick<PicturePlan, 'colorKind' | 'mixed'>): RGB {
  return plan.colorKind === 'signed-rgb' || plan.mixed ? DARK_GUTTER_RGB : GUTTER_RGB;
}
export const DEFAULT_GUTTER = 2;
export const DEFAULT_MIN_TILE = 48;
export const DEFAULT_MIN_CELL = 56;
/** Grids stay narrower than this so that pictures show at their drawn size in a 1,400 px window. */
export const DEFAULT_MAX_WIDTH = 1200;
/** Height of the label strip under numbered tiles (an 11 px line, lineHeight(11) + 2). */
export const TILE_LABEL_STRIP = Math.ceil(11 * 1.35) + 2;
/** Colour-weight tiles per row before wrapping. */
export const RGB_FILTERS_PER_ROW = 8;
/** Smallest tile side for colour filters (bigger than scalar tiles: they are few and the point). */
export const RGB_FILTER_MIN_TILE = 80;

export interface GridOptions {
  gutter?: number;
  /** Smallest tile side in px the zoom aims for (default 48; 1x1 cells 56). */
  minTile?: number;
  /** Widest grid in px; the zoom is lowered (down to 1) to stay under it. */
  maxWidth?: number;
  /** Force a zoom. */
  zoom?: number;
  /** Height of a label strip under every row of tiles (map-mode per-tile scales). */
  labelBelow?: number;
}

export interface GridLayout {
  rows: number;
  cols: number;
  /** Source tile size (values). */
  tileH: number;
  tileW: number;
  zoom: number;
  gutter: number;
  labelBelow: number;
  /** Tile size in px. */
  cellW: number;
  cellH: number;
  /** Whole grid in px, gutters (frame included) and label strips. */
  width: number;
  height: number;
}

export function gridWidth(cols: number, tileW: number, zoom: number, gutter: number): number {
  return cols * tileW * zoom + (cols + 1) * gutter;
}

export function gridHeight(rows: number, tileH: number, zoom: number, gutter: number, labelBelow = 0): number {
  return rows * (tileH * zoom + labelBelow) + (rows + 1) * gutter;
}

/** Integer nearest-neighbour zoom for tiles of tileH x tileW, see the module notes. */
export function chooseZoom(tileH: number, tileW: number, cols: number, opts: GridOptions = {}): number {
  if (opts.zoom !== undefined) return Math.max(1, Math.floor(opts.zoom));
  const gutter = opts.gutter ?? DEFAULT_GUTTER;
  const minTile = opts.minTile ?? (tileH === 1 && tileW === 1 ? DEFAULT_MIN_CELL : DEFAULT_MIN_TILE);
  const maxWidth = opts.maxWidth ?? DEFAULT_MAX_WIDTH;
  let z = Math.max(1, Math.ceil(minTile / Math.max(tileH, tileW)));
  while (z > 1 && gridWidth(cols, tileW, z, gutter) > maxWidth) z--;
  return z;
}

export function gridLayout(rows: number, cols: number, tileH: number, tileW: number, opts: GridOptions = {}): GridLayout {
  const gutter = opts.gutter ?? DEFAULT_GUTTER;
  const labelBelow = opts.labelBelow ?? 0;
  const zoom = chooseZoom(tileH, tileW, cols, opts);
  return {
    rows,
    cols,
    tileH,
    tileW,
    zoom,
    gutter,
    labelBelow,
    cellW: tileW * zoom,
    cellH: tileH * zoom,
    width: gridWidth(cols, tileW, zoom, gutter),
    height: gridHeight(rows, tileH, zoom, gutter, labelBelow),
  };
}

/** Top-left pixel of tile (r, c) relative to the grid's top-left corner. */
export function tileOrigin(l: GridLayout, r: number, c: number): { x: number; y: number } {
  return { x: l.gutter + c * (l.cellW + l.gutter), y: l.gutter + r * (l.cellH + l.labelBelow + l.gutter) };
}

// ---------------------------------------------------------------------------------------------------
// What goes in each tile.

export type Quantity = 'activations' | 'activation-gradients' | 'weights' | 'weight-gradients';
export const QUANTITIES: readonly Quantity[] = ['activations', 'activation-gradients', 'weights', 'weight-gradients'];

/** The shape facts a layout needs (a subset of LayerProbe plus one fact about the network). */
export interface LayerShapeInfo {
  index: number;
  type: string;
  /** [C, H, W] of one sample's output. */
  outShape: readonly [number, number, number];
  /** [outC, inC, kH, kW] for layers with weights. */
  weightShape?: readonly [number, number, number, number];
  /** 'units': fc weights (one row per unit); otherwise conv filters. */
  weightLayout?: 'filters' | 'units';
  /** True when the layer's input is the 3-channel image (it reads the input layer). */
  inputIsImage: boolean;
  /** Whether outputs are never negative (sequential map for activations). */
  activationsNonNegative: boolean;
}

export type TileSource =
  /** tileH x tileW consecutive values from `offset`. */
  | { kind: 'scalar'; offset: number }
  /** Three channels at offset + k*stride, shown as signed RGB (0.5 + v/(2s) per channel). */
  | { kind: 'signed-rgb'; offset: number; stride: number }
  /** max_k |v| over three channels at offset + k*stride, on the sequential map. */
  | { kind: 'magnitude'; offset: number; stride: number }
  /** The stored probe image `probe` (bytes 0..255, channels x H x W: 3 in colour, 1 in grey; default 3). */
  | { kind: 'image'; probe: number; channels?: number };

export interface PicturePlan {
  quantity: Quantity;
  rows: number;
  cols: number;
  tileH: number;
  tileW: number;
  /** Map of the scalar tiles (diverging or sequential), or signed-rgb for colour-filter pictures. */
  colorKind: ColorMapKind;
  /** rows * cols entries, row-major; null = empty cell (background). */
  tiles: (TileSource | null)[];
  rowLabels: string[];
  colLabels: string[];
  /** What rows and columns are, for the axis titles. */
  rowTitle: string;
  colTitle: string;
  /** 1x1 cells: print each value inside its cell. */
  valueLabels: boolean;
  /** Whether tile kinds other than colorKind appear (input gradient: image + signed-rgb + magnitude). */
  mixed: boolean;
  /** Smallest tile side in px for this picture, when it differs from the default. */
  minTile?: number;
  /** A label printed under every tile (row-major, rows * cols), e.g. the filter number. */
  tileLabels?: string[];
}

export interface PlanLabels {
  /** True class name of each probe image, for row labels. */
  probeLabels?: string[];
  /** Names for the output channels when they are the classes (class scores / probabilities). */
  channelNames?: string[];
  /**
   * Whether the stored probe images (ProbeResult.images) match the input layer's shape (default true).
   * When not, the input layer's activations are drawn from the preprocessed values as signed RGB
   * (0.5 + x/(2s) per channel) and the input gradient picture has no reference image column.
   */
  images?: boolean;
}

/** Whether a picture of this quantity exists for the layer. */
export function hasPicture(info: LayerShapeInfo, q: Quantity): boolean {
  return q === 'activations' || q === 'activation-gradients' || info.weightShape !== undefined;
}

function isImageInput(info: LayerShapeInfo): boolean {
  return info.index === 0 && info.outShape[0] === 3; // layer 0 is always the input layer
}

function range(n: number, f: (i: number) => string): string[] {
  return Array.from({ length: n }, (_, i) => f(i));
}

/** The tiles of one picture of a layer. */
export function planPicture(info: LayerShapeInfo, q: Quantity, probeCount: number, labels: PlanLabels = {}): PicturePlan {
  const [C, H, W] = info.outShape;
  const probeLabel = (p: number): string => {
    const name = labels.probeLabels?.[p];
    return name ? `${p}: ${name}` : `${p}`;
  };
  if (q === 'activations' || q === 'activation-gradients') {
    const rowLabels = range(probeCount, probeLabel);
    // A grey input's activations are the images themselves, drawn in grey (its gradients: one signed map per image, below).
    if (q === 'activations' && info.index === 0 && C === 1 && labels.images !== false) {
      return {
        quantity: q, rows: probeCount, cols: 1, tileH: H, tileW: W, colorKind: 'image',
        tiles: range(probeCount, () => '').map((_, p) => ({ kind: 'image' as const, probe: p, channels: 1 })),
        rowLabels, colLabels: ['image'], rowTitle: 'probe image', colTitle: '', valueLabels: false, mixed: false,
      };
    }
    if (isImageInput(info)) {
      const images = labels.images !== false;
      if (q === 'activations') {
        const tiles: TileSource[] = [];
        for (let p = 0; p < probeCount; p++) {
          tiles.push(images ? { kind: 'image', probe: p } : { kind: 'signed-rgb', offset: p * C * H * W, stride: H * W });
        }
        return {
          quantity: q, rows: probeCount, cols: 1, tileH: H, tileW: W, colorKind: images ? 'image' : 'signed-rgb',
          tiles, rowLabels, colLabels: ['image'], rowTitle: 'probe image', colTitle: '', valueLabels: false, mixed: false,
        };
      }
      const tiles: TileSource[] = [];
      for (let p = 0; p < probeCount; p++) {
        const off = p * C * H * W;
        if (images) tiles.push({ kind: 'image', probe: p });
        tiles.push({ kind: 'signed-rgb', offset: off, stride: H * W });
        tiles.push({ kind: 'magnitude', offset: off, stride: H * W });
      }
      return {
        quantity: q, rows: probeCount, cols: images ? 3 : 2, tileH: H, tileW: W, colorKind: 'signed-rgb', tiles,
        rowLabels, colLabels: images ? ['image', 'gradient', '|gradient|'] : ['gradient', '|gradient|'],
        rowTitle: 'probe image', colTitle: '', valueLabels: false, mixed: true,
      };
    }
    const signed = q === 'activation-gradients' || !info.activationsNonNegative;
    const tiles: TileSource[] = [];
    for (let p = 0; p < probeCount; p++) for (let c = 0; c < C; c++) tiles.push({ kind: 'scalar', offset: (p * C + c) * H * W });
    const named = labels.channelNames && labels.channelNames.length === C;
    return {
      quantity: q, rows: probeCount, cols: C, tileH: H, tileW: W, colorKind: signed ? 'diverging' : 'sequential', tiles,
      rowLabels, colLabels: range(C, (c) => (named ? labels.channelNames![c] : `${c}`)),
      rowTitle: 'probe image', colTitle: named ? 'class' : H === 1 && W === 1 ? 'unit' : 'channel',
      valueLabels: H === 1 && W === 1 && C <= 32, mixed: false,
    };
  }
  if (!info.weightShape) throw new Error(`layer ${info.index} (${info.type}) has no weights to draw`);
  const [O, I, KH, KW] = info.weightShape;
  const unitName = info.weightLayout === 'units' ? 'unit' : 'filter';
  if (info.inputIsImage && I === 3) {
    const cols = Math.min(O, RGB_FILTERS_PER_ROW);
    const rows = Math.ceil(O / cols);
    const tiles: (TileSource | null)[] = [];
    for (let i = 0; i < rows * cols; i++) tiles.push(i < O ? { kind: 'signed-rgb', offset: i * 3 * KH * KW, stride: KH * KW } : null);
    return {
      quantity: q, rows, cols, tileH: KH, tileW: KW, colorKind: 'signed-rgb', tiles,
      rowLabels: range(rows, () => ''),
      colLabels: range(cols, () => ''), rowTitle: '',
      colTitle: `${unitName}s (RGB), ${cols} per row, each numbered under its tile`,
      tileLabels: range(rows * cols, (i) => (i < O ? `${unitName} ${i}` : '')),
      valueLabels: false, mixed: false, minTile: RGB_FILTER_MIN_TILE,
    };
  }
  const tiles: TileSource[] = [];
  for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) tiles.push({ kind: 'scalar', offset: (o * I + i) * KH * KW });
  const named = labels.channelNames && labels.channelNames.length === O && info.weightLayout === 'units';
  return {
    quantity: q, rows: O, cols: I, tileH: KH, tileW: KW, colorKind: 'diverging', tiles,
    rowLabels: range(O, (o) => (named ? labels.channelNames![o] : `${o}`)),
    colLabels: range(I, (i) => `${i}`), rowTitle: named ? 'class unit' : unitName,
    // A filter of one input channel deep inside a network is (almost always) depthwise: column 0 is not channel 0.
    colTitle: I === 1 && O > 1 && info.weightLayout !== 'units' ? 'the one input channel each filter reads (depthwise: filter k reads channel k)' : 'input channel',
    valueLabels: KH === 1 && KW === 1 && I <= 32, mixed: false,
  };
}

/** The pixel layout of a picture of a layer: shape + layout rules -> grid size in px. */
export function pictureGridLayout(info: LayerShapeInfo, q: Quantity, probeCount: number, opts: GridOptions = {}): GridLayout {
  const plan = planPicture(info, q, probeCount, {});
  // Numbered tiles get a label strip of one 11 px line (as picture.ts draws it).
  const labelBelow = plan.tileLabels ? TILE_LABEL_STRIP : undefined;
  return gridLayout(plan.rows, plan.cols, plan.tileH, plan.tileW, { minTile: plan.minTile, ...(labelBelow ? { labelBelow } : {}), ...opts });
}

// ---------------------------------------------------------------------------------------------------
// Pixels.

/** An RGB pixel buffer (3 bytes per pixel). */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Paints the grid's gutters (everything of the grid area, tiles are drawn over it). */
export function paintGutters(img: RawImage, x0: number, y0: number, l: GridLayout, color: RGB = GUTTER_RGB, labelBg: RGB = [255, 255, 255]): void {
  fillRect(img, x0, y0, l.width, l.height, color);
  if (l.labelBelow > 0) {
    for (let r = 0; r < l.rows; r++) {
      for (let c = 0; c < l.cols; c++) {
        const o = tileOrigin(l, r, c);
        fillRect(img, x0 + o.x, y0 + o.y + l.cellH, l.cellW, l.labelBelow, labelBg);
      }
    }
  }
}

export function fillRect(img: RawImage, x: number, y: number, w: number, h: number, c: RGB): void {
  const x0 = Math.max(0, x);
  const y0 = Math.max(0, y);
  const x1 = Math.min(img.width, x + w);
  const y1 = Math.min(img.height, y + h);
  for (let py = y0; py < y1; py++) {
    let o = (py * img.width + x0) * 3;
    for (let px = x0; px < x1; px++, o += 3) {
      img.data[o] = c[0];
      img.data[o + 1] = c[1];
      img.data[o + 2] = c[2];
    }
  }
}

/** Repeats the first pixel row of a zoomed block (zoom rows tall, w px wide at x,y) downwards. */
function replicateRows(img: RawImage, x: number, y: number, wPx: number, zoom: number): void {
  const start = (y * img.width + x) * 3;
  for (let dz = 1; dz < zoom; dz++) img.data.copyWithin(start + dz * img.width * 3, start, start + wPx * 3);
}

/**
 * Draws tileH x tileW values (consecutive from `offset`) zoomed, top-left at (x, y).
 * Returns nothing; NaN values get NON_FINITE_RGB.
 */
export function drawScalarTile(
  img: RawImage, x: number, y: number, data: ArrayLike<number>, offset: number,
  tileH: number, tileW: number, zoom: number, kind: 'diverging' | 'sequential', s: number,
): void {
  const lut = kind === 'sequential' ? SEQUENTIAL_LUT : DIVERGING_LUT;
  const d = img.data;
  for (let r = 0; r < tileH; r++) {
    const py = y + r * zoom;
    let o = (py * img.width + x) * 3;
    for (let c = 0; c < tileW; c++) {
      const v = data[offset + r * tileW + c];
      const idx = kind === 'sequential' ? sequentialIndex(v, s) : divergingIndex(v, s);
      let cr: number, cg: number, cb: number;
      if (idx < 0) [cr, cg, cb] = NON_FINITE_RGB;
      else {
        cr = lut[idx * 3];
        cg = lut[idx * 3 + 1];
        cb = lut[idx * 3 + 2];
      }
      for (let z = 0; z < zoom; z++, o += 3) {
        d[o] = cr;
        d[o + 1] = cg;
        d[o + 2] = cb;
      }
    }
    replicateRows(img, x, py, tileW * zoom, zoom);
  }
}

/** Three channels (offset + k*stride) as signed RGB: channel byte = round(127.5 + 127.5 * v/s). */
export function drawSignedRgbTile(
  img: RawImage, x: number, y: number, data: ArrayLike<number>, offset: number, stride: number,
  tileH: number, tileW: number, zoom: number, s: number,
): void {
  const d = img.data;
  for (let r = 0; r < tileH; r++) {
    const py = y + r * zoom;
    let o = (py * img.width + x) * 3;
    for (let c = 0; c < tileW; c++) {
      const i = offset + r * tileW + c;
      const a = data[i];
      const b = data[i + stride];
      const e = data[i + 2 * stride];
      let cr: number, cg: number, cb: number;
      if (Number.isNaN(a) || Number.isNaN(b) || Number.isNaN(e)) [cr, cg, cb] = NON_FINITE_RGB;
      else {
        cr = signedChannelByte(a, s);
        cg = signedChannelByte(b, s);
        cb = signedChannelByte(e, s);
      }
      for (let z = 0; z < zoom; z++, o += 3) {
        d[o] = cr;
        d[o + 1] = cg;
        d[o + 2] = cb;
      }
    }
    replicateRows(img, x, py, tileW * zoom, zoom);
  }
}

/** max_k |v_k| over three channels, on the sequential map [0, s]. */
export function drawMagnitudeTile(
  img: RawImage, x: number, y: number, data: ArrayLike<number>, offset: number, stride: number,
  tileH: number, tileW: number, zoom: number, s: number,
): void {
  const d = img.data;
  for (let r = 0; r < tileH; r++) {
    const py = y + r * zoom;
    let o = (py * img.width + x) * 3;
    for (let c = 0; c < tileW; c++) {
      const i = offset + r * tileW + c;
      const m = Math.max(Math.abs(data[i]), Math.abs(data[i + stride]), Math.abs(data[i + 2 * stride]));
      const idx = sequentialIndex(m, s);
      let cr: number, cg: number, cb: number;
      if (idx < 0) [cr, cg, cb] = NON_FINITE_RGB;
      else {
        cr = SEQUENTIAL_LUT[idx * 3];
        cg = SEQUENTIAL_LUT[idx * 3 + 1];
        cb = SEQUENTIAL_LUT[idx * 3 + 2];
      }
      for (let z = 0; z < zoom; z++, o += 3) {
        d[o] = cr;
        d[o + 1] = cg;
        d[o + 2] = cb;
      }
    }
    replicateRows(img, x, py, tileW * zoom, zoom);
  }
}

/** A stored image (3 x H x W bytes, planar) zoomed, in colour; with channels 1 (1 x H x W), in grey. */
export function drawImageTile(
  img: RawImage, x: number, y: number, bytes: Uint8Array, offset: number, tileH: number, tileW: number, zoom: number, channels = 3,
): void {
  const d = img.data;
  const plane = channels === 1 ? 0 : tileH * tileW;
  for (let r = 0; r < tileH; r++) {
    const py = y + r * zoom;
    let o = (py * img.width + x) * 3;
    for (let c = 0; c < tileW; c++) {
      const i = offset + r * tileW + c;
      const cr = bytes[i];
      const cg = bytes[i + plane];
      const cb = bytes[i + 2 * plane];
      for (let z = 0; z < zoom; z++, o += 3) {
        d[o] = cr;
        d[o + 1] = cg;
        d[o + 2] = cb;
      }
    }
    replicateRows(img, x, py, tileW * zoom, zoom);
  }
}

/** The scale a tile's own values call for (map mode), given its source. */
export function tileNaturalScale(src: TileSource, plan: PicturePlan, data: ArrayLike<number>): number {
  const n = plan.tileH * plan.tileW;
  let m = 0;
  if (src.kind === 'scalar') {
    for (let i = src.offset; i < src.offset + n; i++) {
      const v = data[i];
      const a = plan.colorKind === 'sequential' ? v : Math.abs(v);
      if (a > m && a !== Infinity) m = a;
    }
  } else if (src.kind === 'signed-rgb' || src.kind === 'magnitude') {
    for (let k = 0; k < 3; k++) {
      for (let i = src.offset + k * src.stride; i < src.offset + k * src.stride + n; i++) {
        const a = Math.abs(data[i]);
        if (a > m && a !== Infinity) m = a;
      }
    }
  }
  return m;
}

/**
 * Draws every tile of a plan into img with the grid's top-left at (x0, y0).
 * scaleOf(r, c) gives the scale for tile (r, c) (the same number for all tiles unless map mode).
 */
export function drawPlan(
  img: RawImage, x0: number, y0: number, l: GridLayout, plan: PicturePlan,
  data: ArrayLike<number>, images: Uint8Array | undefined, scaleOf: (r: number, c: number) => number,
): void {
  paintGutters(img, x0, y0, l, gutterColor(plan));
  for (let r = 0; r < plan.rows; r++) {
    for (let c = 0; c < plan.cols; c++) {
      const src = plan.tiles[r * plan.cols + c];
      const o = tileOrigin(l, r, c);
      const x = x0 + o.x;
      const y = y0 + o.y;
      if (!src) {
        fillRect(img, x, y, l.cellW, l.cellH + l.labelBelow, [255, 255, 255]);
        continue;
      }
      const s = scaleOf(r, c);
      switch (src.kind) {
        case 'scalar':
          drawScalarTile(img, x, y, data, src.offset, plan.tileH, plan.tileW, l.zoom, plan.colorKind === 'sequential' ? 'sequential' : 'diverging', s);
          break;
        case 'signed-rgb':
          drawSignedRgbTile(img, x, y, data, src.offset, src.stride, plan.tileH, plan.tileW, l.zoom, s);
          break;
        case 'magnitude':
          drawMagnitudeTile(img, x, y, data, src.offset, src.stride, plan.tileH, plan.tileW, l.zoom, s);
          break;
        case 'image':
          if (images) drawImageTile(img, x, y, images, src.probe * (src.channels ?? 3) * plan.tileH * plan.tileW, plan.tileH, plan.tileW, l.zoom, src.channels ?? 3);
          break;
      }
    }
  }
}
