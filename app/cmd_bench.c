/* cmd_bench: `logitlab bench -m MODEL` measures throughput through ctx_eval, the
 * way llama-bench does: pp<P> is a prompt of P random tokens evaluated as one
 * batch (logits for the last only); tg<N> decodes N tokens one at a time,
 * each the argmax of the previous logits; tg<N>x<B> does the same for B
 * sequences at once, one batch of B entries per step. Each test is repeated
 * (-r) on fresh sequences and the median is reported; --json adds the
 * minimum, mean and maximum of the repetitions and, for decode, the median
 * and minimum of every single step (robust on a loaded machine), the
 * weight bytes a decode step reads (step_bytes, for the memory-bandwidth
 * share: bench/compare.sh), the MiB of the process on huge pages and, with
 * several threads, the share of the parallel regions' work slots the
 * workers took (near 0: a worker starved, e.g. on the caller's CPU) and how
 * often the pool moved one.
 *
 * One untimed decode step first touches every weight, so the mapping's page
 * faults are not charged to the first repetition. Token ids come from a fixed
 * seed: runs are comparable.
 */
#include "cmd_bench.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "ctx.h"
#include "logits.h"
#include "model.h"
#include "modelpath.h"
#include "pool.h"
#include "qtypes.h"
#include "rng.h"
#include "vecdot.h"

#define MAX_B 8     /* batch sizes in one -b list */
#define MAX_SEQ 64  /* sequences decoded together */

enum { O_MODEL, O_THREADS, O_PROMPT, O_GEN, O_REPS, O_BATCH, O_BACKEND, O_PASS, O_JSON };
static const cli_opt opts[] = {
    { "model", 'm', "MODEL", "model file (path or name; default $LOGITLAB_MODEL, " MPATH_DEFAULT_MODEL ")" },
    { "threads", 't', "N", "threads (default: all cores)" },
    { "prompt", 'p', "N", "prompt tokens for the prefill test (default 128; 0 skips it)" },
    { "gen", 'n', "N", "tokens per decode test (default 64; 0 skips them)" },
    { "reps", 'r', "N", "repetitions of each test; the median is reported (default 3)" },
    { "batch", 'b', "LIST", "sequences decoded together, comma-separated (default 1,8)" },
    { "backend", 0, "NAME", "compute backend (default cpu)" },
    { "pass-rows", 0, "N", "most logits rows per pass over the weights (default 0: one pass)" },
    { "json", 0, NULL, "one JSON object per test and line" },
};
static const cli_spec spec = {
    "bench", "[-m MODEL] [options]",
    "Prefill (pp) and decode (tg) throughput in tokens per second, median of the repetitions\n"
    "(min and max: the fastest and slowest repetition, ms per token).\n"
    "--json adds ms_per_token_min/mean/max and, for decode, step_ms_median and step_ms_min\n"
    "(one step of all B sequences, over every step of every repetition), step_cpu_ms_median (the\n"
    "median step's CPU time, every thread's, spinning included: at -t 1 a step's cost without the\n"
    "time slices other processes took), step_bytes (weight bytes\n"
    "one step reads), the settings backend, pass_rows and huge_pages (\"off\" with\n"
    "LOGITLAB_HUGEPAGES=0, or off, no, false: the weight copies on ordinary pages), huge_pages_mib\n"
    "(memory the kernel put on huge pages) and, with -t 2 or more, worker_join_share (the share\n"
    "of the parallel regions' work slots the worker threads took), worker_moves (workers moved\n"
    "off the caller's CPU) and placement (LOGITLAB_PIN: spread by default, pin, kernel), and with\n"
    "the CPU backend isa (the kernel path: avx512-amx, avx512-vnni, avx512, avx-vnni, avx2 or\n"
    "portable; the environment's LOGITLAB_ISA=NAME caps it, to measure a lower path).\n"
    "tgNxB decodes B sequences at once and counts the tokens of all of them.",
    opts, (int)(sizeof opts / sizeof opts[0]), 0, 0,
};

typedef struct bench {
    model *m;
    ctx *c;
    int32_t n_vocab;
    ctx_entry *batch;       /* (max(P, B)) */
    rng r;
    char err[512];
} bench;

/* Seconds to evaluate a prompt of p random tokens on a fresh sequence; < 0 on error. */
static double run_pp(bench *b, int32_t p) {
    int32_t s = ctx_seq_create(b->c);
    if (s < 0) { snprintf(b->err, sizeof b->err, "no free sequence"); return -1; }
    for (int32_t i = 0; i < p; i++)
        b->batch[i] = (ctx_entry){ s, i, (int32_t)rng_below(&b->r, (uint32_t)b->n_vocab), i == p - 1 };
    double t0 = cli_now();
    int rc = ctx_eval(b->c, b->batch, p, b->err, sizeof b->err);
    double dt = cli_now() - t0;
    ctx_seq_drop(b->c, s);
    return rc ? -1 : dt;
}

