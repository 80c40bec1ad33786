/* ctx: an inference context over one model: the KV cache with its sequences
 * and batched evaluation.
 *
 * A context holds many sequences in one KV cache of n_ctx cells. Sequences are
 * created, forked (the child shares the parent's prefix without copying it:
 * O(1) regardless of length), rewound to a position, and dropped. One
 * ctx_eval call evaluates a batch of (seq, pos, token) entries, for any mix of
 * sequences, and keeps the logits of the entries that asked for them.
 *
 * The context owns its backend state, KV cache and buffers; it borrows the
 * model, which must outlive it. A context is used from one thread at a time;
 * it runs its own worker threads inside ctx_eval.
 */
#ifndef CTX_H
#define CTX_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct model;
typedef struct ctx ctx;

typedef struct ctx_params {
    int32_t n_ctx;        /* KV cells for all sequences together; 0 = min(model ctx_train, 4096) */
    int32_t n_batch;      /* most entries in one ctx_eval; 0 = 512 */
    int32_t n_seq_max;    /* most sequences alive at once; 0 = 256 */
    int n_threads;        /* 0 = the machine's cores */
    const char *backend;  /* "cpu" (default) or "cuda" */
    /* A thread pool to borrow (CPU backend) instead of starting one: contexts
     * whose ctx_eval calls never overlap (one engine thread drives them all,
     * as the Lua host's worker does) then share one set of threads, and idle
     * contexts leave no spinning workers behind. NULL = the context's own
     * pool of n_threads. The pool must outlive the context. */
    struct pool *pool;
    /* CPU backend: false (default) keeps copies of the weights it reads on
     * 2 MiB pages (MADV_HUGEPAGE: float matrices as they are, quantized ones
     * repacked); true puts the repacked copies on ordinary pages and reads
     * float matrices from the file's mapping (less memory and a faster load,
     * slower decode; same numbers). ctx_params_default sets it when the
     * environment has LOGITLAB_HUGEPAGES=0 (or off, no, false; another value
     * than those and 1, on, yes, true is refused). docs/architecture.md. */
    bool no_huge_pages;
    /* Most logits rows one pass over the weights computes: a batch with more
     * is evaluated in several passes, with the same numbers (for measuring
     * what a pass costs). 0 = one pass. */
    int32_t n_pass_rows;
} ctx_params;

/* CTX_ENONFINITE: the model produced NaN or Inf logits (damaged weights);
 * the batch is undone as for CTX_ENOMEM and err names the model file. */
/* CTX_ECANCELED: the cancel question (ctx_set_cancel) said stop; the batch
 * is undone likewise. */
enum { CTX_OK = 0, CTX_EINVAL = -1, CTX_ENOMEM = -2, CTX_EFULL = -3, CTX_EBACKEND = -4, CTX_ENONFINITE = -5,
       CTX_ECANCELED = -6 };

typedef struct ctx_entry {
    int32_t seq;          /* a live sequence */
    int32_t pos;          /* must equal the sequence's length (entries of one seq in order) */
    int32_t tok;          /* 0 <= tok < n_vocab */
    bool logits;          /* keep this entry's logits row */
} ctx_entry;

void ctx_params_default(ctx_params *p);
/* 0 when the environment's switches for contexts ($LOGITLAB_PIN,
 * $LOGITLAB_HUGEPAGES, $LOGITLAB_ISA) hold values they take; else -1 and a message naming
 * the variable, its value and the values it takes (ctx_create refuses the
 * same, with the same message). */
int ctx_env_check(char *err, size_t errlen);
int ctx_create(ctx **out, struct model *m, const ctx_params *p, char *err, size_t errlen);
void ctx_destroy(ctx *c);

const struct model *ctx_model(const ctx *c);
int ctx_n_threads(const ctx *c);
/* The CPU backend's thread pool (core/pool.h: pool_get_stats), else NULL. */
struct pool *ctx_pool(ctx *c);
const char *ctx_backend_name(const ctx *c);

