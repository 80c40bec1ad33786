/* smp: the sampler chain and its built-in stages (see smp.h for the list).
 *
 * Invariants kept on a candidates array by every stage:
 * - `sorted` is true only if data[0..n) is in rank order (logit descending,
 *   id ascending on ties); a stage that may reorder or change logits clears it.
 *   Stages sort only when they need the order (top_k partially, top_p
 *   usually only a prefix), never by default.
 * - `normalized` is true only if p is the softmax of the current logits over
 *   the current candidates; truncations renormalize p (the softmax of a
 *   subset is the renormalized restriction), logit changes clear the flag.
 * - The dist draw walks the candidates in id order with sums in double and a
 *   PCG32 stream, so a seed gives the same tokens wherever the logits agree.
 * Scratch buffers belong to the stage and grow to the vocabulary once.
 */
#include "smp.h"

#include <assert.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logits.h"
#include "smp_cut.h"
#include "smp_mass.h"
#include "smp_pen.h"
#include "vecdot.h"

/* ---- candidates --------------------------------------------------------- */

/* The columns on 64-byte lines (session 14): malloc's large blocks start
 * 16 bytes past a page, so every 64-byte store of the row's copy and of the
 * exp pass's P was split over two lines (the copy ~1.4x slower). */
static void *cols_alloc(size_t size) { return aligned_alloc(64, (size + 63) & ~(size_t)63); }

int smp_cands_init(smp_cands *c, int32_t cap) {
    memset(c, 0, sizeof *c);
    size_t m = (size_t)(cap > 0 ? cap : 1);
    c->data = malloc(sizeof *c->data * m);
    c->col_id = cols_alloc(sizeof *c->col_id * m);
    c->col_logit = c->col_own = cols_alloc(sizeof *c->col_own * m);
    c->col_p = cols_alloc(sizeof *c->col_p * m);
    c->tmp = cols_alloc(sizeof *c->tmp * m);
    c->tmp_b = cols_alloc(sizeof *c->tmp_b * m);
    c->tmp_d = cols_alloc(sizeof *c->tmp_d * m);
    if (!c->data || !c->col_id || !c->col_own || !c->col_p || !c->tmp || !c->tmp_b || !c->tmp_d) {
        smp_cands_fini(c);
        return SMP_ENOMEM;
    }
    c->cap = cap;
    c->selected = -1;
    return SMP_OK;
}

void smp_cands_fini(smp_cands *c) {
    free(c->data);
    free(c->col_id);
    free(c->col_own);
    free(c->col_p);
    free(c->tmp);
    free(c->tmp_b);
    free(c->tmp_d);
    memset(c, 0, sizeof *c);
}

/* The row goes into the columns only: the whole-row stages read it there,
 * and data[] is written once, by the first stage that needs it or at the
 * end of the chain, for the candidates still left then. */
static void set_common(smp_cands *c, int32_t n) {
    c->n = n;
    c->lazy = true;
    c->dense = c->id_order = true;
    c->has_p = false;
    c->p_e = false;
    c->cut = false;
    c->sorted = false;
    c->normalized = false;
    c->selected = -1;
}
void smp_cands_set(smp_cands *c, const float *logits, int32_t n) {
    assert(n <= c->cap && "smp_cands_set: row longer than the candidates array");
    c->col_logit = c->col_own;
    smp_mass_set_row(c, logits, n);
    set_common(c, n);
}
/* The first whole-row stage finds the range (its pass over the row reads
 * it, where the copy read and wrote it); the first that changes logits
 * copies the row with the range on the way (smp_mass_own), as
 * smp_cands_set would have. */
void smp_cands_set_ref(smp_cands *c, const float *logits, int32_t n) {
    assert(n <= c->cap && "smp_cands_set_ref: row longer than the candidates array");
    c->col_logit = n > 0 ? (float *)logits : c->col_own;   /* never written while borrowed */
    c->range_ok = false;
    set_common(c, n);
}

/* smp_cands_softmax: smp_mass.c, with the other whole-row passes. */

/* Rank order; NaN logits sort last. */
static inline float key(float v) { return isnan(v) ? -INFINITY : v; }
static inline bool ahead(const smp_cand *a, const smp_cand *b) {
    float x = key(a->logit), y = key(b->logit);
    return x > y || (x == y && a->id < b->id);
}

