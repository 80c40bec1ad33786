/* palette: styles and heat scales (see palette.h). The 256-colour heat ramp
 * runs red -> orange -> yellow -> green -> grey: confident tokens fade into
 * ordinary text so the surprising ones stand out. With 8 colours the ramp
 * collapses to red, yellow, green, default; in monochrome hot tokens are
 * bold and underlined, warm ones underlined. */
#include "palette.h"

/* Upper bounds of buckets 0..8 (bucket 9 is everything above). */
static const double prob_bounds[PAL_N_HEAT - 1] = { 0.01, 0.03, 0.1, 0.2, 0.35, 0.5, 0.7, 0.85, 0.95 };
/* Entropy in nats: bucket 9 below 0.1, bucket 0 at 4 and above. */
static const double ent_bounds[PAL_N_HEAT - 1] = { 0.1, 0.3, 0.6, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0 };
/* Rank: bucket 9 is rank 1, bucket 0 past 1000. */
static const int32_t rank_bounds[PAL_N_HEAT - 1] = { 1, 2, 3, 5, 10, 20, 50, 100, 1000 };

int palette_heat_prob(double p) {
    if (!(p >= 0)) return 0;                /* NaN: hot, to be noticed */
    int b = 0;
    while (b < PAL_N_HEAT - 1 && p >= prob_bounds[b]) b++;
    return b;
}

int palette_heat_entropy(double h) {
    if (!(h >= 0)) return 0;
    int b = 0;
    while (b < PAL_N_HEAT - 1 && h >= ent_bounds[b]) b++;
    return PAL_N_HEAT - 1 - b;
}

int palette_heat_rank(int32_t rank) {
    if (rank <= 0) return PAL_N_HEAT - 1;
    int b = 0;
    while (b < PAL_N_HEAT - 1 && rank > rank_bounds[b]) b++;
    return PAL_N_HEAT - 1 - b;
}

const char *palette_heat_name(enum pal_heat kind) {
    switch (kind) {
    case PAL_HEAT_ENTROPY: return "entropy";
    case PAL_HEAT_RANK: return "rank";
    default: return "probability";
    }
}

const char *palette_heat_label(enum pal_heat kind, int b) {
    static const char *const prob[PAL_N_HEAT] = { "<.01", "<.03", "<.1", "<.2", "<.35", "<.5", "<.7", "<.85", "<.95", ">=.95" };
    static const char *const ent[PAL_N_HEAT] = { ">=4", "<4", "<3", "<2.5", "<2", "<1.5", "<1", "<.6", "<.3", "<.1" };
    static const char *const rank[PAL_N_HEAT] = { ">1k", "<=1k", "<=100", "<=50", "<=20", "<=10", "<=5", "3", "2", "1" };
    if (b < 0 || b >= PAL_N_HEAT) return "";
    if (kind == PAL_HEAT_ENTROPY) return ent[b];
    if (kind == PAL_HEAT_RANK) return rank[b];
    return prob[b];
}

/* 256-colour heat ramp, hot to cool. */
static const int heat256[PAL_N_HEAT] = { 196, 202, 208, 214, 220, 226, 190, 148, 114, 252 };
/* 8-colour heat: 1 red, 3 yellow, 2 green, -1 default. */
static const int heat8[PAL_N_HEAT] = { 1, 1, 1, 3, 3, 3, 2, 2, 2, -1 };

static pal_look look_heat(int b, enum pal_mode mode) {
    if (mode == PAL_256) return (pal_look){ heat256[b], -1, b == 0 ? PAL_F_BOLD : 0 };
    if (mode == PAL_8) return (pal_look){ heat8[b], -1, b <= 1 ? PAL_F_BOLD : 0 };
    if (b <= 2) return (pal_look){ -1, -1, PAL_F_BOLD | PAL_F_UNDER };
    if (b <= 5) return (pal_look){ -1, -1, PAL_F_UNDER };
    return (pal_look){ -1, -1, 0 };
}

/* Colour looks for the 256- and 8-colour modes: {fg256, bg256, fg8, bg8, attrs}. */
typedef struct look_row { int fg256, bg256, fg8, bg8; unsigned attrs, mono; } look_row;

static const look_row looks[PAL_HEAT0] = {
    [PAL_NORMAL] = { -1, -1, -1, -1, 0, 0 },
    [PAL_DIM] = { 244, -1, -1, -1, 0, PAL_F_DIM },
    [PAL_BOLD] = { -1, -1, -1, -1, PAL_F_BOLD, PAL_F_BOLD },
    [PAL_BORDER] = { 240, -1, 4, -1, 0, 0 },
    [PAL_BORDER_FOCUS] = { 45, -1, 6, -1, PAL_F_BOLD, PAL_F_BOLD },
    [PAL_TITLE] = { 250, -1, -1, -1, 0, 0 },
    [PAL_TITLE_FOCUS] = { 16, 45, 0, 6, PAL_F_BOLD, PAL_F_REVERSE | PAL_F_BOLD },
    [PAL_SELECT] = { -1, 238, 0, 7, 0, PAL_F_REVERSE },
    [PAL_PROMPT] = { 153, -1, 6, -1, 0, PAL_F_BOLD },
    [PAL_ERROR] = { 203, -1, 1, -1, PAL_F_BOLD, PAL_F_BOLD },
    [PAL_OK] = { 114, -1, 2, -1, 0, 0 },
    [PAL_WARN] = { 221, -1, 3, -1, 0, PAL_F_BOLD },
    [PAL_STATUS] = { 252, 236, 7, 4, 0, PAL_F_REVERSE },
    [PAL_STATUS_KEY] = { 16, 45, 0, 6, PAL_F_BOLD, PAL_F_BOLD },
    [PAL_BAR] = { 75, -1, 4, -1, 0, 0 },
    [PAL_BAR_POST] = { 177, -1, 5, -1, 0, 0 },
    [PAL_ESCAPE] = { 244, -1, 6, -1, 0, PAL_F_DIM },
    [PAL_TREE_CUR] = { 16, 114, 0, 2, PAL_F_BOLD, PAL_F_REVERSE | PAL_F_BOLD },
    [PAL_TREE_PATH] = { 114, -1, 2, -1, 0, PAL_F_BOLD },
    [PAL_LABEL] = { 221, -1, 3, -1, PAL_F_BOLD, PAL_F_UNDER },
    [PAL_KEY] = { 45, -1, 6, -1, PAL_F_BOLD, PAL_F_BOLD },
    [PAL_HEADER] = { 250, -1, -1, -1, PAL_F_UNDER, PAL_F_UNDER },
    [PAL_INPUT] = { -1, 235, -1, -1, 0, 0 },
    [PAL_POPUP] = { 252, 235, 7, 0, 0, 0 },
};

pal_look palette_look(uint16_t style, enum pal_mode mode) {
    int base = PAL_BASE(style);
    unsigned extra = style & (PAL_F_REVERSE | PAL_F_BOLD | PAL_F_UNDER | PAL_F_DIM);
    pal_look l;
    if (base >= PAL_HEAT0 && base < PAL_N_BASE) l = look_heat(base - PAL_HEAT0, mode);
    else if (base < PAL_HEAT0) {
        const look_row *r = &looks[base];
        if (mode == PAL_256) l = (pal_look){ r->fg256, r->bg256, r->attrs };
        else if (mode == PAL_8) l = (pal_look){ r->fg8, r->bg8, r->attrs };
        else l = (pal_look){ -1, -1, r->mono };
    } else l = (pal_look){ -1, -1, 0 };
    l.attrs |= extra;
    return l;
}
