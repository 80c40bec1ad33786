/* gram_schema: JSON Schema to GBNF (gram.h).
 *
 * Supported: type (one or a list), objects (gram_schema_obj.c: properties
 * with required, additionalProperties beside them or alone, propertyNames
 * for objects without properties), enum and const (any JSON values), items, minItems and
 * maxItems, anyOf, oneOf (when its branches are disjoint, which makes the
 * alternatives exact; refused otherwise, see oneof_disjoint), allOf of one schema, $ref to #/$defs/... or #/definitions/...
 * (recursion allowed), string minLength, maxLength and pattern (the regex
 * subset of gram_regex.c; unanchored ends match anything, as the spec's
 * search semantics say), integer minimum, maximum, exclusiveMinimum and
 * exclusiveMaximum exactly (within 15 digits), number bounds exactly with
 * fractions of up to 16 digits (see compile_num), multipleOf with a whole
 * divisor (compile_multiple). No type: any JSON value. Annotations (title,
 * description, $schema, default, examples, format) are ignored; keywords a
 * grammar cannot check are refused unless the caller asks to ignore them
 * (check_keywords). Options (gram_schema_opts): compact whitespace.
 * Errors name the JSON pointer of the part that is wrong, after the parse
 * errors' line and column.
 *
 * Output shape: whitespace is at most a short run (`ws`) between tokens;
 * strings are JSON strings with escapes; numbers are bounded to 16 digits of
 * integer part and fraction, so a sampled number always ends.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gram.h"
#include "gram_schema_impl.h"
#include "json.h"


int gram_sc_fail(sc *s, const char *path, const char *fmt, ...) {
    if (s->rc) return s->rc;
    int k = snprintf(s->err, s->errlen, "schema at %s: ", *path ? path : "/");
    if (k >= 0 && (size_t)k < s->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->err + k, s->errlen - (size_t)k, fmt, ap);
        va_end(ap);
    }
    s->rc = GRAM_ESYNTAX;
    return s->rc;
}

static const char *WS = "ws ::= ([ \\t\\n] [ \\t]{0,8})?\n";
static const char *WS_COMPACT = "ws ::= \"\"\n";
static const char *BASE =
    "jchar ::= [^\"\\\\\\x00-\\x1F] | \"\\\\\" ([\"\\\\/bfnrt] | \"u\" [0-9a-fA-F]{4})\n"
    "jstring ::= \"\\\"\" jchar* \"\\\"\"\n"
    "jint ::= \"-\"? (\"0\" | [1-9] [0-9]{0,15})\n"
    "jnumber ::= jint (\".\" [0-9]{1,16})? ([eE] [-+]? [0-9]{1,3})?\n"
    "jvalue ::= jobject | jarray | jstring | jnumber | \"true\" | \"false\" | \"null\"\n"
    "jobject ::= \"{\" ws (jstring ws \":\" ws jvalue ws (\",\" ws jstring ws \":\" ws jvalue ws)*)? \"}\"\n"
    "jarray ::= \"[\" ws (jvalue ws (\",\" ws jvalue ws)*)? \"]\"\n";

static bool compile(sc *s, const json *v, const char *path, gram_buf *out);

bool gram_sc_compile(sc *s, const json *v, const char *path, gram_buf *out) { return compile(s, v, path, out); }

/* A new helper rule name (in name[16]). */
static void fresh(sc *s, char name[24]) { snprintf(name, 24, "s%d", (int)s->next++); }

void gram_sc_child_path(char *out, size_t cap, const char *path, const char *seg) {
    snprintf(out, cap, "%s/%s", path, seg);
}

