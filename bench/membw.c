/* membw: the machine's memory read bandwidth, the bound for batch-1 decode
 * (every weight byte is read once per token). T threads read a 1 GiB buffer
 * (each its own contiguous share), best of 5 passes of each way of reading:
 *   avx2x1      one 256-bit stream per thread (the first version of this
 *               tool: it underestimated, 32 GB/s where decode read 40);
 *   avx512x4    four streams per thread at once (four quarters of its share),
 *               two 512-bit loads per stream and step: more misses in flight;
 *   avx512x4pf  the same with software prefetch 1 KiB ahead per stream (what
 *               the decode kernels do).
 * The buffer asks for 2 MiB pages (madvise; the repacked weights do too), so
 * TLB misses do not lower the bound. Prints one JSON line per way with
 * -v, and always the best as {"test":"membw","threads":T,"read_GBps":X,...}.
 * usage: membw [THREADS] [-v] */
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define SIZE (1ull << 30)
#define STREAMS 4

typedef struct { const char *p; size_t n; int way; unsigned sum; } job;

__attribute__((target("avx2"))) static unsigned read_avx2(const char *p, size_t n) {
    __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
    for (size_t i = 0; i + 128 <= n; i += 128) {
        s0 = _mm256_xor_si256(s0, _mm256_load_si256((const __m256i *)(p + i)));
        s1 = _mm256_xor_si256(s1, _mm256_load_si256((const __m256i *)(p + i + 32)));
        s2 = _mm256_xor_si256(s2, _mm256_load_si256((const __m256i *)(p + i + 64)));
        s3 = _mm256_xor_si256(s3, _mm256_load_si256((const __m256i *)(p + i + 96)));
    }
    s0 = _mm256_xor_si256(_mm256_xor_si256(s0, s1), _mm256_xor_si256(s2, s3));
    return (unsigned)_mm256_extract_epi32(s0, 0) ^ (unsigned)_mm256_extract_epi32(s0, 7);
}

/* STREAMS quarters of [p, p + n) read together, 128 bytes of each a step. */
__attribute__((target("avx512f"))) static unsigned read_avx512(const char *p, size_t n, int pf) {
    size_t q = n / STREAMS / 128 * 128;
    __m512i s[2 * STREAMS];
    for (int k = 0; k < 2 * STREAMS; k++) s[k] = _mm512_setzero_si512();
    for (size_t i = 0; i < q; i += 128) {
        for (int k = 0; k < STREAMS; k++) {
            const char *a = p + (size_t)k * q + i;
            if (pf) {
                _mm_prefetch(a + 1024, _MM_HINT_T0);
                _mm_prefetch(a + 1024 + 64, _MM_HINT_T0);
            }
            s[2 * k] = _mm512_xor_si512(s[2 * k], _mm512_load_si512((const void *)a));
            s[2 * k + 1] = _mm512_xor_si512(s[2 * k + 1], _mm512_load_si512((const void *)(a + 64)));
        }
    }
    for (int k = 1; k < 2 * STREAMS; k++) s[0] = _mm512_xor_si512(s[0], s[k]);
    return (unsigned)_mm512_reduce_or_epi32(s[0]);
}

static void *reader(void *a) {
    job *j = a;
    j->sum = j->way == 0 ? read_avx2(j->p, j->n) : read_avx512(j->p, j->n, j->way == 2);
    return NULL;
}

int main(int argc, char **argv) {
    int nt = (int)sysconf(_SC_NPROCESSORS_ONLN), verbose = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-v")) verbose = 1;
        else nt = atoi(argv[i]);
    }
    if (nt < 1 || nt > 256) nt = 1;
    char *buf = aligned_alloc(2u << 20, SIZE);
    if (!buf) { fprintf(stderr, "membw: cannot allocate 1 GiB\n"); return 1; }
#ifdef MADV_HUGEPAGE
    madvise(buf, SIZE, MADV_HUGEPAGE);   /* a hint: 4 KiB pages where refused */
#endif
    memset(buf, 1, SIZE);
    static const char *names[] = { "avx2x1", "avx512x4", "avx512x4pf" };
    __builtin_cpu_init();
    int nways = __builtin_cpu_supports("avx512f") ? 3 : 1;
    double best = 0;
    const char *best_way = names[0];
    for (int way = 0; way < nways; way++) {
        double wbest = 0;
        for (int rep = 0; rep < 5; rep++) {
            pthread_t th[256];
            job jobs[256];
            size_t per = SIZE / (size_t)nt / 4096 * 4096;
            struct timespec a, b;
            clock_gettime(CLOCK_MONOTONIC, &a);
            for (int i = 0; i < nt; i++) {
                jobs[i] = (job){ buf + (size_t)i * per, per, way, 0 };
                pthread_create(&th[i], NULL, reader, &jobs[i]);
            }
            for (int i = 0; i < nt; i++) pthread_join(th[i], NULL);
            clock_gettime(CLOCK_MONOTONIC, &b);
            double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) * 1e-9;
            double gbs = (double)per * nt / s / 1e9;
            if (gbs > wbest) wbest = gbs;
        }
        if (verbose) printf("{\"test\":\"membw_way\",\"way\":\"%s\",\"threads\":%d,\"read_GBps\":%.2f}\n", names[way], nt, wbest);
        if (wbest > best) { best = wbest; best_way = names[way]; }
    }
    printf("{\"test\":\"membw\",\"threads\":%d,\"read_GBps\":%.2f,\"way\":\"%s\"}\n", nt, best, best_way);
    free(buf);
    return 0;
}
