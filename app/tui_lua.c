/* tui_lua: the lhost_ui adapter (see tui_lua.h). Hooks are kept in one
 * array; plugin panes are pane objects owned by the screen manager and
 * found again by their hook id. */
#include "tui_lua.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lhost.h"
#include "pdirs.h"
#include "palette.h"
#include "pane.h"
#include "tui.h"
#include "tui_console.h"
#include "tui_layout.h"
#include "tui_ws.h"

enum { HK_COMMAND = 1, HK_KEY, HK_PANE, HK_STATUS };

typedef struct hook {
    int id, kind;
    char *plugin, *name, *help;
    keys_code key;          /* HK_KEY */
    bool placed;            /* HK_PANE: the screen has its pane */
    bool dead;              /* del arrived; removed by apply */
} hook;

struct tui_lua {
    struct tui *t;
    lhost *h;
    hook *hooks;
    int n, cap;
    bool changed;           /* something to apply, or to redraw */
    char *loom_text;        /* lab.ui.loom_open's text, opened by apply (NULL none) */
    bool replay;            /* lab.ui.loom_replay asked for replay_id (-1: the selected node) */
    int32_t replay_id;
};

/* Plugin panes drawn from Lua. */
typedef struct plug_pane { tui_lua *l; int id; char title[64]; } plug_pane;

static char *dup_or_empty(const char *s) { return strdup(s ? s : ""); }

/* ---- the adapter's callbacks (record only) ---------------------------------- */

static void ui_print(void *ud, const char *text, size_t len, bool is_error) {
    tui_lua *l = ud;
    tui_print(l->t, text, len, is_error);
}

static void add_hook(tui_lua *l, int id, int kind, const char *plugin, const char *name, const char *help) {
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 16;
        hook *h = realloc(l->hooks, sizeof *h * (size_t)cap);
        if (!h) return;
        l->hooks = h;
        l->cap = cap;
    }
    hook *k = &l->hooks[l->n];
    memset(k, 0, sizeof *k);
    k->id = id;
    k->kind = kind;
    k->plugin = dup_or_empty(plugin);
    k->name = dup_or_empty(name);
    k->help = dup_or_empty(help);
    if (!k->plugin || !k->name || !k->help) { free(k->plugin); free(k->name); free(k->help); return; }
    k->key = kind == HK_KEY ? keys_parse(name) : K_NONE;
    l->n++;
    l->changed = true;
}

static void ui_command_add(void *ud, int id, const char *plugin, const char *name, const char *help) {
    add_hook(ud, id, HK_COMMAND, plugin, name, help);
}

static void ui_key_add(void *ud, int id, const char *plugin, const char *key, const char *help) {
    add_hook(ud, id, HK_KEY, plugin, key, help);
}

static void ui_pane_add(void *ud, int id, const char *plugin, const char *title) {
    add_hook(ud, id, HK_PANE, plugin, title, "");
}

static int ui_pane_number(void *ud, int id) {
    tui_lua *l = ud;
    return tui_pane_of_hook(l->t, id) + 1;
}

static void ui_status_add(void *ud, int id, const char *plugin, const char *name) {
    add_hook(ud, id, HK_STATUS, plugin, name, "");
}

static void ui_del(void *ud, int id) {
    tui_lua *l = ud;
    for (int i = 0; i < l->n; i++)
        if (l->hooks[i].id == id) { l->hooks[i].dead = true; l->changed = true; }
}

static void ui_redraw(void *ud) {
    tui_lua *l = ud;
    l->changed = true;
    tui_dirty(l->t);
}

/* From inside long-running Lua: the status line says so (tui_show_busy). */
static void ui_busy(void *ud, const char *who, double seconds) {
    tui_lua *l = ud;
    tui_show_busy(l->t, who, seconds);
}

