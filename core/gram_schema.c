/* gram_schema: JSON Schema to GBNF (gram.h).
 *
 * Supported: type (one or a list), properties with required (properties in
 * the order written, optional ones may be left out; no others allowed),
 * additionalProperties (a schema, true, or false) for objects without
 * properties, enum and const (any JSON values), items, minItems and
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

/* multipleOf m (a whole number) for integers in [lo, hi]. A range with at
 * most MULT_ENUM multiples lists them; an unbounded side becomes a digit
 * automaton that tracks the remainder mod m (rule q(p, r): p digits read,
 * remainder r; "" only where r == 0), at most 16 digits like jint, for m up
 * to MULT_MOD; a number is a multiple of m exactly when its magnitude is,
 * so the sign is free. Other combinations are refused. */
#define MULT_ENUM 512
#define MULT_MOD 64
#define MULT_DIGITS 16

static bool mult_live(int p, int r, int m, const unsigned char *live) { return live[p * m + r]; }

static void mult_automaton(sc *s, gram_buf *out, int m, bool neg, bool pos) {
    unsigned char *live = calloc((size_t)(MULT_DIGITS + 1) * (size_t)m, 1);
    if (!live) { s->rules.oom = true; return; }
    live[MULT_DIGITS * m + 0] = 1;          /* 16 digits read: only a multiple may end */
    for (int p = MULT_DIGITS - 1; p >= 1; p--)
        for (int r = 0; r < m; r++) {
            bool l = r == 0;
            for (int d = 0; d <= 9 && !l; d++) l = mult_live(p + 1, (10 * r + d) % m, m, live);
            live[p * m + r] = l;
        }
    int32_t base = s->next;
    s->next += MULT_DIGITS * m;
    /* the digits d that lead from remainder r to remainder j, as a class */
    for (int p = 1; p < MULT_DIGITS; p++)
        for (int r = 0; r < m; r++) {
            if (!live[p * m + r]) continue;
            gram_buf_printf(&s->rules, "s%d ::= ", (int)(base + p * m + r));
            bool first = true;
            if (r == 0) { gram_buf_puts(&s->rules, "\"\""); first = false; }
            for (int j = 0; j < m; j++) {
                if (!live[(p + 1) * m + j]) continue;
                char cls[16];
                int n = 0;
                for (int d = 0; d <= 9; d++) if ((10 * r + d) % m == j) cls[n++] = (char)('0' + d);
                if (!n) continue;
                cls[n] = 0;
                gram_buf_printf(&s->rules, "%s[%s]", first ? "" : " | ", cls);
                if (p + 1 < MULT_DIGITS) gram_buf_printf(&s->rules, " s%d", (int)(base + (p + 1) * m + j));
                first = false;
            }
            gram_buf_puts(&s->rules, "\n");
        }
    /* the first digit: 1-9 */
    gram_buf b = { 0 };
    bool first = true;
    for (int j = 0; j < m; j++) {
        if (!live[1 * m + j]) continue;
        char cls[16];
        int n = 0;
        for (int d = 1; d <= 9; d++) if (d % m == j) cls[n++] = (char)('0' + d);
        if (!n) continue;
        cls[n] = 0;
        gram_buf_printf(&b, "%s[%s] s%d", first ? "" : " | ", cls, (int)(base + m + j));
        first = false;
    }
    const char *body = b.s ? b.s : "[^\\x00-\\U0010FFFF]";
    gram_buf_puts(out, "(\"0\"");
    if (pos) gram_buf_printf(out, " | %s", body);
    if (neg) gram_buf_printf(out, " | \"-\" (%s)", body);
    gram_buf_puts(out, ")");
    free(b.s);
    free(live);
}

