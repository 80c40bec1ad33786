/* mm: matrix products against weights kept in GPU memory in their file types
 * (F32, F16, BF16, Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K), and dequantization
 * of weight rows (the embedding lookup).
 *
 * Numerics follow the CPU backend (core/backend_cpu.c): the activations are
 * rounded once per call to the weight type's activation type exactly as
 * vd_quantize_act does (fp16, bf16, Q8_0 or Q8_K), then
 * - decode (n < MM_GEMM_MIN_ROWS activation rows): one warp per weight row
 *   decodes 32-element units in registers (qunit.cuh) and takes integer dot
 *   products (dp4a) against up to 8 activation rows at once, so the weights
 *   are read once per 8 sequences;
 * - prompt batches: cuBLAS. F32 weights go to sgemm as they are; F16 and BF16
 *   weights to GemmEx with the activations in the same 16-bit type and FP32
 *   accumulation (the same products as the CPU's); quantized weights are
 *   dequantized in chunks of rows to F32 and multiplied by the activations
 *   rounded and widened back to F32 with sgemm (the CPU does the same).
 * Only float summation order differs from the CPU.
 *
 * Everything is queued on the stream given to mm_init; nothing waits for the
 * GPU except a scratch buffer that has to grow.
 */
#ifndef MM_CUH
#define MM_CUH
#include "mem.cuh"
#include <cstdint>
#include <cublas_v2.h>

#define MM_GEMM_MIN_ROWS 32   /* as backend_cpu.c's SGEMM_MIN_ROWS */
#define MM_MAX_W 8            /* weights in one mm_matmul */

/* One weight matrix in device memory: rows of `cols` elements of `type`. */
typedef struct mm_weight {
    const void *data;
    int type;
    int64_t rows, cols;
} mm_weight;

typedef struct mm {
    cudaStream_t st;
    cublasHandle_t blas;
    mem_buf act[4];   /* rounded activations, one per activation type: F16, BF16, Q8_0, Q8_K */
    mem_buf deq;      /* (chunk rows, cols) F32 dequantized weights for sgemm */
} mm;

/* Creates the cuBLAS handle on stream st. 0, or -1 with err. */
int mm_init(mm *m, cudaStream_t st, char *err, size_t errlen);
void mm_fini(mm *m);

/* Whether mm computes with weight type t, and rows of `cols` elements fit its blocks. */
bool mm_supported(int type, int64_t cols);

/* For k < nw: y[k] (n, w[k].rows) = x (n, cols) * w[k]^T; every w[k] has the
 * same cols, x and y[k] are device memory. 0, or -1 with err. */
int mm_matmul(mm *m, int nw, const mm_weight *w, const float *x, int32_t n, float *const *y,
              char *err, size_t errlen);

/* out (n, w->cols) = rows rows[0..n) of w dequantized; rows is device memory. */
int mm_dequant_rows(mm *m, const mm_weight *w, const int32_t *rows, int32_t n, float *out,
                    char *err, size_t errlen);

#endif
