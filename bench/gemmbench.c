/* gemmbench: training's F32 matrix products at a model's shapes, single
 * thread, per CPU second: the project's kernels (AVX-512, AVX2) and OpenBLAS
 * on the same operands in the same run, interleaved (kernel after kernel,
 * REPS rounds, the best round of each), so a loaded machine slows them
 * alike. The three forms a training step runs (core/tgemm.h):
 *   nt  y = x W^T      C (tokens, out) = A (tokens, in) B (out, in)^T
 *   nn  dx = dy W      C (tokens, in)  = A (tokens, out) B (out, in)
 *   tn  dW += dy^T x   C (out, in)     = A (tokens, out)^T B (tokens, in)
 * One JSON line per shape, form and kernel; GFLOPS counts 2 m n k;
 * peak_frac is against the single-core F32 FMA peak per CPU second, measured
 * in the same run (16-wide FMAs, 12 chains, as bench/fmapeak.c) before each
 * shape (the best of those passes). The own AVX-512 kernel runs with the
 * A-panel scratch training gives it (sgemm_f32_ws).
 *   gemmbench [TOKENS] [REPS] [out:in ...]   (default stories15m's shapes)
 * Also checks that the two own kernels agree bitwise (they sum alike). */
#define _GNU_SOURCE
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <immintrin.h>

#include "sgemm.h"

extern void openblas_set_num_threads(int);

static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* One pass of 12 independent 16-wide FMA chains; GFLOPS per CPU second. */
__attribute__((target("avx512f"))) static double peak_pass(float seed) {
    __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f), c[12];
    for (int i = 0; i < 12; i++) c[i] = _mm512_set1_ps(seed + 0.01f * (float)i);
    const long iters = 20000000;
    double t0 = cpu_now();
    for (long it = 0; it < iters; it++) {
        c[0] = _mm512_fmadd_ps(c[0], x, y); c[1] = _mm512_fmadd_ps(c[1], x, y); c[2] = _mm512_fmadd_ps(c[2], x, y);
        c[3] = _mm512_fmadd_ps(c[3], x, y); c[4] = _mm512_fmadd_ps(c[4], x, y); c[5] = _mm512_fmadd_ps(c[5], x, y);
        c[6] = _mm512_fmadd_ps(c[6], x, y); c[7] = _mm512_fmadd_ps(c[7], x, y); c[8] = _mm512_fmadd_ps(c[8], x, y);
        c[9] = _mm512_fmadd_ps(c[9], x, y); c[10] = _mm512_fmadd_ps(c[10], x, y); c[11] = _mm512_fmadd_ps(c[11], x, y);
    }
    double dt = cpu_now() - t0;
    __m512 s = c[0];
    for (int i = 1; i < 12; i++) s = _mm512_add_ps(s, c[i]);
    volatile float sink = _mm512_reduce_add_ps(s);
    (void)sink;
    return 2.0 * 16 * 12 * (double)iters / dt / 1e9;
}

static float *apack;   /* the own AVX-512 kernel's A-panel scratch (training gives it one) */

enum { K512, K2, KBLAS, NK };
static const char *kname[NK] = { "own AVX-512", "own AVX2", "OpenBLAS" };

static void one(int kind, int form, int T, int out, int in, const float *x, const float *w, const float *dy,
                float *c) {
    /* row-major sgemm(ta, tb, m, n, k, a, lda, b, ldb) per form */
    bool ta = form == 2, tb = form == 0;
    int m = form == 2 ? out : T, n = form == 0 ? out : in, k = form == 0 ? in : form == 1 ? out : T;
    const float *a = form == 0 ? x : dy, *b = form == 2 ? x : w;
    int lda = form == 0 ? in : out, ldb = form == 1 || form == 2 ? in : in;
    if (kind == K512) sgemm_f32_avx512_ws(ta, tb, m, n, k, a, lda, b, ldb, 0.0f, c, n, apack);
    else if (kind == K2) sgemm_f32_avx2(ta, tb, m, n, k, a, lda, b, ldb, 0.0f, c, n);
    else cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, a,
                     lda, b, ldb, 0.0f, c, n);
}

