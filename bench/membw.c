/* membw: the machine's peak memory read bandwidth, the bound for batch-1
 * decode (every weight byte is read once per token; bench/compare.sh divides
 * what decode reads per second by this figure).
 *
 * A bandwidth is only ever underestimated by noise (another process, a
 * preempted thread, a page walk), so the tool takes the best of many tries:
 * for every thread count 1..T and every way of reading below, REPS passes over
 * a 1 GiB buffer (>> any last-level cache) on 2 MiB pages where the kernel
 * gives them, and reports the fastest pass of all. Threads are created and
 * parked before a pass and released together; a pass ends when the last one
 * finishes (thread start-up is not timed).
 *   split     each thread reads its own contiguous 1/n of the buffer with
 *             256-bit loads (the first version of this tool);
 *   chunks    the threads take 64 KiB chunks in turn from a shared counter,
 *             so they read neighbouring memory at the same time, as the decode
 *             kernels do (they share each matrix's rows the same way);
 *   nt        chunks, read with non-temporal 512-bit loads (vmovntdqa),
 *             where the CPU has AVX-512.
 * The first version (one pass of `split` per thread count T only, threads
 * timed from their creation) measured 32-34 GB/s here while tinyllama decode
 * read ~37 GB/s of weights: a share above 1, so the bound was too low.
 * Prints one JSON line per (way, threads) with -v, and always the best:
 *   {"test":"membw","threads":T,"read_GBps":X,"way":W,"best_threads":n,...}
 * usage: membw [THREADS] [-v] [-r REPS] */
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define SIZE (1ull << 30)
#define CHUNK (64u << 10)
#define MAXT 64

enum { W_SPLIT, W_CHUNKS, W_NT, W_COUNT };
static const char *way_names[W_COUNT] = { "split", "chunks", "nt" };

typedef struct shared {
    char *buf;
    int way, nt;
    atomic_size_t next;      /* chunks: the next chunk to take */
    atomic_int gen, parked;  /* a pass starts when gen changes */
    atomic_int quit;
} shared;

typedef struct worker {
    shared *s;
    int id;
    unsigned sink;
    double end;
} worker;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

__attribute__((target("avx2"))) static unsigned read256(const char *p, size_t n) {
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

__attribute__((target("avx512f"))) static unsigned read512nt(const char *p, size_t n) {
    __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
    for (size_t i = 0; i + 256 <= n; i += 256) {
        s0 = _mm512_xor_si512(s0, _mm512_stream_load_si512((void *)(p + i)));
        s1 = _mm512_xor_si512(s1, _mm512_stream_load_si512((void *)(p + i + 64)));
        s2 = _mm512_xor_si512(s2, _mm512_stream_load_si512((void *)(p + i + 128)));
        s3 = _mm512_xor_si512(s3, _mm512_stream_load_si512((void *)(p + i + 192)));
    }
    s0 = _mm512_xor_si512(_mm512_xor_si512(s0, s1), _mm512_xor_si512(s2, s3));
    return (unsigned)_mm512_reduce_or_epi32(s0);
}

static void pass(worker *w) {
    shared *s = w->s;
    if (s->way == W_SPLIT) {
        size_t per = SIZE / (size_t)s->nt / 4096 * 4096;
        w->sink ^= read256(s->buf + (size_t)w->id * per, per);
    } else {
        size_t k;
        while ((k = atomic_fetch_add(&s->next, 1)) < SIZE / CHUNK)
            w->sink ^= s->way == W_NT ? read512nt(s->buf + k * CHUNK, CHUNK) : read256(s->buf + k * CHUNK, CHUNK);
    }
    w->end = now();
}

static void *worker_main(void *arg) {
    worker *w = arg;
    shared *s = w->s;
    int seen = 0;
    for (;;) {
        atomic_fetch_add(&s->parked, 1);
        int g;
        while ((g = atomic_load(&s->gen)) == seen) {
            if (atomic_load(&s->quit)) return NULL;
            _mm_pause();
        }
        seen = g;
        pass(w);
    }
}

/* The fastest of reps passes of one way with nt threads (the caller is thread 0), GB/s. */
static double measure(shared *s, worker *ws, int way, int nt, int reps) {
    s->way = way;
    s->nt = nt;
    double best = 0;
    for (int r = 0; r < reps; r++) {
        while (atomic_load(&s->parked) < nt - 1) _mm_pause();
        atomic_store(&s->parked, 0);
        atomic_store(&s->next, 0);
        double t0 = now();
        atomic_fetch_add(&s->gen, 1);
        pass(&ws[0]);
        double end = ws[0].end;
        /* the others are done when they park again */
        while (atomic_load(&s->parked) < nt - 1) _mm_pause();
        for (int i = 1; i < nt; i++) if (ws[i].end > end) end = ws[i].end;
        size_t bytes = way == W_SPLIT ? SIZE / (size_t)nt / 4096 * 4096 * (size_t)nt : SIZE;
        double g = (double)bytes / (end - t0) / 1e9;
        if (g > best) best = g;
    }
    return best;
}

/* MiB of this process on huge pages (where the kernel says). */
static long huge_mib(void) {
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    if (!f) return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "AnonHugePages: %ld kB", &kb) == 1) break;
    fclose(f);
    return kb < 0 ? -1 : kb / 1024;
}

