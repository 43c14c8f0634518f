/*
 * Winograd F(4x4, 3x3) convolution, forward and backward, for x86-64 with AVX2 and FMA: the same
 * algorithm, arguments, buffers and layouts as src/tensor/wasm/winograd4.ts (read its comments first),
 * run on the WebAssembly kernels' memory (`mem`: the wasm Memory's bytes; every pointer argument is a
 * byte address in it). Where it differs: the tile transforms and the weight transform take 256-bit
 * vectors (two of that file's 4-tile groups per vector, see inputTile8), the batched products
 * (chunkGemm, filterGradChunk) 256-bit registers and both FMA pipes, which the 128-bit wasm SIMD
 * cannot, and the forward's patches are not kept for the backward (see nativeWinograd4Forward).
 * Scratch that the wasm module keeps in static memory is on the stack here: worker threads run this
 * code at the same time, each on its own memory.
 * Sums run in an order fixed by the shapes and the chunk size, so results do not depend on the thread.
 */
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "kernels.h"

typedef __m128 v4;
typedef char *ptr;

static inline v4 LD(const char *p) { return _mm_loadu_ps((const float *)p); }
static inline void ST(char *p, v4 v) { _mm_storeu_ps((float *)p, v); }
static inline float *F(char *p) { return (float *)p; }
#define SPL(x) _mm_set1_ps((float)(x))
#define SHUF(a, b, i, j, k, l) ((v4)__builtin_shufflevector((v4)(a), (v4)(b), i, j, k, l))

/* Bytes between the planes of a transformed chunk (xiStride in winograd.ts). */
static inline size_t xiStride(int rows, int tcap) { return (size_t)(rows * tcap + 16) * 4; }

static inline size_t tileRowOffset(int gr, int tilesH, int tile, int channels, size_t planeBytes, size_t rowBytes) {
  const int b = gr / tilesH;
  return (size_t)(b * channels) * planeBytes + (size_t)(tile * (gr - b * tilesH)) * rowBytes;
}

static inline int pairs(int W) { return W == 8; }
static inline int bandRows(int W) { return pairs(W) ? 8 : 4; }
static inline int bandTiles(int W) { return pairs(W) ? 4 : W >> 2; }
static inline size_t groupB(int W, size_t rowBytes) { return pairs(W) ? 4 * rowBytes : 32; }
static inline size_t stripRowBytes(int W) { return (size_t)(W + 4) * 4; }

static inline void transpose4(v4 a, v4 b, v4 c, v4 d, ptr dstA, ptr dstB) {
  const v4 t0 = SHUF(a, b, 0, 4, 1, 5), t1 = SHUF(a, b, 2, 6, 3, 7);
  const v4 t2 = SHUF(c, d, 0, 4, 1, 5), t3 = SHUF(c, d, 2, 6, 3, 7);
  ST(dstA, SHUF(t0, t2, 0, 1, 4, 5));
  ST(dstA + 16, SHUF(t0, t2, 2, 3, 6, 7));
  ST(dstB, SHUF(t1, t3, 0, 1, 4, 5));
  ST(dstB + 16, SHUF(t1, t3, 2, 3, 6, 7));
}

static inline void filterGradT(v4 u0, v4 u1, v4 u2, v4 u3, v4 u4, v4 u5, ptr dst, size_t s) {
  const v4 a = SPL(1.0 / 6) * (u1 + u2), b = SPL(1.0 / 24) * (u3 + u4);
  ST(dst, (SPL(0.25) * u0 - a) + b);
  ST(dst + s, SPL(1.0 / 6) * (u2 - u1) + SPL(1.0 / 12) * (u3 - u4));
  ST(dst + 2 * s, (SPL(4) * b - a) + u5);
}

/* Scratch between the row and column passes: 36 vectors. */
#define SCRATCH_FLOATS 144

static void transposeWeights(int C, int K, ptr Ufwd, ptr Ubwd) {
  const size_t xiBytes = (size_t)(K * C) * 4;
  for (int xi = 0; xi < 36; xi++) {
    const ptr f = Ufwd + (size_t)xi * xiBytes, b = Ubwd + (size_t)xi * xiBytes;
    for (int k = 0; k < K; k += 4) {
      for (int c = 0; c < C; c += 4) {
        const ptr src = f + (size_t)((k >> 2) * C + c) * 16;
        const ptr dst = b + (size_t)((c >> 2) * K + k) * 16;
        transpose4(LD(src), LD(src + 16), LD(src + 32), LD(src + 48), dst, dst + 32);
      }
    }
  }
}

static void filterGradOut(int C, int K, ptr dU, ptr dW) {
  _Alignas(32) float scratch[SCRATCH_FLOATS];
  const size_t xiBytes = (size_t)(K * C) * 4;
  const ptr h = (ptr)scratch, w = h + 288;
  for (int k = 0; k < K; k++) {
    for (int c = 0; c < C; c += 4) {
      const ptr u = dU + (size_t)(k * C + c) * 4;
      for (int j = 0; j < 6; j++) {
        const ptr x = u + (size_t)j * xiBytes;
        filterGradT(LD(x), LD(x + 6 * xiBytes), LD(x + 12 * xiBytes), LD(x + 18 * xiBytes), LD(x + 24 * xiBytes), LD(x + 30 * xiBytes),
          h + j * 16, 96);
      }
      for (int r = 0; r < 3; r++) {
        const ptr p = h + r * 96;
        filterGradT(LD(p), LD(p + 16), LD(p + 32), LD(p + 48), LD(p + 64), LD(p + 80), w + r * 48, 16);
      }
      const ptr dst = dW + (size_t)((k * C + c) * 9) * 4;
      for (int j = 0; j < 4; j++) {
        const ptr o = dst + j * 36;
        for (int t = 0; t < 9; t++) *F(o + t * 4) += *F(w + t * 16 + j * 4);
      }
    }
  }
}

/*
 * For every plane: out[m][t] = sum_j Ap[m/4][j][m%4] * B[j][t] for m < M, t < tiles rounded up to 8
 * (chunkGemm in winograd.ts). Register block: 4 rows x 16 tiles (8 accumulators, two FMA pipes busy),
 * then 4 x 8 for a last odd group of 8 tiles.
 */
