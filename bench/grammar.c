/* bench/grammar.c: constrained-decoding costs, one JSON object per line.
 *
 * usage: grammar [--step-ms MS] SCHEMA.json VOCAB [VOCAB...] (a GGUF or tokenizer.json)
 *
 * --step-ms: a decode step measured in the same run (make bench passes
 * stories15m's one-thread ms/token); each line then also gives the CPU p99
 * and max as a percentage of it (the target: never above 5%).
 *
 * For each vocabulary: the time to build the vocabulary's prefix tree (once
 * per tokenizer), to compile the schema and bind it (once per grammar: the
 * first bind to a vocabulary also builds the token slices the grammar's
 * probes use, a second bind finds them; wall clock and CPU time), and
 * the per-step mask time over 40 generations of a temperature-1 "model"
 * (a seeded uniform pick among the allowed tokens, the worst case for
 * caching since random tokens reach many states), both "cold" (a new
 * grammar context per generation: every state's first mask is a tree walk)
 * and "warm" (one context for all, as a session reuses its Grammar).
 * mask_us is gmatch_mask (the bitset); apply_us also filters a full
 * candidates array, the sampler stage's whole work: a whole row in the
 * columns, as the chain's first stage gets it (only_selected: the chain
 * reads the columns on and writes data[] only for the pick). Each is timed twice:
 * wall clock (*_us) and this thread's CPU time (cpu_*: on a shared machine
 * the wall clock's tail is mostly the scheduler taking the core away).
 * "plain" repeats the cold run with gmatch_ctx_set_exact: every mask by the
 * plain walk of the prefix tree, as before the bulk acceptance.
 * "cold_cache" is the cold run (10 generations) with the CPU caches evicted
 * before every step (64 MB written, not timed), as a model's forward pass
 * between two masks does: the walk's reads then come from memory.
 * GRAMMAR_BENCH_WORST=1 prints to stderr, per mode, the step of the largest
 * mask CPU time: its generation, step, allowed count and the text before it
 * (to find which grammar state costs the most).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gmatch.h"
#include "gram.h"
#include "smp.h"
#include "tok.h"

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static double cpu_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static uint64_t rs = 0x9E3779B97F4A7C15ULL;
static uint32_t rnd(void) { rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17; return (uint32_t)(rs >> 11); }

typedef struct stats { double *v; int n, cap; } stats;
static void add(stats *s, double x) {
    if (s->n == s->cap) { s->cap = s->cap ? 2 * s->cap : 1024; s->v = realloc(s->v, sizeof *s->v * (size_t)s->cap); }
    s->v[s->n++] = x;
}
static double step_ms;              /* --step-ms, 0: not given */
static const tok *cur_tok;          /* for the worst-step report */
static int worst_on, cur_gen;
static double worst_cpu;
static char worst_text[160];

/* Remembers the step of the largest mask CPU time (GRAMMAR_BENCH_WORST). */
static void note_worst(double cpu, int step, int32_t allowed, const int32_t *ids, int n) {
    if (!worst_on || cpu <= worst_cpu) return;
    worst_cpu = cpu;
    char text[4096];
    int32_t len = tok_decode(cur_tok, ids, n, text, (int32_t)sizeof text - 1, false, false);
    if (len < 0) len = 0;
    if (len > (int32_t)sizeof text - 1) len = (int32_t)sizeof text - 1;
    text[len] = 0;
    const char *tail = len > 100 ? text + len - 100 : text;
    snprintf(worst_text, sizeof worst_text, "gen %d step %d allowed %d after ...%s", cur_gen, step, (int)allowed, tail);
}

