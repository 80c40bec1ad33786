/* tui: the screen manager and event loop (see tui.h).
 *
 * One frame: lay the panes out for the terminal's size, draw each shown
 * pane's frame and inside into the canvas, the status bar, then the
 * overlay (help, command line, question), and copy the canvas to the
 * terminal. Frames are drawn when something changed: at once after a key
 * (answers within a frame), at most ~30 per second while tokens stream.
 *
 * Keys: an open overlay takes every key; else the focused pane gets the key
 * with its action in the pane's scope; what it ignores goes to the global
 * table, then to plugin bindings. Text-entry panes swallow everything.
 *
 * Signals are blocked in every thread but this one (they are created while
 * the mask is set), so SIGWINCH and the self-pipe always wake this poll.
 *
 * The workspace (tui_ws) is opened before anything else and before the
 * terminal, so that a workspace another workbench holds is refused with a
 * plain message; the loop ticks it every 100 ms while there is something to
 * save, and it is flushed and closed after the Lua host (which borrows its
 * store) and before the session.
 */
#include "tui.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "lhost.h"
#include "modelpath.h"
#include "palette.h"
#include "pane.h"
#include "store.h"
#include "tui_cmd.h"
#include "tui_cmdline.h"
#include "tui_console.h"
#include "tui_help.h"
#include "tui_inspect.h"
#include "tui_layout.h"
#include "tui_lua.h"
#include "tui_output.h"
#include "tui_prompt.h"
#include "tui_sampler.h"
#include "tui_status.h"
#include "tui_term.h"
#include "tui_tree.h"
#include "tui_ws.h"
#include "vis.h"

enum { OV_NONE = 0, OV_HELP, OV_CMDLINE, OV_CONFIRM };
#define FRAME_S (1.0 / 30)
#define MSG_S 6.0

struct tui {
    tui_opts o;
    lconfig cfg;                /* the workspace's config.lua (o.plugin_names points into it) */
    tui_term term;
    session s;
    bool s_ok;                  /* s is initialized */
    tui_ws *ws;
    tui_lua *lua;
    pane *panes[TUI_MAX_PANES];
    int n_panes;
    int focus, zoom, tab_wide, tab_narrow;
    pane *help, *cmdline;
    int overlay;
    char question[256];
    void (*yes)(tui *t, void *ud);
    void *yes_ud;
    canvas cv;
    tui_layout_out lay;
    bool dirty, quit;
    double last_draw, last_rss;
    uint64_t rss, drawn_version;
    int n_tabs, tab_x[TUI_MAX_PANES], tab_w[TUI_MAX_PANES], tab_pane[TUI_MAX_PANES];   /* the slot's tab strip, last frame */
    int tab_y;                                                                          /* its row */
    volatile sig_atomic_t sigquit, sigint, in_lua;
    bool term_up;               /* the terminal is open (tui_show_busy may draw) */
};

static tui *g_tui;      /* for the SIGINT handler */

/* ---- services ---------------------------------------------------------------- */

session *tui_session(tui *t) { return &t->s; }
struct lhost *tui_host(tui *t) { return tui_lua_host(t->lua); }
struct tui_lua *tui_plugins(tui *t) { return t->lua; }
bool tui_ascii(const tui *t) { return !t->term.utf8; }
int tui_focused(const tui *t) { return t->focus; }
void tui_dirty(tui *t) { t->dirty = true; }
struct pane *tui_pane(tui *t, int i) { return i >= 0 && i < t->n_panes ? t->panes[i] : NULL; }
struct tui_ws *tui_workspace(tui *t) { return t->ws; }
void tui_lua_enter(tui *t) {
    if (t->lua) lhost_set_session(tui_lua_host(t->lua), tui_ws_current(t->ws));   /* :session switches */
    t->in_lua++;
}

void tui_show_busy(tui *t, const char *who, double seconds) {
    if (!t->term_up || t->lay.too_small || t->lay.status.w < 8) return;
    canvas_view full = canvas_full(&t->cv);
    canvas_view sv = canvas_sub(&full, t->lay.status.x, t->lay.status.y, t->lay.status.w, 1);
    char msg[256];
    snprintf(msg, sizeof msg, "running Lua (%s) for %.1f s%s Ctrl-C stops it", who, seconds,
             tui_ascii(t) ? "..." : "\xE2\x80\xA6");
    canvas_fill(&sv, 0, 0, sv.w, 1, ' ', PAL_WARN);
    canvas_put(&sv, 1, 0, PAL_WARN | PAL_F_BOLD, msg, strlen(msg), sv.w - 2);
    tui_term_blit(&t->term, &t->cv);
    t->dirty = true;                    /* the next frame draws the real status line again */
}
void tui_lua_leave(tui *t) { t->in_lua--; }

void tui_focus(tui *t, int i) {
    if (i < 0 || i >= t->n_panes) return;
    t->focus = i;
    if (t->zoom >= 0) t->zoom = i;      /* zoomed: the zoom follows the focus */
    t->dirty = true;
}