/* true when multipleOf was handled (or failed: check s->rc); false when absent */
static bool compile_multiple(sc *s, const json *v, const char *path, double lo, double hi, gram_buf *out) {
    const json *mo = json_get(v, "multipleOf");
    if (!mo) return false;
    char p2[512];
    child_path(p2, sizeof p2, path, "multipleOf");
    if (mo->type != JSON_NUM || !(mo->num > 0)) return sc_fail(s, p2, "multipleOf must be a number above 0"), true;
    if (mo->num != floor(mo->num) || mo->num > INT_LIMIT) {
        if (s->o.ignore_unenforceable) return false;
        return sc_fail(s, p2, "multipleOf %g: only whole-number divisors can be enforced by a grammar (ignore it with "
                       "--schema-ignore-unenforceable / {ignore_unenforceable = true})", mo->num), true;
    }
    long long m = (long long)mo->num;
    long long a = lo == -INFINITY ? -INT_LIMIT : (long long)ceil(lo), b = hi == INFINITY ? INT_LIMIT : (long long)floor(hi);
    if (a < -INT_LIMIT) a = -INT_LIMIT;
    if (b > INT_LIMIT) b = INT_LIMIT;
    /* the multiples in [a, b]: first..last by m */
    long long f = a >= 0 ? (a + m - 1) / m * m : -((-a) / m * m);
    long long l = b >= 0 ? b / m * m : -((-b + m - 1) / m * m);
    if (f > l) return sc_fail(s, path, "no multiple of %lld lies between the minimum and the maximum", m), true;
    if ((l - f) / m < MULT_ENUM) {
        gram_buf_puts(out, "(");
        for (long long x = f; x <= l; x += m) gram_buf_printf(out, "%s\"%lld\"", x == f ? "" : " | ", x);
        gram_buf_puts(out, ")");
        return true;
    }
    bool nonneg = a == 0 && b == INT_LIMIT, nonpos = b == 0 && a == -INT_LIMIT, any = a == -INT_LIMIT && b == INT_LIMIT;
    if (!(nonneg || nonpos || any))
        return sc_fail(s, p2, "multipleOf %lld with a range of more than %d multiples: only an unbounded side at 0 can be "
                       "compiled (minimum 0, maximum 0, or no bounds)", m, MULT_ENUM), true;
    if (m > MULT_MOD)
        return sc_fail(s, p2, "multipleOf %lld over an unbounded range: divisors up to %d can be compiled (or give "
                       "minimum and maximum with at most %d multiples between)", m, MULT_MOD, MULT_ENUM), true;
    if (m == 1) { gram_buf_puts(out, nonneg ? "(\"0\" | [1-9] [0-9]{0,15})" : nonpos ? "(\"0\" | \"-\" [1-9] [0-9]{0,15})" : "jint"); return true; }
    mult_automaton(s, out, (int)m, !nonneg, !nonpos);
    return true;
}

static bool compile_int(sc *s, const json *v, const char *path, gram_buf *out) {
    double lo, hi;
    bool has;
    if (!bounds(s, v, path, true, &lo, &hi, &has)) return false;
    if (compile_multiple(s, v, path, lo, hi, out)) return !s->rc;
    if (!has) { gram_buf_puts(out, "jint"); return true; }
    long long a = lo == -INFINITY ? -INT_LIMIT : (long long)ceil(lo), b = hi == INFINITY ? INT_LIMIT : (long long)floor(hi);
    if (a < -INT_LIMIT) a = -INT_LIMIT;
    if (b > INT_LIMIT) b = INT_LIMIT;
    if (a > b) return sc_fail(s, path, "no integer lies between the minimum and the maximum"), false;
    int_range(out, a, b);
    return true;
}

/* ---- numbers with a fraction, exactly ----------------------------------------
 * A bound is taken as the shortest decimal that reads back as the same
 * double (0.1 is "0.1"), split into a whole part and fraction digits. The
 * fraction digits F of a number k.F are compared with a bound's as decimals,
 * digit by digit (the shorter padded with zeros): frac_digits emits the
 * strings F of 1 to FRAC_MAX digits with A <= 0.F <= B (strict where asked),
 * following the bound's digits while the prefix is equal to it ("tight")
 * and allowing any digits once it is above the lower or below the upper. */
#define FRAC_MAX 16

static char dig(const char *a, int i) { return i < (int)strlen(a) ? a[i] : '0'; }
static bool rest_zero(const char *a, int i) { for (int k = i; k < (int)strlen(a); k++) if (a[k] != '0') return false; return true; }

