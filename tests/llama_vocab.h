/* llama_vocab.h: the Llama SentencePiece vocabulary (32000 tokens, from
 * ../shared/models/ggml-vocab-llama-spm.gguf) as a grammar vocabulary, for
 * the tests that walk random allowed tokens (test_gram, test_gram_schema).
 * Returns NULL when the file is missing or unreadable; on success *out is
 * the tokenizer, which the caller frees after the vocabulary. */
#ifndef TESTS_LLAMA_VOCAB_H
#define TESTS_LLAMA_VOCAB_H

#include "check.h"
#include "gguf.h"
#include "gmatch.h"
#include "tok.h"

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

#endif
