/* tvec: dispatch (tvec.h) and the portable loops. */
#include "tvec.h"
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
