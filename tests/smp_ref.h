/* The sampler stages as they were before the whole-row passes of
 * core/smp_mass.c (session 5 of issue 14): softmax over the array of
 * structs, top-p and typical-p by a sort (rows up to 1024 tokens; longer
 * ones take the library's stages, see ref_lib), and the dist
 * draw with its two walks. Kept here, slow and plain, so that
 * tests/test_smp_fast.c can check that the fast stages pick the same
 * candidates, in the same order, with the same bits. Only for tests. */
#ifndef SMP_REF_H
#define SMP_REF_H
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "smp.h"
#include "smp_simd.h"
#include "vecdot.h"

static void ref_softmax(smp_cands *c) {
    if (c->normalized || c->n == 0) return;
    float m = -INFINITY;
    for (int32_t i = 0; i < c->n; i++) if (c->data[i].logit > m) m = c->data[i].logit;
    if (m == -INFINITY) {
        for (int32_t i = 0; i < c->n; i++) c->data[i].p = 0.0f;
        c->normalized = true;
        return;
    }
    float *e = malloc(sizeof *e * (size_t)c->n);
    for (int32_t i = 0; i < c->n; i++) e[i] = c->data[i].logit - m;
    smp_simd_exp(e, c->n);          /* the samplers' exp (session 14) */
    double part[8] = { 0 };
    for (int32_t i = 0; i < c->n; i++) {
        if (!(c->data[i].logit - m >= -87.0f)) e[i] = 0.0f;
        part[i & 7] += e[i];
    }
    double s = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
    double inv = s > 0 ? 1.0 / s : 0.0;
    for (int32_t i = 0; i < c->n; i++) c->data[i].p = (float)(e[i] * inv);
    free(e);
    c->normalized = true;
}

static inline float ref_key(float v) { return isnan(v) ? -INFINITY : v; }
static inline bool ref_ahead(const smp_cand *a, const smp_cand *b) {
    float x = ref_key(a->logit), y = ref_key(b->logit);
    return x > y || (x == y && a->id < b->id);
}
static int ref_cmp_rank(const void *pa, const void *pb) {
    const smp_cand *a = pa, *b = pb;
    return ref_ahead(a, b) ? -1 : ref_ahead(b, a) ? 1 : 0;
}
static int ref_cmp_id(const void *pa, const void *pb) {
    const smp_cand *a = pa, *b = pb;
    return (a->id > b->id) - (a->id < b->id);
}
static void ref_sort(smp_cands *c) {
    if (c->sorted) return;
    qsort(c->data, (size_t)c->n, sizeof *c->data, ref_cmp_rank);
    c->sorted = true;
}
static void ref_swap(smp_cand *a, smp_cand *b) { smp_cand t = *a; *a = *b; *b = t; }
static void ref_sift_down(smp_cand *d, int32_t n, int32_t i) {
    for (;;) {
        int32_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && ref_ahead(&d[w], &d[l])) w = l;
        if (r < n && ref_ahead(&d[w], &d[r])) w = r;
        if (w == i) return;
        ref_swap(&d[i], &d[w]);
        i = w;
    }
}
static void ref_partial_sort(smp_cands *c, int32_t m) {
    if (c->sorted) return;
    if (m >= c->n) { ref_sort(c); return; }
    smp_cand *d = c->data;
    for (int32_t i = m / 2 - 1; i >= 0; i--) ref_sift_down(d, m, i);
    for (int32_t i = m; i < c->n; i++)
        if (ref_ahead(&d[i], &d[0])) { ref_swap(&d[0], &d[i]); ref_sift_down(d, m, 0); }
    for (int32_t k = m - 1; k > 0; k--) { ref_swap(&d[0], &d[k]); ref_sift_down(d, k, 0); }
}
static void ref_truncate_to(smp_cands *c, int32_t n) {
    if (n >= c->n) return;
    c->n = n;
    if (!c->normalized) return;
    double s = 0;
    for (int32_t i = 0; i < n; i++) s += c->data[i].p;
    if (s > 0) for (int32_t i = 0; i < n; i++) c->data[i].p = (float)(c->data[i].p / s);
    else c->normalized = false;
}
static int32_t ref_best_index(const smp_cands *c) {
    int32_t b = 0;
    for (int32_t i = 1; i < c->n; i++) if (ref_ahead(&c->data[i], &c->data[b])) b = i;
    return b;
}
static bool ref_in_id_order(const smp_cands *c) {
    for (int32_t i = 1; i < c->n; i++) if (c->data[i - 1].id > c->data[i].id) return false;
    return true;
}

/* lib: the library's stage, which rows over 1024 tokens take (below) */
typedef struct ref_par { float v; int32_t min_keep; uint64_t seed; smp_rng rng; smp *lib; } ref_par;

/* Rows over 1024 tokens not in rank order: top-p and typical-p sum their
 * mass per bucket since session 7 of issue 14 (core/smp_mass.c), a new
 * order of the sums that this plain form does not repeat; there the
 * library's stage runs (data[] written after it, for the plain stages
 * after). tests/test_smp_fast.c checks those paths against a float64
 * reference, a brute force, and their SIMD loops against their plain
 * loops, bit for bit. */
static int ref_lib(const ref_par *q, smp_cands *c) {
    int rc = smp_apply(q->lib, c);
    smp_cands_sync(c);
    return rc;
}
static int32_t ref_keep(const ref_par *q) { return q->min_keep > 1 ? q->min_keep : 1; }

