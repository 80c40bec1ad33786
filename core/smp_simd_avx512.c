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

/* The candidates at or ahead of a cut (smp_simd_compact_512's test) */
static inline __mmask16 cut_mask(int typical, __m512 vl, __m512 vp, __m512 vlb, __m512 vc, __m512i vid, __m512i vlid) {
    if (typical) {                               /* key |l - lb| where p > 0, else +inf */
        __m512 kk = _mm512_and_ps(_mm512_sub_ps(vl, vlb), _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff)));
        kk = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(vp, _mm512_setzero_ps(), _CMP_GT_OQ), _mm512_set1_ps(INFINITY), kk);
        return _mm512_cmp_ps_mask(kk, vc, _CMP_LT_OQ) | (_mm512_cmp_ps_mask(kk, vc, _CMP_EQ_OQ) & _mm512_cmple_epi32_mask(vid, vlid));
    }                                            /* top-p: key -l, so l > c, or l == c with the id */
    return _mm512_cmp_ps_mask(vl, vc, _CMP_GT_OQ) | (_mm512_cmp_ps_mask(vl, vc, _CMP_EQ_OQ) & _mm512_cmple_epi32_mask(vid, vlid));
}

static inline __m512i ids16(const int32_t *id, int32_t i) {
    return id ? _mm512_loadu_si512(id + i)
              : _mm512_add_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32(i));
}

static inline __attribute__((always_inline)) int32_t compact(const int div, int typical, float lb, float c,
                                                             int32_t lid, const int32_t *id, int32_t *out_id,
                                                             const float *L, float *Lo, float *P, int32_t n, int norm,
                                                             float inv, float t, int32_t *pi) {
    int32_t k = 0, i = 0;
    __m512 vc = _mm512_set1_ps(c), vi = _mm512_set1_ps(inv), vlb = _mm512_set1_ps(lb), vt = _mm512_set1_ps(t);
    __m512i vlid = _mm512_set1_epi32(lid);
    for (; i + 16 <= n; i += 16) {
        __m512 vl = _mm512_loadu_ps(L + i), vp = _mm512_loadu_ps(P + i);
        __m512i vid = ids16(id, i);
        __mmask16 m = cut_mask(typical, vl, vp, vlb, vc, vid, vlid);
        if (norm) vp = _mm512_mul_ps(vp, vi);
        if (div) vl = _mm512_div_ps(vl, vt);     /* a temperature after the cut (session 13) */
        /* full-width stores at k <= i: what they write past the kept ones
         * lie in [k, i + 16), already read */
        _mm512_storeu_si512(out_id + k, _mm512_maskz_compress_epi32(m, vid));
        _mm512_storeu_ps(Lo + k, _mm512_maskz_compress_ps(m, vl));
        _mm512_storeu_ps(P + k, _mm512_maskz_compress_ps(m, vp));
        k += __builtin_popcount(m);
    }
    *pi = i;
    return k;
}

POPCNT int32_t smp_simd_compact_512(int typical, float lb, float c, int32_t lid, const int32_t *id, int32_t *out_id,
                                    const float *L, float *Lo, float *P, int32_t n, int norm, float inv, float t,
                                    int32_t *pi) {
    if (t != 1.0f) return compact(1, typical, lb, c, lid, id, out_id, L, Lo, P, n, norm, inv, t, pi);
    return compact(0, typical, lb, c, lid, id, out_id, L, Lo, P, n, norm, inv, t, pi);
}

/* cut_mask with one compare where no key equals the cut's (all but a lane
 * or two of a whole row): at or ahead of it is then key <= the cut's.
 * Without ties (no candidate has the cut's key and a later id: session
 * 11, the cut's walk saw every one with that key), key <= the cut's is the
 * whole test. */
