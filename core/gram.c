/* gram: the GBNF parser and the byte-level grammar it builds (see gram.h).
 *
 * The syntax follows llama.cpp's grammars/README.md: a rule is
 * `name ::= alternatives` and ends at a newline unless inside parentheses or
 * right after `|` or `::=`; names are letters, digits, '-' and '_'.
 * Literals and classes take the escapes \n \r \t \\ \" \' \[ \] \- \/ \xHH
 * \uHHHH \UHHHHHHHH. `.` is any character.
 *
 * Building: each rule is a list of alternatives being filled; a group, a
 * multi-byte class and every repetition become helper rules. Characters are
 * lowered to UTF-8 bytes at once: a literal to one single-byte set per byte,
 * a class to the byte sequences of its code point ranges (the range split of
 * RE2/Go's utf8 package: ranges cut where the encoded length changes and
 * where continuation bytes stop covering their full 0x80..0xBF span), with
 * the one-byte part as one set. Surrogates are never matched.
 *
 * Checks after parsing: every referenced rule defined, `root` present, no
 * left recursion (a rule reaching itself through nullable prefixes).
 */
#include "gram.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"

#define MAX_ELEMENTS (1 << 22)
#define MAX_REPEAT 100000

/* ---- growable arrays ------------------------------------------------------- */

typedef struct ivec { int32_t *v; int32_t n, cap; } ivec;

static bool ivec_push(ivec *a, int32_t x) {
    if (a->n == a->cap) {
        int32_t cap = a->cap ? 2 * a->cap : 8;
        int32_t *v = realloc(a->v, sizeof *v * (size_t)cap);
        if (!v) return false;
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = x;
    return true;
}

/* An element packed in an int32: type in the low 2 bits, arg above. */
static int32_t pack(int32_t type, int32_t arg) { return (int32_t)((uint32_t)arg << 2 | (uint32_t)type); }

typedef struct brule {
    char *name;
    size_t def_at;      /* offset of the definition, or of the first reference */
    bool defined;
    ivec *alts;         /* (n_alts) packed elements, without the END */
    int32_t n_alts, cap_alts;
} brule;

typedef struct builder {
    const char *src, *p, *end;
    brule *rules;
    int32_t n_rules, cap_rules;
    uint8_t (*sets)[32];
    int32_t n_sets, cap_sets;
    int64_t n_el;
    char *err;
    size_t errlen;
    int rc;
    int32_t depth;      /* groups open: parse_sequence and parse_alternates recurse per '(' */
    strmap names;       /* rule name -> index (the first rule of a name): a linear search made
                         * a grammar of 100000 rules take a minute */
} builder;

/* Groups nested deeper are refused: the parser takes two stack frames per
 * level, and 100000 nested groups overflowed the stack (a crash on bad
 * input); JSON Schema's own nesting limit stays far below it. */
#define GRAM_MAX_NEST 1000

/* ---- errors ------------------------------------------------------------------ */

static void where(const builder *b, size_t off, int *line, int *col) {
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && b->src + i < b->end; i++) {
        if (b->src[i] == '\n') { (*line)++; *col = 1; }
        else if (((unsigned char)b->src[i] & 0xC0) != 0x80) (*col)++;
    }
}

static int fail_at(builder *b, size_t off, int rc, const char *fmt, ...) {
    if (b->rc) return b->rc;
    int line, col;
    where(b, off, &line, &col);
    int k = snprintf(b->err, b->errlen, "line %d col %d: ", line, col);
    if (k >= 0 && (size_t)k < b->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(b->err + k, b->errlen - (size_t)k, fmt, ap);
        va_end(ap);
    }
    b->rc = rc;
    return rc;
}

static int oom(builder *b) { return fail_at(b, (size_t)(b->p - b->src), GRAM_ENOMEM, "out of memory"); }
static size_t off(const builder *b) { return (size_t)(b->p - b->src); }

/* ---- rules, sets, elements --------------------------------------------------- */

static int32_t add_rule(builder *b, const char *name, size_t nlen, size_t at) {
    if (b->n_rules == b->cap_rules) {
        int32_t cap = b->cap_rules ? 2 * b->cap_rules : 16;
        brule *r = realloc(b->rules, sizeof *r * (size_t)cap);
        if (!r) { oom(b); return -1; }
        b->rules = r;
        b->cap_rules = cap;
    }
    brule *r = &b->rules[b->n_rules];
    memset(r, 0, sizeof *r);
    if (!(r->name = malloc(nlen + 1))) { oom(b); return -1; }
    memcpy(r->name, name, nlen);
    r->name[nlen] = 0;
    r->def_at = at;
    /* the name is the rule's own allocation: it outlives the map's use of it */
    if (strmap_get(&b->names, r->name, nlen) < 0 && strmap_set(&b->names, r->name, nlen, b->n_rules)) {
        free(r->name);
        oom(b);
        return -1;
    }
    return b->n_rules++;
}

