/* lab_store: lab.store, the Lua side of the workspace store (core/store.h):
 * experiment runs, records, metrics and read-only SQL queries.
 *
 * One store per host, used on the host's thread only: opts.store (borrowed
 * from the TUI) or, when that is NULL, the store_dir workspace opened
 * read-write by the first call that needs it (owned; lab_store_close). While
 * another process holds the workspace, writes give nil, err and queries open
 * it read-only; the read-write open is tried again at most every RETRY_S
 * seconds, since each try waits half a second for the lock.
 *
 * Each state keeps the runs it began and has not ended (st->runs, oldest
 * first): put and metric default to the newest one, and the host ends what
 * is left when its owner goes (lab_store_end_runs).
 *
 * A query lives in a userdata (lab.StoreQuery) whose __gc / __close closes
 * it, so a Lua error while rows are built (the memory cap) cannot leak the
 * statement. States are closed before the stores, so none outlives its store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lhost_impl.h"
#include "model.h"
#include "store.h"

#define QUERY_T "lab.StoreQuery"
#define MAX_ROWS 100000          /* lab.store.query's limit; lab.store.rows has none */
#define RETRY_S 2.0

typedef struct query_ud {
    store_query *q;         /* NULL once closed */
    store *s;
} query_ud;

static char *dupstr(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* ---- the stores ------------------------------------------------------ */

static void remember_failure(lhost *h, int rc, const char *err) {
    free(h->store_err);
    h->store_err = dupstr(err);
    h->store_rc = rc;
    h->store_retry = rc == STORE_EBUSY ? lhost_now() + RETRY_S : 0;
}

/* The read-write store, opened now if needed; NULL with err set. */
static store *writer(lhost *h, char *err, size_t errlen) {
    if (h->store) return h->store;
    if (!h->store_dir) {
        snprintf(err, errlen, "no workspace (logitlab run -w DIR)");
        return NULL;
    }
    if (h->store_rc == STORE_EBUSY && lhost_now() < h->store_retry) {
        snprintf(err, errlen, "%s", h->store_err ? h->store_err : "the workspace is busy");
        return NULL;
    }
    store *s;
    int rc = store_open(&s, h->store_dir, NULL, err, errlen);
    if (rc != STORE_OK) {
        remember_failure(h, rc, err);
        return NULL;
    }
    h->store = s;
    h->store_owned = true;
    h->store_rc = 0;
    return s;
}

struct store *lab_store_writer(lhost *h, char *err, size_t errlen) { return writer(h, err, errlen); }

/* The store queries read: the writer, else (another process writes) a
 * read-only open of the same workspace. */
static store *reader(lhost *h, char *err, size_t errlen) {
    store *s = writer(h, err, errlen);
    if (s || h->store_rc != STORE_EBUSY) return s;
    if (h->store_ro) return h->store_ro;
    store_opts o;
    store_opts_default(&o);
    o.flags = STORE_RDONLY;
    if (store_open(&h->store_ro, h->store_dir, &o, err, errlen) != STORE_OK) return NULL;
    return h->store_ro;
}

/* A commit that fails (a full disk) is reported once, not at every tick;
 * a borrowed store's owner reports its own. */
void lab_store_tick(lhost *h) {
    char err[512];
    if (!h->store) return;
    int rc = store_tick(h->store, err, sizeof err);
    if (rc >= 0 || !h->store_owned) {
        h->store_warned = h->store_warned && rc == 0;
        return;
    }
    if (h->store_warned) return;
    h->store_warned = true;
    char msg[600];
    int n = snprintf(msg, sizeof msg, "lab.store: %s", err);
    lhost_print(h, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1, true);
}

void lab_store_interrupt(lhost *h) {
    store *s = atomic_load(&h->querying);
    if (s) store_interrupt(s);
}

void lab_store_close(lhost *h) {
    char err[512];
    if (h->store && store_flush(h->store, err, sizeof err) != STORE_OK) {
        char msg[600];
        int n = snprintf(msg, sizeof msg, "lab.store: %s", err);
        lhost_print(h, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1, true);
    }
    if (h->store_owned) store_close(h->store);
    store_close(h->store_ro);
    h->store = h->store_ro = NULL;
    free(h->store_err);
    h->store_err = NULL;
}

/* ---- open runs of a state -------------------------------------------- */

/* Room for one more run, before the store is touched. */
static void runs_reserve(lua_State *L, lstate *st) {
    if (st->n_runs < st->cap_runs) return;
    int cap = st->cap_runs ? st->cap_runs * 2 : 4;
    lrun *r = realloc(st->runs, sizeof *r * (size_t)cap);
    if (!r) luaL_error(L, "out of memory");
    st->runs = r;
    st->cap_runs = cap;
}

/* Forgets run id in whichever state began it. */
static void runs_forget(lhost *h, int64_t id) {
    for (lstate *st = h->states; st; st = st->next)
        for (int i = 0; i < st->n_runs; i++)
            if (st->runs[i].id == id) {
                memmove(st->runs + i, st->runs + i + 1, sizeof *st->runs * (size_t)(st->n_runs - i - 1));
                st->n_runs--;
                return;
            }
}

void lab_store_end_runs(lstate *st, int owner, const char *status, const char *error) {
    lhost *h = st->h;
    char msg[2048];
    const char *why = NULL;
    if (error) {                         /* the message without its traceback */
        snprintf(msg, sizeof msg, "%s", error);
        char *tb = strstr(msg, "\nstack traceback:");
        if (tb) *tb = 0;
        why = msg;
    }
    int k = 0;
    for (int i = 0; i < st->n_runs; i++) {
        lrun r = st->runs[i];
        if (owner && r.owner != owner) {
            st->runs[k++] = r;
            continue;
        }
        char err[512];
        int rc = h->store ? store_run_end(h->store, r.id, status, why, err, sizeof err) : STORE_OK;
        if (rc != STORE_OK && rc != STORE_EINVAL && rc != STORE_ENOTFOUND) {   /* not: ended elsewhere */
            char line[700];
            int n = snprintf(line, sizeof line, "lab.store: ending run %lld: %s", (long long)r.id, err);
            lhost_print(h, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1, true);
        }
    }
    st->n_runs = k;
}

/* The run records go to: opts.run at idx (a table or nil), else the state's
 * newest open run, else 0. */
static int64_t run_opt(lua_State *L, int idx) {
    int64_t run = -1;
    if (!lua_isnoneornil(L, idx)) {
        luaL_checktype(L, idx, LUA_TTABLE);
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            lua_pop(L, 1);
            if (lua_type(L, -1) != LUA_TSTRING || strcmp(lua_tostring(L, -1), "run") != 0)
                luaL_argerror(L, idx, "unknown option (known: run)");
        }
        if (lua_getfield(L, idx, "run") != LUA_TNIL) {
            if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 0)
                luaL_argerror(L, idx, "run must be a run id (an integer >= 0)");
            run = lua_tointeger(L, -1);
        }
        lua_pop(L, 1);
    }
    if (run >= 0) return run;
    lstate *st = lhost_state(L);
    /* the calling task's newest run first, so concurrent tasks that each
     * began one write into their own */
    ltask *t = lsched_find(lhost_of(L), L);
    for (int k = st->n_runs - 1; t && k >= 0; k--)
        if (st->runs[k].owner == t->id) return st->runs[k].id;
    return st->n_runs ? st->runs[st->n_runs - 1].id : 0;
}