static void report(const char *vocab, int32_t nv, const char *mode, const char *what, stats *s, stats *cpu) {
    qsort(s->v, (size_t)s->n, sizeof *s->v, cmp_d);
    qsort(cpu->v, (size_t)cpu->n, sizeof *cpu->v, cmp_d);
    double sum = 0, csum = 0;
    for (int i = 0; i < s->n; i++) sum += s->v[i], csum += cpu->v[i];
    printf("{\"bench\":\"grammar_%s\",\"vocab\":\"%s\",\"n_vocab\":%d,\"cache\":\"%s\",\"steps\":%d,"
           "\"median_us\":%.2f,\"p90_us\":%.2f,\"p99_us\":%.2f,\"max_us\":%.1f,\"mean_us\":%.2f,"
           "\"cpu_median_us\":%.2f,\"cpu_p99_us\":%.2f,\"cpu_max_us\":%.1f,\"cpu_mean_us\":%.2f",
           what, vocab, (int)nv, mode, s->n, s->v[s->n / 2], s->v[s->n * 9 / 10], s->v[s->n * 99 / 100],
           s->v[s->n - 1], sum / s->n, cpu->v[cpu->n / 2], cpu->v[cpu->n * 99 / 100], cpu->v[cpu->n - 1], csum / cpu->n);
    if (step_ms > 0)
        printf(",\"step_ms\":%.3f,\"cpu_p99_pct_step\":%.2f,\"cpu_max_pct_step\":%.2f", step_ms,
               100 * cpu->v[cpu->n * 99 / 100] / (step_ms * 1e3), 100 * cpu->v[cpu->n - 1] / (step_ms * 1e3));
    printf("}\n");
    if (worst_on && strcmp(what, "mask") == 0) fprintf(stderr, "worst %s %s: %.1f us cpu, %s\n", mode, vocab, worst_cpu, worst_text);
    if (strcmp(what, "apply") == 0) worst_cpu = 0;
    s->n = 0;
    cpu->n = 0;
}

static unsigned char *evict_buf;   /* NULL: no eviction */
static unsigned evict_sink;
#define EVICT_BYTES ((size_t)64 << 20)

static void evict(void) {
    if (!evict_buf) return;
    for (size_t i = 0; i < EVICT_BYTES; i += 64) evict_sink += evict_buf[i]++;
}

/* One generation: up to 300 steps; returns steps taken. */
static int generate(gmatch_ctx *c, smp_cands *cands, float *row, int32_t nv, stats *mask, stats *apply,
                    stats *cmask, stats *capply) {
    gmatch *m = gmatch_create(c);
    smp *st = gmatch_smp_create(gmatch_clone(m));
    int steps = 0;
    int32_t ids[300];
    cands->only_selected = true;
    for (; steps < 300; steps++) {
        evict();
        double t0 = now_us(), c0 = cpu_us();
        const uint64_t *b = gmatch_mask(m);
        double t1 = now_us(), c1 = cpu_us();
        add(mask, t1 - t0);
        add(cmask, c1 - c0);
        note_worst(c1 - c0, steps, gmatch_count(m), ids, steps);
        smp_cands_set(cands, row, nv);
        double t2 = now_us(), c2 = cpu_us();
        int rc = smp_apply(st, cands);
        add(apply, (now_us() - t2) + (t1 - t0));
        add(capply, (cpu_us() - c2) + (c1 - c0));
        if (rc || cands->n == 0) break;
        int32_t k = (int32_t)(rnd() % (uint32_t)cands->n);
        int32_t id = !cands->lazy ? cands->data[k].id : cands->dense ? k : cands->col_id[k];
        (void)b;
        if (gmatch_accept(m, id) != 0) break;
        ids[steps] = id;
        smp_accept(st, id);
        if (gmatch_finished(m)) break;
    }
    smp_destroy(st);
    gmatch_destroy(m);
    return steps;
}

