/**
 * Reader for a folder of your own images in torchvision's ImageFolder layout:
 *   ROOT/train/<class>/*  and  ROOT/test/<class>/*      (the split as given), or
 *   ROOT/<class>/*                                     (split here: --test-fraction of each class is test)
 * Class names are the folder names, in sorted order (as torchvision numbers them). Images are PNG,
 * JPEG or WebP files of any size (other files and hidden ones are skipped), resized to the input size
 * (stretched, as the network's input is fixed) with sharp, as RGB or grey.
 *
 * Every image is decoded once, at load, into bytes at the input size: memory is images x channels x
 * height x width bytes (100,000 RGB images at 32x32: 307 MB), checked by the caller's `checkMemory`
 * before anything is decoded, so a folder too big for the machine is refused with what it would need
 * rather than failing halfway. Within a split, images are ordered by a hash of their path (the same
 * every run), so classes are mixed and --train-limit / --test-limit take a sample of every class.
 */
import { promises as fsp, type Dirent } from 'node:fs';
import { extname, join, relative } from 'node:path';
import sharp from 'sharp';
import { UserError, errorMessage } from '../util/errors.js';
import { checkClassNames } from './class-names.js';
import { allocBytes, checkLimit, imageSize, MAX_CLASSES, planarFromInterleaved, shapeText, type Dataset, type ImageShape, type ImageSplit } from './split.js';

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp'] as const;
export const DEFAULT_TEST_FRACTION = 0.2;
/** Largest --input-size side. */
export const MAX_INPUT_SIDE = 1024;
/** Images decoded at once (sharp decodes on its own threads). */
const DECODE_CONCURRENCY = 8;
/** Largest total of pixel bytes one split can hold (a typed array's limit). */
const MAX_SPLIT_BYTES = 2 ** 32 - 1;

export interface LoadImageFolderOptions {
  /** [channels (1 or 3), height, width] every image is turned into. */
  shape: ImageShape;
  /** ROOT/<class> layout: fraction of each class held out as test (default 0.2). Refused with train/ and test/. */
  testFraction?: number;
  trainLimit?: number;
  testLimit?: number;
  shared?: boolean;
  /** Called with the bytes the decoded images will take, before decoding (throw to refuse). */
  checkMemory?: (bytes: number, what: string) => void;
  /** Progress lines for large folders. */
  log?: (message: string) => void;
}

interface Entry {
  path: string;
  label: number;
  key: number;
}

async function entries(dir: string): Promise<Dirent[]> {
  try {
    return await fsp.readdir(dir, { withFileTypes: true });
  } catch (e) {
    throw new UserError(`${dir}: cannot read the folder (${errorMessage(e)})`);
  }
}

async function isDir(path: string, ent: Dirent): Promise<boolean> {
  if (ent.isDirectory()) return true;
  if (!ent.isSymbolicLink()) return false;
  return (await fsp.stat(path).catch(() => null))?.isDirectory() ?? false;
}

/** The class folders of `dir`, sorted by name (hidden folders skipped). */
async function classFolders(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const ent of await entries(dir)) {
    if (ent.name.startsWith('.')) continue;
    if (await isDir(join(dir, ent.name), ent)) out.push(ent.name);
  }
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The image files of a class folder, sorted; an empty folder is an error. */
async function imageFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const ent of await entries(dir)) {
    if (ent.name.startsWith('.')) continue;
    if (!(IMAGE_EXTENSIONS as readonly string[]).includes(extname(ent.name).toLowerCase())) continue;
    if (ent.isFile() || (ent.isSymbolicLink() && (await fsp.stat(join(dir, ent.name)).catch(() => null))?.isFile())) files.push(ent.name);
  }
  if (files.length === 0) throw new UserError(`${dir}: empty class folder (no ${IMAGE_EXTENSIONS.join(', ')} images in it)`);
  return files.sort();
}

