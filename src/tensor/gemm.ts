/**
 * Single-precision general matrix multiply, row-major:
 *
 *   C[M x N] = alpha * op(A)[M x K] * op(B)[K x N] + beta * C
 *
 * op(A) = A (stored M x K, row i at aOffset + i*lda) or, when transA, A^T (A stored K x M).
 * op(B) = B (stored K x N, row k at bOffset + k*ldb) or, when transB, B^T (B stored N x K).
 * C row i starts at cOffset + i*ldc. beta = 0 means C is write-only (NaN/garbage in C is ignored), as in BLAS.
 *
 * How `sgemm` is fast in plain JavaScript (the BLIS/GotoBLAS structure, cut down):
 * - Cache blocking: K is cut into KC-deep slices and M into MC-row blocks. Each (MC x KC) block of op(A) is
 *   packed once into `packA` as MR-row panels laid out k-major ([k][MR]), so the micro-kernel reads it
 *   sequentially; it stays in L2 while every column panel of B streams past it.
 * - Each NR-column panel of op(B) (KC x NR, 8 KiB, L1-resident) is read in place when B is not transposed
 *   and the panel is full (row stride ldb), otherwise it is packed into `packB` ([k][NR]).
 * - Register blocking: the micro-kernel computes an MR x NR = 4 x 8 tile of C in 32 local doubles,
 *   loading 4 values of A and 8 of B per k (12 loads for 32 multiply-adds), and touches C once per tile.
 *   (On this project's conv shapes under V8, 4x8 measured at least as fast as 4x4 and 10-30% faster
 *   than 3x4 or 2x8; packing B in every case instead of reading it in place cost 10-25%.)
 * - Edge tiles (M % 4, N % 8) use zero-padded panels and the same kernel writing into a scratch tile.
 *
 * The packing buffers are fixed-size module-level scratch (each worker thread has its own module
 * instance), so sgemm never allocates. Not re-entrant, which is fine: JavaScript is single-threaded.
 */

/** Rows of the register tile. */
const MR = 4;
/** Columns of the register tile. */
const NR = 8;
/** Depth of a K slice: an A panel is MR*KC*4 B = 4 KiB, a B panel KC*NR*4 B = 8 KiB. */
const KC = 256;
/** Rows of op(A) packed at once (MC*KC*4 B = 64 KiB, fits L2). Multiple of MR. */
const MC = 64;

const packA = new Float32Array(MC * KC);
const packB = new Float32Array(KC * NR);
const edgeTile = new Float32Array(MR * NR);

export function sgemm(
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  alpha: number,
  A: Float32Array,
  aOffset: number,
  lda: number,
  B: Float32Array,
  bOffset: number,
  ldb: number,
  beta: number,
  C: Float32Array,
  cOffset: number,
  ldc: number,
): void {
  if (M <= 0 || N <= 0) return;
  if (beta !== 1) scaleMatrix(M, N, beta, C, cOffset, ldc);
  if (K <= 0 || alpha === 0) return;

  for (let pc = 0; pc < K; pc += KC) {
    const kc = Math.min(KC, K - pc);
    for (let ic = 0; ic < M; ic += MC) {
      const mc = Math.min(MC, M - ic);
      packBlockA(transA, A, aOffset, lda, ic, pc, mc, kc);
      for (let jc = 0; jc < N; jc += NR) {
        const nb = Math.min(NR, N - jc);
        let bSrc: Float32Array;
        let bOff: number;
        let bStride: number;
        if (!transB && nb === NR) {
          bSrc = B;
          bOff = bOffset + pc * ldb + jc;
          bStride = ldb;
        } else {
          packPanelB(transB, B, bOffset, ldb, pc, jc, kc, nb);
          bSrc = packB;
          bOff = 0;
          bStride = NR;
        }
        const cRow = cOffset + ic * ldc + jc;
        for (let ir = 0; ir < mc; ir += MR) {
          const mb = Math.min(MR, mc - ir);
          if (mb === MR && nb === NR) {
            microKernel4x8(kc, packA, ir * kc, bSrc, bOff, bStride, alpha, C, cRow + ir * ldc, ldc);
          } else {
            microKernelEdge(kc, packA, ir * kc, bSrc, bOff, bStride, alpha, C, cRow + ir * ldc, ldc, mb, nb);
          }
        }
      }
    }
  }
}

/** C = beta * C on an M x N block (beta = 0 writes zeros without reading C). */
function scaleMatrix(M: number, N: number, beta: number, C: Float32Array, cOffset: number, ldc: number): void {
  for (let i = 0; i < M; i++) {
    const row = cOffset + i * ldc;
    if (beta === 0) {
      C.fill(0, row, row + N);
    } else {
      for (let j = row, end = row + N; j < end; j++) C[j] *= beta;
    }
  }
}

