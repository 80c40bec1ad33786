/* tok_impl: the tokenizer's private struct, shared by tok.c (common parts,
 * loaders, special-token splitting, decoding), tok_spm.c (SentencePiece
 * encoding) and tok_bpe.c (byte-level BPE encoding, tokenizer.json).
 * Nothing outside core/tok*.c includes this. */
#ifndef TOK_IMPL_H
#define TOK_IMPL_H
#include "tok.h"
#include "strmap.h"

enum tok_pre { TOK_PRE_NONE = 0, TOK_PRE_LLAMA3 = 1, TOK_PRE_GPT2 = 2 };

/* Growable id vector used while encoding. */
typedef struct tok_ids { int32_t *v; int32_t n, cap; } tok_ids;
int tok_ids_push(tok_ids *ids, int32_t id);   /* 0 or TOK_ENOMEM */

struct tok {
    int kind;                 /* TOK_SPM / TOK_BPE */
    int32_t n_vocab;
    char *arena;              /* all token strings, each NUL terminated */
    uint32_t *off, *len;      /* (n_vocab) offset into arena, byte length */
    float *score;             /* (n_vocab) SPM merge scores; BPE: 0 */
    int32_t *attr;            /* (n_vocab) TOK_NORMAL... */
    strmap vocab;             /* token string -> id */
    int32_t bos, eos, eot, unk, pad, nl;
    bool add_bos, add_eos;
    bool add_space_prefix;    /* SPM: prepend ' ' to each text fragment */
    int32_t *special;         /* ids of CONTROL/USER_DEFINED tokens matched in text, */
    int32_t n_special;        /*   longest first */
    int pre;                  /* TOK_PRE_* for BPE */
    bool ignore_merges;       /* BPE: a pre-token found whole in vocab is emitted as is */
    void *bpe;                /* tok_bpe.c private state (merge ranks); NULL for SPM */
};

/* Allocates the per-token arrays for n tokens (zeroed), returns TOK_OK or TOK_ENOMEM. */
int tok_alloc(tok *t, int32_t n, size_t arena_bytes);
/* Builds t->vocab and t->special from the arrays; call once the arrays are set. */
int tok_index(tok *t, char *err, size_t errlen);

/* SPM: encode one text fragment (no special tokens in it; the caller has
 * already added the space prefix when add_space_prefix). */
int tok_spm_encode(const tok *t, const char *s, size_t n, tok_ids *out);

/* BPE: set up merge ranks from "left right" strings; owns t->bpe. */
int tok_bpe_prepare(tok *t, const char *const *merges, const size_t *lens,
                    int64_t n, char *err, size_t errlen);
void tok_bpe_free(tok *t);
/* Encode one text fragment: pre-tokenize (t->pre), byte-map, merge. */
int tok_bpe_encode(const tok *t, const char *s, size_t n, tok_ids *out);
/* Byte-level unmapping of a vocabulary string ("Ġ" -> ' '); returns the byte
 * count written to out (at most n), or -1 if s holds a char outside the map. */
int tok_bpe_unmap(const char *s, size_t n, char *out);
/* Loader for tokenizer.json (tok_bpe_json.c). */
int tok_bpe_from_json(tok **out, const char *path, char *err, size_t errlen);

#endif