/* The JSON text of v (enum and const values) as a GBNF literal. */
static void json_literal(sc *s, const json *v, gram_buf *tmp) {
    switch (v->type) {
    case JSON_NULL: gram_buf_puts(tmp, "null"); break;
    case JSON_BOOL: gram_buf_puts(tmp, v->b ? "true" : "false"); break;
    case JSON_NUM: {
        char n[64];
        if (v->num == floor(v->num) && fabs(v->num) < 1e15) snprintf(n, sizeof n, "%.0f", v->num);
        else snprintf(n, sizeof n, "%.17g", v->num);
        gram_buf_puts(tmp, n);
        break;
    }
    case JSON_STR: {
        size_t need = json_escape(v->str, v->len, NULL, 0);
        char *e = malloc(need + 1);
        if (!e) { tmp->oom = true; break; }
        json_escape(v->str, v->len, e, need + 1);
        gram_buf_add(tmp, e, need);
        free(e);
        break;
    }
    case JSON_ARR: {
        gram_buf_puts(tmp, "[");
        int i = 0;
        for (const json *c = v->child; c; c = c->next, i++) { if (i) gram_buf_puts(tmp, ","); json_literal(s, c, tmp); }
        gram_buf_puts(tmp, "]");
        break;
    }
    default: {
        gram_buf_puts(tmp, "{");
        int i = 0;
        for (const json *c = v->child; c; c = c->next, i++) {
            if (i) gram_buf_puts(tmp, ",");
            size_t need = json_escape(c->key, c->klen, NULL, 0);
            char *e = malloc(need + 1);
            if (!e) { tmp->oom = true; break; }
            json_escape(c->key, c->klen, e, need + 1);
            gram_buf_add(tmp, e, need);
            free(e);
            gram_buf_puts(tmp, ":");
            json_literal(s, c, tmp);
        }
        gram_buf_puts(tmp, "}");
    }
    }
}

static void value_literal(sc *s, const json *v, gram_buf *out) {
    gram_buf t = { 0 };
    json_literal(s, v, &t);
    if (t.oom) out->oom = true;
    else gram_buf_literal(out, t.s ? t.s : "", t.n);
    free(t.s);
}

/* ---- strings, arrays, objects ---------------------------------------------- */

static bool compile_string(sc *s, const json *v, const char *path, gram_buf *out) {
    const json *pat = json_get(v, "pattern");
    const json *mn = json_get(v, "minLength"), *mx = json_get(v, "maxLength");
    if (pat && (mn || mx))
        return gram_sc_fail(s, path, "pattern with minLength/maxLength: the grammar would need the intersection of the "
                            "two; write the length into the pattern (e.g. \"^[a-z]{2,8}$\") and drop minLength/maxLength"), false;
    if (pat) {
        if (pat->type != JSON_STR) return gram_sc_fail(s, path, "pattern must be a string"), false;
        gram_buf_puts(out, "\"\\\"\" ");
        bool a0 = pat->len && pat->str[0] == '^', a1 = pat->len && pat->str[pat->len - 1] == '$';
        if (!a0) gram_buf_puts(out, "jchar* ");
        char e[200];
        if (gram_regex_expr(out, pat->str, pat->len, e, sizeof e)) {
            char p2[512];
            gram_sc_child_path(p2, sizeof p2, path, "pattern");
            return gram_sc_fail(s, p2, "%s", e), false;
        }
        if (!a1) gram_buf_puts(out, " jchar*");
        gram_buf_puts(out, " \"\\\"\"");
        return true;
    }
    if (!mn && !mx) { gram_buf_puts(out, "jstring"); return true; }
    double a = json_num(mn, 0), b = json_num(mx, 2000);
    if (a < 0 || b < a || a > 100000 || a != floor(a) || b != floor(b)) return gram_sc_fail(s, path, "bad minLength/maxLength"), false;
    gram_buf_printf(out, "\"\\\"\" jchar{%d,%d} \"\\\"\"", (int)a, (int)(b > 100000 ? 100000 : b));
    return true;
}

/* propertyNames (pn at path) as the grammar of a member name, quotes
 * included, into out; out stays empty when no name can satisfy it. The
 * subset: true, false, or an object of type "string", pattern, minLength,
 * maxLength, or enum/const (names that are not strings never match). */