static inline __attribute__((always_inline)) __mmask16 cut_mask_fast(const int typical, const int ties, __m512 vl,
                                                                     __m512 vp, __m512 vlb, __m512 vc,
                                                                     const int32_t *id, int32_t i, __m512i vlid) {
    __mmask16 eq, le;
    if (typical) {
        __m512 kk = _mm512_and_ps(_mm512_sub_ps(vl, vlb), _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff)));
        __mmask16 pos = _mm512_cmp_ps_mask(vp, _mm512_setzero_ps(), _CMP_GT_OQ);   /* else the key is +inf */
        if (!ties) return _mm512_mask_cmp_ps_mask(pos, kk, vc, _CMP_LE_OQ);
        kk = _mm512_mask_blend_ps(pos, _mm512_set1_ps(INFINITY), kk);
        eq = _mm512_cmp_ps_mask(kk, vc, _CMP_EQ_OQ);
        le = _mm512_cmp_ps_mask(kk, vc, _CMP_LE_OQ);
    } else {
        if (!ties) return _mm512_cmp_ps_mask(vl, vc, _CMP_GE_OQ);
        eq = _mm512_cmp_ps_mask(vl, vc, _CMP_EQ_OQ);
        le = _mm512_cmp_ps_mask(vl, vc, _CMP_GE_OQ);
    }
    if (__builtin_expect(eq != 0, 0)) le &= ~eq | _mm512_cmple_epi32_mask(ids16(id, i), vlid);
    return le;
}

static inline __attribute__((always_inline)) int32_t cut_count(const int typical, const int ties, float lb, float c,
                                                               int32_t lid, const int32_t *id, const float *L,
                                                               const float *P, int32_t n, int32_t *pi) {
    int32_t k = 0, i = 0;
    __m512 vc = _mm512_set1_ps(c), vlb = _mm512_set1_ps(lb);
    __m512i vlid = _mm512_set1_epi32(lid);
    for (; i + 16 <= n; i += 16)
        k += __builtin_popcount(
            cut_mask_fast(typical, ties, _mm512_loadu_ps(L + i), _mm512_loadu_ps(P + i), vlb, vc, id, i, vlid));
    *pi = i;
    return k;
}

POPCNT int32_t smp_simd_cut_count_512(int typical, int ties, float lb, float c, int32_t lid, const int32_t *id,
                                      const float *L, const float *P, int32_t n, int32_t *pi) {
    if (typical) return ties ? cut_count(1, 1, lb, c, lid, id, L, P, n, pi) : cut_count(1, 0, lb, c, lid, id, L, P, n, pi);
    return ties ? cut_count(0, 1, lb, c, lid, id, L, P, n, pi) : cut_count(0, 0, lb, c, lid, id, L, P, n, pi);
}

static inline __attribute__((always_inline)) int cut_sums(const int typical, const int ties, const int check, float lb,
                                                          float c, int32_t lid, const int32_t *id, const float *L,
                                                          const float *P, int32_t nb, float inv, double *bs,
                                                          int32_t *cnt) {
    __m512 vc = _mm512_set1_ps(c), vlb = _mm512_set1_ps(lb), vi = _mm512_set1_ps(inv);
    __m512i vlid = _mm512_set1_epi32(lid), one = _mm512_set1_epi32(1), low = _mm512_set1_epi32(-1);
    /* the smallest bits - 1 of a p (as unsigned: p = 0 gives the largest):
     * some p is in (0, 2^-29) exactly when it is below bits(2^-29) - 1 */
    for (int32_t b = 0; b < nb; b++) {
        __m512d a = _mm512_setzero_pd(), d = a;
        int32_t k = 0;
        for (int32_t i = b * SMP_SIMD_CUT_BLK; i < (b + 1) * SMP_SIMD_CUT_BLK; i += 16) {
            __m512 vp = _mm512_loadu_ps(P + i);
            __mmask16 m = cut_mask_fast(typical, ties, _mm512_loadu_ps(L + i), vp, vlb, vc, id, i, vlid);
            __m512 p = _mm512_maskz_mul_ps(m, vp, vi);
            if (check) low = _mm512_min_epu32(low, _mm512_sub_epi32(_mm512_castps_si512(p), one));
            a = _mm512_add_pd(a, _mm512_cvtps_pd(_mm512_castps512_ps256(p)));
            d = _mm512_add_pd(d, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(p), 1))));
            k += __builtin_popcount(m);
        }
        bs[b] = _mm512_reduce_add_pd(_mm512_add_pd(a, d));
        cnt[b] = k;
    }
    union { float f; uint32_t u; } tiny = { 0x1p-29f };
    return _mm512_reduce_min_epu32(low) < tiny.u - 1;
}

