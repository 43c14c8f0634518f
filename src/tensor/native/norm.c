/*
 * Batch norm, ReLU and the add of two tensors for AVX2 + FMA: the contracts of the WebAssembly kernels
 * of the same names in src/tensor/wasm/kernels.ts (read their comments), on that module's memory.
 * These passes are bound by memory more than by arithmetic, so the gain is eight floats per
 * instruction instead of four and loops unrolled to keep two loads in flight.
 * Sums run in an order fixed by the shapes (float32 vectors within a row, float64 across rows, as the
 * wasm kernels do), so results do not depend on the thread.
 */
#include <immintrin.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include "kernels.h"

#define AT(addr) ((float *)(mem + (addr)))

static inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

void nativeReluForward(char *mem, uint32_t input, uint32_t out, int count) {
  const float *x = AT(input);
  float *y = AT(out);
  const __m256 z = _mm256_setzero_ps();
  int i = 0;
  for (; i + 16 <= count; i += 16) {
    _mm256_storeu_ps(y + i, _mm256_max_ps(_mm256_loadu_ps(x + i), z));
    _mm256_storeu_ps(y + i + 8, _mm256_max_ps(_mm256_loadu_ps(x + i + 8), z));
  }
  for (; i < count; i++) y[i] = x[i] > 0 ? x[i] : 0;
}

/* inGrad += outGrad where out > 0 (ACCUMULATED). */
void nativeReluBackward(char *mem, uint32_t out, uint32_t outGrad, uint32_t inGrad, int count) {
  const float *y = AT(out), *dy = AT(outGrad);
  float *dx = AT(inGrad);
  const __m256 z = _mm256_setzero_ps();
  int i = 0;
  for (; i + 8 <= count; i += 8) {
    const __m256 mask = _mm256_cmp_ps(_mm256_loadu_ps(y + i), z, _CMP_GT_OQ);
    _mm256_storeu_ps(dx + i, _mm256_add_ps(_mm256_loadu_ps(dx + i), _mm256_and_ps(_mm256_loadu_ps(dy + i), mask)));
  }
  for (; i < count; i++) dx[i] += y[i] > 0 ? dy[i] : 0;
}

static double rowSum(const float *p, int count) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  int i = 0;
  for (; i + 16 <= count; i += 16) {
    a0 = _mm256_add_ps(a0, _mm256_loadu_ps(p + i));
    a1 = _mm256_add_ps(a1, _mm256_loadu_ps(p + i + 8));
  }
  for (; i + 8 <= count; i += 8) a0 = _mm256_add_ps(a0, _mm256_loadu_ps(p + i));
  float s = hsum8(_mm256_add_ps(a0, a1));
  for (; i < count; i++) s += p[i];
  return s;
}

static double rowSquaredDeviations(const float *p, int count, float mu) {
  const __m256 m = _mm256_set1_ps(mu);
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  int i = 0;
  for (; i + 16 <= count; i += 16) {
    const __m256 t0 = _mm256_sub_ps(_mm256_loadu_ps(p + i), m), t1 = _mm256_sub_ps(_mm256_loadu_ps(p + i + 8), m);
    a0 = _mm256_fmadd_ps(t0, t0, a0);
    a1 = _mm256_fmadd_ps(t1, t1, a1);
  }
  for (; i + 8 <= count; i += 8) {
    const __m256 t = _mm256_sub_ps(_mm256_loadu_ps(p + i), m);
    a0 = _mm256_fmadd_ps(t, t, a0);
  }
  float s = hsum8(_mm256_add_ps(a0, a1));
  for (; i < count; i++) {
    const float t = p[i] - mu;
    s += t * t;
  }
  return s;
}

/* relu: max(y, 0), which returns its second operand (+0) for y = -0 and NaN, as reluForward does. */
static inline __m256 act(__m256 y, int relu) { return relu ? _mm256_max_ps(y, _mm256_setzero_ps()) : y; }

