/* cmd_ppl: `logitlab ppl [-m MODEL] [-c N] [--stride S] [--json] FILE`.
 *
 * Tokenizes the whole file (BOS per the vocabulary's default, special token
 * text not parsed) and runs score_ppl: windows of the context size, a new
 * window every `stride` tokens, each token scored once with as much context
 * as its window gives. Prints the perplexity and the counts behind it; the
 * method is described in docs/sampling.md.
 */
#include "cmd_ppl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "ctx.h"
#include "model.h"
#include "modelpath.h"
#include "score.h"
#include "tok.h"

#define CMD "ppl"

enum { O_MODEL, O_THREADS, O_CTX, O_STRIDE, O_JSON };
static const cli_opt opts[] = {
    { "model", 'm', "MODEL", "model file (path or name; default $LOGITLAB_MODEL, " MPATH_DEFAULT_MODEL ")" },
    { "threads", 't', "N", "threads (default: all cores)" },
    { "ctx-size", 'c', "N", "window in tokens (default: the model's context, at most 4096)" },
    { "stride", 0, "S", "tokens between window starts (default: half the window; = window for disjoint chunks)" },
    { "json", 0, NULL, "JSON lines: a progress object per window, then the result" },
};
static const cli_spec spec = {
    CMD, "[-m MODEL] [options] FILE",
    "Perplexity of the text in FILE ('-' = stdin) under the model: exp of the mean\n"
    "negative log-likelihood per token, with a sliding window over long files.",
    opts, (int)(sizeof opts / sizeof opts[0]), 1, 1,
};

/* Progress after each window: with --json a line {"type":"progress", ...}
 * on stdout (the result follows as {"type":"done", ...}), as convert,
 * quantize and synth give one per tensor; on a terminal a live line on
 * stderr, rewritten in place and cleared before the result. */
typedef struct ppl_progress {
    bool json;
    int window;
    double t0;
} ppl_progress;

static void progress(void *ud, int64_t done, int64_t total) {
    ppl_progress *p = ud;
    p->window++;
    double s = cli_now() - p->t0;
    if (p->json) {
        printf("{\"type\":\"progress\",\"window\":%d,\"tokens\":%lld,\"total\":%lld,\"elapsed_s\":", p->window,
               (long long)done, (long long)total);
        cli_put_json_num(stdout, s, 4);
        printf("}\n");
        fflush(stdout);
        return;
    }
    if (done < total)
        fprintf(stderr, "\r\033[Kppl: window %d, %lld / %lld tokens (%.0f%%), %.1f s", p->window, (long long)done,
                (long long)total, 100.0 * (double)done / (double)total, s);
    else
        fputs("\r\033[K", stderr);
}

static int32_t *encode(const tok *t, const char *text, size_t len, int64_t *n, char *err, size_t errlen) {
    if (len > (size_t)1 << 30) { snprintf(err, errlen, "file too large (over 1 GiB)"); return NULL; }
    int32_t cap = (int32_t)len + 8;          /* at most one token per byte, plus BOS */
    int32_t *ids = malloc(sizeof *ids * (size_t)cap);
    if (!ids) { snprintf(err, errlen, "out of memory"); return NULL; }
    int32_t r = tok_encode(t, text, len, tok_add_bos(t), false, ids, cap, err, errlen);
    if (r > cap) {
        int32_t *b = realloc(ids, sizeof *ids * (size_t)r);
        if (!b) { free(ids); snprintf(err, errlen, "out of memory"); return NULL; }
        ids = b;
        r = tok_encode(t, text, len, tok_add_bos(t), false, ids, r, err, errlen);
    }
    if (r < 0) { free(ids); return NULL; }
    *n = r;
    return ids;
}

