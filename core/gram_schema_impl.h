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
/* A JSON string none of strs[n] (decoded), as rule name[24] (gram_schema_obj.c). */
bool gram_sc_string_except(sc *s, const char *const *strs, const size_t *lens, int n_strs, char name[24]);
/* oneOf at path (its array arr) into out (gram_schema_oneof.c). */
bool gram_sc_oneof(sc *s, const json *arr, const char *path, gram_buf *out);
/* A JSON value as a GBNF literal of its canonical text. */
void gram_sc_value_literal(sc *s, const json *v, gram_buf *out);
/* propertyNames as a member-name grammar (empty out: no name allowed). */
bool gram_sc_key(sc *s, const json *pn, const char *path, gram_buf *out);
/* "type": "integer" / "number" with their bounds and multipleOf. */
bool gram_sc_int(sc *s, const json *v, const char *path, gram_buf *out);
bool gram_sc_num(sc *s, const json *v, const char *path, gram_buf *out);
/* multipleOf (gram_schema_mult.c) with the bounds beside it: true when
 * present (then check s->rc), false when absent. */
bool gram_sc_multiple(sc *s, const json *v, const char *path, bool integer, gram_buf *out);

#endif
