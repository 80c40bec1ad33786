/* smp_pen: the penalties and the logit bias stages (see smp_pen.h). The
 * invariants of smp.c hold: a stage that changes logits clears `sorted`
 * and `normalized`. */
#include "smp_pen.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "logits.h"
#include "smp_mass.h"

/* ---- penalties ------------------------------------------------------------ */

typedef struct pen_state {
    int32_t last_n;
    float repeat, freq, presence;
    int32_t *ring;       /* (last_n) the window, oldest at head once full */
    int32_t ring_n, head;
    int32_t *count;      /* (n_count) occurrences of each id in the window */
    int32_t n_count;
} pen_state;

static inline void pen_one(const pen_state *p, float *l, int32_t k) {
    if (p->repeat != 1.0f) *l = *l > 0 ? *l / p->repeat : *l * p->repeat;
    *l -= (float)k * p->freq + p->presence;
}

/* The penalties on the columns, with the same float operations per token as
 * the loop over data[]. A whole row in id order (dense) is indexed by id:
 * only the window's tokens are touched, each once (its count is negated
 * while it is done), not the vocabulary. */
/* pen_one on a column, keeping smp_cands_set's range (c->range_ok, session
 * 11) where it can: the new largest is the larger of the old and the
 * changed logit's new value unless the changed one was the largest (then
 * the range is dropped and the next whole-row stage finds it again: a pass
 * over the row), the same for the smallest above -inf. Each token is
 * changed once. */
static inline void pen_col(const pen_state *p, smp_cands *c, float *l, int32_t k) {
    float o = *l;
    pen_one(p, l, k);
    if (!c->range_ok) return;
    if (o == c->rmax || o == c->rmin) {
        c->range_ok = false;
        return;
    }
    if (*l > c->rmax) c->rmax = *l;                  /* NaN: neither */
    if (*l < c->rmin && *l > -INFINITY) c->rmin = *l;
}

static bool pen_columns(pen_state *p, smp_cands *c) {
    float *L = c->col_logit;
    bool changed = false;
    if (!c->dense) {
        for (int32_t i = 0; i < c->n; i++) {
            int32_t id = c->col_id[i];
            int32_t k = id < p->n_count ? p->count[id] : 0;
            if (k <= 0) continue;
            pen_col(p, c, &L[i], k);
            changed = true;
        }
        return changed;
    }
    if (p->last_n < 0) {                    /* the whole history: the counts are the window */
        int32_t m = p->n_count < c->n ? p->n_count : c->n;
        for (int32_t id = 0; id < m; id++)
            if (p->count[id] > 0) {
                pen_col(p, c, &L[id], p->count[id]);
                changed = true;
            }
        return changed;
    }
    for (int32_t j = 0; j < p->ring_n; j++) {
        int32_t id = p->ring[j];
        if (id >= c->n || p->count[id] <= 0) continue;
        pen_col(p, c, &L[id], p->count[id]);
        p->count[id] = -p->count[id];
        changed = true;
    }
    for (int32_t j = 0; j < p->ring_n; j++)
        if (p->count[p->ring[j]] < 0) p->count[p->ring[j]] = -p->count[p->ring[j]];
    return changed;
}

/* Repetition penalty as in CTRL (Keskar et al. 2019, "CTRL: A Conditional
 * Transformer Language Model for Controllable Generation"), with llama.cpp's
 * sign rule so that a penalty > 1 always lowers a seen token; then the
 * additive frequency and presence penalties (OpenAI API). */
static int pen_apply(smp *s, smp_cands *c) {
    pen_state *p = s->ctx;
    if (p->last_n == 0 || (p->repeat == 1.0f && p->freq == 0.0f && p->presence == 0.0f)) return SMP_OK;
    bool changed = false;
    if (c->lazy) {
        smp_mass_own(c);                    /* the caller's row is never written (smp_cands_set_ref) */
        changed = pen_columns(p, c);
        if (changed) c->sorted = c->normalized = false;
        return SMP_OK;
    }
    c->range_ok = false;
    for (int32_t i = 0; i < c->n; i++) {
        int32_t id = c->data[i].id;
        int32_t k = id < p->n_count ? p->count[id] : 0;
        if (k <= 0) continue;
        pen_one(p, &c->data[i].logit, k);
        changed = true;
    }
    if (changed) c->sorted = c->normalized = false;
    return SMP_OK;
}