/* ---- runs ------------------------------------------------------------- */

static const char *const RUN_KEYS[] = { "plugin", "params", "seed", "models", "session", NULL };

static void check_keys(lua_State *L, int idx, const char *const *keys, const char *known) {
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        int i = 0;
        while (k && keys[i] && strcmp(keys[i], k) != 0) i++;
        if (!k || !keys[i])
            luaL_argerror(L, idx, lua_pushfstring(L, "unknown field '%s' (known: %s)",
                                                  k ? k : luaL_typename(L, -1), known));
    }
}

/* run_begin's default plugin name: the plugin's, the script's, or "repl". */
static const char *default_plugin(lstate *st) {
    if (st->is_plugin) return st->name;
    return st->script ? st->script : "repl";
}

/* models = {Model or path, ...} at stack index t: pushes a new table of the
 * files' paths (checked before the store is touched) and returns how many,
 * or -i when models[i] names no model file (why in err). A path must be a
 * file the model loader accepts: the store hashes what it is given, and a
 * hash of any readable file would tell a script about files it may not
 * read (issue 13, item 7). */
static int model_paths(lua_State *L, int t, lhost *h, char *err, size_t errlen) {
    lua_Integer n = (lua_Integer)lua_rawlen(L, t);
    if (n > 1024) luaL_argerror(L, 1, "models: at most 1024");
    lua_createtable(L, (int)n, 0);
    for (lua_Integer i = 1; i <= n; i++) {
        int ty = lua_rawgeti(L, t, i);
        char path[4096];
        if (ty == LUA_TSTRING) {
            const char *name = lua_tostring(L, -1);
            if (!lab_model_find(h, name, path, sizeof path)) {
                snprintf(err, errlen, "no model file '%s'", name);
                return -(int)i;
            }
            model *m = NULL;
            model_params mp = { 0 };
            if (model_open(&m, path, &mp, err, errlen) != 0) return -(int)i;
            model_close(m);
            lua_pushstring(L, path);
        } else if (lab_model_is_open(L, -1)) {
            lua_pushstring(L, model_path(lab_model_check(L, -1)->m));
        } else {
            luaL_argerror(L, 1, lua_pushfstring(L, "models[%I] must be a Model or a path, not %s", i,
                                                luaL_typename(L, -1)));
        }
        lua_rawseti(L, -3, i);
        lua_pop(L, 1);
    }
    return (int)n;
}

