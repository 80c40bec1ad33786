/* tui_output: the output pane (see tui_output.h). Each frame walks the
 * path twice: once to find the cursor's row (to scroll), once to draw the
 * visible rows. The hit map (visible cell -> token) serves mouse clicks and
 * is rebuilt with each draw. */
#include "tui_output.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "loom.h"
#include "palette.h"
#include "pane.h"
#include "session.h"
#include "tui.h"
#include "tui_layout.h"
#include "tokwrap.h"
#include "vis.h"

typedef struct out_pane {
    struct tui *t;
    int32_t scroll;         /* first visible row */
    int32_t *row_of, *col_of; /* (cap) where each token starts */
    const loom_tok **toks;  /* (cap) the path's tokens, refilled each frame */
    int32_t laid;           /* tokens row_of/col_of describe (the last draw) */
    int32_t cap;
    int32_t *hit;           /* (hit_w * hit_h) token index per visible cell, -1 none */
    int hit_w, hit_h;
} out_pane;

/* ---- drawing --------------------------------------------------------------- */

typedef struct piece_ctx { session *s; const loom_tok **toks; } piece_ctx;

static int32_t path_piece(void *ud, int32_t i, char *buf, int32_t cap) {
    piece_ctx *p = ud;
    return session_piece(p->s, p->toks[i]->id, buf, cap);
}

/* The heat style of a token under the session's colouring. */
static uint16_t heat_style(const session *s, const loom_tok *t) {
    if (!t) return PAL_NORMAL;
    uint16_t extra = (t->flags & LOOM_TOK_PICKED) ? PAL_F_UNDER : 0;
    if (t->flags & LOOM_TOK_PROMPT) return PAL_PROMPT | extra;
    bool post = s->show_post && (t->flags & LOOM_TOK_POST);
    if (!(t->flags & LOOM_TOK_RAW)) return PAL_NORMAL | extra;
    int b;
    if (s->heat == PAL_HEAT_ENTROPY) {
        float h = post ? t->post.entropy : t->raw.entropy;
        if (isnan(h)) return PAL_NORMAL | extra;    /* read back from a workspace, not recomputed yet */
        b = palette_heat_entropy(h);
    }
    else if (s->heat == PAL_HEAT_RANK) {
        int32_t r = post ? t->rank_post : t->rank_raw;
        if (!r && !post && (t->flags & LOOM_TOK_STORED)) r = LOOM_TOPK + 1;   /* stored: beyond the alternatives kept */
        b = palette_heat_rank(r);
    }
    else b = palette_heat_prob(exp(post ? t->lp_post : t->lp_raw));
    return (uint16_t)(PAL_HEAT0 + b) | extra;
}

typedef struct draw_ctx {
    out_pane *o;
    session *s;
    const canvas_view *v;
    int32_t cursor;
    int32_t cur_row;
    int cur_col;
} draw_ctx;

static void on_glyph(void *ud, int32_t i, int32_t row, int col, uint32_t cp, int cw, bool marker) {
    draw_ctx *d = ud;
    if (i == d->cursor && d->cur_row < 0) { d->cur_row = row; d->cur_col = col; }
    int32_t y = row - d->o->scroll;
    if (y < 0 || y >= d->v->h || !d->v) return;
    uint16_t st = heat_style(d->s, d->o->toks[i]);
    if (marker) st = (uint16_t)((st & ~0xFF) | PAL_ESCAPE);
    if (i == d->cursor) st |= PAL_F_REVERSE;
    canvas_putc(d->v, col, (int)y, st, cp);
    for (int k = 0; k < cw && col + k < d->o->hit_w; k++)
        if (y < d->o->hit_h) d->o->hit[y * d->o->hit_w + col + k] = i;
}