/* A NULL: no lower bound (0); B NULL: none above (below 1). false: nothing matches. */
static bool frac_digits(gram_buf *o, const char *A, bool aex, const char *B, bool bex, int i) {
    gram_buf t = { 0 };
    bool any = false;
    bool end = i >= 1 && (!A || (rest_zero(A, i) && !aex)) && (!B || !(rest_zero(B, i) && bex));
    if (end) { gram_buf_puts(&t, "\"\""); any = true; }
    if (i < FRAC_MAX) {
        int lo = A ? dig(A, i) - '0' : 0, hi = B ? dig(B, i) - '0' : 9;
        int flo = A ? lo + 1 : lo, fhi = B ? hi - 1 : hi;   /* digits that leave every bound behind */
        if (flo <= fhi) {
            if (any) gram_buf_puts(&t, " | ");
            if (flo == fhi) gram_buf_printf(&t, "[%d]", flo);
            else gram_buf_printf(&t, "[%d-%d]", flo, fhi);
            if (FRAC_MAX - i - 1 > 0) gram_buf_printf(&t, " [0-9]{0,%d}", FRAC_MAX - i - 1);
            any = true;
        }
        /* the bound digits themselves: stay tight on that bound (on both when they agree) */
        for (int side = 0; side < 2; side++) {
            if (side == 0 && !A) continue;
            if (side == 1 && (!B || (A && lo == hi))) continue;
            int d = side == 0 ? lo : hi;
            if (d < lo || d > hi) continue;
            bool both = A && B && lo == hi;
            gram_buf sub = { 0 };
            if (!frac_digits(&sub, side == 0 || both ? A : NULL, aex, side == 1 || both ? B : NULL, bex, i + 1)) { free(sub.s); continue; }
            if (any) gram_buf_puts(&t, " | ");
            gram_buf_printf(&t, "\"%d\" (%s)", d, sub.s);
            free(sub.s);
            any = true;
        }
    }
    if (any) gram_buf_printf(o, "%s", t.s);
    if (t.oom) o->oom = true;
    free(t.s);
    return any;
}

/* x >= 0 as a whole part and fraction digits (no trailing zeros); false when
 * it needs more than FRAC_MAX fraction digits or 15 whole digits. */
static bool dec_parts(double x, long long *whole, char frac[FRAC_MAX + 2]) {
    char b[64];
    int p = 0;
    for (; p <= FRAC_MAX; p++) {
        snprintf(b, sizeof b, "%.*f", p, x);
        if (strtod(b, NULL) == x) break;
    }
    if (p > FRAC_MAX || x > (double)INT_LIMIT) return false;
    char *dot = strchr(b, '.');
    *whole = strtoll(b, NULL, 10);
    frac[0] = 0;
    if (dot) {
        snprintf(frac, FRAC_MAX + 2, "%s", dot + 1);
        for (int n = (int)strlen(frac); n > 0 && frac[n - 1] == '0'; n--) frac[n - 1] = 0;
    }
    return true;
}

/* Magnitudes k.F (with a fraction) in [lo, hi] (0 <= lo; hi may be
 * INFINITY), strict where asked, as alternatives into o; false when none. */
static bool frac_range(gram_buf *o, double lo, bool lex, double hi, bool hex, bool *ok) {
    long long kl, kh = INT_LIMIT;
    char fl[FRAC_MAX + 2], fh[FRAC_MAX + 2] = "";
    if (!dec_parts(lo, &kl, fl)) { *ok = false; return false; }
    bool hb = hi != INFINITY;
    if (hb && !dec_parts(hi, &kh, fh)) { *ok = false; return false; }
    bool any = false;
    for (int part = 0; part < 3; part++) {          /* the lowest unit, the whole units between, the highest */
        gram_buf f = { 0 };
        long long a, b;
        bool got;
        if (part == 0) {
            a = b = kl;
            got = frac_digits(&f, fl, lex, hb && kh == kl ? fh : NULL, hex, 0);
        } else if (part == 1) {
            a = kl + 1, b = hb ? kh - 1 : INT_LIMIT;
            got = a <= b && frac_digits(&f, NULL, false, NULL, false, 0);
        } else {
            if (!hb || kh == kl) continue;
            a = b = kh;
            got = frac_digits(&f, NULL, false, fh, hex, 0);
        }
        if (got) {
            if (any) gram_buf_puts(o, " | ");
            gram_buf_puts(o, "(");
            uint_range(o, a, b);
            gram_buf_printf(o, ") \".\" (%s)", f.s);
            any = true;
        }
        if (f.oom) o->oom = true;
        free(f.s);
    }
    return any;
}

/* Numbers with bounds lo..hi: the integers in range, and numbers with a
 * fraction k.F exactly in range on both sides of zero (frac_range; 0.25
 * allows 0.25, 0.3 and 0.2500001, not 0.2), up to 15 whole and 16
 * fraction digits. Exponents are not produced with bounds. */
