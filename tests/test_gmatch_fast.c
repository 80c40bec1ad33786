/* test_gmatch_fast: the token mask with bulk acceptance (gmatch.c: the
 * probe and the skipping walk) against the plain walk of the prefix tree,
 * bit for bit (memcmp), at 32000 tokens (Llama SPM) and 128256 (Llama 3
 * BPE). Grammars: random GBNF (literals, ASCII and non-ASCII classes and
 * negations, '.', groups, alternatives, * + ? {m} {m,n} {m,}), random JSON
 * Schemas (strings with length bounds and patterns, integer ranges, enums,
 * arrays, nested objects, anyOf), and the example grammars. Along random
 * walks that mostly take allowed tokens but also try random tokens (which
 * both must refuse or both accept) and raw byte strings.
 *
 * usage: test_gmatch_fast [SEED]  (a failure prints the grammar) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gguf.h"
#include "gmatch.h"
#include "gmatch_impl.h"
#include "gram.h"
#include "tok.h"

static uint64_t rng = 0x2545F4914F6CDD1DULL;
static uint32_t rnd(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return (uint32_t)(rng >> 11); }
static uint32_t rn(uint32_t n) { return rnd() % n; }

/* ---- random grammars -------------------------------------------------------- */

typedef struct sb { char s[16384]; size_t n; } sb;
static void put(sb *b, const char *s) {
    size_t l = strlen(s);
    if (b->n + l < sizeof b->s) { memcpy(b->s + b->n, s, l); b->n += l; b->s[b->n] = 0; }
}

static void gen_alt(sb *b, int rule, int n_rules, int depth);

static void gen_item(sb *b, int rule, int n_rules, int depth) {
    static const char *lits[] = { "\"a\"", "\"ab\"", "\"\\\"\"", "\"{\"", "\"}\"", "\",\"", "\":\"", "\" \"",
                                  "\"\\u00e9\"", "\"\\u65e5\"", "\"xyz\"", "\"\\\\\"", "\"1\"", "\"null\"", "\"the\"",
                                  "\"\\n\"", "\"ing\"" };
    static const char *cls[] = { "[a-z]", "[0-9]", "[^\"\\\\]", "[^a]", "[ \\t\\n]", "[\\u00e0-\\u00ff]",
                                 "[\\u4e00-\\u9fff]", "[a-zA-Z0-9_]", ".", "[^\"\\\\\\x00-\\x1f]", "[a-f]", "[^ ]",
                                 "[\\u0400-\\u04ff]", "[^\\n]" };
    static const char *suf[] = { "", "", "", "*", "+", "?", "{2}", "{0,3}", "{1,12}", "{0,40}", "{3,}", "{5,9}" };
    /* counted repetitions only on single characters and literals: a count
     * over a group that holds a star makes ambiguous state sets that grow
     * with the count (slow for both matchers, not what this test is about) */
    static const char *gsuf[] = { "", "", "*", "+", "?" };
    int k = (int)rn(10);
    if (k < 3) { put(b, lits[rn(sizeof lits / sizeof *lits)]); put(b, suf[rn(sizeof suf / sizeof *suf)]); }
    else if (k < 7) { put(b, cls[rn(sizeof cls / sizeof *cls)]); put(b, suf[rn(sizeof suf / sizeof *suf)]); }
    else if (k < 8 && depth < 3) { put(b, "("); gen_alt(b, rule, n_rules, depth + 1); put(b, ")"); put(b, gsuf[rn(5)]); }
    else if (rule + 1 < n_rules) {
        char r[16];
        snprintf(r, sizeof r, "r%d", rule + 1 + (int)rn((uint32_t)(n_rules - rule - 1)));
        put(b, r);
        put(b, gsuf[rn(5)]);
    } else put(b, cls[rn(sizeof cls / sizeof *cls)]);
}

static void gen_alt(sb *b, int rule, int n_rules, int depth) {
    int na = 1 + (int)rn(3);
    for (int a = 0; a < na; a++) {
        if (a) put(b, " | ");
        int ni = 1 + (int)rn(4);
        for (int i = 0; i < ni; i++) { if (i) put(b, " "); gen_item(b, rule, n_rules, depth); }
    }
}

