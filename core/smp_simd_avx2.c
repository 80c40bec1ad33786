/* smp_simd_avx2: the AVX2 loops of the samplers' passes (see smp_simd.h),
 * built with the Makefile's AVX2 flags (-mavx2 -mfma -mf16c) like
 * kernels/cpu/vecdot_avx2.c, and called only where vd_isa() >= VD_AVX2
 * (smp_simd_on()). The exp is smp_simd.h's (session 14; until then
 * kernels/cpu/vexp_avx2.h's exp8, vd_exp_f32's), eight at a time; the plain
 * loops of smp_mass.c call smp_simd_exp (tests/test_smp_fast.c compares
 * the two). */
#include "smp_simd.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#include <math.h>

/* smp_simd.h's exp at eight lanes on x in [-87, 88] (no clamps: the
 * callers zero the lanes below -87 and NaN); 2^n as the float with
 * exponent n (normal for n >= -126), multiplied: p * 2^n rounded once,
 * as vscalefps and ldexpf */
static inline __m256 exp8s(__m256 x) {
    __m256i ni = _mm256_cvtps_epi32(_mm256_mul_ps(x, _mm256_set1_ps(SMP_EXP_LOG2E)));     /* nearest even */
    __m256 n = _mm256_cvtepi32_ps(ni);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(SMP_EXP_LN2_HI), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(SMP_EXP_LN2_LO), r);
    __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(SMP_EXP_C6), r, _mm256_set1_ps(SMP_EXP_C5));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(SMP_EXP_C4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(SMP_EXP_C3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(SMP_EXP_C2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256 two_n = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(ni, _mm256_set1_epi32(127)), 23));
    return _mm256_mul_ps(p, two_n);
}

int32_t smp_simd_exp_avx2(float *x, int32_t n) {
    const __m256 lo = _mm256_set1_ps(-87.0f);
    int32_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        _mm256_storeu_ps(x + i, _mm256_and_ps(_mm256_cmp_ps(v, lo, _CMP_GE_OQ), exp8s(v)));
    }
    return i;
}

/* every CPU with AVX2 has popcnt; -mavx2 does not imply it */
#define POPCNT __attribute__((target("popcnt")))

/* the bucket of eight keys k * scale (scale may be negated with the key:
 * (-a) * b == a * (-b) exactly): (int)t, or NB - 1 where t >= NB - 1, +inf
 * or NaN (cvtt gives INT_MIN there, above NB - 1 as unsigned) */
static inline __m128i bucket8(__m256 k, __m256 scale) {
    __m256i b = _mm256_cvttps_epi32(_mm256_mul_ps(k, scale));
    b = _mm256_min_epu32(b, _mm256_set1_epi32(SMP_SIMD_NB - 1));
    return _mm_packus_epi32(_mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1));
}

int32_t smp_simd_range(const float *x, int32_t n, float *pm, float *plo) {
    __m256 a = _mm256_set1_ps(-INFINITY), lo = _mm256_set1_ps(INFINITY), ninf = a, inf = lo;
    int32_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        a = _mm256_max_ps(v, a);                   /* NaN in v: keeps a */
        lo = _mm256_min_ps(_mm256_blendv_ps(inf, v, _mm256_cmp_ps(v, ninf, _CMP_GT_OQ)), lo);
    }
    float t[8], u[8], m = *pm, l = *plo;
    _mm256_storeu_ps(t, a);
    _mm256_storeu_ps(u, lo);
    for (int j = 0; j < 8; j++) {
        if (t[j] > m) m = t[j];
        if (u[j] < l) l = u[j];
    }
    *pm = m;
    *plo = l;
    return i;
}

