/* gram_schema_mult: multipleOf for the JSON Schema compiler (gram_schema.c).
 *
 * A divisor m is read as the shortest decimal that gives its double: M
 * (its digits as an integer) over 10^d (its fraction digits), so 0.25 is
 * 25 / 10^2 and 7 is 7 / 1. A number x = K.F is a multiple of m exactly
 * when N = x * 10^d is a whole number (F has no non-zero digit past the
 * d-th) divisible by M. Bounds are scaled the same way (to whole numbers
 * of 10^-d, rounded inwards, exactly from their decimal digits).
 *
 * The grammar is a digit automaton over the digits of N (the integer part,
 * then d fraction digits after a "."), one integer-part length k at a time
 * (the classic split by digit count, as for integer ranges): a state knows
 * the digits still to come (R), the remainder of the digits read mod M, and
 * whether the digits read equal the lower or the upper bound's so far
 * (tight). Free states (no bound tight) are shared by every length. The
 * text may stop inside the fraction (or before the ".") when the missing
 * digits, read as zeros, keep N a multiple and in range, and may add zeros
 * after the d-th fraction digit (up to 16 fraction digits in all). Only live
 * states are written (a completion exists), so the mask never offers a
 * dead end. For "type": "integer" the integer part alone (d is 0).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gram_schema_impl.h"

#define MULT_MOD 128            /* largest M: one free state per (R, remainder); 128 compiles in ~50 ms */
#define WHOLE_MAX 15            /* integer digits, as for other numbers */
#define FRAC_DIG 16             /* fraction digits in all */
#define NDIG (WHOLE_MAX + FRAC_DIG)

typedef struct mctx {
    sc *s;
    int M, d;
    bool number;                /* fractions of zeros after an integer are allowed */
    int pow10[NDIG + 1];        /* 10^R mod M */
    unsigned char *live;        /* free states: live[R * M + r] */
    int32_t *fid;               /* their rule numbers (0: not written yet) */
    const char *lo, *hi;        /* the current length's bounds, n digits */
    int n;
} mctx;

/* Shortest decimal of x >= 0 with at most FRAC_DIG fraction digits: whole
 * part digits into w (no leading zeros, "0" for none) and fraction digits
 * into f (no trailing zeros); false when it needs more. */
static bool decimal(double x, char w[WHOLE_MAX + 2], char f[FRAC_DIG + 1]) {
    char b[80];
    int p = 0;
    for (; p <= FRAC_DIG; p++) {
        snprintf(b, sizeof b, "%.*f", p, x);
        if (strtod(b, NULL) == x) break;
    }
    if (p > FRAC_DIG) return false;
    char *dot = strchr(b, '.');
    size_t wl = dot ? (size_t)(dot - b) : strlen(b);
    if (wl > WHOLE_MAX) return false;
    memcpy(w, b, wl);
    w[wl] = 0;
    f[0] = 0;
    if (dot) {
        snprintf(f, FRAC_DIG + 1, "%s", dot + 1);
        for (int n = (int)strlen(f); n > 0 && f[n - 1] == '0'; n--) f[n - 1] = 0;
    }
    return true;
}

/* Big whole numbers as decimal digit strings without leading zeros. */
static int big_cmp(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb) return la < lb ? -1 : 1;
    return strcmp(a, b) < 0 ? -1 : strcmp(a, b) > 0;
}

static void big_trim(char *a) {
    size_t z = 0, n = strlen(a);
    while (z + 1 < n && a[z] == '0') z++;
    memmove(a, a + z, n - z + 1);
}

static void big_inc(char *a) {
    int i = (int)strlen(a) - 1;
    while (i >= 0 && a[i] == '9') a[i--] = '0';
    if (i >= 0) { a[i]++; return; }
    memmove(a + 1, a, strlen(a) + 1);
    a[0] = '1';
}

