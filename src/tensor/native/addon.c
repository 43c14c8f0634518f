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
static char *args(napi_env env, napi_callback_info info, size_t want, int32_t *out, uint32_t floats, double *real) {
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
      real[i] = v;
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

/* An entry point whose n arguments after the memory are integers (addresses, sizes), a[0 .. n) in `call`. */
#define MEMORY_ENTRY(name, n, call)                                  \
  static napi_value name(napi_env env, napi_callback_info info) {    \
    int32_t a[n];                                                    \
    char *mem = args(env, info, n, a, 0, NULL);                      \
    if (mem) call;                                                   \
    return NULL;                                                     \
  }

MEMORY_ENTRY(winograd4Forward, 17, nativeWinograd4Forward(mem, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15], a[16]))

MEMORY_ENTRY(winograd4Backward, 22, nativeWinograd4Backward(mem, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15], a[16], a[17], a[18], a[19], a[20], a[21]))

/* sgemm(memory, scratch, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc). */
static napi_value sgemm(napi_env env, napi_callback_info info) {
  int32_t a[14];
  double r[14];
  char *mem = args(env, info, 14, a, (1u << 6) | (1u << 11), r);
  if (mem) nativeSgemm(mem, a[0], a[1], a[2], a[3], a[4], a[5], (float)r[6], a[7], a[8], a[9], a[10], (float)r[11], a[12], a[13]);
  return NULL;
}

/* Batch norm, ReLU and add (norm.c): the wasm kernels' arguments after the memory. */
MEMORY_ENTRY(reluForward, 3, nativeReluForward(mem, a[0], a[1], a[2]))

MEMORY_ENTRY(reluBackward, 4, nativeReluBackward(mem, a[0], a[1], a[2], a[3]))

MEMORY_ENTRY(addTwo, 4, nativeAddTwo(mem, a[0], a[1], a[2], a[3]))

/* batchNormForwardTrain(memory, n, channels, spatial, input, gamma, beta, eps, mean, variance, invStd, out);
 * relu: fused with the ReLU after it, out gets only the ReLU's output. */
static napi_value batchNormTrain(napi_env env, napi_callback_info info, int relu) {
  int32_t a[11];
  double r[11];
  char *mem = args(env, info, 11, a, 1u << 6, r);
  if (mem) nativeBatchNormForwardTrain(mem, a[0], a[1], a[2], a[3], a[4], a[5], r[6], a[7], a[8], a[9], a[10], relu);
  return NULL;
}
static napi_value batchNormForwardTrain(napi_env env, napi_callback_info info) { return batchNormTrain(env, info, 0); }
static napi_value batchNormReluForwardTrain(napi_env env, napi_callback_info info) { return batchNormTrain(env, info, 1); }

MEMORY_ENTRY(channelScaleShift, 7, nativeChannelScaleShift(mem, a[0], a[1], a[2], a[3], a[4], a[5], a[6], 0))

MEMORY_ENTRY(channelScaleShiftRelu, 7, nativeChannelScaleShift(mem, a[0], a[1], a[2], a[3], a[4], a[5], a[6], 1))

MEMORY_ENTRY(batchNormBackward, 11, nativeBatchNormBackward(mem, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], 0))

/* batchNormReluBackward(memory, n, channels, spatial, training, input, gamma, mean, invStd, reluOutGrad, dx, sums, reluOut). */
MEMORY_ENTRY(batchNormReluBackward, 12, nativeBatchNormBackward(mem, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11]))

MEMORY_ENTRY(addRelu, 4, nativeAddRelu(mem, a[0], a[1], a[2], a[3]))