void tui_zoom(tui *t) {
    t->zoom = t->zoom >= 0 ? -1 : t->focus;
    t->dirty = true;
}

void tui_close_overlay(tui *t) {
    t->overlay = OV_NONE;
    t->dirty = true;
}

void tui_help(tui *t) {
    t->overlay = OV_HELP;
    t->dirty = true;
}

void tui_cmdline(tui *t, const char *prefill) {
    tui_cmdline_open(t->cmdline, prefill);
    t->overlay = OV_CMDLINE;
    t->dirty = true;
}

void tui_command(tui *t, const char *line) {
    tui_cmd_run(t, line);
    t->dirty = true;
}

void tui_confirm(tui *t, const char *question, void (*yes)(tui *t, void *ud), void *ud) {
    snprintf(t->question, sizeof t->question, "%s", question);
    t->yes = yes;
    t->yes_ud = ud;
    t->overlay = OV_CONFIRM;
    t->dirty = true;
}

void tui_print(tui *t, const char *text, size_t len, bool is_error) {
    if (t->n_panes > PANE_CONSOLE) tui_console_print(t->panes[PANE_CONSOLE], text, len, is_error);
    t->dirty = true;
}

void tui_ui_get(const tui *t, tui_ws_ui *ui) {
    *ui = (tui_ws_ui){ t->focus, t->zoom, t->tab_wide, t->tab_narrow };
}

void tui_ui_set(tui *t, const tui_ws_ui *ui) {
    /* plugin panes may not be there (yet): what does not fit is left as it is */
    if (ui->focus >= 0 && ui->focus < t->n_panes) t->focus = ui->focus;
    if (ui->zoom >= -1 && ui->zoom < t->n_panes) t->zoom = ui->zoom;
    if (ui->tab_wide >= 0 && ui->tab_wide < t->n_panes && tui_layout_in_slot(ui->tab_wide, false)) t->tab_wide = ui->tab_wide;
    if (ui->tab_narrow >= 0 && ui->tab_narrow < t->n_panes && tui_layout_in_slot(ui->tab_narrow, true))
        t->tab_narrow = ui->tab_narrow;
    t->dirty = true;
}

static void quit_yes(tui *t, void *ud) { (void)ud; t->quit = true; }

/* A background training (:train, lab.train{background = true}) would stop
 * with the workbench: after its step, its checkpoint written, but a run of
 * hours ended by a stray q. So quitting asks while one trains. */
static bool ask_training(tui *t) {
    int n = t->lua ? lhost_trainings(tui_lua_host(t->lua)) : 0;
    if (n <= 0) return false;
    char q[256];
    snprintf(q, sizeof q, "%d training run%s still training: quitting stops %s after the current step "
             "(checkpoint kept; resume=true continues). Quit anyway? (y/n)", n, n == 1 ? " is" : "s are",
             n == 1 ? "it" : "them");
    tui_confirm(t, q, quit_yes, NULL);
    return true;
}

void tui_quit(tui *t, bool force) {
    tui_ws_ui ui;
    tui_ui_get(t, &ui);
    char err[512];
    if (force) { t->quit = true; return; }
    if (tui_ws_flush(t->ws, &t->s, &ui, err, sizeof err) != 0) {
        tui_confirm(t, "The workspace could not save everything (see the console). Quit anyway? (y/n)", quit_yes, NULL);
        return;
    }
    if (!ask_training(t)) t->quit = true;
}

int tui_add_pane(tui *t, struct pane *p) {
    if (t->n_panes >= TUI_MAX_PANES) return -1;
    t->panes[t->n_panes++] = p;
    t->dirty = true;
    return 0;
}

int tui_pane_of_hook(const tui *t, int hook) {
    for (int i = PANE_N_FIXED; i < t->n_panes; i++)
        if (t->panes[i]->hook == hook) return i;
    return -1;
}

static int fix_index(int v, int gone) { return v == gone ? -1 : v > gone ? v - 1 : v; }

void tui_remove_pane(tui *t, int hook) {
    for (int i = PANE_N_FIXED; i < t->n_panes; i++) {
        if (t->panes[i]->hook != hook) continue;
        pane_destroy(t->panes[i]);
        memmove(t->panes + i, t->panes + i + 1, sizeof t->panes[0] * (size_t)(t->n_panes - i - 1));
        t->n_panes--;
        t->focus = fix_index(t->focus, i);
        if (t->focus < 0) t->focus = PANE_OUTPUT;
        t->zoom = fix_index(t->zoom, i);
        t->tab_wide = fix_index(t->tab_wide, i);
        t->tab_narrow = fix_index(t->tab_narrow, i);
        t->dirty = true;
        return;
    }
}

/* ---- drawing -------------------------------------------------------------------- */

