/* cmd_gen: `logitlab gen -m MODEL -p TEXT [sampler flags] [-n N] [--json]`.
 *
 * The prompt is tokenized (BOS per the vocabulary's default), its tokens are
 * accepted by the sampler chain (so penalties see them) and evaluated in
 * batches with logits only for the last; then each step samples from the
 * last row, prints, and evaluates the new token. Text goes through a
 * tok_stream, so a character split over several byte tokens is printed whole.
 * With --json every token is one line: the raw-model log-prob, rank and
 * entropy of the step's distribution, and the top-K alternatives (fields in
 * docs/sampling.md). Generation stops after N tokens, at EOS/EOT (unless
 * --ignore-eos), at a token of --end-tokens, or when the context is full.
 * A BOS drawn mid-text (llama2.c's TinyStories models end a story with it;
 * the default stops only at EOS/EOT, as llama.cpp) gets a one-line hint on
 * stderr naming --end-tokens bos.
 *
 * Buffers (candidates, top-K ids) are allocated once before the loop.
 */
#include "cmd_gen.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "ctx.h"
#include "gmatch.h"
#include "gram.h"
#include "logits.h"
#include "model.h"
#include "modelpath.h"
#include "smp.h"
#include "tok.h"

#define CMD "gen"

enum { O_MODEL, O_PROMPT, O_N, O_THREADS, O_CTX, O_TEMP, O_TOP_K, O_TOP_P, O_MIN_P, O_TYPICAL,
       O_REPEAT, O_LAST_N, O_FREQ, O_PRES, O_SEED, O_SAMPLERS, O_PROBS, O_JSON, O_IGNORE_EOS,
       O_SPECIAL, O_BIAS, O_BAN, O_EXACT_INT8, O_GRAMMAR, O_SCHEMA, O_REGEX, O_CHOICE,
       O_SCHEMA_IGNORE, O_SCHEMA_COMPACT, O_SCHEMA_ANY_ORDER, O_END_TOKENS };
static const cli_opt opts[] = {
    { "model", 'm', "MODEL", "model file (path or name; default $LOGITLAB_MODEL, " MPATH_DEFAULT_MODEL ")" },
    { "prompt", 'p', "TEXT", "the prompt (default: empty, BOS only)" },
    { "n-predict", 'n', "N", "tokens to generate (default 128; -1 = until EOS or a full context)" },
    { "threads", 't', "N", "threads (default: all cores)" },
    { "ctx-size", 'c', "N", "context size in tokens (default: the model's, at most 4096)" },
    { "temp", 0, "T", "temperature (default 0.8; 0 = greedy)" },
    { "top-k", 0, "K", "keep the K best tokens (default 40; 0 = off)" },
    { "top-p", 0, "P", "nucleus: smallest set with mass >= P, in (0,1] (default 0.95; 1 = off)" },
    { "min-p", 0, "P", "drop tokens below P * p(best), in [0,1] (default 0.05; 0 = off)" },
    { "typical", 0, "P", "locally typical sampling mass, in (0,1] (default 1 = off)" },
    { "repeat-penalty", 0, "R", "CTRL repetition penalty over the window (default 1 = off)" },
    { "repeat-last-n", 0, "N", "penalty window in tokens (default 64; 0 = off, -1 = all)" },
    { "frequency-penalty", 0, "F", "subtract F * count (default 0)" },
    { "presence-penalty", 0, "F", "subtract F once a token was seen (default 0)" },
    { "seed", 's', "S", "seed of the draw (default 42): same seed, same tokens" },
    { "samplers", 0, "LIST", "stage order (default " SMP_DEFAULT_CHAIN "); dist is added when no greedy/dist ends it" },
    { "probs", 0, "K", "top-K alternatives per token (JSON; on stderr as text)" },
    { "json", 0, NULL, "one JSON object per token instead of text" },
    { "ignore-eos", 0, NULL, "do not stop at end of sequence / end of turn" },
    { "special", 0, NULL, "parse special tokens written in the prompt (\"<|eot_id|>\")" },
    { "bias", 0, "LIST", "logit bias, ID=VALUE[,ID=VALUE...] (VALUE may be -inf)" },
    { "ban", 0, "TEXT", "mask every token whose text contains TEXT" },
    { "exact-int8", 0, NULL, "llama2.c version 2: int8 weights widened to F32 exactly, not Q8_0" },
    { "grammar", 0, "FILE", "constrain the output to a GBNF grammar (docs/sampling.md)" },
    { "json-schema", 0, "FILE", "constrain the output to JSON valid under a JSON Schema" },
    { "regex", 0, "RE", "constrain the output to match a regular expression" },
    { "choice", 0, "A,B,C", "constrain the output to exactly one of the strings" },
    { "schema-ignore-unenforceable", 0, NULL, "--json-schema: compile without keywords a grammar cannot check (not, if, uniqueItems, ...) instead of refusing" },
    { "schema-compact", 0, NULL, "--json-schema: no whitespace between JSON tokens" },
    { "schema-any-order", 0, NULL, "--json-schema: properties in any order (objects of at most 10 properties)" },
    { "end-tokens", 0, "LIST", "also stop at these tokens: bos, eos, eot, unk or ids, comma-separated (bos: where llama2.c models end a story)" },
};
static const cli_spec spec = {
    CMD, "[-m MODEL] -p TEXT [options]",
    "Generates a continuation of TEXT and streams it to stdout (the prompt is not echoed).\n"
    "Sampler stages run in the order --samplers gives; see docs/sampling.md.",
    opts, (int)(sizeof opts / sizeof opts[0]), 0, 0,
};

