/**
 * The hot path from stored bytes to a float mini-batch: gather records, augment them on the fly,
 * preprocess through a 768-entry lookup table. Any image shape (the split's); one channel reads the
 * table's first channel. Allocates nothing per call.
 */
import { augmentFlip, augmentShift, type Augmentation } from './augment.js';
import { fillLookupTable, type Preprocessing } from './preprocess.js';
import { imageSize, type ImageSplit } from './split.js';

// Lookup table byte -> input value per channel, rebuilt only when the preprocessing changes.
const lut = new Float32Array(3 * 256);
let lutKind: Preprocessing['kind'] | null = null;
const lutParams = new Float64Array(6);

function prepareLut(pre: Preprocessing): void {
  if (pre.kind === 'scale') {
    if (lutKind === 'scale') return;
  } else if (
    lutKind === 'standardize' &&
    lutParams[0] === pre.mean[0] &&
    lutParams[1] === pre.mean[1] &&
    lutParams[2] === pre.mean[2] &&
    lutParams[3] === pre.std[0] &&
    lutParams[4] === pre.std[1] &&
    lutParams[5] === pre.std[2]
  ) {
    return;
  }
  fillLookupTable(pre, lut);
  lutKind = pre.kind;
  if (pre.kind === 'standardize') {
    lutParams[0] = pre.mean[0];
    lutParams[1] = pre.mean[1];
    lutParams[2] = pre.mean[2];
    lutParams[3] = pre.std[0];
    lutParams[4] = pre.std[1];
    lutParams[5] = pre.std[2];
  }
}

/**
 * Fill `out` (count*C*H*W floats, NCHW, the split's shape) and `labels` (count) with records
 * indices[start] .. indices[start+count-1] of `split`. With `aug`, the record at indices[start+i] is
 * flipped/shifted as decided by (augKey.seed, augKey.epoch, indices[start+i]), so the result does not
 * depend on how an epoch is cut into batches or spread over workers. Only the first count*C*H*W floats
 * of `out` and count labels are written.
 * The label and pixel arrays of a split never change shape, so the shape is read once per call.
 */
export function fillBatch(
  split: ImageSplit,
  indices: ArrayLike<number>,
  start: number,
  count: number,
  out: Float32Array,
  labels: Int32Array,
  pre: Preprocessing,
  aug: Augmentation | null,
  augKey: { seed: number; epoch: number },
): void {
  if (!(Number.isInteger(start) && Number.isInteger(count) && start >= 0 && count >= 0)) {
    throw new RangeError(`fillBatch: bad start/count ${start}/${count}`);
  }
  if (start + count > indices.length) {
    throw new RangeError(`fillBatch: start+count ${start + count} beyond ${indices.length} indices`);
  }
  const [C, H, W] = split.shape;
  const PLANE = H * W;
  const PIXELS = imageSize(split.shape);
  if (C > 3) throw new RangeError(`fillBatch: ${C} channels; the lookup table has 3`);
  if (out.length < count * PIXELS) throw new RangeError(`fillBatch: out holds ${out.length} floats, need ${count * PIXELS}`);
  if (labels.length < count) throw new RangeError(`fillBatch: labels holds ${labels.length}, need ${count}`);
  prepareLut(pre);
  const px = split.pixels;
  const n = split.count;
  const doFlip = aug !== null && aug.flip;
  const shift = aug === null ? 0 : aug.shift;
  const seed = augKey.seed;
  const epoch = augKey.epoch;

  for (let i = 0; i < count; i++) {
    const r = indices[start + i];
    if (!(Number.isInteger(r) && r >= 0 && r < n)) throw new RangeError(`fillBatch: record index ${r} outside 0..${n - 1}`);
    labels[i] = split.labels[r];
    const src = r * PIXELS;
    const dst = i * PIXELS;
    const flip = doFlip && augmentFlip(seed, epoch, r);
    const dx = shift > 0 ? augmentShift(seed, epoch, r, 0, shift) : 0;
    const dy = shift > 0 ? augmentShift(seed, epoch, r, 1, shift) : 0;

    if (!flip && dx === 0 && dy === 0) {
      for (let c = 0; c < C; c++) {
        const l = c * 256;
        const sp = src + c * PLANE;
        const dp = dst + c * PLANE;
        for (let k = 0; k < PLANE; k++) out[dp + k] = lut[l + px[sp + k]];
      }
      continue;
    }
    // convnetjs.augment: crop V'(x, y) = V(x + dx, y + dy) (0 outside), then flip: out(x, y) = V'(W - 1 - x, y).
    for (let c = 0; c < C; c++) {
      const l = c * 256;
      const sp = src + c * PLANE;
      const dp = dst + c * PLANE;
      for (let y = 0; y < H; y++) {
        const sy = y + dy;
        const drow = dp + y * W;
        if (sy < 0 || sy >= H) {
          out.fill(0, drow, drow + W);
          continue;
        }
        const srow = sp + sy * W;
        for (let x = 0; x < W; x++) {
          const sx = (flip ? W - 1 - x : x) + dx;
          out[drow + x] = sx >= 0 && sx < W ? lut[l + px[srow + sx]] : 0;
        }
      }
    }
  }
}
