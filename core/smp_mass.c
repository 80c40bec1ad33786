/* smp_mass: the samplers' whole-row passes over flat float arrays (see
 * smp_mass.h): the softmax, top-p and typical-p without sorting the
 * vocabulary, and the dist draw.
 *
 * A flat row (a random model, or a high temperature) needs most of a 32k
 * or 128k vocabulary for p = 0.95, and sorting it cost more than a decode
 * step. The candidates array is an array of structs; each pass here first
 * takes the column it needs into a float array (logits, probabilities,
 * keys) and works on that, two or four lanes at a time with SSE2 where the
 * ISA allows (vd_isa() >= VD_AVX2; the portable setting runs the scalar
 * loops, which do the same float and double operations in the same order,
 * so either gives the same bits).
 *
 * Selecting a mass (keep_mass): one pass puts each candidate's key into one
 * of SMP_MASS_BUCKETS equal-width buckets over [min key, min key + 64]
 * (keys beyond, infinite or NaN go to the last bucket), a second sums the
 * mass per bucket in candidate order; a walk over the buckets finds the one
 * where the mass crosses p; only its members are sorted (about a hundred on
 * a flat 128k row) to find the exact last token; one more pass keeps every
 * candidate ahead of that token, in place and in order. Buckets are
 * monotone in the key, so the kept set is the prefix of the sorted order,
 * as a sort would find it.
 */
#include "smp_mass.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vecdot.h"

#if defined(__SSE2__)
#include <immintrin.h>
#define SMP_SSE2 1
#else
#define SMP_SSE2 0
#endif

#define SMP_MASS_BUCKETS 4096
#define SMP_MASS_RANGE 64.0f

/* The SIMD loops run when the engine runs its SIMD kernels: tests switch
 * both off together (vd_set_isa) to compare against the scalar loops. */
static int simd(void) { return SMP_SSE2 && vd_isa() >= VD_AVX2; }

/* ---- column passes -------------------------------------------------------- */

/* The largest value, NaN skipped; -inf when there is none. As the loop
 * `if (x > m) m = x`: max(x, m) keeps m when x is NaN. Which of +0 and -0
 * wins may differ from the loop; no caller can tell them apart. */
static float row_max(const float *x, int32_t n) {
    float m = -INFINITY;
    int32_t i = 0;
#if SMP_SSE2
    if (simd() && n >= 8) {
        __m128 a = _mm_set1_ps(-INFINITY), b = a;
        for (; i + 8 <= n; i += 8) {
            a = _mm_max_ps(_mm_loadu_ps(x + i), a);
            b = _mm_max_ps(_mm_loadu_ps(x + i + 4), b);
        }
        float t[4];
        _mm_storeu_ps(t, _mm_max_ps(a, b));
        for (int j = 0; j < 4; j++) if (t[j] > m) m = t[j];
    }
#endif
    for (; i < n; i++) if (x[i] > m) m = x[i];
    return m;
}

#if SMP_SSE2
/* row_softmax's loops eight at a time: the same operations per candidate,
 * and sum j of the eight still gets candidates j, j + 8, ... in order
 * (lanes 0-3 of a block into s[0], 4-7 into s[1]). */