/* Strict float option: the whole string must parse; ranges are checked by
 * smp_params_check so that the message names the parameter's domain. */
static int opt_float(const char *opt, const char *s, float *out) {
    if (!s) return CLI_OK;
    char *end;
    errno = 0;
    float v = strtof(s, &end);
    if (!*s || *end || errno == ERANGE || isnan(v))
        return cli_usage_error(CMD, "%s must be a number, got '%s'", opt, s);
    *out = v;
    return CLI_OK;
}

typedef struct opts_t {
    smp_params sp;
    long n, threads, n_ctx, probs;
    const char *spec;
    gram *grammar;          /* --grammar/--json-schema/--regex/--choice, or NULL */
} opts_t;

/* At most one constraint option, compiled before the model loads. */
static int read_constraint(const cli_args *a, opts_t *o) {
    static const struct { int opt; const char *kind, *flag; } k[] = {
        { O_GRAMMAR, "grammar", "--grammar" }, { O_SCHEMA, "json-schema", "--json-schema" },
        { O_REGEX, "regex", "--regex" }, { O_CHOICE, "choice", "--choice" },
    };
    int which = -1;
    for (int i = 0; i < 4; i++) {
        if (!a->val[k[i].opt]) continue;
        if (which >= 0) return cli_usage_error(CMD, "%s and %s: give one constraint", k[which].flag, k[i].flag);
        which = i;
    }
    gram_schema_opts so = { .ignore_unenforceable = a->val[O_SCHEMA_IGNORE] != NULL,
                            .compact = a->val[O_SCHEMA_COMPACT] != NULL,
                            .any_order = a->val[O_SCHEMA_ANY_ORDER] != NULL };
    if ((so.ignore_unenforceable || so.compact || so.any_order) && (which < 0 || k[which].opt != O_SCHEMA))
        return cli_usage_error(CMD, "%s applies to --json-schema only",
                               so.compact ? "--schema-compact" : so.any_order ? "--schema-any-order" : "--schema-ignore-unenforceable");
    if (which < 0) return CLI_OK;
    char err[600];
    /* A --grammar or --json-schema file that cannot be read or does not
     * compile is bad input, status 1 as for every other input file (main.c);
     * a bad --regex or --choice value is a usage error, status 2. */
    bool file = k[which].opt == O_GRAMMAR || k[which].opt == O_SCHEMA;
    if (gram_from_option_opts(&o->grammar, k[which].kind, a->val[k[which].opt], &so, err, sizeof err))
        return file ? cli_fail(CMD, "%s: %s", k[which].flag, err) : cli_usage_error(CMD, "%s: %s", k[which].flag, err);
    return CLI_OK;
}

