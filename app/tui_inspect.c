/* tui_inspect: the inspector (see tui_inspect.h). The selection is an index
 * into the shown distribution's top list; it returns to the chosen token
 * whenever the cursor moves to another position or the tree changes under
 * it. Columns drop from the right (cum, id, logp, bar) as the pane narrows;
 * rank, token and p always stay. */
#include "tui_inspect.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loom.h"
#include "palette.h"
#include "pane.h"
#include "session.h"
#include "tui.h"
#include "vis.h"

typedef struct ins_pane {
    struct tui *t;
    int32_t sel;            /* selected row of the top list */
    int32_t scroll;
    int32_t last_pos, last_cur;
    int32_t list_y;         /* row of the first list entry at the last draw (mouse) */
    int32_t n_rows;         /* entries in the list at the last draw */
} ins_pane;

/* Widths: mark+rank+space 5, token 10, p 6, bar >= 6, logp 7, id 7, cum 6.
 * The rank column widens (rank_w) when a rank shown has more than 3 digits:
 * a chosen token may rank anywhere in the vocabulary (128256 for Llama 3). */
static const int col_w[INS_N_COLS] = { 5, 10, 6, 6, 7, 7, 6 };

/* The rank column for ranks up to max_rank: the mark, the digits (at least
 * 3: "cut" and ">24" for a rank outside the stored list), a space. */
static int rank_w(int32_t max_rank) {
    int digits = 1;
    for (int32_t r = max_rank; r >= 10; r /= 10) digits++;
    return 2 + (digits > 3 ? digits : 3);
}

static unsigned columns(int w, int rw) {
    unsigned m = 1u << INS_COL_RANK | 1u << INS_COL_TOKEN | 1u << INS_COL_P;
    int used = rw + col_w[INS_COL_TOKEN] + col_w[INS_COL_P];
    for (int c = INS_COL_BAR; c < INS_N_COLS; c++) {
        if (used + col_w[c] > w) break;
        used += col_w[c];
        m |= 1u << c;
    }
    return m;
}

unsigned tui_inspect_columns(int w) { return columns(w, col_w[INS_COL_RANK]); }

static const loom_dist *shown(const session *s, const loom_tok *t, bool *post) {
    *post = s->show_post && (t->flags & LOOM_TOK_POST);
    return *post ? &t->post : &t->raw;
}

/* Keeps the selection on the chosen token when the position changed. */
static void follow(ins_pane *o, session *s, const loom_tok *t, int32_t pos) {
    if (pos == o->last_pos && s->cur == o->last_cur) return;
    o->last_pos = pos;
    o->last_cur = s->cur;
    o->sel = 0;
    o->scroll = 0;
    bool post;
    const loom_dist *d = shown(s, t, &post);
    for (int32_t i = 0; i < d->n_top; i++)
        if (d->top[i].id == t->id) { o->sel = i; break; }
}

/* Writes the visible form of token id, quoted, into buf. */
static void token_text(session *s, int32_t id, bool ascii, char *buf, size_t cap) {
    char piece[256], vis[600];
    int32_t n = session_piece(s, id, piece, (int32_t)sizeof piece);
    vis_escape(piece, (size_t)n, VIS_SPACE | VIS_NL | (ascii ? VIS_ASCII : 0), vis, sizeof vis);
    snprintf(buf, cap, "'%s'", vis);
}

static void draw_bar(const canvas_view *v, int x, int y, int w, double p, uint16_t st, bool ascii) {
    double cells = p * w;
    int full = (int)cells;
    for (int i = 0; i < full && i < w; i++) canvas_putc(v, x + i, y, st, ascii ? '#' : 0x2588);
    int eighth = (int)((cells - full) * 8);
    if (full < w && eighth > 0) canvas_putc(v, x + full, y, st, ascii ? '+' : (uint32_t)(0x2590 - eighth));  /* ▏..▉ */
}

/* A probability in at most 5 characters: "1.000", ".231", "3e-05", "0". */
static void fmt_p(double p, char *buf, size_t cap) {
    if (p >= 0.9995) snprintf(buf, cap, "1.000");
    else if (p >= 0.0005) snprintf(buf, cap, ".%03d", (int)lround(p * 1000));
    else if (p > 0) snprintf(buf, cap, "%.0e", p);
    else snprintf(buf, cap, "0");
}

