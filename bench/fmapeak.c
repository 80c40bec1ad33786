/* fmapeak: the machine's F32 FMA peak, the bound for training's matrix
 * products: T threads each run 12 independent chains of 8-wide fused
 * multiply-adds (enough to cover the FMA latency on two ports), best of 5
 * passes. Prints one JSON line; GFLOPS counts an FMA as two flops.
 * gflops_cpu is the work over the process's CPU time times T: the T-core
 * peak as if the machine were not shared; the same with AVX-512 FMAs where
 * the CPU has them (gflops_avx512*), and peak_cpu the larger of the two, the
 * machine's F32 FMA peak that bench/train_peak.sh compares the trainer's
 * work per CPU second with. "gflops" stays the AVX2 best pass (make bench). */
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define ITERS 20000000L

/* seed: each chain starts from a different run-time value; with equal
 * starts (as before 2026-12-06) the compiler merged the 12 identical chains
 * into one, and the "peak" was one FMA's latency counted as twelve FMAs:
 * 3x the real throughput on this machine. */
typedef struct { float out, seed; } job;

static void *run(void *a) {
    job *j = a;
    __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
    float s0 = j->seed;
    __m256 c0 = _mm256_set1_ps(s0), c1 = _mm256_set1_ps(s0 + 0.01f), c2 = _mm256_set1_ps(s0 + 0.02f);
    __m256 c3 = _mm256_set1_ps(s0 + 0.03f), c4 = _mm256_set1_ps(s0 + 0.04f), c5 = _mm256_set1_ps(s0 + 0.05f);
    __m256 c6 = _mm256_set1_ps(s0 + 0.06f), c7 = _mm256_set1_ps(s0 + 0.07f), c8 = _mm256_set1_ps(s0 + 0.08f);
    __m256 c9 = _mm256_set1_ps(s0 + 0.09f), c10 = _mm256_set1_ps(s0 + 0.10f), c11 = _mm256_set1_ps(s0 + 0.11f);
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

/* The same with 16-wide AVX-512 FMAs, where the CPU has them: on some CPUs
 * (this project's AMD EPYC) twice the AVX2 rate, and what OpenBLAS's
 * kernels use there. */
__attribute__((target("avx512f"))) static void *run512(void *a) {
    job *j = a;
    __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
    float s0 = j->seed;
    __m512 c0 = _mm512_set1_ps(s0), c1 = _mm512_set1_ps(s0 + 0.01f), c2 = _mm512_set1_ps(s0 + 0.02f);
    __m512 c3 = _mm512_set1_ps(s0 + 0.03f), c4 = _mm512_set1_ps(s0 + 0.04f), c5 = _mm512_set1_ps(s0 + 0.05f);
    __m512 c6 = _mm512_set1_ps(s0 + 0.06f), c7 = _mm512_set1_ps(s0 + 0.07f), c8 = _mm512_set1_ps(s0 + 0.08f);
    __m512 c9 = _mm512_set1_ps(s0 + 0.09f), c10 = _mm512_set1_ps(s0 + 0.10f), c11 = _mm512_set1_ps(s0 + 0.11f);
    for (long i = 0; i < ITERS; i++) {
        c0 = _mm512_fmadd_ps(c0, x, y); c1 = _mm512_fmadd_ps(c1, x, y); c2 = _mm512_fmadd_ps(c2, x, y);
        c3 = _mm512_fmadd_ps(c3, x, y); c4 = _mm512_fmadd_ps(c4, x, y); c5 = _mm512_fmadd_ps(c5, x, y);
        c6 = _mm512_fmadd_ps(c6, x, y); c7 = _mm512_fmadd_ps(c7, x, y); c8 = _mm512_fmadd_ps(c8, x, y);
        c9 = _mm512_fmadd_ps(c9, x, y); c10 = _mm512_fmadd_ps(c10, x, y); c11 = _mm512_fmadd_ps(c11, x, y);
    }
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(c0, c1), _mm512_add_ps(c2, c3)),
                             _mm512_add_ps(_mm512_add_ps(c4, c5), _mm512_add_ps(c6, c7)));
    s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(c8, c9), _mm512_add_ps(c10, c11)));
    float t[16];
    _mm512_storeu_ps(t, s);
    j->out = t[0];
    return NULL;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double cpu(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Runs fn on T threads for 5 passes: the best pass's GFLOPS (wall) and the
 * work over the process CPU time times T (the T-core rate as if unshared). */
static void measure(void *(*fn)(void *), int T, int width, double *best, double *gcpu, float *sink) {
    pthread_t th[256];
    job j[256];
    double c0 = cpu();
    *best = 0;
    for (int pass = 0; pass < 5; pass++) {
        double t0 = now();
        for (int i = 0; i < T; i++) {
            j[i].seed = 1.0f;
            pthread_create(&th[i], NULL, fn, &j[i]);
        }
        for (int i = 0; i < T; i++) { pthread_join(th[i], NULL); *sink += j[i].out; }
        double g = 2.0 * width * 12 * (double)ITERS * T / (now() - t0) / 1e9;
        if (g > *best) *best = g;
    }
    *gcpu = 2.0 * width * 12 * (double)ITERS * T * 5 / (cpu() - c0) / 1e9 * T;
}

int main(int argc, char **argv) {
    int T = argc > 1 ? atoi(argv[1]) : 1;
    if (T < 1) T = 1;
    if (T > 256) T = 256;
    float sink = 0;
    double best, gcpu, best512 = 0, gcpu512 = 0;
    measure(run, T, 8, &best, &gcpu, &sink);
    __builtin_cpu_init();
    bool has512 = __builtin_cpu_supports("avx512f");
    if (has512) measure(run512, T, 16, &best512, &gcpu512, &sink);
    printf("{\"bench\":\"fma_peak\",\"threads\":%d,\"gflops\":%.1f,\"gflops_cpu\":%.1f", T, best, gcpu);
    if (has512) printf(",\"gflops_avx512\":%.1f,\"gflops_avx512_cpu\":%.1f", best512, gcpu512);
    printf(",\"peak_cpu\":%.1f,\"check\":%g}\n", gcpu512 > gcpu ? gcpu512 : gcpu, sink > 0 ? 1.0 : 0.0);
    return 0;
}
