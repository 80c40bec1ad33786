/* tui_tree: the branch tree pane (see tui_tree.h). The tree cursor (sel)
 * follows the session's selected node until the user moves it; rows are
 * laid out by loom_layout each frame (trees stay small enough). */
#include "tui_tree.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loom.h"
#include "palette.h"
#include "pane.h"
#include "session.h"
#include "tui.h"
#include "vis.h"

typedef struct tree_pane {
    struct tui *t;
    int32_t sel;            /* node under the tree cursor */
    int32_t last_cur;       /* the session's cur when sel last followed it */
    int32_t scroll;
    loom_row *rows;
    int32_t n_rows, cap;
} tree_pane;

size_t tui_tree_row_text(const session *s, int32_t node, bool ascii, int w, char *buf, size_t cap) {
    const loom_node *n = loom_get(&s->tree, node);
    if (!n || cap == 0) { if (cap) buf[0] = 0; return 0; }
    static const char *const origin[] = { "prompt", "", "pick", "" };
    char text[512];
    size_t tl = 0;
    for (int32_t i = 0; i < n->n && tl < 200; i++) {
        char piece[128];
        int32_t k = session_piece(s, n->toks[i].id, piece, (int32_t)sizeof piece);
        if (k > (int32_t)(sizeof text - 1 - tl)) k = (int32_t)(sizeof text - 1 - tl);
        memcpy(text + tl, piece, (size_t)k);
        tl += (size_t)k;
    }
    char vis[800];
    vis_escape(text, tl, VIS_NL | (ascii ? VIS_ASCII : 0), vis, sizeof vis);
    int k = snprintf(buf, cap, "#%d%s%s%s%s%s ", (int)node, n->label ? " [" : "", n->label ? n->label : "",
                     n->label ? "]" : "", origin[n->origin < 4 ? n->origin : 1][0] ? " " : "",
                     origin[n->origin < 4 ? n->origin : 1]);
    if (k < 0 || (size_t)k >= cap) return strlen(buf);
    char count[24];
    snprintf(count, sizeof count, " (%d)", (int)n->n);
    int room = w - vis_width(buf, (size_t)k) - (int)strlen(count);
    size_t at = (size_t)k;
    /* cut the text to the room left, by columns */
    int used = 0;
    for (size_t i = 0; i < strlen(vis);) {
        uint32_t cp;
        int l = vis_utf8_decode(vis + i, strlen(vis) - i, &cp);
        if (!l) l = 1;
        int cw = vis_width(vis + i, (size_t)l);
        if (used + cw > room - 1 || at + (size_t)l + strlen(count) + 4 >= cap) {
            if (room > 0) at += (size_t)snprintf(buf + at, cap - at, "%s", ascii ? "~" : "\xE2\x80\xA6");  /* … */
            break;
        }
        memcpy(buf + at, vis + i, (size_t)l);
        at += (size_t)l;
        used += cw;
        i += (size_t)l;
    }
    buf[at] = 0;
    at += (size_t)snprintf(buf + at, cap - at, "%s", count);
    return at < cap ? at : cap - 1;
}

static int relayout(tree_pane *o, session *s) {
    int32_t n = loom_layout(&s->tree, o->rows, o->cap);
    if (n > o->cap) {
        loom_row *r = realloc(o->rows, sizeof *r * (size_t)n * 2);
        if (!r) return -1;
        o->rows = r;
        o->cap = n * 2;
        n = loom_layout(&s->tree, o->rows, o->cap);
    }
    o->n_rows = n;
    return 0;
}

static int32_t row_of(const tree_pane *o, int32_t node) {
    for (int32_t i = 0; i < o->n_rows; i++)
        if (o->rows[i].node == node) return i;
    return -1;
}

