/* pool: a fixed set of worker threads that run one parallel region at a time.
 *
 * pool_run(p, fn, arg) calls fn(arg, ith, nth) on every thread, ith in
 * [0, nth), the caller being thread 0, and returns when all have finished.
 * Workers spin briefly between regions (a decode step runs a few hundred small
 * regions per token, and a condition-variable wake-up per region would cost
 * more than the work), then sleep. One pool is used from one thread at a time.
 * pool_run_any (below) lets the caller finish a region without waiting for a
 * worker that is not running, so a loaded machine does not stall a step.
 */
#ifndef POOL_H
#define POOL_H
#include <stddef.h>

typedef struct pool pool;
typedef void (*pool_fn)(void *arg, int ith, int nth);

/* Where the threads run (Linux; elsewhere, or with one allowed CPU, FREE).
 * SPREAD (the default): workers start away from the creating thread's CPU
 * and are moved off the caller's CPU when they are found there while
 * missing regions; no thread stays pinned. PIN: the thread that runs
 * regions is pinned to the creator's CPU (its own mask comes back at
 * pool_destroy, or when another thread runs regions), worker i to the
 * i-th other CPU of the allowed set, in turn. FREE: the kernel decides. */
enum { POOL_SPREAD, POOL_PIN, POOL_FREE };

/* n_threads <= 0 means the number of online CPUs. Returns NULL on failure.
 * The placement comes from $LOGITLAB_PIN: unset, empty or "0" SPREAD, "1"
 * PIN, "kernel" FREE (anything else: SPREAD; pool_env_placement tells). */
pool *pool_create(int n_threads);
pool *pool_create_placed(int n_threads, int placement);
/* The POOL_* that $LOGITLAB_PIN asks for, -1 for a value it cannot be. */
int pool_env_placement(void);
/* 0 when $LOGITLAB_PIN is a value it can be; else -1 and a message naming
 * the variable, its value and the values it takes (the one message ctx_create
 * and the commands give). */
int pool_env_check(char *err, size_t errlen);
void pool_destroy(pool *p);
int pool_size(const pool *p);
void pool_run(pool *p, pool_fn fn, void *arg);

/* Like pool_run, but a worker takes part only if it arrives while the
 * caller is still in its own fn call: the caller does not wait for workers
 * that are descheduled or asleep, only for those that joined. For regions
 * whose fn takes its work from a shared counter until none is left (every
 * participant, the caller included, would finish the region alone); ith
 * is still unique among the participants, so per-thread scratch works. */
void pool_run_any(pool *p, pool_fn fn, void *arg);

/* Counters of the pool_run_any regions run with workers, kept by the
 * caller (read them from the thread that runs regions). any_joins /
 * (any_regions x (threads - 1)) is the share of the work slots workers
 * took; a worker starved on the caller's CPU shows as a share near 0. */
typedef struct pool_stats {
    long any_regions, any_joins;
    long moves;        /* workers moved off the caller's CPU (SPREAD) */
    int placement;     /* the POOL_* in effect */
} pool_stats;
void pool_get_stats(const pool *p, pool_stats *st);

/* The machine's online CPUs (at least 1). */
int pool_n_cpus(void);

/* Splits [0, n) into nth near-equal parts; part ith is [*lo, *hi). */
void pool_split(long n, int ith, int nth, long *lo, long *hi);
#endif