bool gram_sc_key(sc *s, const json *pn, const char *path, gram_buf *out) {
    if (pn->type == JSON_BOOL) { if (pn->b) gram_buf_puts(out, "jstring"); return true; }
    if (pn->type != JSON_OBJ) return gram_sc_fail(s, path, "propertyNames must be a schema (an object) or a boolean"), false;
    static const char *const ok[] = { "type", "pattern", "minLength", "maxLength", "enum", "const", "title", "description", "$comment" };
    for (const json *c = pn->child; c; c = c->next) {
        bool known = false;
        for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) known |= strlen(ok[i]) == c->klen && !memcmp(ok[i], c->key, c->klen);
        if (!known)
            return gram_sc_fail(s, path, "'%.*s' in propertyNames is not supported (type \"string\", pattern, minLength, "
                                "maxLength, enum and const are)", (int)(c->klen > 60 ? 60 : c->klen), c->key), false;
    }
    const json *t = json_get(pn, "type");
    if (t && (t->type != JSON_STR || strcmp(t->str, "string")))
        return gram_sc_fail(s, path, "propertyNames: type must be \"string\" (a name is a string)"), false;
    const json *en = json_get(pn, "enum"), *cn = json_get(pn, "const");
    if (en || cn) {
        if (json_get(pn, "pattern") || json_get(pn, "minLength") || json_get(pn, "maxLength"))
            return gram_sc_fail(s, path, "propertyNames: enum/const together with pattern or lengths is not supported; "
                                "list only the names that qualify"), false;
        if (en && en->type != JSON_ARR) return gram_sc_fail(s, path, "enum must be a non-empty array"), false;
        int n = 0;
        for (const json *c = cn ? cn : en->child; c; c = cn ? NULL : c->next) {
            if (c->type != JSON_STR) continue;
            if (cn && en) {
                bool in = false;
                for (const json *e = en->child; e; e = e->next) in |= e->type == JSON_STR && e->len == c->len && !memcmp(e->str, c->str, c->len);
                if (!in) continue;
            }
            gram_buf_puts(out, n++ ? " | " : "(");
            value_literal(s, c, out);
        }
        if (n) gram_buf_puts(out, ")");
        return true;
    }
    return compile_string(s, pn, path, out);
}

static bool compile_array(sc *s, const json *v, const char *path, gram_buf *out) {
    const json *items = json_get(v, "items");
    char p2[512];
    gram_sc_child_path(p2, sizeof p2, path, "items");
    gram_buf item = { 0 };
    if (items && items->type == JSON_OBJ) { if (!compile(s, items, p2, &item)) { free(item.s); return false; } }
    else if (items && items->type == JSON_BOOL && !items->b) gram_buf_puts(&item, "[^\\x00-\\U0010FFFF]");
    else if (items && items->type != JSON_BOOL) { free(item.s); return gram_sc_fail(s, p2, "items must be a schema"), false; }
    else gram_buf_puts(&item, "jvalue");
    double mn = json_num(json_get(v, "minItems"), 0), mx = json_num(json_get(v, "maxItems"), -1);
    if (mn < 0 || mn != floor(mn) || mn > 10000 || (mx >= 0 && (mx < mn || mx != floor(mx)))) {
        free(item.s);
        return gram_sc_fail(s, path, "bad minItems/maxItems"), false;
    }
    char name[24];
    fresh(s, name);
    gram_buf *r = &s->rules;
    gram_buf_printf(r, "%s ::= %s\n", name, item.s ? item.s : "jvalue");
    free(item.s);
    int m = (int)mn, x = mx < 0 ? -1 : (int)mx;
    gram_buf_puts(out, "\"[\" ws ");
    if (x == 0) { gram_buf_puts(out, "\"]\""); return true; }
    if (m == 0) gram_buf_puts(out, "(");
    gram_buf_printf(out, "%s ws (\",\" ws %s ws)", name, name);
    int lo = m > 0 ? m - 1 : 0;
    if (x < 0) gram_buf_printf(out, "{%d,}", lo);
    else gram_buf_printf(out, "{%d,%d}", lo, x - 1);
    if (m == 0) gram_buf_puts(out, ")?");
    gram_buf_puts(out, " \"]\"");
    return true;
}

