/* tui_sampler: the sampler panel: every sampler value (temperature, top-k,
 * top-p, min-p, typical, penalties, seed, tokens per run, stop at end of
 * text) and the stage order, edited live: arrows change a value, Enter types
 * one, Space turns a stage on or off, J/K move it. Each change applies to
 * the next token generated.
 */
#ifndef TUI_SAMPLER_H
#define TUI_SAMPLER_H
#include <stddef.h>

struct pane;
struct tui;

struct pane *tui_sampler_create(struct tui *t);

/* Splits a stage order ("top_k,temp,dist") into the panel's stage list: the
 * stages it names in order, then the others switched off, then the
 * selector. Writes a spec back from the list. Exposed for tests. */
#define TUI_SMP_STAGES 7
typedef struct tui_smp_order {
    char name[TUI_SMP_STAGES][16];
    int on[TUI_SMP_STAGES];
    char selector[8];       /* "dist" or "greedy" */
} tui_smp_order;
void tui_sampler_order_parse(const char *spec, tui_smp_order *o);
void tui_sampler_order_spec(const tui_smp_order *o, char *buf, size_t cap);

#endif
