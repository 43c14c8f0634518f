import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadImageFolder } from '../../src/data/image-folder.js';
import { UserError } from '../../src/util/errors.js';
import { CIFAR_NAMES, cifarTestImages, encodeImage, writeClassFolders, writeSplitFolder } from '../helpers/image-folder.js';
import { tempDir } from './fixtures.js';

async function message(p: Promise<unknown>): Promise<string> {
  const e = await p.then(() => null, (x: unknown) => x);
  expect(e).toBeInstanceOf(UserError);
  const m = (e as Error).message;
  expect(m).not.toContain('\n');
  return m;
}

/** Where image `index` of a folder split ended up, by its label. */
function indexOfLabelled(labels: Uint8Array, label: number): number {
  return labels.findIndex((l) => l === label);
}

// Real CIFAR-10 test images when CIFAR10_DIR is set (CI sets it), else generated pictures.
describe('image folder reader (ImageFolder layout)', () => {
  it('reads ROOT/train and ROOT/test: class names from the folders, PNG / JPEG / WebP decoded to the exact pixels at 32x32', async () => {
    const root = tempDir('cnnviz-if-');
    const { images } = await writeSplitFolder(root, 60, 20);
    const d = await loadImageFolder(root, { shape: [3, 32, 32] });
    expect(d.kind).toBe('image-folder');
    const present = CIFAR_NAMES.filter((_, k) => images.slice(0, 60).some((im) => im.label === k));
    expect(d.classNames).toEqual(present);
    expect([d.train.count, d.test.count]).toEqual([60, 20]);
    expect(d.train.shape).toEqual([3, 32, 32]);
    // Every training image is in the split once: the multiset of (label, pixels) matches (PNG and WebP are lossless).
    const key = (label: string, px: Uint8Array) => `${label}:${Buffer.from(px).toString('base64')}`;
    const want = new Set(images.slice(0, 60).map((im, n) => (n % 7 === 3 || n % 5 !== 2 ? key(CIFAR_NAMES[im.label], im.pixels) : '')).filter(Boolean));
    let lossless = 0;
    for (let i = 0; i < d.train.count; i++) if (want.has(key(d.classNames[d.train.labels[i]], d.train.pixels.subarray(i * 3072, (i + 1) * 3072)))) lossless++;
    expect(lossless).toBe(want.size);
    // Classes are mixed through the split (hash order), not one class after another.
    expect(new Set(Array.from(d.train.labels.subarray(0, 12))).size).toBeGreaterThan(3);
    // The same order every time.
    const again = await loadImageFolder(root, { shape: [3, 32, 32], trainLimit: 10 });
    expect(Array.from(again.train.labels)).toEqual(Array.from(d.train.labels.subarray(0, 10)));
  });

  it('splits ROOT/<class> with the test fraction per class, resizes and reads grey', async () => {
    const root = tempDir('cnnviz-if-');
    const { images } = cifarTestImages(50);
    await writeClassFolders(root, images);
    const d = await loadImageFolder(root, { shape: [1, 20, 24], testFraction: 0.3 });
    expect(d.train.count + d.test.count).toBe(50);
    const perClass = CIFAR_NAMES.map((_, k) => images.filter((im) => im.label === k).length).filter((n) => n > 0);
    expect(d.test.count).toBe(perClass.reduce((a, n) => a + Math.round(n * 0.3), 0));
    expect(d.train.shape).toEqual([1, 20, 24]);
    expect(d.train.pixels.length).toBe(d.train.count * 480);
    // Grey: a real photo is not constant, and the bytes are luminance (between the darkest and brightest RGB value).
    const i = indexOfLabelled(d.train.labels, d.train.labels[0]);
    const px = d.train.pixels.subarray(i * 480, (i + 1) * 480);
    expect(Math.max(...px)).toBeGreaterThan(Math.min(...px));
    const other = await loadImageFolder(root, { shape: [1, 20, 24], testFraction: 0.5 });
    expect(other.test.count).toBeGreaterThan(d.test.count);
  });

  it('refuses bad folders with one line naming the file or folder', async () => {
    const root = tempDir('cnnviz-if-');
    await writeSplitFolder(root, 30, 10);
    const shape: [number, number, number] = [3, 32, 32];
    const png = await encodeImage(cifarTestImages(1).images[0], 'png');
    // A class in test that train does not have.
    mkdirSync(join(root, 'test', 'unicorn'));
    writeFileSync(join(root, 'test', 'unicorn', 'a.png'), png);
    expect(await message(loadImageFolder(root, { shape }))).toMatch(/test\/unicorn: class "unicorn" is not in .*train \(the network learns the training classes only\)/);
    rmSync(join(root, 'test', 'unicorn'), { recursive: true });
    // An empty class folder.
    mkdirSync(join(root, 'train', 'zebra'));
    writeFileSync(join(root, 'train', 'zebra', 'notes.txt'), 'no images here');
    expect(await message(loadImageFolder(root, { shape }))).toMatch(/train\/zebra: empty class folder \(no \.png, \.jpg, \.jpeg, \.webp images in it\)/);
    rmSync(join(root, 'train', 'zebra'), { recursive: true });
    // A truncated PNG and a JPEG cut short.
    const someClass = (await loadImageFolder(root, { shape })).classNames[0];
    const bad = join(root, 'train', someClass, 'cut.png');
    writeFileSync(bad, png.subarray(0, Math.floor(png.length / 2)));
    expect(await message(loadImageFolder(root, { shape }))).toMatch(/cut\.png: unreadable or truncated image/);
    rmSync(bad);
    const jpg = await encodeImage(cifarTestImages(1).images[0], 'jpeg', 64);
    const badJpg = join(root, 'train', someClass, 'cut.jpg');
    writeFileSync(badJpg, jpg.subarray(0, Math.floor(jpg.length * 0.6)));
    expect(await message(loadImageFolder(root, { shape }))).toMatch(/cut\.jpg: unreadable or truncated image/);
    // Not an image at all, with an image's name.
    writeFileSync(badJpg, 'hello');
    expect(await message(loadImageFolder(root, { shape }))).toMatch(/cut\.jpg: unreadable or truncated image/);
    rmSync(badJpg);
    // --test-fraction with a train/test layout; a bad fraction; no class folders at all.
    expect(await message(loadImageFolder(root, { shape, testFraction: 0.2 }))).toMatch(/--test-fraction: .* already has train\/ and test\/ folders/);
    const flat = tempDir('cnnviz-if-');
    writeFileSync(join(flat, 'a.png'), png);
    expect(readFileSync(join(flat, 'a.png')).length).toBe(png.length);
    expect(await message(loadImageFolder(flat, { shape }))).toMatch(/no class folders in it/);
  });

  it('asks checkMemory before decoding, with the bytes the decoded images take, so a folder too big is refused first', async () => {
    const root = tempDir('cnnviz-if-');
    await writeClassFolders(root, cifarTestImages(40).images);
    let asked = -1;
    await loadImageFolder(root, { shape: [3, 64, 64], checkMemory: (bytes) => (asked = bytes) });
    expect(asked).toBe(40 * (3 * 64 * 64 + 1));
    // Refusing stops the load before any image is read: an unreadable file would otherwise fail first.
    writeFileSync(join(root, CIFAR_NAMES[cifarTestImages(1).images[0].label], 'zz-broken.png'), 'not a png');
    const e = await message(loadImageFolder(root, { shape: [3, 64, 64], checkMemory: (_b, what) => { throw new UserError(`refused: ${what}`); } }));
    expect(e).toMatch(/^refused: 41 images of .* at 64x64x3$/);
  });
});