/* ---- $ref ------------------------------------------------------------------ */

static bool compile_ref(sc *s, const json *v, const char *path, gram_buf *out) {
    const json *r = json_get(v, "$ref");
    if (r->type != JSON_STR || strncmp(r->str, "#/", 2) != 0)
        return gram_sc_fail(s, path, "$ref must be a local reference such as \"#/$defs/name\""), false;
    for (int32_t i = 0; i < s->n_refs; i++)
        if (strcmp(s->refs[i], r->str) == 0) { gram_buf_printf(out, "ref%d", (int)i); return true; }
    const json *t = s->root;
    char seg[256];
    const char *p = r->str + 2;
    while (*p && t) {
        size_t n = strcspn(p, "/");
        if (n >= sizeof seg) return gram_sc_fail(s, path, "$ref segment too long"), false;
        memcpy(seg, p, n);
        seg[n] = 0;
        t = json_get(t, seg);
        p += n;
        if (*p == '/') p++;
    }
    if (!t) return gram_sc_fail(s, path, "$ref \"%s\" points at nothing", r->str), false;
    char **nr = realloc(s->refs, sizeof *nr * (size_t)(s->n_refs + 1));
    if (!nr || !(nr[s->n_refs] = strdup(r->str))) { if (nr) s->refs = nr; s->rules.oom = true; return false; }
    s->refs = nr;
    int32_t id = s->n_refs++;
    gram_buf body = { 0 };
    char p2[512];
    snprintf(p2, sizeof p2, "%s", r->str + 1);
    if (!compile(s, t, p2, &body)) { free(body.s); return false; }
    gram_buf_printf(&s->rules, "ref%d ::= %s\n", (int)id, body.s ? body.s : "jvalue");
    free(body.s);
    gram_buf_printf(out, "ref%d", (int)id);
    return true;
}

/* ---- dispatch -------------------------------------------------------------- */

static bool compile_type(sc *s, const json *v, const char *path, const char *t, size_t tl, gram_buf *out) {
    if (tl == 6 && !memcmp(t, "string", 6)) return compile_string(s, v, path, out);
    if (tl == 6 && !memcmp(t, "number", 6)) return gram_sc_num(s, v, path, out);
    if (tl == 7 && !memcmp(t, "integer", 7)) return gram_sc_int(s, v, path, out);
    if (tl == 7 && !memcmp(t, "boolean", 7)) { gram_buf_puts(out, "(\"true\" | \"false\")"); return true; }
    if (tl == 4 && !memcmp(t, "null", 4)) { gram_buf_puts(out, "\"null\""); return true; }
    if (tl == 6 && !memcmp(t, "object", 6)) return gram_sc_object(s, v, path, out);
    if (tl == 5 && !memcmp(t, "array", 5)) return compile_array(s, v, path, out);
    char p2[512];
    gram_sc_child_path(p2, sizeof p2, path, "type");
    return gram_sc_fail(s, p2, "unknown type '%.*s' (expected string, number, integer, boolean, null, object or array)", (int)tl, t), false;
}

/* ---- oneOf: exact when its branches cannot both match -----------------------
 * A grammar has no "exactly one of": oneOf compiles to alternatives, which is
 * exact when no value satisfies two branches. That is decided here from what
 * each branch can produce: its JSON types, a finite list of values (enum,
 * const), a numeric range. Two branches are disjoint when they share no
 * type; or both are value lists with no common value; or one is a list
 * whose every value the other's types or range exclude; or they share only
 * numbers and their ranges do not meet. Otherwise the schema is refused
 * (naming the branches): anyOf says "either" and is always accepted. */

enum { T_OBJ = 1, T_ARR = 2, T_STR = 4, T_INT = 8, T_FRAC = 16, T_TRUE = 32, T_FALSE = 64, T_NULL = 128, T_ALL = 255 };
#define SHAPE_VALS 32

