/* lplugin: plugins: finding, loading (chunk + manifest check + on_load),
 * reloading, disabling and listing.
 *
 * A plugin is DIR/NAME.lua or DIR/NAME/init.lua in a plugin folder. Its
 * chunk runs in a fresh state and must return a manifest:
 *   return { name = "hello", api_level = 1, description = "...",
 *            on_load = function() ... end, on_unload = function() ... end }
 * The manifest is checked before on_load runs (as a task, so it may await).
 * A new version is fully loaded before the old one of the same name goes,
 * so a reload that fails leaves the working plugin in place. Disabled
 * plugins stay listed with their error until replaced.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lhost_impl.h"

static char *dupstr(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static bool is_file(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

lstate *lplugin_find(lhost *h, const char *name) {
    for (lstate *st = h->states; st; st = st->next)
        if (st->is_plugin && strcmp(st->name, name) == 0) return st;
    return NULL;
}

static bool find_file(lhost *h, const char *name, char *out, size_t cap) {
    size_t n = strlen(name);
    if (strchr(name, '/') || (n > 4 && strcmp(name + n - 4, ".lua") == 0)) {
        snprintf(out, cap, "%s", name);
        return is_file(out);
    }
    for (int i = 0; h->plugin_dirs && h->plugin_dirs[i]; i++) {
        snprintf(out, cap, "%s/%s.lua", h->plugin_dirs[i], name);
        if (is_file(out)) return true;
        snprintf(out, cap, "%s/%s/init.lua", h->plugin_dirs[i], name);
        if (is_file(out)) return true;
    }
    return false;
}

static bool valid_name(const char *s) {
    if (!*s || strlen(s) > 64) return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ||
              *s == '-'))
            return false;
    return true;
}

/* In the new state: run the chunk, check the manifest, keep it in the
 * registry ("lab.manifest"). */
static int load_chunk(lua_State *L) {
    lstate *st = lhost_state(L);
    if (lhost_loadfile(L, st->path) != LUA_OK) return lua_error(L);
    lua_call(L, 0, 1);
    if (!lua_istable(L, -1))
        return luaL_error(L, "%s: a plugin must return its manifest {name=, api_level=, description=}", st->path);
    int m = lua_gettop(L);
    if (lua_getfield(L, m, "name") != LUA_TSTRING || !valid_name(lua_tostring(L, -1)))
        return luaL_error(L, "%s: manifest.name must be a name of letters, digits, '_' or '-'", st->path);
    if (lua_getfield(L, m, "api_level") != LUA_TNUMBER || !lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1)
        return luaL_error(L, "%s: manifest.api_level must be an integer >= 1 (this host: %d)", st->path,
                          LAB_API_LEVEL);
    if (lua_tointeger(L, -1) > LAB_API_LEVEL)
        return luaL_error(L, "%s: the plugin needs api_level %d; this host provides %d", st->path,
                          (int)lua_tointeger(L, -1), LAB_API_LEVEL);
    int dt = lua_getfield(L, m, "description");
    if (dt != LUA_TSTRING && dt != LUA_TNIL) return luaL_error(L, "%s: manifest.description must be a string", st->path);
    static const char *const fns[] = { "on_load", "on_unload", NULL };
    for (int i = 0; fns[i]; i++) {
        int t = lua_getfield(L, m, fns[i]);
        lua_pop(L, 1);
        if (t != LUA_TNIL && t != LUA_TFUNCTION) return luaL_error(L, "%s: manifest.%s must be a function", st->path, fns[i]);
    }
    char *name = dupstr(lua_tostring(L, m + 1));
    char *desc = dupstr(dt == LUA_TSTRING ? lua_tostring(L, m + 3) : "");
    if (!name || !desc) {
        free(name);
        free(desc);
        return luaL_error(L, "out of memory");
    }
    free(st->name);
    st->name = name;
    free(st->description);
    st->description = desc;
    st->api_level = (int)lua_tointeger(L, m + 2);
    lua_pushvalue(L, m);
    lua_setfield(L, LUA_REGISTRYINDEX, "lab.manifest");
    return 0;
}