/* The sha256 of each path in the table at idx into shas (n x 65). */
static int hash_models(store *s, lua_State *L, int idx, int n, char *shas, char *err, size_t errlen) {
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, idx, i + 1);
        const char *path = lua_tostring(L, -1);
        char *sha = shas + 65 * i;
        int rc = store_model_has(s, path, sha, err, errlen);
        if (rc == 0) rc = store_model_add(s, path, NULL, NULL, sha, err, errlen);
        lua_pop(L, 1);
        if (rc < 0) return rc;
    }
    return STORE_OK;
}

/* The fields of run_begin's table at 1 but models into in; leaves
 * [t plugin params json] on the stack (in's strings point into them). */
static void run_fields(lua_State *L, lstate *st, store_run_info *in) {
    check_keys(L, 1, RUN_KEYS, "plugin, params, seed, models, session");
    int ty = lua_getfield(L, 1, "plugin");                       /* [t plugin] */
    if (ty != LUA_TNIL && ty != LUA_TSTRING) luaL_argerror(L, 1, "plugin must be a string");
    in->plugin = ty == LUA_TSTRING ? lua_tostring(L, 2) : default_plugin(st);
    ty = lua_getfield(L, 1, "params");                           /* [t plugin params] */
    if (ty != LUA_TNIL && ty != LUA_TTABLE) luaL_argerror(L, 1, "params must be a table");
    if (ty == LUA_TTABLE) lab_json_push(L, 3);                   /* [t plugin params json] */
    else lua_pushnil(L);
    in->params = lua_tostring(L, 4);
    if (lua_getfield(L, 1, "seed") != LUA_TNIL) {
        if (!lua_isinteger(L, -1)) luaL_argerror(L, 1, "seed must be an integer");
        in->seed = (int64_t)lua_tointeger(L, -1);
        in->has_seed = true;
    } else {            /* the run seed its samplers draw from (lab.seed) */
        in->seed = (int64_t)lab_smp_run_seed(L);
        in->has_seed = true;
    }
    if (lua_getfield(L, 1, "session") != LUA_TNIL) {
        if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 0) luaL_argerror(L, 1, "session must be a session id");
        in->session = (int64_t)lua_tointeger(L, -1);
    } else {            /* started from the workbench: its session */
        in->session = st->h->session;
    }
    lua_settop(L, 4);
}

