/**
 * --holdout: a validation split held back from the training images, so that a recipe can be chosen
 * without looking at the test images. The last n training images (after --train-limit) are never
 * trained on; the trainer reports its accuracy on them each epoch. Both parts are views of the loaded
 * split: nothing is copied.
 */
import { UserError } from '../util/errors.js';
import { imageSize, type Dataset, type ImageSplit } from './split.js';

/** The first `count` images of a split and the rest, as views. */
export function cutSplit(split: ImageSplit, count: number): [ImageSplit, ImageSplit] {
  const size = imageSize(split.shape);
  const part = (from: number, to: number): ImageSplit => ({
    count: to - from, labels: split.labels.subarray(from, to), pixels: split.pixels.subarray(from * size, to * size), shape: split.shape,
  });
  return [part(0, count), part(count, split.count)];
}

/** The data set with its last `holdout` training images moved to `val` (unchanged when 0 or absent). */
export function holdBack(data: Dataset, holdout: number | undefined): Dataset {
  if (!holdout) return data;
  if (holdout >= data.train.count) {
    throw new UserError(`--holdout ${holdout}: leaves no training images (there are ${data.train.count}${data.train.count > 0 ? '; hold back fewer' : ''})`);
  }
  const [train, val] = cutSplit(data.train, data.train.count - holdout);
  return { ...data, train, val };
}
