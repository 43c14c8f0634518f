import { describe, expect, it } from 'vitest';
import { dropoutBackward, dropoutForward, fillDropoutMask } from '../../src/tensor/dropout.js';
import { refDropoutForward } from './reference.js';
import { expectForwardClose, expectGradClose, makeRng, numericGrad, project, randomArray } from './helpers.js';

describe('dropout forward/backward with a fixed mask', () => {
  const count = 120;
  const p = 0.3;
  const rng = makeRng(1);
  const input = randomArray(rng, count);
  const r = randomArray(rng, count);
  const keep = new Uint8Array(count);
  fillDropoutMask(keep, count, p, 42, 3, 17, 0, 40);

  it('training: kept values scaled by 1/(1-p), dropped values 0', () => {
    const out = new Float32Array(count).fill(NaN);
    dropoutForward(input, out, keep, count, p, true);
    expectForwardClose('dropout train', out, refDropoutForward(input, keep, p, true));
    for (let i = 0; i < count; i++) expect(out[i]).toBeCloseTo(keep[i] ? input[i] / 0.7 : 0, 6);
  });

  it('test time: output = input (mask ignored)', () => {
    const out = new Float32Array(count);
    dropoutForward(input, out, new Uint8Array(count), count, p, false);
    expect(Array.from(out)).toEqual(Array.from(input));
  });

  it('gradient check with the mask held fixed', () => {
    const inputGrad = new Float32Array(count);
    dropoutBackward(r, inputGrad, keep, count, p);
    expectGradClose('dropout d/dinput', inputGrad, numericGrad((x) => project(refDropoutForward(x, keep, p, true), r), input));
    dropoutBackward(r, null, keep, count, p);
  });
});

describe('fillDropoutMask', () => {
  const seed = 1234;
  const layer = 5;
  const step = 77;
  const perSample = 37;
  const batch = 9;

  function fullMask(s: number, l: number, st: number): Uint8Array {
    const m = new Uint8Array(batch * perSample);
    fillDropoutMask(m, batch * perSample, 0.5, s, l, st, 0, perSample);
    return m;
  }

  it('does not depend on how the mini-batch is split into micro-batches', () => {
    const whole = fullMask(seed, layer, step);
    for (const split of [
      [9],
      [1, 8],
      [4, 5],
      [2, 3, 4],
      [1, 1, 1, 1, 1, 1, 1, 1, 1],
    ]) {
      const joined = new Uint8Array(batch * perSample);
      let first = 0;
      for (const size of split) {
        // Each micro-batch is filled into its own buffer, as a worker would.
        const part = new Uint8Array(size * perSample);
        fillDropoutMask(part, size * perSample, 0.5, seed, layer, step, first, perSample);
        joined.set(part, first * perSample);
        first += size;
      }
      expect(Array.from(joined)).toEqual(Array.from(whole));
    }
  });

  it('changes with seed, layer and step', () => {
    const base = Array.from(fullMask(seed, layer, step));
    for (const other of [fullMask(seed + 1, layer, step), fullMask(seed, layer + 1, step), fullMask(seed, layer, step + 1)]) {
      const differing = base.filter((v, i) => v !== other[i]).length;
      expect(differing).toBeGreaterThan(base.length / 4); // ~1/2 for independent masks
    }
  });

  it('drops a fraction ~p of elements (p = 0 keeps all, p = 1 drops all)', () => {
    const n = 20000;
    const m = new Uint8Array(n);
    for (const p of [0.2, 0.5, 0.8]) {
      fillDropoutMask(m, n, p, 9, 0, 0, 0, 100);
      const dropped = n - m.reduce((a, b) => a + b, 0);
      expect(Math.abs(dropped / n - p)).toBeLessThan(0.02); // std ~0.0035
    }
    fillDropoutMask(m, n, 0, 9, 0, 0, 0, 100);
    expect(m.every((v) => v === 1)).toBe(true);
    fillDropoutMask(m, n, 1, 9, 0, 0, 0, 100);
    expect(m.every((v) => v === 0)).toBe(true);
  });
});