static int reserve(out_pane *o, int32_t n, int w, int h) {
    if (n > o->cap) {
        int32_t cap = n * 2;
        int32_t *r = realloc(o->row_of, sizeof *r * (size_t)cap);
        if (!r) return -1;
        o->row_of = r;
        int32_t *c = realloc(o->col_of, sizeof *c * (size_t)cap);
        if (!c) return -1;
        o->col_of = c;
        const loom_tok **t = realloc(o->toks, sizeof *t * (size_t)cap);
        if (!t) return -1;
        o->toks = t;
        o->cap = cap;
    }
    if (w * h > o->hit_w * o->hit_h || !o->hit) {
        int32_t *hm = realloc(o->hit, sizeof *hm * (size_t)(w * h > 0 ? w * h : 1));
        if (!hm) return -1;
        o->hit = hm;
    }
    o->hit_w = w;
    o->hit_h = h;
    for (int i = 0; i < w * h; i++) o->hit[i] = -1;
    return 0;
}

static void draw_legend(session *s, const canvas_view *v, int y, bool ascii) {
    char head[64];
    snprintf(head, sizeof head, "%s%s ", palette_heat_name(s->heat), s->show_post ? " (post)" : " (raw)");
    int x = canvas_puts(v, 0, y, PAL_DIM, head);
    int need = 0;
    for (int b = 0; b < PAL_N_HEAT; b++) need += (int)strlen(palette_heat_label(s->heat, b)) + 1;
    bool labels = x + need <= v->w;
    for (int b = 0; b < PAL_N_HEAT && x < v->w; b++) {
        uint16_t st = (uint16_t)(PAL_HEAT0 + b);
        if (labels) x += canvas_puts(v, x, y, st, palette_heat_label(s->heat, b)) + 1;
        else x += canvas_putc(v, x, y, st, ascii ? '#' : 0x2588);   /* █ */
    }
}

static void output_draw(pane *p, const canvas_view *v, bool focused) {
    (void)focused;
    out_pane *o = p->ctx;
    session *s = tui_session(o->t);
    bool ascii = tui_ascii(o->t);
    int32_t n = session_len(s);
    int text_h = v->h >= 4 ? v->h - 1 : v->h;       /* the legend takes the last row */
    canvas_view tv = canvas_sub(v, 0, 0, v->w, text_h);
    if (n == 0) {
        canvas_puts(&tv, 0, 0, PAL_DIM, s->loading ? "loading the model..." : "s: step one token   g: generate   1: edit the prompt");
        if (text_h < v->h) draw_legend(s, v, v->h - 1, ascii);
        return;
    }
    if (reserve(o, n, tv.w, tv.h)) return;
    loom_path_toks(&s->tree, s->cur, o->toks, n);
    piece_ctx pc = { s, o->toks };
    int32_t cursor = session_cursor_pos(s);
    int32_t rows = tokwrap_walk(n, tv.w, ascii, path_piece, &pc, NULL, NULL, o->row_of, o->col_of);
    o->laid = n;
    int32_t crow = o->row_of[cursor];
    if (crow < o->scroll) o->scroll = crow;
    if (crow >= o->scroll + tv.h) o->scroll = crow - tv.h + 1;
    if (o->scroll > rows - tv.h) o->scroll = rows - tv.h;     /* no empty rows below the text */
    if (o->scroll < 0) o->scroll = 0;
    draw_ctx d = { o, s, &tv, cursor, -1, 0 };
    tokwrap_walk(n, tv.w, ascii, path_piece, &pc, on_glyph, &d, NULL, NULL);
    if (text_h < v->h) draw_legend(s, v, v->h - 1, ascii);
}

/* The token on the row above (drow < 0) or below the cursor's that starts
 * at or before the cursor's column; -1 at the top or bottom. */
static int32_t vertical(out_pane *o, session *s, int drow) {
    int32_t n = o->laid, cur = session_cursor_pos(s);   /* as last drawn */
    if (cur < 0 || cur >= n || n > session_len(s)) return -1;
    int32_t r0 = o->row_of[cur], c0 = o->col_of[cur], target = -1, best = -1;
    /* the nearest row in that direction on which some token starts */
    if (drow < 0) {
        for (int32_t i = cur - 1; i >= 0; i--)
            if (o->row_of[i] < r0) { target = o->row_of[i]; break; }
    } else {
        for (int32_t i = cur + 1; i < n; i++)
            if (o->row_of[i] > r0) { target = o->row_of[i]; break; }
    }
    if (target < 0) return -1;
    for (int32_t i = 0; i < n; i++) {
        if (o->row_of[i] < target) continue;
        if (o->row_of[i] > target) break;
        if (best < 0 || o->col_of[i] <= c0) best = i;
    }
    return best;
}

