/**
 * Input scaling written as text, the way PyTorch users state it (torchvision's Normalize):
 * `mean=r,g,b std=r,g,b` on pixel/255, i.e. input = (pixel/255 - mean) / std per channel.
 * The `--preprocess` option takes it, and ONNX files carry it in metadata_props (`cnnviz.preprocess`).
 * cnnviz's own scaling, pixel/255 - 0.5, is `mean=0.5,0.5,0.5 std=1,1,1`.
 */
import { UserError } from '../util/errors.js';
import type { Preprocessing } from './preprocess.js';

export const PREPROCESS_METADATA_KEY = 'cnnviz.preprocess';

type Triple = [number, number, number];

function triple(text: string, field: string, where: string): Triple {
  const parts = text.split(',').map((s) => s.trim());
  const values = parts.map(Number);
  if (parts.length !== 3 || parts.some((p) => p === '') || values.some((v) => !Number.isFinite(v))) {
    throw new UserError(`${where}: "${field}" needs three numbers (red, green, blue) separated by commas, got "${text}"`);
  }
  return values as Triple;
}

/** Parse `mean=r,g,b std=r,g,b` (space or semicolon between the two; either order). */
export function parsePreprocessText(text: string, where: string): Preprocessing {
  const fields = new Map<string, string>();
  for (const item of text.trim().split(/[\s;]+/).filter(Boolean)) {
    const eq = item.indexOf('=');
    const key = eq > 0 ? item.slice(0, eq) : '';
    if (key !== 'mean' && key !== 'std') {
      throw new UserError(`${where}: expected "mean=r,g,b std=r,g,b" (pixel/255 scale, as torchvision's Normalize), got "${text}"`);
    }
    fields.set(key, item.slice(eq + 1));
  }
  if (!fields.has('mean') || !fields.has('std')) {
    throw new UserError(`${where}: expected both "mean=r,g,b" and "std=r,g,b" (pixel/255 scale), got "${text}"`);
  }
  const mean = triple(fields.get('mean')!, 'mean', where);
  const std = triple(fields.get('std')!, 'std', where);
  if (std.some((s) => s <= 0)) throw new UserError(`${where}: "std" values must be above 0, got ${std.join(',')}`);
  if (mean.every((m) => m === 0.5) && std.every((s) => s === 1)) return { kind: 'scale' };
  return { kind: 'standardize', mean: mean.map((m) => m * 255) as Triple, std: std.map((s) => s * 255) as Triple };
}

/** Shortest decimal d with d*255 === v exactly, so text -> Preprocessing -> text -> Preprocessing is lossless. */
function unit(v: number): string {
  for (let digits = 6; digits <= 17; digits++) {
    const s = String(Number((v / 255).toPrecision(digits)));
    if (Number(s) * 255 === v) return s;
  }
  return String(v / 255);
}

export function formatPreprocessText(pre: Preprocessing): string {
  if (pre.kind === 'scale') return 'mean=0.5,0.5,0.5 std=1,1,1';
  return `mean=${pre.mean.map(unit).join(',')} std=${pre.std.map(unit).join(',')}`;
}
