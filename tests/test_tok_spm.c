/* test_tok_spm: the SentencePiece tokenizer and the tokenizer's common part
 * (loaders, special-token splitting, detokenization, streaming) against the
 * llama.cpp golden cases in shared/golden/tokenizer-llama2 and stories260K,
 * with the vocabulary read both from GGUF and from llama2.c tokenizer.bin.
 * Also: the GGUF loader's metadata rules on hand-made files, a gpt2 GGUF built
 * from the Llama 3 tokenizer.json, broken tokenizer.bin files, invalid UTF-8. */
#include "check.h"
#include "gguf.h"
#include "ggufw.h"
#include "json.h"
#include "tok.h"
#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

static char tmpdir[256];

/* ---- helpers ---- */

static tok *load(const char *rel) {
    char p[512], err[512] = "";
    tok *t = NULL;
    int rc = tok_open(&t, check_path(p, sizeof p, rel), err, sizeof err);
    CHECK(rc == TOK_OK && t, "tok_open %s: rc %d: %s", rel, rc, err);
    return t;
}

/* Encodes into a new array (two calls: size, then fill). Returns the count or
 * a negative code. */
static int32_t enc(const tok *t, const char *s, size_t n, bool bos, bool special, int32_t **out) {
    char err[256];
    *out = NULL;
    int32_t k = tok_encode(t, s, n, bos, special, NULL, 0, err, sizeof err);
    if (k < 0) return k;
    *out = malloc(((size_t)k + 1) * sizeof **out);
    int32_t k2 = tok_encode(t, s, n, bos, special, *out, k, err, sizeof err);
    return k2 == k ? k : -100;
}

/* Decodes into a new NUL-terminated string. */
static char *dec(const tok *t, const int32_t *ids, int32_t n, bool rm, bool unparse, int32_t *len) {
    int32_t k = tok_decode(t, ids, n, NULL, 0, rm, unparse);
    if (k < 0) { *len = k; return NULL; }
    char *b = malloc((size_t)k + 1);
    *len = tok_decode(t, ids, n, b, k, rm, unparse);
    b[k] = 0;
    return b;
}

static char *stream_all(const tok *t, const int32_t *ids, int32_t n, bool unparse, int32_t *len) {
    tok_stream s;
    tok_stream_init(&s, t, unparse);
    size_t cap = 64 * (size_t)n + 64, k = 0;
    char *b = malloc(cap);
    for (int32_t i = 0; i < n; i++) {
        int32_t r = tok_stream_push(&s, ids[i], b + k, (int32_t)(cap - k));
        if (r < 0) { free(b); *len = r; return NULL; }
        k += (size_t)r;
    }
    k += (size_t)tok_stream_flush(&s, b + k, (int32_t)(cap - k));
    b[k] = 0;
    *len = (int32_t)k;
    return b;
}

static bool same_ids(const int32_t *a, int32_t na, const json *arr) {
    if (!arr || arr->type != JSON_ARR || (size_t)na != arr->n) return false;
    int32_t i = 0;
    for (const json *e = arr->child; e; e = e->next, i++)
        if ((int32_t)e->num != a[i]) return false;
    return true;
}

static bool same_str(const char *a, int32_t na, const json *s) {
    return a && s && s->type == JSON_STR && (size_t)na == s->len && memcmp(a, s->str, s->len) == 0;
}

static int32_t *json_ids(const json *arr, int32_t *n) {
    *n = (int32_t)arr->n;
    int32_t *v = malloc((arr->n + 1) * sizeof *v), i = 0;
    for (const json *e = arr->child; e; e = e->next) v[i++] = (int32_t)e->num;
    return v;
}

/* ---- golden cases ---- */

typedef struct stats { int recs, ids, dec, keep, stream, stream_keep; } stats;

