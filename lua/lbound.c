/* lbound: the sandbox's versions of the library functions whose one C call
 * could run for minutes without allocating (so neither the count hook, which
 * sees only VM instructions, nor the memory cap would stop it):
 *
 *   string.rep("", 1e15)             a loop of 1e15 empty copies
 *   table.move({}, 1, 1e15, 2)       1e15 reads and writes of nil
 *   table.insert/remove(t, ...)      when t's __len says 1e15
 *   table.concat(t, "", 1, 1e15)     when t's __index is a C function
 *   table.sort(t)                    33 million elements fit the cap
 *
 * string.rep builds its result by doubling (time bounded by the memory it
 * makes); the table functions tick the budget every LPAT_TICK elements
 * (lhost_step: time, instructions, interrupt), and table.sort's comparisons
 * go through a C closure that ticks. Their results and errors are the stock
 * library's (tests/test_lbound.c compares both), from the manual's 6.5 and
 * 6.4 and the stock messages.
 */
#include <limits.h>
#include <string.h>

#include <lualib.h>

#include "lhost_impl.h"

#define TAB_R 1                 /* the table is read (t[i]) */
#define TAB_W 2                 /* written (t[i] = v) */
#define TAB_L 4                 /* its length is taken (#t) */

/* A table, or a value whose metatable has the metamethods the access needs
 * (else the usual "table expected" error). */
