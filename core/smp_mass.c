/* smp_mass: the samplers' whole-row passes over flat float arrays (see
 * smp_mass.h): the softmax, top-p and typical-p without sorting the
 * vocabulary, min-p and the dist draw. The SIMD loops live in smp_simd.c;
 * each has a plain loop here doing the same float and double operations in
 * the same order, so a row gives the same bits with or without them.
 *
 * Selecting a mass (top-p, typical-p; session 7 of issue 14). A flat row
 * (a random model, a high temperature) keeps most of a 32k or 128k
 * vocabulary at p = 0.95, so what costs is the number of passes over the
 * row. After the max (and the smallest logit: the buckets' width), one
 * fused pass per chunk computes e_i = exp(l_i - max) (the softmax's
 * numerators), each candidate's bucket by its key and, while the chunk is
 * in the L1 cache, a histogram of the mass per bucket in four lanes of bins
 * (candidate i into lane i % 4: no store-to-load chain on a row of equal
 * keys). top-p's key is the distance max - l from the best logit and its
 * total S is the buckets' sum; typical's is |l - E[l]|, with S and E[l]
 * summed in eight lanes in the exp pass and the buckets and histogram in a
 * second one (the keys are recomputed where needed, never stored). 1024
 * buckets over the row's spread, at most 32 logits (beyond: the last). A
 * walk over the buckets finds the one where the mass crosses p * S; only
 * its members are gathered, split again by a 256-bucket histogram of their
 * keys while more than 64 (a few hundred on a flat 128k row), and the last
 * few sorted to find the exact last token (key, then id); that walk and
 * the compaction are smp_cut.c's (session 10). The candidates ahead of it
 * are kept, in place and in order, p = e * (float)(1 / kept mass), the
 * kept mass being the walk's sum; since session 10 that pass is left
 * pending until a stage needs it, and the dist draw (and min-p after
 * top-p) pick among the kept in the whole row without it (smp_cut.c). No
 * pass divides or rewrites the whole row.
 *
 * The order of every sum is fixed by the row alone (one thread; candidate i
 * always lands in the same lane and bin), so the selection and the bits
 * are the same whatever else runs. What is summed is by design not a walk
 * in sorted order: the mass before the crossing bucket is the bucket sums',
 * so a set whose mass lands within rounding of p * S may differ by one
 * token from a float64 sort-and-walk, and typical's keys and E[l]'s
 * products are floats; tests/test_smp_fast.c checks both stages against
 * float64 (and a brute force on small rows with ties) and the SIMD loops
 * against the plain ones, bit for bit. Until session 6 the stages first
 * normalized the whole row and walked the normalized p.
 */
#include "smp_mass.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "smp_cut.h"
#include "smp_simd.h"
#include "vecdot.h"

#define NB SMP_CUT_NB
enum { CHUNK = 2048, LANES = 4 };

#define sum8 smp_cut_sum8
#define bucket_of smp_cut_bucket
#define key_scale smp_cut_scale
typedef smp_cut_sel sel;

/* ---- column passes -------------------------------------------------------- */

/* The largest value, NaN skipped (-inf when there is none), and with lo
 * the smallest above -inf (+inf when there is none). Which of +0 and -0
 * wins may differ from a plain loop; no caller can tell. */
static float row_range(const float *x, int32_t n, float *lo) {
    float m = -INFINITY, l = INFINITY;
    int32_t i = 0;
    if (smp_simd_512()) i = smp_simd_range_512(x, n, &m, &l);
    if (smp_simd_on()) i += smp_simd_range(x + i, n - i, &m, &l);
    for (; i < n; i++) {
        if (x[i] > m) m = x[i];
        if (x[i] < l && x[i] > -INFINITY) l = x[i];
    }
    if (lo) *lo = l;
    return m;
}
static float row_max(const float *x, int32_t n) { return row_range(x, n, NULL); }

/* row_range of the columns, from smp_cands_set's when still valid */
static float cols_range(const smp_cands *c, float *lo) {
    if (!c->range_ok) return row_range(c->col_logit, c->n, lo);
    if (lo) *lo = c->rmin;
    return c->rmax;
}