/* each combination of the three switches compiled as its own loop */
POPCNT int smp_simd_cut_sums_512(int typical, int ties, float lb, float c, int32_t lid, const int32_t *id,
                                 const float *L, const float *P, int32_t nb, float inv, double *bs, int32_t *cnt,
                                 int check) {
#define CUT_SUMS(t, e, k) cut_sums(t, e, k, lb, c, lid, id, L, P, nb, inv, bs, cnt)
    switch ((typical ? 4 : 0) | (ties ? 2 : 0) | (check ? 1 : 0)) {
    case 0: return CUT_SUMS(0, 0, 0);
    case 1: return CUT_SUMS(0, 0, 1);
    case 2: return CUT_SUMS(0, 1, 0);
    case 3: return CUT_SUMS(0, 1, 1);
    case 4: return CUT_SUMS(1, 0, 0);
    case 5: return CUT_SUMS(1, 0, 1);
    case 6: return CUT_SUMS(1, 1, 0);
    default: return CUT_SUMS(1, 1, 1);
    }
#undef CUT_SUMS
}

/* smp_simd_cut_sums_512 from the buckets (session 13): the candidates
 * whose bucket is in [k1, k2] (none when k1 > k2) instead of the keys'
 * test, so the pass reads 16-bit buckets instead of the logits; the
 * caller adds the kept members of the other buckets itself. */
static inline __attribute__((always_inline)) int cut_sums_b(const int check, const uint16_t *B, const float *P,
                                                            int32_t nb, int32_t k1, int32_t k2, float inv, double *bs,
                                                            int32_t *cnt) {
    __m512 vi = _mm512_set1_ps(inv);
    __m512i one = _mm512_set1_epi32(1), low = _mm512_set1_epi32(-1);
    /* B in [k1, k2] as one unsigned compare: B - k1 <= k2 - k1 (mod 2^16) */
    const __m256i vk1 = _mm256_set1_epi16((short)k1), vw = _mm256_set1_epi16((short)(k2 - k1));
    for (int32_t b = 0; b < nb; b++) {
        __m512d a = _mm512_setzero_pd(), d = a;
        int32_t k = 0;
        for (int32_t i = b * SMP_SIMD_CUT_BLK; i < (b + 1) * SMP_SIMD_CUT_BLK; i += 16) {
            __m256i vb = _mm256_sub_epi16(_mm256_loadu_si256((const __m256i *)(B + i)), vk1);
            __mmask16 m = _mm256_cmp_epu16_mask(vb, vw, _MM_CMPINT_LE);
            __m512 p = _mm512_maskz_mul_ps(m, _mm512_loadu_ps(P + i), vi);
            if (check) low = _mm512_min_epu32(low, _mm512_sub_epi32(_mm512_castps_si512(p), one));
            a = _mm512_add_pd(a, _mm512_cvtps_pd(_mm512_castps512_ps256(p)));
            d = _mm512_add_pd(d, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(p), 1))));
            k += __builtin_popcount(m);
        }
        bs[b] = _mm512_reduce_add_pd(_mm512_add_pd(a, d));
        cnt[b] = k;
    }
    union { float f; uint32_t u; } tiny = { 0x1p-29f };
    return _mm512_reduce_min_epu32(low) < tiny.u - 1;
}

POPCNT int smp_simd_cut_sums_b_512(const uint16_t *B, const float *P, int32_t nb, int32_t k1, int32_t k2, float inv,
                                   double *bs, int32_t *cnt, int check) {
    if (k1 > k2) k1 = k2 = 0xffff;              /* no bucket is 0xffff (NB <= 2^16 - 1) */
    return check ? cut_sums_b(1, B, P, nb, k1, k2, inv, bs, cnt) : cut_sums_b(0, B, P, nb, k1, k2, inv, bs, cnt);
}