static void check_tab(lua_State *L, int arg, int what) {
    if (lua_type(L, arg) == LUA_TTABLE) return;
    if (lua_getmetatable(L, arg)) {
        static const char *const names[] = { "__index", "__newindex", "__len" };
        bool ok = true;
        for (int i = 0; i < 3 && ok; i++) {
            if (!(what & (1 << i))) continue;
            lua_pushstring(L, names[i]);
            ok = lua_rawget(L, -2) != LUA_TNIL;
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
        if (ok) return;
    }
    luaL_checktype(L, arg, LUA_TTABLE);
}

static lua_Integer tab_len(lua_State *L, int arg, int what) {
    check_tab(L, arg, what | TAB_L);
    return luaL_len(L, arg);
}

/* One element done: every LPAT_TICK, ask the host whether to stop. */
static inline void tick(lua_State *L, unsigned *n) {
    if (++*n == LPAT_TICK) {
        *n = 0;
        lhost_step(L, LPAT_TICK);
    }
}

/* table.insert(t, [pos,] v) */
static int lb_insert(lua_State *L) {
    lua_Integer end = luaL_intop(+, tab_len(L, 1, TAB_R | TAB_W), 1);   /* the first free slot */
    lua_Integer pos;
    unsigned n = 0;
    switch (lua_gettop(L)) {
    case 2: pos = end; break;
    case 3:
        pos = luaL_checkinteger(L, 2);
        luaL_argcheck(L, (lua_Unsigned)pos - 1u < (lua_Unsigned)end, 2, "position out of bounds");
        for (lua_Integer i = end; i > pos; i--) {   /* shift up from the top */
            lua_geti(L, 1, i - 1);
            lua_seti(L, 1, i);
            tick(L, &n);
        }
        break;
    default: return luaL_error(L, "wrong number of arguments to 'insert'");
    }
    lua_seti(L, 1, pos);
    return 0;
}

/* table.remove(t [, pos]) */
static int lb_remove(lua_State *L) {
    lua_Integer size = tab_len(L, 1, TAB_R | TAB_W);
    lua_Integer pos = luaL_optinteger(L, 2, size);
    unsigned n = 0;
    if (pos != size)            /* the stock 5.4.4 library names argument 1 here */
        luaL_argcheck(L, (lua_Unsigned)pos - 1u <= (lua_Unsigned)size, 1, "position out of bounds");
    lua_geti(L, 1, pos);
    for (; pos < size; pos++) {     /* shift down */
        lua_geti(L, 1, pos + 1);
        lua_seti(L, 1, pos);
        tick(L, &n);
    }
    lua_pushnil(L);
    lua_seti(L, 1, pos);
    return 1;
}

/* table.move(a1, f, e, t [, a2]) */
static int lb_move(lua_State *L) {
    lua_Integer f = luaL_checkinteger(L, 2);
    lua_Integer e = luaL_checkinteger(L, 3);
    lua_Integer t = luaL_checkinteger(L, 4);
    int dst = lua_isnoneornil(L, 5) ? 1 : 5;
    unsigned n = 0;
    check_tab(L, 1, TAB_R);
    check_tab(L, dst, TAB_W);
    if (e >= f) {
        luaL_argcheck(L, f > 0 || e < LUA_MAXINTEGER + f, 3, "too many elements to move");
        lua_Integer count = e - f + 1;
        luaL_argcheck(L, t <= LUA_MAXINTEGER - count + 1, 4, "destination wrap around");
        /* forwards unless the destination starts inside the source range
         * of the same table, which a forward copy would overwrite */
        if (t > e || t <= f || (dst != 1 && !lua_compare(L, 1, dst, LUA_OPEQ))) {
            for (lua_Integer i = 0; i < count; i++) {
                lua_geti(L, 1, f + i);
                lua_seti(L, dst, t + i);
                tick(L, &n);
            }
        } else {
            for (lua_Integer i = count - 1; i >= 0; i--) {
                lua_geti(L, 1, f + i);
                lua_seti(L, dst, t + i);
                tick(L, &n);
            }
        }
    }
    lua_pushvalue(L, dst);
    return 1;
}

static void concat_add(lua_State *L, luaL_Buffer *b, lua_Integer i) {
    lua_geti(L, 1, i);
    if (!lua_isstring(L, -1))
        luaL_error(L, "invalid value (%s) at index %I in table for 'concat'", luaL_typename(L, -1), (LUAI_UACINT)i);
    luaL_addvalue(b);
}

/* table.concat(t [, sep [, i [, j]]]) */
static int lb_concat(lua_State *L) {
    lua_Integer last = tab_len(L, 1, TAB_R);
    size_t lsep;
    const char *sep = luaL_optlstring(L, 2, "", &lsep);
    lua_Integer i = luaL_optinteger(L, 3, 1);
    last = luaL_optinteger(L, 4, last);
    unsigned n = 0;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (; i < last; i++) {
        concat_add(L, &b, i);
        luaL_addlstring(&b, sep, lsep);
        tick(L, &n);
    }
    if (i == last) concat_add(L, &b, i);
    luaL_pushresult(&b);
    return 1;
}

/* The comparisons table.sort makes: a < b (sort_lt), or the user's C
 * function (sort_call, upvalue 2). Upvalue 1 counts them (a userdata
 * unsigned) for the tick. A Lua comparator needs neither: the count hook
 * runs inside it. */
static int sort_lt(lua_State *L) {
    tick(L, lua_touserdata(L, lua_upvalueindex(1)));
    lua_pushboolean(L, lua_compare(L, 1, 2, LUA_OPLT));
    return 1;
}

static int sort_call(lua_State *L) {
    tick(L, lua_touserdata(L, lua_upvalueindex(1)));
    lua_settop(L, 2);
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_insert(L, 1);
    lua_call(L, 2, 1);
    return 1;
}

/* table.sort(t [, comp]): the stock sort (upvalue 1) with comp, or a < b,
 * behind sort_lt / sort_call unless comp is a Lua function. The arguments are checked
 * here, as the stock sort does, so that their errors name the caller; the
 * stock sort's own "invalid order function" is raised again from here for
 * the same reason. */
static int lb_sort(lua_State *L) {
    lua_Integer n = tab_len(L, 1, TAB_R | TAB_W);
    if (n <= 1) return 0;
    luaL_argcheck(L, n < INT_MAX, 1, "array too big");
    if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_settop(L, 2);
    if (lua_isnil(L, 2) || lua_iscfunction(L, 2)) {
        unsigned *count = lua_newuserdatauv(L, sizeof *count, 0);
        *count = 0;
        if (lua_isnil(L, 2)) {
            lua_pushcclosure(L, sort_lt, 1);
        } else {
            lua_pushvalue(L, 2);
            lua_pushcclosure(L, sort_call, 2);
        }
        lua_replace(L, 2);
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        if (lua_type(L, -1) == LUA_TSTRING && strcmp(msg, "invalid order function for sorting") == 0)
            return luaL_error(L, "%s", msg);
        return lua_error(L);    /* anything else (a budget stop too) as it was */
    }
    return 0;
}

/* string.rep(s, n [, sep]): one copy of s..sep, then doubling, so the time
 * is that of writing the result, which the memory cap bounds; an empty
 * result is not built n times. */
static int lb_rep(lua_State *L) {
    size_t l, lsep;
    const char *s = luaL_checklstring(L, 1, &l);
    lua_Integer n = luaL_checkinteger(L, 2);
    const char *sep = luaL_optlstring(L, 3, "", &lsep);
    if (n <= 0 || l + lsep == 0) {
        lua_pushliteral(L, "");
        return 1;
    }
    /* the stock library's limit: INT_MAX bytes */
    const size_t max = INT_MAX;
    if (l + lsep < l || l + lsep > max / (size_t)n) return luaL_error(L, "resulting string too large");
    size_t unit = l + lsep;
    size_t total = (size_t)n * unit - lsep;
    luaL_Buffer b;
    char *p = luaL_buffinitsize(L, &b, total);
    memcpy(p, s, l);
    if (total > l) memcpy(p + l, sep, lsep);
    size_t done = total < unit ? total : unit;
    while (done < total) {
        size_t k = done < total - done ? done : total - done;
        memcpy(p + done, p, k);
        done += k;
    }
    luaL_pushresultsize(&b, total);
    return 1;
}

/* Replaces t[name] (t at idx) by fn with the old value as upvalue 1. */
static void wrap(lua_State *L, int idx, const char *name, lua_CFunction fn) {
    lua_getfield(L, idx, name);
    lua_pushcclosure(L, fn, 1);
    lua_setfield(L, idx, name);
}

void lbound_open(lua_State *L) {
    lua_getglobal(L, LUA_TABLIBNAME);
    int t = lua_gettop(L);
    lua_pushcfunction(L, lb_insert);
    lua_setfield(L, t, "insert");
    lua_pushcfunction(L, lb_remove);
    lua_setfield(L, t, "remove");
    lua_pushcfunction(L, lb_move);
    lua_setfield(L, t, "move");
    lua_pushcfunction(L, lb_concat);
    lua_setfield(L, t, "concat");
    wrap(L, t, "sort", lb_sort);
    lua_getglobal(L, LUA_STRLIBNAME);
    lua_pushcfunction(L, lb_rep);
    lua_setfield(L, -2, "rep");
    lua_pop(L, 2);
}