void smp_mass_set_row(smp_cands *c, const float *logits, int32_t n) {
    c->range_ok = false;
    if (n <= 0) return;
    if (!smp_simd_512()) {
        memcpy(c->col_logit, logits, sizeof *logits * (size_t)n);
        return;
    }
    float m = -INFINITY, l = INFINITY;
    int32_t i = smp_simd_copy_range_512(logits, c->col_logit, n, &m, &l);
    for (; i < n; i++) {
        float x = c->col_logit[i] = logits[i];
        if (x > m) m = x;
        if (x < l && x > -INFINITY) l = x;
    }
    c->rmax = m;
    c->rmin = l;
    c->range_ok = true;
}

void smp_mass_own(smp_cands *c) {
    if (c->col_logit == c->col_own) return;   /* not borrowed */
    const float *row = c->col_logit;
    int32_t n = c->cut ? c->cut_n : c->n;
    c->col_logit = c->col_own;
    if (c->range_ok || c->cut || !c->lazy) {   /* the range is known, or not the columns' own */
        if (n > 0) memcpy(c->col_own, row, sizeof *row * (size_t)n);
        return;
    }
    smp_mass_set_row(c, row, n);
}

/* h[i % 4][B[i]] += W[i] for i in [i0, i1), i0 a multiple of 4 */
static void hist_add(double (*h)[NB], const uint16_t *B, const float *W, int32_t i0, int32_t i1) {
    int32_t i = i0;
    for (; i + 4 <= i1; i += 4) {
        h[0][B[i]] += W[i];
        h[1][B[i + 1]] += W[i + 1];
        h[2][B[i + 2]] += W[i + 2];
        h[3][B[i + 3]] += W[i + 3];
    }
    for (; i < i1; i++) h[i & 3][B[i]] += W[i];
}

/* P = e = exp(L - m) (one vectorized exp per candidate, smp_simd_exp, within
 * 2^-23.6 of exp), 0 where L - m < -87 (the SIMD exp floors at ~1e-38
 * there: a masked or hopeless token keeps probability 0) or NaN. Without
 * h, returns their sum, in eight partial sums in double (candidate i into
 * sum i % 8, pairwise at the end). With B: B[i] = the bucket of m - L[i]
 * and, with h, the mass histogram (then the sum is left to the caller, as
 * the sum of the buckets, and 0 returned); with el: *el = the sum of e * L
 * over e > 0, in eight sums likewise. A chunk at a time, so that the
 * histogram's scalar adds find it in the L1 cache; with el, the AVX-512
 * loop does them itself, between its vector work (session 11: ~5 % of a
 * typical-p pick at 128256; the same adds in the same order). */
static double row_exp(const float *L, float *P, int32_t n, float m, uint16_t *B, float scale, double (*h)[NB],
                      double *elp) {
    double part[8] = { 0 }, el[8] = { 0 };
    float ef[16] = { 0 };                      /* E[l]'s float lanes in a block (smp_simd.h) */
    const int v = smp_simd_on(), v512 = smp_simd_512();
    for (int32_t i0 = 0; i0 < n; i0 += CHUNK) {
        int32_t i1 = n - i0 < CHUNK ? n : i0 + CHUNK, i = i0;
        /* typical-p's pass (with E[l]) takes the histogram's adds into its
         * vector loop; top-p's, with less vector work to hide them behind,
         * was slower so (smpbench, session 11) */
        if (v512) i = smp_simd_exp_pass_512(L, P, i, i1, m, h ? NULL : part, B, scale, elp ? el : NULL, elp ? h : NULL);
        int32_t ih = elp ? i : i0;             /* where the histogram goes on */
        if (v) i = smp_simd_exp_pass(L, P, i, i1, m, h ? NULL : part, B, scale, elp ? el : NULL);
        if (i < i1) {
            for (int32_t j = i; j < i1; j++) P[j] = L[j] - m;
            smp_simd_exp(P + i, i1 - i);
        }
        for (; i < i1; i++) {
            if (!(L[i] - m >= -87.0f)) P[i] = 0.0f;
            if (!h) part[i & 7] += P[i];
            if (B) B[i] = bucket_of(m - L[i], scale);
            if (elp && P[i] > 0) ef[i & 15] += P[i] * L[i];     /* the product and the sum in float */
            if (elp && ((i & (SMP_SIMD_EL_BLK - 1)) == SMP_SIMD_EL_BLK - 1 || i == i1 - 1))
                for (int k = 0; k < 8; k++) {
                    el[k] = (el[k] + ef[k]) + ef[k + 8];
                    ef[k] = ef[k + 8] = 0;
                }
        }
        if (h) hist_add(h, B, P, ih, i1);
    }
    if (elp) *elp = sum8(el);
    return h ? 0 : sum8(part);
}