static void draw_row(ins_pane *o, session *s, const canvas_view *v, int y, const loom_alt *a, int32_t rank, int rw,
                     double cum, unsigned cols, bool chosen, bool selected, bool post, bool masked) {
    bool ascii = tui_ascii(o->t);
    uint16_t base = selected ? PAL_SELECT : PAL_NORMAL;
    canvas_fill(v, 0, y, v->w, 1, ' ', base);
    double p = exp(a->lp);
    char buf[640];
    int x = 0;
    if (masked && !chosen) canvas_putc(v, x, y, (uint16_t)PAL_ERROR, ascii ? 'x' : 0x2717);   /* ✗ the grammar refused it */
    else canvas_putc(v, x, y, chosen ? (uint16_t)PAL_OK : base, chosen ? (ascii ? '*' : 0x25CF) : ' ');   /* ● */
    char rk[16];
    if (rank > 0) snprintf(rk, sizeof rk, "%d", (int)rank);
    else snprintf(rk, sizeof rk, post ? "cut" : ">%d", LOOM_TOPK);   /* outside the stored list, as the header says */
    snprintf(buf, sizeof buf, "%*s", rw - 2, rk);
    canvas_puts(v, x + 1, y, base, buf);
    x += rw;
    int rest = v->w - x;
    for (int c = INS_COL_P; c < INS_N_COLS; c++) if (cols >> c & 1) rest -= col_w[c];
    int tw = rest > col_w[INS_COL_TOKEN] ? rest : col_w[INS_COL_TOKEN];
    if (cols >> INS_COL_BAR & 1) tw = col_w[INS_COL_TOKEN] + (rest - col_w[INS_COL_TOKEN]) / 2;
    token_text(s, a->id, ascii, buf, sizeof buf);
    canvas_put(v, x, y, (uint16_t)(base == PAL_NORMAL ? PAL_BOLD : base | PAL_F_BOLD), buf, strlen(buf), tw - 1);
    x += tw;
    if (cols >> INS_COL_ID & 1) { canvas_printf(v, x, y, base == PAL_NORMAL ? PAL_DIM : base, "%6d", (int)a->id); x += col_w[INS_COL_ID]; }
    if (cols >> INS_COL_BAR & 1) {
        int bw = v->w - x - col_w[INS_COL_P];
        for (int c = INS_COL_LOGP; c < INS_N_COLS; c++) if (c != INS_COL_ID && (cols >> c & 1)) bw -= col_w[c];
        if (bw > 0) draw_bar(v, x, y, bw - 1, p, post ? PAL_BAR_POST : PAL_BAR, ascii);
        if (bw > 0) x += bw;
    }
    fmt_p(p, buf, sizeof buf);
    canvas_printf(v, x, y, base, "%5s", buf);
    x += col_w[INS_COL_P];
    if (cols >> INS_COL_LOGP & 1) { canvas_printf(v, x, y, base, "%7.2f", a->lp); x += col_w[INS_COL_LOGP]; }
    if (cols >> INS_COL_CUM & 1) {
        snprintf(buf, sizeof buf, cum >= 0.9995 ? "1.000" : ".%03d", (int)lround(cum * 1000));
        canvas_printf(v, x, y, base == PAL_NORMAL ? PAL_DIM : base, "%6s", buf);
    }
}

static void draw_header(ins_pane *o, session *s, const canvas_view *v, const loom_tok *t, int32_t pos, bool post) {
    char tt[640];
    token_text(s, t->id, tui_ascii(o->t), tt, sizeof tt);
    int x = canvas_printf(v, 0, 0, PAL_DIM, "pos %d ", (int)pos);
    x += canvas_put(v, x, 0, PAL_BOLD, tt, strlen(tt), v->w - x - 8);
    canvas_printf(v, x, 0, PAL_DIM, " #%d%s", (int)t->id, (t->flags & LOOM_TOK_PICKED) ? " picked" : "");
    int32_t rank = post ? t->rank_post : t->rank_raw;
    float lp = post ? t->lp_post : t->lp_raw;
    const loom_dist *d = post ? &t->post : &t->raw;
    char rk[24], pb[16];
    if (rank > 0) snprintf(rk, sizeof rk, "%d", (int)rank); else snprintf(rk, sizeof rk, post ? "cut" : ">%d", LOOM_TOPK);
    fmt_p(isinf(lp) ? 0.0 : exp(lp), pb, sizeof pb);
    if (isnan(d->entropy))                      /* read back from the workspace; the engine is on it */
        canvas_printf(v, 0, 1, PAL_NORMAL, "rank %s  p %s  H ? (stored)", rk, pb);
    else canvas_printf(v, 0, 1, PAL_NORMAL, "rank %s  p %s  H %.2f nats", rk, pb, d->entropy);
}

static void draw_chain(const canvas_view *v, int y, const loom_tok *t, bool ascii) {
    if (t->n_stage <= 0) return;
    int x = 0;
    for (int32_t i = 0; i < t->n_stage && x < v->w; i++) {
        if (i) x += canvas_puts(v, x, y, PAL_DIM, ascii ? " > " : " \xE2\x86\x92 ");   /* → */
        x += canvas_printf(v, x, y, PAL_DIM, "%s %d", loom_stage_name(t->stage_kind[i]), (int)t->stage_n[i]);
    }
}

