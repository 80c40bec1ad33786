/* lsandbox: the libraries a plugin or script sees. Only base, string,
 * table, math, utf8 and coroutine are opened (never io, os, package, debug),
 * and the base functions that could escape or outlive a budget are removed
 * or wrapped:
 *   - dofile, loadfile, warn and string.dump are gone; load reads text
 *     chunks only (no bytecode) of at most LHOST_MAX_CHUNK bytes, and a chunk name starting with '@' (a
 *     file's, which lab.require trusts to find the caller's folder) is
 *     turned into a plain name: only the host loads chunks from files;
 *   - pcall, xpcall and coroutine.resume rethrow a budget stop (time,
 *     instructions, interrupt, memory cap) instead of returning it, so a
 *     runaway loop inside pcall still ends;
 *   - xpcall's message handler is not called once a stop is pending: Lua
 *     calls it from inside the budget hook, where hooks are off, so a
 *     handler that loops could never be stopped (no user code runs after a
 *     stop);
 *   - setmetatable refuses __gc (finalizers run with hooks off, so a
 *     finalizer could never be stopped);
 *   - collectgarbage keeps "collect", "count" and "step";
 *   - string.find/match/gmatch/gsub are lpat.c's, which count their steps
 *     against the budget (the stock matcher cannot be interrupted); the
 *     table functions and string.rep are lbound.c's (loops that tick).
 * print is replaced by lab.print in lab_open.
 */
#include <string.h>

#include <lualib.h>

#include "lhost_impl.h"

/* Raises again when the entry was stopped; otherwise returns. The error
 * object is at the top of the stack. */
static void rethrow_stop(lua_State *L, int status) {
    lstate *st = lhost_state(L);
    if (!st) return;
    if (st->mem_over && !st->stop) st->stop = LSTOP_MEM;
    if (st->stop || status == LUA_ERRMEM) {
        char msg[256];
        if (st->stop) lua_pushstring(L, lhost_stop_msg(st, msg, sizeof msg));
        lua_error(L);
    }
}

static int finish_pcall(lua_State *L, int status, lua_KContext extra) {
    if (status != LUA_OK && status != LUA_YIELD) {
        rethrow_stop(L, status);
        lua_pushboolean(L, 0);
        lua_pushvalue(L, -2);
        return 2;
    }
    return lua_gettop(L) - (int)extra;
}

static int sb_pcall(lua_State *L) {
    luaL_checkany(L, 1);
    lua_pushboolean(L, 1);      /* [true, f, args...] */
    lua_insert(L, 1);
    int status = lua_pcallk(L, lua_gettop(L) - 2, LUA_MULTRET, 0, 0, finish_pcall);
    return finish_pcall(L, status, 0);
}

/* The user's message handler (upvalue 1), unless a stop is pending: then
 * the error object passes through untouched. */