/* Kept until apply: the session is not touched from inside a Lua callback. */
static int ui_loom_open(void *ud, const char *text, size_t len, char *err, size_t errlen) {
    tui_lua *l = ud;
    if (memchr(text, 0, len)) { snprintf(err, errlen, "the text holds a NUL byte"); return -1; }
    char *c = malloc(len + 1);
    if (!c) { snprintf(err, errlen, "out of memory"); return -1; }
    memcpy(c, text, len);
    c[len] = 0;
    free(l->loom_text);
    l->loom_text = c;
    l->changed = true;
    tui_dirty(l->t);
    return 0;
}

/* Kept until apply, as loom_open. A node that is gone by then is
 * reported on the status line. */
static int ui_loom_replay(void *ud, int64_t id, char *err, size_t errlen) {
    tui_lua *l = ud;
    (void)err;
    (void)errlen;
    l->replay = true;
    l->replay_id = (int32_t)id;
    l->changed = true;
    tui_dirty(l->t);
    return 0;
}

/* Read only, on the TUI's thread: the selected path's token ids. */
static int32_t ui_loom_path(void *ud, int32_t *ids, int32_t cap, char *err, size_t errlen) {
    tui_lua *l = ud;
    session *s = tui_session(l->t);
    int32_t n = session_len(s);
    if (n == 0) { snprintf(err, errlen, "the branch tree has no path yet"); return -1; }
    for (int32_t i = 0; i < n && i < cap; i++) {
        const loom_tok *t = session_tok(s, i);
        ids[i] = t ? t->id : -1;
    }
    return n;
}

/* ---- plugin panes ------------------------------------------------------------- */

static void plug_draw(pane *p, const canvas_view *v, bool focused) {
    (void)focused;
    plug_pane *o = p->ctx;
    const lhost_line *lines;
    int n = 0;
    char err[512];
    tui_lua_enter(o->l->t);
    int rc = lhost_pane_draw(o->l->h, o->id, v->w, v->h, &lines, &n, err, sizeof err);
    tui_lua_leave(o->l->t);
    if (rc) { canvas_puts(v, 0, 0, PAL_ERROR, rc == LHOST_EDISABLED ? "(plugin disabled)" : err); return; }
    /* lhost's line styles (LHOST_STYLE_*, in order) as palette styles */
    static const uint16_t look[LHOST_N_STYLES] = {
        PAL_NORMAL, PAL_DIM, PAL_BOLD, PAL_OK, PAL_ERROR, PAL_WARN, PAL_LABEL, PAL_KEY, PAL_HEADER, PAL_SELECT, PAL_PROMPT,
    };
    for (int i = 0; i < n && i < v->h; i++) {
        int st = lines[i].style >= 0 && lines[i].style < LHOST_N_STYLES ? lines[i].style : 0;
        canvas_put(v, 0, i, look[st], lines[i].text, lines[i].len, -1);
    }
}

/* The keys the workbench keeps in every plugin pane (docs/lua-api.md,
 * lab.ui.pane_add): moving between panes (Tab, S-Tab, 1-9), the command
 * line (:) and Ctrl-C, so that no pane can trap the user. */
static bool plug_reserved(keys_code k) {
    return k == K_TAB || k == K_STAB || k == ':' || (k >= '1' && k <= '9') || k == keys_parse("C-c");
}

static int plug_key(pane *p, keys_code k, int action) {
    (void)action;
    plug_pane *o = p->ctx;
    char name[32], err[512];
    if (plug_reserved(k)) return PANE_IGNORED;
    keys_name(k, name, sizeof name);
    if (!lhost_key_valid(name)) return PANE_IGNORED;
    tui_lua_enter(o->l->t);
    int rc = lhost_pane_key(o->l->h, o->id, name, err, sizeof err);
    tui_lua_leave(o->l->t);
    tui_lua_apply(o->l);
    if (rc < 0) return PANE_HANDLED | PANE_REDRAW;
    return (rc & LHOST_KEY_HANDLED ? PANE_HANDLED : 0) | (rc & LHOST_KEY_REDRAW ? PANE_REDRAW : 0);
}