static int count_room(pen_state *p, int32_t id) {
    if (id < p->n_count) return 0;
    int32_t n = p->n_count ? p->n_count : 256;
    while (n <= id) n *= 2;
    int32_t *k = realloc(p->count, sizeof *k * (size_t)n);
    if (!k) return SMP_ENOMEM;
    memset(k + p->n_count, 0, sizeof *k * (size_t)(n - p->n_count));
    p->count = k;
    p->n_count = n;
    return 0;
}

/* The window slides: the token falling out of it stops counting. */
static void pen_accept(smp *s, int32_t tok) {
    pen_state *p = s->ctx;
    if (p->last_n == 0 || tok < 0 || count_room(p, tok)) return;
    if (p->last_n > 0) {
        if (p->ring_n == p->last_n) {
            p->count[p->ring[p->head]]--;
            p->ring[p->head] = tok;
            p->head = (p->head + 1) % p->last_n;
        } else {
            p->ring[p->ring_n++] = tok;
        }
    }
    p->count[tok]++;
}

static void pen_reset(smp *s) {
    pen_state *p = s->ctx;
    p->ring_n = p->head = 0;
    if (p->count) memset(p->count, 0, sizeof *p->count * (size_t)p->n_count);
}

static void pen_destroy(smp *s) {
    pen_state *p = s->ctx;
    free(p->ring);
    free(p->count);
    free(p);
}
static const smp_iface pen_iface = { "penalties", pen_apply, pen_accept, pen_reset, pen_destroy };

smp *smp_pen_create(int32_t last_n, float repeat, float freq, float presence) {
    if (last_n < -1 || !(repeat > 0) || !isfinite(repeat) || !isfinite(freq) || !isfinite(presence))
        return NULL;
    pen_state *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    *p = (pen_state){ last_n, repeat, freq, presence, NULL, 0, 0, NULL, 0 };
    if (last_n > 0 && !(p->ring = malloc(sizeof *p->ring * (size_t)last_n))) { free(p); return NULL; }
    smp *s = smp_create(&pen_iface, p);
    if (!s) { free(p->ring); free(p); }
    return s;
}

static bool in_id_order(const smp_cands *c) {
    for (int32_t i = 1; i < c->n; i++) if (c->data[i - 1].id > c->data[i].id) return false;
    return true;
}

/* ---- bias ------------------------------------------------------------------ */

static int bias_apply(smp *s, smp_cands *c) {
    const logits_bias *b = s->ctx;
    if (b->n == 0) return SMP_OK;
    /* n distinct ids in increasing order from 0 to n-1 are the identity
     * layout of a full row: index by id instead of searching */
    bool direct = c->n > 0 && c->data[0].id == 0 && c->data[c->n - 1].id == c->n - 1 && in_id_order(c);
    if (direct) {
        for (int32_t j = 0; j < b->n && b->ids[j] < c->n; j++) c->data[b->ids[j]].logit += b->val[j];
    } else {
        for (int32_t i = 0; i < c->n; i++) c->data[i].logit += logits_bias_get(b, c->data[i].id);
    }
    c->sorted = c->normalized = false;
    return SMP_OK;
}

static void bias_destroy(smp *s) {
    logits_bias_fini(s->ctx);
    free(s->ctx);
}
static const smp_iface bias_iface = { "bias", bias_apply, NULL, NULL, bias_destroy };

smp *smp_pen_create_bias(const logits_bias *src) {
    logits_bias *b = malloc(sizeof *b);
    if (!b) return NULL;
    logits_bias_init(b);
    if (src && logits_bias_copy(b, src)) { free(b); return NULL; }
    smp *s = smp_create(&bias_iface, b);
    if (!s) { logits_bias_fini(b); free(b); }
    return s;
}

bool smp_pen_takes_columns(const smp *s) {
    if (s->iface == &pen_iface) return true;
    return s->iface == &bias_iface && ((const logits_bias *)s->ctx)->n == 0;
}
