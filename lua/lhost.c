/* lhost: the host object and its Lua states: creation and teardown, the
 * capped allocator, the budget hook, entries into Lua and console output.
 *
 * Invariants: every lua_State has its lstate in the registry under one key
 * (lhost_state); a state's bytes (st->mem) never exceed st->mem_cap; a
 * state is closed only when none of its Lua is on the C stack (depth 0);
 * an entry's stop reason, once set, makes the hook raise again every few
 * instructions, so that pcall cannot swallow it (the sandbox's pcall and
 * coroutine.resume rethrow it as well).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lhost_impl.h"
#include "fout.h"
#include "fio.h"
#include "pool.h"

static const char STATE_KEY = 'S';   /* registry[&STATE_KEY] = light userdata lstate */
#define HOOK_COUNT 1000              /* instructions between budget checks */

double lhost_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

lstate *lhost_state(lua_State *L) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &STATE_KEY);
    lstate *st = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return st;
}

lhost *lhost_of(lua_State *L) { return lhost_state(L)->h; }

static char *dupstr(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static char **dup_list(const char *const *v, const char *extra, bool *ok) {
    int n = 0;
    while (v && v[n]) n++;
    char **d = calloc((size_t)n + 2, sizeof *d);
    if (!d) { *ok = false; return NULL; }
    int k = 0;
    for (int i = 0; i < n; i++)
        if (!(d[k++] = dupstr(v[i]))) *ok = false;
    if (extra && !(d[k++] = dupstr(extra))) *ok = false;
    return d;
}

static void free_list(char **v) {
    for (int i = 0; v && v[i]; i++) free(v[i]);
    free(v);
}

void lhost_opts_default(lhost_opts *o) {
    memset(o, 0, sizeof *o);
}

/* ---- allocator and budget hook -------------------------------------- */

/* lua_Alloc counting st->mem; refuses growth past mem_cap. */
static void *capped_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    lstate *st = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        st->mem -= old;
        return NULL;
    }
    size_t cap = st->grace ? st->mem_cap + ((size_t)32 << 20) : st->mem_cap;
    if (nsize > old && st->mem - old + nsize > cap) {
        st->mem_over = true;
        return NULL;
    }
    void *p = realloc(ptr, nsize);
    if (!p) return NULL;
    st->mem = st->mem - old + nsize;
    return p;
}

const char *lhost_stop_msg(lstate *st, char *buf, size_t cap) {
    const char *who = st->is_plugin ? "plugin " : "";
    switch (st->stop) {
    case LSTOP_TIME:
        snprintf(buf, cap, "%s%s: time budget of %g s exceeded (lab.budget{seconds=...} raises it)", who,
                 st->name, st->budget_s);
        break;
    case LSTOP_INSTR:
        snprintf(buf, cap, "%s%s: instruction budget of %llu exceeded", who, st->name,
                 (unsigned long long)st->budget_instr);
        break;
    case LSTOP_INTERRUPT: snprintf(buf, cap, "%s%s: interrupted", who, st->name); break;
    case LSTOP_TASK:      /* the words of lab.task_budget's check at engine calls (run.lua) */
        snprintf(buf, cap, "task budget exceeded: %g s of wall time (lab.task_budget)", st->task_seconds);
        break;
    case LSTOP_MEM:
        snprintf(buf, cap, "%s%s: memory cap of %.1f MiB exceeded", who, st->name,
                 (double)st->mem_cap / (1024.0 * 1024.0));
        break;
    default: snprintf(buf, cap, "%s%s: stopped", who, st->name); break;
    }
    return buf;
}

/* Save as you go while a script computes: the scheduler ticks the store
 * between slices, but a slice that computes for seconds without awaiting
 * would hold acknowledged writes uncommitted; the count hook runs whatever
 * the script does, so it ticks too (every 100 ms at most; store_tick
 * commits a batch older than its window and does nothing inside a write). */
