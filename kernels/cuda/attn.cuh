/* attn: causal attention of a batch of query rows over the paged KV cache,
 * split across thread blocks along the context (flash-decoding).
 *
 * Each batch entry attends to its own list of KV cell runs (be_attn, host
 * memory). attn_run packs the runs of all entries into one plan (entries of
 * one sequence share their run table), uploads it through a cached slot, and
 * queues two kernels:
 *   1. split: block (split s, KV head hk, entry i) takes the positions
 *      [s * span, (s + 1) * span) of entry i for the query heads of hk (GQA:
 *      they share K/V reads) and runs the online softmax over tiles of
 *      positions (Milakov & Gimelshein 2018; FlashAttention, Dao et al. 2022),
 *      leaving a partial (max, sum of exponentials, unnormalized output);
 *   2. reduce: per (entry, head), the partials are rescaled to a common max
 *      and summed (Flash-Decoding, Dao et al. 2023).
 * The number of splits grows when there are too few (entry, KV head) pairs
 * to fill the GPU, as in single-sequence decoding of a long context.
 */
#ifndef ATTN_CUH
#define ATTN_CUH
#include "mem.cuh"
#include <cstdint>
extern "C" {
#include "backend.h"
}

#define ATTN_MAX_GROUP 8       /* query heads per KV head */
#define ATTN_MAX_HEAD_DIM 256

typedef struct attn {
    int n_sm;                  /* multiprocessors, to size the splits */
    mem_slot plan;             /* the packed plan on the device */
    mem_buf part;              /* split partials: outputs (n, n_heads, nsplit, head_dim), then (max, sum) pairs */
    void *host; size_t host_cap;         /* the plan being packed */
    void *seen; size_t seen_cap;         /* distinct run tables of the batch, entry -> table */
} attn;

void attn_init(attn *a, int n_sm);
void attn_fini(attn *a);

/* Whether attn handles this geometry; if not, err says why. */
bool attn_supported(const be_kvgeom *g, char *err, size_t errlen);

/* out (n, n_heads * head_dim) = softmax(q k^T / sqrt(head_dim)) v for every
 * entry over its cells at[i] (host), reading layer il of kv (device, the
 * be_kvgeom layout). q, out: device. 0, or -1 with err. */
int attn_run(attn *a, cudaStream_t st, const float *kv, const be_kvgeom *g, int32_t il, int32_t n,
             const be_attn *at, const float *q, float *out, char *err, size_t errlen);

#endif