/* Appends to out[k..] the indices i + j of the set bits j of m (32 lanes):
 * each 16-lane half compressed into a vector and stored whole (see below);
 * returns the new count. */
static inline __attribute__((always_inline)) POPCNT int32_t store_hits(int32_t *out, int32_t k, __mmask32 m, int32_t i) {
    const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    __mmask16 lo = (__mmask16)m, hi = (__mmask16)(m >> 16);
    _mm512_storeu_si512(out + k, _mm512_maskz_compress_epi32(lo, _mm512_add_epi32(iota, _mm512_set1_epi32(i))));
    k += __builtin_popcount(lo);
    _mm512_storeu_si512(out + k, _mm512_maskz_compress_epi32(hi, _mm512_add_epi32(iota, _mm512_set1_epi32(i + 16))));
    return k + __builtin_popcount(hi);
}

/* 32 buckets per compare; the indices of a hit's 16-lane half are
 * compressed into a vector and stored whole (a compressing store to memory
 * is slow on some cores): past the members it writes up to 15 ints that the
 * next store or the caller overwrites. Most blocks of a flat row hold no
 * member (a bucket has ~1/300 of them). */
POPCNT int32_t smp_simd_members_512(const uint16_t *B, int32_t i, int32_t n, int32_t b, int32_t *cnt, int32_t *out,
                                    int32_t *nout) {
    __m512i vb = _mm512_set1_epi16((short)b);
    int32_t k = *nout, c = 0;
    for (; i + 32 <= n; i += 32) {
        __m512i v = _mm512_loadu_si512(B + i);
        c += __builtin_popcount(_mm512_cmplt_epu16_mask(v, vb));
        __mmask32 m = _mm512_cmpeq_epi16_mask(v, vb);
        if (!m) continue;
        k = store_hits(out, k, m, i);
    }
    *cnt += c;
    *nout = k;
    return i;
}

/* smp_simd_members_512 that also lists the candidates with B <= bt in le
 * (room for 16 past them), for min-p after top-p (session 13) */
POPCNT int32_t smp_simd_members_le_512(const uint16_t *B, int32_t i, int32_t n, int32_t b, int32_t *cnt, int32_t *out,
                                       int32_t *nout, int32_t bt, int32_t *le, int32_t *nle) {
    __m512i vb = _mm512_set1_epi16((short)b), vt = _mm512_set1_epi16((short)bt);
    int32_t k = *nout, c = 0, kl = *nle;
    for (; i + 32 <= n; i += 32) {
        __m512i v = _mm512_loadu_si512(B + i);
        c += __builtin_popcount(_mm512_cmplt_epu16_mask(v, vb));
        __mmask32 ml = _mm512_cmple_epu16_mask(v, vt);
        if (ml) kl = store_hits(le, kl, ml, i);
        __mmask32 m = _mm512_cmpeq_epi16_mask(v, vb);
        if (!m) continue;
        k = store_hits(out, k, m, i);
    }
    *cnt += c;
    *nout = k;
    *nle = kl;
    return i;
}
POPCNT int32_t smp_simd_le_512(const uint16_t *B, int32_t n, int32_t b, int32_t *out, int32_t *nout) {
    __m512i vb = _mm512_set1_epi16((short)b);
    int32_t k = *nout, i = 0;
    for (; i + 32 <= n; i += 32) {
        __mmask32 m = _mm512_cmple_epu16_mask(_mm512_loadu_si512(B + i), vb);
        k = store_hits(out, k, m, i);
    }
    *nout = k;
    return i;
}

/* smp_simd_members_512 for the buckets of two ranges, counting those in
 * [k1, k2] on the way */
