/*
 * im2col and col2imAdd of the WebAssembly kernels (src/tensor/wasm/kernels.ts, same contract: one
 * sample, NCHW, zero padding `pad` on every side, col rows (c, ky, kx) of outH * outW at stride ldcol)
 * for AVX2, on the wasm kernels' memory. The wasm versions gather a strided convolution's inputs one
 * float at a time; here each input channel is copied once into a zero-bordered plane, so every
 * (ky, kx, output row) is a branch-free run, and stride 2 (resnets' downsampling convs) takes 8 outputs
 * per two loads and a shuffle (strided-rows.h). col2imAdd sums a channel's contributions in such a plane,
 * then adds it into the gradient. Summation order depends only on the shapes (deterministic).
 */
#include <immintrin.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "kernels.h"

/* Floats past a padded plane that the stride-2 row steps may touch; planes up to STACK_PLANE floats on the stack. */
#define ROW_SLACK 32
#define STACK_PLANE 8192

/*
 * dst[ox] = row[ox * stride] for ox < count (row: a padded row, at the kernel column's offset). The
 * stride-2 step reads one float past the last one it uses: the planes below leave slack there.
 */
static inline void gatherRow(float *dst, const float *row, int stride, int count) {
  int ox = 0;
  if (stride == 1) {
    memcpy(dst, row, (size_t)count * sizeof(float));
    return;
  }
  if (stride == 2) {
    for (; ox + 8 <= count; ox += 8) {
      const float *s = row + 2 * ox;
      /* [a0 a2 b0 b2 | a4 a6 b4 b6], then the 64-bit lanes reordered to [a0 a2 a4 a6 | b0 b2 b4 b6]. */
      const __m256 even = _mm256_shuffle_ps(_mm256_loadu_ps(s), _mm256_loadu_ps(s + 8), 0x88);
      _mm256_storeu_ps(dst + ox, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(even), 0xD8)));
    }
  }
  for (; ox < count; ox++) dst[ox] = row[ox * stride];
}

/* row[ox * stride] += src[ox] for ox < count (stride 2: adding zeros in between, and one float past the last). */
static inline void scatterAddRow(float *row, const float *src, int stride, int count) {
  int ox = 0;
  if (stride == 1) {
    for (; ox + 8 <= count; ox += 8) _mm256_storeu_ps(row + ox, _mm256_add_ps(_mm256_loadu_ps(row + ox), _mm256_loadu_ps(src + ox)));
  } else if (stride == 2) {
    const __m256 zero = _mm256_setzero_ps();
    for (; ox + 8 <= count; ox += 8) {
      /* [v0 v1 v4 v5 | v2 v3 v6 v7], interleaved with zeros: [v0 0 v1 0 v2 0 v3 0] and [v4 0 .. v7 0]. */
      const __m256 v = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_loadu_ps(src + ox)), 0xD8));
      float *d = row + 2 * ox;
      _mm256_storeu_ps(d, _mm256_add_ps(_mm256_loadu_ps(d), _mm256_unpacklo_ps(v, zero)));
      _mm256_storeu_ps(d + 8, _mm256_add_ps(_mm256_loadu_ps(d + 8), _mm256_unpackhi_ps(v, zero)));
    }
  }
  for (; ox < count; ox++) row[ox * stride] += src[ox];
}

void nativeIm2col(char *mem, int inC, int inH, int inW, int kH, int kW, int stride, int pad, int outH, int outW,
  uint32_t input, uint32_t col, int ldcol) {
  const float *x = (const float *)(mem + input);
  float *cols = (float *)(mem + col);
  /*
   * One channel at a time in a zero-bordered plane (borders zeroed once, the interior rewritten): the
   * whole plane is copied before any gather reads it, so no load waits on a just-stored row.
   */
  const int pw = inW + 2 * pad, ph = inH + 2 * pad;
  const int len = ph * pw + ROW_SLACK;
  float stack[STACK_PLANE];
  float *plane = len <= STACK_PLANE ? stack : (float *)malloc((size_t)len * sizeof(float));
  if (!plane) abort();
  memset(plane, 0, (size_t)len * sizeof(float));
  for (int c = 0; c < inC; c++) {
    for (int y = 0; y < inH; y++) memcpy(plane + (size_t)(y + pad) * pw + pad, x + ((size_t)c * inH + y) * inW, (size_t)inW * sizeof(float));
    for (int ky = 0; ky < kH; ky++) {
      for (int kx = 0; kx < kW; kx++) {
        float *dst = cols + (size_t)((c * kH + ky) * kW + kx) * ldcol;
        for (int oy = 0; oy < outH; oy++) gatherRow(dst + (size_t)oy * outW, plane + (size_t)(oy * stride + ky) * pw + kx, stride, outW);
      }
    }
  }
  if (plane != stack) free(plane);
}

void nativeCol2imAdd(char *mem, int inC, int inH, int inW, int kH, int kW, int stride, int pad, int outH, int outW,
  uint32_t col, int ldcol, uint32_t grad) {
  const float *cols = (const float *)(mem + col);
  float *g = (float *)(mem + grad);
  /* One channel's zero-bordered gradient plane, rows of pw floats (the last row with the slack). */
  const int pw = inW + 2 * pad, ph = inH + 2 * pad;
  const int len = ph * pw + ROW_SLACK;
  float stack[STACK_PLANE];
  float *acc = len <= STACK_PLANE ? stack : (float *)malloc((size_t)len * sizeof(float));
  if (!acc) abort();
  for (int c = 0; c < inC; c++) {
    memset(acc, 0, (size_t)len * sizeof(float));
    for (int ky = 0; ky < kH; ky++) {
      for (int kx = 0; kx < kW; kx++) {
        const float *src = cols + (size_t)((c * kH + ky) * kW + kx) * ldcol;
        for (int oy = 0; oy < outH; oy++) scatterAddRow(acc + (size_t)(oy * stride + ky) * pw + kx, src + (size_t)oy * outW, stride, outW);
      }
    }
    for (int iy = 0; iy < inH; iy++) {
      float *dst = g + ((size_t)c * inH + iy) * inW;
      const float *a = acc + (size_t)(iy + pad) * pw + pad;
      int ix = 0;
      for (; ix + 8 <= inW; ix += 8) _mm256_storeu_ps(dst + ix, _mm256_add_ps(_mm256_loadu_ps(dst + ix), _mm256_loadu_ps(a + ix)));
      for (; ix < inW; ix++) dst[ix] += a[ix];
    }
  }
  if (acc != stack) free(acc);
}