/* Every record of a tokenizer-llama2 jsonl file against tokenizer t. */
static void golden_file(const tok *t, const char *tname, const char *rel, stats *st) {
    char p[512], err[256];
    size_t len;
    char *txt = check_slurp(check_path(p, sizeof p, rel), &len);
    CHECK(txt, "read %s", p);
    if (!txt) return;
    int32_t bos = tok_bos(t);
    for (char *line = txt, *nl; line < txt + len; line = nl + 1) {
        nl = memchr(line, '\n', (size_t)(txt + len - line));
        if (!nl) nl = txt + len;
        if (nl == line) continue;
        json_doc *d = json_parse(line, (size_t)(nl - line), err, sizeof err);
        CHECK(d, "%s: %s", rel, err);
        if (!d) continue;
        json *r = json_root(d), *text = json_get(r, "text");
        bool add_bos = json_bool(json_get(r, "add_bos"), false);
        bool special = json_bool(json_get(r, "parse_special"), false);
        int32_t *ids, n = enc(t, text->str, text->len, add_bos, special, &ids);
        bool ok = n >= 0 && same_ids(ids, n, json_get(r, "ids"));
        st->recs++;
        st->ids += ok;
        CHECK(ok, "%s %s: ids of \"%.60s\" bos=%d n=%d", tname, rel, text->str, add_bos, n);
        int32_t gn, dl, kl, sl, skl;
        int32_t *g = json_ids(json_get(r, "ids"), &gn);       /* decode the golden ids */
        char *ds = dec(t, g, gn, true, false, &dl), *ks = dec(t, g, gn, false, true, &kl);
        ok = same_str(ds, dl, json_get(r, "decoded"));
        st->dec += ok;
        CHECK(ok, "%s %s: decoded of \"%.60s\" bos=%d: \"%.60s\"", tname, rel, text->str, add_bos, ds);
        ok = same_str(ks, kl, json_get(r, "decoded_keep_special"));
        st->keep += ok;
        CHECK(ok, "%s %s: decoded_keep_special of \"%.60s\": \"%.60s\"", tname, rel, text->str, ks);
        /* streaming has no leading-space rule: it equals decoding after a BOS */
        int32_t *gb = malloc(((size_t)gn + 1) * sizeof *gb);
        gb[0] = bos;
        memcpy(gb + 1, g, (size_t)gn * sizeof *g);
        bool starts_bos = gn > 0 && g[0] == bos;
        int32_t el;
        char *want = starts_bos ? NULL : dec(t, gb, gn + 1, true, false, &el);
        char *ss = stream_all(t, g, gn, false, &sl), *sk = stream_all(t, g, gn, true, &skl);
        ok = starts_bos ? same_str(ss, sl, json_get(r, "decoded"))
                        : (ss && sl == el && memcmp(ss, want, (size_t)el) == 0);
        st->stream += ok;
        CHECK(ok, "%s %s: stream of \"%.60s\" bos=%d", tname, rel, text->str, add_bos);
        if (starts_bos) {
            ok = same_str(sk, skl, json_get(r, "decoded_keep_special"));
            st->stream_keep += ok;
            CHECK(ok, "%s %s: stream keep-special of \"%.60s\"", tname, rel, text->str);
        }
        free(ids); free(g); free(gb); free(ds); free(ks); free(want); free(ss); free(sk);
        json_free(d);
    }
    free(txt);
}

static void golden(const tok *t, const char *tname) {
    const char *files[] = { "golden/tokenizer-llama2/cases.jsonl",
                            "golden/tokenizer-llama2/cases_parse_special.jsonl" };
    for (int f = 0; f < 2; f++) {
        stats st = { 0 };
        golden_file(t, tname, files[f], &st);
        printf("# %s %s: %d records: ids %d, decoded %d, decoded_keep_special %d, stream %d, "
               "stream keep-special %d\n", tname, files[f] + 24, st.recs, st.ids, st.dec, st.keep,
               st.stream, st.stream_keep);
        CHECK(st.recs == 724, "%s: %d records", files[f], st.recs);
    }
}

/* decode(encode(text)) == text for every add_bos=false string without a literal '▁' */
static void round_trips(const tok *t) {
    char p[512];
    size_t len;
    char *txt = check_slurp(check_path(p, sizeof p, "golden/tokenizer-llama2/cases.jsonl"), &len);
    if (!txt) return;
    int strings = 0, same = 0;
    for (char *line = txt, *nl; line < txt + len; line = nl + 1) {
        nl = memchr(line, '\n', (size_t)(txt + len - line));
        if (!nl) nl = txt + len;
        json_doc *d = json_parse(line, (size_t)(nl - line), NULL, 0);
        if (!d) continue;
        json *r = json_root(d), *text = json_get(r, "text");
        if (!json_bool(json_get(r, "add_bos"), true)) {
            int32_t *ids, n = enc(t, text->str, text->len, false, false, &ids), dl;
            char *s = dec(t, ids, n, true, false, &dl);
            bool eq = s && (size_t)dl == text->len && memcmp(s, text->str, text->len) == 0;
            bool has_meta = memmem(text->str, text->len, "\xE2\x96\x81", 3) != NULL;
            strings++;
            same += eq;
            CHECK(eq != has_meta, "round trip of \"%.60s\"", text->str);
            free(ids); free(s);
        }
        json_free(d);
    }
    free(txt);
    CHECK(strings == 362 && same == 359, "round trips: %d of %d strings", same, strings);
}

/* ---- unit checks on the Llama 2 vocabulary ---- */

static void check_ids(const tok *t, const char *s, bool bos, bool special, const int32_t *want, int32_t nw) {
    int32_t *ids, n = enc(t, s, strlen(s), bos, special, &ids);
    bool ok = n == nw && (n == 0 || memcmp(ids, want, (size_t)n * sizeof *ids) == 0);
    CHECK(ok, "encode \"%s\" bos=%d special=%d: got %d ids", s, bos, special, n);
    free(ids);
}