static void hook_store_tick(lhost *h) {
    if (!h->store) return;
    double now = lhost_now();
    if (now < h->store_tick_at) return;
    h->store_tick_at = now + 0.1;
    lab_store_tick(h);
}

/* Counts n instructions for the running entry of st and raises its stop
 * error once one is due (and again on every later check: pcall cannot
 * swallow it). */
void lhost_busy_tick(lstate *st) {
    lhost *h = st->h;
    if (h->has_ui && h->ui.busy) {      /* a long entry: the UI says Ctrl-C stops it */
        double now = lhost_now();
        if (now >= h->busy_at) {
            h->busy_at = now + 0.25;
            h->ui.busy(h->ui.ud, st->name, now - h->entry_t0);
        }
    }
}

static void budget_check(lua_State *L, lstate *st, unsigned n) {
    lhost *h = st->h;
    hook_store_tick(h);
    lhost_busy_tick(st);
    st->instr += n;
    if (!st->stop) {
        if (atomic_exchange(&st->h->interrupt, 0)) {
            if (st->is_plugin ? lhost_now() - h->entry_t0 < LHOST_RUNAWAY_S : lhost_take_soft_int(st))
                lhost_raise_interrupt(L, st);
            st->cancel = true;
            st->stop = LSTOP_INTERRUPT;
        } else if (st->budget_instr && st->instr > st->budget_instr) st->stop = LSTOP_INSTR;
        else if (st->deadline > 0 && lhost_now() > st->deadline) st->stop = LSTOP_TIME;
        else if (st->task_deadline > 0 && lhost_now() > st->task_deadline) st->stop = LSTOP_TASK;
    }
    if (st->stop) {
        char msg[256];
        lua_pushstring(L, lhost_stop_msg(st, msg, sizeof msg));
        lua_error(L);
    }
}

bool lhost_take_soft_int(lstate *st) {
    lhost *h = st->h;
    if (st->is_plugin || !h->o.script_int_catchable || h->soft_int_used) return false;
    h->soft_int_used = true;
    return true;
}

int lhost_raise_interrupt(lua_State *L, lstate *st) {
    st->cancel = true;
    char msg[256];
    /* a script's: only the first Ctrl-C of `logitlab run` (the callers
     * checked lhost_take_soft_int, or woke the task for it) */
    if (st->is_plugin || (st->h->o.script_int_catchable && st->h->soft_int_used && !st->stop)) {
        /* the user stops what the plugin does, not the plugin: its pcall
         * can end the work cleanly (a search clears its "running" mark),
         * and the plugin stays; `logitlab run`'s script likewise cleans up
         * (its second Ctrl-C ends the process) */
        st->user_int = true;
        snprintf(msg, sizeof msg, "%s%s: interrupted", st->is_plugin ? "plugin " : "", st->name);
    } else {
        st->stop = LSTOP_INTERRUPT;
        lhost_stop_msg(st, msg, sizeof msg);
    }
    lua_pushstring(L, msg);
    return lua_error(L);
}

/* Armed (lhost_arm_hook): the first call comes after one instruction, and
 * sets the usual count back. */
static void budget_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    lstate *st = lhost_state(L);
    if (!st || st->depth == 0) return;
    unsigned n = HOOK_COUNT;
    if (lua_gethookcount(L) != HOOK_COUNT) {
        lua_sethook(L, budget_hook, LUA_MASKCOUNT, HOOK_COUNT);
        n = 1;
    }
    budget_check(L, st, n);
}

void lhost_arm_hook(lua_State *co) { lua_sethook(co, budget_hook, LUA_MASKCOUNT, 1); }

void lhost_step(lua_State *L, unsigned n) {
    lstate *st = lhost_state(L);
    if (!st || st->depth == 0) return;
    budget_check(L, st, n);
}

/* ---- states ---------------------------------------------------------- */

