/* Scoring: continuation log-probs equal the log-softmax of llama.cpp's golden
 * teacher-forced rows; score_seq continues a forked sequence; perplexity with
 * a sliding window equals exp(-mean log p) computed here independently, one
 * token per ctx_eval, from the window rule "a token is scored in the first
 * window that ends after it, with that window's tokens before it as
 * context"; errors for bad windows, bad tokens and a full context. */
#include "golden.h"
#include "ctx.h"
#include "logits.h"
#include "model.h"
#include "score.h"
#include <math.h>

static char P[4096];

static ctx *open_ctx(model *m, int32_t n_ctx, int32_t n_batch) {
    ctx_params p;
    ctx_params_default(&p);
    p.n_ctx = n_ctx; p.n_batch = n_batch; p.n_seq_max = 8; p.n_threads = 2;
    ctx *c = NULL;
    char err[256];
    if (ctx_create(&c, m, &p, err, sizeof err)) fprintf(stderr, "ctx_create: %s\n", err);
    return c;
}

/* log softmax(row)[t] in double, written out longhand */
static double logp(const float *row, int32_t n, int32_t t) {
    double mx = row[0], s = 0;
    for (int32_t i = 1; i < n; i++) if (row[i] > mx) mx = row[i];
    for (int32_t i = 0; i < n; i++) s += exp(row[i] - mx);
    return row[t] - mx - log(s);
}

static void golden_cases(model *m) {
    char err[512];
    json_doc *d = golden_json(check_path(P, sizeof P, "golden/stories260K/s2_once_upon_a_time.json"));
    size_t nb = 0;
    float *rows = check_slurp(check_path(P, sizeof P, "golden/stories260K/s2_once_upon_a_time.f32"), &nb);
    if (!d || !rows) { CHECK(0, "golden s2"); json_free(d); free(rows); return; }
    int32_t n, np;
    int32_t *toks = golden_ints(json_get(json_root(d), "tokens"), &n);
    int32_t *pt = golden_ints(json_get(json_root(d), "prompt_tokens"), &np);
    free(pt);
    /* n_batch 16 makes the scorer split its pass into several batches */
    ctx *c = open_ctx(m, 512, 16);
    float lp[256];
    double sum = 0, want = 0, maxd = 0;
    int rc = score_tokens(c, toks, n, np, lp, &sum, err, sizeof err);
    CHECK(rc == 0, "score_tokens: %s", err);
    for (int32_t i = np; rc == 0 && i < n; i++) {
        double g = logp(rows + (size_t)(i - 1) * 512, 512, toks[i]);
        want += g;
        if (fabs(g - lp[i - np]) > maxd) maxd = fabs(g - lp[i - np]);
    }
    CHECK(maxd < 1e-4, "continuation log-probs vs golden rows: max |diff| %.2e", maxd);
    CHECK_NEAR(sum, want, 1e-3, "total %.4f vs %.4f", sum, want);
    CHECK(ctx_n_seq(c) == 0, "temporary sequence dropped");

    /* score_seq on a fork of the prompt; the original stays as it was */
    int32_t s = ctx_seq_create(c);
    ctx_entry b[8];
    for (int32_t i = 0; i < np; i++) b[i] = (ctx_entry){ s, i, toks[i], i == np - 1 };
    ctx_eval(c, b, np, err, sizeof err);
    static float row0[512], last[512];
    memcpy(row0, ctx_logits(c, 0), sizeof row0);
    int32_t f = ctx_seq_fork(c, s);
    double sum2 = 0;
    rc = score_seq(c, f, row0, toks + np, 40, lp, &sum2, last, err, sizeof err);
    CHECK(rc == 0, "score_seq: %s", err);
    maxd = 0;
    double w2 = 0;
    for (int32_t k = 0; k < 40; k++) {
        double g = logp(rows + (size_t)(np - 1 + k) * 512, 512, toks[np + k]);
        w2 += g;
        if (fabs(g - lp[k]) > maxd) maxd = fabs(g - lp[k]);
    }
    CHECK(maxd < 1e-4 && fabs(sum2 - w2) < 1e-3, "score_seq log-probs vs golden: %.2e", maxd);
    double lastd = 0;
    for (int32_t j = 0; j < 512; j++) lastd = fmax(lastd, fabs(last[j] - rows[(size_t)(np + 39) * 512 + j]));
    CHECK(lastd < 1e-4, "last row after the continuation: %.2e", lastd);
    CHECK(ctx_seq_len(c, f) == np + 40 && ctx_seq_len(c, s) == np, "fork grew, original kept");
    CHECK(score_seq(c, f, NULL, toks, 3, lp, &sum2, NULL, err, sizeof err) == SCORE_EINVAL, "row0 required");
    int32_t badtok[2] = { 5, 9999 };
    CHECK(score_seq(c, f, row0, badtok, 2, lp, NULL, NULL, err, sizeof err) == SCORE_EINVAL && strstr(err, "9999"),
          "token outside the vocabulary: %s", err);
    CHECK(score_tokens(c, toks, 10, 0, lp, NULL, err, sizeof err) == SCORE_EINVAL, "n_prefix 0 refused");
    ctx_destroy(c);

    /* a context too small for the text (the KV cache holds n_ctx cells plus
     * a block per possible sequence, so 205 tokens overflow 32 + 8 * 16) */
    c = open_ctx(m, 32, 32);
    CHECK(score_tokens(c, toks, n, 1, NULL, &sum, err, sizeof err) == SCORE_EFULL && ctx_n_seq(c) == 0,
          "full context: SCORE_EFULL (%s), sequence dropped", err);
    ctx_destroy(c);
    free(toks);
    free(rows);
    json_free(d);
}