int main(int argc, char **argv) {
    int maxt = (int)sysconf(_SC_NPROCESSORS_ONLN), verbose = 0, reps = 7;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-v")) verbose = 1;
        else if (!strcmp(argv[i], "-r") && i + 1 < argc) reps = atoi(argv[++i]);
        else maxt = atoi(argv[i]);
    }
    if (maxt < 1 || maxt > MAXT || reps < 1 || reps > 1000) {
        fprintf(stderr, "membw: usage: membw [THREADS 1..%d] [-v] [-r REPS 1..1000]\n", MAXT);
        return 2;
    }
    char *buf = aligned_alloc(2u << 20, SIZE);
    if (!buf) { fprintf(stderr, "membw: cannot allocate 1 GiB\n"); return 1; }
#ifdef MADV_HUGEPAGE
    madvise(buf, SIZE, MADV_HUGEPAGE);   /* a hint: 4 KiB pages where refused */
#endif
    memset(buf, 1, SIZE);
    pthread_t th[MAXT];
    unsigned sink = 0;
    __builtin_cpu_init();
    int nways = __builtin_cpu_supports("avx512f") ? W_COUNT : W_NT;
    double best = 0;
    int best_way = 0, best_n = 1;
    for (int n = 1; n <= maxt; n++) {   /* the caller is thread 0 of n */
        shared sn = { .buf = buf };
        worker wn[MAXT];
        for (int i = 0; i < n; i++) wn[i] = (worker){ &sn, i, 0, 0 };
        for (int i = 1; i < n; i++)
            if (pthread_create(&th[i], NULL, worker_main, &wn[i])) { fprintf(stderr, "membw: cannot start a thread\n"); return 1; }
        for (int way = 0; way < nways; way++) {
            double g = measure(&sn, wn, way, n, reps);
            if (verbose) printf("{\"test\":\"membw_way\",\"way\":\"%s\",\"threads\":%d,\"read_GBps\":%.2f}\n", way_names[way], n, g);
            if (g > best) { best = g; best_way = way; best_n = n; }
        }
        atomic_store(&sn.quit, 1);
        for (int i = 1; i < n; i++) pthread_join(th[i], NULL);
        for (int i = 0; i < n; i++) sink ^= wn[i].sink;
    }
    printf("{\"test\":\"membw\",\"threads\":%d,\"read_GBps\":%.2f,\"way\":\"%s\",\"best_threads\":%d,\"reps\":%d,"
           "\"buffer_mib\":%llu,\"huge_pages_mib\":%ld,\"sink\":%u}\n",
           maxt, best, way_names[best_way], best_n, reps, SIZE >> 20, huge_mib(), sink & 1);
    free(buf);
    return 0;
}
