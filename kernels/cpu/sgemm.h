/* sgemm: a single-threaded F32 matrix product for training,
 *   C (m, n) = op(A) (m, k) op(B) (k, n) + beta C, all row-major,
 * op(A) = A (lda) or A^T when ta; op(B) likewise. Goto and van de Geijn's
 * layering (ACM TOMS 34(3), 2008; BLIS): blocks of B and A are packed into
 * panels, and a register-blocked micro-kernel (14x32 with AVX-512, 6x16 with
 * AVX2 FMA) runs over them. Every element of C sums its k products in the
 * same order, whatever m and n are, so splitting C between threads never
 * changes a result; the AVX-512 and AVX2 kernels sum in the same order too
 * (bitwise the same C).
 */
#ifndef SGEMM_H
#define SGEMM_H
#include <stdbool.h>
#include <stddef.h>

/* True when the AVX2/FMA kernel runs on this CPU (else a portable loop). */
bool sgemm_has_simd(void);
/* True when the AVX-512 kernel runs on this CPU (it is then the one used). */
bool sgemm_has_avx512(void);
/* "AVX-512", "AVX2/FMA" or "portable": the kernel sgemm_f32 runs. */
const char *sgemm_isa(void);
void sgemm_f32(bool ta, bool tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb,
               float beta, float *c, int ldc);
/* The same, with apack: NULL, or room for sgemm_apack_floats(m, k) floats
 * that the AVX-512 kernel packs all of A into once when C is wider than one
 * block of B (n > 384: x W^T at a vocabulary), instead of once per block.
 * The same bits as sgemm_f32 either way; other kernels ignore it. */
size_t sgemm_apack_floats(int m, int k);
void sgemm_f32_ws(bool ta, bool tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                  float beta, float *c, int ldc, float *apack);
/* The kernels, exported for the dispatcher and for tests and benchmarks that
 * compare them (call the SIMD ones only where the CPU has the ISA). */
void sgemm_f32_avx512(bool ta, bool tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                      float beta, float *c, int ldc);
void sgemm_f32_avx512_ws(bool ta, bool tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                         float beta, float *c, int ldc, float *apack);
void sgemm_f32_avx2(bool ta, bool tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                    float beta, float *c, int ldc);
void sgemm_f32_portable(bool ta, bool tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                        float beta, float *c, int ldc);
#endif