static int32_t find_rule(const builder *b, const char *name, size_t nlen) {
    return strmap_get(&b->names, name, nlen);
}

/* A helper rule named after its parent: "parent_N". */
static int32_t helper_rule(builder *b, int32_t parent) {
    char nm[96];
    int k = snprintf(nm, sizeof nm, "%.80s_%d", b->rules[parent].name, (int)b->n_rules);
    int32_t r = add_rule(b, nm, (size_t)k, off(b));
    if (r >= 0) b->rules[r].defined = true;
    return r;
}

/* Appends an empty alternative to rule r; returns it or NULL. */
static ivec *new_alt(builder *b, int32_t r) {
    brule *ru = &b->rules[r];
    if (ru->n_alts == ru->cap_alts) {
        int32_t cap = ru->cap_alts ? 2 * ru->cap_alts : 4;
        ivec *a = realloc(ru->alts, sizeof *a * (size_t)cap);
        if (!a) { oom(b); return NULL; }
        ru->alts = a;
        ru->cap_alts = cap;
    }
    ivec *a = &ru->alts[ru->n_alts++];
    memset(a, 0, sizeof *a);
    return a;
}

static bool push_el(builder *b, ivec *a, int32_t el) {
    if (++b->n_el > MAX_ELEMENTS) { fail_at(b, off(b), GRAM_ELIMIT, "grammar too large (over %d elements)", MAX_ELEMENTS); return false; }
    if (!ivec_push(a, el)) { oom(b); return false; }
    return true;
}

static int32_t add_set(builder *b, const uint8_t set[32]) {
    for (int32_t i = 0; i < b->n_sets; i++) if (memcmp(b->sets[i], set, 32) == 0) return i;
    if (b->n_sets == b->cap_sets) {
        int32_t cap = b->cap_sets ? 2 * b->cap_sets : 32;
        uint8_t (*s)[32] = realloc(b->sets, sizeof *s * (size_t)cap);
        if (!s) { oom(b); return -1; }
        b->sets = s;
        b->cap_sets = cap;
    }
    memcpy(b->sets[b->n_sets], set, 32);
    return b->n_sets++;
}

static bool push_range(builder *b, ivec *a, unsigned lo, unsigned hi) {
    uint8_t set[32] = { 0 };
    for (unsigned x = lo; x <= hi; x++) set[x >> 3] |= (uint8_t)(1u << (x & 7));
    int32_t s = add_set(b, set);
    return s >= 0 && push_el(b, a, pack(GEL_BYTES, s));
}

static bool push_bytes(builder *b, ivec *a, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!push_range(b, a, (unsigned char)s[i], (unsigned char)s[i])) return false;
    return true;
}

static int enc_utf8(uint32_t cp, unsigned char *o) {
    if (cp < 0x80) { o[0] = (unsigned char)cp; return 1; }
    if (cp < 0x800) { o[0] = (unsigned char)(0xC0 | cp >> 6); o[1] = (unsigned char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | cp >> 12); o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | cp >> 18); o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F)); o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* ---- character classes ------------------------------------------------------ */

typedef struct cls { uint32_t (*r)[2]; int32_t n, cap; } cls;

static bool cls_add(cls *c, uint32_t lo, uint32_t hi) {
    if (c->n == c->cap) {
        int32_t cap = c->cap ? 2 * c->cap : 8;
        uint32_t (*r)[2] = realloc(c->r, sizeof *r * (size_t)cap);
        if (!r) return false;
        c->r = r;
        c->cap = cap;
    }
    c->r[c->n][0] = lo;
    c->r[c->n][1] = hi;
    c->n++;
    return true;
}

static int cmp_range(const void *a, const void *b) {
    const uint32_t *x = a, *y = b;
    return (x[0] > y[0]) - (x[0] < y[0]);
}

/* Sorts and merges; with negate, the complement in [0, 0x10FFFF]; surrogates
 * removed either way. */
