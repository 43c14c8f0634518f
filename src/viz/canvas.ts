/**
 * A raw RGB canvas plus text labels, encoded to PNG by sharp.
 *
 * Text is drawn one of two ways, decided once per process by trying (see textEngine()):
 * - `svg`: one SVG of <text> elements rasterised by sharp (librsvg + fontconfig) and alpha-blended into
 *   the pixels where the text is. Used when the machine has fonts: antialiased, proportional text.
 * - `bitmap`: the built-in 5x7 font drawn straight into the pixels, when SVG text would come out as
 *   empty boxes (no fonts installed). Set CNNVIZ_VIZ_TEXT=svg|bitmap to force one.
 * Layout uses textWidth(), an estimate for svg text (DejaVu-like metrics) and exact for bitmap text.
 */
import sharp, { type Sharp } from 'sharp';
import { BITMAP_HEIGHT, bitmapTextWidth, drawBitmapText } from './bitmap-font.js';
import { canvasSizeProblem } from './bounds.js';

export type TextEngine = 'svg' | 'bitmap';

export interface TextItem {
  /** Anchor x (see `anchor`). */
  x: number;
  /** Top of the text's line box (the line box is lineHeight(size) tall). */
  y: number;
  text: string;
  /** Font size in px (svg); bitmap text uses scale 2 from 16 px up, else 1. */
  size: number;
  anchor?: 'start' | 'middle' | 'end';
  /** CSS hex colour, default #222. */
  color?: string;
  bold?: boolean;
}

export const BACKGROUND: readonly [number, number, number] = [255, 255, 255];
export const TEXT_COLOR = '#222222';

export class Canvas {
  readonly data: Uint8Array;
  readonly texts: TextItem[] = [];
  /** Extra SVG elements (lines, polylines) composited over the pixels. */
  readonly svgShapes: string[] = [];
  /** Text has been drawn into data (so it is not drawn twice when encoding twice). */
  textDrawn = false;

  constructor(
    readonly width: number,
    readonly height: number,
    background: readonly [number, number, number] = BACKGROUND,
  ) {
    if (!(width > 0 && height > 0) || !Number.isInteger(width) || !Number.isInteger(height)) {
      throw new Error(`bad canvas size ${width}x${height}`);
    }
    const tooLarge = canvasSizeProblem(width, height);
    if (tooLarge) throw new Error(tooLarge);
    this.data = new Uint8Array(width * height * 3);
    this.fillRect(0, 0, width, height, background);
  }

  fillRect(x: number, y: number, w: number, h: number, c: readonly [number, number, number]): void {
    const x0 = Math.max(0, Math.floor(x));
    const y0 = Math.max(0, Math.floor(y));
    const x1 = Math.min(this.width, Math.floor(x + w));
    const y1 = Math.min(this.height, Math.floor(y + h));
    if (x1 <= x0 || y1 <= y0) return;
    const d = this.data;
    const rowStart = (y0 * this.width + x0) * 3;
    for (let px = x0; px < x1; px++) {
      const o = rowStart + (px - x0) * 3;
      d[o] = c[0];
      d[o + 1] = c[1];
      d[o + 2] = c[2];
    }
    const rowBytes = (x1 - x0) * 3;
    for (let py = y0 + 1; py < y1; py++) {
      d.copyWithin((py * this.width + x0) * 3, rowStart, rowStart + rowBytes);
    }
  }

  text(item: TextItem): void {
    this.texts.push(item);
  }
}

export function lineHeight(size: number): number {
  return Math.ceil(size * 1.35);
}

function bitmapScale(size: number): number {
  return size >= 16 ? 2 : 1;
}

/** Estimated width in px of text at a font size, for the given engine. */
export function textWidth(text: string, size: number, engine: TextEngine, bold = false): number {
  if (engine === 'bitmap') return bitmapTextWidth(text, bitmapScale(size));
  let em = 0;
  for (const ch of text) {
    if ('il.,:;|!\'ı'.includes(ch)) em += 0.3;
    else if ('ftrjI()[]/ '.includes(ch)) em += 0.4;
    else if ('mwMW'.includes(ch)) em += 0.95;
    else if (ch >= 'A' && ch <= 'Z') em += 0.72;
    else em += 0.62;
  }
  return Math.ceil(em * size * (bold ? 1.08 : 1));
}

/**
 * `text` as drawn in at most maxWidth px: whole when it fits, else its longest prefix that fits with
 * an ellipsis after it (at least one character). Width grows with the prefix, so a prefix that does
 * not fit is found by doubling, then the cut by binary search: a few measurements of short prefixes,
 * whatever the text's length (shortening a character at a time was quadratic).
 */
