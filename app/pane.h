/* pane: the interface every part of the screen implements (htop's Panel):
 * draw into a clipped canvas view, handle a key (with the action the key
 * table binds it to in the pane's scope), react to a resize, destroy. The
 * screen manager (tui.c) owns the panes, draws their frames and titles, and
 * routes keys and mouse clicks to the focused one.
 */
#ifndef PANE_H
#define PANE_H
#include <stdbool.h>
#include <stddef.h>

#include "canvas.h"
#include "keys.h"

/* handle_key results (flags). */
enum { PANE_IGNORED = 0, PANE_HANDLED = 1, PANE_REDRAW = 2, PANE_QUIT = 4 };
/* Mouse buttons. */
enum { PANE_CLICK = 1, PANE_WHEEL_UP = 4, PANE_WHEEL_DOWN = 5 };

struct tui;
typedef struct pane pane;

typedef struct pane_iface {
    const char *name;
    /* Draws the inside of the pane (v is w x h, border excluded). */
    void (*draw)(pane *p, const canvas_view *v, bool focused);
    /* A key: action is what the table binds k to in p->scope (ACT_NONE if
     * nothing). Returns PANE_* flags; PANE_IGNORED lets the global table try. */
    int (*handle_key)(pane *p, keys_code k, int action);
    /* Optional: a click or wheel at (x, y) inside the pane. */
    int (*mouse)(pane *p, int x, int y, int button);
    /* Optional: the inside is now w x h. */
    void (*resize)(pane *p, int w, int h);
    /* Optional: the title (default: the name). */
    void (*title)(pane *p, char *buf, size_t cap);
    /* Optional: frees ctx. */
    void (*destroy)(pane *p);
} pane_iface;

struct pane {
    const pane_iface *iface;
    void *ctx;
    struct tui *tui;        /* the screen manager, for its services (tui.h) */
    int scope;              /* key scope now (enum keys_scope); edit modes switch it */
    bool text_input;        /* every printable key is text (an edit mode) */
    int w, h;               /* inside size at the last layout */
    int hook;               /* the Lua host's hook id for plugin panes, else 0 */
};

/* A pane with iface and ctx (owned through iface->destroy); NULL when out
 * of memory (ctx is then destroyed too). */
pane *pane_create(const pane_iface *iface, void *ctx, struct tui *t, int scope);
void pane_destroy(pane *p);
void pane_title(pane *p, char *buf, size_t cap);
/* Its name without what the title adds ("tree", not "tree 6 nodes"): the
 * tab strip's and :pane's. */
void pane_name(pane *p, char *buf, size_t cap);

#endif