static void basics(const tok *t, const char *name) {
    CHECK(tok_kind(t) == TOK_SPM && tok_n_vocab(t) == 32000, "%s: kind/n_vocab", name);
    CHECK(tok_bos(t) == 1 && tok_eos(t) == 2 && tok_unk(t) == 0 && tok_eot(t) == -1, "%s: special ids", name);
    CHECK(tok_add_bos(t), "%s: add_bos default", name);
    CHECK(tok_attr(t, 0) == TOK_UNKNOWN && tok_attr(t, 1) == TOK_CONTROL && tok_attr(t, 2) == TOK_CONTROL &&
          tok_attr(t, 3) == TOK_BYTE && tok_attr(t, 258) == TOK_BYTE && tok_attr(t, 15043) == TOK_NORMAL,
          "%s: attrs", name);
    CHECK(tok_attr(t, -1) == 0 && tok_attr(t, 32000) == 0 && tok_text(t, 32000, NULL) == NULL, "%s: bad ids", name);
    size_t l;
    const char *s = tok_text(t, 15043, &l);
    CHECK(s && l == 8 && memcmp(s, "\xE2\x96\x81Hello", 8) == 0, "%s: tok_text(15043)", name);
    CHECK(tok_find(t, "\xE2\x96\x81Hello", 8) == 15043 && tok_find(t, "<s>", 3) == 1 &&
          tok_find(t, "<0x0A>", 6) == 13 && tok_find(t, "nope-nope", 9) == -1, "%s: tok_find", name);
    CHECK(tok_score(t, 31999) == -31740.0f, "%s: score of the last token", name);

    static const int32_t hello[] = { 15043 }, shello[] = { 29871, 15043 }, bos_only[] = { 1 },
        lit_s[] = { 529, 29879, 29958 }, sp1[] = { 1, 15043, 2 }, sp2[] = { 15043, 29871, 1, 29871, 3186 },
        two_bos[] = { 1, 1, 15043 }, llama[] = { 243, 162, 169, 156 }, once[] = { 1, 9038, 2501, 263, 931 };
    check_ids(t, "Hello", false, false, hello, 1);
    check_ids(t, " Hello", false, false, shello, 2);
    check_ids(t, "", false, false, NULL, 0);
    check_ids(t, "", true, true, bos_only, 1);
    check_ids(t, "<s>", false, false, lit_s, 3);
    check_ids(t, "<s>Hello</s>", false, true, sp1, 3);
    check_ids(t, "Hello <s> world", false, true, sp2, 5);
    check_ids(t, "<s>Hello", true, true, two_bos, 3);
    check_ids(t, "Once upon a time", true, false, once, 5);

    /* 🦙 alone gets the prefix: "▁" then its bytes */
    int32_t *ids, n = enc(t, "\xF0\x9F\xA6\x99", 4, false, false, &ids);
    CHECK(n == 5 && ids[0] == 29871 && memcmp(ids + 1, llama, sizeof llama) == 0, "llama emoji: %d ids", n);
    free(ids);

    /* caller buffers: the count needed, only cap written */
    int32_t small[2] = { -7, -7 }, big[3] = { -7, -7, -7 };
    char err[128];
    n = tok_encode(t, "Hello <s> world", 15, false, true, small, 1, err, sizeof err);
    CHECK(n == 5 && small[0] == 15043 && small[1] == -7, "encode cap 1: n %d", n);
    n = tok_encode(t, "Hello", 5, true, false, big, 3, err, sizeof err);
    CHECK(n == 2 && big[0] == 1 && big[1] == 15043 && big[2] == -7, "encode cap 3");
    char buf[8] = "xxxxxxx";
    n = tok_decode(t, sp2, 5, buf, 3, false, true);
    CHECK(n == 16 && memcmp(buf, "Hel", 3) == 0 && buf[3] == 'x', "decode cap 3: %d", n);   /* "Hello <s>  world" */

    /* pieces */
    char pb[32];
    CHECK(tok_piece(t, 29871, pb, sizeof pb, false) == 1 && pb[0] == ' ', "piece of ▁");
    CHECK(tok_piece(t, 13, pb, sizeof pb, false) == 1 && pb[0] == '\n', "piece of <0x0A>");
    CHECK(tok_piece(t, 1, pb, sizeof pb, false) == 0, "piece of <s>, special hidden");
    CHECK(tok_piece(t, 1, pb, sizeof pb, true) == 3 && memcmp(pb, "<s>", 3) == 0, "piece of <s>, unparsed");
    CHECK(tok_piece(t, 0, pb, sizeof pb, true) == 5 && memcmp(pb, "<unk>", 5) == 0, "piece of <unk>");
    CHECK(tok_piece(t, 15043, pb, sizeof pb, false) == 6 && memcmp(pb, " Hello", 6) == 0, "piece of ▁Hello");
    CHECK(tok_piece(t, 15043, pb, 2, false) == 6 && memcmp(pb, " H", 2) == 0, "piece cap 2");
    CHECK(tok_piece(t, -1, pb, sizeof pb, false) == TOK_EID && tok_piece(t, 32000, pb, 32, true) == TOK_EID,
          "piece of bad ids");
    int32_t bad[] = { 15043, 40000 };
    CHECK(tok_decode(t, bad, 2, pb, sizeof pb, true, false) == TOK_EID, "decode of a bad id");

    /* the leading-space rule */
    int32_t dl;
    static const int32_t hw[] = { 15043, 3186 }, bhw[] = { 1, 15043, 3186 };
    char *d = dec(t, hw, 2, true, false, &dl);
    CHECK(d && strcmp(d, "Hello world") == 0, "decode without BOS strips: \"%s\"", d);
    free(d);
    d = dec(t, bhw, 3, true, false, &dl);
    CHECK(d && strcmp(d, " Hello world") == 0, "decode with BOS keeps: \"%s\"", d);
    free(d);
    d = dec(t, bhw, 3, false, true, &dl);
    CHECK(d && strcmp(d, "<s> Hello world") == 0, "keep special: \"%s\"", d);
    free(d);
    d = dec(t, bhw, 3, false, false, &dl);
    CHECK(d && strcmp(d, " Hello world") == 0, "BOS kept but hidden: \"%s\"", d);
    free(d);
    d = dec(t, NULL, 0, true, false, &dl);
    CHECK(d && dl == 0, "decode of nothing");
    free(d);
}