static void print_result(const score_ppl_result *r, int64_t n, bool json) {
    if (json) {
        printf("{\"type\":\"done\",\"ppl\":");
        cli_put_json_num(stdout, r->ppl, 9);
        printf(",\"nll\":");
        cli_put_json_num(stdout, r->nll, 12);
        printf(",\"nll_per_token\":");
        cli_put_json_num(stdout, r->nll / (double)r->n_scored, 9);
        printf(",\"n_tokens\":%lld,\"n_scored\":%lld,\"n_windows\":%d,\"window\":%d,\"stride\":%d}\n",
               (long long)n, (long long)r->n_scored, (int)r->n_windows, (int)r->window, (int)r->stride);
    } else {
        printf("ppl %.4f  (%.4f nats/token over %lld of %lld tokens; %d window%s of %d, stride %d)\n",
               r->ppl, r->nll / (double)r->n_scored, (long long)r->n_scored, (long long)n,
               (int)r->n_windows, r->n_windows == 1 ? "" : "s", (int)r->window, (int)r->stride);
    }
}

static int run(const cli_args *a, long threads, long n_ctx, long stride) {
    char path[4096], err[1024];
    if (mpath_resolve(a->val[O_MODEL], path, sizeof path, err, sizeof err)) return cli_fail(CMD, "%s", err);
    size_t len = 0;
    char *text = cli_read_file(a->pos[0], &len, err, sizeof err);
    if (!text) return cli_fail(CMD, "%s", err);
    model *m = NULL;
    ctx *c = NULL;
    int32_t *ids = NULL;
    int64_t n = 0;
    int rc = CLI_OK;
    if (model_open(&m, path, NULL, err, sizeof err)) { rc = cli_fail(CMD, "%s", err); goto out; }
    const char *shown = strcmp(a->pos[0], "-") == 0 ? "standard input" : a->pos[0];
    if (!(ids = encode(model_tok(m), text, len, &n, err, sizeof err))) { rc = cli_fail(CMD, "%s: %s", shown, err); goto out; }
    if (n < 2) {
        rc = cli_fail(CMD, "%s: %lld token%s (%zu bytes of text), need at least 2 to score", shown, (long long)n,
                      n == 1 ? "" : "s", len);
        goto out;
    }
    ctx_params cp;
    ctx_params_default(&cp);
    cp.n_ctx = (int32_t)n_ctx;
    cp.n_seq_max = 1;
    cp.n_threads = (int)threads;
    if (ctx_create(&c, m, &cp, err, sizeof err)) { rc = cli_fail(CMD, "%s: %s", path, err); goto out; }
    ppl_progress prog = { a->val[O_JSON] != NULL, 0, cli_now() };
    score_ppl_params pp = { 0, (int32_t)stride, NULL, NULL };
    if (prog.json || isatty(fileno(stderr))) {
        pp.progress = progress;
        pp.ud = &prog;
    }
    score_ppl_result r;
    int e = score_ppl(c, ids, n, &pp, &r, NULL, err, sizeof err);
    if (e == SCORE_EINVAL) { rc = cli_usage_error(CMD, "%s", err); goto out; }
    if (e) { rc = cli_fail(CMD, "%s", err); goto out; }
    print_result(&r, n, a->val[O_JSON] != NULL);
out:
    free(ids);
    free(text);
    ctx_destroy(c);
    model_close(m);
    return rc;
}

int cmd_ppl(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&spec, argc, argv, &a);
    if (rc) return rc == CLI_HELP ? CLI_OK : rc;
    long threads = 0, n_ctx = 0, stride = 0;
    if ((rc = cli_int(CMD, "--threads", a.val[O_THREADS], 0, 1024, &threads))) return rc;
    if ((rc = cli_int(CMD, "--ctx-size", a.val[O_CTX], 2, 1L << 24, &n_ctx))) return rc;
    if ((rc = cli_int(CMD, "--stride", a.val[O_STRIDE], 1, 1L << 24, &stride))) return rc;
    if (n_ctx && stride > n_ctx) return cli_usage_error(CMD, "--stride %ld exceeds the window (%ld)", stride, n_ctx);
    return run(&a, threads, n_ctx, stride);
}