static bool cls_normalize(cls *c, bool negate) {
    if (c->n > 1) qsort(c->r, (size_t)c->n, sizeof *c->r, cmp_range);
    int32_t m = 0;
    for (int32_t i = 0; i < c->n; i++) {
        if (m && c->r[i][0] <= c->r[m - 1][1] + 1) {
            if (c->r[i][1] > c->r[m - 1][1]) c->r[m - 1][1] = c->r[i][1];
        } else {
            c->r[m][0] = c->r[i][0];
            c->r[m][1] = c->r[i][1];
            m++;
        }
    }
    c->n = m;
    cls o = { 0 };
    if (negate) {
        uint32_t next = 0;
        for (int32_t i = 0; i < c->n; i++) {
            if (c->r[i][0] > next && !cls_add(&o, next, c->r[i][0] - 1)) goto nomem;
            next = c->r[i][1] + 1;
        }
        if (next <= 0x10FFFF && !cls_add(&o, next, 0x10FFFF)) goto nomem;
    } else {
        for (int32_t i = 0; i < c->n; i++) if (!cls_add(&o, c->r[i][0], c->r[i][1])) goto nomem;
    }
    c->n = 0;
    for (int32_t i = 0; i < o.n; i++) {
        uint32_t lo = o.r[i][0], hi = o.r[i][1] > 0x10FFFF ? 0x10FFFF : o.r[i][1];
        if (lo > hi) continue;
        if (lo < 0xD800 && hi > 0xDFFF) {
            if (!cls_add(c, lo, 0xD7FF) || !cls_add(c, 0xE000, hi)) goto nomem;
        } else if (lo >= 0xD800 && hi <= 0xDFFF) {
            continue;
        } else if (lo < 0xD800 && hi >= 0xD800) {
            if (!cls_add(c, lo, 0xD7FF)) goto nomem;
        } else if (lo <= 0xDFFF && hi > 0xDFFF) {
            if (!cls_add(c, 0xE000, hi)) goto nomem;
        } else if (!cls_add(c, lo, hi)) goto nomem;
    }
    free(o.r);
    return true;
nomem:
    free(o.r);
    return false;
}

/* Emits the UTF-8 byte-range sequences of [lo, hi] (all of one encoded
 * length after the first cuts) as alternatives of rule r; code points below
 * 0x80 go into ascii instead. */
static bool split_utf8(builder *b, int32_t r, uint8_t ascii[32], uint32_t lo, uint32_t hi) {
    if (lo > hi) return true;
    static const uint32_t len_max[] = { 0x7F, 0x7FF, 0xFFFF };
    for (int i = 0; i < 3; i++)
        if (lo <= len_max[i] && hi > len_max[i])
            return split_utf8(b, r, ascii, lo, len_max[i]) && split_utf8(b, r, ascii, len_max[i] + 1, hi);
    if (hi < 0x80) {
        for (uint32_t x = lo; x <= hi; x++) ascii[x >> 3] |= (uint8_t)(1u << (x & 7));
        return true;
    }
    unsigned char l[4], h[4];
    int n = enc_utf8(lo, l);
    enc_utf8(hi, h);
    for (int i = 1; i < n; i++) {
        uint32_t m = (1u << (6 * i)) - 1;
        if ((lo & ~m) != (hi & ~m)) {
            if (lo & m) return split_utf8(b, r, ascii, lo, lo | m) && split_utf8(b, r, ascii, (lo | m) + 1, hi);
            if ((hi & m) != m) return split_utf8(b, r, ascii, lo, (hi & ~m) - 1) && split_utf8(b, r, ascii, hi & ~m, hi);
        }
    }
    ivec *a = new_alt(b, r);
    if (!a) return false;
    for (int i = 0; i < n; i++) if (!push_range(b, a, l[i], h[i])) return false;
    return true;
}

/* Appends the class to alternative *a of rule `parent`: one byte set when it
 * is all ASCII, else a reference to a helper rule of byte sequences. */
static bool emit_class(builder *b, int32_t parent, ivec **a, int32_t alt_index, cls *c) {
    bool ascii_only = c->n == 0 || c->r[c->n - 1][1] < 0x80;
    uint8_t ascii[32] = { 0 };
    if (ascii_only) {
        for (int32_t i = 0; i < c->n; i++)
            for (uint32_t x = c->r[i][0]; x <= c->r[i][1]; x++) ascii[x >> 3] |= (uint8_t)(1u << (x & 7));
        int32_t s = add_set(b, ascii);
        return s >= 0 && push_el(b, *a, pack(GEL_BYTES, s));
    }
    int32_t h = helper_rule(b, parent);
    if (h < 0) return false;
    for (int32_t i = 0; i < c->n; i++) if (!split_utf8(b, h, ascii, c->r[i][0], c->r[i][1])) return false;
    bool any = false;
    for (int i = 0; i < 32; i++) any |= ascii[i] != 0;
    if (any) {
        ivec *x = new_alt(b, h);
        int32_t s = x ? add_set(b, ascii) : -1;
        if (s < 0 || !push_el(b, x, pack(GEL_BYTES, s))) return false;
    }
    *a = &b->rules[parent].alts[alt_index];   /* new_alt may have moved rules */
    return push_el(b, *a, pack(GEL_REF, h));
}

