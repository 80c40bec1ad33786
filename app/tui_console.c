/* tui_console: the REPL pane (see tui_console.h). The scrollback is a ring
 * of at most MAX_LINES lines; rows wrap at draw time, drawn from the bottom
 * up. The history keeps submitted lines (MAX_HIST). */
#include "tui_console.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "field.h"
#include "hist.h"
#include "lhost.h"
#include "palette.h"
#include "pane.h"
#include "session.h"
#include "tui.h"
#include "vis.h"

#define MAX_LINES 4000
#define MAX_HIST 200

typedef struct line { char *text; uint8_t kind; } line;   /* kind: 0 output, 1 error, 2 echo */

typedef struct con_pane {
    struct tui *t;
    line *lines;            /* ring of MAX_LINES */
    int32_t first, n;
    int32_t scroll;         /* rows up from the bottom; 0 follows */
    field in;
    char *pending;          /* an unfinished chunk, or NULL */
    hist hist;
} con_pane;

/* Keeps a copy of s[0..n) with tabs as two spaces and other control
 * characters as '?' (tracebacks indent with tabs). */
static void add_line(con_pane *o, const char *s, size_t n, uint8_t kind) {
    char *t = malloc(2 * n + 1);
    if (!t) return;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\t') { t[k++] = ' '; t[k++] = ' '; }
        else if (c == '\r') continue;
        else t[k++] = c < 0x20 || c == 0x7F ? '?' : (char)c;
    }
    t[k] = 0;
    if (o->n == MAX_LINES) {
        free(o->lines[o->first].text);
        o->lines[o->first] = (line){ t, kind };
        o->first = (o->first + 1) % MAX_LINES;
    } else {
        o->lines[(o->first + o->n) % MAX_LINES] = (line){ t, kind };
        o->n++;
    }
}

void tui_console_print(struct pane *p, const char *text, size_t len, bool is_error) {
    con_pane *o = p->ctx;
    size_t at = 0;
    while (at <= len) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t e = nl ? (size_t)(nl - text) : len;
        if (e > at || nl || at == 0) add_line(o, text + at, e - at, is_error ? 1 : 0);
        if (!nl) break;
        at = e + 1;
        if (at == len) break;                    /* a trailing newline adds no empty line */
    }
}

/* Lays s out at width w, wide characters never split over two rows (a
 * row ends early rather than cut one): calls put for each visible code point
 * from visual row skip on, at most rows rows; returns the rows s takes. */
static int layout_line(const canvas_view *v, int w, int y, const char *s, int skip, int rows, uint16_t st) {
    int row = 0, col = 0;
    size_t n = strlen(s);
    for (size_t at = 0; at < n;) {
        uint32_t cp;
        int l = vis_utf8_decode(s + at, n - at, &cp);
        if (!l) { cp = 0xFFFD; l = 1; }
        int cw = vis_cp_width(cp);
        if (cw < 0) { cp = '?'; cw = 1; }
        if (col + cw > w && col > 0) { row++; col = 0; }
        if (v && row - skip >= rows) break;
        if (v && row >= skip) canvas_putc(v, col, y + row - skip, st, cp);
        col += cw;
        at += (size_t)l;
    }
    return row + 1;
}

/* Rows line s takes at width w. */
static int rows_of(const char *s, int w) { return layout_line(NULL, w > 0 ? w : 1, 0, s, 0, 0, 0); }

/* Draws line s from visual row `skip` of it at y, up to rows rows. */
static void draw_line(const canvas_view *v, int y, const char *s, int skip, int rows, uint16_t st) {
    layout_line(v, v->w, y, s, skip, rows, st);
}

static void console_draw(pane *p, const canvas_view *v, bool focused) {
    (void)focused;
    con_pane *o = p->ctx;
    if (v->h <= 0 || v->w <= 0) return;
    int out_h = v->h - 1;
    /* the input row */
    const char *pr = o->pending ? ">> " : "> ";
    int px = canvas_puts(v, 0, v->h - 1, p->text_input ? PAL_KEY : PAL_DIM, pr);
    canvas_view iv = canvas_sub(v, px, v->h - 1, v->w - px, 1);
    if (p->text_input || o->in.len) field_draw(&o->in, &iv, PAL_NORMAL, p->text_input);
    else canvas_puts(&iv, 0, 0, PAL_DIM, tui_host(o->t) ? "i: type Lua (the lab API)" : "Lua is off");
    /* the scrollback, bottom up, skipping `scroll` rows */
    int y = out_h, skip = o->scroll;
    for (int32_t i = o->n - 1; i >= 0 && y > 0; i--) {
        const line *l = &o->lines[(o->first + i) % MAX_LINES];
        int r = rows_of(l->text, v->w);
        if (skip >= r) { skip -= r; continue; }
        int show = r - skip;                     /* rows of this line above the skipped ones */
        skip = 0;
        int top = y - show, from = 0;
        if (top < 0) { from = -top; top = 0; }
        uint16_t st = l->kind == 1 ? PAL_ERROR : l->kind == 2 ? PAL_KEY : PAL_NORMAL;
        draw_line(v, top, l->text, from, show - from, st);
        y = top;
    }
    if (o->scroll > 0) canvas_printf(v, v->w - 12 > 0 ? v->w - 12 : 0, 0, PAL_WARN, "[+%d rows]", (int)o->scroll);
}

