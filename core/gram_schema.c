/* gram_schema: JSON Schema to GBNF (gram.h).
 *
 * Supported: type (one or a list), properties with required (properties in
 * the order written, optional ones may be left out; no others allowed),
 * additionalProperties (a schema, true, or false) for objects without
 * properties, enum and const (any JSON values), items, minItems and
 * maxItems, anyOf and oneOf (as alternatives: oneOf's "exactly one" is not
 * checked), allOf of one schema, $ref to #/$defs/... or #/definitions/...
 * (recursion allowed), string minLength, maxLength and pattern (the regex
 * subset of gram_regex.c; unanchored ends match anything, as the spec's
 * search semantics say), integer minimum, maximum, exclusiveMinimum and
 * exclusiveMaximum exactly (within 15 digits), number bounds for
 * non-negative ranges (integer part bounded, see num_range). No type: any
 * JSON value. Annotations (title, description, $schema, default, examples,
 * format) are ignored.
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
} sc;

static int sc_fail(sc *s, const char *path, const char *fmt, ...) {
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

static const char *BASE =
    "ws ::= ([ \\t\\n] [ \\t]{0,8})?\n"
    "jchar ::= [^\"\\\\\\x00-\\x1F] | \"\\\\\" ([\"\\\\/bfnrt] | \"u\" [0-9a-fA-F]{4})\n"
    "jstring ::= \"\\\"\" jchar* \"\\\"\"\n"
    "jint ::= \"-\"? (\"0\" | [1-9] [0-9]{0,15})\n"
    "jnumber ::= jint (\".\" [0-9]{1,16})? ([eE] [-+]? [0-9]{1,3})?\n"
    "jvalue ::= jobject | jarray | jstring | jnumber | \"true\" | \"false\" | \"null\"\n"
    "jobject ::= \"{\" ws (jstring ws \":\" ws jvalue ws (\",\" ws jstring ws \":\" ws jvalue ws)*)? \"}\"\n"
    "jarray ::= \"[\" ws (jvalue ws (\",\" ws jvalue ws)*)? \"]\"\n";

static bool compile(sc *s, const json *v, const char *path, gram_buf *out);

/* A new helper rule name (in name[16]). */
static void fresh(sc *s, char name[24]) { snprintf(name, 24, "s%d", (int)s->next++); }

