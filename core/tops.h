/* tops: the forward and backward passes of each training op but the matrix
 * products (tgemm.h), in F32 on (rows, width) row-major buffers.
 *
 * Conventions: a backward writes ("=") the input gradients it produces,
 * except where marked "+=" (residual streams, weight gradients, shared K/V
 * heads), and never reads the buffers it writes before writing them. Rows
 * are B sequences of T positions, row r at position r % T. A pool may be
 * NULL (one thread). Per-op references: RMSNorm (Zhang and Sennrich 2019),
 * RoPE (Su et al. 2021) on adjacent pairs, SwiGLU (Shazeer 2020), causal
 * grouped-query attention (Ainslie et al. 2023).
 */
#ifndef TOPS_H
#define TOPS_H
#include <stddef.h>
#include <stdint.h>

struct pool;

/* y = x / rms(x) * g; rstd (n) keeps 1/rms for the backward. */
void tops_rmsnorm_fwd(float *y, float *rstd, const float *x, const float *g, int n, int d, float eps);
/* dx += d/dx; dg += d/dg. */
void tops_rmsnorm_bwd(float *dx, float *dg, const float *dy, const float *x, const float *g,
                      const float *rstd, int n, int d);

/* RoPE angles: cs (T, head_dim/2, 2) = cos, sin of pos * inv_freq[j], in
 * double then rounded, as the inference engine computes them (so trained
 * and served logits agree). */
void tops_rope_table(float *cs, int T, int head_dim, const float *inv_freq);
/* Rotates each head of every row in place by position r % T (cs from
 * tops_rope_table). The backward rotates the gradient back (the transpose of
 * a rotation is its inverse). */
void tops_rope_fwd(float *x, int n, int T, int n_heads, int head_dim, const float *cs);
void tops_rope_bwd(float *dx, int n, int T, int n_heads, int head_dim, const float *cs);

/* h = silu(g) * u over n elements; backward: dg, du = from dh. */
void tops_swiglu_fwd(float *h, const float *g, const float *u, size_t n);
void tops_swiglu_bwd(float *dg, float *du, const float *dh, const float *g, const float *u, size_t n);

/* Causal attention with GQA. q (B*T, H*hd), k and v (B*T, KVH*hd), out
 * (B*T, H*hd), probs (B, H, T, T) saved for the backward (zeros above the
 * diagonal). Backward: dq, dk, dv (whole buffers) overwritten. */
typedef struct tops_attn {
    int B, T, H, KVH, hd;
    float *scratch;     /* tops_attn_scratch(a, threads of the pool) floats */
} tops_attn;
/* Scratch floats the attention ops need with nth threads (1 without a pool). */
size_t tops_attn_scratch(const tops_attn *a, int nth);
void tops_attn_fwd(struct pool *p, const tops_attn *a, float *out, float *probs, const float *q,
                   const float *k, const float *v);
void tops_attn_bwd(struct pool *p, const tops_attn *a, float *dq, float *dk, float *dv, const float *dout,
                   const float *probs, const float *q, const float *k, const float *v);

/* Cross-entropy of logits (n, V) against targets (n; < 0: no loss there).
 * Forward: row_loss (n) gets each row's loss (0 where ignored) and lse (n)
 * its log-sum-exp (two reads of each row, the logits unchanged). Returns the
 * number of counted rows. Backward: replaces the logits by
 * d(scale * sum of losses)/dlogits, from the forward's lse. */
int tops_xent_fwd(struct pool *p, const float *logits, const int32_t *targets, int n, int V, float *row_loss,
                  float *lse);
void tops_xent_bwd(struct pool *p, float *logits, const int32_t *targets, const float *lse, int n, int V,
                   float scale);

/* x (n, d) = rows of the embedding table e for ids; backward: de += rows. */
void tops_embed_fwd(float *x, const float *e, const int32_t *ids, int n, int d);
void tops_embed_bwd(float *de, const float *dx, const int32_t *ids, int n, int d);
#endif
