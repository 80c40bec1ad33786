/* tvec: the two vector loops of training's attention, over positions:
 *   tvec_axpy: y[i] += a * x[i]
 *   tvec_dot:  sum of x[i] * y[i], in eight interleaved partial sums added
 *              in a fixed order (the same result for the same n every time).
 * (and the max and sum of a row, for the softmax of the loss).
 * AVX2/FMA where the CPU has it (fused: one rounding per step), else a
 * portable loop with the same summation order but separate rounding. */
#ifndef TVEC_H
#define TVEC_H

void tvec_axpy(int n, float a, const float *x, float *y);
float tvec_dot(int n, const float *x, const float *y);
/* Largest of x[0..n) (n >= 1), and the sum in the same fixed order as dot. */
float tvec_max(int n, const float *x);
float tvec_sum(int n, const float *x);
/* The AVX2 versions, for the dispatcher. */
void tvec_axpy_avx2(int n, float a, const float *x, float *y);
float tvec_dot_avx2(int n, const float *x, const float *y);
float tvec_max_avx2(int n, const float *x);
float tvec_sum_avx2(int n, const float *x);
#endif
