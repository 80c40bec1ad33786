/* tgemm: the F32 matrix products of training, split over a thread pool.
 *
 * Three row-major forms cover a linear layer y = x W^T (W is (out, in)):
 *   tgemm_nt  C (n, m) = A (n, k) B (m, k)^T + beta C   forward:  y = x W^T
 *   tgemm_nn  C (n, m) = A (n, k) B (k, m)   + beta C   backward: dx = dy W
 *   tgemm_tn  C (n, m) = A (k, n)^T B (k, m) + beta C   backward: dW += dy^T x
 * Each thread owns a fixed block of C, so results do not depend on timing;
 * with the own kernels they do not depend on the thread count either (each
 * element sums in one fixed order), with OpenBLAS they may.
 * Kernels: the project's own AVX-512 or AVX2/FMA micro-kernels
 * (kernels/cpu/sgemm.h) or OpenBLAS sgemm, chosen by tgemm_set_impl. The
 * default is the own kernel where the CPU has AVX-512 (as fast as OpenBLAS's
 * there, bench/gemmbench.c) or where OpenBLAS fell back to generic code
 * (Debian's OpenBLAS misdetects newer Intel CPUs as "Prescott" and runs
 * SSE3 code), else OpenBLAS (AVX2 CPUs, where it beats the own 6x16 kernel).
 */
#ifndef TGEMM_H
#define TGEMM_H
#include <stdbool.h>
#include <stddef.h>

struct pool;

enum { TGEMM_AUTO = 0, TGEMM_OWN = 1, TGEMM_BLAS = 2 };
/* Chooses the kernel for every later call in this process; returns the one
 * in force (TGEMM_OWN or TGEMM_BLAS). */
int tgemm_set_impl(int impl);
const char *tgemm_impl_name(void);
/* Makes OpenBLAS single-threaded and stops its idle worker threads, which
 * otherwise spin for ~0.1 s after the library loads (a second core busy
 * during a short run). Idempotent; main calls it first. */
void tgemm_blas_serial(void);
/* The core OpenBLAS detected ("Haswell", "Prescott"...). */
const char *tgemm_blas_core(void);

void tgemm_nt(struct pool *p, int n, int m, int k, const float *a, const float *b, float beta, float *c);
void tgemm_nn(struct pool *p, int n, int m, int k, const float *a, const float *b, float beta, float *c);
void tgemm_tn(struct pool *p, int n, int m, int k, const float *a, const float *b, float beta, float *c);
/* tgemm_nt with scratch (NULL: none) of tgemm_nt_ws_floats(p, n, k) floats,
 * for wide outputs (m > 384: the vocabulary): the own AVX-512 kernel then
 * packs each thread's rows of A once instead of once per 384 columns of C.
 * The same bits as tgemm_nt. Allocate it once per run (tfwd does). */
size_t tgemm_nt_ws_floats(struct pool *p, int n, int k);
void tgemm_nt_ws(struct pool *p, int n, int m, int k, const float *a, const float *b, float beta, float *c,
                 float *ws);
#endif
