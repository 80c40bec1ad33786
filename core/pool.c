/* pool: worker threads released by a generation counter.
 *
 * One 64-bit word `slot` describes the region in flight:
 *   bits 0-15  threads inside it now (joined, not yet left),
 *   bits 16-31 threads that joined it in all,
 *   bit  32    closed: nobody may join any more,
 *   bits 33-63 its generation.
 * pool_run/pool_run_any store fn and arg, then publish a new generation
 * (release); a worker joins by a CAS that adds one to both counts, and only
 * then reads fn and arg, so it never runs a stale region: a CAS against a
 * closed or replaced slot fails. Leaving subtracts one from "inside".
 * pool_run waits until every worker has joined and left (each runs the
 * region exactly once). pool_run_any closes the region when the caller's
 * own call returns and waits only for the workers inside: a worker that
 * was descheduled (a loaded machine) or is still waking up is not waited
 * for; the work, taken from a shared counter by the region's function, has
 * been done by those who came.
 * Workers spin on the slot for a bounded time, then block on the condition
 * variable; a new region signals it only when someone sleeps. */
#include "pool.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sched.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

/* Waiting: PAUSE-spin a little (a region is often only microseconds away),
 * then sched_yield so that on an oversubscribed machine the thread we wait
 * for gets the core, then (workers only) sleep on the condition variable. */
#define SPIN_PAUSE 2000
#define SPIN_YIELD 20000

#define INSIDE_MASK 0xffffull
#define JOINED_ONE (1ull << 16)
#define JOINED_MASK (0xffffull << 16)
#define CLOSED (1ull << 32)
#define GEN_SHIFT 33
#define MAX_THREADS 4096   /* both counts fit 16 bits */

typedef struct worker { pool *p; int ith; pthread_t th; } worker;

struct pool {
    int nth;
    worker *w;
    pool_fn fn;
    void *arg;
    uint64_t gen;               /* the caller's count of regions (one thread uses a pool) */
    _Atomic uint64_t slot;
    atomic_int sleepers;
    atomic_bool quit;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

int pool_n_cpus(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

void pool_split(long n, int ith, int nth, long *lo, long *hi) {
    long q = n / nth, r = n % nth;
    *lo = ith * q + (ith < r ? ith : r);
    *hi = *lo + q + (ith < r ? 1 : 0);
}

static void *worker_main(void *a) {
    worker *w = a;
    pool *p = w->p;
    uint64_t seen = 0;   /* the last generation joined or found closed */
    for (;;) {
        int spins = 0;
        uint64_t s;
        for (;;) {
            if (atomic_load_explicit(&p->quit, memory_order_acquire)) return NULL;
            s = atomic_load_explicit(&p->slot, memory_order_acquire);
            if (s >> GEN_SHIFT != seen) {
                if (s & CLOSED) { seen = s >> GEN_SHIFT; spins = 0; continue; }   /* missed it */
                /* acquire on success: fn and arg of this generation are visible */
                if (atomic_compare_exchange_weak_explicit(&p->slot, &s, s + JOINED_ONE + 1,
                                                          memory_order_acq_rel, memory_order_acquire))
                    break;
                continue;   /* someone else joined, or it closed: look again */
            }
            if (++spins < SPIN_PAUSE) { cpu_relax(); continue; }
            if (spins < SPIN_YIELD) { sched_yield(); continue; }
            pthread_mutex_lock(&p->mu);
            atomic_fetch_add(&p->sleepers, 1);
            while (atomic_load(&p->slot) >> GEN_SHIFT == seen && !atomic_load(&p->quit))
                pthread_cond_wait(&p->cv, &p->mu);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->mu);
            spins = 0;
        }
        seen = s >> GEN_SHIFT;
        p->fn(p->arg, w->ith, p->nth);
        atomic_fetch_sub_explicit(&p->slot, 1, memory_order_release);   /* leave */
    }
}

pool *pool_create(int n) {
    if (n <= 0) n = pool_n_cpus();
    if (n > MAX_THREADS) n = MAX_THREADS;
    pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->nth = n;
    atomic_init(&p->slot, CLOSED);   /* generation 0, closed */
    atomic_init(&p->sleepers, 0); atomic_init(&p->quit, false);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->w = calloc((size_t)n, sizeof *p->w);
    if (!p->w) { free(p); return NULL; }
    for (int i = 1; i < n; i++) {
        p->w[i].p = p; p->w[i].ith = i;
        if (pthread_create(&p->w[i].th, NULL, worker_main, &p->w[i])) {
            p->nth = i;   /* run with the threads we got */
            break;
        }
    }
    return p;
}

void pool_destroy(pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->quit, true);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->nth; i++) pthread_join(p->w[i].th, NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->w);
    free(p);
}

int pool_size(const pool *p) { return p->nth; }

static void open_region(pool *p, pool_fn fn, void *arg) {
    p->fn = fn; p->arg = arg;
    p->gen++;
    /* seq_cst: ordered before the sleepers check (a worker about to sleep
     * increments sleepers, then re-reads the slot under the mutex) */
    atomic_store(&p->slot, p->gen << GEN_SHIFT);
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
}

/* Spins until cond holds for the slot's value s: PAUSE first, then sched_yield (the thread
 * we wait for may need this core). */
#define WAIT_UNTIL(p, s, cond)                                                        \
    for (int spins_ = 0;; spins_++) {                                               \
        uint64_t s = atomic_load_explicit(&(p)->slot, memory_order_acquire);        \
        if (cond) break;                                                            \
        if (spins_ < SPIN_PAUSE) cpu_relax(); else sched_yield();                   \
    }

void pool_run(pool *p, pool_fn fn, void *arg) {
    if (p->nth == 1) { fn(arg, 0, 1); return; }
    open_region(p, fn, arg);
    fn(arg, 0, p->nth);
    uint64_t all = (uint64_t)(p->nth - 1) << 16;
    WAIT_UNTIL(p, s, (s & JOINED_MASK) == all && (s & INSIDE_MASK) == 0);
    atomic_store_explicit(&p->slot, (p->gen << GEN_SHIFT) | CLOSED | all, memory_order_relaxed);
}

void pool_run_any(pool *p, pool_fn fn, void *arg) {
    if (p->nth == 1) { fn(arg, 0, 1); return; }
    open_region(p, fn, arg);
    fn(arg, 0, p->nth);
    /* close: from now on a CAS to join fails; then wait for those inside */
    uint64_t s = atomic_fetch_or_explicit(&p->slot, CLOSED, memory_order_acq_rel);
    if (s & INSIDE_MASK) WAIT_UNTIL(p, t, (t & INSIDE_MASK) == 0);
}