static int cmp_rank(const void *pa, const void *pb) {
    const smp_cand *a = pa, *b = pb;
    return ahead(a, b) ? -1 : ahead(b, a) ? 1 : 0;
}

void smp_cands_sort(smp_cands *c) {
    smp_cands_sync(c);
    if (c->sorted) return;
    qsort(c->data, (size_t)c->n, sizeof *c->data, cmp_rank);
    c->sorted = true;
}

static void swap(smp_cand *a, smp_cand *b) { smp_cand t = *a; *a = *b; *b = t; }

/* d[0..n) is a heap whose root is the candidate ranked last */
static void sift_down(smp_cand *d, int32_t n, int32_t i) {
    for (;;) {
        int32_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && ahead(&d[w], &d[l])) w = l;
        if (r < n && ahead(&d[w], &d[r])) w = r;
        if (w == i) return;
        swap(&d[i], &d[w]);
        i = w;
    }
}

/* Puts the m best candidates, in rank order, at data[0..m); the rest follow in
 * no order. O(n log m): a bounded heap instead of sorting the vocabulary. */
static void partial_sort(smp_cands *c, int32_t m) {
    if (c->sorted) return;
    if (m >= c->n) { smp_cands_sort(c); return; }
    smp_cand *d = c->data;
    for (int32_t i = m / 2 - 1; i >= 0; i--) sift_down(d, m, i);
    for (int32_t i = m; i < c->n; i++)
        if (ahead(&d[i], &d[0])) { swap(&d[0], &d[i]); sift_down(d, m, 0); }
    for (int32_t k = m - 1; k > 0; k--) { swap(&d[0], &d[k]); sift_down(d, k, 0); }
}

/* Keeps data[0..n); p renormalized to the kept mass when it was valid. */
static void truncate_to(smp_cands *c, int32_t n) {
    if (n >= c->n) return;
    c->n = n;
    if (!c->normalized) return;
    double s = 0;
    for (int32_t i = 0; i < n; i++) s += c->data[i].p;
    if (s > 0) for (int32_t i = 0; i < n; i++) c->data[i].p = (float)(c->data[i].p / s);
    else c->normalized = false;
}

static int32_t best_index(const smp_cands *c) {
    int32_t b = 0;
    for (int32_t i = 1; i < c->n; i++) if (ahead(&c->data[i], &c->data[b])) b = i;
    return b;
}

/* ---- the processor interface ------------------------------------------- */

smp *smp_create(const smp_iface *iface, void *ctx) {
    assert(iface && iface->apply && "smp_create: apply is required");
    smp *s = malloc(sizeof *s);
    if (!s) return NULL;
    s->iface = iface;
    s->ctx = ctx;
    s->columns = false;
    return s;
}

void smp_destroy(smp *s) {
    if (!s) return;
    if (s->iface->destroy) s->iface->destroy(s);
    free(s);
}

const char *smp_name(const smp *s) { return s->iface->name ? s->iface->name : "?"; }
static bool takes_columns(const smp *s, const smp_cands *c);
static bool takes_cut(const smp *s, const smp_cands *c);
static const smp_iface temp_iface;

/* A stage that does not take the columns gets data[]; the caller of the
 * outermost call gets data[] in any case. */
int smp_apply(smp *s, smp_cands *c) {
    if (c->lazy && !takes_columns(s, c)) smp_cands_sync(c);
    /* a stage after a whole-row draw gets p; after a cut, the kept
     * candidates alone (but the draw, temp 1, which changes nothing, and
     * min-p after top-p, which keep among them themselves) */
    if (!(c->cut && takes_cut(s, c))) smp_mass_settle(c);
    c->depth++;
    int rc = s->iface->apply(s, c);
    /* the stage may have changed the logits; the penalties and the
     * temperature keep the range right themselves (sessions 11, 13) */
    if (!smp_pen_keeps_range(s) && s->iface != &temp_iface) c->range_ok = false;
    if (--c->depth == 0) {
        smp_cut_count(c);
        if (c->only_selected && c->lazy) {
            int32_t i = c->selected, j = c->cut ? c->cut_pick : i;   /* its column */
            if (i >= 0 && i < c->n && j >= 0) {
                float p = c->cut   ? c->col_p[j] * c->cut_inv
                          : c->has_p ? c->col_p[j]
                          : c->p_e ? (float)(c->col_p[j] * c->p_inv)
                                   : 0.0f;
                c->data[i] = (smp_cand){ c->dense ? j : c->col_id[j], c->col_logit[j], p };
            }
        } else {
            smp_cands_sync(c);                 /* settles c->p_e first */
        }
    }
    return rc;
}
void smp_accept(smp *s, int32_t tok) { if (s->iface->accept) s->iface->accept(s, tok); }
void smp_reset(smp *s) { if (s->iface->reset) s->iface->reset(s); }

