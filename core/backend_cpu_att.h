/* backend_cpu_att: the CPU backend's RoPE, KV cells and attention (the
 * backend_ops of those names; backend_cpu.c puts them in its table).
 * Attention sums each (entry, head) in position order, whatever the batch,
 * the blocks and the thread that takes it (docs/architecture.md). */
#ifndef BACKEND_CPU_ATT_H
#define BACKEND_CPU_ATT_H

#include "backend.h"

int cpu_rope(backend *b, float *x, int32_t n, int32_t n_heads, int32_t head_dim, int32_t rope_dim,
             const int32_t *pos, const float *inv_freq);
void cpu_kv_store(backend *b, void *kvbuf, int32_t il, int32_t n, const float *k, const float *v,
                  const int32_t *cells);
int cpu_attention(backend *b, const void *kvbuf, int32_t il, int32_t n, const be_attn *at, const float *q,
                  float *out);
int cpu_rope_attention(backend *b, void *kvbuf, int32_t il, int32_t n, float *q, float *k, const float *v,
                       int32_t rope_dim, const int32_t *pos, const float *inv_freq, const int32_t *cells,
                       const be_attn *at, float *out);

#endif