static void set_cursor(session *s, int32_t pos) {
    int32_t n = session_len(s);
    if (n == 0) return;
    if (pos < 0) pos = 0;
    if (pos >= n) pos = n - 1;
    s->cursor = pos == n - 1 ? -1 : pos;
    s->version++;
}

static int output_key(pane *p, keys_code k, int action) {
    (void)k;
    out_pane *o = p->ctx;
    session *s = tui_session(o->t);
    int32_t cur = session_cursor_pos(s), page = p->h > 2 ? p->h - 2 : 1;
    switch (action) {
    case ACT_LEFT: set_cursor(s, cur - 1); break;
    case ACT_RIGHT: set_cursor(s, cur + 1); break;
    case ACT_HOME: set_cursor(s, 0); break;
    case ACT_END: s->cursor = -1; s->version++; break;
    case ACT_UP:
    case ACT_DOWN: {
        int32_t t = vertical(o, s, action == ACT_UP ? -1 : 1);
        if (t >= 0) set_cursor(s, t);
        else set_cursor(s, action == ACT_UP ? 0 : session_len(s) - 1);
        break;
    }
    case ACT_PGUP:
    case ACT_PGDN:
        for (int i = 0; i < page; i++) {
            int32_t t = vertical(o, s, action == ACT_PGUP ? -1 : 1);
            if (t < 0) break;
            set_cursor(s, t);
        }
        break;
    case ACT_INSPECT: tui_focus(o->t, PANE_INSPECT); break;
    default: return PANE_IGNORED;
    }
    return PANE_HANDLED | PANE_REDRAW;
}

static int output_mouse(pane *p, int x, int y, int button) {
    out_pane *o = p->ctx;
    session *s = tui_session(o->t);
    if (button == PANE_WHEEL_UP || button == PANE_WHEEL_DOWN) {
        o->scroll += button == PANE_WHEEL_UP ? -3 : 3;
        if (o->scroll < 0) o->scroll = 0;
        /* keep the cursor visible: move it into view */
        int32_t n = o->laid, cur = session_cursor_pos(s);
        if (n > session_len(s) || cur >= n) n = 0;
        for (int32_t i = 0; i < n; i++)
            if (o->row_of[i] >= o->scroll) { if (o->row_of[cur] < o->scroll) set_cursor(s, i); break; }
        return PANE_HANDLED | PANE_REDRAW;
    }
    if (!o->hit || x < 0 || y < 0 || x >= o->hit_w || y >= o->hit_h) return PANE_HANDLED;
    int32_t i = o->hit[y * o->hit_w + x];
    if (i >= 0) set_cursor(s, i);
    return PANE_HANDLED | PANE_REDRAW;
}

static void output_title(pane *p, char *buf, size_t cap) {
    out_pane *o = p->ctx;
    session *s = tui_session(o->t);
    int32_t n = session_len(s), c = session_cursor_pos(s);
    if (n == 0) snprintf(buf, cap, "output");
    else snprintf(buf, cap, "output %d/%d tokens%s", (int)c + 1, (int)n, session_busy(s) ? (s->gen_free ? " generating" : " stepping") : "");
}

static void output_destroy(pane *p) {
    out_pane *o = p->ctx;
    free(o->row_of);
    free(o->col_of);
    free(o->toks);
    free(o->hit);
    free(o);
}

static const pane_iface output_iface = {
    "output", output_draw, output_key, output_mouse, NULL, output_title, output_destroy,
};

struct pane *tui_output_create(struct tui *t) {
    out_pane *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->t = t;
    return pane_create(&output_iface, o, t, SC_OUTPUT);
}
