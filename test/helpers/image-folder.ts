/**
 * Image folders (ImageFolder layout) for the tests, built from real CIFAR-10 test images when
 * CIFAR10_DIR points to the data (its first 1,000 test images are the lossless ones), else from
 * generated pictures; and small CIFAR-100 / IDX files written byte by byte.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';

export const CIFAR_NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

export interface RgbImage {
  label: number;
  /** 3 x 32 x 32 planar bytes. */
  pixels: Uint8Array;
}

/** The first `n` CIFAR-10 test images (real when CIFAR10_DIR is set, else generated stripes). */
export function cifarTestImages(n: number): { images: RgbImage[]; real: boolean } {
  const dir = process.env.CIFAR10_DIR;
  const file = dir ? join(dir, 'test_batch.bin') : '';
  if (dir && existsSync(file)) {
    const bytes = readFileSync(file).subarray(0, n * 3073);
    return { real: true, images: Array.from({ length: n }, (_, i) => ({ label: bytes[i * 3073], pixels: bytes.subarray(i * 3073 + 1, (i + 1) * 3073) })) };
  }
  return {
    real: false,
    images: Array.from({ length: n }, (_, i) => {
      const label = i % 10;
      const pixels = new Uint8Array(3072);
      for (let k = 0; k < 3072; k++) pixels[k] = ((k >> 10) * 80 + ((k & 1023) >> 5) * (label + 1) * 7 + i) & 255;
      return { label, pixels };
    }),
  };
}

/** Interleaved RGB bytes of a planar 3x32x32 image (what sharp's raw input takes). */
function interleave(p: Uint8Array): Buffer {
  const out = Buffer.alloc(3072);
  for (let k = 0; k < 1024; k++) for (let c = 0; c < 3; c++) out[k * 3 + c] = p[c * 1024 + k];
  return out;
}

/** Encode a 32x32 image as PNG, JPEG or WebP (lossless WebP), optionally scaled up. */
export async function encodeImage(img: RgbImage, format: 'png' | 'jpeg' | 'webp', size = 32): Promise<Buffer> {
  let s = sharp(interleave(img.pixels), { raw: { width: 32, height: 32, channels: 3 } });
  if (size !== 32) s = s.resize(size, size, { kernel: 'nearest' });
  if (format === 'png') return s.png().toBuffer();
  if (format === 'jpeg') return s.jpeg({ quality: 95 }).toBuffer();
  return s.webp({ lossless: true }).toBuffer();
}

/**
 * Write `images` as class folders under `root` (created): root/<class>/<index>.<ext>, PNG mostly,
 * every 5th JPEG and every 7th WebP. Returns the written paths by image index.
 */
export async function writeClassFolders(root: string, images: RgbImage[], names = CIFAR_NAMES, first = 0): Promise<string[]> {
  const paths: string[] = [];
  for (const [i, img] of images.entries()) {
    const dir = join(root, names[img.label]);
    mkdirSync(dir, { recursive: true });
    const n = first + i;
    const format = n % 7 === 3 ? 'webp' : n % 5 === 2 ? 'jpeg' : 'png';
    const path = join(dir, `${String(n).padStart(5, '0')}.${format === 'jpeg' ? 'jpg' : format}`);
    writeFileSync(path, await encodeImage(img, format));
    paths.push(path);
  }
  return paths;
}

/** ROOT/train/<class>/* from the first `trainCount` images and ROOT/test/<class>/* from the next `testCount`. */
export async function writeSplitFolder(root: string, trainCount: number, testCount: number): Promise<{ real: boolean; images: RgbImage[] }> {
  const { images, real } = cifarTestImages(trainCount + testCount);
  await writeClassFolders(join(root, 'train'), images.slice(0, trainCount));
  await writeClassFolders(join(root, 'test'), images.slice(trainCount), CIFAR_NAMES, trainCount);
  return { real, images };
}

/** An IDX file: magic 0x0000080<dims>, sizes, bytes; gzipped when asked. */
export function idxFile(sizes: number[], data: Uint8Array, gzip = false, magicDims = sizes.length): Buffer {
  const header = Buffer.alloc(4 + 4 * sizes.length);
  header.writeUInt32BE(0x0800 + magicDims, 0);
  sizes.forEach((s, i) => header.writeUInt32BE(s, 4 + 4 * i));
  const buf = Buffer.concat([header, Buffer.from(data)]);
  return gzip ? gzipSync(buf) : buf;
}

/** Pixel of IDX image i at position k (for checking what was read). */
export const idxPixel = (i: number, k: number): number => (i * 31 + k * 7) & 255;
export const idxLabel = (i: number): number => (i * 7 + 3) % 10;

/** A small MNIST-style folder: `train` and `test` images of rows x cols, gzipped or not. */
export function writeIdxDir(dir: string, opts: { train?: number; test?: number; rows?: number; cols?: number; gzip?: boolean } = {}): string {
  const { train = 30, test = 12, rows = 28, cols = 28, gzip = false } = opts;
  mkdirSync(dir, { recursive: true });
  const ext = gzip ? '.gz' : '';
  for (const [prefix, n] of [['train', train], ['t10k', test]] as const) {
    const px = new Uint8Array(n * rows * cols);
    for (let i = 0; i < n; i++) for (let k = 0; k < rows * cols; k++) px[i * rows * cols + k] = idxPixel(i, k);
    const lb = Uint8Array.from({ length: n }, (_, i) => idxLabel(i));
    writeFileSync(join(dir, `${prefix}-images-idx3-ubyte${ext}`), idxFile([n, rows, cols], px, gzip));
    writeFileSync(join(dir, `${prefix}-labels-idx1-ubyte${ext}`), idxFile([n], lb, gzip));
  }
  return dir;
}

export const coarseOf = (i: number): number => (i * 3) % 20;
export const fineOf = (i: number): number => (i * 13 + 1) % 100;

/** CIFAR-100 binary records: coarse label, fine label, 3072 pixels. */
export function cifar100Records(n: number, offset = 0): Buffer {
  const buf = Buffer.alloc(n * 3074);
  for (let i = 0; i < n; i++) {
    const o = i * 3074;
    buf[o] = coarseOf(i + offset);
    buf[o + 1] = fineOf(i + offset);
    for (let k = 0; k < 3072; k++) buf[o + 2 + k] = (i + offset + k * 5) & 255;
  }
  return buf;
}

export const FINE_NAMES = Array.from({ length: 100 }, (_, i) => `fine_${i}`);
export const COARSE_NAMES = Array.from({ length: 20 }, (_, i) => `coarse_${i}`);

export function writeCifar100Dir(dir: string, train = 40, test = 10): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'train.bin'), cifar100Records(train));
  writeFileSync(join(dir, 'test.bin'), cifar100Records(test, 1000));
  writeFileSync(join(dir, 'fine_label_names.txt'), `${FINE_NAMES.join('\n')}\n`);
  writeFileSync(join(dir, 'coarse_label_names.txt'), `${COARSE_NAMES.join('\n')}\n`);
  return dir;
}