static int start_on_load(lua_State *L) {
    int *task_id = lua_touserdata(L, 1);
    lstate *st = lhost_state(L);
    lua_getfield(L, LUA_REGISTRYINDEX, "lab.manifest");
    if (lua_getfield(L, -1, "on_load") != LUA_TFUNCTION) return 0;
    *task_id = lsched_spawn(st, L, 0, LTASK_PLAIN)->id;
    return 0;
}

static int call_unload(lua_State *L) {
    lua_getfield(L, LUA_REGISTRYINDEX, "lab.manifest");
    if (lua_getfield(L, -1, "on_unload") == LUA_TFUNCTION) lua_call(L, 0, 0);
    return 0;
}

static void unlink_state(lhost *h, lstate *st) {
    for (lstate **p = &h->states; *p; p = &(*p)->next)
        if (*p == st) { *p = st->next; break; }
}

/* on_unload (synchronous, budgeted; errors are reported), then gone. */
static void unload(lhost *h, lstate *old) {
    if (old->enabled) {
        char err[4096];
        if (lhost_call(old, call_unload, NULL, false, err, sizeof err) != LHOST_OK)
            lhost_print(h, err, strlen(err), true);
    }
    lhost_state_disable(old, NULL);
    if (old->depth > 0) return;          /* still on the C stack: freed with the host */
    unlink_state(h, old);
    lhost_state_free(old);
}

int lplugin_load_opts(lhost *h, const char *name_or_path, double budget_s, size_t mem_cap,
                      char *err, size_t errlen) {
    char path[4096];
    if (!find_file(h, name_or_path, path, sizeof path)) {
        size_t used = (size_t)snprintf(err, errlen, "plugin '%s' not found", name_or_path);
        for (int i = 0; !strchr(name_or_path, '/') && h->plugin_dirs && h->plugin_dirs[i] && used < errlen; i++)
            used += (size_t)snprintf(err + used, errlen - used, "%s%s", i ? ", " : " (looked in ", h->plugin_dirs[i]);
        if (!strchr(name_or_path, '/') && h->plugin_dirs && h->plugin_dirs[0] && used < errlen)
            snprintf(err + used, errlen - used, ")");
        return LHOST_ENOENT;
    }
    const char *base = strrchr(path, '/');
    lstate *st = lhost_state_create(h, base ? base + 1 : path, true, mem_cap, budget_s, err, errlen);
    if (!st) return LHOST_ENOMEM;
    if (!(st->path = dupstr(path))) {
        lhost_state_disable(st, "out of memory");
        unlink_state(h, st);
        lhost_state_free(st);
        snprintf(err, errlen, "out of memory");
        return LHOST_ENOMEM;
    }
    int rc = lhost_call(st, load_chunk, NULL, false, err, errlen);
    if (rc != LHOST_OK) {
        lhost_state_disable(st, err);
        unlink_state(h, st);
        lhost_state_free(st);
        return rc;
    }
    for (lstate *o = h->states; o; o = o->next)
        if (o != st && o->is_plugin && strcmp(o->name, st->name) == 0) {
            unload(h, o);
            break;
        }
    int task_id = 0;                     /* on_load's first slice runs now */
    rc = lhost_call(st, start_on_load, &task_id, true, err, errlen);
    if (rc != LHOST_OK) return rc;
    for (ltask *t = h->tasks; t && h->nest < LHOST_EAGER_NEST; t = t->next)
        if (t->id == task_id) {
            lsched_resume(h, t);
            break;
        }
    if (!st->enabled) {
        snprintf(err, errlen, "%s", st->error ? st->error : "on_load failed");
        return LHOST_ELUA;
    }
    return LHOST_OK;
}

int lhost_plugin_load(lhost *h, const char *name_or_path, char *err, size_t errlen) {
    return lplugin_load_opts(h, name_or_path, 0, 0, err, errlen);
}