/* Expected per-token log-probs of the strided method: each window's tokens
 * go in one at a time (no batching), and token t takes the row before it from
 * the first window that ends after it, if that row lies inside the window. */
static double expected_nll(model *m, const int32_t *toks, int32_t n, int32_t w, int32_t st,
                           int32_t *scored, float *lpw) {
    ctx *c = open_ctx(m, 512, 512);
    double nll = 0;
    *scored = 0;
    char err[256];
    for (int32_t t = 0; t < n; t++) lpw[t] = NAN;
    for (int32_t begin = 0; begin < n; begin += st) {
        int32_t end = begin + w < n ? begin + w : n, s = ctx_seq_create(c);
        for (int32_t i = begin; i + 1 < end; i++) {
            ctx_entry e = { s, i - begin, toks[i], true };
            ctx_eval(c, &e, 1, err, sizeof err);
            int32_t t = i + 1, first = 0;       /* is this window the first to end after t? */
            while ((first + w < n ? first + w : n) <= t) first += st;
            if (first != begin || !isnan(lpw[t])) continue;
            double l = logp(ctx_logits(c, 0), 512, toks[t]);
            lpw[t] = (float)l;
            nll -= l;
            (*scored)++;
        }
        ctx_seq_drop(c, s);
        if (end == n) break;
    }
    ctx_destroy(c);
    return nll;
}

static void perplexity(model *m) {
    char err[512];
    json_doc *d = golden_json(check_path(P, sizeof P, "golden/stories260K/s3_tom_and_mia.json"));
    if (!d) { CHECK(0, "golden s3"); return; }
    int32_t n;
    int32_t *toks = golden_ints(json_get(json_root(d), "tokens"), &n);
    n = 90;
    ctx *c = open_ctx(m, 512, 512);
    static const int32_t cfg[][2] = { { 48, 16 }, { 40, 40 }, { 33, 9 }, { 512, 0 } };
    for (size_t k = 0; k < sizeof cfg / sizeof *cfg; k++) {
        int32_t w = cfg[k][0], st = cfg[k][1], sc = 0;
        static float lp[512], lpw[512];
        score_ppl_params pp = { w, st, NULL, NULL };
        score_ppl_result r;
        int rc = score_ppl(c, toks, n, &pp, &r, lp, err, sizeof err);
        CHECK(rc == 0, "score_ppl window %d: %s", w, err);
        if (rc) continue;
        int32_t w_eff = w > 512 ? 512 : w, st_eff = st ? st : w_eff / 2;
        double nll = expected_nll(m, toks, n, w_eff, st_eff, &sc, lpw);
        double maxd = 0;
        for (int32_t t = 1; t < n; t++) if (!isnan(lp[t]) && !isnan(lpw[t])) maxd = fmax(maxd, fabs(lp[t] - lpw[t]));
        CHECK(r.n_scored == sc && maxd < 1e-4, "window %d stride %d: %lld scored (expected %d), max |lp diff| %.2e",
              w, st, (long long)r.n_scored, sc, maxd);
        CHECK(fabs(r.ppl - exp(nll / sc)) < 1e-4 * r.ppl, "window %d stride %d: ppl %.5f vs independent %.5f",
              w, st, r.ppl, exp(nll / sc));
        CHECK(isnan(lp[0]), "token 0 is not scored");
    }
    /* one window over the whole text = score_tokens with n_prefix 1 */
    double sum = 0;
    score_tokens(c, toks, n, 1, NULL, &sum, err, sizeof err);
    score_ppl_result r;
    score_ppl(c, toks, n, NULL, &r, NULL, err, sizeof err);
    CHECK(r.n_windows == 1 && r.n_scored == n - 1 && fabs(r.ppl - exp(-sum / (n - 1))) < 1e-6 * r.ppl,
          "default window: ppl %.5f = exp(-mean) %.5f", r.ppl, exp(-sum / (n - 1)));
    score_ppl_params bad = { 1000, 0, NULL, NULL };
    CHECK(score_ppl(c, toks, n, &bad, &r, NULL, err, sizeof err) == SCORE_EINVAL && strstr(err, "window"),
          "window beyond the context: %s", err);
    bad = (score_ppl_params){ 32, 33, NULL, NULL };
    CHECK(score_ppl(c, toks, n, &bad, &r, NULL, err, sizeof err) == SCORE_EINVAL && strstr(err, "stride"),
          "stride beyond the window: %s", err);
    CHECK(score_ppl(c, toks, 1, NULL, &r, NULL, err, sizeof err) == SCORE_EINVAL, "one token refused");
    CHECK(ctx_n_seq(c) == 0, "no sequences left behind");
    ctx_destroy(c);
    free(toks);
    json_free(d);
}

int main(void) {
    char err[512];
    model *m = NULL;
    if (model_open(&m, check_path(P, sizeof P, "models/stories260K.gguf"), NULL, err, sizeof err)) {
        CHECK(0, "model: %s", err);
        return check_done();
    }
    golden_cases(m);
    perplexity(m);
    model_close(m);
    return check_done();
}
