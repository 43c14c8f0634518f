/**
 * One annotated picture: caption strip (what, which layer, which epoch, which scale), axis labels,
 * the tile grid, and colour bar(s) with their numbers. Everything printed about the scale comes from
 * scale.ts (colorBarLabels / formatNumber), the same functions that fill stats.json.
 */
import { Canvas, lineHeight, textWidth, wrapText, type TextEngine, type TextItem } from './canvas.js';
import {
  DIVERGING_LUT,
  DIVERGING_SIZE,
  SEQUENTIAL_LUT,
  SEQUENTIAL_SIZE,
  brightness,
  divergingColor,
  sequentialColor,
  signedChannelByte,
} from './colormap.js';
import { TILE_LABEL_STRIP, drawPlan, gridLayout, tileOrigin, type GridLayout, type PicturePlan, type RawImage } from './grid.js';
import { formatNumber, tileScaleLabel, type ColorMapKind } from './scale.js';

const MARGIN = 10;
const TITLE_SIZE = 14;
const TEXT_SIZE = 12;
// Text sizes in px. The report shows pictures at their drawn size, so these are the sizes a reader
// sees: 11 px is the smallest that stays readable.
const LABEL_SIZE = 11;
const TILE_LABEL_SIZE = 11;
const BAR_HEIGHT = 14;
const MIN_WIDTH = 440;

export interface ColorBarSpec {
  kind: 'diverging' | 'sequential' | 'signed-rgb';
  /** The scale s: the bar spans [-s, s] (diverging, signed-rgb) or [0, s] (sequential). */
  scale: number;
  /** Printed under the bar's left end, middle and right end. From colorBarLabels(kind, scale). */
  labels: [string, string, string];
  /** What the bar is for ("value", "each RGB channel", "max |g| over RGB"). */
  caption: string;
}

export interface PictureSpec {
  plan: PicturePlan;
  /** The values the plan's offsets index. */
  data: ArrayLike<number>;
  /** Stored probe images (P x 3 x H x W bytes) for 'image' tiles. */
  images?: Uint8Array;
  /** Caption lines, first one drawn bold. Each is wrapped to the picture's width. */
  captions: string[];
  /** Scale of every tile (one number for layer/run, one per tile in map mode). */
  tileScales: number[];
  /** Map mode: print each tile's own scale under it. */
  perTileLabels: boolean;
  /** Colour bars drawn under the grid. In map mode their scale is symbolic (labels "-s", "0", "s"). */
  bars: ColorBarSpec[];
  /** Extra lines under the bars (notes on clipping, NaN, what the colours mean). */
  notes: string[];
}

export interface PictureGeometry {
  width: number;
  height: number;
  /** Top-left of the grid in the picture, and its layout. */
  gridX: number;
  gridY: number;
  grid: GridLayout;
}

/** Pixel colour of the scalar/magnitude value printed inside a 1x1 cell (for contrasting text). */
function cellColor(kind: ColorMapKind, v: number, s: number): readonly [number, number, number] {
  return kind === 'sequential' ? sequentialColor(v, s) : divergingColor(v, s);
}

function drawColorBar(img: RawImage, x: number, y: number, kind: ColorBarSpec['kind']): number {
  const w = kind === 'sequential' ? SEQUENTIAL_SIZE : DIVERGING_SIZE;
  const d = img.data;
  // 1 px grey frame.
  for (let py = y - 1; py <= y + BAR_HEIGHT; py++) {
    for (let px = x - 1; px <= x + w; px++) {
      const o = (py * img.width + px) * 3;
      d[o] = 150;
      d[o + 1] = 150;
      d[o + 2] = 150;
    }
  }
  for (let i = 0; i < w; i++) {
    let r: number, g: number, b: number;
    if (kind === 'sequential') {
      r = SEQUENTIAL_LUT[i * 3];
      g = SEQUENTIAL_LUT[i * 3 + 1];
      b = SEQUENTIAL_LUT[i * 3 + 2];
    } else if (kind === 'diverging') {
      r = DIVERGING_LUT[i * 3];
      g = DIVERGING_LUT[i * 3 + 1];
      b = DIVERGING_LUT[i * 3 + 2];
    } else {
      const half = (DIVERGING_SIZE - 1) / 2;
      r = g = b = signedChannelByte(i - half, half);
    }
    for (let py = y; py < y + BAR_HEIGHT; py++) {
      const o = (py * img.width + x + i) * 3;
      d[o] = r;
      d[o + 1] = g;
      d[o + 2] = b;
    }
  }
  return w;
}

