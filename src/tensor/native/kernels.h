/* The native kernels (winograd4.c, sgemm.c, im2col.c, norm.c, update.c): arguments as the wasm kernels of the same name, addresses relative to mem (the wasm memory). */
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

/* norm.c: batch norm, ReLU and add (the wasm kernels of the same names). */
void nativeReluForward(char *mem, uint32_t input, uint32_t out, int count);
void nativeReluBackward(char *mem, uint32_t out, uint32_t outGrad, uint32_t inGrad, int count);
void nativeAddTwo(char *mem, int count, uint32_t a, uint32_t b, uint32_t out);
/* relu = 1 / reluOut != 0: fused with the ReLU after it (forward writes only the ReLU's output; backward reads its gradient). */
void nativeBatchNormForwardTrain(char *mem, int n, int channels, int spatial, uint32_t input, uint32_t gamma, uint32_t beta, double eps,
  uint32_t mean, uint32_t variance, uint32_t invStd, uint32_t out, int relu);
void nativeChannelScaleShift(char *mem, int n, int channels, int spatial, uint32_t input, uint32_t scale, uint32_t shift, uint32_t out, int relu);
void nativeBatchNormBackward(char *mem, int n, int channels, int spatial, int training,
  uint32_t input, uint32_t gamma, uint32_t mean, uint32_t invStd, uint32_t dy, uint32_t dx, uint32_t sums, uint32_t reluOut);
void nativeAddRelu(char *mem, int count, uint32_t a, uint32_t b, uint32_t out);

/* update.c: the optimizer's SGD / Nesterov step (decaySums: [sum |p|, sum p^2] before it) and dst += src. */
void nativeSgdStep(float *params, float *grads, float *gsum, int count, double lr, double mom, double l1, double l2, double wd, double invBatch,
  int nesterov, double *decaySums);
void nativeAddInto(float *dst, const float *src, int count);

#endif
