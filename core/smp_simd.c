/* smp_simd: the AVX2 and AVX-512 loops of the samplers' passes (see
 * smp_simd.h). Function-level target attributes, as kernels/cpu does, so
 * the file builds without -mavx2 and the loops run only where the CPU has
 * the instructions (vd_isa()). */
#include "smp_simd.h"

#include <math.h>

#include "vecdot.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SMP_X86 1
#else
#define SMP_X86 0
#endif

/* Process-wide, like vd_set_isa: only tests switch it. */
static int plain_only;
void smp_simd_set_plain(int on) { plain_only = on; }
int smp_simd_on(void) { return SMP_X86 && !plain_only && vd_isa() >= VD_AVX2; }
int smp_simd_512(void) { return SMP_X86 && !plain_only && vd_isa() >= VD_AVX512; }

#if SMP_X86
#define AVX2 __attribute__((target("avx2,fma,popcnt")))
#define AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,popcnt")))

/* the bucket of eight keys: (int)min(k * scale, NB - 1) (min_ps gives the
 * second operand for NaN: the last bucket) */
AVX2 static inline __m128i bucket8(__m256 k, __m256 scale) {
    __m256 t = _mm256_min_ps(_mm256_mul_ps(k, scale), _mm256_set1_ps((float)(SMP_SIMD_NB - 1)));
    __m256i b = _mm256_cvttps_epi32(t);
    return _mm_packus_epi32(_mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1));
}

/* exp of eight floats: the same operations as kernels/cpu/vecdot_avx2.c's
 * exp8 (vd_exp_f32 with AVX2), so the bits are those of vd_exp_f32, which
 * the plain loops call (tests/test_smp_fast.c compares with it): Cephes'
 * expf reduction and degree-7 polynomial (Moshier 1989), 2^n in the
 * exponent bits; x clamped to [-87, 88]. Keep the two equal. */
AVX2 static inline __m256 exp8(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

AVX2 int32_t smp_simd_range(const float *x, int32_t n, float *pm, float *plo) {
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

AVX2 int32_t smp_simd_exp_pass(const float *L, float *P, int32_t i, int32_t i1, float m, double *part, uint16_t *B,
                               float scale, double *el) {
    __m256 vm = _mm256_set1_ps(m), lo = _mm256_set1_ps(-87.0f), zero = _mm256_setzero_ps(), vs = _mm256_set1_ps(scale);
    __m256d s0 = _mm256_loadu_pd(part), s1 = _mm256_loadu_pd(part + 4);
    __m256d e0 = el ? _mm256_loadu_pd(el) : _mm256_setzero_pd(), e1 = el ? _mm256_loadu_pd(el + 4) : e0;
    for (; i + 8 <= i1; i += 8) {
        __m256 l = _mm256_loadu_ps(L + i), x = _mm256_sub_ps(l, vm);
        __m256 e = _mm256_and_ps(_mm256_cmp_ps(x, lo, _CMP_GE_OQ), exp8(x));
        _mm256_storeu_ps(P + i, e);
        s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
        s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
        if (B) _mm_storeu_si128((__m128i *)(B + i), bucket8(_mm256_sub_ps(vm, l), vs));
        if (el) {                                /* p = 0 beside -inf or NaN: 0 * 0 adds +0 */
            __m256 pos = _mm256_cmp_ps(e, zero, _CMP_GT_OQ);
            __m256 pe = _mm256_and_ps(e, pos), pl = _mm256_and_ps(l, pos);
            e0 = _mm256_add_pd(e0, _mm256_mul_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(pe)),
                                                 _mm256_cvtps_pd(_mm256_castps256_ps128(pl))));
            e1 = _mm256_add_pd(e1, _mm256_mul_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(pe, 1)),
                                                 _mm256_cvtps_pd(_mm256_extractf128_ps(pl, 1))));
        }
    }
    _mm256_storeu_pd(part, s0);
    _mm256_storeu_pd(part + 4, s1);
    if (el) {
        _mm256_storeu_pd(el, e0);
        _mm256_storeu_pd(el + 4, e1);
    }
    return i;
}

AVX2 int32_t smp_simd_scale(float *P, int32_t n, double inv) {
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

AVX2 int32_t smp_simd_typical_keys(const float *L, const float *P, int32_t i, int32_t i1, double lbar, float *K,
                                   uint16_t *B, float scale) {
    __m256d vl = _mm256_set1_pd(lbar), abs = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7fffffffffffffffLL));
    __m256 zero = _mm256_setzero_ps(), inf = _mm256_set1_ps(INFINITY);
    for (; i + 8 <= i1; i += 8) {
        __m256 l = _mm256_loadu_ps(L + i), pos = _mm256_cmp_ps(_mm256_loadu_ps(P + i), zero, _CMP_GT_OQ);
        __m128 a = _mm256_cvtpd_ps(_mm256_and_pd(_mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(l)), vl), abs));
        __m128 b = _mm256_cvtpd_ps(_mm256_and_pd(_mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(l, 1)), vl), abs));
        __m256 k = _mm256_blendv_ps(inf, _mm256_insertf128_ps(_mm256_castps128_ps256(a), b, 1), pos);
        _mm256_storeu_ps(K + i, k);
        _mm_storeu_si128((__m128i *)(B + i), bucket8(k, _mm256_set1_ps(scale)));
    }
    return i;
}

AVX2 int32_t smp_simd_skip_below(const float *x, int32_t i, int32_t n, float v) {
    __m256 vv = _mm256_set1_ps(v);
    for (; i + 16 <= n; i += 16) {
        __m256 a = _mm256_cmp_ps(_mm256_loadu_ps(x + i), vv, _CMP_GE_OQ);
        __m256 b = _mm256_cmp_ps(_mm256_loadu_ps(x + i + 8), vv, _CMP_GE_OQ);
        if (!_mm256_testz_ps(_mm256_or_ps(a, b), _mm256_or_ps(a, b))) break;
    }
    return i;
}

