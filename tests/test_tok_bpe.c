/* test_tok_bpe: the byte-level BPE tokenizer (core/tok_bpe.c, tok_bpe_json.c,
 * unicode.c).
 *
 * 1. Units on tok_bpe_encode fragments, Llama 3 and GPT-2 pre-tokenizers
 *    (expected ids from an independent reference: Python `regex` with the
 *    pattern itself, plus a naive lowest-rank BPE over the merges), the byte
 *    map, and tokenizer.json error handling on small files written to /tmp.
 * 2. Golden: shared/golden/tokenizer-llama3 (cases.jsonl, the no-special-
 *    parsing cases, chat_examples.json) through tok_encode / tok_decode.
 * 3. The same vocabulary written as a vocab-only GGUF (gpt2 / llama-bpe),
 *    reloaded with tok_from_gguf: identical ids on every case.
 */
#include "check.h"
#include "golden.h"
#include "gguf.h"
#include "ggufw.h"
#include "json.h"
#include "tok.h"
#include "tok_impl.h"
#include "unicode.h"
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#define LIT(s) s, sizeof s - 1

typedef struct frag_case { const char *s; size_t n; int32_t n_ids; int32_t ids[16]; } frag_case;

static const frag_case llama3_cases[] = {
    { LIT("Hello world"), 2, { 9906, 1917 } },
    { LIT(" Hello"), 1, { 22691 } },
    { LIT(""), 0, { 0 } },
    { LIT("I'M here, you'RE sure 'll 'Ll 'd"), 14,
      { 40, 28703, 1618, 11, 499, 95253, 2771, 364, 657, 364, 43, 75, 364, 67 } },
    { LIT("don't we've they'd"), 6, { 15357, 956, 584, 3077, 814, 4265 } },
    { LIT("1234567"), 3, { 4513, 10961, 22 } },
    { LIT("a  b"), 3, { 64, 220, 293 } },
    { LIT("a \n\n b"), 3, { 64, 4815, 293 } },
    { LIT("\r\n\r\n  x"), 3, { 881, 220, 865 } },
    { LIT("x   "), 2, { 87, 262 } },
    { LIT("\t\tfoo"), 3, { 197, 197, 8134 } },
    { LIT("hello!!!\n\nworld"), 3, { 15339, 33157, 14957 } },
    { LIT("\xe4\xb8\xad\xe6\x96\x87 \xd1\x82\xd0\xb5\xd0\xba\xd1\x81\xd1\x82 \xc2\xb2\xc2\xb3"), 5,
      { 108891, 71995, 220, 30556, 44301 } },
    { LIT("\xc2\xa0word"), 2, { 4194, 1178 } },
    { LIT("\xf0\x9f\x98\x80\xf0\x9f\x98\x80 x"), 5, { 76460, 222, 76460, 222, 865 } },
    { LIT(" 123"), 2, { 220, 4513 } },
    { LIT("\x00\x01\x7f"), 3, { 188, 189, 221 } },
    { LIT("  ...\n"), 2, { 220, 12515 } },
    { LIT("'hello 'sup"), 4, { 6, 15339, 364, 13066 } },
    { LIT("x\xe2\x80\x8d\xe2\x80\x8dy"), 4, { 87, 102470, 102470, 88 } },
    { LIT(" vi\xe1\xbb\x87" "c"), 1, { 100769 } },   /* whole in vocab (ignore_merges) */
};

/* Same vocabulary with the GPT-2 pre-tokenizer and ignore_merges off. */
static const frag_case gpt2_cases[] = {
    { LIT("Hello world"), 2, { 9906, 1917 } },
    { LIT("I'M here 'll 're"), 8, { 40, 6, 44, 1618, 364, 657, 364, 265 } },
    { LIT("1234567"), 3, { 4513, 1774, 3080 } },
    { LIT("a  b"), 3, { 64, 220, 293 } },
    { LIT("  \n x"), 2, { 2355, 865 } },
    { LIT(" ?!x"), 3, { 949, 0, 87 } },
    { LIT("\t\tfoo"), 3, { 197, 197, 8134 } },
    { LIT("x   "), 2, { 87, 262 } },
    { LIT(" vi\xe1\xbb\x87" "c"), 3, { 3355, 26298, 66 } },   /* merged, not whole */
};

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static bool ids_eq(const int32_t *a, int32_t na, const int32_t *b, int32_t nb) {
    return na == nb && (na == 0 || memcmp(a, b, (size_t)na * sizeof *a) == 0);
}

