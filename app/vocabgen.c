/* vocabgen: copies or generates the tokenizer.* metadata of synthetic models
 * (layouts in vocabgen.h). Generation is deterministic: no randomness, the
 * same n_vocab always gives the same vocabulary.
 */
#include "vocabgen.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "ggufw.h"

static int fail(char *err, size_t errlen, int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return code;
}

int vocabgen_copy(ggufw *w, const gguf *src, int32_t n_vocab, char *err, size_t errlen) {
    const gguf_value *tv;
    if (gguf_get_arr(src, "tokenizer.ggml.tokens", GGUF_T_STRING, &tv))
        return fail(err, errlen, VOCABGEN_EFORMAT, "%s: no tokenizer.ggml.tokens", gguf_path(src));
    if (tv->arr_n != (uint64_t)n_vocab)
        return fail(err, errlen, VOCABGEN_EFORMAT, "%s: the vocabulary has %llu tokens, the shape needs %d",
                    gguf_path(src), (unsigned long long)tv->arr_n, n_vocab);
    for (int64_t i = 0; i < gguf_n_kv(src); i++) {
        const char *k = gguf_kv_key(src, i);
        if (strncmp(k, "tokenizer.", 10) != 0) continue;
        if (ggufw_copy_kv(w, k, gguf_kv_value(src, i)))
            return fail(err, errlen, VOCABGEN_ENOMEM, "cannot copy %s", k);
    }
    return VOCABGEN_OK;
}

/* ---- a growing list of strings ---- */

typedef struct slist {
    char *buf;
    size_t len, cap;
    size_t *off, *lens;
    int32_t n, ncap;
    bool oom;
} slist;

static void sl_add(slist *l, const char *s, size_t n) {
    if (l->oom) return;
    if (l->len + n > l->cap) {
        size_t cap = l->cap ? l->cap : 1 << 16;
        while (cap < l->len + n) cap *= 2;
        char *b = realloc(l->buf, cap);
        if (!b) { l->oom = true; return; }
        l->buf = b;
        l->cap = cap;
    }
    if (l->n == l->ncap) {
        int32_t nc = l->ncap ? l->ncap * 2 : 1024;
        size_t *o = realloc(l->off, sizeof *o * (size_t)nc);
        if (o) l->off = o;
        size_t *ls = realloc(l->lens, sizeof *ls * (size_t)nc);
        if (ls) l->lens = ls;
        if (!o || !ls) { l->oom = true; return; }
        l->ncap = nc;
    }
    memcpy(l->buf + l->len, s, n);
    l->off[l->n] = l->len;
    l->lens[l->n++] = n;
    l->len += n;
}

static void sl_addz(slist *l, const char *s) { sl_add(l, s, strlen(s)); }
static const char *sl_at(const slist *l, int32_t i) { return l->buf + l->off[i]; }

static void sl_free(slist *l) {
    free(l->buf);
    free(l->off);
    free(l->lens);
}

/* Writes l as a string array (pointers made now: the buffer no longer moves). */
static int sl_write(ggufw *w, const char *key, const slist *l) {
    const char **p = malloc(sizeof *p * (size_t)(l->n ? l->n : 1));
    if (!p) return -1;
    for (int32_t i = 0; i < l->n; i++) p[i] = sl_at(l, i);
    int rc = ggufw_set_str_arr(w, key, p, l->lens, (uint64_t)l->n);
    free(p);
    return rc;
}

/* Next string over a..z of the current length in lexicographic order (an
 * odometer); false when all of that length were made. */
static bool next_word(char *s, int len) {
    for (int i = len - 1; i >= 0; i--) {
        if (s[i] < 'z') { s[i]++; return true; }
        s[i] = 'a';
    }
    return false;
}

/* ---- SentencePiece ---- */

#define SPACE "\xe2\x96\x81" /* U+2581, SPM's space */