static int32_t ref_nucleus(const smp_cands *c, int32_t m, double p, int32_t min_keep) {
    double cum = 0;
    for (int32_t i = 0; i < m; i++) {
        cum += c->data[i].p;
        if (cum >= p && i + 1 >= min_keep) return i + 1;
    }
    return m == c->n ? m : -1;
}

static int ref_top_p_apply(smp *s, smp_cands *c) {
    const ref_par *q = s->ctx;
    if (q->v >= 1.0f || c->n <= 1) return SMP_OK;
    if (!c->sorted && c->n > 1024) return ref_lib(q, c);
    ref_softmax(c);
    int32_t m = c->n < 256 ? c->n : 256, keep = -1;
    if (!c->sorted) {
        ref_partial_sort(c, m);
        keep = ref_nucleus(c, m, q->v, ref_keep(q));
        if (keep < 0) ref_sort(c);
    }
    c->sorted = true;
    if (keep < 0) keep = ref_nucleus(c, c->n, q->v, ref_keep(q));
    ref_truncate_to(c, keep);
    return SMP_OK;
}

typedef struct ref_ord { double score; int32_t id, i; } ref_ord;
static int ref_cmp_score(const void *pa, const void *pb) {
    const ref_ord *a = pa, *b = pb;
    if (a->score != b->score) return a->score < b->score ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

static int ref_typical_apply(smp *s, smp_cands *c) {
    const ref_par *q = s->ctx;
    if (q->v >= 1.0f || c->n <= 1) return SMP_OK;
    if (c->n > 1024) return ref_lib(q, c);
    ref_ord *ord = malloc(sizeof *ord * (size_t)c->n);
    smp_cand *tmp = malloc(sizeof *tmp * (size_t)c->n);
    ref_softmax(c);
    double h = 0;
    for (int32_t i = 0; i < c->n; i++)
        if (c->data[i].p > 0) h -= c->data[i].p * log((double)c->data[i].p);
    for (int32_t i = 0; i < c->n; i++) {
        double p = c->data[i].p;
        ord[i].score = p > 0 ? fabs(-log(p) - h) : INFINITY;
        ord[i].id = c->data[i].id;
        ord[i].i = i;
    }
    qsort(ord, (size_t)c->n, sizeof *ord, ref_cmp_score);
    double cum = 0;
    int32_t keep = c->n;
    for (int32_t k = 0; k < c->n; k++) {
        cum += c->data[ord[k].i].p;
        if (cum >= q->v && k + 1 >= ref_keep(q)) { keep = k + 1; break; }
    }
    for (int32_t k = 0; k < keep; k++) tmp[k] = c->data[ord[k].i];
    memcpy(c->data, tmp, sizeof *c->data * (size_t)keep);
    free(ord);
    free(tmp);
    c->sorted = false;
    ref_truncate_to(c, keep);
    return SMP_OK;
}

static int ref_dist_apply(smp *s, smp_cands *c) {
    ref_par *d = s->ctx;
    if (c->n <= 0) return SMP_ENOSEL;
    int arrived = c->normalized;       /* a truncation's set (session 13's rule, smp_mass.h) */
    ref_softmax(c);
    if (!ref_in_id_order(c)) {
        qsort(c->data, (size_t)c->n, sizeof *c->data, ref_cmp_id);
        c->sorted = false;
    }
    double total = 0;
    int valid = 1;
    for (int32_t i = 0; i < c->n; i++) {
        total += c->data[i].p;
        valid = valid && c->data[i].p >= 0;
    }
    double r = smp_rng_double(&d->rng), u = r * total, cum = 0;
    if (arrived && valid && c->n > 1024 && total >= 1.0 - 0x1p-20 && total <= 1.0 + 0x1p-20)   /* u over [0, 1 + 2^-20), again past the total */
        for (u = r * (1.0 + 0x1p-20); !(u < total);) u = smp_rng_double(&d->rng) * (1.0 + 0x1p-20);
    int32_t pick = -1;
    for (int32_t i = 0; i < c->n; i++) {
        if (c->data[i].p > 0) pick = i;
        cum += c->data[i].p;
        if (cum > u && c->data[i].p > 0) break;
    }
    c->selected = pick >= 0 ? pick : ref_best_index(c);
    return SMP_OK;
}

static void ref_free(smp *s) {
    ref_par *q = s->ctx;
    smp_destroy(q->lib);
    free(q);
}
static const smp_iface ref_top_p_iface = { "top_p", ref_top_p_apply, NULL, NULL, ref_free };
static const smp_iface ref_typical_iface = { "typical", ref_typical_apply, NULL, NULL, ref_free };
static const smp_iface ref_dist_iface = { "dist", ref_dist_apply, NULL, NULL, ref_free };

static smp *ref_stage(const smp_iface *iface, float v, int32_t min_keep, uint64_t seed) {
    ref_par *q = calloc(1, sizeof *q);
    q->v = v;
    q->min_keep = min_keep;
    q->seed = seed;
    smp_rng_init(&q->rng, seed, 0);
    if (iface == &ref_top_p_iface) q->lib = smp_create_top_p(v, min_keep);
    if (iface == &ref_typical_iface) q->lib = smp_create_typical(v, min_keep);
    return smp_create(iface, q);
}
#endif