/* ---- lexing ------------------------------------------------------------------ */

static bool is_word(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Skips blanks and comments; newlines too when newline_ok. */
static void space(builder *b, bool newline_ok) {
    while (b->p < b->end) {
        char c = *b->p;
        if (c == ' ' || c == '\t' || c == '\r' || (newline_ok && c == '\n')) b->p++;
        else if (c == '#') { while (b->p < b->end && *b->p != '\n') b->p++; }
        else break;
    }
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* One character of a literal or class: an escape or a UTF-8 sequence. */
static bool read_char(builder *b, uint32_t *cp) {
    const unsigned char *s = (const unsigned char *)b->p;
    size_t at = off(b);
    if (b->p >= b->end) { fail_at(b, at, GRAM_ESYNTAX, "unexpected end of input"); return false; }
    if (*s == '\\') {
        if (b->p + 1 >= b->end) { fail_at(b, at, GRAM_ESYNTAX, "unexpected end of input after '\\'"); return false; }
        char e = b->p[1];
        int nhex = e == 'x' ? 2 : e == 'u' ? 4 : e == 'U' ? 8 : 0;
        if (nhex) {
            uint32_t v = 0;
            for (int i = 0; i < nhex; i++) {
                int h = b->p + 2 + i < b->end ? hexval(b->p[2 + i]) : -1;
                if (h < 0) { fail_at(b, at, GRAM_ESYNTAX, "expected %d hex digits after '\\%c'", nhex, e); return false; }
                v = v << 4 | (uint32_t)h;
            }
            if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) { fail_at(b, at, GRAM_ESYNTAX, "escape \\%c names no Unicode scalar value", e); return false; }
            *cp = v;
            b->p += 2 + nhex;
            return true;
        }
        switch (e) {
        case 'n': *cp = '\n'; break;
        case 'r': *cp = '\r'; break;
        case 't': *cp = '\t'; break;
        case '\\': case '"': case '\'': case '[': case ']': case '-': case '/': case '^': *cp = (uint32_t)e; break;
        default: fail_at(b, at, GRAM_ESYNTAX, "unknown escape '\\%c' (expected one of \\n \\r \\t \\\\ \\\" \\[ \\] \\- \\xHH \\uHHHH \\UHHHHHHHH)", e); return false;
        }
        b->p += 2;
        return true;
    }
    int n = *s < 0x80 ? 1 : (*s & 0xE0) == 0xC0 ? 2 : (*s & 0xF0) == 0xE0 ? 3 : (*s & 0xF8) == 0xF0 ? 4 : 0;
    if (!n || b->p + n > b->end) { fail_at(b, at, GRAM_ESYNTAX, "invalid UTF-8"); return false; }
    uint32_t v = n == 1 ? *s : (uint32_t)(*s & (0x7F >> n));
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) { fail_at(b, at, GRAM_ESYNTAX, "invalid UTF-8"); return false; }
        v = v << 6 | (s[i] & 0x3F);
    }
    *cp = v;
    b->p += n;
    return true;
}

static bool read_uint(builder *b, int64_t *v) {
    if (b->p >= b->end || *b->p < '0' || *b->p > '9') { fail_at(b, off(b), GRAM_ESYNTAX, "expected a number"); return false; }
    *v = 0;
    while (b->p < b->end && *b->p >= '0' && *b->p <= '9') {
        *v = *v * 10 + (*b->p++ - '0');
        if (*v > MAX_REPEAT) { fail_at(b, off(b), GRAM_ELIMIT, "repetition count above %d", MAX_REPEAT); return false; }
    }
    return true;
}

/* ---- repetitions ----------------------------------------------------------- */

