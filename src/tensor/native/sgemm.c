/*
 * The matrix multiply of the WebAssembly kernels (sgemm in src/tensor/wasm/kernels.ts, same contract:
 * C[M x N] = alpha * op(A) * op(B) + beta * C, row-major, beta = 0: C is write-only) for AVX2 + FMA,
 * on the wasm kernels' memory. Same blocking (K slices of 256, A blocks of up to 128 rows, B blocks
 * of 512 columns, packed into the wasm module's own scratch at `scratch`), with a 6 x 16 register
 * tile: 12 accumulators of 8 floats keep both FMA pipes busy.
 * Results depend only on the shapes (deterministic).
 */
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "kernels.h"

#define MR 6
#define NR 16
#define KC 256
#define MC 126 /* a multiple of MR within the wasm module's 128-row packA */
#define NC 512

static void scaleMatrix(int M, int N, float beta, float *C, int ldc) {
  for (int i = 0; i < M; i++) {
    float *row = C + (size_t)i * ldc;
    if (beta == 0) memset(row, 0, (size_t)N * 4);
    else for (int j = 0; j < N; j++) row[j] *= beta;
  }
}

/* dst[k][r] = src[r][k] for an 8x8 block (rows ld / dstLd floats apart). */
static inline void transpose8(const float *src, int ld, float *dst, int dstLd) {
  __m256 r0 = _mm256_loadu_ps(src), r1 = _mm256_loadu_ps(src + ld), r2 = _mm256_loadu_ps(src + 2 * (size_t)ld), r3 = _mm256_loadu_ps(src + 3 * (size_t)ld);
  __m256 r4 = _mm256_loadu_ps(src + 4 * (size_t)ld), r5 = _mm256_loadu_ps(src + 5 * (size_t)ld), r6 = _mm256_loadu_ps(src + 6 * (size_t)ld), r7 = _mm256_loadu_ps(src + 7 * (size_t)ld);
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5), t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  r0 = _mm256_shuffle_ps(t0, t2, 0x44); r1 = _mm256_shuffle_ps(t0, t2, 0xEE); r2 = _mm256_shuffle_ps(t1, t3, 0x44); r3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  r4 = _mm256_shuffle_ps(t4, t6, 0x44); r5 = _mm256_shuffle_ps(t4, t6, 0xEE); r6 = _mm256_shuffle_ps(t5, t7, 0x44); r7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  _mm256_storeu_ps(dst, _mm256_permute2f128_ps(r0, r4, 0x20));
  _mm256_storeu_ps(dst + dstLd, _mm256_permute2f128_ps(r1, r5, 0x20));
  _mm256_storeu_ps(dst + 2 * (size_t)dstLd, _mm256_permute2f128_ps(r2, r6, 0x20));
  _mm256_storeu_ps(dst + 3 * (size_t)dstLd, _mm256_permute2f128_ps(r3, r7, 0x20));
  _mm256_storeu_ps(dst + 4 * (size_t)dstLd, _mm256_permute2f128_ps(r0, r4, 0x31));
  _mm256_storeu_ps(dst + 5 * (size_t)dstLd, _mm256_permute2f128_ps(r1, r5, 0x31));
  _mm256_storeu_ps(dst + 6 * (size_t)dstLd, _mm256_permute2f128_ps(r2, r6, 0x31));
  _mm256_storeu_ps(dst + 7 * (size_t)dstLd, _mm256_permute2f128_ps(r3, r7, 0x31));
}

/* op(B)[pc .. pc+kc][jc .. jc+nc] into panels of NR columns [kc][NR], zero beyond nc. */
static void packB(int transB, const float *B, int ldb, int pc, int jc, int nc, int kc, float *dst) {
  for (int jr = 0; jr < nc; jr += NR) {
    const int nb = nc - jr < NR ? nc - jr : NR;
    float *panel = dst + (size_t)jr * kc;
    if (!transB) {
      for (int k = 0; k < kc; k++) {
        const float *src = B + (size_t)(pc + k) * ldb + jc + jr;
        float *d = panel + (size_t)k * NR;
        if (nb == NR) {
          _mm256_storeu_ps(d, _mm256_loadu_ps(src));
          _mm256_storeu_ps(d + 8, _mm256_loadu_ps(src + 8));
        } else {
          for (int c = 0; c < NR; c++) d[c] = c < nb ? src[c] : 0.0f;
        }
      }
    } else {
      if (nb < NR) memset(panel, 0, (size_t)kc * NR * 4);
      /* 8 rows of B by 8 of k at a time: one 8x8 transpose instead of 64 strided stores. */
      int c = 0;
      for (; c + 8 <= nb; c += 8) {
        const float *src = B + (size_t)(jc + jr + c) * ldb + pc;
        int k = 0;
        for (; k + 8 <= kc; k += 8) transpose8(src + k, ldb, panel + (size_t)k * NR + c, NR);
        for (; k < kc; k++) for (int r = 0; r < 8; r++) panel[(size_t)k * NR + c + r] = src[(size_t)r * ldb + k];
      }
      for (; c < nb; c++) {
        const float *src = B + (size_t)(jc + jr + c) * ldb + pc;
        for (int k = 0; k < kc; k++) panel[(size_t)k * NR + c] = src[k];
      }
    }
  }
}