/* a - 1; false when a is 0. */
static bool big_dec(char *a) {
    if (!strcmp(a, "0")) return false;
    int i = (int)strlen(a) - 1;
    while (a[i] == '0') a[i--] = '9';
    a[i]--;
    big_trim(a);
    return true;
}

/* |bound| * 10^d rounded inwards (up for a lower bound, down for an upper
 * one; an exclusive bound that lands on a whole number moves by one) into
 * out. 1: done; 0: nothing left (an upper bound below the first unit);
 * -1: the bound has more digits than a number may have. */
static int scaled(double mag, int d, bool lower, bool excl, char out[NDIG + 3]) {
    char w[WHOLE_MAX + 2], f[FRAC_DIG + 1];
    if (!decimal(mag, w, f)) return -1;
    int fl = (int)strlen(f);
    snprintf(out, NDIG + 3, "%s", w);
    for (int i = 0; i < d; i++) {
        size_t n = strlen(out);
        out[n] = i < fl ? f[i] : '0';
        out[n + 1] = 0;
    }
    big_trim(out);
    bool rest = fl > d;             /* digits past 10^-d: not a whole number */
    if (lower) { if (rest || excl) big_inc(out); }
    else if (!rest && excl) return big_dec(out) ? 1 : 0;
    return 1;
}

static void end_suffix(mctx *c, gram_buf *b) {
    if (c->d > 0 && FRAC_DIG - c->d > 0) gram_buf_printf(b, "[0]{0,%d}", FRAC_DIG - c->d);
    else if (c->d == 0 && c->number) gram_buf_puts(b, "(\".\" [0]{1,16})?");
    else gram_buf_puts(b, "\"\"");
}

static int32_t free_rule(mctx *c, int R, int r);
static bool lo_rest_zero(const mctx *c, int p);

/* Alternatives for the digits x0..x1 of a state (R digits to go, remainder
 * r, tight on the bounds' digit p as said), appended to b after `alts`
 * others; returns the new count. A digit keeping a bound tight goes to its
 * own tight state; the others to free states, digits with the same free
 * target sharing a class; dead targets are left out. */
static int digit_alts(mctx *c, gram_buf *b, int R, int r, int x0, int x1, bool tl, bool th, int p, int alts);

static bool lo_rest_zero(const mctx *c, int p) {
    for (int i = p; i < c->n; i++) if (c->lo[i] != '0') return false;
    return true;
}

/* A state on a bound's digits (or the first digit of a length: nz, no
 * leading zero); -1 when dead. */
static int32_t tight_rule(mctx *c, int p, bool tl, bool th, bool nz, int r) {
    int R = c->n - p;
    if (R == 0) return r == 0 ? free_rule(c, 0, 0) : -1;
    if (!tl && !th && !nz) return free_rule(c, R, r);
    gram_buf b = { 0 };
    int alts = 0;
    if (R <= c->d && r * c->pow10[R] % c->M == 0 && (!tl || lo_rest_zero(c, p))) { gram_buf_puts(&b, "\"\""); alts++; }
    int x0 = tl ? c->lo[p] - '0' : nz ? 1 : 0, x1 = th ? c->hi[p] - '0' : 9;
    alts = digit_alts(c, &b, R, r, x0, x1, tl, th, p, alts);
    int32_t id = -1;
    if (alts) {
        id = c->s->next++;
        gram_buf_printf(&c->s->rules, "s%d ::= %s\n", (int)id, b.s);
    }
    if (b.oom) c->s->rules.oom = true;
    free(b.s);
    return id;
}