/**
 * Pack op(A)[ic : ic+mc, pc : pc+kc] into `packA` as ceil(mc/MR) panels, panel p at p*MR*kc,
 * element (row r of the panel, k) at p*MR*kc + k*MR + r. Rows past mc are zero.
 */
function packBlockA(
  transA: boolean,
  A: Float32Array,
  aOffset: number,
  lda: number,
  ic: number,
  pc: number,
  mc: number,
  kc: number,
): void {
  for (let ir = 0; ir < mc; ir += MR) {
    const mb = Math.min(MR, mc - ir);
    const dst = ir * kc;
    if (transA) {
      // op(A)[i, k] = A[k*lda + i]: for each k the panel's rows are contiguous in A.
      let src = aOffset + pc * lda + ic + ir;
      if (mb === MR) {
        for (let k = 0, o = dst; k < kc; k++, o += MR, src += lda) {
          packA[o] = A[src];
          packA[o + 1] = A[src + 1];
          packA[o + 2] = A[src + 2];
          packA[o + 3] = A[src + 3];
        }
      } else {
        for (let k = 0, o = dst; k < kc; k++, o += MR, src += lda) {
          for (let r = 0; r < MR; r++) packA[o + r] = r < mb ? A[src + r] : 0;
        }
      }
    } else {
      // op(A)[i, k] = A[i*lda + k]: each panel row is a contiguous run of A.
      for (let r = 0; r < MR; r++) {
        if (r < mb) {
          let src = aOffset + (ic + ir + r) * lda + pc;
          for (let k = 0, o = dst + r; k < kc; k++, o += MR) packA[o] = A[src++];
        } else {
          for (let k = 0, o = dst + r; k < kc; k++, o += MR) packA[o] = 0;
        }
      }
    }
  }
}

/** Pack op(B)[pc : pc+kc, jc : jc+nb] into `packB` as [k][NR], columns past nb zero. */
function packPanelB(
  transB: boolean,
  B: Float32Array,
  bOffset: number,
  ldb: number,
  pc: number,
  jc: number,
  kc: number,
  nb: number,
): void {
  if (nb < NR) packB.fill(0, 0, kc * NR);
  if (transB) {
    // op(B)[k, j] = B[j*ldb + k]: each panel column is a contiguous run of B.
    for (let c = 0; c < nb; c++) {
      let src = bOffset + (jc + c) * ldb + pc;
      for (let k = 0, o = c; k < kc; k++, o += NR) packB[o] = B[src++];
    }
  } else {
    let src = bOffset + pc * ldb + jc;
    for (let k = 0, o = 0; k < kc; k++, o += NR, src += ldb) {
      for (let c = 0; c < nb; c++) packB[o + c] = B[src + c];
    }
  }
}

/**
 * C[4 x 8 tile at co, row stride ldc] += alpha * Ap[4 x kc] * Bp[kc x 8].
 * Ap: packed panel at `ao`, [k][4]. Bp: at `bo`, row k at bo + k*bStride, 8 contiguous columns.
 * Deliberately branch-free apart from its loop: a rarely-taken branch here would let V8 optimise the
 * function before that branch has type feedback, deoptimise on first use and sometimes re-enter it only
 * through on-stack replacement, leaving the epilogue unoptimised (measured 3-4x slower conv backward).
 */
