/* pool: worker threads released by a generation counter.
 *
 * Invariants: `gen` increases by one per region; a worker runs the region of
 * generation g exactly once, then increments `done`. pool_run returns when
 * done == nth-1. Workers spin on `gen` for a bounded time, then block on the
 * condition variable; pool_run signals it only when someone sleeps. */
#include "pool.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
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

typedef struct worker { pool *p; int ith; pthread_t th; } worker;

struct pool {
    int nth;
    worker *w;
    pool_fn fn;
    void *arg;
    atomic_uint gen;
    atomic_int done;
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
    unsigned seen = 0;
    for (;;) {
        unsigned g;
        int spins = 0;
        while ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen &&
               !atomic_load(&p->quit)) {
            if (++spins < SPIN_PAUSE) { cpu_relax(); continue; }
            if (spins < SPIN_YIELD) { sched_yield(); continue; }
            pthread_mutex_lock(&p->mu);
            atomic_fetch_add(&p->sleepers, 1);
            while (atomic_load(&p->gen) == seen && !atomic_load(&p->quit))
                pthread_cond_wait(&p->cv, &p->mu);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->mu);
            spins = 0;
        }
        if (atomic_load(&p->quit)) return NULL;
        seen = g;
        p->fn(p->arg, w->ith, p->nth);
        atomic_fetch_add_explicit(&p->done, 1, memory_order_release);
    }
}

pool *pool_create(int n) {
    if (n <= 0) n = pool_n_cpus();
    pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->nth = n;
    atomic_init(&p->gen, 0); atomic_init(&p->done, 0);
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

void pool_run(pool *p, pool_fn fn, void *arg) {
    if (p->nth == 1) { fn(arg, 0, 1); return; }
    p->fn = fn; p->arg = arg;
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    atomic_fetch_add(&p->gen, 1);   /* seq_cst: ordered before the sleepers check */
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    fn(arg, 0, p->nth);
    for (int spins = 0; atomic_load_explicit(&p->done, memory_order_acquire) != p->nth - 1; spins++) {
        if (spins < SPIN_PAUSE) cpu_relax(); else sched_yield();
    }
}