__attribute__((target("avx2"))) static void sub_avx2(const float *L, float *P, int32_t i, int32_t i1, float m) {
    __m256 vm = _mm256_set1_ps(m);
    for (; i + 8 <= i1; i += 8) _mm256_storeu_ps(P + i, _mm256_sub_ps(_mm256_loadu_ps(L + i), vm));
}
__attribute__((target("avx2"))) static int32_t mask_sum_avx2(const float *L, float *P, int32_t i, int32_t i1, float m,
                                                             double *s) {
    __m256 vm = _mm256_set1_ps(m), lo = _mm256_set1_ps(-87.0f);
    __m256d s0 = _mm256_loadu_pd(s), s1 = _mm256_loadu_pd(s + 4);
    for (; i + 8 <= i1; i += 8) {
        __m256 e = _mm256_and_ps(_mm256_cmp_ps(_mm256_sub_ps(_mm256_loadu_ps(L + i), vm), lo, _CMP_GE_OQ), _mm256_loadu_ps(P + i));
        _mm256_storeu_ps(P + i, e);
        s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
        s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
    }
    _mm256_storeu_pd(s, s0);
    _mm256_storeu_pd(s + 4, s1);
    return i;
}
__attribute__((target("avx2"))) static int32_t scale_avx2(float *P, int32_t n, double inv) {
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
#endif

/* P = the softmax of L as smp.h defines it: one vectorized exp per
 * candidate (vd_exp_f32, within 2 ulp of expf), zero where l - max < -87
 * (the SIMD exp floors at ~1e-38 there: a masked or hopeless token keeps
 * probability 0), eight partial sums in double in a fixed order (no long
 * chain of dependent adds; the same result every time), p = e * (1/sum)
 * rounded to float. All -inf: p = 0 everywhere. */
static void row_softmax(const float *L, float *P, int32_t n) {
    enum { CHUNK = 2048 };                   /* a multiple of 8, in the L1 cache */
    float m = row_max(L, n);
    if (m == -INFINITY) {
        memset(P, 0, sizeof *P * (size_t)n);
        return;
    }
    double part[8] = { 0 };
#if SMP_SSE2
    const int v = simd();
    __m128 vm = _mm_set1_ps(m), lo = _mm_set1_ps(-87.0f);
    __m128d s01 = _mm_setzero_pd(), s23 = s01, s45 = s01, s67 = s01;
#endif
    /* a chunk at a time: l - max, exp, the mask and the sums while the
     * chunk is in the L1 cache */
    for (int32_t i0 = 0; i0 < n; i0 += CHUNK) {
        int32_t i1 = n - i0 < CHUNK ? n : i0 + CHUNK, i = i0;
#if SMP_SSE2
        if (v) {
            sub_avx2(L, P, i, i1, m);
            i += (i1 - i) / 8 * 8;
        }
        if (v) for (; i + 4 <= i1; i += 4) _mm_storeu_ps(P + i, _mm_sub_ps(_mm_loadu_ps(L + i), vm));
#endif
        for (; i < i1; i++) P[i] = L[i] - m;
        vd_exp_f32(P + i0, i1 - i0);
        i = i0;
#if SMP_SSE2
        if (v) {                             /* the 4 x 2 SSE2 sums as 2 x 4 AVX2 ones */
            double t[8];
            _mm_storeu_pd(t, s01);
            _mm_storeu_pd(t + 2, s23);
            _mm_storeu_pd(t + 4, s45);
            _mm_storeu_pd(t + 6, s67);
            i = mask_sum_avx2(L, P, i, i1, m, t);
            s01 = _mm_loadu_pd(t);
            s23 = _mm_loadu_pd(t + 2);
            s45 = _mm_loadu_pd(t + 4);
            s67 = _mm_loadu_pd(t + 6);
        }
        if (v)
            for (; i + 8 <= i1; i += 8) {
                __m128 e0 = _mm_and_ps(_mm_cmpge_ps(_mm_sub_ps(_mm_loadu_ps(L + i), vm), lo), _mm_loadu_ps(P + i));
                __m128 e1 = _mm_and_ps(_mm_cmpge_ps(_mm_sub_ps(_mm_loadu_ps(L + i + 4), vm), lo), _mm_loadu_ps(P + i + 4));
                _mm_storeu_ps(P + i, e0);
                _mm_storeu_ps(P + i + 4, e1);
                s01 = _mm_add_pd(s01, _mm_cvtps_pd(e0));
                s23 = _mm_add_pd(s23, _mm_cvtps_pd(_mm_movehl_ps(e0, e0)));
                s45 = _mm_add_pd(s45, _mm_cvtps_pd(e1));
                s67 = _mm_add_pd(s67, _mm_cvtps_pd(_mm_movehl_ps(e1, e1)));
            }
        if (v && i < i1) {                   /* the last chunk's tail: lanes to part[] */
            _mm_storeu_pd(part, s01);
            _mm_storeu_pd(part + 2, s23);
            _mm_storeu_pd(part + 4, s45);
            _mm_storeu_pd(part + 6, s67);
            s01 = s23 = s45 = s67 = _mm_setzero_pd();
        }
#endif
        for (; i < i1; i++) {
            if (!(L[i] - m >= -87.0f)) P[i] = 0.0f;
            part[i & 7] += P[i];
        }
    }
#if SMP_SSE2
    if (v) {                                 /* lanes not yet in part[] (zero if they are) */
        double t[8];
        _mm_storeu_pd(t, s01);
        _mm_storeu_pd(t + 2, s23);
        _mm_storeu_pd(t + 4, s45);
        _mm_storeu_pd(t + 6, s67);
        if (n % 8 == 0) memcpy(part, t, sizeof part);
    }
#endif
    double s = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
    double inv = s > 0 ? 1.0 / s : 0.0;
    int32_t i = 0;
#if SMP_SSE2
    if (v) i = scale_avx2(P, n, inv);
    if (v) {
        __m128d vi = _mm_set1_pd(inv);
        for (; i + 4 <= n; i += 4) {
            __m128 e = _mm_loadu_ps(P + i);
            __m128 a = _mm_cvtpd_ps(_mm_mul_pd(_mm_cvtps_pd(e), vi));
            __m128 b = _mm_cvtpd_ps(_mm_mul_pd(_mm_cvtps_pd(_mm_movehl_ps(e, e)), vi));
            _mm_storeu_ps(P + i, _mm_movelh_ps(a, b));
        }
    }
#endif
    for (; i < n; i++) P[i] = (float)(P[i] * inv);
}

#if SMP_SSE2
__attribute__((target("avx2"))) static int32_t skip_below_avx2(const float *x, int32_t i, int32_t n, float v) {
    __m256 vv = _mm256_set1_ps(v);
    for (; i + 16 <= n; i += 16) {
        __m256 a = _mm256_cmp_ps(_mm256_loadu_ps(x + i), vv, _CMP_GE_OQ);
        __m256 b = _mm256_cmp_ps(_mm256_loadu_ps(x + i + 8), vv, _CMP_GE_OQ);
        if (!_mm256_testz_ps(_mm256_or_ps(a, b), _mm256_or_ps(a, b))) break;
    }
    return i;
}
#endif

int32_t smp_mass_skip_below(const float *x, int32_t i, int32_t n, float v) {
#if SMP_SSE2
    if (simd()) i = skip_below_avx2(x, i, n, v);
#endif
    for (; i < n; i++)
        if (x[i] >= v) break;
    return i;
}

#if SMP_SSE2
/* mean_logit's sums, eight at a time: lanes 0-3 of a block of eight into
 * a, 4-7 into b, so sum j gets candidates j, j + 8, ... in order, as the
 * scalar loop; a candidate with p = 0 adds +0 (no change). Returns where
 * the scalar loop goes on, with the sums in part[]. */
__attribute__((target("avx2"))) static int32_t mean_logit_avx2(const float *L, const float *P, int32_t n, double *part) {
    __m256d a = _mm256_setzero_pd(), b = a;
    __m256 zero = _mm256_setzero_ps();
    int32_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 p = _mm256_loadu_ps(P + i), l = _mm256_loadu_ps(L + i);
        __m256 pos = _mm256_cmp_ps(p, zero, _CMP_GT_OQ);
        p = _mm256_and_ps(p, pos);
        l = _mm256_and_ps(l, pos);             /* -inf or NaN beside p = 0: 0 * 0 */
        a = _mm256_add_pd(a, _mm256_mul_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(p)), _mm256_cvtps_pd(_mm256_castps256_ps128(l))));
        b = _mm256_add_pd(b, _mm256_mul_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(p, 1)), _mm256_cvtps_pd(_mm256_extractf128_ps(l, 1))));
    }
    _mm256_storeu_pd(part, a);
    _mm256_storeu_pd(part + 4, b);
    return i;
}