static void invalid_utf8(const tok *t) {
    static const struct { const char *s; size_t n, at; } cases[] = {
        { "abc\xff", 4, 3 }, { "\xC0\x80", 2, 0 }, { "ok \xE2\x96", 5, 3 }, { "x\xED\xA0\x80", 4, 1 },
        { "\xF4\x90\x80\x80", 4, 0 }, { "\x80", 1, 0 }, { "a<s>\xFE", 5, 4 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char err[128] = "", want[64];
        int32_t ids[16];
        int32_t n = tok_encode(t, cases[i].s, cases[i].n, true, i & 1, ids, 16, err, sizeof err);
        snprintf(want, sizeof want, "invalid UTF-8 at byte %zu", cases[i].at);
        CHECK(n == TOK_EUTF8 && strstr(err, want), "invalid UTF-8 case %zu: %d \"%s\"", i, n, err);
    }
    int32_t ids[4];
    CHECK(tok_encode(t, "a\0b", 3, false, false, ids, 4, NULL, 0) > 0, "embedded NUL is text");
}

static void streaming(const tok *t) {
    tok_stream s;
    char out[64];
    tok_stream_init(&s, t, false);
    static const int32_t llama[] = { 243, 162, 169, 156 };   /* F0 9F A6 99 */
    int32_t got[4];
    for (int i = 0; i < 4; i++) got[i] = tok_stream_push(&s, llama[i], out, sizeof out);
    CHECK(got[0] == 0 && got[1] == 0 && got[2] == 0 && got[3] == 4 && memcmp(out, "\xF0\x9F\xA6\x99", 4) == 0,
          "emoji held until its last byte: %d %d %d %d", got[0], got[1], got[2], got[3]);
    CHECK(tok_stream_flush(&s, out, sizeof out) == 0, "nothing left");

    /* an incomplete character cut short by a normal token, then one left at the end */
    CHECK(tok_stream_push(&s, 243, out, sizeof out) == 0, "lead byte held");
    int32_t n = tok_stream_push(&s, 15043, out, sizeof out);
    CHECK(n == 9 && memcmp(out, "\xEF\xBF\xBD Hello", 9) == 0, "cut-short char becomes U+FFFD: %d", n);
    CHECK(tok_stream_push(&s, 229, out, sizeof out) == 0, "E2 held");         /* <0xE2> */
    CHECK(tok_stream_flush(&s, out, sizeof out) == 3 && memcmp(out, "\xEF\xBF\xBD", 3) == 0, "flush gives U+FFFD");
    CHECK(tok_stream_push(&s, 3 + 0x9F, out, sizeof out) == 3, "stray continuation byte -> U+FFFD");
    CHECK(tok_stream_push(&s, 1, out, sizeof out) == 0, "BOS hidden");
    CHECK(tok_stream_push(&s, 99999, out, sizeof out) == TOK_EID, "bad id");
    CHECK(tok_stream_push(&s, 15043, out, 2) < 0 && tok_stream_push(&s, 15043, out, 6) == 6,
          "too-small buffer refused, nothing consumed");
    tok_stream_init(&s, t, true);
    CHECK(tok_stream_push(&s, 1, out, sizeof out) == 3 && memcmp(out, "<s>", 3) == 0, "BOS unparsed");
}

static void long_inputs(const tok *t) {
    size_t n = 200000;
    char *s = malloc(n + 1);
    for (size_t i = 0; i < n; i++) s[i] = "ab cd\tefg hij  klm\nnop"[i % 22];
    memcpy(s + 1000, "\xE4\xBD\xA0\xE5\xA5\xBD", 6);
    s[n] = 0;
    int32_t *ids, k = enc(t, s, n, false, false, &ids), dl;
    char *d = k > 0 ? dec(t, ids, k, true, false, &dl) : NULL;
    CHECK(d && (size_t)dl == n && memcmp(d, s, n) == 0, "200 KB round trip (%d ids)", k);
    free(ids); free(d);
    memset(s, 'a', n);
    k = enc(t, s, n, false, false, &ids);
    d = k > 0 ? dec(t, ids, k, true, false, &dl) : NULL;
    CHECK(d && (size_t)dl == n && memcmp(d, s, n) == 0, "200 KB of 'a' (%d ids)", k);
    free(ids); free(d); free(s);
}

/* tokenizer.bin and the GGUF agree on every string, score and attr */
static void same_vocab(const tok *a, const tok *b, const char *what) {
    int bad = 0;
    CHECK(tok_n_vocab(a) == tok_n_vocab(b), "%s: n_vocab %d vs %d", what, tok_n_vocab(a), tok_n_vocab(b));
    for (int32_t i = 0; i < tok_n_vocab(a) && i < tok_n_vocab(b); i++) {
        size_t la, lb;
        const char *sa = tok_text(a, i, &la), *sb = tok_text(b, i, &lb);
        if (la != lb || memcmp(sa, sb, la) || tok_score(a, i) != tok_score(b, i) || tok_attr(a, i) != tok_attr(b, i)) {
            if (bad++ < 5) fprintf(stderr, "%s: token %d differs (%.*s / %.*s, attr %d / %d)\n", what, i,
                                   (int)la, sa, (int)lb, sb, tok_attr(a, i), tok_attr(b, i));
        }
    }
    CHECK(bad == 0, "%s: %d tokens differ", what, bad);
    CHECK(tok_bos(a) == tok_bos(b) && tok_eos(a) == tok_eos(b) && tok_unk(a) == tok_unk(b) &&
          tok_add_bos(a) == tok_add_bos(b), "%s: specials", what);
}

/* ---- stories260K: tok512.bin vs the vocabulary inside the GGUF ---- */

static void stories(void) {
    tok *a = load("models/tok512.bin"), *b = load("models/stories260K.gguf");
    if (!a || !b) { tok_destroy(a); tok_destroy(b); return; }
    same_vocab(a, b, "tok512.bin vs stories260K.gguf");
    static const int32_t once[] = { 1, 403, 407, 261, 378 };
    check_ids(a, "Once upon a time", true, false, once, 5);
    check_ids(b, "Once upon a time", true, false, once, 5);
    const char *strs[] = { "", " ", "  x", "Hello world", "Lily's mom said, \"Lily, let's go to\"",
                           "The dog said, \"I am hungry!\"\nThe cat", "caf\xC3\xA9 \xF0\x9F\xA6\x99 \xE4\xBD\xA0",
                           "<s>tom</s> <unk>", "\t\r\n\x0b\x0c", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "1234567890",
                           "She went to the park. One day, she saw a big, red ball." };
    int agree = 0, total = 0;
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++)
        for (int m = 0; m < 4; m++) {
            int32_t *x, *y, nx = enc(a, strs[i], strlen(strs[i]), m & 1, m & 2, &x);
            int32_t ny = enc(b, strs[i], strlen(strs[i]), m & 1, m & 2, &y);
            bool eq = nx >= 0 && nx == ny && memcmp(x, y, (size_t)nx * sizeof *x) == 0;
            agree += eq; total++;
            CHECK(eq, "tok512 vs gguf: \"%s\" mode %d", strs[i], m);
            free(x); free(y);
        }
    char p0[512];
    size_t tl;
    char *txt = check_slurp(check_path(p0, sizeof p0, "golden/tokenizer-llama2/cases.jsonl"), &tl);
    for (char *line = txt, *nl; txt && line < txt + tl; line = nl + 1) {     /* the 362 golden strings */
        nl = memchr(line, '\n', (size_t)(txt + tl - line));
        if (!nl) nl = txt + tl;
        json_doc *d = json_parse(line, (size_t)(nl - line), NULL, 0);
        json *text = d ? json_get(json_root(d), "text") : NULL;
        if (text && json_bool(json_get(json_root(d), "add_bos"), false))
            for (int m = 0; m < 2; m++) {
                int32_t *x, *y, nx = enc(a, text->str, text->len, true, m, &x);
                int32_t ny = enc(b, text->str, text->len, true, m, &y);
                bool eq = nx >= 0 && nx == ny && memcmp(x, y, (size_t)nx * sizeof *x) == 0;
                agree += eq; total++;
                CHECK(eq, "tok512 vs gguf: \"%.60s\" special %d", text->str, m);
                free(x); free(y);
            }
        json_free(d);
    }
    free(txt);
    printf("# tok512.bin vs stories260K.gguf: %d/%d encodings identical\n", agree, total);

    const char *cases[] = { "s1_bos_only", "s2_once_upon_a_time", "s3_tom_and_mia", "s4_quote_newline" };
    for (int c = 0; c < 4; c++) {
        char rel[128], p[512], err[256];
        snprintf(rel, sizeof rel, "golden/stories260K/%s.json", cases[c]);
        size_t len;
        char *txt = check_slurp(check_path(p, sizeof p, rel), &len);
        json_doc *d = txt ? json_parse(txt, len, err, sizeof err) : NULL;
        CHECK(d, "parse %s", rel);
        if (!d) { free(txt); continue; }
        json *r = json_root(d), *prompt = json_get(r, "prompt");
        int32_t nt, ng, dl, sl;
        int32_t *toks = json_ids(json_get(r, "tokens"), &nt), *gen = json_ids(json_get(r, "generated_tokens"), &ng);
        for (int k = 0; k < 2; k++) {
            const tok *t = k ? b : a;
            int32_t *ids, n = enc(t, prompt->str, prompt->len, true, false, &ids);
            CHECK(n >= 0 && same_ids(ids, n, json_get(r, "prompt_tokens")), "%s prompt ids (%s)", cases[c],
                  k ? "gguf" : "tok512");
            free(ids);
            char *full = dec(t, toks, nt, true, false, &dl);
            CHECK(same_str(full, dl, json_get(r, "full_text_detokenized")), "%s full_text_detokenized (%s)",
                  cases[c], k ? "gguf" : "tok512");
            free(full);
            char *gs = stream_all(t, gen, ng, false, &sl);
            CHECK(same_str(gs, sl, json_get(r, "generated_text")), "%s generated_text streamed (%s)", cases[c],
                  k ? "gguf" : "tok512");
            free(gs);
        }
        free(toks); free(gen);
        json_free(d);
        free(txt);
    }
    tok_destroy(a);
    tok_destroy(b);
}

