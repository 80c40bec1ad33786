/* tvec_avx2: tvec.h's loops with AVX2 FMA; tails through a masked load. */
#include "tvec.h"
#include <immintrin.h>

#include "vexp_avx2.h"

static __m256i tail_mask(int r) {   /* the first r lanes */
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(r), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

void tvec_axpy_avx2(int n, float a, const float *x, float *y) {
    __m256 va = _mm256_set1_ps(a);
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    if (i < n) {
        __m256i m = tail_mask(n - i);
        __m256 r = _mm256_fmadd_ps(va, _mm256_maskload_ps(x + i, m), _mm256_maskload_ps(y + i, m));
        _mm256_maskstore_ps(y + i, m, r);
    }
}

float tvec_dot_avx2(int n, const float *x, const float *y) {
    __m256 s = _mm256_setzero_ps();
    int i = 0;
    for (; i + 8 <= n; i += 8) s = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), s);
    if (i < n) {
        __m256i m = tail_mask(n - i);
        s = _mm256_fmadd_ps(_mm256_maskload_ps(x + i, m), _mm256_maskload_ps(y + i, m), s);
    }
    float t[8];
    _mm256_storeu_ps(t, s);
    return ((t[0] + t[4]) + (t[1] + t[5])) + ((t[2] + t[6]) + (t[3] + t[7]));
}

float tvec_max_avx2(int n, const float *x) {
    __m256 m = _mm256_set1_ps(x[0]);
    int i = 0;
    for (; i + 8 <= n; i += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(x + i));
    float t[8];
    _mm256_storeu_ps(t, m);
    float r = t[0];
    for (int k = 1; k < 8; k++) r = t[k] > r ? t[k] : r;
    for (; i < n; i++) r = x[i] > r ? x[i] : r;
    return r;
}

float tvec_sum_avx2(int n, const float *x) {
    __m256 s = _mm256_setzero_ps();
    int i = 0;
    for (; i + 8 <= n; i += 8) s = _mm256_add_ps(s, _mm256_loadu_ps(x + i));
    if (i < n) s = _mm256_add_ps(s, _mm256_maskload_ps(x + i, tail_mask(n - i)));
    float t[8];
    _mm256_storeu_ps(t, s);
    return ((t[0] + t[4]) + (t[1] + t[5])) + ((t[2] + t[6]) + (t[3] + t[7]));
}

/* ---- element-wise loops of training (tvec.h) ----
 * Lanes are independent and tails go through the same vector code on masked
 * loads, so a value's result does not depend on its place in the call (or
 * on how the pool split the range). */

float tvec_sumexp_avx2(int n, const float *x, float mx) {
    __m256 s = _mm256_setzero_ps(), vm = _mm256_set1_ps(mx);
    int i = 0;
    for (; i + 8 <= n; i += 8) s = _mm256_add_ps(s, exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm)));
    if (i < n) {   /* masked lanes add exact zeros, as tvec_sum's masked load does */
        __m256i m = tail_mask(n - i);
        __m256 e = exp8(_mm256_sub_ps(_mm256_maskload_ps(x + i, m), vm));
        s = _mm256_add_ps(s, _mm256_and_ps(e, _mm256_castsi256_ps(m)));
    }
    float t[8];
    _mm256_storeu_ps(t, s);
    return ((t[0] + t[4]) + (t[1] + t[5])) + ((t[2] + t[6]) + (t[3] + t[7]));
}

void tvec_expscale_avx2(int n, float *x, float sub, float scale) {
    __m256 vs = _mm256_set1_ps(sub), vc = _mm256_set1_ps(scale);
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(x + i, _mm256_mul_ps(exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vs)), vc));
    if (i < n) {
        __m256i m = tail_mask(n - i);
        _mm256_maskstore_ps(x + i, m, _mm256_mul_ps(exp8(_mm256_sub_ps(_mm256_maskload_ps(x + i, m), vs)), vc));
    }
}

/* s = 1 / (1 + exp(-g)) */
static inline __m256 sigm8(__m256 g) {
    const __m256 one = _mm256_set1_ps(1.0f);
    return _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_xor_ps(g, _mm256_set1_ps(-0.0f)))));
}

static inline __m256 swiglu8(__m256 vg, __m256 vu) { return _mm256_mul_ps(_mm256_mul_ps(vg, sigm8(vg)), vu); }

