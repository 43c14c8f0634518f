import { describe, expect, it } from 'vitest';
import { sgemm, sgemmReference } from '../../src/tensor/gemm.js';
import { makeRng, randomArray } from './helpers.js';

describe('sgemmReference', () => {
  it('matches a hand-computed product, with alpha and beta', () => {
    // A = [[1,2,3],[4,5,6]], B = [[7,8],[9,10],[11,12]], A*B = [[58,64],[139,154]]
    const A = new Float32Array([1, 2, 3, 4, 5, 6]);
    const B = new Float32Array([7, 8, 9, 10, 11, 12]);
    const C = new Float32Array([1, 1, 1, 1]);
    sgemmReference(false, false, 2, 2, 3, 2, A, 0, 3, B, 0, 2, 10, C, 0, 2);
    expect(Array.from(C)).toEqual([126, 138, 288, 318]);
    // Same product through the transposed storage of both operands.
    const At = new Float32Array([1, 4, 2, 5, 3, 6]); // 3 x 2
    const Bt = new Float32Array([7, 9, 11, 8, 10, 12]); // 2 x 3
    const C2 = new Float32Array([NaN, NaN, NaN, NaN]);
    sgemmReference(true, true, 2, 2, 3, 1, At, 0, 2, Bt, 0, 3, 0, C2, 0, 2);
    expect(Array.from(C2)).toEqual([58, 64, 139, 154]);
  });
});

describe('sgemm vs sgemmReference', () => {
  // Odd sizes, exact tiles, and sizes crossing the MC = 64 / KC = 256 cache blocks.
  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [5, 7, 3],
    [4, 8, 16],
    [13, 29, 17],
    [16, 75, 33],
    [67, 9, 300],
    [9, 17, 513],
    [70, 70, 5],
  ];
  const combos: [boolean, boolean][] = [
    [false, false],
    [false, true],
    [true, false],
    [true, true],
  ];

  for (const [transA, transB] of combos) {
    it(`transA=${transA} transB=${transB}: odd sizes, offsets, padded leading dims, alpha/beta`, () => {
      const rng = makeRng(11 + (transA ? 2 : 0) + (transB ? 1 : 0));
      let worst = 0;
      for (const [M, N, K] of shapes) {
        for (const [alpha, beta] of [
          [1, 0],
          [0.7, -0.3],
          [-1.5, 1],
        ]) {
          const aRows = transA ? K : M;
          const aCols = transA ? M : K;
          const bRows = transB ? N : K;
          const bCols = transB ? K : N;
          const lda = aCols + 3;
          const ldb = bCols + 1;
          const ldc = N + 5;
          const aOff = 7;
          const bOff = 2;
          const cOff = 11;
          const A = randomArray(rng, aOff + aRows * lda);
          const B = randomArray(rng, bOff + bRows * ldb);
          const C0 = randomArray(rng, cOff + M * ldc + 4);
          if (beta === 0) {
            // beta = 0 must not read C: garbage (NaN) inside the block must not leak through.
            for (let i = 0; i < M; i++) C0.fill(NaN, cOff + i * ldc, cOff + i * ldc + N);
          }
          const fast = C0.slice();
          const ref = C0.slice();
          sgemm(transA, transB, M, N, K, alpha, A, aOff, lda, B, bOff, ldb, beta, fast, cOff, ldc);
          sgemmReference(transA, transB, M, N, K, alpha, A, aOff, lda, B, bOff, ldb, beta, ref, cOff, ldc);
          for (let idx = 0; idx < C0.length; idx++) {
            const rel = idx - cOff;
            const inBlock = rel >= 0 && Math.floor(rel / ldc) < M && rel % ldc < N;
            if (!inBlock) {
              // Outside the M x N block (offset, leading-dim padding, tail) C is untouched.
              expect(Object.is(fast[idx], C0[idx])).toBe(true);
              continue;
            }
            // Entries are sums of K products of values in [-1, 1]; float32 rounding of the result
            // (sgemm rounds once per 256-deep K slice) bounds the error by ~1e-7 * (|C| + K).
            const err = Math.abs(fast[idx] - ref[idx]) / (1 + Math.abs(ref[idx]) + K * 1e-2);
            expect(Number.isFinite(fast[idx])).toBe(true);
            worst = Math.max(worst, err);
          }
        }
      }
      console.log(`sgemm transA=${transA} transB=${transB}: max scaled err ${worst.toExponential(2)}`);
      expect(worst).toBeLessThan(1e-6);
    });
  }

  it('M or N = 0 is a no-op; K = 0 gives beta * C', () => {
    const A = new Float32Array(4);
    const B = new Float32Array(4);
    const C = new Float32Array([1, 2, 3, 4]);
    sgemm(false, false, 0, 2, 2, 1, A, 0, 2, B, 0, 2, 0, C, 0, 2);
    sgemm(false, false, 2, 0, 2, 1, A, 0, 2, B, 0, 2, 0, C, 0, 2);
    expect(Array.from(C)).toEqual([1, 2, 3, 4]);
    sgemm(false, false, 2, 2, 0, 1, A, 0, 2, B, 0, 2, 0.5, C, 0, 2);
    expect(Array.from(C)).toEqual([0.5, 1, 1.5, 2]);
  });
});
