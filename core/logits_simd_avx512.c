/* logits_simd_avx512: logits_argmax's loop in AVX-512 (see logits_simd.h).
 *
 * The portable loop's structure, 64 lanes wide: running maxima by blocks of
 * 1024 floats (four accumulators, so four independent vmaxps chains), the
 * first block whose maximum is strictly the largest so far remembered, then
 * the first id equal to the best searched from that block on with a vector
 * compare. vmaxps(v, m) returns m when v is NaN, so NaN never raises a
 * maximum (it ranks as -inf); -0 and +0 compare equal, so the search finds
 * the first of either, the lower id, as logits_rank orders them.
 * Why: a greedy step of 64 sequences reads 64 x 32000 logits (8 MB, from
 * L3: the product that wrote them left L2 long ago); the SSE2 loop of
 * logits.c took ~10% of the stories15m step. */
#include "logits_simd.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512DQ__)
#include <immintrin.h>
#include <math.h>

enum { BLK = 1024 };

static inline float hmax(__m512 v) { return _mm512_reduce_max_ps(v); }

int32_t logits_argmax_avx512(const float *x, int32_t n) {
    float best = -INFINITY;
    int32_t from = 0, i = 0;
    for (; i + BLK <= n; i += BLK) {
        __m512 m0 = _mm512_set1_ps(-INFINITY), m1 = m0, m2 = m0, m3 = m0;
        for (int32_t j = i; j < i + BLK; j += 64) {
            m0 = _mm512_max_ps(_mm512_loadu_ps(x + j), m0);
            m1 = _mm512_max_ps(_mm512_loadu_ps(x + j + 16), m1);
            m2 = _mm512_max_ps(_mm512_loadu_ps(x + j + 32), m2);
            m3 = _mm512_max_ps(_mm512_loadu_ps(x + j + 48), m3);
        }
        /* the accumulators hold no NaN: max order does not matter */
        float bm = hmax(_mm512_max_ps(_mm512_max_ps(m0, m1), _mm512_max_ps(m2, m3)));
        if (bm > best) { best = bm; from = i; }
    }
    if (i < n) {   /* the tail as one more block, by sixteens and a masked last load */
        __m512 m = _mm512_set1_ps(-INFINITY);
        for (int32_t j = i; j < n; j += 16) {
            __mmask16 k = n - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - j)) - 1);
            m = _mm512_max_ps(_mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), k, x + j), m);
        }
        float bm = hmax(m);
        if (bm > best) { best = bm; from = i; }
    }
    /* best is -inf or a value of the row (never NaN): the first id holding
     * it (a NaN compares unequal; -inf equals -inf, as key() maps NaN) */
    __m512 vb = _mm512_set1_ps(best);
    for (int32_t j = from; j < n; j += 16) {
        __mmask16 k = n - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - j)) - 1);
        __m512 v = _mm512_maskz_loadu_ps(k, x + j);
        __mmask16 eq = _mm512_mask_cmp_ps_mask(k, v, vb, _CMP_EQ_OQ);
        if (best == -INFINITY) eq |= _mm512_mask_cmp_ps_mask(k, v, v, _CMP_UNORD_Q);
        if (eq) return j + __builtin_ctz((unsigned)eq);
    }
    return 0;
}
#endif