/* ---- broken tokenizer.bin files ---- */

static const char *tmpfile_with(const char *name, const void *data, size_t n) {
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "wb");
    if (f) { if (n) fwrite(data, 1, n, f); fclose(f); }
    return p;
}

static void expect_fail(const char *name, const void *data, size_t n, const char *needle) {
    tok *t = (tok *)1;
    char err[512] = "";
    int rc = tok_from_llama2c(&t, tmpfile_with(name, data, n), err, sizeof err);
    CHECK(rc == TOK_EFORMAT && t == NULL && strstr(err, needle) && strstr(err, name),
          "%s: rc %d, err \"%s\" (want \"%s\")", name, rc, err, needle);
    t = (tok *)1;
    rc = tok_open(&t, tmpfile_with(name, data, n), err, sizeof err);
    CHECK(rc < 0 && t == NULL, "%s via tok_open: rc %d", name, rc);
}

static void broken_bin(void) {
    char p[512];
    size_t n;
    unsigned char *b = check_slurp(check_path(p, sizeof p, "models/tokenizer.bin"), &n);
    CHECK(b && n == 433869, "tokenizer.bin read");
    if (!b) return;
    expect_fail("empty.bin", b, 0, "empty file");
    expect_fail("t2.bin", b, 2, "truncated header");
    expect_fail("t4.bin", b, 4, "no tokens");
    expect_fail("t7.bin", b, 7, "byte 4");                 /* inside token 0's header */
    expect_fail("t14.bin", b, 14, "byte 12");              /* inside "<unk>" */
    expect_fail("t1000.bin", b, 1000, "truncated");
    expect_fail("tlast.bin", b, n - 1, "token 31999");
    /* a record boundary is a shorter, valid vocabulary */
    size_t off = 4;
    for (int i = 0; i < 300; i++) { int32_t l; memcpy(&l, b + off + 4, 4); off += 8 + (size_t)l; }
    tok *t = NULL;
    char err[256];
    int rc = tok_from_llama2c(&t, tmpfile_with("t300.bin", b, off), err, sizeof err);
    CHECK(rc == TOK_OK && t && tok_n_vocab(t) == 300, "300-token prefix loads: rc %d", rc);
    tok_destroy(t);
    /* garbage */
    unsigned char g[64];
    memcpy(g, b, 64);
    int32_t v = -5;
    memcpy(g, &v, 4);
    expect_fail("negmax.bin", g, 64, "max_token_length");
    memcpy(g, b, 64);
    v = 28;
    memcpy(g + 8, &v, 4);
    expect_fail("toolong.bin", g, 64, "outside 0..max_token_length");
    v = -1;
    memcpy(g + 8, &v, 4);
    expect_fail("neglen.bin", g, 64, "byte 8");
    memcpy(g, b, 64);
    float nan = 0.0f / 0.0f;
    memcpy(g + 4, &nan, 4);
    expect_fail("nan.bin", g, 64, "not finite");
    t = (tok *)1;
    rc = tok_open(&t, "/nonexistent/tokenizer.bin", err, sizeof err);
    CHECK(rc == TOK_EIO && t == NULL && strstr(err, "/nonexistent/tokenizer.bin"), "missing file: %d %s", rc, err);
    free(b);
}