int vocabgen_spm(ggufw *w, int32_t n_vocab, char *err, size_t errlen) {
    if (n_vocab < 300) return fail(err, errlen, VOCABGEN_EFORMAT, "an SPM vocabulary needs at least 300 tokens");
    slist l = {0};
    sl_addz(&l, "<unk>");
    sl_addz(&l, "<s>");
    sl_addz(&l, "</s>");
    char b[32];
    for (int i = 0; i < 256; i++) {
        snprintf(b, sizeof b, "<0x%02X>", i);
        sl_addz(&l, b);
    }
    static const char singles[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?'\"-:;()";
    sl_addz(&l, SPACE);
    for (const char *c = singles; *c && l.n < n_vocab; c++) sl_add(&l, c, 1);
    for (int len = 1; len < 8 && l.n < n_vocab; len++) {
        char word[8];
        memset(word, 'a', (size_t)len);
        word[len] = 0;
        do {
            snprintf(b, sizeof b, SPACE "%s", word);
            if (l.n < n_vocab) sl_addz(&l, b);
            if (len > 1 && l.n < n_vocab) sl_addz(&l, word);
        } while (l.n < n_vocab && next_word(word, len));
    }
    float *scores = malloc(sizeof *scores * (size_t)n_vocab);
    int32_t *types = malloc(sizeof *types * (size_t)n_vocab);
    int rc = VOCABGEN_ENOMEM;
    if (l.oom || !scores || !types) { fail(err, errlen, rc, "out of memory"); goto out; }
    for (int32_t i = 0; i < n_vocab; i++) {
        types[i] = i == 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1; /* unknown, control, byte, normal */
        scores[i] = i < 259 ? 0.0f : -(float)(i - 259);     /* shorter pieces merge first */
    }
    rc = VOCABGEN_EWRITE;
    if (ggufw_set_str(w, "tokenizer.ggml.model", "llama") || ggufw_set_str(w, "tokenizer.ggml.pre", "default") ||
        sl_write(w, "tokenizer.ggml.tokens", &l) ||
        ggufw_set_arr(w, "tokenizer.ggml.scores", GGUF_T_F32, scores, (uint64_t)n_vocab) ||
        ggufw_set_arr(w, "tokenizer.ggml.token_type", GGUF_T_I32, types, (uint64_t)n_vocab) ||
        ggufw_set_u32(w, "tokenizer.ggml.bos_token_id", 1) || ggufw_set_u32(w, "tokenizer.ggml.eos_token_id", 2) ||
        ggufw_set_u32(w, "tokenizer.ggml.unknown_token_id", 0) ||
        ggufw_set_bool(w, "tokenizer.ggml.add_bos_token", true) ||
        ggufw_set_bool(w, "tokenizer.ggml.add_eos_token", false)) {
        fail(err, errlen, rc, "cannot set the tokenizer metadata");
        goto out;
    }
    rc = VOCABGEN_OK;
out:
    free(scores);
    free(types);
    sl_free(&l);
    return rc;
}

/* ---- byte-level BPE ---- */

/* GPT-2's byte-to-unicode map: printable bytes stand for themselves, the
 * others (controls, space, 127..160, 173) for U+0100 upwards in byte order. */
static int byte_piece(int b, char out[4]) {
    int cp = b;
    if (!((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174)) {
        int k = 0;
        for (int x = 0; x < b; x++)
            if (!((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || x >= 174)) k++;
        cp = 256 + k;
    }
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
}

static void special_name(int k, char *b, size_t n) {
    static const char *named[] = { "<|begin_of_text|>", "<|end_of_text|>", NULL, NULL, NULL, NULL,
                                   "<|start_header_id|>", "<|end_header_id|>", NULL, "<|eot_id|>" };
    if (k < 10 && named[k]) { snprintf(b, n, "%s", named[k]); return; }
    int r = k < 6 ? k - 2 : k == 8 ? 4 : k - 5; /* reserved numbering around the named ones */
    snprintf(b, n, "<|reserved_special_token_%d|>", r);
}

/* Words of length len+1 from those of length len (ids [lo, hi) of l), one
 * merge each: "prefix letter". Returns the new level's end. */
static int32_t grow_level(slist *l, slist *merges, int32_t lo, int32_t hi, int32_t n_regular) {
    char buf[64], mbuf[64];
    for (int32_t p = lo; p < hi && l->n < n_regular; p++) {
        size_t pl = l->lens[p];
        if (pl + 2 > sizeof buf) continue;
        for (int c = 0; c < 26 && l->n < n_regular; c++) {
            memcpy(buf, sl_at(l, p), pl);
            buf[pl] = (char)('a' + c);
            memcpy(mbuf, sl_at(l, p), pl);
            mbuf[pl] = ' ';
            mbuf[pl + 1] = (char)('a' + c);
            sl_add(l, buf, pl + 1);
            sl_add(merges, mbuf, pl + 2);
        }
    }
    return l->n;
}

int vocabgen_bpe(ggufw *w, int32_t n_vocab, char *err, size_t errlen) {
    if (n_vocab < 1024) return fail(err, errlen, VOCABGEN_EFORMAT, "a BPE vocabulary needs at least 1024 tokens");
    int32_t n_special = 256, n_regular = n_vocab - n_special;
    slist l = {0}, merges = {0};
    char b[64];
    for (int i = 0; i < 256; i++) {
        int n = byte_piece(i, b);
        sl_add(&l, b, (size_t)n);
    }
    /* level 2: "Ġ"+letter, then letter+letter; later levels extend the previous one */
    int32_t space = ' ';
    int32_t start = l.n;
    grow_level(&l, &merges, space, space + 1, n_regular);
    grow_level(&l, &merges, 'a', 'z' + 1, n_regular);
    for (int32_t lo = start, hi = l.n; l.n < n_regular && hi > lo;) {
        int32_t end = grow_level(&l, &merges, lo, hi, n_regular);
        lo = hi;
        hi = end;
    }
    for (int k = 0; k < n_special; k++) {
        special_name(k, b, sizeof b);
        sl_addz(&l, b);
    }
    int32_t *types = malloc(sizeof *types * (size_t)n_vocab);
    int rc = VOCABGEN_ENOMEM;
    if (l.oom || merges.oom || !types) { fail(err, errlen, rc, "out of memory"); goto out; }
    if (l.n != n_vocab) { rc = fail(err, errlen, VOCABGEN_EFORMAT, "generated %d tokens, not %d", l.n, n_vocab); goto out; }
    for (int32_t i = 0; i < n_vocab; i++) types[i] = i < n_regular ? 1 : 3; /* normal, control */
    rc = VOCABGEN_EWRITE;
    if (ggufw_set_str(w, "tokenizer.ggml.model", "gpt2") || ggufw_set_str(w, "tokenizer.ggml.pre", "llama-bpe") ||
        sl_write(w, "tokenizer.ggml.tokens", &l) ||
        ggufw_set_arr(w, "tokenizer.ggml.token_type", GGUF_T_I32, types, (uint64_t)n_vocab) ||
        sl_write(w, "tokenizer.ggml.merges", &merges) ||
        ggufw_set_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)n_regular) ||
        ggufw_set_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)n_regular + 1) ||
        ggufw_set_u32(w, "tokenizer.ggml.eot_token_id", (uint32_t)n_regular + 9) ||
        ggufw_set_bool(w, "tokenizer.ggml.add_bos_token", true)) {
        fail(err, errlen, rc, "cannot set the tokenizer metadata");
        goto out;
    }
    rc = VOCABGEN_OK;
out:
    free(types);
    sl_free(&l);
    sl_free(&merges);
    return rc;
}
