/* Context semantics on stories260K: a batch of many sequences, forks,
 * rewinds and split prompts all give the logits a fresh single sequence
 * gives; bad batches are refused without side effects; thread count does not
 * change results. Batch width changes float summation order in the kernels,
 * so "equal" means within 1e-4, the tolerance of the F32 golden test. */
#include "check.h"
#include "ctx.h"
#include "model.h"
#include <math.h>

static model *M;
static int32_t V;

static ctx *mk(int n_ctx, int threads) {
    ctx_params p;
    ctx_params_default(&p);
    p.n_ctx = n_ctx; p.n_batch = 64; p.n_seq_max = 16; p.n_threads = threads;
    ctx *c = NULL;
    char err[256];
    if (ctx_create(&c, M, &p, err, sizeof err)) fprintf(stderr, "%s\n", err);
    return c;
}

/* Evaluates toks[0..n) in a fresh sequence in one batch; copies last logits. */
static void fresh(ctx *c, const int32_t *toks, int n, float *out) {
    int32_t s = ctx_seq_create(c);
    ctx_entry b[64];
    for (int i = 0; i < n; i++) b[i] = (ctx_entry){ s, i, toks[i], i == n - 1 };
    char err[256];
    if (ctx_eval(c, b, n, err, sizeof err)) fprintf(stderr, "fresh: %s\n", err);
    memcpy(out, ctx_logits(c, 0), sizeof(float) * V);
    ctx_seq_drop(c, s);
}

static double maxdiff(const float *a, const float *b) {
    double m = 0;
    for (int32_t i = 0; i < V; i++) { double d = fabs(a[i] - b[i]); if (!(d <= m)) m = isnan(d) ? INFINITY : d; }
    return m;
}