static void print_ids(const char *what, const int32_t *v, int32_t n) {
    fprintf(stderr, "  %s:", what);
    for (int32_t i = 0; i < n; i++) fprintf(stderr, " %d", v[i]);
    fputc('\n', stderr);
}

static void check_frags(const tok *t, const frag_case *c, size_t n, const char *mode) {
    for (size_t i = 0; i < n; i++) {
        tok_ids o = { 0 };
        int rc = tok_bpe_encode(t, c[i].s, c[i].n, &o);
        bool ok = rc == TOK_OK && ids_eq(o.v, o.n, c[i].ids, c[i].n_ids);
        CHECK(ok, "%s fragment %zu \"%.*s\" rc %d", mode, i, (int)c[i].n, c[i].s, rc);
        if (!ok) { print_ids("want", c[i].ids, c[i].n_ids); print_ids("got", o.v, o.n); }
        free(o.v);
    }
}

/* Concatenated unmapped token strings of ids, into out (cap bytes). */
static size_t unmap_ids(const tok *t, const int32_t *ids, int32_t n, char *out, size_t cap) {
    size_t k = 0;
    for (int32_t i = 0; i < n; i++) {
        size_t len;
        const char *s = tok_text(t, ids[i], &len);
        if (!s || k + len > cap) return (size_t)-1;
        int m = tok_bpe_unmap(s, len, out + k);
        if (m < 0) return (size_t)-1;
        k += (size_t)m;
    }
    return k;
}

static void test_byte_map(const tok *t) {
    char out[16];
    CHECK(tok_bpe_unmap("\xC4\xA0", 2, out) == 1 && out[0] == ' ', "unmap \"G\" -> ' '");
    CHECK(tok_bpe_unmap("\xC4\x8A", 2, out) == 1 && out[0] == '\n', "unmap \"C\" -> '\\n'");
    CHECK(tok_bpe_unmap("\xC4\x80\xC5\x83", 4, out) == 2 && out[0] == 0 && out[1] == (char)0xAD,
          "unmap U+0100 U+0143 -> 0x00 0xAD");
    CHECK(tok_bpe_unmap("\xE4\xB8\xAD", 3, out) == -1, "a char outside the byte map");
    CHECK(tok_bpe_unmap("\xC5\x84", 2, out) == -1, "U+0144 is past the map");
    CHECK(tok_bpe_unmap(" ", 1, out) == -1, "a raw space is not a mapped byte");
    CHECK(tok_bpe_unmap("\xC4", 1, out) == -1, "truncated UTF-8");
    /* every byte alone encodes to one token that unmaps back to it */
    int bad = 0;
    for (int b = 0; b < 256; b++) {
        char c = (char)b, back[8];
        tok_ids o = { 0 };
        tok_bpe_encode(t, &c, 1, &o);
        if (o.n != 1 || unmap_ids(t, o.v, o.n, back, sizeof back) != 1 || back[0] != c) bad++;
        free(o.v);
    }
    CHECK(bad == 0, "%d of 256 single bytes do not round-trip", bad);
}