int32_t smp_sample(smp *s, smp_cands *c) {
    c->selected = -1;
    int rc = smp_apply(s, c);
    if (rc < 0) return rc;
    if (c->selected < 0 || c->selected >= c->n) return SMP_ENOSEL;
    return c->data[c->selected].id;
}

static void free_ctx(smp *s) { free(s->ctx); }

/* A stage whose state is a plain malloc'ed copy of `state`. */
static smp *create_plain(const smp_iface *iface, const void *state, size_t size) {
    void *ctx = NULL;
    if (size) {
        if (!(ctx = malloc(size))) return NULL;
        memcpy(ctx, state, size);
    }
    smp *s = smp_create(iface, ctx);
    if (!s) free(ctx);
    return s;
}

/* Shared parameter block of the simple truncation stages. */
typedef struct par { float v; int32_t k, min_keep; } par;

static int32_t keep_at_least(const par *q) { return q->min_keep > 1 ? q->min_keep : 1; }

/* ---- greedy and dist ----------------------------------------------------- */

static int greedy_apply(smp *s, smp_cands *c) {
    (void)s;
    if (c->n <= 0) return SMP_ENOSEL;
    c->selected = c->sorted ? 0 : best_index(c);
    return SMP_OK;
}
static const smp_iface greedy_iface = { "greedy", greedy_apply, NULL, NULL, NULL };
smp *smp_create_greedy(void) { return create_plain(&greedy_iface, NULL, 0); }

typedef struct dist_state { uint64_t seed; smp_rng rng; } dist_state;

/* Inverse CDF over p in id order: the first candidate whose cumulative mass
 * exceeds u * total (over a truncation's set of more than SMP_MASS_MIN,
 * u * (1 + 2^-20), again with the next u when past the total: a rejection,
 * session 13, smp_mass.h). Ordering by id (not by rank) keeps the walk, and
 * so the token a given u picks, independent of how earlier stages
 * shuffled. */
static int dist_apply(smp *s, smp_cands *c) {
    dist_state *d = s->ctx;
    if (c->n <= 0) return SMP_ENOSEL;
    int32_t pick;
    do {                                       /* again past a truncation's total (smp_mass.h) */
        pick = smp_mass_softmax_draw(c, smp_rng_double(&d->rng));
    } while (pick == SMP_DRAW_AGAIN);
    if (pick < 0) {
        smp_cands_sync(c);
        pick = best_index(c);
    }
    c->selected = pick;
    return SMP_OK;
}

static void dist_reset(smp *s) {
    dist_state *d = s->ctx;
    smp_rng_init(&d->rng, d->seed, 0);
}
static const smp_iface dist_iface = { "dist", dist_apply, NULL, dist_reset, free_ctx };

smp *smp_create_dist(uint64_t seed) {
    dist_state d = { seed, { 0, 0 } };
    smp_rng_init(&d.rng, seed, 0);
    return create_plain(&dist_iface, &d, sizeof d);
}

/* ---- temperature, top-k, top-p, min-p ------------------------------------ */

