/**
 * Honest scales: which colour map a quantity uses, what range the colours span, and the numbers that
 * are printed on the colour bar (and recorded in stats.json: both come from the functions here).
 *
 * - Signed quantities (gradients, weights, outputs of layers that can be negative) use the diverging
 *   map on a symmetric range [-s, s] with s = max |x|.
 * - Non-negative quantities (ReLU/pool outputs, probabilities) use the sequential map on [0, s] with
 *   s = max x.
 * Scale modes (`--viz-scale`):
 * - `robust` (default): one s for the whole picture, s = the 99.5th percentile of |x| (of x for
 *   non-negative maps), so that a handful of outliers does not wash the picture out; the values beyond s
 *   are drawn in the end colours and counted on the picture. Zero stays the middle colour. Pictures of
 *   fewer than ROBUST_MIN_VALUES values (fc cells with printed numbers) use the maximum;
 * - `layer` (as ConvNetJS): one s for the whole picture, s = max |x|;
 * - `map`: every tile (one map / one filter) its own s, printed under the tile;
 * - `run`: s fixed from the first epoch the picture was drawn and kept for later epochs (pictures are
 *   comparable across epochs; values beyond s clip and the caption says how many).
 */

export type VizScaleMode = 'robust' | 'map' | 'layer' | 'run';
export const VIZ_SCALE_MODES: readonly VizScaleMode[] = ['robust', 'map', 'layer', 'run'];
/** The percentile of |value| the robust scale uses. */
export const ROBUST_PERCENTILE = 99.5;
/** Pictures with fewer values than this use the maximum even in robust mode (every value is readable). */
export const ROBUST_MIN_VALUES = 400;

/** Which map a picture uses. `signed-rgb`: each RGB channel as 0.5 + v/(2s) (grey = 0). */
export type ColorMapKind = 'diverging' | 'sequential' | 'signed-rgb' | 'image';

/**
 * Run-scale memory, kept by the trainer across epochs and passed back into writeEpochViz each epoch.
 * Plain JSON (safe to save with a snapshot); writeEpochViz also stores it as `<out>/viz-scale-state.json`
 * and reloads it from there when the caller passes none, so resumed runs keep their scales.
 * Keys are "<LL>-<type>/<quantity>", e.g. "01-conv/activations".
 * Animation frames always use these scales (whatever the mode), so frames are comparable.
 */
export interface VizScaleState {
  version: 1;
  entries: Record<string, { scale: number; epoch: number }>;
}

export function createVizScaleState(): VizScaleState {
  return { version: 1, entries: {} };
}

/** Validates a parsed JSON value as a VizScaleState; returns a fresh state when it is not one. */
export function coerceVizScaleState(value: unknown): VizScaleState {
  if (typeof value !== 'object' || value === null) return createVizScaleState();
  const v = value as { version?: unknown; entries?: unknown };
  if (v.version !== 1 || typeof v.entries !== 'object' || v.entries === null) return createVizScaleState();
  const entries: VizScaleState['entries'] = {};
  for (const [k, e] of Object.entries(v.entries as Record<string, unknown>)) {
    const rec = e as { scale?: unknown; epoch?: unknown } | null;
    if (rec && typeof rec.scale === 'number' && Number.isFinite(rec.scale) && rec.scale >= 0 && typeof rec.epoch === 'number') {
      entries[k] = { scale: rec.scale, epoch: rec.epoch };
    }
  }
  return { version: 1, entries };
}

export function parseVizScaleMode(s: string): VizScaleMode | undefined {
  return (VIZ_SCALE_MODES as readonly string[]).includes(s) ? (s as VizScaleMode) : undefined;
}

/** Summary statistics of a quantity (finite values only; nonFinite counts NaN and +-Infinity). */
export interface QuantityStats {
  count: number;
  min: number;
  max: number;
  mean: number;
  std: number;
  /** max |x| over finite values. */
  maxAbs: number;
  nonFinite: number;
  /** Fraction of values that are exactly zero (dead ReLUs show here). */
  zeroFraction: number;
}

export function computeStats(data: ArrayLike<number>, start = 0, end = data.length): QuantityStats {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let n = 0;
  let nonFinite = 0;
  let zeros = 0;
  for (let i = start; i < end; i++) {
    const v = data[i];
    if (!Number.isFinite(v)) {
      nonFinite++;
      continue;
    }
    if (v < min) min = v;
    if (v > max) max = v;
    if (v === 0) zeros++;
    sum += v;
    n++;
  }
  const mean = n > 0 ? sum / n : 0;
  let sq = 0;
  for (let i = start; i < end; i++) {
    const v = data[i];
    if (Number.isFinite(v)) sq += (v - mean) * (v - mean);
  }
  return {
    count: end - start,
    min: n > 0 ? min : 0,
    max: n > 0 ? max : 0,
    mean,
    std: n > 0 ? Math.sqrt(sq / n) : 0,
    maxAbs: n > 0 ? Math.max(Math.abs(min), Math.abs(max)) : 0,
    nonFinite,
    zeroFraction: end > start ? zeros / (end - start) : 0,
  };
}

/** max |x| over the finite values of data[start, end). */
export function maxAbs(data: ArrayLike<number>, start = 0, end = data.length): number {
  let m = 0;
  for (let i = start; i < end; i++) {
    const a = Math.abs(data[i]);
    if (a > m && a !== Infinity) m = a;
  }
  return m;
}

/** max x over the finite values of data[start, end), at least 0. */
export function maxPositive(data: ArrayLike<number>, start = 0, end = data.length): number {
  let m = 0;
  for (let i = start; i < end; i++) {
    const v = data[i];
    if (v > m && v !== Infinity) m = v;
  }
  return m;
}

