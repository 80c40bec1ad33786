/* gmatch_walk.h: random walks of allowed tokens under a grammar, for the
 * tests that check every walk's text with an independent recognizer
 * (test_gram, test_gram_schema). */
#ifndef TESTS_GMATCH_WALK_H
#define TESTS_GMATCH_WALK_H

#include "check.h"
#include "gguf.h"
#include "gmatch.h"
#include "tok.h"
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* The Llama SentencePiece vocabulary (32000 tokens, from
 * ../shared/models/ggml-vocab-llama-spm.gguf) as a grammar vocabulary; NULL
 * when the file is missing or unreadable. On success *out is the tokenizer,
 * which the caller frees after the vocabulary. */
static inline gmatch_vocab *llama_vocab(tok **out) {
    char p[512];
    check_path(p, sizeof p, "models/ggml-vocab-llama-spm.gguf");
    gguf *g;
    char err[256];
    if (gguf_open(&g, p, err, sizeof err)) return NULL;
    tok *t = NULL;
    int rc = tok_from_gguf(&t, g, err, sizeof err);
    gguf_close(g);
    if (rc) return NULL;
    *out = t;
    return gmatch_vocab_create(t);
}

/* One walk: random allowed tokens (rnd picks; EOS as likely as any) until
 * EOS or `steps` tokens; the text into buf (NUL-terminated), its length
 * returned, *ended whether it ended with EOS. With closing_bias, half the
 * steps pick among the allowed tokens that start by closing a string (a
 * quote) or else an object or array, so free names and open objects end. */
static inline size_t gmatch_walk(gmatch_ctx *c, int steps, char *buf, size_t cap, bool *ended,
                                 uint32_t (*rnd)(void), bool closing_bias) {
    gmatch *m = gmatch_create(c);
    gmatch_vocab *v = gmatch_ctx_vocab(c);
    size_t n = 0;
    *ended = false;
    for (int s = 0; s < steps; s++) {
        const uint64_t *mask = gmatch_mask(m);
        int32_t cnt = gmatch_count(m);
        if (!cnt) break;
        int32_t id = -1, n_q = 0, n_b = 0;
        bool closing = closing_bias && (rnd() & 1);
        for (int32_t i = 0; closing && i < gmatch_vocab_n(v); i++)
            if (mask[i >> 6] >> (i & 63) & 1) {
                size_t l;
                const char *p = gmatch_vocab_piece(v, i, &l);
                n_q += l && *p == '"';
                n_b += l && (*p == '}' || *p == ']');
            }
        int mode = !closing ? 0 : n_q ? 1 : n_b ? 2 : 0;
        int32_t k = (int32_t)(rnd() % (uint32_t)(mode == 1 ? n_q : mode == 2 ? n_b : cnt));
        for (int32_t i = 0; i < gmatch_vocab_n(v); i++)
            if (mask[i >> 6] >> (i & 63) & 1) {
                if (mode) {
                    size_t l;
                    const char *p = gmatch_vocab_piece(v, i, &l);
                    if (!l || (mode == 1 ? *p != '"' : *p != '}' && *p != ']')) continue;
                }
                if (k-- == 0) { id = i; break; }
            }
        if (gmatch_accept(m, id) != 0) break;
        if (gmatch_finished(m)) { *ended = true; break; }
        size_t l;
        const char *p = gmatch_vocab_piece(v, id, &l);
        if (n + l >= cap) break;
        memcpy(buf + n, p, l);
        n += l;
    }
    gmatch_destroy(m);
    buf[n] = 0;
    return n;
}

#endif
