/* lab_require: lab.require(name), how plugins and scripts share library
 * code without `require` (the sandbox has no package library).
 *
 * lab.require("ensemble") loads lib/ensemble.lua, found in order in: the
 * folder of the calling plugin's file (a plugin state), or of the calling
 * chunk's file (the scripts state: `logitlab run DIR/x.lua` finds DIR/lib/;
 * a library in a lib/ folder finds its siblings); then each plugin folder
 * (the host's, the workspace's plugins/ last). A name "SUB/NAME" loads
 * SUB/NAME.lua from the same places instead (lab.require("tasks/numpath")
 * finds plugins/tasks/numpath.lua); a chunk in a folder finds SUB/ next to
 * its folder too, so a library in lib/ or tasks/ reaches the other one. The file is a text chunk run in the caller's state with the
 * state's globals (the same sandbox) and the name as its argument; what it
 * returns (true when nothing) is cached per Lua state, so every later call
 * gives the same value. The chunk may await (it runs with a continuation).
 *
 * Invariants: a name is one or two parts of letters, digits, '_' and '-'
 * joined by '/', so no path outside a plugin folder can be built from it; while a library loads its cache slot holds a sentinel,
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

static bool valid_part(const char *s, size_t n) {
    if (n == 0 || n > 64) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* NAME or SUB/NAME; *sub_len is SUB's length (0: the default folder lib). */
static bool valid_name(const char *s, size_t n, size_t *sub_len) {
    const char *slash = memchr(s, '/', n);
    *sub_len = 0;
    if (!slash) return valid_part(s, n);
    size_t k = (size_t)(slash - s);
    *sub_len = k;
    return valid_part(s, k) && valid_part(slash + 1, n - k - 1);
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

/* Finds DIR/SUB/NAME.lua (SUB = lib for a plain name); pushes the list of
 * places tried (for the error). The caller's folder's parent comes first when
 * the caller's folder is SUB itself (a library's sibling), after the caller's
 * folder otherwise (a chunk in plugins/tasks/ finds plugins/lib/). */
static bool find_lib(lua_State *L, const char *name, size_t sub_len, char *path, size_t cap) {
    lhost *h = lhost_of(L);
    char dir[PATH_MAX], up[PATH_MAX];
    char sub[72];
    snprintf(sub, sizeof sub, "%.*s", sub_len ? (int)sub_len : 3, sub_len ? name : "lib");
    const char *base = sub_len ? name + sub_len + 1 : name;
    int n = 0;
    bool have = caller_dir(L, dir, sizeof dir);
    size_t dl = have ? strlen(dir) : 0, sl = strlen(sub);
    bool in_sub = have && dl >= sl && strcmp(dir + dl - sl, sub) == 0 && (dl == sl || dir[dl - sl - 1] == '/');
    bool have_up = have && strcmp(dir, "/") != 0;
    if (have_up) dir_of(dir, up, sizeof up);
    if (have_up && strcmp(dir, ".") == 0) snprintf(up, sizeof up, "..");
    const char *first[2] = { in_sub ? up : dir, in_sub ? dir : up };
    bool use[2] = { have && (!in_sub || have_up), have && (in_sub || have_up) };
    luaL_Buffer tried;
    luaL_buffinit(L, &tried);
    for (int i = -2; i < 0 || (h->plugin_dirs && h->plugin_dirs[i]); i++) {
        const char *d = i < 0 ? (use[i + 2] ? first[i + 2] : NULL) : h->plugin_dirs[i];
        if (!d) continue;
        snprintf(path, cap, "%s/%s/%s.lua", d, sub, base);
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
    size_t n, sub_len;
    const char *name = luaL_checklstring(L, 1, &n);
    if (!valid_name(name, n, &sub_len))
        return luaL_argerror(L, 1, "a library name is letters, digits, '_' or '-' (or SUB/NAME, both so)");
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
    if (!find_lib(L, name, sub_len, path, sizeof path))       /* [name cache tried] */
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
