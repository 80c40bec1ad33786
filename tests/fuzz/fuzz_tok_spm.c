/* fuzz_tok_spm: libFuzzer harness for the SentencePiece tokenizer and the
 * common encode/decode/stream code. The Llama 2 vocabulary is loaded once
 * from tokenizer.bin ($LOGITLAB_SHARED, else ../shared). Each input is
 * encoded as text with parse_special off and on (its valid UTF-8 prefix when
 * the whole is refused), decoded every way and streamed; then its bytes are
 * read as token ids (some invalid) and decoded and streamed again.
 * Properties checked besides "no crash": ids in range; a refused text names
 * the first bad byte; with parse_special off and no literal U+2581 in the
 * text, decoding gives the text back (after a BOS: with the prefix space). */
#include "tok.h"
#include "utf8.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static tok *T;

#define REQUIRE(c) do { if (!(c)) { fprintf(stderr, "fuzz_tok_spm: %s failed at line %d\n", #c, __LINE__); abort(); } } while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc; (void)argv;
    const char *sh = getenv("LOGITLAB_SHARED");
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s/models/tokenizer.bin", sh && *sh ? sh : "../shared");
    if (tok_from_llama2c(&T, path, err, sizeof err)) {
        fprintf(stderr, "fuzz_tok_spm: %s\n", err);
        abort();
    }
    return 0;
}

static char *decode(const int32_t *ids, int32_t n, bool rm, bool unparse, int32_t *len) {
    int32_t k = tok_decode(T, ids, n, NULL, 0, rm, unparse);
    if (k < 0) { *len = k; return NULL; }
    char *b = malloc((size_t)k + 1);
    REQUIRE(b);
    REQUIRE(tok_decode(T, ids, n, b, k, rm, unparse) == k);
    *len = k;
    return b;
}

static void stream(const int32_t *ids, int32_t n, bool unparse) {
    tok_stream s;
    char out[512];
    tok_stream_init(&s, T, unparse);
    for (int32_t i = 0; i < n; i++) {
        int32_t r = tok_stream_push(&s, ids[i], out, sizeof out);
        REQUIRE(r >= 0 || (r == TOK_EID && tok_attr(T, ids[i]) == 0));
        if (r > 0) REQUIRE(utf8_check(out, (size_t)r) == (size_t)r);
    }
    int32_t r = tok_stream_flush(&s, out, sizeof out);
    REQUIRE(r >= 0 && utf8_check(out, (size_t)r) == (size_t)r);
}

static void decode_all(const int32_t *ids, int32_t n) {
    for (int m = 0; m < 4; m++) {
        int32_t len;
        free(decode(ids, n, m & 1, m & 2, &len));
    }
    stream(ids, n, false);
    stream(ids, n, true);
}

static void encode(const char *text, size_t len, bool bos, bool special) {
    char err[128];
    int32_t n = tok_encode(T, text, len, bos, special, NULL, 0, err, sizeof err);
    REQUIRE(n >= 0);
    int32_t *ids = malloc(((size_t)n + 1) * sizeof *ids);
    REQUIRE(ids && tok_encode(T, text, len, bos, special, ids, n, err, sizeof err) == n);
    for (int32_t i = 0; i < n; i++) REQUIRE(ids[i] >= 0 && ids[i] < tok_n_vocab(T));
    decode_all(ids, n);
    if (!special && !memmem(text, len, "\xE2\x96\x81", 3)) {
        int32_t dl;
        char *d = decode(ids, n, true, false, &dl);
        size_t lead = bos && len > 0;       /* the prefix space survives after a BOS */
        REQUIRE(d && (size_t)dl == len + lead && (!lead || d[0] == ' ') && memcmp(d + lead, text, len) == 0);
        free(d);
    }
    free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    bool bos = size > 0 && (data[0] & 1);
    size_t valid = utf8_check(text, size);
    for (int special = 0; special < 2; special++) {
        char err[128] = "", want[64];
        int32_t r = tok_encode(T, text, size, bos, special, NULL, 0, err, sizeof err);
        if (valid < size) {
            snprintf(want, sizeof want, "invalid UTF-8 at byte %zu", valid);
            REQUIRE(r == TOK_EUTF8 && strcmp(err, want) == 0);
        }
        encode(text, valid, bos, special);
    }
    /* the bytes as ids, 16 bits each, a few past the vocabulary */
    int32_t n = (int32_t)(size / 2), *ids = malloc(((size_t)n + 1) * sizeof *ids);
    REQUIRE(ids);
    for (int32_t i = 0; i < n; i++) ids[i] = (int32_t)((data[2 * i] | data[2 * i + 1] << 8) % 32100);
    decode_all(ids, n);
    free(ids);
    return 0;
}
