/* tui_inspect: the inspector pane. For the token under the output's
 * cursor it shows the distribution that token was drawn from, kept from
 * generation time: the top alternatives with rank, visible token text, id,
 * probability as a bar and a number, log-probability and cumulative mass;
 * the entropy, where the chosen token ranked, and how many candidates each
 * sampler stage left. `v` switches between the raw model distribution and
 * the post-sampler one. Enter on an alternative branches from it.
 */
#ifndef TUI_INSPECT_H
#define TUI_INSPECT_H

struct pane;
struct tui;

struct pane *tui_inspect_create(struct tui *t);

/* Columns of the table, shown from left to right when the width allows;
 * tui_inspect_columns says which fit in w (a mask of 1 << INS_COL_*). */
enum { INS_COL_RANK = 0, INS_COL_TOKEN, INS_COL_P, INS_COL_BAR, INS_COL_LOGP, INS_COL_ID, INS_COL_CUM, INS_N_COLS };
unsigned tui_inspect_columns(int w);

#endif
