/* gbnf_ref: a deliberately simple GBNF recognizer for tests only, written
 * apart from core/gram.c so it can check the matcher independently.
 *
 * It parses GBNF into a tree (alternation, sequence, literal, class, any,
 * rule reference, repetition) and matches code points by backtracking with
 * explicit continuations. ref_accepts(text) says whether the whole text is
 * in the language; ref_viable(text) whether some string of the language
 * starts with it (a trailing incomplete UTF-8 character counts as viable
 * when some completion is). Exponential in the worst case; tests keep texts
 * short. A step budget turns a runaway search into a reported failure.
 */
#ifndef GBNF_REF_H
#define GBNF_REF_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { RN_ALT, RN_SEQ, RN_LIT, RN_CLS, RN_ANY, RN_REF, RN_REP };

typedef struct rnode {
    int kind;
    struct rnode **kids;
    int nkids;
    uint32_t *cps;          /* LIT: code points; CLS: pairs lo,hi */
    int ncps;
    bool neg;
    char name[64];          /* REF */
    int rule;               /* REF, resolved */
    int min, max;           /* REP; max -1 open */
} rnode;

typedef struct rgram {
    char names[256][64];
    rnode *rules[256];
    int n;
    const char *p, *end;
    bool bad;
    long budget;
} rgram;

static rnode *rn_new(int kind) {
    rnode *n = calloc(1, sizeof *n);
    n->kind = kind;
    return n;
}
static void rn_kid(rnode *n, rnode *k) {
    n->kids = realloc(n->kids, sizeof *n->kids * (size_t)(n->nkids + 1));
    n->kids[n->nkids++] = k;
}
static void rn_cp(rnode *n, uint32_t c) {
    n->cps = realloc(n->cps, sizeof *n->cps * (size_t)(n->ncps + 1));
    n->cps[n->ncps++] = c;
}
static void rn_free(rnode *n) {
    if (!n) return;
    for (int i = 0; i < n->nkids; i++) rn_free(n->kids[i]);
    free(n->kids);
    free(n->cps);
    free(n);
}

/* Bytes of one character (0: incomplete at end, -1: invalid). */
static int rg_utf8(const unsigned char *s, const unsigned char *end, uint32_t *cp) {
    if ((s[0] >= 0x80 && s[0] < 0xC2) || s[0] >= 0xF5) return -1;
    int n = s[0] < 0x80 ? 1 : s[0] < 0xE0 ? 2 : s[0] < 0xF0 ? 3 : 4;
    for (int i = 1; i < n && s + i < end; i++) if ((s[i] & 0xC0) != 0x80) return -1;
    if (s + n > end) return 0;
    uint32_t v = n == 1 ? s[0] : (uint32_t)(s[0] & (0x7F >> n));
    for (int i = 1; i < n; i++) v = v << 6 | (s[i] & 0x3F);
    *cp = v;
    return n;
}

static uint32_t rg_char(rgram *g) {
    if (*g->p == '\\') {
        char e = g->p[1];
        g->p += 2;
        int nh = e == 'x' ? 2 : e == 'u' ? 4 : e == 'U' ? 8 : 0;
        if (nh) {
            uint32_t v = 0;
            for (int i = 0; i < nh; i++) {
                char h = *g->p++;
                v = v * 16 + (uint32_t)(h <= '9' ? h - '0' : (h | 32) - 'a' + 10);
            }
            return v;
        }
        return e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : (uint32_t)e;
    }
    uint32_t cp = 0;
    int n = rg_utf8((const unsigned char *)g->p, (const unsigned char *)g->end, &cp);
    g->p += n > 0 ? n : 1;
    return cp;
}

static void rg_space(rgram *g, bool nl) {
    for (;;) {
        while (g->p < g->end && (*g->p == ' ' || *g->p == '\t' || *g->p == '\r' || (nl && *g->p == '\n'))) g->p++;
        if (g->p < g->end && *g->p == '#') { while (g->p < g->end && *g->p != '\n') g->p++; continue; }
        break;
    }
}