static void gen_gbnf(sb *b) {
    b->n = 0;
    b->s[0] = 0;
    int n_rules = 1 + (int)rn(5);
    put(b, "root ::= r0\n");
    for (int r = 0; r < n_rules; r++) {
        char h[32];
        snprintf(h, sizeof h, "r%d ::= ", r);
        put(b, h);
        gen_alt(b, r, n_rules, 0);
        put(b, "\n");
    }
}

static void gen_schema(sb *b, int depth) {
    char t[200];
    int k = (int)rn(depth >= 3 ? 6 : 10);
    switch (k) {
    case 0: case 1: {
        put(b, "{\"type\":\"string\"");
        if (rn(2)) { int lo = (int)rn(4); snprintf(t, sizeof t, ",\"minLength\":%d,\"maxLength\":%d", lo, lo + (int)rn(45)); put(b, t); }
        else if (rn(3) == 0) put(b, ",\"pattern\":\"^[a-z]{1,8}$\"");
        put(b, "}");
        break;
    }
    case 2: { int lo = (int)rn(200) - 100; snprintf(t, sizeof t, "{\"type\":\"integer\",\"minimum\":%d,\"maximum\":%d}", lo, lo + (int)rn(5000)); put(b, t); break; }
    case 3: put(b, rn(2) ? "{\"type\":\"number\",\"minimum\":0,\"maximum\":10}" : "{\"type\":\"number\"}"); break;
    case 4: put(b, rn(2) ? "{\"type\":\"boolean\"}" : "{\"type\":\"null\"}"); break;
    case 5: put(b, "{\"enum\":[\"red\",\"green\",\"\\u00e9t\\u00e9\",1,null]}"); break;
    case 6: case 7: {
        put(b, "{\"type\":\"object\",\"properties\":{");
        int np = 1 + (int)rn(4);
        for (int p = 0; p < np; p++) {
            snprintf(t, sizeof t, "%s\"p%d\":", p ? "," : "", p);
            put(b, t);
            gen_schema(b, depth + 1);
        }
        put(b, "},\"required\":[\"p0\"]}");
        break;
    }
    case 8: put(b, "{\"type\":\"array\",\"items\":"); gen_schema(b, depth + 1); snprintf(t, sizeof t, ",\"maxItems\":%d}", 1 + (int)rn(5)); put(b, t); break;
    default: put(b, "{\"anyOf\":["); gen_schema(b, depth + 1); put(b, ","); gen_schema(b, depth + 1); put(b, "]}"); break;
    }
}

/* ---- the comparison ------------------------------------------------------------ */

static int64_t n_masks, n_refused, n_bytes;

/* Walks a fast and an exact matcher together; false at the first difference. */
static bool compare(gmatch_ctx *cf, gmatch_ctx *ce, const char *what, int steps) {
    gmatch_vocab *v = gmatch_ctx_vocab(cf);
    int32_t nv = gmatch_vocab_n(v), words = (nv + 63) / 64;
    gmatch *mf = gmatch_create(cf), *me = gmatch_create(ce);
    uint64_t *copy = malloc(sizeof *copy * (size_t)words);
    bool ok = mf && me && copy;
    for (int s = 0; s < steps && ok; s++) {
        const uint64_t *a = gmatch_mask(mf);
        if (!a) { ok = false; break; }
        memcpy(copy, a, sizeof *copy * (size_t)words);
        const uint64_t *b = gmatch_mask(me);
        n_masks++;
        if (!b || memcmp(copy, b, sizeof *copy * (size_t)words) != 0 || gmatch_count(mf) != gmatch_count(me)) {
            for (int32_t i = 0; b && i < nv; i++)
                if ((copy[i >> 6] ^ b[i >> 6]) >> (i & 63) & 1) {
                    size_t l;
                    const char *p = gmatch_vocab_piece(v, i, &l);
                    fprintf(stderr, "%s: step %d: token %d '%.*s' fast %d exact %d\n", what, s, i, (int)l, p,
                            (int)(copy[i >> 6] >> (i & 63) & 1), (int)(b[i >> 6] >> (i & 63) & 1));
                    break;
                }
            ok = false;
            break;
        }
        int32_t cnt = gmatch_count(me);
        uint32_t r = rn(10);
        if (r < 2) {                                 /* a random token: both refuse or both take it */
            int32_t id = (int32_t)rn((uint32_t)nv);
            bool in = copy[id >> 6] >> (id & 63) & 1;
            int ra = gmatch_accept(mf, id), rb = gmatch_accept(me, id);
            if (ra != rb || (ra == 0) != in) { fprintf(stderr, "%s: step %d: token %d accept %d/%d, mask %d\n", what, s, id, ra, rb, in); ok = false; }
            n_refused += ra != 0;
        } else if (r < 3) {                          /* raw bytes */
            static const char *bytes[] = { "\"", "\\", "a", "\xc3", "\xa9", "\xe6\x97", "1", " ", "}", "\n", ",\"" };
            const char *x = bytes[rn(sizeof bytes / sizeof *bytes)];
            int ra = gmatch_accept_bytes(mf, x, strlen(x)), rb = gmatch_accept_bytes(me, x, strlen(x));
            if (ra != rb) { fprintf(stderr, "%s: step %d: bytes accept %d/%d\n", what, s, ra, rb); ok = false; }
            n_bytes++;
        } else {
            if (!cnt) break;
            int32_t k = (int32_t)rn((uint32_t)cnt), id = -1;
            for (int32_t i = 0; i < nv; i++)
                if (copy[i >> 6] >> (i & 63) & 1) { if (k-- == 0) { id = i; break; } }
            int ra = gmatch_accept(mf, id), rb = gmatch_accept(me, id);
            if (ra || rb) { fprintf(stderr, "%s: step %d: allowed token %d refused %d/%d\n", what, s, id, ra, rb); ok = false; }
        }
        if (gmatch_finished(me) || gmatch_finished(mf)) {
            if (gmatch_finished(me) != gmatch_finished(mf)) ok = false;
            break;
        }
    }
    free(copy);
    gmatch_destroy(mf);
    gmatch_destroy(me);
    return ok;
}