int main(int argc, char **argv) {
    if (argc > 2 && strcmp(argv[1], "--step-ms") == 0) {
        step_ms = atof(argv[2]);
        argv += 2;
        argc -= 2;
    }
    worst_on = getenv("GRAMMAR_BENCH_WORST") != NULL;
    if (argc < 3) { fprintf(stderr, "usage: %s [--step-ms MS] SCHEMA.json VOCAB...\n", argv[0]); return 2; }
    FILE *f = fopen(argv[1], "rb");
    if (!f) { fprintf(stderr, "%s: cannot read\n", argv[1]); return 1; }
    static char schema[1 << 16];
    size_t sl = fread(schema, 1, sizeof schema - 1, f);
    fclose(f);
    for (int a = 2; a < argc; a++) {
        tok *t;
        char err[512];
        if (tok_open(&t, argv[a], err, sizeof err)) { fprintf(stderr, "%s\n", err); return 1; }
        int32_t nv = tok_n_vocab(t);
        cur_tok = t;
        const char *name = strrchr(argv[a], '/') ? strrchr(argv[a], '/') + 1 : argv[a];
        double t0 = now_us();
        gmatch_vocab *v = gmatch_vocab_create(t);
        double t1 = now_us(), ct1 = cpu_us();
        gram *g, *g2;
        if (gram_from_schema(&g, schema, sl, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 1; }
        gmatch_ctx *c = gmatch_ctx_create(g, v);
        double t2 = now_us(), ct2 = cpu_us();
        gmatch_ctx_destroy(c);
        if (gram_from_schema(&g2, schema, sl, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 1; }
        c = gmatch_ctx_create(g2, v);               /* again: the vocabulary's slices are built */
        double t3 = now_us(), ct3 = cpu_us();
        gmatch_ctx_destroy(c);
        gram_unref(g2);
        printf("{\"bench\":\"grammar_compile\",\"vocab\":\"%s\",\"n_vocab\":%d,\"vocab_tree_ms\":%.2f,\"schema_compile_ms\":%.3f,"
               "\"schema_compile_cpu_ms\":%.3f,\"schema_recompile_ms\":%.3f,\"schema_recompile_cpu_ms\":%.3f}\n",
               name, (int)nv, (t1 - t0) / 1e3, (t2 - t1) / 1e3, (ct2 - ct1) / 1e3, (t3 - t2) / 1e3, (ct3 - ct2) / 1e3);
        smp_cands cands;
        smp_cands_init(&cands, nv);
        float *row = malloc(sizeof *row * (size_t)nv);
        for (int32_t i = 0; i < nv; i++) row[i] = (float)(rnd() % 1000) / 100.0f;
        stats mask = { 0 }, apply = { 0 }, cmask = { 0 }, capply = { 0 };
        for (int plain = 0; plain < 2; plain++) {
            rs = 12345;
            for (int gen = 0; gen < 40; gen++) {
                cur_gen = gen;
                gmatch_ctx *cc = gmatch_ctx_create(g, v);
                gmatch_ctx_set_exact(cc, plain);
                generate(cc, &cands, row, nv, &mask, &apply, &cmask, &capply);
                gmatch_ctx_destroy(cc);
            }
            report(name, nv, plain ? "cold_plain" : "cold", "mask", &mask, &cmask);
            report(name, nv, plain ? "cold_plain" : "cold", "apply", &apply, &capply);
        }
        rs = 12345;
        if (!evict_buf && (evict_buf = malloc(EVICT_BYTES))) memset(evict_buf, 1, EVICT_BYTES);
        for (int gen = 0; gen < 10; gen++) {
            cur_gen = gen;
            gmatch_ctx *cc = gmatch_ctx_create(g, v);
            generate(cc, &cands, row, nv, &mask, &apply, &cmask, &capply);
            gmatch_ctx_destroy(cc);
        }
        free(evict_buf);
        evict_buf = NULL;
        report(name, nv, "cold_cache", "mask", &mask, &cmask);
        report(name, nv, "cold_cache", "apply", &apply, &capply);
        rs = 12345;
        gmatch_ctx *warm = gmatch_ctx_create(g, v);
        for (int gen = 0; gen < 40; gen++) cur_gen = gen, generate(warm, &cands, row, nv, &mask, &apply, &cmask, &capply);
        int64_t ns, nm, bytes;
        gmatch_ctx_stats(warm, &ns, &nm, &bytes);
        report(name, nv, "warm", "mask", &mask, &cmask);
        report(name, nv, "warm", "apply", &apply, &capply);
        printf("{\"bench\":\"grammar_cache\",\"vocab\":\"%s\",\"states\":%lld,\"masks\":%lld,\"cache_mb\":%.1f}\n",
               name, (long long)ns, (long long)nm, bytes / 1048576.0);
        gmatch_ctx_destroy(warm);
        free(mask.v);
        free(apply.v);
        free(cmask.v);
        free(capply.v);
        free(row);
        smp_cands_fini(&cands);
        gram_unref(g);
        gmatch_vocab_unref(v);
        tok_destroy(t);
    }
    return 0;
}