static void chunkGemm(int planes, int M, int J, int tiles, ptr Ap, ptr B, ptr out, int tcap) {
  const size_t tBytes = (size_t)tcap * 4;
  for (int xi = 0; xi < planes; xi++) {
    const ptr a0 = Ap + (size_t)(xi * M * J) * 4;
    const ptr bXi = B + (size_t)xi * xiStride(J, tcap);
    const ptr oXi = out + (size_t)xi * xiStride(M, tcap);
    const int tilesR = (tiles + 7) & ~7;
    int t = 0;
    for (; t + 16 <= tilesR; t += 16) {
      for (int m = 0; m < M; m += 4) {
        const float *a = (const float *)(a0 + (size_t)(m * J) * 4);
        const float *b = (const float *)(bXi + (size_t)t * 4);
        __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
        __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(), c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
        for (int k = 0; k < J; k++) {
          const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
          FMA_ROW16(0);
          FMA_ROW16(1);
          FMA_ROW16(2);
          FMA_ROW16(3);
          a += 4;
          b += tcap;
        }
        float *o = (float *)(oXi + (size_t)m * tBytes + (size_t)t * 4);
        _mm256_storeu_ps(o, c00);
        _mm256_storeu_ps(o + 8, c01);
        o += tcap;
        _mm256_storeu_ps(o, c10);
        _mm256_storeu_ps(o + 8, c11);
        o += tcap;
        _mm256_storeu_ps(o, c20);
        _mm256_storeu_ps(o + 8, c21);
        o += tcap;
        _mm256_storeu_ps(o, c30);
        _mm256_storeu_ps(o + 8, c31);
      }
    }
    for (; t < tilesR; t += 8) {
      for (int m = 0; m < M; m += 4) {
        const float *a = (const float *)(a0 + (size_t)(m * J) * 4);
        const float *b = (const float *)(bXi + (size_t)t * 4);
        __m256 c0 = _mm256_setzero_ps(), c1 = _mm256_setzero_ps(), c2 = _mm256_setzero_ps(), c3 = _mm256_setzero_ps();
        for (int k = 0; k < J; k++) {
          const __m256 b0 = _mm256_loadu_ps(b);
          c0 = _mm256_fmadd_ps(_mm256_broadcast_ss(a), b0, c0);
          c1 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 1), b0, c1);
          c2 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 2), b0, c2);
          c3 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 3), b0, c3);
          a += 4;
          b += tcap;
        }
        float *o = (float *)(oXi + (size_t)m * tBytes + (size_t)t * 4);
        _mm256_storeu_ps(o, c0);
        _mm256_storeu_ps(o + tcap, c1);
        _mm256_storeu_ps(o + 2 * tcap, c2);
        _mm256_storeu_ps(o + 3 * tcap, c3);
      }
    }
  }
}

/* VT[xi][t][c] from V[xi][c][t] (transposePatches in winograd.ts). */
static void transposePatches(int planes, int C, int tiles, ptr V, int tcap, ptr VT) {
  const size_t tBytes = (size_t)tcap * 4, cBytes = (size_t)C * 4;
  for (int xi = 0; xi < planes; xi++) {
    const ptr v = V + (size_t)xi * xiStride(C, tcap);
    const ptr vt = VT + (size_t)(xi * tiles * C) * 4;
    for (int c = 0; c < C; c += 4) {
      const ptr r0 = v + (size_t)c * tBytes, r1 = r0 + tBytes, r2 = r1 + tBytes, r3 = r2 + tBytes;
      for (int t = 0; t < tiles; t += 4) {
        const size_t o = (size_t)t * 4;
        const v4 a = LD(r0 + o), b = LD(r1 + o), e = LD(r2 + o), f = LD(r3 + o);
        const v4 t0 = SHUF(a, b, 0, 4, 1, 5), t1 = SHUF(a, b, 2, 6, 3, 7);
        const v4 t2 = SHUF(e, f, 0, 4, 1, 5), t3 = SHUF(e, f, 2, 6, 3, 7);
        const ptr dst = vt + (size_t)t * cBytes + (size_t)c * 4;
        ST(dst, SHUF(t0, t2, 0, 1, 4, 5));
        ST(dst + cBytes, SHUF(t0, t2, 2, 3, 6, 7));
        ST(dst + 2 * cBytes, SHUF(t1, t3, 0, 1, 4, 5));
        ST(dst + 3 * cBytes, SHUF(t1, t3, 2, 3, 6, 7));
      }
    }
  }
}

/*
 * dU[xi][k][c] += sum over the chunk's tiles of Z[xi][k][t] V[xi][c][t] (filterGradChunk in winograd.ts):
 * V transposed into VT, then 4 rows k x 16 channels per register block (8 accumulators), 4 x 8 and
 * 4 x 4 blocks for the channels left over.
 */