static int temp_apply(smp *s, smp_cands *c) {
    const par *q = s->ctx;
    if (c->n <= 0 || q->v == 1.0f) return SMP_OK;
    if (q->v <= 0) {            /* the limit t -> 0: all mass on the best token */
        smp_cands_sync(c);
        c->range_ok = false;
        int32_t b = c->sorted ? 0 : best_index(c);
        c->data[0] = c->data[b];
        c->data[0].p = 1.0f;
        c->n = 1;
        c->sorted = c->normalized = true;
        return SMP_OK;
    }
    /* right after a cut (top-p, typical-p), its compaction divides the
     * kept (session 13: one pass less); the columns keep their range */
    if (c->lazy && c->cut) smp_cut_settle_div(c, q->v);
    else if (c->lazy) smp_mass_div(c, q->v);
    else for (int32_t i = 0; i < c->n; i++) c->data[i].logit /= q->v;
    if (!c->lazy) c->range_ok = false;
    c->normalized = false;      /* order is unchanged */
    return SMP_OK;
}
static const smp_iface temp_iface = { "temp", temp_apply, NULL, NULL, free_ctx };

smp *smp_create_temp(float t) {
    if (!(t >= 0) || isinf(t)) return NULL;
    par q = { t, 0, 1 };
    return create_plain(&temp_iface, &q, sizeof q);
}

/* partial_sort's result from the columns: a bounded heap of the k best
 * built in data[0..k) (free while the candidates are lazy), fed only the
 * candidates whose logit is not below the heap's last one (a compare per
 * candidate, four at a time: on a 128k row almost all fail it), then put in
 * rank order. The same k candidates in the same order as partial_sort over
 * data[], since both keep the k first of one total order (rank, then id). */
static void top_k_columns(smp_cands *c, int32_t k) {
    const int32_t *id = c->dense ? NULL : c->col_id;
    const float *L = c->col_logit, *P = c->has_p ? c->col_p : NULL;
    smp_cand *d = c->data;
    int32_t n = c->n;
    for (int32_t i = 0; i < k; i++) d[i] = (smp_cand){ id ? id[i] : i, L[i], P ? P[i] : 0.0f };
    for (int32_t i = k / 2 - 1; i >= 0; i--) sift_down(d, k, i);
    float root = key(d[0].logit);
    int32_t i = k;
    for (;;) {
        /* skip while every logit is below the root's (NaN counts as -inf,
         * below any root above -inf); no skipping while the root is -inf */
        if (root > -INFINITY) i = smp_mass_skip_below(L, i, n, root);
        if (i >= n) break;
        smp_cand x = { id ? id[i] : i, L[i], P ? P[i] : 0.0f };
        if (ahead(&x, &d[0])) {
            d[0] = x;
            sift_down(d, k, 0);
            root = key(d[0].logit);
        }
        i++;
    }
    for (int32_t j = k - 1; j > 0; j--) { swap(&d[0], &d[j]); sift_down(d, j, 0); }
    c->lazy = false;
    c->dense = false;
}

static int top_k_apply(smp *s, smp_cands *c) {
    const par *q = s->ctx;
    if (q->k <= 0 || q->k >= c->n) return SMP_OK;
    if (c->lazy && !c->sorted) top_k_columns(c, q->k);
    else partial_sort(c, q->k);
    c->sorted = true;           /* the kept prefix is in rank order */
    truncate_to(c, q->k);
    return SMP_OK;
}
static const smp_iface top_k_iface = { "top_k", top_k_apply, NULL, NULL, free_ctx };

smp *smp_create_top_k(int32_t k) {
    par q = { 0, k, 1 };
    return create_plain(&top_k_iface, &q, sizeof q);
}

/* Length of the shortest rank-order prefix of data[0..m) with mass >= p and
 * at least min_keep entries, or -1 when data[0..m) is not enough. */
static int32_t nucleus(const smp_cands *c, int32_t m, double p, int32_t min_keep) {
    double cum = 0;
    for (int32_t i = 0; i < m; i++) {
        cum += c->data[i].p;
        if (cum >= p && i + 1 >= min_keep) return i + 1;
    }
    return m == c->n ? m : -1;
}

/* Nucleus sampling (Holtzman et al. 2020, "The Curious Case of Neural Text
 * Degeneration"): keep the smallest set of most likely tokens whose mass
 * reaches p. Usually a short prefix suffices, so only the best 256 are sorted
 * first and the full sort happens only when their mass falls short. */