static int read_opts(const cli_args *a, opts_t *o) {
    smp_params_default(&o->sp);
    o->n = 128; o->threads = 0; o->n_ctx = 0; o->probs = 0;
    long top_k = o->sp.top_k, last_n = o->sp.repeat_last_n;
    int rc = 0;
    if (!rc) rc = cli_int(CMD, "-n", a->val[O_N], -1, 1L << 30, &o->n);
    if (!rc) rc = cli_int(CMD, "--threads", a->val[O_THREADS], 0, 1024, &o->threads);
    if (!rc) rc = cli_int(CMD, "--ctx-size", a->val[O_CTX], 0, 1L << 24, &o->n_ctx);
    if (!rc) rc = cli_int(CMD, "--probs", a->val[O_PROBS], 0, 1000, &o->probs);
    if (!rc) rc = cli_int(CMD, "--top-k", a->val[O_TOP_K], -(1L << 30), 1L << 30, &top_k);
    if (!rc) rc = cli_int(CMD, "--repeat-last-n", a->val[O_LAST_N], -(1L << 30), 1L << 30, &last_n);
    if (!rc) rc = opt_float("--temp", a->val[O_TEMP], &o->sp.temp);
    if (!rc) rc = opt_float("--top-p", a->val[O_TOP_P], &o->sp.top_p);
    if (!rc) rc = opt_float("--min-p", a->val[O_MIN_P], &o->sp.min_p);
    if (!rc) rc = opt_float("--typical", a->val[O_TYPICAL], &o->sp.typical_p);
    if (!rc) rc = opt_float("--repeat-penalty", a->val[O_REPEAT], &o->sp.repeat_penalty);
    if (!rc) rc = opt_float("--frequency-penalty", a->val[O_FREQ], &o->sp.frequency_penalty);
    if (!rc) rc = opt_float("--presence-penalty", a->val[O_PRES], &o->sp.presence_penalty);
    if (!rc) rc = cli_u64(CMD, "--seed", a->val[O_SEED], &o->sp.seed);
    if (rc) return rc;
    o->sp.top_k = (int32_t)top_k;
    o->sp.repeat_last_n = (int32_t)last_n;
    o->spec = a->val[O_SAMPLERS];
    o->grammar = NULL;
    char err[256];
    if (smp_params_check(&o->sp, err, sizeof err)) return cli_usage_error(CMD, "%s", err);
    smp *probe;             /* stage names are checked before the model loads */
    if (smp_chain_parse(&probe, o->spec, &o->sp, err, sizeof err)) return cli_usage_error(CMD, "--samplers: %s", err);
    smp_destroy(probe);
    return read_constraint(a, o);
}

/* --bias ID=VALUE,... and --ban TEXT into b. */
static int read_bias(const cli_args *a, const tok *t, logits_bias *b) {
    const char *s = a->val[O_BIAS];
    int32_t nv = tok_n_vocab(t);
    while (s && *s) {
        char *end;
        errno = 0;
        long id = strtol(s, &end, 10);
        if (end == s || *end != '=' || errno || id < 0 || id >= nv)
            return cli_usage_error(CMD, "--bias wants ID=VALUE with 0 <= ID < %d, at '%s'", (int)nv, s);
        s = end + 1;
        float v = strtof(s, &end);
        if (end == s || (*end && *end != ',') || isnan(v))
            return cli_usage_error(CMD, "--bias: bad value at '%s'", s);
        if (logits_bias_add(b, (int32_t)id, v)) return cli_fail(CMD, "out of memory");
        s = *end ? end + 1 : end;
    }
    if (a->val[O_BAN]) {
        char err[256];
        const char *txt = a->val[O_BAN];
        if (logits_bias_add_text(b, t, txt, strlen(txt), LOGITS_MATCH_CONTAINS, -INFINITY, err, sizeof err) < 0)
            return cli_usage_error(CMD, "--ban: %s", err);
    }
    return CLI_OK;
}

/* What the loop needs, set up once. */
typedef struct gen {
    model *m;
    ctx *c;
    const tok *t;
    smp *chain;
    gmatch *gm;            /* the constraint's matcher (owned by its stage), or NULL */
    smp_cands cands;
    int32_t *top;          /* (probs) */
    int32_t nv, seq, pos;
    bool json;
    bool bos_hinted;       /* the BOS hint was given */
    int32_t end[16];       /* --end-tokens */
    int32_t n_end;
    int werr;              /* errno of the first failed write to stdout, 0 while none failed */
    tok_stream ts;
} gen;

/* Pushes what was written to stdout out now; remembers the first failure's
 * errno, which the final fflush in main.c could no longer tell (the stream
 * drops what it could not write). */
static void flush_out(gen *g) {
    errno = 0;
    if ((fflush(stdout) != 0 || ferror(stdout)) && !g->werr) g->werr = errno ? errno : EIO;
}

static void put_bytes(const char *p, int32_t n) {
    putchar('[');
    for (int32_t i = 0; i < n; i++) printf("%s%u", i ? "," : "", (unsigned)(unsigned char)p[i]);
    putchar(']');
}