static int guarded_handler(lua_State *L) {
    lstate *st = lhost_state(L);
    if (st && (st->stop || st->mem_over)) {
        lua_settop(L, 1);
        return 1;
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

static int sb_xpcall(lua_State *L) {
    int n = lua_gettop(L);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_pushvalue(L, 2);
    lua_pushcclosure(L, guarded_handler, 1);
    lua_replace(L, 2);
    lua_pushboolean(L, 1);      /* [f, h, args..., true] */
    lua_pushvalue(L, 1);        /* [f, h, args..., true, f] */
    lua_rotate(L, 3, 2);        /* [f, h, true, f, args...] */
    int status = lua_pcallk(L, n - 2, LUA_MULTRET, 2, 2, finish_pcall);
    return finish_pcall(L, status, 2);
}

/* coroutine.resume: upvalue 1 is the original. */
static int sb_resume(lua_State *L) {
    int n = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, n, LUA_MULTRET);
    if (!lua_toboolean(L, 1)) {
        lua_settop(L, 2);
        rethrow_stop(L, LUA_ERRRUN);
    }
    return lua_gettop(L);
}

/* setmetatable: upvalue 1 is the original. */
static int sb_setmetatable(lua_State *L) {
    if (lua_type(L, 2) == LUA_TTABLE) {
        lua_pushliteral(L, "__gc");
        int t = lua_rawget(L, 2);
        lua_pop(L, 1);
        if (t != LUA_TNIL) return luaL_argerror(L, 2, "__gc metamethods are not available to plugins");
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

/* load's reader, wrapped (upvalue 1 the user's, 2 the bytes so far): the
 * chunk may not grow past LHOST_MAX_CHUNK, so compiling it stays short. */
static int sized_reader(lua_State *L) {
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_call(L, 0, 1);
    if (lua_type(L, -1) == LUA_TSTRING) {
        lua_Integer got = lua_tointeger(L, lua_upvalueindex(2)) + (lua_Integer)lua_rawlen(L, -1);
        if ((uint64_t)got > LHOST_MAX_CHUNK)
            return luaL_error(L, "chunk too large (more than %d MiB)", (int)(LHOST_MAX_CHUNK >> 20));
        lua_pushinteger(L, got);
        lua_replace(L, lua_upvalueindex(2));
    }
    return 1;
}

/* load(chunk [, name [, mode [, env]]]) with mode forced to "t" and the
 * chunk at most LHOST_MAX_CHUNK bytes (the parser is one C call). */
static int sb_load(lua_State *L) {
    int n = lua_gettop(L);
    if (n > 4) lua_settop(L, n = 4);
    if (lua_type(L, 1) == LUA_TSTRING && lua_rawlen(L, 1) > LHOST_MAX_CHUNK) {
        luaL_pushfail(L);
        lua_pushfstring(L, "chunk too large (%I bytes; at most %d MiB)", (LUAI_UACINT)lua_rawlen(L, 1),
                        (int)(LHOST_MAX_CHUNK >> 20));
        return 2;
    }
    if (lua_type(L, 1) == LUA_TFUNCTION) {
        lua_pushvalue(L, 1);
        lua_pushinteger(L, 0);
        lua_pushcclosure(L, sized_reader, 2);
        lua_replace(L, 1);
    }
    if (n >= 3 && !lua_isnil(L, 3)) {
        const char *mode = luaL_checkstring(L, 3);
        if (strchr(mode, 'b')) return luaL_argerror(L, 3, "binary chunks are not available to plugins");
    }
    while (lua_gettop(L) < 3) lua_pushnil(L);
    lua_pushliteral(L, "t");
    lua_replace(L, 3);
    if (lua_type(L, 2) == LUA_TSTRING && lua_tostring(L, 2)[0] == '@') {
        lua_pushfstring(L, "=%s", lua_tostring(L, 2) + 1);   /* only the host names chunks after files */
        lua_replace(L, 2);
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

static int sb_collectgarbage(lua_State *L) {
    static const char *const opts[] = { "collect", "count", "step", "isrunning", NULL };
    luaL_checkoption(L, 1, "collect", opts);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

/* Replaces t[name] (t at idx) by fn with the old value as upvalue 1. */
static void wrap(lua_State *L, int idx, const char *name, lua_CFunction fn) {
    idx = lua_absindex(L, idx);
    lua_getfield(L, idx, name);
    lua_pushcclosure(L, fn, 1);
    lua_setfield(L, idx, name);
}

void lsandbox_open(lua_State *L) {
    static const luaL_Reg libs[] = {
        { LUA_GNAME, luaopen_base },       { LUA_STRLIBNAME, luaopen_string },
        { LUA_TABLIBNAME, luaopen_table }, { LUA_MATHLIBNAME, luaopen_math },
        { LUA_UTF8LIBNAME, luaopen_utf8 }, { LUA_COLIBNAME, luaopen_coroutine },
    };
    for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) {
        luaL_requiref(L, libs[i].name, libs[i].func, 1);
        lua_pop(L, 1);
    }
    lua_pushglobaltable(L);                            /* [G] */
    static const char *const gone[] = { "dofile", "loadfile", "warn", NULL };
    for (int i = 0; gone[i]; i++) {
        lua_pushnil(L);
        lua_setfield(L, -2, gone[i]);
    }
    lua_pushcfunction(L, sb_pcall);
    lua_setfield(L, -2, "pcall");
    lua_pushcfunction(L, sb_xpcall);
    lua_setfield(L, -2, "xpcall");
    wrap(L, -1, "setmetatable", sb_setmetatable);
    wrap(L, -1, "load", sb_load);
    wrap(L, -1, "collectgarbage", sb_collectgarbage);
    lua_getfield(L, -1, LUA_STRLIBNAME);               /* [G string] */
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    lpat_open(L, -1);                                  /* find/match/gmatch/gsub that count steps */
    lbound_open(L);                                    /* table functions that tick, string.rep */
    lua_pop(L, 1);
    lua_getfield(L, -1, LUA_COLIBNAME);                /* [G coroutine] */
    wrap(L, -1, "resume", sb_resume);
    lua_pop(L, 2);
}