static void draw_frame(tui *t, tui_rect r, const char *title, bool focused) {
    canvas_view full = canvas_full(&t->cv);
    canvas_view v = canvas_sub(&full, r.x, r.y, r.w, r.h);
    if (v.w < 2 || v.h < 2) return;
    bool a = tui_ascii(t);
    uint16_t st = focused ? PAL_BORDER_FOCUS : PAL_BORDER;
    uint32_t hz = a ? '-' : 0x2500, vt = a ? '|' : 0x2502;
    canvas_fill(&v, 1, 0, v.w - 2, 1, hz, st);
    canvas_fill(&v, 1, v.h - 1, v.w - 2, 1, hz, st);
    canvas_fill(&v, 0, 1, 1, v.h - 2, vt, st);
    canvas_fill(&v, v.w - 1, 1, 1, v.h - 2, vt, st);
    canvas_putc(&v, 0, 0, st, a ? '+' : 0x256D);             /* ╭ */
    canvas_putc(&v, v.w - 1, 0, st, a ? '+' : 0x256E);       /* ╮ */
    canvas_putc(&v, 0, v.h - 1, st, a ? '+' : 0x2570);       /* ╰ */
    canvas_putc(&v, v.w - 1, v.h - 1, st, a ? '+' : 0x256F); /* ╯ */
    if (v.w > 6) canvas_put(&v, 2, 0, focused ? PAL_TITLE_FOCUS : PAL_TITLE, title, strlen(title), v.w - 4);
}

/* Cuts title (NUL-terminated, UTF-8) to maxw columns with "… " at its end. */
static void cut_title(char *title, int maxw) {
    size_t n = strlen(title);
    if (maxw < 3 || vis_width(title, n) <= maxw) return;
    while (n > 0 && vis_width(title, n) > maxw - 2) {
        n--;
        while (n > 0 && ((unsigned char)title[n] & 0xC0) == 0x80) n--;   /* not inside a character */
    }
    memcpy(title + n, "\xE2\x80\xA6 ", 5);     /* "… " */
}

/* maxtitle: the columns the title may take. */
static void draw_pane(tui *t, int i, tui_rect r, bool focused, int maxtitle) {
    pane *p = t->panes[i];
    char title[160], name[140];
    pane_title(p, name, sizeof name);
    snprintf(title, sizeof title, " %d %s ", i + 1, name);   /* the key that focuses it (:pane N past 9) */
    cut_title(title, maxtitle);
    draw_frame(t, r, title, focused);
    tui_rect in = tui_layout_inner(r);
    if (in.w != p->w || in.h != p->h) {
        p->w = in.w;
        p->h = in.h;
        if (p->iface->resize) p->iface->resize(p, in.w, in.h);
    }
    canvas_view full = canvas_full(&t->cv);
    canvas_view v = canvas_sub(&full, in.x, in.y, in.w, in.h);
    if (v.w > 0 && v.h > 0) p->iface->draw(p, &v, focused);
}

/* A tab's label: the pane's number and the first chars characters of its
 * name ("7 proxy", "7 pro", 2: "7pr"; chars 0: the number alone). */
static void tab_label(tui *t, int pane, int chars, char *buf, size_t cap) {
    char name[140];
    pane_name(t->panes[pane], name, sizeof name);
    size_t n = 0;
    for (int c = 0; name[n] && c < chars; c++) {
        n++;
        while (((unsigned char)name[n] & 0xC0) == 0x80) n++;    /* the whole character */
    }
    if (chars > 0 && n > 0) snprintf(buf, cap, chars > 2 ? "%d %.*s" : "%d%.*s", pane + 1, (int)n, name);
    else snprintf(buf, cap, "%d", pane + 1);
}

/* The tab strip of the slot: the panes that share it (the shown one
 * highlighted), each as its number and a short name ("6 sampl 7 agent 11
 * tree"), on the top border right of the title when they fit; else on the
 * bottom border, with names as short as it takes ("6sa 7ag 16tr"); else the
 * numbers alone beside the title; else "+N" (N more panes here); else
 * nothing. Clicks on a tab switch to it; on
 * "+N", to the next pane. The names say which number is which plugin's pane
 * (session 14's trial: "4 6 7 8 ... 16" told nothing); :pane lists them. */