typedef struct shape {
    unsigned types;
    double lo, hi;                  /* numbers: closed range (exclusive bounds widened) */
    const json *vals[SHAPE_VALS];
    int n_vals;                     /* -1: not a finite list */
} shape;

static unsigned value_type(const json *v) {
    switch (v->type) {
    case JSON_OBJ: return T_OBJ;
    case JSON_ARR: return T_ARR;
    case JSON_STR: return T_STR;
    case JSON_NUM: return v->num == floor(v->num) ? T_INT : T_FRAC;
    case JSON_BOOL: return v->b ? T_TRUE : T_FALSE;
    default: return T_NULL;
    }
}

static bool json_eq(const json *a, const json *b) {
    if (a->type != b->type) return false;
    switch (a->type) {
    case JSON_NUM: return a->num == b->num;
    case JSON_BOOL: return a->b == b->b;
    case JSON_STR: return a->len == b->len && memcmp(a->str, b->str, a->len) == 0;
    case JSON_ARR: {
        if (a->n != b->n) return false;
        for (const json *x = a->child, *y = b->child; x && y; x = x->next, y = y->next) if (!json_eq(x, y)) return false;
        return true;
    }
    case JSON_OBJ: {
        if (a->n != b->n) return false;
        for (const json *x = a->child; x; x = x->next) {
            const json *y = NULL;
            for (const json *z = b->child; z && !y; z = z->next) if (z->klen == x->klen && !memcmp(z->key, x->key, x->klen)) y = z;
            if (!y || !json_eq(x, y)) return false;
        }
        return true;
    }
    default: return true;
    }
}

static void shape_all(shape *o) { o->types = T_ALL; o->lo = -INFINITY; o->hi = INFINITY; o->n_vals = -1; }

static void shape_add_val(shape *o, const json *v) {
    o->types |= value_type(v);
    if (o->n_vals >= 0 && o->n_vals < SHAPE_VALS) o->vals[o->n_vals++] = v;
    else o->n_vals = -1;
}

/* The union of o and b into o. */
static void shape_union(shape *o, const shape *b) {
    bool exact = o->n_vals >= 0 && b->n_vals >= 0 && o->n_vals + b->n_vals <= SHAPE_VALS;
    if (exact) for (int i = 0; i < b->n_vals; i++) o->vals[o->n_vals++] = b->vals[i];
    else o->n_vals = -1;
    if (b->types & (T_INT | T_FRAC)) {
        if (!(o->types & (T_INT | T_FRAC))) { o->lo = b->lo; o->hi = b->hi; }
        else { if (b->lo < o->lo) o->lo = b->lo; if (b->hi > o->hi) o->hi = b->hi; }
    }
    o->types |= b->types;
}

static const json *resolve_ref(const sc *s, const json *r) {
    if (r->type != JSON_STR || strncmp(r->str, "#/", 2) != 0) return NULL;
    const json *t = s->root;
    char seg[256];
    for (const char *p = r->str + 2; *p && t;) {
        size_t n = strcspn(p, "/");
        if (n >= sizeof seg) return NULL;
        memcpy(seg, p, n);
        seg[n] = 0;
        t = json_get(t, seg);
        p += n;
        if (*p == '/') p++;
    }
    return t;
}

