/* tvec: the two vector loops of training's attention, over positions:
 *   tvec_axpy: y[i] += a * x[i]
 *   tvec_dot:  sum of x[i] * y[i], in eight interleaved partial sums added
 *              in a fixed order (the same result for the same n every time).
 * (and the max and sum of a row, for the softmax of the loss).
 * AVX2/FMA where the CPU has it (fused: one rounding per step), else a
 * portable loop with the same summation order but separate rounding. */
#ifndef TVEC_H
#define TVEC_H
#include <stddef.h>

void tvec_axpy(int n, float a, const float *x, float *y);
float tvec_dot(int n, const float *x, const float *y);
/* Largest of x[0..n) (n >= 1), and the sum in the same fixed order as dot. */
float tvec_max(int n, const float *x);
float tvec_sum(int n, const float *x);
/* Softmax cross-entropy over a row of logits (exp as vd_exp_f32's, vexp_avx2.h):
 *   tvec_sumexp:   sum of exp(x[i] - mx), in tvec_sum's order (one pass, no copy);
 *   tvec_expscale: x[i] = exp(x[i] - sub) * scale (the gradient, in place). */
float tvec_sumexp(int n, const float *x, float mx);
void tvec_expscale(int n, float *x, float sub, float scale);
/* SwiGLU: h = silu(g) u = g s u with s = 1 / (1 + exp(-g)); its backward
 * dg = dh u s (1 + g (1 - s)), du = dh g s. */
void tvec_swiglu_fwd(size_t n, float *h, const float *g, const float *u);
void tvec_swiglu_bwd(size_t n, float *dg, float *du, const float *dh, const float *g, const float *u);
/* AdamW over n parameters (core/adamw.c): p *= decay where decay_mask (NULL:
 * everywhere) is non-zero; m = b1 m + (1 - b1) g; v = b2 v + ((1 - b2) g) g;
 * p -= step m / (sqrt(v) / bc2sqrt + eps). Separate roundings in that order,
 * SIMD or not: the same bits either way, whatever the split. */
typedef struct tvec_adamw_k { float b1, b2, eps, decay, step, bc2sqrt; } tvec_adamw_k;
void tvec_adamw(size_t n, float *p, float *m, float *v, const float *g, const unsigned char *decay_mask,
                const tvec_adamw_k *k);
/* Sum of squares in double (16 partial sums in a fixed order), and x *= s. */
double tvec_sumsq(size_t n, const float *x);
void tvec_scale(size_t n, float *x, float s);
/* Attention's rows: p = softmax(p scale) (scale > 0; the roundings of
 * scaling, the max, subtracting it, exp, tvec_sum and times 1 / sum, done
 * one after the other), and ds = p (ds - dot(p, ds)) scale. */
void tvec_softmax_row(int n, float *p, float scale);
void tvec_softmax_bwd_row(int n, const float *p, float *ds, float scale);
/* The AVX2 versions, for the dispatcher. */
void tvec_axpy_avx2(int n, float a, const float *x, float *y);
float tvec_dot_avx2(int n, const float *x, const float *y);
float tvec_max_avx2(int n, const float *x);
float tvec_sum_avx2(int n, const float *x);
float tvec_sumexp_avx2(int n, const float *x, float mx);
void tvec_expscale_avx2(int n, float *x, float sub, float scale);
void tvec_swiglu_fwd_avx2(size_t n, float *h, const float *g, const float *u);
void tvec_swiglu_bwd_avx2(size_t n, float *dg, float *du, const float *dh, const float *g, const float *u);
void tvec_adamw_avx2(size_t n, float *p, float *m, float *v, const float *g, const unsigned char *decay_mask,
                     const tvec_adamw_k *k);
double tvec_sumsq_avx2(size_t n, const float *x);
void tvec_scale_avx2(size_t n, float *x, float s);
void tvec_softmax_row_avx2(int n, float *p, float scale);
void tvec_softmax_bwd_row_avx2(int n, const float *p, float *ds, float scale);
#endif
