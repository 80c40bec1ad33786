/* Context semantics on stories260K: a batch of many sequences, forks,
 * rewinds and split prompts all give the logits a fresh single sequence
 * gives; bad batches are refused without side effects; thread count does not
 * change results. Batch width changes float summation order in the kernels,
 * so "equal" means within 1e-4, the tolerance of the F32 golden test. */
#include "check.h"
#include "ctx.h"
#include "logits.h"
#include "model.h"
#include "pool.h"
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

/* Short attention runs on the caller alone (backend_cpu_att.c, ATT_SERIAL:
 * under 4096 multiply-adds, i.e. under 64 positions of stories260K's 8 x 8
 * heads): a two-thread decode step then has one parallel region fewer per
 * layer, and beyond that it is split again. Token by token to 80
 * positions, two threads give the one-thread logits bit for bit at every
 * step. */
static void serial_attention_case(void) {
    enum { NPOS = 80 };
    ctx *c2 = mk(128, 2), *c1 = mk(128, 1);
    pool *p = c2 ? ctx_pool(c2) : NULL;
    CHECK(c2 && c1 && p && pool_size(p) == 2, "two-thread and one-thread contexts");
    if (!c2 || !c1 || !p) { ctx_destroy(c2); ctx_destroy(c1); return; }
    int32_t n_layers = model_get_info(M)->n_layers;
    int32_t s2 = ctx_seq_create(c2), s1 = ctx_seq_create(c1);
    long regions[NPOS];
    int differ = 0;
    char err[256];
    for (int i = 0; i < NPOS; i++) {
        ctx_entry e2 = { s2, i, (int32_t)((i * 37 + 5) % V), true }, e1 = { s1, i, e2.tok, true };
        pool_stats a, b;
        pool_get_stats(p, &a);
        if (ctx_eval(c2, &e2, 1, err, sizeof err) || ctx_eval(c1, &e1, 1, err, sizeof err)) {
            CHECK(0, "decode at %d: %s", i, err);
            break;
        }
        pool_get_stats(p, &b);
        regions[i] = b.any_regions - a.any_regions;
        differ += memcmp(ctx_logits(c2, 0), ctx_logits(c1, 0), sizeof(float) * V) != 0;
    }
    CHECK(differ == 0, "serial attention: %d of %d steps differ between 2 and 1 threads", differ, NPOS);
    /* position i attends to i + 1 positions */
    CHECK(regions[0] == regions[62] && regions[63] == regions[0] + n_layers && regions[79] == regions[63],
          "parallel regions per step: %ld at 1 position, %ld at 63, %ld at 64, %ld at 80 (want +%d from 64 on)",
          regions[0], regions[62], regions[63], regions[79], n_layers);
    ctx_destroy(c2);
    ctx_destroy(c1);
}

/* ctx_set_cancel: asked once per layer; saying stop at the k-th question
 * ends the batch there (CTX_ECANCELED, k questions, nothing appended, the
 * cache as it was); a batch it lets finish, and the same prompt finished
 * after a cancelled attempt, give the uninterrupted logits bit for bit. */
typedef struct asker { int calls, stop_at; } asker;
static bool ask(void *ud) {
    asker *a = ud;
    return ++a->calls == a->stop_at;
}