/* A typed array's elements (of `type`) and their count; NULL (with a JS exception) when it is not one. */
static void *typedArray(napi_env env, napi_value value, napi_typedarray_type type, size_t *count) {
  bool is = false;
  napi_typedarray_type t;
  void *data = NULL;
  if (napi_is_typedarray(env, value, &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, value, &t, count, &data, NULL, NULL) != napi_ok || t != type || (data == NULL && *count > 0)) {
    napi_throw_type_error(env, NULL, type == napi_float64_array ? "native kernel: expected a Float64Array" : "native kernel: expected a Float32Array");
    return NULL;
  }
  return data;
}

/*
 * sgdStep(params, grads, gsum: Float32Array (the range), lr, mom, l1, l2, wd, invBatch, nesterov (0/1),
 * decaySums: Float64Array(2)): the optimizer's step over equal-length ranges (update.c).
 */
static napi_value sgdStep(napi_env env, napi_callback_info info) {
  size_t argc = 11;
  napi_value argv[11];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc != 11) {
    napi_throw_type_error(env, NULL, "native kernel: wrong number of arguments");
    return NULL;
  }
  size_t np = 0, ng = 0, ns = 0, nd = 0;
  float *params = typedArray(env, argv[0], napi_float32_array, &np);
  float *grads = params ? typedArray(env, argv[1], napi_float32_array, &ng) : NULL;
  float *gsum = grads ? typedArray(env, argv[2], napi_float32_array, &ns) : NULL;
  double *sums = gsum ? typedArray(env, argv[10], napi_float64_array, &nd) : NULL;
  if (!sums) return NULL;
  if (ng != np || ns != np || nd < 2 || np > INT32_MAX) {
    napi_throw_range_error(env, NULL, "native kernel: sgdStep's arrays differ in length");
    return NULL;
  }
  double h[7];
  for (int i = 0; i < 7; i++) {
    if (napi_get_value_double(env, argv[3 + i], &h[i]) != napi_ok) {
      napi_throw_type_error(env, NULL, "native kernel: sgdStep's hyper-parameters must be numbers");
      return NULL;
    }
  }
  nativeSgdStep(params, grads, gsum, (int)np, h[0], h[1], h[2], h[3], h[4], h[5], h[6] != 0, sums);
  return NULL;
}

/* addInto(dst, src: Float32Array of one length): dst += src. */
static napi_value addInto(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  size_t nd = 0, ns = 0;
  float *dst = argc == 2 ? typedArray(env, argv[0], napi_float32_array, &nd) : NULL;
  const float *src = dst ? typedArray(env, argv[1], napi_float32_array, &ns) : NULL;
  if (!src) return NULL;
  if (nd != ns || nd > INT32_MAX) {
    napi_throw_range_error(env, NULL, "native kernel: addInto's arrays differ in length");
    return NULL;
  }
  nativeAddInto(dst, src, (int)nd);
  return NULL;
}

/* im2col / col2imAdd (im2col.c): the wasm kernels' 12 arguments. */
MEMORY_ENTRY(im2col, 12, nativeIm2col(mem, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11]))

MEMORY_ENTRY(col2imAdd, 12, nativeCol2imAdd(mem, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11]))

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
  static const struct { const char *name; napi_callback cb; } more[] = {
    {"reluForward", reluForward}, {"reluBackward", reluBackward}, {"addTwo", addTwo},
    {"batchNormForwardTrain", batchNormForwardTrain}, {"channelScaleShift", channelScaleShift}, {"batchNormBackward", batchNormBackward},
    {"batchNormReluForwardTrain", batchNormReluForwardTrain}, {"channelScaleShiftRelu", channelScaleShiftRelu},
    {"batchNormReluBackward", batchNormReluBackward}, {"addRelu", addRelu},
    {"sgdStep", sgdStep}, {"addInto", addInto},
    {"im2col", im2col}, {"col2imAdd", col2imAdd},
  };
  for (size_t i = 0; i < sizeof more / sizeof more[0]; i++) {
    napi_create_function(env, more[i].name, NAPI_AUTO_LENGTH, more[i].cb, NULL, &fn);
    napi_set_named_property(env, exports, more[i].name, fn);
  }
  return exports;
}
