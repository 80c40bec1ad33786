/* mm: activation rounding, matrix-vector kernels for few activation rows,
 * cuBLAS for prompt batches, and weight dequantization (see mm.cuh).
 *
 * Device layout of rounded activations, n rows of `cols`:
 *   F16 / BF16, decode:  float (n, cols), each value rounded through the type
 *   F16 / BF16, cuBLAS:  the 16-bit values themselves (n, cols)
 *   Q8_0 / Q8_K, decode: codes int8 (n, cols); scales float (n, cols / blk),
 *                        blk 32 or 256; for Q8_K also the code sums int32
 *                        (n, cols / 32), one per 32-element unit
 *   Q8_0 / Q8_K, cuBLAS: float (n, cols) = scale * code, as qt_dequantize_row
 * Each part starts 256-byte aligned.
 */
#include "mm.cuh"
#include "cuerr.cuh"
#include "qunit.cuh"
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cstring>
#include <type_traits>

#define FULL_MASK 0xffffffffu
#define MMV_WARPS 4                    /* weight rows per thread block */
#define ACT_WARPS 8                    /* activation blocks per thread block */
#define DEQ_CHUNK_BYTES (64u << 20)    /* F32 weight rows dequantized per sgemm */

enum { ACT_F16, ACT_BF16, ACT_Q8_0, ACT_Q8_K, ACT_NONE };

static size_t align256(size_t n) { return (n + 255) & ~(size_t)255; }

/* Activation class of a weight type; ACT_NONE for F32 (x is used as it is). */
static __host__ __device__ constexpr int act_class(int type) {
    switch (type) {
    case QU_F16: return ACT_F16;
    case QU_BF16: return ACT_BF16;
    case QU_Q8_0: case QU_Q4_0: case QU_Q5_0: return ACT_Q8_0;
    case QU_Q4_K: case QU_Q5_K: case QU_Q6_K: return ACT_Q8_K;
    default: return ACT_NONE;
    }
}

static bool is_float_type(int type) { return type == QU_F32 || type == QU_F16 || type == QU_BF16; }

bool mm_supported(int type, int64_t cols) {
    switch (type) {
    case QU_F32: case QU_F16: case QU_BF16: return cols > 0;
    case QU_Q8_0: case QU_Q4_0: case QU_Q5_0: return cols > 0 && cols % 32 == 0;
    case QU_Q4_K: case QU_Q5_K: case QU_Q6_K: return cols > 0 && cols % 256 == 0;
    default: return false;
    }
}

static size_t row_bytes(int type, int64_t cols) {
    switch (type) {
    case QU_F32: return (size_t)cols * 4;
    case QU_F16: case QU_BF16: return (size_t)cols * 2;
    case QU_Q8_0: return (size_t)cols / 32 * 34;
    case QU_Q4_0: return (size_t)cols / 32 * 18;
    case QU_Q5_0: return (size_t)cols / 32 * 22;
    case QU_Q4_K: return (size_t)cols / 256 * 144;
    case QU_Q5_K: return (size_t)cols / 256 * 176;
    default: return (size_t)cols / 256 * 210;   /* Q6_K */
    }
}

/* Offsets of the parts of a quantized activation buffer (see the header). */
typedef struct act_parts { size_t d, sums, total; } act_parts;

static act_parts act_layout(int cls, int32_t n, int64_t cols) {
    size_t cells = (size_t)n * (size_t)cols, blk = cls == ACT_Q8_K ? 256 : 32;
    act_parts p;
    p.d = align256(cells);
    p.sums = p.d + align256(cells / blk * sizeof(float));
    p.total = p.sums + (cls == ACT_Q8_K ? align256(cells / 32 * sizeof(int32_t)) : 0);
    return p;
}

/* ---- warp reductions ---- */

static __device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(FULL_MASK, v, o);
    return v;
}

static __device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(FULL_MASK, v, o));
    return v;
}

/* ---- activation rounding (vd_quantize_act on the device) ---- */

