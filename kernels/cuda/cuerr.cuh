/* cuerr: turning CUDA and cuBLAS status codes into the codebase's error
 * convention (0 or -1, and a one-line message in a caller buffer).
 *
 * CUERR_TRY(call) is for functions that take `char *err, size_t errlen` and
 * return int: on failure it writes "cuda: CALL: NAME: text" and returns -1.
 */
#ifndef CUERR_CUH
#define CUERR_CUH
#include <cstdio>
#include <cublas_v2.h>
#include <cuda_runtime.h>

/* Writes the message for a failed CUDA call; returns -1. Also clears the
 * runtime's last-error state (a failed cudaMalloc would otherwise be reported
 * again by the next launch check; sticky errors stay). */
static inline int cuerr_cuda(cudaError_t rc, const char *what, char *err, size_t errlen) {
    (void)cudaGetLastError();
    if (err && errlen)
        snprintf(err, errlen, "cuda: %s: %s: %s", what, cudaGetErrorName(rc), cudaGetErrorString(rc));
    return -1;
}

/* The same for a failed cuBLAS call. */
static inline int cuerr_blas(cublasStatus_t rc, const char *what, char *err, size_t errlen) {
    if (err && errlen)
        snprintf(err, errlen, "cublas: %s: %s", what, cublasGetStatusString(rc));
    return -1;
}

#define CUERR_TRY(call) do { \
    cudaError_t cuerr_rc_ = (call); \
    if (cuerr_rc_ != cudaSuccess) return cuerr_cuda(cuerr_rc_, #call, err, errlen); \
} while (0)

#define CUERR_BLAS(call) do { \
    cublasStatus_t cuerr_rc_ = (call); \
    if (cuerr_rc_ != CUBLAS_STATUS_SUCCESS) return cuerr_blas(cuerr_rc_, #call, err, errlen); \
} while (0)

#endif
