/* fmapeak: the machine's F32 FMA peak, the bound for training's matrix
 * products: T threads each run 12 independent chains of 8-wide fused
 * multiply-adds (enough to cover the FMA latency on two ports), best of 5
 * passes. Prints one JSON line; GFLOPS counts an FMA as two flops. */
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define ITERS 20000000L

typedef struct { float out; } job;

static void *run(void *a) {
    job *j = a;
    __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
    __m256 c0 = _mm256_set1_ps(1), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
    __m256 c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
    for (long i = 0; i < ITERS; i++) {
        c0 = _mm256_fmadd_ps(c0, x, y); c1 = _mm256_fmadd_ps(c1, x, y); c2 = _mm256_fmadd_ps(c2, x, y);
        c3 = _mm256_fmadd_ps(c3, x, y); c4 = _mm256_fmadd_ps(c4, x, y); c5 = _mm256_fmadd_ps(c5, x, y);
        c6 = _mm256_fmadd_ps(c6, x, y); c7 = _mm256_fmadd_ps(c7, x, y); c8 = _mm256_fmadd_ps(c8, x, y);
        c9 = _mm256_fmadd_ps(c9, x, y); c10 = _mm256_fmadd_ps(c10, x, y); c11 = _mm256_fmadd_ps(c11, x, y);
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(c0, c1), _mm256_add_ps(c2, c3)),
                             _mm256_add_ps(_mm256_add_ps(c4, c5), _mm256_add_ps(c6, c7)));
    s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(c8, c9), _mm256_add_ps(c10, c11)));
    float t[8];
    _mm256_storeu_ps(t, s);
    j->out = t[0];
    return NULL;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    int T = argc > 1 ? atoi(argv[1]) : 1;
    if (T < 1) T = 1;
    pthread_t th[256];
    job j[256];
    if (T > 256) T = 256;
    double best = 0;
    float sink = 0;
    for (int pass = 0; pass < 5; pass++) {
        double t0 = now();
        for (int i = 0; i < T; i++) pthread_create(&th[i], NULL, run, &j[i]);
        for (int i = 0; i < T; i++) { pthread_join(th[i], NULL); sink += j[i].out; }
        double g = 2.0 * 8 * 12 * (double)ITERS * T / (now() - t0) / 1e9;
        if (g > best) best = g;
    }
    printf("{\"bench\":\"fma_peak\",\"threads\":%d,\"gflops\":%.1f,\"check\":%g}\n", T, best, sink > 0 ? 1.0 : 0.0);
    return 0;
}