/** Lays out a picture (sizes only), so callers and tests can know where the grid lands. */
export function pictureGeometry(spec: PictureSpec, engine: TextEngine): PictureGeometry & { layout: InternalLayout } {
  const { plan } = spec;
  const labelBelow = spec.perTileLabels || plan.tileLabels ? TILE_LABEL_STRIP : 0;
  const grid = gridLayout(plan.rows, plan.cols, plan.tileH, plan.tileW, { labelBelow, minTile: plan.minTile });
  const rowLabelW = Math.max(0, ...plan.rowLabels.map((s) => textWidth(s, LABEL_SIZE, engine))) + (plan.rowLabels.some((s) => s) ? 8 : 0);
  const barsW = spec.bars.reduce((acc, b) => acc + Math.max(DIVERGING_SIZE, textWidth(b.caption, LABEL_SIZE, engine)) + 40, 0);
  const width = Math.max(MIN_WIDTH, MARGIN * 2 + rowLabelW + grid.width, MARGIN * 2 + barsW);
  const textW = width - 2 * MARGIN;
  const captionLines = spec.captions.map((c, i) => wrapText(c, i === 0 ? TITLE_SIZE : TEXT_SIZE, textW, engine, i === 0));
  let y = MARGIN;
  for (let i = 0; i < captionLines.length; i++) y += captionLines[i].length * lineHeight(i === 0 ? TITLE_SIZE : TEXT_SIZE);
  y += 6;
  const axisLineY = y;
  const axisText = [plan.rowTitle && `rows: ${plan.rowTitle}`, plan.colTitle && `columns: ${plan.colTitle}`].filter(Boolean).join(' · ');
  if (axisText) y += lineHeight(LABEL_SIZE);
  const colLabelY = y;
  const hasColLabels = plan.colLabels.some((s) => s);
  // Column labels: one line; two staggered lines when they do not fit side by side but do at 2x the
  // pitch; otherwise one line showing every k-th label.
  const colPitch = grid.cellW + grid.gutter;
  const colLabelMax = hasColLabels ? Math.max(...plan.colLabels.map((s) => textWidth(s, LABEL_SIZE, engine))) : 0;
  const colLabelRows = hasColLabels && colLabelMax + 4 > colPitch && colLabelMax + 4 <= 2 * colPitch ? 2 : 1;
  if (hasColLabels) y += colLabelRows * lineHeight(LABEL_SIZE);
  const gridX = MARGIN + rowLabelW;
  const gridY = y;
  y += grid.height + 12;
  const barY = y + lineHeight(LABEL_SIZE);
  if (spec.bars.length > 0) y = barY + BAR_HEIGHT + 4 + lineHeight(LABEL_SIZE) + 4;
  const noteLines = spec.notes.map((n) => wrapText(n, LABEL_SIZE + 1, textW, engine));
  const notesY = y;
  for (const l of noteLines) y += l.length * lineHeight(LABEL_SIZE + 1);
  const height = y + MARGIN;
  return {
    width, height, gridX, gridY, grid,
    layout: { captionLines, axisText, axisLineY, colLabelY, hasColLabels, colLabelRows, colLabelMax, rowLabelW, barY, noteLines, notesY, textW },
  };
}

interface InternalLayout {
  captionLines: string[][];
  axisText: string;
  axisLineY: number;
  colLabelY: number;
  hasColLabels: boolean;
  colLabelRows: number;
  colLabelMax: number;
  rowLabelW: number;
  barY: number;
  noteLines: string[][];
  notesY: number;
  textW: number;
}

/** Every k-th label so that labels of width w fit a pitch of p px. */
function labelStep(maxW: number, pitch: number): number {
  return Math.max(1, Math.ceil((maxW + 4) / Math.max(1, pitch)));
}