/* P[0..n) = (float)(P * inv) */
void smp_mass_scale(float *P, int32_t n, double inv) {
    int32_t i = 0;
    if (smp_simd_on()) i = smp_simd_scale(P, n, inv);
    for (; i < n; i++) P[i] = (float)(P[i] * inv);
}

/* P = the softmax of L as smp.h defines it: e / S rounded to float, as
 * e * (1 / S), m the largest of L. All -inf: p = 0 everywhere. */
static void row_softmax_m(const float *L, float *P, int32_t n, float m) {
    if (m == -INFINITY) {
        memset(P, 0, sizeof *P * (size_t)n);
        return;
    }
    double s = row_exp(L, P, n, m, NULL, 0, NULL, NULL);
    smp_mass_scale(P, n, s > 0 ? 1.0 / s : 0.0);
}
static void row_softmax(const float *L, float *P, int32_t n) { row_softmax_m(L, P, n, row_max(L, n)); }

int32_t smp_mass_skip_below(const float *x, int32_t i, int32_t n, float v) {
    if (smp_simd_on()) i = smp_simd_skip_below(x, i, n, v);
    for (; i < n; i++)
        if (x[i] >= v) break;
    return i;
}

/* ---- the columns ---------------------------------------------------------- */

void smp_cands_sync(smp_cands *c) {
    if (!c->lazy) return;
    smp_mass_settle(c);
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
    c->col_logit = c->col_own;                /* written here: no copy of a borrowed row needed */
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
    c->range_ok = false;
}
void smp_cands_softmax(smp_cands *c) {
    smp_mass_settle(c);
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
    row_softmax_m(c->col_logit, c->col_p, c->n, cols_range(c, NULL));
    c->has_p = true;
    c->normalized = true;
}

void smp_mass_div(smp_cands *c, float t) {
    smp_mass_own(c);
    float *L = c->col_logit;
    int32_t i = 0, n = c->n;
    if (smp_simd_on()) i = smp_simd_div(L, n, t);
    for (; i < n; i++) L[i] /= t;
    /* the range divided too (session 13: saves the next whole-row stage
     * its pass): x / t is monotone for t > 0, so the largest is rmax / t;
     * the least above -inf is rmin / t unless that overflowed to -inf */
    if (!c->range_ok) return;
    float lo = c->rmin / t;
    c->range_ok = !(c->rmin < INFINITY) || lo > -INFINITY;
    c->rmax /= t;
    c->rmin = lo;
}

/* min-p's threshold: (double)l >= lmax + log(v) exactly when l >= tf, the
 * smallest float >= it (round to nearest, then one step up if that fell
 * below) */
static float min_p_tf(float lmax, float v) {
    double thr = (double)lmax + log((double)v);
    float tf = (float)thr;
    if ((double)tf < thr) tf = nextafterf(tf, INFINITY);
    return tf;
}

int smp_mass_top_p(smp_cands *c, double p, int32_t min_keep) {
    if (min_keep < 1) min_keep = 1;
    to_columns(c);
    if (c->n <= min_keep) {
        smp_mass_softmax(c);
        return 0;
    }
    int32_t n = c->n;
    float *L = c->col_logit, *P = c->col_p;
    float lo, m = cols_range(c, &lo);
    if (m == -INFINITY) {                    /* no mass anywhere: all kept */
        memset(P, 0, sizeof *P * (size_t)n);
        c->has_p = true;
        c->normalized = false;
        return 0;
    }
    double h[LANES][NB];
    memset(h, 0, sizeof h);
    row_exp(L, P, n, m, c->tmp_b, key_scale(m - lo), h, NULL);
    /* the rank key -logit (ascending key = logit descending); its buckets
     * are those of m - l, the same order */
    sel s = { L, 0, 0, P, P, c->dense ? NULL : c->col_id, c->tmp_b, n };
    c->le_want = c->hint_min_p > 0;
    if (c->le_want) c->le_bt = bucket_of(m - min_p_tf(m, c->hint_min_p), key_scale(m - lo));   /* as min_p_buckets */
    int r = smp_cut_keep(c, &s, -1, p, min_keep, h);
    c->le_want = false;
    c->cut_max = m;                          /* for min-p (a pending cut keeps the best) */
    c->cut_b = c->cut;                       /* and the buckets in tmp_b */
    c->cut_scale = key_scale(m - lo);
    return r;
}

