/* lab_ui: UI hooks. Lua side: lab.ui.command_add / key_add / pane_add /
 * status_add / del / redraw / list, and, for headless use and tests, the
 * same entry points the TUI calls (run_command, press, pane_draw,
 * pane_key, status_get). C side: lhost_command_run, lhost_key_run,
 * lhost_pane_draw, lhost_pane_key, lhost_status_get, lhost_key_valid.
 *
 * A hook belongs to the state that added it and is dropped with it; the
 * adapter hears of every add and del (lhost_ui). Command and key handlers
 * run as tasks (they may await) and get their first slice at once; pane
 * and status callbacks run synchronously under the budget. An error in any
 * of them is the plugin's error: traceback on the console, plugin off.
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lhost_impl.h"

static char *dupstr(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

bool lhost_key_valid(const char *k) {
    static const char *const named[] = { "Enter", "Esc", "Tab", "S-Tab", "Backspace", "Delete", "Insert",
                                         "Up", "Down", "Left", "Right", "Home", "End", "PageUp",
                                         "PageDown", "Space", NULL };
    if (!k || !*k) return false;
    size_t n = strlen(k);
    if (n == 1) return isgraph((unsigned char)k[0]);
    if (n == 3 && k[0] == 'C' && k[1] == '-') return k[2] >= 'a' && k[2] <= 'z';
    if (n == 3 && k[0] == 'M' && k[1] == '-') return isgraph((unsigned char)k[2]);
    if (k[0] == 'F' && n <= 3) {
        int f = atoi(k + 1);
        return f >= 1 && f <= 12 && isdigit((unsigned char)k[1]) && (n == 2 || isdigit((unsigned char)k[2]));
    }
    for (int i = 0; named[i]; i++)
        if (strcmp(named[i], k) == 0) return true;
    return false;
}

static lhook *find(lhost *h, int id) {
    for (lhook *k = h->hooks; k; k = k->next)
        if (k->id == id) return k;
    return NULL;
}

static void hook_free(lhost *h, lhook *k) {
    for (lhook **p = &h->hooks; *p; p = &(*p)->next)
        if (*p == k) { *p = k->next; break; }
    if (h->has_ui && h->ui.del) h->ui.del(h->ui.ud, k->id);
    if (k->st->L) luaL_unref(k->st->L, LUA_REGISTRYINDEX, k->ref);
    free(k->name);
    free(k->help);
    free(k);
}

void lab_ui_drop_state(lhost *h, lstate *st) {
    for (lhook *k = h->hooks, *n; k; k = n) {
        n = k->next;
        if (k->st == st) hook_free(h, k);
    }
}

/* Adds a hook whose handler is at the top of the stack (popped). */
static int add(lua_State *L, int kind, const char *name, const char *help) {
    lhost *h = lhost_of(L);
    lstate *st = lhost_state(L);
    int ref = luaL_ref(L, LUA_REGISTRYINDEX);          /* may raise: before the mallocs */
    lhook *k = calloc(1, sizeof *k);
    char *nm = dupstr(name), *hp = dupstr(help ? help : "");
    if (!k || !nm || !hp) {
        free(k);
        free(nm);
        free(hp);
        luaL_unref(L, LUA_REGISTRYINDEX, ref);
        return luaL_error(L, "out of memory");
    }
    k->ref = ref;
    k->id = h->next_id++;
    k->kind = kind;
    k->st = st;
    k->name = nm;
    k->help = hp;
    k->next = h->hooks;
    h->hooks = k;
    if (h->has_ui) {
        const char *pl = st->name;
        if (kind == LHOOK_COMMAND && h->ui.command_add) h->ui.command_add(h->ui.ud, k->id, pl, nm, hp);
        if (kind == LHOOK_KEY && h->ui.key_add) h->ui.key_add(h->ui.ud, k->id, pl, nm, hp);
        if (kind == LHOOK_PANE && h->ui.pane_add) h->ui.pane_add(h->ui.ud, k->id, pl, nm);
        if (kind == LHOOK_STATUS && h->ui.status_add) h->ui.status_add(h->ui.ud, k->id, pl, nm);
    }
    lua_pushinteger(L, k->id);
    return 1;
}

static bool valid_name(const char *s) {
    if (!*s) return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.') return false;
    return true;
}

