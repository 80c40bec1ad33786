/* smpbench: the cost of sampler work on a flat row (a random model's
 * logits at temperature 1 are close to Gaussian with a small spread) at the
 * vocabulary sizes of Llama 2 (32000) and Llama 3 (128256), as lab's
 * samplers pick (only data[selected] written: smp_cands.only_selected).
 * "stage" lines: the row put in (smp_cands_set_ref, as lab's samplers and
 * gen put it: no copy since session 15; the first stage that needs the
 * row's range or a private copy pays for it) and then one stage applied
 * alone (temp 0.8, top_k 40, penalties 1.1 with
 * frequency and presence 0.1 over 64 told tokens, top_p 0.95, min_p 0.05,
 * typical 0.95; top-p and typical include the softmax they need) or, for
 * dist, the softmax and the draw. "chain" lines: whole chains, the default
 * one (top_k 40 first) and those without top-k, where a flat row keeps
 * ~56-67% of the vocabulary. Per line: microseconds, median and minimum
 * of the runs (wall clock) and the median of the thread's CPU time
 * (us_cpu); with --step-ms the fraction of a decode step (step_frac on wall
 * time, step_frac_cpu on CPU time; bench/run.sh passes the stories15m-shape
 * step it measured just before). With --model FILE, the decode step of that
 * model on one thread is measured here too, in process CPU time
 * ("bench":"sampler_step"), and step_frac_1t is a pick's CPU time over that
 * step's: both are one core's work, so the ratio holds however loaded the
 * machine is. After each size, a "sampler_worst" line: the costliest
 * stage and chain against that step (--model's, else --step-ms), and
 * whether both are within 5 %.
 * usage: smpbench [--step-ms MS] [--reps N] [--model FILE] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctx.h"
#include "logits.h"
#include "model.h"
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

/* The median CPU time (ms) of one decode step of the model on one thread:
 * 40 steps of one token (each the argmax of the last logits), the first 8
 * left out; -1 on failure. */
static double step_cpu_ms(const char *path, double *wall_ms) {
    model *m;
    ctx *c;
    char err[512];
    if (model_open(&m, path, NULL, err, sizeof err)) { fprintf(stderr, "smpbench: %s\n", err); return -1; }
    ctx_params cp;
    ctx_params_default(&cp);
    cp.n_threads = 1;
    cp.n_ctx = 64;
    cp.n_batch = 1;
    cp.n_seq_max = 1;
    if (ctx_create(&c, m, &cp, err, sizeof err)) { fprintf(stderr, "smpbench: %s: %s\n", path, err); model_close(m); return -1; }
    int32_t nv = model_get_info(m)->n_vocab, s = ctx_seq_create(c), tok = 1;
    enum { N = 40, SKIP = 8 };
    double tc[N], tw[N];
    for (int i = 0; i < N; i++) {
        ctx_entry e = { s, i, tok, true };
        double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), w0 = now_s();
        if (ctx_eval(c, &e, 1, err, sizeof err)) { fprintf(stderr, "smpbench: %s\n", err); return -1; }
        tok = logits_argmax(ctx_logits(c, 0), nv);
        tc[i] = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
        tw[i] = now_s() - w0;
    }
    ctx_destroy(c);
    model_close(m);
    qsort(tc + SKIP, N - SKIP, sizeof *tc, cmp_d);
    qsort(tw + SKIP, N - SKIP, sizeof *tw, cmp_d);
    *wall_ms = tw[SKIP + (N - SKIP) / 2] * 1e3;
    return tc[SKIP + (N - SKIP) / 2] * 1e3;
}

