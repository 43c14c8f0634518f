import { InvalidArgumentError } from 'commander';
import type { Preprocessing } from '../data/preprocess.js';
import { parsePreprocessText } from '../data/preprocess-option.js';
import { errorMessage } from '../util/errors.js';

/** Commander argument parsers that fail with a message naming the value (commander adds the option). */
export function wholeNumber(min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected a whole number >= ${min}, got "${value}"`);
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
