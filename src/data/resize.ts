/**
 * Resizing a split's images to a network's input size, for a model whose input is larger (or smaller)
 * than the data's, e.g. an ImageNet network imported from ONNX at 224x224 shown CIFAR-10's 32x32
 * images. Stretched with sharp's lanczos3, as `predict --image`, `visualize --image` and image folders
 * resize, so one picture looks the same whichever way it came in. Channels are kept.
 */
import sharp from 'sharp';
import { planarFromInterleaved, shapeText, type ImageShape, type ImageSplit } from './split.js';

/** Images resized at once (sharp works on its own threads). */
const CONCURRENCY = 16;

/** Bytes the resized copy of `count` images takes. */
export function resizedBytes(count: number, shape: ImageShape): number {
  return count * shape[0] * shape[1] * shape[2];
}

/** One planar [C, H, W] image, resized to [C, height, width] (planar). */
async function resizeImage(planar: Uint8Array, [c, h, w]: ImageShape, height: number, width: number): Promise<Uint8Array> {
  const plane = h * w;
  const interleaved = Buffer.alloc(c * plane);
  for (let ch = 0; ch < c; ch++) for (let i = 0; i < plane; i++) interleaved[i * c + ch] = planar[ch * plane + i];
  const img = sharp(interleaved, { raw: { width: w, height: h, channels: c as 1 | 3 } }).resize(width, height, { fit: 'fill', kernel: 'lanczos3' });
  const raw = await (c === 1 ? img.greyscale() : img.toColourspace('srgb')).raw().toBuffer({ resolveWithObject: true });
  if (raw.info.channels !== c) throw new Error(`resize: sharp returned ${raw.info.channels} channels for ${c}`);
  const out = new Uint8Array(c * height * width);
  planarFromInterleaved(raw.data, c, height * width, out);
  return out;
}

/**
 * A copy of `split` with every image resized to height x width (same channels, same labels). The pixels
 * go to a SharedArrayBuffer when the source's were shared, so worker threads read them without a copy.
 */
export async function resizeSplit(split: ImageSplit, height: number, width: number): Promise<ImageSplit> {
  const [c, h, w] = split.shape;
  const shape: ImageShape = [c, height, width];
  if (h === height && w === width) return split;
  if (c !== 1 && c !== 3) throw new RangeError(`resizeSplit: ${shapeText(split.shape)} images; only 1 or 3 channels`);
  const inSize = c * h * w;
  const outSize = c * height * width;
  const shared = split.pixels.buffer instanceof SharedArrayBuffer;
  const pixels = new Uint8Array(shared ? new SharedArrayBuffer(split.count * outSize) : new ArrayBuffer(split.count * outSize));
  for (let first = 0; first < split.count; first += CONCURRENCY) {
    const last = Math.min(split.count, first + CONCURRENCY);
    const done = await Promise.all(
      Array.from({ length: last - first }, (_, k) => resizeImage(split.pixels.subarray((first + k) * inSize, (first + k + 1) * inSize), split.shape, height, width)),
    );
    done.forEach((img, k) => pixels.set(img, (first + k) * outSize));
  }
  return { ...split, pixels, shape };
}
