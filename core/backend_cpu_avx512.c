/* backend_cpu_avx512: the CPU backend's element-wise steps in AVX-512
 * (RMSNorm rows, the residual add, the RoPE rotation), built with the
 * Makefile's AVX-512 flags and called where vd_isa() >= VD_AVX512
 * (backend_cpu.c, backend_cpu_att.c). Each computes bitwise what the
 * portable loop beside its caller computes: the same float (and double)
 * operations on each element in the same order, only several elements or
 * rows at once (-ffp-contract=off: no product is fused into an add).
 * Why: in a decode step of 64 sequences these loops over 64 rows of 288
 * were scalar (gcc -O2 does not vectorize them) and together ~6% of the
 * stories15m step (perf, one thread). */
#include "backend_cpu_impl.h"
#include "logits.h"
#include "vecdot.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512DQ__)
#include <immintrin.h>
#include <math.h>

/* r[k] (row k's eight floats) -> r[c] (column c's eight rows) */
static inline void transpose8(__m256 r[8]) {
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(u0, u4, 0x20); r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
    r[1] = _mm256_permute2f128_ps(u1, u5, 0x20); r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    r[2] = _mm256_permute2f128_ps(u2, u6, 0x20); r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
    r[3] = _mm256_permute2f128_ps(u3, u7, 0x20); r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

/* y = (x * scale) * w over one row, as rms_rows' second loop */
static inline void scale_row(float *y, const float *x, const float *w, int32_t dim, float scale) {
    __m512 vs = _mm512_set1_ps(scale);
    int32_t j = 0;
    for (; j + 16 <= dim; j += 16)
        _mm512_storeu_ps(y + j, _mm512_mul_ps(_mm512_mul_ps(_mm512_loadu_ps(x + j), vs), _mm512_loadu_ps(w + j)));
    if (j < dim) {
        __mmask16 k = (__mmask16)((1u << (dim - j)) - 1);
        _mm512_mask_storeu_ps(y + j, k, _mm512_mul_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(k, x + j), vs),
                                                      _mm512_maskz_loadu_ps(k, w + j)));
    }
}

/* Rows of rms_rows sixteen at a time, row k in lane k % 8 of chain k / 8
 * (a zmm of doubles), so each row's squares (rounded to float, then exact
 * in double) are added in order j = 0..dim-1 as in the scalar loop; two
 * chains of eight in flight. A last group of RMS_PAD_MIN to fifteen rows
 * goes through the same sixteen lanes, the missing rows' lanes reading its
 * last row again and their results dropped (each lane is its own row, so a
 * row's result does not depend on its neighbours): the scalar loop takes
 * ~0.3 us a row of 288 where sixteen lanes take ~1.5 us, so from five rows
 * on the lanes are cheaper (stories15m, one thread, the 13 norms of a
 * step: 6 rows 26 us, 16 rows 19 us; session 14, notes w22b). Fewer rows
 * (batch-1 decode's one) stay scalar. Returns the first row not done. */
