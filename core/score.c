/* score: teacher-forced log-probabilities and sliding-window perplexity.
 *
 * Invariants: only the rows that predict a scored token (and, on request,
 * the last row) are asked of the forward pass, so a long text costs one
 * output projection per scored token; each row is reduced with a double
 * log-sum-exp before the next ctx_eval overwrites it. Temporary sequences
 * are dropped on every path.
 */
#include "score.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "logits.h"
#include "model.h"

/* The ctx does not publish its n_batch, so batches start at the usual 512
 * and halve when ctx_eval refuses their size (it checks before computing).
 * Tokens and sequences are validated here first, so a CTX_EINVAL can only be
 * the batch size. */
#define FIRST_CHUNK 512

static int32_t n_vocab_of(const ctx *c) { return model_get_info(ctx_model(c))->n_vocab; }

static int check_toks(const ctx *c, const int32_t *toks, int64_t n, char *err, size_t errlen) {
    int32_t nv = n_vocab_of(c);
    for (int64_t i = 0; i < n; i++)
        if (toks[i] < 0 || toks[i] >= nv) {
            snprintf(err, errlen, "token %lld is %d, outside the vocabulary (0..%d)",
                     (long long)i, (int)toks[i], (int)nv - 1);
            return SCORE_EINVAL;
        }
    return SCORE_OK;
}

/* What one pass over a run of tokens produces. */
typedef struct pass {
    const int32_t *toks;   /* (n_tok) */
    int32_t n_eval;        /* evaluate toks[0..n_eval) */
    int32_t n_tok;         /* toks[j + 1] is the target of row j while j + 1 < n_tok */
    int32_t row_lo;        /* rows below this are not scored */
    float *lp;             /* (n_tok - 1 - row_lo) or NULL: lp[j - row_lo] */
    double sum;
    float *last;           /* (n_vocab) or NULL: the row of toks[n_eval - 1] */
} pass;

static bool wanted(const pass *ps, int32_t j) {
    return (j >= ps->row_lo && j + 1 < ps->n_tok) || (ps->last && j == ps->n_eval - 1);
}

/* Appends ps->toks[0..n_eval) to seq and scores the wanted rows. */
static int run(ctx *c, int32_t seq, pass *ps, char *err, size_t errlen) {
    int32_t nv = n_vocab_of(c), chunk = FIRST_CHUNK;
    ctx_entry *b = malloc(sizeof *b * FIRST_CHUNK);
    if (!b) { snprintf(err, errlen, "out of memory"); return SCORE_ENOMEM; }
    int rc = SCORE_OK;
    for (int32_t at = 0; at < ps->n_eval && rc == SCORE_OK;) {
        int32_t m = ps->n_eval - at < chunk ? ps->n_eval - at : chunk, pos0 = ctx_seq_len(c, seq);
        for (int32_t k = 0; k < m; k++) b[k] = (ctx_entry){ seq, pos0 + k, ps->toks[at + k], wanted(ps, at + k) };
        int e = ctx_eval(c, b, m, err, errlen);
        if (e == CTX_EINVAL && chunk > 1) { chunk /= 2; continue; }
        if (e) { rc = e == CTX_EFULL ? SCORE_EFULL : e == CTX_ENOMEM ? SCORE_ENOMEM : SCORE_EEVAL; break; }
        int32_t r = 0;      /* index among the rows kept by this batch */
        for (int32_t k = 0; k < m; k++) {
            int32_t j = at + k;
            if (!wanted(ps, j)) continue;
            const float *row = ctx_logits(c, r++);
            if (j >= ps->row_lo && j + 1 < ps->n_tok) {
                double l = (double)row[ps->toks[j + 1]] - logits_logsumexp(row, nv);
                if (ps->lp) ps->lp[j - ps->row_lo] = (float)l;
                ps->sum += l;
            }
            if (ps->last && j == ps->n_eval - 1) memcpy(ps->last, row, sizeof *row * (size_t)nv);
        }
        at += m;
    }
    free(b);
    return rc;
}

static int32_t new_seq(ctx *c, char *err, size_t errlen) {
    int32_t s = ctx_seq_create(c);
    if (s < 0) snprintf(err, errlen, "no free sequence in the context");
    return s;
}

