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
 * variable; a new region signals it only when someone sleeps.
 *
 * Placement (Linux). pool_run_any never waits for a worker that has not
 * joined, so a worker the kernel put on the caller's CPU can starve there:
 * the caller never yields to it, and on a small VM (2 vCPUs, kernel 6.x)
 * the load balancer was seen to leave the two threads together for whole
 * runs while the other CPU idled (batch-1 steps at one-thread speed in
 * about half the processes). So, by default (POOL_SPREAD):
 *   - each worker starts with an affinity mask that excludes the creating
 *     thread's CPU (pthread_create places a new thread next to its creator)
 *     and widens it back to the pool's mask as soon as it runs;
 *   - each worker publishes the CPU it runs on (sched_getcpu: vDSO, ~8 ns
 *     here) when it finishes a region and while it spins; every WINDOW
 *     regions the caller counts the regions some worker missed, and if
 *     that is at least a quarter, it looks for workers that report its own
 *     CPU: such a worker is moved off (one pthread_setaffinity_np, at most
 *     once per MOVE_GAP regions each) and widens its mask again at its
 *     next join. A worker descheduled by
 *     another process is on another CPU and is not touched.
 * No thread stays pinned. POOL_PIN pins instead (opt-in: the caller to its
 * CPU, workers to the other CPUs; the caller's mask is restored when the
 * pool is destroyed); POOL_FREE leaves placement to the kernel. */
#include "pool.h"
#include "thread.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
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

#define WINDOW 64     /* regions between co-location checks */
#define MOVE_GAP 256  /* regions before the same worker is moved again */
#define CPU_POLL 256  /* PAUSE spins between two reports of the worker's CPU */

/* One cache line or more each: the field a worker writes (cpu) is read by
 * the caller only at a check. */
typedef struct worker {
    pool *p;
    int ith;
    int place;                   /* the pool's at creation (the caller may change its own) */
    pthread_t th;
    _Atomic int cpu;             /* where it last ran (-1: unknown) */
    atomic_int widen;            /* set by the caller after moving it */
    uint64_t moved_at;           /* caller's: the generation of its last move */
    char pad_[64];
} worker;

struct pool {
    int nth;
    int place;                  /* POOL_SPREAD, POOL_PIN or POOL_FREE */
    bool has_mask;              /* mask below is valid (sched_getaffinity worked) */
    cpu_set_t mask;             /* the creating thread's allowed CPUs */
    int home;                   /* POOL_PIN: the caller's CPU */
    pthread_t pinned;           /* POOL_PIN: the caller thread pinned, tid and old mask */
    pid_t pinned_tid;
    cpu_set_t pinned_old;
    int window_misses, window_n;
    pool_stats st;
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

/* Tells the caller where this worker runs (a relaxed store, only when it changed). */
static void publish_cpu(worker *w) {
    int c = sched_getcpu();
    if (c != atomic_load_explicit(&w->cpu, memory_order_relaxed))
        atomic_store_explicit(&w->cpu, c, memory_order_relaxed);
}

/* Gives this thread the pool's whole mask again (it started, or was moved,
 * on a narrower one); the kernel keeps it where it is. */
static void widen(worker *w) {
    if (w->p->has_mask) pthread_setaffinity_np(pthread_self(), sizeof w->p->mask, &w->p->mask);
}

static void *worker_main(void *a) {
    worker *w = a;
    pool *p = w->p;
    if (w->place == POOL_SPREAD) widen(w);
    uint64_t seen = 0;   /* the last generation joined or found closed */
    for (;;) {
        int spins = 0;
        uint64_t s;
        for (;;) {
            if (atomic_load_explicit(&p->quit, memory_order_acquire)) return NULL;
            if (spins % CPU_POLL == 0) publish_cpu(w);
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
        if (atomic_load_explicit(&w->widen, memory_order_relaxed)) {
            atomic_store_explicit(&w->widen, 0, memory_order_relaxed);
            widen(w);
        }
        p->fn(p->arg, w->ith, p->nth);
        publish_cpu(w);   /* ~8 ns; fn may have moved it (a test pins it there) */
        atomic_fetch_sub_explicit(&p->slot, 1, memory_order_release);   /* leave */
    }
}

int pool_env_placement(void) {
    const char *e = getenv("LOGITLAB_PIN");
    /* the names bench --json reports ("placement") are accepted too */
    if (!e || !*e || !strcmp(e, "0") || !strcmp(e, "spread")) return POOL_SPREAD;
    if (!strcmp(e, "1") || !strcmp(e, "pin")) return POOL_PIN;
    if (!strcmp(e, "kernel")) return POOL_FREE;
    return -1;
}

int pool_env_check(char *err, size_t errlen) {
    if (pool_env_placement() >= 0) return 0;
    snprintf(err, errlen, "the environment's LOGITLAB_PIN is \"%.64s\": it must be 0 or spread (the default: "
             "threads not pinned), 1 or pin (pinned) or kernel (placement left to the kernel)", getenv("LOGITLAB_PIN"));
    return -1;
}

pool *pool_create(int n) {
    int place = pool_env_placement();
    return pool_create_placed(n, place < 0 ? POOL_SPREAD : place);
}

pool *pool_create_placed(int n, int place) {
    if (n <= 0) n = pool_n_cpus();
    if (n > MAX_THREADS) n = MAX_THREADS;
    pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->nth = n;
    atomic_init(&p->slot, CLOSED);   /* generation 0, closed */
    atomic_init(&p->sleepers, 0); atomic_init(&p->quit, false);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    void *mem = NULL;
    if (posix_memalign(&mem, 64, (size_t)n * sizeof *p->w)) { free(p); return NULL; }
    p->w = memset(mem, 0, (size_t)n * sizeof *p->w);
    /* The CPUs other than the creator's, where the workers start (SPREAD)
     * or stay (PIN), in turn. */
    int me = n > 1 ? sched_getcpu() : -1, n_other = 0, *other = NULL;
    p->has_mask = sched_getaffinity(0, sizeof p->mask, &p->mask) == 0;
    if (p->has_mask && me >= 0 && CPU_ISSET(me, &p->mask) && CPU_COUNT(&p->mask) >= 2 &&
        (other = malloc(sizeof *other * (size_t)CPU_COUNT(&p->mask))))
        for (int c = 0; c < CPU_SETSIZE; c++)
            if (c != me && CPU_ISSET(c, &p->mask)) other[n_other++] = c;
    p->place = n_other > 0 ? place : POOL_FREE;
    p->home = me;
    for (int i = 1; i < n; i++) {
        worker *w = &p->w[i];
        w->p = p; w->ith = i; w->place = p->place;
        atomic_init(&w->cpu, -1); atomic_init(&w->widen, 0);
        pthread_attr_t at;
        pthread_attr_t *atp = NULL;
        if (p->place != POOL_FREE && !pthread_attr_init(&at)) {
            atp = &at;
            cpu_set_t start;
            CPU_ZERO(&start);
            CPU_SET(other[(i - 1) % n_other], &start);
            pthread_attr_setaffinity_np(&at, sizeof start, &start);   /* a failure: the kernel's place */
        }
        int rc = thread_create(&w->th, atp, worker_main, w);
        if (atp) {
            pthread_attr_destroy(atp);
            /* a CPU the cpuset does not allow after all: start it where the kernel likes */
            if (rc) rc = thread_create(&w->th, NULL, worker_main, w);
        }
        if (rc) {
            p->nth = i;   /* run with the threads we got */
            break;
        }
    }
    free(other);
    return p;
}

/* POOL_PIN: the thread that runs regions stays on the creator's CPU (the
 * workers are elsewhere); a different caller thread gets it instead, the
 * previous one its own mask back. */
static void unpin_caller(pool *p) {
    if (p->pinned_tid) sched_setaffinity(p->pinned_tid, sizeof p->pinned_old, &p->pinned_old);
    p->pinned_tid = 0;
}

static void pin_caller(pool *p) {
    if (p->pinned_tid && pthread_equal(p->pinned, pthread_self())) return;
    unpin_caller(p);
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(p->home, &one);
    if (sched_getaffinity(0, sizeof p->pinned_old, &p->pinned_old) == 0 &&
        sched_setaffinity(0, sizeof one, &one) == 0) {
        p->pinned = pthread_self();
        p->pinned_tid = (pid_t)syscall(SYS_gettid);
    } else {
        p->place = POOL_FREE;   /* not allowed here: do not try at every region */
    }
}

void pool_destroy(pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->quit, true);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->nth; i++) pthread_join(p->w[i].th, NULL);
    unpin_caller(p);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->w);
    free(p);
}