/* Q8_0, one warp per 32-block, lane = element: d = fp16(amax / 127), codes
 * round_half_even(x * 127 / amax) with the unrounded amax (vecdot.c's
 * quant_act_q8_0). TO_FLOAT writes d * code as F32 instead. */
template <bool TO_FLOAT>
__global__ void act_q8_0(const float *__restrict__ x, int64_t nblk, int8_t *__restrict__ q,
                         float *__restrict__ d, float *__restrict__ xf) {
    int64_t blk = (int64_t)blockIdx.x * ACT_WARPS + (threadIdx.x >> 5);
    int lane = threadIdx.x & 31;
    if (blk >= nblk) return;
    float v = x[blk * 32 + lane];
    float amax = warp_max(fabsf(v));
    float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    float dd = __half2float(__float2half_rn(amax / 127.0f));
    int qi = __float2int_rn(v * id);
    if (TO_FLOAT) {
        xf[blk * 32 + lane] = (float)qi * dd;
    } else {
        q[blk * 32 + lane] = (int8_t)qi;
        if (lane == 0) d[blk] = dd;
    }
}

/* Q8_K, one warp per 256-block, lane = elements 8 lane .. 8 lane + 7 (qtypes.c's
 * quant_q8_K): the signed element of largest magnitude (the first on ties)
 * sets iscale = -127 / max; codes min(127, round_half_even(iscale * x)),
 * d = 1 / iscale, and the code sum of every 32 elements. */
template <bool TO_FLOAT>
__global__ void act_q8_k(const float *__restrict__ x, int64_t nblk, int8_t *__restrict__ q,
                         float *__restrict__ d, int32_t *__restrict__ sums, float *__restrict__ xf) {
    int64_t blk = (int64_t)blockIdx.x * ACT_WARPS + (threadIdx.x >> 5);
    int lane = threadIdx.x & 31;
    if (blk >= nblk) return;
    const float *xb = x + blk * 256 + lane * 8;
    float v[8], amax = 0.0f, vmax = 0.0f;
    int imax = 256;
    for (int k = 0; k < 8; k++) {
        v[k] = xb[k];
        if (fabsf(v[k]) > amax) { amax = fabsf(v[k]); vmax = v[k]; imax = lane * 8 + k; }
    }
    for (int o = 16; o > 0; o >>= 1) {   /* max of (|x|, -index): the same in every lane */
        float a = __shfl_xor_sync(FULL_MASK, amax, o), s = __shfl_xor_sync(FULL_MASK, vmax, o);
        int i = __shfl_xor_sync(FULL_MASK, imax, o);
        if (a > amax || (a == amax && i < imax)) { amax = a; vmax = s; imax = i; }
    }
    int qi[8];
    float dd = 0.0f;
    if (vmax != 0.0f) {
        float iscale = -127.0f / vmax;
        for (int k = 0; k < 8; k++) qi[k] = min(127, __float2int_rn(iscale * v[k]));
        dd = 1.0f / iscale;
    } else {
        for (int k = 0; k < 8; k++) qi[k] = 0;
    }
    if (TO_FLOAT) {
        for (int k = 0; k < 8; k++) xf[blk * 256 + lane * 8 + k] = dd * (float)qi[k];
        return;
    }
    int s = 0;
    uint32_t lo = 0, hi = 0;
    for (int k = 0; k < 8; k++) s += qi[k];
    for (int k = 0; k < 4; k++) {
        lo |= (uint32_t)(qi[k] & 0xff) << 8 * k;
        hi |= (uint32_t)(qi[k + 4] & 0xff) << 8 * k;
    }
    *(uint2 *)(q + blk * 256 + lane * 8) = make_uint2(lo, hi);
    s += __shfl_xor_sync(FULL_MASK, s, 1);   /* lanes 4u..4u+3 hold unit u */
    s += __shfl_xor_sync(FULL_MASK, s, 2);
    if ((lane & 3) == 0) sums[blk * 8 + lane / 4] = s;
    if (lane == 0) d[blk] = dd;
}

