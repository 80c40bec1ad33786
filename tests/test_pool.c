/* test_pool: the thread pool's two kinds of region.
 * pool_run: every thread runs the region exactly once, with its own ith.
 * pool_run_any: the region's items (taken from a shared counter) are each
 * done exactly once, the participants' ith are distinct and the caller is
 * one of them; the caller finishes without a worker that is stalled
 * (stalled_case). Thousands of short regions of both kinds
 * interleaved, for 2..5 threads, to shake out races in the handoff.
 * Placement (Linux, 2+ CPUs): a worker forced onto the caller's CPU is
 * moved off by the pool and joins again (colocate_case); by default no
 * thread is left pinned, POOL_PIN pins and gives the caller its mask back
 * (mask_case); $LOGITLAB_PIN parsing. */
#include "check.h"
#include "pool.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>
#include <stdatomic.h>
#include <time.h>

#define NITEMS 97
#define MAXT 8

typedef struct job {
    atomic_int next;
    atomic_int done[NITEMS];
    atomic_int ran[MAXT];   /* calls per ith */
    int nth_seen[MAXT];
} job;

static void job_reset(job *j) {
    atomic_store(&j->next, 0);
    for (int i = 0; i < NITEMS; i++) atomic_store(&j->done[i], 0);
    for (int t = 0; t < MAXT; t++) { atomic_store(&j->ran[t], 0); j->nth_seen[t] = -1; }
}

static void any_fn(void *arg, int ith, int nth) {
    job *j = arg;
    if (ith >= 0 && ith < MAXT) { atomic_fetch_add(&j->ran[ith], 1); j->nth_seen[ith] = nth; }
    for (int i; (i = atomic_fetch_add(&j->next, 1)) < NITEMS;) atomic_fetch_add(&j->done[i], 1);
}

static void all_fn(void *arg, int ith, int nth) {
    job *j = arg;
    if (ith >= 0 && ith < MAXT) { atomic_fetch_add(&j->ran[ith], 1); j->nth_seen[ith] = nth; }
    long lo, hi;
    pool_split(NITEMS, ith, nth, &lo, &hi);
    for (long i = lo; i < hi; i++) atomic_fetch_add(&j->done[i], 1);
}

static void stress_case(int nthreads) {
    pool *p = pool_create(nthreads);
    CHECK(p && pool_size(p) == nthreads, "pool of %d threads", nthreads);
    if (!p) return;
    static job j;
    int bad_items = 0, bad_all = 0, bad_any = 0, caller_missing = 0;
    long joined = 0;
    for (int r = 0; r < 4000; r++) {
        int any = (r % 3) != 1;
        job_reset(&j);
        if (any) pool_run_any(p, any_fn, &j); else pool_run(p, all_fn, &j);
        for (int i = 0; i < NITEMS; i++) bad_items += atomic_load(&j.done[i]) != 1;
        if (atomic_load(&j.ran[0]) != 1) caller_missing++;
        for (int t = 0; t < nthreads; t++) {
            int k = atomic_load(&j.ran[t]);
            if (any) { bad_any += k > 1 || (k && j.nth_seen[t] != nthreads); joined += k; }
            else bad_all += k != 1 || j.nth_seen[t] != nthreads;
        }
        for (int t = nthreads; t < MAXT; t++) bad_any += atomic_load(&j.ran[t]) != 0;
    }
    CHECK(bad_items == 0, "%d threads: %d items not done exactly once", nthreads, bad_items);
    CHECK(bad_all == 0, "%d threads: pool_run: %d (region, thread) not run exactly once", nthreads, bad_all);
    CHECK(bad_any == 0, "%d threads: pool_run_any: %d threads ran a region twice or had a wrong ith/nth",
          nthreads, bad_any);
    CHECK(caller_missing == 0, "%d threads: the caller skipped %d regions", nthreads, caller_missing);
    CHECK(joined >= 2667, "%d threads: callers took part %ld times in 2667 pool_run_any regions", nthreads, joined);
    pool_destroy(p);
}

/* A stalled worker is not waited for: the worker thread is held in a
 * signal handler (as if descheduled); pool_run_any regions must then
 * complete with the caller doing every item, and the worker must not run
 * them late. Released, it takes part in pool_run again. A pool_run_any that
 * waited for it would hang: alarm() turns a hang into a failing exit. */
static atomic_int held, hold;
static pthread_t worker_th;

