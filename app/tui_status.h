/* tui_status: the status bar, drawn from a snapshot of what it shows
 * (model, backend, threads, tokens/s, context used, sequences alive,
 * memory, what the engine is doing, the last message, plugin items), so the
 * bar is a pure function of that snapshot. No field is drawn over
 * another: by priority the model (with its unsaved mark and "save
 * failed"), the engine's state, the fresh message, the statistics, then
 * the plugins' items at the right end; what does not fit is cut with "…"
 * or left out.
 */
#ifndef TUI_STATUS_H
#define TUI_STATUS_H
#include <stdbool.h>
#include <stdint.h>

#include "canvas.h"

typedef struct tui_status_info {
    const char *model;
    const char *backend;
    int threads;
    double tok_s;
    int32_t kv_used, kv_size, n_seq;
    uint64_t rss;               /* bytes; 0 unknown */
    const char *state;          /* "generating", "stepping", "loading", or "" */
    const char *msg;            /* the fresh message, or NULL */
    int msg_level;              /* SESS_INFO / WARN / ERROR */
    const char *plugins;        /* the plugins' status items, or "" */
    bool dirty;                 /* unsaved changes */
    bool save_failed;           /* the last save to the workspace failed */
} tui_status_info;

void tui_status_draw(const canvas_view *v, const tui_status_info *i);
/* This process's resident memory in bytes (0 when unknown). */
uint64_t tui_status_rss(void);

#endif