/* The term a[from..n) as one element (itself, or a reference to a helper). */
static bool term_element(builder *b, int32_t rule, int32_t alt_index, int32_t from, int32_t *el) {
    ivec *a = &b->rules[rule].alts[alt_index];
    if (a->n - from == 1) { *el = a->v[from]; a->n = from; return true; }
    int32_t h = helper_rule(b, rule);
    if (h < 0) return false;
    ivec *x = new_alt(b, h);
    if (!x) return false;
    a = &b->rules[rule].alts[alt_index];
    for (int32_t i = from; i < a->n; i++) if (!ivec_push(x, a->v[i])) { oom(b); return false; }
    a->n = from;
    *el = pack(GEL_REF, h);
    return true;
}

/* R ::= x R | ""  (or R ::= x | "" when !loop), returns R. */
static int32_t star_rule(builder *b, int32_t parent, int32_t x, int32_t tail) {
    int32_t h = helper_rule(b, parent);
    if (h < 0) return -1;
    ivec *a1 = new_alt(b, h);
    if (!a1 || !push_el(b, a1, x)) return -1;
    if (tail >= 0 && !push_el(b, &b->rules[h].alts[0], tail == INT32_MAX ? pack(GEL_REF, h) : pack(GEL_REF, tail))) return -1;
    if (!new_alt(b, h)) return -1;
    return h;
}

/* Rewrites the last term a[from..) repeated min..max times (max < 0: open). */
static bool repeat(builder *b, int32_t rule, int32_t alt_index, int32_t from, int64_t min, int64_t max) {
    int32_t x;
    if (!term_element(b, rule, alt_index, from, &x)) return false;
    for (int64_t i = 0; i < min; i++) if (!push_el(b, &b->rules[rule].alts[alt_index], x)) return false;
    int32_t tail_ref = -1;
    if (max < 0) {
        int32_t r = star_rule(b, rule, x, INT32_MAX);
        if (r < 0) return false;
        tail_ref = r;
    } else {
        /* nested optionals: R1 ::= x R2 | "", ..., Rk ::= x | "" (no ambiguity) */
        int32_t next = -1;
        for (int64_t i = max - min; i > 0; i--) {
            int32_t r = star_rule(b, rule, x, next);
            if (r < 0) return false;
            next = r;
        }
        tail_ref = next;
    }
    return tail_ref < 0 || push_el(b, &b->rules[rule].alts[alt_index], pack(GEL_REF, tail_ref));
}

/* ---- the grammar ----------------------------------------------------------- */

static bool parse_alternates(builder *b, int32_t rule, bool nested);

static bool parse_class(builder *b, int32_t rule, int32_t alt_index) {
    size_t at = off(b);
    b->p++;                                   /* [ */
    bool neg = b->p < b->end && *b->p == '^';
    if (neg) b->p++;
    cls c = { 0 };
    bool ok = false;
    while (true) {
        if (b->p >= b->end || *b->p == '\n') { fail_at(b, at, GRAM_ESYNTAX, "unterminated character class (expected ']')"); goto out; }
        if (*b->p == ']') { b->p++; break; }
        uint32_t lo, hi;
        if (!read_char(b, &lo)) goto out;
        hi = lo;
        if (b->p + 1 < b->end && *b->p == '-' && b->p[1] != ']') {
            b->p++;
            size_t rat = off(b);
            if (*b->p == '\n') { fail_at(b, at, GRAM_ESYNTAX, "unterminated character class (expected ']')"); goto out; }
            if (!read_char(b, &hi)) goto out;
            if (hi < lo) { fail_at(b, rat, GRAM_ESYNTAX, "class range end below its start"); goto out; }
        }
        if (!cls_add(&c, lo, hi)) { oom(b); goto out; }
    }
    if (!cls_normalize(&c, neg)) { oom(b); goto out; }
    ivec *a = &b->rules[rule].alts[alt_index];
    ok = emit_class(b, rule, &a, alt_index, &c);
out:
    free(c.r);
    return ok;
}