/* typical's keys, eight at a time (as the SSE2 loop in smp_mass_typical). */
__attribute__((target("avx2"))) static int32_t typical_keys_avx2(const float *L, const float *P, int32_t n, double lbar, float *K) {
    __m256d vl = _mm256_set1_pd(lbar), abs = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7fffffffffffffffLL));
    __m256 zero = _mm256_setzero_ps(), inf = _mm256_set1_ps(INFINITY);
    int32_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 l = _mm256_loadu_ps(L + i), pos = _mm256_cmp_ps(_mm256_loadu_ps(P + i), zero, _CMP_GT_OQ);
        __m128 a = _mm256_cvtpd_ps(_mm256_and_pd(_mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(l)), vl), abs));
        __m128 b = _mm256_cvtpd_ps(_mm256_and_pd(_mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(l, 1)), vl), abs));
        __m256 k = _mm256_insertf128_ps(_mm256_castps128_ps256(a), b, 1);
        _mm256_storeu_ps(K + i, _mm256_blendv_ps(inf, k, pos));
    }
    return i;
}
#endif

/* ---- the columns ---------------------------------------------------------- */

void smp_cands_sync(smp_cands *c) {
    if (!c->lazy) return;
    const int32_t *id = c->col_id;
    const float *L = c->col_logit, *P = c->col_p;
    smp_cand *d = c->data;
    int32_t n = c->n;
    if (c->dense && c->has_p) for (int32_t i = 0; i < n; i++) d[i] = (smp_cand){ i, L[i], P[i] };
    else if (c->dense) for (int32_t i = 0; i < n; i++) d[i] = (smp_cand){ i, L[i], 0.0f };
    else if (c->has_p) for (int32_t i = 0; i < n; i++) d[i] = (smp_cand){ id[i], L[i], P[i] };
    else for (int32_t i = 0; i < n; i++) d[i] = (smp_cand){ id[i], L[i], 0.0f };
    c->lazy = false;
}

/* The columns from data[] (a stage that needed data[] ran before). */
static void to_columns(smp_cands *c) {
    if (c->lazy) return;
    const smp_cand *d = c->data;
    int32_t *id = c->col_id;
    float *L = c->col_logit, *P = c->col_p;
    for (int32_t i = 0, n = c->n; i < n; i++) {
        id[i] = d[i].id;
        L[i] = d[i].logit;
        P[i] = d[i].p;
    }
    c->has_p = true;
    c->lazy = true;
    c->dense = c->id_order = false;
}

void smp_cands_softmax(smp_cands *c) {
    if (c->normalized || c->n == 0) return;
    smp_cands_sync(c);
    float *L = c->tmp, *P = c->col_p;         /* scratch while data[] is written */
    smp_cand *d = c->data;
    int32_t n = c->n;
    for (int32_t i = 0; i < n; i++) L[i] = d[i].logit;
    row_softmax(L, P, n);
    for (int32_t i = 0; i < n; i++) d[i].p = P[i];
    c->normalized = true;
}

void smp_mass_softmax(smp_cands *c) {
    if (c->normalized || c->n == 0) return;
    if (!c->lazy) { smp_cands_softmax(c); return; }
    row_softmax(c->col_logit, c->col_p, c->n);
    c->has_p = true;
    c->normalized = true;
}

#if SMP_SSE2
__attribute__((target("avx2"))) static int32_t div_ps_avx2(float *L, int32_t n, float t) {
    __m256 vt = _mm256_set1_ps(t);
    int32_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(L + i, _mm256_div_ps(_mm256_loadu_ps(L + i), vt));
    return i;
}
#endif

void smp_mass_div(smp_cands *c, float t) {
    float *L = c->col_logit;
    int32_t i = 0, n = c->n;
#if SMP_SSE2
    if (simd()) i = div_ps_avx2(L, n, t);
    if (simd()) {
        __m128 vt = _mm_set1_ps(t);
        for (; i + 4 <= n; i += 4) _mm_storeu_ps(L + i, _mm_div_ps(_mm_loadu_ps(L + i), vt));
    }
#endif
    for (; i < n; i++) L[i] /= t;
}

/* ---- keeping a mass ------------------------------------------------------- */

static inline int keep_in_bc(const float *X, int neg, int32_t i, int32_t idi, float lkey, int32_t lid);

#if SMP_SSE2
__attribute__((target("avx512f,avx512vl,avx512bw"))) static int32_t
compact_avx512(const uint16_t *B, int32_t bc, const float *X, int neg, float lkey, int32_t lid, const int32_t *id,
               int32_t *out_id, float *L, float *P, int32_t n, int32_t *pi) {
    int32_t k = 0, i = 0;
    __m512i vbc = _mm512_set1_epi32(bc), iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (; i + 16 <= n; i += 16) {
        __m512i b = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(B + i)));
        __mmask16 m = _mm512_cmplt_epu32_mask(b, vbc), eq = _mm512_cmpeq_epu32_mask(b, vbc);
        while (eq) {                          /* the crossing bucket's few members */
            int j = __builtin_ctz(eq);
            eq &= (__mmask16)(eq - 1);
            if (keep_in_bc(X, neg, i + j, id ? id[i + j] : i + j, lkey, lid)) m |= (__mmask16)(1u << j);
        }
        __m512i vid = id ? _mm512_loadu_si512(id + i) : _mm512_add_epi32(iota, _mm512_set1_epi32(i));
        __m512 vl = _mm512_loadu_ps(L + i), vp = _mm512_loadu_ps(P + i);
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
#endif

