/* lsched: tasks (coroutines the host resumes), timers and the event loop:
 * lhost_tick, lhost_drain, lhost_run_file and lhost_eval.
 *
 * A task is ready when it has not started, when the job it awaits is done,
 * when its sleep is over, or when it yielded without waiting. One tick pass
 * fires due timers (each callback becomes a task), then resumes every task
 * that was ready before the pass began; tasks created during a pass wait
 * for the next one, so a task that keeps spawning cannot starve the loop.
 * Lists may change under any resume (a plugin may be disabled, its tasks
 * dropped), so a pass collects ids first and looks each one up again.
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lhost_impl.h"

static char *dupstr(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* ---- tasks ----------------------------------------------------------- */

ltask *lsched_spawn(lstate *st, lua_State *from, int nargs, int kind) {
    lhost *h = st->h;
    ltask *t = calloc(1, sizeof *t);
    if (!t) luaL_error(from, "out of memory");
    lua_State *co = lua_newthread(from);                 /* [fn args... co] (may raise) */
    t->ref = luaL_ref(from, LUA_REGISTRYINDEX);          /* [fn args...] */
    if (t->ref == LUA_REFNIL || t->ref == LUA_NOREF) {
        free(t);
        luaL_error(from, "out of memory");
    }
    lua_xmove(from, co, nargs + 1);
    t->id = h->next_id++;
    t->st = st;
    t->co = co;
    t->nargs = nargs;
    t->kind = kind;
    t->res_ref = LUA_NOREF;
    t->gen = h->gen;
    t->next = h->tasks;
    h->tasks = t;
    return t;
}

ltask *lsched_find(lhost *h, lua_State *co) {
    for (ltask *t = h->tasks; t; t = t->next)
        if (t->co == co) return t;
    return NULL;
}

static ltask *find_id(lhost *h, int id) {
    for (ltask *t = h->tasks; t; t = t->next)
        if (t->id == id) return t;
    return NULL;
}

void lsched_task_free(lhost *h, ltask *t) {
    for (ltask **p = &h->tasks; *p; p = &(*p)->next)
        if (*p == t) { *p = t->next; break; }
    if (t->wait) lwork_job_unref(t->wait);
    if (t->fin) {
        if (!lwork_job_done(t->fin)) lwork_job_finish(t->fin, LHOST_EINVAL, "task cancelled");
        lwork_job_unref(t->fin);
    }
    if (t->st->L) luaL_unref(t->st->L, LUA_REGISTRYINDEX, t->ref);
    free(t);
}

static bool expired(const ltask *t, double now) { return t->deadline > 0 && now > t->deadline; }

static bool task_ready(const ltask *t, double now) {
    if (!t->started) return true;
    if (expired(t, now)) return true;              /* woken to fail (lsched_check_deadline) */
    if (t->interrupted) return true;               /* woken to fail (lhost_interrupt_waiting) */
    if (t->wait) return lwork_job_done(t->wait);
    if (t->wake_at > 0) return now >= t->wake_at;
    return true;
}

/* Is some task awaiting job j now? */
static bool awaited(lhost *h, const ljob *j) {
    for (ltask *t = h->tasks; t; t = t->next)
        if (t->wait == j) return true;
    return false;
}

/* REPL results: lab.inspect each, tab-separated, on the console. Runs on
 * the finished thread co with the results on its stack. */