static bool parse_sequence(builder *b, int32_t rule, bool nested) {
    ivec *a0 = new_alt(b, rule);
    if (!a0) return false;
    int32_t ai = b->rules[rule].n_alts - 1;
    int32_t last = -1;                         /* start of the last term, -1: none */
#define ALT (&b->rules[rule].alts[ai])
    for (;;) {
        space(b, nested);
        if (b->p >= b->end) break;
        char c = *b->p;
        size_t at = off(b);
        if (c == '"') {
            b->p++;
            last = ALT->n;
            while (b->p < b->end && *b->p != '"') {
                uint32_t cp;
                if (!read_char(b, &cp)) return false;
                unsigned char u[4];
                if (!push_bytes(b, ALT, (const char *)u, (size_t)enc_utf8(cp, u))) return false;
            }
            if (b->p >= b->end) return fail_at(b, at, GRAM_ESYNTAX, "unterminated literal (expected '\"')"), false;
            b->p++;
        } else if (c == '[') {
            last = ALT->n;
            if (!parse_class(b, rule, ai)) return false;
        } else if (c == '.') {
            b->p++;
            last = ALT->n;
            cls any = { 0 };
            bool ok = cls_normalize(&any, true);
            ivec *a = ALT;
            ok = ok && emit_class(b, rule, &a, ai, &any);
            free(any.r);
            if (!ok) return b->rc ? false : (oom(b), false);
        } else if (c == '(') {
            if (b->depth >= GRAM_MAX_NEST)
                return fail_at(b, at, GRAM_ESYNTAX, "groups nested more than %d deep", GRAM_MAX_NEST), false;
            b->p++;
            int32_t h = helper_rule(b, rule);
            if (h < 0) return false;
            space(b, true);
            b->depth++;
            bool ok = parse_alternates(b, h, true);
            b->depth--;
            if (!ok) return false;
            space(b, true);
            if (b->p >= b->end || *b->p != ')') return fail_at(b, off(b), GRAM_ESYNTAX, "expected ')' to close the group opened at %s", "its '('"), false;
            b->p++;
            last = ALT->n;
            if (!push_el(b, ALT, pack(GEL_REF, h))) return false;
        } else if (is_word(c)) {
            const char *s = b->p;
            while (b->p < b->end && is_word(*b->p)) b->p++;
            size_t n = (size_t)(b->p - s);
            const char *q = b->p;
            while (q < b->end && (*q == ' ' || *q == '\t')) q++;
            if (q + 2 < b->end + 0 && q + 3 <= b->end && memcmp(q, "::=", 3) == 0) {
                if (nested) return fail_at(b, at, GRAM_ESYNTAX, "expected ')' before the next rule"), false;
                b->p = s;                      /* the next rule starts here */
                break;
            }
            int32_t r = find_rule(b, s, n);
            if (r < 0 && (r = add_rule(b, s, n, at)) < 0) return false;
            last = ALT->n;
            if (!push_el(b, ALT, pack(GEL_REF, r))) return false;
        } else if (c == '*' || c == '+' || c == '?' || c == '{') {
            if (last < 0) return fail_at(b, at, GRAM_ESYNTAX, "expected an item before '%c'", c), false;
            int64_t min = 0, max = -1;
            b->p++;
            if (c == '+') min = 1;
            else if (c == '?') max = 1;
            else if (c == '{') {
                space(b, false);
                if (!read_uint(b, &min)) return false;
                space(b, false);
                if (b->p < b->end && *b->p == ',') {
                    b->p++;
                    space(b, false);
                    if (b->p < b->end && *b->p != '}') { if (!read_uint(b, &max)) return false; }
                } else {
                    max = min;
                }
                space(b, false);
                if (b->p >= b->end || *b->p != '}') return fail_at(b, off(b), GRAM_ESYNTAX, "expected '}' to close the repetition"), false;
                b->p++;
                if (max >= 0 && max < min) return fail_at(b, at, GRAM_ESYNTAX, "repetition maximum below its minimum"), false;
            }
            if (!repeat(b, rule, ai, last, min, max)) return false;
            last = -1;
        } else if (c == '|' || c == ')' || c == '\n') {
            break;
        } else {
            return fail_at(b, at, GRAM_ESYNTAX, "expected a literal, a class, a rule name, '(' or a repetition, got '%c'", c), false;
        }
    }
#undef ALT
    return true;
}

static bool parse_alternates(builder *b, int32_t rule, bool nested) {
    if (!parse_sequence(b, rule, nested)) return false;
    while (b->p < b->end && *b->p == '|') {
        b->p++;
        space(b, true);
        if (!parse_sequence(b, rule, nested)) return false;
    }
    return true;
}