static int32_t compact(const uint16_t *B, int32_t bc, const float *X, int neg, float lkey, int32_t lid,
                       const int32_t *id, int32_t *out_id, float *L, float *P, int32_t n) {
    int32_t k = 0, i = 0;
#if SMP_SSE2
    if (simd() && vd_isa() >= VD_AVX512) k = compact_avx512(B, bc, X, neg, lkey, lid, id, out_id, L, P, n, &i);
#endif
    for (; i < n; i++) {
        int32_t b = B[i], idi = id ? id[i] : i;
        int keep = b < bc;
        if (b == bc) keep = keep_in_bc(X, neg, i, idi, lkey, lid);
        out_id[k] = idi;
        L[k] = L[i];
        P[k] = P[i];
        k += keep;
    }
    return k;
}

typedef struct member { float key; int32_t id, i; } member;

static int cmp_member(const void *pa, const void *pb) {
    const member *a = pa, *b = pb;
    if (a->key != b->key) return a->key < b->key ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

/* The keys are X, or -X with neg (top-p's rank key -logit: negation is
 * exact, so no key column is written). */
static inline float key_at(const float *X, int neg, int32_t i) { return neg ? -X[i] : X[i]; }

/* Appends candidate i to the members (NaN keys as +inf); on failure the
 * members are freed. */
static int add_member(member **mb, int32_t *nm, int32_t *cap, const float *X, int neg, const int32_t *id, int32_t i) {
    if (*nm == *cap) {
        int32_t nc = *cap ? 2 * *cap : 256;
        member *t = realloc(*mb, sizeof *t * (size_t)nc);
        if (!t) {
            free(*mb);
            *mb = NULL;
            return SMP_ENOMEM;
        }
        *mb = t;
        *cap = nc;
    }
    float k = key_at(X, neg, i);
    (*mb)[(*nm)++] = (member){ isnan(k) ? INFINITY : k, id ? id[i] : i, i };
    return 0;
}

#if SMP_SSE2
/* key_range sixteen at a time (a min and a max are exact in any order). */
__attribute__((target("avx2"))) static int32_t key_range_avx2(const float *X, int neg, int32_t n, float *kmin, float *kmax) {
    __m256 lo = _mm256_set1_ps(INFINITY), hi = _mm256_set1_ps(-INFINITY), inf = lo, ninf = hi, lo2 = lo, hi2 = hi;
    __m256 sg = _mm256_set1_ps(neg ? -0.0f : 0.0f);
    int32_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 k = _mm256_xor_ps(_mm256_loadu_ps(X + i), sg), fin = _mm256_cmp_ps(k, inf, _CMP_LT_OQ);
        __m256 k2 = _mm256_xor_ps(_mm256_loadu_ps(X + i + 8), sg), fin2 = _mm256_cmp_ps(k2, inf, _CMP_LT_OQ);
        lo = _mm256_min_ps(k, lo);                               /* k < lo ? k : lo: NaN keeps lo */
        lo2 = _mm256_min_ps(k2, lo2);
        hi = _mm256_max_ps(_mm256_blendv_ps(ninf, k, fin), hi);
        hi2 = _mm256_max_ps(_mm256_blendv_ps(ninf, k2, fin2), hi2);
    }
    float a[8], b[8], a2[8], b2[8];
    _mm256_storeu_ps(a, lo);
    _mm256_storeu_ps(b, hi);
    _mm256_storeu_ps(a2, lo2);
    _mm256_storeu_ps(b2, hi2);
    for (int j = 0; j < 8; j++) {
        if (a[j] < *kmin) *kmin = a[j];
        if (a2[j] < *kmin) *kmin = a2[j];
        if (b[j] > *kmax) *kmax = b[j];
        if (b2[j] > *kmax) *kmax = b2[j];
    }
    return i;
}
#endif

#if SMP_SSE2
/* Appends the candidates i < n rounded down to 16 whose bucket is b;
 * returns where the caller goes on, or -1 when out of memory. */
__attribute__((target("avx2"))) static int32_t members_avx2(const uint16_t *B, int32_t n, int32_t b, member **mb, int32_t *nm,
                                                            int32_t *cap, const float *X, int neg, const int32_t *id) {
    __m256i vb = _mm256_set1_epi16((short)b);
    int32_t i = 0;
    for (; i + 16 <= n; i += 16) {
        unsigned hit = (unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi16(_mm256_loadu_si256((const __m256i *)(B + i)), vb));
        while (hit) {
            int j = __builtin_ctz(hit) / 2;
            hit &= ~(3u << (2 * j));         /* the pair of bits of one 16-bit lane */
            if (add_member(mb, nm, cap, X, neg, id, i + j)) return -1;
        }
    }
    return i;
}
#endif

