/* eltw: the CUDA backend's row-wise and element-wise operations: RMSNorm,
 * RoPE, storing K/V into the cache blocks, SwiGLU, add, row gather.
 *
 * Each launcher queues one kernel on st and returns the launch status; all
 * pointers are device memory. Semantics and float operations are those of
 * core/backend_cpu.c (the reference), so results agree with it to the last
 * bit where the CPU itself is order-independent (rope, kv_store, add, gather)
 * and to float summation order elsewhere.
 */
#ifndef ELTW_CUH
#define ELTW_CUH
#include <cstddef>
#include <cstdint>
#include <cuda_runtime.h>

/* y (n, dim) = x / sqrt(mean(x^2) + eps) * w; y may be x. */
cudaError_t eltw_rmsnorm(cudaStream_t st, float *y, const float *x, const float *w, int32_t n,
                         int32_t dim, float eps);

/* In place on x (n, n_heads * head_dim): rotates pairs (2j, 2j+1), j < rope_dim / 2,
 * of every head of row i by pos[i] * inv_freq[j]. */
cudaError_t eltw_rope(cudaStream_t st, float *x, int32_t n, int32_t n_heads, int32_t head_dim,
                      int32_t rope_dim, const int32_t *pos, const float *inv_freq);

/* Rows k[i], v[i] (n, kv_dim) of layer il into cell cells[i] of the block
 * layout described in core/backend.h (be_kvgeom). */
cudaError_t eltw_kv_store(cudaStream_t st, float *kv, int32_t n_layers, int32_t kv_dim, int32_t il,
                          int32_t n, const float *k, const float *v, const int32_t *cells);

cudaError_t eltw_swiglu(cudaStream_t st, float *g, const float *u, size_t n);   /* g = silu(g) * u */
cudaError_t eltw_add(cudaStream_t st, float *x, const float *y, size_t n);      /* x += y */

/* y (n, dim) = rows idx[i] of x; y must not overlap x. */
cudaError_t eltw_get_rows(cudaStream_t st, float *y, const float *x, const int32_t *idx, int32_t n,
                          int32_t dim);

#endif