/* F16 / BF16: RAW writes the 16-bit values (for GemmEx), else floats rounded
 * through the type (for the decode kernels). Round to nearest even, as
 * qt_f32_to_f16 / qt_f32_to_bf16. */
template <int T, bool RAW>
__global__ void act_16(const float *__restrict__ x, size_t n, void *__restrict__ out) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    if (T == QU_F16) {
        __half h = __float2half_rn(x[i]);
        if (RAW) ((__half *)out)[i] = h; else ((float *)out)[i] = __half2float(h);
    } else {
        __nv_bfloat16 h = __float2bfloat16_rn(x[i]);
        if (RAW) ((__nv_bfloat16 *)out)[i] = h; else ((float *)out)[i] = __bfloat162float(h);
    }
}

/* ---- decode: matrix times a few vectors ---- */

/* Element e of a float-type row. */
template <int T>
static __device__ __forceinline__ float ld1(const uint8_t *row, int64_t e) {
    if (T == QU_F32) return ((const float *)row)[e];
    if (T == QU_F16) return __half2float(((const __half *)row)[e]);
    return __bfloat162float(((const __nv_bfloat16 *)row)[e]);
}

/* Elements 8c .. 8c+7 of a float-type row whose start is 16-byte aligned. */
template <int T>
static __device__ __forceinline__ void ld8(const uint8_t *row, int64_t c, float v[8]) {
    if (T == QU_F32) {
        const float4 *p = (const float4 *)(row + 32 * c);
        float4 a = p[0], b = p[1];
        v[0] = a.x; v[1] = a.y; v[2] = a.z; v[3] = a.w; v[4] = b.x; v[5] = b.y; v[6] = b.z; v[7] = b.w;
        return;
    }
    uint4 u = *(const uint4 *)(row + 16 * c);
    uint32_t w[4] = { u.x, u.y, u.z, u.w };
    for (int k = 0; k < 4; k++) {
        float2 f;
        if (T == QU_F16) f = __half22float2(*(const __half2 *)&w[k]);
        else f = __bfloat1622float2(*(const __nv_bfloat162 *)&w[k]);
        v[2 * k] = f.x; v[2 * k + 1] = f.y;
    }
}

/* y[j * ldy + r] = dot(W[r], x[j]) for j < nx <= NX, float-type W, one warp per
 * row r. x (nx, cols) holds floats already rounded through W's activation type.
 * vec: cols % 8 == 0 and every row 16-byte aligned (8 elements per lane load). */
template <int T, int NX>
__global__ void __launch_bounds__(MMV_WARPS * 32)
mmv_float(const uint8_t *__restrict__ W, size_t wrs, int64_t rows, int64_t cols,
          const float *__restrict__ x, int nx, float *__restrict__ y, int64_t ldy, bool vec) {
    int64_t r = (int64_t)blockIdx.x * MMV_WARPS + (threadIdx.x >> 5);
    int lane = threadIdx.x & 31;
    if (r >= rows) return;
    const uint8_t *wr = W + r * wrs;
    float acc[NX];
    for (int j = 0; j < NX; j++) acc[j] = 0.0f;
    if (vec) {
        for (int64_t c = lane; c < cols / 8; c += 32) {
            float wv[8];
            ld8<T>(wr, c, wv);
            for (int j = 0; j < NX; j++) {
                if (j >= nx) break;
                const float4 *p = (const float4 *)(x + (size_t)j * cols + 8 * c);
                float4 a = p[0], b = p[1];
                acc[j] += wv[0] * a.x + wv[1] * a.y + wv[2] * a.z + wv[3] * a.w +
                          wv[4] * b.x + wv[5] * b.y + wv[6] * b.z + wv[7] * b.w;
            }
        }
    } else {
        for (int64_t e = lane; e < cols; e += 32) {
            float wv = ld1<T>(wr, e);
            for (int j = 0; j < NX; j++) {
                if (j >= nx) break;
                acc[j] += wv * x[(size_t)j * cols + e];
            }
        }
    }
    for (int j = 0; j < NX; j++) acc[j] = warp_sum(acc[j]);
    if (lane == 0)
        for (int j = 0; j < nx; j++) y[j * ldy + r] = acc[j];
}