POPCNT int32_t smp_simd_members2_512(const uint16_t *B, int32_t i, int32_t n, int32_t u1, int32_t u2, int32_t v1,
                                     int32_t v2, int32_t k1, int32_t k2, int32_t *cnt, int32_t *out, int32_t *nout) {
    __m512i a1 = _mm512_set1_epi16((short)u1), w1 = _mm512_set1_epi16((short)(u2 - u1));
    __m512i a2 = _mm512_set1_epi16((short)v1), w2 = _mm512_set1_epi16((short)(v2 - v1));
    __m512i ak = _mm512_set1_epi16((short)k1), wk = _mm512_set1_epi16((short)(k2 - k1));
    int32_t k = *nout, c = 0;
    for (; i + 32 <= n; i += 32) {
        __m512i b = _mm512_loadu_si512(B + i);
        __mmask32 m = _mm512_cmple_epu16_mask(_mm512_sub_epi16(b, a1), w1) | _mm512_cmple_epu16_mask(_mm512_sub_epi16(b, a2), w2);
        c += __builtin_popcount(_mm512_cmple_epu16_mask(_mm512_sub_epi16(b, ak), wk));
        if (!m) continue;
        k = store_hits(out, k, m, i);
    }
    *cnt += c;
    *nout = k;
    return i;
}

POPCNT int32_t smp_simd_compact_ge_512(const float *L, float *Lo, float *P, const int32_t *id, int32_t *out_id,
                                       int32_t n, float v, int32_t *pi) {
    int32_t k = 0, i = 0;
    __m512 vv = _mm512_set1_ps(v);
    __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (; i + 16 <= n; i += 16) {
        __m512 vl = _mm512_loadu_ps(L + i), vp = _mm512_loadu_ps(P + i);
        __mmask16 m = _mm512_cmp_ps_mask(vl, vv, _CMP_GE_OQ);
        __m512i vid = id ? _mm512_loadu_si512(id + i) : _mm512_add_epi32(iota, _mm512_set1_epi32(i));
        _mm512_storeu_si512(out_id + k, _mm512_maskz_compress_epi32(m, vid));
        _mm512_storeu_ps(Lo + k, _mm512_maskz_compress_ps(m, vl));
        _mm512_storeu_ps(P + k, _mm512_maskz_compress_ps(m, vp));
        k += __builtin_popcount(m);
    }
    *pi = i;
    return k;
}

/* smp_simd.h's exp at sixteen lanes on x in [-87, 88] (the callers zero
 * the lanes below -87 and NaN): the same operations in the same order as
 * smp_simd_exp's AVX2 and plain loops; n rounded by the conversion to int
 * (nearest even, one uop), 2^n applied by vscalefps (one uop; p 2^n
 * rounded once, as p times the float 2^n). Session 11 took five uops out
 * of vd_exp_f32's at the same bits; session 14 its polynomial (degree 7
 * as r^2 p5(r) + r + 1, 8 uops) for a fitted degree 6 (6 FMAs). */
