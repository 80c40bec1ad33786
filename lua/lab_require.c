/* lab_require: lab.require(name), how plugins and scripts share library
 * code without `require` (the sandbox has no package library).
 *
 * lab.require("ensemble") loads lib/ensemble.lua, found in order in: the
 * folder of the calling plugin's file (a plugin state), or of the calling
 * chunk's file (the scripts state: `logitlab run DIR/x.lua` finds DIR/lib/;
 * a library in a lib/ folder finds its siblings); then each plugin folder
 * (the host's, the workspace's plugins/ last). The file is a text chunk run in the caller's state with the
 * state's globals (the same sandbox) and the name as its argument; what it
 * returns (true when nothing) is cached per Lua state, so every later call
 * gives the same value. The chunk may await (it runs with a continuation).
 *
 * Invariants: a name is letters, digits, '_' and '-' only, so no path can
 * be built from it; while a library loads its cache slot holds a sentinel,
 * so a cycle raises instead of recursing; a chunk that fails leaves no
 * cache entry (the next call tries again).
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "lhost_impl.h"

#define CACHE_KEY "lab.require.cache"

static const char loading_mark = 0;      /* its address: "being loaded" */

static bool valid_name(const char *s, size_t n) {
    if (n == 0 || n > 64) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static bool is_file(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* The folder of a file path into out ("." for a bare name). */
static void dir_of(const char *path, char *out, size_t cap) {
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(out, cap, ".");
    else if (slash == path) snprintf(out, cap, "/");
    else snprintf(out, cap, "%.*s", (int)(slash - path), path);
}

/* The folder the caller's own file lives in, or false. A plugin's is its
 * manifest file (set by the host); the scripts state's is the source of the
 * Lua function that called lab.require. */
static bool caller_dir(lua_State *L, char *out, size_t cap) {
    lstate *st = lhost_state(L);
    if (st && st->is_plugin) {
        if (!st->path) return false;
        dir_of(st->path, out, cap);
        return true;
    }
    lua_Debug ar;
    if (!lua_getstack(L, 1, &ar) || !lua_getinfo(L, "S", &ar) || ar.source[0] != '@') return false;
    dir_of(ar.source + 1, out, cap);
    return true;
}

/* Finds DIR/lib/NAME.lua; pushes the list of places tried (for the error). */
static bool find_lib(lua_State *L, const char *name, char *path, size_t cap) {
    lhost *h = lhost_of(L);
    char dir[PATH_MAX];
    int n = 0;
    bool have = caller_dir(L, dir, sizeof dir);
    luaL_Buffer tried;
    luaL_buffinit(L, &tried);
    size_t dl = have ? strlen(dir) : 0;
    bool in_lib = dl >= 3 && strcmp(dir + dl - 3, "lib") == 0 && (dl == 3 || dir[dl - 4] == '/');
    for (int i = -2; i < 0 || (h->plugin_dirs && h->plugin_dirs[i]); i++) {
        const char *d = i < 0 ? (have ? dir : NULL) : h->plugin_dirs[i];
        if (!d || (i == -2 && !in_lib)) continue;
        if (i == -2) snprintf(path, cap, "%s/%s.lua", d, name);     /* a library's sibling */
        else snprintf(path, cap, "%s/lib/%s.lua", d, name);
        if (is_file(path)) {
            luaL_pushresult(&tried);
            return true;
        }
        if (n++) luaL_addstring(&tried, ", ");
        luaL_addstring(&tried, path);
    }
    luaL_pushresult(&tried);
    return false;
}

/* After the chunk: [name cache path fn-results...] -> cache[name] = result. */
static int finish(lua_State *L, int status, lua_KContext ctx) {
    (void)ctx;
    if (status != LUA_OK && status != LUA_YIELD) {   /* [name cache path err] */
        lua_pushnil(L);
        lua_setfield(L, 2, lua_tostring(L, 1));
        return lua_error(L);
    }
    lua_settop(L, 4);                                /* [name cache path result] */
    if (lua_isnil(L, 4)) {
        lua_pushboolean(L, 1);
        lua_replace(L, 4);
    }
    lua_pushvalue(L, 4);
    lua_setfield(L, 2, lua_tostring(L, 1));
    return 1;
}

/* lab.require(name) -> the library's value | nil, err (no such library).
 * Raises for a bad name, a cycle, or an error in the library's chunk. */
static int l_require(lua_State *L) {
    size_t n;
    const char *name = luaL_checklstring(L, 1, &n);
    if (!valid_name(name, n)) return luaL_argerror(L, 1, "a library name is letters, digits, '_' or '-'");
    lua_settop(L, 1);
    if (lua_getfield(L, LUA_REGISTRYINDEX, CACHE_KEY) != LUA_TTABLE) {   /* [name cache] */
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, CACHE_KEY);
    }
    int t = lua_getfield(L, 2, name);
    if (t == LUA_TLIGHTUSERDATA && lua_touserdata(L, -1) == &loading_mark)
        return luaL_error(L, "lab.require: '%s' is required again while it loads (a cycle)", name);
    if (t != LUA_TNIL) return 1;
    lua_pop(L, 1);
    char path[PATH_MAX + 80];
    if (!find_lib(L, name, path, sizeof path))       /* [name cache tried] */
        return lab_fail(L, "library '%s' not found (looked for %s)", name, lua_tostring(L, 3));
    lua_pop(L, 1);
    lua_pushstring(L, path);                         /* [name cache path] */
    if (lhost_loadfile(L, path) != LUA_OK) return lua_error(L);
    lua_pushlightuserdata(L, (void *)&loading_mark);
    lua_setfield(L, 2, name);
    lua_pushvalue(L, 1);                             /* [name cache path fn name] */
    return finish(L, lua_pcallk(L, 1, 1, 0, 0, finish), 0);
}

/* Pushes lab.require (lab.c registers it as lab.require). */
int lab_open_require(lua_State *L) {
    lua_pushcfunction(L, l_require);
    return 1;
}