static void filterGradChunk(int planes, int C, int K, int tiles, ptr Z, ptr V, int tcap, ptr dU, ptr VT) {
  transposePatches(planes, C, tiles, V, tcap, VT);
  for (int xi = 0; xi < planes; xi++) {
    const float *zXi = (const float *)(Z + (size_t)xi * xiStride(K, tcap));
    const float *vXi = (const float *)(VT + (size_t)(xi * tiles * C) * 4);
    float *uXi = (float *)(dU + (size_t)(xi * K * C) * 4);
    for (int k = 0; k < K; k += 4) {
      const float *z0 = zXi + (size_t)k * tcap, *z1 = z0 + tcap, *z2 = z1 + tcap, *z3 = z2 + tcap;
      float *o0 = uXi + (size_t)k * C, *o1 = o0 + C, *o2 = o1 + C, *o3 = o2 + C;
      int c = 0;
      for (; c + 16 <= C; c += 16) {
        __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
        __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(), c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
        const float *b = vXi + c;
        for (int q = 0; q < tiles; q++) {
          const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
          __m256 a = _mm256_broadcast_ss(z0 + q);
          c00 = _mm256_fmadd_ps(a, b0, c00);
          c01 = _mm256_fmadd_ps(a, b1, c01);
          a = _mm256_broadcast_ss(z1 + q);
          c10 = _mm256_fmadd_ps(a, b0, c10);
          c11 = _mm256_fmadd_ps(a, b1, c11);
          a = _mm256_broadcast_ss(z2 + q);
          c20 = _mm256_fmadd_ps(a, b0, c20);
          c21 = _mm256_fmadd_ps(a, b1, c21);
          a = _mm256_broadcast_ss(z3 + q);
          c30 = _mm256_fmadd_ps(a, b0, c30);
          c31 = _mm256_fmadd_ps(a, b1, c31);
          b += C;
        }
        _mm256_storeu_ps(o0 + c, _mm256_add_ps(_mm256_loadu_ps(o0 + c), c00));
        _mm256_storeu_ps(o0 + c + 8, _mm256_add_ps(_mm256_loadu_ps(o0 + c + 8), c01));
        _mm256_storeu_ps(o1 + c, _mm256_add_ps(_mm256_loadu_ps(o1 + c), c10));
        _mm256_storeu_ps(o1 + c + 8, _mm256_add_ps(_mm256_loadu_ps(o1 + c + 8), c11));
        _mm256_storeu_ps(o2 + c, _mm256_add_ps(_mm256_loadu_ps(o2 + c), c20));
        _mm256_storeu_ps(o2 + c + 8, _mm256_add_ps(_mm256_loadu_ps(o2 + c + 8), c21));
        _mm256_storeu_ps(o3 + c, _mm256_add_ps(_mm256_loadu_ps(o3 + c), c30));
        _mm256_storeu_ps(o3 + c + 8, _mm256_add_ps(_mm256_loadu_ps(o3 + c + 8), c31));
      }
      for (; c + 8 <= C; c += 8) {
        __m256 c0 = _mm256_setzero_ps(), c1 = _mm256_setzero_ps(), c2 = _mm256_setzero_ps(), c3 = _mm256_setzero_ps();
        const float *b = vXi + c;
        for (int q = 0; q < tiles; q++) {
          const __m256 b0 = _mm256_loadu_ps(b);
          c0 = _mm256_fmadd_ps(_mm256_broadcast_ss(z0 + q), b0, c0);
          c1 = _mm256_fmadd_ps(_mm256_broadcast_ss(z1 + q), b0, c1);
          c2 = _mm256_fmadd_ps(_mm256_broadcast_ss(z2 + q), b0, c2);
          c3 = _mm256_fmadd_ps(_mm256_broadcast_ss(z3 + q), b0, c3);
          b += C;
        }
        _mm256_storeu_ps(o0 + c, _mm256_add_ps(_mm256_loadu_ps(o0 + c), c0));
        _mm256_storeu_ps(o1 + c, _mm256_add_ps(_mm256_loadu_ps(o1 + c), c1));
        _mm256_storeu_ps(o2 + c, _mm256_add_ps(_mm256_loadu_ps(o2 + c), c2));
        _mm256_storeu_ps(o3 + c, _mm256_add_ps(_mm256_loadu_ps(o3 + c), c3));
      }
      if (c < C) {
        /* C % 8 == 4: the last 4 channels. */
        v4 c0 = _mm_setzero_ps(), c1 = _mm_setzero_ps(), c2 = _mm_setzero_ps(), c3 = _mm_setzero_ps();
        const float *b = vXi + c;
        for (int q = 0; q < tiles; q++) {
          const v4 b0 = _mm_loadu_ps(b);
          c0 = _mm_fmadd_ps(_mm_broadcast_ss(z0 + q), b0, c0);
          c1 = _mm_fmadd_ps(_mm_broadcast_ss(z1 + q), b0, c1);
          c2 = _mm_fmadd_ps(_mm_broadcast_ss(z2 + q), b0, c2);
          c3 = _mm_fmadd_ps(_mm_broadcast_ss(z3 + q), b0, c3);
          b += C;
        }
        _mm_storeu_ps(o0 + c, _mm_add_ps(_mm_loadu_ps(o0 + c), c0));
        _mm_storeu_ps(o1 + c, _mm_add_ps(_mm_loadu_ps(o1 + c), c1));
        _mm_storeu_ps(o2 + c, _mm_add_ps(_mm_loadu_ps(o2 + c), c2));
        _mm_storeu_ps(o3 + c, _mm_add_ps(_mm_loadu_ps(o3 + c), c3));
      }
    }
  }
}

static inline void addRow(ptr src, ptr dst, int W) {
  for (int i = 0; i < W; i += 4) ST(dst + i * 4, LD(dst + i * 4) + LD(src + i * 4));
}

/*
 * The tile transforms, eight tiles per 256-bit vector: two groups of four tiles (the wasm path's group,
 * see the file comment of winograd4.ts), group A in the low 128-bit half and group B in the high one.
 * AVX2 shuffles stay within halves, so each half goes through the wasm path's 4-tile code unchanged
 * and the chunk layouts do not change: A and B are the consecutive groups of tiles t .. t+3 and
 * t+4 .. t+7 of a chunk, taken from two bands when a band has 4 tiles (16-wide and 8-wide planes).
 * The bands of a chunk go two at a time (one at a time for rows over 1020 wide); a group left without
 * a partner runs with B = A and writes only its own tiles.
 * Forward results are bit-identical to the 4-tile code; the input gradient of a band's rows shared
 * with the band above is summed in another order (see finishBand), within an ulp.
 */
typedef __m256 v8;

static inline v8 LD8(const char *p) { return _mm256_loadu_ps((const float *)p); }
static inline void ST8(char *p, v8 v) { _mm256_storeu_ps((float *)p, v); }
/* Low half from lo, high half from hi. */
static inline v8 LD2(const char *lo, const char *hi) { return _mm256_loadu2_m128((const float *)hi, (const float *)lo); }
#define SPL8(x) _mm256_set1_ps((float)(x))
/* Stores v, or only its low half (group A's tiles) when B is absent: its columns may be the next channel's. */
static inline void STH(char *p, v8 v, int hasB) {
  if (hasB) ST8(p, v);
  else ST(p, _mm256_castps256_ps128(v));
}
/* In each half: (a0, a1, b0, b1) and (a2, a3, b2, b3), the two steps of a 4x4 transpose after unpack. */
#define LOW2(a, b) _mm256_shuffle_ps((a), (b), 0x44)
#define HIGH2(a, b) _mm256_shuffle_ps((a), (b), 0xEE)
/* 8 floats at dstA: the low halves of r0, r1; at dstB: their high halves. */
#define STORE_HALVES(r0, r1, dstA, dstB, hasB)                  \
  do {                                                          \
    ST8((dstA), _mm256_permute2f128_ps((r0), (r1), 0x20));      \
    if (hasB) ST8((dstB), _mm256_permute2f128_ps((r0), (r1), 0x31)); \
  } while (0)