static inline __m512 exp16(__m512 x) {
    __m512i ni = _mm512_cvt_roundps_epi32(_mm512_mul_ps(x, _mm512_set1_ps(SMP_EXP_LOG2E)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 n = _mm512_cvtepi32_ps(ni);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(SMP_EXP_LN2_HI), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(SMP_EXP_LN2_LO), r);
    __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(SMP_EXP_C6), r, _mm512_set1_ps(SMP_EXP_C5));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(SMP_EXP_C4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(SMP_EXP_C3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(SMP_EXP_C2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

/* smp_simd_exp_pass sixteen at a time: the sums keep their eight lanes
 * (candidate j into lane j % 8, in order: the low eight of a vector before
 * the high eight), so the bits are the eight-wide loop's. */
/* h[j % 4][B[j]] += P[j] for the sixteen from j, in order */
static inline void hist16(double (*h)[SMP_SIMD_NB], const uint16_t *B, const float *P, int32_t j) {
    for (int k = 0; k < 16; k += 4) {
        h[0][B[j + k]] += P[j + k];
        h[1][B[j + k + 1]] += P[j + k + 1];
        h[2][B[j + k + 2]] += P[j + k + 2];
        h[3][B[j + k + 3]] += P[j + k + 3];
    }
}

int32_t smp_simd_exp_pass_512(const float *L, float *P, int32_t i, int32_t i1, float m, double *part, uint16_t *B,
                              float scale, double *el, double (*h)[SMP_SIMD_NB]) {
    const int32_t i0 = i;
    __m512 vm = _mm512_set1_ps(m), lo = _mm512_set1_ps(-87.0f), zero = _mm512_setzero_ps(), vs = _mm512_set1_ps(-scale);
    __m512i top = _mm512_set1_epi32(SMP_SIMD_NB - 1);
    __m512d s = part ? _mm512_loadu_pd(part) : _mm512_setzero_pd();
    __m512d t = el ? _mm512_loadu_pd(el) : _mm512_setzero_pd();
    __m512 tf = zero;
    if (el) i1 = i + ((i1 - i) & -SMP_SIMD_EL_BLK);       /* whole blocks of E[l]'s float sums */
    for (; i + 16 <= i1; i += 16) {
        __m512 l = _mm512_loadu_ps(L + i), x = _mm512_sub_ps(l, vm);
        __mmask16 pos = _mm512_cmp_ps_mask(x, lo, _CMP_GE_OQ);     /* e > 0 (exp16 >= 2^-126 there) */
        __m512 e = _mm512_maskz_mov_ps(pos, exp16(x));
        _mm512_storeu_ps(P + i, e);
        if (part) {
            s = _mm512_add_pd(s, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
            s = _mm512_add_pd(s, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1))));
        }
        if (B) {                                 /* key m - l = -x; cvtt: INT_MIN for +inf/NaN, above NB - 1 unsigned */
            __m512i b = _mm512_min_epu32(_mm512_cvttps_epi32(_mm512_mul_ps(x, vs)), top);
            _mm256_storeu_si256((__m256i *)(B + i), _mm512_cvtepi32_epi16(b));
        }
        if (el) {                                /* p = 0 beside -inf or NaN: adds +0 */
            tf = _mm512_add_ps(tf, _mm512_maskz_mul_ps(pos, e, l));
            if (((i + 16) & (SMP_SIMD_EL_BLK - 1)) == 0) {
                t = _mm512_add_pd(t, _mm512_cvtps_pd(_mm512_castps512_ps256(tf)));
                t = _mm512_add_pd(t, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(tf), 1))));
                tf = zero;
            }
        }
        if (h && i - 32 >= i0) hist16(h, B, P, i - 32);
    }
    if (h) for (int32_t j = i - 32 >= i0 ? i - 32 : i0; j < i; j += 16) hist16(h, B, P, j);
    if (part) _mm512_storeu_pd(part, s);
    if (el) _mm512_storeu_pd(el, t);
    return i;
}

int smp_simd_block_sums_512(const float *P, int32_t nb, double *bs) {
    __m512 z = _mm512_setzero_ps(), tiny = _mm512_set1_ps(0x1p-29f);
    __mmask16 ok = 0xffff;
    for (int32_t b = 0; b < nb; b++) {
        const float *q = P + (int64_t)b * 64;
        __m512d a = _mm512_setzero_pd(), c = a;
        for (int j = 0; j < 64; j += 16) {
            __m512 p = _mm512_loadu_ps(q + j);
            ok &= _mm512_cmp_ps_mask(p, z, _CMP_EQ_OQ) | _mm512_cmp_ps_mask(p, tiny, _CMP_GE_OQ);
            a = _mm512_add_pd(a, _mm512_cvtps_pd(_mm512_castps512_ps256(p)));
            c = _mm512_add_pd(c, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(p), 1))));
        }
        bs[b] = _mm512_reduce_add_pd(_mm512_add_pd(a, c));
    }
    return ok != 0xffff;
}

/* The range with four accumulators of each kind (session 15): one max and
 * one masked min per 16 was bound by their 4-cycle latency (~32 kcyc for
 * 128256, about an L2 copy's time); the largest and the least above -inf
 * do not depend on the order (but for which zero wins, as before). */