/* Sequences. Ids are small non-negative integers, reused after a drop. */
int32_t ctx_seq_create(ctx *c);                  /* new empty sequence, or CTX_EFULL */
int32_t ctx_seq_fork(ctx *c, int32_t seq);       /* child sharing seq's tokens so far */
int ctx_seq_rewind(ctx *c, int32_t seq, int32_t pos); /* keep positions [0, pos) */
void ctx_seq_drop(ctx *c, int32_t seq);
/* Frees cells that no live sequence reaches any more (kv_trim): after a
 * drop, the part of a prefix that only the dropped sequence used, when
 * another was forked from it in the middle. Returns the cells freed. */
int32_t ctx_trim(ctx *c);
int32_t ctx_seq_len(const ctx *c, int32_t seq);  /* -1 for a dead id */
bool ctx_seq_alive(const ctx *c, int32_t seq);
int32_t ctx_n_seq(const ctx *c);                 /* alive sequences */
int32_t ctx_kv_used(const ctx *c);               /* cells holding data */
int32_t ctx_kv_size(const ctx *c);             /* n_ctx: most cells in use at once */
int32_t ctx_n_seq_max(const ctx *c);           /* most sequences alive at once */
int32_t ctx_n_batch(const ctx *c);             /* most entries in one ctx_eval */

/* A sequence's KV state, to save and restore without evaluating again:
 * positions [0, len) as floats, layer by layer, per position the K row
 * then the V row (n_layers * len * 2 * kv_dim floats, ctx_seq_state_floats).
 * get: CTX_EINVAL for a dead sequence or len beyond its length. put: into
 * an empty live sequence, which then holds those positions (CTX_EINVAL
 * otherwise, CTX_EFULL without free cells); its rows are what evaluating
 * the same tokens would have stored, so the logits that follow are too. */
size_t ctx_seq_state_floats(const ctx *c, int32_t len);
int ctx_seq_state_get(ctx *c, int32_t seq, int32_t len, float *out);
int ctx_seq_state_put(ctx *c, int32_t seq, const float *in, int32_t len);
/* The same state in parts, to stream it without holding all of it: layer
 * il, positions [p0, p0 + n) of a sequence, n * 2 * kv_dim floats, which
 * are the slice at ((size_t)il * len + p0) * 2 * kv_dim of the layout
 * above for any len >= p0 + n (CTX_EINVAL beyond the sequence). To restore
 * in parts: reserve appends len cells to an empty live sequence (CTX_EFULL
 * without free cells; their contents are undefined until every part of
 * [0, len) is put in every layer; ctx_seq_rewind(c, seq, 0) gives them
 * back), then put_part fills them. */
int ctx_seq_state_get_part(ctx *c, int32_t seq, int32_t il, int32_t p0, int32_t n, float *out);
int ctx_seq_state_reserve(ctx *c, int32_t seq, int32_t len);
int ctx_seq_state_put_part(ctx *c, int32_t seq, int32_t il, int32_t p0, int32_t n, const float *in);
/* The KV geometry a saved state depends on: layers and K/V row width. */
void ctx_kv_dims(const ctx *c, int32_t *n_layers, int32_t *kv_dim);

/* Evaluates the batch. On failure nothing is appended to any sequence and err
 * says which entry was wrong. */
/* cancel(ud), asked by ctx_eval between the model's layers (on the thread
 * that called ctx_eval): true stops the batch within one layer, with
 * CTX_ECANCELED and nothing appended, so that Ctrl-C ends a long prompt's
 * evaluation soon. It only reads a flag: a batch it lets finish gives the
 * same bits. NULL: never asked. */
void ctx_set_cancel(ctx *c, bool (*cancel)(void *ud), void *ud);
int ctx_eval(ctx *c, const ctx_entry *batch, int32_t n, char *err, size_t errlen);
/* Logits of the i-th entry of the last batch that asked for them, (n_vocab). */
int32_t ctx_n_logits(const ctx *c);
const float *ctx_logits(const ctx *c, int32_t i);
/* logits_argmax(ctx_logits(c, i), n_vocab), the greedy pick: the CPU backend
 * finds it while it checks each slice of the logits it just computed (in
 * cache), so a step of 64 sequences does not read its 8 MB of logits again;
 * -1 when i is out of range. */
int32_t ctx_argmax(const ctx *c, int32_t i);

#endif