static void test_unicode(void) {
    CHECK(uni_class('a') == UNI_L && uni_class('Z') == UNI_L && uni_class('7') == UNI_N, "ASCII classes");
    CHECK(uni_class(' ') == UNI_S && uni_class('\n') == UNI_S && uni_class('_') == UNI_OTHER, "ASCII classes");
    CHECK(uni_is_letter(0x4E2D) && uni_is_letter(0x00E9) && uni_is_letter(0x02B0), "CJK, e-acute, modifier");
    CHECK(uni_is_number(0x00B2) && uni_is_number(0x0663) && uni_is_number(0x216B), "No, Nd, Nl");
    CHECK(uni_is_space(0x00A0) && uni_is_space(0x0085) && uni_is_space(0x3000) && uni_is_space(0x2029),
          "White_Space beyond ASCII");
    CHECK(!uni_is_space(0x200B) && !uni_is_space(0xFEFF) && !uni_is_space(0x001C), "not White_Space");
    CHECK(uni_class(0x0300) == UNI_OTHER && uni_class(0x1F600) == UNI_OTHER, "Mn and emoji are other");
    CHECK(uni_class(0x10FFFF) == UNI_OTHER && uni_class(0x110000) == UNI_OTHER, "top of the range");
    CHECK(uni_is_letter(0x20000) && uni_is_letter(0x2A6DF), "CJK extension B ends");
    CHECK(uni_ieq_ascii('S', 's') && uni_ieq_ascii('s', 's') && !uni_ieq_ascii(0x017F, 's'), "contraction folding");
    for (int i = 1; i < uni_n_ranges; i++)
        if (uni_ranges[i].lo <= uni_ranges[i - 1].hi) { CHECK(0, "ranges overlap at %d", i); break; }
}

/* Pseudo-random valid UTF-8 from a pool of pieces; encodes and checks that
 * the tokens unmap back to the text (also exercises long pre-tokens). */
static void test_roundtrip(tok *t) {
    static const char *const pool[] = { "a", "b", "Z", "the", " ", "  ", "\n", "\r\n", "\t", "'", "'s",
        "0", "12", "!", "?", ".", "\xc3\xa9", "\xe4\xb8\xad", "\xf0\x9f\x98\x80", "\xc2\xa0",
        "\xe2\x80\x8d", "\xcc\x80", "\xd9\xa3", "\x01", "\x7f", "-", "_" };
    size_t cap = 1 << 16;
    char *text = malloc(cap), *back = malloc(cap);
    uint32_t seed = 12345;
    int bad = 0;
    for (int round = 0; round < 60; round++) {
        size_t n = 0, want = round < 50 ? (size_t)(seed % 200) : 20000;
        while (n + 8 < want) {
            seed = seed * 1103515245u + 12345u;
            const char *p = pool[(seed >> 16) % (sizeof pool / sizeof *pool)];
            if (round >= 55) p = round % 2 ? " " : "x";   /* one huge pre-token */
            size_t l = strlen(p);
            memcpy(text + n, p, l);
            n += l;
        }
        t->pre = round % 3 == 2 ? TOK_PRE_GPT2 : TOK_PRE_LLAMA3;
        tok_ids o = { 0 };
        int rc = tok_bpe_encode(t, text, n, &o);
        size_t k = rc ? (size_t)-1 : unmap_ids(t, o.v, o.n, back, cap);
        if (k != n || memcmp(back, text, n) != 0) bad++;
        free(o.v);
    }
    t->pre = TOK_PRE_LLAMA3;
    CHECK(bad == 0, "%d of 60 pseudo-random texts do not round-trip", bad);
    free(text); free(back);
}

