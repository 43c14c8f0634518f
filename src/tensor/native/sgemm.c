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

/* The 8x8 block in r[0..7] (one row each) transposed in place. */
static inline void transpose8x8(__m256 r[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]), t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]), t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE), u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE), u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
  r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
  r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

/* dst[k][r] = src[r][k] for an 8x8 block (rows ld / dstLd floats apart). */
static inline void transpose8(const float *src, int ld, float *dst, int dstLd) {
  __m256 r[8];
  for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(src + (size_t)i * ld);
  transpose8x8(r);
  for (int i = 0; i < 8; i++) _mm256_storeu_ps(dst + (size_t)i * dstLd, r[i]);
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
      const float *src = A + (size_t)(ic + ir) * lda + pc;
      int k = 0;
      if (mb == MR) {
        /* 8 k at a time: the 6 rows (and two zero ones) transposed; each k's 6 floats stored in order. */
        for (; k + 8 <= kc; k += 8) {
          __m256 r[8];
          for (int i = 0; i < MR; i++) r[i] = _mm256_loadu_ps(src + (size_t)i * lda + k);
          r[6] = r[7] = _mm256_setzero_ps();
          transpose8x8(r);
          for (int i = 0; i < 8; i++) {
            float *d = panel + (size_t)(k + i) * MR;
            _mm_storeu_ps(d, _mm256_castps256_ps128(r[i]));
            _mm_storel_pi((__m64 *)(d + 4), _mm256_extractf128_ps(r[i], 1));
          }
        }
      }
      for (int r = 0; r < mb; r++) {
        for (int kk = k; kk < kc; kk++) panel[(size_t)kk * MR + r] = src[(size_t)r * lda + kk];
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

/* C[mb x nb] += alpha * (panel a [kc][MR]) * (panel b [kc][NR]); with overwrite, C = alpha * (a * b). */
static inline void micro(int kc, const float *a, const float *b, float alpha, float *C, int ldc, int mb, int nb, int overwrite) {
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
      if (overwrite) {
        _mm256_storeu_ps(row, _mm256_mul_ps(al, acc[r][0]));
        _mm256_storeu_ps(row + 8, _mm256_mul_ps(al, acc[r][1]));
      } else {
        _mm256_storeu_ps(row, _mm256_fmadd_ps(al, acc[r][0], _mm256_loadu_ps(row)));
        _mm256_storeu_ps(row + 8, _mm256_fmadd_ps(al, acc[r][1], _mm256_loadu_ps(row + 8)));
      }
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
    for (int c = 0; c < nb; c++) row[c] = overwrite ? alpha * tile[r][c] : __builtin_fmaf(alpha, tile[r][c], row[c]);
  }
}

void nativeSgemm(char *mem, uint32_t scratch, int transA, int transB, int M, int N, int K, float alpha,
  uint32_t A, int lda, uint32_t B, int ldb, float beta, uint32_t C, int ldc) {
  if (M <= 0 || N <= 0) return;
  float *c0 = (float *)(mem + C);
  /* beta = 0 and one K slice: the register tiles store C instead of zeroing it and adding (the same values). */
  const int overwrite = beta == 0 && K > 0 && K <= KC && alpha != 0;
  if (beta != 1 && !overwrite) scaleMatrix(M, N, beta, c0, ldc);
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
            micro(kc, pa + (size_t)ir * kc, pb + (size_t)jr * kc, alpha, c0 + (size_t)(ic + ir) * ldc + jc + jr, ldc, mb, nb, overwrite);
          }
        }
      }
    }
  }
}