int pool_size(const pool *p) { return p->nth; }

void pool_get_stats(const pool *p, pool_stats *st) {
    *st = p->st;
    st->placement = p->place;
}

static void open_region(pool *p, pool_fn fn, void *arg) {
    if (p->place == POOL_PIN) pin_caller(p);
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

/* A window with many missed regions: move each worker that reports the
 * caller's CPU to the pool's other CPUs (it widens its mask at its next
 * join). Only when every thread can have a CPU of its own. */
static void move_colocated(pool *p) {
    int me = sched_getcpu();
    if (me < 0 || !CPU_ISSET(me, &p->mask) || CPU_COUNT(&p->mask) < p->nth) return;
    cpu_set_t away = p->mask;
    CPU_CLR(me, &away);
    for (int i = 1; i < p->nth; i++) {
        worker *w = &p->w[i];
        if (atomic_load_explicit(&w->cpu, memory_order_relaxed) != me) continue;
        if (w->moved_at && p->gen - w->moved_at < MOVE_GAP) continue;
        if (pthread_setaffinity_np(w->th, sizeof away, &away) == 0) {
            atomic_store_explicit(&w->widen, 1, memory_order_relaxed);
            w->moved_at = p->gen;
            p->st.moves++;
        }
    }
}

void pool_run_any(pool *p, pool_fn fn, void *arg) {
    if (p->nth == 1) { fn(arg, 0, 1); return; }
    open_region(p, fn, arg);
    fn(arg, 0, p->nth);
    /* close: from now on a CAS to join fails; then wait for those inside */
    uint64_t s = atomic_fetch_or_explicit(&p->slot, CLOSED, memory_order_acq_rel);
    if (s & INSIDE_MASK) WAIT_UNTIL(p, t, (t & INSIDE_MASK) == 0);
    int joined = (int)((s & JOINED_MASK) >> 16);
    p->st.any_regions++;
    p->st.any_joins += joined;
    p->window_misses += joined < p->nth - 1;
    if (++p->window_n == WINDOW) {
        if (p->place == POOL_SPREAD && p->window_misses >= WINDOW / 4) move_colocated(p);
        p->window_n = p->window_misses = 0;
    }
}