/* out = x * a + z over count floats; with relu, max(0, x * a + z) (a fused ReLU, as reluForward rounds it). */
static inline void scaleShiftRow(const float *x, float *o, int count, float a, float z, int relu) {
  const __m256 av = _mm256_set1_ps(a), zv = _mm256_set1_ps(z);
  int i = 0;
  for (; i + 16 <= count; i += 16) {
    _mm256_storeu_ps(o + i, act(_mm256_fmadd_ps(_mm256_loadu_ps(x + i), av, zv), relu));
    _mm256_storeu_ps(o + i + 8, act(_mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), av, zv), relu));
  }
  for (; i + 8 <= count; i += 8) _mm256_storeu_ps(o + i, act(_mm256_fmadd_ps(_mm256_loadu_ps(x + i), av, zv), relu));
  for (; i < count; i++) {
    const float y = fmaf(x[i], a, z);
    o[i] = relu ? (y > 0 ? y : 0) : y;
  }
}

/* Training forward (relu: of batch norm then ReLU, writing only the ReLU's output): per channel, mean and biased variance (two passes), invStd, then out = a x + z. */
void nativeBatchNormForwardTrain(
  char *mem, int n, int channels, int spatial, uint32_t input, uint32_t gamma, uint32_t beta, double eps,
  uint32_t mean, uint32_t variance, uint32_t invStd, uint32_t out, int relu
) {
  const size_t sample = (size_t)spatial * channels;
  const double m = (double)n * spatial;
  for (int c = 0; c < channels; c++) {
    const float *first = AT(input) + (size_t)c * spatial;
    double sum = 0;
    for (int b = 0; b < n; b++) sum += rowSum(first + b * sample, spatial);
    const float mu = (float)(sum / m);
    double sq = 0;
    for (int b = 0; b < n; b++) sq += rowSquaredDeviations(first + b * sample, spatial, mu);
    AT(mean)[c] = mu;
    AT(variance)[c] = (float)(sq / m);
    const float inv = (float)(1.0 / sqrt((double)AT(variance)[c] + eps));
    AT(invStd)[c] = inv;
    const double a64 = (double)AT(gamma)[c] * (double)inv;
    const float a = (float)a64;
    const float z = (float)((double)AT(beta)[c] - (double)mu * a64);
    float *o = AT(out) + (size_t)c * spatial;
    for (int b = 0; b < n; b++) scaleShiftRow(first + b * sample, o + b * sample, spatial, a, z, relu);
  }
}

/* Evaluation: out[b, c, :] = scale[c] x[b, c, :] + shift[c] (relu: then max(0, .)). */
void nativeChannelScaleShift(char *mem, int n, int channels, int spatial, uint32_t input, uint32_t scale, uint32_t shift, uint32_t out, int relu) {
  const float *x = AT(input);
  float *o = AT(out);
  for (int b = 0; b < n; b++) {
    for (int c = 0; c < channels; c++) {
      const size_t off = ((size_t)b * channels + c) * spatial;
      scaleShiftRow(x + off, o + off, spatial, AT(scale)[c], AT(shift)[c], relu);
    }
  }
}

/*
 * Backward: sums[c] = sum(dy), sums[channels + c] = sum(dy xhat); when dx != 0 it ADDS
 * k (dy - sum(dy)/m - xhat sum(dy xhat)/m) in training, k dy in evaluation, k = gamma[c] invStd[c].
 */