static void test_units(tok *t) {
    CHECK(tok_kind(t) == TOK_BPE && tok_n_vocab(t) == 128256, "kind %d n_vocab %d", tok_kind(t), tok_n_vocab(t));
    CHECK(tok_bos(t) == 128000 && tok_eos(t) == 128001 && tok_eot(t) == 128009, "bos %d eos %d eot %d",
          tok_bos(t), tok_eos(t), tok_eot(t));
    CHECK(t->pre == TOK_PRE_LLAMA3 && t->ignore_merges && !t->add_space_prefix, "pre %d", t->pre);
    CHECK(tok_add_bos(t), "Llama 3 adds BOS by default");
    CHECK(t->nl == 198 && t->unk == -1, "nl %d unk %d", t->nl, t->unk);
    CHECK(tok_attr(t, 128000) == TOK_CONTROL && tok_attr(t, 128255) == TOK_CONTROL &&
          tok_attr(t, 0) == TOK_NORMAL, "attributes");
    size_t len;
    const char *s = tok_text(t, 22691, &len);
    CHECK(s && len == 7 && memcmp(s, "\xC4\xA0Hello", 7) == 0, "text of 22691");
    test_byte_map(t);
    check_frags(t, llama3_cases, sizeof llama3_cases / sizeof *llama3_cases, "llama3");
    /* 300 spaces then x: the run minus its last space, then " x" */
    char sp[301];
    memset(sp, ' ', 300);
    sp[300] = 'x';
    tok_ids o = { 0 };
    tok_bpe_encode(t, sp, sizeof sp, &o);
    static const int32_t want[] = { 58040, 58040, 3425, 865 };
    CHECK(ids_eq(o.v, o.n, want, 4), "300 spaces + x");
    free(o.v);
    t->pre = TOK_PRE_GPT2;
    t->ignore_merges = false;
    check_frags(t, gpt2_cases, sizeof gpt2_cases / sizeof *gpt2_cases, "gpt2");
    t->pre = TOK_PRE_NONE;
    o = (tok_ids){ 0 };
    CHECK(tok_bpe_encode(t, LIT("ab cd"), &o) == TOK_OK && o.n >= 2, "no pre-tokenizer: one word");
    free(o.v);
    t->pre = TOK_PRE_LLAMA3;
    t->ignore_merges = true;
    test_roundtrip(t);
}

/* ---- tokenizer.json errors and a small GPT-2 style file ---- */

static char tmpdir[64];

static void put_file(const char *name, const char *text) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    if (f) { fputs(text, f); fclose(f); }
}

#define MINI_VOCAB "\"vocab\":{\"h\":0,\"e\":1,\"l\":2,\"o\":3,\"\xC4\xA0\":4,\"he\":5,\"ll\":6,\"hell\":7,\"hello\":8}"
#define MINI_PRE "\"pre_tokenizer\":{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"use_regex\":true}"
#define MINI_ADDED "\"added_tokens\":[{\"id\":9,\"content\":\"<s>\",\"special\":true}," \
                   "{\"id\":10,\"content\":\"<x>\",\"special\":false}]"

/* Loads `json` as tokenizer.json; expects rc and, on failure, that err names
 * the file and holds `needle`. */
static void expect_load(const char *json_text, int want_rc, const char *needle) {
    char path[256], err[512] = "";
    put_file("tokenizer.json", json_text);
    snprintf(path, sizeof path, "%s/tokenizer.json", tmpdir);
    tok *t = NULL;
    int rc = tok_bpe_from_json(&t, path, err, sizeof err);
    CHECK(rc == want_rc, "load rc %d want %d (%s) for %.80s", rc, want_rc, err, json_text);
    if (want_rc) {
        CHECK(!t && strstr(err, "tokenizer") && (!needle || strstr(err, needle)),
              "error \"%s\" should name the file and say \"%s\"", err, needle ? needle : "");
    }
    tok_destroy(t);
}