static bool rg_word(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'; }

static rnode *rg_alt(rgram *g, bool nested);

static rnode *rg_seq(rgram *g, bool nested) {
    rnode *s = rn_new(RN_SEQ);
    for (;;) {
        rg_space(g, nested);
        if (g->p >= g->end) break;
        char c = *g->p;
        rnode *t = NULL;
        if (c == '"') {
            g->p++;
            t = rn_new(RN_LIT);
            while (g->p < g->end && *g->p != '"') rn_cp(t, rg_char(g));
            g->p++;
        } else if (c == '[') {
            g->p++;
            t = rn_new(RN_CLS);
            if (*g->p == '^') { t->neg = true; g->p++; }
            bool first = true;
            while (g->p < g->end && (*g->p != ']' || first)) {
                first = false;
                uint32_t lo = rg_char(g), hi = lo;
                if (*g->p == '-' && g->p[1] != ']') { g->p++; hi = rg_char(g); }
                rn_cp(t, lo);
                rn_cp(t, hi);
            }
            g->p++;
        } else if (c == '.') {
            g->p++;
            t = rn_new(RN_ANY);
        } else if (c == '(') {
            g->p++;
            rg_space(g, true);
            t = rg_alt(g, true);
            rg_space(g, true);
            if (*g->p != ')') g->bad = true;
            g->p++;
        } else if (rg_word(c)) {
            const char *q = g->p;
            while (q < g->end && rg_word(*q)) q++;
            const char *r = q;
            while (r < g->end && (*r == ' ' || *r == '\t')) r++;
            if (r + 3 <= g->end && !memcmp(r, "::=", 3)) break;
            t = rn_new(RN_REF);
            snprintf(t->name, sizeof t->name, "%.*s", (int)(q - g->p), g->p);
            g->p = q;
        } else if (c == '*' || c == '+' || c == '?' || c == '{') {
            rnode *last = s->nkids ? s->kids[--s->nkids] : NULL;
            if (!last) { g->bad = true; break; }
            t = rn_new(RN_REP);
            rn_kid(t, last);
            g->p++;
            t->min = c == '+' ? 1 : 0;
            t->max = c == '?' ? 1 : -1;
            if (c == '{') {
                t->min = (int)strtol(g->p, (char **)&g->p, 10);
                t->max = t->min;
                if (*g->p == ',') { g->p++; t->max = *g->p == '}' ? -1 : (int)strtol(g->p, (char **)&g->p, 10); }
                g->p++;
            }
        } else {
            break;
        }
        rn_kid(s, t);
    }
    return s;
}

static rnode *rg_alt(rgram *g, bool nested) {
    rnode *a = rn_new(RN_ALT);
    rn_kid(a, rg_seq(g, nested));
    while (g->p < g->end && *g->p == '|') {
        g->p++;
        rg_space(g, true);
        rn_kid(a, rg_seq(g, nested));
    }
    return a;
}

static bool rg_resolve(rgram *g, rnode *n) {
    if (n->kind == RN_REF) {
        n->rule = -1;
        for (int i = 0; i < g->n; i++) if (!strcmp(g->names[i], n->name)) n->rule = i;
        if (n->rule < 0) return false;
    }
    for (int i = 0; i < n->nkids; i++) if (!rg_resolve(g, n->kids[i])) return false;
    return true;
}

/* Parses text; returns false on anything it does not understand. */
static bool ref_load(rgram *g, const char *text) {
    memset(g, 0, sizeof *g);
    g->p = text;
    g->end = text + strlen(text);
    rg_space(g, true);
    while (g->p < g->end && !g->bad && g->n < 256) {
        const char *s = g->p;
        while (g->p < g->end && rg_word(*g->p)) g->p++;
        snprintf(g->names[g->n], 64, "%.*s", (int)(g->p - s), s);
        rg_space(g, false);
        if (g->end - g->p < 3 || memcmp(g->p, "::=", 3)) return false;
        g->p += 3;
        rg_space(g, true);
        g->rules[g->n++] = rg_alt(g, false);
        rg_space(g, true);
    }
    for (int i = 0; i < g->n; i++) if (!rg_resolve(g, g->rules[i])) return false;
    return !g->bad;
}

static void ref_free(rgram *g) { for (int i = 0; i < g->n; i++) rn_free(g->rules[i]); }

/* ---- matching: continuation = linked list of (node, count) ---- */
typedef struct rk { const rnode *n; int count; const struct rk *next; } rk;

typedef struct rctx { rgram *g; const uint32_t *cp; int len; bool prefix; } rctx;

static bool rm(rctx *x, const rnode *n, int count, int pos, const rk *k);

static bool rk_run(rctx *x, int pos, const rk *k) {
    if (!k) return pos == x->len;
    return rm(x, k->n, k->count, pos, k->next);
}

static bool rm_cls(const rnode *n, uint32_t c) {
    bool in = false;
    for (int i = 0; i + 1 < n->ncps; i += 2) in |= c >= n->cps[i] && c <= n->cps[i + 1];
    return in != n->neg;
}

static bool rm(rctx *x, const rnode *n, int count, int pos, const rk *k) {
    if (--x->g->budget < 0) return false;
    if (x->prefix && pos == x->len) return true;
    switch (n->kind) {
    case RN_LIT:
        for (int i = 0; i < n->ncps; i++) {
            if (x->prefix && pos + i == x->len) return true;
            if (pos + i >= x->len || x->cp[pos + i] != n->cps[i]) return false;
        }
        return rk_run(x, pos + n->ncps, k);
    case RN_CLS:
        return pos < x->len && rm_cls(n, x->cp[pos]) && rk_run(x, pos + 1, k);
    case RN_ANY:
        return pos < x->len && rk_run(x, pos + 1, k);
    case RN_REF:
        return rm(x, x->g->rules[n->rule], 0, pos, k);
    case RN_ALT:
        for (int i = 0; i < n->nkids; i++) if (rm(x, n->kids[i], 0, pos, k)) return true;
        return false;
    case RN_SEQ: {
        if (count >= n->nkids) return rk_run(x, pos, k);
        rk next = { n, count + 1, k };
        return rm(x, n->kids[count], 0, pos, &next);
    }
    default: {                              /* REP: count = matched so far */
        rk again = { n, count + 1, k };
        if (count < n->min) return rm(x, n->kids[0], 0, pos, &again);
        if ((n->max < 0 || count < n->max) && rm(x, n->kids[0], 0, pos, &again)) return true;
        return rk_run(x, pos, k);
    }
    }
}

static int rg_decode(const char *s, size_t n, uint32_t *out, int *partial) {
    int len = 0;
    *partial = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int k = rg_utf8((const unsigned char *)s + i, (const unsigned char *)s + n, &cp);
        if (k < 0) return -1;
        if (!k) { *partial = (int)(n - i); return len; }
        out[len++] = cp;
        i += (size_t)k;
    }
    return len;
}

