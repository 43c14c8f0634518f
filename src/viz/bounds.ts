/**
 * Size bounds for pictures, so that no network or label can make a picture the encoders refuse
 * (WebP: at most 16383 px a side) or that costs gigabytes to draw:
 * - grids wider than DEFAULT_MAX_WIDTH at zoom 1 are wrapped: each row of tiles becomes several
 *   bands of at most `perBand` tiles, each band labelled with the range of columns it holds;
 * - grids taller than MAX_GRID_HEIGHT show their first rows only, and say so in the row title;
 * - labels (class names) are cut to MAX_LABEL_CHARS;
 * - a canvas larger than MAX_PICTURE_SIDE or MAX_PICTURE_PIXELS is refused (the caller reports the
 *   failed picture and goes on).
 */
import { chooseZoom, DEFAULT_GUTTER, DEFAULT_MAX_WIDTH, gridHeight, gridWidth, type PicturePlan, type TileSource } from './grid.js';

export const MAX_LABEL_CHARS = 40;
export const MAX_GRID_HEIGHT = 12_000;
export const MAX_PICTURE_SIDE = 16_383;
export const MAX_PICTURE_PIXELS = 64 * 2 ** 20;

/** `label` cut to `max` characters (with an ellipsis). */
export function truncateLabel(label: string, max = MAX_LABEL_CHARS): string {
  const chars = [...label];
  return chars.length <= max ? label : `${chars.slice(0, max - 1).join('')}…`;
}

/** Why a canvas of this size must not be drawn, or null. */
export function canvasSizeProblem(width: number, height: number): string | null {
  if (width > MAX_PICTURE_SIDE || height > MAX_PICTURE_SIDE || width * height > MAX_PICTURE_PIXELS) {
    return `the picture would be ${width}x${height} px, more than the limit (${MAX_PICTURE_SIDE} px a side, ${MAX_PICTURE_PIXELS / 2 ** 20}M px)`;
  }
  return null;
}

/** The plan with wide rows wrapped into bands and too many rows cut (see the module notes). */
export function boundPlan(plan: PicturePlan, maxWidth = DEFAULT_MAX_WIDTH, maxHeight = MAX_GRID_HEIGHT): PicturePlan {
  const gutter = DEFAULT_GUTTER;
  let p = plan;
  if (gridWidth(p.cols, p.tileW, 1, gutter) > maxWidth && p.cols > 1) {
    const perBand = Math.max(1, Math.floor((maxWidth - gutter) / (p.tileW + gutter)));
    const bands = Math.ceil(p.cols / perBand);
    const tiles: (TileSource | null)[] = [];
    const rowLabels: string[] = [];
    for (let r = 0; r < p.rows; r++) {
      for (let b = 0; b < bands; b++) {
        const first = b * perBand;
        const last = Math.min(p.cols, first + perBand) - 1;
        for (let c = 0; c < perBand; c++) tiles.push(first + c <= last ? p.tiles[r * p.cols + first + c] : null);
        const head = b === 0 ? p.rowLabels[r] ?? '' : '';
        rowLabels.push(`${head}${head ? ' ' : ''}[${first}–${last}]`);
      }
    }
    p = {
      ...p, rows: p.rows * bands, cols: perBand, tiles, rowLabels, colLabels: p.colLabels.slice(0, perBand).map(() => ''),
      rowTitle: `${p.rowTitle || 'row'}, wrapped: ${perBand} ${p.colTitle || 'column'}s per line [first–last]`, valueLabels: false,
    };
  }
  // At the zoom the layout will use: 1x1 tiles (a 1x1 conv's weights) are drawn several px tall.
  const zoom = chooseZoom(p.tileH, p.tileW, p.cols, p.minTile !== undefined ? { minTile: p.minTile } : {});
  const rowPx = (rows: number): number => gridHeight(rows, p.tileH, zoom, gutter);
  if (rowPx(p.rows) > maxHeight && p.rows > 1) {
    const keep = Math.max(1, Math.floor((maxHeight - gutter) / (p.tileH * zoom + gutter)));
    p = {
      ...p, rows: keep, tiles: p.tiles.slice(0, keep * p.cols), rowLabels: p.rowLabels.slice(0, keep),
      rowTitle: `${p.rowTitle} (first ${keep} of ${p.rows} rows shown)`,
    };
  }
  return p;
}