/* {"id","token","bytes","logprob"} of one token of row, without the brace. */
static void put_token(const gen *g, int32_t id, double lp) {
    char piece[512];
    int32_t n = tok_piece(g->t, id, piece, (int32_t)sizeof piece, true);
    if (n < 0) n = 0;
    if (n > (int32_t)sizeof piece) n = (int32_t)sizeof piece;
    printf("\"id\":%d,\"token\":", (int)id);
    cli_put_json_str(stdout, piece, (size_t)n);
    printf(",\"bytes\":");
    put_bytes(piece, n);
    printf(",\"logprob\":");
    cli_put_json_num(stdout, lp, 9);
}

static void emit_json(gen *g, const float *row, int32_t id, int32_t k) {
    double lse = logits_logsumexp(row, g->nv);
    smp_cands_softmax(&g->cands);
    double ps = g->cands.data[g->cands.selected].p;
    putchar('{');
    put_token(g, id, row[id] - lse);
    printf(",\"rank\":%d,\"entropy\":", (int)logits_rank(row, g->nv, id));
    cli_put_json_num(stdout, logits_entropy_of(row, g->nv), 9);
    printf(",\"sampler_logprob\":");
    cli_put_json_num(stdout, ps > 0 ? log(ps) : -INFINITY, 9);
    printf(",\"top_logprobs\":[");
    int32_t nk = logits_top_k(row, g->nv, k, g->top);
    for (int32_t i = 0; i < nk; i++) {
        printf(i ? ",{" : "{");
        put_token(g, g->top[i], row[g->top[i]] - lse);
        putchar('}');
    }
    printf("]}\n");
    flush_out(g);
}

/* Text mode with --probs: the alternatives on stderr, one line per token. */
static void emit_probs(gen *g, const float *row, int32_t id, int32_t k) {
    char piece[512];
    double lse = logits_logsumexp(row, g->nv);
    int32_t nk = logits_top_k(row, g->nv, k, g->top);
    fprintf(stderr, "[%d %.4f]", (int)id, exp(row[id] - lse));
    for (int32_t i = 0; i < nk; i++) {
        int32_t n = tok_piece(g->t, g->top[i], piece, (int32_t)sizeof piece, true);
        fprintf(stderr, " '");
        cli_put_escaped(stderr, piece, n < 0 ? 0 : (size_t)(n > 512 ? 512 : n), 40);
        fprintf(stderr, "' %.4f", exp(row[g->top[i]] - lse));
    }
    fputc('\n', stderr);
}

static void emit_text(gen *g, int32_t id) {
    char out[600];
    int32_t n = tok_stream_push(&g->ts, id, out, (int32_t)sizeof out);
    if (n > 0) {
        fwrite(out, 1, (size_t)(n < 600 ? n : 600), stdout);
        flush_out(g);
    }
}

/* Evaluates ids[0..n) at the end of the sequence, keeping the last row. */
static int feed(gen *g, const int32_t *ids, int32_t n, char *err, size_t errlen) {
    ctx_entry b[256];
    for (int32_t at = 0; at < n;) {
        int32_t m = n - at < 256 ? n - at : 256;
        for (int32_t k = 0; k < m; k++) b[k] = (ctx_entry){ g->seq, g->pos + k, ids[at + k], at + k == n - 1 };
        int rc = ctx_eval(g->c, b, m, err, errlen);
        if (rc) return rc;
        g->pos += m;
        at += m;
    }
    return 0;
}

static int32_t *encode_prompt(const gen *g, const char *text, bool special, int32_t *n, char *err, size_t errlen) {
    size_t len = strlen(text);
    int32_t cap = (int32_t)(len < 1000000 ? len : 1000000) + 8;
    int32_t *ids = malloc(sizeof *ids * (size_t)cap);
    if (!ids) { snprintf(err, errlen, "out of memory"); return NULL; }
    *n = tok_encode(g->t, text, len, tok_add_bos(g->t), special, ids, cap, err, errlen);
    if (*n > cap) {
        int32_t *b = realloc(ids, sizeof *ids * (size_t)*n);
        if (!b) { free(ids); snprintf(err, errlen, "out of memory"); return NULL; }
        ids = b;
        cap = *n;
        *n = tok_encode(g->t, text, len, tok_add_bos(g->t), special, ids, cap, err, errlen);
    }
    if (*n < 0) { free(ids); return NULL; }
    return ids;
}

