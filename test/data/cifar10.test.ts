import { mkdirSync, rmSync, truncateSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { classCounts, loadCifar10, validateCifar10Dir, CIFAR10_IMAGE } from '../../src/data/cifar10.js';
import { MAX_CLASS_NAME_CHARS } from '../../src/util/class-names.js';
import { UserError } from '../../src/util/errors.js';
import { CLASS_NAMES, TEST_COUNT, labelOf, pixelOf, records, tempDir, writeCifarDir } from './fixtures.js';

const root = tempDir();
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
/** A fresh valid small data set (20 training records over 5 files, 7 test records). */
function fresh(): string {
  n += 1;
  return writeCifarDir(join(root, `set${n}`));
}

async function loadError(dir: string, opts?: Parameters<typeof loadCifar10>[1]): Promise<UserError> {
  try {
    await loadCifar10(dir, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    expect((e as UserError).exitCode).toBe(2);
    return e as UserError;
  }
  throw new Error('expected loadCifar10 to fail');
}

describe('loadCifar10 on generated files', () => {
  it('puts every label and pixel where the file has it, across the five training files', async () => {
    const dir = fresh();
    const d = await loadCifar10(dir);
    expect(d.dir).toBe(dir);
    expect(d.classNames).toEqual(CLASS_NAMES);
    expect(CIFAR10_IMAGE).toEqual({ channels: 3, height: 32, width: 32 });
    expect(d.train.count).toBe(20);
    expect(d.train.labels.length).toBe(20);
    expect(d.train.pixels.length).toBe(20 * 3072);
    expect(d.test.count).toBe(TEST_COUNT);
    for (let r = 0; r < 20; r++) {
      expect(d.train.labels[r]).toBe(labelOf('train', r));
      for (const [c, k] of [[0, 0], [0, 1023], [1, 0], [1, 500], [2, 33], [2, 1023]]) {
        expect(d.train.pixels[r * 3072 + c * 1024 + k]).toBe(pixelOf('train', r, c, k));
      }
    }
    // Exact byte equality with the records as written.
    const all = records('train', 0, 20);
    for (let r = 0; r < 20; r++) {
      expect(Buffer.from(d.train.pixels.subarray(r * 3072, (r + 1) * 3072)).equals(all.subarray(r * 3073 + 1, (r + 1) * 3073))).toBe(true);
    }
    for (let r = 0; r < TEST_COUNT; r++) {
      expect(d.test.labels[r]).toBe(labelOf('test', r));
      expect(d.test.pixels[r * 3072 + 2 * 1024 + 77]).toBe(pixelOf('test', r, 2, 77));
    }
    expect(classCounts(d.train).reduce((a, b) => a + b, 0)).toBe(20);
    expect(d.train.pixels.buffer).toBeInstanceOf(ArrayBuffer);
  });

  it('honours trainLimit / testLimit (first N records, crossing file boundaries)', async () => {
    const dir = fresh();
    const d = await loadCifar10(dir, { trainLimit: 6, testLimit: 2 });
    expect(d.train.count).toBe(6);
    expect(d.train.pixels.length).toBe(6 * 3072);
    expect(Array.from(d.train.labels)).toEqual([0, 1, 2, 3, 4, 5].map((r) => labelOf('train', r)));
    // record 5 is the 2nd record of data_batch_2 (4 records in data_batch_1)
    expect(d.train.pixels[5 * 3072 + 1024 + 9]).toBe(pixelOf('train', 5, 1, 9));
    expect(d.test.count).toBe(2);
    const none = await loadCifar10(dir, { testLimit: 0 });
    expect(none.test.count).toBe(0);
    expect(none.test.pixels.length).toBe(0);
    const big = await loadCifar10(dir, { trainLimit: 1000 });
    expect(big.train.count).toBe(20);
  });

  it('with a limit reads only the records it needs (a bad label further on is not read)', async () => {
    const dir = fresh();
    const f = join(dir, 'data_batch_3.bin');
    const buf = readFileSync(f);
    buf[0] = 200;
    writeFileSync(f, buf);
    expect((await loadCifar10(dir, { trainLimit: 7 })).train.count).toBe(7);
    expect((await loadError(dir)).message).toMatch(/data_batch_3\.bin: record 0 has label byte 200/);
  });

  it('rejects limits that are not whole numbers >= 0', async () => {
    const dir = fresh();
    expect((await loadError(dir, { trainLimit: -1 })).message).toMatch(/--train-limit must be a whole number/);
    expect((await loadError(dir, { testLimit: 1.5 })).message).toMatch(/--test-limit must be a whole number/);
  });

  it('can allocate on SharedArrayBuffers for worker threads', async () => {
    const d = await loadCifar10(fresh(), { shared: true });
    expect(d.train.pixels.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(d.train.labels.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(d.train.pixels[3 * 3072 + 5]).toBe(pixelOf('train', 3, 0, 5));
  });

  it('validateCifar10Dir checks everything and returns the counts', async () => {
    expect(await validateCifar10Dir(fresh())).toEqual({ train: 20, test: TEST_COUNT, classNames: CLASS_NAMES });
  });

  it('ignores blank lines and surrounding spaces in batches.meta.txt', async () => {
    const dir = fresh();
    writeFileSync(join(dir, 'batches.meta.txt'), `\n${CLASS_NAMES.map((c) => ` ${c}\r`).join('\n')}\n\n\n`);
    expect((await loadCifar10(dir)).classNames).toEqual(CLASS_NAMES);
  });
  it('caps very long class names where it reads them (labels never work on 100,000 characters)', async () => {
    const dir = fresh();
    const names = CLASS_NAMES.map((c, i) => (i < 2 ? c.repeat(20_000) : c));
    writeFileSync(join(dir, 'batches.meta.txt'), names.join('\n'));
    const read = (await loadCifar10(dir)).classNames;
    expect(read.slice(2)).toEqual(CLASS_NAMES.slice(2));
    for (const k of [0, 1]) {
      expect([...read[k]]).toHaveLength(MAX_CLASS_NAME_CHARS);
      expect(read[k]).toBe(`${names[k].slice(0, MAX_CLASS_NAME_CHARS - 1)}…`);
    }
  });
});

describe('loadCifar10 errors (UserError, exit code 2, naming the file)', () => {
  it('missing folder: says how to get the data', async () => {
    const e = await loadError(join(root, 'nope'));
    expect(e.message).toContain(join(root, 'nope'));
    expect(e.message).toMatch(/not found/);
    expect(e.message).toContain('cnnviz download');
    expect(e.message).toContain('--data <dir>');
  });

  it('a file where the folder should be', async () => {
    const f = join(root, 'afile');
    writeFileSync(f, 'x');
    expect((await loadError(f)).message).toMatch(/afile: not a folder/);
  });

  it('missing batch file', async () => {
    const dir = fresh();
    rmSync(join(dir, 'data_batch_3.bin'));
    const e = await loadError(dir);
    expect(e.message).toContain(join(dir, 'data_batch_3.bin'));
    expect(e.message).toMatch(/file missing/);
    expect(e.message).toContain('cnnviz download');
  });

  it('missing test_batch.bin and missing batches.meta.txt', async () => {
    const a = fresh();
    rmSync(join(a, 'test_batch.bin'));
    expect((await loadError(a)).message).toContain(`${join(a, 'test_batch.bin')}: file missing`);
    const b = fresh();
    rmSync(join(b, 'batches.meta.txt'));
    expect((await loadError(b)).message).toContain(`${join(b, 'batches.meta.txt')}: file missing`);
  });

  it('hints at the inner folder when given its parent', async () => {
    const parent = join(root, 'parent');
    writeCifarDir(join(parent, 'cifar-10-batches-bin'));
    expect((await loadError(parent)).message).toContain(`Did you mean --data ${join(parent, 'cifar-10-batches-bin')}`);
  });

  it('hints at the Python version', async () => {
    const dir = join(root, 'python');
    mkdirSync(dir);
    writeFileSync(join(dir, 'data_batch_1'), 'pickle');
    expect((await loadError(dir)).message).toMatch(/Python version/);
  });

  it('size not a multiple of 3073: gives the size and says truncated', async () => {
    const dir = fresh();
    const f = join(dir, 'data_batch_2.bin');
    truncateSync(f, 2 * 3073 + 100);
    const e = await loadError(dir);
    expect(e.message).toContain(f);
    expect(e.message).toContain(`size ${2 * 3073 + 100} bytes`);
    expect(e.message).toMatch(/not a multiple of the 3073-byte record/);
    expect(e.message).toMatch(/looks truncated/);
  });

  it('size is checked for every file even when a limit means it is not read', async () => {
    const dir = fresh();
    truncateSync(join(dir, 'data_batch_5.bin'), 3000);
    expect((await loadError(dir, { trainLimit: 2 })).message).toMatch(/data_batch_5\.bin: size 3000 bytes.*truncated/);
  });

  it('empty file', async () => {
    const dir = fresh();
    const f = join(dir, 'test_batch.bin');
    writeFileSync(f, '');
    const e = await loadError(dir);
    expect(e.message).toContain(f);
    expect(e.message).toMatch(/empty/);
  });

  it('label byte above 9: gives the record index', async () => {
    const dir = fresh();
    const f = join(dir, 'data_batch_4.bin');
    const buf = readFileSync(f);
    buf[1 * 3073] = 10;
    writeFileSync(f, buf);
    const e = await loadError(dir);
    expect(e.message).toContain(f);
    expect(e.message).toMatch(/record 1 has label byte 10, above 9/);
  });

  it('batches.meta.txt with other than ten names', async () => {
    const dir = fresh();
    const f = join(dir, 'batches.meta.txt');
    writeFileSync(f, `${CLASS_NAMES.slice(0, 9).join('\n')}\n\n`);
    const e = await loadError(dir);
    expect(e.message).toContain(f);
    expect(e.message).toMatch(/expected 10 class names \(one per line\), found 9/);
    writeFileSync(f, `${[...CLASS_NAMES, 'extra'].join('\n')}\n`);
    expect((await loadError(dir)).message).toMatch(/found 11/);
  });
});

const realDir = process.env.CIFAR10_DIR;

describe('real CIFAR-10 (CIFAR10_DIR)', () => {
  it.skipIf(!realDir)('has 50,000 training records, 5,000 per class, 10,000 test records', async () => {
    const d = await loadCifar10(realDir!);
    expect(d.classNames).toEqual(CLASS_NAMES);
    expect(d.train.count).toBe(50_000);
    expect(d.train.pixels.length).toBe(50_000 * 3072);
    expect(classCounts(d.train)).toEqual(new Array(10).fill(5000));
    expect(Array.from(d.train.labels.subarray(0, 10))).toEqual([6, 9, 9, 4, 1, 1, 2, 7, 8, 3]);
    expect(d.test.count).toBe(10_000);
    expect(classCounts(d.test)).toEqual(new Array(10).fill(1000));
    expect(Array.from(d.test.labels.subarray(0, 10))).toEqual([3, 8, 8, 0, 6, 6, 1, 6, 3, 1]);
    // Published values of the official arrays (see the data's SOURCES.txt).
    expect(Array.from(d.train.pixels.subarray(0, 6))).toEqual([59, 43, 50, 68, 98, 119]);
    expect(Array.from(d.test.pixels.subarray(0, 4))).toEqual([158, 159, 165, 166]);
  });

  it.skipIf(!realDir)('limits read the first records of data_batch_1 and test_batch', async () => {
    const d = await loadCifar10(realDir!, { trainLimit: 10, testLimit: 3 });
    expect(Array.from(d.train.labels)).toEqual([6, 9, 9, 4, 1, 1, 2, 7, 8, 3]);
    expect(d.test.count).toBe(3);
  });
});