int lhost_plugin_reload(lhost *h, const char *name, char *err, size_t errlen) {
    lstate *st = lplugin_find(h, name);
    if (!st) {
        snprintf(err, errlen, "no plugin '%s' is loaded", name);
        return LHOST_ENOENT;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s", st->path);
    return lplugin_load_opts(h, path, st->budget_s, st->mem_cap, err, errlen);
}

int lhost_plugin_disable(lhost *h, const char *name, char *err, size_t errlen) {
    lstate *st = lplugin_find(h, name);
    if (!st) {
        snprintf(err, errlen, "no plugin '%s' is loaded", name);
        return LHOST_ENOENT;
    }
    st->cancel = true;                   /* its open runs end "cancelled" */
    lhost_state_disable(st, "disabled by the user");
    return LHOST_OK;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Plugin names in one folder, sorted: NAME.lua files and NAME/ folders
 * with an init.lua. */
/* Index of name (len bytes) in the host's plugin_names, -1 if not listed;
 * -2 when there is no list (every plugin loads). */
static int listed(const lhost *h, const char *name, size_t len) {
    if (!h->plugin_names) return -2;
    for (int i = 0; h->plugin_names[i]; i++)
        if (strlen(h->plugin_names[i]) == len && memcmp(h->plugin_names[i], name, len) == 0) return i;
    return -1;
}

static int load_dir(lhost *h, const char *dir, bool *found) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    char *names[256];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 256) {
        size_t len = strlen(e->d_name);
        char p[4096];
        if (e->d_name[0] == '.') continue;
        bool file = len > 4 && strcmp(e->d_name + len - 4, ".lua") == 0;
        if (file) snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        else snprintf(p, sizeof p, "%s/%s/init.lua", dir, e->d_name);
        if (!is_file(p)) continue;
        int k = listed(h, e->d_name, file ? len - 4 : len);
        if (k == -1) continue;
        if (k >= 0) found[k] = true;
        if ((names[n] = dupstr(p))) n++;
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    int ok = 0;
    for (int i = 0; i < n; i++) {
        char err[4096];
        if (lplugin_load_opts(h, names[i], 0, 0, err, sizeof err) == LHOST_OK) ok++;
        else lhost_print(h, err, strlen(err), true);
        free(names[i]);
    }
    return ok;
}

int lhost_plugin_load_all(lhost *h) {
    int n = 0, n_names = 0;
    while (h->plugin_names && h->plugin_names[n_names]) n_names++;
    bool found[n_names + 1];
    memset(found, 0, sizeof found);
    for (int i = 0; h->plugin_dirs && h->plugin_dirs[i]; i++) n += load_dir(h, h->plugin_dirs[i], found);
    for (int i = 0; i < n_names; i++) {
        if (found[i]) continue;
        char msg[512];
        int k = snprintf(msg, sizeof msg, "plugin %s (config.lua's plugins) is in no plugin folder", h->plugin_names[i]);
        lhost_print(h, msg, (size_t)(k < (int)sizeof msg ? k : (int)sizeof msg - 1), true);
    }
    return n;
}

/* Plugins in load order (the list is newest first). */
static const lstate *nth_plugin(const lhost *h, int i) {
    int total = lhost_plugin_count(h), k = total - 1;
    for (const lstate *st = h->states; st; st = st->next)
        if (st->is_plugin && k-- == i) return st;
    return NULL;
}

int lhost_plugin_count(const lhost *h) {
    int n = 0;
    for (const lstate *st = h->states; st; st = st->next) n += st->is_plugin;
    return n;
}

int lhost_plugin_get(const lhost *h, int i, lhost_plugin_info *out) {
    const lstate *st = nth_plugin(h, i);
    if (!st) return LHOST_EINVAL;
    *out = (lhost_plugin_info){
        .name = st->name,
        .path = st->path ? st->path : "",
        .description = st->description ? st->description : "",
        .api_level = st->api_level,
        .enabled = st->enabled,
        .error = st->error,
        .mem_used = st->mem,
    };
    return LHOST_OK;
}
