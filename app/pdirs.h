/* pdirs: where plugins are looked for when no --plugins is given: the
 * current folder's plugins/ (a checkout, or a project of one's own), then
 * those beside the installed program, found from /proc/self/exe: BIN/../plugins
 * (a build tree: build/logitlab next to plugins/) and
 * BIN/../share/logitlab/plugins (an installed prefix). Only folders that
 * exist are listed, each once (by real path), so a workbench started from
 * anywhere finds the bundled plugins.
 */
#ifndef PDIRS_H
#define PDIRS_H
#include <limits.h>

#define PDIRS_MAX 3

typedef struct pdirs {
    char buf[PDIRS_MAX][PATH_MAX];
    const char *list[PDIRS_MAX + 1];    /* NULL-terminated, pointing into buf */
} pdirs;

/* Fills p->list; returns how many folders it holds (maybe 0). */
int pdirs_default(pdirs *p);

#endif