/** Draws the whole picture into a new canvas (text is attached to the canvas, rendered on encode). */
export function composePicture(spec: PictureSpec, engine: TextEngine): { canvas: Canvas; geometry: PictureGeometry } {
  const g = pictureGeometry(spec, engine);
  const L = g.layout;
  const { plan, grid } = { plan: spec.plan, grid: g.grid };
  const canvas = new Canvas(g.width, g.height);
  const img: RawImage = { data: canvas.data, width: canvas.width, height: canvas.height };
  const texts: TextItem[] = [];

  // Captions.
  let y = MARGIN;
  L.captionLines.forEach((lines, i) => {
    const size = i === 0 ? TITLE_SIZE : TEXT_SIZE;
    for (const line of lines) {
      texts.push({ x: MARGIN, y, text: line, size, bold: i === 0, color: i === 0 ? '#111111' : '#333333' });
      y += lineHeight(size);
    }
  });
  if (L.axisText) texts.push({ x: MARGIN, y: L.axisLineY, text: L.axisText, size: LABEL_SIZE, color: '#555555' });

  // Grid.
  drawPlan(img, g.gridX, g.gridY, grid, plan, spec.data, spec.images, (r, c) => spec.tileScales.length === 1 ? spec.tileScales[0] : spec.tileScales[r * plan.cols + c]);

  // Column labels (thinned when they do not fit).
  if (L.hasColLabels) {
    const pitch = grid.cellW + grid.gutter;
    const step = L.colLabelRows === 2 ? 1 : labelStep(L.colLabelMax, pitch);
    for (let c = 0; c < plan.cols; c += step) {
      const o = tileOrigin(grid, 0, c);
      const ly = L.colLabelY + (L.colLabelRows === 2 && c % 2 === 1 ? lineHeight(LABEL_SIZE) : 0);
      texts.push({ x: g.gridX + o.x + Math.floor(grid.cellW / 2), y: ly, text: plan.colLabels[c], size: LABEL_SIZE, anchor: 'middle', color: '#444444' });
    }
  }
  // Row labels.
  if (L.rowLabelW > 0) {
    const pitch = grid.cellH + grid.labelBelow + grid.gutter;
    const step = labelStep(lineHeight(LABEL_SIZE) - 4, pitch);
    for (let r = 0; r < plan.rows; r += step) {
      const o = tileOrigin(grid, r, 0);
      const cy = g.gridY + o.y + Math.floor(grid.cellH / 2) - Math.floor(lineHeight(LABEL_SIZE) / 2);
      texts.push({ x: g.gridX - 6, y: cy, text: plan.rowLabels[r], size: LABEL_SIZE, anchor: 'end', color: '#444444' });
    }
  }
  // Values inside 1x1 cells, and per-tile scales under tiles (map mode).
  for (let r = 0; r < plan.rows; r++) {
    for (let c = 0; c < plan.cols; c++) {
      const src = plan.tiles[r * plan.cols + c];
      if (!src) continue;
      const o = tileOrigin(grid, r, c);
      const s = spec.tileScales.length === 1 ? spec.tileScales[0] : spec.tileScales[r * plan.cols + c];
      if (plan.valueLabels && src.kind === 'scalar') {
        const v = spec.data[src.offset];
        const bg = cellColor(plan.colorKind, v, s);
        texts.push({
          x: g.gridX + o.x + Math.floor(grid.cellW / 2), y: g.gridY + o.y + Math.floor((grid.cellH - lineHeight(TILE_LABEL_SIZE)) / 2),
          text: formatNumber(v), size: TILE_LABEL_SIZE, anchor: 'middle', color: brightness(bg) > 110 ? '#000000' : '#ffffff',
        });
      }
      const name = plan.tileLabels?.[r * plan.cols + c] ?? '';
      const scaleLabel = spec.perTileLabels && src.kind !== 'image' ? tileScaleLabel(src.kind === 'magnitude' ? 'sequential' : plan.colorKind, s) : '';
      if (name || scaleLabel) {
        texts.push({
          x: g.gridX + o.x + Math.floor(grid.cellW / 2), y: g.gridY + o.y + grid.cellH + 1,
          text: name && scaleLabel ? `${name.replace(/^\D+/, '')}: ${scaleLabel}` : name || scaleLabel, size: TILE_LABEL_SIZE, anchor: 'middle', color: '#333333',
        });
      }
    }
  }

  // Colour bars.
  let bx = MARGIN + 4;
  for (const bar of spec.bars) {
    texts.push({ x: bx, y: L.barY - lineHeight(LABEL_SIZE), text: bar.caption, size: LABEL_SIZE, color: '#333333' });
    const w = drawColorBar(img, bx, L.barY, bar.kind);
    const ly = L.barY + BAR_HEIGHT + 3;
    texts.push({ x: bx, y: ly, text: bar.labels[0], size: LABEL_SIZE, anchor: 'start' });
    texts.push({ x: bx + Math.floor(w / 2), y: ly, text: bar.labels[1], size: LABEL_SIZE, anchor: 'middle' });
    texts.push({ x: bx + w, y: ly, text: bar.labels[2], size: LABEL_SIZE, anchor: 'end' });
    // Tick at the middle (zero for diverging maps).
    for (let py = L.barY + BAR_HEIGHT; py < L.barY + BAR_HEIGHT + 3; py++) {
      for (const px of [bx, bx + Math.floor(w / 2), bx + w - 1]) {
        const o = (py * img.width + px) * 3;
        img.data[o] = img.data[o + 1] = img.data[o + 2] = 90;
      }
    }
    bx += Math.max(w, textWidth(bar.caption, LABEL_SIZE, engine)) + 40;
  }

  // Notes.
  y = L.notesY;
  for (const lines of L.noteLines) {
    for (const line of lines) {
      texts.push({ x: MARGIN, y, text: line, size: LABEL_SIZE + 1, color: '#444444' });
      y += lineHeight(LABEL_SIZE + 1);
    }
  }
  for (const t of texts) canvas.text(t);
  const { layout: _layout, ...geometry } = g;
  return { canvas, geometry };
}

