/* backend: the operations one forward step needs, and where tensors live.
 *
 * The forward pass (forward.c) is written against this interface only. A
 * backend owns every buffer it returns from alloc (activations, the KV
 * storage, logits); the forward pass passes those pointers back to it and
 * never dereferences them, so they may be device memory. Host data crosses
 * with to_dev / to_host. Weights are described by model_weight (host memory,
 * possibly a file mapping); a backend that keeps its own copy (a GPU) makes it
 * in prepare().
 *
 * Operations that may need scratch memory return 0, or -1 when it cannot be
 * had; the others cannot fail.
 * Shapes are row-major: a batch of n rows of `dim` floats is (n, dim).
 * Slots added only when a second backend needs them (STYLE.md).
 */
#ifndef BACKEND_H
#define BACKEND_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "kv.h"
#include "model.h"

typedef struct backend backend;

/* Attention work for one batch entry: its query row attends to the positions
 * [0, pos] of its sequence, found in `runs` (KV cells, in position order). */
typedef struct be_attn {
    const kv_run *runs;   /* host memory, valid during the call */
    int32_t n_runs;
    int32_t n_pos;        /* pos + 1 */
} be_attn;

typedef struct backend_ops {
    const char *name;
    void (*destroy)(backend *b);
    /* Copies weights where the backend computes (no-op on the CPU). */
    int (*prepare)(backend *b, const model *m, char *err, size_t errlen);
    void *(*alloc)(backend *b, size_t bytes);          /* NULL on failure */
    void (*free)(backend *b, void *p);
    void (*to_dev)(backend *b, void *dst, const void *src, size_t bytes);
    void (*to_host)(backend *b, void *dst, const void *src, size_t bytes);

    /* x (n, dim) = rows tok[i] of the embedding, dequantized. tok is host memory. */
    void (*embed)(backend *b, const model_weight *emb, const int32_t *tok, int32_t n, float *x);
    /* y (n, dim) = x / sqrt(mean(x^2) + eps) * w */
    void (*rmsnorm)(backend *b, float *y, const float *x, const float *w, int32_t n,
                    int32_t dim, float eps);
    /* For each k < nw: y[k] (n, w[k].rows) = x (n, w[k].cols) * w[k]^T. All w[k]
     * share cols; x is rounded for the weight type once. */
    int (*matmul)(backend *b, int nw, const model_weight *const *w, const float *x,
                  int32_t n, float *const *y);
    /* In place on x (n, n_heads * head_dim): rotate adjacent pairs of the first
     * rope_dim dims of each head by pos[i] * inv_freq[j]. pos is host memory. */
    int (*rope)(backend *b, float *x, int32_t n, int32_t n_heads, int32_t head_dim,
                int32_t rope_dim, const int32_t *pos, const float *inv_freq);
    /* Stores k, v (n, kv_dim) of layer il into KV cells cells[n] (host memory). */
    void (*kv_store)(backend *b, void *kvbuf, int32_t il, int32_t n, const float *k,
                     const float *v, const int32_t *cells);
    /* out (n, n_heads*head_dim) = causal softmax attention of q over each entry's
     * cells, GQA: query head h reads KV head h / (n_heads / n_kv_heads). */
    int (*attention)(backend *b, const void *kvbuf, int32_t il, int32_t n, const be_attn *at,
                     const float *q, float *out);
    /* g (n) = silu(g) * u */
    void (*swiglu)(backend *b, float *g, const float *u, size_t n);
    /* x (n) += y */
    void (*add)(backend *b, float *x, const float *y, size_t n);
    /* Gathers rows idx[n] (host) of x (?, dim) into y (n, dim). */
    void (*get_rows)(backend *b, float *y, const float *x, const int32_t *idx, int32_t n,
                     int32_t dim);
    /* Optional (NULL: the caller checks y itself): matmul of one weight w
     * into host memory y that also sets *bad to the first of the n rows of y
     * holding a NaN or Inf, -1 if none. The threads check each slice of y
     * right after computing it, while it is in cache: the logits of 64
     * sequences are 8 MB, and a check afterwards on one thread read them back
     * from L3 or DRAM while the other threads waited. amax non-NULL: when
     * *bad is -1, amax[i] is logits_argmax of row i of y, found in the same
     * pass over each slice (a greedy pick would read the 8 MB again). */
    int (*matmul_check)(backend *b, const model_weight *w, const float *x, int32_t n, float *y,
                        int32_t *bad, int32_t *amax);
    /* Optional (NULL: not there): rope of q (n, n_heads * head_dim) and k (n,
     * kv_dim) in place, kv_store of k, v and attention into out, in one call
     * with the numbers of those four calls. Returns 0 when done, -1 on
     * failure, 1 when it does not apply to this batch: then nothing was
     * done and the caller makes the four calls. Heads and head_dim are b->kv's. */
    int (*rope_attention)(backend *b, void *kvbuf, int32_t il, int32_t n, float *q, float *k, const float *v,
                          int32_t rope_dim, const int32_t *pos, const float *inv_freq, const int32_t *cells,
                          const be_attn *at, float *out);
    /* Optional (NULL: not there): matmul of wg and wu (the same shape) into
     * g and u, then swiglu(g, u), in one call with the numbers of those two.
     * Returns 0 when done, -1 on failure, 1 when it does not apply (nothing
     * done). */
    int (*matmul_swiglu)(backend *b, const model_weight *wg, const model_weight *wu, const float *x,
                         int32_t n, float *g, float *u);
} backend_ops;

/* KV geometry every backend stores by: cell c of layer il holds K at
 * kv + ((c / KV_BLOCK) * n_layers + il) * 2 * KV_BLOCK * kv_dim + (c % KV_BLOCK) * kv_dim
 * and V KV_BLOCK * kv_dim floats after its K. */
typedef struct be_kvgeom { int32_t n_layers, kv_dim, head_dim, n_heads, n_kv_heads; } be_kvgeom;

struct backend {
    const backend_ops *ops;
    be_kvgeom kv;
    int n_threads;
    /* true when backend memory is host memory (the CPU): a result the host
     * reads (the logits) may then be computed straight into host buffers,
     * with no to_host copy (64 rows of a 32000 vocabulary are 8 MB) */
    bool host_mem;
    /* set before prepare (ctx_params.no_huge_pages): the CPU backend keeps
     * its weight copies and its buffers (alloc: the KV cells) off huge
     * pages and makes no float copies */
    bool no_huge_pages;
};

/* Creates a backend by name ("cpu", "cuda"). err says why not. */
backend *backend_create(const char *name, int n_threads, be_kvgeom geom, char *err, size_t errlen);

/* CPU backend (backend_cpu.c). */
backend *backend_cpu_create(int n_threads, be_kvgeom geom);
/* The same on a borrowed pool (core/pool.h), which it never destroys; the
 * caller keeps regions of different backends from overlapping. */
struct pool;
backend *backend_cpu_create_shared(struct pool *p, be_kvgeom geom);
/* The CPU backend's thread pool; NULL for other backends. */
struct pool *backend_cpu_pool(backend *b);
/* CUDA backend (kernels/cuda, built with make CUDA=1); NULL with a message otherwise. */
backend *backend_cuda_create(int n_threads, be_kvgeom geom, char *err, size_t errlen);
#endif