static void test_mini(void) {
    char path[256], err[512] = "";
    put_file("tokenizer_config.json", "{\"bos_token\":{\"content\":\"<s>\"},\"eos_token\":null,\"add_bos_token\":false}");
    put_file("tokenizer.json", "{\"model\":{\"type\":\"BPE\"," MINI_VOCAB ",\"merges\":"
             "[[\"h\",\"e\"],[\"l\",\"l\"],\"he ll\",[\"hell\",\"o\"]]}," MINI_PRE "," MINI_ADDED "}");
    snprintf(path, sizeof path, "%s/tokenizer.json", tmpdir);
    tok *t = NULL;
    int rc = tok_bpe_from_json(&t, path, err, sizeof err);
    CHECK(rc == TOK_OK, "mini tokenizer: %s", err);
    if (rc) return;
    CHECK(t->n_vocab == 11 && t->pre == TOK_PRE_GPT2 && !t->ignore_merges, "mini: n %d pre %d", t->n_vocab, t->pre);
    CHECK(t->bos == 9 && t->eos == -1 && !t->add_bos, "mini: bos %d eos %d add_bos %d", t->bos, t->eos, t->add_bos);
    CHECK(t->attr[9] == TOK_CONTROL && t->attr[10] == TOK_USER_DEFINED && t->attr[8] == TOK_NORMAL, "mini attrs");
    tok_ids o = { 0 };
    static const int32_t w1[] = { 8, 4, 8 }, w2[] = { 7 }, w3[] = { 5, 1 };
    tok_bpe_encode(t, LIT("hello hello"), &o);
    CHECK(ids_eq(o.v, o.n, w1, 3), "mini: hello hello");
    o.n = 0;
    tok_bpe_encode(t, LIT("hell"), &o);
    CHECK(ids_eq(o.v, o.n, w2, 1), "mini: hell");
    o.n = 0;
    tok_bpe_encode(t, LIT("hee"), &o);
    CHECK(ids_eq(o.v, o.n, w3, 2), "mini: hee");
    o.n = 0;
    tok_bpe_encode(t, LIT("zz"), &o);
    CHECK(o.n == 0, "mini: bytes outside the vocabulary are dropped when there is no unk");
    free(o.v);
    tok_destroy(t);
    put_file("tokenizer_config.json", "{\"bos_token\":\"<nope>\"}");
    expect_load("{\"model\":{\"type\":\"BPE\"," MINI_VOCAB ",\"merges\":[]}," MINI_PRE "}",
                TOK_EFORMAT, "bos_token");
    snprintf(path, sizeof path, "%s/tokenizer_config.json", tmpdir);
    unlink(path);
}

static void test_errors(void) {
    char err[256] = "";
    tok *t = NULL;
    CHECK(tok_bpe_from_json(&t, "/nonexistent/tokenizer.json", err, sizeof err) == TOK_EIO && !t &&
          strstr(err, "/nonexistent/tokenizer.json"), "missing file: %s", err);
    expect_load("{\"model\":", TOK_EFORMAT, "invalid JSON");
    expect_load("[]", TOK_EFORMAT, "not an object");
    expect_load("{}", TOK_EFORMAT, "model");
    expect_load("{\"model\":{\"type\":\"Unigram\"}}", TOK_EFORMAT, "Unigram");
    expect_load("{\"model\":{\"type\":\"BPE\",\"merges\":[]}," MINI_PRE "}", TOK_EFORMAT, "model.vocab");
    expect_load("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":2},\"merges\":[]}," MINI_PRE "}",
                TOK_EFORMAT, "holes");
    expect_load("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":0,\"c\":1},\"merges\":[]}," MINI_PRE "}",
                TOK_EFORMAT, "id 0");
    expect_load("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":-1},\"merges\":[]}," MINI_PRE "}",
                TOK_EFORMAT, "no valid id");
    expect_load("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0.5},\"merges\":[]}," MINI_PRE "}",
                TOK_EFORMAT, "no valid id");
    expect_load("{\"model\":{\"type\":\"BPE\"," MINI_VOCAB "}," MINI_PRE "}", TOK_EFORMAT, "merges");
    expect_load("{\"model\":{\"type\":\"BPE\"," MINI_VOCAB ",\"merges\":[3]}," MINI_PRE "}", TOK_EFORMAT, "merges[0]");
    expect_load("{\"model\":{\"type\":\"BPE\"," MINI_VOCAB ",\"merges\":[\"he\"]}," MINI_PRE "}",
                TOK_EFORMAT, "left right");
    expect_load("{\"model\":{\"type\":\"BPE\"," MINI_VOCAB ",\"merges\":[[\"h\"]]}," MINI_PRE "}",
                TOK_EFORMAT, "merges[0]");
    expect_load("{\"model\":{\"type\":\"BPE\"," MINI_VOCAB ",\"merges\":[]}}", TOK_EFORMAT, "ByteLevel");
    expect_load("{\"model\":{\"type\":\"BPE\"," MINI_VOCAB ",\"merges\":[]},\"normalizer\":{\"type\":\"NFC\"},"
                MINI_PRE "}", TOK_EFORMAT, "NFC");
    expect_load("{\"model\":{\"type\":\"BPE\"," MINI_VOCAB ",\"merges\":[]},\"pre_tokenizer\":{\"type\":\"Sequence\","
                "\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":\"\\\\d+\"},\"behavior\":\"Isolated\"},"
                "{\"type\":\"ByteLevel\",\"use_regex\":false}]}}", TOK_EFORMAT, "Split pattern");
    expect_load("{\"model\":{\"type\":\"BPE\"," MINI_VOCAB ",\"merges\":[]},\"pre_tokenizer\":{\"type\":\"Metaspace\"}}",
                TOK_EFORMAT, "Metaspace");
    expect_load("{\"model\":{\"type\":\"BPE\"," MINI_VOCAB ",\"merges\":[]}," MINI_PRE ","
                "\"added_tokens\":[{\"id\":\"9\",\"content\":\"<s>\"}]}", TOK_EFORMAT, "added_tokens[0]");
    expect_load("{\"model\":{\"type\":\"BPE\"," MINI_VOCAB ",\"merges\":[]}," MINI_PRE ","
                "\"added_tokens\":[{\"id\":0,\"content\":\"<s>\"}]}", TOK_EFORMAT, "id 0");
    expect_load("{\"model\":{\"type\":\"BPE\"," MINI_VOCAB ",\"merges\":[]}," MINI_PRE ","
                "\"added_tokens\":[{\"id\":0,\"content\":\"h\",\"special\":true}]}", TOK_OK, NULL);
}

