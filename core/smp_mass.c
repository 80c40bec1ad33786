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
#include <emmintrin.h>
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

/* P = the softmax of L as smp.h defines it: one vectorized exp per
 * candidate (vd_exp_f32, within 2 ulp of expf), zero where l - max < -87
 * (the SIMD exp floors at ~1e-38 there: a masked or hopeless token keeps
 * probability 0), eight partial sums in double in a fixed order (no long
 * chain of dependent adds; the same result every time), p = e * (1/sum)
 * rounded to float. All -inf: p = 0 everywhere. */
static void row_softmax(const float *L, float *P, int32_t n) {
    float m = row_max(L, n);
    if (m == -INFINITY) {
        memset(P, 0, sizeof *P * (size_t)n);
        return;
    }
    int32_t i = 0;
    double part[8] = { 0 };
#if SMP_SSE2
    const int v = simd();
    if (v) {
        __m128 vm = _mm_set1_ps(m);
        for (; i + 4 <= n; i += 4) _mm_storeu_ps(P + i, _mm_sub_ps(_mm_loadu_ps(L + i), vm));
    }
#endif
    for (; i < n; i++) P[i] = L[i] - m;
    vd_exp_f32(P, n);
    i = 0;
#if SMP_SSE2
    if (v) {
        __m128 vm = _mm_set1_ps(m), lo = _mm_set1_ps(-87.0f);
        __m128d s01 = _mm_setzero_pd(), s23 = s01, s45 = s01, s67 = s01;
        for (; i + 8 <= n; i += 8) {
            __m128 e0 = _mm_and_ps(_mm_cmpge_ps(_mm_sub_ps(_mm_loadu_ps(L + i), vm), lo), _mm_loadu_ps(P + i));
            __m128 e1 = _mm_and_ps(_mm_cmpge_ps(_mm_sub_ps(_mm_loadu_ps(L + i + 4), vm), lo), _mm_loadu_ps(P + i + 4));
            _mm_storeu_ps(P + i, e0);
            _mm_storeu_ps(P + i + 4, e1);
            s01 = _mm_add_pd(s01, _mm_cvtps_pd(e0));
            s23 = _mm_add_pd(s23, _mm_cvtps_pd(_mm_movehl_ps(e0, e0)));
            s45 = _mm_add_pd(s45, _mm_cvtps_pd(e1));
            s67 = _mm_add_pd(s67, _mm_cvtps_pd(_mm_movehl_ps(e1, e1)));
        }
        _mm_storeu_pd(part, s01);
        _mm_storeu_pd(part + 2, s23);
        _mm_storeu_pd(part + 4, s45);
        _mm_storeu_pd(part + 6, s67);
    }
#endif
    for (; i < n; i++) {
        if (!(L[i] - m >= -87.0f)) P[i] = 0.0f;
        part[i & 7] += P[i];
    }
    double s = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
    double inv = s > 0 ? 1.0 / s : 0.0;
    i = 0;
#if SMP_SSE2
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

/* L = the logits, P = the probabilities (taken from c when normalized,
 * computed into P otherwise; c's own p are not written). */
static void take_row(const smp_cands *c, float *L, float *P) {
    const smp_cand *d = c->data;
    int32_t n = c->n;
    if (c->normalized) {
        for (int32_t i = 0; i < n; i++) { L[i] = d[i].logit; P[i] = d[i].p; }
        return;
    }
    for (int32_t i = 0; i < n; i++) L[i] = d[i].logit;
    row_softmax(L, P, n);
}

void smp_cands_softmax(smp_cands *c) {
    if (c->normalized || c->n == 0) return;
    float *L = c->tmp2, *P = c->tmp;
    smp_cand *d = c->data;
    int32_t n = c->n;
    for (int32_t i = 0; i < n; i++) L[i] = d[i].logit;
    row_softmax(L, P, n);
    for (int32_t i = 0; i < n; i++) d[i].p = P[i];
    c->normalized = true;
}

/* ---- keeping a mass ------------------------------------------------------- */

typedef struct member { float key; int32_t id, i; } member;

static int cmp_member(const void *pa, const void *pb) {
    const member *a = pa, *b = pb;
    if (a->key != b->key) return a->key < b->key ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

/* kmin: the smallest key (NaN skipped); kmax: the largest below +inf. */
static void key_range(const float *K, int32_t n, float *pmin, float *pmax) {
    float kmin = INFINITY, kmax = -INFINITY;
    int32_t i = 0;
#if SMP_SSE2
    if (simd() && n >= 4) {
        __m128 lo = _mm_set1_ps(INFINITY), hi = _mm_set1_ps(-INFINITY), inf = lo, ninf = hi;
        for (; i + 4 <= n; i += 4) {
            __m128 k = _mm_loadu_ps(K + i), fin = _mm_cmplt_ps(k, inf);
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
        float k = K[i];
        if (k < kmin) kmin = k;                        /* NaN compares false */
        if (k > kmax && k < INFINITY) kmax = k;
    }
    *pmin = kmin;
    *pmax = kmax;
}

/* B[i]: the bucket of K[i]; keys above top (or NaN) in the last one. */
static void key_buckets(const float *K, int32_t n, float kmin, float scale, float top, int32_t *B) {
    int32_t i = 0;
#if SMP_SSE2
    if (simd()) {
        __m128 vmin = _mm_set1_ps(kmin), vs = _mm_set1_ps(scale), vt = _mm_set1_ps(top);
        __m128 cap = _mm_set1_ps((float)(SMP_MASS_BUCKETS - 1));
        __m128i last = _mm_set1_epi32(SMP_MASS_BUCKETS - 1);
        for (; i + 4 <= n; i += 4) {
            __m128 k = _mm_loadu_ps(K + i);
            __m128i in = _mm_castps_si128(_mm_cmple_ps(k, vt));  /* false for NaN and beyond */
            /* f < cap ? (int)f : cap, as min(f, cap) then truncation */
            __m128i b = _mm_cvttps_epi32(_mm_min_ps(_mm_mul_ps(_mm_sub_ps(k, vmin), vs), cap));
            _mm_storeu_si128((__m128i *)(B + i), _mm_or_si128(_mm_and_si128(in, b), _mm_andnot_si128(in, last)));
        }
    }
#endif
    for (; i < n; i++) {
        float k = K[i];
        int32_t b = SMP_MASS_BUCKETS - 1;
        if (k <= top) {
            float f = (k - kmin) * scale;
            b = f < SMP_MASS_BUCKETS - 1 ? (int32_t)f : SMP_MASS_BUCKETS - 1;
        }
        B[i] = b;
    }
}

/* Sum of x[0..n) as four partial sums in double (x[j] into sum j % 4). */
static double sum4(const float *x, int32_t n) {
    double part[4] = { 0 };
    int32_t i = 0;
#if SMP_SSE2
    if (simd()) {
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

/* Keeps the smallest set of candidates, taken in ascending order of K
 * (ties by id ascending; NaN last), whose mass (P) reaches p and that has
 * at least min_keep members, in place and in order, p renormalized over
 * them (p = P / their sum, rounded to float). K, P and W (scratch) are
 * float columns of c->n; B is c->tmp_i. The mass before the crossing
 * bucket is summed per bucket, so a set whose mass lands within rounding
 * (~1e-15) of p may differ by one token from a walk in sorted order. */
static int keep_mass(smp_cands *c, const float *K, const float *P, float *W, double p, int32_t min_keep) {
    int32_t n = c->n;
    float kmin, kmax;
    key_range(K, n, &kmin, &kmax);
    if (!(kmin < INFINITY)) kmin = kmax = 0;
    float range = kmax - kmin < SMP_MASS_RANGE ? kmax - kmin : SMP_MASS_RANGE;
    float scale = range > 0 ? (SMP_MASS_BUCKETS - 1) / range : 0;
    float top = kmin + range;
    int32_t *B = c->tmp_i;
    key_buckets(K, n, kmin, scale, top, B);
    double mass[SMP_MASS_BUCKETS];
    int32_t cnt[SMP_MASS_BUCKETS];
    memset(mass, 0, sizeof mass);
    memset(cnt, 0, sizeof cnt);
    for (int32_t i = 0; i < n; i++) {
        mass[B[i]] += P[i];
        cnt[B[i]]++;
    }
    /* the bucket where both the mass and min_keep are reached */
    double cum = 0;
    int32_t before = 0, bc = 0;
    for (; bc < SMP_MASS_BUCKETS - 1; bc++) {
        if (cum + mass[bc] >= p && before + cnt[bc] >= min_keep) break;
        cum += mass[bc];
        before += cnt[bc];
    }
    /* its members in key order (NaN keys last); the walk runs on into later
     * buckets only when rounding left the bucket sums just short */
    member *mb = NULL, last = { 0, 0, 0 };
    int32_t take = -1;
    for (int32_t b = bc; b < SMP_MASS_BUCKETS && take < 0; b++) {
        if (!cnt[b]) continue;
        member *t = realloc(mb, sizeof *mb * (size_t)cnt[b]);
        if (!t) {
            free(mb);
            return SMP_ENOMEM;
        }
        mb = t;
        int32_t nm = 0, i = 0;
#if SMP_SSE2
        if (simd()) {                       /* four buckets at a time: members are rare */
            __m128i vb = _mm_set1_epi32(b);
            for (; i + 4 <= n; i += 4) {
                int hit = _mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(_mm_loadu_si128((const __m128i *)(B + i)), vb)));
                for (int j = 0; hit; j++, hit >>= 1)
                    if (hit & 1) mb[nm++] = (member){ isnan(K[i + j]) ? INFINITY : K[i + j], c->data[i + j].id, i + j };
            }
        }
#endif
        for (; i < n; i++)
            if (B[i] == b) mb[nm++] = (member){ isnan(K[i]) ? INFINITY : K[i], c->data[i].id, i };
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
    smp_cand *d = c->data;
    int32_t k = 0;
    for (int32_t i = 0; i < n; i++) {
        int32_t b = B[i];
        int keep = b < bc;
        if (b == bc) {
            float kk = isnan(K[i]) ? INFINITY : K[i];
            keep = kk < last.key || (kk == last.key && d[i].id <= last.id);
        }
        d[k] = d[i];
        W[k] = P[i];
        k += keep;
    }
    c->n = k;
    double s = sum4(W, k);
    if (!(s > 0)) {
        for (int32_t j = 0; j < k; j++) d[j].p = W[j];
        c->normalized = false;
        return 0;
    }
    int32_t j = 0;
#if SMP_SSE2
    if (simd()) {
        __m128d vs = _mm_set1_pd(s);
        for (; j + 4 <= k; j += 4) {
            __m128 w = _mm_loadu_ps(W + j);
            __m128 a = _mm_cvtpd_ps(_mm_div_pd(_mm_cvtps_pd(w), vs));
            __m128 b = _mm_cvtpd_ps(_mm_div_pd(_mm_cvtps_pd(_mm_movehl_ps(w, w)), vs));
            float q[4];
            _mm_storeu_ps(q, _mm_movelh_ps(a, b));
            d[j].p = q[0];
            d[j + 1].p = q[1];
            d[j + 2].p = q[2];
            d[j + 3].p = q[3];
        }
    }
#endif
    for (; j < k; j++) d[j].p = (float)(W[j] / s);
    c->normalized = true;
    return 0;
}

int smp_mass_top_p(smp_cands *c, double p, int32_t min_keep) {
    if (min_keep < 1) min_keep = 1;
    if (c->n <= min_keep) { smp_cands_softmax(c); return 0; }
    int32_t n = c->n;
    float *P = c->tmp, *L = c->tmp2, *K = c->tmp2 + c->cap;
    take_row(c, L, P);
    /* the rank key -logit: ascending key = logit descending */
    int32_t i = 0;
#if SMP_SSE2
    if (simd()) {
        __m128 sign = _mm_set1_ps(-0.0f);
        for (; i + 4 <= n; i += 4) _mm_storeu_ps(K + i, _mm_xor_ps(_mm_loadu_ps(L + i), sign));
    }
#endif
    for (; i < n; i++) K[i] = -L[i];
    return keep_mass(c, K, P, L, p, min_keep);
}

/* |-log p_i - H| = |l_i - E[l]|: -log p_i = lse - l_i and H = lse - E[l]
 * (over the candidates with p > 0), so the distance needs no log. E[l] is
 * one chain of adds in candidate order; the keys round to float. */
int smp_mass_typical(smp_cands *c, double p, int32_t min_keep) {
    if (min_keep < 1) min_keep = 1;
    if (c->n <= min_keep) { smp_cands_softmax(c); return 0; }
    int32_t n = c->n;
    float *P = c->tmp, *L = c->tmp2, *K = c->tmp2 + c->cap;
    take_row(c, L, P);
    double lbar = 0;
    for (int32_t i = 0; i < n; i++)
        if (P[i] > 0) lbar += P[i] * (double)L[i];
    int32_t i = 0;
#if SMP_SSE2
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
    return keep_mass(c, K, P, L, p, min_keep);
}

/* ---- the dist draw ----------------------------------------------------------- */

static int cmp_id(const void *pa, const void *pb) {
    const smp_cand *a = pa, *b = pb;
    return (a->id > b->id) - (a->id < b->id);
}

/* One chain of adds in id order gives the total and, kept in tmp_d, every
 * prefix sum: the first prefix above u is then found by bisection instead
 * of a second walk. Adding p >= 0 never lowers a double sum, so the
 * prefixes are sorted, and the first one above u >= 0 ends on a p > 0, the
 * token the walk `cum += p; if (cum > u && p > 0) stop` stops at. A
 * negative or NaN p (a custom stage's) takes that walk itself. */
int32_t smp_mass_draw(smp_cands *c, double r) {
    smp_cand *d = c->data;
    int32_t n = c->n;
    double *pre = c->tmp_d, cum = 0;
    int32_t last = -1;
    int valid = 1, ordered = 1;
    for (int32_t i = 0; i < n; i++) {
        float p = d[i].p;
        if (i && d[i - 1].id > d[i].id) { ordered = 0; break; }
        valid &= p >= 0;
        if (p > 0) last = i;
        cum += p;
        pre[i] = cum;
    }
    if (!ordered) {
        qsort(d, (size_t)n, sizeof *d, cmp_id);
        c->sorted = false;
        cum = 0;
        last = -1;
        valid = 1;
        for (int32_t i = 0; i < n; i++) {
            float p = d[i].p;
            valid &= p >= 0;
            if (p > 0) last = i;
            cum += p;
            pre[i] = cum;
        }
    }
    double u = r * cum;
    if (!valid) {
        double s = 0;
        int32_t pick = -1;
        for (int32_t i = 0; i < n; i++) {
            if (d[i].p > 0) pick = i;
            s += d[i].p;
            if (s > u && d[i].p > 0) break;
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
