import { describe, expect, it } from 'vitest';
import { holdBack } from '../../src/data/holdout.js';
import type { Dataset } from '../../src/data/split.js';
import { UserError } from '../../src/util/errors.js';

function dataset(count: number): Dataset {
  const pixels = new Uint8Array(new SharedArrayBuffer(count * 12));
  pixels.forEach((_, i) => (pixels[i] = i & 255));
  const split = { count, labels: Uint8Array.from({ length: count }, (_, i) => i % 10), pixels, shape: [3, 2, 2] as [number, number, number] };
  return { dir: 'd', kind: 'cifar-10', classNames: [], train: split, test: { ...split, count: 0, labels: new Uint8Array(0), pixels: new Uint8Array(0) } };
}

describe('--holdout', () => {
  it('moves the last n training images to a validation split, as views of the same bytes', () => {
    const d = holdBack(dataset(10), 3);
    expect(d.train.count).toBe(7);
    expect(d.val!.count).toBe(3);
    expect([...d.val!.labels]).toEqual([7, 8, 9]);
    expect(d.val!.pixels[0]).toBe(7 * 12);
    expect(d.val!.pixels.length).toBe(36);
    expect(d.train.pixels.length).toBe(84);
    expect(d.val!.pixels.buffer).toBe(d.train.pixels.buffer);
  });

  it('changes nothing with 0 and refuses to hold back every image', () => {
    const d = dataset(4);
    expect(holdBack(d, 0)).toBe(d);
    expect(() => holdBack(d, 4)).toThrow(UserError);
    expect(() => holdBack(d, 4)).toThrow('--holdout 4: leaves no training images (there are 4; hold back fewer)');
  });
});