/* What v can produce (an over-approximation: T_ALL when unsure). */
static void shape_of(const sc *s, const json *v, shape *o, int depth) {
    o->types = 0;
    o->lo = -INFINITY;
    o->hi = INFINITY;
    o->n_vals = 0;
    if (depth > 16 || v->type != JSON_OBJ) {
        if (v->type == JSON_BOOL && !v->b) return;      /* false: nothing */
        shape_all(o);
        return;
    }
    const json *t;
    if ((t = json_get(v, "$ref"))) {
        const json *target = resolve_ref(s, t);
        if (target) shape_of(s, target, o, depth + 1);
        else shape_all(o);
        return;
    }
    if ((t = json_get(v, "const"))) { shape_add_val(o, t); return; }
    if ((t = json_get(v, "enum")) && t->type == JSON_ARR) {
        for (const json *c = t->child; c; c = c->next) shape_add_val(o, c);
        return;
    }
    const char *alts = json_get(v, "anyOf") ? "anyOf" : json_get(v, "oneOf") ? "oneOf" : json_get(v, "allOf") ? "allOf" : NULL;
    if (alts && (t = json_get(v, alts))->type == JSON_ARR) {
        for (const json *c = t->child; c; c = c->next) {
            shape b;
            shape_of(s, c, &b, depth + 1);
            shape_union(o, &b);
        }
        return;
    }
    o->n_vals = -1;
    t = json_get(v, "type");
    if (!t) {
        if (json_get(v, "properties")) o->types = T_OBJ;
        else if (json_get(v, "items")) o->types = T_ARR;
        else shape_all(o);
        return;
    }
    for (const json *c = t->type == JSON_ARR ? t->child : t; c; c = t->type == JSON_ARR ? c->next : NULL) {
        if (c->type != JSON_STR) { shape_all(o); return; }
        const char *n = c->str;
        o->types |= !strcmp(n, "object") ? T_OBJ : !strcmp(n, "array") ? T_ARR : !strcmp(n, "string") ? T_STR
                  : !strcmp(n, "integer") ? T_INT : !strcmp(n, "number") ? T_INT | T_FRAC
                  : !strcmp(n, "boolean") ? T_TRUE | T_FALSE : !strcmp(n, "null") ? T_NULL : T_ALL;
    }
    if (o->types & (T_INT | T_FRAC)) {
        const char *k[] = { "minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum" };
        for (int i = 0; i < 4; i++) {
            const json *b = json_get(v, k[i]);
            if (!b || b->type != JSON_NUM) continue;
            if (i < 2 && b->num > o->lo) o->lo = b->num;
            if (i >= 2 && b->num < o->hi) o->hi = b->num;
        }
    }
}

/* Whether value x can satisfy shape b. */
static bool shape_has(const shape *b, const json *x) {
    if (b->n_vals >= 0) {
        for (int i = 0; i < b->n_vals; i++) if (json_eq(b->vals[i], x)) return true;
        return false;
    }
    unsigned t = value_type(x);
    if (!(b->types & t)) return false;
    if (t & (T_INT | T_FRAC)) return x->num >= b->lo && x->num <= b->hi;
    return true;
}

static bool shapes_disjoint(const shape *a, const shape *b) {
    if (!(a->types & b->types)) return true;
    if (a->n_vals >= 0) {
        for (int i = 0; i < a->n_vals; i++) if (shape_has(b, a->vals[i])) return false;
        return true;
    }
    if (b->n_vals >= 0) return shapes_disjoint(b, a);
    if ((a->types & b->types) & ~(unsigned)(T_INT | T_FRAC)) return false;
    return a->hi < b->lo || b->hi < a->lo;
}

/* For oneOf at path: fails (naming two branches) unless they are pairwise disjoint. */
static bool oneof_disjoint(sc *s, const json *arr, const char *path) {
    int n = (int)arr->n;
    shape *sh = malloc(sizeof *sh * (size_t)(n ? n : 1));
    if (!sh) { s->rules.oom = true; return false; }
    int i = 0;
    for (const json *c = arr->child; c; c = c->next, i++) shape_of(s, c, &sh[i], 0);
    for (int a = 0; a < n; a++)
        for (int b = a + 1; b < n; b++)
            if (!shapes_disjoint(&sh[a], &sh[b])) {
                free(sh);
                return gram_sc_fail(s, path, "branches %d and %d may both match one value, and a grammar cannot check \"exactly one\" "
                               "(oneOf is compiled when its branches are told apart by JSON type, by enum/const values or by "
                               "numeric range; use anyOf to accept either)", a, b), false;
            }
    free(sh);
    return true;
}