/* lab.ui.command_add(name, help, fn) -> id | nil, err */
static int l_command_add(lua_State *L) {
    const char *name = luaL_checkstring(L, 1);
    const char *help = luaL_checkstring(L, 2);
    luaL_checktype(L, 3, LUA_TFUNCTION);
    if (!valid_name(name)) return luaL_argerror(L, 1, "a command name is letters, digits, '_', '-' or '.'");
    lhost *h = lhost_of(L);
    for (lhook *k = h->hooks; k; k = k->next)
        if (k->kind == LHOOK_COMMAND && strcmp(k->name, name) == 0)
            return lab_fail(L, "command '%s' is already registered by %s", name, k->st->name);
    lua_settop(L, 3);
    return add(L, LHOOK_COMMAND, name, help);
}

/* lab.ui.key_add(key, help, fn) -> id */
static int l_key_add(lua_State *L) {
    const char *key = luaL_checkstring(L, 1);
    const char *help = luaL_checkstring(L, 2);
    luaL_checktype(L, 3, LUA_TFUNCTION);
    if (!lhost_key_valid(key))
        return luaL_argerror(L, 1, lua_pushfstring(L, "'%s' is not a key name (\"j\", \"C-x\", \"M-x\", \"F5\", \"Enter\", ...)", key));
    lua_settop(L, 3);
    return add(L, LHOOK_KEY, key, help);
}

/* lab.ui.pane_add(title, {on_draw = fn(w, h) -> lines [, on_key = fn(key) -> handled]}) -> id */
static int l_pane_add(lua_State *L) {
    const char *title = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    if (lua_getfield(L, 2, "on_draw") != LUA_TFUNCTION) return luaL_argerror(L, 2, "on_draw must be a function");
    int t = lua_getfield(L, 2, "on_key");
    if (t != LUA_TNIL && t != LUA_TFUNCTION) return luaL_argerror(L, 2, "on_key must be a function");
    lua_createtable(L, 0, 2);                          /* a private copy of the handlers */
    lua_pushvalue(L, -3);
    lua_setfield(L, -2, "on_draw");
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, "on_key");
    return add(L, LHOOK_PANE, title, NULL);
}

/* lab.ui.status_add(name, fn() -> text) -> id */
static int l_status_add(lua_State *L) {
    const char *name = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_settop(L, 2);
    return add(L, LHOOK_STATUS, name, NULL);
}

/* A hook id argument as the int the host's hooks are numbered by, or 0 (no
 * hook has it) for one outside (0, INT_MAX]: an id 2^32 + N must not wrap
 * onto hook N. */
static int hook_id(lua_State *L, int arg) {
    lua_Integer id = luaL_checkinteger(L, arg);
    return id > 0 && id <= INT_MAX ? (int)id : 0;
}

