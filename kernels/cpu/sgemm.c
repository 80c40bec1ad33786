/* sgemm: dispatch to the AVX-512 kernel, else the AVX2/FMA one, when the CPU
 * has it, else a plain loop. The two SIMD kernels give bitwise the same
 * results; the plain loop differs from them in the last bits. */
#include "sgemm.h"
#include <stdatomic.h>
#include <stddef.h>

bool sgemm_has_simd(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return false;
#endif
}

bool sgemm_has_avx512(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && sgemm_has_simd();
#else
    return false;
#endif
}

const char *sgemm_isa(void) {
    return sgemm_has_avx512() ? "AVX-512" : sgemm_has_simd() ? "AVX2/FMA" : "portable";
}

void sgemm_f32_portable(bool ta, bool tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                        float beta, float *c, int ldc) {
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            float s = 0.0f;
            for (int p = 0; p < k; p++)
                s += (ta ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p]) *
                     (tb ? b[(size_t)j * ldb + p] : b[(size_t)p * ldb + j]);
            float *cij = &c[(size_t)i * ldc + j];
            *cij = beta == 0.0f ? s : beta * *cij + s;
        }
}

void sgemm_f32_ws(bool ta, bool tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                  float beta, float *c, int ldc, float *apack) {
    static atomic_int isa = -1;   /* every thread computes the same answer */
    if (isa < 0) isa = sgemm_has_avx512() ? 2 : sgemm_has_simd() ? 1 : 0;
    if (m <= 0 || n <= 0) return;
    if (isa == 2) sgemm_f32_avx512_ws(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc, apack);
    else if (isa == 1) sgemm_f32_avx2(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
    else sgemm_f32_portable(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
}

void sgemm_f32(bool ta, bool tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb,
               float beta, float *c, int ldc) {
    sgemm_f32_ws(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc, NULL);
}
