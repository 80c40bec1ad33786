/* lconfig: a workspace's config.lua (lhost.h, lconfig_read), read for the
 * workbench: the default model, the sampler settings of a new session and
 * the plugins to load.
 *
 * The file comes with the workspace, which may be someone else's, so it runs
 * like any script: in a sandboxed state of its own with a short time budget
 * and a small memory cap (a host of its own, destroyed after). It must
 * return a table; every field is checked (its type here, each sampler
 * setting by the workbench's :set) and a mistake is an error naming the
 * field, never silently ignored.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lhost_impl.h"

#define CONFIG_BUDGET_S 1.0
#define CONFIG_MEM ((size_t)16 << 20)

typedef struct rd {
    const char *path;
    lconfig *out;
} rd;

static char *dup_lua(lua_State *L, int idx) {
    size_t n;
    const char *s = lua_tolstring(L, idx, &n);
    char *d = malloc(n + 1);
    if (!d) luaL_error(L, "out of memory");
    memcpy(d, s, n + 1);
    return d;
}

/* The shortest %g text that reads back as x; in the process's locale, the
 * one session_set's strtod reads it in. */
static void push_number(lua_State *L, double x) {
    char buf[64];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, x);
        if (strtod(buf, NULL) == x) break;
    }
    lua_pushstring(L, buf);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void read_sampler(lua_State *L, int t, lconfig *c) {
    int n = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) n++, lua_pop(L, 1);
    c->sampler = calloc((size_t)n * 2 + 1, sizeof *c->sampler);
    if (!c->sampler) luaL_error(L, "out of memory");
    lua_pushnil(L);
    while (lua_next(L, t)) {                            /* [key value] */
        if (lua_type(L, -2) != LUA_TSTRING) luaL_error(L, "sampler: keys are setting names, got a %s", luaL_typename(L, -2));
        const char *k = lua_tostring(L, -2);
        int vt = lua_type(L, -1);
        bool text = !strcmp(k, "order") || !strcmp(k, "chain");
        if (text ? vt != LUA_TSTRING : vt != LUA_TNUMBER && vt != LUA_TSTRING)
            luaL_error(L, "sampler.%s must be a %s, got a %s", k, text ? "string" : "number", luaL_typename(L, -1));
        if (vt == LUA_TNUMBER && lua_isinteger(L, -1)) lua_pushfstring(L, "%I", (LUAI_UACINT)lua_tointeger(L, -1));
        else if (vt == LUA_TNUMBER) push_number(L, lua_tonumber(L, -1));
        else lua_pushvalue(L, -1);
        if (!strcmp(k, "chain")) lua_pushliteral(L, "order");
        else lua_pushvalue(L, -3);                      /* [key value text name] */
        c->sampler[c->n_sampler * 2] = dup_lua(L, -1);
        c->sampler[c->n_sampler * 2 + 1] = dup_lua(L, -2);
        c->n_sampler++;
        lua_pop(L, 3);
    }
    /* pairs: sorted by name, so that the settings apply in a fixed order */
    for (int i = 1; i < c->n_sampler; i++)
        for (int j = i; j > 0 && strcmp(c->sampler[j * 2 - 2], c->sampler[j * 2]) > 0; j--) {
            char *k = c->sampler[j * 2], *v = c->sampler[j * 2 + 1];
            c->sampler[j * 2] = c->sampler[j * 2 - 2];
            c->sampler[j * 2 + 1] = c->sampler[j * 2 - 1];
            c->sampler[j * 2 - 2] = k;
            c->sampler[j * 2 - 1] = v;
        }
}

static void read_plugins(lua_State *L, int t, lconfig *c) {
    lua_Integer n = luaL_len(L, t);
    if (n < 0 || n > 256) luaL_error(L, "plugins: at most 256 names");
    int count = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) count++, lua_pop(L, 1);
    if (count != n) luaL_error(L, "plugins must be a list of plugin names, like { \"tree\", \"train\" }");
    c->plugins = calloc((size_t)n + 1, sizeof *c->plugins);
    if (!c->plugins) luaL_error(L, "out of memory");
    for (lua_Integer i = 1; i <= n; i++) {
        if (lua_geti(L, t, i) != LUA_TSTRING) luaL_error(L, "plugins[%d] must be a plugin name, got a %s", (int)i, luaL_typename(L, -1));
        const char *s = lua_tostring(L, -1);
        if (!*s || strchr(s, '/')) luaL_error(L, "plugins[%d]: \"%s\" is not a plugin name (a file name in a plugin folder, without .lua)", (int)i, s);
        c->plugins[c->n_plugins++] = dup_lua(L, -1);
        lua_pop(L, 1);
    }
    qsort(c->plugins, (size_t)c->n_plugins, sizeof *c->plugins, cmp_str);
}