/* lab.ui.del(id) -> true if this state's hook was removed */
static int l_del(lua_State *L) {
    int id = hook_id(L, 1);
    lhost *h = lhost_of(L);
    lhook *k = id ? find(h, id) : NULL;
    if (!k || k->st != lhost_state(L)) {
        lua_pushboolean(L, 0);
        return 1;
    }
    hook_free(h, k);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_redraw(lua_State *L) {
    lhost *h = lhost_of(L);
    if (h->has_ui && h->ui.redraw) h->ui.redraw(h->ui.ud);
    return 0;
}

/* lab.ui.loom_open(text) -> true | nil, err: the workbench opens text as a
 * prompt in its branch tree and steps once (the inspector then shows the
 * model's distribution at every position). The TUI applies it after the
 * calling callback returns. */
static int l_loom_open(lua_State *L) {
    size_t n;
    const char *text = luaL_checklstring(L, 1, &n);
    if (n == 0) return luaL_argerror(L, 1, "the text is empty");
    lhost *h = lhost_of(L);
    if (!h->has_ui || !h->ui.loom_open) return lab_fail(L, "no workbench to open it in (headless)");
    char err[256] = "";
    if (h->ui.loom_open(h->ui.ud, text, n, err, sizeof err)) return lab_fail(L, "%s", err[0] ? err : "cannot open it");
    lua_pushboolean(L, 1);
    return 1;
}

/* lab.ui.loom_replay([id]) -> true | nil, err: the workbench draws node
 * #id (default: the selected node) again as a sibling, with the settings
 * and generator state the node recorded (:replay). Applied, as loom_open,
 * after the calling callback returns; the status says whether the tokens
 * are the same. */
static int l_loom_replay(lua_State *L) {
    lua_Integer id = luaL_optinteger(L, 1, -1);
    if (id < -1 || id > INT32_MAX) return luaL_argerror(L, 1, "a node id (#ID in the tree) expected");
    lhost *h = lhost_of(L);
    if (!h->has_ui || !h->ui.loom_replay) return lab_fail(L, "no workbench to replay in (headless)");
    char err[256] = "";
    if (h->ui.loom_replay(h->ui.ud, (int64_t)id, err, sizeof err)) return lab_fail(L, "%s", err[0] ? err : "cannot replay it");
    lua_pushboolean(L, 1);
    return 1;
}

/* lab.ui.loom_path() -> {id, ...} | nil, err: the workbench's selected path */
static int l_loom_path(lua_State *L) {
    lhost *h = lhost_of(L);
    if (!h->has_ui || !h->ui.loom_path) return lab_fail(L, "no workbench to read a path of (headless)");
    char err[256] = "";
    int32_t n = h->ui.loom_path(h->ui.ud, NULL, 0, err, sizeof err);
    if (n < 0) return lab_fail(L, "%s", err[0] ? err : "no path");
    /* the ids in a userdata, so an allocation error of Lua leaks nothing */
    int32_t *ids = lua_newuserdatauv(L, sizeof *ids * (size_t)(n > 0 ? n : 1), 0);
    int32_t m = h->ui.loom_path(h->ui.ud, ids, n, err, sizeof err);
    if (m < 0) return lab_fail(L, "%s", err[0] ? err : "no path");
    if (m < n) n = m;
    lua_createtable(L, n, 0);
    for (int32_t i = 0; i < n; i++) {
        lua_pushinteger(L, ids[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

/* lab.ui.list() -> { {id=, kind=, plugin=, name=, help=}, ... } */
static int l_list(lua_State *L) {
    static const char *const kinds[] = { "", "command", "key", "pane", "status" };
    lhost *h = lhost_of(L);
    int n = 0;
    for (lhook *k = h->hooks; k; k = k->next) n++;
    lua_createtable(L, n, 0);
    int i = n + 1;                                     /* the list is newest first: fill from the end */
    for (lhook *k = h->hooks; k; k = k->next) {
        lua_createtable(L, 0, 5);
        lua_pushinteger(L, k->id);
        lua_setfield(L, -2, "id");
        lua_pushstring(L, kinds[k->kind]);
        lua_setfield(L, -2, "kind");
        lua_pushstring(L, k->st->name);
        lua_setfield(L, -2, "plugin");
        lua_pushstring(L, k->name);
        lua_setfield(L, -2, "name");
        lua_pushstring(L, k->help);
        lua_setfield(L, -2, "help");
        lua_rawseti(L, -2, --i);
    }
    return 1;
}

/* ---- invoking hooks (the TUI's side) ------------------------------------ */

typedef struct call {
    lhook *k;
    const char *arg;        /* command args, or a key name */
    int w, hgt;
    int task_id;
    int flags;              /* pane_key result */
    char *buf;              /* status text */
    size_t cap;
} call;

static lhook *check_hook(lhost *h, int id, int kind, char *err, size_t errlen) {
    lhook *k = find(h, id);
    if (!k || k->kind != kind) {
        snprintf(err, errlen, "no such %s hook: %d", kind == LHOOK_COMMAND ? "command" : kind == LHOOK_KEY ? "key" : kind == LHOOK_PANE ? "pane" : "status", id);
        return NULL;
    }
    return k;
}

static int spawn_handler(lua_State *L) {
    call *c = lua_touserdata(L, 1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->k->ref);
    int n = 0;
    if (c->arg) {
        lua_pushstring(L, c->arg);
        n = 1;
    }
    ltask *t = lsched_spawn(c->k->st, L, n, LTASK_PLAIN);
    c->task_id = t->id;
    return 0;
}

static int run_handler(lhost *h, lhook *k, const char *arg, char *err, size_t errlen) {
    call c = { .k = k, .arg = arg };
    int rc = lhost_call(k->st, spawn_handler, &c, true, err, errlen);
    if (rc != LHOST_OK) return rc;
    if (h->nest >= LHOST_EAGER_NEST) return LHOST_OK;     /* the next tick runs it */
    for (ltask *t = h->tasks; t; t = t->next)
        if (t->id == c.task_id) {
            lsched_resume(h, t);
            break;
        }
    return LHOST_OK;
}

int lhost_command_run(lhost *h, int id, const char *args, char *err, size_t errlen) {
    lhook *k = check_hook(h, id, LHOOK_COMMAND, err, errlen);
    return k ? run_handler(h, k, args ? args : "", err, errlen) : LHOST_EINVAL;
}

int lhost_command_find(const lhost *h, const char *name) {
    for (lhook *k = h->hooks; k; k = k->next)
        if (k->kind == LHOOK_COMMAND && strcmp(k->name, name) == 0) return k->id;
    return LHOST_ENOENT;
}

int lhost_key_run(lhost *h, int id, char *err, size_t errlen) {
    lhook *k = check_hook(h, id, LHOOK_KEY, err, errlen);
    return k ? run_handler(h, k, NULL, err, errlen) : LHOST_EINVAL;
}

const char *const lhost_style_names[LHOST_N_STYLES] = {
    "normal", "dim", "bold", "ok", "error", "warn", "label", "key", "header", "select", "prompt",
};

static int add_line(lhost *h, const char *s, size_t n, int style) {
    if (h->n_lines == h->cap_lines) {
        int cap = h->cap_lines ? h->cap_lines * 2 : 64;
        lhost_line *l = realloc(h->lines, sizeof *l * (size_t)cap);
        if (!l) return -1;
        h->lines = l;
        h->cap_lines = cap;
    }
    if (h->n_text + n + 1 > h->cap_text) {
        size_t cap = h->cap_text ? h->cap_text : 4096;
        while (cap < h->n_text + n + 1) cap *= 2;
        char *t = realloc(h->text, cap);
        if (!t) return -1;
        h->text = t;
        h->cap_text = cap;
    }
    memcpy(h->text + h->n_text, s, n);
    h->text[h->n_text + n] = 0;
    h->lines[h->n_lines++] = (lhost_line){ (const char *)(uintptr_t)h->n_text, n, style };  /* offset for now */
    h->n_text += n + 1;
    return 0;
}

/* Splits s at newlines into lines. */
static int add_text(lhost *h, const char *s, size_t n, int style) {
    size_t a = 0;
    for (size_t i = 0; i <= n; i++)
        if (i == n || s[i] == '\n') {
            if (add_line(h, s + a, i - a, style)) return -1;
            a = i + 1;
        }
    return 0;
}

static int draw_fn(lua_State *L) {
    call *c = lua_touserdata(L, 1);
    lhost *h = lhost_of(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->k->ref);
    lua_getfield(L, -1, "on_draw");
    lua_pushinteger(L, c->w);
    lua_pushinteger(L, c->hgt);
    lua_call(L, 2, 1);
    size_t n;
    if (lua_type(L, -1) == LUA_TSTRING) {
        const char *s = lua_tolstring(L, -1, &n);
        if (add_text(h, s, n, LHOST_STYLE_NORMAL)) return luaL_error(L, "out of memory");
        return 0;
    }
    if (!lua_istable(L, -1)) return luaL_error(L, "on_draw must return a list of lines or a string, not %s", luaL_typename(L, -1));
    lua_Integer len = luaL_len(L, -1);
    for (lua_Integer i = 1; i <= len; i++) {
        int style = LHOST_STYLE_NORMAL;
        if (lua_rawgeti(L, -1, i) == LUA_TTABLE) {    /* {text, style = NAME} */
            if (lua_getfield(L, -1, "style") != LUA_TNIL) {
                const char *sn = lua_tostring(L, -1);
                style = -1;
                for (int k = 0; sn && k < LHOST_N_STYLES; k++)
                    if (strcmp(sn, lhost_style_names[k]) == 0) style = k;
                if (style < 0)
                    return luaL_error(L, "line %d: unknown style '%s' (normal, dim, bold, ok, error, warn, label, "
                                         "key, header, select, prompt)", (int)i, sn ? sn : luaL_typename(L, -1));
            }
            lua_pop(L, 1);
            lua_rawgeti(L, -1, 1);
            lua_replace(L, -2);
        }
        const char *s = luaL_tolstring(L, -1, &n);
        if (add_text(h, s, n, style)) return luaL_error(L, "out of memory");
        lua_pop(L, 2);
    }
    return 0;
}

int lhost_pane_draw(lhost *h, int id, int width, int height, const lhost_line **lines, int *n,
                    char *err, size_t errlen) {
    *lines = NULL;
    *n = 0;
    lhook *k = check_hook(h, id, LHOOK_PANE, err, errlen);
    if (!k) return LHOST_EINVAL;
    if (h->drawing) {
        snprintf(err, errlen, "a pane cannot be drawn from inside a pane's on_draw");
        return LHOST_EINVAL;
    }
    h->n_lines = 0;
    h->n_text = 0;
    call c = { .k = k, .w = width, .hgt = height };
    h->drawing = true;
    int rc = lhost_call(k->st, draw_fn, &c, true, err, errlen);
    h->drawing = false;
    if (rc != LHOST_OK) return rc;
    for (int i = 0; i < h->n_lines; i++) h->lines[i].text = h->text + (uintptr_t)h->lines[i].text;
    *lines = h->lines;
    *n = h->n_lines;
    return LHOST_OK;
}

static int key_fn(lua_State *L) {
    call *c = lua_touserdata(L, 1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->k->ref);
    if (lua_getfield(L, -1, "on_key") != LUA_TFUNCTION) {
        c->flags = LHOST_KEY_IGNORED;
        return 0;
    }
    lua_pushstring(L, c->arg);
    lua_call(L, 1, 1);
    if (lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "redraw") == 0)
        c->flags = LHOST_KEY_HANDLED | LHOST_KEY_REDRAW;
    else c->flags = lua_toboolean(L, -1) ? LHOST_KEY_HANDLED : LHOST_KEY_IGNORED;
    return 0;
}

int lhost_pane_key(lhost *h, int id, const char *key, char *err, size_t errlen) {
    lhook *k = check_hook(h, id, LHOOK_PANE, err, errlen);
    if (!k) return LHOST_EINVAL;
    if (!lhost_key_valid(key)) {
        snprintf(err, errlen, "'%s' is not a key name", key ? key : "(null)");
        return LHOST_EINVAL;
    }
    call c = { .k = k, .arg = key };
    int rc = lhost_call(k->st, key_fn, &c, true, err, errlen);
    return rc != LHOST_OK ? rc : c.flags;
}

static int status_fn(lua_State *L) {
    call *c = lua_touserdata(L, 1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->k->ref);
    lua_call(L, 0, 1);
    size_t n = 0;
    const char *s = lua_isnil(L, -1) ? "" : luaL_tolstring(L, -1, &n);
    if (c->cap) {
        if (n >= c->cap) n = c->cap - 1;
        memcpy(c->buf, s, n);
        c->buf[n] = 0;
    }
    return 0;
}

int lhost_status_get(lhost *h, int id, char *buf, size_t cap) {
    char err[2048];
    if (cap) buf[0] = 0;
    lhook *k = check_hook(h, id, LHOOK_STATUS, err, sizeof err);
    if (!k) return LHOST_EINVAL;
    call c = { .k = k, .buf = buf, .cap = cap };
    return lhost_call(k->st, status_fn, &c, true, err, sizeof err);
}

/* ---- the same from Lua (headless use, tests) ---------------------------- */

static int ret_rc(lua_State *L, int rc, const char *err) {
    if (rc < 0) return lab_fail(L, "%s", err);
    lua_pushboolean(L, 1);
    return 1;
}

/* lab.ui.run_command(name [, args]) -> true | nil, err */
static int l_run_command(lua_State *L) {
    const char *name = luaL_checkstring(L, 1);
    const char *args = luaL_optstring(L, 2, "");
    lhost *h = lhost_of(L);
    int id = lhost_command_find(h, name);
    if (id < 0) return lab_fail(L, "no command '%s'", name);
    char err[4096];
    return ret_rc(L, lhost_command_run(h, id, args, err, sizeof err), err);
}

/* lab.ui.press(key) -> true | nil, err: runs the key binding of key */
static int l_press(lua_State *L) {
    const char *key = luaL_checkstring(L, 1);
    lhost *h = lhost_of(L);
    for (lhook *k = h->hooks; k; k = k->next)
        if (k->kind == LHOOK_KEY && strcmp(k->name, key) == 0) {
            char err[4096];
            return ret_rc(L, lhost_key_run(h, k->id, err, sizeof err), err);
        }
    return lab_fail(L, "no binding for key '%s'", key);
}

#define PANE_MAX_SIDE 10000     /* columns or rows a pane may be drawn at (a terminal has far fewer) */

/* lab.ui.pane_draw(id, w, h) -> {lines}, {styles} | nil, err */
static int l_pane_draw(lua_State *L) {
    int id = hook_id(L, 1);
    lua_Integer w = luaL_optinteger(L, 2, 80), hh = luaL_optinteger(L, 3, 24);
    luaL_argcheck(L, w >= 1 && w <= PANE_MAX_SIDE, 2, "the width must be in [1, 10000] columns");
    luaL_argcheck(L, hh >= 1 && hh <= PANE_MAX_SIDE, 3, "the height must be in [1, 10000] rows");
    const lhost_line *lines;
    int n;
    char err[4096];
    if (!id) return lab_fail(L, "no such pane hook: %s", luaL_tolstring(L, 1, NULL));
    int rc = lhost_pane_draw(lhost_of(L), id, (int)w, (int)hh, &lines, &n, err, sizeof err);
    if (rc < 0) return lab_fail(L, "%s", err);
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushlstring(L, lines[i].text, lines[i].len);
        lua_rawseti(L, -2, i + 1);
    }
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushstring(L, lhost_style_names[lines[i].style]);
        lua_rawseti(L, -2, i + 1);
    }
    return 2;
}

/* lab.ui.pane_key(id, key) -> flags (0 ignored, 1 handled, 3 handled + redraw) | nil, err */
static int l_pane_key(lua_State *L) {
    int id = hook_id(L, 1);
    const char *key = luaL_checkstring(L, 2);
    char err[4096];
    if (!id) return lab_fail(L, "no such pane hook: %s", luaL_tolstring(L, 1, NULL));
    int rc = lhost_pane_key(lhost_of(L), id, key, err, sizeof err);
    if (rc < 0) return lab_fail(L, "%s", err);
    lua_pushinteger(L, rc);
    return 1;
}

/* lab.ui.pane_number(id) -> n | nil (not shown: headless, or not placed
 * yet); lab.ui.pane_hint(id) -> "NAME pane N, press N" (":pane N" past 9)
 * | nil: what a plugin command's reply says, so that the pane it filled
 * is found (session 14's trial: the proxy pane was not). */
static int pane_number(lua_State *L, const char **title) {
    lhost *h = lhost_of(L);
    int id = hook_id(L, 1);
    *title = NULL;
    for (lhook *k = h->hooks; k; k = k->next)
        if (k->id == id && k->kind == LHOOK_PANE) *title = k->name;
    if (!*title || !h->has_ui || !h->ui.pane_number) return 0;
    return h->ui.pane_number(h->ui.ud, id);
}

static int l_pane_number(lua_State *L) {
    const char *title;
    int n = pane_number(L, &title);
    if (n <= 0) lua_pushnil(L);
    else lua_pushinteger(L, n);
    return 1;
}

static int l_pane_hint(lua_State *L) {
    const char *title;
    int n = pane_number(L, &title);
    if (n <= 0) lua_pushnil(L);
    else if (n <= 9) lua_pushfstring(L, "%s pane %d, press %d", title, n, n);
    else lua_pushfstring(L, "%s pane %d, :pane %d", title, n, n);
    return 1;
}

/* lab.ui.status_get(id) -> text | nil, err */
static int l_status_get(lua_State *L) {
    int id = hook_id(L, 1);
    char buf[1024];
    int rc = id ? lhost_status_get(lhost_of(L), id, buf, sizeof buf) : -1;
    if (rc < 0) return lab_fail(L, "status item %s failed", luaL_tolstring(L, 1, NULL));
    lua_pushstring(L, buf);
    return 1;
}

static const luaL_Reg ui_fns[] = {
    { "command_add", l_command_add }, { "key_add", l_key_add },   { "pane_add", l_pane_add },
    { "status_add", l_status_add },   { "del", l_del },           { "redraw", l_redraw },
    { "list", l_list },               { "run_command", l_run_command }, { "press", l_press },
    { "pane_draw", l_pane_draw },     { "pane_key", l_pane_key }, { "status_get", l_status_get },
    { "loom_open", l_loom_open },
    { "loom_replay", l_loom_replay },
    { "loom_path", l_loom_path },
    { "pane_number", l_pane_number },
    { "pane_hint", l_pane_hint },
    { NULL, NULL },
};

int lab_open_ui(lua_State *L) {
    luaL_newlib(L, ui_fns);
    lua_pushboolean(L, !lhost_of(L)->has_ui);
    lua_setfield(L, -2, "headless");
    return 1;
}