/* kmin: the smallest key (NaN skipped); kmax: the largest below +inf. */
static void key_range(const float *X, int neg, int32_t n, float *pmin, float *pmax) {
    float kmin = INFINITY, kmax = -INFINITY;
    int32_t i = 0;
#if SMP_SSE2
    if (simd()) i = key_range_avx2(X, neg, n, &kmin, &kmax);
    if (simd() && n - i >= 4) {
        __m128 lo = _mm_set1_ps(INFINITY), hi = _mm_set1_ps(-INFINITY), inf = lo, ninf = hi;
        __m128 sg = _mm_set1_ps(neg ? -0.0f : 0.0f);
        for (; i + 4 <= n; i += 4) {
            __m128 k = _mm_xor_ps(_mm_loadu_ps(X + i), sg), fin = _mm_cmplt_ps(k, inf);
            lo = _mm_min_ps(k, lo);                               /* k < lo ? k : lo */
            hi = _mm_max_ps(_mm_or_ps(_mm_and_ps(fin, k), _mm_andnot_ps(fin, ninf)), hi);
        }
        float a[4], b[4];
        _mm_storeu_ps(a, lo);
        _mm_storeu_ps(b, hi);
        for (int j = 0; j < 4; j++) {
            if (a[j] < kmin) kmin = a[j];
            if (b[j] > kmax) kmax = b[j];
        }
    }
#endif
    for (; i < n; i++) {
        float k = key_at(X, neg, i);
        if (k < kmin) kmin = k;                        /* NaN compares false */
        if (k > kmax && k < INFINITY) kmax = k;
    }
    *pmin = kmin;
    *pmax = kmax;
}

/* B[i]: the bucket of key i (keys above top, or NaN, in the last one), and
 * mass[b] += P[i] in candidate order (cnt[b]++ too when cnt), a chunk at a
 * time so that the histogram reads B while it is in the L1 cache. */
static void key_buckets(const float *X, int neg, const float *P, int32_t n, float kmin, float scale, float top,
                        uint16_t *B, double *mass, int32_t *cnt) {
    enum { CHUNK = 2048 };
    for (int32_t i0 = 0; i0 < n; i0 += CHUNK) {
        int32_t i1 = n - i0 < CHUNK ? n : i0 + CHUNK, i = i0;
#if SMP_SSE2
        if (simd()) {
            __m128 vmin = _mm_set1_ps(kmin), vs = _mm_set1_ps(scale), vt = _mm_set1_ps(top);
            __m128 cap = _mm_set1_ps((float)(SMP_MASS_BUCKETS - 1)), sg = _mm_set1_ps(neg ? -0.0f : 0.0f);
            __m128i last = _mm_set1_epi32(SMP_MASS_BUCKETS - 1);
            for (; i + 8 <= i1; i += 8) {
                __m128i b2[2];
                for (int h = 0; h < 2; h++) {
                    __m128 k = _mm_xor_ps(_mm_loadu_ps(X + i + 4 * h), sg);
                    __m128i in = _mm_castps_si128(_mm_cmple_ps(k, vt));  /* false for NaN and beyond */
                    /* f < cap ? (int)f : cap, as min(f, cap) then truncation */
                    __m128i b = _mm_cvttps_epi32(_mm_min_ps(_mm_mul_ps(_mm_sub_ps(k, vmin), vs), cap));
                    b2[h] = _mm_or_si128(_mm_and_si128(in, b), _mm_andnot_si128(in, last));
                }
                _mm_storeu_si128((__m128i *)(B + i), _mm_packs_epi32(b2[0], b2[1]));   /* < 4096 */
            }
        }
#endif
        for (; i < i1; i++) {
            float k = key_at(X, neg, i);
            int32_t b = SMP_MASS_BUCKETS - 1;
            if (k <= top) {
                float f = (k - kmin) * scale;
                b = f < SMP_MASS_BUCKETS - 1 ? (int32_t)f : SMP_MASS_BUCKETS - 1;
            }
            B[i] = (uint16_t)b;
        }
        if (cnt)
            for (i = i0; i < i1; i++) {
                mass[B[i]] += P[i];
                cnt[B[i]]++;
            }
        else
            for (i = i0; i < i1; i++) mass[B[i]] += P[i];
    }
}

#if SMP_SSE2
__attribute__((target("avx2"))) static int32_t sum4_avx2(const float *x, int32_t n, double *part) {
    __m256d a = _mm256_setzero_pd();
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) a = _mm256_add_pd(a, _mm256_cvtps_pd(_mm_loadu_ps(x + i)));
    _mm256_storeu_pd(part, a);
    return i;
}
/* P[j] = (float)(P[j] / s), eight at a time */
__attribute__((target("avx2"))) static int32_t div_avx2(float *P, int32_t k, double s) {
    __m256d vs = _mm256_set1_pd(s);
    int32_t j = 0;
    for (; j + 8 <= k; j += 8) {
        __m256 w = _mm256_loadu_ps(P + j);
        __m128 a = _mm256_cvtpd_ps(_mm256_div_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(w)), vs));
        __m128 b = _mm256_cvtpd_ps(_mm256_div_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(w, 1)), vs));
        _mm256_storeu_ps(P + j, _mm256_insertf128_ps(_mm256_castps128_ps256(a), b, 1));
    }
    return j;
}
#endif

/* Sum of x[0..n) as four partial sums in double (x[j] into sum j % 4). */
static double sum4(const float *x, int32_t n) {
    double part[4] = { 0 };
    int32_t i = 0;
#if SMP_SSE2
    if (simd()) i = sum4_avx2(x, n, part);
    if (simd() && i == 0) {
        __m128d a = _mm_setzero_pd(), b = a;
        for (; i + 4 <= n; i += 4) {
            __m128 v = _mm_loadu_ps(x + i);
            a = _mm_add_pd(a, _mm_cvtps_pd(v));
            b = _mm_add_pd(b, _mm_cvtps_pd(_mm_movehl_ps(v, v)));
        }
        _mm_storeu_pd(part, a);
        _mm_storeu_pd(part + 2, b);
    }
#endif
    for (; i < n; i++) part[i & 3] += x[i];
    return (part[0] + part[1]) + (part[2] + part[3]);
}

/* Whether candidate i of the crossing bucket is kept: its key (NaN as
 * +inf) before the last member's, or equal with an id not above. */
