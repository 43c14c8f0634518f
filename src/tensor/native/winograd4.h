/* The native Winograd F(4x4, 3x3) kernels (winograd4.c): arguments as winograd4Forward / winograd4Backward in src/tensor/wasm/winograd4.ts, addresses relative to mem. */
#ifndef CNNVIZ_WINOGRAD4_H
#define CNNVIZ_WINOGRAD4_H
#include <stdint.h>

void nativeWinograd4Forward(
  char *mem, int n, int C, int H, int W, int K, uint32_t weights, uint32_t bias, uint32_t input, uint32_t out,
  uint32_t Ufwd, uint32_t Ubwd, uint32_t strip, uint32_t V, uint32_t M, int rowsPerChunk, int tcap, int packed);

void nativeWinograd4Backward(
  char *mem, int n, int C, int H, int W, int K, uint32_t weights, uint32_t input, uint32_t dy, uint32_t dW, uint32_t dX,
  uint32_t Ufwd, uint32_t Ubwd, uint32_t strip, uint32_t V, int haveV, uint32_t Z, uint32_t dU, uint32_t dV, uint32_t gradStrip,
  int rowsPerChunk, int tcap, int packed);

#endif