export function fitText(text: string, size: number, maxWidth: number, engine: TextEngine, bold = false): string {
  const width = (n: number, chars: string[]): number => textWidth(`${chars.slice(0, n).join('')}…`, size, engine, bold);
  let n = 64;
  let chars = Array.from(text.slice(0, 2 * n));
  while (chars.length >= n && textWidth(chars.slice(0, n).join(''), size, engine, bold) <= maxWidth) {
    n *= 2;
    chars = Array.from(text.slice(0, 2 * n));
  }
  if (chars.length < n && textWidth(text, size, engine, bold) <= maxWidth) return text;
  // The prefix of n characters (or the whole text) does not fit: the cut lies below n.
  let lo = 1;
  let hi = Math.min(n, chars.length) - 1;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (width(mid, chars) <= maxWidth) lo = mid;
    else hi = mid - 1;
  }
  return `${chars.slice(0, lo).join('')}…`;
}

/**
 * Breaks text into lines no wider than maxWidth (at word boundaries; long words stay whole).
 * `bold`: the lines are drawn bold (wider), so they are measured bold.
 */
export function wrapText(text: string, size: number, maxWidth: number, engine: TextEngine, bold = false): string[] {
  const words = text.split(/\s+/).filter((w) => w.length > 0);
  const lines: string[] = [];
  let cur = '';
  for (const w of words) {
    const next = cur ? `${cur} ${w}` : w;
    if (cur && textWidth(next, size, engine, bold) > maxWidth) {
      lines.push(cur);
      cur = w;
    } else {
      cur = next;
    }
  }
  if (cur) lines.push(cur);
  return lines.length > 0 ? lines : [''];
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const FONT_FAMILY = 'DejaVu Sans, Verdana, Arial, Helvetica, sans-serif';

function svgTexts(items: readonly TextItem[], dx = 0, dy = 0): string {
  return items
    .map((t) => {
      const baseline = t.y - dy + Math.round((lineHeight(t.size) - t.size) / 2 + t.size * 0.8);
      const anchor = t.anchor && t.anchor !== 'start' ? ` text-anchor="${t.anchor}"` : '';
      const weight = t.bold ? ' font-weight="bold"' : '';
      return `<text x="${t.x - dx}" y="${baseline}" font-size="${t.size}"${anchor}${weight} fill="${t.color ?? TEXT_COLOR}">${escapeXml(t.text)}</text>`;
    })
    .join('');
}

function hexColor(hex: string): [number, number, number] {
  const n = parseInt(hex.replace('#', '').slice(0, 6), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

function drawBitmapTexts(c: Canvas): void {
  for (const t of c.texts) {
    const scale = bitmapScale(t.size);
    const w = bitmapTextWidth(t.text, scale);
    const x = t.anchor === 'middle' ? t.x - w / 2 : t.anchor === 'end' ? t.x - w : t.x;
    const y = t.y + Math.floor((lineHeight(t.size) - BITMAP_HEIGHT * scale) / 2);
    const color = hexColor(t.color ?? TEXT_COLOR);
    drawBitmapText(c.data, c.width, c.height, x, y, t.text, scale, color);
    if (t.bold) drawBitmapText(c.data, c.width, c.height, x + 1, y, t.text, scale, color);
  }
}

interface Rect {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

interface TextBand extends Rect {
  items: TextItem[];
}

/**
 * Rectangles that hold all text: line boxes merged into horizontal bands, with a generous horizontal
 * extent since svg text widths are estimates.
 */
function textBands(items: readonly TextItem[], width: number, height: number): TextBand[] {
  const boxes = items.map((t) => {
    const w = textWidth(t.text, t.size, 'svg', t.bold) * 1.25 + 8;
    const x0 = t.anchor === 'middle' ? t.x - w / 2 : t.anchor === 'end' ? t.x - w : t.x - 4;
    return { t, x0: Math.max(0, Math.floor(x0)), x1: Math.min(width, Math.ceil(x0 + w)), y0: Math.max(0, t.y - 3), y1: Math.min(height, t.y + lineHeight(t.size) + 4) };
  });
  boxes.sort((a, b) => a.y0 - b.y0);
  const bands: TextBand[] = [];
  for (const b of boxes) {
    const last = bands[bands.length - 1];
    if (last && b.y0 < last.y1) {
      last.y1 = Math.max(last.y1, b.y1);
      last.x0 = Math.min(last.x0, b.x0);
      last.x1 = Math.max(last.x1, b.x1);
      last.items.push(b.t);
    } else {
      bands.push({ x0: b.x0, x1: b.x1, y0: b.y0, y1: b.y1, items: [b.t] });
    }
  }
  return bands.filter((b) => b.x1 > b.x0 && b.y1 > b.y0);
}

/**
 * Alpha-blends the overlay region whose top-left is (sx, sy) (RGBA, unpremultiplied, ow px wide)
 * onto the canvas rectangle r.
 */
function blendRect(c: Canvas, overlay: Uint8Array, ow: number, oh: number, sx: number, sy: number, r: Rect): void {
  const d = c.data;
  const w = Math.min(r.x1, c.width) - r.x0;
  const h = Math.min(r.y1 - r.y0, oh - sy, c.height - r.y0);
  for (let j = 0; j < h; j++) {
    let o = ((sy + j) * ow + sx) * 4;
    let p = ((r.y0 + j) * c.width + r.x0) * 3;
    for (let i = 0; i < w && sx + i < ow; i++, o += 4, p += 3) {
      const a = overlay[o + 3];
      if (a === 0) continue;
      if (a === 255) {
        d[p] = overlay[o];
        d[p + 1] = overlay[o + 1];
        d[p + 2] = overlay[o + 2];
      } else {
        const f = a / 255;
        d[p] = Math.round(overlay[o] * f + d[p] * (1 - f));
        d[p + 1] = Math.round(overlay[o + 1] * f + d[p + 1] * (1 - f));
        d[p + 2] = Math.round(overlay[o + 2] * f + d[p + 2] * (1 - f));
      }
    }
  }
}

async function rasterSvg(width: number, height: number, body: string): Promise<{ data: Buffer; width: number; height: number }> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><g font-family="${FONT_FAMILY}">${body}</g></svg>`;
  const { data, info } = await sharp(Buffer.from(svg)).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/**
 * Draws the canvas's text (and SVG shapes) into its pixels, once.
 * svg engine: the text bands are stacked into one small SVG "atlas" (only the strips that hold text,
 * not the whole picture), rasterised once by sharp (librsvg), and each band is alpha-blended back
 * where it belongs. Several times cheaper than compositing a picture-sized overlay.
 */
export async function drawCanvasText(c: Canvas, engine: TextEngine): Promise<void> {
  if (c.textDrawn) return;
  c.textDrawn = true;
  if (engine === 'bitmap') drawBitmapTexts(c);
  const svgText = engine === 'svg' ? c.texts : [];
  if (c.svgShapes.length > 0) {
    // Plots: shapes and text together, canvas-sized (small pictures).
    const o = await rasterSvg(c.width, c.height, c.svgShapes.join('') + svgTexts(svgText));
    blendRect(c, o.data, o.width, o.height, 0, 0, { x0: 0, y0: 0, x1: c.width, y1: c.height });
    return;
  }
  if (svgText.length === 0) return;
  const bands = textBands(svgText, c.width, c.height);
  const atlasW = Math.max(...bands.map((b) => b.x1));
  let atlasH = 0;
  const placed = bands.map((b) => {
    const ay = atlasH;
    atlasH += b.y1 - b.y0;
    return { band: b, ay };
  });
  const body = placed.map(({ band, ay }) => svgTexts(band.items, 0, band.y0 - ay)).join('');
  const o = await rasterSvg(atlasW, atlasH, body);
  for (const { band, ay } of placed) blendRect(c, o.data, o.width, o.height, band.x0, ay, band);
}

function rawSharp(c: Canvas): Sharp {
  return sharp(c.data, { raw: { width: c.width, height: c.height, channels: 3 } });
}

/** Renders the canvas with its text and encodes it as PNG (zlib level 6, sharp's threads). */
export async function encodeCanvasPng(c: Canvas, engine: TextEngine): Promise<Buffer> {
  await drawCanvasText(c, engine);
  return rawSharp(c).png({ compressionLevel: 6 }).toBuffer();
}

/** Renders the canvas with its text as a single-image lossless WebP (an animation frame). */
export async function encodeCanvasWebp(c: Canvas, engine: TextEngine): Promise<Buffer> {
  await drawCanvasText(c, engine);
  return rawSharp(c).webp({ lossless: true, effort: 0 }).toBuffer();
}

let enginePromise: Promise<TextEngine> | undefined;

/**
 * Horizontal extent of ink in an RGBA rendering (columns with any alpha > 0).
 */
function inkWidth(data: Buffer, width: number, height: number): number {
  let lo = width;
  let hi = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (data[(y * width + x) * 4 + 3] > 0) {
        if (x < lo) lo = x;
        if (x > hi) hi = x;
      }
    }
  }
  return hi >= lo ? hi - lo + 1 : 0;
}

async function detectEngine(): Promise<TextEngine> {
  const forced = process.env.CNNVIZ_VIZ_TEXT;
  if (forced === 'svg' || forced === 'bitmap') return forced;
  try {
    // With real fonts "iiiiiiii" is far narrower than "MMMMMMMM"; without fonts both are rows of
    // identical boxes (or nothing at all).
    const render = async (s: string): Promise<number> => {
      const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="400" height="40"><text x="4" y="30" font-size="24" font-family="${FONT_FAMILY}">${s}</text></svg>`;
      const { data, info } = await sharp(Buffer.from(svg)).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
      return inkWidth(data, info.width, info.height);
    };
    const [narrow, wide] = await Promise.all([render('iiiiiiii'), render('MMMMMMMM')]);
    return narrow > 0 && wide > narrow * 1.8 ? 'svg' : 'bitmap';
  } catch {
    return 'bitmap';
  }
}

/** The text engine for this process (tried once, then cached). */
export function textEngine(): Promise<TextEngine> {
  enginePromise ??= detectEngine();
  return enginePromise;
}

/** For tests: forget the cached engine so that CNNVIZ_VIZ_TEXT is read again. */
export function resetTextEngine(): void {
  enginePromise = undefined;
}