static void draw_tabs(tui *t, tui_rect r) {
    canvas_view full = canvas_full(&t->cv);
    char lab[160], title[160], name[140];
    int n = 0, members[TUI_MAX_PANES], at = 0;
    for (int j = 0; j < t->n_panes; j++)
        if (tui_layout_in_slot(j, t->lay.narrow)) {
            if (j == t->lay.slot) at = n;
            members[n++] = j;
        }
    t->n_tabs = 0;
    if (n < 2 || t->lay.slot < 0) return;
    pane_title(t->panes[t->lay.slot], name, sizeof name);
    snprintf(title, sizeof title, " %d %s ", t->lay.slot + 1, name);
    int title_end = r.x + 2 + vis_width(title, strlen(title));     /* first column after the title */
    static const struct { int chars; bool top; } level[] = { { 5, true }, { 3, true }, { 5, false }, { 3, false },
                                                              { 2, false }, { 0, true } };
    for (int c = 0; c < (int)(sizeof level / sizeof level[0]); c++) {
        int w = 0;
        for (int k = 0; k < n; k++) {
            tab_label(t, members[k], level[c].chars, lab, sizeof lab);
            w += 1 + vis_width(lab, strlen(lab));
        }
        int x = level[c].top ? r.x + r.w - 2 - w : r.x + 1, y = level[c].top ? r.y : r.y + r.h - 1;
        if (level[c].top ? x <= title_end : x + w + 1 > r.x + r.w - 1) continue;
        t->tab_y = y;
        for (int k = 0; k < n; k++) {
            tab_label(t, members[k], level[c].chars, lab, sizeof lab);
            uint16_t st = members[k] == t->lay.slot ? PAL_TITLE_FOCUS : PAL_DIM;
            int lw = vis_width(lab, strlen(lab));
            t->tab_x[t->n_tabs] = x + 1;
            t->tab_w[t->n_tabs] = lw;
            t->tab_pane[t->n_tabs++] = members[k];
            canvas_puts(&full, x + 1, y, st, lab);
            x += 1 + lw;
        }
        return;
    }
    int lw = snprintf(lab, sizeof lab, " +%d ", n - 1);
    int x = r.x + r.w - 2 - lw;
    if (x <= title_end) return;
    canvas_puts(&full, x, r.y, PAL_DIM, lab);
    t->tab_y = r.y;
    t->tab_x[0] = x;
    t->tab_w[0] = lw;
    t->tab_pane[0] = members[(at + 1) % n];
    t->n_tabs = 1;
}

static void draw_status(tui *t, const canvas_view *v) {
    worker_stats st;
    worker_get_stats(t->s.w, &st);
    double now = cli_now();
    if (now - t->last_rss >= 1.0) { t->rss = tui_status_rss(); t->last_rss = now; }
    char plugins[256] = "";
    tui_lua_status(t->lua, plugins, sizeof plugins);
    tui_status_info i = {
        t->s.model_name, st.backend, st.n_threads, st.tok_s, st.kv_used, st.kv_size, st.n_seq, t->rss,
        t->s.loading ? "loading model" : session_busy(&t->s) ? (t->s.gen_free ? "generating, Esc stops" : "stepping") : "",
        now - t->s.msg_time < MSG_S ? t->s.msg : NULL, t->s.msg_level, plugins, t->s.dirty, t->s.save_failed,
    };
    tui_status_draw(v, &i);
}

static void draw_confirm(tui *t) {
    canvas_view full = canvas_full(&t->cv);
    int qw = vis_width(t->question, strlen(t->question));
    int w = qw + 4 < t->cv.w - 2 ? qw + 4 : t->cv.w - 2, h = 3;
    tui_rect r = { (t->cv.w - w) / 2, (t->cv.h - h) / 2, w, h };
    canvas_view box = canvas_sub(&full, r.x, r.y, r.w, r.h);
    canvas_fill(&box, 0, 0, box.w, box.h, ' ', PAL_POPUP);
    draw_frame(t, r, " ? ", true);
    canvas_put(&box, 2, 1, PAL_POPUP | PAL_F_BOLD, t->question, strlen(t->question), box.w - 4);
}

static void draw_too_small(tui *t) {
    canvas_view v = canvas_full(&t->cv);
    char l1[] = "terminal too small", l2[64];
    snprintf(l2, sizeof l2, "%dx%d, needs %dx%d", t->cv.w, t->cv.h, TUI_MIN_W, TUI_MIN_H);
    int y = t->cv.h / 2 - 1;
    canvas_puts(&v, (t->cv.w - (int)strlen(l1)) / 2, y, PAL_WARN, l1);
    canvas_puts(&v, (t->cv.w - (int)strlen(l2)) / 2, y + 1, PAL_NORMAL, l2);
}

