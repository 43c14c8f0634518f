import { InvalidArgumentError } from 'commander';
import { MAX_INPUT_SIDE } from '../data/image-folder.js';
import type { Preprocessing } from '../data/preprocess.js';
import { parsePreprocessText } from '../data/preprocess-option.js';
import { errorMessage } from '../util/errors.js';
import { MAX_SEED, realNumberProblem, seedProblem, wholeNumberProblem } from '../util/checks.js';

/**
 * Commander argument parsers that fail with a message naming the value (commander adds the option).
 * The rules live in src/util/checks.ts, shared with the validation of a checkpoint's saved settings.
 */
export function wholeNumber(min: number, max = Infinity) {
  return (value: string): number => {
    const problem = wholeNumberProblem(value, min, max);
    if (problem) throw new InvalidArgumentError(problem);
    return Number(value);
  };
}

/**
 * A path option (--data, --out, --model, ...): an empty value is refused, where it used to reach the
 * file system as "" (the current folder, or a message about ".").
 */
export function pathText(value: string): string {
  if (value.trim() === '') throw new InvalidArgumentError('an empty path; name a file or folder');
  return value;
}

/** `--port` / `--serve [port]`: 0 (any free port) to 65535; a larger number would reach Node's listen() as an internal error. */
export const portNumber = wholeNumber(0, 65535);

export function realNumber(min = -Infinity, max = Infinity, below = false) {
  return (value: string): number => {
    const problem = realNumberProblem(value, min, max, below);
    if (problem) throw new InvalidArgumentError(problem);
    return Number(value);
  };
}

export { MAX_SEED };

/** `--seed`: decimal digits only, 0 .. 2^32-1. */
export function seedNumber(value: string): number {
  const problem = seedProblem(value);
  if (problem) throw new InvalidArgumentError(problem);
  return Number(value);
}

/** Why `name` cannot be a run name (one path segment), or null when it can. */
export function runNameProblem(name: string): string | null {
  if (name.trim() === '') return 'is empty';
  if (/[/\\]/.test(name)) return 'contains a path separator (a run name is one folder name; use --out for a path)';
  if (name === '.' || name === '..') return 'is not a folder name';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f]/.test(name)) return 'contains control characters';
  if (Buffer.byteLength(name) > 200) return 'is longer than 200 bytes';
  return null;
}

/** `--name`: one path segment under out/. */
export function runName(value: string): string {
  const problem = runNameProblem(value);
  if (problem) throw new InvalidArgumentError(`"${value}" ${problem}`);
  return value;
}

/** `--max-memory`: bytes, with an optional unit (K, M, G, T; binary multiples), e.g. 512M, 8G. */
export function byteSize(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$/i.exec(value);
  const mul = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[(m?.[2] ?? '').toLowerCase()];
  const n = m && mul ? Math.floor(Number(m[1]) * mul) : NaN;
  if (!(n >= 1)) throw new InvalidArgumentError(`expected a size like 512M or 8G, got "${value}"`);
  return n;
}

/** `--preprocess "mean=r,g,b std=r,g,b"` (pixel/255 scale, as torchvision's Normalize). */
export function preprocessText(value: string): Preprocessing {
  try {
    return parsePreprocessText(value, 'value');
  } catch (e) {
    throw new InvalidArgumentError(errorMessage(e).replace(/^value: /, ''));
  }
}

export const PREPROCESS_HELP =
  'input scaling the model was trained with, as torchvision states it: "mean=r,g,b std=r,g,b" on pixel/255 (default: what the model records, else pixel/255 - 0.5)';

/** `--input-size`: "32" (square) or "WxH" (width x height, as ConvNetJS's out_sx x out_sy); returns [height, width]. */
export function inputSize(value: string): [number, number] {
  const m = /^\s*(\d+)\s*(?:[xX]\s*(\d+))?\s*$/.exec(value);
  const w = m ? Number(m[1]) : NaN;
  const h = m ? Number(m[2] ?? m[1]) : NaN;
  if (!(w >= 1 && h >= 1 && w <= MAX_INPUT_SIDE && h <= MAX_INPUT_SIDE)) {
    throw new InvalidArgumentError(`expected N or WxH with sides 1 to ${MAX_INPUT_SIDE} pixels, e.g. 32 or 64x48; got "${value}"`);
  }
  return [h, w];
}