static int top_p_apply(smp *s, smp_cands *c) {
    const par *q = s->ctx;
    if (q->v >= 1.0f || c->n <= 1) return SMP_OK;
    if (!c->sorted && c->n > SMP_MASS_MIN) return smp_mass_top_p(c, q->v, keep_at_least(q));
    smp_cands_sync(c);
    smp_cands_softmax(c);
    int32_t m = c->n < 256 ? c->n : 256, keep = -1;
    if (!c->sorted) {
        partial_sort(c, m);
        keep = nucleus(c, m, q->v, keep_at_least(q));
        if (keep < 0) smp_cands_sort(c);
    }
    c->sorted = true;
    if (keep < 0) keep = nucleus(c, c->n, q->v, keep_at_least(q));
    truncate_to(c, keep);
    return SMP_OK;
}
static const smp_iface top_p_iface = { "top_p", top_p_apply, NULL, NULL, free_ctx };

smp *smp_create_top_p(float p, int32_t min_keep) {
    if (!(p > 0 && p <= 1)) return NULL;
    par q = { p, 0, min_keep };
    return create_plain(&top_p_iface, &q, sizeof q);
}

/* Min-p (Nguyen et al. 2024, "Turning Up the Heat: Min-p Sampling for
 * Creative and Coherent LLM Outputs"): keep tokens with p >= min_p * p_max,
 * tested in logit space (l >= l_max + log min_p), which needs no softmax. A
 * stable filter, so rank order survives. */
static int min_p_apply(smp *s, smp_cands *c) {
    const par *q = s->ctx;
    if (c->cut && (q->v <= 0 || keep_at_least(q) > 1)) smp_cut_count(c);    /* n as after the compaction */
    if (q->v <= 0 || c->n <= 1) return SMP_OK;
    if (c->lazy && smp_mass_min_p(c, q->v, keep_at_least(q))) return SMP_OK;
    smp_cands_sync(c);
    float lmax = c->data[c->sorted ? 0 : best_index(c)].logit;
    double thr = (double)lmax + log((double)q->v);
    int32_t kept = 0;
    for (int32_t i = 0; i < c->n; i++) kept += (double)c->data[i].logit >= thr;
    if (kept < keep_at_least(q)) {   /* too few pass: the min_keep best instead */
        partial_sort(c, keep_at_least(q));
        c->sorted = true;
        truncate_to(c, keep_at_least(q));
        return SMP_OK;
    }
    int32_t k = 0;
    for (int32_t i = 0; i < c->n; i++)
        if ((double)c->data[i].logit >= thr) c->data[k++] = c->data[i];
    truncate_to(c, k);
    return SMP_OK;
}
static const smp_iface min_p_iface = { "min_p", min_p_apply, NULL, NULL, free_ctx };

smp *smp_create_min_p(float p, int32_t min_keep) {
    if (!(p >= 0 && p <= 1)) return NULL;
    par q = { p, 0, min_keep };
    return create_plain(&min_p_iface, &q, sizeof q);
}

/* ---- typical ------------------------------------------------------------- */

typedef struct typ_ord { double score; int32_t id, i; } typ_ord;

typedef struct typ_state {
    par q;
    int32_t cap;
    typ_ord *ord;        /* (cap) */
    smp_cand *tmp;       /* (cap) */
} typ_state;