int main(int argc, char **argv) {
    double step_ms = 0;
    int reps = 31;
    const char *model_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--step-ms") && i + 1 < argc) step_ms = atof(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--model") && i + 1 < argc) model_path = argv[++i];
        else { fprintf(stderr, "usage: smpbench [--step-ms MS] [--reps N] [--model FILE]\n"); return 2; }
    }
    double step1_ms = 0, step1_wall = 0;
    if (model_path) {
        if ((step1_ms = step_cpu_ms(model_path, &step1_wall)) < 0) return 1;
        const char *base = strrchr(model_path, '/');
        printf("{\"bench\":\"sampler_step\",\"model\":\"%s\",\"threads\":1,\"ms_cpu\":%.3f,\"ms_wall\":%.3f}\n",
               base ? base + 1 : model_path, step1_ms, step1_wall);
    }
    static const int32_t sizes[] = { 32000, 128256 };
    /* kind, name, chain spec, temperature */
    static const struct { const char *kind, *name, *spec; float temp; } runs[] = {
        { "stage", "set", "", 1.0f },
        { "stage", "dist", "dist", 1.0f },
        { "stage", "temp", "temp", 0.8f },
        { "stage", "top_k", "top_k", 1.0f },
        { "stage", "penalties", "penalties", 1.0f },
        { "stage", "top_p", "top_p", 1.0f },
        { "stage", "min_p", "min_p", 1.0f },
        { "stage", "typical", "typical", 1.0f },
        { "chain", "default", SMP_DEFAULT_CHAIN, 0.8f },
        { "chain", "top_p", "top_p,temp,dist", 1.0f },
        { "chain", "min_p", "min_p,temp,dist", 1.0f },
        { "chain", "typical", "typical,temp,dist", 1.0f },
        { "chain", "default_no_top_k", "penalties,top_p,min_p,temp,dist", 1.0f },
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
        c.only_selected = true;
        /* the worst stage and the worst chain of this size, in CPU time */
        double worst_us[2] = { 0, 0 };
        const char *worst[2] = { "", "" };
        for (size_t ci = 0; ci < sizeof runs / sizeof *runs; ci++) {
            smp_params p;
            smp_params_default(&p);
            p.temp = runs[ci].temp;
            p.top_p = 0.95f;
            p.min_p = 0.05f;
            p.typical_p = 0.95f;
            p.top_k = 40;
            p.repeat_penalty = 1.1f;
            p.frequency_penalty = 0.1f;
            p.presence_penalty = 0.1f;
            p.seed = 3;
            smp *s = NULL;
            char err[256];
            if (runs[ci].spec[0] && smp_chain_parse(&s, runs[ci].spec, &p, err, sizeof err)) {
                fprintf(stderr, "%s\n", err);
                return 1;
            }
            for (int32_t k = 0; s && k < 64; k++) smp_accept(s, (k * 7919) % n);
            int32_t kept = 0;
            for (int r = 0; r < reps; r++) {
                double t0 = now_s(), c0 = cpu_s();
                smp_cands_set_ref(&c, row, n);
                int rc = !s ? 0 : !strcmp(runs[ci].kind, "chain") || !strcmp(runs[ci].name, "dist") ? smp_sample(s, &c) : smp_apply(s, &c);
                t[r] = now_s() - t0;
                tc[r] = cpu_s() - c0;
                if (rc < 0) return 1;
                kept = c.n;
            }
            qsort(t, (size_t)reps, sizeof *t, cmp_d);
            qsort(tc, (size_t)reps, sizeof *tc, cmp_d);
            double us = t[reps / 2] * 1e6, us_min = t[0] * 1e6, us_cpu = tc[reps / 2] * 1e6;
            printf("{\"bench\":\"sampler\",\"%s\":\"%s\",\"n_vocab\":%d,\"kept\":%d,\"us_per_pick\":%.1f,\"us_min\":%.1f,\"us_cpu\":%.1f",
                   runs[ci].kind, runs[ci].name, (int)n, (int)kept, us, us_min, us_cpu);
            if (step_ms > 0)
                printf(",\"step_ms\":%.3f,\"step_frac\":%.4f,\"step_frac_cpu\":%.4f", step_ms, us / 1000.0 / step_ms,
                       us_cpu / 1000.0 / step_ms);
            if (step1_ms > 0) printf(",\"step_frac_1t\":%.4f", us_cpu / 1000.0 / step1_ms);
            printf("}\n");
            int ch = !strcmp(runs[ci].kind, "chain");
            if (us_cpu > worst_us[ch]) {
                worst_us[ch] = us_cpu;
                worst[ch] = runs[ci].name;
            }
            smp_destroy(s);
        }
        /* one line per size: the largest stage and chain against the step
         * (issue 14: at most 5 %) */
        double ref_ms = step1_ms > 0 ? step1_ms : step_ms;
        if (ref_ms > 0)
            printf("{\"bench\":\"sampler_worst\",\"n_vocab\":%d,\"step_ms\":%.3f,\"stage\":\"%s\",\"stage_us_cpu\":%.1f,"
                   "\"stage_frac\":%.4f,\"chain\":\"%s\",\"chain_us_cpu\":%.1f,\"chain_frac\":%.4f,\"within_5pct\":%s}\n",
                   (int)n, ref_ms, worst[0], worst_us[0], worst_us[0] / 1000.0 / ref_ms, worst[1], worst_us[1],
                   worst_us[1] / 1000.0 / ref_ms,
                   worst_us[0] / 1000.0 / ref_ms <= 0.05 && worst_us[1] / 1000.0 / ref_ms <= 0.05 ? "true" : "false");
        smp_cands_fini(&c);
        free(row);
        free(t);
        free(tc);
    }
    return 0;
}