#define RMS_PAD_MIN 5
int32_t cpu_rms_rows_avx512(float *y, const float *x, const float *w, int32_t r0, int32_t r1, int32_t dim, float eps) {
    int32_t i = r0;
    for (; i + RMS_PAD_MIN <= r1; i += 16) {
        int32_t nr = r1 - i < 16 ? r1 - i : 16;
        const float *xr = x + (size_t)i * dim, *rp[16];
        for (int k = 0; k < 16; k++) rp[k] = xr + (size_t)(k < nr ? k : nr - 1) * dim;
        __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
        int32_t j = 0;
        for (; j + 8 <= dim; j += 8) {
            __m256 a[8], b[8];
            for (int k = 0; k < 8; k++) {
                a[k] = _mm256_loadu_ps(rp[k] + j);
                b[k] = _mm256_loadu_ps(rp[k + 8] + j);
            }
            transpose8(a);
            transpose8(b);
            for (int c = 0; c < 8; c++) {
                s0 = _mm512_add_pd(s0, _mm512_cvtps_pd(_mm256_mul_ps(a[c], a[c])));
                s1 = _mm512_add_pd(s1, _mm512_cvtps_pd(_mm256_mul_ps(b[c], b[c])));
            }
        }
        for (; j < dim; j++) {   /* columns past the last eight: gathered one at a time */
            float ca[8], cb[8];
            for (int k = 0; k < 8; k++) { ca[k] = rp[k][j]; cb[k] = rp[k + 8][j]; }
            __m256 va = _mm256_loadu_ps(ca), vb = _mm256_loadu_ps(cb);
            s0 = _mm512_add_pd(s0, _mm512_cvtps_pd(_mm256_mul_ps(va, va)));
            s1 = _mm512_add_pd(s1, _mm512_cvtps_pd(_mm256_mul_ps(vb, vb)));
        }
        double ss[16];
        _mm512_storeu_pd(ss, s0);
        _mm512_storeu_pd(ss + 8, s1);
        for (int r = 0; r < nr; r++) {
            float scale = 1.0f / sqrtf((float)(ss[r] / dim) + eps);
            scale_row(y + (size_t)(i + r) * dim, xr + (size_t)r * dim, w, dim, scale);
        }
        if (nr < 16) return r1;
    }
    return i;
}

/* x[i] += y[i] for i < n */
void cpu_add_avx512(float *x, const float *y, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(x + i, _mm512_add_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
    if (i < n) {
        __mmask16 k = (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(x + i, k, _mm512_add_ps(_mm512_maskz_loadu_ps(k, x + i), _mm512_maskz_loadu_ps(k, y + i)));
    }
}

/* One head's pairs (v[2j], v[2j+1]) rotated by (cs[2j], cs[2j+1]) =
 * (cos, sin), j < half, as cpu_rope's loop: even a * co - b * si, odd
 * a * si + b * co (= b * co + a * si: an addition commutes bitwise),
 * eight pairs a zmm. */
void cpu_rope_head_avx512(float *v, const float *cs, int32_t half) {
    int32_t j = 0, n = 2 * half;
    for (; j < n; j += 16) {
        __mmask16 k = n - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - j)) - 1);
        __m512 x = _mm512_maskz_loadu_ps(k, v + j), c = _mm512_maskz_loadu_ps(k, cs + j);
        __m512 co = _mm512_moveldup_ps(c), si = _mm512_movehdup_ps(c);
        __m512 sw = _mm512_permute_ps(x, 0xB1);            /* (b, a) in each pair */
        __m512 p = _mm512_mul_ps(x, co), q = _mm512_mul_ps(sw, si);   /* (a co, b co), (b si, a si) */
        __m512 r = _mm512_mask_add_ps(_mm512_sub_ps(p, q), (__mmask16)0xAAAA, p, q);
        _mm512_mask_storeu_ps(v + j, k, r);
    }
}

/* check_cols' two passes over a just-computed slice of a logits row (in
 * L1/L2), vd_finite_f32 then logits_argmax, as one: -1 when a value is NaN
 * or Inf (vd_finite_f32's test: the largest |x| bits, by unsigned maxima,
 * below 0x7f800000), else logits_argmax(x, n): its blocks of 1024 (the
 * first block whose maximum is strictly the largest so far) and its search
 * for the first id equal to the best from that block on, so the same id
 * (a finite row has no NaN to rank). One load feeds both maxima.
 * Why: the check read each slice twice, ~4.5% of a 54-sequence stories15m
 * step at one thread, and its cost a row grew with the sequences (2.4 us
 * at 16, 4.6-4.9 at 38-56; session 14, notes w22b). */
