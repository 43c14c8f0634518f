import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadIdx } from '../../src/data/idx.js';
import { UserError } from '../../src/util/errors.js';
import { idxFile, idxLabel, idxPixel, writeIdxDir } from '../helpers/image-folder.js';
import { tempDir } from './fixtures.js';

async function message(p: Promise<unknown>): Promise<string> {
  const e = await p.then(() => null, (x: unknown) => x);
  expect(e).toBeInstanceOf(UserError);
  const m = (e as Error).message;
  expect(m).not.toContain('\n');
  return m;
}

describe('MNIST / Fashion-MNIST IDX reader', () => {
  for (const gzip of [false, true]) {
    it(`reads ${gzip ? 'gzipped' : 'plain'} IDX files: one channel, the file's size, labels and pixels in order`, async () => {
      const dir = writeIdxDir(join(tempDir(), 'mnist'), { train: 30, test: 12, rows: 28, cols: 28, gzip });
      const d = await loadIdx(dir);
      expect(d.kind).toBe('mnist');
      expect(d.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
      expect(d.train.shape).toEqual([1, 28, 28]);
      expect(d.train.count).toBe(30);
      expect(d.test.count).toBe(12);
      expect(Array.from(d.train.labels)).toEqual(Array.from({ length: 30 }, (_, i) => idxLabel(i)));
      expect(d.train.pixels.length).toBe(30 * 784);
      expect(d.train.pixels[5 * 784 + 100]).toBe(idxPixel(5, 100));
      expect(d.test.pixels[11 * 784 + 783]).toBe(idxPixel(11, 783));
    });
  }

  it('keeps a non-square size and applies the limits', async () => {
    const dir = writeIdxDir(join(tempDir(), 'x'), { train: 20, test: 8, rows: 10, cols: 14 });
    const d = await loadIdx(dir, { trainLimit: 5, testLimit: 3 });
    expect(d.train.shape).toEqual([1, 10, 14]);
    expect([d.train.count, d.test.count, d.train.pixels.length]).toEqual([5, 3, 5 * 140]);
  });

  it('names the classes Fashion-MNIST\'s when the folder says so or --dataset forces it', async () => {
    const dir = writeIdxDir(join(tempDir(), 'my-fashion-copy'));
    expect((await loadIdx(dir)).classNames[9]).toBe('Ankle boot');
    const plain = writeIdxDir(join(tempDir(), 'plain'));
    expect((await loadIdx(plain, { kind: 'fashion-mnist' })).classNames[0]).toBe('T-shirt/top');
    expect((await loadIdx(plain)).classNames[0]).toBe('0');
  });

  it('refuses bad files with one line naming the file', async () => {
    const fresh = () => writeIdxDir(join(tempDir(), 'm'), { train: 10, test: 4, rows: 4, cols: 4 });
    let dir = fresh();
    // Wrong magic: a label file where images belong.
    writeFileSync(join(dir, 'train-images-idx3-ubyte'), idxFile([10], new Uint8Array(10)));
    expect(await message(loadIdx(dir))).toMatch(/train-images-idx3-ubyte: IDX magic number 0x00000801, expected 0x00000803/);
    dir = fresh();
    // Dimensions that do not match the bytes: truncated.
    writeFileSync(join(dir, 'train-images-idx3-ubyte'), idxFile([10, 4, 4], new Uint8Array(150)));
    expect(await message(loadIdx(dir))).toMatch(/train-images-idx3-ubyte: 166 bytes, but its IDX dimensions 10 x 4 x 4 need 176; the file looks truncated/);
    dir = fresh();
    writeFileSync(join(dir, 'train-images-idx3-ubyte'), idxFile([10, 0, 4], new Uint8Array(0)));
    expect(await message(loadIdx(dir))).toMatch(/train-images-idx3-ubyte: IDX dimensions 10 x 0 x 4/);
    dir = fresh();
    // Counts that disagree.
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), idxFile([3], new Uint8Array(3)));
    expect(await message(loadIdx(dir))).toMatch(/t10k-labels-idx1-ubyte: 3 labels, but t10k-images-idx3-ubyte holds 4 images/);
    dir = fresh();
    // A label out of range.
    writeFileSync(join(dir, 'train-labels-idx1-ubyte'), idxFile([10], Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 10])));
    expect(await message(loadIdx(dir))).toMatch(/train-labels-idx1-ubyte: label 9 is 10, outside 0..9/);
    dir = fresh();
    // A truncated gzip file.
    const gz = idxFile([4], new Uint8Array(4), true);
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), gz.subarray(0, gz.length - 6));
    expect(await message(loadIdx(dir))).toMatch(/t10k-labels-idx1-ubyte: cannot unpack the gzip data/);
  });

  it('says which file is missing', async () => {
    const dir = writeIdxDir(join(tempDir(), 'm'), { train: 3, test: 2, rows: 2, cols: 2, gzip: true });
    rmSync(join(dir, 't10k-images-idx3-ubyte.gz'));
    expect(await message(loadIdx(dir))).toMatch(/t10k-images-idx3-ubyte\[\.gz\]: file missing/);
  });
});
