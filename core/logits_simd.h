/* logits_simd: the vectorised argmax of logits.c (logits_argmax) for AVX2
 * and AVX-512, in logits_simd_avx2.c / logits_simd_avx512.c, built with the
 * Makefile's ISA flags and called only where vd_isa() says the CPU has the
 * instructions. core/logits.c itself is compiled for the baseline (SSE2).
 *
 * Both return the same id as logits_argmax's portable loop, for any row: the
 * id of rank 1 (largest logit, NaN ranking as -inf, on a tie the lower id;
 * a row of only NaN and -inf gives 0). */
#ifndef LOGITS_SIMD_H
#define LOGITS_SIMD_H
#include <stdint.h>

int32_t logits_argmax_avx2(const float *x, int32_t n);
int32_t logits_argmax_avx512(const float *x, int32_t n);
#endif