/* lab.store.run_begin{plugin=, params=, seed=, models=, session=} -> id | nil, err */
static int l_run_begin(lua_State *L) {
    lhost *h = lhost_of(L);
    lstate *st = lhost_state(L);
    if (lua_isnoneornil(L, 1)) {
        lua_settop(L, 0);
        lua_newtable(L);
    }
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    store_run_info in = { 0 };
    run_fields(L, st, &in);                                      /* [t plugin params json] */
    int ty = lua_getfield(L, 1, "models");                       /* [t plugin params json models] */
    if (ty != LUA_TNIL && ty != LUA_TTABLE) luaL_argerror(L, 1, "models must be a list of Models or paths");
    int n = 0;
    char merr[1024];
    if (ty == LUA_TTABLE && (n = model_paths(L, 5, h, merr, sizeof merr)) < 0)   /* [... models paths] */
        return lab_fail(L, "run_begin: models[%d]: %s", -n, merr);
    if (ty != LUA_TTABLE) lua_pushnil(L);
    char *shas = lua_newuserdatauv(L, (size_t)n * (65 + sizeof(char *)) + 1, 0);   /* [... paths box] */
    const char **ptrs = (const char **)(void *)shas;
    shas += (size_t)n * sizeof(char *);
    runs_reserve(L, st);
    char err[1024];
    store *s = writer(h, err, sizeof err);
    if (!s) return lab_fail(L, "%s", err);
    if (hash_models(s, L, 6, n, shas, err, sizeof err) != STORE_OK) return lab_fail(L, "%s", err);
    for (int i = 0; i < n; i++) ptrs[i] = shas + 65 * i;
    in.models = ptrs;
    in.n_models = n;
    int64_t id;
    if (store_run_begin(s, &in, &id, err, sizeof err) != STORE_OK) return lab_fail(L, "%s", err);
    ltask *t = lsched_find(h, L);
    st->runs[st->n_runs++] = (lrun){ id, t ? t->id : 0 };
    lua_pushinteger(L, (lua_Integer)id);
    return 1;
}

/* lab.store.run_end(id [, status="ok" [, error]]) -> true | nil, err.
 * "interrupted" is what the host records for a run Ctrl-C stopped: a script
 * that catches `script: interrupted` and ends its run itself can say so. */
static int l_run_end(lua_State *L) {
    lua_Integer id = luaL_checkinteger(L, 1);
    const char *status = luaL_optstring(L, 2, "ok");
    const char *error = luaL_optstring(L, 3, NULL);
    if (strcmp(status, "ok") != 0 && strcmp(status, "failed") != 0 && strcmp(status, "cancelled") != 0 &&
        strcmp(status, "interrupted") != 0)
        return luaL_argerror(L, 2, "status must be \"ok\", \"failed\", \"cancelled\" or \"interrupted\"");
    lhost *h = lhost_of(L);
    char err[1024];
    store *s = writer(h, err, sizeof err);
    if (!s) return lab_fail(L, "%s", err);
    int rc = store_run_end(s, (int64_t)id, status, error, err, sizeof err);
    if (rc == STORE_OK || rc == STORE_EINVAL || rc == STORE_ENOTFOUND) runs_forget(h, (int64_t)id);
    if (rc != STORE_OK) return lab_fail(L, "%s", err);
    lua_pushboolean(L, 1);
    return 1;
}

/* ---- records and metrics ---------------------------------------------- */

/* lab.store.put(kind, value [, {run=}]) -> record id | nil, err */
static int l_put(lua_State *L) {
    const char *kind = luaL_checkstring(L, 1);
    if (!*kind) return luaL_argerror(L, 1, "a record kind may not be empty");
    luaL_checkany(L, 2);
    int64_t run = run_opt(L, 3);
    lua_settop(L, 3);
    lab_json_push(L, 2);                                         /* [kind value opts json] */
    char err[1024];
    store *s = writer(lhost_of(L), err, sizeof err);
    if (!s) return lab_fail(L, "%s", err);
    int64_t id;
    if (store_record_add(s, run, kind, lua_tostring(L, 4), &id, err, sizeof err) != STORE_OK)
        return lab_fail(L, "%s", err);
    lua_pushinteger(L, (lua_Integer)id);
    return 1;
}

/* One more than the largest step of metric name in run, or 0. */
static int next_step(store *s, int64_t run, const char *name, int64_t *step, char *err, size_t errlen) {
    store_query *q;
    int rc = store_query_open(s, "SELECT max(step) FROM metrics WHERE run_id = ?1 AND name = ?2", &q, err, errlen);
    if (rc) return rc;
    store_value v = { .type = STORE_INT, .i = run };
    rc = store_query_bind(q, 1, &v, err, errlen);
    v = (store_value){ .type = STORE_TEXT, .s = name, .n = strlen(name) };
    if (!rc) rc = store_query_bind(q, 2, &v, err, errlen);
    if (!rc) rc = store_query_step(q, err, errlen);
    if (rc == 1) {
        store_query_get(q, 0, &v);
        *step = v.type == STORE_INT ? v.i + 1 : 0;
        rc = STORE_OK;
    }
    store_query_close(q);
    return rc;
}

