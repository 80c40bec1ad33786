/* gguf_check.h: what test_gguf.c (the reader) and test_ggufw.c (the writer)
 * share: the last message, a scratch folder and paths in it, and opening a
 * prefix of a file's bytes from an exact-size copy. */
#ifndef GGUF_CHECK_H
#define GGUF_CHECK_H
#include "check.h"
#include "gguf.h"
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static char err[512];
static char tmp[64];      /* scratch directory, made by main, removed at the end */

static inline const char *tmpfile_path(const char *name) {
    static char buf[2][128];
    static int k;
    k ^= 1;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmp, name);
    return buf[k];
}

static inline bool str_is(const char *s, uint64_t len, const char *want) {
    return s && len == strlen(want) && memcmp(s, want, len) == 0;
}

/* Opens the first n bytes from an exact-size copy, so that ASAN sees any
 * read past the end. */
static inline int open_prefix(const uint8_t *p, size_t n, gguf **g, void **copy) {
    *copy = malloc(n ? n : 1);
    if (n) memcpy(*copy, p, n);
    return gguf_open_mem(g, *copy, n, "x.gguf", err, sizeof err);
}

static inline bool one_line(const char *s) { return *s && !strchr(s, '\n'); }
#endif