static void plug_title(pane *p, char *buf, size_t cap) {
    plug_pane *o = p->ctx;
    snprintf(buf, cap, "%s", o->title);
}

static void plug_destroy(pane *p) { free(p->ctx); }

static const pane_iface plug_iface = { "plugin", plug_draw, plug_key, NULL, NULL, plug_title, plug_destroy };

bool tui_lua_apply(tui_lua *l) {
    if (!l || !l->changed) return false;
    l->changed = false;
    if (l->loom_text) {                 /* a new root with that prompt, one step: its distributions */
        session *s = tui_session(l->t);
        if (field_set(&s->prompt, l->loom_text) == 0) {
            session_gen(s, 1);
            tui_focus(l->t, PANE_OUTPUT);
        } else session_msg(s, SESS_ERROR, "out of memory");
        free(l->loom_text);
        l->loom_text = NULL;
    }
    if (l->replay) {
        session *s = tui_session(l->t);
        l->replay = false;
        session_replay(s, l->replay_id >= 0 ? l->replay_id : s->cur);
    }
    int k = 0;
    for (int i = 0; i < l->n; i++) {
        hook *h = &l->hooks[i];
        if (h->kind == HK_PANE && h->dead && h->placed) tui_remove_pane(l->t, h->id);
        if (h->kind == HK_PANE && !h->dead && !h->placed) {
            plug_pane *o = calloc(1, sizeof *o);
            if (o) {
                o->l = l;
                o->id = h->id;
                snprintf(o->title, sizeof o->title, "%s", h->name);
                pane *p = pane_create(&plug_iface, o, l->t, SC_GLOBAL);
                if (p) { p->hook = h->id; h->placed = tui_add_pane(l->t, p) == 0; if (!h->placed) pane_destroy(p); }
            }
        }
        if (h->dead) { free(h->plugin); free(h->name); free(h->help); continue; }
        l->hooks[k++] = *h;
    }
    l->n = k;
    tui_dirty(l->t);
    return true;
}

/* ---- the host ------------------------------------------------------------------ */

int tui_lua_create(tui_lua **out, struct tui *t, const struct tui_opts *o, char *err, size_t errlen) {
    *out = NULL;
    tui_lua *l = calloc(1, sizeof *l);
    if (!l) { snprintf(err, errlen, "out of memory"); return -1; }
    l->t = t;
    lhost_ui ui = { l, ui_print, ui_command_add, ui_key_add, ui_pane_add, ui_status_add, ui_del, ui_redraw, ui_loom_open,
                    ui_busy,
                    ui_loom_replay,
                    ui_loom_path,
                    ui_pane_number };
    lhost_opts lo;
    lhost_opts_default(&lo);
    pdirs pd;                       /* plugins/ here, and beside the program */
    pdirs_default(&pd);
    lo.plugin_dirs = o->plugin_dirs ? o->plugin_dirs : pd.list;
    lo.plugin_names = o->plugin_names;           /* config.lua's plugins, or NULL: all */
    lo.workspace = tui_ws_dir(tui_workspace(t));     /* lab.fs, and the workspace's plugins/ */
    lo.store = tui_ws_store(tui_workspace(t));       /* lab.store writes beside the workbench, not into a second lock */
    lo.n_threads = o->n_threads;
    lo.ui = &ui;
    if (lhost_create(&l->h, &lo, err, errlen)) { free(l); return -1; }
    lhost_set_session(l->h, tui_ws_current(tui_workspace(t)));   /* runs plugins start belong to it */
    *out = l;
    tui_lua_enter(t);
    lhost_plugin_load_all(l->h);
    tui_lua_leave(t);
    tui_lua_apply(l);
    return 0;
}

