/* smpbench: the cost of one sampler pick on a flat row (a random model's
 * logits at temperature 1 are close to Gaussian with a small spread), for
 * truncating samplers without top-k (top-p, min-p, typical-p), at the
 * vocabulary sizes of Llama 2 (32000) and Llama 3 (128256). One JSON line
 * per (sampler, n_vocab): microseconds per pick, median and minimum of the runs
 * (wall clock) and median of the thread's CPU time (us_cpu), and
 * with --step-ms the fraction of a decode step that is (bench/run.sh passes
 * the stories15m-shape step from `logitlab bench`).
 * usage: smpbench [--step-ms MS] [--reps N] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "smp.h"

static double clock_s(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
static double now_s(void) { return clock_s(CLOCK_MONOTONIC); }
/* the thread's CPU time: what the pick costs when other work shares the cores */
static double cpu_s(void) { return clock_s(CLOCK_THREAD_CPUTIME_ID); }

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    double step_ms = 0;
    int reps = 31;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--step-ms") && i + 1 < argc) step_ms = atof(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else { fprintf(stderr, "usage: smpbench [--step-ms MS] [--reps N]\n"); return 2; }
    }
    static const int32_t sizes[] = { 32000, 128256 };
    static const char *const chains[][2] = {
        { "top_p", "top_p,temp,dist" }, { "min_p", "min_p,temp,dist" }, { "typical", "typical,temp,dist" },
        { "default_no_top_k", "penalties,top_p,min_p,temp,dist" },
    };
    smp_rng rng;
    smp_rng_init(&rng, 1, 7);
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        int32_t n = sizes[si];
        float *row = malloc(sizeof *row * (size_t)n);
        double *t = malloc(sizeof *t * (size_t)reps), *tc = malloc(sizeof *tc * (size_t)reps);
        smp_cands c;
        if (!row || !t || smp_cands_init(&c, n)) return 1;
        for (int32_t i = 0; i < n; i++) {      /* Box-Muller, spread 1.5 */
            double u1 = smp_rng_double(&rng) + 1e-12, u2 = smp_rng_double(&rng);
            row[i] = (float)(1.5 * sqrt(-2 * log(u1)) * cos(2 * M_PI * u2));
        }
        for (size_t ci = 0; ci < sizeof chains / sizeof *chains; ci++) {
            smp_params p;
            smp_params_default(&p);
            p.temp = 1.0f;
            p.top_p = 0.95f;
            p.min_p = 0.05f;
            p.typical_p = 0.95f;
            p.top_k = 0;
            p.seed = 3;
            smp *s;
            char err[256];
            if (smp_chain_parse(&s, chains[ci][1], &p, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 1; }
            int32_t kept = 0;
            for (int r = 0; r < reps; r++) {
                double t0 = now_s(), c0 = cpu_s();
                smp_cands_set(&c, row, n);
                int32_t id = smp_sample(s, &c);
                t[r] = now_s() - t0;
                tc[r] = cpu_s() - c0;
                if (id < 0) return 1;
                kept = c.n;
            }
            qsort(t, (size_t)reps, sizeof *t, cmp_d);
            qsort(tc, (size_t)reps, sizeof *tc, cmp_d);
            double us = t[reps / 2] * 1e6, us_min = t[0] * 1e6, us_cpu = tc[reps / 2] * 1e6;
            printf("{\"bench\":\"sampler\",\"chain\":\"%s\",\"n_vocab\":%d,\"kept\":%d,\"us_per_pick\":%.1f,\"us_min\":%.1f,\"us_cpu\":%.1f",
                   chains[ci][0], (int)n, (int)kept, us, us_min, us_cpu);
            if (step_ms > 0) printf(",\"step_ms\":%.3f,\"step_frac\":%.4f", step_ms, us / 1000.0 / step_ms);
            printf("}\n");
            smp_destroy(s);
        }
        smp_cands_fini(&c);
        free(row);
        free(t);
        free(tc);
    }
    return 0;
}
