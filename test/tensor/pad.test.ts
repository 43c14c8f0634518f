import { describe, expect, it } from 'vitest';
import { padPlanesBackward, padPlanesForward, type PadMode, type Pads } from '../../src/tensor/pad.js';
import { expectGradClose, makeRng, numericGrad, project, randomArray } from './helpers.js';

/** Float64 reference, written from PyTorch's definitions rather than from an index map. */
function refPad(planes: number, h: number, w: number, p: Pads, mode: PadMode, x: ArrayLike<number>): Float64Array {
  const ph = p[0] + h + p[2];
  const pw = p[1] + w + p[3];
  const out = new Float64Array(planes * ph * pw);
  const src = (i: number, n: number) => {
    if (mode === 'replicate') return Math.min(n - 1, Math.max(0, i));
    // Reflect about the edge pixel: ... 2 1 | 0 1 2 ... n-1 | n-2 n-3 ...
    let j = i;
    while (j < 0 || j >= n) j = j < 0 ? -j : 2 * (n - 1) - j;
    return j;
  };
  for (let c = 0; c < planes; c++) {
    for (let y = 0; y < ph; y++) for (let xx = 0; xx < pw; xx++) out[(c * ph + y) * pw + xx] = x[(c * h + src(y - p[0], h)) * w + src(xx - p[1], w)];
  }
  return out;
}

describe('reflect and replicate padding', () => {
  it('a row padded by 2 on the left and 1 on the right', () => {
    const x = Float32Array.from([1, 2, 3, 4]);
    const out = new Float32Array(7);
    padPlanesForward(1, 1, 4, [0, 2, 0, 1], 'reflect', x, out);
    expect([...out]).toEqual([3, 2, 1, 2, 3, 4, 3]);
    padPlanesForward(1, 1, 4, [0, 2, 0, 1], 'replicate', x, out);
    expect([...out]).toEqual([1, 1, 1, 2, 3, 4, 4]);
  });

  for (const mode of ['reflect', 'replicate'] as const) {
    for (const p of [[1, 1, 1, 1], [2, 0, 1, 3]] as Pads[]) {
      it(`${mode} pads [${p.join(', ')}]: forward as the reference, backward as its finite differences`, () => {
        const [planes, h, w] = [3, 5, 6];
        const rng = makeRng(4);
        const x = randomArray(rng, planes * h * w);
        const size = planes * (p[0] + h + p[2]) * (p[1] + w + p[3]);
        const out = new Float32Array(size);
        padPlanesForward(planes, h, w, p, mode, x, out);
        expect([...out]).toEqual([...refPad(planes, h, w, p, mode, x)].map(Math.fround));
        const r = randomArray(rng, size);
        const g = new Float32Array(x.length).fill(0.5);
        padPlanesBackward(planes, h, w, p, mode, r, g);
        expectGradClose(`${mode} pad d/dinput`, g.map((v) => v - 0.5), numericGrad((xx) => project(refPad(planes, h, w, p, mode, xx), r), x));
      });
    }
  }
});