/* The same for quantized W, one warp per row: lane l takes units l, l+32, ...;
 * each unit is decoded once and dotted with the nx activation rows (xq codes
 * (nx, 32 nu), xd scales (nx, nu >> dshift), xs code sums (nx, nu), K-quants). */
template <int T, int NX>
__global__ void __launch_bounds__(MMV_WARPS * 32)
mmv_quant(const uint8_t *__restrict__ W, size_t wrs, int64_t rows, int nu,
          const int8_t *__restrict__ xq, const float *__restrict__ xd,
          const int32_t *__restrict__ xs, int nx, float *__restrict__ y, int64_t ldy) {
    const int dshift = act_class(T) == ACT_Q8_K ? 3 : 0;   /* units per activation scale: 8 or 1 */
    const bool mins = T == QU_Q4_K || T == QU_Q5_K;
    int64_t r = (int64_t)blockIdx.x * MMV_WARPS + (threadIdx.x >> 5);
    int lane = threadIdx.x & 31;
    if (r >= rows) return;
    const uint8_t *wr = W + r * wrs;
    float acc[NX];
    for (int j = 0; j < NX; j++) acc[j] = 0.0f;
    for (int u = lane; u < nu; u += 32) {
        qunit w;
        qu_load(T, wr, u, &w);
        for (int j = 0; j < NX; j++) {
            if (j >= nx) break;
            const int4 *p = (const int4 *)(xq + ((size_t)j * nu + u) * 32);
            int4 a = p[0], b = p[1];
            int32_t xi[8] = { a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w };
            float dx = xd[(size_t)j * (nu >> dshift) + (u >> dshift)];
            int32_t sx = mins ? xs[(size_t)j * nu + u] : 0;
            acc[j] += qu_dot(&w, xi, dx, sx);
        }
    }
    for (int j = 0; j < NX; j++) acc[j] = warp_sum(acc[j]);
    if (lane == 0)
        for (int j = 0; j < nx; j++) y[j * ldy + r] = acc[j];
}

/* ---- dequantization ---- */

/* out (n, 32 nu) = rows of quantized W, rows[i] or row0 + i; one thread per
 * unit. vec: out is 16-byte aligned (float4 stores). */
template <int T>
__global__ void deq_quant(const uint8_t *__restrict__ W, size_t wrs, const int32_t *__restrict__ rows,
                          int64_t row0, int64_t total, int nu, float *__restrict__ out, bool vec) {
    int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= total) return;
    int64_t i = t / nu, r = rows ? (int64_t)rows[i] : row0 + i;
    qunit w;
    float v[32];
    qu_load(T, W + r * wrs, (int)(t % nu), &w);
    qu_deq(&w, v);
    float *o = out + t * 32;
    if (vec)
        for (int k = 0; k < 8; k++) ((float4 *)o)[k] = make_float4(v[4 * k], v[4 * k + 1], v[4 * k + 2], v[4 * k + 3]);
    else
        for (int k = 0; k < 32; k++) o[k] = v[k];
}

/* The same for float-type W, one thread per element. */
template <int T>
__global__ void deq_float(const uint8_t *__restrict__ W, size_t wrs, const int32_t *__restrict__ rows,
                          int64_t row0, int64_t total, int64_t cols, float *__restrict__ out) {
    int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= total) return;
    int64_t i = t / cols, r = rows ? (int64_t)rows[i] : row0 + i;
    out[t] = ld1<T>(W + r * wrs, t % cols);
}


/* ---- host side ---- */

static unsigned grid_for(int64_t n, int per) { return (unsigned)((n + per - 1) / per); }
static bool aligned16(const void *p) { return ((uintptr_t)p & 15) == 0; }