/* distance ascending; on a tie the lower id first, whatever the input order */
static int cmp_score(const void *pa, const void *pb) {
    const typ_ord *a = pa, *b = pb;
    if (a->score != b->score) return a->score < b->score ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

/* Locally typical sampling (Meister et al. 2022, "Locally Typical
 * Sampling"): rank tokens by |-log p - H|, the distance of their information
 * content from the entropy H, and keep the closest ones until their mass
 * reaches p. */
static int typical_apply(smp *s, smp_cands *c) {
    typ_state *t = s->ctx;
    if (t->q.v >= 1.0f || c->n <= 1) return SMP_OK;
    if (c->n > SMP_MASS_MIN) return smp_mass_typical(c, t->q.v, keep_at_least(&t->q));
    smp_cands_sync(c);
    if (c->n > t->cap) {
        void *o = realloc(t->ord, sizeof *t->ord * (size_t)c->n);
        if (!o) return SMP_ENOMEM;
        t->ord = o;
        smp_cand *m = realloc(t->tmp, sizeof *m * (size_t)c->n);
        if (!m) return SMP_ENOMEM;
        t->tmp = m;
        t->cap = c->n;
    }
    smp_cands_softmax(c);
    double h = 0;
    for (int32_t i = 0; i < c->n; i++)
        if (c->data[i].p > 0) h -= c->data[i].p * log((double)c->data[i].p);
    for (int32_t i = 0; i < c->n; i++) {
        double p = c->data[i].p;
        t->ord[i].score = p > 0 ? fabs(-log(p) - h) : INFINITY;
        t->ord[i].id = c->data[i].id;
        t->ord[i].i = i;
    }
    qsort(t->ord, (size_t)c->n, sizeof *t->ord, cmp_score);
    double cum = 0;
    int32_t keep = c->n;
    for (int32_t k = 0; k < c->n; k++) {
        cum += c->data[t->ord[k].i].p;
        if (cum >= t->q.v && k + 1 >= keep_at_least(&t->q)) { keep = k + 1; break; }
    }
    for (int32_t k = 0; k < keep; k++) t->tmp[k] = c->data[t->ord[k].i];
    memcpy(c->data, t->tmp, sizeof *c->data * (size_t)keep);
    c->sorted = false;
    truncate_to(c, keep);
    return SMP_OK;
}

static void typical_destroy(smp *s) {
    typ_state *t = s->ctx;
    free(t->ord);
    free(t->tmp);
    free(t);
}
static const smp_iface typical_iface = { "typical", typical_apply, NULL, NULL, typical_destroy };

smp *smp_create_typical(float p, int32_t min_keep) {
    if (!(p > 0 && p <= 1)) return NULL;
    typ_state *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->q = (par){ p, 0, min_keep };
    smp *s = smp_create(&typical_iface, t);
    if (!s) free(t);
    return s;
}

/* ---- penalties and bias: core/smp_pen.c ---------------------------------- */

smp *smp_create_penalties(int32_t last_n, float repeat, float freq, float presence) {
    return smp_pen_create(last_n, repeat, freq, presence);
}
smp *smp_create_bias(const logits_bias *src) { return smp_pen_create_bias(src); }

/* ---- chains ---------------------------------------------------------------- */

typedef struct chain_state {
    smp **st;
    int32_t n, cap;
    smp_observer fn;
    void *ud;
} chain_state;

static int chain_apply(smp *s, smp_cands *c) {
    chain_state *ch = s->ctx;
    if (ch->fn) { smp_cands_softmax(c); ch->fn(ch->ud, -1, "input", c); }
    for (int32_t i = 0; i < ch->n; i++) {
        /* top-p right before min-p lists min-p's candidates in its own pass
         * (smp_cands.hint_min_p) */
        c->hint_min_p = i + 1 < ch->n && ch->st[i]->iface == &top_p_iface && ch->st[i + 1]->iface == &min_p_iface
                            ? ((const par *)ch->st[i + 1]->ctx)->v
                            : 0.0f;
        int rc = smp_apply(ch->st[i], c);
        c->hint_min_p = 0.0f;
        if (rc < 0) return rc;
        if (ch->fn) { smp_cands_softmax(c); ch->fn(ch->ud, i, smp_name(ch->st[i]), c); }
    }
    return SMP_OK;
}

static void chain_accept(smp *s, int32_t tok) {
    chain_state *ch = s->ctx;
    for (int32_t i = 0; i < ch->n; i++) smp_accept(ch->st[i], tok);
}

static void chain_reset(smp *s) {
    chain_state *ch = s->ctx;
    for (int32_t i = 0; i < ch->n; i++) smp_reset(ch->st[i]);
}

static void chain_destroy(smp *s) {
    chain_state *ch = s->ctx;
    for (int32_t i = 0; i < ch->n; i++) smp_destroy(ch->st[i]);
    free(ch->st);
    free(ch);
}
static const smp_iface chain_iface = { "chain", chain_apply, chain_accept, chain_reset, chain_destroy };

int32_t smp_reseed(smp *s, uint64_t seed) {
    if (!s) return 0;
    if (s->iface == &dist_iface) {
        dist_state *d = s->ctx;
        d->seed = seed;
        smp_rng_init(&d->rng, seed, 0);
        return 1;
    }
    if (s->iface != &chain_iface) return 0;
    chain_state *ch = s->ctx;
    int32_t k = 0;
    for (int32_t i = 0; i < ch->n; i++) k += smp_reseed(ch->st[i], seed);
    return k;
}

/* The stages that read and write the columns themselves (see smp_cands),
 * and those that leave the candidates alone with these settings. */
static bool takes_columns(const smp *s, const smp_cands *c) {
    const smp_iface *f = s->iface;
    if (s->columns) return true;
    if (f == &top_p_iface || f == &typical_iface || f == &temp_iface || f == &dist_iface || f == &chain_iface ||
        f == &min_p_iface)
        return true;
    (void)c;
    if (f == &top_k_iface) return true;
    if (smp_pen_takes_columns(s)) return true;
    return false;
}

/* The stages that take a pending cut (smp_cands.cut) as it is. */
static bool takes_cut(const smp *s, const smp_cands *c) {
    return s->iface == &dist_iface || (s->iface == &temp_iface && ((const par *)s->ctx)->v > 0) ||
           (s->iface == &min_p_iface && !c->cut_typical);
}

smp *smp_create_chain(void) {
    chain_state *ch = calloc(1, sizeof *ch);
    if (!ch) return NULL;
    smp *s = smp_create(&chain_iface, ch);
    if (!s) free(ch);
    return s;
}

int smp_chain_add(smp *chain, smp *stage) {
    if (!chain || chain->iface != &chain_iface || !stage) { smp_destroy(stage); return SMP_EINVAL; }
    chain_state *ch = chain->ctx;
    if (ch->n == ch->cap) {
        int32_t cap = ch->cap ? 2 * ch->cap : 8;
        smp **st = realloc(ch->st, sizeof *st * (size_t)cap);
        if (!st) { smp_destroy(stage); return SMP_ENOMEM; }
        ch->st = st;
        ch->cap = cap;
    }
    ch->st[ch->n++] = stage;
    return SMP_OK;
}

/* A constraint (a grammar, gmatch.h) goes first: every later stage, and the
 * observer, sees only the tokens it allows. */
int smp_chain_prepend(smp *chain, smp *stage) {
    int rc = smp_chain_add(chain, stage);
    if (rc) return rc;
    chain_state *ch = chain->ctx;
    memmove(ch->st + 1, ch->st, sizeof *ch->st * (size_t)(ch->n - 1));
    ch->st[0] = stage;
    return SMP_OK;
}

int32_t smp_chain_n(const smp *chain) {
    return chain && chain->iface == &chain_iface ? ((const chain_state *)chain->ctx)->n : 0;
}

smp *smp_chain_get(const smp *chain, int32_t i) {
    if (i < 0 || i >= smp_chain_n(chain)) return NULL;
    return ((const chain_state *)chain->ctx)->st[i];
}

void smp_chain_set_observer(smp *chain, smp_observer fn, void *ud) {
    assert(chain->iface == &chain_iface && "smp_chain_set_observer: not a chain");
    chain_state *ch = chain->ctx;
    ch->fn = fn;
    ch->ud = ud;
}

/* ---- chains from parameters ------------------------------------------------ */

void smp_params_default(smp_params *p) {
    *p = (smp_params){
        .temp = 0.8f, .top_k = 40, .top_p = 0.95f, .min_p = 0.05f, .typical_p = 1.0f,
        .min_keep = 1, .repeat_penalty = 1.0f, .repeat_last_n = 64,
        .frequency_penalty = 0.0f, .presence_penalty = 0.0f, .seed = 42, .bias = NULL,
    };
}

int smp_params_check(const smp_params *p, char *err, size_t errlen) {
    const char *bad = NULL;
    double v = 0;
    if (!(p->temp >= 0) || isinf(p->temp)) { bad = "temperature must be >= 0 (0 = greedy)"; v = p->temp; }
    else if (p->top_k < 0) { bad = "top-k must be >= 0 (0 = off)"; v = p->top_k; }
    else if (!(p->top_p > 0 && p->top_p <= 1)) { bad = "top-p must be in (0, 1] (1 = off)"; v = p->top_p; }
    else if (!(p->min_p >= 0 && p->min_p <= 1)) { bad = "min-p must be in [0, 1] (0 = off)"; v = p->min_p; }
    else if (!(p->typical_p > 0 && p->typical_p <= 1)) { bad = "typical-p must be in (0, 1] (1 = off)"; v = p->typical_p; }
    else if (p->min_keep < 0) { bad = "min-keep must be >= 0"; v = p->min_keep; }
    else if (!(p->repeat_penalty > 0) || isinf(p->repeat_penalty)) { bad = "repeat penalty must be > 0 (1 = off)"; v = p->repeat_penalty; }
    else if (p->repeat_last_n < -1) { bad = "repeat-last-n must be >= -1 (0 = off, -1 = all)"; v = p->repeat_last_n; }
    else if (!isfinite(p->frequency_penalty)) { bad = "frequency penalty must be finite"; v = p->frequency_penalty; }
    else if (!isfinite(p->presence_penalty)) { bad = "presence penalty must be finite"; v = p->presence_penalty; }
    if (!bad) return SMP_OK;
    snprintf(err, errlen, "%s, got %g", bad, v);
    return SMP_EINVAL;
}

/* One stage by name, or NULL with *known false for an unknown name. */
static smp *stage_by_name(const char *nm, const smp_params *p, bool *known, bool *selector) {
    static const struct { const char *name, *canon; } alias[] = {
        { "temperature", "temp" }, { "typical_p", "typical" }, { "typ_p", "typical" },
        { "logit_bias", "bias" }, { "penalty", "penalties" },
    };
    for (size_t i = 0; i < sizeof alias / sizeof *alias; i++)
        if (!strcmp(nm, alias[i].name)) nm = alias[i].canon;
    *known = true;
    *selector = !strcmp(nm, "greedy") || !strcmp(nm, "dist");
    if (!strcmp(nm, "bias")) return smp_create_bias(p->bias);
    if (!strcmp(nm, "penalties"))
        return smp_create_penalties(p->repeat_last_n, p->repeat_penalty, p->frequency_penalty, p->presence_penalty);
    if (!strcmp(nm, "top_k")) return smp_create_top_k(p->top_k);
    if (!strcmp(nm, "top_p")) return smp_create_top_p(p->top_p, p->min_keep);
    if (!strcmp(nm, "min_p")) return smp_create_min_p(p->min_p, p->min_keep);
    if (!strcmp(nm, "typical")) return smp_create_typical(p->typical_p, p->min_keep);
    if (!strcmp(nm, "temp")) return smp_create_temp(p->temp);
    if (!strcmp(nm, "greedy")) return smp_create_greedy();
    if (!strcmp(nm, "dist")) return smp_create_dist(p->seed);
    *known = false;
    return NULL;
}

int smp_chain_parse(smp **out, const char *spec, const smp_params *p, char *err, size_t errlen) {
    *out = NULL;
    int rc = smp_params_check(p, err, errlen);
    if (rc) return rc;
    smp *chain = smp_create_chain();
    if (!chain) { snprintf(err, errlen, "out of memory"); return SMP_ENOMEM; }
    bool have_selector = false;
    for (const char *s = spec ? spec : SMP_DEFAULT_CHAIN; *s;) {
        char nm[32];
        size_t len = 0;
        while (*s == ' ' || *s == '\t') s++;
        while (*s && *s != ',' && *s != ';') {
            if (len + 1 < sizeof nm) nm[len] = *s == '-' ? '_' : (char)tolower((unsigned char)*s);
            len++;
            s++;
        }
        while (len && len < sizeof nm && nm[len - 1] == ' ') len--;
        if (*s) s++;
        if (len == 0) continue;                     /* "a,,b" and a trailing comma */
        if (len >= sizeof nm) len = sizeof nm - 1;
        nm[len] = 0;
        bool known, selector;
        if (have_selector) {
            snprintf(err, errlen, "sampler '%s' after the selecting stage (greedy or dist must come last)", nm);
            rc = SMP_EINVAL;
            break;
        }
        smp *st = stage_by_name(nm, p, &known, &selector);
        if (!known) {
            snprintf(err, errlen, "unknown sampler '%s' (known: %s)", nm, SMP_NAMES);
            rc = SMP_EINVAL;
            break;
        }
        if (!st || smp_chain_add(chain, st)) {
            snprintf(err, errlen, "out of memory");
            rc = SMP_ENOMEM;
            break;
        }
        have_selector = selector;
    }
    if (rc) { smp_destroy(chain); return rc; }
    *out = chain;
    return SMP_OK;
}