int main(int argc, char **argv) {
    int T = argc > 1 ? atoi(argv[1]) : 2048, reps = argc > 2 ? atoi(argv[2]) : 3;
    int shapes[16][2], ns = 0;
    for (int i = 3; i < argc && ns < 16; i++)
        if (sscanf(argv[i], "%d:%d", &shapes[ns][0], &shapes[ns][1]) == 2) ns++;
    if (!ns) {
        int d[4][2] = { { 288, 288 }, { 768, 288 }, { 288, 768 }, { 32000, 288 } };
        memcpy(shapes, d, sizeof d);
        ns = 4;
    }
    openblas_set_num_threads(1);
    bool has512 = sgemm_has_avx512(), has2 = sgemm_has_simd();
    int bad = 0;
    double peak = 0;
    for (int s = 0; s < ns; s++) {
        int out = shapes[s][0], in = shapes[s][1];
        if (has512) {
            double pk = peak_pass((float)argc * 0.001f + 0.5f);
            if (pk > peak) peak = pk;
        }
        size_t ap = sgemm_apack_floats(T > out ? T : out, T > in ? T : in);
        apack = malloc(sizeof(float) * ap);
        size_t big = (size_t)T * (out > in ? out : in);
        float *x = malloc(sizeof(float) * (size_t)T * in), *w = malloc(sizeof(float) * (size_t)out * in);
        float *dy = malloc(sizeof(float) * (size_t)T * out), *c = malloc(sizeof(float) * big);
        float *c2 = malloc(sizeof(float) * big);
        unsigned r = 1;
        for (size_t i = 0; i < (size_t)T * in; i++) x[i] = (float)((r = r * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f;
        for (size_t i = 0; i < (size_t)out * in; i++) w[i] = (float)((r = r * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f;
        for (size_t i = 0; i < (size_t)T * out; i++) dy[i] = (float)((r = r * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f;
        for (int form = 0; form < 3; form++) {
            double best[NK] = { 0 };
            for (int rep = 0; rep < reps; rep++)
                for (int kind = 0; kind < NK; kind++) {
                    if ((kind == K512 && !has512) || (kind == K2 && !has2)) continue;
                    double t0 = cpu_now();
                    one(kind, form, T, out, in, x, w, dy, c);
                    double dt = cpu_now() - t0;
                    if (best[kind] == 0 || dt < best[kind]) best[kind] = dt;
                }
            if (has512 && has2) {
                size_t nel = form == 2 ? (size_t)out * in : (size_t)T * (form == 0 ? out : in);
                one(K512, form, T, out, in, x, w, dy, c);
                one(K2, form, T, out, in, x, w, dy, c2);
                if (memcmp(c, c2, sizeof(float) * nel) != 0) {
                    fprintf(stderr, "gemmbench: AVX-512 and AVX2 kernels differ (form %d, %dx%d)\n", form, out, in);
                    bad = 1;
                }
            }
            static const char *fn[3] = { "nt", "nn", "tn" };
            double flops = 2.0 * T * out * in;
            for (int kind = 0; kind < NK; kind++)
                if (best[kind] > 0)
                    printf("{\"bench\":\"gemm\",\"kernel\":\"%s\",\"form\":\"%s\",\"tokens\":%d,\"out\":%d,\"in\":%d,"
                           "\"cpu_s\":%.5f,\"gflops_cpu\":%.1f,\"peak_cpu\":%.1f,\"peak_frac\":%.3f}\n",
                           kname[kind], fn[form], T, out, in, best[kind], flops / best[kind] / 1e9, peak,
                           peak > 0 ? flops / best[kind] / 1e9 / peak : 0.0);
            fflush(stdout);
        }
        free(x), free(w), free(dy), free(c), free(c2), free(apack);
    }
    return bad;
}