static int digit_alts(mctx *c, gram_buf *b, int R, int r, int x0, int x1, bool tl, bool th, int p, int alts) {
    const char *dot = R == c->d && c->d > 0 ? "\".\" " : "";
    bool done[10] = { 0 };
    for (int x = x0; x <= x1; x++) {
        if (done[x]) continue;
        int nr = (10 * r + x) % c->M;
        bool ntl = tl && x == c->lo[p] - '0', nth = th && x == c->hi[p] - '0';
        if (ntl || nth) {
            int32_t t = tight_rule(c, p + 1, ntl, nth, false, nr);
            done[x] = true;
            if (t < 0) continue;
            gram_buf_printf(b, "%s%s[%d] s%d", alts++ ? " | " : "", dot, x, (int)t);
            continue;
        }
        int32_t t = free_rule(c, R - 1, nr);
        char cls[12];
        int k = 0;
        for (int y = x; y <= x1; y++) {
            bool ytl = tl && y == c->lo[p] - '0', yth = th && y == c->hi[p] - '0';
            if (!done[y] && !ytl && !yth && (10 * r + y) % c->M == nr) { cls[k++] = (char)('0' + y); done[y] = true; }
        }
        cls[k] = 0;
        if (t < 0) continue;
        gram_buf_printf(b, "%s%s[%s] s%d", alts++ ? " | " : "", dot, cls, (int)t);
    }
    return alts;
}

static int32_t free_rule(mctx *c, int R, int r) {
    if (!c->live[R * c->M + r]) return -1;
    if (c->fid[R * c->M + r]) return c->fid[R * c->M + r];
    int32_t id = c->s->next++;
    c->fid[R * c->M + r] = id;
    gram_buf b = { 0 };
    int alts = 0;
    if (R == 0) { end_suffix(c, &b); alts++; }
    else {
        if (R <= c->d && r * c->pow10[R] % c->M == 0) { gram_buf_puts(&b, "\"\""); alts++; }
        alts = digit_alts(c, &b, R, r, 0, 9, false, false, 0, alts);
    }
    gram_buf_printf(&c->s->rules, "s%d ::= %s\n", (int)id, b.s ? b.s : "\"\"");
    if (b.oom) c->s->rules.oom = true;
    free(b.s);
    return id;
}

/* Magnitudes N in [lo, hi] (digit strings; hi NULL: up to WHOLE_MAX integer
 * digits), one length at a time, as alternatives into out; false: none. */
static bool side(mctx *c, const char *lo, const char *hi, gram_buf *out) {
    bool any = false;
    for (int k = 1; k <= WHOLE_MAX; k++) {
        int n = k + c->d;
        char a[NDIG + 3], z[NDIG + 3];
        /* this length's range: [10^(n-1) (0 for k = 1), 10^n - 1] within [lo, hi] */
        memset(z, '9', (size_t)n);
        z[n] = 0;
        if (k == 1) snprintf(a, sizeof a, "0");
        else { memset(a, '0', (size_t)n); a[0] = '1'; a[n] = 0; }
        const char *l = big_cmp(lo, a) > 0 ? lo : a, *h = hi && big_cmp(hi, z) < 0 ? hi : z;
        if (big_cmp(l, h) > 0) continue;
        char lp[NDIG + 3], hp[NDIG + 3];       /* both padded to n digits */
        int zl = n - (int)strlen(l), zh = n - (int)strlen(h);
        memset(lp, '0', (size_t)zl);
        snprintf(lp + zl, sizeof lp - (size_t)zl, "%s", l);
        memset(hp, '0', (size_t)zh);
        snprintf(hp + zh, sizeof hp - (size_t)zh, "%s", h);
        c->lo = lp;
        c->hi = hp;
        c->n = n;
        /* a bound at the length's edge (10^(n-1), 10^n - 1) constrains only the first digit */
        bool tl = strcmp(lp, a) != 0 && !(k == 1 && !strcmp(l, "0")), th = strcmp(hp, z) != 0;
        int32_t t = tight_rule(c, 0, tl, th, k > 1 && !tl, 0);
        if (t < 0) continue;
        gram_buf_printf(out, "%ss%d", any ? " | " : "", (int)t);
        any = true;
    }
    return any;
}

/* A whole divisor too large for the automaton: the multiples in a bounded
 * range, listed (at most MULT_LIST of them, written as integers); false when
 * the range is unbounded or holds more. */