void tvec_swiglu_fwd_avx2(size_t n, float *h, const float *g, const float *u) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(h + i, swiglu8(_mm256_loadu_ps(g + i), _mm256_loadu_ps(u + i)));
    if (i < n) {
        __m256i m = tail_mask((int)(n - i));
        _mm256_maskstore_ps(h + i, m, swiglu8(_mm256_maskload_ps(g + i, m), _mm256_maskload_ps(u + i, m)));
    }
}

/* dg = dh u s (1 + g (1 - s)), du = dh g s */
static inline void swiglu_bwd8(__m256 vd, __m256 vg, __m256 vu, __m256 *dg, __m256 *du) {
    const __m256 one = _mm256_set1_ps(1.0f);
    __m256 s = sigm8(vg);
    __m256 d = _mm256_mul_ps(_mm256_mul_ps(vd, vu), s);
    *dg = _mm256_mul_ps(d, _mm256_add_ps(one, _mm256_mul_ps(vg, _mm256_sub_ps(one, s))));
    *du = _mm256_mul_ps(vd, _mm256_mul_ps(vg, s));
}

void tvec_swiglu_bwd_avx2(size_t n, float *dg, float *du, const float *dh, const float *g, const float *u) {
    size_t i = 0;
    __m256 a, b;
    for (; i + 8 <= n; i += 8) {
        swiglu_bwd8(_mm256_loadu_ps(dh + i), _mm256_loadu_ps(g + i), _mm256_loadu_ps(u + i), &a, &b);
        _mm256_storeu_ps(dg + i, a);
        _mm256_storeu_ps(du + i, b);
    }
    if (i < n) {
        __m256i m = tail_mask((int)(n - i));
        swiglu_bwd8(_mm256_maskload_ps(dh + i, m), _mm256_maskload_ps(g + i, m), _mm256_maskload_ps(u + i, m), &a, &b);
        _mm256_maskstore_ps(dg + i, m, a);
        _mm256_maskstore_ps(du + i, m, b);
    }
}

/* Separate multiplies and adds, IEEE division and square root, in the
 * portable loop's order: the same bits as it (and as the scalar AdamW
 * before it was vectorised), whatever the split. on: the lanes to decay. */
static inline void adamw8(const tvec_adamw_k *k, __m256 on, __m256 vg, __m256 *p, __m256 *m, __m256 *v) {
    const __m256 b1 = _mm256_set1_ps(k->b1), c1 = _mm256_set1_ps(1.0f - k->b1);
    const __m256 b2 = _mm256_set1_ps(k->b2), c2 = _mm256_set1_ps(1.0f - k->b2);
    __m256 vp = _mm256_blendv_ps(*p, _mm256_mul_ps(*p, _mm256_set1_ps(k->decay)), on);
    __m256 vm = _mm256_add_ps(_mm256_mul_ps(b1, *m), _mm256_mul_ps(c1, vg));
    __m256 vv = _mm256_add_ps(_mm256_mul_ps(b2, *v), _mm256_mul_ps(_mm256_mul_ps(c2, vg), vg));
    __m256 den = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vv), _mm256_set1_ps(k->bc2sqrt)), _mm256_set1_ps(k->eps));
    *p = _mm256_sub_ps(vp, _mm256_div_ps(_mm256_mul_ps(_mm256_set1_ps(k->step), vm), den));
    *m = vm;
    *v = vv;
}

static inline __m256 decay_lanes(const unsigned char *decay, size_t i, size_t nb) {
    if (!decay) return _mm256_castsi256_ps(_mm256_set1_epi32(-1));
    long long bytes = 0;
    __builtin_memcpy(&bytes, decay + i, nb);
    __m256i d = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(bytes));
    return _mm256_castsi256_ps(_mm256_cmpgt_epi32(d, _mm256_setzero_si256()));
}

void tvec_adamw_avx2(size_t n, float *p, float *mo, float *vo, const float *g, const unsigned char *decay,
                     const tvec_adamw_k *k) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 vp = _mm256_loadu_ps(p + i), vm = _mm256_loadu_ps(mo + i), vv = _mm256_loadu_ps(vo + i);
        adamw8(k, decay_lanes(decay, i, 8), _mm256_loadu_ps(g + i), &vp, &vm, &vv);
        _mm256_storeu_ps(p + i, vp);
        _mm256_storeu_ps(mo + i, vm);
        _mm256_storeu_ps(vo + i, vv);
    }
    if (i < n) {
        __m256i m = tail_mask((int)(n - i));
        __m256 vp = _mm256_maskload_ps(p + i, m), vm = _mm256_maskload_ps(mo + i, m), vv = _mm256_maskload_ps(vo + i, m);
        adamw8(k, decay_lanes(decay, i, n - i), _mm256_maskload_ps(g + i, m), &vp, &vm, &vv);
        _mm256_maskstore_ps(p + i, m, vp);
        _mm256_maskstore_ps(mo + i, m, vm);
        _mm256_maskstore_ps(vo + i, m, vv);
    }
}

