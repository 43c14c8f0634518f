/**
 * The in-memory form of every data set cnnviz reads: per split, the label of each image and its pixels
 * as bytes, planar (channel planes of height x width, row-major), exactly as the network's input layer
 * takes them. One channel stays one channel. Pixels become floats one mini-batch at a time (batch.ts).
 */

/** [channels, height, width] of one image, the network's input shape. */
export type ImageShape = [number, number, number];

export interface ImageSplit {
  count: number;
  /** One class index per image (0..classes-1; at most 256 classes). */
  labels: Uint8Array;
  /** count * channels * height * width bytes, planar per image. */
  pixels: Uint8Array;
  shape: ImageShape;
}

/** The kinds of data `--data` recognises; `--dataset` forces one. */
export const DATASET_KINDS = ['cifar-10', 'cifar-100', 'mnist', 'fashion-mnist', 'image-folder'] as const;
export type DatasetKind = (typeof DATASET_KINDS)[number];

export interface Dataset {
  dir: string;
  kind: DatasetKind;
  classNames: string[];
  train: ImageSplit;
  test: ImageSplit;
  /** The images' shape as stored, when they were resized to a model's input (see src/train/fit-images.ts). */
  resizedFrom?: ImageShape;
  /** Training images held back for validation (--holdout, see holdout.ts); absent: none. */
  val?: ImageSplit;
}

/** Most classes a data set may have (labels are stored as bytes). */
export const MAX_CLASSES = 256;

/** Bytes of one image of this shape. */
export function imageSize(shape: ImageShape): number {
  return shape[0] * shape[1] * shape[2];
}

/** "28x28x1": width x height x channels, as ConvNetJS's out_sx, out_sy, out_depth. */
export function shapeText(shape: ImageShape): string {
  return `${shape[2]}x${shape[1]}x${shape[0]}`;
}

export function allocBytes(n: number, shared: boolean): Uint8Array {
  return shared ? new Uint8Array(new SharedArrayBuffer(n)) : new Uint8Array(n);
}

/** Records per class. */
export function classCounts(split: ImageSplit, classes: number): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (let i = 0; i < split.count; i++) counts[split.labels[i]]++;
  return counts;
}

/** A limit option (--train-limit, --test-limit): undefined = no limit. */
export function checkLimit(value: number | undefined, flag: string, fail: (m: string) => never): number {
  if (value === undefined) return Infinity;
  if (!Number.isInteger(value) || value < 0) fail(`${flag} must be a whole number >= 0, got ${value}`);
  return value;
}

/** Copy an interleaved image (HWC, as sharp decodes) into planar CHW bytes at out[at..]. */
export function planarFromInterleaved(data: ArrayLike<number>, channels: number, plane: number, out: Uint8Array, at = 0): void {
  for (let ch = 0; ch < channels; ch++) {
    const base = at + ch * plane;
    for (let p = 0; p < plane; p++) out[base + p] = data[p * channels + ch];
  }
}

/** A new split of the images at `indices` of `split`, in that order (copied). */
export function subsetSplit(split: ImageSplit, indices: readonly number[]): ImageSplit {
  const size = imageSize(split.shape);
  const pixels = new Uint8Array(indices.length * size);
  const labels = new Uint8Array(indices.length);
  indices.forEach((r, i) => {
    pixels.set(split.pixels.subarray(r * size, (r + 1) * size), i * size);
    labels[i] = split.labels[r];
  });
  return { count: indices.length, labels, pixels, shape: [...split.shape] };
}