/* ---- golden ---- */

typedef struct run_stats { int pass, total; } run_stats;

/* One record of cases.jsonl / cases_no_special_parsing_llamacpp.jsonl. */
static bool golden_record(const tok *t, const json *r, const char *file, int line) {
    const json *text = json_get(r, "text");
    bool add_bos = json_bool(json_get(r, "add_bos"), false);
    bool special = json_bool(json_get(r, "parse_special"), true);
    int32_t nw, ids[4096];
    int32_t *want = golden_ints(json_get(r, "ids"), &nw);
    char err[128], buf[16384];
    int32_t n = tok_encode(t, text->str, text->len, add_bos, special, ids, 4096, err, sizeof err);
    bool ok = n >= 0 && n <= 4096 && ids_eq(ids, n, want, nw);
    if (!ok) {
        fprintf(stderr, "FAIL %s:%d ids for \"%.60s\" (add_bos %d special %d)\n", file, line, text->str, add_bos, special);
        print_ids("want", want, nw);
        if (n > 0 && n <= 4096) print_ids("got", ids, n);
    }
    static const char *const fields[] = { "decoded", "decoded_keep_special" };
    for (int k = 0; k < 2 && ok; k++) {
        const json *d = json_get(r, fields[k]);
        if (!d) continue;
        int32_t m = tok_decode(t, want, nw, buf, sizeof buf, k == 0, k == 1);
        if (m < 0 || m > (int32_t)sizeof buf || (size_t)m != d->len || memcmp(buf, d->str, d->len)) {
            fprintf(stderr, "FAIL %s:%d %s of \"%.60s\": \"%.*s\"\n", file, line, fields[k], text->str,
                    m > 0 && m <= (int32_t)sizeof buf ? m : 0, buf);
            ok = false;
        }
    }
    free(want);
    return ok;
}