/* The whole frame into the canvas (no terminal needed). */
static void render(tui *t, int w, int h) {
    if (w != t->cv.w || h != t->cv.h) canvas_resize(&t->cv, w, h);
    canvas_view full = canvas_full(&t->cv);
    canvas_fill(&full, 0, 0, w, h, ' ', PAL_NORMAL);
    tui_layout_in in = { w, h, t->n_panes, t->focus, t->zoom, t->tab_wide, t->tab_narrow,
                         field_rows(&t->s.prompt, w * 3 / 5 - 2) };
    tui_layout(&in, &t->lay);
    if (t->lay.too_small) { draw_too_small(t); return; }
    if (t->lay.slot >= 0) {                    /* the slot remembers what it showed */
        if (t->lay.narrow) t->tab_narrow = t->lay.slot;
        else t->tab_wide = t->lay.slot;
    }
    for (int i = 0; i < t->n_panes; i++)
        if (t->lay.shown[i]) draw_pane(t, i, t->lay.pane[i], i == t->focus && t->overlay != OV_HELP, t->lay.pane[i].w - 4);
    t->n_tabs = 0;
    if (t->lay.slot >= 0) draw_tabs(t, t->lay.slot_rect);
    canvas_view sv = canvas_sub(&full, t->lay.status.x, t->lay.status.y, t->lay.status.w, 1);
    if (t->overlay == OV_CMDLINE) {
        t->cmdline->iface->draw(t->cmdline, &sv, true);
        const char *hint = tui_cmdline_hint(t->cmdline);
        if (hint && t->lay.status.y > 0) {      /* Tab's matches, on the row above */
            canvas_view hv = canvas_sub(&full, t->lay.status.x, t->lay.status.y - 1, t->lay.status.w, 1);
            canvas_fill(&hv, 0, 0, hv.w, 1, ' ', PAL_POPUP);
            size_t n = strlen(hint);
            int used = canvas_put(&hv, 1, 0, PAL_POPUP, hint, n, hv.w - 2);
            if (vis_width(hint, n) > hv.w - 2 && hv.w > 3) canvas_putc(&hv, hv.w - 2, 0, PAL_POPUP, 0x2026);
            (void)used;
        }
    } else draw_status(t, &sv);
    if (t->overlay == OV_HELP) {
        tui_rect r = { 2, 1, w - 4, h - 3 };
        canvas_view box = canvas_sub(&full, r.x, r.y, r.w, r.h);
        canvas_fill(&box, 0, 0, box.w, box.h, ' ', PAL_NORMAL);
        draw_frame(t, r, " Key bindings  (Esc closes, arrows scroll) ", true);
        tui_rect in2 = tui_layout_inner(r);
        canvas_view hv = canvas_sub(&full, in2.x + 1, in2.y, in2.w - 2, in2.h);
        t->help->w = hv.w;
        t->help->h = hv.h;
        t->help->iface->draw(t->help, &hv, true);
    }
    if (t->overlay == OV_CONFIRM) draw_confirm(t);
}

/* ---- input ----------------------------------------------------------------------- */

static int send_key(tui *t, pane *p, keys_code k) {
    int a = keys_action(p->scope, k);
    if (a == ACT_NONE && p->text_input) a = keys_action(SC_FIELD, k);
    int r = p->iface->handle_key(p, k, a);
    if (r & (PANE_HANDLED | PANE_REDRAW)) t->dirty = true;
    if (r & PANE_QUIT) tui_quit(t, false);
    return r;
}

static void run_action(tui *t, int a) {
    session *s = &t->s;
    switch (a) {
    case ACT_QUIT: tui_quit(t, false); break;
    case ACT_HELP: tui_help(t); break;
    case ACT_CMDLINE: tui_cmdline(t, ""); break;
    case ACT_FOCUS_NEXT: tui_focus(t, (t->focus + 1) % t->n_panes); break;
    case ACT_FOCUS_PREV: tui_focus(t, (t->focus + t->n_panes - 1) % t->n_panes); break;
    case ACT_FOCUS_PROMPT: case ACT_FOCUS_OUTPUT: case ACT_FOCUS_INSPECT:
    case ACT_FOCUS_TREE: case ACT_FOCUS_CONSOLE: case ACT_FOCUS_SAMPLER:
    case ACT_FOCUS_7: case ACT_FOCUS_8: case ACT_FOCUS_9:
        if (a - ACT_FOCUS_PROMPT >= t->n_panes) session_msg(s, SESS_INFO, "no pane %d (plugins add panes 7 on)", a - ACT_FOCUS_PROMPT + 1);
        tui_focus(t, a - ACT_FOCUS_PROMPT);
        break;
    case ACT_ZOOM: tui_zoom(t); break;
    case ACT_STEP: session_gen(s, 1); break;
    case ACT_GENERATE: session_gen(s, -1); break;
    case ACT_STOP:
        if (session_busy(s)) session_stop(s);
        else if (t->zoom >= 0) t->zoom = -1;
        break;
    case ACT_INTERRUPT: session_stop(s); break;
    case ACT_REWIND: session_rewind(s); break;
    case ACT_REGEN: session_regen(s); break;
    case ACT_HEAT_MODE:
        s->heat = (s->heat + 1) % PAL_N_HEAT_KINDS;
        session_msg(s, SESS_INFO, "colour by %s", palette_heat_name(s->heat));
        break;
    case ACT_RAWPOST:
        s->show_post = !s->show_post;
        session_msg(s, SESS_INFO, "%s probabilities", s->show_post ? "post-sampler" : "raw");
        break;
    case ACT_SIB_PREV: session_sibling(s, -1); break;
    case ACT_SIB_NEXT: session_sibling(s, 1); break;
    case ACT_SAVE: tui_command(t, "save"); break;
    case ACT_REDRAW: tui_term_redraw(); break;
    default: return;
    }
    t->dirty = true;
}