/* lab.store.metric(name, value [, step [, {run=}]]) -> true | nil, err */
static int l_metric(lua_State *L) {
    const char *name = luaL_checkstring(L, 1);
    if (!*name) return luaL_argerror(L, 1, "a metric name may not be empty");
    double value = luaL_checknumber(L, 2);
    bool auto_step = lua_isnoneornil(L, 3);
    int64_t step = auto_step ? 0 : (int64_t)luaL_checkinteger(L, 3);
    int64_t run = run_opt(L, 4);
    if (run == 0) return lab_fail(L, "metric %s: no run (begin one with lab.store.run_begin, or pass {run=id})", name);
    char err[1024];
    store *s = writer(lhost_of(L), err, sizeof err);
    if (!s) return lab_fail(L, "%s", err);
    if (auto_step && next_step(s, run, name, &step, err, sizeof err) != STORE_OK) return lab_fail(L, "%s", err);
    if (store_metric_set(s, run, name, step, value, err, sizeof err) != STORE_OK) return lab_fail(L, "%s", err);
    lua_pushboolean(L, 1);
    return 1;
}

/* ---- queries ----------------------------------------------------------- */

static void query_close(query_ud *u) {
    store_query_close(u->q);
    u->q = NULL;
}

static int query_gc(lua_State *L) {
    query_close(luaL_checkudata(L, 1, QUERY_T));
    return 0;
}

/* Binds the value at the top of the stack to parameter i; raises on misuse. */
static void bind_top(lua_State *L, query_ud *u, int i, int arg) {
    store_value v = { .type = STORE_NULL };
    switch (lua_type(L, -1)) {
    case LUA_TNIL: break;
    case LUA_TBOOLEAN: v = (store_value){ .type = STORE_INT, .i = lua_toboolean(L, -1) }; break;
    case LUA_TNUMBER:
        if (lua_isinteger(L, -1)) v = (store_value){ .type = STORE_INT, .i = (int64_t)lua_tointeger(L, -1) };
        else v = (store_value){ .type = STORE_REAL, .r = lua_tonumber(L, -1) };
        break;
    case LUA_TSTRING: v.type = STORE_TEXT; v.s = lua_tolstring(L, -1, &v.n); break;
    default:
        if (!lab_json_is_null(L, -1))
            luaL_argerror(L, arg, lua_pushfstring(L, "parameter %d: cannot bind a %s", i, luaL_typename(L, -1)));
    }
    char err[256];
    if (store_query_bind(u->q, i, &v, err, sizeof err) != STORE_OK) luaL_argerror(L, arg, err);
}

/* params at idx: integer keys bind ?, ?N; string keys bind :name, @name, $name. */
static void bind_params(lua_State *L, query_ud *u, int idx) {
    int np = store_query_nparams(u->q);
    lua_pushnil(L);
    while (lua_next(L, idx)) {                                   /* [... key value] */
        int i = 0;
        if (lua_isinteger(L, -2)) {
            lua_Integer k = lua_tointeger(L, -2);
            if (k < 1 || k > np)
                luaL_argerror(L, idx, lua_pushfstring(L, "parameter %I: the SQL has %d", k, np));
            i = (int)k;
        } else if (lua_type(L, -2) == LUA_TSTRING) {
            if (!(i = store_query_param(u->q, lua_tostring(L, -2))))
                luaL_argerror(L, idx, lua_pushfstring(L, "no parameter '%s' in the SQL", lua_tostring(L, -2)));
        } else {
            luaL_argerror(L, idx, "parameter keys are positions or names");
        }
        bind_top(L, u, i, idx);
        lua_pop(L, 1);
    }
}

/* sql at 1, params at 2: a Query userdata pushed (open and bound), or NULL
 * with err set (the userdata pushed anyway). */
