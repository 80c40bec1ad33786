/* lab_task: asynchrony in the lab API: Job (engine work in flight), Task
 * (a coroutine the host schedules), Timer; lab.await, lab.spawn, lab.sleep,
 * lab.after, lab.every.
 *
 * lab.await(x) inside a task yields until x is done and the host resumes
 * the task (lhost_tick); outside a task (a pane's on_draw, a coroutine of
 * the plugin's own) it blocks on the worker instead, which is correct but
 * stalls the caller. Results are computed once and kept in the Job's
 * uservalue 2, so awaiting twice gives the same values.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lhost_impl.h"

#define JOB_T "lab.Job"
#define TASK_T "lab.Task"
#define TIMER_T "lab.Timer"

typedef struct job_ud {
    ljob *j;
    const char *kind;       /* static string: "eval", "score" */
} job_ud;

typedef struct task_ud {
    ljob *fin;              /* done when the task ends; results in registry[fin] */
    int id;
} task_ud;

typedef struct timer_ud {
    int id;
} timer_ud;

void lab_job_push(lua_State *L, ljob *j, const char *kind) {
    job_ud *u = lua_newuserdatauv(L, sizeof *u, 2);
    u->j = j;
    u->kind = kind;
    luaL_setmetatable(L, JOB_T);
}

void lab_job_set(lua_State *L, int idx, ljob *j) {
    job_ud *u = luaL_checkudata(L, idx, JOB_T);
    u->j = j;
}

static int job_gc(lua_State *L) {
    job_ud *u = luaL_checkudata(L, 1, JOB_T);
    if (u->j) lwork_job_unref(u->j);
    u->j = NULL;
    return 0;
}

static int job_done(lua_State *L) {
    job_ud *u = luaL_checkudata(L, 1, JOB_T);
    lua_pushboolean(L, u->j && lwork_job_done(u->j));
    return 1;
}

static int job_tostring(lua_State *L) {
    job_ud *u = luaL_checkudata(L, 1, JOB_T);
    lua_pushfstring(L, "Job(%s, %s)", u->kind, u->j && lwork_job_done(u->j) ? "done" : "pending");
    return 1;
}

static int task_gc(lua_State *L) {
    task_ud *u = luaL_checkudata(L, 1, TASK_T);
    if (u->fin) {
        lua_pushnil(L);
        lua_rawsetp(L, LUA_REGISTRYINDEX, u->fin);
        lwork_job_unref(u->fin);
        u->fin = NULL;
    }
    return 0;
}

static int task_done(lua_State *L) {
    task_ud *u = luaL_checkudata(L, 1, TASK_T);
    lua_pushboolean(L, u->fin && lwork_job_done(u->fin));
    return 1;
}

static ltask *task_of_ud(lua_State *L, task_ud *u) {
    lhost *h = lhost_of(L);
    for (ltask *t = h->tasks; t; t = t->next)
        if (t->id == u->id) return t;
    return NULL;
}

/* task:cancel() -> true when it was pending and is now cancelled */
static int task_cancel(lua_State *L) {
    task_ud *u = luaL_checkudata(L, 1, TASK_T);
    ltask *t = task_of_ud(L, u);
    if (!t) { lua_pushboolean(L, 0); return 1; }
    if (t->co == L) return luaL_error(L, "a task cannot cancel itself (return from it instead)");
    if (t->started && lua_status(t->co) != LUA_YIELD)
        return luaL_error(L, "the task is running (it called this code); cancel it later");
    lsched_task_free(lhost_of(L), t);
    lua_pushboolean(L, 1);
    return 1;
}

/* The Job, Task or Training at idx, as the ljob that signals it. */
static ljob *check_awaitable(lua_State *L, int idx) {
    job_ud *j = luaL_testudata(L, idx, JOB_T);
    if (j) {
        if (!j->j) luaL_argerror(L, idx, "the job was released");
        return j->j;
    }
    task_ud *t = luaL_testudata(L, idx, TASK_T);
    if (t) {
        if (!t->fin) luaL_argerror(L, idx, "the task was released");
        return t->fin;
    }
    ljob *tr = lab_train_awaitable(L, idx);
    if (tr) return tr;
    luaL_typeerror(L, idx, "Job, Task or Training");
    return NULL;
}