static int rg_root(rgram *g) { for (int i = 0; i < g->n; i++) if (!strcmp(g->names[i], "root")) return i; return -1; }

static bool ref_run(rgram *g, const char *s, size_t n, bool prefix) {
    uint32_t *cp = malloc(sizeof *cp * (n + 2));
    int partial, len = rg_decode(s, n, cp, &partial);
    bool ok = false;
    g->budget = 20000000;
    rctx x = { g, cp, len, prefix };
    int root = rg_root(g);
    if (len < 0) ok = false;
    else if (!partial) ok = rm(&x, g->rules[root], 0, 0, NULL);
    else if (prefix) {
        /* try every completion of the trailing partial character */
        const unsigned char *t = (const unsigned char *)s + n - partial;
        int need = t[0] < 0xE0 ? 2 : t[0] < 0xF0 ? 3 : 4;
        int free_bits = 6 * (need - partial);
        unsigned char full[4];
        for (uint32_t v = 0; v < (1u << free_bits) && !ok; v++) {
            memcpy(full, t, (size_t)partial);
            for (int i = partial; i < need; i++) full[i] = (unsigned char)(0x80 | (v >> (6 * (need - 1 - i)) & 0x3F));
            uint32_t c;
            rg_utf8(full, full + need, &c);
            if ((c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF || (need == 3 && c < 0x800) || (need == 2 && c < 0x80) || (need == 4 && c < 0x10000)) continue;
            cp[len] = c;
            x.len = len + 1;
            ok = rm(&x, g->rules[root], 0, 0, NULL);
        }
    }
    free(cp);
    return ok;
}

static bool ref_accepts(rgram *g, const char *s, size_t n) { return ref_run(g, s, n, false); }
static bool ref_viable(rgram *g, const char *s, size_t n) { return ref_run(g, s, n, true); }

#endif
