import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCifar100 } from '../../src/data/cifar100.js';
import { UserError } from '../../src/util/errors.js';
import { cifar100Records, COARSE_NAMES, coarseOf, FINE_NAMES, fineOf, writeCifar100Dir } from '../helpers/image-folder.js';
import { tempDir } from './fixtures.js';

async function message(p: Promise<unknown>): Promise<string> {
  const e = await p.then(() => null, (x: unknown) => x);
  expect(e).toBeInstanceOf(UserError);
  return (e as Error).message;
}

describe('CIFAR-100 binary reader', () => {
  it('reads the fine labels by default, the coarse ones with labels: coarse, and the pixels after both label bytes', async () => {
    const dir = writeCifar100Dir(join(tempDir(), 'c100'), 40, 10);
    const fine = await loadCifar100(dir);
    expect(fine.kind).toBe('cifar-100');
    expect(fine.classNames).toEqual(FINE_NAMES);
    expect(fine.train.shape).toEqual([3, 32, 32]);
    expect([fine.train.count, fine.test.count]).toEqual([40, 10]);
    expect(Array.from(fine.train.labels)).toEqual(Array.from({ length: 40 }, (_, i) => fineOf(i)));
    expect(Array.from(fine.test.labels)).toEqual(Array.from({ length: 10 }, (_, i) => fineOf(1000 + i)));
    expect(fine.train.pixels[7 * 3072 + 2000]).toBe((7 + 2000 * 5) & 255);
    const coarse = await loadCifar100(dir, { labels: 'coarse', trainLimit: 6 });
    expect(coarse.classNames).toEqual(COARSE_NAMES);
    expect(Array.from(coarse.train.labels)).toEqual(Array.from({ length: 6 }, (_, i) => coarseOf(i)));
  });

  it('refuses bad folders with one line naming the file', async () => {
    let dir = writeCifar100Dir(join(tempDir(), 'c'), 5, 3);
    writeFileSync(join(dir, 'train.bin'), cifar100Records(5).subarray(0, 5 * 3074 - 10));
    expect(await message(loadCifar100(dir))).toMatch(/train\.bin: size 15360 bytes is not a multiple of the 3074-byte record/);
    dir = writeCifar100Dir(join(tempDir(), 'c'), 5, 3);
    const bad = cifar100Records(3);
    bad[2 * 3074 + 1] = 100;
    writeFileSync(join(dir, 'test.bin'), bad);
    expect(await message(loadCifar100(dir))).toMatch(/test\.bin: record 2 has label byte 100, above 99; the file is corrupted or not CIFAR-100 \(fine labels\) binary data/);
    bad[2 * 3074 + 1] = 5;
    bad[0] = 20;
    writeFileSync(join(dir, 'test.bin'), bad);
    await expect(loadCifar100(dir)).resolves.toBeTruthy();
    expect(await message(loadCifar100(dir, { labels: 'coarse' }))).toMatch(/test\.bin: record 0 has label byte 20, above 19/);
    dir = writeCifar100Dir(join(tempDir(), 'c'), 5, 3);
    writeFileSync(join(dir, 'coarse_label_names.txt'), 'a\nb\n');
    expect(await message(loadCifar100(dir, { labels: 'coarse' }))).toMatch(/coarse_label_names\.txt: expected 20 class names \(one per line\), found 2/);
    writeFileSync(join(dir, 'fine_label_names.txt'), `${FINE_NAMES.slice(0, 99).join('\n')}\nfine_3\n`);
    expect(await message(loadCifar100(dir))).toMatch(/fine_label_names\.txt: classes 3 and 99 have the same name "fine_3"/);
    expect(await message(loadCifar100(join(tempDir(), 'nothing-here')))).toMatch(/CIFAR-100 folder not found/);
  });
});