AVX2 int32_t smp_simd_div(float *L, int32_t n, float t) {
    __m256 vt = _mm256_set1_ps(t);
    int32_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(L + i, _mm256_div_ps(_mm256_loadu_ps(L + i), vt));
    return i;
}

AVX2 int32_t smp_simd_members(const uint16_t *B, int32_t n, int32_t b, int (*add)(void *ud, int32_t j), void *ud) {
    __m256i vb = _mm256_set1_epi16((short)b);
    int32_t i = 0;
    for (; i + 16 <= n; i += 16) {
        unsigned hit = (unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi16(_mm256_loadu_si256((const __m256i *)(B + i)), vb));
        while (hit) {
            int j = __builtin_ctz(hit) / 2;
            hit &= ~(3u << (2 * j));             /* the pair of bits of one 16-bit lane */
            if (add(ud, i + j)) return -1;
        }
    }
    return i;
}

AVX512 int32_t smp_simd_compact_512(const float *X, int gt, float c, int32_t lid, const int32_t *id, int32_t *out_id,
                                    float *L, float *P, int32_t n, int norm, double inv, int32_t *pi) {
    int32_t k = 0, i = 0;
    __m512 vc = _mm512_set1_ps(c);
    __m512d vi = _mm512_set1_pd(inv);
    __m512i vlid = _mm512_set1_epi32(lid), iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (; i + 16 <= n; i += 16) {
        __m512 x = _mm512_loadu_ps(X + i);
        __m512i vid = id ? _mm512_loadu_si512(id + i) : _mm512_add_epi32(iota, _mm512_set1_epi32(i));
        __mmask16 m = gt ? _mm512_cmp_ps_mask(x, vc, _CMP_GT_OQ) : _mm512_cmp_ps_mask(x, vc, _CMP_LT_OQ);
        m |= _mm512_cmp_ps_mask(x, vc, _CMP_EQ_OQ) & _mm512_cmple_epi32_mask(vid, vlid);
        __m512 vl = _mm512_loadu_ps(L + i), vp = _mm512_loadu_ps(P + i);
        if (norm) {
            __m256 a = _mm512_cvtpd_ps(_mm512_mul_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(vp)), vi));
            __m256 b = _mm512_cvtpd_ps(_mm512_mul_pd(_mm512_cvtps_pd(_mm512_extractf32x8_ps(vp, 1)), vi));
            vp = _mm512_insertf32x8(_mm512_castps256_ps512(a), b, 1);
        }
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

AVX2 int32_t smp_simd_count_ge(const float *x, int32_t n, float v, int32_t *cnt) {
    __m256 vv = _mm256_set1_ps(v);
    int32_t i = 0, k = 0;
    for (; i + 8 <= n; i += 8) k += __builtin_popcount((unsigned)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + i), vv, _CMP_GE_OQ)));
    *cnt += k;
    return i;
}

AVX512 int32_t smp_simd_compact_ge_512(float *L, float *P, const int32_t *id, int32_t *out_id, int32_t n, float v,
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

AVX2 int smp_simd_block_sum(const float *P, double *sum) {
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

#else /* not x86: smp_simd_on() is 0, so none of these is called */
int32_t smp_simd_range(const float *x, int32_t n, float *m, float *lo) { (void)x; (void)n; (void)m; (void)lo; return 0; }
int32_t smp_simd_exp_pass(const float *L, float *P, int32_t i, int32_t i1, float m, double *part, uint16_t *B,
                          float scale, double *el) {
    (void)L; (void)P; (void)i1; (void)m; (void)part; (void)B; (void)scale; (void)el; return i;
}
int32_t smp_simd_scale(float *P, int32_t n, double inv) { (void)P; (void)n; (void)inv; return 0; }
int32_t smp_simd_typical_keys(const float *L, const float *P, int32_t i, int32_t i1, double lbar, float *K, uint16_t *B,
                              float scale) {
    (void)L; (void)P; (void)i1; (void)lbar; (void)K; (void)B; (void)scale; return i;
}
int32_t smp_simd_skip_below(const float *x, int32_t i, int32_t n, float v) { (void)x; (void)n; (void)v; return i; }
int32_t smp_simd_div(float *L, int32_t n, float t) { (void)L; (void)n; (void)t; return 0; }
int32_t smp_simd_members(const uint16_t *B, int32_t n, int32_t b, int (*add)(void *ud, int32_t j), void *ud) {
    (void)B; (void)n; (void)b; (void)add; (void)ud; return 0;
}
int32_t smp_simd_compact_512(const float *X, int gt, float c, int32_t lid, const int32_t *id, int32_t *out_id,
                             float *L, float *P, int32_t n, int norm, double inv, int32_t *pi) {
    (void)X; (void)gt; (void)c; (void)lid; (void)id; (void)out_id; (void)L; (void)P; (void)n; (void)norm; (void)inv;
    *pi = 0;
    return 0;
}
int32_t smp_simd_count_ge(const float *x, int32_t n, float v, int32_t *cnt) { (void)x; (void)n; (void)v; (void)cnt; return 0; }
int32_t smp_simd_compact_ge_512(float *L, float *P, const int32_t *id, int32_t *out_id, int32_t n, float v, int32_t *pi) {
    (void)L; (void)P; (void)id; (void)out_id; (void)n; (void)v;
    *pi = 0;
    return 0;
}
int smp_simd_block_sum(const float *P, double *sum) { (void)P; (void)sum; return 1; }
#endif
