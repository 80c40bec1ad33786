/* fuzz_tok_bpe: libFuzzer harness for the byte-level BPE tokenizer. The
 * Llama 3 tokenizer.json is loaded once ($LOGITLAB_SHARED, else ../shared).
 * The first input byte picks the pre-tokenizer (Llama 3, or GPT-2 without
 * ignore_merges); the input is then
 *  - encoded raw by tok_bpe_encode, invalid UTF-8 included: every byte is in
 *    the vocabulary, so the tokens must unmap to exactly the input bytes;
 *  - encoded by tok_encode (its valid UTF-8 prefix), parse_special off and
 *    on: decoding with specials rendered gives the text back;
 *  - unmapped as if it were a vocabulary string;
 *  - read as token ids (some invalid) and decoded.
 */
#include "tok.h"
#include "tok_impl.h"
#include "utf8.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static tok *T;

#define REQUIRE(c) do { if (!(c)) { fprintf(stderr, "fuzz_tok_bpe: %s failed at line %d\n", #c, __LINE__); abort(); } } while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc; (void)argv;
    const char *sh = getenv("LOGITLAB_SHARED");
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s/golden/tokenizer-llama3/tokenizer.json", sh && *sh ? sh : "../shared");
    if (tok_from_hfjson(&T, path, err, sizeof err)) {
        fprintf(stderr, "fuzz_tok_bpe: %s\n", err);
        abort();
    }
    return 0;
}

static void raw(const char *text, size_t len) {
    tok_ids ids = { 0 };
    REQUIRE(tok_bpe_encode(T, text, len, &ids) == TOK_OK);
    char *back = malloc(len + 1);
    REQUIRE(back);
    size_t k = 0;
    for (int32_t i = 0; i < ids.n; i++) {
        size_t tl;
        REQUIRE(ids.v[i] >= 0 && ids.v[i] < tok_n_vocab(T));
        const char *s = tok_text(T, ids.v[i], &tl);
        REQUIRE(s && tok_attr(T, ids.v[i]) == TOK_NORMAL);
        char *piece = malloc(tl + 1);
        REQUIRE(piece);
        int m = tok_bpe_unmap(s, tl, piece);
        REQUIRE(m > 0 && k + (size_t)m <= len);
        memcpy(back + k, piece, (size_t)m);
        k += (size_t)m;
        free(piece);
    }
    REQUIRE(k == len && memcmp(back, text, len) == 0);
    free(back);
    free(ids.v);
}

static void roundtrip(const char *text, size_t len, bool special) {
    char err[128];
    int32_t n = tok_encode(T, text, len, false, special, NULL, 0, err, sizeof err);
    REQUIRE(n >= 0);
    int32_t *ids = malloc(((size_t)n + 1) * sizeof *ids);
    REQUIRE(ids && tok_encode(T, text, len, false, special, ids, n, err, sizeof err) == n);
    int32_t dl = tok_decode(T, ids, n, NULL, 0, false, true);
    REQUIRE(dl >= 0 && (size_t)dl == len);
    char *d = malloc((size_t)dl + 1);
    REQUIRE(d && tok_decode(T, ids, n, d, dl, false, true) == dl && memcmp(d, text, len) == 0);
    free(d);
    free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    int pre = T->pre;
    bool im = T->ignore_merges;
    if (size > 0 && (data[0] & 1)) { T->pre = TOK_PRE_GPT2; T->ignore_merges = false; }
    raw(text, size);
    size_t valid = utf8_check(text, size);
    roundtrip(text, valid, false);
    roundtrip(text, valid, true);
    T->pre = pre;
    T->ignore_merges = im;

    char *out = malloc(size + 1);
    REQUIRE(out);
    int m = tok_bpe_unmap(text, size, out);
    REQUIRE(m >= -1 && m <= (int)size);
    free(out);

    int32_t n = (int32_t)(size / 3), *ids = malloc(((size_t)n + 1) * sizeof *ids);
    REQUIRE(ids);
    for (int32_t i = 0; i < n; i++)
        ids[i] = (int32_t)((data[3 * i] | data[3 * i + 1] << 8 | data[3 * i + 2] << 16) % 128300);
    for (int k = 0; k < 4; k++) {
        int32_t dl = tok_decode(T, ids, n, NULL, 0, k & 1, k & 2);
        REQUIRE(dl >= 0 || dl == TOK_EID);
    }
    free(ids);
    return 0;
}