/* Compiles and compares; false when they differ (a grammar that does not
 * compile is skipped: the generators make some). */
static bool run(gmatch_vocab *v, const char *what, const char *text, bool schema, int walks, int steps, int *compiled,
                bool also0) {
    gram *g;
    char err[300];
    int rc = schema ? gram_from_schema(&g, text, strlen(text), err, sizeof err) : gram_parse(&g, text, strlen(text), err, sizeof err);
    if (rc) return true;
    ++*compiled;
    if (getenv("GFAST_SHOW")) fprintf(stderr, "%s\n%s\n", what, text);
    /* the reference computes its transitions lazily, as it walks: the fast
     * ctx's are precomputed at bind time, so each path checks the other */
    gmatch_ctx *cf = gmatch_ctx_create(g, v), *ce = gmatch_ctx_create_exact(g, v);
    /* and (also0) with a precompute budget of 0 (every state lazy, as past
     * the budget): the same masks. Not for every grammar: lazily, random
     * GBNFs pay their probes at each first mask (seconds in all) */
    gmatch_ctx *c0 = also0 ? gmatch_ctx_create_budget(g, v, 0) : NULL;
    gram_unref(g);
    bool ok = cf && ce && (c0 || !also0);
    for (int w = 0; w < walks && ok; w++) ok = compare(cf, ce, what, steps);
    if (!ok) fprintf(stderr, "%s: masks differ; the grammar:\n%s\n", what, text);
    bool ok0 = !also0 || (ok && compare(c0, ce, what, steps));
    if (ok && !ok0) fprintf(stderr, "%s: masks differ with precompute budget 0; the grammar:\n%s\n", what, text);
    gmatch_ctx_destroy(cf);
    gmatch_ctx_destroy(ce);
    gmatch_ctx_destroy(c0);
    return ok && ok0;
}

static gmatch_vocab *load(const char *rel, int32_t *n) {
    char p[512], err[256];
    tok *t;
    if (tok_open(&t, check_path(p, sizeof p, rel), err, sizeof err)) { fprintf(stderr, "%s\n", err); return NULL; }
    gmatch_vocab *v = gmatch_vocab_create(t);
    *n = tok_n_vocab(t);
    tok_destroy(t);
    return v;
}

