/* hist: see hist.h. Invariant: 0 <= at <= n <= cap, line[0..n) owned. */
#include "hist.h"
#include <stdlib.h>
#include <string.h>

void hist_init(hist *h, int cap) {
    memset(h, 0, sizeof *h);
    h->cap = cap > 0 && cap <= HIST_MAX ? cap : HIST_MAX;
}

void hist_fini(hist *h) {
    for (int i = 0; i < h->n; i++) free(h->line[i]);
    h->n = h->at = 0;
}

void hist_add(hist *h, const char *s) {
    if (*s && !(h->n && strcmp(h->line[h->n - 1], s) == 0)) {
        char *d = strdup(s);
        if (d) {
            if (h->n == h->cap) {
                free(h->line[0]);
                memmove(h->line, h->line + 1, sizeof h->line[0] * (size_t)(h->cap - 1));
                h->n--;
            }
            h->line[h->n++] = d;
        }
    }
    h->at = h->n;
}

void hist_reset(hist *h) { h->at = h->n; }

const char *hist_prev(hist *h) { return h->at > 0 ? h->line[--h->at] : NULL; }

const char *hist_next(hist *h) {
    if (h->at < h->n) h->at++;
    return h->at < h->n ? h->line[h->at] : "";
}