/* CPU seconds of the whole process (every thread, a worker's spinning
 * included). On a machine shared with other processes a step's wall time
 * grows with the time slices it lost, and a long step loses more of them
 * than a short one: the CPU time of a one-thread step is its cost alone. */
static double cpu_now(void) {
    struct timespec t;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)) return 0;
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Seconds to decode n steps of nseq sequences (after a one-token start that
 * is not timed); < 0 on error. Each step's own seconds go to steps[0..n),
 * its CPU seconds to cpu[0..n). */
static double run_tg(bench *b, int32_t n, int32_t nseq, double *steps, double *cpu) {
    int32_t seqs[MAX_SEQ], next[MAX_SEQ];
    double dt = -1;
    int32_t made = 0;
    for (; made < nseq; made++) {
        if ((seqs[made] = ctx_seq_create(b->c)) < 0) {
            snprintf(b->err, sizeof b->err, "no free sequence");
            goto out;
        }
        next[made] = (int32_t)rng_below(&b->r, (uint32_t)b->n_vocab);
    }
    double t0 = 0, ts = 0, cs = 0;
    for (int32_t step = 0; step <= n; step++) {
        /* step 0 feeds the first token: an empty-context start. The CPU
         * clock is read before the wall clock: it is a system call (~5 us
         * after a step, more than a step of stories15m's 2%), which the
         * next step's wall time would otherwise include (session 14) */
        if (step == 1) { cs = cpu_now(); t0 = ts = cli_now(); }
        for (int32_t k = 0; k < nseq; k++) b->batch[k] = (ctx_entry){ seqs[k], step, next[k], true };
        if (ctx_eval(b->c, b->batch, nseq, b->err, sizeof b->err)) goto out;
        for (int32_t k = 0; k < nseq; k++) next[k] = ctx_argmax(b->c, k);
        if (step >= 1 && steps) {
            double now = cli_now();
            double cnow = cpu_now();
            steps[step - 1] = now - ts;
            cpu[step - 1] = cnow - cs;
            ts = cli_now();
            cs = cnow;
        }
    }
    dt = cli_now() - t0;
out:
    for (int32_t k = 0; k < made; k++) ctx_seq_drop(b->c, seqs[k]);
    return dt;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct report {
    const char *model, *type;
    uint64_t size, step_bytes;
    int threads;
    bool json;
    pool *pool;             /* the CPU backend's, else NULL */
    /* the settings that change a figure, so that a JSON line says how it was
     * measured: backend, rows per pass, huge pages asked for or not */
    const char *backend;
    int pass_rows;
    bool no_huge_pages;
} report;

/* One test's pool counters: after - before. */
static void pool_delta(const pool_stats *a, const pool_stats *b, pool_stats *d) {
    d->any_regions = b->any_regions - a->any_regions;
    d->any_joins = b->any_joins - a->any_joins;
    d->moves = b->moves - a->moves;
    d->placement = b->placement;
}

/* MiB of this process's anonymous memory on huge pages (Linux's
 * /proc/self/smaps_rollup), -1 where unknown. The CPU backend's weight
 * copies ask for 2 MiB pages; whether the kernel gave them (THP mode,
 * fragmentation) changes decode speed between otherwise equal runs, so
 * each result line says. */
static long anon_huge_mib(void) {
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    if (!f) return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "AnonHugePages: %ld kB", &kb) == 1) break;
    fclose(f);
    return kb < 0 ? -1 : kb / 1024;
}