static void suite(const char *rel, int32_t want, int n_gbnf, int n_schema, int walks, int steps) {
    int32_t n = 0;
    gmatch_vocab *v = load(rel, &n);
    CHECK(v && n == want, "%s loads with %d tokens (%d)", rel, want, n);
    if (!v) return;
    int compiled = 0, bad = 0;
    sb b;
    for (int i = 0; i < n_gbnf && bad < 2; i++) {
        gen_gbnf(&b);
        char what[64];
        snprintf(what, sizeof what, "%d: gbnf %d", want, i);
        bad += !run(v, what, b.s, false, walks, steps, &compiled, i % 10 == 0);
    }
    for (int i = 0; i < n_schema && bad < 2; i++) {
        b.n = 0;
        b.s[0] = 0;
        gen_schema(&b, 0);
        char what[64];
        snprintf(what, sizeof what, "%d: schema %d", want, i);
        bad += !run(v, what, b.s, true, walks, steps, &compiled, i % 2 == 0);
    }
    static const char *files[] = { "json.gbnf", "list.gbnf", "arithmetic.gbnf", "chess.gbnf", "c.gbnf", "tool.json" };
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char p[128];
        snprintf(p, sizeof p, "tests/data/grammars/%s", files[i]);
        char *t = check_slurp(p, NULL);
        if (!t) { CHECK(0, "read %s", p); continue; }
        char what[64];
        snprintf(what, sizeof what, "%d: %s", want, files[i]);
        bad += !run(v, what, t, strstr(files[i], ".json") != NULL, walks, steps * 2, &compiled, want == 32000);
        free(t);
    }
    CHECK(bad == 0, "%d tokens: %d grammars compiled, masks fast == exact (%d differ)", want, compiled, bad);
    CHECK(compiled >= (n_gbnf + n_schema) / 2, "%d tokens: most random grammars compile (%d)", want, compiled);
    gmatch_vocab_unref(v);
}

/* The precompute budget is honoured (0: nothing explored at bind time), and
 * after the default precomputation every probe result a state remembers is
 * for the state's own groups: a probe run with other groups (a \uXXXX
 * escape's hex digits reach the string's states) used to replace it, so the
 * string's first masks redid the probe (~150 us at 32000 tokens). */
static void bind_checks(void) {
    int32_t n = 0;
    gmatch_vocab *v = load("models/ggml-vocab-llama-spm.gguf", &n);
    char *t = check_slurp("tests/data/grammars/tool.json", NULL);
    gram *g = NULL;
    char err[300];
    CHECK(v && t && gram_from_schema(&g, t, strlen(t), err, sizeof err) == 0, "tool.json compiles");
    free(t);
    if (!v || !g) { gmatch_vocab_unref(v); gram_unref(g); return; }
    gmatch_ctx *c0 = gmatch_ctx_create_budget(g, v, 0), *cd = gmatch_ctx_create(g, v);
    int64_t s0 = 0, sd = 0, m, b;
    if (c0) gmatch_ctx_stats(c0, &s0, &m, &b);
    if (cd) gmatch_ctx_stats(cd, &sd, &m, &b);
    CHECK(c0 && s0 <= 2, "budget 0: only the start state at bind time (%lld states)", (long long)s0);
    CHECK(cd && sd > 1000, "default budget: the tool schema's states explored at bind time (%lld)", (long long)sd);
    int32_t own = 0, foreign = 0;
    for (int32_t i = 1; cd && i < cd->nst; i++) {
        const state *st = &cd->st[i];
        if (!st->gx_known || !st->gx || st->pmemo != 1) continue;
        if (st->px == st->gx) own++;
        else foreign++;
    }
    CHECK(foreign == 0 && own > 40, "probe results remembered with the state's own groups (%d own, %d other)", own, foreign);
    gmatch_ctx_destroy(c0);
    gmatch_ctx_destroy(cd);
    gram_unref(g);
    gmatch_vocab_unref(v);
}

int main(int argc, char **argv) {
    if (argc > 1) rng = strtoull(argv[1], NULL, 10) | 1;
    bind_checks();
    suite("models/ggml-vocab-llama-spm.gguf", 32000, 40, 30, 3, 50);
    suite("golden/tokenizer-llama3/tokenizer.json", 128256, 12, 10, 2, 40);
    printf("# %lld masks compared, %lld random tokens refused, %lld byte strings\n", (long long)n_masks,
           (long long)n_refused, (long long)n_bytes);
    CHECK(n_masks > 1000 && n_refused > 50, "enough masks compared (%lld) and refusals tried (%lld)", (long long)n_masks, (long long)n_refused);
    return check_done();
}