static void cancel_case(void) {
    ctx *c = mk(256, 1);
    CHECK(c != NULL, "context");
    if (!c) return;
    int32_t nl = model_get_info(M)->n_layers;
    ctx_entry b[64];
    char err[256];
    float *ref = malloc(sizeof(float) * V);
    /* 48 tokens in two batches of 24, the last row kept */
    int32_t s = ctx_seq_create(c);
    for (int h = 0; h < 2; h++) {
        for (int i = 0; i < 24; i++) b[i] = (ctx_entry){ s, 24 * h + i, (24 * h + i) * 7 % V, h == 1 && i == 23 };
        CHECK(ctx_eval(c, b, 24, err, sizeof err) == 0, "reference half %d: %s", h, err);
    }
    memcpy(ref, ctx_logits(c, 0), sizeof(float) * V);
    ctx_seq_drop(c, s);
    /* never stops: asked once per layer, the same bits */
    asker a = { 0, 0 };
    ctx_set_cancel(c, ask, &a);
    s = ctx_seq_create(c);
    for (int h = 0; h < 2; h++) {
        for (int i = 0; i < 24; i++) b[i] = (ctx_entry){ s, 24 * h + i, (24 * h + i) * 7 % V, h == 1 && i == 23 };
        CHECK(ctx_eval(c, b, 24, err, sizeof err) == 0, "asked, half %d: %s", h, err);
    }
    CHECK(a.calls == 2 * nl, "asked once per layer: %d questions for 2 batches of %d layers", a.calls, nl);
    CHECK(memcmp(ctx_logits(c, 0), ref, sizeof(float) * V) == 0, "a batch that was asked and went on: the same bits");
    ctx_seq_drop(c, s);
    /* the first half, then the second stopped at its third layer */
    s = ctx_seq_create(c);
    for (int i = 0; i < 24; i++) b[i] = (ctx_entry){ s, i, i * 7 % V, false };
    a = (asker){ 0, 0 };
    CHECK(ctx_eval(c, b, 24, err, sizeof err) == 0, "first half: %s", err);
    int32_t used = ctx_kv_used(c);
    for (int i = 0; i < 24; i++) b[i] = (ctx_entry){ s, 24 + i, (24 + i) * 7 % V, i == 23 };
    a = (asker){ 0, 3 };
    int rc = ctx_eval(c, b, 24, err, sizeof err);
    CHECK(rc == CTX_ECANCELED && strstr(err, "cancelled"), "stopped: %d %s", rc, err);
    CHECK(a.calls == 3, "at the third layer, asked no more (%d questions)", a.calls);
    CHECK(ctx_seq_len(c, s) == 24 && ctx_kv_used(c) == used && ctx_n_logits(c) == 0,
          "nothing appended: length %d, %d cells used (%d before)", ctx_seq_len(c, s), ctx_kv_used(c), used);
    /* the second half again, to its end: the uninterrupted bits */
    a = (asker){ 0, 0 };
    CHECK(ctx_eval(c, b, 24, err, sizeof err) == 0, "the second half again: %s", err);
    CHECK(memcmp(ctx_logits(c, 0), ref, sizeof(float) * V) == 0, "after a cancelled batch: the same bits");
    ctx_set_cancel(c, NULL, NULL);
    free(ref);
    ctx_destroy(c);
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
    int amx_bad = 0;   /* ctx_argmax: the backend's pick, found while it checked the logits */
    for (int k = 0; k < 8; k++) amx_bad += ctx_argmax(c, k) != logits_argmax(ctx_logits(c, k), V);
    CHECK(amx_bad == 0 && ctx_argmax(c, 8) == -1 && ctx_argmax(c, -1) == -1,
          "ctx_argmax == logits_argmax of the row (%d of 8 differ), -1 out of range", amx_bad);
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

    /* a sequence's state in parts (streamed save / load): each part is the
     * slice of the whole state, and parts put in any order restore it */
    c = mk(128, 0);
    int32_t sa = ctx_seq_create(c);
    for (int i = 0; i < 6; i++) b[i] = (ctx_entry){ sa, i, prompt[i], false };
    CHECK(ctx_eval(c, b, 6, err, sizeof err) == 0, "state: %s", err);
    int32_t sf = ctx_seq_fork(c, sa);           /* the fork's cells: two runs */
    for (int i = 6; i < 10; i++) b[i - 6] = (ctx_entry){ sf, i, prompt[i], false };
    CHECK(ctx_eval(c, b, 4, err, sizeof err) == 0, "state fork: %s", err);
    int32_t nl, kd, slen = 10;
    ctx_kv_dims(c, &nl, &kd);
    size_t nf = ctx_seq_state_floats(c, slen), per = 2 * (size_t)kd;
    float *whole = malloc(sizeof(float) * nf), *part = malloc(sizeof(float) * nf), *back = malloc(sizeof(float) * nf);
    CHECK(ctx_seq_state_get(c, sf, slen, whole) == CTX_OK, "whole state");
    int bad = 0;
    for (int32_t il = 0; il < nl; il++)
        for (int32_t p0 = 0; p0 < slen; p0 += 3) {
            int32_t n = slen - p0 < 3 ? slen - p0 : 3;
            bad += ctx_seq_state_get_part(c, sf, il, p0, n, part) != CTX_OK ||
                   memcmp(part, whole + ((size_t)il * slen + p0) * per, sizeof(float) * n * per) != 0;
        }
    CHECK(bad == 0, "every part is its slice of the whole state (%d differ)", bad);
    CHECK(ctx_seq_state_get_part(c, sf, 0, 8, 3, part) == CTX_EINVAL, "a part beyond the sequence is refused");
    CHECK(ctx_seq_state_get_part(c, sf, nl, 0, 1, part) == CTX_EINVAL, "a layer beyond the model is refused");
    int32_t sr = ctx_seq_create(c), used0 = ctx_kv_used(c);
    CHECK(ctx_seq_state_reserve(c, sf, 3) == CTX_EINVAL, "reserve needs an empty sequence");
    CHECK(ctx_seq_state_reserve(c, sr, 1000) == CTX_EFULL && ctx_kv_used(c) == used0, "reserve beyond the cache: full, nothing taken");
    CHECK(ctx_seq_state_reserve(c, sr, slen) == CTX_OK && ctx_seq_len(c, sr) == slen, "reserve");
    for (int32_t il = nl - 1; il >= 0; il--)    /* layers backwards, positions in blocks of 4 */
        for (int32_t p0 = 0; p0 < slen; p0 += 4) {
            int32_t n = slen - p0 < 4 ? slen - p0 : 4;
            CHECK(ctx_seq_state_put_part(c, sr, il, p0, n, whole + ((size_t)il * slen + p0) * per) == CTX_OK, "put part");
        }
    CHECK(ctx_seq_state_get(c, sr, slen, back) == CTX_OK && memcmp(back, whole, sizeof(float) * nf) == 0,
          "the parts put back are the whole state, bit for bit");
    b[0] = (ctx_entry){ sf, 10, 300, true };
    b[1] = (ctx_entry){ sr, 10, 300, true };
    CHECK(ctx_eval(c, b, 2, err, sizeof err) == 0 && memcmp(ctx_logits(c, 0), ctx_logits(c, 1), sizeof(float) * V) == 0,
          "the next row after the restored state is bit for bit the original's");
    int32_t st = ctx_seq_create(c), used1 = ctx_kv_used(c);
    CHECK(ctx_seq_state_reserve(c, st, 5) == CTX_OK && ctx_kv_used(c) == used1 + 5, "reserve takes cells");
    CHECK(ctx_seq_rewind(c, st, 0) == CTX_OK && ctx_kv_used(c) == used1, "a rewind to 0 gives them back");
    free(whole); free(part); free(back);
    ctx_destroy(c);

    /* one thread and two give the same logits */
    ctx *c1 = mk(128, 1), *c2 = mk(128, 2);
    fresh(c1, prompt, 10, ref);
    fresh(c2, prompt, 10, got);
    CHECK(maxdiff(ref, got) == 0, "1 and 2 threads agree exactly (%.3g)", maxdiff(ref, got));
    ctx_destroy(c1); ctx_destroy(c2);

    /* weights off huge pages (no float copies: read from the file's
     * mapping) give the same bits; LOGITLAB_HUGEPAGES=0 sets the default */
    setenv("LOGITLAB_HUGEPAGES", "0", 1);
    ctx_params hp;
    ctx_params_default(&hp);
    CHECK(hp.no_huge_pages, "LOGITLAB_HUGEPAGES=0 turns huge pages off");
    static const char *const offs[] = { "off", "OFF", "no", "false" };
    for (int i = 0; i < 4; i++) {
        setenv("LOGITLAB_HUGEPAGES", offs[i], 1);
        ctx_params_default(&hp);
        CHECK(hp.no_huge_pages, "LOGITLAB_HUGEPAGES=%s turns huge pages off (it left them on)", offs[i]);
    }
    setenv("LOGITLAB_HUGEPAGES", "1", 1);
    ctx_params_default(&hp);
    CHECK(!hp.no_huge_pages, "LOGITLAB_HUGEPAGES=1 leaves them on");
    /* a value that is neither on nor off is refused, naming it (it meant on, silently) */
    static const char *const bad_hp[] = { "maybe", "2", "o" };
    for (int i = 0; i < 3; i++) {
        setenv("LOGITLAB_HUGEPAGES", bad_hp[i], 1);
        char msg[300] = "";
        ctx *cb = NULL;
        ctx_params_default(&hp);
        hp.n_ctx = 64; hp.n_batch = 8; hp.n_seq_max = 2; hp.n_threads = 1;
        CHECK(ctx_env_check(msg, sizeof msg) == -1 && strstr(msg, "LOGITLAB_HUGEPAGES") && strstr(msg, bad_hp[i]),
              "LOGITLAB_HUGEPAGES=%s refused by ctx_env_check: '%s'", bad_hp[i], msg);
        CHECK(ctx_create(&cb, M, &hp, msg, sizeof msg) == CTX_EINVAL && !cb, "LOGITLAB_HUGEPAGES=%s refused by ctx_create",
              bad_hp[i]);
    }
    unsetenv("LOGITLAB_HUGEPAGES");
    ctx_params_default(&hp);
    CHECK(!hp.no_huge_pages, "on by default");
    hp.n_ctx = 128; hp.n_batch = 64; hp.n_seq_max = 16; hp.n_threads = 2; hp.no_huge_pages = true;
    ctx *c3 = NULL;
    CHECK(ctx_create(&c3, M, &hp, err, sizeof err) == 0, "ctx without huge pages: %s", err);
    if (c3) {
        fresh(c3, prompt, 10, got);
        CHECK(memcmp(ref, got, sizeof(float) * V) == 0, "without huge pages: the same logits bit for bit (%.3g)",
              maxdiff(ref, got));
        ctx_destroy(c3);
    }

    free(ref); free(got);

    /* A prompt long enough that every element-wise region is split over
     * the pool from shared counters (RMSNorm rows, activation rounding,
     * SwiGLU, the residual add: 300 x 256 values): 1 and 2 threads give
     * every row bit for bit (synth-A Q8_0, dim 256). */
    model *ma = NULL;
    if (model_open(&ma, check_path(path, sizeof path, "models/synthetic/synth-A-q8_0.gguf"), NULL, err, sizeof err)) {
        CHECK(0, "%s", err);
    } else {
        enum { NP = 300 };
        int32_t va = model_get_info(ma)->n_vocab;
        float *rows[2] = { malloc(sizeof(float) * (size_t)va * NP), malloc(sizeof(float) * (size_t)va * NP) };
        ctx_entry *pb = malloc(sizeof *pb * NP);
        for (int t = 0; t < 2; t++) {
            ctx_params lp;
            ctx_params_default(&lp);
            lp.n_ctx = NP; lp.n_batch = NP; lp.n_seq_max = 1; lp.n_threads = t + 1;
            ctx *cl = NULL;
            CHECK(ctx_create(&cl, ma, &lp, err, sizeof err) == 0, "synth-A ctx: %s", err);
            if (!cl) continue;
            int32_t s = ctx_seq_create(cl);
            for (int i = 0; i < NP; i++) pb[i] = (ctx_entry){ s, i, (int32_t)((i * 7919L) % va), true };
            CHECK(ctx_eval(cl, pb, NP, err, sizeof err) == 0, "long prompt: %s", err);
            for (int i = 0; i < NP; i++) memcpy(rows[t] + (size_t)i * va, ctx_logits(cl, i), sizeof(float) * va);
            /* 300 rows: the checked product's slices are ~200 columns, so
             * each pick is merged from many slices (and both threads') */
            int amx_bad = 0;
            for (int i = 0; i < NP; i++) amx_bad += ctx_argmax(cl, i) != logits_argmax(ctx_logits(cl, i), va);
            CHECK(amx_bad == 0, "long prompt, %d thread(s): ctx_argmax differs from logits_argmax on %d of %d rows", t + 1,
                  amx_bad, NP);
            ctx_destroy(cl);
        }
        int differ = 0;
        for (int i = 0; i < NP; i++) differ += memcmp(rows[0] + (size_t)i * va, rows[1] + (size_t)i * va, sizeof(float) * va) != 0;
        CHECK(differ == 0, "long prompt: %d of %d rows differ between 1 and 2 threads", differ, NP);
        free(rows[0]); free(rows[1]); free(pb);
        model_close(ma);
    }
    serial_attention_case();
    cancel_case();
    model_close(M);
    return check_done();
}