static int read_config(lua_State *L) {
    rd *r = lua_touserdata(L, 1);
    lconfig *c = r->out;
    if (lhost_loadfile(L, r->path) != LUA_OK) return lua_error(L);
    lua_call(L, 0, 1);
    if (!lua_istable(L, -1)) luaL_error(L, "it must return a table (got a %s)", luaL_typename(L, -1));
    int t = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, t)) {
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
        if (!k || (strcmp(k, "model") && strcmp(k, "sampler") && strcmp(k, "plugins")))
            luaL_error(L, "unknown field %s (it has model, sampler and plugins)",
                       k ? k : luaL_typename(L, -2));
        lua_pop(L, 1);
    }
    int ty = lua_getfield(L, t, "model");
    if (ty == LUA_TSTRING) {
        if (!lua_rawlen(L, -1)) luaL_error(L, "model is empty (a path, a name in the model folders, or nil)");
        c->model = dup_lua(L, -1);
    } else if (ty != LUA_TNIL) {
        luaL_error(L, "model must be a path or a model name, got a %s", luaL_typename(L, -1));
    }
    lua_pop(L, 1);
    ty = lua_getfield(L, t, "sampler");
    if (ty == LUA_TTABLE) read_sampler(L, lua_gettop(L), c);
    else if (ty != LUA_TNIL) luaL_error(L, "sampler must be a table of settings, got a %s", luaL_typename(L, -1));
    lua_pop(L, 1);
    ty = lua_getfield(L, t, "plugins");
    if (ty == LUA_TTABLE) read_plugins(L, lua_gettop(L), c);
    else if (ty != LUA_TNIL) luaL_error(L, "plugins must be a list of plugin names, got a %s", luaL_typename(L, -1));
    lua_pop(L, 1);
    return 0;
}

/* "config.lua:3: msg" or "msg" with the traceback cut: the first line. */
static void first_line(char *s) {
    char *nl = strchr(s, '\n');
    if (nl) *nl = 0;
}

int lconfig_read(const char *path, lconfig *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    if (access(path, F_OK) != 0) {
        snprintf(err, errlen, "%s: no such file", path);
        return LHOST_ENOENT;
    }
    lhost_opts o;
    lhost_opts_default(&o);
    o.budget_s = CONFIG_BUDGET_S;
    o.mem_cap = CONFIG_MEM;
    lhost *h;
    char e[1024];
    int rc = lhost_create(&h, &o, e, sizeof e);
    if (rc == LHOST_OK) {
        lstate *st = lhost_state_create(h, "config.lua", false, CONFIG_MEM, CONFIG_BUDGET_S, e, sizeof e);
        if (!st) rc = LHOST_ENOMEM;
        else {
            rd r = { path, out };
            rc = lhost_call(st, read_config, &r, false, e, sizeof e);
        }
        lhost_destroy(h);
    }
    if (rc != LHOST_OK) {
        first_line(e);
        /* a message from the file itself already starts with its path */
        if (strncmp(e, path, strlen(path)) == 0 || (e[0] == '@' && strncmp(e + 1, path, strlen(path)) == 0))
            snprintf(err, errlen, "%s", e);
        else snprintf(err, errlen, "%s: %s", path, e);
        lconfig_free(out);
        return rc < 0 ? rc : LHOST_ELUA;
    }
    return LHOST_OK;
}

void lconfig_free(lconfig *c) {
    if (!c) return;
    free(c->model);
    for (int i = 0; c->sampler && c->sampler[i]; i++) free(c->sampler[i]);
    free(c->sampler);
    for (int i = 0; c->plugins && c->plugins[i]; i++) free(c->plugins[i]);
    free(c->plugins);
    memset(c, 0, sizeof *c);
}
