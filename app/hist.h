/* hist: a bounded history of submitted input lines with a browsing cursor,
 * shared by the `:` command line and the Lua console. The hist owns copies
 * of its lines; hist_fini frees them. */
#ifndef HIST_H
#define HIST_H

#define HIST_MAX 200

typedef struct hist {
    char *line[HIST_MAX];
    int cap;      /* lines kept, <= HIST_MAX; the oldest goes first */
    int n, at;    /* at == n: not browsing */
} hist;

void hist_init(hist *h, int cap);
void hist_fini(hist *h);
/* Appends a copy of s (not empty, not equal to the last line) and stops browsing. */
void hist_add(hist *h, const char *s);
/* Stops browsing: the next hist_prev gives the newest line. */
void hist_reset(hist *h);
/* The line before the cursor, or NULL at the oldest. */
const char *hist_prev(hist *h);
/* The line after the cursor, or "" once past the newest. */
const char *hist_next(hist *h);
#endif
