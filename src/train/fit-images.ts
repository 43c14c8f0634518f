/**
 * A model whose input is another size than the data's (an ImageNet network imported at 224x224 shown
 * CIFAR-10, say) sees the data's images resized to its input, with the same channels: `train` resizes
 * both splits once, `visualize` only its probe images. Image folders already decode to the model's size.
 */
import { DATASET_NAMES } from '../data/dataset.js';
import { resizeSplit, resizedBytes } from '../data/resize.js';
import { shapeText, type Dataset, type ImageShape } from '../data/split.js';
import type { ModelSpec } from '../nn/spec.js';

/** Whether `data` should be resized for `spec`: same channels, another height or width, not an image folder. */
export function needsResize(spec: ModelSpec, data: Pick<Dataset, 'kind' | 'train'>): boolean {
  const [c, h, w] = spec.shapes[0];
  const [dc, dh, dw] = data.train.shape;
  return data.kind !== 'image-folder' && c === dc && (h !== dh || w !== dw);
}

/** The sentence that says so (terminal, run.json). */
export function resizeNote(from: ImageShape, to: ImageShape, what: string): string {
  return `${what} images resized from ${shapeText(from)} to ${shapeText(to)}, the model's input (stretched, lanczos3)`;
}

/**
 * `data` with both splits resized to the model's input when needsResize says so (else `data` itself).
 * `checkMemory` refuses, before any work, a copy that would not fit.
 */
export async function fitImagesToModel(
  spec: ModelSpec, data: Dataset, log: (message: string) => void, checkMemory: (bytes: number, what: string) => void,
): Promise<Dataset> {
  if (!needsResize(spec, data)) return data;
  const to = spec.shapes[0];
  const from = data.train.shape;
  const what = DATASET_NAMES[data.kind];
  checkMemory(resizedBytes(data.train.count + data.test.count, to), `${data.train.count + data.test.count} ${what} images resized to ${shapeText(to)}`);
  log(`cnnviz train: ${resizeNote(from, to, `the ${data.train.count + data.test.count} ${what}`)} ...`);
  const [train, test] = [await resizeSplit(data.train, to[1], to[2]), await resizeSplit(data.test, to[1], to[2])];
  return { ...data, train, test, resizedFrom: from };
}
