/**
 * Colour maps for the layer pictures.
 *
 * - Diverging (signed values: gradients, weights, pre-activation outputs): blue for negative, near-white
 *   for zero, red for positive, over a symmetric range [-s, s]. The table has an ODD number of entries
 *   (257) so that zero lands exactly on the middle entry (index 128), never between two colours.
 * - Sequential (values that are never negative: ReLU outputs, pooled maps, probabilities): an
 *   inferno-like ramp from black (0) through purple and orange to pale yellow (s), 256 entries.
 *   Index 0 is the colour of exactly zero.
 * - Signed RGB (first-layer filters, the input layer's gradient): each channel on its own as
 *   0.5 + v / (2s), so zero is mid grey (128, 128, 128).
 *
 * Values that are not finite (NaN) get NON_FINITE_RGB, a colour neither map uses.
 */

export type RGB = readonly [number, number, number];

/** Number of entries in the diverging table: odd, so that there is an exact middle colour. */
export const DIVERGING_SIZE = 257;
/** Index of zero in the diverging table. */
export const DIVERGING_MID = (DIVERGING_SIZE - 1) / 2;
/** Number of entries in the sequential table. */
export const SEQUENTIAL_SIZE = 256;

/** Colour for NaN (magenta: not in either map, so a NaN is never mistaken for a value). */
export const NON_FINITE_RGB: RGB = [255, 0, 255];

/** ColorBrewer RdBu (11 classes), reversed so that negative = blue, positive = red. Middle = #f7f7f7. */
const DIVERGING_STOPS: readonly string[] = [
  '#053061', '#2166ac', '#4393c3', '#92c5de', '#d1e5f0', '#f7f7f7',
  '#fddbc7', '#f4a582', '#d6604d', '#b2182b', '#67001f',
];

/** matplotlib "inferno" sampled at 0, 0.1, ..., 1 (black -> purple -> orange -> pale yellow). */
const SEQUENTIAL_STOPS: readonly string[] = [
  '#000004', '#160b39', '#420a68', '#6a176e', '#932667', '#bc3754',
  '#dd513a', '#f37819', '#fca50a', '#f6d746', '#fcffa4',
];

function hexToRgb(hex: string): [number, number, number] {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** Piecewise-linear interpolation of evenly spaced colour stops into a table of `size` RGB triples. */
function buildTable(stops: readonly string[], size: number): Uint8Array {
  const rgb = stops.map(hexToRgb);
  const out = new Uint8Array(size * 3);
  const segments = rgb.length - 1;
  for (let i = 0; i < size; i++) {
    const t = (i / (size - 1)) * segments;
    const k = Math.min(segments - 1, Math.floor(t));
    const f = t - k;
    for (let ch = 0; ch < 3; ch++) {
      out[i * 3 + ch] = Math.round(rgb[k][ch] * (1 - f) + rgb[k + 1][ch] * f);
    }
  }
  return out;
}

/** Diverging table, DIVERGING_SIZE x RGB. Entry DIVERGING_MID is the colour of exactly zero. */
export const DIVERGING_LUT: Uint8Array = buildTable(DIVERGING_STOPS, DIVERGING_SIZE);
/** Sequential table, SEQUENTIAL_SIZE x RGB. Entry 0 is the colour of exactly zero. */
export const SEQUENTIAL_LUT: Uint8Array = buildTable(SEQUENTIAL_STOPS, SEQUENTIAL_SIZE);

/** The colour that zero maps to on the diverging map (#f7f7f7). */
export const DIVERGING_ZERO_RGB: RGB = [
  DIVERGING_LUT[DIVERGING_MID * 3],
  DIVERGING_LUT[DIVERGING_MID * 3 + 1],
  DIVERGING_LUT[DIVERGING_MID * 3 + 2],
];
/** The colour that zero maps to on the sequential map (black). */
export const SEQUENTIAL_ZERO_RGB: RGB = [SEQUENTIAL_LUT[0], SEQUENTIAL_LUT[1], SEQUENTIAL_LUT[2]];
/** The colour of zero in signed-RGB pictures (each channel 0.5 + v/(2s) -> 128). */
export const SIGNED_RGB_ZERO = 128;

/**
 * Index into DIVERGING_LUT for value v on the symmetric range [-s, s]; values beyond clip to the ends.
 * v = 0 gives exactly DIVERGING_MID. s <= 0 (an all-zero picture) maps everything to the middle.
 * Returns -1 for NaN.
 */
export function divergingIndex(v: number, s: number): number {
  if (Number.isNaN(v)) return -1;
  if (v === 0 || !(s > 0)) return DIVERGING_MID;
  let t = v / s;
  if (t > 1) t = 1;
  else if (t < -1) t = -1;
  return Math.round(DIVERGING_MID + DIVERGING_MID * t);
}

/**
 * Index into SEQUENTIAL_LUT for value v on [0, s]; values beyond clip (negatives to 0).
 * Returns -1 for NaN.
 */
export function sequentialIndex(v: number, s: number): number {
  if (Number.isNaN(v)) return -1;
  if (!(v > 0) || !(s > 0)) return 0;
  const t = v / s;
  return t >= 1 ? SEQUENTIAL_SIZE - 1 : Math.round(t * (SEQUENTIAL_SIZE - 1));
}

/**
 * One channel of a signed-RGB picture: 0.5 + v/(2s) as a byte, so -s -> 0, 0 -> 128, +s -> 255.
 * (Math.round(127.5) is 128, the documented zero.) NaN gives 0 and should be flagged by the caller.
 */
export function signedChannelByte(v: number, s: number): number {
  if (Number.isNaN(v)) return 0;
  if (v === 0 || !(s > 0)) return SIGNED_RGB_ZERO;
  let t = v / s;
  if (t > 1) t = 1;
  else if (t < -1) t = -1;
  return Math.round(127.5 + 127.5 * t);
}

/** The RGB colour of v on the diverging map with range [-s, s]. */
export function divergingColor(v: number, s: number): RGB {
  const i = divergingIndex(v, s);
  if (i < 0) return NON_FINITE_RGB;
  return [DIVERGING_LUT[i * 3], DIVERGING_LUT[i * 3 + 1], DIVERGING_LUT[i * 3 + 2]];
}

/** The RGB colour of v on the sequential map with range [0, s]. */
export function sequentialColor(v: number, s: number): RGB {
  const i = sequentialIndex(v, s);
  if (i < 0) return NON_FINITE_RGB;
  return [SEQUENTIAL_LUT[i * 3], SEQUENTIAL_LUT[i * 3 + 1], SEQUENTIAL_LUT[i * 3 + 2]];
}

/** Relative luminance-ish brightness 0..255 (for choosing black or white text on a cell). */
export function brightness(c: RGB): number {
  return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
}