static void on_usr1(int sig) {
    (void)sig;
    atomic_store(&held, 1);
    while (atomic_load(&hold)) { struct timespec ts = { 0, 1000000 }; nanosleep(&ts, NULL); }
}

static void who_fn(void *arg, int ith, int nth) {
    job *j = arg;
    (void)nth;
    if (ith == 1) worker_th = pthread_self();
    atomic_fetch_add(&j->ran[ith], 1);
}

static void stalled_case(void) {
    pool *p = pool_create(2);
    if (!p) { CHECK(0, "pool of 2"); return; }
    static job j;
    job_reset(&j);
    pool_run(p, who_fn, &j);   /* learn the worker's thread */
    CHECK(atomic_load(&j.ran[1]) == 1, "the worker ran the pool_run region");
    struct sigaction sa = { 0 };
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    atomic_store(&hold, 1);
    pthread_kill(worker_th, SIGUSR1);
    while (!atomic_load(&held)) { struct timespec ts = { 0, 1000000 }; nanosleep(&ts, NULL); }
    alarm(20);
    int bad = 0, worker_ran = 0;
    for (int r = 0; r < 200; r++) {
        job_reset(&j);
        pool_run_any(p, any_fn, &j);
        for (int i = 0; i < NITEMS; i++) bad += atomic_load(&j.done[i]) != 1;
        worker_ran += atomic_load(&j.ran[1]);
    }
    atomic_store(&hold, 0);
    CHECK(bad == 0, "with the worker stalled: %d items not done exactly once", bad);
    CHECK(worker_ran == 0, "the stalled worker ran %d regions", worker_ran);
    job_reset(&j);
    pool_run(p, who_fn, &j);
    CHECK(atomic_load(&j.ran[1]) == 1 && atomic_load(&j.ran[0]) == 1, "released, the worker runs pool_run again");
    alarm(0);
    pool_destroy(p);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A region of n items of ~2 us each, from a shared counter; a worker that
 * joins says on which CPU. */
typedef struct cojob { atomic_int next; int n; atomic_int worker_cpu, worker_joined; } cojob;

static void co_fn(void *arg, int ith, int nth) {
    cojob *j = arg;
    (void)nth;
    if (ith > 0) { atomic_store(&j->worker_cpu, sched_getcpu()); atomic_fetch_add(&j->worker_joined, 1); }
    while (atomic_fetch_add(&j->next, 1) < j->n) {
        double t = now_s();
        while (now_s() - t < 2e-6) {}
    }
}

static void pin_fn(void *arg, int ith, int nth) {
    (void)nth;
    if (ith > 0) sched_setaffinity(0, sizeof(cpu_set_t), arg);
}

/* Each thread's mask, seen from inside a pool_run region. */
static cpu_set_t masks[2];
static pthread_t threads_[2];
static void mask_fn(void *arg, int ith, int nth) {
    (void)arg; (void)nth;
    if (ith < 2) { sched_getaffinity(0, sizeof masks[ith], &masks[ith]); threads_[ith] = pthread_self(); }
}
static pthread_t worker_of(pool *p) {
    pool_run(p, mask_fn, NULL);
    return threads_[1];
}

/* The worker is pinned (by the test, inside a region) to the caller's CPU
 * and the caller to it too, as the kernel was seen to leave them: a
 * pool_run_any caller never waits for a worker that has not joined, so it
 * would starve there for good. The pool must notice within two windows of
 * 64 regions (the worker reports the caller's CPU while missing regions)
 * and move it; the worker then joins regions on another CPU. Without the
 * move the worker can only ever run on the caller's CPU and the check
 * fails. */
static void colocate_case(void) {
    cpu_set_t all, one;
    int me = sched_getcpu();
    if (sched_getaffinity(0, sizeof all, &all) || CPU_COUNT(&all) < 2 || me < 0) {
        printf("# colocate_case skipped: fewer than 2 CPUs allowed\n");
        return;
    }
    pool *p = pool_create_placed(2, POOL_SPREAD);
    if (!p) { CHECK(0, "pool of 2"); return; }
    CPU_ZERO(&one);
    CPU_SET(me, &one);
    CHECK(sched_setaffinity(0, sizeof one, &one) == 0, "pin the caller to CPU %d", me);
    pool_run(p, pin_fn, &one);
    alarm(60);
    long regions = 0, first_move = -1;
    int found = 0;
    double t0 = now_s();
    while (!found && now_s() - t0 < 20) {
        cojob j = { .n = 20 };
        atomic_init(&j.next, 0); atomic_init(&j.worker_cpu, -1); atomic_init(&j.worker_joined, 0);
        pool_run_any(p, co_fn, &j);
        regions++;
        pool_stats st;
        pool_get_stats(p, &st);
        if (first_move < 0 && st.moves > 0) first_move = regions;
        if (first_move >= 0 && atomic_load(&j.worker_joined) && atomic_load(&j.worker_cpu) != me) found = 1;
    }
    printf("# colocate_case: moved after %ld regions, joined elsewhere after %ld (%.3f s)\n", first_move, regions,
           now_s() - t0);
    CHECK(first_move > 0 && first_move <= 128, "the co-located worker was moved after %ld regions (at most 128)",
          first_move);
    CHECK(found, "the moved worker joined a region on a CPU other than the caller's %d (%ld regions, %.1f s)",
          me, regions, now_s() - t0);
    /* and it gave itself the whole mask back: no thread stays pinned */
    cpu_set_t got;
    CHECK(pthread_getaffinity_np(worker_of(p), sizeof got, &got) == 0 && CPU_EQUAL(&got, &all),
          "the moved worker has its whole mask again (%d CPUs of %d)", CPU_COUNT(&got), CPU_COUNT(&all));
    alarm(0);
    sched_setaffinity(0, sizeof all, &all);
    pool_destroy(p);
}

static void mask_case(void) {
    cpu_set_t all, after;
    int me = sched_getcpu();
    if (sched_getaffinity(0, sizeof all, &all) || CPU_COUNT(&all) < 2 || me < 0) {
        printf("# mask_case skipped: fewer than 2 CPUs allowed\n");
        return;
    }
    /* default: the worker started away from us but widened its mask; we are untouched */
    pool *p = pool_create_placed(2, POOL_SPREAD);
    pool_run(p, mask_fn, NULL);
    CHECK(CPU_EQUAL(&masks[0], &all) && CPU_EQUAL(&masks[1], &all),
          "spread: caller and worker keep the whole mask (%d and %d CPUs of %d)", CPU_COUNT(&masks[0]),
          CPU_COUNT(&masks[1]), CPU_COUNT(&all));
    pool_stats st;
    pool_get_stats(p, &st);
    CHECK(st.placement == POOL_SPREAD, "spread in effect (%d)", st.placement);
    pool_destroy(p);
    /* pinned: the caller on one CPU, the worker on one other; the caller's mask back at the end */
    p = pool_create_placed(2, POOL_PIN);
    pool_run(p, mask_fn, NULL);
    CHECK(CPU_COUNT(&masks[0]) == 1 && CPU_COUNT(&masks[1]) == 1 && !CPU_EQUAL(&masks[0], &masks[1]),
          "pin: caller and worker each on one CPU of their own (%d, %d CPUs)", CPU_COUNT(&masks[0]),
          CPU_COUNT(&masks[1]));
    pool_destroy(p);
    CHECK(sched_getaffinity(0, sizeof after, &after) == 0 && CPU_EQUAL(&after, &all),
          "pin: the caller's whole mask is back after pool_destroy (%d of %d CPUs)", CPU_COUNT(&after),
          CPU_COUNT(&all));
    /* kernel: nothing touched */
    p = pool_create_placed(2, POOL_FREE);
    pool_run(p, mask_fn, NULL);
    CHECK(CPU_EQUAL(&masks[0], &all) && CPU_EQUAL(&masks[1], &all), "kernel: masks untouched");
    pool_destroy(p);
}

static void env_case(void) {
    static const struct { const char *v; int want; } cases[] = {
        { NULL, POOL_SPREAD }, { "", POOL_SPREAD }, { "0", POOL_SPREAD }, { "1", POOL_PIN },
        { "kernel", POOL_FREE }, { "spread", POOL_SPREAD }, { "pin", POOL_PIN }, { "2", -1 }, { "yes", -1 },
        { "1 ", -1 }, { "Pin", -1 }, { "pinned", -1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (cases[i].v) setenv("LOGITLAB_PIN", cases[i].v, 1); else unsetenv("LOGITLAB_PIN");
        CHECK(pool_env_placement() == cases[i].want, "LOGITLAB_PIN=%s: %d, want %d",
              cases[i].v ? cases[i].v : "(unset)", pool_env_placement(), cases[i].want);
    }
    unsetenv("LOGITLAB_PIN");
}

int main(void) {
    for (int t = 1; t <= 5; t++) stress_case(t);
    stalled_case();
    mask_case();
    colocate_case();
    env_case();
    return check_done();
}
