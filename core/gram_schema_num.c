/* gram_schema_num: the numbers of the JSON Schema compiler (gram_schema.c):
 * integer ranges, multipleOf, and ranges of numbers with fractions compared
 * as decimals at their bounds. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gram_schema_impl.h"

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
        /* draft 4's form: false changes nothing; true made the bound
         * exclusive, which ignoring would turn around (the bound generated) */
        if (b->type == JSON_BOOL && i >= 2 && b->b)
            return gram_sc_fail(s, path, "%s true is draft 4's form (%s made exclusive): write \"%s\": N, the bound "
                                "itself, in place of %s", k[i], k[i - 2], k[i], k[i - 2]), false;
        if (b->type == JSON_BOOL && i >= 2) continue;
        if (b->type != JSON_NUM) return gram_sc_fail(s, path, "%s must be a number", k[i]), false;
        *has = true;
        double x = b->num;
        if (i == 0 && x > *lo) *lo = x;
        if (i == 1 && x < *hi) *hi = x;
        if (i == 2) { double t = integer ? floor(x) + 1 : x; if (t > *lo) *lo = t; }
        if (i == 3) { double t = integer ? ceil(x) - 1 : x; if (t < *hi) *hi = t; }
    }
    return true;
}

/* "minimum 5, maximum 3": the bounds v gives, for an error */
static const char *bounds_text(const json *v, char *buf, size_t cap) {
    static const char *const k[] = { "minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum" };
    size_t o = 0;
    buf[0] = 0;
    for (int i = 0; i < 4; i++) {
        const json *b = json_get(v, k[i]);
        if (!b || b->type != JSON_NUM || o >= cap) continue;
        int n = snprintf(buf + o, cap - o, "%s%s %.15g", o ? ", " : "", k[i], b->num);
        if (n > 0) o += (size_t)n;
    }
    return buf;
}

bool gram_sc_int(sc *s, const json *v, const char *path, gram_buf *out) {
    double lo, hi;
    bool has;
    if (!bounds(s, v, path, true, &lo, &hi, &has)) return false;
    if (gram_sc_multiple(s, v, path, true, out)) return !s->rc;
    if (!has) { gram_buf_puts(out, "jint"); return true; }
    long long a = lo == -INFINITY ? -INT_LIMIT : (long long)ceil(lo), b = hi == INFINITY ? INT_LIMIT : (long long)floor(hi);
    if (a < -INT_LIMIT) a = -INT_LIMIT;
    if (b > INT_LIMIT) b = INT_LIMIT;
    char bt[200];
    if (a > b) return gram_sc_fail(s, path, "no integer lies between the bounds (%s)", bounds_text(v, bt, sizeof bt)), false;
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
 * fraction digits. Exponents only where every exponent stays in range: the
 * half-lines minimum 0 and maximum 0 (and without bounds, jnumber). */
bool gram_sc_num(sc *s, const json *v, const char *path, gram_buf *out) {
    double lo, hi;
    bool has;
    if (!bounds(s, v, path, false, &lo, &hi, &has)) return false;     /* checked before multipleOf too */
    if (gram_sc_multiple(s, v, path, false, out)) return !s->rc;   /* gram_schema_mult.c */
    if (!has) { gram_buf_puts(out, "jnumber"); return true; }
    char bt[200];
    if (lo > hi) return gram_sc_fail(s, path, "the minimum is above the maximum (%s)", bounds_text(v, bt, sizeof bt)), false;
    if (lo > (double)INT_LIMIT || hi < -(double)INT_LIMIT)
        return gram_sc_fail(s, path, "bounds beyond 15 whole digits cannot be compiled"), false;
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
        return gram_sc_fail(s, path, "a bound needs more than %d fraction digits or 15 whole digits", FRAC_MAX), false;
    }
    if (ia > ib && !has_pos && !has_neg) {
        free(pos.s);
        free(neg.s);
        return gram_sc_fail(s, path, "no number lies in the range"), false;
    }
    gram_buf_puts(out, "(");
    bool first = true;
    if (ia <= ib) { int_range(out, ia, ib); first = false; }
    if (has_pos) { gram_buf_printf(out, "%s%s", first ? "" : " | ", pos.s); first = false; }
    if (has_neg) gram_buf_printf(out, "%s\"-\" (%s)", first ? "" : " | ", neg.s);
    /* a half-line from 0 (inclusive) holds every number of its sign: exponents too */
    static const char *MANT = "(\"0\" | [1-9] [0-9]{0,15}) (\".\" [0-9]{1,16})? [eE] [-+]? [0-9]{1,3}";
    if (lo == 0 && !lo_excl && hi == INFINITY) gram_buf_printf(out, " | %s", MANT);
    if (hi == 0 && !hi_excl && lo == -INFINITY) gram_buf_printf(out, " | \"-\" %s", MANT);
    gram_buf_puts(out, ")");
    if (pos.oom || neg.oom) out->oom = true;
    free(pos.s);
    free(neg.s);
    return true;
}

