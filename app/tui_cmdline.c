/* tui_cmdline: the command line (see tui_cmdline.h). Completion state
 * (the candidates and which one is shown) lives until the next edit. */
#include "tui_cmdline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "field.h"
#include "hist.h"
#include "palette.h"
#include "pane.h"
#include "session.h"
#include "tui.h"
#include "tui_cmd.h"

#define MAX_HIST 100

typedef struct cl_pane {
    struct tui *t;
    field f;
    hist hist;
    tui_cmd_cands cands;
    int cycle;              /* -1: no completion in progress */
    size_t word_end;
    char hint[1024];        /* the matches of the last Tab, shown above the line until the next edit */
} cl_pane;

const char *tui_cmdline_hint(const struct pane *p) {
    const cl_pane *o = p->ctx;
    return o->cycle >= 0 && o->hint[0] ? o->hint : NULL;
}

void tui_cmdline_open(struct pane *p, const char *prefill) {
    cl_pane *o = p->ctx;
    field_set(&o->f, prefill ? prefill : "");
    hist_reset(&o->hist);
    o->cycle = -1;
    o->hint[0] = 0;
}

static void cl_draw(pane *p, const canvas_view *v, bool focused) {
    (void)focused;
    cl_pane *o = p->ctx;
    canvas_fill(v, 0, 0, v->w, 1, ' ', PAL_INPUT);
    canvas_putc(v, 0, 0, PAL_KEY, ':');
    canvas_view fv = canvas_sub(v, 1, 0, v->w - 1, 1);
    field_draw(&o->f, &fv, PAL_INPUT, true);
}

/* Replaces the word being completed with s. */
static void put_word(cl_pane *o, const char *s, bool space) {
    char buf[2048];
    const char *t = field_text(&o->f);
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)o->cands.word_start, t, s, space ? " " : "");
    size_t cur = strlen(buf);
    snprintf(buf + cur, sizeof buf - cur, "%s", t + o->word_end);
    field_set(&o->f, buf);
    o->f.cur = cur;
    o->word_end = cur - (space ? 1 : 0);
}

static void complete(cl_pane *o) {
    session *s = tui_session(o->t);
    if (o->cycle >= 0 && o->cands.n > 1) {      /* Tab again: the next match */
        o->cycle = (o->cycle + 1) % o->cands.n;
        put_word(o, o->cands.item[o->cycle], false);
        return;
    }
    tui_cmd_complete(o->t, field_text(&o->f), o->f.cur, &o->cands);
    o->word_end = o->f.cur;
    if (o->cands.n == 0) { session_msg(s, SESS_INFO, "no completions"); return; }
    if (o->cands.n == 1) {
        const char *it = o->cands.item[0];
        put_word(o, it, o->cands.add_space && it[strlen(it) - 1] != '/');
        o->cycle = -1;
        return;
    }
    /* the longest common prefix, and the list on the status line */
    size_t lcp = strlen(o->cands.item[0]);
    for (int i = 1; i < o->cands.n; i++) {
        size_t k = 0;
        while (k < lcp && o->cands.item[i][k] == o->cands.item[0][k]) k++;
        lcp = k;
    }
    char pre[128];
    snprintf(pre, sizeof pre, "%.*s", (int)lcp, o->cands.item[0]);
    put_word(o, pre, false);
    char list[1024];
    size_t at = 0;
    for (int i = 0; i < o->cands.n && at < sizeof list - 2; i++)
        at += (size_t)snprintf(list + at, sizeof list - at, "%s%s", i ? " " : "", o->cands.item[i]);
    snprintf(o->hint, sizeof o->hint, "%s", list); /* the status line is under the command line: above it */
    o->cycle = o->cands.n - 1;                  /* the next Tab shows the first match */
}

static int cl_key(pane *p, keys_code k, int action) {
    cl_pane *o = p->ctx;
    if (action != ACT_COMPLETE) { o->cycle = -1; o->hint[0] = 0; }
    switch (action) {
    case ACT_RUN: {
        char *line = strdup(field_text(&o->f));
        hist_add(&o->hist, field_text(&o->f));
        tui_close_overlay(o->t);
        if (line) tui_command(o->t, line);
        free(line);
        break;
    }
    case ACT_CLOSE: tui_close_overlay(o->t); break;
    case ACT_COMPLETE: complete(o); break;
    case ACT_HIST_PREV: { const char *l = hist_prev(&o->hist); if (l) field_set(&o->f, l); } break;
    case ACT_HIST_NEXT:
        field_set(&o->f, hist_next(&o->hist));
        break;
    case ACT_BACKSPACE:
        if (o->f.len == 0) { tui_close_overlay(o->t); break; }   /* as in vim: erase the ':' */
        field_key(&o->f, action, k);
        break;
    default: field_key(&o->f, action, k); break;
    }
    return PANE_HANDLED | PANE_REDRAW;
}

static void cl_destroy(pane *p) {
    cl_pane *o = p->ctx;
    hist_fini(&o->hist);
    field_fini(&o->f);
    free(o);
}

static const pane_iface cl_iface = { "cmdline", cl_draw, cl_key, NULL, NULL, NULL, cl_destroy };

struct pane *tui_cmdline_create(struct tui *t) {
    cl_pane *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->t = t;
    o->cycle = -1;
    hist_init(&o->hist, MAX_HIST);
    field_init(&o->f, false);
    pane *p = pane_create(&cl_iface, o, t, SC_CMDLINE);
    if (p) p->text_input = true;
    return p;
}