int32_t smp_simd_exp_pass(const float *L, float *P, int32_t i, int32_t i1, float m, double *part, uint16_t *B,
                               float scale, double *el) {
    __m256 vm = _mm256_set1_ps(m), lo = _mm256_set1_ps(-87.0f), zero = _mm256_setzero_ps(), vs = _mm256_set1_ps(-scale);
    __m256d s0 = part ? _mm256_loadu_pd(part) : _mm256_setzero_pd(), s1 = part ? _mm256_loadu_pd(part + 4) : s0;
    __m256d e0 = el ? _mm256_loadu_pd(el) : _mm256_setzero_pd(), e1 = el ? _mm256_loadu_pd(el + 4) : e0;
    __m256 f[2] = { zero, zero };                /* E[l]'s float lanes 0-7 and 8-15 (smp_simd.h) */
    if (el) i1 = i + ((i1 - i) & -SMP_SIMD_EL_BLK);
    for (; i + 8 <= i1; i += 8) {
        __m256 l = _mm256_loadu_ps(L + i), x = _mm256_sub_ps(l, vm);
        __m256 e = _mm256_and_ps(_mm256_cmp_ps(x, lo, _CMP_GE_OQ), exp8s(x));
        _mm256_storeu_ps(P + i, e);
        if (part) {
            s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
            s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
        }
        if (B) _mm_storeu_si128((__m128i *)(B + i), bucket8(x, vs));   /* key m - l = -x */
        if (el) {                                /* p = 0 beside -inf or NaN: adds +0 */
            __m256 pl = _mm256_and_ps(_mm256_mul_ps(e, l), _mm256_cmp_ps(e, zero, _CMP_GT_OQ));
            f[(i >> 3) & 1] = _mm256_add_ps(f[(i >> 3) & 1], pl);
            if (((i + 8) & (SMP_SIMD_EL_BLK - 1)) == 0) {       /* lane k, then lane k + 8 */
                e0 = _mm256_add_pd(e0, _mm256_cvtps_pd(_mm256_castps256_ps128(f[0])));
                e1 = _mm256_add_pd(e1, _mm256_cvtps_pd(_mm256_extractf128_ps(f[0], 1)));
                e0 = _mm256_add_pd(e0, _mm256_cvtps_pd(_mm256_castps256_ps128(f[1])));
                e1 = _mm256_add_pd(e1, _mm256_cvtps_pd(_mm256_extractf128_ps(f[1], 1)));
                f[0] = f[1] = zero;
            }
        }
    }
    if (part) {
        _mm256_storeu_pd(part, s0);
        _mm256_storeu_pd(part + 4, s1);
    }
    if (el) {
        _mm256_storeu_pd(el, e0);
        _mm256_storeu_pd(el + 4, e1);
    }
    return i;
}

/* P = (float)(P / s) in double, eight at a time (IEEE division: the
 * plain loop's bits) */
int32_t smp_simd_div_d(float *P, int32_t n, double s) {
    __m256d vs = _mm256_set1_pd(s);
    int32_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 e = _mm256_loadu_ps(P + i);
        __m128 a = _mm256_cvtpd_ps(_mm256_div_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(e)), vs));
        __m128 b = _mm256_cvtpd_ps(_mm256_div_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)), vs));
        _mm256_storeu_ps(P + i, _mm256_insertf128_ps(_mm256_castps128_ps256(a), b, 1));
    }
    return i;
}
int32_t smp_simd_scale(float *P, int32_t n, double inv) {
    __m256d vi = _mm256_set1_pd(inv);
    int32_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 e = _mm256_loadu_ps(P + i);
        __m128 a = _mm256_cvtpd_ps(_mm256_mul_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(e)), vi));
        __m128 b = _mm256_cvtpd_ps(_mm256_mul_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)), vi));
        _mm256_storeu_ps(P + i, _mm256_insertf128_ps(_mm256_castps128_ps256(a), b, 1));
    }
    return i;
}

static inline __m256 typical_key8(__m256 l, __m256 e, __m256 lb) {
    __m256 pos = _mm256_cmp_ps(e, _mm256_setzero_ps(), _CMP_GT_OQ);
    __m256 k = _mm256_and_ps(_mm256_sub_ps(l, lb), _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)));
    return _mm256_blendv_ps(_mm256_set1_ps(INFINITY), k, pos);
}

int32_t smp_simd_typical_keys(const float *L, const float *P, int32_t i, int32_t i1, float lbar, uint16_t *B,
                                   float scale) {
    __m256 vl = _mm256_set1_ps(lbar), vs = _mm256_set1_ps(scale);
    for (; i + 8 <= i1; i += 8)
        _mm_storeu_si128((__m128i *)(B + i), bucket8(typical_key8(_mm256_loadu_ps(L + i), _mm256_loadu_ps(P + i), vl), vs));
    return i;
}

int32_t smp_simd_skip_below(const float *x, int32_t i, int32_t n, float v) {
    __m256 vv = _mm256_set1_ps(v);
    for (; i + 16 <= n; i += 16) {
        __m256 a = _mm256_cmp_ps(_mm256_loadu_ps(x + i), vv, _CMP_GE_OQ);
        __m256 b = _mm256_cmp_ps(_mm256_loadu_ps(x + i + 8), vv, _CMP_GE_OQ);
        if (!_mm256_testz_ps(_mm256_or_ps(a, b), _mm256_or_ps(a, b))) break;
    }
    return i;
}

int32_t smp_simd_div(float *L, int32_t n, float t) {
    __m256 vt = _mm256_set1_ps(t);
    int32_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(L + i, _mm256_div_ps(_mm256_loadu_ps(L + i), vt));
    return i;
}

