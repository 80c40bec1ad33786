/* lab: the root of the Lua API. Builds the `lab` table from one luaL_Reg
 * table per submodule, replaces print with lab.print, and runs the embedded
 * Lua layer (the lua/ Lua files: eval, generate, score, chat, inspect) with a private
 * table holding the method tables it extends.
 *
 * Root functions here: print, now, budget and the lab.plugin.* management
 * (for scripts and the REPL only). Tasks, timers and await are lab_task.c.
 */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lhost_impl.h"

/* lab.print(...): tostring of each argument, tab-separated, one message. */
static int l_print(lua_State *L) {
    int n = lua_gettop(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 1; i <= n; i++) {
        if (i > 1) luaL_addchar(&b, '\t');
        luaL_tolstring(L, i, NULL);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    lhost_print(lhost_of(L), s, len, false);
    return 0;
}

static int l_now(lua_State *L) {
    lua_pushnumber(L, lhost_now());
    return 1;
}

static void push_budget(lua_State *L, const lstate *st) {
    lua_createtable(L, 0, 4);
    lua_pushnumber(L, st->budget_s > 0 ? st->budget_s : 0);
    lua_setfield(L, -2, "seconds");
    lua_pushinteger(L, (lua_Integer)st->budget_instr);
    lua_setfield(L, -2, "instructions");
    lua_pushinteger(L, (lua_Integer)st->mem_cap);
    lua_setfield(L, -2, "memory");
    lua_pushinteger(L, (lua_Integer)st->mem);
    lua_setfield(L, -2, "memory_used");
}

/* "16.0": a byte count in MiB for a message. */
static const char *mib(size_t bytes) {
    static _Thread_local char buf[32];
    snprintf(buf, sizeof buf, "%.1f", (double)bytes / (1024.0 * 1024.0));
    return buf;
}

/* lab.budget([{seconds=, instructions=, memory=}]) -> the budget now. */
static int l_budget(lua_State *L) {
    lstate *st = lhost_state(L);
    if (!lua_isnoneornil(L, 1)) {
        luaL_checktype(L, 1, LUA_TTABLE);
        double sec = st->budget_s;
        lua_Integer instr = (lua_Integer)st->budget_instr, mem = (lua_Integer)st->mem_cap;
        if (lua_getfield(L, 1, "seconds") != LUA_TNIL) {
            sec = luaL_checknumber(L, -1);
            if (!(sec >= 0) || isinf(sec)) return luaL_argerror(L, 1, "seconds must be >= 0 (0 = no limit)");
        }
        if (lua_getfield(L, 1, "instructions") != LUA_TNIL) {
            instr = luaL_checkinteger(L, -1);
            if (instr < 0) return luaL_argerror(L, 1, "instructions must be >= 0 (0 = no limit)");
        }
        if (lua_getfield(L, 1, "memory") != LUA_TNIL) {
            mem = luaL_checkinteger(L, -1);
            if (mem < (lua_Integer)(1 << 20)) return luaL_argerror(L, 1, "memory must be at least 1 MiB (bytes)");
            if (st->is_plugin && (size_t)mem > st->mem_cap)
                return luaL_argerror(L, 1, "a plugin may lower its memory cap, not raise it");
            size_t ceiling = lhost_mem_ceiling(lhost_of(L));
            if ((uint64_t)mem > ceiling)
                return luaL_error(L, "bad argument #1 to 'budget' (memory: %I bytes is above the cap of %s MiB "
                                  "set for this host (--mem); a script may lower its cap, not raise it above that)",
                                  mem, mib(ceiling));
        }
        lua_pop(L, 3);
        st->budget_s = sec > 0 ? sec : -1;
        st->budget_instr = (uint64_t)instr;
        st->mem_cap = (size_t)mem;
        if (st->depth > 0) {                 /* the running entry gets the new budget */
            st->deadline = st->budget_s > 0 ? lhost_now() + st->budget_s : 0;
            st->instr = 0;
        }
    }
    push_budget(L, st);
    return 1;
}

/* ---- lab.plugin: management from scripts and the REPL ---------------- */

static lstate *manager(lua_State *L) {
    lstate *st = lhost_state(L);
    if (st->is_plugin) luaL_error(L, "lab.plugin.* is for scripts and the REPL, not for plugins");
    return st;
}

/* A plugin given as a path must lie in the workspace, symbolic links
 * resolved (a link planted in the workspace may not lead out of it); a bare
 * name is looked up in the plugin folders. buf holds PATH_MAX bytes. */
static const char *plugin_arg(lua_State *L, int idx, char *buf) {
    const char *name = luaL_checkstring(L, idx);
    size_t len = strlen(name);
    /* lplugin takes "x.lua" as a path too: relative to the workspace here,
     * never to the current folder */
    if (!strchr(name, '/') && !(len > 4 && strcmp(name + len - 4, ".lua") == 0)) return name;
    lhost *h = lhost_of(L);
    if (!h->workspace) luaL_argerror(L, idx, "a plugin path needs a workspace (give a plugin name instead)");
    if (name[0] == '/' || strstr(name, ".."))
        luaL_argerror(L, idx, "a plugin path must be relative to the workspace, without '..'");
    char joined[PATH_MAX];
    if ((size_t)snprintf(joined, sizeof joined, "%s/%s", h->workspace, name) >= sizeof joined)
        luaL_argerror(L, idx, "path too long");
    if (!realpath(joined, buf)) {                   /* not found: lplugin_load says so */
        memcpy(buf, joined, sizeof joined);
        return buf;
    }
    size_t n = strlen(h->workspace);
    if (strncmp(buf, h->workspace, n) != 0 || buf[n] != '/')
        luaL_argerror(L, idx, "the plugin path leads outside the workspace (a symbolic link)");
    return buf;
}

static int fail(lua_State *L, const char *err) { return lab_fail(L, "%s", err); }

/* lab.plugin.load(name_or_path [, {budget=s, memory=bytes}]) -> true | nil, err */
static int l_plugin_load(lua_State *L) {
    manager(L);
    char buf[PATH_MAX], err[4096];
    const char *name = plugin_arg(L, 1, buf);
    double budget = 0;
    lua_Integer mem = 0;
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        if (lua_getfield(L, 2, "budget") != LUA_TNIL) {
            budget = luaL_checknumber(L, -1);
            if (!(budget > 0)) return luaL_argerror(L, 2, "budget must be > 0 seconds");
        }
        if (lua_getfield(L, 2, "memory") != LUA_TNIL) {
            mem = luaL_checkinteger(L, -1);
            if (mem < (lua_Integer)(1 << 20)) return luaL_argerror(L, 2, "memory must be at least 1 MiB (bytes)");
            if ((uint64_t)mem > lhost_mem_ceiling(lhost_of(L)))
                return luaL_argerror(L, 2, "memory is above the host's cap (--mem)");
        }
        lua_pop(L, 2);
    }
    int rc = lplugin_load_opts(lhost_of(L), name, budget, (size_t)mem, err, sizeof err);
    if (rc != LHOST_OK) return fail(L, err);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_plugin_reload(lua_State *L) {
    manager(L);
    char err[4096];
    if (lhost_plugin_reload(lhost_of(L), luaL_checkstring(L, 1), err, sizeof err) != LHOST_OK) return fail(L, err);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_plugin_disable(lua_State *L) {
    manager(L);
    char err[1024];
    if (lhost_plugin_disable(lhost_of(L), luaL_checkstring(L, 1), err, sizeof err) != LHOST_OK) return fail(L, err);
    lua_pushboolean(L, 1);
    return 1;
}

/* lab.plugin.list() -> { {name=, path=, description=, api_level=, enabled=, error=, memory=}, ... } */
static int l_plugin_list(lua_State *L) {
    lhost *h = lhost_of(L);
    int n = lhost_plugin_count(h);
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lhost_plugin_info in;
        lhost_plugin_get(h, i, &in);
        lua_createtable(L, 0, 7);
        lua_pushstring(L, in.name);
        lua_setfield(L, -2, "name");
        lua_pushstring(L, in.path);
        lua_setfield(L, -2, "path");
        lua_pushstring(L, in.description ? in.description : "");
        lua_setfield(L, -2, "description");
        lua_pushinteger(L, in.api_level);
        lua_setfield(L, -2, "api_level");
        lua_pushboolean(L, in.enabled);
        lua_setfield(L, -2, "enabled");
        if (in.error) {
            lua_pushstring(L, in.error);
            lua_setfield(L, -2, "error");
        }
        lua_pushinteger(L, (lua_Integer)in.mem_used);
        lua_setfield(L, -2, "memory");
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static const luaL_Reg plugin_fns[] = {
    { "load", l_plugin_load },
    { "reload", l_plugin_reload },
    { "disable", l_plugin_disable },
    { "list", l_plugin_list },
    { NULL, NULL },
};

static const luaL_Reg root_fns[] = {
    { "print", l_print },
    { "now", l_now },
    { "budget", l_budget },
    { NULL, NULL },
};

void lab_class(lua_State *L, const char *tname, const char *short_name, const luaL_Reg *methods,
               const luaL_Reg *meta) {
    luaL_newmetatable(L, tname);                       /* [mt] */
    luaL_setfuncs(L, meta, 0);
    lua_newtable(L);                                   /* [mt methods] */
    luaL_setfuncs(L, methods, 0);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "__index");
    lua_getfield(L, LUA_REGISTRYINDEX, "lab.priv");    /* [mt methods priv] */
    lua_insert(L, -2);
    lua_setfield(L, -2, short_name);
    lua_pop(L, 2);
}

int lab_fail(lua_State *L, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    lua_pushnil(L);
    lua_pushvfstring(L, fmt, ap);
    va_end(ap);
    return 2;
}

/* Runs lembed_files[] in order with (lab, priv). */
static void run_embedded(lua_State *L, int lab, int priv) {
    for (int i = 0; lembed_files[i].name; i++) {
        const char *src = lembed_files[i].src;
        char name[64];
        snprintf(name, sizeof name, "=lua/%s", lembed_files[i].name);
        if (luaL_loadbufferx(L, src, strlen(src), name, "t") != LUA_OK) lua_error(L);
        lua_pushvalue(L, lab);
        lua_pushvalue(L, priv);
        lua_call(L, 2, 0);
    }
}

/* A submodule opener that leaves a table: lab[name] = it. */
static void sub(lua_State *L, int lab, const char *name, lua_CFunction open) {
    lua_pushcfunction(L, open);
    lua_call(L, 0, 1);
    lua_setfield(L, lab, name);
}

int lab_open(lua_State *L) {
    luaL_newlib(L, root_fns);                          /* [lab] */
    int lab = lua_gettop(L);
    lua_newtable(L);                                   /* [lab priv] */
    int priv = lua_gettop(L);
    lua_pushvalue(L, priv);
    lua_setfield(L, LUA_REGISTRYINDEX, "lab.priv");
    lua_pushinteger(L, LAB_API_LEVEL);
    lua_setfield(L, lab, "api_level");
    lua_pushstring(L, LAB_VERSION);
    lua_setfield(L, lab, "version");
    luaL_newlib(L, plugin_fns);
    lua_setfield(L, lab, "plugin");
    /* types and functions registered into lab (lab_task: await, spawn...;
     * lab_seq: submit; lab_smp: sampler) and submodule tables */
    sub(L, lab, "model", lab_open_model);
    sub(L, lab, "logits", lab_open_logits);
    lua_pushcfunction(L, lab_open_task);
    lua_pushvalue(L, lab);
    lua_call(L, 1, 0);
    lua_pushcfunction(L, lab_open_seq);
    lua_pushvalue(L, lab);
    lua_call(L, 1, 0);
    lua_pushcfunction(L, lab_open_smp);
    lua_pushvalue(L, lab);
    lua_call(L, 1, 0);
    lua_pushcfunction(L, lab_open_train);
    lua_pushvalue(L, lab);
    lua_call(L, 1, 0);
    lua_pushcfunction(L, lab_open_score);
    lua_pushvalue(L, lab);
    lua_call(L, 1, 0);
    lua_pushcfunction(L, lab_open_progress);
    lua_pushvalue(L, lab);
    lua_call(L, 1, 0);
    sub(L, lab, "ui", lab_open_ui);
    sub(L, lab, "fs", lab_open_fs);
    sub(L, lab, "json", lab_open_json);
    sub(L, lab, "grammar", lab_open_grammar);
    sub(L, lab, "store", lab_open_store);
    sub(L, lab, "require", lab_open_require);
    lua_pushvalue(L, lab);
    lua_setglobal(L, "lab");
    lua_getfield(L, lab, "print");
    lua_setglobal(L, "print");
    run_embedded(L, lab, priv);
    lua_getfield(L, lab, "inspect");
    lua_setfield(L, LUA_REGISTRYINDEX, "lab.inspect");
    lua_settop(L, lab - 1);
    return 0;
}
