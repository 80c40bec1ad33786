/* tui_sampler: the sampler panel (see tui_sampler.h). Rows: the values
 * first, then one row per stage, the selector, and the grammar (the
 * constraint, a first stage of its own). Values go through session_set, so
 * the panel and the command line (:set) check them the same way. */
#include "tui_sampler.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "field.h"
#include "palette.h"
#include "pane.h"
#include "session.h"
#include "smp.h"
#include "tui.h"

static const char *const all_stages[TUI_SMP_STAGES] = { "bias", "penalties", "top_k", "typical", "top_p", "min_p", "temp" };

typedef struct value_row { const char *name, *label; double step, lo, hi; } value_row;
static const value_row values[] = {
    { "temp", "temperature", 0.05, 0, 10 },
    { "top_k", "top-k (0 off)", 1, 0, 1e9 },
    { "top_p", "top-p (1 off)", 0.01, 0.01, 1 },
    { "min_p", "min-p (0 off)", 0.01, 0, 1 },
    { "typical", "typical (1 off)", 0.01, 0.01, 1 },
    { "repeat_penalty", "repeat penalty", 0.05, 0.05, 10 },
    { "repeat_last_n", "penalty window", 8, -1, 1e9 },
    { "frequency_penalty", "frequency pen.", 0.1, -10, 10 },
    { "presence_penalty", "presence pen.", 0.1, -10, 10 },
    { "seed", "seed", 1, 0, 1e18 },
    { "n", "tokens per run", 16, -1, 1e9 },
    { "eos", "stop at EOS", 0, 0, 0 },
};
#define N_VALUES ((int)(sizeof values / sizeof values[0]))
#define ROW_SELECTOR (N_VALUES + TUI_SMP_STAGES)
#define ROW_GRAMMAR (ROW_SELECTOR + 1)
#define N_ROWS (ROW_GRAMMAR + 1)

typedef struct smp_pane {
    struct tui *t;
    int sel;
    int scroll;
    field edit;             /* the value being typed (text_input) */
} smp_pane;

void tui_sampler_order_parse(const char *spec, tui_smp_order *o) {
    memset(o, 0, sizeof *o);
    snprintf(o->selector, sizeof o->selector, "dist");
    char buf[256];
    snprintf(buf, sizeof buf, "%s", spec && *spec ? spec : SMP_DEFAULT_CHAIN);
    int n = 0;
    for (char *save = NULL, *tk = strtok_r(buf, ",; ", &save); tk; tk = strtok_r(NULL, ",; ", &save)) {
        for (char *c = tk; *c; c++) if (*c == '-') *c = '_';
        if (!strcmp(tk, "dist") || !strcmp(tk, "greedy")) { snprintf(o->selector, sizeof o->selector, "%s", tk); continue; }
        for (int i = 0; i < TUI_SMP_STAGES; i++) {
            if (strcmp(tk, all_stages[i])) continue;
            bool dup = false;
            for (int j = 0; j < n; j++) if (!strcmp(o->name[j], tk)) dup = true;
            if (!dup && n < TUI_SMP_STAGES) { snprintf(o->name[n], sizeof o->name[n], "%s", tk); o->on[n++] = 1; }
        }
    }
    for (int i = 0; i < TUI_SMP_STAGES && n < TUI_SMP_STAGES; i++) {
        bool have = false;
        for (int j = 0; j < n; j++) if (!strcmp(o->name[j], all_stages[i])) have = true;
        if (!have) { snprintf(o->name[n], sizeof o->name[n], "%s", all_stages[i]); o->on[n++] = 0; }
    }
}

void tui_sampler_order_spec(const tui_smp_order *o, char *buf, size_t cap) {
    size_t at = 0;
    buf[0] = 0;
    for (int i = 0; i < TUI_SMP_STAGES; i++)
        if (o->on[i] && at < cap) at += (size_t)snprintf(buf + at, cap - at, "%s,", o->name[i]);
    if (at < cap) snprintf(buf + at, cap - at, "%s", o->selector);
}

