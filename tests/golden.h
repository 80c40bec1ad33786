/* Helpers for tests that read shared/golden: a case's JSON and its raw
 * float32 / int32 arrays. */
#ifndef GOLDEN_H
#define GOLDEN_H
#include "check.h"
#include "json.h"
#include <stdint.h>

/* Parses a JSON file; NULL (and a printed reason) if missing or bad. */
static inline json_doc *golden_json(const char *path) {
    size_t n = 0;
    char *txt = check_slurp(path, &n);
    if (!txt) { fprintf(stderr, "missing %s\n", path); return NULL; }
    char err[256];
    json_doc *d = json_parse(txt, n, err, sizeof err);
    if (!d) fprintf(stderr, "%s: %s\n", path, err);
    free(txt);
    return d;
}

/* Reads an int array member into a new buffer; *n its length. */
static inline int32_t *golden_ints(const json *arr, int32_t *n) {
    *n = arr && arr->type == JSON_ARR ? (int32_t)arr->n : 0;
    int32_t *v = malloc(sizeof(int32_t) * (size_t)(*n + 1));
    int32_t i = 0;
    for (const json *e = arr ? arr->child : NULL; e; e = e->next) v[i++] = (int32_t)e->num;
    return v;
}
#endif
