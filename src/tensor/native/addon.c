/*
 * The Node-API entry points of cnnviz's native kernels (loaded by src/tensor/native.ts). Every kernel
 * takes the WebAssembly kernels' memory (its ArrayBuffer) and then the wasm kernel's own arguments,
 * byte addresses in that memory. `supported` says whether this CPU runs the kernels (AVX2 and FMA);
 * nothing else may be called when it is false. Context-aware (NAPI_MODULE_INIT), so worker threads
 * load it too; the kernels keep no state between calls.
 */
#include <node_api.h>
#include <stdint.h>
#include "kernels.h"

#define MAX_ARGS 24

/*
 * The memory's bytes and the arguments after it: integers into out, except those whose bit is set in
 * `floats`, which go to real; NULL (with a JS exception) when they are wrong.
 */
static char *args(napi_env env, napi_callback_info info, size_t want, int32_t *out, uint32_t floats, float *real) {
  size_t argc = MAX_ARGS;
  napi_value argv[MAX_ARGS];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc != want + 1) {
    napi_throw_type_error(env, NULL, "native kernel: wrong number of arguments");
    return NULL;
  }
  void *data = NULL;
  size_t length = 0;
  bool isBuffer = false;
  napi_is_arraybuffer(env, argv[0], &isBuffer);
  if (!isBuffer || napi_get_arraybuffer_info(env, argv[0], &data, &length) != napi_ok || data == NULL) {
    napi_throw_type_error(env, NULL, "native kernel: the first argument must be the kernels' memory (an ArrayBuffer)");
    return NULL;
  }
  for (size_t i = 0; i < want; i++) {
    if (floats & (1u << i)) {
      double v = 0;
      if (napi_get_value_double(env, argv[i + 1], &v) != napi_ok) {
        napi_throw_type_error(env, NULL, "native kernel: arguments after the memory must be numbers");
        return NULL;
      }
      real[i] = (float)v;
      out[i] = 0;
      continue;
    }
    if (napi_get_value_int32(env, argv[i + 1], &out[i]) != napi_ok) {
      napi_throw_type_error(env, NULL, "native kernel: arguments after the memory must be numbers");
      return NULL;
    }
    /* Addresses are unsigned 32-bit (wasm32); a negative or out-of-memory one is a caller's bug. */
    if (out[i] < 0 || (size_t)out[i] > length) {
      napi_throw_range_error(env, NULL, "native kernel: an argument is outside the kernels' memory");
      return NULL;
    }
  }
  return (char *)data;
}

static napi_value winograd4Forward(napi_env env, napi_callback_info info) {
  int32_t a[17];
  char *mem = args(env, info, 17, a, 0, NULL);
  if (mem) nativeWinograd4Forward(mem, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15], a[16]);
  return NULL;
}

static napi_value winograd4Backward(napi_env env, napi_callback_info info) {
  int32_t a[22];
  char *mem = args(env, info, 22, a, 0, NULL);
  if (mem) {
    nativeWinograd4Backward(mem, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15],
      a[16], a[17], a[18], a[19], a[20], a[21]);
  }
  return NULL;
}

/* sgemm(memory, scratch, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc). */
static napi_value sgemm(napi_env env, napi_callback_info info) {
  int32_t a[14];
  float r[14];
  char *mem = args(env, info, 14, a, (1u << 6) | (1u << 11), r);
  if (mem) nativeSgemm(mem, a[0], a[1], a[2], a[3], a[4], a[5], r[6], a[7], a[8], a[9], a[10], r[11], a[12], a[13]);
  return NULL;
}

/* im2col / col2imAdd (im2col.c): the wasm kernels' 12 arguments. */
static napi_value im2col(napi_env env, napi_callback_info info) {
  int32_t a[12];
  char *mem = args(env, info, 12, a, 0, NULL);
  if (mem) nativeIm2col(mem, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11]);
  return NULL;
}

static napi_value col2imAdd(napi_env env, napi_callback_info info) {
  int32_t a[12];
  char *mem = args(env, info, 12, a, 0, NULL);
  if (mem) nativeCol2imAdd(mem, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11]);
  return NULL;
}

static int cpuSupported(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return 0;
#endif
}

NAPI_MODULE_INIT() {
  napi_value supported, fn;
  napi_get_boolean(env, cpuSupported(), &supported);
  napi_set_named_property(env, exports, "supported", supported);
  napi_create_function(env, "winograd4Forward", NAPI_AUTO_LENGTH, winograd4Forward, NULL, &fn);
  napi_set_named_property(env, exports, "winograd4Forward", fn);
  napi_create_function(env, "winograd4Backward", NAPI_AUTO_LENGTH, winograd4Backward, NULL, &fn);
  napi_set_named_property(env, exports, "winograd4Backward", fn);
  napi_create_function(env, "sgemm", NAPI_AUTO_LENGTH, sgemm, NULL, &fn);
  napi_set_named_property(env, exports, "sgemm", fn);
  napi_create_function(env, "im2col", NAPI_AUTO_LENGTH, im2col, NULL, &fn);
  napi_set_named_property(env, exports, "im2col", fn);
  napi_create_function(env, "col2imAdd", NAPI_AUTO_LENGTH, col2imAdd, NULL, &fn);
  napi_set_named_property(env, exports, "col2imAdd", fn);
  return exports;
}
