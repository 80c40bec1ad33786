/* tok_vocab: allocation and indexing of a tokenizer's vocabulary arrays,
 * shared by every loader (GGUF, tokenizer.bin, tokenizer.json).
 * Invariant after tok_index: vocab maps every token string to its lowest id,
 * and special lists CONTROL/USER_DEFINED ids longest string first (so text
 * matching prefers "<|eot_id|>" over a shorter prefix of it). */
#include "tok_impl.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tok_ids_push(tok_ids *ids, int32_t id) {
    if (ids->n == ids->cap) {
        int32_t cap = ids->cap ? ids->cap * 2 : 64;
        int32_t *v = realloc(ids->v, (size_t)cap * sizeof *v);
        if (!v) return TOK_ENOMEM;
        ids->v = v; ids->cap = cap;
    }
    ids->v[ids->n++] = id;
    return TOK_OK;
}

int tok_alloc(tok *t, int32_t n, size_t arena_bytes) {
    t->n_vocab = n;
    t->arena = calloc(arena_bytes ? arena_bytes : 1, 1);
    t->off = calloc((size_t)n + 1, sizeof *t->off);
    t->len = calloc((size_t)n + 1, sizeof *t->len);
    t->score = calloc((size_t)n + 1, sizeof *t->score);
    t->attr = calloc((size_t)n + 1, sizeof *t->attr);
    strmap_init(&t->vocab);
    t->bos = t->eos = t->eot = t->unk = t->pad = t->nl = -1;
    if (!t->arena || !t->off || !t->len || !t->score || !t->attr) return TOK_ENOMEM;
    return TOK_OK;
}

static const tok *sort_tok;   /* qsort has no context argument; set only inside tok_index */

static int by_len_desc(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    uint32_t lx = sort_tok->len[x], ly = sort_tok->len[y];
    if (lx != ly) return lx < ly ? 1 : -1;
    return x < y ? -1 : x > y;
}

int tok_index(tok *t, char *err, size_t errlen) {
    int32_t n_special = 0;
    for (int32_t i = t->n_vocab - 1; i >= 0; i--) {
        if (strmap_set(&t->vocab, t->arena + t->off[i], t->len[i], i)) goto oom;
        if ((t->attr[i] == TOK_CONTROL || t->attr[i] == TOK_USER_DEFINED) && t->len[i] > 0)
            n_special++;
    }
    free(t->special);
    t->special = malloc(((size_t)n_special + 1) * sizeof *t->special);
    if (!t->special) goto oom;
    t->n_special = 0;
    for (int32_t i = 0; i < t->n_vocab; i++)
        if ((t->attr[i] == TOK_CONTROL || t->attr[i] == TOK_USER_DEFINED) && t->len[i] > 0)
            t->special[t->n_special++] = i;
    sort_tok = t;
    qsort(t->special, (size_t)t->n_special, sizeof *t->special, by_len_desc);
    sort_tok = NULL;
    return TOK_OK;
oom:
    if (err && errlen) snprintf(err, errlen, "out of memory indexing %d tokens", t->n_vocab);
    return TOK_ENOMEM;
}

void tok_destroy(tok *t) {
    if (!t) return;
    if (t->bpe) tok_bpe_free(t);
    strmap_fini(&t->vocab);
    free(t->arena); free(t->off); free(t->len); free(t->score); free(t->attr);
    free(t->special);
    free(t);
}