static void inspect_draw(pane *p, const canvas_view *v, bool focused) {
    (void)focused;
    ins_pane *o = p->ctx;
    session *s = tui_session(o->t);
    int32_t pos = session_cursor_pos(s);
    const loom_tok *t = session_tok(s, pos);
    o->n_rows = 0;
    if (!t) { canvas_puts(v, 0, 0, PAL_DIM, "no token selected"); return; }
    if (!(t->flags & LOOM_TOK_RAW)) {
        char tt[640];
        token_text(s, t->id, tui_ascii(o->t), tt, sizeof tt);
        canvas_printf(v, 0, 0, PAL_DIM, "pos %d %s #%d", (int)pos, tt, (int)t->id);
        canvas_puts(v, 0, 1, PAL_DIM, pos == 0 ? "the first token has no prediction" : "no distribution (yet)");
        return;
    }
    follow(o, s, t, pos);
    bool post;
    const loom_dist *d = shown(s, t, &post);
    draw_header(o, s, v, t, pos, post);
    int32_t top_rank = post ? t->rank_post : t->rank_raw;     /* the chosen token's row may show it */
    int rw = rank_w(d->n_top > top_rank ? d->n_top : top_rank);
    unsigned cols = columns(v->w, rw);
    int list_y = 2, footer = v->h >= 8 && t->n_stage > 0 ? 1 : 0;
    bool chosen_in = false;
    for (int32_t i = 0; i < d->n_top; i++) if (d->top[i].id == t->id) chosen_in = true;
    int extra = chosen_in ? 0 : 1;              /* the chosen token's own row below the list */
    int avail = v->h - list_y - footer - extra;
    if (avail < 1) avail = 1;
    if (o->sel >= d->n_top) o->sel = d->n_top - 1;
    if (o->sel < 0) o->sel = 0;
    if (o->sel < o->scroll) o->scroll = o->sel;
    if (o->sel >= o->scroll + avail) o->scroll = o->sel - avail + 1;
    double cum = 0;
    for (int32_t i = 0; i < o->scroll && i < d->n_top; i++) cum += exp(d->top[i].lp);
    for (int32_t i = o->scroll; i < d->n_top && i - o->scroll < avail; i++) {
        cum += exp(d->top[i].lp);
        draw_row(o, s, v, list_y + (int)(i - o->scroll), &d->top[i], i + 1, rw, cum, cols,
                 d->top[i].id == t->id, i == o->sel, post, !post && i < 32 && (t->masked >> i & 1));
    }
    o->list_y = list_y;
    o->n_rows = d->n_top;
    int y = list_y + (d->n_top - o->scroll < avail ? d->n_top - o->scroll : avail);
    if (!chosen_in && y < v->h) {
        loom_alt a = { t->id, post ? t->lp_post : t->lp_raw };
        draw_row(o, s, v, y, &a, top_rank, rw, NAN, cols & ~(1u << INS_COL_CUM), true, false, post, false);
    }
    if (footer) draw_chain(v, v->h - 1, t, tui_ascii(o->t));
}

static void move_pos(session *s, int d) {
    int32_t n = session_len(s), pos = session_cursor_pos(s) + d;
    if (n == 0) return;
    if (pos < 0) pos = 0;
    if (pos >= n) pos = n - 1;
    s->cursor = pos == n - 1 ? -1 : pos;
    s->version++;
}

static int inspect_key(pane *p, keys_code k, int action) {
    (void)k;
    ins_pane *o = p->ctx;
    session *s = tui_session(o->t);
    const loom_tok *t = session_tok(s, session_cursor_pos(s));
    bool post;
    const loom_dist *d = t ? shown(s, t, &post) : NULL;
    switch (action) {
    case ACT_UP: if (o->sel > 0) o->sel--; break;
    case ACT_DOWN: if (d && o->sel + 1 < d->n_top) o->sel++; break;
    case ACT_HOME: o->sel = 0; break;
    case ACT_END: if (d) o->sel = d->n_top - 1; break;
    case ACT_LEFT: move_pos(s, -1); break;
    case ACT_RIGHT: move_pos(s, 1); break;
    case ACT_PICK:
        if (d && o->sel >= 0 && o->sel < d->n_top) session_pick(s, d->top[o->sel].id);
        break;
    default: return PANE_IGNORED;
    }
    return PANE_HANDLED | PANE_REDRAW;
}

static int inspect_mouse(pane *p, int x, int y, int button) {
    (void)x;
    ins_pane *o = p->ctx;
    if (button == PANE_WHEEL_UP) return inspect_key(p, K_UP, ACT_UP);
    if (button == PANE_WHEEL_DOWN) return inspect_key(p, K_DOWN, ACT_DOWN);
    int32_t i = o->scroll + (y - o->list_y);
    if (y >= o->list_y && i < o->n_rows) o->sel = i;
    return PANE_HANDLED | PANE_REDRAW;
}

static void inspect_title(pane *p, char *buf, size_t cap) {
    ins_pane *o = p->ctx;
    session *s = tui_session(o->t);
    snprintf(buf, cap, "inspector %s", s->show_post ? "post-sampler" : "raw");
}

static void inspect_destroy(pane *p) { free(p->ctx); }

static const pane_iface inspect_iface = {
    "inspector", inspect_draw, inspect_key, inspect_mouse, NULL, inspect_title, inspect_destroy,
};

struct pane *tui_inspect_create(struct tui *t) {
    ins_pane *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->t = t;
    o->last_pos = o->last_cur = -2;
    return pane_create(&inspect_iface, o, t, SC_INSPECT);
}