/* Assertions a context-free grammar over the text cannot make (they compare
 * parts of the value with each other, negate a schema, or depend on a
 * condition). Ignoring one silently would let invalid JSON through, so the
 * schema is refused unless the caller asked to ignore them. */
static const char *const UNENFORCEABLE[] = {
    "not", "if", "then", "else", "uniqueItems", "patternProperties", "dependentRequired",
    "dependentSchemas", "dependencies", "propertyNames", "contains", "minContains", "maxContains",
    "minProperties", "maxProperties", "prefixItems", "additionalItems", "unevaluatedProperties",
    "unevaluatedItems", "$dynamicRef", "$recursiveRef",
};

static bool check_keywords(sc *s, const json *v, const char *path) {
    if (s->o.ignore_unenforceable) return true;
    /* propertyNames is enforced for an object type (gram_sc_object) */
    const json *ty = json_get(v, "type");
    bool object = ty && ty->type == JSON_STR && !strcmp(ty->str, "object");
    for (const json *c = ty && ty->type == JSON_ARR ? ty->child : NULL; c; c = c->next) object |= c->type == JSON_STR && !strcmp(c->str, "object");
    for (const json *c = v->child; c; c = c->next)
        for (size_t i = 0; i < sizeof UNENFORCEABLE / sizeof *UNENFORCEABLE; i++)
            if (strlen(UNENFORCEABLE[i]) == c->klen && memcmp(UNENFORCEABLE[i], c->key, c->klen) == 0
                && !(object && !strcmp(UNENFORCEABLE[i], "propertyNames"))) {
                char p2[512];
                gram_sc_child_path(p2, sizeof p2, path, UNENFORCEABLE[i]);
                return gram_sc_fail(s, p2, "'%s' cannot be enforced by a grammar; remove it, or compile "
                               "ignoring it (gen --schema-ignore-unenforceable, :grammar json-schema "
                               "+ignore-unenforceable FILE, Lua {ignore_unenforceable = true}: outputs may "
                               "then violate it)", UNENFORCEABLE[i]), false;
            }
    return true;
}

static bool compile(sc *s, const json *v, const char *path, gram_buf *out) {
    if (s->rc) return false;
    if (v->type == JSON_BOOL) { gram_buf_puts(out, v->b ? "jvalue" : "[^\\x00-\\U0010FFFF]"); return true; }
    if (v->type != JSON_OBJ) return gram_sc_fail(s, path, "a schema must be an object or a boolean"), false;
    if (!check_keywords(s, v, path)) return false;
    const json *t;
    if (json_get(v, "multipleOf") && !json_get(v, "type") && !s->o.ignore_unenforceable) {
        char p2[512];
        gram_sc_child_path(p2, sizeof p2, path, "multipleOf");
        return gram_sc_fail(s, p2, "multipleOf needs \"type\": \"integer\" or \"number\" here (without a type any "
                       "value would pass)"), false;
    }
    if (json_get(v, "$ref")) return compile_ref(s, v, path, out);
    if ((t = json_get(v, "const"))) { value_literal(s, t, out); return true; }
    if ((t = json_get(v, "enum"))) {
        if (t->type != JSON_ARR || t->n == 0) return gram_sc_fail(s, path, "enum must be a non-empty array"), false;
        gram_buf_puts(out, "(");
        int i = 0;
        for (const json *c = t->child; c; c = c->next, i++) { if (i) gram_buf_puts(out, " | "); value_literal(s, c, out); }
        gram_buf_puts(out, ")");
        return true;
    }
    const char *alts = json_get(v, "anyOf") ? "anyOf" : json_get(v, "oneOf") ? "oneOf" : json_get(v, "allOf") ? "allOf" : NULL;
    if (alts) {
        t = json_get(v, alts);
        char p2[512];
        gram_sc_child_path(p2, sizeof p2, path, alts);
        if (t->type != JSON_ARR || t->n == 0) return gram_sc_fail(s, p2, "must be a non-empty array of schemas"), false;
        if (alts[1] == 'l' && t->n != 1) return gram_sc_fail(s, p2, "allOf is supported with one schema only"), false;
        if (alts[0] == 'o' && !oneof_disjoint(s, t, p2)) return false;
        gram_buf_puts(out, "(");
        int i = 0;
        for (const json *c = t->child; c; c = c->next, i++) {
            char p3[560];
            snprintf(p3, sizeof p3, "%s/%d", p2, i);
            if (i) gram_buf_puts(out, " | ");
            if (!compile(s, c, p3, out)) return false;
        }
        gram_buf_puts(out, ")");
        return true;
    }
    t = json_get(v, "type");
    if (!t) {
        if (json_get(v, "properties")) return gram_sc_object(s, v, path, out);
        if (json_get(v, "items")) return compile_array(s, v, path, out);
        gram_buf_puts(out, "jvalue");
        return true;
    }
    char p2[512];
    gram_sc_child_path(p2, sizeof p2, path, "type");
    if (t->type == JSON_STR) return compile_type(s, v, path, t->str, t->len, out);
    if (t->type != JSON_ARR || t->n == 0) return gram_sc_fail(s, p2, "type must be a string or a non-empty array"), false;
    gram_buf_puts(out, "(");
    int i = 0;
    for (const json *c = t->child; c; c = c->next, i++) {
        if (c->type != JSON_STR) return gram_sc_fail(s, p2, "type entries must be strings"), false;
        if (i) gram_buf_puts(out, " | ");
        if (!compile_type(s, v, path, c->str, c->len, out)) return false;
    }
    gram_buf_puts(out, ")");
    return true;
}

