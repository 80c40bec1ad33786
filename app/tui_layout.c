/* tui_layout: pane geometry (see tui_layout.h). Heights are split so the
 * output keeps most rows: the prompt grows with its text up to a quarter of
 * the body, the console takes a quarter (at least 5 rows), the inspector
 * three fifths of the right column. */
#include "tui_layout.h"

#include <string.h>

static int clamp(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

bool tui_layout_in_slot(int i, bool narrow) {
    if (i == PANE_PROMPT || i == PANE_OUTPUT) return false;
    if (narrow) return true;
    return i != PANE_INSPECT && i != PANE_CONSOLE;
}

tui_rect tui_layout_inner(tui_rect r) {
    tui_rect o = { r.x + 1, r.y + 1, r.w - 2, r.h - 2 };
    if (o.w < 0) o.w = 0;
    if (o.h < 0) o.h = 0;
    return o;
}

void tui_layout(const tui_layout_in *in, tui_layout_out *o) {
    memset(o, 0, sizeof *o);
    int n = in->n_panes > TUI_MAX_PANES ? TUI_MAX_PANES : in->n_panes;
    if (in->w < TUI_MIN_W || in->h < TUI_MIN_H) { o->too_small = true; o->slot = -1; return; }
    int body = in->h - 1;
    o->status = (tui_rect){ 0, in->h - 1, in->w, 1 };
    o->narrow = in->w < 70 || in->h < 16;
    int pref = o->narrow ? in->tab_narrow : in->tab_wide;
    if (in->focus >= 0 && in->focus < n && tui_layout_in_slot(in->focus, o->narrow)) pref = in->focus;
    if (pref < 0 || pref >= n || !tui_layout_in_slot(pref, o->narrow)) pref = o->narrow ? PANE_INSPECT : PANE_TREE;
    o->slot = pref;
    if (in->zoom >= 0 && in->zoom < n) {
        o->pane[in->zoom] = (tui_rect){ 0, 0, in->w, body };
        o->shown[in->zoom] = true;
        o->slot = -1;
        return;
    }
    if (o->narrow) {
        int ph = 3, rest = body - ph, oh = rest / 2;
        o->pane[PANE_PROMPT] = (tui_rect){ 0, 0, in->w, ph };
        o->pane[PANE_OUTPUT] = (tui_rect){ 0, ph, in->w, oh };
        o->slot_rect = (tui_rect){ 0, ph + oh, in->w, rest - oh };
    } else {
        int rw = clamp(in->w * 2 / 5, 30, 64), lw = in->w - rw;
        int ph = clamp(in->prompt_rows + 2, 3, body / 4 < 3 ? 3 : body / 4);
        int ch = clamp(body / 4, 5, 14);
        int ih = body * 3 / 5;
        o->pane[PANE_PROMPT] = (tui_rect){ 0, 0, lw, ph };
        o->pane[PANE_OUTPUT] = (tui_rect){ 0, ph, lw, body - ph - ch };
        o->pane[PANE_CONSOLE] = (tui_rect){ 0, body - ch, lw, ch };
        o->pane[PANE_INSPECT] = (tui_rect){ lw, 0, rw, ih };
        o->slot_rect = (tui_rect){ lw, ih, rw, body - ih };
        o->shown[PANE_CONSOLE] = o->shown[PANE_INSPECT] = true;
    }
    o->shown[PANE_PROMPT] = o->shown[PANE_OUTPUT] = true;
    o->pane[pref] = o->slot_rect;
    o->shown[pref] = true;
}