static void sampler_draw(pane *p, const canvas_view *v, bool focused) {
    smp_pane *o = p->ctx;
    session *s = tui_session(o->t);
    tui_smp_order ord;
    tui_sampler_order_parse(s->spec, &ord);
    if (o->sel < o->scroll) o->scroll = o->sel;
    if (o->sel >= o->scroll + v->h) o->scroll = o->sel - v->h + 1;
    for (int r = o->scroll; r < N_ROWS && r - o->scroll < v->h; r++) {
        int y = r - o->scroll;
        bool sel = r == o->sel;
        uint16_t st = sel && focused ? PAL_SELECT : PAL_NORMAL;
        canvas_fill(v, 0, y, v->w, 1, ' ', st);
        if (r < N_VALUES) {
            char val[64];
            session_get(s, values[r].name, val, sizeof val);
            canvas_puts(v, 1, y, st, values[r].label);
            int vx = v->w > 34 ? 18 : v->w / 2;
            if (sel && p->text_input) {
                canvas_view ev = canvas_sub(v, vx, y, v->w - vx, 1);
                field_draw(&o->edit, &ev, PAL_INPUT, true);
            } else canvas_puts(v, vx, y, (uint16_t)(st | PAL_F_BOLD), val);
        } else if (r < N_VALUES + TUI_SMP_STAGES) {
            int i = r - N_VALUES;
            canvas_printf(v, 1, y, ord.on[i] ? st : (uint16_t)(sel && focused ? st : PAL_DIM), "%s %d %s",
                          ord.on[i] ? "[x]" : "[ ]", i + 1, ord.name[i]);
        } else if (r == ROW_SELECTOR) {
            canvas_printf(v, 1, y, st, "then: %s   (%s)", ord.selector, "Space: dist/greedy");
        } else {
            /* KIND VALUE: grammar FILE.gbnf, json-schema FILE.json, regex RE, choice A,B,C */
            char val[600];
            session_get(s, "grammar", val, sizeof val);
            canvas_puts(v, 1, y, st, "grammar");
            int vx = v->w > 34 ? 18 : v->w / 2;
            if (sel && p->text_input) {
                canvas_view ev = canvas_sub(v, vx, y, v->w - vx, 1);
                field_draw(&o->edit, &ev, PAL_INPUT, true);
            } else canvas_puts(v, vx, y, (uint16_t)(st | PAL_F_BOLD), val);
        }
    }
}

static bool apply(smp_pane *o, const char *name, const char *val) {
    session *s = tui_session(o->t);
    char err[256];
    if (!session_set(s, name, val, err, sizeof err)) return true;
    session_msg(s, SESS_ERROR, "%s", err);
    return false;
}

static void step_value(smp_pane *o, int r, int dir) {
    session *s = tui_session(o->t);
    const value_row *vr = &values[r];
    if (!strcmp(vr->name, "eos")) { apply(o, "eos", s->stop_at_eos ? "off" : "on"); return; }
    char cur[64], buf[64];
    session_get(s, vr->name, cur, sizeof cur);
    double x = strtod(cur, NULL) + dir * vr->step;
    if (!strcmp(vr->name, "top_k") && x > 20) x = strtod(cur, NULL) + dir * 5;
    if (!strcmp(vr->name, "n") && x == 0) x = dir > 0 ? 1 : -1;
    if (x < vr->lo) x = vr->lo;
    if (x > vr->hi) x = vr->hi;
    if (vr->step >= 1) snprintf(buf, sizeof buf, "%.0f", x);
    else snprintf(buf, sizeof buf, "%.4g", x);
    apply(o, vr->name, buf);
}

static void change_order(smp_pane *o, int i, int how) {
    session *s = tui_session(o->t);
    tui_smp_order ord;
    tui_sampler_order_parse(s->spec, &ord);
    if (how == 0) ord.on[i] = !ord.on[i];
    else {
        int j = i + how;
        if (j < 0 || j >= TUI_SMP_STAGES) return;
        char tn[16];
        memcpy(tn, ord.name[i], sizeof tn); memcpy(ord.name[i], ord.name[j], sizeof tn); memcpy(ord.name[j], tn, sizeof tn);
        int to = ord.on[i]; ord.on[i] = ord.on[j]; ord.on[j] = to;
        o->sel += how;
    }
    char spec[256];
    tui_sampler_order_spec(&ord, spec, sizeof spec);
    apply(o, "order", spec);
}

static void toggle_selector(smp_pane *o) {
    tui_smp_order ord;
    char spec[256];
    tui_sampler_order_parse(tui_session(o->t)->spec, &ord);
    snprintf(ord.selector, sizeof ord.selector, "%s", strcmp(ord.selector, "dist") ? "dist" : "greedy");
    tui_sampler_order_spec(&ord, spec, sizeof spec);
    apply(o, "order", spec);
}