/* Results of a finished Job or Task at idx 1. */
static int push_results(lua_State *L, ljob *j) {
    if (luaL_testudata(L, 1, TASK_T)) {               /* ok, values... */
        if (lua_rawgetp(L, LUA_REGISTRYINDEX, j) != LUA_TTABLE) {
            lua_pushboolean(L, 0);
            lua_pushstring(L, j->err[0] ? j->err : "task cancelled");
            return 2;
        }
        lua_getfield(L, -1, "n");
        int n = (int)lua_tointeger(L, -1);
        lua_pop(L, 1);
        luaL_checkstack(L, n, "too many results");
        for (int i = 1; i <= n; i++) lua_rawgeti(L, -i, i);
        return n;
    }
    if (lua_getiuservalue(L, 1, 2) == LUA_TTABLE && lua_getfield(L, -1, "n") == LUA_TNUMBER) {
        int n = (int)lua_tointeger(L, -1);
        lua_pop(L, 1);                                 /* [cache] */
        luaL_checkstack(L, n, "too many results");
        for (int i = 1; i <= n; i++) lua_rawgeti(L, -i, i);
        return n;
    }
    lua_settop(L, 1);
    if (j->status < 0) return lab_fail(L, "%s", j->err[0] ? j->err : "the job failed");
    int n = 1;
    if (j->push) n = j->push(L, j, 1);
    else lua_pushboolean(L, 1);
    /* cache: {v1, ..., n = n} in uservalue 2 */
    lua_createtable(L, n, 1);
    for (int i = 0; i < n; i++) {
        lua_pushvalue(L, -1 - n + i);
        lua_rawseti(L, -2, i + 1);
    }
    lua_pushinteger(L, n);
    lua_setfield(L, -2, "n");
    lua_setiuservalue(L, 1, 2);
    return n;
}

static int await_k(lua_State *L, int status, lua_KContext ctx);

/* lab.await(job_or_task) -> the results. Inside a task it always yields
 * once, even for work already done, so tasks that await in a loop take
 * turns whatever the engine's speed (a fair, deterministic interleaving). */
static int await_impl(lua_State *L, bool first) {
    ljob *j = check_awaitable(L, 1);
    lua_settop(L, 1);
    if (first || !lwork_job_done(j)) {
        lhost *h = lhost_of(L);
        ltask *t = lsched_find(h, L);
        if (t && lua_isyieldable(L)) {
            lwork_job_ref(j);
            if (t->wait) lwork_job_unref(t->wait);
            t->wait = j;
            return lua_yieldk(L, 0, 0, await_k);
        }
        if (lwork_job_done(j)) return push_results(L, j);
        if (!j->run)
            return luaL_error(L, "lab.await: a task can be awaited only from a task (a script, a handler "
                                 "or lab.spawn), not from here");
        lwork_wait(h->work, j);
    }
    return push_results(L, j);
}

static int l_await(lua_State *L) { return await_impl(L, true); }

static int await_k(lua_State *L, int status, lua_KContext ctx) {
    (void)status;
    (void)ctx;
    lhost_step(L, 0);                    /* woken past the task's deadline: fail here */
    ltask *t = lsched_find(lhost_of(L), L);
    if (t && t->interrupted) {           /* Ctrl-C while it waited (lhost_interrupt_waiting) */
        t->interrupted = false;
        return lhost_raise_interrupt(L, t->st);
    }
    return await_impl(L, false);         /* not done yet (a foreign resume): wait again */
}

/* lab.spawn(fn, ...) -> Task */
static int l_spawn(lua_State *L) {
    luaL_checktype(L, 1, LUA_TFUNCTION);
    int n = lua_gettop(L);
    lstate *st = lhost_state(L);
    task_ud *u = lua_newuserdatauv(L, sizeof *u, 0);   /* [fn args... T] */
    u->fin = NULL;
    u->id = 0;
    luaL_setmetatable(L, TASK_T);
    lua_insert(L, 1);                                  /* [T fn args...] */
    u->fin = lwork_job_new(NULL, NULL, NULL);
    if (!u->fin) return luaL_error(L, "out of memory");
    ltask *t = lsched_spawn(st, L, n - 1, LTASK_PLAIN);   /* [T] */
    lwork_job_ref(u->fin);
    t->fin = u->fin;
    u->id = t->id;
    return 1;
}

static int sleep_k(lua_State *L, int status, lua_KContext ctx) {
    (void)status;
    (void)ctx;
    lhost_step(L, 0);                    /* woken past the task's deadline: fail here */
    ltask *t = lsched_find(lhost_of(L), L);
    if (t && t->interrupted) {           /* Ctrl-C while it slept (`logitlab run`'s catchable one) */
        t->interrupted = false;
        return lhost_raise_interrupt(L, t->st);
    }
    return 0;
}