static void tree_draw(pane *p, const canvas_view *v, bool focused) {
    tree_pane *o = p->ctx;
    session *s = tui_session(o->t);
    bool ascii = tui_ascii(o->t);
    if (relayout(o, s)) return;
    if (o->n_rows == 0) { canvas_puts(v, 0, 0, PAL_DIM, "no branches yet"); return; }
    if (s->cur != o->last_cur || !loom_get(&s->tree, o->sel)) { o->sel = s->cur; o->last_cur = s->cur; }
    int32_t sr = row_of(o, o->sel);
    if (sr < 0) sr = 0;
    if (sr < o->scroll) o->scroll = sr;
    if (sr >= o->scroll + v->h) o->scroll = sr - v->h + 1;
    if (o->scroll < 0) o->scroll = 0;
    for (int32_t r = o->scroll; r < o->n_rows && r - o->scroll < v->h; r++) {
        int y = (int)(r - o->scroll);
        const loom_row *row = &o->rows[r];
        char guide[256], text[1024];
        loom_guide(row, ascii, v->w / 6 > 2 ? v->w / 6 : 2, guide, sizeof guide);
        int x = canvas_puts(v, 0, y, PAL_DIM, guide);
        bool on_path = loom_is_ancestor(&s->tree, row->node, s->cur);
        uint16_t st = row->node == s->cur ? PAL_TREE_CUR : on_path ? PAL_TREE_PATH : PAL_NORMAL;
        tui_tree_row_text(s, row->node, ascii, v->w - x, text, sizeof text);
        int tw = canvas_puts(v, x, y, st, text);
        const loom_node *n = loom_get(&s->tree, row->node);
        if (n && n->label) {                    /* labels stand out */
            int lx = x + vis_width(text, strcspn(text, "[")) + 1;
            canvas_set_style(v, lx, y, vis_width(n->label, strlen(n->label)), PAL_LABEL);
        }
        if (row->node == o->sel && focused) canvas_add_flags(v, x, y, tw, PAL_F_REVERSE);
        else if (row->node == o->sel) canvas_add_flags(v, x, y, tw, PAL_F_UNDER);
    }
}

static void del_yes(struct tui *t, void *ud) {
    session_delete(tui_session(t), (int32_t)(intptr_t)ud);
}

static int tree_key(pane *p, keys_code k, int action) {
    (void)k;
    tree_pane *o = p->ctx;
    session *s = tui_session(o->t);
    relayout(o, s);
    int32_t r = row_of(o, o->sel);
    loom_node *n = loom_get(&s->tree, o->sel);
    switch (action) {
    case ACT_UP: if (r > 0) o->sel = o->rows[r - 1].node; break;
    case ACT_DOWN: if (r >= 0 && r + 1 < o->n_rows) o->sel = o->rows[r + 1].node; break;
    case ACT_PARENT: if (n && n->parent >= 0) o->sel = n->parent; break;
    case ACT_CHILD:
        if (n && n->n_kids) o->sel = n->last_kid >= 0 ? n->last_kid : n->kids[0];
        break;
    case ACT_SELECT:
        if (n) { session_select(s, o->sel); o->last_cur = s->cur; }
        break;
    case ACT_LABEL:
        if (n) {
            char pre[64];
            snprintf(pre, sizeof pre, "label #%d ", (int)o->sel);
            tui_cmdline(o->t, pre);
        }
        break;
    case ACT_DELETE:
        if (n) {
            char q[160];
            int32_t below = 0;
            for (int32_t i = r + 1; i < o->n_rows && o->rows[i].depth > o->rows[r].depth; i++) below++;
            snprintf(q, sizeof q, "Delete node #%d%s? (y/n)", (int)o->sel,
                     below ? (below == 1 ? " and the node below it" : " and the nodes below it") : "");
            tui_confirm(o->t, q, del_yes, (void *)(intptr_t)o->sel);
        }
        break;
    default: return PANE_IGNORED;
    }
    return PANE_HANDLED | PANE_REDRAW;
}

static int tree_mouse(pane *p, int x, int y, int button) {
    (void)x;
    tree_pane *o = p->ctx;
    if (button == PANE_WHEEL_UP) return tree_key(p, K_UP, ACT_UP);
    if (button == PANE_WHEEL_DOWN) return tree_key(p, K_DOWN, ACT_DOWN);
    int32_t r = o->scroll + y;
    if (r >= 0 && r < o->n_rows) {
        o->sel = o->rows[r].node;
        return tree_key(p, K_ENTER, ACT_SELECT);
    }
    return PANE_HANDLED;
}

static void tree_title(pane *p, char *buf, size_t cap) {
    tree_pane *o = p->ctx;
    session *s = tui_session(o->t);
    snprintf(buf, cap, "tree %d node%s", (int)s->tree.n_alive, s->tree.n_alive == 1 ? "" : "s");
}

static void tree_destroy(pane *p) {
    tree_pane *o = p->ctx;
    free(o->rows);
    free(o);
}

static const pane_iface tree_iface = {
    "tree", tree_draw, tree_key, tree_mouse, NULL, tree_title, tree_destroy,
};

struct pane *tui_tree_create(struct tui *t) {
    tree_pane *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->t = t;
    o->sel = o->last_cur = -1;
    return pane_create(&tree_iface, o, t, SC_TREE);
}