static inline int keep_in_bc(const float *X, int neg, int32_t i, int32_t idi, float lkey, int32_t lid) {
    float kk = key_at(X, neg, i);
    if (isnan(kk)) kk = INFINITY;
    return kk < lkey || (kk == lkey && idi <= lid);
}

/* Keeps, in place and in order, the candidates of buckets before bc and
 * those of bc that keep_in_bc keeps; the ids go to out_id (from id, or
 * i when id is NULL). Returns how many are kept. Every candidate is copied
 * to the next free place, which moves on only for a kept one (no branch to
 * mispredict on a flat row); with AVX-512, sixteen at a time by a
 * compressing permutation. */
static int32_t compact(const uint16_t *B, int32_t bc, const float *X, int neg, float lkey, int32_t lid,
                       const int32_t *id, int32_t *out_id, float *L, float *P, int32_t n);

/* Keeps the smallest set of candidates (normalized columns), taken in
 * ascending order of their key (ties by id ascending; NaN last), whose mass
 * reaches p and that has at least min_keep members, in place and in order,
 * p renormalized over them (p / their sum, rounded to float). The keys
 * are X (a float column of c->n), negated with neg; B is c->tmp_b. The
 * mass before the crossing bucket is summed per bucket, so a set whose
 * mass lands within rounding (~1e-15) of p may differ by one token from a
 * walk in sorted order. */
static int keep_mass(smp_cands *c, const float *X, int neg, double p, int32_t min_keep) {
    int32_t n = c->n;
    int32_t *id = c->dense ? NULL : c->col_id;   /* NULL: ids 0..n-1 */
    float *L = c->col_logit, *P = c->col_p;
    float kmin, kmax;
    key_range(X, neg, n, &kmin, &kmax);
    if (!(kmin < INFINITY)) kmin = kmax = 0;
    float range = kmax - kmin < SMP_MASS_RANGE ? kmax - kmin : SMP_MASS_RANGE;
    float scale = range > 0 ? (SMP_MASS_BUCKETS - 1) / range : 0;
    float top = kmin + range;
    uint16_t *B = c->tmp_b;
    /* the mass per bucket; the count only where min_keep needs it (with
     * min_keep 1 and p > 0, reaching the mass implies one member) */
    double mass[SMP_MASS_BUCKETS];
    int32_t cnt[SMP_MASS_BUCKETS];
    memset(mass, 0, sizeof mass);
    memset(cnt, 0, sizeof cnt);
    int counted = min_keep > 1;
    key_buckets(X, neg, P, n, kmin, scale, top, B, mass, counted ? cnt : NULL);
    /* the bucket where both the mass and min_keep are reached */
    double cum = 0;
    int32_t before = 0, bc = 0;
    for (; bc < SMP_MASS_BUCKETS - 1; bc++) {
        if (cum + mass[bc] >= p && before + cnt[bc] >= (counted ? min_keep : 0)) break;
        cum += mass[bc];
        before += cnt[bc];
    }
    /* its members in key order (NaN keys last); the walk runs on into later
     * buckets only when rounding left the bucket sums just short (then with
     * counts, to skip the empty ones) */
    member *mb = NULL, last = { 0, 0, 0 };
    int32_t take = -1, cap = 0;
    for (int32_t b = bc; b < SMP_MASS_BUCKETS && take < 0; b++) {
        if (b > bc && !counted) {
            for (int32_t i = 0; i < n; i++) cnt[B[i]]++;
            counted = 1;
        }
        if (counted && !cnt[b]) continue;
        int32_t nm = 0, i = 0;
#if SMP_SSE2
        if (simd()) {                       /* sixteen, then eight buckets at a time: members are rare */
            i = members_avx2(B, n, b, &mb, &nm, &cap, X, neg, id);
            if (i < 0) return SMP_ENOMEM;
            __m128i vb = _mm_set1_epi16((short)b);
            for (; i + 8 <= n; i += 8) {
                int hit = _mm_movemask_epi8(_mm_cmpeq_epi16(_mm_loadu_si128((const __m128i *)(B + i)), vb));
                for (int j = 0; hit; j++, hit >>= 2)
                    if ((hit & 1) && add_member(&mb, &nm, &cap, X, neg, id, i + j)) return SMP_ENOMEM;
            }
        }
#endif
        for (; i < n; i++)
            if (B[i] == b && add_member(&mb, &nm, &cap, X, neg, id, i)) return SMP_ENOMEM;
        if (!nm) continue;
        qsort(mb, (size_t)nm, sizeof *mb, cmp_member);
        for (int32_t j = 0; j < nm; j++) {
            cum += P[mb[j].i];
            if (cum >= p && before + j + 1 >= min_keep) { take = j; break; }
        }
        last = mb[take >= 0 ? take : nm - 1];
        bc = b;
        if (take < 0) before += nm;
    }
    free(mb);
    /* keep what is ahead of (or is) the last member, in place and in
     * order: every candidate is copied to the next free place, which moves
     * on only for a kept one (no branch to mispredict on a flat row) */
    int32_t k = compact(B, bc, X, neg, last.key, last.id, id, c->col_id, L, P, n);
    if (k < n) c->dense = false;
    c->n = k;
    double s = sum4(P, k);
    if (!(s > 0)) {
        c->normalized = false;
        return 0;
    }
    int32_t j = 0;
#if SMP_SSE2
    if (simd()) j = div_avx2(P, k, s);
    if (simd()) {
        __m128d vs = _mm_set1_pd(s);
        for (; j + 4 <= k; j += 4) {
            __m128 w = _mm_loadu_ps(P + j);
            __m128 a = _mm_cvtpd_ps(_mm_div_pd(_mm_cvtps_pd(w), vs));
            __m128 b = _mm_cvtpd_ps(_mm_div_pd(_mm_cvtps_pd(_mm_movehl_ps(w, w)), vs));
            _mm_storeu_ps(P + j, _mm_movelh_ps(a, b));
        }
    }
#endif
    for (; j < k; j++) P[j] = (float)(P[j] / s);
    return 0;
}

