/* pane: the pane object's lifecycle (see pane.h). */
#include "pane.h"

#include <stdio.h>
#include <stdlib.h>

pane *pane_create(const pane_iface *iface, void *ctx, struct tui *t, int scope) {
    pane *p = calloc(1, sizeof *p);
    if (!p) {
        pane tmp = { iface, ctx, t, scope, false, 0, 0, 0 };
        if (iface->destroy) iface->destroy(&tmp);
        return NULL;
    }
    p->iface = iface;
    p->ctx = ctx;
    p->tui = t;
    p->scope = scope;
    return p;
}

void pane_destroy(pane *p) {
    if (!p) return;
    if (p->iface->destroy) p->iface->destroy(p);
    free(p);
}

void pane_name(pane *p, char *buf, size_t cap) {
    if (p->hook) pane_title(p, buf, cap);           /* a plugin's: the title it chose */
    else snprintf(buf, cap, "%s", p->iface->name);
}

void pane_title(pane *p, char *buf, size_t cap) {
    if (p->iface->title) p->iface->title(p, buf, cap);
    else snprintf(buf, cap, "%s", p->iface->name);
}
