/* membw: the machine's memory read bandwidth, the bound for batch-1 decode
 * (every weight byte is read once per token). Reads a 1 GiB buffer with T
 * threads, best of 5 passes; prints one JSON line. */
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SIZE (1ull << 30)

typedef struct { const float *p; size_t n; float sum; } job;

static void *reader(void *a) {
    job *j = a;
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    for (size_t i = 0; i + 32 <= j->n; i += 32) {
        s0 = _mm256_add_ps(s0, _mm256_load_ps(j->p + i));
        s1 = _mm256_add_ps(s1, _mm256_load_ps(j->p + i + 8));
        s2 = _mm256_add_ps(s2, _mm256_load_ps(j->p + i + 16));
        s3 = _mm256_add_ps(s3, _mm256_load_ps(j->p + i + 24));
    }
    float t[8];
    _mm256_storeu_ps(t, _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    j->sum = t[0] + t[7];
    return NULL;
}

int main(int argc, char **argv) {
    int nt = argc > 1 ? atoi(argv[1]) : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (nt < 1 || nt > 256) nt = 1;
    float *buf = aligned_alloc(64, SIZE);
    if (!buf) return 1;
    memset(buf, 1, SIZE);
    double best = 0;
    for (int rep = 0; rep < 5; rep++) {
        pthread_t th[256];
        job jobs[256];
        size_t per = SIZE / sizeof(float) / (size_t)nt;
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (int i = 0; i < nt; i++) {
            jobs[i] = (job){ buf + (size_t)i * per, per, 0 };
            pthread_create(&th[i], NULL, reader, &jobs[i]);
        }
        for (int i = 0; i < nt; i++) pthread_join(th[i], NULL);
        clock_gettime(CLOCK_MONOTONIC, &b);
        double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) * 1e-9;
        double gbs = (double)SIZE / s / 1e9;
        if (gbs > best) best = gbs;
    }
    printf("{\"test\":\"membw\",\"threads\":%d,\"read_GBps\":%.2f}\n", nt, best);
    free(buf);
    return 0;
}
