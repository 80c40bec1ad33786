/* gram_schema_oneof: oneOf for the JSON Schema compiler (gram_schema.c).
 *
 * A grammar has no "exactly one of": oneOf compiles to alternatives, which
 * is exact when no value satisfies two branches (checked from each branch's
 * shape, below). When branches overlap only in finitely many values (a
 * branch that is a list of values, enum/const, against another list or a
 * "simple" branch: one type of string, boolean, null, integer, number,
 * with bounds at most), those values match two branches and are invalid:
 * they are removed from every branch (from a list by leaving them out; from
 * a simple branch as "string except these" (the trie of
 * gram_sc_string_except), the other boolean, or the number range split
 * around the points with exclusive bounds). Any other overlap is refused
 * naming the branches.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gram_schema_impl.h"

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

/* A branch that is only a list of values (enum or const, with annotations). */
static bool annotation(const json *c) {
    static const char *const ann[] = { "title", "description", "$comment", "examples", "default" };
    for (size_t i = 0; i < sizeof ann / sizeof *ann; i++) if (strlen(ann[i]) == c->klen && !memcmp(ann[i], c->key, c->klen)) return true;
    return false;
}

static bool finite_branch(const json *b) {
    if (b->type != JSON_OBJ) return false;
    int lists = 0;
    for (const json *c = b->child; c; c = c->next) {
        if ((c->klen == 4 && !memcmp(c->key, "enum", 4) && c->type == JSON_ARR) || (c->klen == 5 && !memcmp(c->key, "const", 5))) lists++;
        else if (!annotation(c)) return false;
    }
    return lists == 1;
}

/* The type of a "simple" branch (one type, bounds at most), else NULL. */
static const char *simple_type(const json *b) {
    if (b->type != JSON_OBJ) return NULL;
    const json *t = json_get(b, "type");
    if (!t || t->type != JSON_STR) return NULL;
    static const char *const ok[] = { "string", "boolean", "null", "integer", "number" };
    const char *type = NULL;
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) if (!strcmp(t->str, ok[i])) type = ok[i];
    if (!type) return NULL;
    bool num = type[0] == 'i' || type[0] == 'n';
    for (const json *c = b->child; c; c = c->next) {
        if (annotation(c) || (c->klen == 4 && !memcmp(c->key, "type", 4))) continue;
        bool bound = (c->klen == 7 && !memcmp(c->key, "minimum", 7)) || (c->klen == 7 && !memcmp(c->key, "maximum", 7))
                     || (c->klen == 16 && !memcmp(c->key, "exclusiveMinimum", 16)) || (c->klen == 16 && !memcmp(c->key, "exclusiveMaximum", 16));
        if (!bound || !num || c->type != JSON_NUM) return NULL;
    }
    return type;
}

/* Exactly whether value v satisfies simple branch b of type t. */
static bool simple_has(const json *b, const char *t, const json *v) {
    if (!strcmp(t, "string")) return v->type == JSON_STR;
    if (!strcmp(t, "boolean")) return v->type == JSON_BOOL;
    if (!strcmp(t, "null")) return v->type == JSON_NULL;
    if (v->type != JSON_NUM || (t[0] == 'i' && v->num != floor(v->num))) return false;
    const json *x;
    if ((x = json_get(b, "minimum")) && !(v->num >= x->num)) return false;
    if ((x = json_get(b, "maximum")) && !(v->num <= x->num)) return false;
    if ((x = json_get(b, "exclusiveMinimum")) && !(v->num > x->num)) return false;
    if ((x = json_get(b, "exclusiveMaximum")) && !(v->num < x->num)) return false;
    return true;
}