/* lab.sleep(seconds): inside a task only */
static int l_sleep(lua_State *L) {
    double s = luaL_checknumber(L, 1);
    if (!(s >= 0) || isinf(s)) return luaL_argerror(L, 1, "seconds must be a finite number >= 0");
    ltask *t = lsched_find(lhost_of(L), L);
    if (!t || !lua_isyieldable(L))
        return luaL_error(L, "lab.sleep works inside a task only (use lab.after for a callback)");
    t->wake_at = lhost_now() + s;
    if (t->wake_at <= 0) t->wake_at = 1e-9;
    return lua_yieldk(L, 0, 0, sleep_k);
}

static int add_timer(lua_State *L, bool every) {
    double s = luaL_checknumber(L, 1);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    if (!(s >= 0) || isinf(s)) return luaL_argerror(L, 1, "seconds must be a finite number >= 0");
    if (every && s < 0.001) return luaL_argerror(L, 1, "an interval must be at least 0.001 s");
    timer_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
    u->id = 0;
    luaL_setmetatable(L, TIMER_T);
    lua_pushvalue(L, 2);
    int ref = luaL_ref(L, LUA_REGISTRYINDEX);
    ltimer *tm = lsched_timer_add(lhost_state(L), ref, s, every ? s : 0);
    if (!tm) {
        luaL_unref(L, LUA_REGISTRYINDEX, ref);
        return luaL_error(L, "out of memory");
    }
    u->id = tm->id;
    return 1;
}

/* lab.after(seconds, fn) -> Timer */
static int l_after(lua_State *L) { return add_timer(L, false); }
/* lab.every(seconds, fn) -> Timer */
static int l_every(lua_State *L) { return add_timer(L, true); }

/* timer:stop() -> true if it was still pending */
static int timer_stop(lua_State *L) {
    timer_ud *u = luaL_checkudata(L, 1, TIMER_T);
    lhost *h = lhost_of(L);
    lstate *st = lhost_state(L);
    for (ltimer *tm = h->timers; tm; tm = tm->next)
        if (tm->id == u->id && tm->st == st) {
            lsched_timer_del(h, u->id);
            lua_pushboolean(L, 1);
            return 1;
        }
    lua_pushboolean(L, 0);
    return 1;
}

static int timer_pending(lua_State *L) {
    timer_ud *u = luaL_checkudata(L, 1, TIMER_T);
    lhost *h = lhost_of(L);
    bool found = false;
    for (ltimer *tm = h->timers; tm; tm = tm->next) found |= tm->id == u->id;
    lua_pushboolean(L, found);
    return 1;
}

static const luaL_Reg job_methods[] = { { "done", job_done }, { NULL, NULL } };
static const luaL_Reg job_meta[] = { { "__gc", job_gc }, { "__tostring", job_tostring }, { NULL, NULL } };
static const luaL_Reg task_methods[] = { { "done", task_done }, { "cancel", task_cancel }, { NULL, NULL } };
static const luaL_Reg task_meta[] = { { "__gc", task_gc }, { NULL, NULL } };
static const luaL_Reg timer_methods[] = { { "stop", timer_stop }, { "pending", timer_pending }, { NULL, NULL } };
static const luaL_Reg timer_meta[] = { { NULL, NULL } };

static const luaL_Reg task_fns[] = {
    { "await", l_await },
    { "spawn", l_spawn },
    { "sleep", l_sleep },
    { "after", l_after },
    { "every", l_every },
    { NULL, NULL },
};

/* priv.task_deadline(seconds): the calling task's wall-time budget from
 * now (< 0: none), enforced by the budget hook as well as at engine calls
 * (run.lua), so Lua code that never yields stops too. Outside a task:
 * nothing. */
static int l_task_deadline(lua_State *L) {
    double sec = luaL_checknumber(L, 1);
    lhost *h = lhost_of(L);
    ltask *t = lsched_find(h, L);
    if (!t) return 0;
    t->deadline = sec >= 0 ? lhost_now() + sec : 0;
    t->seconds = sec;
    lstate *st = lhost_state(L);
    if (st && st->depth > 0) {          /* the entry running now is this task's */
        st->task_deadline = t->deadline;
        st->task_seconds = t->seconds;
    }
    return 0;
}

/* lab_open_task(lab): registers the types and adds the functions to lab. */
int lab_open_task(lua_State *L) {
    lab_class(L, JOB_T, "Job", job_methods, job_meta);
    lab_class(L, TASK_T, "Task", task_methods, task_meta);
    lab_class(L, TIMER_T, "Timer", timer_methods, timer_meta);
    luaL_setfuncs(L, task_fns, 0);
    lua_getfield(L, LUA_REGISTRYINDEX, "lab.priv");
    lua_pushcfunction(L, l_task_deadline);
    lua_setfield(L, -2, "task_deadline");
    lua_pop(L, 1);
    return 0;
}