#define MULT_LIST 512
static bool list_multiples(sc *s, const json *v, const char *path, double m, gram_buf *out) {
    double lo = -INFINITY, hi = INFINITY;
    static const char *const K[] = { "minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum" };
    for (int i = 0; i < 4; i++) {
        const json *b = json_get(v, K[i]);
        if (!b || b->type != JSON_NUM) continue;
        double t = i == 1 ? floor(b->num) + 1 : i == 3 ? ceil(b->num) - 1 : b->num;
        if (i < 2 && t > lo) lo = t;
        if (i >= 2 && t < hi) hi = t;
    }
    if (!(lo > -1e15 && hi < 1e15)) return false;
    long long M = (long long)m, a = (long long)ceil(lo), b = (long long)floor(hi);
    long long f = a >= 0 ? (a + M - 1) / M * M : -((-a) / M * M);
    long long l = b >= 0 ? b / M * M : -((-b + M - 1) / M * M);
    if (f > l) { gram_sc_fail(s, path, "no multiple of %lld lies between the minimum and the maximum", M); return true; }
    if ((l - f) / M >= MULT_LIST) return false;
    gram_buf_puts(out, "(");
    for (long long x = f; x <= l; x += M) gram_buf_printf(out, "%s\"%lld\"", x == f ? "" : " | ", x);
    gram_buf_puts(out, ")");
    return true;
}

