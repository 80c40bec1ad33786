/* logits_simd_avx2: logits_argmax's loop in AVX2 (see logits_simd.h and
 * logits_simd_avx512.c, the same structure with eight lanes: running maxima
 * by blocks of 1024 floats in four vmaxps chains, the first block whose
 * maximum is strictly the largest, then the first id equal to it). */
#include "logits_simd.h"

#if defined(__AVX2__)
#include <immintrin.h>
#include <math.h>

enum { BLK = 1024 };

static inline float hmax8(__m256 v) {
    __m128 a = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    a = _mm_max_ps(a, _mm_movehl_ps(a, a));
    a = _mm_max_ss(a, _mm_shuffle_ps(a, a, 1));
    return _mm_cvtss_f32(a);
}

int32_t logits_argmax_avx2(const float *x, int32_t n) {
    float best = -INFINITY;
    int32_t from = 0, i = 0;
    for (; i + BLK <= n; i += BLK) {
        __m256 m0 = _mm256_set1_ps(-INFINITY), m1 = m0, m2 = m0, m3 = m0;
        for (int32_t j = i; j < i + BLK; j += 32) {   /* vmaxps(v, m): m where v is NaN */
            m0 = _mm256_max_ps(_mm256_loadu_ps(x + j), m0);
            m1 = _mm256_max_ps(_mm256_loadu_ps(x + j + 8), m1);
            m2 = _mm256_max_ps(_mm256_loadu_ps(x + j + 16), m2);
            m3 = _mm256_max_ps(_mm256_loadu_ps(x + j + 24), m3);
        }
        float bm = hmax8(_mm256_max_ps(_mm256_max_ps(m0, m1), _mm256_max_ps(m2, m3)));
        if (bm > best) { best = bm; from = i; }
    }
    for (int32_t j = i; j < n; j++)   /* the tail, as the portable loop */
        if (x[j] > best) { best = x[j]; from = i; }
    __m256 vb = _mm256_set1_ps(best);
    int32_t j = from;
    for (; j + 8 <= n; j += 8) {
        __m256 v = _mm256_loadu_ps(x + j);
        __m256 eq = _mm256_cmp_ps(v, vb, _CMP_EQ_OQ);
        if (best == -INFINITY) eq = _mm256_or_ps(eq, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
        int mk = _mm256_movemask_ps(eq);
        if (mk) return j + __builtin_ctz((unsigned)mk);
    }
    for (; j < n; j++)
        if (x[j] == best || (best == -INFINITY && isnan(x[j]))) return j;
    return 0;
}
#endif