int gram_schema_gbnf(char **gbnf, const char *text, size_t len, char *err, size_t errlen) {
    return gram_schema_gbnf_opts(gbnf, text, len, NULL, err, errlen);
}

int gram_schema_gbnf_opts(char **gbnf, const char *text, size_t len, const gram_schema_opts *o, char *err, size_t errlen) {
    *gbnf = NULL;
    char perr[200];
    json_doc *d = json_parse(text, len, perr, sizeof perr);
    if (!d) { snprintf(err, errlen, "schema: %s", perr); return GRAM_ESYNTAX; }
    sc s = { .root = json_root(d), .err = err, .errlen = errlen };
    if (o) s.o = *o;
    gram_buf top = { 0 };
    bool ok = compile(&s, s.root, "", &top);
    gram_buf all = { 0 };
    if (ok) {
        gram_buf_printf(&all, "root ::= %s\n", top.s ? top.s : "jvalue");
        gram_buf_add(&all, s.rules.s ? s.rules.s : "", s.rules.n);
        gram_buf_puts(&all, s.o.compact ? WS_COMPACT : WS);
        gram_buf_puts(&all, BASE);
    }
    int rc = s.rc;
    if (!rc && (all.oom || top.oom || s.rules.oom)) { rc = GRAM_ENOMEM; snprintf(err, errlen, "out of memory"); }
    free(top.s);
    free(s.rules.s);
    for (int32_t i = 0; i < s.n_refs; i++) free(s.refs[i]);
    free(s.refs);
    json_free(d);
    if (rc) { free(all.s); return rc; }
    *gbnf = all.s;
    return 0;
}

int gram_from_schema(gram **out, const char *text, size_t len, char *err, size_t errlen) {
    return gram_from_schema_opts(out, text, len, NULL, err, errlen);
}

int gram_from_schema_opts(gram **out, const char *text, size_t len, const gram_schema_opts *o, char *err, size_t errlen) {
    *out = NULL;
    char *g;
    int rc = gram_schema_gbnf_opts(&g, text, len, o, err, errlen);
    if (rc) return rc;
    char e2[300];
    rc = gram_parse(out, g, strlen(g), e2, sizeof e2);
    if (rc) snprintf(err, errlen, "schema compiled to a bad grammar (a bug): %s", e2);
    free(g);
    return rc;
}