int smp_mass_top_p(smp_cands *c, double p, int32_t min_keep) {
    if (min_keep < 1) min_keep = 1;
    to_columns(c);
    smp_mass_softmax(c);
    if (c->n <= min_keep) return 0;
    /* the rank key -logit: ascending key = logit descending */
    return keep_mass(c, c->col_logit, 1, p, min_keep);
}

/* E[l] = sum of p_i l_i over the candidates with p > 0, as eight partial
 * sums in double (candidate i into sum i % 8), added pairwise at the end:
 * a fixed order, so the same value every time and with or without SIMD,
 * and no chain of 128k dependent adds (it was one such chain before
 * session 6; the kept set can differ from that one's only where a key sits
 * within a rounding of the cut; tests/test_smp_fast.c checks the selection
 * against a float64 computation). */
static double mean_logit(const float *L, const float *P, int32_t n) {
    double part[8] = { 0 };
    int32_t i = 0;
#if SMP_SSE2
    if (simd()) i = mean_logit_avx2(L, P, n, part);
#endif
    for (; i < n; i++)
        if (P[i] > 0) part[i & 7] += P[i] * (double)L[i];
    return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
}

/* |-log p_i - H| = |l_i - E[l]|: -log p_i = lse - l_i and H = lse - E[l]
 * (over the candidates with p > 0), so the distance needs no log. The keys
 * round to float. */
int smp_mass_typical(smp_cands *c, double p, int32_t min_keep) {
    if (min_keep < 1) min_keep = 1;
    to_columns(c);
    smp_mass_softmax(c);
    if (c->n <= min_keep) return 0;
    int32_t n = c->n;
    const float *L = c->col_logit, *P = c->col_p;
    float *K = c->tmp;
    double lbar = mean_logit(L, P, n);
    int32_t i = 0;
#if SMP_SSE2
    if (simd()) i = typical_keys_avx2(L, P, n, lbar, K);
    if (simd()) {
        __m128d vl = _mm_set1_pd(lbar), abs = _mm_castsi128_pd(_mm_set1_epi64x(0x7fffffffffffffffLL));
        __m128 zero = _mm_setzero_ps(), inf = _mm_set1_ps(INFINITY);
        for (; i + 4 <= n; i += 4) {
            __m128 l = _mm_loadu_ps(L + i), pos = _mm_cmpgt_ps(_mm_loadu_ps(P + i), zero);
            __m128 a = _mm_cvtpd_ps(_mm_and_pd(_mm_sub_pd(_mm_cvtps_pd(l), vl), abs));
            __m128 b = _mm_cvtpd_ps(_mm_and_pd(_mm_sub_pd(_mm_cvtps_pd(_mm_movehl_ps(l, l)), vl), abs));
            __m128 k = _mm_movelh_ps(a, b);
            _mm_storeu_ps(K + i, _mm_or_ps(_mm_and_ps(pos, k), _mm_andnot_ps(pos, inf)));
        }
    }
#endif
    for (; i < n; i++) K[i] = P[i] > 0 ? (float)fabs((double)L[i] - lbar) : INFINITY;
    return keep_mass(c, K, 0, p, min_keep);
}

/* ---- min-p ------------------------------------------------------------------ */

#if SMP_SSE2
/* how many of x[0..i) are >= v (i: n rounded down to 8, returned) */
__attribute__((target("avx2,popcnt"))) static int32_t count_ge_avx2(const float *x, int32_t n, float v, int32_t *cnt) {
    __m256 vv = _mm256_set1_ps(v);
    int32_t i = 0, k = 0;
    for (; i + 8 <= n; i += 8) k += __builtin_popcount((unsigned)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + i), vv, _CMP_GE_OQ)));
    *cnt += k;
    return i;
}

/* Keeps, in place and in order, the candidates with L >= v, sixteen at a
 * time (as compact_avx512); *pi: where the scalar loop goes on. */
