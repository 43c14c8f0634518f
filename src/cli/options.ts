import { InvalidArgumentError } from 'commander';
import type { Preprocessing } from '../data/preprocess.js';
import { parsePreprocessText } from '../data/preprocess-option.js';
import { errorMessage } from '../util/errors.js';

/** Commander argument parsers that fail with a message naming the value (commander adds the option). */
export function wholeNumber(min: number, max = Infinity) {
  return (value: string): number => {
    const n = Number(value);
    // Number('') and Number(' ') are 0: an empty value is not a number.
    if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected a whole number >= ${min}${max < Infinity ? ` and <= ${max}` : ''}, got "${value}"`);
    }
    return n;
  };
}

export function realNumber(min = -Infinity, max = Infinity) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected a number${min > -Infinity ? ` >= ${min}` : ''}${max < Infinity ? ` <= ${max}` : ''}, got "${value}"`);
    }
    return n;
  };
}

/** Largest seed: seeds are 32-bit (a larger one would silently wrap to a smaller one). */
export const MAX_SEED = 2 ** 32 - 1;

/** `--seed`: decimal digits only, 0 .. 2^32-1. */
export function seedNumber(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n > MAX_SEED) {
    throw new InvalidArgumentError(`expected a whole number from 0 to ${MAX_SEED}, got "${value}"`);
  }
  return n;
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
