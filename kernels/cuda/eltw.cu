/* eltw: row-wise and element-wise kernels (see eltw.cuh). One thread block
 * per row where a row needs a reduction or a shared table, grid-stride loops
 * elsewhere. Products that the CPU rounds separately are written with
 * __fmul_rn / __fadd_rn so that nvcc does not fuse them into FMAs. */
#include "eltw.cuh"
extern "C" {
#include "kv.h"
}

#define ROW_THREADS 256
#define ELT_THREADS 256

static unsigned grid_for(size_t n, int per) { return (unsigned)((n + per - 1) / per); }

/* Sum over the thread block (blockDim.x a multiple of 32, <= 1024); every
 * thread gets the result. */
static __device__ double block_sum(double v) {
    __shared__ double part[32];
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, nw = blockDim.x >> 5;
    if (lane == 0) part[warp] = v;
    __syncthreads();
    v = lane < nw ? part[lane] : 0.0;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

/* One block per row. Squares are summed in double, as the CPU (and llama.cpp) do. */
__global__ void rmsnorm_k(float *y, const float *x, const float *__restrict__ w, int32_t dim, float eps) {
    const float *xi = x + (size_t)blockIdx.x * dim;
    float *yi = y + (size_t)blockIdx.x * dim;
    double ss = 0.0;
    for (int32_t j = threadIdx.x; j < dim; j += blockDim.x) {
        float v = xi[j];
        ss += (double)(v * v);
    }
    ss = block_sum(ss);   /* ends with every read of xi done: y may be x */
    float scale = 1.0f / sqrtf((float)(ss / dim) + eps);
    for (int32_t j = threadIdx.x; j < dim; j += blockDim.x) yi[j] = __fmul_rn(xi[j], scale) * w[j];
}

cudaError_t eltw_rmsnorm(cudaStream_t st, float *y, const float *x, const float *w, int32_t n,
                         int32_t dim, float eps) {
    if (n <= 0) return cudaSuccess;
    rmsnorm_k<<<n, ROW_THREADS, 0, st>>>(y, x, w, dim, eps);
    return cudaGetLastError();
}

/* One block per row i: the (cos, sin) table of the row's position, computed in
 * double and rounded to float as the CPU does, then every (head, pair). */
__global__ void rope_k(float *x, int32_t n_heads, int32_t head_dim, int32_t half,
                       const int32_t *__restrict__ pos, const float *__restrict__ inv_freq) {
    extern __shared__ float cs[];   /* (half, 2): cos, sin */
    const int32_t i = blockIdx.x;
    for (int32_t j = threadIdx.x; j < half; j += blockDim.x) {
        double s, c;
        sincos((double)pos[i] * (double)inv_freq[j], &s, &c);
        cs[2 * j] = (float)c;
        cs[2 * j + 1] = (float)s;
    }
    __syncthreads();
    for (int32_t t = threadIdx.x; t < n_heads * half; t += blockDim.x) {
        int32_t h = t / half, j = t % half;
        float *v = x + ((size_t)i * n_heads + h) * head_dim + 2 * j;
        float a = v[0], b = v[1], co = cs[2 * j], si = cs[2 * j + 1];
        v[0] = __fsub_rn(__fmul_rn(a, co), __fmul_rn(b, si));
        v[1] = __fadd_rn(__fmul_rn(a, si), __fmul_rn(b, co));
    }
}

cudaError_t eltw_rope(cudaStream_t st, float *x, int32_t n, int32_t n_heads, int32_t head_dim,
                      int32_t rope_dim, const int32_t *pos, const float *inv_freq) {
    int32_t half = rope_dim / 2;
    if (n <= 0 || half <= 0) return cudaSuccess;
    rope_k<<<n, ROW_THREADS, 2 * (size_t)half * sizeof(float), st>>>(x, n_heads, head_dim, half, pos, inv_freq);
    return cudaGetLastError();
}

/* One block per entry: its K and V rows to cell c: block c / KV_BLOCK, layer
 * il, row c % KV_BLOCK; V follows the block's K (KV_BLOCK * kv_dim floats). */
__global__ void kv_store_k(float *__restrict__ kv, int32_t n_layers, int32_t kv_dim, int32_t il,
                           const float *__restrict__ k, const float *__restrict__ v,
                           const int32_t *__restrict__ cells) {
    const int32_t i = blockIdx.x, c = cells[i];
    size_t blk = (size_t)(c / KV_BLOCK) * n_layers + il;
    float *kd = kv + blk * 2 * KV_BLOCK * kv_dim + (size_t)(c % KV_BLOCK) * kv_dim;
    float *vd = kd + (size_t)KV_BLOCK * kv_dim;
    for (int32_t j = threadIdx.x; j < kv_dim; j += blockDim.x) {
        kd[j] = k[(size_t)i * kv_dim + j];
        vd[j] = v[(size_t)i * kv_dim + j];
    }
}

cudaError_t eltw_kv_store(cudaStream_t st, float *kv, int32_t n_layers, int32_t kv_dim, int32_t il,
                          int32_t n, const float *k, const float *v, const int32_t *cells) {
    if (n <= 0) return cudaSuccess;
    kv_store_k<<<n, ROW_THREADS, 0, st>>>(kv, n_layers, kv_dim, il, k, v, cells);
    return cudaGetLastError();
}

__global__ void swiglu_k(float *__restrict__ g, const float *__restrict__ u, size_t n) {
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        g[i] = __fmul_rn(g[i] / (1.0f + expf(-g[i])), u[i]);
}

cudaError_t eltw_swiglu(cudaStream_t st, float *g, const float *u, size_t n) {
    if (n == 0) return cudaSuccess;
    swiglu_k<<<grid_for(n, ELT_THREADS), ELT_THREADS, 0, st>>>(g, u, n);
    return cudaGetLastError();
}

__global__ void add_k(float *x, const float *y, size_t n) {
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        x[i] += y[i];
}

cudaError_t eltw_add(cudaStream_t st, float *x, const float *y, size_t n) {
    if (n == 0) return cudaSuccess;
    add_k<<<grid_for(n, ELT_THREADS), ELT_THREADS, 0, st>>>(x, y, n);
    return cudaGetLastError();
}

__global__ void get_rows_k(float *__restrict__ y, const float *__restrict__ x,
                           const int32_t *__restrict__ idx, int32_t dim) {
    const float *src = x + (size_t)idx[blockIdx.x] * dim;
    float *dst = y + (size_t)blockIdx.x * dim;
    for (int32_t j = threadIdx.x; j < dim; j += blockDim.x) dst[j] = src[j];
}

cudaError_t eltw_get_rows(cudaStream_t st, float *y, const float *x, const int32_t *idx, int32_t n,
                          int32_t dim) {
    if (n <= 0) return cudaSuccess;
    get_rows_k<<<n, ROW_THREADS, 0, st>>>(y, x, idx, dim);
    return cudaGetLastError();
}
