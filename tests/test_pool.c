/* test_pool: the thread pool's two kinds of region.
 * pool_run: every thread runs the region exactly once, with its own ith.
 * pool_run_any: the region's items (taken from a shared counter) are each
 * done exactly once, the participants' ith are distinct and the caller is
 * one of them; the caller finishes without a worker that is stalled
 * (stalled_case). Thousands of short regions of both kinds
 * interleaved, for 2..5 threads, to shake out races in the handoff. */
#include "check.h"
#include "pool.h"

#include <pthread.h>
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

int main(void) {
    for (int t = 1; t <= 5; t++) stress_case(t);
    stalled_case();
    return check_done();
}
