/**
 * Test-time augmentation (--tta): the prediction for an image is the average of the network's outputs
 * (softmax: probabilities) for the image and for its left-right mirror. Pure functions over a batch of
 * planar float images, so each image's result depends only on itself (and not on --workers).
 */

export const TTA_MODES = ['none', 'flip'] as const;
export type TtaMode = (typeof TTA_MODES)[number];

/** Mirror n planar images of shape [channels, height, width] left-right, in place. */
export function mirrorImages(images: Float32Array, n: number, shape: readonly [number, number, number]): void {
  const [c, h, w] = shape;
  const rows = n * c * h;
  for (let r = 0; r < rows; r++) {
    const row = r * w;
    for (let a = row, b = row + w - 1; a < b; a++, b--) {
      const t = images[a];
      images[a] = images[b];
      images[b] = t;
    }
  }
}

/** out[i] = (a[i] + b[i]) / 2 for the first `length` values: the two passes' outputs averaged. */
export function averageOutputs(a: Float32Array, b: Float32Array, length: number, out: Float32Array): void {
  for (let i = 0; i < length; i++) out[i] = (a[i] + b[i]) * 0.5;
}

/** Smallest probability the averaged cross-entropy takes the log of (an exact 0 would give Infinity). */
const MIN_PROBABILITY = 1e-30;

/** Cross-entropy, summed over n rows of averaged probabilities (k classes each), against the labels. */
export function crossEntropyOfProbabilities(probs: Float32Array, n: number, k: number, labels: Int32Array): number {
  let loss = 0;
  for (let i = 0; i < n; i++) loss -= Math.log(Math.max(probs[i * k + labels[i]], MIN_PROBABILITY));
  return loss;
}