/* Scratch between the row and column passes: 36 vectors of 8. */
#define SCRATCH8_FLOATS 288

static inline void filterT8(v8 g0, v8 g1, v8 g2, ptr dst, size_t s) {
  const v8 even = g0 + g2;
  const v8 q = SPL8(1.0 / 24) * g0 + SPL8(1.0 / 6) * g2, h = SPL8(1.0 / 12) * g1;
  ST8(dst, SPL8(0.25) * g0);
  ST8(dst + s, SPL8(-1.0 / 6) * (even + g1));
  ST8(dst + 2 * s, SPL8(1.0 / 6) * (g1 - even));
  ST8(dst + 3 * s, q + h);
  ST8(dst + 4 * s, q - h);
  ST8(dst + 5 * s, g2);
}

/*
 * U = G g G^T for filters k .. k+3 (one per lane) of input channels c (low half) and c + 1 (high
 * half): their transforms are adjacent in Ufwd [36][K/4][C][4]. As packWeights in winograd4.ts,
 * two channels per 256-bit vector.
 */
static void packWeights(int C, int K, ptr W, ptr Ufwd) {
  _Alignas(32) float scratch[9 * 8 + 18 * 8];
  const ptr taps = (ptr)scratch, gg = taps + 9 * 32;
  const size_t xiBytes = (size_t)(K * C) * 4;
  const size_t kBytes = (size_t)(C * 9) * 4;
  for (int k = 0; k < K; k += 4) {
    for (int c = 0; c < C; c += 2) {
      /* Lane j of tap t = tap t of filter (k + j, c), high half (k + j, c + 1): two 4x4 transposes, then tap 8. */
      const ptr w0 = W + (size_t)((k * C + c) * 9) * 4, w1 = w0 + kBytes, w2 = w1 + kBytes, w3 = w2 + kBytes;
      for (int h = 0; h < 2; h++) {
        const size_t o = (size_t)h * 16;
        const v8 a = LD2(w0 + o, w0 + 36 + o), b = LD2(w1 + o, w1 + 36 + o), e = LD2(w2 + o, w2 + 36 + o), f = LD2(w3 + o, w3 + 36 + o);
        const v8 t0 = _mm256_unpacklo_ps(a, b), t1 = _mm256_unpackhi_ps(a, b);
        const v8 t2 = _mm256_unpacklo_ps(e, f), t3 = _mm256_unpackhi_ps(e, f);
        ST8(taps + h * 128, LOW2(t0, t2));
        ST8(taps + h * 128 + 32, HIGH2(t0, t2));
        ST8(taps + h * 128 + 64, LOW2(t1, t3));
        ST8(taps + h * 128 + 96, HIGH2(t1, t3));
      }
      ST8(taps + 256, _mm256_setr_ps(*F(w0 + 32), *F(w1 + 32), *F(w2 + 32), *F(w3 + 32), *F(w0 + 68), *F(w1 + 68), *F(w2 + 68), *F(w3 + 68)));
      /* Gg (6x3) by columns, then each row of Gg times G^T into Ufwd. */
      for (int j = 0; j < 3; j++) {
        const ptr t = taps + j * 32;
        filterT8(LD8(t), LD8(t + 96), LD8(t + 192), gg + j * 32, 96);
      }
      const ptr u = Ufwd + (size_t)((k >> 2) * C + c) * 16;
      for (int i = 0; i < 6; i++) {
        const ptr r = gg + i * 96;
        filterT8(LD8(r), LD8(r + 32), LD8(r + 64), u + (size_t)(i * 6) * xiBytes, xiBytes);
      }
    }
  }
}

static inline void inputT8(v8 d0, v8 d1, v8 d2, v8 d3, v8 d4, v8 d5, ptr dst, size_t s, int hasB) {
  const v8 p = d4 - SPL8(4) * d2, q = d3 - SPL8(4) * d1;
  const v8 r = d4 - d2, t = SPL8(2) * (d3 - d1);
  STH(dst, (SPL8(4) * d0 - SPL8(5) * d2) + d4, hasB);
  STH(dst + s, p + q, hasB);
  STH(dst + 2 * s, p - q, hasB);
  STH(dst + 3 * s, r + t, hasB);
  STH(dst + 4 * s, r - t, hasB);
  STH(dst + 5 * s, (SPL8(4) * d1 - SPL8(5) * d3) + d5, hasB);
}

static inline void inputGradT8(v8 x0, v8 x1, v8 x2, v8 x3, v8 x4, v8 x5, ptr dst, size_t s) {
  const v8 a = x1 - x2, b = x3 - x4, c = x1 + x2, e = x3 + x4;
  ST8(dst, SPL8(4) * x0);
  ST8(dst + s, SPL8(-4) * a + (SPL8(4) * x5 - SPL8(2) * b));
  ST8(dst + 2 * s, -(SPL8(5) * x0 + SPL8(4) * c) - e);
  ST8(dst + 3 * s, (a + SPL8(2) * b) - SPL8(5) * x5);
  ST8(dst + 4 * s, (x0 + c) + e);
  ST8(dst + 5 * s, x5);
}

static inline void outputT8(v8 m0, v8 m1, v8 m2, v8 m3, v8 m4, v8 m5, ptr dst, size_t s) {
  const v8 a = m1 + m2, b = m1 - m2, c = m3 + m4, e = m3 - m4;
  ST8(dst, (m0 + a) + c);
  ST8(dst + s, b + SPL8(2) * e);
  ST8(dst + 2 * s, a + SPL8(4) * c);
  ST8(dst + 3 * s, (b + SPL8(8) * e) + m5);
}

static inline void gradT8(v8 y0, v8 y1, v8 y2, v8 y3, ptr dst, size_t s, int hasB) {
  const v8 p = y0 + y2, q = y1 + y3;
  const v8 r = y0 + SPL8(4) * y2, t = SPL8(2) * y1 + SPL8(8) * y3;
  STH(dst, y0, hasB);
  STH(dst + s, p + q, hasB);
  STH(dst + 2 * s, p - q, hasB);
  STH(dst + 3 * s, r + t, hasB);
  STH(dst + 4 * s, r - t, hasB);
  STH(dst + 5 * s, y3, hasB);
}