static int print_results(lua_State *L) {
    int n = lua_gettop(L);
    if (n == 0) return 0;
    luaL_Buffer b;
    lua_getfield(L, LUA_REGISTRYINDEX, "lab.inspect");   /* [res... inspect] */
    luaL_buffinit(L, &b);                                /* [res... inspect B?] */
    for (int i = 1; i <= n; i++) {
        if (i > 1) luaL_addchar(&b, '\t');
        lua_pushvalue(L, n + 1);
        lua_pushvalue(L, i);
        lua_call(L, 1, 1);
        size_t len;
        const char *s = luaL_tolstring(L, -1, &len);
        lua_remove(L, -2);
        (void)s;
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    lhost_print(lhost_of(L), s, len, false);
    return 0;
}

typedef struct store_args {
    ltask *t;
    bool ok;
    int nres;
    const char *err;        /* pushed as the one value when set */
} store_args;

/* On the main thread: [sa values...] -> registry[fin] = {ok, values..., n=} */
static int store_fn(lua_State *L) {
    store_args *sa = lua_touserdata(L, 1);
    if (sa->err) lua_pushstring(L, sa->err);
    int nres = sa->err ? 1 : sa->nres;
    lua_createtable(L, nres + 1, 1);
    lua_pushboolean(L, sa->ok);
    lua_rawseti(L, -2, 1);
    for (int i = 0; i < nres; i++) {
        lua_pushvalue(L, 2 + i);
        lua_rawseti(L, -2, i + 2);
    }
    lua_pushinteger(L, nres + 1);
    lua_setfield(L, -2, "n");
    lua_rawsetp(L, LUA_REGISTRYINDEX, sa->t->fin);
    return 0;
}

/* Stores {ok, values...} for lab.await(task): the nres values on top of
 * from (co, or the main thread) are consumed. */
static void store_result(lstate *st, ltask *t, bool ok, lua_State *from, int nres, const char *err) {
    lua_State *L = st->L;
    if (!t->fin || !lua_checkstack(L, nres + 4)) {
        lua_pop(from, nres);
        return;
    }
    store_args sa = { t, ok, nres, err };
    bool grace = st->grace;
    st->grace = true;
    if (from != L) lua_xmove(from, L, nres);            /* [values] */
    lua_pushcfunction(L, store_fn);
    lua_pushlightuserdata(L, &sa);
    lua_rotate(L, -nres - 2, 2);                         /* [store sa values] */
    if (lua_pcall(L, nres + 1, 0, 0) != LUA_OK) lua_pop(L, 1);
    st->grace = grace;
}

/* A script run without waiting (lhost_run_file, wait = false) ended: so do
 * the runs its main task began. */
static void script_ended(lstate *st, ltask *t, const char *status, const char *err) {
    lab_store_end_runs(st, t->id, status, err);
    free(st->script);
    st->script = NULL;
}

static void task_failed(lhost *h, ltask *t, int rc) {
    lstate *st = t->st;
    char err[8192];
    lhost_errmsg(st, t->co, rc, err, sizeof err);
    /* a task stopped by its own budget fails like any task: its awaiter
     * gets the error; other stops end the entry (and a plugin) */
    bool stopped = st->stop != LSTOP_NONE && st->stop != LSTOP_TASK;
    bool delivered = t->fin && awaited(h, t->fin) && !(stopped && st->is_plugin);
    store_result(st, t, false, st->L, 0, err);
    t->failed = true;
    if (t->end_runs) script_ended(st, t, st->stop == LSTOP_INTERRUPT || st->user_int ? "interrupted" : "failed", err);
    if (t->fin && !lwork_job_done(t->fin)) lwork_job_finish(t->fin, LHOST_ELUA, "task failed");
    if (delivered) return;
    if (st->is_plugin && st->user_int && !stopped) {   /* Ctrl-C ended this task, not the plugin */
        lhost_print(h, err, strlen(err), true);
        return;
    }
    if (st->is_plugin) {
        lhost_plugin_failed(st, err);
        return;
    }
    if (t->quiet) {
        free(st->last_err);
        st->last_err = dupstr(err);
    } else {
        lhost_print(h, err, strlen(err), true);
    }
    st->n_failed++;
}

void lsched_resume(lhost *h, ltask *t) {
    lstate *st = t->st;
    if (!st->enabled || !st->L) return;
    int nargs = t->started ? 0 : t->nargs;
    t->started = true;
    if (t->wait) {                      /* the awaited job stays on co's stack */
        lwork_job_unref(t->wait);
        t->wait = NULL;
    }
    t->wake_at = 0;
    lentry e;
    lhost_enter(st, &e);
    st->task_deadline = t->deadline;
    st->task_seconds = t->seconds;
    /* past its deadline: the continuation of a sleep or an await raises
     * (lhost_step), and a task that yielded plainly meets the hook at its
     * first instruction */
    if (expired(t, lhost_now())) lhost_arm_hook(t->co);
    int nres = 0;
    int rc = lua_resume(t->co, NULL, nargs, &nres);
    if (rc == LUA_YIELD) {
        lua_pop(t->co, nres);
        lhost_leave(&e);
        return;
    }
    int id = t->id;
    if (rc == LUA_OK) {
        if (t->kind == LTASK_REPL && nres > 0 && lua_checkstack(t->co, 2)) {
            lua_pushcfunction(t->co, print_results);
            lua_insert(t->co, -nres - 1);
            if (lua_pcall(t->co, nres, 0, 0) != LUA_OK) {
                const char *m = lua_tostring(t->co, -1);
                lhost_print(h, m ? m : "error", strlen(m ? m : "error"), true);
            }
        } else {
            store_result(st, t, true, t->co, nres, NULL);
        }
        if (t->fin) lwork_job_finish(t->fin, 0, NULL);
        if (t->end_runs) script_ended(st, t, "ok", NULL);
    } else {
        task_failed(h, t, rc);          /* may disable st and free t */
    }
    lhost_leave(&e);
    ltask *still = find_id(h, id);      /* a disable above may have freed it */
    if (still) lsched_task_free(h, still);
}

/* ---- timers ---------------------------------------------------------- */

ltimer *lsched_timer_add(lstate *st, int fn_ref, double delay, double interval) {
    lhost *h = st->h;
    ltimer *tm = calloc(1, sizeof *tm);
    if (!tm) return NULL;
    tm->id = h->next_id++;
    tm->st = st;
    tm->fn_ref = fn_ref;
    tm->due = lhost_now() + (delay > 0 ? delay : 0);
    tm->interval = interval;
    tm->next = h->timers;
    h->timers = tm;
    return tm;
}

static void timer_free(lhost *h, ltimer *tm) {
    for (ltimer **p = &h->timers; *p; p = &(*p)->next)
        if (*p == tm) { *p = tm->next; break; }
    if (tm->st->L) luaL_unref(tm->st->L, LUA_REGISTRYINDEX, tm->fn_ref);
    free(tm);
}

void lsched_timer_del(lhost *h, int id) {
    for (ltimer *tm = h->timers; tm; tm = tm->next)
        if (tm->id == id) { timer_free(h, tm); return; }
}

static int spawn_timer(lua_State *L) {
    ltimer *tm = lua_touserdata(L, 1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, tm->fn_ref);
    ltask *t = lsched_spawn(tm->st, L, 0, LTASK_PLAIN);
    tm->last_task = t ? t->id : 0;
    return 0;
}

void lsched_drop_state(lhost *h, lstate *st) {
    for (ltask *t = h->tasks, *n; t; t = n) {
        n = t->next;
        if (t->st == st) lsched_task_free(h, t);
    }
    for (ltimer *tm = h->timers, *n; tm; tm = n) {
        n = tm->next;
        if (tm->st == st) timer_free(h, tm);
    }
}

int lsched_pending(const lhost *h, const lstate *st) {
    int n = 0;
    for (const ltask *t = h->tasks; t; t = t->next) n += !st || t->st == st;
    for (const ltimer *tm = h->timers; tm; tm = tm->next) n += !st || tm->st == st;
    return n;
}

/* ---- the loop -------------------------------------------------------- */

/* One pass; returns whether any Lua ran. */
static bool run_pass(lhost *h) {
    lwork_clear_fd(h->work);
    unsigned gen = ++h->gen;
    double now = lhost_now();
    bool ran = false;
    int ids[64];
    int n;
    do {        /* due timers: at most 64 per round, rounds until none is due */
        n = 0;
        for (ltimer *tm = h->timers; tm && n < 64; tm = tm->next)
            if (tm->due <= now) ids[n++] = tm->id;
        for (int i = 0; i < n; i++) {
            ltimer *tm = h->timers;
            while (tm && tm->id != ids[i]) tm = tm->next;
            if (!tm) continue;
            char err[1024];
            if (tm->interval > 0) tm->due = fmax(tm->due + tm->interval, now);
            /* ticks of a late loop coalesce: while the last fire's callback
             * has not started, another would only queue behind it (and run
             * after a stop() that callback makes) */
            const ltask *prev = tm->interval > 0 && tm->last_task ? find_id(h, tm->last_task) : NULL;
            if (prev && !prev->started) continue;
            int rc = lhost_call(tm->st, spawn_timer, tm, true, err, sizeof err);
            if (rc != LHOST_OK && !tm->st->is_plugin) lhost_print(h, err, strlen(err), true);
            ltimer *still = h->timers;      /* the call may have dropped it */
            while (still && still->id != ids[i]) still = still->next;
            if (still && still->interval <= 0) timer_free(h, still);
            ran = true;
        }
    } while (n == 64);
    int nt = 0;         /* tasks ready before this pass, by id */
    for (ltask *t = h->tasks; t; t = t->next) nt += t->gen < gen && task_ready(t, now);
    int *ready = nt ? malloc(sizeof *ready * (size_t)nt) : NULL;
    if (nt && !ready) return ran;
    int k = 0;
    for (ltask *t = h->tasks; t && k < nt; t = t->next)
        if (t->gen < gen && task_ready(t, now)) ready[k++] = t->id;
    /* the engine jobs the tasks of this pass submit wait for its end, so
     * that single-sequence jobs of concurrent tasks share one engine step */
    lwork_hold(h->work);
    for (int i = k - 1; i >= 0; i--) {  /* oldest first: the list is newest first */
        ltask *t = find_id(h, ready[i]);
        if (t && task_ready(t, lhost_now())) {
            lsched_resume(h, t);
            ran = true;
        }
    }
    lwork_release(h->work);
    free(ready);
    return ran;
}

int lhost_next_ms(const lhost *h) {
    double now = lhost_now(), next = -1;
    for (const ltask *t = h->tasks; t; t = t->next) {
        if (task_ready(t, now)) return 0;
        if (t->wake_at > 0 && (next < 0 || t->wake_at < next)) next = t->wake_at;
        if (t->started && t->deadline > 0 && (next < 0 || t->deadline < next)) next = t->deadline;
    }
    for (const ltimer *tm = h->timers; tm; tm = tm->next)
        if (next < 0 || tm->due < next) next = tm->due;
    double prog = lab_progress_due(h);  /* a progress update held back */
    if (prog >= 0 && (next < 0 || prog < next)) next = prog;
    if (next < 0) return -1;
    double ms = ceil((next - now) * 1000.0);
    return ms < 0 ? 0 : (ms > 1e9 ? 1000000000 : (int)ms);
}

static int tick(lhost *h, int timeout_ms) {
    if (run_pass(h) || timeout_ms == 0) return lsched_pending(h, NULL);
    if (lsched_pending(h, NULL) == 0) return 0;
    int wait = lhost_next_ms(h);
    if (timeout_ms > 0 && (wait < 0 || wait > timeout_ms)) wait = timeout_ms;
    if (wait != 0) {
        struct pollfd p = { .fd = lwork_fd(h->work), .events = POLLIN };
        poll(&p, 1, wait);              /* EINTR (a signal) just ends the wait */
    }
    run_pass(h);
    return lsched_pending(h, NULL);
}

int lhost_tick(lhost *h, int timeout_ms) {
    int n = tick(h, timeout_ms);
    lab_progress_tick(h);
    lab_store_tick(h);                  /* save as you go: commits writes older than the window */
    return n;
}

int lhost_interrupt_waiting(lhost *h) {
    int n = 0;
    for (ltask *t = h->tasks; t; t = t->next) {
        /* engine work (a job with a run function), not a task's or a
         * training's completion, and not done: done work is not stopped */
        if (!t->started || !t->wait || !t->wait->run || lwork_job_done(t->wait) || !t->st->enabled) continue;
        t->interrupted = true;
        n++;
    }
    /* then cancelled: a job two tasks await is done after the first cancel,
     * and the second must still be woken with the error */
    for (ltask *t = h->tasks; t; t = t->next)
        if (t->interrupted && t->wait) lwork_cancel(h->work, t->wait, "cancelled (Ctrl-C)");
    if (n) lwork_wake(h->work);         /* the event loop's poll returns: the tasks are ready */
    return n;
}

/* The catchable Ctrl-C (lhost_opts.script_int_catchable) for st's tasks
 * that wait: in lab.await on engine work, on another task or on a
 * background Training, or in lab.sleep. Each is woken to raise "script:
 * interrupted" there (await_k, sleep_k); the Jobs are cancelled, and a
 * Training awaited is asked to stop after its current step (its checkpoint
 * written; awaited again it gives nil, "stopped at step N"), as a foreground
 * lab.train stops. A task awaiting a task that is itself woken gets the
 * error from its own lab.await, and the awaited task's outcome stays for a
 * later lab.await. Returns whether any task was woken. */
static bool wake_scripts(lhost *h, lstate *st) {
    int n = 0;
    for (ltask *t = h->tasks; t; t = t->next) {
        if (t->st != st || !t->started) continue;
        bool awaits = t->wait && !lwork_job_done(t->wait);
        if (!awaits && !(!t->wait && t->wake_at > 0)) continue;
        t->interrupted = true;
        n++;
    }
    for (ltask *t = h->tasks; t; t = t->next) {
        if (!t->interrupted || !t->wait) continue;
        if (t->wait->run) lwork_cancel(h->work, t->wait, "cancelled (Ctrl-C)");
        else lab_train_stop_fin(t->wait);   /* a task's completion: nothing to stop */
    }
    return n > 0;
}

/* The catchable Ctrl-C when the script waits on nothing but its timers (its
 * tasks are over; a lab.every or lab.after keeps it going): no Lua is
 * suspended to raise in, so the timers stop (none fires again), with the
 * fires not yet begun (tasks not started: a timer's callback waits for the
 * pass after its fire), and the script ends as with the error uncaught:
 * "script: interrupted", its runs "interrupted" (wait_task reports it).
 * Returns whether st had timers and no task under way. */
static bool stop_timers(lhost *h, lstate *st) {
    bool timers = false;
    for (const ltask *t = h->tasks; t; t = t->next)
        if (t->st == st && t->started) return false;
    for (const ltimer *tm = h->timers; tm; tm = tm->next) timers |= tm->st == st;
    if (!timers) return false;
    for (ltask *t = h->tasks, *nx; t; t = nx) {
        nx = t->next;
        if (t->st == st) lsched_task_free(h, t);
    }
    for (ltimer *tm = h->timers, *nx; tm; tm = nx) {
        nx = tm->next;
        if (tm->st == st) timer_free(h, tm);
    }
    st->cancel = true;
    free(st->last_err);
    st->last_err = dupstr("script: interrupted");
    return true;
}

/* Ctrl-C while no Lua runs: cancel the scripts state's work. The engine
 * jobs its tasks await are cancelled first (a queued one leaves the queue,
 * a running one stops at the model's next layer): dropping the tasks alone
 * left the worker computing a long prompt nobody would read, and the next
 * line at the prompt waited behind it. */
static bool take_interrupt(lhost *h) {
    if (h->running || !atomic_exchange(&h->interrupt, 0)) return false;
    if (h->scripts && h->o.script_int_catchable && !h->soft_int_used &&
        (wake_scripts(h, h->scripts) || stop_timers(h, h->scripts))) {
        h->soft_int_used = true;        /* raised in the woken tasks; the next Ctrl-C stops */
        return false;
    }
    if (h->scripts) {
        h->scripts->cancel = true;      /* its runs end "interrupted" */
        for (ltask *t = h->tasks; t; t = t->next)
            if (t->st == h->scripts && t->wait && t->wait->run && !lwork_job_done(t->wait))
                lwork_cancel(h->work, t->wait, "cancelled (Ctrl-C)");
        lsched_drop_state(h, h->scripts);
    }
    const char *m = "interrupted";
    lhost_print(h, m, strlen(m), true);
    return true;
}

int lhost_drain(lhost *h) {
    int rc = LHOST_OK;
    h->in_wait++;
    while (lhost_tick(h, -1) > 0)
        if (take_interrupt(h)) { rc = LHOST_EBUDGET; break; }
    h->in_wait--;
    return rc;
}

/* ---- scripts and the REPL ------------------------------------------- */

static lstate *scripts(lhost *h, char *err, size_t errlen) {
    if (h->scripts && h->scripts->enabled) return h->scripts;
    if (h->scripts) return NULL;
    h->scripts = lhost_state_create(h, "script", false, 0, 0, err, errlen);
    return h->scripts;
}

typedef struct start_args {
    const char *path, *chunk;
    int argc;
    char *const *argv;
    int kind;
    bool quiet;
    int task_id;
    int incomplete;
} start_args;

static int start_file(lua_State *L) {
    start_args *a = lua_touserdata(L, 1);
    lstate *st = lhost_state(L);
    if (lhost_loadfile(L, a->path) != LUA_OK) return lua_error(L);   /* [fn] */
    lua_createtable(L, a->argc, 1);                                       /* [fn arg] */
    lua_pushstring(L, a->path);
    lua_rawseti(L, -2, 0);
    for (int i = 0; i < a->argc; i++) {
        lua_pushstring(L, a->argv[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setglobal(L, "arg");                                              /* [fn] */
    luaL_checkstack(L, a->argc + 4, "too many arguments");
    for (int i = 0; i < a->argc; i++) lua_pushstring(L, a->argv[i]);      /* [fn args...] */
    ltask *t = lsched_spawn(st, L, a->argc, a->kind);
    t->quiet = a->quiet;
    t->end_runs = !a->quiet;            /* lhost_run_file ends them itself when it waits */
    a->task_id = t->id;
    return 0;
}

static int start_chunk(lua_State *L) {
    start_args *a = lua_touserdata(L, 1);
    lstate *st = lhost_state(L);
    const char *expr = lua_pushfstring(L, "return %s", a->chunk);
    if (luaL_loadbufferx(L, expr, strlen(expr), "=repl", "t") != LUA_OK) {
        /* an expression cut short ("1 +") ends at <eof> only in this form */
        size_t n;
        const char *m = lua_tolstring(L, -1, &n);
        bool expr_eof = m && n >= 5 && strcmp(m + n - 5, "<eof>") == 0;
        lua_pop(L, 2);
        if (luaL_loadbufferx(L, a->chunk, strlen(a->chunk), "=repl", "t") != LUA_OK) {
            m = lua_tolstring(L, -1, &n);
            if (expr_eof || (m && n >= 5 && strcmp(m + n - 5, "<eof>") == 0)) {
                a->incomplete = 1;
                return 0;
            }
            return lua_error(L);
        }
    } else {
        lua_remove(L, -2);
    }
    ltask *t = lsched_spawn(st, L, 0, LTASK_REPL);
    t->quiet = a->quiet;
    a->task_id = t->id;
    return 0;
}

/* Ticks until task id ended; returns its outcome. */
static int wait_task(lhost *h, lstate *st, int id, bool all, char *err, size_t errlen) {
    int failed0 = st->n_failed;
    free(st->last_err);
    st->last_err = NULL;
    h->in_wait++;
    for (;;) {
        ltask *t = find_id(h, id);
        if (!t && (!all || lsched_pending(h, st) == 0)) break;
        lhost_tick(h, -1);
        if (take_interrupt(h)) {
            h->in_wait--;
            snprintf(err, errlen, "interrupted");
            return LHOST_EBUDGET;
        }
    }
    h->in_wait--;
    if (st->last_err) {
        snprintf(err, errlen, "%s", st->last_err);
        return LHOST_ELUA;
    }
    if (st->n_failed > failed0) {
        snprintf(err, errlen, "%d task%s failed (see above)", st->n_failed - failed0,
                 st->n_failed - failed0 == 1 ? "" : "s");
        return LHOST_ELUA;
    }
    return LHOST_OK;
}

/* st->script = the base name of path without ".lua" (run_begin's default
 * plugin name). */
static void set_script(lstate *st, const char *path) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 4 && strcmp(base + n - 4, ".lua") == 0) n -= 4;
    free(st->script);
    if ((st->script = malloc(n + 1))) {
        memcpy(st->script, base, n);
        st->script[n] = 0;
    }
}

int lhost_run_file(lhost *h, const char *path, int argc, char *const *argv, bool wait,
                   char *err, size_t errlen) {
    lstate *st = scripts(h, err, errlen);
    if (!st) return LHOST_EDISABLED;
    atomic_store(&h->interrupt, 0);
    h->soft_int_used = false;
    set_script(st, path);
    st->cancel = false;
    start_args a = { .path = path, .argc = argc, .argv = argv, .kind = LTASK_MAIN, .quiet = wait };
    int rc = lhost_call(st, start_file, &a, false, err, errlen);
    if (rc != LHOST_OK) {
        free(st->script);
        st->script = NULL;
        return rc;
    }
    if (!wait) {
        run_pass(h);
        return LHOST_OK;
    }
    rc = wait_task(h, st, a.task_id, true, err, errlen);
    /* the script and all it started are done: so are the runs it left open */
    /* st->cancel: a Ctrl-C stopped it (a script is not disabled otherwise) */
    const char *status = rc == LHOST_OK ? "ok" : st->cancel ? "interrupted" : rc == LHOST_EBUDGET ? "cancelled" : "failed";
    lab_store_end_runs(st, 0, status, rc == LHOST_OK ? NULL : err);
    free(st->script);
    st->script = NULL;
    return rc;
}

int lhost_eval(lhost *h, const char *chunk, bool wait, char *err, size_t errlen) {
    lstate *st = scripts(h, err, errlen);
    if (!st) return LHOST_EDISABLED;
    if (!chunk) chunk = "";
    atomic_store(&h->interrupt, 0);
    start_args a = { .chunk = chunk, .quiet = false };
    int rc = lhost_call(st, start_chunk, &a, false, err, errlen);
    if (rc != LHOST_OK) {
        lhost_print(h, err, strlen(err), true);
        return rc;
    }
    if (a.incomplete) {
        snprintf(err, errlen, "incomplete chunk");
        return LHOST_EINCOMPLETE;
    }
    if (!wait) {
        run_pass(h);
        return LHOST_OK;
    }
    int n0 = st->n_failed;
    rc = wait_task(h, st, a.task_id, false, err, errlen);
    if (rc == LHOST_ELUA && st->n_failed > n0) st->n_failed = n0;   /* a REPL error is not a run failure */
    return rc;
}