/* Calls f(std::integral_constant<int, T>) for the weight type T = type, so
 * that one call site instantiates a kernel template for every type. */
template <class F>
static void with_type(int type, F f) {
    switch (type) {
    case QU_F32: f(std::integral_constant<int, QU_F32>()); break;
    case QU_F16: f(std::integral_constant<int, QU_F16>()); break;
    case QU_BF16: f(std::integral_constant<int, QU_BF16>()); break;
    case QU_Q8_0: f(std::integral_constant<int, QU_Q8_0>()); break;
    case QU_Q4_0: f(std::integral_constant<int, QU_Q4_0>()); break;
    case QU_Q5_0: f(std::integral_constant<int, QU_Q5_0>()); break;
    case QU_Q4_K: f(std::integral_constant<int, QU_Q4_K>()); break;
    case QU_Q5_K: f(std::integral_constant<int, QU_Q5_K>()); break;
    case QU_Q6_K: f(std::integral_constant<int, QU_Q6_K>()); break;
    default: break;   /* refused earlier by mm_supported */
    }
}

/* The same for the activation rows per pass, NX in {1, 2, 4, 8} >= nx. */
template <class F>
static void with_nx(int nx, F f) {
    if (nx <= 1) f(std::integral_constant<int, 1>());
    else if (nx <= 2) f(std::integral_constant<int, 2>());
    else if (nx <= 4) f(std::integral_constant<int, 4>());
    else f(std::integral_constant<int, 8>());
}

int mm_init(mm *m, cudaStream_t st, char *err, size_t errlen) {
    memset(m, 0, sizeof *m);
    m->st = st;
    CUERR_BLAS(cublasCreate(&m->blas));
    CUERR_BLAS(cublasSetStream(m->blas, st));
    return 0;
}

void mm_fini(mm *m) {
    for (int i = 0; i < ACT_NONE; i++) mem_buf_free(&m->act[i]);
    mem_buf_free(&m->deq);
    if (m->blas) cublasDestroy(m->blas);
    m->blas = NULL;
}

/* Rounds x (n, cols) to activation class cls in m->act[cls] (layout: top of
 * this file; `gemm` picks the cuBLAS form). *out is the buffer. */
static int round_act(mm *m, int cls, const float *x, int32_t n, int64_t cols, bool gemm,
                     const void **out, char *err, size_t errlen) {
    size_t cells = (size_t)n * (size_t)cols;
    size_t bytes = cls == ACT_F16 || cls == ACT_BF16 ? cells * (gemm ? 2 : 4)
                 : gemm ? cells * sizeof(float) : act_layout(cls, n, cols).total;
    mem_buf *b = &m->act[cls];
    if (mem_grow(b, bytes, m->st, err, errlen)) return -1;
    char *base = (char *)b->p;
    act_parts p = act_layout(cls, n, cols);
    cudaStream_t st = m->st;
    switch (cls) {
    case ACT_F16:
        if (gemm) act_16<QU_F16, true><<<grid_for(cells, 256), 256, 0, st>>>(x, cells, base);
        else act_16<QU_F16, false><<<grid_for(cells, 256), 256, 0, st>>>(x, cells, base);
        break;
    case ACT_BF16:
        if (gemm) act_16<QU_BF16, true><<<grid_for(cells, 256), 256, 0, st>>>(x, cells, base);
        else act_16<QU_BF16, false><<<grid_for(cells, 256), 256, 0, st>>>(x, cells, base);
        break;
    case ACT_Q8_0: {
        int64_t nblk = cells / 32;
        if (gemm) act_q8_0<true><<<grid_for(nblk, ACT_WARPS), ACT_WARPS * 32, 0, st>>>(x, nblk, NULL, NULL, (float *)base);
        else act_q8_0<false><<<grid_for(nblk, ACT_WARPS), ACT_WARPS * 32, 0, st>>>(x, nblk, (int8_t *)base, (float *)(base + p.d), NULL);
    } break;
    default: {   /* ACT_Q8_K */
        int64_t nblk = cells / 256;
        if (gemm) act_q8_k<true><<<grid_for(nblk, ACT_WARPS), ACT_WARPS * 32, 0, st>>>(x, nblk, NULL, NULL, NULL, (float *)base);
        else act_q8_k<false><<<grid_for(nblk, ACT_WARPS), ACT_WARPS * 32, 0, st>>>(x, nblk, (int8_t *)base, (float *)(base + p.d),
                                                                                (int32_t *)(base + p.sums), NULL);
    } break;
    }
    CUERR_TRY(cudaGetLastError());
    *out = b->p;
    return 0;
}