static int open_state(lua_State *L) {
    lstate *st = lua_touserdata(L, 1);
    lua_pushlightuserdata(L, st);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &STATE_KEY);
    lsandbox_open(L);
    lab_open(L);
    return 0;
}

int lhost_loadfile(lua_State *L, const char *path) {
    char err[512];
    uint64_t size;
    int fd = fio_open(path, LHOST_MAX_CHUNK, &size, err, sizeof err);
    if (fd < 0) {
        lua_pushstring(L, err);
        return LUA_ERRFILE;
    }
    /* the buffer comes from the state's capped allocator, called directly:
     * it returns NULL at the cap where a Lua allocation would raise and
     * leak fd */
    void *aud;
    lua_Alloc alloc = lua_getallocf(L, &aud);
    size_t cap = size ? (size_t)size : 1;
    char *buf = lua_checkstack(L, 3) ? alloc(aud, NULL, 0, cap) : NULL;
    size_t got = 0;
    while (buf && got < size) {
        ssize_t r = read(fd, buf + got, (size_t)size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    if (!buf) {
        lua_pushfstring(L, "%s: out of memory", path);
        return LUA_ERRMEM;
    }
    const char *p = buf;
    size_t n = got;
    if (n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) { p += 3; n -= 3; }   /* a UTF-8 BOM, as luaL_loadfile */
    if (n && p[0] == '#') {                     /* a #! line: skipped, its newline kept for line numbers */
        while (n && p[0] != '\n') { p++; n--; }
    }
    lua_pushfstring(L, "@%s", path);                                         /* [name] */
    int rc = luaL_loadbufferx(L, p, n, lua_tostring(L, -1), "t");           /* [name fn|err] */
    alloc(aud, buf, cap, 0);
    lua_remove(L, -2);
    return rc;
}

size_t lhost_mem_ceiling(const lhost *h) { return h->o.mem_cap ? h->o.mem_cap : (size_t)512 << 20; }

lstate *lhost_state_create(lhost *h, const char *name, bool is_plugin, size_t mem_cap,
                           double budget_s, char *err, size_t errlen) {
    lstate *st = calloc(1, sizeof *st);
    if (!st || !(st->name = dupstr(name))) {
        free(st);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    st->h = h;
    st->is_plugin = is_plugin;
    st->mem_cap = mem_cap && mem_cap < lhost_mem_ceiling(h) ? mem_cap : lhost_mem_ceiling(h);
    st->budget_s = budget_s != 0 ? budget_s : (h->o.budget_s != 0 ? h->o.budget_s : 10.0);
    st->budget_instr = h->o.budget_instr;
    st->prog_interval = -1;
    st->L = lua_newstate(capped_alloc, st);
    if (!st->L) {
        snprintf(err, errlen, "%s: cannot create a Lua state (memory cap %zu bytes)", name, st->mem_cap);
        free(st->name);
        free(st);
        return NULL;
    }
    lua_sethook(st->L, budget_hook, LUA_MASKCOUNT, HOOK_COUNT);
    st->enabled = true;
    st->next = h->states;
    h->states = st;
    if (lhost_call(st, open_state, st, false, err, errlen) != LHOST_OK) {
        lhost_state_disable(st, err);
        h->states = st->next;
        lhost_state_free(st);
        return NULL;
    }
    return st;
}

static void close_state(lstate *st) {
    if (!st->L) return;
    lua_close(st->L);
    st->L = NULL;
}

/* The runs st leaves open: a script's end "ok" (the host closes), a
 * plugin's "failed" with its error, or "cancelled" when it was interrupted,
 * disabled by the user or unloaded. */
static void end_runs(lstate *st, const char *why) {
    if (!st->n_runs) return;
    if (!st->is_plugin) lab_store_end_runs(st, 0, why ? "failed" : "ok", why);
    else if (!why) lab_store_end_runs(st, 0, "cancelled", "plugin unloaded");
    else lab_store_end_runs(st, 0, st->cancel ? "cancelled" : "failed", why);
}

void lhost_state_disable(lstate *st, const char *why) {
    lhost *h = st->h;
    if (why && !st->error) st->error = dupstr(why);
    if (!st->enabled) return;
    st->enabled = false;
    end_runs(st, why);
    lsched_drop_state(h, st);
    lab_ui_drop_state(h, st);
    lab_progress_drop_state(st);
    if (st->depth == 0) close_state(st);
    else st->dying = true;
}

void lhost_state_free(lstate *st) {
    if (!st) return;
    close_state(st);
    lab_progress_drop_state(st);
    free(st->name);
    free(st->path);
    free(st->description);
    free(st->error);
    free(st->last_err);
    free(st->script);
    free(st->runs);
    free(st);
}

/* ---- entries --------------------------------------------------------- */

void lhost_enter(lstate *st, lentry *e) {
    lhost *h = st->h;
    e->st = st;
    e->deadline = st->deadline;
    e->task_deadline = st->task_deadline;
    e->task_seconds = st->task_seconds;
    e->instr = st->instr;
    e->stop = st->stop;
    e->user_int = st->user_int;
    e->prev = h->running;
    h->running = st;
    if (h->nest == 0) {
        h->entry_t0 = lhost_now();
        h->busy_at = h->entry_t0 + LHOST_RUNAWAY_S;
        /* a Ctrl-C that no entry took (the Lua it was for returned before
         * counting) is not this entry's: a key handler run a minute later
         * was interrupted by it. lhost_drain and a waiting run or eval keep
         * it: there it stops the scripts between two entries. */
        if (!h->in_wait) atomic_store(&h->interrupt, 0);
    }
    h->nest++;
    st->depth++;
    st->instr = 0;
    st->stop = LSTOP_NONE;
    st->user_int = false;
    st->mem_over = false;
    st->deadline = st->budget_s > 0 ? lhost_now() + st->budget_s : 0;
    st->task_deadline = 0;          /* lsched_resume sets the task's */
}

void lhost_leave(lentry *e) {
    lstate *st = e->st;
    st->h->running = e->prev;
    st->h->nest--;
    st->depth--;
    st->deadline = e->deadline;
    st->task_deadline = e->task_deadline;
    st->task_seconds = e->task_seconds;
    st->instr = e->instr;
    st->stop = e->stop;
    st->user_int = e->user_int;
    if (st->depth == 0 && st->dying) {
        st->dying = false;
        close_state(st);
    }
}

/* ---- console --------------------------------------------------------- */

void lhost_print(lhost *h, const char *s, size_t n, bool is_error) {
    if (h->has_ui && h->ui.print) {
        h->ui.print(h->ui.ud, s, n, is_error);
        return;
    }
    FILE *f = is_error ? stderr : stdout;
    if (is_error) fflush(stdout);
    lab_progress_hide(h);               /* a live progress line stays below the output */
    fwrite(s, 1, n, f);
    if (n == 0 || s[n - 1] != '\n') fputc('\n', f);
    errno = 0;
    if ((fflush(f) != 0 || ferror(f)) && f == stdout && !h->out_errno) h->out_errno = errno ? errno : EIO;
    lab_progress_show(h);
}

int lhost_out_errno(const lhost *h) { return h->out_errno; }

typedef struct errfmt {
    lstate *st;
    lua_State *co;          /* the thread that failed, for its traceback; or NULL */
    char *err;
    size_t errlen;
} errfmt;

/* Whether the first line of msg carries a position ("file.lua:12: ..."),
 * as every runtime error and error(msg [, 1]) do. error(msg, 0) leaves it
 * out: Lua's idiom for a message meant for the user (a usage error, a
 * mismatch of models), which is reported without a traceback. */
static bool has_position(const char *msg) {
    for (const char *p = msg; *p && *p != '\n'; p++) {
        if (*p != ':' || !isdigit((unsigned char)p[1])) continue;
        const char *q = p + 1;
        while (isdigit((unsigned char)*q)) q++;
        if (*q == ':') return true;
    }
    return false;
}

/* Whether an error object's __tostring (user code) may run: only under the
 * budget hook (an entry is running) and before a stop; otherwise a looping
 * __tostring would run unbounded. */
static bool user_code_ok(const lstate *st) { return st->depth > 0 && !st->stop && !st->mem_over; }

/* [errfmt errobj] on the main thread: the message, with co's traceback. */
static int fmt_error(lua_State *L) {
    errfmt *ef = lua_touserdata(L, 1);
    char stopmsg[256];
    const char *msg;
    bool where = false;
    if (ef->st->mem_over || ef->st->stop == LSTOP_MEM) {
        ef->st->stop = LSTOP_MEM;
        msg = lhost_stop_msg(ef->st, stopmsg, sizeof stopmsg);
    } else if (ef->st->stop && lua_type(L, 2) != LUA_TSTRING) {   /* e.g. stopped inside a __tostring */
        msg = lhost_stop_msg(ef->st, stopmsg, sizeof stopmsg);
    } else if (lua_type(L, 2) == LUA_TSTRING) {
        msg = lua_tostring(L, 2);
    } else if (user_code_ok(ef->st) && luaL_callmeta(L, 2, "__tostring") && lua_type(L, -1) == LUA_TSTRING) {
        msg = lua_tostring(L, -1);
    } else {
        /* error({...}) without a __tostring: nothing says where, so the traceback does */
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 2));
        where = true;
    }
    if (ef->co && (where || has_position(msg))) msg = (luaL_traceback(L, ef->co, msg, 0), lua_tostring(L, -1));
    snprintf(ef->err, ef->errlen, "%s", msg);
    return 0;
}

void lhost_errmsg(lstate *st, lua_State *co, int status, char *err, size_t errlen) {
    (void)status;
    lua_State *L = st->L;
    errfmt ef = { st, co, err, errlen };
    snprintf(err, errlen, "%s: out of memory while reporting an error", st->name);
    bool grace = st->grace;
    st->grace = true;                   /* the host's own allocations may pass the cap */
    if (lua_checkstack(L, 4)) {
        if (co && co != L) lua_xmove(co, L, 1);              /* [errobj] */
        lua_pushcfunction(L, fmt_error);
        lua_pushlightuserdata(L, &ef);
        lua_rotate(L, -3, 2);                                /* [fmt ef errobj] */
        if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
            lua_pop(L, 1);
            if (st->stop) lhost_stop_msg(st, err, errlen);   /* stopped in the error object's __tostring */
        }
        lua_pushnil(co ? co : L);                            /* in the error object's place: the caller pops it */
    }
    st->grace = grace;
}