/* ---- GGUF metadata rules on hand-made files ---- */

/* Writes a vocab-only GGUF with the Llama 2 tokenizer copied from src, except
 * `skip` (not copied) and the extra keys set by fn. */
typedef void (*extra_fn)(ggufw *w);

static const char *make_gguf(const gguf *src, const char *name, const char *skip, extra_fn fn) {
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", tmpdir, name);
    ggufw *w = ggufw_create();
    for (int64_t i = 0; i < gguf_n_kv(src); i++) {
        const char *k = gguf_kv_key(src, i);
        if (strncmp(k, "tokenizer.", 10) == 0 && (!skip || strcmp(k, skip) != 0))
            ggufw_copy_kv(w, k, gguf_kv_value(src, i));
    }
    ggufw_set_str(w, "general.architecture", "llama");
    if (fn) fn(w);
    char err[256];
    int rc = ggufw_begin(w, p, err, sizeof err);
    if (!rc) rc = ggufw_end(w, err, sizeof err);
    CHECK(rc == 0, "write %s: %s", name, err);
    ggufw_destroy(w);
    return p;
}

static void x_unset_bos(ggufw *w) { ggufw_set_u32(w, "tokenizer.ggml.bos_token_id", 4294967295u); }
static void x_big_bos(ggufw *w) { ggufw_set_u32(w, "tokenizer.ggml.bos_token_id", 32000); }
static void x_bert(ggufw *w) { ggufw_set_str(w, "tokenizer.ggml.model", "bert"); }
static void x_flags(ggufw *w) {
    ggufw_set_bool(w, "tokenizer.ggml.add_bos_token", false);
    ggufw_set_bool(w, "tokenizer.ggml.add_space_prefix", false);
    ggufw_set_u32(w, "tokenizer.ggml.eot_token_id", 2);
}
static void x_short_scores(ggufw *w) {
    float s[3] = { 0 };
    ggufw_set_arr(w, "tokenizer.ggml.scores", GGUF_T_F32, s, 3);
}
static void x_bad_type(ggufw *w) {
    static int32_t ty[32000];
    for (int i = 0; i < 32000; i++) ty[i] = 1;
    ty[77] = 9;
    ggufw_set_arr(w, "tokenizer.ggml.token_type", GGUF_T_I32, ty, 32000);
}

static tok *open_expect(const char *path, int want_rc, const char *needle) {
    tok *t = NULL;
    char err[512] = "";
    int rc = tok_open(&t, path, err, sizeof err);
    CHECK(rc == want_rc && (rc == 0) == (t != NULL) && (!needle || strstr(err, needle)),
          "%s: rc %d err \"%s\" (want %d \"%s\")", path, rc, err, want_rc, needle ? needle : "");
    return t;
}