/* Locally typical: the key |-log p_i - H| = |l_i - E[l]| (-log p_i = lse -
 * l_i and H = lse - E[l] over the candidates with p > 0, so no log), E[l] =
 * (sum of e_i l_i) / S from the same pass as the exps; keys rounded to
 * float, +inf for p = 0. */
int smp_mass_typical(smp_cands *c, double p, int32_t min_keep) {
    if (min_keep < 1) min_keep = 1;
    to_columns(c);
    if (c->n <= min_keep) {
        smp_mass_softmax(c);
        return 0;
    }
    int32_t n = c->n;
    float *L = c->col_logit, *P = c->col_p;
    uint16_t *B = c->tmp_b;
    float lo, m = cols_range(c, &lo);
    if (m == -INFINITY) {
        memset(P, 0, sizeof *P * (size_t)n);
        c->has_p = true;
        c->normalized = false;
        return 0;
    }
    c->cut_max = m;                            /* for the draw's bound on the kept p (smp_cut.c) */
    double el, S, h[LANES][NB];
    memset(h, 0, sizeof h);
    if (min_keep <= 1) {                       /* one pass: the exps, E[l] and the logits' histogram */
        float scl = key_scale(m - lo);
        double mass[NB];
        row_exp(L, P, n, m, B, scl, h, &el);
        S = 0;
        for (int32_t b = 0; b < NB; b++) S += mass[b] = (h[0][b] + h[1][b]) + (h[2][b] + h[3][b]);
        sel s = { L, 1, S > 0 ? (float)(el / S) : 0.0f, P, P, c->dense ? NULL : c->col_id, B, n };
        int r = smp_cut_typical(c, &s, B, mass, S, p, m, scl);
        if (r) return r < 0 ? r : 0;
        memset(h, 0, sizeof h);                /* the walk could not: the keys' histogram */
    } else {
        S = row_exp(L, P, n, m, NULL, 0, NULL, &el);
    }
    double lbar = S > 0 ? el / S : 0;
    float lb = (float)lbar, sc = key_scale(fmaxf(m - lb, lb - lo));
    const int v = smp_simd_on(), v512 = smp_simd_512();
    for (int32_t i0 = 0; i0 < n; i0 += CHUNK) {
        int32_t i1 = n - i0 < CHUNK ? n : i0 + CHUNK, i = i0;
        if (v512) i = smp_simd_typical_keys_512(L, P, i, i1, lb, B, sc);
        if (v) i = smp_simd_typical_keys(L, P, i, i1, lb, B, sc);
        for (; i < i1; i++) {
            float k = P[i] > 0 ? fabsf(L[i] - lb) : INFINITY;
            B[i] = bucket_of(k, sc);
        }
        hist_add(h, B, P, i0, i1);
    }
    sel s = { L, 1, lb, P, P, c->dense ? NULL : c->col_id, B, n };
    return smp_cut_keep(c, &s, S, p, min_keep, h);
}

/* ---- min-p ------------------------------------------------------------------ */

static int block_sums(const float *P, int32_t n, double *bs);
enum { BLK = 64 };

/* The sum of P[0..n) as one chain of adds in order (the sorting paths'
 * renormalization), from block_sums where those are exact (every P 0 or
 * >= 2^-29 and the total below 2: every partial sum is then exact, in any
 * order; session 13: the chain's latency was ~4 us of min-p after top-p
 * at 128256); bs: scratch of n / 64 + 1 doubles. */
static double exact_sum(const float *P, int32_t n, double *bs) {
    if (!block_sums(P, n, bs)) {
        double t = 0;
        for (int32_t b = 0; b < (n + BLK - 1) / BLK; b++) t += bs[b];
        if (t < 2) return t;
    }
    double s = 0;
    for (int32_t i = 0; i < n; i++) s += P[i];
    return s;
}

