/* tui_help: the key binding overlay (see tui_help.h), with the `:`
 * commands after the keys. Lines are rebuilt at each draw (plugins come and
 * go); keys bound to the same action in a scope share one line. */
#include "tui_help.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "palette.h"
#include "pane.h"
#include "tui.h"
#include "tui_cmd.h"
#include "tui_lua.h"

typedef struct help_pane {
    struct tui *t;
    int scroll;
    int n_lines;            /* at the last draw */
} help_pane;

typedef struct help_line { const char *keys, *text; bool header; } help_line;

static int emit(const canvas_view *v, int y, int scroll, const char *keys, const char *text, bool header) {
    int row = y - scroll;
    if (row < 0 || row >= v->h) return y + 1;
    if (header) { canvas_puts(v, 0, row, PAL_HEADER, keys); return y + 1; }
    int kw = v->w >= 60 ? 20 : 14;
    canvas_put(v, 2, row, PAL_KEY, keys, strlen(keys), kw - 3);
    canvas_put(v, kw, row, PAL_NORMAL, text, strlen(text), -1);
    return y + 1;
}

static void help_draw(pane *p, const canvas_view *v, bool focused) {
    (void)focused;
    help_pane *o = p->ctx;
    int n;
    const keys_binding *tb = keys_table(&n);
    int y = 0;
    for (int sc = 0; sc < SC_N; sc++) {
        bool any = false;
        for (int i = 0; i < n; i++) {
            if (tb[i].scope != sc) continue;
            bool seen = false;
            for (int j = 0; j < i; j++) if (tb[j].scope == sc && tb[j].action == tb[i].action) seen = true;
            if (seen) continue;
            if (!any) { if (y) y++; y = emit(v, y, o->scroll, keys_scope_title(sc), "", true); any = true; }
            char keys[96] = "";
            size_t at = 0;
            for (int j = i; j < n && at < sizeof keys - 16; j++)
                if (tb[j].scope == sc && tb[j].action == tb[i].action)
                    at += (size_t)snprintf(keys + at, sizeof keys - at, "%s%s", at ? " " : "", tb[j].key);
            y = emit(v, y, o->scroll, keys, tb[i].help, false);
        }
    }
    tui_lua *l = tui_plugins(o->t);
    int nk = tui_lua_n_keys(l);
    if (nk) {
        y = emit(v, y + 1, o->scroll, "Plugins", "", true);
        for (int i = 0; i < nk; i++) {
            const char *help, *plugin;
            const char *key = tui_lua_key_name(l, i, &help, &plugin);
            char text[256];
            snprintf(text, sizeof text, "%s (%s)", help, plugin);
            y = emit(v, y, o->scroll, key, text, false);
        }
    }
    y = emit(v, y + 1, o->scroll, "Commands (:, Tab completes)", "", true);
    const char *args, *help, *name;
    for (int i = 0; (name = tui_cmd_get(i, &args, &help)); i++) {
        char cmd[64], text[512];
        snprintf(cmd, sizeof cmd, ":%s", name);
        snprintf(text, sizeof text, "%s%s%s", args, args[0] ? ": " : "", help);
        y = emit(v, y, o->scroll, cmd, text, false);
    }
    y = emit(v, y + 1, o->scroll, "Mouse", "", true);
    y = emit(v, y, o->scroll, "click", "focus a pane; select a token, an alternative or a tree node", false);
    y = emit(v, y, o->scroll, "wheel", "scroll the pane under the pointer", false);
    o->n_lines = y;
}

static int help_key(pane *p, keys_code k, int action) {
    (void)k;
    help_pane *o = p->ctx;
    int page = p->h > 2 ? p->h - 2 : 1, max = o->n_lines - p->h;
    switch (action) {
    case ACT_CLOSE: tui_close_overlay(o->t); return PANE_HANDLED | PANE_REDRAW;
    case ACT_UP: o->scroll--; break;
    case ACT_DOWN: o->scroll++; break;
    case ACT_PGUP: o->scroll -= page; break;
    case ACT_PGDN: o->scroll += page; break;
    default: return PANE_HANDLED;       /* the overlay is modal */
    }
    if (o->scroll > max) o->scroll = max;
    if (o->scroll < 0) o->scroll = 0;
    return PANE_HANDLED | PANE_REDRAW;
}

static int help_mouse(pane *p, int x, int y, int button) {
    (void)x; (void)y;
    if (button == PANE_WHEEL_UP) return help_key(p, K_UP, ACT_UP);
    if (button == PANE_WHEEL_DOWN) return help_key(p, K_DOWN, ACT_DOWN);
    return PANE_HANDLED;
}

static void help_title(pane *p, char *buf, size_t cap) {
    (void)p;
    snprintf(buf, cap, "Key bindings (Esc closes)");
}

static void help_destroy(pane *p) { free(p->ctx); }

static const pane_iface help_iface = { "help", help_draw, help_key, help_mouse, NULL, help_title, help_destroy };

struct pane *tui_help_create(struct tui *t) {
    help_pane *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->t = t;
    return pane_create(&help_iface, o, t, SC_HELP);
}
