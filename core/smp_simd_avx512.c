/* smp_simd_avx512: the AVX-512 loops of the samplers' passes (see
 * smp_simd.h), built with the Makefile's AVX-512 flags like
 * kernels/cpu/vecdot_avx512.c, and called only where vd_isa() >= VD_AVX512
 * (smp_simd_512()). */
#include "smp_simd.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512DQ__)
#include <immintrin.h>
#include <math.h>

/* every CPU with AVX-512 has popcnt; -mavx512f does not imply it */
#define POPCNT __attribute__((target("popcnt")))

POPCNT int32_t smp_simd_compact_512(int typical, float lb, float c, int32_t lid, const int32_t *id, int32_t *out_id,
                                    float *L, float *P, int32_t n, int norm, float inv, int32_t *pi) {
    int32_t k = 0, i = 0;
    __m512 vc = _mm512_set1_ps(c), vi = _mm512_set1_ps(inv), vlb = _mm512_set1_ps(lb), zero = _mm512_setzero_ps();
    __m512 abs = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff)), inf = _mm512_set1_ps(INFINITY);
    __m512i vlid = _mm512_set1_epi32(lid), iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (; i + 16 <= n; i += 16) {
        __m512 vl = _mm512_loadu_ps(L + i), vp = _mm512_loadu_ps(P + i);
        __m512i vid = id ? _mm512_loadu_si512(id + i) : _mm512_add_epi32(iota, _mm512_set1_epi32(i));
        __mmask16 m;
        if (typical) {                           /* key |l - lb| where p > 0, else +inf */
            __m512 kk = _mm512_and_ps(_mm512_sub_ps(vl, vlb), abs);
            kk = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(vp, zero, _CMP_GT_OQ), inf, kk);
            m = _mm512_cmp_ps_mask(kk, vc, _CMP_LT_OQ) | (_mm512_cmp_ps_mask(kk, vc, _CMP_EQ_OQ) & _mm512_cmple_epi32_mask(vid, vlid));
        } else {                                 /* top-p: key -l, so l > c, or l == c with the id */
            m = _mm512_cmp_ps_mask(vl, vc, _CMP_GT_OQ) | (_mm512_cmp_ps_mask(vl, vc, _CMP_EQ_OQ) & _mm512_cmple_epi32_mask(vid, vlid));
        }
        if (norm) vp = _mm512_mul_ps(vp, vi);
        /* full-width stores at k <= i: what they write past the kept ones
         * lies in [k, i + 16), already read */
        _mm512_storeu_si512(out_id + k, _mm512_maskz_compress_epi32(m, vid));
        _mm512_storeu_ps(L + k, _mm512_maskz_compress_ps(m, vl));
        _mm512_storeu_ps(P + k, _mm512_maskz_compress_ps(m, vp));
        k += __builtin_popcount(m);
    }
    *pi = i;
    return k;
}

POPCNT int32_t smp_simd_compact_ge_512(float *L, float *P, const int32_t *id, int32_t *out_id, int32_t n, float v,
                                       int32_t *pi) {
    int32_t k = 0, i = 0;
    __m512 vv = _mm512_set1_ps(v);
    __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (; i + 16 <= n; i += 16) {
        __m512 vl = _mm512_loadu_ps(L + i), vp = _mm512_loadu_ps(P + i);
        __mmask16 m = _mm512_cmp_ps_mask(vl, vv, _CMP_GE_OQ);
        __m512i vid = id ? _mm512_loadu_si512(id + i) : _mm512_add_epi32(iota, _mm512_set1_epi32(i));
        _mm512_storeu_si512(out_id + k, _mm512_maskz_compress_epi32(m, vid));
        _mm512_storeu_ps(L + k, _mm512_maskz_compress_ps(m, vl));
        _mm512_storeu_ps(P + k, _mm512_maskz_compress_ps(m, vp));
        k += __builtin_popcount(m);
    }
    *pi = i;
    return k;
}

#endif
