/* gram_schema_impl.h: what gram_schema.c (the JSON Schema compiler) and
 * gram_schema_num.c (its numbers) share. Not a public header. */
#ifndef GRAM_SCHEMA_IMPL_H
#define GRAM_SCHEMA_IMPL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gram.h"
#include "json.h"

typedef struct sc {
    gram_buf rules;         /* finished rules */
    int32_t next;           /* helper rule counter */
    const json *root;
    /* $ref targets already given a rule: pointer text -> rule number */
    char **refs;
    int32_t n_refs;
    char *err;
    size_t errlen;
    int rc;
    gram_schema_opts o;
} sc;

/* Records the first error, "schema at PATH: ...", and returns GRAM_ESYNTAX. */
int gram_sc_fail(sc *s, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* path + "/" + seg into out[cap]. */
void gram_sc_child_path(char *out, size_t cap, const char *path, const char *seg);
/* compile() of gram_schema.c: v at path into out. */
bool gram_sc_compile(sc *s, const json *v, const char *path, gram_buf *out);
/* An object (gram_schema_obj.c). */
bool gram_sc_object(sc *s, const json *v, const char *path, gram_buf *out);
/* propertyNames as a member-name grammar (empty out: no name allowed). */
bool gram_sc_key(sc *s, const json *pn, const char *path, gram_buf *out);
/* "type": "integer" / "number" with their bounds and multipleOf. */
bool gram_sc_int(sc *s, const json *v, const char *path, gram_buf *out);
bool gram_sc_num(sc *s, const json *v, const char *path, gram_buf *out);

#endif