/*
 * Where the groups of a pair of bands start: group g (0 .. 2 * groups - 1) of bands `base` (g < groups)
 * and `base + 1`, the first of its two 2-tile halves (the second is offB further).
 */
static inline ptr groupAt(ptr band0, ptr band1, int g, int groups) {
  return g < groups ? band0 + (size_t)(16 * 4 * g) : band1 + (size_t)(16 * 4 * (g - groups));
}

/*
 * Bands per step: 2 when two strips (bandRows + 2 rows of W + 4 floats each, zero borders) fit the stack
 * buffer (rows up to 1020 wide), else 1 in the caller's strip, each band's odd last group alone.
 */
#define STRIPS_STACK_BYTES 49152
static inline int bandStep(int W) { return 2 * (size_t)(bandRows(W) + 2) * stripRowBytes(W) <= STRIPS_STACK_BYTES ? 2 : 1; }

/* W floats from src to dst (W a multiple of 8). */
static inline void copyRow(ptr dst, const char *src, int W) {
  for (int i = 0; i < W; i += 8) ST8(dst + i * 4, LD8(src + i * 4));
}

/* Copies rows y0 .. y0 + bH + 1 of a plane into a strip (rows outside the plane zero). */
static inline void fillStrip(ptr strip, size_t sRow, const char *plane, int y0, int bH, int H, int W) {
  const size_t rowBytes = (size_t)W * 4;
  for (int k = 0; k < bH + 2; k++) {
    const int y = y0 + k;
    const ptr dst = strip + (size_t)k * sRow + 4;
    if (y >= 0 && y < H) copyRow(dst, plane + (size_t)y * rowBytes, W);
    else memset(dst, 0, rowBytes);
  }
}

/*
 * Asks for rows y0 .. y0 + count - 1 of a plane (those inside it) ahead of use: the transforms read a
 * band of one channel, then of the next, planes apart, which the hardware prefetchers do not foresee,
 * and the copy into a strip waited for memory (a third of the input transform's time).
 */
static inline void prefetchBytes(const char *p, size_t bytes) {
  for (const char *end = p + bytes; p < end; p += 64) _mm_prefetch(p, _MM_HINT_T0);
}
static inline void prefetchRows(const char *plane, int y0, int count, int H, size_t rowBytes) {
  const int lo = y0 < 0 ? 0 : y0, hi = y0 + count > H ? H : y0 + count;
  prefetchBytes(plane + (size_t)lo * rowBytes, (size_t)(hi - lo) * rowBytes);
}

/* V_t = B^T d_t B for 8 tiles: group A's two halves at a0, a1, group B's at b0, b1 (rows wp apart). */
static inline void inputTile8(ptr a0, ptr a1, ptr b0, ptr b1, size_t wp, ptr dst, size_t xiBytes, int hasB, ptr rp) {
  for (int i = 0; i < 6; i++) {
    const size_t o = (size_t)i * wp;
    const v8 a = LD2(a0 + o, b0 + o), b = LD2(a0 + o + 16, b0 + o + 16);
    const v8 c = LD2(a1 + o, b1 + o), e = LD2(a1 + o + 16, b1 + o + 16);
    const v8 t0 = _mm256_unpacklo_ps(a, b), t1 = _mm256_unpackhi_ps(a, b);
    const v8 t2 = _mm256_unpacklo_ps(c, e), t3 = _mm256_unpackhi_ps(c, e);
    const v8 u0 = _mm256_unpacklo_ps(b, LD2(a0 + o + 32, b0 + o + 32)), u1 = _mm256_unpacklo_ps(e, LD2(a1 + o + 32, b1 + o + 32));
    inputT8(LOW2(t0, t2), HIGH2(t0, t2), LOW2(t1, t3), HIGH2(t1, t3), LOW2(u0, u1), HIGH2(u0, u1), rp + i * 192, 32, 1);
  }
  for (int j = 0; j < 6; j++) {
    const ptr p = rp + j * 32;
    inputT8(LD8(p), LD8(p + 192), LD8(p + 384), LD8(p + 576), LD8(p + 768), LD8(p + 960), dst + (size_t)j * xiBytes, 6 * xiBytes, hasB);
  }
}

static void inputTransform(int C, int H, int W, ptr input, int gr0, int rows, ptr V, int tcap, ptr strip) {
  _Alignas(32) float scratch[SCRATCH8_FLOATS];
  _Alignas(32) char stack[STRIPS_STACK_BYTES];
  const int bH = bandRows(W), tW = bandTiles(W), bands = H / bH, groups = tW >> 2;
  const size_t sRow = stripRowBytes(W), stripBytes = (size_t)(bH + 2) * sRow;
  const size_t rowBytes = (size_t)W * 4, planeBytes = (size_t)H * rowBytes;
  const size_t xiBytes = xiStride(C, tcap);
  const size_t offB = groupB(W, sRow);
  const int step = bandStep(W);
  const ptr strip0 = step == 2 ? (ptr)stack : strip, strip1 = strip0 + stripBytes;
  memset(strip0, 0, (size_t)step * stripBytes);
  for (int r = 0; r < rows; r += step) {
    const int two = step == 2 && r + 1 < rows, total = two ? 2 * groups : groups;
    const int g0 = gr0 + r, b0 = g0 / bands, g1 = g0 + 1, b1 = g1 / bands;
    const ptr sample0 = input + (size_t)(b0 * C) * planeBytes, sample1 = input + (size_t)(b1 * C) * planeBytes;
    const int y0 = (g0 - b0 * bands) * bH - 1, y1 = (g1 - b1 * bands) * bH - 1;
    for (int c = 0; c < C; c++) {
      if (c + 1 < C) {
        prefetchRows(sample0 + (size_t)(c + 1) * planeBytes, y0, bH + 2, H, rowBytes);
        if (two) prefetchRows(sample1 + (size_t)(c + 1) * planeBytes, y1, bH + 2, H, rowBytes);
      }
      fillStrip(strip0, sRow, sample0 + (size_t)c * planeBytes, y0, bH, H, W);
      if (two) fillStrip(strip1, sRow, sample1 + (size_t)c * planeBytes, y1, bH, H, W);
      const ptr dst = V + (size_t)(c * tcap + r * tW) * 4;
      for (int g = 0; g < total; g += 2) {
        const int hasB = g + 1 < total;
        const ptr a = groupAt(strip0, strip1, g, groups), b = hasB ? groupAt(strip0, strip1, g + 1, groups) : a;
        inputTile8(a, a + offB, b, b + offB, sRow, dst + (size_t)g * 16, xiBytes, hasB, (ptr)scratch);
      }
    }
  }
}