/* The hint for a BOS in the middle of the text (once): what it means for
 * llama2.c models and how to stop there. */
static void bos_hint(gen *g, int32_t id) {
    g->bos_hinted = true;
    size_t n = 0;
    const char *s = tok_text(g->t, id, &n);
    flush_out(g);
    fprintf(stderr, "\nlogitlab gen: the model emitted %.*s (BOS, token %d), which llama2.c models use to end a story; "
            "--end-tokens bos stops there\n", s ? (int)n : 3, s ? s : "BOS", (int)id);
}

static int generate(gen *g, const opts_t *o, const int32_t *prompt, int32_t np, bool ignore_eos) {
    char err[512];
    for (int32_t i = 0; i < np; i++) smp_accept(g->chain, prompt[i]);
    if (feed(g, prompt, np, err, sizeof err)) return cli_fail(CMD, "prompt of %d tokens: %s", (int)np, err);
    int32_t eos = tok_eos(g->t), eot = tok_eot(g->t);
    const char *stop = "length";
    long i = 0;
    for (; o->n < 0 || i < o->n; i++) {
        const float *row = ctx_logits(g->c, 0);
        smp_cands_set_ref(&g->cands, row, g->nv);   /* row stays put until the next eval (emit_json reads c) */
        int32_t id = smp_sample(g->chain, &g->cands);
        if (id == SMP_EMASK && g->gm && (gmatch_finished(g->gm) || gmatch_complete(g->gm))) {
            fprintf(stderr, "\nlogitlab gen: stopped: the grammar is complete\n");
            stop = "grammar";
            break;
        }
        if (id == SMP_EMASK)
            return cli_fail(CMD, "stopped after %ld tokens: the grammar allows no token of this vocabulary here "
                            "(unsatisfiable constraint)", i);
        if (id < 0) return cli_fail(CMD, "the sampler chain failed (%d)", (int)id);
        smp_accept(g->chain, id);
        if (g->json) emit_json(g, row, id, (int32_t)o->probs);
        else {
            if (o->probs) emit_probs(g, row, id, (int32_t)o->probs);
            emit_text(g, id);
        }
        if (g->werr)    /* nobody reads the rest: stop now, and say why */
            return cli_fail(CMD, "cannot write the output (standard output) after %ld token%s: %s", i + 1,
                            i ? "s" : "", strerror(g->werr));
        if (!ignore_eos && (id == eos || (eot >= 0 && id == eot))) { stop = "eos"; i++; break; }
        bool end = false;
        for (int32_t k = 0; k < g->n_end; k++) end = end || id == g->end[k];
        if (end) { stop = "end_token"; i++; break; }
        if (id == tok_bos(g->t) && !g->bos_hinted) bos_hint(g, id);
        if (o->n >= 0 && i + 1 >= o->n) { i++; break; }    /* the last token needs no evaluation */
        int rc = feed(g, &id, 1, err, sizeof err);
        if (rc == CTX_EFULL) {
            fprintf(stderr, "\nlogitlab gen: context full after %d tokens\n", (int)g->pos);
            stop = "context";
            i++;
            break;
        }
        if (rc) return cli_fail(CMD, "%s", err);
    }
    /* A researcher must not parse truncated JSON as if it were whole: say when the
     * output stopped short of the grammar (reviewer's note; docs/sampling.md). */
    bool complete = g->gm && (gmatch_complete(g->gm) || gmatch_finished(g->gm));
    if (g->gm && !complete) {
        if (strcmp(stop, "length") == 0)
            fprintf(stderr, "\nlogitlab gen: stopped at -n %ld before the grammar was complete\n", o->n);
        else if (strcmp(stop, "context") == 0)
            fprintf(stderr, "logitlab gen: the context filled before the grammar was complete\n");
    }
    if (g->json && g->gm)
        printf("{\"stop\":\"%s\",\"tokens\":%ld,\"grammar_complete\":%s}\n", stop, i, complete ? "true" : "false");
    if (!g->json) {
        char out[16];
        int32_t n = tok_stream_flush(&g->ts, out, (int32_t)sizeof out);
        if (n > 0) fwrite(out, 1, (size_t)n, stdout);
        if (isatty(fileno(stdout))) putchar('\n');
    }
    flush_out(g);
    if (g->werr) return cli_fail(CMD, "cannot write the output (standard output): %s", strerror(g->werr));
    return CLI_OK;
}