void tui_lua_destroy(tui_lua *l) {
    if (!l) return;
    lhost_destroy(l->h);            /* its del callbacks only mark hooks */
    for (int i = 0; i < l->n; i++) { free(l->hooks[i].plugin); free(l->hooks[i].name); free(l->hooks[i].help); }
    free(l->hooks);
    free(l->loom_text);
    free(l);
}

struct lhost *tui_lua_host(tui_lua *l) { return l ? l->h : NULL; }
int tui_lua_fd(tui_lua *l) { return l ? lhost_wake_fd(l->h) : -1; }
int tui_lua_next_ms(tui_lua *l) { return l ? lhost_next_ms(l->h) : -1; }

bool tui_lua_tick(tui_lua *l) {
    if (!l) return false;
    tui_lua_enter(l->t);
    lhost_tick(l->h, 0);
    tui_lua_leave(l->t);
    return tui_lua_apply(l);
}

bool tui_lua_key(tui_lua *l, keys_code k) {
    if (!l) return false;
    for (int i = 0; i < l->n; i++) {
        hook *h = &l->hooks[i];
        if (h->kind != HK_KEY || h->dead || h->key != k) continue;
        char err[512];
        int id = h->id;
        tui_lua_enter(l->t);
        lhost_key_run(l->h, id, err, sizeof err);
        tui_lua_leave(l->t);
        tui_lua_apply(l);
        return true;
    }
    return false;
}

int tui_lua_command(tui_lua *l, const char *name, const char *args, char *err, size_t errlen) {
    if (!l) return LHOST_ENOENT;
    int id = lhost_command_find(l->h, name);
    if (id < 0) return LHOST_ENOENT;
    tui_lua_enter(l->t);
    int rc = lhost_command_run(l->h, id, args, err, errlen);
    tui_lua_leave(l->t);
    tui_lua_apply(l);
    return rc;
}

static const hook *nth(const tui_lua *l, int kind, int i) {
    for (int k = 0; l && k < l->n; k++)
        if (l->hooks[k].kind == kind && !l->hooks[k].dead && i-- == 0) return &l->hooks[k];
    return NULL;
}

static int count(const tui_lua *l, int kind) {
    int c = 0;
    for (int k = 0; l && k < l->n; k++) c += l->hooks[k].kind == kind && !l->hooks[k].dead;
    return c;
}

int tui_lua_n_commands(const tui_lua *l) { return count(l, HK_COMMAND); }
int tui_lua_n_keys(const tui_lua *l) { return count(l, HK_KEY); }

const char *tui_lua_command_name(const tui_lua *l, int i, const char **help, const char **plugin) {
    const hook *h = nth(l, HK_COMMAND, i);
    if (!h) return NULL;
    if (help) *help = h->help;
    if (plugin) *plugin = h->plugin;
    return h->name;
}

const char *tui_lua_key_name(const tui_lua *l, int i, const char **help, const char **plugin) {
    const hook *h = nth(l, HK_KEY, i);
    if (!h) return NULL;
    if (help) *help = h->help;
    if (plugin) *plugin = h->plugin;
    return h->name;
}

void tui_lua_status(tui_lua *l, char *buf, size_t cap) {
    size_t at = 0;
    if (cap) buf[0] = 0;
    for (int i = 0; l && i < l->n && at + 4 < cap; i++) {
        hook *h = &l->hooks[i];
        if (h->kind != HK_STATUS || h->dead) continue;
        char text[128] = "";
        tui_lua_enter(l->t);
        int rc = lhost_status_get(l->h, h->id, text, sizeof text);
        tui_lua_leave(l->t);
        if (rc || !text[0]) continue;
        at += (size_t)snprintf(buf + at, cap - at, "%s%s", at ? " | " : "", text);
    }
    char prog[256];                     /* lab.progress lines, after the items */
    if (l && lhost_progress_status(l->h, prog, sizeof prog) && at + 4 < cap)
        snprintf(buf + at, cap - at, "%s%s", at ? " | " : "", prog);
}