static void on_key(tui *t, keys_code k) {
    t->dirty = true;
    if (t->overlay == OV_CONFIRM) {
        if (k == 'y' || k == 'Y') {
            void (*yes)(tui *, void *) = t->yes;
            void *ud = t->yes_ud;
            t->overlay = OV_NONE;
            if (yes) yes(t, ud);
        } else if (k == 'n' || k == 'N' || k == K_ESC || k == 'q') t->overlay = OV_NONE;
        return;
    }
    if (t->overlay == OV_HELP) { send_key(t, t->help, k); return; }
    if (t->overlay == OV_CMDLINE) { send_key(t, t->cmdline, k); return; }
    pane *p = t->panes[t->focus];
    if (send_key(t, p, k) & PANE_HANDLED) return;
    if (p->text_input) return;
    int a = keys_action(SC_GLOBAL, k);
    if (a != ACT_NONE) run_action(t, a);
    else tui_lua_key(t->lua, k);
}

static bool inside(tui_rect r, int x, int y) { return x >= r.x && y >= r.y && x < r.x + r.w && y < r.y + r.h; }

static void on_mouse(tui *t, const tui_ev *e) {
    if (t->lay.too_small || t->overlay == OV_CONFIRM || t->overlay == OV_CMDLINE) return;
    if (t->overlay == OV_HELP) {
        if (e->button == PANE_CLICK) tui_close_overlay(t);
        else t->help->iface->mouse(t->help, 0, 0, e->button);
        t->dirty = true;
        return;
    }
    for (int k = 0; k < t->n_tabs && e->button == PANE_CLICK; k++)
        if (e->y == t->tab_y && e->x >= t->tab_x[k] && e->x < t->tab_x[k] + t->tab_w[k]) {
            tui_focus(t, t->tab_pane[k]);
            return;
        }
    for (int i = 0; i < t->n_panes; i++) {
        if (!t->lay.shown[i] || !inside(t->lay.pane[i], e->x, e->y)) continue;
        pane *p = t->panes[i];
        if (e->button == PANE_CLICK) tui_focus(t, i);
        tui_rect in = tui_layout_inner(t->lay.pane[i]);
        if (p->iface->mouse && inside(in, e->x, e->y)) p->iface->mouse(p, e->x - in.x, e->y - in.y, e->button);
        t->dirty = true;
        return;
    }
}

/* ---- the loop ---------------------------------------------------------------------- */

static void on_sigint(void) {
    tui *t = g_tui;
    if (!t) return;
    worker_stop(t->s.w);
    if (t->in_lua && t->lua) lhost_interrupt(tui_lua_host(t->lua));
    t->sigint = 1;
}

static void on_log(void *ud, const char *text, bool is_error) {
    tui_print(ud, text, strlen(text), is_error);
}

static int poll_timeout(tui *t, double now) {
    tui_ws_ui ui;
    tui_ui_get(t, &ui);
    int wm = tui_ws_next_ms(t->ws, &t->s, &ui);
    double wait = 1.0;                          /* the status bar's numbers refresh each second */
    if (session_busy(&t->s) || t->s.loading) wait = FRAME_S;
    if (t->dirty) {
        double due = t->last_draw + FRAME_S - now;
        wait = due < 0 ? 0 : due;
    }
    if (t->s.msg_time > 0 && now - t->s.msg_time < MSG_S) {
        double left = MSG_S - (now - t->s.msg_time) + 0.01;
        if (left < wait) wait = left;
    }
    int ms = (int)(wait * 1000);
    int lm = tui_lua_next_ms(t->lua);
    if (lm >= 0 && lm < ms) ms = lm;
    if (wm >= 0 && wm < ms) ms = wm;
    return ms;
}

static void drain(int fd) {
    char buf[256];
    while (fd >= 0 && read(fd, buf, sizeof buf) > 0) {}
}