/* Runs every line of a jsonl file; returns the records seen. */
static run_stats golden_jsonl(const tok *t, const char *rel) {
    char path[512];
    size_t n = 0;
    char *txt = check_slurp(check_path(path, sizeof path, rel), &n);
    run_stats st = { 0, 0 };
    CHECK(txt != NULL, "missing %s", path);
    int line = 0;
    for (char *l = txt; txt && l < txt + n; line++) {
        char *e = memchr(l, '\n', (size_t)(txt + n - l));
        if (!e) e = txt + n;
        char err[128];
        json_doc *d = e > l ? json_parse(l, (size_t)(e - l), err, sizeof err) : NULL;
        if (d) {
            st.total++;
            if (golden_record(t, json_root(d), rel, line + 1)) st.pass++;
            json_free(d);
        }
        l = e + 1;
    }
    free(txt);
    return st;
}

static run_stats golden_chat(const tok *t) {
    char path[512];
    json_doc *d = golden_json(check_path(path, sizeof path, "golden/tokenizer-llama3/chat_examples.json"));
    run_stats st = { 0, 0 };
    CHECK(d != NULL, "chat_examples.json");
    if (!d) return st;
    for (const json *c = json_get(json_root(d), "conversations")->child; c; c = c->next) {
        const json *s = json_get(c, "rendered_add_generation_prompt_true");
        int32_t nw, ids[4096];
        int32_t *want = golden_ints(json_get(c, "ids"), &nw);
        int32_t n = tok_encode(t, s->str, s->len, false, true, ids, 4096, NULL, 0);
        st.total++;
        bool ok = n >= 0 && n <= 4096 && ids_eq(ids, n, want, nw);
        if (ok) st.pass++;
        else fprintf(stderr, "FAIL chat example %s\n", json_str(json_get(c, "name"), "?"));
        free(want);
    }
    json_free(d);
    return st;
}

static void test_golden(const tok *t, const char *label) {
    double t0 = now();
    run_stats a = golden_jsonl(t, "golden/tokenizer-llama3/cases.jsonl");
    run_stats b = golden_jsonl(t, "golden/tokenizer-llama3/cases_no_special_parsing_llamacpp.jsonl");
    run_stats c = golden_chat(t);
    CHECK(a.total == 724 && a.pass == a.total, "%s cases.jsonl: %d of %d", label, a.pass, a.total);
    CHECK(b.total == 16 && b.pass == b.total, "%s no_special: %d of %d", label, b.pass, b.total);
    CHECK(c.total == 3 && c.pass == c.total, "%s chat: %d of %d", label, c.pass, c.total);
    printf("# %s: cases %d/%d, no_special %d/%d, chat %d/%d (%.0f ms)\n", label, a.pass, a.total,
           b.pass, b.total, c.pass, c.total, 1e3 * (now() - t0));
}

static void test_encode_api(const tok *t) {
    int32_t ids[16];
    static const int32_t w[] = { 13347, 128009, 1070 };
    int32_t n = tok_encode(t, LIT("Hi<|eot_id|> there"), false, true, ids, 16, NULL, 0);
    CHECK(ids_eq(ids, n, w, 3), "Hi<|eot_id|> there");
    n = tok_encode(t, LIT(""), true, true, ids, 16, NULL, 0);
    CHECK(n == 1 && ids[0] == 128000, "empty text with BOS");
    char err[128] = "";
    n = tok_encode(t, LIT("ab\xff"), false, true, ids, 16, err, sizeof err);
    CHECK(n == TOK_EUTF8 && strstr(err, "2"), "invalid UTF-8 refused: %d %s", n, err);
}

/* ---- vocab-only GGUF ---- */

