/* tui_layout: where each pane goes for a terminal size, as a pure function
 * (tests/test_tui_render.c checks it at many sizes).
 *
 * Wide terminals (>= 70 x 16): the prompt, the output and the console on
 * the left; the inspector and a tabbed slot (tree, sampler, plugin panes) on
 * the right. Narrow ones: the prompt and the output on top and one tabbed
 * slot below for everything else. The slot shows the focused pane when it
 * belongs there, else the one last shown. A zoomed pane takes the whole
 * body. Below 40 x 10 nothing fits: too_small. The last row is the status
 * bar. Rects include the pane's border.
 */
#ifndef TUI_LAYOUT_H
#define TUI_LAYOUT_H
#include <stdbool.h>

enum { PANE_PROMPT = 0, PANE_OUTPUT, PANE_INSPECT, PANE_TREE, PANE_CONSOLE, PANE_SAMPLER, PANE_N_FIXED };
#define TUI_MAX_PANES 24
#define TUI_MIN_W 40
#define TUI_MIN_H 10

typedef struct tui_rect { int x, y, w, h; } tui_rect;

typedef struct tui_layout_in {
    int w, h;
    int n_panes;            /* PANE_N_FIXED + plugin panes (<= TUI_MAX_PANES) */
    int focus;
    int zoom;               /* pane index, or -1 */
    int tab_wide;           /* preferred pane of the wide slot (TREE, SAMPLER or a plugin pane) */
    int tab_narrow;         /* preferred pane of the narrow slot */
    int prompt_rows;        /* rows the prompt's text wants */
} tui_layout_in;

typedef struct tui_layout_out {
    bool too_small, narrow;
    tui_rect status;
    tui_rect pane[TUI_MAX_PANES];
    bool shown[TUI_MAX_PANES];
    int slot;               /* the pane in the tabbed slot */
    tui_rect slot_rect;
} tui_layout_out;

void tui_layout(const tui_layout_in *in, tui_layout_out *out);
/* Whether pane i lives in the tabbed slot of the wide or narrow layout. */
bool tui_layout_in_slot(int i, bool narrow);
/* The inside of a rect (without the border). */
tui_rect tui_layout_inner(tui_rect r);

#endif
