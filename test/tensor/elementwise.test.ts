import { describe, expect, it } from 'vitest';
import { addBackward, addForward, concatBackward, concatForward } from '../../src/tensor/elementwise.js';
import { expectGradClose, makeRng, numericGrad, project, randomArray } from './helpers.js';

/** Reference sum of k inputs in float64. */
function refAdd(inputs: ArrayLike<number>[], count: number): Float64Array {
  const out = new Float64Array(count);
  for (const a of inputs) for (let i = 0; i < count; i++) out[i] += a[i];
  return out;
}

/** Reference concat: per sample, the inputs' channels one after another, indexed as (b, c, s). */
function refConcat(n: number, shapes: [number, number][], inputs: ArrayLike<number>[]): Float64Array {
  const spatial = shapes[0][1];
  const totalC = shapes.reduce((a, s) => a + s[0], 0);
  const out = new Float64Array(n * totalC * spatial);
  for (let b = 0; b < n; b++) {
    let c0 = 0;
    shapes.forEach(([C], k) => {
      for (let c = 0; c < C; c++) {
        for (let s = 0; s < spatial; s++) out[(b * totalC + c0 + c) * spatial + s] = inputs[k][(b * C + c) * spatial + s];
      }
      c0 += C;
    });
  }
  return out;
}

describe('add', () => {
  for (const k of [2, 3]) {
    it(`${k} inputs: forward is the sum, backward adds the output gradient to each input's`, () => {
      const rng = makeRng(k);
      const count = 37;
      const inputs = Array.from({ length: k }, () => randomArray(rng, count));
      const out = new Float32Array(count);
      addForward(count, inputs, out);
      const ref = refAdd(inputs, count);
      for (let i = 0; i < count; i++) expect(out[i]).toBeCloseTo(ref[i], 6);
      const r = randomArray(rng, count);
      const grads = inputs.map(() => new Float32Array(count).fill(1));
      addBackward(count, r, [...grads.slice(0, -1), null]);
      for (let j = 0; j < k - 1; j++) {
        const fd = numericGrad((x) => project(refAdd(inputs.map((a, i) => (i === j ? x : a)), count), r), inputs[j]);
        expectGradClose(`add ${k} input ${j}`, grads[j].map((v) => v - 1), fd);
      }
      expect(grads[k - 1].every((v) => v === 1)).toBe(true);
    });
  }
});

describe('concat', () => {
  it('joins channels per sample; backward adds each slice to its input gradient', () => {
    const rng = makeRng(5);
    const n = 2;
    const shapes: [number, number][] = [[3, 6], [1, 6], [2, 6]];
    const sizes = shapes.map(([c, s]) => c * s);
    const inputs = sizes.map((s) => randomArray(rng, n * s));
    const total = sizes.reduce((a, b) => a + b, 0);
    const out = new Float32Array(n * total);
    concatForward(n, sizes, inputs, out);
    const ref = refConcat(n, shapes, inputs);
    for (let i = 0; i < out.length; i++) expect(out[i]).toBe(ref[i]);
    const r = randomArray(rng, n * total);
    const grads = sizes.map((s) => new Float32Array(n * s).fill(2));
    concatBackward(n, sizes, r, grads);
    for (let j = 0; j < inputs.length; j++) {
      const fd = numericGrad((x) => project(refConcat(n, shapes, inputs.map((a, i) => (i === j ? x : a))), r), inputs[j]);
      expectGradClose(`concat input ${j}`, grads[j].map((v) => v - 2), fd);
    }
  });
});