/* op(A)[ic .. ic+mc][pc .. pc+kc] into panels of MR rows [kc][MR], zero beyond mc. */
static void packA(int transA, const float *A, int lda, int ic, int pc, int mc, int kc, float *dst) {
  for (int ir = 0; ir < mc; ir += MR) {
    const int mb = mc - ir < MR ? mc - ir : MR;
    float *panel = dst + (size_t)ir * kc;
    if (mb < MR) memset(panel, 0, (size_t)kc * MR * 4);
    if (!transA) {
      for (int r = 0; r < mb; r++) {
        const float *src = A + (size_t)(ic + ir + r) * lda + pc;
        for (int k = 0; k < kc; k++) panel[(size_t)k * MR + r] = src[k];
      }
    } else {
      for (int k = 0; k < kc; k++) {
        const float *src = A + (size_t)(pc + k) * lda + ic + ir;
        float *d = panel + (size_t)k * MR;
        for (int r = 0; r < mb; r++) d[r] = src[r];
      }
    }
  }
}

/* C[mb x nb] += alpha * (panel a [kc][MR]) * (panel b [kc][NR]). */
static inline void micro(int kc, const float *a, const float *b, float alpha, float *C, int ldc, int mb, int nb) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(), c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (int k = 0; k < kc; k++) {
    const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
    FMA_ROW16(0);
    FMA_ROW16(1);
    FMA_ROW16(2);
    FMA_ROW16(3);
    FMA_ROW16(4);
    FMA_ROW16(5);
    a += MR;
    b += NR;
  }
  const __m256 al = _mm256_set1_ps(alpha);
  if (mb == MR && nb == NR) {
    __m256 acc[MR][2] = { { c00, c01 }, { c10, c11 }, { c20, c21 }, { c30, c31 }, { c40, c41 }, { c50, c51 } };
    for (int r = 0; r < MR; r++) {
      float *row = C + (size_t)r * ldc;
      _mm256_storeu_ps(row, _mm256_fmadd_ps(al, acc[r][0], _mm256_loadu_ps(row)));
      _mm256_storeu_ps(row + 8, _mm256_fmadd_ps(al, acc[r][1], _mm256_loadu_ps(row + 8)));
    }
    return;
  }
  _Alignas(32) float tile[MR][NR];
  _mm256_store_ps(tile[0], c00); _mm256_store_ps(tile[0] + 8, c01);
  _mm256_store_ps(tile[1], c10); _mm256_store_ps(tile[1] + 8, c11);
  _mm256_store_ps(tile[2], c20); _mm256_store_ps(tile[2] + 8, c21);
  _mm256_store_ps(tile[3], c30); _mm256_store_ps(tile[3] + 8, c31);
  _mm256_store_ps(tile[4], c40); _mm256_store_ps(tile[4] + 8, c41);
  _mm256_store_ps(tile[5], c50); _mm256_store_ps(tile[5] + 8, c51);
  for (int r = 0; r < mb; r++) {
    float *row = C + (size_t)r * ldc;
    for (int c = 0; c < nb; c++) row[c] = __builtin_fmaf(alpha, tile[r][c], row[c]);
  }
}

void nativeSgemm(char *mem, uint32_t scratch, int transA, int transB, int M, int N, int K, float alpha,
  uint32_t A, int lda, uint32_t B, int ldb, float beta, uint32_t C, int ldc) {
  if (M <= 0 || N <= 0) return;
  float *c0 = (float *)(mem + C);
  if (beta != 1) scaleMatrix(M, N, beta, c0, ldc);
  if (K <= 0 || alpha == 0) return;
  const float *a0 = (const float *)(mem + A), *b0 = (const float *)(mem + B);
  /* The wasm module's scratch: packA (128 x 256 floats), then packB (256 x 512). */
  float *pa = (float *)(mem + scratch), *pb = pa + 128 * KC;
  for (int jc = 0; jc < N; jc += NC) {
    const int nc = N - jc < NC ? N - jc : NC;
    for (int pc = 0; pc < K; pc += KC) {
      const int kc = K - pc < KC ? K - pc : KC;
      packB(transB, b0, ldb, pc, jc, nc, kc, pb);
      for (int ic = 0; ic < M; ic += MC) {
        const int mc = M - ic < MC ? M - ic : MC;
        packA(transA, a0, lda, ic, pc, mc, kc, pa);
        for (int jr = 0; jr < nc; jr += NR) {
          const int nb = nc - jr < NR ? nc - jr : NR;
          for (int ir = 0; ir < mc; ir += MR) {
            const int mb = mc - ir < MR ? mc - ir : MR;
            micro(kc, pa + (size_t)ir * kc, pb + (size_t)jr * kc, alpha, c0 + (size_t)(ic + ir) * ldc + jc + jr, ldc, mb, nb);
          }
        }
      }
    }
  }
}