static query_ud *query_start(lua_State *L, char *err, size_t errlen) {
    luaL_checkstring(L, 1);
    if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    query_ud *u = lua_newuserdatauv(L, sizeof *u, 0);            /* [sql params u] */
    u->q = NULL;
    u->s = NULL;
    luaL_setmetatable(L, QUERY_T);
    store *s = reader(lhost_of(L), err, errlen);
    if (!s || store_query_open(s, lua_tostring(L, 1), &u->q, err, errlen) != STORE_OK) return NULL;
    u->s = s;
    if (lua_istable(L, 2)) bind_params(L, u, 2);
    return u;
}

/* One step; lhost_interrupt may stop it meanwhile. */
static int query_step(lhost *h, query_ud *u, char *err, size_t errlen) {
    atomic_store(&h->querying, u->s);
    int rc = store_query_step(u->q, err, errlen);
    atomic_store(&h->querying, NULL);
    return rc;
}

/* The current row as a table keyed by column name (NULL columns absent). */
static void push_row(lua_State *L, store_query *q) {
    int n = store_query_ncols(q);
    lua_createtable(L, 0, n);
    for (int c = 0; c < n; c++) {
        const char *name = store_query_colname(q, c);
        store_value v;
        store_query_get(q, c, &v);
        if (!name || v.type == STORE_NULL) continue;
        switch (v.type) {
        case STORE_INT: lua_pushinteger(L, (lua_Integer)v.i); break;
        case STORE_REAL: lua_pushnumber(L, v.r); break;
        default: lua_pushlstring(L, v.s ? v.s : "", v.s ? v.n : 0); break;
        }
        lua_setfield(L, -2, name);
    }
}

/* lab.store.query(sql [, params]) -> {row, ...} | nil, err */
static int l_query(lua_State *L) {
    char err[1024];
    query_ud *u = query_start(L, err, sizeof err);
    if (!u) return lab_fail(L, "%s", err);
    lhost *h = lhost_of(L);
    lua_newtable(L);                                             /* [sql params u rows] */
    lua_Integer n = 0;
    int rc;
    while ((rc = query_step(h, u, err, sizeof err)) == 1) {
        if (n == MAX_ROWS) {
            query_close(u);
            return lab_fail(L, "query: more than %d rows; add a LIMIT, or iterate with lab.store.rows", MAX_ROWS);
        }
        push_row(L, u->q);
        lua_rawseti(L, -2, ++n);
    }
    query_close(u);
    if (rc < 0) return lab_fail(L, "%s", err);
    return 1;
}

/* The iterator of lab.store.rows: upvalue 1 is the Query. */
static int rows_next(lua_State *L) {
    query_ud *u = lua_touserdata(L, lua_upvalueindex(1));
    if (!u->q) return 0;
    char err[1024];
    int rc = query_step(lhost_of(L), u, err, sizeof err);
    if (rc == 1) {
        push_row(L, u->q);
        return 1;
    }
    query_close(u);
    if (rc < 0) return luaL_error(L, "%s", err);
    return 0;
}

/* lab.store.rows(sql [, params]) -> iterator, nil, nil, Query | nil, err */
static int l_rows(lua_State *L) {
    char err[1024];
    if (!query_start(L, err, sizeof err)) return lab_fail(L, "%s", err);
    lua_pushvalue(L, 3);
    lua_pushcclosure(L, rows_next, 1);                           /* [sql params u next] */
    lua_pushnil(L);
    lua_pushnil(L);
    lua_pushvalue(L, 3);                                         /* the for loop's closing value */
    return 4;
}

/* lab.store.dir() -> the workspace folder, or nil */
static int l_dir(lua_State *L) {
    lhost *h = lhost_of(L);
    if (h->store) lua_pushstring(L, store_dir(h->store));
    else if (h->store_dir) lua_pushstring(L, h->store_dir);
    else lua_pushnil(L);
    return 1;
}

static const luaL_Reg store_fns[] = {
    { "run_begin", l_run_begin }, { "run_end", l_run_end }, { "put", l_put },   { "metric", l_metric },
    { "query", l_query },         { "rows", l_rows },       { "dir", l_dir },   { NULL, NULL },
};

static const luaL_Reg query_methods[] = { { NULL, NULL } };
static const luaL_Reg query_meta[] = { { "__gc", query_gc }, { "__close", query_gc }, { NULL, NULL } };

int lab_open_store(lua_State *L) {
    lab_class(L, QUERY_T, "StoreQuery", query_methods, query_meta);
    luaL_newlib(L, store_fns);
    return 1;
}
