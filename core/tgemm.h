/* tgemm: the F32 matrix products of training, split over a thread pool.
 *
 * Three row-major forms cover a linear layer y = x W^T (W is (out, in)):
 *   tgemm_nt  C (n, m) = A (n, k) B (m, k)^T + beta C   forward:  y = x W^T
 *   tgemm_nn  C (n, m) = A (n, k) B (k, m)   + beta C   backward: dx = dy W
 *   tgemm_tn  C (n, m) = A (k, n)^T B (k, m) + beta C   backward: dW += dy^T x
 * Each thread owns a fixed block of C, so results do not depend on timing;
 * they may differ between thread counts (the blocks change).
 * Kernels: the project's own AVX2/FMA micro-kernel (kernels/cpu/sgemm.h) or
 * OpenBLAS sgemm, chosen by tgemm_set_impl. The default is OpenBLAS when the
 * core it detected has AVX2-or-better kernels (Haswell, SkylakeX, Zen...),
 * else the own kernel (where the CPU has AVX2/FMA): Debian's OpenBLAS
 * misdetects newer Intel CPUs as "Prescott" and runs generic SSE3 code.
 */
#ifndef TGEMM_H
#define TGEMM_H
#include <stdbool.h>

struct pool;

enum { TGEMM_AUTO = 0, TGEMM_OWN = 1, TGEMM_BLAS = 2 };
/* Chooses the kernel for every later call in this process; returns the one
 * in force (TGEMM_OWN or TGEMM_BLAS). */
int tgemm_set_impl(int impl);
const char *tgemm_impl_name(void);
/* The core OpenBLAS detected ("Haswell", "Prescott"...). */
const char *tgemm_blas_core(void);

void tgemm_nt(struct pool *p, int n, int m, int k, const float *a, const float *b, float beta, float *c);
void tgemm_nn(struct pool *p, int n, int m, int k, const float *a, const float *b, float beta, float *c);
void tgemm_tn(struct pool *p, int n, int m, int k, const float *a, const float *b, float beta, float *c);
#endif
