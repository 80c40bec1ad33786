/* pdirs: the default plugin folders (see pdirs.h). */
#include "pdirs.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Adds dir when it is a folder not listed yet (compared by real path). */
static void add(pdirs *p, int *n, const char *dir) {
    char real[PATH_MAX];
    struct stat st;
    if (*n >= PDIRS_MAX || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || !realpath(dir, real)) return;
    for (int i = 0; i < *n; i++) {
        char other[PATH_MAX];
        if (realpath(p->buf[i], other) && !strcmp(other, real)) return;
    }
    snprintf(p->buf[*n], sizeof p->buf[*n], "%s", dir);
    p->list[*n] = p->buf[*n];
    (*n)++;
}

int pdirs_default(pdirs *p) {
    int n = 0;
    memset(p->list, 0, sizeof p->list);
    add(p, &n, "plugins");
    char exe[PATH_MAX];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (k > 0) {
        exe[k] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;                         /* the program's folder */
            char dir[PATH_MAX + 32];
            snprintf(dir, sizeof dir, "%s/../plugins", exe);
            if (strlen(dir) < PATH_MAX) add(p, &n, dir);
            snprintf(dir, sizeof dir, "%s/../share/logitlab/plugins", exe);
            if (strlen(dir) < PATH_MAX) add(p, &n, dir);
        }
    }
    return n;
}