/* Whether the stack from level up holds a Lua function: a traceback of C
 * frames alone ("[C]: in ?", after a script that does not compile or a
 * file that cannot be read) says nothing the message does not. */
static bool has_lua_frame(lua_State *L, int level) {
    lua_Debug ar;
    for (; lua_getstack(L, level, &ar); level++)
        if (lua_getinfo(L, "S", &ar) && ar.what[0] != 'C') return true;
    return false;
}

/* Message handler: the error as a string, with the traceback of where it
 * was raised (memory errors bypass it; lhost_errmsg names them). */
static int msgh(lua_State *L) {
    lhost_state(L)->grace = true;       /* reset when the call returns */
    const char *msg = lua_tostring(L, 1);
    if (!msg) {
        if (user_code_ok(lhost_state(L)) && luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) msg = lua_tostring(L, -1);
        else msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    if (has_lua_frame(L, 1)) luaL_traceback(L, L, msg, 1);
    else lua_pushstring(L, msg);
    return 1;
}

int lhost_call(lstate *st, lua_CFunction fn, void *ud, bool kill_plugin, char *err, size_t errlen) {
    if (!st->enabled || !st->L) {
        snprintf(err, errlen, "%s is disabled%s%s", st->name, st->error ? ": " : "", st->error ? st->error : "");
        return LHOST_EDISABLED;
    }
    lua_State *L = st->L;
    if (st->h->nest >= LHOST_MAX_NEST) {
        snprintf(err, errlen, "%s: calls nested too deeply (a handler that calls itself?)", st->name);
        return LHOST_EINVAL;
    }
    if (!lua_checkstack(L, 4)) {
        snprintf(err, errlen, "%s: Lua stack overflow", st->name);
        return LHOST_ENOMEM;
    }
    lentry e;
    lhost_enter(st, &e);
    lua_pushcfunction(L, msgh);
    lua_pushcfunction(L, fn);
    lua_pushlightuserdata(L, ud);
    int rc = lua_pcall(L, 1, 0, -3);
    st->grace = false;
    int ret = LHOST_OK;
    if (rc != LUA_OK) {
        if (rc == LUA_ERRMEM) {
            lhost_errmsg(st, NULL, rc, err, errlen);
        } else {
            const char *m = lua_tostring(L, -1);
            snprintf(err, errlen, "%s", m ? m : "error");
        }
        ret = st->stop ? LHOST_EBUDGET : LHOST_ELUA;
        lua_pop(L, 1);
    }
    /* Ctrl-C in a short entry is the user's, not the plugin's fault: the
     * host-wide flag is taken by whichever entry counts next, which may be
     * an event handler rather than the command the user meant to stop */
    bool user_stop = rc != LUA_OK && st->user_int && !st->stop;
    lua_pop(L, 1);
    lhost_leave(&e);
    if (ret != LHOST_OK && kill_plugin && st->is_plugin && !user_stop) lhost_plugin_failed(st, err);
    return ret;
}

void lhost_plugin_failed(lstate *st, const char *err) {
    char *msg = malloc(strlen(err) + strlen(st->name) + 64);
    if (msg) {
        sprintf(msg, "plugin %s failed and is disabled: %s", st->name, err);
        lhost_print(st->h, msg, strlen(msg), true);
        free(msg);
    } else {
        lhost_print(st->h, err, strlen(err), true);
    }
    lhost_state_disable(st, err);
}

/* ---- the host -------------------------------------------------------- */

int lhost_create(lhost **out, const lhost_opts *o, char *err, size_t errlen) {
    *out = NULL;
    lhost_opts def;
    if (!o) { lhost_opts_default(&def); o = &def; }
    lhost *h = calloc(1, sizeof *h);
    if (!h) { snprintf(err, errlen, "out of memory"); return LHOST_ENOMEM; }
    h->o = *o;
    h->next_id = 1;
    atomic_init(&h->interrupt, 0);
    atomic_init(&h->n_training, 0);
    atomic_init(&h->querying, NULL);
    pthread_mutex_init(&h->files_lock, NULL);
    h->store = o->store;
    if (o->ui) { h->ui = *o->ui; h->has_ui = true; }
    bool ok = true;
    char wsplug[PATH_MAX + 16];
    const char *extra = NULL;
    if (o->workspace) {
        char real[PATH_MAX];
        if (!realpath(o->workspace, real)) {
            snprintf(err, errlen, "workspace %s: no such folder", o->workspace);
            pthread_mutex_destroy(&h->files_lock);
            free(h);
            return LHOST_ENOENT;
        }
        if (!(h->workspace = dupstr(real))) ok = false;
        /* lab.fs.write's temporaries of writes killed half way (fout.h);
         * a live writer's, in any process, is locked and stays */
        fout_sweep(real, NULL, 3, FOUT_STALE_S);
        snprintf(wsplug, sizeof wsplug, "%s/plugins", real);
        extra = wsplug;
    }
    h->plugin_dirs = dup_list(o->plugin_dirs, extra, &ok);
    if (o->plugin_names) h->plugin_names = dup_list(o->plugin_names, NULL, &ok);
    static const char *const mdirs_default[] = { "models", "../shared/models", NULL };
    const char *shared = getenv("LOGITLAB_SHARED");
    char sm[PATH_MAX];
    if (o->model_dirs) {
        h->model_dirs = dup_list(o->model_dirs, NULL, &ok);
    } else if (shared && *shared) {
        snprintf(sm, sizeof sm, "%s/models", shared);
        const char *v[] = { "models", sm, "../shared/models", NULL };
        h->model_dirs = dup_list(v, NULL, &ok);
    } else {
        h->model_dirs = dup_list(mdirs_default, NULL, &ok);
    }
    const char *sdir = o->store_dir ? o->store_dir : h->workspace;
    if (!o->store && sdir && !(h->store_dir = dupstr(sdir))) ok = false;
    h->o.plugin_dirs = (const char *const *)h->plugin_dirs;
    h->o.plugin_names = (const char *const *)h->plugin_names;
    h->o.model_dirs = (const char *const *)h->model_dirs;
    h->o.workspace = h->workspace;
    h->o.store_dir = h->store_dir;
    h->o.ui = NULL;
    int rc = ok ? lwork_create(&h->work, err, errlen) : LHOST_ENOMEM;
    if (!ok) snprintf(err, errlen, "out of memory");
    if (rc != LHOST_OK) {
        free_list(h->plugin_dirs);
        free_list(h->plugin_names);
        free_list(h->model_dirs);
        free(h->workspace);
        free(h->store_dir);
        pthread_mutex_destroy(&h->files_lock);
        free(h);
        return rc;
    }
    *out = h;
    return LHOST_OK;
}

void lhost_destroy(lhost *h) {
    if (!h) return;
    for (lstate *st = h->states; st; st = st->next) lhost_state_disable(st, NULL);
    while (h->states) {
        lstate *n = h->states->next;
        lhost_state_free(h->states);
        h->states = n;
    }
    lab_progress_close(h);
    lab_store_close(h);                 /* after the states: their queries are closed */
    lwork_destroy(h->work);             /* the last contexts go with their jobs */
    for (int i = 0; i < h->n_pools; i++) pool_destroy(h->pools[i]);
    free_list(h->plugin_dirs);
    free_list(h->plugin_names);
    free_list(h->model_dirs);
    free(h->workspace);
    free(h->store_dir);
    free(h->lines);
    free(h->text);
    free(h->prog_line);
    pthread_mutex_destroy(&h->files_lock);   /* every Model is gone with the states and jobs */
    free(h);
}

struct pool *lhost_pool(lhost *h, int n_threads) {
    if (n_threads <= 0) n_threads = pool_n_cpus();
    for (int i = 0; i < h->n_pools; i++)
        if (pool_size(h->pools[i]) == n_threads) return h->pools[i];
    if (h->n_pools == LHOST_MAX_POOLS) return NULL;
    pool *p = pool_create(n_threads);
    if (p && pool_size(p) != n_threads) { pool_destroy(p); return NULL; }   /* fewer threads started */
    if (p) h->pools[h->n_pools++] = p;
    return p;
}

int lhost_trainings(lhost *h) { return atomic_load(&h->n_training); }

void lhost_interrupt(lhost *h) {
    atomic_store(&h->interrupt, 1);
    lab_store_interrupt(h);             /* a query runs in SQLite, out of the count hook's reach */
    /* a host waiting in poll for the engine (run, repl) must see it now, not
     * when the job ends: the signal may land on the worker's or a pool's
     * thread, and then interrupts no poll (write(2) is async-signal-safe) */
    if (h->work) lwork_wake(h->work);
}

int lhost_wake_fd(const lhost *h) { return lwork_fd(h->work); }

void lhost_set_session(lhost *h, int64_t session) { h->session = session > 0 ? session : 0; }
