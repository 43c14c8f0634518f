/* The native kernels (winograd4.c, sgemm.c): arguments as the wasm kernels of the same name, addresses relative to mem (the wasm memory). */
#ifndef CNNVIZ_KERNELS_H
#define CNNVIZ_KERNELS_H
#include <stdint.h>

/*
 * One row r of a 16-wide register tile, the step both gemm micro-kernels (sgemm's 6x16 and the
 * Winograd multiply's 4x16) repeat per row: c<r>0, c<r>1 += a[r] * (b0, b1). Needs immintrin.h.
 */
#define FMA_ROW16(r)                                          \
  do {                                                        \
    const __m256 av_ = _mm256_broadcast_ss(a + (r));          \
    c##r##0 = _mm256_fmadd_ps(av_, b0, c##r##0);              \
    c##r##1 = _mm256_fmadd_ps(av_, b1, c##r##1);              \
  } while (0)

void nativeWinograd4Forward(
  char *mem, int n, int C, int H, int W, int K, uint32_t weights, uint32_t bias, uint32_t input, uint32_t out,
  uint32_t Ufwd, uint32_t Ubwd, uint32_t strip, uint32_t V, uint32_t M, int rowsPerChunk, int tcap, int packed);

void nativeWinograd4Backward(
  char *mem, int n, int C, int H, int W, int K, uint32_t weights, uint32_t input, uint32_t dy, uint32_t dW, uint32_t dX,
  uint32_t Ufwd, uint32_t Ubwd, uint32_t strip, uint32_t V, int haveV, uint32_t Z, uint32_t dU, uint32_t dV, uint32_t gradStrip,
  int rowsPerChunk, int tcap, int packed);

/* scratch: the wasm module's packing buffers (its scratchFloats() floats). */
void nativeSgemm(char *mem, uint32_t scratch, int transA, int transB, int M, int N, int K, float alpha,
  uint32_t A, int lda, uint32_t B, int ldb, float beta, uint32_t C, int ldc);

/* im2col.c: one sample's unfold and fold-back-add, as the wasm kernels of the same name. */
void nativeIm2col(char *mem, int inC, int inH, int inW, int kH, int kW, int stride, int pad, int outH, int outW,
  uint32_t input, uint32_t col, int ldcol);
void nativeCol2imAdd(char *mem, int inC, int inH, int inW, int kH, int kW, int stride, int pad, int outH, int outW,
  uint32_t col, int ldcol, uint32_t grad);

#endif
