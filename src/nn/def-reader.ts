import { UserError } from '../util/errors.js';

/**
 * Reads typed fields of one layer definition (a node of a spec), failing with one line that names the
 * spec, the layer index (and name) and the field: `spec.json: layer 3 (conv): field "sx" is missing`.
 */
export class DefReader {
  constructor(
    readonly def: Record<string, unknown>,
    readonly where: string,
  ) {}

  fail(field: string, problem: string): never {
    throw new UserError(`${this.where}: field "${field}" ${problem}`);
  }

  private num(field: string, fallback: number | undefined): number {
    const v = this.def[field];
    if (v === undefined) {
      if (fallback === undefined) this.fail(field, 'is missing');
      return fallback;
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(field, `must be a number, got ${JSON.stringify(v)}`);
    return v;
  }

  /** A whole number >= min. */
  int(field: string, min: number, fallback?: number): number {
    const v = this.num(field, fallback);
    if (!Number.isInteger(v) || v < min) this.fail(field, `must be a whole number >= ${min}, got ${v}`);
    return v;
  }

  real(field: string, fallback?: number, range?: [number, number]): number {
    const v = this.num(field, fallback);
    if (range && (v < range[0] || v > range[1])) this.fail(field, `must be between ${range[0]} and ${range[1]}, got ${v}`);
    return v;
  }

  has(field: string): boolean {
    return this.def[field] !== undefined;
  }

  str(field: string): string | undefined {
    const v = this.def[field];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') this.fail(field, `must be a string, got ${JSON.stringify(v)}`);
    return v;
  }

  bool(field: string, fallback: boolean): boolean {
    const v = this.def[field];
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') this.fail(field, `must be true or false, got ${JSON.stringify(v)}`);
    return v;
  }

  /** A list of non-empty strings (e.g. "inputs"), or undefined when absent. */
  strings(field: string): string[] | undefined {
    const v = this.def[field];
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.length === 0 || v.some((s) => typeof s !== 'string' || s.length === 0)) {
      this.fail(field, `must be a non-empty list of layer names, got ${JSON.stringify(v)}`);
    }
    return v as string[];
  }
}