static void submit(pane *p) {
    con_pane *o = p->ctx;
    const char *text = field_text(&o->in);
    char echo[64];
    snprintf(echo, sizeof echo, "%s", o->pending ? ">> " : "> ");
    size_t el = strlen(echo), tl = strlen(text);
    char *e = malloc(el + tl + 1);
    if (e) { memcpy(e, echo, el); memcpy(e + el, text, tl + 1); add_line(o, e, el + tl, 2); free(e); }
    hist_add(&o->hist, text);
    struct lhost *h = tui_host(o->t);
    if (!h) {
        tui_console_print(p, "Lua is off (started with --no-lua, or the host failed)", 55, true);
        field_set(&o->in, "");
        return;
    }
    size_t pl = o->pending ? strlen(o->pending) : 0;
    char *chunk = malloc(pl + tl + 2);
    if (!chunk) return;
    if (pl) { memcpy(chunk, o->pending, pl); chunk[pl++] = '\n'; }
    memcpy(chunk + pl, text, tl + 1);
    field_set(&o->in, "");
    char err[1024];
    tui_lua_enter(o->t);
    int rc = lhost_eval(h, chunk, false, err, sizeof err);
    tui_lua_leave(o->t);
    free(o->pending);
    o->pending = NULL;
    if (rc == LHOST_EINCOMPLETE) o->pending = chunk;
    else free(chunk);
    o->scroll = 0;
}

static int console_key(pane *p, keys_code k, int action) {
    con_pane *o = p->ctx;
    int page = p->h > 2 ? p->h - 2 : 1;
    if (!p->text_input) {
        switch (action) {
        case ACT_EDIT: p->text_input = true; p->scope = SC_CONSOLE_EDIT; break;
        case ACT_UP: o->scroll++; break;
        case ACT_DOWN: if (o->scroll > 0) o->scroll--; break;
        case ACT_PGUP: o->scroll += page; break;
        case ACT_PGDN: o->scroll = o->scroll > page ? o->scroll - page : 0; break;
        case ACT_END: o->scroll = 0; break;
        case ACT_CLEAR:
            for (int32_t i = 0; i < o->n; i++) free(o->lines[(o->first + i) % MAX_LINES].text);
            o->n = o->first = 0;
            o->scroll = 0;
            break;
        default: return PANE_IGNORED;
        }
        return PANE_HANDLED | PANE_REDRAW;
    }
    switch (action) {
    case ACT_LEAVE: p->text_input = false; p->scope = SC_CONSOLE; break;
    case ACT_RUN: submit(p); break;
    case ACT_HIST_PREV:
        { const char *l = hist_prev(&o->hist); if (l) field_set(&o->in, l); }
        break;
    case ACT_HIST_NEXT:
        field_set(&o->in, hist_next(&o->hist));
        break;
    case ACT_PGUP: o->scroll += page; break;
    case ACT_PGDN: o->scroll = o->scroll > page ? o->scroll - page : 0; break;
    default: field_key(&o->in, action, k); break;
    }
    return PANE_HANDLED | PANE_REDRAW;
}

static int console_mouse(pane *p, int x, int y, int button) {
    (void)x; (void)y;
    con_pane *o = p->ctx;
    if (button == PANE_WHEEL_UP) o->scroll += 3;
    else if (button == PANE_WHEEL_DOWN) o->scroll = o->scroll > 3 ? o->scroll - 3 : 0;
    return PANE_HANDLED | PANE_REDRAW;
}

static void console_title(pane *p, char *buf, size_t cap) {
    snprintf(buf, cap, "console%s", p->text_input ? " typing (Enter: run, Esc: done)" : "");
}

static void console_destroy(pane *p) {
    con_pane *o = p->ctx;
    for (int32_t i = 0; i < o->n; i++) free(o->lines[(o->first + i) % MAX_LINES].text);
    free(o->lines);
    hist_fini(&o->hist);
    free(o->pending);
    field_fini(&o->in);
    free(o);
}

static const pane_iface console_iface = {
    "console", console_draw, console_key, console_mouse, NULL, console_title, console_destroy,
};

struct pane *tui_console_create(struct tui *t) {
    con_pane *o = calloc(1, sizeof *o);
    if (!o || !(o->lines = calloc(MAX_LINES, sizeof *o->lines))) { free(o); return NULL; }
    o->t = t;
    hist_init(&o->hist, MAX_HIST);
    field_init(&o->in, false);
    field_set(&o->in, "");
    return pane_create(&console_iface, o, t, SC_CONSOLE);
}