void nativeBatchNormBackward(
  char *mem, int n, int channels, int spatial, int training,
  uint32_t input, uint32_t gamma, uint32_t mean, uint32_t invStd, uint32_t dy, uint32_t dx, uint32_t sums, uint32_t reluOut
) {
  /* With a fused ReLU (reluOut != 0), dy is the ReLU's output gradient, masked where it did not fire. */
  const __m256 zero = _mm256_setzero_ps();
#define DY(i) (reluOut ? _mm256_and_ps(_mm256_loadu_ps(g + (i)), _mm256_cmp_ps(_mm256_loadu_ps(r + (i)), zero, _CMP_GT_OQ)) : _mm256_loadu_ps(g + (i)))
#define DY1(i) (reluOut && !(r[i] > 0) ? 0.0f : g[i])
  const size_t sample = (size_t)spatial * channels;
  const double m = (double)n * spatial;
  for (int c = 0; c < channels; c++) {
    const float mu = AT(mean)[c], is = AT(invStd)[c];
    const __m256 muv = _mm256_set1_ps(mu);
    double sumDy = 0, sumDyX = 0;
    const size_t off = (size_t)c * spatial;
    for (int b = 0; b < n; b++) {
      const float *g = AT(dy) + off + b * sample, *x = AT(input) + off + b * sample;
      const float *r = reluOut ? AT(reluOut) + off + b * sample : NULL;
      __m256 a1 = _mm256_setzero_ps(), b1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), b2 = _mm256_setzero_ps();
      int i = 0;
      for (; i + 16 <= spatial; i += 16) {
        const __m256 g0 = DY(i), g1 = DY(i + 8);
        a1 = _mm256_add_ps(a1, g0);
        b1 = _mm256_add_ps(b1, g1);
        a2 = _mm256_fmadd_ps(g0, _mm256_sub_ps(_mm256_loadu_ps(x + i), muv), a2);
        b2 = _mm256_fmadd_ps(g1, _mm256_sub_ps(_mm256_loadu_ps(x + i + 8), muv), b2);
      }
      for (; i + 8 <= spatial; i += 8) {
        const __m256 g0 = DY(i);
        a1 = _mm256_add_ps(a1, g0);
        a2 = _mm256_fmadd_ps(g0, _mm256_sub_ps(_mm256_loadu_ps(x + i), muv), a2);
      }
      float s1 = hsum8(_mm256_add_ps(a1, b1)), s2 = hsum8(_mm256_add_ps(a2, b2));
      for (; i < spatial; i++) {
        s1 += DY1(i);
        s2 += DY1(i) * (x[i] - mu);
      }
      sumDy += s1;
      sumDyX += s2;
    }
    sumDyX *= is;
    AT(sums)[c] = (float)sumDy;
    AT(sums)[channels + c] = (float)sumDyX;
    if (dx == 0) continue;
    const float k = AT(gamma)[c] * is;
    const float ka = training ? (float)((double)k * sumDy / m) : 0;
    const float kq = training ? (float)((double)k * is * sumDyX / m) : 0;
    const __m256 kv = _mm256_set1_ps(k), kav = _mm256_set1_ps(ka), kqv = _mm256_set1_ps(kq);
    for (int b = 0; b < n; b++) {
      const float *g = AT(dy) + off + b * sample, *x = AT(input) + off + b * sample;
      const float *r = reluOut ? AT(reluOut) + off + b * sample : NULL;
      float *d = AT(dx) + off + b * sample;
      int i = 0;
      for (; i + 8 <= spatial; i += 8) {
        const __m256 t = _mm256_sub_ps(_mm256_mul_ps(kv, DY(i)),
          _mm256_fmadd_ps(kqv, _mm256_sub_ps(_mm256_loadu_ps(x + i), muv), kav));
        _mm256_storeu_ps(d + i, _mm256_add_ps(_mm256_loadu_ps(d + i), t));
      }
      /* The vector loop's operations one by one (norm.c is built without contraction): the tail rounds as it does. */
      for (; i < spatial; i++) {
        const float gi = DY1(i);
        d[i] += k * gi - fmaf(kq, x[i] - mu, ka);
      }
    }
  }
#undef DY
#undef DY1
}

/* out = a + b (out may be a or b); relu: max(0, a + b), add then ReLU writing only the ReLU's output. */
static void addRows(char *mem, int count, uint32_t a, uint32_t b, uint32_t out, int relu) {
  const float *pa = AT(a), *pb = AT(b);
  float *po = AT(out);
  int i = 0;
  for (; i + 16 <= count; i += 16) {
    const __m256 s0 = _mm256_add_ps(_mm256_loadu_ps(pa + i), _mm256_loadu_ps(pb + i));
    const __m256 s1 = _mm256_add_ps(_mm256_loadu_ps(pa + i + 8), _mm256_loadu_ps(pb + i + 8));
    _mm256_storeu_ps(po + i, act(s0, relu));
    _mm256_storeu_ps(po + i + 8, act(s1, relu));
  }
  for (; i < count; i++) {
    const float s = pa[i] + pb[i];
    po[i] = relu ? (s > 0 ? s : 0) : s;
  }
}

void nativeAddTwo(char *mem, int count, uint32_t a, uint32_t b, uint32_t out) { addRows(mem, count, a, b, out, 0); }
void nativeAddRelu(char *mem, int count, uint32_t a, uint32_t b, uint32_t out) { addRows(mem, count, a, b, out, 1); }