/* Min-p after top-p's pending cut (c->cut_b), from top-p's buckets: B[i]
 * = the bucket of m - l (m = cut_max), monotone in the key m - l as
 * computed in float, so l >= tf puts l in tf's bucket bt or below, and a
 * bucket below bt means l >= tf: one pass over the 16-bit buckets finds
 * the candidates at or below bt (~2 % of a flat 128k row at min-p 0.05),
 * and only those in bt itself have their logit compared. Keeps them in
 * place and in order as the pass over the logits does; how many, or -1
 * (nothing changed) when fewer than keep pass. */
static int32_t min_p_buckets(smp_cands *c, float tf, int32_t keep) {
    const uint16_t *B = c->tmp_b;
    const int32_t n = c->cut_n, dense = c->dense;
    int32_t *idx = (int32_t *)c->tmp_d, *id = c->col_id, ni = 0, i = 0, kept = 0, k = 0;
    const float *Ls = c->col_logit;            /* the caller's row when borrowed: kept into col_own */
    float *L = c->col_own, *P = c->col_p;
    const int32_t bt = bucket_of(c->cut_max - tf, c->cut_scale);
    if (c->le_ok && c->le_bt == bt) {          /* listed by top-p's members' pass (session 13) */
        idx = (int32_t *)c->data;
        ni = c->le_n;
        i = n;
    }
    if (smp_simd_512() && i < n) i = smp_simd_le_512(B, n, bt, idx, &ni);
    for (; i < n; i++)
        if (B[i] <= bt) idx[ni++] = i;
    if (keep > 1) {                            /* else the best passes (l = cut_max >= tf, bucket 0) */
        for (int32_t j = 0; j < ni; j++) kept += B[idx[j]] < bt || Ls[idx[j]] >= tf;
        if (kept < keep) return -1;
    }
    for (int32_t j = 0; j < ni; j++) {         /* k <= idx[j]: nothing read is overwritten first */
        int32_t x = idx[j];
        if (!(B[x] < bt || Ls[x] >= tf)) continue;
        id[k] = dense ? x : id[x];
        L[k] = Ls[x];
        P[k++] = P[x];
    }
    c->col_logit = L;
    return k;
}

int smp_mass_min_p(smp_cands *c, float v, int32_t keep) {
    /* after top-p with its cut pending (smp_cut.c): the whole row, where
     * top-p keeps l > its cut's logit (or equal, by id) and its best logit
     * is the row's */
    const int cut = c->cut;
    int32_t n = cut ? c->cut_n : c->n;
    int32_t *id = c->col_id;
    const int dense = c->dense;
    const float *L = c->col_logit;             /* the caller's row when borrowed: kept into col_own */
    float *Lo = c->col_own, *P = c->col_p;
    /* the best candidate's logit: the largest that is not NaN (the rank
     * order puts NaN last), or the first when sorted */
    float lmax = cut ? c->cut_max : c->sorted ? L[0] : cols_range(c, NULL);
    if (!c->sorted && !(lmax > -INFINITY)) return 0;
    float tf = min_p_tf(lmax, v);
    if (cut && !(tf > -c->cut_key)) return c->n >= keep;   /* all top-p keeps pass (keep > 1: n counted) */
    int32_t kept = 0, i0 = 0, k = 0;
    if (cut && c->cut_b) {
        if ((k = min_p_buckets(c, tf, keep)) < 0) return 0;
    } else {
        /* the best passes (tf <= lmax): with keep 1, nothing to count */
        if (keep > 1 || !(lmax >= tf)) {
            if (smp_simd_on()) i0 = smp_simd_count_ge(L, n, tf, &kept);
            for (int32_t i = i0; i < n; i++) kept += L[i] >= tf;
            if (kept < keep) return 0;
        }
        i0 = 0;
        if (smp_simd_512()) k = smp_simd_compact_ge_512(L, Lo, P, dense ? NULL : id, id, n, tf, &i0);
        for (int32_t i = i0; i < n; i++) {
            float l = L[i];
            id[k] = dense ? i : id[i];
            Lo[k] = l;
            P[k] = P[i];
            k += l >= tf;
        }
        c->col_logit = Lo;
    }
    if (cut) {                          /* those pass only where top-p keeps: its p */
        for (int32_t i = 0; i < k; i++) P[i] = P[i] * c->cut_inv;
        c->cut = false;
    }
    if (k >= n) return 1;               /* nothing dropped: the ids written equal i */
    c->n = k;
    c->dense = false;
    if (!c->normalized) return 1;
    double s = exact_sum(P, k, c->tmp_d);
    if (s > 0) {
        int32_t i = smp_simd_on() ? smp_simd_div_d(P, k, s) : 0;
        for (; i < k; i++) P[i] = (float)(P[i] / s);
    } else {
        c->normalized = false;
    }
    return 1;
}