static int run(const cli_args *a, const opts_t *o) {
    char path[4096], err[1024];
    if (mpath_resolve(a->val[O_MODEL], path, sizeof path, err, sizeof err)) return cli_fail(CMD, "%s", err);
    gen g;
    memset(&g, 0, sizeof g);
    logits_bias bias;
    logits_bias_init(&bias);
    int32_t *prompt = NULL, np = 0;
    int rc = CLI_OK;
    model_params mp = { .l2c_exact = a->val[O_EXACT_INT8] != NULL };
    if (model_open(&g.m, path, &mp, err, sizeof err)) return cli_fail(CMD, "%s", err);
    g.t = model_tok(g.m);
    g.nv = model_get_info(g.m)->n_vocab;
    g.json = a->val[O_JSON] != NULL;
    tok_stream_init(&g.ts, g.t, false);
    ctx_params cp;
    ctx_params_default(&cp);
    cp.n_ctx = (int32_t)o->n_ctx;
    cp.n_batch = 256;
    cp.n_seq_max = 1;
    cp.n_threads = (int)o->threads;
    if ((rc = read_bias(a, g.t, &bias))) goto out;
    smp_params sp = o->sp;
    sp.bias = &bias;
    if (smp_chain_parse(&g.chain, o->spec, &sp, err, sizeof err)) { rc = cli_usage_error(CMD, "--samplers: %s", err); goto out; }
    int32_t last = smp_chain_n(g.chain) - 1;
    const char *ln = last >= 0 ? smp_name(smp_chain_get(g.chain, last)) : "";
    if (strcmp(ln, "greedy") && strcmp(ln, "dist") && smp_chain_add(g.chain, smp_create_dist(sp.seed))) {
        rc = cli_fail(CMD, "out of memory");
        goto out;
    }
    if (o->grammar) {
        gmatch_vocab *v = gmatch_vocab_create(g.t);
        gmatch_ctx *gc = v ? gmatch_ctx_create(o->grammar, v) : NULL;
        gmatch_vocab_unref(v);
        g.gm = gc ? gmatch_create(gc) : NULL;
        gmatch_ctx_destroy(gc);
        if (!g.gm || smp_chain_prepend(g.chain, gmatch_smp_create(g.gm))) { rc = cli_fail(CMD, "out of memory"); goto out; }
    }
    if (ctx_create(&g.c, g.m, &cp, err, sizeof err)) { rc = cli_fail(CMD, "%s: %s", path, err); goto out; }
    g.seq = ctx_seq_create(g.c);
    if (smp_cands_init(&g.cands, g.nv) || !(g.top = malloc(sizeof *g.top * (size_t)(o->probs + 1)))) {
        rc = cli_fail(CMD, "out of memory");
        goto out;
    }
    g.cands.only_selected = true;          /* gen reads data[selected] alone (emit_json) */
    if (!(prompt = encode_prompt(&g, a->val[O_PROMPT] ? a->val[O_PROMPT] : "", a->val[O_SPECIAL] != NULL, &np, err, sizeof err))) {
        rc = cli_fail(CMD, "prompt: %s", err);
        goto out;
    }
    if (np == 0) { rc = cli_usage_error(CMD, "empty prompt, and this vocabulary adds no BOS: give -p TEXT"); goto out; }
    if (np >= ctx_kv_size(g.c)) {
        rc = cli_fail(CMD, "the prompt has %d tokens, the context %d (raise --ctx-size)", (int)np, (int)ctx_kv_size(g.c));
        goto out;
    }
    if (a->val[O_END_TOKENS] &&
        (g.n_end = tok_parse_ids(g.t, a->val[O_END_TOKENS], g.end, (int32_t)(sizeof g.end / sizeof g.end[0]), err, sizeof err)) < 0) {
        rc = cli_usage_error(CMD, "--end-tokens: %s", err);
        goto out;
    }
    rc = generate(&g, o, prompt, np, a->val[O_IGNORE_EOS] != NULL);
out:
    free(prompt);
    free(g.top);
    smp_cands_fini(&g.cands);
    smp_destroy(g.chain);
    logits_bias_fini(&bias);
    ctx_destroy(g.c);
    model_close(g.m);
    return rc;
}

int cmd_gen(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&spec, argc, argv, &a);
    if (rc) return rc == CLI_HELP ? CLI_OK : rc;
    opts_t o;
    if ((rc = read_opts(&a, &o))) return rc;
    rc = run(&a, &o);
    gram_unref(o.grammar);
    return rc;
}