/* Y_t = A^T M_t A + bias for 8 tiles of m into group A's rows at dA, dA + offB and B's at dB, dB + offB. */
static inline void outputTile8(ptr m, size_t xiBytes, v8 bias, ptr dA, ptr dB, size_t offB, size_t wBytes, int hasB, ptr rp) {
  const size_t s = 6 * xiBytes;
  for (int j = 0; j < 6; j++) {
    const ptr p = m + (size_t)j * xiBytes;
    outputT8(LD8(p), LD8(p + s), LD8(p + 2 * s), LD8(p + 3 * s), LD8(p + 4 * s), LD8(p + 5 * s), rp + j * 32, 192);
  }
  for (int i = 0; i < 4; i++) {
    const ptr p = rp + i * 192;
    const v8 m0 = LD8(p), m1 = LD8(p + 32), m2 = LD8(p + 64), m3 = LD8(p + 96), m4 = LD8(p + 128), m5 = LD8(p + 160);
    const v8 a = m1 + m2, b = m1 - m2, c = m3 + m4, e = m3 - m4;
    const v8 y0 = ((m0 + a) + c) + bias, y1 = (b + SPL8(2) * e) + bias, y2 = (a + SPL8(4) * c) + bias, y3 = ((b + SPL8(8) * e) + m5) + bias;
    const v8 t0 = _mm256_unpacklo_ps(y0, y1), t1 = _mm256_unpackhi_ps(y0, y1);
    const v8 t2 = _mm256_unpacklo_ps(y2, y3), t3 = _mm256_unpackhi_ps(y2, y3);
    const size_t o = (size_t)i * wBytes;
    STORE_HALVES(LOW2(t0, t2), HIGH2(t0, t2), dA + o, dB + o, hasB);
    STORE_HALVES(LOW2(t1, t3), HIGH2(t1, t3), dA + o + offB, dB + o + offB, hasB);
  }
}

/* The walk over K planes of H x W in bands, two band rows at a time, that the output and grad transforms share. */
typedef struct {
  int bH, tW, groups;
  size_t wBytes, planeBytes, xiBytes, offB;
} Bands;

static inline Bands bandsOf(int K, int H, int W, int tcap) {
  Bands b = {bandRows(W), bandTiles(W), bandTiles(W) >> 2, (size_t)W * 4, (size_t)H * W * 4, xiStride(K, tcap), groupB(W, (size_t)W * 4)};
  return b;
}

/* Band rows r and r + 1 of the chunk from tile row gr0 in `base` (row1 = row0 when r is the last); returns whether there are two. */
static inline int bandPair(const Bands *b, ptr base, int K, int H, int gr0, int r, int rows, ptr *row0, ptr *row1) {
  const int two = r + 1 < rows;
  *row0 = base + tileRowOffset(gr0 + r, H / b->bH, b->bH, K, b->planeBytes, b->wBytes);
  *row1 = two ? base + tileRowOffset(gr0 + r + 1, H / b->bH, b->bH, K, b->planeBytes, b->wBytes) : *row0;
  return two;
}

/* Prefetch channel k + 1's band rows: planes apart, unseen by the hardware prefetchers. */
static inline void prefetchNextPlane(const Bands *b, ptr row0, ptr row1, int two, int k, int K) {
  if (k + 1 >= K) return;
  prefetchBytes(row0 + (size_t)(k + 1) * b->planeBytes, (size_t)b->bH * b->wBytes);
  if (two) prefetchBytes(row1 + (size_t)(k + 1) * b->planeBytes, (size_t)b->bH * b->wBytes);
}

/* Z_t = A dY_t A^T for 8 tiles: group A's halves at a0, a1, B's at b0, b1 (rows wBytes apart). */
static inline void gradTile8(ptr a0, ptr a1, ptr b0, ptr b1, size_t wBytes, ptr dst, size_t xiBytes, int hasB, ptr rp) {
  for (int i = 0; i < 4; i++) {
    const size_t o = (size_t)i * wBytes;
    const v8 a = LD2(a0 + o, b0 + o), b = LD2(a0 + o + 16, b0 + o + 16);
    const v8 c = LD2(a1 + o, b1 + o), e = LD2(a1 + o + 16, b1 + o + 16);
    const v8 t0 = _mm256_unpacklo_ps(a, b), t1 = _mm256_unpackhi_ps(a, b);
    const v8 t2 = _mm256_unpacklo_ps(c, e), t3 = _mm256_unpackhi_ps(c, e);
    gradT8(LOW2(t0, t2), HIGH2(t0, t2), LOW2(t1, t3), HIGH2(t1, t3), rp + i * 192, 32, 1);
  }
  for (int j = 0; j < 6; j++) {
    const ptr p = rp + j * 32;
    gradT8(LD8(p), LD8(p + 192), LD8(p + 384), LD8(p + 576), dst + (size_t)j * xiBytes, 6 * xiBytes, hasB);
  }
}

/*
 * The band walk of both transforms that map chunk rows to planes: output (1) writes the planes from
 * the products M plus bias, grad (0) reads the planes dY into Z. Inlined into each with its constant,
 * so the choice costs nothing.
 */
static inline __attribute__((always_inline)) void bandTransform(int output, int K, int H, int W, ptr planes, ptr chunk, ptr bias, int gr0, int rows, int tcap) {
  _Alignas(32) float scratch[SCRATCH8_FLOATS];
  const Bands bd = bandsOf(K, H, W, tcap);
  const int groups = bd.groups;
  for (int r = 0; r < rows; r += 2) {
    ptr row0, row1;
    const int two = bandPair(&bd, planes, K, H, gr0, r, rows, &row0, &row1), total = two ? 2 * groups : groups;
    for (int k = 0; k < K; k++) {
      prefetchNextPlane(&bd, row0, row1, two, k, K);
      const size_t plane = (size_t)k * bd.planeBytes;
      const ptr tiles = chunk + (size_t)(k * tcap + r * bd.tW) * 4;
      const v8 bv = output ? _mm256_set1_ps(*F(bias + (size_t)k * 4)) : _mm256_setzero_ps();
      for (int g = 0; g < total; g += 2) {
        const int hasB = g + 1 < total;
        const ptr a = groupAt(row0, row1, g, groups) + plane, b = hasB ? groupAt(row0, row1, g + 1, groups) + plane : a;
        if (output) outputTile8(tiles + (size_t)g * 16, bd.xiBytes, bv, a, b, bd.offB, bd.wBytes, hasB, (ptr)scratch);
        else gradTile8(a, a + bd.offB, b, b + bd.offB, bd.wBytes, tiles + (size_t)g * 16, bd.xiBytes, hasB, (ptr)scratch);
      }
    }
  }
}

