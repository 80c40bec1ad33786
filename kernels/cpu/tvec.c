/* tvec: dispatch (tvec.h) and the portable loops. */
#include "tvec.h"
#include <math.h>
#include <stdatomic.h>

#include "sgemm.h"

static void axpy_c(int n, float a, const float *x, float *y) {
    for (int i = 0; i < n; i++) y[i] += a * x[i];
}

static float dot_c(int n, const float *x, const float *y) {
    float s[8] = { 0 };
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) s[k] += x[i + k] * y[i + k];
    for (int k = 0; i < n; i++, k++) s[k] += x[i] * y[i];
    return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

static float max_c(int n, const float *x) {
    float m = x[0];
    for (int i = 1; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

static float sum_c(int n, const float *x) {
    float s[8] = { 0 };
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) s[k] += x[i + k];
    for (int k = 0; i < n; i++, k++) s[k] += x[i];
    return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

static atomic_int simd = -1;

static int use_simd(void) {
    int v = atomic_load_explicit(&simd, memory_order_relaxed);
    if (v < 0) atomic_store(&simd, v = sgemm_has_simd());
    return v;
}

void tvec_axpy(int n, float a, const float *x, float *y) {
    if (use_simd()) tvec_axpy_avx2(n, a, x, y);
    else axpy_c(n, a, x, y);
}

float tvec_dot(int n, const float *x, const float *y) {
    return use_simd() ? tvec_dot_avx2(n, x, y) : dot_c(n, x, y);
}

float tvec_max(int n, const float *x) { return use_simd() ? tvec_max_avx2(n, x) : max_c(n, x); }
float tvec_sum(int n, const float *x) { return use_simd() ? tvec_sum_avx2(n, x) : sum_c(n, x); }

/* The portable loops: expf for exp (other bits than the SIMD exp), the
 * same order of operations otherwise. */
static float sumexp_c(int n, const float *x, float mx) {
    float s[8] = { 0 };
    for (int i = 0; i < n; i++) s[i % 8] += expf(x[i] - mx);
    return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

float tvec_sumexp(int n, const float *x, float mx) {
    return use_simd() ? tvec_sumexp_avx2(n, x, mx) : sumexp_c(n, x, mx);
}

void tvec_expscale(int n, float *x, float sub, float scale) {
    if (use_simd()) { tvec_expscale_avx2(n, x, sub, scale); return; }
    for (int i = 0; i < n; i++) x[i] = expf(x[i] - sub) * scale;
}

void tvec_swiglu_fwd(size_t n, float *h, const float *g, const float *u) {
    if (use_simd()) { tvec_swiglu_fwd_avx2(n, h, g, u); return; }
    for (size_t i = 0; i < n; i++) h[i] = g[i] * (1.0f / (1.0f + expf(-g[i]))) * u[i];
}

void tvec_swiglu_bwd(size_t n, float *dg, float *du, const float *dh, const float *g, const float *u) {
    if (use_simd()) { tvec_swiglu_bwd_avx2(n, dg, du, dh, g, u); return; }
    for (size_t i = 0; i < n; i++) {
        float s = 1.0f / (1.0f + expf(-g[i]));
        dg[i] = dh[i] * u[i] * s * (1.0f + g[i] * (1.0f - s));
        du[i] = dh[i] * (g[i] * s);
    }
}

void tvec_adamw(size_t n, float *p, float *m, float *v, const float *g, const unsigned char *decay_mask,
                const tvec_adamw_k *k) {
    if (use_simd()) { tvec_adamw_avx2(n, p, m, v, g, decay_mask, k); return; }
    for (size_t i = 0; i < n; i++) {
        if (!decay_mask || decay_mask[i]) p[i] *= k->decay;
        m[i] = k->b1 * m[i] + (1.0f - k->b1) * g[i];
        v[i] = k->b2 * v[i] + (1.0f - k->b2) * g[i] * g[i];
        p[i] -= k->step * m[i] / (sqrtf(v[i]) / k->bc2sqrt + k->eps);
    }
}

double tvec_sumsq(size_t n, const float *x) {
    if (use_simd()) return tvec_sumsq_avx2(n, x);
    double s[16] = { 0 };   /* s[4 q + l]: the AVX2 loop's accumulator q, lane l */
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) s[j] += (double)x[i + j] * x[i + j];
    double t[4];
    for (int l = 0; l < 4; l++) t[l] = (s[l] + s[4 + l]) + (s[8 + l] + s[12 + l]);
    double r = (t[0] + t[1]) + (t[2] + t[3]);
    for (; i < n; i++) r += (double)x[i] * x[i];
    return r;
}

void tvec_scale(size_t n, float *x, float s) {
    if (use_simd()) { tvec_scale_avx2(n, x, s); return; }
    for (size_t i = 0; i < n; i++) x[i] *= s;
}

void tvec_softmax_row(int n, float *p, float scale) {
    if (use_simd()) { tvec_softmax_row_avx2(n, p, scale); return; }
    for (int t = 0; t < n; t++) p[t] *= scale;
    float mx = max_c(n, p);
    for (int t = 0; t < n; t++) p[t] = expf(p[t] - mx);
    float inv = 1.0f / sum_c(n, p);
    for (int t = 0; t < n; t++) p[t] *= inv;
}

void tvec_softmax_bwd_row(int n, const float *p, float *ds, float scale) {
    if (use_simd()) { tvec_softmax_bwd_row_avx2(n, p, ds, scale); return; }
    float sum = dot_c(n, p, ds);
    for (int t = 0; t < n; t++) ds[t] = p[t] * (ds[t] - sum) * scale;
}
