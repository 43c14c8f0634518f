/**
 * Value checks shared by the CLI option parsers and the validation of saved settings (a checkpoint's
 * config is checked with exactly the rules its options were), each returning a problem or null.
 */

/** Largest seed: seeds are 32-bit (a larger one would silently wrap to a smaller one). */
export const MAX_SEED = 2 ** 32 - 1;

/** A whole number min..max, from an option's text or a saved JSON value. */
export function wholeNumberProblem(value: unknown, min: number, max = Infinity): string | null {
  const n = typeof value === 'string' ? (value.trim() === '' ? NaN : Number(value)) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    return `expected a whole number >= ${min}${max < Infinity ? ` and <= ${max}` : ''}, got ${JSON.stringify(value)}`;
  }
  return null;
}

/** A finite number min..max; `below`: max itself excluded (a decay rate of 1 never decays). */
export function realNumberProblem(value: unknown, min = -Infinity, max = Infinity, below = false): string | null {
  const n = typeof value === 'string' ? (value.trim() === '' ? NaN : Number(value)) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min || n > max || (below && n === max)) {
    return `expected a number${min > -Infinity ? ` >= ${min}` : ''}${max < Infinity ? (below ? ` and below ${max}` : ` <= ${max}`) : ''}, got ${JSON.stringify(value)}`;
  }
  return null;
}

/** A seed: decimal digits (text) or a whole number (JSON), 0 .. 2^32-1. */
export function seedProblem(value: unknown): string | null {
  const ok = typeof value === 'string' ? /^\d+$/.test(value.trim()) && Number(value) <= MAX_SEED : Number.isInteger(value) && (value as number) >= 0 && (value as number) <= MAX_SEED;
  return ok ? null : `expected a whole number from 0 to ${MAX_SEED}, got ${JSON.stringify(value)}`;
}

export function oneOfProblem(value: unknown, choices: readonly string[]): string | null {
  return typeof value === 'string' && choices.includes(value) ? null : `expected one of ${choices.join(', ')}, got ${JSON.stringify(value)}`;
}