int32_t cpu_finite_argmax_avx512(const float *x, int32_t n) {
    enum { BLK = 1024 };
    const __m512i abs = _mm512_set1_epi32(0x7fffffff);
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    float best = -INFINITY;
    int32_t from = 0, i = 0;
    for (; i + BLK <= n; i += BLK) {
        __m512 m0 = _mm512_set1_ps(-INFINITY), m1 = m0, m2 = m0, m3 = m0;
        for (int32_t j = i; j < i + BLK; j += 64) {
            __m512 v0 = _mm512_loadu_ps(x + j), v1 = _mm512_loadu_ps(x + j + 16);
            __m512 v2 = _mm512_loadu_ps(x + j + 32), v3 = _mm512_loadu_ps(x + j + 48);
            m0 = _mm512_max_ps(v0, m0); m1 = _mm512_max_ps(v1, m1);
            m2 = _mm512_max_ps(v2, m2); m3 = _mm512_max_ps(v3, m3);
            a0 = _mm512_max_epu32(a0, _mm512_and_si512(_mm512_castps_si512(v0), abs));
            a1 = _mm512_max_epu32(a1, _mm512_and_si512(_mm512_castps_si512(v1), abs));
            a2 = _mm512_max_epu32(a2, _mm512_and_si512(_mm512_castps_si512(v2), abs));
            a3 = _mm512_max_epu32(a3, _mm512_and_si512(_mm512_castps_si512(v3), abs));
        }
        float bm = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_max_ps(m0, m1), _mm512_max_ps(m2, m3)));
        if (bm > best) { best = bm; from = i; }
    }
    if (i < n) {   /* the tail as one more block, by sixteens and a masked last load */
        __m512 m = _mm512_set1_ps(-INFINITY);
        for (int32_t j = i; j < n; j += 16) {
            __mmask16 k = n - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - j)) - 1);
            __m512 v = _mm512_maskz_loadu_ps(k, x + j);   /* zeros past the end: finite */
            m = _mm512_mask_max_ps(m, k, v, m);
            a0 = _mm512_max_epu32(a0, _mm512_and_si512(_mm512_castps_si512(v), abs));
        }
        float bm = _mm512_reduce_max_ps(m);
        if (bm > best) { best = bm; from = i; }
    }
    a0 = _mm512_max_epu32(_mm512_max_epu32(a0, a1), _mm512_max_epu32(a2, a3));
    if (_mm512_reduce_max_epu32(a0) >= 0x7f800000u) return -1;
    __m512 vb = _mm512_set1_ps(best);
    for (int32_t j = from; j < n; j += 16) {
        __mmask16 k = n - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - j)) - 1);
        __mmask16 eq = _mm512_mask_cmp_ps_mask(k, _mm512_maskz_loadu_ps(k, x + j), vb, _CMP_EQ_OQ);
        if (eq) return j + __builtin_ctz((unsigned)eq);
    }
    return 0;
}
#else
/* a compiler without AVX-512: vd_isa() never reaches VD_AVX512 with these
 * objects, but the callers link against them; plain loops */
int32_t cpu_rms_rows_avx512(float *y, const float *x, const float *w, int32_t r0, int32_t r1, int32_t dim, float eps) {
    (void)y; (void)x; (void)w; (void)r1; (void)dim; (void)eps;
    return r0;   /* nothing done: the caller's loop takes every row */
}
void cpu_add_avx512(float *x, const float *y, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] += y[i];
}
void cpu_rope_head_avx512(float *v, const float *cs, int32_t half) {
    for (int32_t j = 0; j < half; j++) {
        float co = cs[2 * j], si = cs[2 * j + 1], a = v[2 * j], bb = v[2 * j + 1];
        v[2 * j] = a * co - bb * si;
        v[2 * j + 1] = a * si + bb * co;
    }
}
int32_t cpu_finite_argmax_avx512(const float *x, int32_t n) {
    return vd_finite_f32(x, n) ? logits_argmax(x, n) : -1;
}
#endif