static void loop(tui *t, int sig_fd) {
    double next_status = 0;
    while (!t->quit && !t->sigquit) {
        double now = cli_now();
        struct pollfd fds[4] = {
            { STDIN_FILENO, POLLIN, 0 }, { worker_fd(t->s.w), POLLIN, 0 },
            { sig_fd, POLLIN, 0 }, { tui_lua_fd(t->lua), POLLIN, 0 },
        };
        int rc = poll(fds, t->lua ? 4 : 3, poll_timeout(t, now));
        bool input = false;
        if (rc > 0 && (fds[2].revents & POLLIN)) drain(sig_fd);
        /* Ctrl-C stops the plugin work in flight, also when no Lua was on
         * the CPU to take it (on_sigint reaches only that): a task awaiting
         * engine work (a :tree search's step) fails from its lab.await, and
         * its pcall ends the work; a queued step is cancelled */
        if (t->sigint) {
            t->sigint = 0;
            if (t->lua) lhost_interrupt_waiting(tui_lua_host(t->lua));
            session_msg(&t->s, SESS_INFO, "interrupted (Ctrl-C)");
        }
        if (rc < 0 || (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) || rc == 0) {
            tui_ev e;
            for (int k = 0; k < 4096 && tui_term_read(&t->term, &e); k++) {
                input = true;
                if (e.kind == TEV_KEY) on_key(t, e.key);
                else if (e.kind == TEV_MOUSE) on_mouse(t, &e);
                else if (e.kind == TEV_RESIZE) t->dirty = true;
                if (t->quit) break;
            }
        }
        if (session_poll(&t->s)) t->dirty = true;
        if (t->lua && tui_lua_tick(t->lua)) t->dirty = true;
        tui_ws_ui ui;
        tui_ui_get(t, &ui);
        tui_ws_tick(t->ws, &t->s, &ui);
        now = cli_now();
        if (t->s.version != t->drawn_version) t->dirty = true;
        if (now >= next_status) { t->dirty = true; next_status = now + 1.0; }
        if (t->dirty && (input || now - t->last_draw >= FRAME_S)) {
            int w, h;
            tui_term_size(&w, &h);
            t->drawn_version = t->s.version;
            render(t, w, h);
            tui_term_blit(&t->term, &t->cv);
            t->last_draw = now;
            t->dirty = false;
        }
    }
}

static int create_panes(tui *t) {
    pane *(*const make[PANE_N_FIXED])(tui *) = {
        tui_prompt_create, tui_output_create, tui_inspect_create, tui_tree_create, tui_console_create, tui_sampler_create,
    };
    for (int i = 0; i < PANE_N_FIXED; i++) {
        if (!(t->panes[i] = make[i](t))) return -1;
        t->n_panes++;
    }
    t->help = tui_help_create(t);
    t->cmdline = tui_cmdline_create(t);
    return t->help && t->cmdline ? 0 : -1;
}

static void destroy(tui *t) {
    tui_lua_destroy(t->lua);            /* before the store it borrows */
    t->lua = NULL;
    tui_ws_ui ui;
    tui_ui_get(t, &ui);
    tui_ws_close(t->ws, t->s_ok ? &t->s : NULL, &ui);
    t->ws = NULL;
    if (t->s_ok) session_fini(&t->s);
    for (int i = 0; i < t->n_panes; i++) pane_destroy(t->panes[i]);
    pane_destroy(t->help);
    pane_destroy(t->cmdline);
    canvas_fini(&t->cv);
    g_tui = NULL;
    lconfig_free(&t->cfg);
    free(t);
}

/* Which model to open and which stored session to reopen (*sid 0: none):
 * the most recent session and its model, unless -m names another file
 * (then a new session starts on it). *missing: the session's model file is
 * gone. */
static int choose(tui_ws *ws, const tui_opts *o, const char *cfg_model, int64_t *sid, bool *missing, char *path,
                  size_t cap, char *note, size_t notecap, char *err, size_t errlen) {
    char rec[4096];
    *missing = false;
    note[0] = 0;
    if (tui_ws_latest(ws, sid, rec, sizeof rec, err, errlen)) return -1;
    if (*sid && rec[0] && !o->model) {
        snprintf(path, cap, "%s", rec);
        *missing = access(rec, R_OK) != 0;
        return 0;
    }
    if (!o->model && cfg_model) {       /* config.lua's model: a name in the model folders, or a path */
        char rel[4200], merr[2048];
        const char *name = cfg_model;
        if (strchr(cfg_model, '/') && cfg_model[0] != '/') {   /* relative to the workspace */
            snprintf(rel, sizeof rel, "%s/%s", tui_ws_dir(ws), cfg_model);
            name = rel;
        }
        if (mpath_resolve(name, path, cap, merr, sizeof merr)) {
            snprintf(err, errlen, "%s/" STORE_CONFIG_NAME ": model %s: %s", tui_ws_dir(ws), cfg_model, merr);
            return -1;
        }
    } else if (mpath_resolve(o->model, path, cap, err, errlen)) {
        return -1;
    }
    if (*sid && rec[0] && !tui_ws_same_file(path, rec)) {
        snprintf(note, notecap, "session %lld was on %s: a new session starts on this model", (long long)*sid, rec);
        *sid = 0;
    }
    return 0;
}

/* Reopens stored session sid into the fresh session (after session_open). */
static void reopen(tui *t, int64_t sid, bool missing) {
    char lerr[512];
    tui_ws_ui ui;
    tui_ui_get(t, &ui);
    if (tui_ws_load(t->ws, &t->s, sid, &ui, lerr, sizeof lerr)) {
        session_msg(&t->s, SESS_ERROR, "workspace: %s", lerr);
        return;
    }
    tui_ui_set(t, &ui);
    if (missing)
        session_msg(&t->s, SESS_ERROR, "the model of session %lld is missing (%s): its tree is shown without it; "
                    ":open MODEL starts a new session", (long long)sid, t->s.model_path);
    else session_msg(&t->s, SESS_INFO, "reopened session %lld (%d nodes)", (long long)sid, (int)t->s.tree.n_alive);
}