/* Four double accumulators of 4 lanes each (16 partial sums), added in a
 * fixed order at the end: the same result for the same n every time. */
double tvec_sumsq_avx2(size_t n, const float *x) {
    __m256d s0 = _mm256_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256d a = _mm256_cvtps_pd(_mm_loadu_ps(x + i)), b = _mm256_cvtps_pd(_mm_loadu_ps(x + i + 4));
        __m256d c = _mm256_cvtps_pd(_mm_loadu_ps(x + i + 8)), d = _mm256_cvtps_pd(_mm_loadu_ps(x + i + 12));
        s0 = _mm256_fmadd_pd(a, a, s0);
        s1 = _mm256_fmadd_pd(b, b, s1);
        s2 = _mm256_fmadd_pd(c, c, s2);
        s3 = _mm256_fmadd_pd(d, d, s3);
    }
    double t[4];
    _mm256_storeu_pd(t, _mm256_add_pd(_mm256_add_pd(s0, s1), _mm256_add_pd(s2, s3)));
    double r = (t[0] + t[1]) + (t[2] + t[3]);
    for (; i < n; i++) r += (double)x[i] * x[i];
    return r;
}

void tvec_scale_avx2(size_t n, float *x, float s) {
    __m256 vs = _mm256_set1_ps(s);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vs));
    for (; i < n; i++) x[i] *= s;
}

/* Attention's softmax of row p[0..n): p = exp(p scale - max) / sum, with
 * the roundings of the separate passes it replaces (scale, max, subtract,
 * exp, tvec_sum's order, times 1 / sum): the same bits in two passes. */
void tvec_softmax_row_avx2(int n, float *p, float scale) {
    __m256 vs = _mm256_set1_ps(scale);
    float mx = tvec_max_avx2(n, p) * scale;   /* scaling by scale > 0 keeps the largest the largest */
    __m256 vm = _mm256_set1_ps(mx), s = _mm256_setzero_ps();
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 e = exp8(_mm256_sub_ps(_mm256_mul_ps(_mm256_loadu_ps(p + i), vs), vm));
        _mm256_storeu_ps(p + i, e);
        s = _mm256_add_ps(s, e);
    }
    if (i < n) {
        __m256i m = tail_mask(n - i);
        __m256 e = exp8(_mm256_sub_ps(_mm256_mul_ps(_mm256_maskload_ps(p + i, m), vs), vm));
        e = _mm256_and_ps(e, _mm256_castsi256_ps(m));
        _mm256_maskstore_ps(p + i, m, e);
        s = _mm256_add_ps(s, e);
    }
    float t[8];
    _mm256_storeu_ps(t, s);
    __m256 inv = _mm256_set1_ps(1.0f / (((t[0] + t[4]) + (t[1] + t[5])) + ((t[2] + t[6]) + (t[3] + t[7]))));
    for (i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(p + i, _mm256_mul_ps(_mm256_loadu_ps(p + i), inv));
    if (i < n) {
        __m256i m = tail_mask(n - i);
        _mm256_maskstore_ps(p + i, m, _mm256_mul_ps(_mm256_maskload_ps(p + i, m), inv));
    }
}

/* ds = p (ds - sum p ds) scale over [0, n) (attention's dS row). */
void tvec_softmax_bwd_row_avx2(int n, const float *p, float *ds, float scale) {
    __m256 sum = _mm256_set1_ps(tvec_dot_avx2(n, p, ds)), vs = _mm256_set1_ps(scale);
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 d = _mm256_sub_ps(_mm256_loadu_ps(ds + i), sum);
        _mm256_storeu_ps(ds + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(p + i), d), vs));
    }
    if (i < n) {
        __m256i m = tail_mask(n - i);
        __m256 d = _mm256_sub_ps(_mm256_maskload_ps(ds + i, m), sum);
        _mm256_maskstore_ps(ds + i, m, _mm256_mul_ps(_mm256_mul_ps(_mm256_maskload_ps(p + i, m), d), vs));
    }
}
