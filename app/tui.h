/* tui: the workbench's screen manager and event loop (htop's
 * ScreenManager). It owns the panes (prompt, output, inspector, tree,
 * console, sampler, plugin panes), the overlays (help, command line,
 * questions), the session and the Lua host; it lays the panes out, routes
 * keys through the key table, and redraws at most ~30 times a second while
 * the engine streams tokens.
 *
 * The loop waits in poll(2) on the terminal, the engine worker's pipe, the
 * Lua host's wake fd and the signal pipe, so a key is answered at once
 * whatever the engine is doing.
 *
 * Panes reach the rest of the program only through the services below.
 */
#ifndef TUI_H
#define TUI_H
#include <stdbool.h>
#include <stddef.h>

#include "session.h"

struct lhost;
struct pane;
struct tui_lua;
struct tui_ws;
struct tui_ws_ui;
typedef struct tui tui;

typedef struct tui_opts {
    const char *model;              /* -m, or NULL for $LOGITLAB_MODEL / the default */
    const char *prompt;             /* initial prompt text, or NULL */
    int n_threads;                  /* 0 = all cores */
    int n_ctx;                      /* 0 = the model's (at most 4096) */
    int colors;                     /* -1 auto, 0 monochrome, 8, 256 */
    bool mouse;
    bool lua;                       /* start the Lua host (console, plugins) */
    const char *const *plugin_dirs; /* NULL-terminated, or NULL for plugins/ */
    const char *workspace;          /* -w: the workspace folder (sessions, lab.fs, lab.store), NULL = STORE_DEFAULT_DIR */
    const char *const *plugin_names;/* the plugins to load (the workspace's config.lua), NULL = every plugin found */
} tui_opts;

/* Runs the workbench until the user quits; 0, or -1 with err set when it
 * could not start (the workspace is in use or damaged, no terminal, no
 * model file). The most recently updated session of the workspace is
 * reopened (with its model, unless o->model names another file). */
int tui_run(const tui_opts *o, char *err, size_t errlen);

/* ---- services for panes -------------------------------------------------- */

session *tui_session(tui *t);
struct lhost *tui_host(tui *t);
/* The workspace (never NULL while the workbench runs). */
struct tui_ws *tui_workspace(tui *t);
/* The panes' part of the saved state: get, and set (what does not fit the
 * panes there are now is left as it is). */
void tui_ui_get(const tui *t, struct tui_ws_ui *ui);
void tui_ui_set(tui *t, const struct tui_ws_ui *ui);
/* The plugins' hooks (NULL without Lua). */
struct tui_lua *tui_plugins(tui *t);
/* Closes the open overlay (help, command line, question). */
void tui_close_overlay(tui *t);
/* Opens the help overlay. */
void tui_help(tui *t);
/* Quits after saving to the workspace; asks first when that failed (unless force). */
void tui_quit(tui *t, bool force);
/* Toggles the zoom of the focused pane. */
void tui_zoom(tui *t);
/* Whether to draw ASCII only (the locale is not UTF-8). */
bool tui_ascii(const tui *t);
void tui_focus(tui *t, int pane);
int tui_focused(const tui *t);
/* Opens the command line with text already typed. */
void tui_cmdline(tui *t, const char *prefill);
/* Runs a command line ("set temp 0.7"); errors go to the status line. */
void tui_command(tui *t, const char *line);
/* Asks a yes/no question; yes(t, ud) runs on 'y'. */
void tui_confirm(tui *t, const char *question, void (*yes)(tui *t, void *ud), void *ud);
/* A line (or lines) in the console. */
void tui_print(tui *t, const char *text, size_t len, bool is_error);
/* The pane that shows the inspector's selection (for the output's
 * "pick an alternative" key). */
struct pane *tui_pane(tui *t, int i);
/* Asks for a redraw soon. */
void tui_dirty(tui *t);
/* Plugin panes (tui_lua): add takes ownership (0, or -1 when full);
 * remove destroys the pane with that hook id. */
int tui_add_pane(tui *t, struct pane *p);
void tui_remove_pane(tui *t, int hook);
/* The index of the pane with that hook id, or -1. */
int tui_pane_of_hook(const tui *t, int hook);
/* Marks that Lua code runs on the UI thread now (Ctrl-C interrupts it). */
void tui_lua_enter(tui *t);
/* Called from inside Lua that has run for `seconds` (lhost_ui.busy): the
 * status line says what runs and that Ctrl-C stops it, drawn at once (the
 * loop is not running); the next frame restores it. */
void tui_show_busy(tui *t, const char *who, double seconds);
void tui_lua_leave(tui *t);

#endif