POPCNT int32_t smp_simd_members(const uint16_t *B, int32_t i, int32_t n, int32_t b, int32_t *cnt, int32_t *out,
                                int32_t *nout) {
    __m256i vb = _mm256_set1_epi16((short)b);
    int32_t k = *nout, c = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(B + i));
        c += __builtin_popcount((unsigned)_mm256_movemask_epi8(_mm256_cmpgt_epi16(vb, v))) / 2;   /* buckets < NB: signed */
        unsigned hit = (unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi16(v, vb));
        while (hit) {
            int j = __builtin_ctz(hit) / 2;
            hit &= ~(3u << (2 * j));             /* the pair of bits of one 16-bit lane */
            out[k++] = i + j;
        }
    }
    *cnt += c;
    *nout = k;
    return i;
}

/* B[j] in [u1, u2] or [v1, v2]: b - lo <= hi - lo unsigned, as a signed
 * compare with the sign bit flipped */
static inline __m256i in_range16(__m256i b, int32_t lo, int32_t hi) {
    __m256i flip = _mm256_set1_epi16((short)0x8000);
    __m256i d = _mm256_xor_si256(_mm256_sub_epi16(b, _mm256_set1_epi16((short)lo)), flip);
    __m256i w = _mm256_xor_si256(_mm256_set1_epi16((short)(hi - lo)), flip);
    return _mm256_andnot_si256(_mm256_cmpgt_epi16(d, w), _mm256_set1_epi16(-1));
}

POPCNT int32_t smp_simd_members2(const uint16_t *B, int32_t i, int32_t n, int32_t u1, int32_t u2, int32_t v1, int32_t v2,
                                 int32_t k1, int32_t k2, int32_t *cnt, int32_t *out, int32_t *nout) {
    int32_t k = *nout, c = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i b = _mm256_loadu_si256((const __m256i *)(B + i));
        c += __builtin_popcount((unsigned)_mm256_movemask_epi8(in_range16(b, k1, k2))) / 2;
        unsigned hit = (unsigned)_mm256_movemask_epi8(_mm256_or_si256(in_range16(b, u1, u2), in_range16(b, v1, v2)));
        while (hit) {
            int j = __builtin_ctz(hit) / 2;
            hit &= ~(3u << (2 * j));
            out[k++] = i + j;
        }
    }
    *cnt += c;
    *nout = k;
    return i;
}

POPCNT int32_t smp_simd_count_ge(const float *x, int32_t n, float v, int32_t *cnt) {
    __m256 vv = _mm256_set1_ps(v);
    int32_t i = 0, k = 0;
    for (; i + 8 <= n; i += 8) k += __builtin_popcount((unsigned)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + i), vv, _CMP_GE_OQ)));
    *cnt += k;
    return i;
}

int smp_simd_block_sum(const float *P, double *sum) {
    __m256d a0 = _mm256_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
    __m256 ok = _mm256_castsi256_ps(_mm256_set1_epi32(-1)), z = _mm256_setzero_ps(), t = _mm256_set1_ps(0x1p-29f);
    for (int i = 0; i < 64; i += 16) {
        __m256 p = _mm256_loadu_ps(P + i), q = _mm256_loadu_ps(P + i + 8);
        ok = _mm256_and_ps(ok, _mm256_or_ps(_mm256_cmp_ps(p, z, _CMP_EQ_OQ), _mm256_cmp_ps(p, t, _CMP_GE_OQ)));
        ok = _mm256_and_ps(ok, _mm256_or_ps(_mm256_cmp_ps(q, z, _CMP_EQ_OQ), _mm256_cmp_ps(q, t, _CMP_GE_OQ)));
        a0 = _mm256_add_pd(a0, _mm256_cvtps_pd(_mm256_castps256_ps128(p)));
        a1 = _mm256_add_pd(a1, _mm256_cvtps_pd(_mm256_extractf128_ps(p, 1)));
        a2 = _mm256_add_pd(a2, _mm256_cvtps_pd(_mm256_castps256_ps128(q)));
        a3 = _mm256_add_pd(a3, _mm256_cvtps_pd(_mm256_extractf128_ps(q, 1)));
    }
    if (_mm256_movemask_ps(ok) != 0xff) return 1;
    double h[4];
    _mm256_storeu_pd(h, _mm256_add_pd(_mm256_add_pd(a0, a1), _mm256_add_pd(a2, a3)));
    *sum = (h[0] + h[1]) + (h[2] + h[3]);
    return 0;
}

#endif
