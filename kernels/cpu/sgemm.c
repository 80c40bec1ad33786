/* sgemm: dispatch to the AVX2/FMA kernel when the CPU has it, else a plain
 * loop (results then differ from the kernel's in the last bits). */
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

static void portable(bool ta, bool tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb,
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

void sgemm_f32(bool ta, bool tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb,
               float beta, float *c, int ldc) {
    static atomic_int simd = -1;   /* every thread computes the same answer */
    if (simd < 0) simd = sgemm_has_simd();
    if (m <= 0 || n <= 0) return;
    if (simd) sgemm_f32_avx2(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
    else portable(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
}