static double median(double *t, long n) {
    qsort(t, (size_t)n, sizeof t[0], cmp_double);
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

/* secs[0..reps): each repetition's seconds for `tokens` tokens; steps[0..nsteps):
 * each decode step's seconds (nsteps 0 for a prompt). The headline figure is
 * the median repetition; the JSON adds min/mean/max over the repetitions and,
 * for decode, the median and min over every timed step of every repetition
 * (a step hit by a preemption is an outlier there, not a shift of the mean).
 * CLI_OK, or the failed write said with its reason (the stream drops what it
 * could not write, so main.c's last check could no longer tell why). */
static int print_result(const report *rp, const char *test, double tokens, double *secs, int reps,
                        double *steps, long nsteps, int nseq, const pool_stats *ps) {
    double mean = 0;
    for (int i = 0; i < reps; i++) mean += secs[i] / reps;
    double med = median(secs, reps);
    double tps = tokens / med, ms = 1000.0 * med / tokens, k = 1000.0 / tokens;
    if (rp->json) {
        printf("{\"model\":");
        cli_put_json_str(stdout, rp->model, strlen(rp->model));
        printf(",\"type\":\"%s\",\"size_bytes\":%" PRIu64 ",\"threads\":%d,\"test\":\"%s\","
               "\"tokens_per_s\":%.3f,\"ms_per_token\":%.4f,\"reps\":%d,"
               "\"ms_per_token_min\":%.4f,\"ms_per_token_mean\":%.4f,\"ms_per_token_max\":%.4f",
               rp->type, rp->size, rp->threads, test, tps, ms, reps,
               k * secs[0], k * mean, k * secs[reps - 1]);
        printf(",\"backend\":\"%s\",\"pass_rows\":%d,\"huge_pages\":\"%s\"", rp->backend, rp->pass_rows,
               rp->no_huge_pages ? "off" : "on");
        if (!strcmp(rp->backend, "cpu")) printf(",\"isa\":\"%s\"", vd_path_name(vd_path()));
        long hp = anon_huge_mib();
        if (hp >= 0) printf(",\"huge_pages_mib\":%ld", hp);
        if (ps && rp->threads > 1 && ps->any_regions > 0) {
            static const char *const place[] = { "spread", "pin", "kernel" };
            printf(",\"worker_join_share\":%.4f,\"worker_moves\":%ld,\"placement\":\"%s\"",
                   (double)ps->any_joins / ((double)ps->any_regions * (rp->threads - 1)), ps->moves,
                   ps->placement >= 0 && ps->placement <= 2 ? place[ps->placement] : "?");
        }
        if (nsteps > 0) {
            double smed = median(steps, nsteps), cmed = median(steps + nsteps, nsteps);
            printf(",\"sequences\":%d,\"steps\":%ld,\"step_ms_median\":%.4f,\"step_ms_min\":%.4f,"
                   "\"step_cpu_ms_median\":%.4f,\"step_bytes\":%" PRIu64,
                   nseq, nsteps, 1000.0 * smed, 1000.0 * steps[0], 1000.0 * cmed, rp->step_bytes);
        }
        printf("}\n");
    } else {
        printf("%-12s %12.2f %12.3f %12.3f %12.3f\n", test, tps, ms, k * secs[0], k * secs[reps - 1]);
    }
    errno = 0;
    if (fflush(stdout) == 0 && !ferror(stdout)) return CLI_OK;
    return cli_fail("bench", "cannot write the output (standard output): %s", strerror(errno ? errno : EIO));
}

/* Runs one test reps times. kind 'p': prompt of n; 't': n steps of nseq. */
static int run_test(bench *b, const report *rp, char kind, int32_t n, int32_t nseq, int reps) {
    double t[100];
    double *steps = NULL;
    long nsteps = kind == 'p' ? 0 : (long)reps * n;
    /* steps[0..nsteps): wall seconds; steps[nsteps..2 nsteps): CPU seconds */
    if (nsteps && !(steps = malloc(2 * sizeof *steps * (size_t)nsteps))) return cli_fail("bench", "out of memory");
    pool_stats before = { 0 }, after = { 0 }, delta;
    if (rp->pool) pool_get_stats(rp->pool, &before);
    for (int i = 0; i < reps; i++) {
        t[i] = kind == 'p' ? run_pp(b, n) : run_tg(b, n, nseq, steps + (size_t)i * n, steps + nsteps + (size_t)i * n);
        if (t[i] < 0) { free(steps); return cli_fail("bench", "%s", b->err); }
    }
    char name[48];
    if (kind == 'p') snprintf(name, sizeof name, "pp%d", n);
    else if (nseq == 1) snprintf(name, sizeof name, "tg%d", n);
    else snprintf(name, sizeof name, "tg%dx%d", n, nseq);
    if (rp->pool) pool_get_stats(rp->pool, &after);
    pool_delta(&before, &after, &delta);
    int rc = print_result(rp, name, (double)n * (kind == 'p' ? 1 : nseq), t, reps, steps, nsteps, nseq,
                          rp->pool ? &delta : NULL);
    free(steps);
    return rc;
}

typedef struct bench_opts {
    long threads, p, n, reps, pass_rows, bs[MAX_B];
    int nb;
    const char *backend;
    bool json;
} bench_opts;

static int bench_run(const char *path, const bench_opts *o) {
    bench b = {0};
    char err[1024];
    if (model_open(&b.m, path, NULL, err, sizeof err)) return cli_fail("bench", "%s", err);
    const model_info *h = model_get_info(b.m);
    b.n_vocab = h->n_vocab;
    long maxb = 1;
    for (int i = 0; i < o->nb; i++) if (o->bs[i] > maxb) maxb = o->bs[i];
    ctx_params cp;
    ctx_params_default(&cp);
    cp.n_threads = (int)o->threads;
    cp.backend = o->backend;
    cp.n_pass_rows = (int32_t)o->pass_rows;
    cp.n_batch = (int32_t)(o->p > maxb ? o->p : maxb);
    long need = o->p > 1 ? o->p : 1;
    if (maxb * (o->n + 1) > need) need = maxb * (o->n + 1);
    cp.n_ctx = (int32_t)need;
    cp.n_seq_max = (int32_t)maxb;
    int rc = CLI_FAIL;
    b.batch = malloc(sizeof *b.batch * (size_t)cp.n_batch);
    if (!b.batch) { cli_fail("bench", "out of memory"); goto out; }
    if (ctx_create(&b.c, b.m, &cp, err, sizeof err)) { cli_fail("bench", "%s: %s", path, err); goto out; }
    rng_init(&b.r, 1234);
    const char *base = strrchr(path, '/');
    report rp = { base ? base + 1 : path, qt_get(h->wtype) ? qt_get(h->wtype)->name : "?", h->weight_bytes,
                  h->step_bytes, ctx_n_threads(b.c), o->json, ctx_pool(b.c), ctx_backend_name(b.c),
                  cp.n_pass_rows, cp.no_huge_pages };
    if (!o->json) {
        char sz[32];
        printf("model %s: %s, %s, %.1f M params, %d threads, backend %s", rp.model, rp.type,
               cli_fmt_bytes(rp.size, sz, sizeof sz), (double)h->n_params / 1e6, rp.threads,
               ctx_backend_name(b.c));
        if (!strcmp(rp.backend, "cpu")) printf(", kernels %s", vd_path_name(vd_path()));
        if (rp.pass_rows > 0) printf(", passes of %d rows", rp.pass_rows);
        printf("%s\n", rp.no_huge_pages ? ", huge pages off" : "");
        printf("%-12s %12s %12s %12s %12s\n", "test", "tokens/s", "ms/token", "min", "max");
    }
    if (run_tg(&b, 1, 1, NULL, NULL) < 0) { cli_fail("bench", "%s", b.err); goto out; } /* warm-up */
    if (o->p > 0 && (rc = run_test(&b, &rp, 'p', (int32_t)o->p, 1, (int)o->reps))) goto out;
    for (int i = 0; o->n > 0 && i < o->nb; i++)
        if ((rc = run_test(&b, &rp, 't', (int32_t)o->n, (int32_t)o->bs[i], (int)o->reps))) goto out;
    rc = CLI_OK;
out:
    ctx_destroy(b.c);
    model_close(b.m);
    free(b.batch);
    return rc;
}

int cmd_bench(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&spec, argc, argv, &a);
    if (rc) return rc == CLI_HELP ? CLI_OK : rc;
    bench_opts o = { .threads = 0, .p = 128, .n = 64, .reps = 3, .bs = {1, 8}, .nb = 2,
                     .backend = a.val[O_BACKEND] ? a.val[O_BACKEND] : "cpu", .json = a.val[O_JSON] != NULL };
    if ((rc = cli_int("bench", "-t", a.val[O_THREADS], 1, 1024, &o.threads)) ||
        (rc = cli_int("bench", "-p", a.val[O_PROMPT], 0, 65536, &o.p)) ||
        (rc = cli_int("bench", "-n", a.val[O_GEN], 0, 65536, &o.n)) ||
        (rc = cli_int("bench", "-r", a.val[O_REPS], 1, 100, &o.reps)) ||
        (rc = cli_int("bench", "--pass-rows", a.val[O_PASS], 0, 65536, &o.pass_rows)) ||
        (rc = cli_int_list("bench", "-b", a.val[O_BATCH], 1, MAX_SEQ, o.bs, MAX_B, &o.nb)))
        return rc;
    if (o.p == 0 && o.n == 0) return cli_usage_error("bench", "-p 0 and -n 0: nothing to measure");
    char path[4096], err[1024];
    if (mpath_resolve(a.val[O_MODEL], path, sizeof path, err, sizeof err)) return cli_fail("bench", "%s", err);
    return bench_run(path, &o);
}