bool gram_sc_multiple(sc *s, const json *v, const char *path, bool integer, gram_buf *out) {
    const json *mo = json_get(v, "multipleOf");
    if (!mo) return false;
    char p2[512];
    gram_sc_child_path(p2, sizeof p2, path, "multipleOf");
    if (mo->type != JSON_NUM || !(mo->num > 0)) return gram_sc_fail(s, p2, "multipleOf must be a number above 0"), true;
    char w[WHOLE_MAX + 2], f[FRAC_DIG + 1];
    if (!decimal(mo->num, w, f))
        return gram_sc_fail(s, p2, "multipleOf %g: a divisor needs at most %d whole and %d fraction digits", mo->num, WHOLE_MAX, FRAC_DIG), true;
    mctx c = { .s = s, .d = integer ? 0 : (int)strlen(f), .number = !integer };
    if (integer && f[0]) {
        /* integers that are multiples of a fraction: multiples of M / gcd(M, 10^d) */
        int fd = (int)strlen(f);
        char all[NDIG + 3];
        snprintf(all, sizeof all, "%s%s", w, f);
        big_trim(all);
        if (strlen(all) > 18) goto too_big;
        long long M = strtoll(all, NULL, 10), p10 = 1;
        for (int i = 0; i < fd; i++) p10 *= 10;
        long long a = M, b = p10;
        while (b) { long long t = a % b; a = b; b = t; }
        M /= a;
        if (M > MULT_MOD) goto too_big;
        c.M = (int)M;
    } else {
        char all[NDIG + 3];
        snprintf(all, sizeof all, "%s%s", w, f);
        big_trim(all);
        if (strlen(all) > 6 || atoi(all) > MULT_MOD) goto too_big;
        c.M = atoi(all);
    }
    /* bounds: the tightest of minimum / exclusiveMinimum and maximum / exclusiveMaximum */
    double lo = -INFINITY, hi = INFINITY;
    bool lx = false, hx = false;
    static const char *const K[] = { "minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum" };
    for (int i = 0; i < 4; i++) {
        const json *b = json_get(v, K[i]);
        if (!b || b->type == JSON_BOOL) continue;
        if (b->type != JSON_NUM) return gram_sc_fail(s, path, "%s must be a number", K[i]), true;
        bool ex = i == 1 || i == 3;
        if (i < 2 && (b->num > lo || (b->num == lo && ex))) { lo = b->num; lx = ex; }
        if (i >= 2 && (b->num < hi || (b->num == hi && ex))) { hi = b->num; hx = ex; }
    }
    if (lo > 1e15 || hi < -1e15) return gram_sc_fail(s, path, "bounds beyond %d whole digits cannot be compiled", WHOLE_MAX), true;
    /* magnitudes: the non-negative side [max(lo, 0), hi], the negative side [max(-hi, 0), -lo] */
    char pl[NDIG + 3] = "0", ph[NDIG + 3], nl[NDIG + 3] = "1", nh[NDIG + 3];
    bool pos = hi >= 0 && !(hi == 0 && hx), neg = lo < 0, ph_b = hi < 1e15, nh_b = lo > -1e15;
    int k;
    if (pos && lo > 0 && scaled(lo, c.d, true, lx, pl) < 0) goto fine;
    if (pos && lo == 0 && lx) snprintf(pl, sizeof pl, "1");
    if (pos && ph_b && (k = scaled(hi, c.d, false, hx, ph)) <= 0) { if (k < 0) goto fine; pos = false; }
    if (neg && hi < 0 && scaled(-hi, c.d, true, hx, nl) < 0) goto fine;
    if (neg && hi < 0 && !strcmp(nl, "0")) snprintf(nl, sizeof nl, "1");
    if (neg && nh_b && (k = scaled(-lo, c.d, false, lx, nh)) <= 0) { if (k < 0) goto fine; neg = false; }
    if (pos && ph_b && big_cmp(pl, ph) > 0) pos = false;
    if (neg && nh_b && big_cmp(nl, nh) > 0) neg = false;
    /* free states' liveness: a completion exists from R digits to go, remainder r */
    for (int R = 0, p = 1 % c.M; R <= NDIG; R++, p = p * 10 % c.M) c.pow10[R] = p;
    c.live = calloc((size_t)(NDIG + 1) * (size_t)c.M, 1);
    c.fid = calloc((size_t)(NDIG + 1) * (size_t)c.M, sizeof *c.fid);
    if (!c.live || !c.fid) { free(c.live); free(c.fid); s->rules.oom = true; return true; }
    c.live[0] = 1;
    for (int R = 1; R <= NDIG; R++)
        for (int r = 0; r < c.M; r++) {
            bool l = R <= c.d && r * c.pow10[R] % c.M == 0;
            for (int x = 0; x <= 9 && !l; x++) l = c.live[(R - 1) * c.M + (10 * r + x) % c.M];
            c.live[R * c.M + r] = l;
        }
    gram_buf pb = { 0 }, nb = { 0 };
    bool hp = pos && side(&c, pl, ph_b ? ph : NULL, &pb), hn = neg && side(&c, nl, nh_b ? nh : NULL, &nb);
    if (hp || hn) {
        gram_buf_puts(out, "(");
        if (hp) gram_buf_puts(out, pb.s);
        if (hn) gram_buf_printf(out, "%s\"-\" (%s)", hp ? " | " : "", nb.s);
        gram_buf_puts(out, ")");
    }
    if (pb.oom || nb.oom) s->rules.oom = true;
    free(pb.s);
    free(nb.s);
    free(c.live);
    free(c.fid);
    if (!hp && !hn) gram_sc_fail(s, path, "no multiple of %g lies between the minimum and the maximum", mo->num);
    return true;
too_big:
    if (!f[0] && list_multiples(s, v, path, mo->num, out)) return true;
    return gram_sc_fail(s, p2, "multipleOf %g: the digit automaton keeps the remainder of the digits mod %s%s (one state per "
                        "remainder and digit position), which is limited to %d; a whole divisor with at most %d multiples between "
                        "the minimum and the maximum is compiled as their list", mo->num, w, f, MULT_MOD, MULT_LIST), true;
fine:
    return gram_sc_fail(s, path, "a bound needs more than %d fraction digits or %d whole digits", FRAC_DIG, WHOLE_MAX), true;
}