int main(void) {
    char path[1024], err[512];
    if (model_open(&M, check_path(path, sizeof path, "models/stories260K.gguf"), NULL, err, sizeof err)) {
        CHECK(0, "%s", err);
        return check_done();
    }
    V = model_get_info(M)->n_vocab;
    int32_t prompt[] = { 1, 403, 407, 261, 378, 432, 383, 286, 261, 376 };
    float *ref = malloc(sizeof(float) * V * 16), *got = malloc(sizeof(float) * V);
    ctx *c = mk(512, 0);

    /* 8 sequences forked from one prompt, decoded together in one batch */
    int32_t s0 = ctx_seq_create(c);
    ctx_entry b[64];
    for (int i = 0; i < 5; i++) b[i] = (ctx_entry){ s0, i, prompt[i], false };
    CHECK(ctx_eval(c, b, 5, err, sizeof err) == 0, "prompt: %s", err);
    int32_t seqs[8];
    for (int k = 0; k < 8; k++) {
        seqs[k] = k == 0 ? s0 : ctx_seq_fork(c, s0);
        b[k] = (ctx_entry){ seqs[k], 5, 300 + k, true };
    }
    CHECK(ctx_kv_used(c) == 5, "forks share the prompt's cells (used %d)", ctx_kv_used(c));
    CHECK(ctx_eval(c, b, 8, err, sizeof err) == 0 && ctx_n_logits(c) == 8, "batch of 8: %s", err);
    for (int k = 0; k < 8; k++) memcpy(ref + (size_t)k * V, ctx_logits(c, k), sizeof(float) * V);
    double worst = 0;
    for (int k = 0; k < 8; k++) {
        int32_t t[6] = { 1, 403, 407, 261, 378, 300 + k };
        fresh(c, t, 6, got);
        worst = fmax(worst, maxdiff(got, ref + (size_t)k * V));
    }
    CHECK(worst < 1e-4, "batched forks equal fresh sequences (max diff %.3g)", worst);

    /* rewind a branch and take another token: equals a fresh sequence */
    CHECK(ctx_seq_rewind(c, seqs[3], 3) == 0 && ctx_seq_len(c, seqs[3]) == 3, "rewind to 3");
    b[0] = (ctx_entry){ seqs[3], 3, 99, false };
    b[1] = (ctx_entry){ seqs[3], 4, 100, true };
    CHECK(ctx_eval(c, b, 2, err, sizeof err) == 0, "after rewind: %s", err);
    memcpy(ref, ctx_logits(c, 0), sizeof(float) * V);
    { int32_t t[5] = { 1, 403, 407, 99, 100 }; fresh(c, t, 5, got); }
    CHECK(maxdiff(ref, got) < 1e-4, "rewind + new tokens equal a fresh sequence (%.3g)", maxdiff(ref, got));
    /* the other forks did not notice */
    b[0] = (ctx_entry){ seqs[4], 6, 50, true };
    CHECK(ctx_eval(c, b, 1, err, sizeof err) == 0, "sibling continues: %s", err);
    memcpy(ref, ctx_logits(c, 0), sizeof(float) * V);
    { int32_t t[7] = { 1, 403, 407, 261, 378, 304, 50 }; fresh(c, t, 7, got); }
    CHECK(maxdiff(ref, got) < 1e-4, "a sibling is untouched by another's rewind (%.3g)", maxdiff(ref, got));

    /* a prompt split over two calls equals one call; interleaved with another sequence */
    int32_t a = ctx_seq_create(c), z = ctx_seq_create(c);
    for (int i = 0; i < 4; i++) b[i] = (ctx_entry){ a, i, prompt[i], false };
    b[4] = (ctx_entry){ z, 0, 1, false };
    CHECK(ctx_eval(c, b, 5, err, sizeof err) == 0, "first half: %s", err);
    for (int i = 4; i < 10; i++) b[i - 4] = (ctx_entry){ a, i, prompt[i], i == 9 };
    CHECK(ctx_eval(c, b, 6, err, sizeof err) == 0, "second half: %s", err);
    memcpy(ref, ctx_logits(c, 0), sizeof(float) * V);
    fresh(c, prompt, 10, got);
    CHECK(maxdiff(ref, got) < 1e-4, "split prompt equals one batch (%.3g)", maxdiff(ref, got));

    /* bad batches: refused, nothing appended */
    int32_t len = ctx_seq_len(c, a);
    b[0] = (ctx_entry){ a, len + 1, 5, true };
    CHECK(ctx_eval(c, b, 1, err, sizeof err) == CTX_EINVAL && strstr(err, "position"), "wrong position refused: %s", err);
    b[0] = (ctx_entry){ a, len, V, true };
    CHECK(ctx_eval(c, b, 1, err, sizeof err) == CTX_EINVAL && strstr(err, "vocabulary"), "bad token refused: %s", err);
    b[0] = (ctx_entry){ a, len, 5, true }; b[1] = (ctx_entry){ 15, 0, 5, true };
    CHECK(ctx_eval(c, b, 2, err, sizeof err) == CTX_EINVAL && strstr(err, "does not exist"), "dead sequence refused: %s", err);
    CHECK(ctx_eval(c, b, 65, err, sizeof err) == CTX_EINVAL, "oversized batch refused");
    CHECK(ctx_seq_len(c, a) == len, "refused batches appended nothing (%d vs %d)", ctx_seq_len(c, a), len);
    ctx_destroy(c);

    /* a full cache refuses the batch and leaves every sequence as it was */
    c = mk(32, 0);
    int32_t s = ctx_seq_create(c);
    for (int i = 0; i < 40; i++) b[i] = (ctx_entry){ s, i, 5 + i, false };
    int big = 0;
    for (int r = 0; r < 8 && !big; r++) {
        int32_t n0 = ctx_seq_len(c, s);
        for (int i = 0; i < 40; i++) b[i].pos = n0 + i;
        if (ctx_eval(c, b, 40, err, sizeof err) == CTX_EFULL) big = 1;
        if (big) CHECK(ctx_seq_len(c, s) == n0, "full cache: length unchanged");
    }
    CHECK(big, "a full KV cache is reported: %s", err);
    ctx_destroy(c);

    /* one thread and two give the same logits */
    ctx *c1 = mk(128, 1), *c2 = mk(128, 2);
    fresh(c1, prompt, 10, ref);
    fresh(c2, prompt, 10, got);
    CHECK(maxdiff(ref, got) == 0, "1 and 2 threads agree exactly (%.3g)", maxdiff(ref, got));
    ctx_destroy(c1); ctx_destroy(c2);

    free(ref); free(got);
    model_close(M);
    return check_done();
}