static void outputTransform(int K, int H, int W, ptr M, int tcap, ptr bias, int gr0, int rows, ptr out) {
  bandTransform(1, K, H, W, out, M, bias, gr0, rows, tcap);
}

static void gradTransform(int K, int H, int W, ptr dy, int gr0, int rows, ptr Z, int tcap) {
  bandTransform(0, K, H, W, dy, Z, NULL, gr0, rows, tcap);
}

/*
 * dd_t = B dV_t B^T for 8 tiles, added into strips: group A's rows at dA, dA + offB, B's at dB, dB + offB
 * (rows wp apart). Per half as inputGradTile4 in the wasm path. joined: B continues A's rows (one band
 * of 8+ tiles), so A's last tile's columns 4, 5 go into B's first lane in registers rather than as two
 * floats stored where B's vector is loaded next (a store the load cannot forward from, a stall).
 */
static inline void inputGradTile8(ptr src, size_t xiBytes, ptr dA, ptr dB, size_t offB, size_t wp, int pair, int hasB, int joined, ptr rp) {
  const size_t s = 6 * xiBytes;
  for (int j = 0; j < 6; j++) {
    const ptr p = src + (size_t)j * xiBytes;
    inputGradT8(LD8(p), LD8(p + s), LD8(p + 2 * s), LD8(p + 3 * s), LD8(p + 4 * s), LD8(p + 5 * s), rp + j * 32, 192);
  }
  const v8 zero = _mm256_setzero_ps();
  for (int i = 0; i < 6; i++) {
    const ptr p = rp + i * 192;
    const v8 x0 = LD8(p), x1 = LD8(p + 32), x2 = LD8(p + 64), x3 = LD8(p + 96), x4 = LD8(p + 128), x5 = LD8(p + 160);
    const v8 a = x1 - x2, b = x3 - x4, c = x1 + x2, e = x3 + x4;
    const v8 dd4 = (x0 + c) + e;
    /* Each tile's columns 4, 5 go into the next tile's 0, 1: the next lane (pairs: the next of 2). */
    const v8 carry4 = pair ? __builtin_shufflevector(zero, dd4, 0, 8, 0, 10, 0, 12, 0, 14)
      : joined ? __builtin_shufflevector(zero, dd4, 0, 8, 9, 10, 11, 12, 13, 14) : __builtin_shufflevector(zero, dd4, 0, 8, 9, 10, 0, 12, 13, 14);
    const v8 carry5 = pair ? __builtin_shufflevector(zero, x5, 0, 8, 0, 10, 0, 12, 0, 14)
      : joined ? __builtin_shufflevector(zero, x5, 0, 8, 9, 10, 11, 12, 13, 14) : __builtin_shufflevector(zero, x5, 0, 8, 9, 10, 0, 12, 13, 14);
    const v8 dd0 = SPL8(4) * x0 + carry4;
    const v8 dd1 = (SPL8(-4) * a + (SPL8(4) * x5 - SPL8(2) * b)) + carry5;
    const v8 dd2 = -(SPL8(5) * x0 + SPL8(4) * c) - e;
    const v8 dd3 = (a + SPL8(2) * b) - SPL8(5) * x5;
    const v8 t0 = _mm256_unpacklo_ps(dd0, dd1), t1 = _mm256_unpackhi_ps(dd0, dd1);
    const v8 t2 = _mm256_unpacklo_ps(dd2, dd3), t3 = _mm256_unpackhi_ps(dd2, dd3);
    const v8 r0 = LOW2(t0, t2), r1 = HIGH2(t0, t2), r2 = LOW2(t1, t3), r3 = HIGH2(t1, t3);
    const size_t o = (size_t)i * wp;
    const ptr a0 = dA + o, a1 = a0 + offB;
    ST8(a0, LD8(a0) + _mm256_permute2f128_ps(r0, r1, 0x20));
    ST8(a1, LD8(a1) + _mm256_permute2f128_ps(r2, r3, 0x20));
    if (pair) {
      *F(a0 + 32) += dd4[1];
      *F(a0 + 36) += x5[1];
    }
    if (!joined) {
      *F(a1 + 32) += dd4[3];
      *F(a1 + 36) += x5[3];
    }
    if (hasB) {
      const ptr b0 = dB + o, b1 = b0 + offB;
      ST8(b0, LD8(b0) + _mm256_permute2f128_ps(r0, r1, 0x31));
      ST8(b1, LD8(b1) + _mm256_permute2f128_ps(r2, r3, 0x31));
      if (pair) {
        *F(b0 + 32) += dd4[5];
        *F(b0 + 36) += x5[5];
      }
      *F(b1 + 32) += dd4[7];
      *F(b1 + 36) += x5[7];
    }
  }
}

/*
 * Adds a band's strip into dX (the rows inside the plane), after the rows carried from the band above
 * (carryIn: carried rows to add into the strip's first two; the strip already holds them when NULL),
 * and keeps its last two rows in `carried` for the band below.
 */
static inline void finishBand(ptr strip, size_t sRow, ptr plane, int band, int bands, int bH, int W, ptr carried, int carryIn) {
  const size_t rowBytes = (size_t)W * 4;
  const int y0 = band * bH - 1;
  const int last = band == bands - 1;
  if (carryIn && band > 0) {
    addRow(carried + 4, strip + 4, W);
    addRow(carried + sRow + 4, strip + sRow + 4, W);
  }
  const int done = last ? bH + 1 : bH;
  for (int k = band > 0 ? 0 : 1; k < done; k++) addRow(strip + (size_t)k * sRow + 4, plane + (size_t)(y0 + k) * rowBytes, W);
  if (!last) memcpy(carried, strip + (size_t)bH * sRow, 2 * sRow);
}

