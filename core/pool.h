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

typedef struct pool pool;
typedef void (*pool_fn)(void *arg, int ith, int nth);

/* n_threads <= 0 means the number of online CPUs. Returns NULL on failure. */
pool *pool_create(int n_threads);
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

/* The machine's online CPUs (at least 1). */
int pool_n_cpus(void);

/* Splits [0, n) into nth near-equal parts; part ith is [*lo, *hi). */
void pool_split(long n, int ith, int nth, long *lo, long *hi);
#endif