/* Decode path for one weight: passes of up to 8 activation rows. act is x
 * (F32 weights) or the rounded activations of w's class. */
static int run_mmv(mm *m, const mm_weight *w, const void *act, int32_t n, float *y, char *err, size_t errlen) {
    const int64_t cols = w->cols, rows = w->rows;
    const size_t wrs = row_bytes(w->type, cols);
    const uint8_t *W = (const uint8_t *)w->data;
    const int cls = act_class(w->type);
    const act_parts p = act_layout(cls, n, cols);
    const dim3 grid(grid_for(rows, MMV_WARPS)), block(MMV_WARPS * 32);
    cudaStream_t st = m->st;
    for (int32_t j0 = 0; j0 < n; j0 += 8) {
        int nx = n - j0 < 8 ? n - j0 : 8;
        float *yj = y + (size_t)j0 * rows;
        if (is_float_type(w->type)) {
            const float *x = (const float *)act + (size_t)j0 * cols;
            bool vec = cols % 8 == 0 && aligned16(W) && aligned16(x);
            with_type(w->type, [&](auto t) {
                constexpr int T = decltype(t)::value;
                if constexpr (T == QU_F32 || T == QU_F16 || T == QU_BF16)
                    with_nx(nx, [&](auto k) {
                        mmv_float<T, decltype(k)::value><<<grid, block, 0, st>>>(W, wrs, rows, cols, x, nx, yj, rows, vec);
                    });
            });
        } else {
            const char *base = (const char *)act;
            const int nu = (int)(cols / 32), blk = cls == ACT_Q8_K ? 256 : 32;
            const int8_t *xq = (const int8_t *)base + (size_t)j0 * cols;
            const float *xd = (const float *)(base + p.d) + (size_t)j0 * (cols / blk);
            const int32_t *xs = cls == ACT_Q8_K ? (const int32_t *)(base + p.sums) + (size_t)j0 * nu : NULL;
            with_type(w->type, [&](auto t) {
                constexpr int T = decltype(t)::value;
                if constexpr (!(T == QU_F32 || T == QU_F16 || T == QU_BF16))
                    with_nx(nx, [&](auto k) {
                        mmv_quant<T, decltype(k)::value><<<grid, block, 0, st>>>(W, wrs, rows, nu, xq, xd, xs, nx, yj, rows);
                    });
            });
        }
        CUERR_TRY(cudaGetLastError());
    }
    return 0;
}

/* out (n, cols) = rows[i] (or row0 + i) of w, dequantized. */
static cudaError_t launch_deq(const mm_weight *w, const int32_t *rows, int64_t row0, int64_t n,
                              float *out, cudaStream_t st) {
    const size_t wrs = row_bytes(w->type, w->cols);
    const uint8_t *W = (const uint8_t *)w->data;
    const int64_t cols = w->cols;
    with_type(w->type, [&](auto t) {
        constexpr int T = decltype(t)::value;
        if constexpr (T == QU_F32 || T == QU_F16 || T == QU_BF16) {
            int64_t total = n * cols;
            deq_float<T><<<grid_for(total, 256), 256, 0, st>>>(W, wrs, rows, row0, total, cols, out);
        } else {
            int64_t total = n * (cols / 32);
            deq_quant<T><<<grid_for(total, 256), 256, 0, st>>>(W, wrs, rows, row0, total, (int)(cols / 32),
                                                              out, aligned16(out));
        }
    });
    return cudaGetLastError();
}

