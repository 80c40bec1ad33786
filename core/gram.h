/* gram: grammars for constrained decoding, compiled to a byte-level form.
 *
 * Sources:
 *   gram_parse        GBNF, llama.cpp's grammar format (its grammars/README.md)
 *                     (gram.c, the one compiler to the byte-level form):
 *                     `name ::= alternatives`, "literals" with escapes,
 *                     [classes] and [^negations] of code points, `.`, groups,
 *                     * + ? {m} {m,} {m,n}, # comments; `root` is the start.
 *   gram_from_schema  JSON Schema (a subset, see gram_schema.c) -> GBNF -> gram
 *   gram_from_regex   a regular expression (gram_regex.c) -> GBNF -> gram
 *   gram_from_choices one of a list of literal strings (gram_src.c, with
 *                     gram_from_option and the GBNF writer gram_buf)
 * Each also has a *_gbnf form that returns the GBNF text it compiles, so a
 * user can read or edit what a schema became.
 *
 * The compiled form works on bytes, not code points: every character class
 * is rewritten into alternatives of UTF-8 byte sequences (each byte a set of
 * 256 bits). A token whose piece ends inside a character, or spans several
 * grammar elements, is then matched exactly by the byte-level matcher
 * (gmatch.h) with no special cases.
 *
 * Layout: rules hold alternatives, an alternative is a run of elements ended
 * by GEL_END. Repetitions and groups were turned into helper rules, right
 * recursive (R ::= x R | "") so the matcher can drop finished frames (a
 * reference that ends its alternative is a tail call). Left recursion is
 * refused at compile time: the matcher expands rules depth first.
 *
 * Ownership: the gram_* constructors return a new gram with one reference;
 * gram_ref adds one, gram_unref drops one and frees at zero. A gram is never
 * changed after construction, so sharing across matchers is safe.
 * Errors: on failure *out is NULL and err says where (GBNF: "line L col C:
 * expected ...", schemas: the JSON pointer of the bad part).
 */
#ifndef GRAM_H
#define GRAM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { GRAM_OK = 0, GRAM_ESYNTAX = -1, GRAM_ENOMEM = -2, GRAM_ELIMIT = -3 };

enum { GEL_END = 0, GEL_BYTES = 1, GEL_REF = 2 };

typedef struct gram_el {
    int32_t type;       /* GEL_* */
    int32_t arg;        /* GEL_BYTES: index into sets; GEL_REF: rule */
} gram_el;

typedef struct gram {
    gram_el *el;        /* (n_el) alternatives, each ended by GEL_END */
    int32_t n_el;
    int32_t *alt;       /* (n_alt + 1) first element of each alternative */
    int32_t n_alt;
    int32_t *rule_alt;  /* (n_rule + 1) first alternative of each rule */
    int32_t n_rule;
    uint8_t (*sets)[32];/* (n_set) byte sets, bit b of set[b >> 3] */
    int32_t n_set;
    char **names;       /* (n_rule) rule names; helpers read "name_3" */
    int32_t root;
    int refs;
} gram;

int gram_parse(gram **out, const char *text, size_t len, char *err, size_t errlen);
/* JSON Schema text (or the GBNF it compiles to: *gbnf is malloc'ed, caller frees). */
int gram_from_schema(gram **out, const char *json, size_t len, char *err, size_t errlen);
int gram_schema_gbnf(char **gbnf, const char *json, size_t len, char *err, size_t errlen);
/* How a schema compiles (docs/sampling.md, "JSON Schema"). Zero: the defaults. */
typedef struct gram_schema_opts {
    bool ignore_unenforceable;  /* compile without keywords a grammar cannot check (not, if,
                                 * uniqueItems, ...) instead of refusing the schema */
    bool compact;               /* no whitespace between JSON tokens (else a short run may) */
    bool any_order;             /* an object's properties in any order (objects with at most
                                 * GRAM_ANY_ORDER_MAX properties; larger ones keep their order) */
} gram_schema_opts;
#define GRAM_ANY_ORDER_MAX 10
int gram_from_schema_opts(gram **out, const char *json, size_t len, const gram_schema_opts *o, char *err, size_t errlen);
int gram_schema_gbnf_opts(char **gbnf, const char *json, size_t len, const gram_schema_opts *o, char *err, size_t errlen);
/* A regular expression matched in full: literals, ., [classes], \d \w \s
 * (and negations), escapes, groups (?:...), |, * + ? {m} {m,} {m,n}; ^ and $
 * only at the ends. */
int gram_from_regex(gram **out, const char *re, size_t len, char *err, size_t errlen);
int gram_regex_gbnf(char **gbnf, const char *re, size_t len, char *err, size_t errlen);
/* Exactly one of choices[0..n). */
int gram_from_choices(gram **out, const char *const *choices, int32_t n, char *err, size_t errlen);

/* One of the four sources by name, as the CLI and the TUI take them:
 * kind "grammar" (value: a GBNF file), "json-schema" (a JSON Schema file),
 * "regex" (the expression), "choice" (strings separated by ','). Errors
 * start with the file name where there is one. */
int gram_from_option(gram **out, const char *kind, const char *value, char *err, size_t errlen);
/* The same with schema options (used for kind "json-schema" only; NULL: defaults).
 * For json-schema the value may start with option words, "+compact",
 * "+any-order", "+ignore-unenforceable", before the file name. */
int gram_from_option_opts(gram **out, const char *kind, const char *value, const gram_schema_opts *o,
                          char *err, size_t errlen);

gram *gram_ref(gram *g);
void gram_unref(gram *g);   /* NULL is fine */

static inline bool gram_set_has(const gram *g, int32_t set, uint8_t b) {
    return (g->sets[set][b >> 3] >> (b & 7)) & 1;
}

/* ---- pieces shared by the GBNF writers (schema, regex) ------------------- */

/* A growing string; on allocation failure `oom` is set and appends stop. */
typedef struct gram_buf { char *s; size_t n, cap; bool oom; } gram_buf;
void gram_buf_add(gram_buf *b, const char *s, size_t n);
void gram_buf_puts(gram_buf *b, const char *s);
void gram_buf_printf(gram_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s[n] as a GBNF literal "..." (escapes quotes, backslashes, controls). */
void gram_buf_literal(gram_buf *b, const char *s, size_t n);
/* Regex text -> a GBNF expression (parenthesized) appended to b; 0 or
 * GRAM_ESYNTAX with err naming the offset. Used by the schema's "pattern". */
int gram_regex_expr(gram_buf *b, const char *re, size_t len, char *err, size_t errlen);

#endif