__attribute__((target("avx512f,avx512vl,avx512bw"))) static int32_t
compact_ge_avx512(float *L, float *P, const int32_t *id, int32_t *out_id, int32_t n, float v, int32_t *pi) {
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

int smp_mass_min_p(smp_cands *c, float v, int32_t keep) {
    int32_t n = c->n;
    int32_t *id = c->col_id;
    const int dense = c->dense;
    float *L = c->col_logit, *P = c->col_p;
    /* the best candidate's logit: the largest that is not NaN (the rank
     * order puts NaN last), or the first when sorted */
    float lmax = c->sorted ? L[0] : row_max(L, n);
    if (!c->sorted && !(lmax > -INFINITY)) return 0;
    double thr = (double)lmax + log((double)v);
    /* (double)l >= thr exactly when l >= tf, the smallest float >= thr
     * (round to nearest, then one step up if that fell below) */
    float tf = (float)thr;
    if ((double)tf < thr) tf = nextafterf(tf, INFINITY);
    int32_t kept = 0, i0 = 0, k = 0;
#if SMP_SSE2
    if (simd()) i0 = count_ge_avx2(L, n, tf, &kept);
#endif
    for (int32_t i = i0; i < n; i++) kept += L[i] >= tf;
    if (kept < keep) return 0;
    i0 = 0;
#if SMP_SSE2
    if (simd() && vd_isa() >= VD_AVX512) k = compact_ge_avx512(L, P, dense ? NULL : id, id, n, tf, &i0);
#endif
    for (int32_t i = i0; i < n; i++) {
        float l = L[i];
        id[k] = dense ? i : id[i];
        L[k] = l;
        P[k] = P[i];
        k += l >= tf;
    }
    if (k >= n) return 1;               /* nothing dropped: the ids written equal i */
    c->n = k;
    c->dense = false;
    if (!c->normalized) return 1;
    double s = 0;                            /* one chain, as the sorting paths renormalize */
    for (int32_t i = 0; i < k; i++) s += P[i];
    if (s > 0) for (int32_t i = 0; i < k; i++) P[i] = (float)(P[i] / s);
    else c->normalized = false;
    return 1;
}

/* ---- the dist draw ----------------------------------------------------------- */

static int cmp_id(const void *pa, const void *pb) {
    const smp_cand *a = pa, *b = pb;
    return (a->id > b->id) - (a->id < b->id);
}

#if SMP_SSE2
/* exact_draw's sum of a block of 64 in four lanes of eight; 1 when a p is
 * neither 0 nor >= 2^-29 (the block does not qualify). */
__attribute__((target("avx2"))) static int block_sum_avx2(const float *P, double *sum) {
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

/* When every p is 0 or at least 2^-29 (a multiple of 2^-52) and the total
 * stays below 2, every partial sum of the chain `cum += p` is exact (a
 * multiple of 2^-52 below 2 is a double), so the sums can be taken in any
 * order: per block of 64, two lanes at a time, and the walk only enters
 * the block where the prefix passes u. What the chain would give, with no
 * chain of dependent adds over the whole row. -2 when the row does not
 * qualify (a tiny p, a negative or NaN one, a total of 2 or more). */
static int32_t exact_draw(const float *P, int32_t n, double r, double *bs) {
    enum { BLK = 64 };
    const float tiny = 0x1p-29f;
    int32_t nb = (n + BLK - 1) / BLK;
    int ok = 1;
    for (int32_t b = 0; b < nb && ok; b++) {
        int32_t i = b * BLK, e = n - i < BLK ? n : i + BLK;
        double s = 0;
#if SMP_SSE2
        if (simd() && e - i == BLK) {
            if (block_sum_avx2(P + i, &s)) { ok = 0; break; }
            i = e;
        }
        if (simd() && e - i == BLK) {
            __m128d a0 = _mm_setzero_pd(), a1 = a0;
            __m128 bad = _mm_setzero_ps(), z = bad, t = _mm_set1_ps(tiny);
            for (; i < e; i += 4) {
                __m128 p = _mm_loadu_ps(P + i);
                /* good: p == 0 or p >= tiny (false for NaN and p < 0) */
                bad = _mm_or_ps(bad, _mm_andnot_ps(_mm_or_ps(_mm_cmpeq_ps(p, z), _mm_cmpge_ps(p, t)), _mm_castsi128_ps(_mm_set1_epi32(-1))));
                a0 = _mm_add_pd(a0, _mm_cvtps_pd(p));
                a1 = _mm_add_pd(a1, _mm_cvtps_pd(_mm_movehl_ps(p, p)));
            }
            if (_mm_movemask_ps(bad)) { ok = 0; break; }
            double h[2];
            _mm_storeu_pd(h, _mm_add_pd(a0, a1));
            s = h[0] + h[1];
        }
#endif
        for (; i < e; i++) {
            float p = P[i];
            if (!(p == 0 || p >= tiny)) { ok = 0; break; }
            s += p;
        }
        bs[b] = s;
    }
    if (!ok) return -2;
    double total = 0;
    for (int32_t b = 0; b < nb; b++) total += bs[b];
    if (!(total < 2)) return -2;
    double u = r * total, cum = 0;
    for (int32_t b = 0; b < nb; b++) {
        if (!(cum + bs[b] > u)) { cum += bs[b]; continue; }
        for (int32_t i = b * BLK; i < n; i++) {
            cum += P[i];
            if (cum > u) return i;
        }
    }
    for (int32_t i = n - 1; i >= 0; i--)     /* u not passed (r * total rounded up) */
        if (P[i] > 0) return i;
    return -1;
}

/* One chain of adds in id order gives the total and, kept in tmp_d, every
 * prefix sum: the first prefix above u is then found by bisection instead
 * of a second walk. Adding p >= 0 never lowers a double sum, so the
 * prefixes are sorted, and the first one above u >= 0 ends on a p > 0, the
 * token the walk `cum += p; if (cum > u && p > 0) stop` stops at. A
 * negative or NaN p (a custom stage's) takes that walk itself. */
int32_t smp_mass_draw(smp_cands *c, double r) {
    int32_t n = c->n;
    to_columns(c);
    for (int32_t i = 1; i < n && !c->id_order; i++)
        if (c->col_id[i - 1] > c->col_id[i]) {
            smp_cands_sync(c);
            qsort(c->data, (size_t)n, sizeof *c->data, cmp_id);
            c->sorted = false;
            to_columns(c);
            c->id_order = true;
            break;
        }
    const float *P = c->col_p;
    int32_t k = exact_draw(P, n, r, c->tmp_d);
    if (k != -2) return k;
    double *pre = c->tmp_d, cum = 0;
    int32_t last = -1;
    int valid = 1;
    for (int32_t i = 0; i < n; i++) {
        float p = P[i];
        valid &= p >= 0;
        if (p > 0) last = i;
        cum += p;
        pre[i] = cum;
    }
    double u = r * cum;
    if (!valid) {
        double s = 0;
        int32_t pick = -1;
        for (int32_t i = 0; i < n; i++) {
            if (P[i] > 0) pick = i;
            s += P[i];
            if (s > u && P[i] > 0) break;
        }
        return pick;
    }
    int32_t lo = 0, hi = n;                 /* the first i with pre[i] > u */
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        if (pre[mid] > u) hi = mid;
        else lo = mid + 1;
    }
    return lo < n ? lo : last;
}