int32_t smp_simd_range_512(const float *x, int32_t n, float *pm, float *plo) {
    const __m512 ninf = _mm512_set1_ps(-INFINITY), pinf = _mm512_set1_ps(INFINITY);
    __m512 a0 = ninf, a1 = ninf, a2 = ninf, a3 = ninf, l0 = pinf, l1 = pinf, l2 = pinf, l3 = pinf;
#define RANGE_STEP(a, lo, off)                                                              \
    do {                                                                                    \
        __m512 v = _mm512_loadu_ps(x + i + (off));                                         \
        a = _mm512_max_ps(v, a);                 /* NaN in v: keeps a */                  \
        lo = _mm512_mask_min_ps(lo, _mm512_cmp_ps_mask(v, ninf, _CMP_GT_OQ), v, lo);      \
    } while (0)
    int32_t i = 0;
    for (; i + 64 <= n; i += 64) {
        RANGE_STEP(a0, l0, 0);
        RANGE_STEP(a1, l1, 16);
        RANGE_STEP(a2, l2, 32);
        RANGE_STEP(a3, l3, 48);
    }
    for (; i + 16 <= n; i += 16) RANGE_STEP(a0, l0, 0);
#undef RANGE_STEP
    __m512 a = _mm512_max_ps(_mm512_max_ps(a0, a1), _mm512_max_ps(a2, a3));
    __m512 lo = _mm512_min_ps(_mm512_min_ps(l0, l1), _mm512_min_ps(l2, l3));
    float t[16], u[16], m = *pm, l = *plo;
    _mm512_storeu_ps(t, a);
    _mm512_storeu_ps(u, lo);
    for (int j = 0; j < 16; j++) {
        if (t[j] > m) m = t[j];
        if (u[j] < l) l = u[j];
    }
    *pm = m;
    *plo = l;
    return i;
}

/* The copy is bound by its stores, not the latency: one accumulator of
 * each (four measured ~5 % slower). */
int32_t smp_simd_copy_range_512(const float *x, float *y, int32_t n, float *pm, float *plo) {
    __m512 a = _mm512_set1_ps(-INFINITY), lo = _mm512_set1_ps(INFINITY), ninf = a;
    int32_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 v = _mm512_loadu_ps(x + i);
        _mm512_storeu_ps(y + i, v);
        a = _mm512_max_ps(v, a);                 /* NaN in v: keeps a */
        lo = _mm512_mask_min_ps(lo, _mm512_cmp_ps_mask(v, ninf, _CMP_GT_OQ), v, lo);
    }
    float t[16], u[16], m = *pm, l = *plo;
    _mm512_storeu_ps(t, a);
    _mm512_storeu_ps(u, lo);
    for (int j = 0; j < 16; j++) {
        if (t[j] > m) m = t[j];
        if (u[j] < l) l = u[j];
    }
    *pm = m;
    *plo = l;
    return i;
}

int32_t smp_simd_typical_keys_512(const float *L, const float *P, int32_t i, int32_t i1, float lbar, uint16_t *B,
                                  float scale) {
    __m512 vl = _mm512_set1_ps(lbar), vs = _mm512_set1_ps(scale), zero = _mm512_setzero_ps(), inf = _mm512_set1_ps(INFINITY);
    __m512 abs = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
    __m512i top = _mm512_set1_epi32(SMP_SIMD_NB - 1);
    for (; i + 16 <= i1; i += 16) {
        __m512 k = _mm512_and_ps(_mm512_sub_ps(_mm512_loadu_ps(L + i), vl), abs);
        k = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(_mm512_loadu_ps(P + i), zero, _CMP_GT_OQ), inf, k);
        __m512i b = _mm512_min_epu32(_mm512_cvttps_epi32(_mm512_mul_ps(k, vs)), top);
        _mm256_storeu_si256((__m256i *)(B + i), _mm512_cvtepi32_epi16(b));
    }
    return i;
}

#endif