/** FNV-1a of a string: a fixed, well-mixed order of files that does not depend on the machine. */
function hashOf(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

function byKey(a: Entry, b: Entry): number {
  return a.key - b.key || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
}

/** What `ROOT` looks like: a train/test pair, or class folders directly. */
export async function imageFolderLayout(root: string): Promise<'split' | 'single'> {
  const names = await classFolders(root);
  return names.includes('train') && names.includes('test') ? 'split' : 'single';
}

/** The images of `dir`/<class> for the given class names, labelled by their index in `classNames`. */
async function listSplit(root: string, dir: string, names: string[], classNames: string[]): Promise<Entry[]> {
  const list: Entry[] = [];
  for (const name of names) {
    const label = classNames.indexOf(name);
    for (const f of await imageFiles(join(dir, name))) {
      const path = join(dir, name, f);
      list.push({ path, label, key: hashOf(relative(root, path)) });
    }
  }
  return list;
}

/** Decode one image to planar bytes of `shape` at `out[at..]`. */
async function decodeInto(path: string, shape: ImageShape, out: Uint8Array, at: number): Promise<void> {
  const [c, h, w] = shape;
  let data: Buffer;
  try {
    let img = sharp(path, { failOn: 'truncated' }).resize(w, h, { fit: 'fill', kernel: 'lanczos3' }).removeAlpha();
    img = c === 1 ? img.greyscale() : img.toColourspace('srgb');
    const res = await img.raw().toBuffer({ resolveWithObject: true });
    if (res.info.channels !== c || res.data.length !== c * h * w) throw new Error(`decoded to ${res.info.channels} channel(s), expected ${c}`);
    data = res.data;
  } catch (e) {
    throw new UserError(`${path}: unreadable or truncated image (${errorMessage(e).split('\n')[0]})`);
  }
  planarFromInterleaved(data, c, h * w, out, at);
}

async function decodeSplit(list: Entry[], shape: ImageShape, shared: boolean, log?: (m: string) => void, what = ''): Promise<ImageSplit> {
  const size = imageSize(shape);
  const split: ImageSplit = { count: list.length, labels: allocBytes(list.length, shared), pixels: allocBytes(list.length * size, shared), shape };
  let next = 0;
  let done = 0;
  const step = Math.max(1000, Math.ceil(list.length / 10));
  const work = async (): Promise<void> => {
    while (next < list.length) {
      const i = next++;
      split.labels[i] = list[i].label;
      await decodeInto(list[i].path, shape, split.pixels, i * size);
      if (++done % step === 0 && log) log(`decoding ${what} images: ${done} of ${list.length}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(DECODE_CONCURRENCY, list.length) }, work));
  return split;
}

export async function loadImageFolder(root: string, opts: LoadImageFolderOptions): Promise<Dataset> {
  const fail = (m: string): never => {
    throw new UserError(m);
  };
  const trainLimit = checkLimit(opts.trainLimit, '--train-limit', fail);
  const testLimit = checkLimit(opts.testLimit, '--test-limit', fail);
  const shape = opts.shape;
  if (shape[0] !== 1 && shape[0] !== 3) fail(`--channels: images can be read as 1 (grey) or 3 (RGB) channels, not ${shape[0]}`);
  const st = await fsp.stat(root).catch(() => null);
  if (!st) fail(`image folder not found: ${root}`);
  if (!st!.isDirectory()) fail(`${root}: not a folder; expected class folders (ROOT/<class>/*) or ROOT/train/<class>/* and ROOT/test/<class>/*`);

  let train: Entry[];
  let test: Entry[];
  let classNames: string[];
  if ((await imageFolderLayout(root)) === 'split') {
    if (opts.testFraction !== undefined) fail(`--test-fraction: ${root} already has train/ and test/ folders; it applies to a folder of class folders only`);
    const trainDir = join(root, 'train');
    const testDir = join(root, 'test');
    classNames = await classFolders(trainDir);
    if (classNames.length === 0) fail(`${trainDir}: no class folders in it (expected ${trainDir}/<class>/<image>)`);
    const testClasses = await classFolders(testDir);
    for (const c of testClasses) {
      if (!classNames.includes(c)) fail(`${join(testDir, c)}: class "${c}" is not in ${trainDir} (the network learns the training classes only)`);
    }
    checkClassNames(classNames, trainDir);
    if (classNames.length > MAX_CLASSES) fail(`${trainDir}: ${classNames.length} class folders; at most ${MAX_CLASSES} are supported`);
    train = await listSplit(root, trainDir, classNames, classNames);
    test = await listSplit(root, testDir, testClasses, classNames);
    if (test.length === 0) fail(`${testDir}: no test images (expected ${testDir}/<class>/<image>)`);
  } else {
    const fraction = opts.testFraction ?? DEFAULT_TEST_FRACTION;
    if (!(fraction > 0 && fraction < 1)) fail(`--test-fraction must be above 0 and below 1, got ${fraction}`);
    classNames = await classFolders(root);
    if (classNames.length === 0) {
      fail(`${root}: no class folders in it; an image folder holds ROOT/<class>/<image> (or ROOT/train/<class>/... and ROOT/test/<class>/...)`);
    }
    checkClassNames(classNames, root);
    if (classNames.length > MAX_CLASSES) fail(`${root}: ${classNames.length} class folders; at most ${MAX_CLASSES} are supported`);
    train = [];
    test = [];
    // Per class, the files in hash order; the first round(n * fraction) are test: the same split every run.
    for (const [label, name] of classNames.entries()) {
      const files = (await imageFiles(join(root, name))).map((f) => ({ path: join(root, name, f), label, key: hashOf(join(name, f)) })).sort(byKey);
      const k = Math.round(files.length * fraction);
      test.push(...files.slice(0, k));
      train.push(...files.slice(k));
    }
    if (test.length === 0) fail(`${root}: --test-fraction ${fraction} leaves no test images (too few images per class)`);
    if (train.length === 0) fail(`${root}: --test-fraction ${fraction} leaves no training images`);
  }
  train.sort(byKey);
  test.sort(byKey);
  train = train.slice(0, Math.min(train.length, trainLimit));
  test = test.slice(0, Math.min(test.length, testLimit));
  const size = imageSize(shape);
  const bytes = (train.length + test.length) * (size + 1);
  const what = `${train.length + test.length} images of ${root} at ${shapeText(shape)}`;
  if (train.length * size > MAX_SPLIT_BYTES || test.length * size > MAX_SPLIT_BYTES) {
    fail(`${what}: more than the 4 GiB one split can hold; use --train-limit, --test-limit or a smaller --input-size`);
  }
  opts.checkMemory?.(bytes, what);
  if (train.length + test.length > 5000) opts.log?.(`decoding ${what} (${(bytes / 1e6).toFixed(1)} MB)`);
  return {
    dir: root, kind: 'image-folder', classNames,
    train: await decodeSplit(train, shape, opts.shared ?? false, opts.log, 'training'),
    test: await decodeSplit(test, shape, opts.shared ?? false, opts.log, 'test'),
  };
}