static void inputGradTransform(int C, int H, int W, ptr dV, int tcap, int gr0, int rows, ptr dX, ptr strip, ptr carry) {
  _Alignas(32) float scratch[SCRATCH8_FLOATS];
  _Alignas(32) char stack[STRIPS_STACK_BYTES];
  const int bH = bandRows(W), tW = bandTiles(W), bands = H / bH, groups = tW >> 2;
  const size_t sRow = stripRowBytes(W), stripBytes = (size_t)(bH + 2) * sRow;
  const size_t planeBytes = (size_t)H * W * 4;
  const size_t xiBytes = xiStride(C, tcap);
  const size_t offB = groupB(W, sRow);
  const int step = bandStep(W);
  const ptr strip0 = step == 2 ? (ptr)stack : strip, strip1 = strip0 + stripBytes;
  for (int r = 0; r < rows; r += step) {
    const int two = step == 2 && r + 1 < rows, total = two ? 2 * groups : groups;
    const int g0 = gr0 + r, b0 = g0 / bands, band0 = g0 - b0 * bands;
    const int g1 = g0 + 1, b1 = g1 / bands, band1 = g1 - b1 * bands;
    for (int c = 0; c < C; c++) {
      if (c + 1 < C) {
        prefetchRows(dX + (size_t)(b0 * C + c + 1) * planeBytes, band0 * bH - 1, bH + 2, H, (size_t)W * 4);
        if (two) prefetchRows(dX + (size_t)(b1 * C + c + 1) * planeBytes, band1 * bH - 1, bH + 2, H, (size_t)W * 4);
      }
      const ptr carried = carry + (size_t)(2 * c) * sRow;
      if (band0 > 0) memcpy(strip0, carried, 2 * sRow);
      else memset(strip0, 0, 2 * sRow);
      memset(strip0 + 2 * sRow, 0, (size_t)bH * sRow);
      if (two) memset(strip1, 0, stripBytes);
      const ptr src = dV + (size_t)(c * tcap + r * tW) * 4;
      for (int g = 0; g < total; g += 2) {
        const int hasB = g + 1 < total;
        const ptr a = groupAt(strip0, strip1, g, groups), b = hasB ? groupAt(strip0, strip1, g + 1, groups) : a;
        const int joined = hasB && (g + 1) % groups != 0;
        inputGradTile8(src + (size_t)g * 16, xiBytes, a, b, offB, sRow, pairs(W), hasB, joined, (ptr)scratch);
      }
      finishBand(strip0, sRow, dX + (size_t)(b0 * C + c) * planeBytes, band0, bands, bH, W, carried, 0);
      if (two) finishBand(strip1, sRow, dX + (size_t)(b1 * C + c) * planeBytes, band1, bands, bH, W, carried, 1);
    }
  }
}

/*
 * Unlike the wasm path, the forward's patches are not kept for the backward: every chunk's go into the
 * first chunk's slot of V, which stays in the L2 cache for the product that reads it, and the backward
 * transforms the input again (haveV is ignored). Kept, the whole batch's patches (2.25x the input)
 * were written out to memory and read back: resnet20's 3x3 convs, one replica, micro-batch 16,
 * forward 705-741 -> 550-560 us per image, backward 1096-1160 -> 1182-1199, 4-9% less in all.
 */
void nativeWinograd4Forward(
  char *mem, int n, int C, int H, int W, int K, uint32_t weights, uint32_t bias, uint32_t input, uint32_t out,
  uint32_t Ufwd, uint32_t Ubwd, uint32_t strip, uint32_t V, uint32_t M, int rowsPerChunk, int tcap, int packed) {
  (void)Ubwd;
  if (!(packed & 1)) packWeights(C, K, mem + weights, mem + Ufwd);
  const int totalRows = n * (H / bandRows(W));
  const int tW = bandTiles(W);
  const ptr V0 = mem + V;
  for (int gr = 0; gr < totalRows; gr += rowsPerChunk) {
    const int rows = rowsPerChunk < totalRows - gr ? rowsPerChunk : totalRows - gr;
    inputTransform(C, H, W, mem + input, gr, rows, V0, tcap, mem + strip);
    chunkGemm(36, K, C, rows * tW, mem + Ufwd, V0, mem + M, tcap);
    outputTransform(K, H, W, mem + M, tcap, mem + bias, gr, rows, mem + out);
  }
}

void nativeWinograd4Backward(
  char *mem, int n, int C, int H, int W, int K, uint32_t weights, uint32_t input, uint32_t dy, uint32_t dW, uint32_t dX,
  uint32_t Ufwd, uint32_t Ubwd, uint32_t strip, uint32_t V, int haveV, uint32_t Z, uint32_t dU, uint32_t dV, uint32_t gradStrip,
  int rowsPerChunk, int tcap, int packed) {
  (void)haveV;
  const int wantDx = dX != 0;
  if (wantDx) {
    if (!(packed & 1)) packWeights(C, K, mem + weights, mem + Ufwd);
    if (!(packed & 2)) transposeWeights(C, K, mem + Ufwd, mem + Ubwd);
  }
  memset(mem + dU, 0, (size_t)(36 * K * C) * 4);
  const ptr carry = mem + gradStrip + (size_t)(bandRows(W) + 2) * stripRowBytes(W);
  const int totalRows = n * (H / bandRows(W));
  const int tW = bandTiles(W);
  const ptr V0 = mem + V;
  for (int gr = 0; gr < totalRows; gr += rowsPerChunk) {
    const int rows = rowsPerChunk < totalRows - gr ? rowsPerChunk : totalRows - gr;
    const int tiles = rows * tW;
    inputTransform(C, H, W, mem + input, gr, rows, V0, tcap, mem + strip);
    gradTransform(K, H, W, mem + dy, gr, rows, mem + Z, tcap);
    filterGradChunk(36, C, K, tiles, mem + Z, V0, tcap, mem + dU, mem + dV);
    if (wantDx) {
      chunkGemm(36, C, K, tiles, mem + Ubwd, mem + Z, mem + dV, tcap);
      inputGradTransform(C, H, W, mem + dV, tcap, gr, rows, mem + dX, mem + gradStrip, carry);
    }
  }
  filterGradOut(C, K, mem + dU, mem + dW);
}