static int cmp_num(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Simple branch b (type t) without the values drop[n] into out; false when
 * nothing is left or on an error (s->rc). */
static bool simple_except(sc *s, const json *b, const char *t, const json *const *drop, int n, const char *path, gram_buf *out) {
    if (t[0] == 's') {
        const char **strs = malloc(sizeof *strs * (size_t)n);
        size_t *lens = malloc(sizeof *lens * (size_t)n);
        char name[24];
        bool ok = strs && lens;
        for (int i = 0; ok && i < n; i++) { strs[i] = drop[i]->str; lens[i] = drop[i]->len; }
        ok = ok && gram_sc_string_except(s, strs, lens, n, name);
        if (!strs || !lens) s->rules.oom = true;
        free(strs);
        free(lens);
        if (ok) gram_buf_puts(out, name);
        return ok;
    }
    if (t[0] == 'b') {
        bool has[2] = { true, true };
        for (int i = 0; i < n; i++) has[drop[i]->b] = false;
        if (has[0] && has[1]) gram_buf_puts(out, "(\"true\" | \"false\")");
        else if (has[0] || has[1]) gram_buf_puts(out, has[1] ? "\"true\"" : "\"false\"");
        return has[0] || has[1];
    }
    if (!strcmp(t, "null")) return false;                   /* its one value is gone */
    /* numbers: the range cut at each point, as schemas of the same type with
     * the cut as an exclusive bound */
    double *pt = malloc(sizeof *pt * (size_t)n);
    if (!pt) { s->rules.oom = true; return false; }
    for (int i = 0; i < n; i++) pt[i] = drop[i]->num;
    qsort(pt, (size_t)n, sizeof *pt, cmp_num);
    int pieces = 0;
    for (int i = 0; i <= n; i++) {
        if (i > 0 && i < n && pt[i] == pt[i - 1]) continue;
        char text[600];
        int k = snprintf(text, sizeof text, "{\"type\":\"%s\"", t);
        const char *keys[] = { "minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum" };
        for (int j = 0; j < 4; j++) {
            const json *x = json_get(b, keys[j]);
            bool lower = j < 2;
            /* the piece's own cut replaces the branch's bound on that side */
            if ((lower && i > 0) || (!lower && i < n)) continue;
            if (x) k += snprintf(text + k, sizeof text - (size_t)k, ",\"%s\":%.17g", keys[j], x->num);
        }
        if (i > 0) k += snprintf(text + k, sizeof text - (size_t)k, ",\"exclusiveMinimum\":%.17g", pt[i - 1]);
        if (i < n) k += snprintf(text + k, sizeof text - (size_t)k, ",\"exclusiveMaximum\":%.17g", pt[i]);
        snprintf(text + k, sizeof text - (size_t)k, "}");
        /* every cut lies inside the branch's range, so its bounds on a cut side are implied */
        json_doc *d = json_parse(text, strlen(text), NULL, 0);
        if (!d) continue;
        json *piece = json_root(d);
        /* the piece's ends: a cut (exclusive) or the branch's own bound; a cut
         * at the branch's bound leaves the piece on its other side empty */
        double lo = -INFINITY, hi = INFINITY;
        bool lx = false, hx = false;
        for (const json *c = piece->child; c; c = c->next) {
            if (c->type != JSON_NUM) continue;
            bool ex = c->key[0] == 'e', lower = !strcmp(c->key, "minimum") || !strcmp(c->key, "exclusiveMinimum");
            if (lower && (c->num > lo || (c->num == lo && ex))) { lo = c->num; lx = ex; }
            if (!lower && (c->num < hi || (c->num == hi && ex))) { hi = c->num; hx = ex; }
        }
        bool empty = lo > hi || (lo == hi && (lx || hx));
        if (t[0] == 'i' && !empty) {
            double a = lx ? floor(lo) + 1 : ceil(lo), z = hx ? ceil(hi) - 1 : floor(hi);
            empty = a > z;
        }
        if (!empty) {
            gram_buf g = { 0 };
            int before = s->rc;
            bool ok = gram_sc_compile(s, piece, path, &g);
            if (!ok && !before && s->rc) { json_free(d); free(g.s); free(pt); return false; }
            if (ok) { gram_buf_printf(out, "%s%s", pieces++ ? " | " : "(", g.s ? g.s : ""); }
            free(g.s);
        }
        json_free(d);
    }
    free(pt);
    if (pieces) gram_buf_puts(out, ")");
    return pieces > 0;
}

bool gram_sc_oneof(sc *s, const json *arr, const char *path, gram_buf *out) {
    int n = (int)arr->n;
    shape *sh = malloc(sizeof *sh * (size_t)(n ? n : 1));
    const json **br = malloc(sizeof *br * (size_t)(n ? n : 1));
    if (!sh || !br) { free(sh); free(br); s->rules.oom = true; return false; }
    int i = 0;
    for (const json *c = arr->child; c; c = c->next, i++) { br[i] = c; shape_of(s, c, &sh[i], 0); }
    bool overlap = false, ok = true;
    for (int a = 0; a < n && ok; a++)
        for (int b = a + 1; b < n && ok; b++) {
            if (shapes_disjoint(&sh[a], &sh[b])) continue;
            overlap = true;
            bool fa = finite_branch(br[a]), fb = finite_branch(br[b]);
            if ((fa && (fb || simple_type(br[b]))) || (fb && simple_type(br[a]))) continue;
            ok = false;
            gram_sc_fail(s, path, "branches %d and %d may both match one value, and a grammar cannot check \"exactly one\" "
                         "(oneOf is compiled when its branches are told apart by JSON type, by enum/const values or by "
                         "numeric range, or overlap only in values listed by enum/const against another list or a branch "
                         "of one plain type with bounds at most; use anyOf to accept either)", a, b);
        }
    gram_buf_puts(out, "(");
    int alts = 0;
    size_t n_listed = 1;                 /* every listed value, for the drop list */
    for (i = 0; i < n; i++)
        if (finite_branch(br[i])) n_listed += json_get(br[i], "const") ? 1 : json_get(br[i], "enum")->n;
    const json **drop = ok && overlap ? malloc(sizeof *drop * n_listed) : NULL;
    if (ok && overlap && !drop) { s->rules.oom = true; ok = false; }
    for (i = 0; i < n && ok; i++) {
        char p3[560];
        snprintf(p3, sizeof p3, "%s/%d", path, i);
        gram_buf g = { 0 };
        bool any = true;
        if (overlap && finite_branch(br[i])) {
            /* the values no other branch has */
            const json *l = json_get(br[i], "const");
            int kept = 0;
            for (const json *v = l ? l : json_get(br[i], "enum")->child; v; v = l ? NULL : v->next) {
                bool other = false;
                for (int j = 0; j < n && !other; j++) {
                    if (j == i || shapes_disjoint(&sh[i], &sh[j])) continue;
                    if (finite_branch(br[j])) {
                        const json *lj = json_get(br[j], "const");
                        for (const json *w = lj ? lj : json_get(br[j], "enum")->child; w && !other; w = lj ? NULL : w->next) other = json_eq(w, v);
                    }
                    else other = simple_has(br[j], simple_type(br[j]), v);
                }
                if (other) continue;
                gram_buf_puts(&g, kept++ ? " | " : "(");
                gram_sc_value_literal(s, v, &g);
            }
            if (kept) gram_buf_puts(&g, ")");
            any = kept > 0;
        } else if (overlap && simple_type(br[i])) {
            const char *t = simple_type(br[i]);
            int nd = 0;
            for (int j = 0; j < n; j++) {
                if (j == i || !finite_branch(br[j]) || shapes_disjoint(&sh[i], &sh[j])) continue;
                const json *l = json_get(br[j], "const");
                for (const json *v = l ? l : json_get(br[j], "enum")->child; v; v = l ? NULL : v->next)
                    if (simple_has(br[i], t, v)) drop[nd++] = v;
            }
            if (nd) any = simple_except(s, br[i], t, drop, nd, p3, &g);
            else ok = gram_sc_compile(s, br[i], p3, &g);
            if (s->rc) ok = false;
        } else ok = gram_sc_compile(s, br[i], p3, &g);
        if (ok && any && g.s) { gram_buf_printf(out, "%s%s", alts++ ? " | " : "", g.s); }
        if (g.oom) s->rules.oom = true;
        free(g.s);
    }
    gram_buf_puts(out, ")");
    free(drop);
    free(sh);
    free(br);
    if (ok && !alts) return gram_sc_fail(s, path, "no value matches exactly one branch"), false;
    return ok;
}
