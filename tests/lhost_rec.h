/* A recording UI adapter for the Lua host's C tests (test_lhost.c,
 * test_lhost_await.c): it keeps the console text and what plugins register,
 * so a test can find a command or status item by name and call it by id.
 * rec_ui() wires every callback, so each is used by every test that
 * includes this (an unused static function is a clang -Werror error). */
#ifndef LHOST_REC_H
#define LHOST_REC_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lhost.h"

typedef struct rec {
    char out[8192];             /* console text, errors prefixed with "E:" */
    int ids[32], kinds[32], n;  /* registered hooks; kinds: 1 command, 2 key, 3 pane, 4 status */
    char names[32][64];
    int deleted, redraws;
    char loom[64];              /* the last lab.ui.loom_open text */
    int64_t replay;             /* the last lab.ui.loom_replay id */
    int pane_no;                /* what pane_number answers (0: not placed) */
} rec;

static void r_print(void *ud, const char *s, size_t n, bool err) {
    rec *r = ud;
    size_t used = strlen(r->out);
    snprintf(r->out + used, sizeof r->out - used, "%s%.*s\n", err ? "E:" : "", (int)n, s);
}
static void r_add(rec *r, int id, int kind, const char *name) {
    if (r->n >= 32) return;
    r->ids[r->n] = id;
    r->kinds[r->n] = kind;
    snprintf(r->names[r->n], sizeof r->names[0], "%s", name);
    r->n++;
}
static void r_cmd(void *ud, int id, const char *pl, const char *name, const char *help) {
    (void)pl; (void)help;
    r_add(ud, id, 1, name);
}
static void r_key(void *ud, int id, const char *pl, const char *key, const char *help) {
    (void)pl; (void)help;
    r_add(ud, id, 2, key);
}
static void r_pane(void *ud, int id, const char *pl, const char *title) {
    (void)pl;
    r_add(ud, id, 3, title);
}
static void r_status(void *ud, int id, const char *pl, const char *name) {
    (void)pl;
    r_add(ud, id, 4, name);
}
static void r_del(void *ud, int id) {
    rec *r = ud;
    for (int i = 0; i < r->n; i++)
        if (r->ids[i] == id) { r->ids[i] = -1; r->deleted++; }
}
static void r_redraw(void *ud) { ((rec *)ud)->redraws++; }
static int r_loom(void *ud, const char *text, size_t len, char *err, size_t errlen) {
    rec *r = ud;
    if (len >= sizeof r->loom) { snprintf(err, errlen, "too long for the test"); return -1; }
    memcpy(r->loom, text, len);
    r->loom[len] = 0;
    return 0;
}
/* The selected path: 300 ids (more than lab.ui.loom_path's first ask), 1000 + i;
 * none after lab.ui.loom_open("none"). */
static int32_t r_loom_path(void *ud, int32_t *ids, int32_t cap, char *err, size_t errlen) {
    rec *r = ud;
    if (strcmp(r->loom, "none") == 0) { snprintf(err, errlen, "the branch tree has no path yet"); return -1; }
    for (int32_t i = 0; i < 300 && i < cap; i++) ids[i] = 1000 + i;
    return 300;
}
static int r_replay(void *ud, int64_t id, char *err, size_t errlen) {
    rec *r = ud;
    if (id == 99) { snprintf(err, errlen, "no node #99"); return -1; }
    r->replay = id;
    return 0;
}

static int r_pane_number(void *ud, int id) {
    (void)id;
    return ((rec *)ud)->pane_no;
}

/* r cleared, and the adapter that records into it (no busy callback). */
static lhost_ui rec_ui(rec *r) {
    memset(r, 0, sizeof *r);
    return (lhost_ui){ r, r_print, r_cmd, r_key, r_pane, r_status, r_del, r_redraw, r_loom, NULL, r_replay,
                       r_loom_path, r_pane_number };
}

/* The id of the live hook of this kind and name, or -1. */
static int rec_find(const rec *r, int kind, const char *name) {
    for (int i = 0; i < r->n; i++)
        if (r->ids[i] > 0 && r->kinds[i] == kind && strcmp(r->names[i], name) == 0) return r->ids[i];
    return -1;
}
#endif