/* ---- the dist draw ----------------------------------------------------------- */

static int cmp_id(const void *pa, const void *pb) {
    const smp_cand *a = pa, *b = pb;
    return (a->id > b->id) - (a->id < b->id);
}

/* When every p is 0 or at least 2^-29 (a multiple of 2^-52) and the total
 * stays below 2, every partial sum of the chain `cum += p` is exact (a
 * multiple of 2^-52 below 2 is a double), so the sums can be taken in any
 * order: per block of 64 (SIMD lanes in any order), and the walk only
 * enters the block where the prefix passes u. What the chain would give,
 * with no chain of dependent adds over the whole row. */
/* bs[b] = the sum of block b of P: 0 when every p qualifies (0 or
 * >= 2^-29), else 1 (the sums are then not to be used). */
static int block_sums(const float *P, int32_t n, double *bs) {
    const float tiny = 0x1p-29f;
    int32_t nb = (n + BLK - 1) / BLK, b = 0;
    int bad = 0;
    if (smp_simd_512()) {
        b = n / BLK;
        bad = smp_simd_block_sums_512(P, b, bs);
    }
    for (; b < nb; b++) {
        int32_t i = b * BLK, e = n - i < BLK ? n : i + BLK;
        double s = 0;
        if (!bad && smp_simd_on() && e - i == BLK) {
            bad = smp_simd_block_sum(P + i, &s);
            i = e;
        }
        for (; i < e && !bad; i++) {
            float p = P[i];
            if (!(p == 0 || p >= tiny)) bad = 1;
            s += p;
        }
        bs[b] = s;
    }
    return bad;
}

/* The draw by the block sums bs (block_sums gave 0): -2 when the total is
 * 2 or more (the sums may then be inexact). */