function microKernel4x8(
  kc: number,
  Ap: Float32Array,
  ao: number,
  Bp: Float32Array,
  bo: number,
  bStride: number,
  alpha: number,
  C: Float32Array,
  co: number,
  ldc: number,
): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c04 = 0, c05 = 0, c06 = 0, c07 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0, c14 = 0, c15 = 0, c16 = 0, c17 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c24 = 0, c25 = 0, c26 = 0, c27 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0, c34 = 0, c35 = 0, c36 = 0, c37 = 0;
  for (let k = 0; k < kc; k++) {
    const a0 = Ap[ao], a1 = Ap[ao + 1], a2 = Ap[ao + 2], a3 = Ap[ao + 3];
    ao += MR;
    let b = Bp[bo];
    c00 += a0 * b; c10 += a1 * b; c20 += a2 * b; c30 += a3 * b;
    b = Bp[bo + 1];
    c01 += a0 * b; c11 += a1 * b; c21 += a2 * b; c31 += a3 * b;
    b = Bp[bo + 2];
    c02 += a0 * b; c12 += a1 * b; c22 += a2 * b; c32 += a3 * b;
    b = Bp[bo + 3];
    c03 += a0 * b; c13 += a1 * b; c23 += a2 * b; c33 += a3 * b;
    b = Bp[bo + 4];
    c04 += a0 * b; c14 += a1 * b; c24 += a2 * b; c34 += a3 * b;
    b = Bp[bo + 5];
    c05 += a0 * b; c15 += a1 * b; c25 += a2 * b; c35 += a3 * b;
    b = Bp[bo + 6];
    c06 += a0 * b; c16 += a1 * b; c26 += a2 * b; c36 += a3 * b;
    b = Bp[bo + 7];
    c07 += a0 * b; c17 += a1 * b; c27 += a2 * b; c37 += a3 * b;
    bo += bStride;
  }
  let o = co;
  C[o] += alpha * c00; C[o + 1] += alpha * c01; C[o + 2] += alpha * c02; C[o + 3] += alpha * c03;
  C[o + 4] += alpha * c04; C[o + 5] += alpha * c05; C[o + 6] += alpha * c06; C[o + 7] += alpha * c07;
  o += ldc;
  C[o] += alpha * c10; C[o + 1] += alpha * c11; C[o + 2] += alpha * c12; C[o + 3] += alpha * c13;
  C[o + 4] += alpha * c14; C[o + 5] += alpha * c15; C[o + 6] += alpha * c16; C[o + 7] += alpha * c17;
  o += ldc;
  C[o] += alpha * c20; C[o + 1] += alpha * c21; C[o + 2] += alpha * c22; C[o + 3] += alpha * c23;
  C[o + 4] += alpha * c24; C[o + 5] += alpha * c25; C[o + 6] += alpha * c26; C[o + 7] += alpha * c27;
  o += ldc;
  C[o] += alpha * c30; C[o + 1] += alpha * c31; C[o + 2] += alpha * c32; C[o + 3] += alpha * c33;
  C[o + 4] += alpha * c34; C[o + 5] += alpha * c35; C[o + 6] += alpha * c36; C[o + 7] += alpha * c37;
}

/**
 * Edge tile (mb < 4 rows or nb < 8 columns): copy the valid mb x nb part of C into a zeroed 4 x 8
 * scratch tile, run the same micro-kernel on the tile, copy the part back. Rounding is identical to
 * the full-tile path (one float32 rounding of C + alpha * sum).
 */
function microKernelEdge(
  kc: number,
  Ap: Float32Array,
  ao: number,
  Bp: Float32Array,
  bo: number,
  bStride: number,
  alpha: number,
  C: Float32Array,
  co: number,
  ldc: number,
  mb: number,
  nb: number,
): void {
  const t = edgeTile;
  t.fill(0);
  for (let r = 0; r < mb; r++) {
    for (let c = 0, o = co + r * ldc, tr = r * NR; c < nb; c++) t[tr + c] = C[o + c];
  }
  microKernel4x8(kc, Ap, ao, Bp, bo, bStride, alpha, t, 0, NR);
  for (let r = 0; r < mb; r++) {
    for (let c = 0, o = co + r * ldc, tr = r * NR; c < nb; c++) C[o + c] = t[tr + c];
  }
}

/**
 * Naive triple loop with the same contract as `sgemm` (dot products accumulated in float64).
 * Obviously correct; used to test `sgemm` and any future WebAssembly gemm.
 */
export function sgemmReference(
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  alpha: number,
  A: Float32Array,
  aOffset: number,
  lda: number,
  B: Float32Array,
  bOffset: number,
  ldb: number,
  beta: number,
  C: Float32Array,
  cOffset: number,
  ldc: number,
): void {
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let sum = 0;
      for (let k = 0; k < K; k++) {
        const a = transA ? A[aOffset + k * lda + i] : A[aOffset + i * lda + k];
        const b = transB ? B[bOffset + j * ldb + k] : B[bOffset + k * ldb + j];
        sum += a * b;
      }
      const c = cOffset + i * ldc + j;
      C[c] = alpha * sum + (beta === 0 ? 0 : beta * C[c]);
    }
  }
}

/**
 * Run every branch of sgemm once on tiny matrices when the module loads (~0.1 ms), so V8 has type
 * feedback for all of them before it optimises the hot functions. Without this, the first optimised
 * version is built from whichever branches the first big call happened to take, and deoptimises (and
 * sometimes recompiles worse) when a transpose mode or edge tile shows up later.
 */
function primeTypeFeedback(): void {
  const A = new Float32Array(9 * 5);
  const B = new Float32Array(9 * 5);
  const C = new Float32Array(9 * 9);
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      // M = 5 (one full and one partial 4-row panel), N = 9 (one full and one partial 8-column panel).
      sgemm(transA, transB, 5, 9, 5, 1, A, 0, 5, B, 0, transB ? 5 : 9, 0, C, 0, 9);
      sgemm(transA, transB, 5, 9, 5, 0.5, A, 0, 5, B, 0, transB ? 5 : 9, 0.5, C, 0, 9);
    }
  }
}
primeTypeFeedback();

