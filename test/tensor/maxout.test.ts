import { describe, expect, it } from 'vitest';
import { maxoutBackward, maxoutForward } from '../../src/tensor/maxout.js';
import { refMaxoutForward } from './reference.js';
import { distinctArray, expectForwardClose, expectGradClose, makeRng, numericGrad, project, randomArray } from './helpers.js';

// [n, inC, spatial, groupSize]: a conv-like case with inC % g != 0 (the last channel is ignored),
// and a dense-like case (spatial 1).
const cases: [number, number, number, number][] = [
  [2, 7, 6, 3],
  [3, 6, 1, 2],
  [1, 5, 4, 5],
];

describe('maxout', () => {
  for (const [n, inC, spatial, g] of cases) {
    const label = `n${n} inC${inC} spatial${spatial} g${g}`;
    it(`${label}: forward vs reference and gradient check`, () => {
      const rng = makeRng(inC * 10 + g);
      const outC = Math.floor(inC / g);
      const input = distinctArray(rng, n * inC * spatial, 0.02);
      const out = new Float32Array(n * outC * spatial);
      const argmax = new Int32Array(out.length);
      maxoutForward(n, inC, spatial, g, input, out, argmax);
      expectForwardClose(`maxout ${label}`, out, refMaxoutForward(n, inC, spatial, g, input), 0);
      for (let o = 0; o < out.length; o++) expect(input[argmax[o]]).toBe(out[o]);

      const r = randomArray(rng, out.length);
      const inputGrad = new Float32Array(input.length); // accumulated into (+=)
      maxoutBackward(n, inC, spatial, g, r, argmax, inputGrad);
      expectGradClose(
        `maxout ${label} d/dinput`,
        inputGrad,
        numericGrad((x) => project(refMaxoutForward(n, inC, spatial, g, x), r), input),
      );
      maxoutBackward(n, inC, spatial, g, r, argmax, null);
    });
  }

  it('first maximum wins on ties (ConvNetJS)', () => {
    // n1 inC3 spatial2 g3, layout [channel][position]: channel 0 = (1, 1), channel 1 = (0, 2), channel 2 = (2, 2).
    const input = new Float32Array([1, 1, 0, 2, 2, 2]);
    const out = new Float32Array(2);
    const argmax = new Int32Array(2);
    maxoutForward(1, 3, 2, 3, input, out, argmax);
    // position 0: channels 1, 0, 2 -> 2 at channel 2 (index 4); position 1: 1, 2, 2 -> first 2 at channel 1 (index 3)
    expect(Array.from(out)).toEqual([2, 2]);
    expect(Array.from(argmax)).toEqual([4, 3]);
  });
});