static bool compile_num(sc *s, const json *v, const char *path, gram_buf *out) {
    double lo, hi;
    bool has;
    /* a multiple of a whole number is an integer: the integers' grammar (written without a fraction) */
    if (json_get(v, "multipleOf")) {
        if (!bounds(s, v, path, true, &lo, &hi, &has)) return false;
        if (compile_multiple(s, v, path, lo, hi, out)) return !s->rc;
    }
    if (!bounds(s, v, path, false, &lo, &hi, &has)) return false;
    if (!has) { gram_buf_puts(out, "jnumber"); return true; }
    if (lo > hi) return sc_fail(s, path, "the minimum is above the maximum"), false;
    if (lo > (double)INT_LIMIT || hi < -(double)INT_LIMIT)
        return sc_fail(s, path, "bounds beyond 15 whole digits cannot be compiled"), false;
    const json *xl = json_get(v, "exclusiveMinimum"), *xh = json_get(v, "exclusiveMaximum");
    bool lo_excl = xl && xl->type == JSON_NUM && xl->num == lo, hi_excl = xh && xh->type == JSON_NUM && xh->num == hi;
    long long a = lo == -INFINITY || lo < -(double)INT_LIMIT ? -INT_LIMIT : (long long)ceil(lo);
    long long b = hi == INFINITY || hi > (double)INT_LIMIT ? INT_LIMIT : (long long)floor(hi);
    long long ia = lo_excl && (double)a == lo ? a + 1 : a, ib = hi_excl && (double)b == hi ? b - 1 : b;
    bool ok = true;
    gram_buf pos = { 0 }, neg = { 0 };
    bool has_pos = false, has_neg = false;
    double top = hi > (double)INT_LIMIT ? INFINITY : hi;
    if (hi > 0) has_pos = frac_range(&pos, lo > 0 ? lo : 0, lo >= 0 && lo_excl, top, hi_excl, &ok);
    if (ok && lo < 0) {
        double nlo = hi < 0 ? -hi : 0, nhi = lo < -(double)INT_LIMIT ? INFINITY : -lo;
        has_neg = frac_range(&neg, nlo, hi < 0 ? hi_excl : true, nhi, lo_excl, &ok);
    }
    if (!ok) {
        free(pos.s);
        free(neg.s);
        return sc_fail(s, path, "a bound needs more than %d fraction digits or 15 whole digits", FRAC_MAX), false;
    }
    if (ia > ib && !has_pos && !has_neg) {
        free(pos.s);
        free(neg.s);
        return sc_fail(s, path, "no number lies in the range"), false;
    }
    gram_buf_puts(out, "(");
    bool first = true;
    if (ia <= ib) { int_range(out, ia, ib); first = false; }
    if (has_pos) { gram_buf_printf(out, "%s%s", first ? "" : " | ", pos.s); first = false; }
    if (has_neg) gram_buf_printf(out, "%s\"-\" (%s)", first ? "" : " | ", neg.s);
    gram_buf_puts(out, ")");
    if (pos.oom || neg.oom) out->oom = true;
    free(pos.s);
    free(neg.s);
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
                return sc_fail(s, path, "branches %d and %d may both match one value, and a grammar cannot check \"exactly one\" "
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
    for (const json *c = v->child; c; c = c->next)
        for (size_t i = 0; i < sizeof UNENFORCEABLE / sizeof *UNENFORCEABLE; i++)
            if (strlen(UNENFORCEABLE[i]) == c->klen && memcmp(UNENFORCEABLE[i], c->key, c->klen) == 0) {
                char p2[512];
                child_path(p2, sizeof p2, path, UNENFORCEABLE[i]);
                return sc_fail(s, p2, "'%s' cannot be enforced by a grammar; remove it, or compile "
                               "ignoring it (gen --schema-ignore-unenforceable, Lua "
                               "{ignore_unenforceable = true}: outputs may then violate it)", UNENFORCEABLE[i]), false;
            }
    return true;
}

static bool compile(sc *s, const json *v, const char *path, gram_buf *out) {
    if (s->rc) return false;
    if (v->type == JSON_BOOL) { gram_buf_puts(out, v->b ? "jvalue" : "[^\\x00-\\U0010FFFF]"); return true; }
    if (v->type != JSON_OBJ) return sc_fail(s, path, "a schema must be an object or a boolean"), false;
    if (!check_keywords(s, v, path)) return false;
    const json *t;
    if (json_get(v, "multipleOf") && !json_get(v, "type") && !s->o.ignore_unenforceable) {
        char p2[512];
        child_path(p2, sizeof p2, path, "multipleOf");
        return sc_fail(s, p2, "multipleOf needs \"type\": \"integer\" or \"number\" here (without a type any "
                       "value would pass)"), false;
    }
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