static bool parse_rule(builder *b) {
    const char *s = b->p;
    size_t at = off(b);
    while (b->p < b->end && is_word(*b->p)) b->p++;
    size_t n = (size_t)(b->p - s);
    if (!n && b->p < b->end && *b->p == '|')
        return fail_at(b, at, GRAM_ESYNTAX, "expected a rule name: a rule ends with its line, so put '|' at the end of the line before, or wrap the alternatives in ( )"), false;
    if (!n) return fail_at(b, at, GRAM_ESYNTAX, "expected a rule name"), false;
    space(b, false);
    if (b->end - b->p < 3 || memcmp(b->p, "::=", 3) != 0) return fail_at(b, off(b), GRAM_ESYNTAX, "expected '::=' after the rule name"), false;
    b->p += 3;
    int32_t r = find_rule(b, s, n);
    if (r >= 0 && b->rules[r].defined) return fail_at(b, at, GRAM_ESYNTAX, "rule '%.*s' defined twice", (int)n, s), false;
    if (r < 0 && (r = add_rule(b, s, n, at)) < 0) return false;
    b->rules[r].defined = true;
    b->rules[r].def_at = at;
    space(b, true);
    if (!parse_alternates(b, r, false)) return false;
    space(b, false);
    if (b->p < b->end && *b->p == ')') return fail_at(b, off(b), GRAM_ESYNTAX, "unexpected ')'"), false;
    if (b->p < b->end && *b->p != '\n' && !is_word(*b->p)) return fail_at(b, off(b), GRAM_ESYNTAX, "expected the end of the line"), false;
    return true;
}

/* ---- checks ------------------------------------------------------------------ */

static int el_type(int32_t e) { return e & 3; }
static int32_t el_arg(int32_t e) { return (int32_t)((uint32_t)e >> 2); }

/* Left recursion: DFS over "rule A may begin with rule B" edges, from rule
 * r. Iterative, with the path of rules in `path` and each one's place (the
 * alternative and element to look at next) in `at`: a recursive walk took a
 * stack frame per rule on the path, and 20000 nested groups (one rule each)
 * overflowed the stack. A rule is on the path at most once (mark 1), so
 * n_rules entries are enough. */
static bool left_rec(builder *b, const bool *nullable, int32_t r, uint8_t *mark, int32_t *path, int32_t (*at)[2]) {
    if (mark[r] == 2) return false;
    int32_t depth = 0;
    mark[r] = 1;
    path[0] = r;
    at[0][0] = at[0][1] = 0;
    while (depth >= 0) {
        const brule *ru = &b->rules[path[depth]];
        int32_t *a = &at[depth][0], *i = &at[depth][1], next = -1;
        while (next < 0 && *a < ru->n_alts) {
            const ivec *alt = &ru->alts[*a];
            int32_t e = *i < alt->n ? alt->v[*i] : 0;
            if (*i >= alt->n || el_type(e) != GEL_REF) { ++*a; *i = 0; continue; }
            int32_t c = el_arg(e);
            if (nullable[c]) ++*i;                  /* the rest of the alternative may begin too */
            else { ++*a; *i = 0; }
            if (mark[c] == 2) continue;
            if (mark[c] == 1) {                     /* back on the path: a cycle before any character */
                char msg[400];
                size_t k = 0;
                int32_t start = 0;
                while (path[start] != c) start++;
                for (int32_t j = start; j <= depth && k + 90 < sizeof msg; j++)
                    k += (size_t)snprintf(msg + k, sizeof msg - k, "%s -> ", b->rules[path[j]].name);
                snprintf(msg + k, sizeof msg - k, "%s", b->rules[c].name);
                fail_at(b, b->rules[path[start]].def_at, GRAM_ESYNTAX,
                        "left recursion (%s): a rule may not reach itself before a character", msg);
                return true;
            }
            next = c;
        }
        if (next < 0) { mark[path[depth--]] = 2; continue; }
        mark[next] = 1;
        path[++depth] = next;
        at[depth][0] = at[depth][1] = 0;
    }
    return false;
}

static bool check(builder *b) {
    for (int32_t r = 0; r < b->n_rules; r++)
        if (!b->rules[r].defined) return fail_at(b, b->rules[r].def_at, GRAM_ESYNTAX, "rule '%s' is used but never defined", b->rules[r].name), false;
    if (find_rule(b, "root", 4) < 0) return fail_at(b, 0, GRAM_ESYNTAX, "no 'root' rule (the grammar starts at root)"), false;
    bool *nullable = calloc((size_t)b->n_rules, sizeof *nullable);
    uint8_t *mark = calloc((size_t)b->n_rules, 1);
    int32_t *path = malloc(sizeof *path * (size_t)(b->n_rules + 1));
    int32_t (*at)[2] = malloc(sizeof *at * (size_t)(b->n_rules + 1));
    bool ok = nullable && mark && path && at;
    if (!ok) oom(b);
    for (bool changed = ok; changed;) {
        changed = false;
        for (int32_t r = 0; r < b->n_rules; r++) {
            if (nullable[r]) continue;
            for (int32_t a = 0; a < b->rules[r].n_alts && !nullable[r]; a++) {
                bool all = true;
                for (int32_t i = 0; i < b->rules[r].alts[a].n && all; i++) {
                    int32_t e = b->rules[r].alts[a].v[i];
                    all = el_type(e) == GEL_REF && nullable[el_arg(e)];
                }
                if (all) nullable[r] = changed = true;
            }
        }
    }
    for (int32_t r = 0; ok && r < b->n_rules; r++) if (left_rec(b, nullable, r, mark, path, at)) ok = false;
    free(nullable);
    free(mark);
    free(path);
    free(at);
    return ok;
}