static void gguf_rules(void) {
    char p[512], err[512];
    gguf *g = NULL;
    if (gguf_open(&g, check_path(p, sizeof p, "models/ggml-vocab-llama-spm.gguf"), err, sizeof err)) {
        CHECK(0, "gguf_open: %s", err);
        return;
    }
    const char *path = make_gguf(g, "notok.gguf", "tokenizer.ggml.model", NULL);
    char want[600];
    snprintf(want, sizeof want, "%s: no tokenizer in this file (tokenizer.ggml.model missing)", path);
    tok_destroy(open_expect(path, TOK_EFORMAT, want));
    tok *t = open_expect(make_gguf(g, "unset.gguf", NULL, x_unset_bos), TOK_OK, NULL);
    if (t) {
        CHECK(tok_bos(t) == -1 && tok_eos(t) == 2, "bos 4294967295 is unset");
        int32_t ids[4];
        CHECK(tok_encode(t, "Hello", 5, true, false, ids, 4, NULL, 0) == 1 && ids[0] == 15043, "no BOS to add");
    }
    tok_destroy(t);
    tok_destroy(open_expect(make_gguf(g, "bigbos.gguf", NULL, x_big_bos), TOK_EFORMAT, "out of range"));
    tok_destroy(open_expect(make_gguf(g, "bert.gguf", NULL, x_bert), TOK_EFORMAT, "unsupported tokenizer model 'bert'"));
    tok_destroy(open_expect(make_gguf(g, "notokens.gguf", "tokenizer.ggml.tokens", NULL), TOK_EFORMAT,
                            "tokenizer.ggml.tokens"));
    tok_destroy(open_expect(make_gguf(g, "scores.gguf", NULL, x_short_scores), TOK_EFORMAT, "scores"));
    tok_destroy(open_expect(make_gguf(g, "type.gguf", NULL, x_bad_type), TOK_EFORMAT, "token_type[77] = 9"));
    t = open_expect(make_gguf(g, "flags.gguf", NULL, x_flags), TOK_OK, NULL);
    if (t) {
        CHECK(!tok_add_bos(t) && tok_eot(t) == 2, "flags: add_bos false, eot 2");
        int32_t ids[8], dl, n = tok_encode(t, "Hello", 5, false, false, ids, 8, NULL, 0);
        size_t l;
        const char *s0 = n > 0 ? tok_text(t, ids[0], &l) : NULL;
        CHECK(s0 && n <= 8 && l > 0 && s0[0] == 'H', "no space prefix: \"Hello\" starts with H (%d ids)", n);
        char *d = n > 0 && n <= 8 ? dec(t, ids, n, true, false, &dl) : NULL;
        CHECK(d && strcmp(d, "Hello") == 0, "decode without prefix");
        free(d);
    }
    tok_destroy(t);
    /* no scores, no types: still loads, everything NORMAL */
    tok_destroy(open_expect(make_gguf(g, "bare.gguf", "tokenizer.ggml.token_type", NULL), TOK_OK, NULL));
    gguf_close(g);
    /* a tok outlives its gguf */
    gguf_open(&g, check_path(p, sizeof p, "models/stories260K.gguf"), err, sizeof err);
    t = NULL;
    if (g) tok_from_gguf(&t, g, err, sizeof err);
    gguf_close(g);
    int32_t ids[8];
    CHECK(t && tok_encode(t, "Once upon a time", 16, true, false, ids, 8, NULL, 0) == 5 && ids[4] == 378,
          "tok after gguf_close");
    tok_destroy(t);
}

/* ---- gpt2 GGUF (built from the Llama 3 tokenizer.json) through tok_from_gguf ---- */

/* Records of a tokenizer-llama3 jsonl file: ids, the decodings present, streaming. */
static void llama3_file(const tok *t, const char *rel, int nrec) {
    char p[512];
    size_t len;
    char *cs = check_slurp(check_path(p, sizeof p, rel), &len);
    stats st = { 0 };
    for (char *line = cs, *nl; cs && line < cs + len; line = nl + 1) {
        nl = memchr(line, '\n', (size_t)(cs + len - line));
        if (!nl) nl = cs + len;
        json_doc *jd = json_parse(line, (size_t)(nl - line), NULL, 0);
        if (!jd) continue;
        json *rr = json_root(jd), *text = json_get(rr, "text"), *want_dec = json_get(rr, "decoded");
        bool bos = json_bool(json_get(rr, "add_bos"), false), special = json_bool(json_get(rr, "parse_special"), true);
        int32_t *ids, m = enc(t, text->str, text->len, bos, special, &ids), dl, kl, sl;
        bool ok = m >= 0 && same_ids(ids, m, json_get(rr, "ids"));
        st.recs++; st.ids += ok;
        CHECK(ok, "llama3 gguf %s: ids of \"%.60s\"", rel, text->str);
        int32_t gn, *g = json_ids(json_get(rr, "ids"), &gn);
        char *ds = dec(t, g, gn, true, false, &dl), *ks = dec(t, g, gn, false, true, &kl);
        char *ss = stream_all(t, g, gn, false, &sl);
        ok = !want_dec || same_str(ds, dl, want_dec); st.dec += ok;
        CHECK(ok, "llama3 gguf: decoded of \"%.60s\"", text->str);
        ok = same_str(ks, kl, json_get(rr, "decoded_keep_special")); st.keep += ok;
        CHECK(ok, "llama3 gguf: decoded_keep_special of \"%.60s\"", text->str);
        ok = ss && sl == dl && memcmp(ss, ds, (size_t)dl) == 0; st.stream += ok;   /* no space rule for BPE */
        CHECK(ok, "llama3 gguf: stream of \"%.60s\"", text->str);
        free(ids); free(g); free(ds); free(ks); free(ss);
        json_free(jd);
    }
    free(cs);
    printf("# llama3 gpt2-GGUF %s: %d records: ids %d, decoded %d, decoded_keep_special %d, stream %d\n",
           rel + 24, st.recs, st.ids, st.dec, st.keep, st.stream);
    CHECK(st.recs == nrec, "%s: %d records", rel, st.recs);
}

