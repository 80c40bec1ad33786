/* tvec: the two vector loops of training's attention, over positions:
 *   tvec_axpy: y[i] += a * x[i]
 *   tvec_dot:  sum of x[i] * y[i], in eight interleaved partial sums added
 *              in a fixed order (the same result for the same n every time).
 * AVX2/FMA where the CPU has it (fused: one rounding per step), else a
 * portable loop with the same summation order but separate rounding. */
#ifndef TVEC_H
#define TVEC_H

void tvec_axpy(int n, float a, const float *x, float *y);
float tvec_dot(int n, const float *x, const float *y);
/* The AVX2 pair, for the dispatcher. */
void tvec_axpy_avx2(int n, float a, const float *x, float *y);
float tvec_dot_avx2(int n, const float *x, const float *y);
#endif
