/* tui_status: the status bar (see tui_status.h). */
#include "tui_status.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "palette.h"
#include "session.h"
#include "vis.h"

uint64_t tui_status_rss(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    unsigned long long size = 0, res = 0;
    int k = fscanf(f, "%llu %llu", &size, &res);
    fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    return k == 2 && page > 0 ? res * (uint64_t)page : 0;
}

/* Writes s at x, cut to w columns with a trailing "…" when it does not
 * fit; returns the columns used. */
static int put_cut(const canvas_view *v, int x, uint16_t st, const char *s, int w) {
    if (w <= 0) return 0;
    int sw = vis_width(s, strlen(s));
    if (sw <= w) return canvas_put(v, x, 0, st, s, strlen(s), w);
    int used = canvas_put(v, x, 0, st, s, strlen(s), w - 1);
    return used + canvas_putc(v, x + used, 0, st, 0x2026);
}

/* Fields by priority, so that nothing overwrites another: the model (and
 * the unsaved mark, and "save failed") always; then what the engine does;
 * then a fresh message; then the statistics; the plugins' items (or the
 * help hint) get what is left at the right end. Each is cut with "…"
 * rather than drawn over its neighbour. */
void tui_status_draw(const canvas_view *v, const tui_status_info *i) {
    canvas_fill(v, 0, 0, v->w, 1, ' ', PAL_STATUS);
    char model[200], stats[256], state[96], msg[300], right[300], mem[32] = "";
    if (i->rss) cli_fmt_bytes(i->rss, mem, sizeof mem);
    snprintf(model, sizeof model, " %s%s ", i->model && *i->model ? i->model : "no model", i->dirty ? "*" : "");
    snprintf(stats, sizeof stats, " %s %dt | %.0f tok/s | ctx %d/%d | seq %d | %s",
             i->backend && *i->backend ? i->backend : "-", i->threads, i->tok_s, (int)i->kv_used, (int)i->kv_size,
             (int)i->n_seq, mem);
    snprintf(state, sizeof state, i->state && *i->state ? " | %s" : "", i->state);
    snprintf(msg, sizeof msg, i->msg && *i->msg ? " %s " : "", i->msg);
    if (i->plugins && *i->plugins) snprintf(right, sizeof right, " %s ", i->plugins);
    else snprintf(right, sizeof right, "  ?:help ");
    const char *fail = i->save_failed ? " save failed " : "";
    int W = v->w;
    int w_model = vis_width(model, strlen(model)), w_fail = (int)strlen(fail);
    int w_state = vis_width(state, strlen(state)), w_msg = vis_width(msg, strlen(msg));
    int w_stats = vis_width(stats, strlen(stats)), w_right = vis_width(right, strlen(right));
    int left = W - w_model - w_fail - w_state;
    /* the message wants its width, at least 24 columns of it; the
     * statistics stay only when the message still fits beside them */
    int want_msg = w_msg < 24 ? w_msg : 24;
    bool show_stats = w_stats + (w_msg ? want_msg : 0) <= left;
    if (show_stats) left -= w_stats;
    int msg_w = w_msg < left ? w_msg : left;
    if (msg_w < 0) msg_w = 0;
    left -= msg_w;
    bool hint = !(i->plugins && *i->plugins);
    int right_w = w_right <= left ? w_right : hint ? 0 : left;
    int x = put_cut(v, 0, PAL_STATUS_KEY, model, W);
    if (w_fail) x += put_cut(v, x, (uint16_t)(PAL_ERROR | PAL_F_REVERSE), fail, W - x);
    if (show_stats) x += put_cut(v, x, PAL_STATUS, stats, W - x);
    if (w_state) x += put_cut(v, x, PAL_STATUS | PAL_F_BOLD, state, W - x);
    if (msg_w > 0) {                        /* the fresh message, left of the right end */
        uint16_t st = i->msg_level == SESS_ERROR ? (uint16_t)(PAL_ERROR | PAL_F_REVERSE)
                    : i->msg_level == SESS_WARN ? (uint16_t)(PAL_WARN | PAL_F_REVERSE) : (uint16_t)PAL_STATUS;
        int mx = W - right_w - msg_w;
        if (mx < x) mx = x;
        put_cut(v, mx, st, msg, msg_w);
    }
    if (right_w > 0) put_cut(v, W - right_w, PAL_STATUS, right, right_w);
}