/* Prompt path for one weight (n >= MM_GEMM_MIN_ROWS), column-major view of
 * row-major data: Y^T (rows, n) = W (cols, rows)^T * X^T (cols, n). */
static int run_gemm(mm *m, const mm_weight *w, const void *act, int32_t n, float *y, char *err, size_t errlen) {
    const float one = 1.0f, zero = 0.0f;
    const int rows = (int)w->rows, cols = (int)w->cols;
    if (w->type == QU_F32) {
        CUERR_BLAS(cublasSgemm(m->blas, CUBLAS_OP_T, CUBLAS_OP_N, rows, n, cols, &one, (const float *)w->data,
                               cols, (const float *)act, cols, &zero, y, rows));
        return 0;
    }
    if (w->type == QU_F16 || w->type == QU_BF16) {
        cudaDataType t = w->type == QU_F16 ? CUDA_R_16F : CUDA_R_16BF;
        CUERR_BLAS(cublasGemmEx(m->blas, CUBLAS_OP_T, CUBLAS_OP_N, rows, n, cols, &one, w->data, t, cols,
                                act, t, cols, &zero, y, CUDA_R_32F, rows, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
        return 0;
    }
    int64_t chunk = (int64_t)(DEQ_CHUNK_BYTES / ((size_t)cols * sizeof(float)));
    if (chunk < 1) chunk = 1;
    if (chunk > rows) chunk = rows;
    if (mem_grow(&m->deq, (size_t)chunk * cols * sizeof(float), m->st, err, errlen)) return -1;
    float *deq = (float *)m->deq.p;
    for (int64_t r0 = 0; r0 < rows; r0 += chunk) {
        int mr = (int)(rows - r0 < chunk ? rows - r0 : chunk);
        CUERR_TRY(launch_deq(w, NULL, r0, mr, deq, m->st));
        CUERR_BLAS(cublasSgemm(m->blas, CUBLAS_OP_T, CUBLAS_OP_N, mr, n, cols, &one, deq, cols,
                               (const float *)act, cols, &zero, y + r0, rows));
    }
    return 0;
}

static int bad_weight(const mm_weight *w, char *err, size_t errlen) {
    if (err && errlen)
        snprintf(err, errlen, "cuda: weight type %d with %lld columns is not supported", w->type, (long long)w->cols);
    return -1;
}

int mm_matmul(mm *m, int nw, const mm_weight *w, const float *x, int32_t n, float *const *y,
              char *err, size_t errlen) {
    if (n <= 0 || nw <= 0) return 0;
    for (int k = 0; k < nw; k++)
        if (!mm_supported(w[k].type, w[k].cols) || w[k].cols != w[0].cols) return bad_weight(&w[k], err, errlen);
    const bool gemm = n >= MM_GEMM_MIN_ROWS;
    const void *act[ACT_NONE] = { NULL, NULL, NULL, NULL };   /* rounded once per class */
    for (int k = 0; k < nw; k++) {
        int cls = act_class(w[k].type);
        const void *a = x;
        if (cls != ACT_NONE) {
            if (!act[cls] && round_act(m, cls, x, n, w[k].cols, gemm, &act[cls], err, errlen)) return -1;
            a = act[cls];
        }
        if (gemm ? run_gemm(m, &w[k], a, n, y[k], err, errlen) : run_mmv(m, &w[k], a, n, y[k], err, errlen))
            return -1;
    }
    return 0;
}

int mm_dequant_rows(mm *m, const mm_weight *w, const int32_t *rows, int32_t n, float *out,
                    char *err, size_t errlen) {
    if (n <= 0) return 0;
    if (!mm_supported(w->type, w->cols)) return bad_weight(w, err, errlen);
    CUERR_TRY(launch_deq(w, rows, 0, n, out, m->st));
    return 0;
}
