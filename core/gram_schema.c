/* gram_schema: JSON Schema to GBNF (gram.h).
 *
 * Supported: type (one or a list), objects (gram_schema_obj.c: properties
 * with required, additionalProperties beside them or alone, propertyNames
 * for objects without properties), enum and const (any JSON values), items, minItems and
 * maxItems, anyOf, oneOf (gram_schema_oneof.c), allOf of one schema, $ref to #/$defs/... or #/definitions/...
 * (recursion allowed), string minLength, maxLength and pattern (the regex
 * subset of gram_regex.c; unanchored ends match anything, as the spec's
 * search semantics say), integer minimum, maximum, exclusiveMinimum and
 * exclusiveMaximum exactly (within 15 digits), number bounds exactly with
 * fractions of up to 16 digits (gram_schema_num.c), multipleOf with any
 * decimal divisor and bounds (gram_schema_mult.c). No type: any JSON value. Annotations (title,
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
    /* one code point, for counted strings (minLength/maxLength count code
     * points): an escaped surrogate pair is one, a lone surrogate none */
    "jcp ::= [^\"\\\\\\x00-\\x1F] | \"\\\\\" ([\"\\\\/bfnrt] | \"u\" ([0-9a-cA-CeEfF] [0-9a-fA-F]{3} | [dD] [0-7] [0-9a-fA-F]{2} | "
    "[dD] [89abAB] [0-9a-fA-F]{2} \"\\\\u\" [dD] [c-fC-F] [0-9a-fA-F]{2}))\n"
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

void gram_sc_value_literal(sc *s, const json *v, gram_buf *out) {
    gram_buf t = { 0 };
    json_literal(s, v, &t);
    if (t.oom) out->oom = true;
    else gram_buf_literal(out, t.s ? t.s : "", t.n);
    free(t.s);
}

/* ---- strings, arrays, objects ---------------------------------------------- */

/* The count keyword `key` of schema v (minItems, maxLength, ...) into *out:
 * absent leaves *out as it is; present, it must be a whole number from 0 to
 * lim (above lim: an error when `hard`, else lim, which only narrows what a
 * generation may produce). An error names the keyword, what it holds and
 * where (the keyword's own path). */
static bool count_kw(sc *s, const json *v, const char *path, const char *key, double lim, bool hard, double *out) {
    const json *n = json_get(v, key);
    if (!n) return true;
    char p2[512];
    gram_sc_child_path(p2, sizeof p2, path, key);
    if (n->type != JSON_NUM) {
        static const char *const T[] = { [JSON_NULL] = "null", [JSON_BOOL] = "a boolean", [JSON_STR] = "a string",
                                         [JSON_ARR] = "an array", [JSON_OBJ] = "an object" };
        const char *t = (size_t)n->type < sizeof T / sizeof T[0] && T[n->type] ? T[n->type] : "not a number";
        return gram_sc_fail(s, p2, "%s must be a whole number >= 0, got %s", key, t), false;
    }
    if (!(n->num >= 0) || n->num != floor(n->num))
        return gram_sc_fail(s, p2, "%s must be a whole number >= 0, got %g", key, n->num), false;
    if (n->num > lim && hard)
        return gram_sc_fail(s, p2, "%s %.0f is above %.0f, the most a grammar here can require", key, n->num, lim), false;
    *out = n->num > lim ? lim : n->num;
    return true;
}

/* min above max: no value fits; say both, as the schema gives them. */
static bool count_pair(sc *s, const json *v, const char *path, const char *kmin, const char *kmax, double mn, double mx) {
    if (mx < 0 || mn <= mx) return true;
    return gram_sc_fail(s, path, "%s %.0f is above %s %g: no value can satisfy both", kmin, mn, kmax,
                        json_num(json_get(v, kmax), mx)), false;
}

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
    /* the gram's counted repetition goes to 100000: a longer maxLength acts
     * as 100000, a longer minLength is refused */
    double a = 0, b = -1;
    if (!count_kw(s, v, path, "minLength", 100000, true, &a) || !count_kw(s, v, path, "maxLength", 100000, false, &b) ||
        !count_pair(s, v, path, "minLength", "maxLength", a, b))
        return false;
    if (b < 0) gram_buf_printf(out, "\"\\\"\" jcp{%d,} \"\\\"\"", (int)a);
    else gram_buf_printf(out, "\"\\\"\" jcp{%d,%d} \"\\\"\"", (int)a, (int)b);
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
            gram_sc_value_literal(s, c, out);
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
    /* minItems copies the item that many times (at most 10000); maxItems
     * above 100000 (the gram's repetition limit) acts as 100000 */
    double mn = 0, mx = -1;
    if (!count_kw(s, v, path, "minItems", 10000, true, &mn) || !count_kw(s, v, path, "maxItems", 100000, false, &mx) ||
        !count_pair(s, v, path, "minItems", "maxItems", mn, mx)) {
        free(item.s);
        return false;
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
    /* propertyNames and patternProperties are enforced for an object type (gram_sc_object) */
    const json *ty = json_get(v, "type");
    bool object = ty && ty->type == JSON_STR && !strcmp(ty->str, "object");
    for (const json *c = ty && ty->type == JSON_ARR ? ty->child : NULL; c; c = c->next) object |= c->type == JSON_STR && !strcmp(c->str, "object");
    for (const json *c = v->child; c; c = c->next)
        for (size_t i = 0; i < sizeof UNENFORCEABLE / sizeof *UNENFORCEABLE; i++)
            if (strlen(UNENFORCEABLE[i]) == c->klen && memcmp(UNENFORCEABLE[i], c->key, c->klen) == 0
                && !(object && (!strcmp(UNENFORCEABLE[i], "propertyNames") || !strcmp(UNENFORCEABLE[i], "patternProperties")))) {
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
    if ((t = json_get(v, "const"))) { gram_sc_value_literal(s, t, out); return true; }
    if ((t = json_get(v, "enum"))) {
        if (t->type != JSON_ARR || t->n == 0) return gram_sc_fail(s, path, "enum must be a non-empty array"), false;
        gram_buf_puts(out, "(");
        int i = 0;
        for (const json *c = t->child; c; c = c->next, i++) { if (i) gram_buf_puts(out, " | "); gram_sc_value_literal(s, c, out); }
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
        if (alts[0] == 'o') return gram_sc_oneof(s, t, p2, out);      /* gram_schema_oneof.c */
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
    /* a $ref that reaches itself before any character ({"$defs": {"a": {"$ref":
     * "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}) is the schema's mistake, not ours */
    if (rc && strstr(e2, "left recursion (ref"))
        snprintf(err, errlen, "schema: its $refs reach themselves before any character (a cycle such as "
                 "a -> b -> a with nothing in between; refN is the Nth $ref met): %s", strstr(e2, "left recursion"));
    else if (rc) snprintf(err, errlen, "schema compiled to a bad grammar (a bug): %s", e2);
    free(g);
    return rc;
}