static int32_t exact_walk(const float *P, int32_t n, double r, const double *bs, int arrived) {
    int32_t nb = (n + BLK - 1) / BLK;
    double total = 0;
    for (int32_t b = 0; b < nb; b++) total += bs[b];
    if (!(total < 2)) return -2;
    double u = r * total, cum = 0;
    if (arrived && n > SMP_MASS_MIN && SMP_DRAW_NEAR1(total)) {    /* the rejection rule (smp_mass.h) */
        u = r * SMP_DRAW_U;
        if (!(u < total)) return SMP_DRAW_AGAIN;
    }
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

static int32_t chain_draw(const float *P, int32_t n, double r, double *pre, int arrived);

/* One chain of adds in id order gives the total and, kept in tmp_d, every
 * prefix sum: the first prefix above u is then found by bisection instead
 * of a second walk. Adding p >= 0 never lowers a double sum, so the
 * prefixes are sorted, and the first one above u >= 0 ends on a p > 0, the
 * token the walk `cum += p; if (cum > u && p > 0) stop` stops at. A
 * negative or NaN p (a custom stage's) takes that walk itself. */
int32_t smp_mass_draw(smp_cands *c, double r, int arrived) {
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
    float *P = c->col_p;
    int32_t k = block_sums(P, n, c->tmp_d) ? -2 : exact_walk(P, n, r, c->tmp_d, arrived);
    if (k != -2) return k;
    return chain_draw(P, n, r, c->tmp_d, arrived);
}

/* The chain of adds, for rows the block sums cannot take. */
static int32_t chain_draw(const float *P, int32_t n, double r, double *pre, int arrived) {
    double cum = 0;
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
    if (valid && arrived && n > SMP_MASS_MIN && SMP_DRAW_NEAR1(cum)) {   /* the rejection rule (smp_mass.h) */
        u = r * SMP_DRAW_U;
        if (!(u < cum)) return SMP_DRAW_AGAIN;
    }
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

/* The dist draw over a whole row (session 8 of issue 14). The draw is the
 * inverse CDF in id order: the first candidate whose cumulative mass
 * exceeds u = r * S. Over SMP_MASS_MIN candidates in id order it takes the
 * cumulative masses where the softmax already has them: the exp pass keeps
 * eight lane sums (candidate i into lane i % 8), and their sum8 after every
 * DBLK-th candidate is the prefix at that block's end (its last one is S,
 * the softmax's total, bit for bit). The first block whose prefix exceeds
 * u holds the pick; from the previous prefix, e is added in order through
 * the block until the sum exceeds u (or, rounding, the block's last e > 0).
 * No pass normalizes the row: p = (float)(e * (1 / S)) (the softmax's bits)
 * is computed for the pick alone, for the whole row only when asked for
 * (c->p_e, smp_mass_settle). Every sum's order is fixed by the row. Before
 * session 8 the draw normalized the row and summed the p in id order (in
 * blocks where the sums were exact); the pick differs only where u falls
 * within rounding of a prefix. */
enum { DBLK = 256 };

/* P = e as row_exp; pre[b] = the sum of e over the first (b + 1) * DBLK
 * candidates (fewer for the last block), from the eight lane sums. */
static void exp_prefix(const float *L, float *P, int32_t n, float m, double *pre) {
    double part[8] = { 0 };
    const int v = smp_simd_on(), v512 = smp_simd_512();
    for (int32_t i0 = 0, b = 0; i0 < n; i0 += DBLK, b++) {
        int32_t i1 = n - i0 < DBLK ? n : i0 + DBLK, i = i0;
        if (v512) i = smp_simd_exp_pass_512(L, P, i, i1, m, part, NULL, 0, NULL, NULL);
        if (v) i = smp_simd_exp_pass(L, P, i, i1, m, part, NULL, 0, NULL);
        if (i < i1) {
            for (int32_t j = i; j < i1; j++) P[j] = L[j] - m;
            smp_simd_exp(P + i, i1 - i);
        }
        for (; i < i1; i++) {
            if (!(L[i] - m >= -87.0f)) P[i] = 0.0f;
            part[i & 7] += P[i];
        }
        pre[b] = sum8(part);
    }
}

int32_t smp_mass_softmax_draw(smp_cands *c, double r) {
    if (c->cut && c->id_order) {               /* a top-p or typical-p cut, still pending */
        int32_t k = smp_cut_draw(c, r);
        if (k != -2) return k;
    }
    smp_mass_settle(c);                        /* (a cut over columns not in id order: compacted, then sorted) */
    int32_t n = c->n;
    const int arrived = c->normalized;         /* a truncation's set, not the softmax's own */
    if (c->normalized || !c->lazy || !c->id_order || n <= SMP_MASS_MIN) {
        smp_mass_softmax(c);
        return smp_mass_draw(c, r, arrived);
    }
    const float *L = c->col_logit;
    float *P = c->col_p;
    float m = cols_range(c, NULL);
    if (m == -INFINITY) {                      /* no mass: p = 0 everywhere */
        smp_mass_softmax(c);
        return smp_mass_draw(c, r, 0);
    }
    double *pre = c->tmp_d;
    int32_t nb = (n + DBLK - 1) / DBLK;
    exp_prefix(L, P, n, m, pre);
    double S = pre[nb - 1], u = r * S;
    if (!(S > 0)) {                            /* a max of +inf: no e > 0, as row_softmax */
        smp_mass_softmax(c);
        return smp_mass_draw(c, r, 0);
    }
    c->has_p = false;
    c->normalized = c->p_e = true;            /* p = (float)(e * p_inv) when asked for */
    c->p_inv = 1.0 / S;
    int32_t lo = 0, hi = nb;                   /* the first block with pre > u */
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        if (pre[mid] > u) hi = mid;
        else lo = mid + 1;
    }
    int32_t last = -1;
    if (lo < nb) {                             /* pre[lo] > pre[lo - 1]: the block has an e > 0 */
        double cum = lo ? pre[lo - 1] : 0;
        for (int32_t i = lo * DBLK, e = n - i < DBLK ? n : i + DBLK; i < e; i++) {
            if (!(P[i] > 0)) continue;
            last = i;
            cum += P[i];
            if (cum > u) return i;
        }
        return last;
    }
    for (int32_t i = n - 1; i >= 0; i--)       /* u == S (r * S rounded up): the last e > 0 */
        if (P[i] > 0) return i;
    return -1;
}

void smp_mass_settle(smp_cands *c) {
    smp_cut_settle(c);
    if (!c->p_e || !c->lazy) return;
    smp_mass_scale(c->col_p, c->n, c->p_inv);
    c->p_e = false;
    c->has_p = c->normalized = true;
}