/** The natural scale of a range of values for a colour map kind. */
export function naturalScale(kind: ColorMapKind, data: ArrayLike<number>, start = 0, end = data.length): number {
  return kind === 'sequential' ? maxPositive(data, start, end) : maxAbs(data, start, end);
}

/**
 * The robust scale: the ROBUST_PERCENTILE-th percentile of |x| (diverging, signed-rgb) or of max(x, 0)
 * (sequential) over the finite values, i.e. the value below which 99.5% of them lie (nearest rank).
 * Falls back to the natural scale (the maximum) for small pictures and when the percentile is 0
 * (more than 99.5% zeros), so a non-zero picture never gets s = 0.
 */
export function robustScale(kind: ColorMapKind, data: ArrayLike<number>, start = 0, end = data.length): number {
  const natural = naturalScale(kind, data, start, end);
  const vals = new Float64Array(Math.max(0, end - start));
  let m = 0;
  for (let i = start; i < end; i++) {
    const v = data[i];
    if (!Number.isFinite(v)) continue;
    vals[m++] = kind === 'sequential' ? Math.max(v, 0) : Math.abs(v);
  }
  if (m < ROBUST_MIN_VALUES) return natural;
  const s = kthSmallest(vals.subarray(0, m), Math.max(0, Math.ceil((ROBUST_PERCENTILE / 100) * m) - 1));
  return s > 0 ? s : natural;
}

/**
 * The k-th smallest value of `a` (0-based), the value a sort would put at index k, found by selection
 * in linear time (Hoare partitioning around a median of three): every picture of every layer asks for
 * its 99.5th percentile, and sorting them all was a quarter of the time spent drawing. Reorders `a`.
 */
export function kthSmallest(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // Median of three as the pivot (keeps sorted or constant runs from going quadratic).
    const x = a[lo], y = a[mid], z = a[hi];
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    // Now a[lo..j] <= pivot <= a[i..hi], and everything strictly between j and i equals the pivot.
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k];
  }
  return a[k];
}

/** How many values of data[start, end) fall outside the range the map shows (they are clipped). */
export function countClipped(kind: ColorMapKind, data: ArrayLike<number>, s: number, start = 0, end = data.length): number {
  let n = 0;
  if (kind === 'sequential') {
    for (let i = start; i < end; i++) {
      const v = data[i];
      if (v > s || v < 0) n++;
    }
  } else {
    for (let i = start; i < end; i++) {
      if (Math.abs(data[i]) > s) n++;
    }
  }
  return n;
}

/**
 * A number as printed on pictures: 3 significant digits, plain for 0.01 <= |x| < 10000, otherwise
 * exponent form "2.35e-3". Trailing zeros are trimmed. Exactly 0 prints "0".
 */
export function formatNumber(x: number): string {
  if (x === 0) return '0';
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const a = Math.abs(x);
  if (a >= 0.01 && a < 10000) {
    let s = x.toPrecision(3);
    if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
    return s;
  }
  const [mant, exp] = x.toExponential(2).split('e');
  const m = mant.includes('.') ? mant.replace(/0+$/, '').replace(/\.$/, '') : mant;
  return `${m}e${Number(exp)}`;
}

/** The three numbers printed under a colour bar, left to right. */
export function colorBarLabels(kind: ColorMapKind, s: number): [string, string, string] {
  if (kind === 'sequential') return ['0', formatNumber(s / 2), formatNumber(s)];
  return [formatNumber(-s), '0', formatNumber(s)];
}

/** The scale in words for a caption, e.g. "±2.3e-3" or "0 .. 4.1". */
export function scaleText(kind: ColorMapKind, s: number): string {
  return kind === 'sequential' ? `0 .. ${formatNumber(s)}` : `±${formatNumber(s)}`;
}

/** The label printed under a tile in `map` mode (its own scale). */
export function tileScaleLabel(kind: ColorMapKind, s: number): string {
  return kind === 'sequential' ? `≤${formatNumber(s)}` : `±${formatNumber(s)}`;
}

/**
 * The scale to draw a picture with, given the mode and the run state.
 * `computed` is the picture's own scale this epoch. In `run` mode, the first scale recorded for `key`
 * is used; when there is none yet, `computed` is recorded (with the epoch) and used.
 */
export function resolveRunScale(state: VizScaleState, key: string, computed: number, epoch: number): { scale: number; fixedAtEpoch: number } {
  const e = state.entries[key];
  if (e && Number.isFinite(e.scale) && e.scale > 0) return { scale: e.scale, fixedAtEpoch: e.epoch };
  // A scale of 0 (all-zero picture, e.g. before training) is not worth keeping: the next epoch decides.
  if (computed > 0) state.entries[key] = { scale: computed, epoch };
  return { scale: computed, fixedAtEpoch: epoch };
}

/**
 * The scale of an animation's frames: it only grows, to the largest robust scale (99.5th percentile
 * of |value|) the picture has had so far, so no frame clips more than 0.5% of its values (a scale
 * fixed at the first frame clipped most values of later ones). After a raise writeEpochViz redraws
 * the earlier frames on it, so all frames share one scale. Kept in the state under
 * "animation:<key>"; `since` is the epoch of the last raise.
 */
export function resolveAnimationScale(state: VizScaleState, key: string, robust: number, epoch: number): { scale: number; since: number } {
  const k = `animation:${key}`;
  const e = state.entries[k];
  if (e && Number.isFinite(e.scale) && e.scale > 0 && e.scale >= robust) return { scale: e.scale, since: e.epoch };
  if (robust > 0) state.entries[k] = { scale: robust, epoch };
  return { scale: robust, since: epoch };
}