/* ---- flattening -------------------------------------------------------------- */

static gram *flatten(builder *b) {
    gram *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->refs = 1;
    int32_t n_alt = 0, n_el = 0;
    for (int32_t r = 0; r < b->n_rules; r++) {
        n_alt += b->rules[r].n_alts;
        for (int32_t a = 0; a < b->rules[r].n_alts; a++) n_el += b->rules[r].alts[a].n + 1;
    }
    g->el = malloc(sizeof *g->el * (size_t)(n_el ? n_el : 1));
    g->alt = malloc(sizeof *g->alt * (size_t)(n_alt + 1));
    g->rule_alt = malloc(sizeof *g->rule_alt * (size_t)(b->n_rules + 1));
    g->names = calloc((size_t)b->n_rules, sizeof *g->names);
    g->sets = malloc(sizeof *g->sets * (size_t)(b->n_sets ? b->n_sets : 1));
    g->n_rule = b->n_rules;
    if (!g->el || !g->alt || !g->rule_alt || !g->names || !g->sets) { gram_unref(g); return NULL; }
    if (b->n_sets) memcpy(g->sets, b->sets, sizeof *g->sets * (size_t)b->n_sets);
    g->n_set = b->n_sets;
    g->root = find_rule(b, "root", 4);
    int32_t ai = 0, ei = 0;
    for (int32_t r = 0; r < b->n_rules; r++) {
        g->rule_alt[r] = ai;
        g->names[r] = b->rules[r].name;
        b->rules[r].name = NULL;
        for (int32_t a = 0; a < b->rules[r].n_alts; a++) {
            g->alt[ai++] = ei;
            for (int32_t i = 0; i < b->rules[r].alts[a].n; i++) {
                int32_t e = b->rules[r].alts[a].v[i];
                g->el[ei++] = (gram_el){ el_type(e), el_arg(e) };
            }
            g->el[ei++] = (gram_el){ GEL_END, 0 };
        }
    }
    g->rule_alt[b->n_rules] = ai;
    g->alt[ai] = ei;
    g->n_alt = n_alt;
    g->n_el = n_el;
    return g;
}

static void builder_fini(builder *b) {
    for (int32_t r = 0; r < b->n_rules; r++) {
        free(b->rules[r].name);
        for (int32_t a = 0; a < b->rules[r].n_alts; a++) free(b->rules[r].alts[a].v);
        free(b->rules[r].alts);
    }
    free(b->rules);
    free(b->sets);
    strmap_fini(&b->names);
}

int gram_parse(gram **out, const char *text, size_t len, char *err, size_t errlen) {
    *out = NULL;
    if (errlen) err[0] = 0;
    builder b = { .src = text, .p = text, .end = text + len, .err = err, .errlen = errlen };
    strmap_init(&b.names);
    space(&b, true);
    while (b.p < b.end && !b.rc) {
        if (!parse_rule(&b)) break;
        space(&b, true);
    }
    if (!b.rc && b.n_rules == 0) fail_at(&b, 0, GRAM_ESYNTAX, "empty grammar (expected a rule such as root ::= \"yes\" | \"no\")");
    if (!b.rc) check(&b);
    if (!b.rc && !(*out = flatten(&b))) fail_at(&b, 0, GRAM_ENOMEM, "out of memory");
    builder_fini(&b);
    return b.rc;
}

gram *gram_ref(gram *g) {
    if (g) g->refs++;
    return g;
}

void gram_unref(gram *g) {
    if (!g || --g->refs > 0) return;
    if (g->names) for (int32_t r = 0; r < g->n_rule; r++) free(g->names[r]);
    free(g->names);
    free(g->el);
    free(g->alt);
    free(g->rule_alt);
    free(g->sets);
    free(g);
}