static int write_gguf(const tok *t, const char *json_path, const char *out, char *err, size_t errlen) {
    size_t n = 0;
    char *txt = check_slurp(json_path, &n);
    json_doc *d = txt ? json_parse(txt, n, err, errlen) : NULL;
    free(txt);
    if (!d) return -1;
    const json *merges = json_get(json_get(json_root(d), "model"), "merges");
    int32_t nv = tok_n_vocab(t);
    const char **tokens = malloc((size_t)nv * sizeof *tokens), **ms = malloc(merges->n * sizeof *ms);
    size_t *tl = malloc((size_t)nv * sizeof *tl), *ml = malloc(merges->n * sizeof *ml);
    int32_t *types = malloc((size_t)nv * sizeof *types);
    for (int32_t i = 0; i < nv; i++) { tokens[i] = tok_text(t, i, &tl[i]); types[i] = tok_attr(t, i); }
    size_t k = 0;
    for (const json *m = merges->child; m; m = m->next, k++) { ms[k] = m->str; ml[k] = m->len; }
    ggufw *w = ggufw_create();
    int rc = !w || ggufw_set_str(w, "general.architecture", "llama") ||
        ggufw_set_str(w, "tokenizer.ggml.model", "gpt2") || ggufw_set_str(w, "tokenizer.ggml.pre", "llama-bpe") ||
        ggufw_set_str_arr(w, "tokenizer.ggml.tokens", tokens, tl, (uint64_t)nv) ||
        ggufw_set_arr(w, "tokenizer.ggml.token_type", GGUF_T_I32, types, (uint64_t)nv) ||
        ggufw_set_str_arr(w, "tokenizer.ggml.merges", ms, ml, merges->n) ||
        ggufw_set_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)tok_bos(t)) ||
        ggufw_set_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)tok_eos(t)) ||
        ggufw_set_bool(w, "tokenizer.ggml.add_bos_token", true) ||
        ggufw_begin(w, out, err, errlen) || ggufw_end(w, err, errlen);
    ggufw_destroy(w);
    free(tokens); free(ms); free(tl); free(ml); free(types);
    json_free(d);
    return rc ? -1 : 0;
}

static void test_gguf(const tok *tj, const char *json_path) {
    char out[128], err[512] = "";
    snprintf(out, sizeof out, "%s/llama3-vocab.gguf", tmpdir);
    int rc = write_gguf(tj, json_path, out, err, sizeof err);
    CHECK(rc == 0, "writing %s: %s", out, err);
    if (rc) return;
    double t0 = now();
    gguf *g = NULL;
    tok *t = NULL;
    rc = gguf_open(&g, out, err, sizeof err);
    CHECK(rc == GGUF_OK, "gguf_open: %s", err);
    if (!rc) {
        rc = tok_from_gguf(&t, g, err, sizeof err);
        gguf_close(g);
    }
    CHECK(rc == TOK_OK, "tok_from_gguf: %s", err);
    if (rc) return;
    printf("# gguf vocab load %.0f ms\n", 1e3 * (now() - t0));
    CHECK(tok_kind(t) == TOK_BPE && tok_n_vocab(t) == tok_n_vocab(tj) && tok_bos(t) == 128000 &&
          tok_eot(t) == 128009 && tok_add_bos(t), "gguf tokenizer fields");
    test_golden(t, "gguf");
    tok_destroy(t);
    unlink(out);
}

int main(void) {
    char path[512], err[512] = "";
    check_path(path, sizeof path, "golden/tokenizer-llama3/tokenizer.json");
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_tok_bpe_XXXXXX");
    CHECK(mkdtemp(tmpdir) != NULL, "mkdtemp");
    test_unicode();
    test_errors();
    test_mini();
    double t0 = now();
    tok *t = NULL;
    int rc = tok_from_hfjson(&t, path, err, sizeof err);
    double ms = 1e3 * (now() - t0);
    CHECK(rc == TOK_OK, "loading %s: %s", path, err);
    if (rc == TOK_OK) {
        printf("# tokenizer.json load %.0f ms\n", ms);
        test_units(t);
        test_encode_api(t);
        test_golden(t, "json");
        test_gguf(t, path);
    }
    tok_destroy(t);
    snprintf(path, sizeof path, "%s/tokenizer.json", tmpdir);
    unlink(path);
    rmdir(tmpdir);
    return check_done();
}
