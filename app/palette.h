/* palette: the styles panes draw with, and the heat scales that colour
 * tokens. A style is a semantic id (PAL_*) in the low byte plus attribute
 * flags (PAL_F_*); what it looks like depends on the terminal: 256 colours,
 * 8 colours, or monochrome, where attributes (bold, underline, reverse)
 * stand in for colours. Everything here is pure; tui_term turns a pal_look
 * into ncurses colour pairs.
 *
 * Heat scales: a token's probability, entropy or rank maps to one of
 * PAL_N_HEAT buckets, 0 = hot (surprising: low probability, high entropy,
 * far rank) to PAL_N_HEAT-1 = cool. Bucket bounds are in this header so the
 * legend and the tests agree with the colouring.
 */
#ifndef PALETTE_H
#define PALETTE_H
#include <stdbool.h>
#include <stdint.h>

enum {
    PAL_NORMAL = 0, PAL_DIM, PAL_BOLD, PAL_BORDER, PAL_BORDER_FOCUS, PAL_TITLE, PAL_TITLE_FOCUS,
    PAL_SELECT, PAL_PROMPT, PAL_ERROR, PAL_OK, PAL_WARN, PAL_STATUS, PAL_STATUS_KEY, PAL_BAR,
    PAL_BAR_POST, PAL_ESCAPE, PAL_TREE_CUR, PAL_TREE_PATH, PAL_LABEL, PAL_KEY, PAL_HEADER,
    PAL_INPUT, PAL_POPUP,
    PAL_HEAT0,              /* PAL_HEAT0 + bucket */
    PAL_N_BASE = PAL_HEAT0 + 10
};
#define PAL_N_HEAT 10

/* Flag bits added to a base style. */
enum { PAL_F_REVERSE = 0x100, PAL_F_BOLD = 0x200, PAL_F_UNDER = 0x400, PAL_F_DIM = 0x800 };
#define PAL_BASE(s) ((s) & 0xFF)

enum pal_mode { PAL_MONO = 0, PAL_8 = 1, PAL_256 = 2 };

/* What a style looks like: colours (-1 = the terminal's default) and
 * attributes as PAL_F_* bits. */
typedef struct pal_look {
    int fg, bg;
    unsigned attrs;
} pal_look;

pal_look palette_look(uint16_t style, enum pal_mode mode);

/* What the heat scale measures. */
enum pal_heat { PAL_HEAT_PROB = 0, PAL_HEAT_ENTROPY, PAL_HEAT_RANK, PAL_N_HEAT_KINDS };

/* Bucket of a probability (0 = below the first bound). */
int palette_heat_prob(double p);
/* Bucket of an entropy in nats (0 = above the last bound: hot). */
int palette_heat_entropy(double h);
/* Bucket of a 1-based rank (rank 1 is cool; 0 or less = unknown: cool). */
int palette_heat_rank(int32_t rank);
/* The bound printed under bucket i of the legend ("<.01", "≥.95"; ASCII
 * when ascii), for kind. */
const char *palette_heat_label(enum pal_heat kind, int bucket);
const char *palette_heat_name(enum pal_heat kind);

#endif