static int sampler_key(pane *p, keys_code k, int action) {
    smp_pane *o = p->ctx;
    session *s = tui_session(o->t);
    if (p->text_input) {
        if (action == ACT_RUN) {
            const char *name = o->sel == ROW_GRAMMAR ? "grammar" : values[o->sel].name;
            const char *text = field_text(&o->edit);
            if (apply(o, name, o->sel == ROW_GRAMMAR && !*text ? "none" : text) && o->sel == ROW_GRAMMAR) {
                char cur[600];
                session_get(s, "grammar", cur, sizeof cur);
                session_msg(s, SESS_INFO, "grammar = %s", cur);
            }
            p->text_input = false;
            p->scope = SC_SAMPLER;
        } else if (action == ACT_CLOSE) {
            p->text_input = false;
            p->scope = SC_SAMPLER;
        } else field_key(&o->edit, action, k);
        return PANE_HANDLED | PANE_REDRAW;
    }
    bool is_value = o->sel < N_VALUES, is_stage = !is_value && o->sel < N_VALUES + TUI_SMP_STAGES;
    if (o->sel == ROW_GRAMMAR) {        /* Enter edits "KIND VALUE" (empty or none: no grammar); Space/Del clear it */
        if (action == ACT_EDIT) {
            char cur[600];
            session_get(s, "grammar", cur, sizeof cur);
            field_set(&o->edit, strcmp(cur, "none") ? cur : "");
            p->text_input = true;
            p->scope = SC_CMDLINE;
            return PANE_HANDLED | PANE_REDRAW;
        }
        if (action == ACT_TOGGLE || action == ACT_DELETE) {
            if (apply(o, "grammar", "none")) session_msg(s, SESS_INFO, "grammar = none");
            return PANE_HANDLED | PANE_REDRAW;
        }
        if (action == ACT_DEC || action == ACT_INC) return PANE_HANDLED;
    }
    switch (action) {
    case ACT_UP: if (o->sel > 0) o->sel--; break;
    case ACT_DOWN: if (o->sel + 1 < N_ROWS) o->sel++; break;
    case ACT_DEC:
    case ACT_INC:
        if (is_value) step_value(o, o->sel, action == ACT_INC ? 1 : -1);
        else if (!is_stage) toggle_selector(o);
        break;
    case ACT_EDIT:
        if (is_value && strcmp(values[o->sel].name, "eos")) {
            char cur[64];
            session_get(s, values[o->sel].name, cur, sizeof cur);
            field_set(&o->edit, cur);
            p->text_input = true;
            p->scope = SC_CMDLINE;
        } else if (is_value) step_value(o, o->sel, 1);
        break;
    case ACT_TOGGLE:
        if (is_stage) change_order(o, o->sel - N_VALUES, 0);
        else if (!is_value) toggle_selector(o);
        else step_value(o, o->sel, 1);
        break;
    case ACT_MOVE_UP: if (is_stage) change_order(o, o->sel - N_VALUES, -1); break;
    case ACT_MOVE_DOWN: if (is_stage) change_order(o, o->sel - N_VALUES, 1); break;
    case ACT_DEFAULTS:
        smp_params_default(&s->sp);
        s->spec[0] = 0;
        s->n_max = 256;
        s->stop_at_eos = true;
        session_sampler_changed(s);
        session_msg(s, SESS_INFO, "sampler defaults restored");
        break;
    default: return PANE_IGNORED;
    }
    return PANE_HANDLED | PANE_REDRAW;
}

static int sampler_mouse(pane *p, int x, int y, int button) {
    (void)x;
    smp_pane *o = p->ctx;
    if (button == PANE_WHEEL_UP) return sampler_key(p, K_UP, ACT_UP);
    if (button == PANE_WHEEL_DOWN) return sampler_key(p, K_DOWN, ACT_DOWN);
    if (!p->text_input && o->scroll + y < N_ROWS) o->sel = o->scroll + y;
    return PANE_HANDLED | PANE_REDRAW;
}

static void sampler_title(pane *p, char *buf, size_t cap) {
    smp_pane *o = p->ctx;
    snprintf(buf, cap, "sampler%s", !p->text_input ? ""
             : o->sel == ROW_GRAMMAR ? " (KIND VALUE: grammar F.gbnf, json-schema F.json, regex RE, choice a,b; Enter: set)"
             : " (Enter: set, Esc: cancel)");
}

static void sampler_destroy(pane *p) {
    smp_pane *o = p->ctx;
    field_fini(&o->edit);
    free(o);
}

static const pane_iface sampler_iface = {
    "sampler", sampler_draw, sampler_key, sampler_mouse, NULL, sampler_title, sampler_destroy,
};

struct pane *tui_sampler_create(struct tui *t) {
    smp_pane *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->t = t;
    field_init(&o->edit, false);
    return pane_create(&sampler_iface, o, t, SC_SAMPLER);
}