static void child_path(char *out, size_t cap, const char *path, const char *seg) {
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

/* ---- integer ranges -------------------------------------------------------- */

/* Decimal numbers in [lo, hi], both >= 0 and of the same digit count n,
 * written as alternatives: the classic split by common prefix. */
static void digits_range(gram_buf *o, const char *lo, const char *hi, int n) {
    if (n == 0) { gram_buf_puts(o, "\"\""); return; }
    if (lo[0] == hi[0]) {
        gram_buf_printf(o, "\"%c\" (", lo[0]);
        digits_range(o, lo + 1, hi + 1, n - 1);
        gram_buf_puts(o, ")");
        return;
    }
    /* lo[0] rest >= lo+1 | (lo[0]+1 .. hi[0]-1) any | hi[0] rest <= hi+1 */
    bool lo_all0 = true, hi_all9 = true;
    for (int i = 1; i < n; i++) { lo_all0 &= lo[i] == '0'; hi_all9 &= hi[i] == '9'; }
    int a = lo[0] - '0', b = hi[0] - '0';
    bool first = true;
    if (!lo_all0) {
        char nines[20];
        memset(nines, '9', sizeof nines);
        gram_buf_printf(o, "\"%c\" (", lo[0]);
        digits_range(o, lo + 1, nines, n - 1);
        gram_buf_puts(o, ")");
        a++;
        first = false;
    }
    int bb = hi_all9 ? b : b - 1;
    if (a <= bb) {
        if (!first) gram_buf_puts(o, " | ");
        gram_buf_printf(o, "[%d-%d]", a, bb);
        if (n > 1) gram_buf_printf(o, " [0-9]{%d}", n - 1);
        first = false;
    }
    if (!hi_all9) {
        char zeros[20];
        memset(zeros, '0', sizeof zeros);
        if (!first) gram_buf_puts(o, " | ");
        gram_buf_printf(o, "\"%c\" (", hi[0]);
        digits_range(o, zeros, hi + 1, n - 1);
        gram_buf_puts(o, ")");
    }
}

/* Non-negative integers in [lo, hi] (no leading zeros). */
static void uint_range(gram_buf *o, long long lo, long long hi) {
    bool first = true;
    for (int n = 1; n <= 16; n++) {
        long long pmin = n == 1 ? 0 : (long long)pow(10, n - 1), pmax = (long long)pow(10, n) - 1;
        long long a = lo > pmin ? lo : pmin, b = hi < pmax ? hi : pmax;
        if (a > b) continue;
        char sa[24], sb[24];
        snprintf(sa, sizeof sa, "%lld", a);
        snprintf(sb, sizeof sb, "%lld", b);
        if (!first) gram_buf_puts(o, " | ");
        gram_buf_puts(o, "(");
        digits_range(o, sa, sb, n);
        gram_buf_puts(o, ")");
        first = false;
    }
    if (first) gram_buf_puts(o, "[^\\x00-\\U0010FFFF]");   /* empty: matches nothing */
}

#define INT_LIMIT 999999999999999LL

static void int_range(gram_buf *o, long long lo, long long hi) {
    gram_buf_puts(o, "(");
    bool any = false;
    if (hi >= 0) {
        uint_range(o, lo > 0 ? lo : 0, hi);
        any = true;
    }
    if (lo < 0) {
        if (any) gram_buf_puts(o, " | ");
        gram_buf_puts(o, "\"-\" (");
        uint_range(o, hi < 0 ? -hi : 1, -lo);
        gram_buf_puts(o, ")");
    }
    gram_buf_puts(o, ")");
}

static bool bounds(sc *s, const json *v, const char *path, bool integer, double *lo, double *hi, bool *has) {
    *lo = -INFINITY;
    *hi = INFINITY;
    *has = false;
    const char *k[] = { "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum" };
    for (int i = 0; i < 4; i++) {
        const json *b = json_get(v, k[i]);
        if (!b) continue;
        if (b->type == JSON_BOOL) continue;   /* draft 4 form: ignored */
        if (b->type != JSON_NUM) return sc_fail(s, path, "%s must be a number", k[i]), false;
        *has = true;
        double x = b->num;
        if (i == 0 && x > *lo) *lo = x;
        if (i == 1 && x < *hi) *hi = x;
        if (i == 2) { double t = integer ? floor(x) + 1 : x; if (t > *lo) *lo = t; }
        if (i == 3) { double t = integer ? ceil(x) - 1 : x; if (t < *hi) *hi = t; }
    }
    return true;
}

static bool compile_int(sc *s, const json *v, const char *path, gram_buf *out) {
    double lo, hi;
    bool has;
    if (!bounds(s, v, path, true, &lo, &hi, &has)) return false;
    if (!has) { gram_buf_puts(out, "jint"); return true; }
    long long a = lo == -INFINITY ? -INT_LIMIT : (long long)ceil(lo), b = hi == INFINITY ? INT_LIMIT : (long long)floor(hi);
    if (a < -INT_LIMIT) a = -INT_LIMIT;
    if (b > INT_LIMIT) b = INT_LIMIT;
    if (a > b) return sc_fail(s, path, "no integer lies between the minimum and the maximum"), false;
    int_range(out, a, b);
    return true;
}

/* Numbers with bounds: integer values in [ceil lo, floor hi], and values
 * with a fraction whose integer part lies in [ceil lo, floor hi - 1] (so
 * x.f stays below hi), for lo >= 0; with a negative bound only integer
 * values are produced. Sound (every output is in range), not complete. */
static bool compile_num(sc *s, const json *v, const char *path, gram_buf *out) {
    double lo, hi;
    bool has;
    if (!bounds(s, v, path, false, &lo, &hi, &has)) return false;
    if (!has) { gram_buf_puts(out, "jnumber"); return true; }
    long long a = lo == -INFINITY ? -INT_LIMIT : (long long)ceil(lo), b = hi == INFINITY ? INT_LIMIT : (long long)floor(hi);
    bool lo_excl = json_get(v, "exclusiveMinimum") && json_get(v, "exclusiveMinimum")->type == JSON_NUM && (double)a == lo;
    bool hi_excl = json_get(v, "exclusiveMaximum") && json_get(v, "exclusiveMaximum")->type == JSON_NUM && (double)b == hi;
    long long ia = lo_excl ? a + 1 : a, ib = hi_excl ? b - 1 : b;
    if (ia > ib && (a < 0 || a >= b)) return sc_fail(s, path, "no number the grammar can express lies in the range"), false;
    gram_buf_puts(out, "(");
    bool first = true;
    if (ia <= ib) { int_range(out, ia, ib); first = false; }
    if (a >= 0 && a <= b - 1) {
        if (!first) gram_buf_puts(out, " | ");
        int_range(out, a, b - 1);
        /* a fraction above zero: never equal to an excluded lower integer bound */
        gram_buf_puts(out, " \".\" [0-9]{0,15} [1-9]");
    }
    gram_buf_puts(out, ")");
    return true;
}

/* ---- strings, arrays, objects ---------------------------------------------- */

static bool compile_string(sc *s, const json *v, const char *path, gram_buf *out) {
    const json *pat = json_get(v, "pattern");
    if (pat) {
        if (pat->type != JSON_STR) return sc_fail(s, path, "pattern must be a string"), false;
        gram_buf_puts(out, "\"\\\"\" ");
        bool a0 = pat->len && pat->str[0] == '^', a1 = pat->len && pat->str[pat->len - 1] == '$';
        if (!a0) gram_buf_puts(out, "jchar* ");
        char e[200];
        if (gram_regex_expr(out, pat->str, pat->len, e, sizeof e)) {
            char p2[512];
            child_path(p2, sizeof p2, path, "pattern");
            return sc_fail(s, p2, "%s", e), false;
        }
        if (!a1) gram_buf_puts(out, " jchar*");
        gram_buf_puts(out, " \"\\\"\"");
        return true;
    }
    const json *mn = json_get(v, "minLength"), *mx = json_get(v, "maxLength");
    if (!mn && !mx) { gram_buf_puts(out, "jstring"); return true; }
    double a = json_num(mn, 0), b = json_num(mx, 2000);
    if (a < 0 || b < a || a > 100000 || a != floor(a) || b != floor(b)) return sc_fail(s, path, "bad minLength/maxLength"), false;
    gram_buf_printf(out, "\"\\\"\" jchar{%d,%d} \"\\\"\"", (int)a, (int)(b > 100000 ? 100000 : b));
    return true;
}

static bool compile_array(sc *s, const json *v, const char *path, gram_buf *out) {
    const json *items = json_get(v, "items");
    char p2[512];
    child_path(p2, sizeof p2, path, "items");
    gram_buf item = { 0 };
    if (items && items->type == JSON_OBJ) { if (!compile(s, items, p2, &item)) { free(item.s); return false; } }
    else if (items && items->type == JSON_BOOL && !items->b) gram_buf_puts(&item, "[^\\x00-\\U0010FFFF]");
    else if (items && items->type != JSON_BOOL) { free(item.s); return sc_fail(s, p2, "items must be a schema"), false; }
    else gram_buf_puts(&item, "jvalue");
    double mn = json_num(json_get(v, "minItems"), 0), mx = json_num(json_get(v, "maxItems"), -1);
    if (mn < 0 || mn != floor(mn) || mn > 10000 || (mx >= 0 && (mx < mn || mx != floor(mx)))) {
        free(item.s);
        return sc_fail(s, path, "bad minItems/maxItems"), false;
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

static bool in_required(const json *req, const char *k, size_t kl) {
    for (const json *c = req ? req->child : NULL; c; c = c->next)
        if (c->type == JSON_STR && c->len == kl && memcmp(c->str, k, kl) == 0) return true;
    return false;
}

static bool compile_object(sc *s, const json *v, const char *path, gram_buf *out) {
    const json *props = json_get(v, "properties"), *req = json_get(v, "required");
    if (props && props->type != JSON_OBJ) return sc_fail(s, path, "properties must be an object"), false;
    if (req && req->type != JSON_ARR) return sc_fail(s, path, "required must be an array"), false;
    for (const json *c = req ? req->child : NULL; c; c = c->next) {
        bool found = false;
        for (const json *p = props ? props->child : NULL; p && c->type == JSON_STR; p = p->next)
            found |= p->klen == c->len && memcmp(p->key, c->str, c->len) == 0;
        if (!found) return sc_fail(s, path, "required names '%s', which properties does not define", c->type == JSON_STR ? c->str : "?"), false;
    }
    if (!props || props->n == 0) {
        const json *ap = json_get(v, "additionalProperties");
        if (ap && ap->type == JSON_BOOL && !ap->b) { gram_buf_puts(out, "\"{\" ws \"}\""); return true; }
        if (!ap || ap->type == JSON_BOOL) { gram_buf_puts(out, "jobject"); return true; }
        char p2[512], name[24];
        child_path(p2, sizeof p2, path, "additionalProperties");
        gram_buf val = { 0 };
        if (!compile(s, ap, p2, &val)) { free(val.s); return false; }
        fresh(s, name);
        gram_buf_printf(&s->rules, "%s ::= jstring ws \":\" ws %s ws\n", name, val.s ? val.s : "jvalue");
        free(val.s);
        gram_buf_printf(out, "\"{\" ws (%s (\",\" ws %s)*)? \"}\"", name, name);
        return true;
    }
    int32_t k = (int32_t)props->n;
    int32_t base = s->next;
    s->next += 3 * k + 1;                   /* kv_i, first_i, cont_i names */
    int32_t i = 0;
    for (const json *p = props->child; p; p = p->next, i++) {
        char p2[512];
        snprintf(p2, sizeof p2, "%s/properties/%.*s", path, (int)(p->klen > 200 ? 200 : p->klen), p->key);
        gram_buf val = { 0 };
        if (!compile(s, p, p2, &val)) { free(val.s); return false; }
        gram_buf_printf(&s->rules, "s%d ::= ", (int)(base + 3 * i));
        size_t need = json_escape(p->key, p->klen, NULL, 0);
        char *e = malloc(need + 1);
        if (!e) { free(val.s); s->rules.oom = true; return false; }
        json_escape(p->key, p->klen, e, need + 1);
        gram_buf_literal(&s->rules, e, need);
        free(e);
        gram_buf_printf(&s->rules, " ws \":\" ws %s ws\n", val.s ? val.s : "jvalue");
        free(val.s);
    }
    /* first_i: the first member written is at >= i; cont_i: one was written */
    i = 0;
    for (const json *p = props->child; p; p = p->next, i++) {
        bool req_i = in_required(req, p->key, p->klen);
        int32_t kv = base + 3 * i, fi = kv + 1, ci = kv + 2, fn = base + 3 * (i + 1) + 1, cn = base + 3 * (i + 1) + 2;
        bool last = i == k - 1;
        gram_buf_printf(&s->rules, "s%d ::= s%d", (int)fi, (int)kv);
        if (!last) gram_buf_printf(&s->rules, " s%d", (int)cn);
        if (!req_i) { if (last) gram_buf_puts(&s->rules, " | \"\""); else gram_buf_printf(&s->rules, " | s%d", (int)fn); }
        gram_buf_puts(&s->rules, "\n");
        gram_buf_printf(&s->rules, "s%d ::= \",\" ws s%d", (int)ci, (int)kv);
        if (!last) gram_buf_printf(&s->rules, " s%d", (int)cn);
        if (!req_i) { if (last) gram_buf_puts(&s->rules, " | \"\""); else gram_buf_printf(&s->rules, " | s%d", (int)cn); }
        gram_buf_puts(&s->rules, "\n");
    }
    gram_buf_printf(out, "\"{\" ws s%d \"}\"", (int)(base + 1));
    return true;
}

/* ---- $ref ------------------------------------------------------------------ */

static bool compile_ref(sc *s, const json *v, const char *path, gram_buf *out) {
    const json *r = json_get(v, "$ref");
    if (r->type != JSON_STR || strncmp(r->str, "#/", 2) != 0)
        return sc_fail(s, path, "$ref must be a local reference such as \"#/$defs/name\""), false;
    for (int32_t i = 0; i < s->n_refs; i++)
        if (strcmp(s->refs[i], r->str) == 0) { gram_buf_printf(out, "ref%d", (int)i); return true; }
    const json *t = s->root;
    char seg[256];
    const char *p = r->str + 2;
    while (*p && t) {
        size_t n = strcspn(p, "/");
        if (n >= sizeof seg) return sc_fail(s, path, "$ref segment too long"), false;
        memcpy(seg, p, n);
        seg[n] = 0;
        t = json_get(t, seg);
        p += n;
        if (*p == '/') p++;
    }
    if (!t) return sc_fail(s, path, "$ref \"%s\" points at nothing", r->str), false;
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
    if (tl == 6 && !memcmp(t, "number", 6)) return compile_num(s, v, path, out);
    if (tl == 7 && !memcmp(t, "integer", 7)) return compile_int(s, v, path, out);
    if (tl == 7 && !memcmp(t, "boolean", 7)) { gram_buf_puts(out, "(\"true\" | \"false\")"); return true; }
    if (tl == 4 && !memcmp(t, "null", 4)) { gram_buf_puts(out, "\"null\""); return true; }
    if (tl == 6 && !memcmp(t, "object", 6)) return compile_object(s, v, path, out);
    if (tl == 5 && !memcmp(t, "array", 5)) return compile_array(s, v, path, out);
    char p2[512];
    child_path(p2, sizeof p2, path, "type");
    return sc_fail(s, p2, "unknown type '%.*s' (expected string, number, integer, boolean, null, object or array)", (int)tl, t), false;
}

static bool compile(sc *s, const json *v, const char *path, gram_buf *out) {
    if (s->rc) return false;
    if (v->type == JSON_BOOL) { gram_buf_puts(out, v->b ? "jvalue" : "[^\\x00-\\U0010FFFF]"); return true; }
    if (v->type != JSON_OBJ) return sc_fail(s, path, "a schema must be an object or a boolean"), false;
    const json *t;
    if (json_get(v, "$ref")) return compile_ref(s, v, path, out);
    if ((t = json_get(v, "const"))) { value_literal(s, t, out); return true; }
    if ((t = json_get(v, "enum"))) {
        if (t->type != JSON_ARR || t->n == 0) return sc_fail(s, path, "enum must be a non-empty array"), false;
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
        child_path(p2, sizeof p2, path, alts);
        if (t->type != JSON_ARR || t->n == 0) return sc_fail(s, p2, "must be a non-empty array of schemas"), false;
        if (alts[1] == 'l' && t->n != 1) return sc_fail(s, p2, "allOf is supported with one schema only"), false;
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
        if (json_get(v, "properties")) return compile_object(s, v, path, out);
        if (json_get(v, "items")) return compile_array(s, v, path, out);
        gram_buf_puts(out, "jvalue");
        return true;
    }
    char p2[512];
    child_path(p2, sizeof p2, path, "type");
    if (t->type == JSON_STR) return compile_type(s, v, path, t->str, t->len, out);
    if (t->type != JSON_ARR || t->n == 0) return sc_fail(s, p2, "type must be a string or a non-empty array"), false;
    gram_buf_puts(out, "(");
    int i = 0;
    for (const json *c = t->child; c; c = c->next, i++) {
        if (c->type != JSON_STR) return sc_fail(s, p2, "type entries must be strings"), false;
        if (i) gram_buf_puts(out, " | ");
        if (!compile_type(s, v, path, c->str, c->len, out)) return false;
    }
    gram_buf_puts(out, ")");
    return true;
}

int gram_schema_gbnf(char **gbnf, const char *text, size_t len, char *err, size_t errlen) {
    *gbnf = NULL;
    char perr[200];
    json_doc *d = json_parse(text, len, perr, sizeof perr);
    if (!d) { snprintf(err, errlen, "schema: %s", perr); return GRAM_ESYNTAX; }
    sc s = { .root = json_root(d), .err = err, .errlen = errlen };
    gram_buf top = { 0 };
    bool ok = compile(&s, s.root, "", &top);
    gram_buf all = { 0 };
    if (ok) {
        gram_buf_printf(&all, "root ::= %s\n", top.s ? top.s : "jvalue");
        gram_buf_add(&all, s.rules.s ? s.rules.s : "", s.rules.n);
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
    *out = NULL;
    char *g;
    int rc = gram_schema_gbnf(&g, text, len, err, errlen);
    if (rc) return rc;
    char e2[300];
    rc = gram_parse(out, g, strlen(g), e2, sizeof e2);
    if (rc) snprintf(err, errlen, "schema compiled to a bad grammar (a bug): %s", e2);
    free(g);
    return rc;
}