/* config.lua's sampler settings, through :set's checks (session_set). */
static void apply_sampler(tui *t) {
    for (int i = 0; i < t->cfg.n_sampler; i++) {
        const char *name = t->cfg.sampler[2 * i], *value = t->cfg.sampler[2 * i + 1];
        if (!strcmp(name, "order") && !strcmp(value, SMP_DEFAULT_CHAIN)) value = "default";
        char e[512];
        if (session_set(&t->s, name, value, e, sizeof e))
            session_msg(&t->s, SESS_ERROR, "%s/" STORE_CONFIG_NAME ": sampler.%s: %s (left out)", tui_ws_dir(t->ws), name, e);
    }
}

int tui_run(const tui_opts *o, char *err, size_t errlen) {
    char path[4096], note[4200];
    int64_t sid;
    bool missing;
    tui_ws *ws;
    if (tui_ws_open(&ws, o->workspace ? o->workspace : STORE_DEFAULT_DIR, err, errlen)) return -1;
    /* the workspace's config.lua: default model, a new session's sampler,
     * the plugins to load; a broken one is reported and left out */
    lconfig cfg;
    char cpath[4200], cerr[1024] = "";
    snprintf(cpath, sizeof cpath, "%s/" STORE_CONFIG_NAME, tui_ws_dir(ws));
    int crc = lconfig_read(cpath, &cfg, cerr, sizeof cerr);
    if (crc == LHOST_ENOENT) cerr[0] = 0;
    if (choose(ws, o, cfg.model, &sid, &missing, path, sizeof path, note, sizeof note, err, errlen)) {
        lconfig_free(&cfg);
        tui_ws_close(ws, NULL, NULL);
        return -1;
    }
    tui *t = calloc(1, sizeof *t);
    if (!t) { lconfig_free(&cfg); tui_ws_close(ws, NULL, NULL); snprintf(err, errlen, "out of memory"); return -1; }
    t->ws = ws;
    t->o = *o;
    t->cfg = cfg;
    if (cfg.n_plugins) t->o.plugin_names = (const char *const *)t->cfg.plugins;
    t->zoom = -1;
    t->tab_wide = PANE_TREE;
    t->tab_narrow = PANE_INSPECT;
    t->focus = PANE_OUTPUT;
    canvas_init(&t->cv, 0, 0);
    g_tui = t;
    /* threads started from here on inherit a mask without these signals */
    sigset_t block, old;
    sigemptyset(&block);
    const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGWINCH, SIGTSTP, SIGCONT, SIGQUIT };
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaddset(&block, sigs[i]);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    int rc = session_init(&t->s, err, errlen);
    t->s_ok = rc == 0;
    if (!rc) rc = create_panes(t);
    if (rc) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (!err[0]) snprintf(err, errlen, "out of memory");
        destroy(t);
        return -1;
    }
    t->s.log = on_log;
    t->s.log_ud = t;
    if (o->n_threads > 0) t->s.cp.n_threads = o->n_threads;
    if (o->n_ctx > 0) t->s.cp.n_ctx = o->n_ctx;
    if (missing) snprintf(t->s.model_path, sizeof t->s.model_path, "%.1023s", path);   /* gone: not opened */
    else session_open(&t->s, path);
    if (sid) reopen(t, sid, missing);
    else apply_sampler(t);              /* a new session starts with config.lua's settings */
    if (cerr[0]) session_msg(&t->s, SESS_ERROR, "%s (left out)", cerr);
    if (note[0]) session_msg(&t->s, SESS_WARN, "%s", note);
    if (o->prompt) field_set(&t->s.prompt, o->prompt);
    else if (!sid && !field_text(&t->s.prompt)[0]) {
        /* a first open with nothing to show: what a new user types is the
         * prompt, not commands (Esc leaves it) */
        t->focus = PANE_PROMPT;
        tui_prompt_edit(t->panes[PANE_PROMPT]);
    }
    if (o->lua) {
        char lerr[512];
        if (tui_lua_create(&t->lua, t, &t->o, lerr, sizeof lerr)) {
            char msg[600];
            int k = snprintf(msg, sizeof msg, "Lua host: %s", lerr);
            tui_print(t, msg, (size_t)(k < (int)sizeof msg ? k : (int)sizeof msg - 1), true);
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (tui_term_open(&t->term, o->colors, o->mouse, err, errlen)) { destroy(t); return -1; }
    t->term_up = true;
    int sig_fd = tui_term_signals(on_sigint, &t->sigquit);
    t->dirty = true;
    loop(t, sig_fd);
    t->term_up = false;
    tui_term_close(&t->term);
    tui_term_signals_reset();
    destroy(t);
    return 0;
}
