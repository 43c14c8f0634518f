/*
 * The optimizer's SGD and Nesterov steps and the sum of the workers' gradient slots, for AVX2: the
 * arithmetic of src/nn/optimizers.ts (STEPS.sgd, STEPS.nesterov, stepGradient) and of
 * WorkerPool.trainStep, four float64 lanes at a time. JavaScript computes each expression in float64
 * and rounds on store; so does this file, in the same order, and it is compiled with
 * -ffp-contract=off so no multiply and add are fused: the parameters come out bit for bit as the
 * TypeScript loops leave them (tested). These loops ran while the worker threads waited.
 */
#include <immintrin.h>
#include <stddef.h>
#include "kernels.h"

/* l1 * (p > 0 ? 1 : -1), or 0 without L1 decay (stepGradient's l1Term). */
static inline __m256d l1Term(__m256d p, double l1) {
  if (l1 == 0) return _mm256_setzero_pd();
  const __m256d pos = _mm256_cmp_pd(p, _mm256_setzero_pd(), _CMP_GT_OQ);
  return _mm256_blendv_pd(_mm256_set1_pd(-l1), _mm256_set1_pd(l1), pos);
}

static inline double l1TermScalar(double p, double l1) { return l1 == 0 ? 0 : l1 * (p > 0 ? 1 : -1); }

void nativeSgdStep(
  float *params, float *grads, float *gsum, int count, double lr, double mom, double l1, double l2, double wd, double invBatch,
  int nesterov, double *decaySums
) {
  const __m256d vlr = _mm256_set1_pd(lr), vmom = _mm256_set1_pd(mom), vl2 = _mm256_set1_pd(l2), vwd = _mm256_set1_pd(wd);
  const __m256d vinv = _mm256_set1_pd(invBatch), vmom1 = _mm256_set1_pd(1 + mom);
  const __m256d signMask = _mm256_set1_pd(-0.0);
  __m256d abs4 = _mm256_setzero_pd(), sq4 = _mm256_setzero_pd();
  int j = 0;
  for (; j + 4 <= count; j += 4) {
    const __m256d p = _mm256_cvtps_pd(_mm_loadu_ps(params + j));
    abs4 = _mm256_add_pd(abs4, _mm256_andnot_pd(signMask, p));
    sq4 = _mm256_add_pd(sq4, _mm256_mul_pd(p, p));
    const __m256d gr = _mm256_cvtps_pd(_mm_loadu_ps(grads + j));
    /* (l2 p + l1Term + grad) invBatch + wd p */
    const __m256d g = _mm256_add_pd(_mm256_mul_pd(_mm256_add_pd(_mm256_add_pd(_mm256_mul_pd(vl2, p), l1Term(p, l1)), gr), vinv), _mm256_mul_pd(vwd, p));
    const __m256d prev = _mm256_cvtps_pd(_mm_loadu_ps(gsum + j));
    __m256d next;
    if (nesterov) {
      const __m128 velocity = _mm256_cvtpd_ps(_mm256_add_pd(_mm256_mul_pd(prev, vmom), _mm256_mul_pd(vlr, g)));
      _mm_storeu_ps(gsum + j, velocity);
      next = _mm256_add_pd(p, _mm256_sub_pd(_mm256_mul_pd(vmom, prev), _mm256_mul_pd(vmom1, _mm256_cvtps_pd(velocity))));
    } else if (mom > 0) {
      const __m256d dx = _mm256_sub_pd(_mm256_mul_pd(vmom, prev), _mm256_mul_pd(vlr, g));
      _mm_storeu_ps(gsum + j, _mm256_cvtpd_ps(dx));
      next = _mm256_add_pd(p, dx);
    } else {
      next = _mm256_add_pd(p, _mm256_mul_pd(_mm256_set1_pd(-lr), g));
    }
    _mm_storeu_ps(params + j, _mm256_cvtpd_ps(next));
    _mm_storeu_ps(grads + j, _mm_setzero_ps());
  }
  double a[4], s[4];
  _mm256_storeu_pd(a, abs4);
  _mm256_storeu_pd(s, sq4);
  double sumAbs = (a[0] + a[1]) + (a[2] + a[3]), sumSq = (s[0] + s[1]) + (s[2] + s[3]);
  for (; j < count; j++) {
    const double p = params[j];
    sumAbs += p < 0 ? -p : p;
    sumSq += p * p;
    const double g = ((l2 * p + l1TermScalar(p, l1)) + grads[j]) * invBatch + wd * p;
    const double prev = gsum[j];
    if (nesterov) {
      const float velocity = (float)(prev * mom + lr * g);
      gsum[j] = velocity;
      params[j] = (float)(p + (mom * prev - (1 + mom) * (double)velocity));
    } else if (mom > 0) {
      const double dx = mom * prev - lr * g;
      gsum[j] = (float)dx;
      params[j] = (float)(p + dx);
    } else {
      params[j] = (float)(p + -lr * g);
    }
    grads[j] = 0;
  }
  decaySums[0] = sumAbs;
  decaySums[1] = sumSq;
}

/* dst += src over count floats (float32 sums: what JavaScript's float64 add then store rounds to). */
void nativeAddInto(float *dst, const float *src, int count) {
  int i = 0;
  for (; i + 16 <= count; i += 16) {
    _mm256_storeu_ps(dst + i, _mm256_add_ps(_mm256_loadu_ps(dst + i), _mm256_loadu_ps(src + i)));
    _mm256_storeu_ps(dst + i + 8, _mm256_add_ps(_mm256_loadu_ps(dst + i + 8), _mm256_loadu_ps(src + i + 8)));
  }
  for (; i < count; i++) dst[i] += src[i];
}