int score_tokens(ctx *c, const int32_t *toks, int32_t n, int32_t n_prefix,
                 float *lp, double *sum, char *err, size_t errlen) {
    if (n_prefix < 1 || n_prefix > n) {
        snprintf(err, errlen, "score_tokens: need 1 <= n_prefix <= n, got %d and %d", (int)n_prefix, (int)n);
        return SCORE_EINVAL;
    }
    int rc = check_toks(c, toks, n, err, errlen);
    if (rc) return rc;
    int32_t seq = new_seq(c, err, errlen);
    if (seq < 0) return SCORE_EFULL;
    /* the last token is a target only: its own row would predict nothing */
    pass ps = { toks, n - 1, n, n_prefix - 1, lp, 0, NULL };
    rc = run(c, seq, &ps, err, errlen);
    ctx_seq_drop(c, seq);
    if (sum) *sum = ps.sum;
    return rc;
}

int score_seq(ctx *c, int32_t seq, const float *row0, const int32_t *cont, int32_t n,
              float *lp, double *sum, float *last, char *err, size_t errlen) {
    if (sum) *sum = 0;
    if (n < 0 || (n > 0 && !row0) || !ctx_seq_alive(c, seq)) {
        snprintf(err, errlen, "score_seq: need a live sequence, n >= 0 and the row before the continuation");
        return SCORE_EINVAL;
    }
    if (n == 0) return SCORE_OK;
    int rc = check_toks(c, cont, n, err, errlen);
    if (rc) return rc;
    double l0 = (double)row0[cont[0]] - logits_logsumexp(row0, n_vocab_of(c));
    if (lp) lp[0] = (float)l0;
    pass ps = { cont, n, n, 0, lp ? lp + 1 : NULL, l0, last };
    rc = run(c, seq, &ps, err, errlen);
    if (sum) *sum = ps.sum;
    return rc;
}

int score_ppl(ctx *c, const int32_t *toks, int64_t n, const score_ppl_params *p,
              score_ppl_result *r, float *lp, char *err, size_t errlen) {
    memset(r, 0, sizeof *r);
    int32_t free_cells = ctx_kv_size(c) - ctx_kv_used(c);
    int32_t w = p && p->window > 0 ? p->window : free_cells;
    int32_t st = p && p->stride > 0 ? p->stride : w / 2;
    if (n < 2) { snprintf(err, errlen, "need at least 2 tokens to score, got %lld", (long long)n); return SCORE_EINVAL; }
    if (w < 2 || w > free_cells) {
        snprintf(err, errlen, "window %d must be from 2 to the %d free cells of the context", (int)w, (int)free_cells);
        return SCORE_EINVAL;
    }
    if (st < 1 || st > w) { snprintf(err, errlen, "stride %d must be from 1 to the window (%d)", (int)st, (int)w); return SCORE_EINVAL; }
    int rc = check_toks(c, toks, n, err, errlen);
    if (rc) return rc;
    r->window = w;
    r->stride = st;
    if (lp) for (int64_t i = 0; i < n; i++) lp[i] = NAN;
    int64_t done = 1;     /* tokens [0, done) are scored or unscorable */
    for (int64_t begin = 0; done < n; begin += st) {
        int64_t end = begin + w < n ? begin + w : n;
        int64_t first = done > begin + 1 ? done : begin + 1;   /* first target of this window */
        if (first < end) {
            int32_t seq = new_seq(c, err, errlen);
            if (seq < 0) return SCORE_EFULL;
            int32_t len = (int32_t)(end - begin);
            pass ps = { toks + begin, len - 1, len, (int32_t)(first - 1 - begin), lp ? lp + first : NULL, 0, NULL };
            rc = run(c, seq, &ps, err, errlen);
            ctx_seq_drop(c, seq);
            if (rc) return rc;
            r->nll -= ps.sum;
            r->n_scored += end - first;
            r->n_windows++;
        }
        done = end;
        if (p && p->progress) p->progress(p->ud, done, n);
    }
    r->ppl = exp(r->nll / (double)r->n_scored);
    return SCORE_OK;
}