static void bpe_gguf(void) {
    char p[512], err[256];
    size_t len;
    char *txt = check_slurp(check_path(p, sizeof p, "golden/tokenizer-llama3/tokenizer.json"), &len);
    json_doc *d = txt ? json_parse(txt, len, err, sizeof err) : NULL;
    CHECK(d, "parse tokenizer.json");
    if (!d) { free(txt); return; }
    json *r = json_root(d), *model = json_get(r, "model"), *vocab = json_get(model, "vocab");
    json *merges = json_get(model, "merges"), *added = json_get(r, "added_tokens");
    size_t n = vocab->n + added->n;
    const char **toks = calloc(n, sizeof *toks);
    size_t *lens = calloc(n, sizeof *lens);
    int32_t *types = calloc(n, sizeof *types);
    for (const json *e = vocab->child; e; e = e->next) {
        size_t id = (size_t)e->num;
        if (id < n) { toks[id] = e->key; lens[id] = e->klen; types[id] = TOK_NORMAL; }
    }
    for (const json *e = added->child; e; e = e->next) {
        size_t id = (size_t)json_num(json_get(e, "id"), -1);
        json *c = json_get(e, "content");
        if (id < n) { toks[id] = c->str; lens[id] = c->len; types[id] = TOK_CONTROL; }
    }
    const char **ms = calloc(merges->n, sizeof *ms);
    size_t *ml = calloc(merges->n, sizeof *ml), k = 0;
    for (const json *e = merges->child; e; e = e->next, k++) { ms[k] = e->str; ml[k] = e->len; }
    snprintf(p, sizeof p, "%s/llama3.gguf", tmpdir);
    ggufw *w = ggufw_create();
    ggufw_set_str(w, "general.architecture", "llama");
    ggufw_set_str(w, "tokenizer.ggml.model", "gpt2");
    ggufw_set_str(w, "tokenizer.ggml.pre", "llama-bpe");
    ggufw_set_str_arr(w, "tokenizer.ggml.tokens", toks, lens, n);
    ggufw_set_arr(w, "tokenizer.ggml.token_type", GGUF_T_I32, types, n);
    ggufw_set_str_arr(w, "tokenizer.ggml.merges", ms, ml, merges->n);
    ggufw_set_u32(w, "tokenizer.ggml.bos_token_id", 128000);
    ggufw_set_u32(w, "tokenizer.ggml.eos_token_id", 128001);
    int rc = ggufw_begin(w, p, err, sizeof err);
    if (!rc) rc = ggufw_end(w, err, sizeof err);
    ggufw_destroy(w);
    json_free(d);
    free(txt); free(toks); free(lens); free(types); free(ms); free(ml);
    CHECK(rc == 0, "write llama3.gguf: %s", err);
    tok *t = open_expect(p, TOK_OK, NULL);
    if (!t) return;
    tok *j = load("golden/tokenizer-llama3/tokenizer.json");     /* tok_open sniffs '{' */
    CHECK(j && tok_kind(j) == TOK_BPE && tok_n_vocab(j) == tok_n_vocab(t), "tokenizer.json via tok_open");
    tok_destroy(j);
    CHECK(tok_kind(t) == TOK_BPE && tok_n_vocab(t) == 128256 && tok_bos(t) == 128000 && tok_eot(t) == 128009 &&
          tok_add_bos(t), "llama3 gguf: kind, n_vocab, bos, eot found by text, add_bos default");
    llama3_file(t, "golden/tokenizer-llama3/cases.jsonl", 724);
    llama3_file(t, "golden/tokenizer-llama3/cases_no_special_parsing_llamacpp.jsonl", 16);
    tok_destroy(t);
}

int main(void) {
    const char *td = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/test_tok_spm.XXXXXX", td && *td ? td : "/tmp");
    CHECK(mkdtemp(tmpdir) != NULL, "mkdtemp %s", tmpdir);

    tok *g = load("models/ggml-vocab-llama-spm.gguf"), *b = load("models/tokenizer.bin");
    if (g && b) {
        same_vocab(g, b, "ggml-vocab-llama-spm.gguf vs tokenizer.bin");
        basics(g, "gguf");
        basics(b, "tokenizer.bin");
        golden(g, "gguf");
        golden(b, "tokenizer.bin");
        round_trips(g);
        round_trips(b);
        invalid_utf8(g);
        streaming(g);
        long_inputs(b);
    }
    tok_destroy(g);
    tok_destroy(b);
    stories();
    broken_bin();
    gguf_rules();
    bpe_gguf();

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return check_done();
}
