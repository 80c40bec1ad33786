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

void tui_status_draw(const canvas_view *v, const tui_status_info *i) {
    canvas_fill(v, 0, 0, v->w, 1, ' ', PAL_STATUS);
    char buf[512], mem[32] = "";
    if (i->rss) cli_fmt_bytes(i->rss, mem, sizeof mem);
    int x = canvas_printf(v, 0, 0, PAL_STATUS_KEY, " %s%s ", i->model && *i->model ? i->model : "no model",
                          i->dirty ? "*" : "");
    snprintf(buf, sizeof buf, " %s %dt | %.0f tok/s | ctx %d/%d | seq %d | %s",
             i->backend && *i->backend ? i->backend : "-", i->threads, i->tok_s, (int)i->kv_used, (int)i->kv_size,
             (int)i->n_seq, mem);
    x += canvas_puts(v, x, 0, PAL_STATUS, buf);
    if (i->state && *i->state) x += canvas_printf(v, x, 0, PAL_STATUS | PAL_F_BOLD, " | %s", i->state);
    /* the right end: the plugins' items, else the help hint */
    char right[300];
    if (i->plugins && *i->plugins) snprintf(right, sizeof right, " %s ", i->plugins);
    else snprintf(right, sizeof right, "  ?:help ");
    int rw = vis_width(right, strlen(right));
    if (rw > v->w / 2) rw = v->w / 2;
    int rx = v->w - rw;
    if (rx >= x || (i->plugins && *i->plugins)) {
        canvas_fill(v, rx, 0, rw, 1, ' ', PAL_STATUS);
        canvas_put(v, rx, 0, PAL_STATUS, right, strlen(right), rw);
    } else rx = v->w;
    if (i->msg && *i->msg) {                /* the fresh message, left of the right end */
        int mw = vis_width(i->msg, strlen(i->msg)) + 2;
        int mx = rx - mw;
        if (mx < v->w / 4) mx = v->w / 4;
        if (mx >= rx) return;
        uint16_t st = i->msg_level == SESS_ERROR ? (uint16_t)(PAL_ERROR | PAL_F_REVERSE)
                    : i->msg_level == SESS_WARN ? (uint16_t)(PAL_WARN | PAL_F_REVERSE) : (uint16_t)PAL_STATUS;
        canvas_fill(v, mx, 0, rx - mx, 1, ' ', st);
        canvas_put(v, mx + 1, 0, st, i->msg, strlen(i->msg), rx - mx - 2);
    }
}
