/* gram_schema_obj: JSON Schema objects to GBNF, for gram_schema.c.
 *
 * properties (in the order written, or in any order with
 * gram_schema_opts.any_order for up to GRAM_ANY_ORDER_MAX of them), required,
 * and additionalProperties: false or absent (no other members; absent is
 * stricter than the spec's default "anything", as constrained decoders
 * usually read it: ask for extras with true or a schema), true or a schema
 * (other members anywhere between the declared ones, named differently from
 * every declared name, with values of that schema). An object without
 * properties may constrain its names with propertyNames (gram_sc_key).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gram.h"
#include "gram_schema_impl.h"
#include "json.h"

static bool in_required(const json *req, const char *k, size_t kl) {
    for (const json *c = req ? req->child : NULL; c; c = c->next)
        if (c->type == JSON_STR && c->len == kl && memcmp(c->str, k, kl) == 0) return true;
    return false;
}

/* ---- names other than the declared ones -------------------------------------
 * JSON Schema compares member names after decoding ("\u0061" is "a"), so an
 * extra member's name must differ from every declared name as a decoded
 * string. The grammar walks a trie of the declared names by decoded
 * character: at a node it takes the closing quote (unless a name ends
 * there), or a written character that decodes to none of the node's
 * children (anything may follow: the name is already different), or a
 * written form of a child (raw, a short escape, \uXXXX in either case) and
 * goes down. Not produced at a trie node: \u escapes of surrogates (a
 * character above U+FFFF is written raw there); past the trie any jchar. */

typedef struct tnode { uint32_t cp; int32_t child, sib; bool end; } tnode;
typedef struct trie { tnode *n; int32_t len, cap; } trie;

static int32_t trie_add(trie *t, uint32_t cp) {
    if (t->len == t->cap) {
        int32_t c = t->cap ? 2 * t->cap : 64;
        tnode *n = realloc(t->n, sizeof *n * (size_t)c);
        if (!n) return -1;
        t->n = n;
        t->cap = c;
    }
    t->n[t->len] = (tnode){ .cp = cp, .child = -1, .sib = -1 };
    return t->len++;
}

/* One code point from s[*i..n) (UTF-8 as the JSON parser decoded it; a bad
 * byte reads as U+FFFD, as json_escape writes it). */
static uint32_t utf8_next(const char *s, size_t n, size_t *i) {
    const unsigned char *u = (const unsigned char *)s;
    unsigned char b = u[*i];
    int k = b < 0x80 ? 0 : (b & 0xE0) == 0xC0 ? 1 : (b & 0xF0) == 0xE0 ? 2 : (b & 0xF8) == 0xF0 ? 3 : -1;
    if (k < 0 || *i + (size_t)k >= n + (k ? 0 : 1)) { (*i)++; return 0xFFFD; }
    uint32_t cp = k ? b & (0x3F >> k) : b;
    for (int j = 1; j <= k; j++) {
        if ((u[*i + (size_t)j] & 0xC0) != 0x80) { (*i)++; return 0xFFFD; }
        cp = cp << 6 | (u[*i + (size_t)j] & 0x3F);
    }
    *i += (size_t)k + 1;
    return cp;
}

static bool trie_insert(trie *t, const char *s, size_t n) {
    int32_t at = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp = utf8_next(s, n, &i);
        int32_t c = t->n[at].child;
        while (c >= 0 && t->n[c].cp != cp) c = t->n[c].sib;
        if (c < 0) {
            if ((c = trie_add(t, cp)) < 0) return false;
            t->n[c].sib = t->n[at].child;
            t->n[at].child = c;
        }
        at = c;
    }
    t->n[at].end = true;
    return true;
}

static const char HEXL[] = "0123456789abcdef";

static void hex_class(gram_buf *b, const bool d[16]) {
    gram_buf_puts(b, "[");
    for (int i = 0; i < 16; i++)
        if (d[i]) {
            gram_buf_printf(b, "%c", HEXL[i]);
            if (i >= 10) gram_buf_printf(b, "%c", HEXL[i] - 'a' + 'A');
        }
    gram_buf_puts(b, "]");
}

/* Hex digits (w of them, either case) of the code units in [base, base +
 * 16^w) other than ex[] and the surrogates; false when there are none. */
static bool hex_except(gram_buf *b, uint32_t base, int w, const uint32_t *ex, int n_ex) {
    uint32_t span = 1u << 4 * (w - 1);
    bool full[16] = { 0 }, any_full = false, part[16] = { 0 };
    for (int d = 0; d < 16; d++) {
        uint32_t lo = base + (uint32_t)d * span, hi = lo + span - 1;
        bool sur_all = lo >= 0xD800 && hi <= 0xDFFF, sur_some = !(hi < 0xD800 || lo > 0xDFFF);
        int hits = 0;
        for (int j = 0; j < n_ex; j++) hits += ex[j] >= lo && ex[j] <= hi;
        if (sur_all || (w == 1 && hits)) continue;
        if (!hits && !sur_some) { full[d] = any_full = true; continue; }
        part[d] = true;
    }
    int alts = 0;
    gram_buf t = { 0 };
    if (any_full) {
        hex_class(&t, full);
        if (w > 1) gram_buf_printf(&t, " [0-9a-fA-F]{%d}", w - 1);
        alts++;
    }
    for (int d = 0; d < 16; d++) {
        if (!part[d]) continue;
        gram_buf sub = { 0 };
        if (hex_except(&sub, base + (uint32_t)d * span, w - 1, ex, n_ex)) {
            bool one[16] = { 0 };
            one[d] = true;
            if (alts++) gram_buf_puts(&t, " | ");
            hex_class(&t, one);
            gram_buf_printf(&t, " (%s)", sub.s);
        }
        if (sub.oom) t.oom = true;
        free(sub.s);
    }
    if (alts) gram_buf_add(b, t.s, t.n);
    if (t.oom) b->oom = true;
    free(t.s);
    return alts > 0;
}

/* JSON's short escapes: the letter after the backslash and what it means. */
static const char SHORT_LETTER[] = "\"\\/bfnrt";
static const uint32_t SHORT_CP[] = { '"', '\\', '/', 8, 12, 10, 13, 9 };

/* The written forms of the character cp inside a JSON string. */
static void char_forms(gram_buf *b, uint32_t cp) {
    gram_buf_puts(b, "(");
    int alts = 0;
    if (cp >= 0x20 && cp != '"' && cp != '\\') { gram_buf_printf(b, "[\\U%08X]", (unsigned)cp); alts++; }
    for (int j = 0; j < 8; j++)
        if (SHORT_CP[j] == cp) { gram_buf_printf(b, "%s\"\\\\%s%c\"", alts++ ? " | " : "", SHORT_LETTER[j] == '"' || SHORT_LETTER[j] == '\\' ? "\\" : "", SHORT_LETTER[j]); }
    if (cp < 0xD800 || (cp > 0xDFFF && cp <= 0xFFFF)) {
        gram_buf_printf(b, "%s\"\\\\u\"", alts++ ? " | " : "");
        for (int k = 3; k >= 0; k--) {
            bool one[16] = { 0 };
            one[cp >> 4 * k & 15] = true;
            gram_buf_puts(b, " ");
            hex_class(b, one);
        }
    }
    gram_buf_puts(b, ")");
}

/* One written character that decodes to none of cps[n]. */
static void char_except(gram_buf *b, const uint32_t *cps, int n) {
    gram_buf_puts(b, "([^\"\\\\\\x00-\\x1F");
    for (int i = 0; i < n; i++)
        if (cps[i] >= 0x20 && cps[i] != '"' && cps[i] != '\\' && (cps[i] < 0xD800 || cps[i] > 0xDFFF))
            gram_buf_printf(b, "\\U%08X", (unsigned)cps[i]);
    gram_buf_puts(b, "]");
    char letters[9];
    int nl = 0;
    for (int j = 0; j < 8; j++) {
        bool hit = false;
        for (int i = 0; i < n; i++) hit |= cps[i] == SHORT_CP[j];
        if (!hit) letters[nl++] = SHORT_LETTER[j];
    }
    if (nl) {
        gram_buf_puts(b, " | \"\\\\\" [");
        for (int j = 0; j < nl; j++) gram_buf_printf(b, "%s%c", letters[j] == '"' || letters[j] == '\\' ? "\\" : "", letters[j]);
        gram_buf_puts(b, "]");
    }
    gram_buf t = { 0 };
    if (hex_except(&t, 0, 4, cps, n)) gram_buf_printf(b, " | \"\\\\u\" (%s)", t.s);
    if (t.oom) b->oom = true;
    free(t.s);
    gram_buf_puts(b, ")");
}

/* Rules for a JSON string (quotes included) that is none of the declared
 * names; its rule name into name[24]. */
static bool other_name(sc *s, const json *props, char name[24]) {
    trie t = { 0 };
    bool ok = trie_add(&t, 0) == 0;
    for (const json *p = props->child; p && ok; p = p->next) ok = trie_insert(&t, p->key, p->klen);
    uint32_t *cps = ok ? malloc(sizeof *cps * (size_t)t.len) : NULL;
    if (!cps) { free(t.n); s->rules.oom = true; return false; }
    int32_t base = s->next;
    s->next += t.len + 1;
    gram_buf *r = &s->rules;
    for (int32_t i = 0; i < t.len; i++) {
        int n = 0;
        for (int32_t c = t.n[i].child; c >= 0; c = t.n[c].sib) cps[n++] = t.n[c].cp;
        gram_buf_printf(r, "s%d ::= ", (int)(base + i));
        if (!t.n[i].end) gram_buf_puts(r, "\"\\\"\" | ");
        if (n) char_except(r, cps, n);
        else gram_buf_puts(r, "jchar");
        gram_buf_puts(r, " jchar* \"\\\"\"");
        for (int32_t c = t.n[i].child; c >= 0; c = t.n[c].sib) {
            gram_buf_puts(r, " | ");
            char_forms(r, t.n[c].cp);
            gram_buf_printf(r, " s%d", (int)(base + c));
        }
        gram_buf_puts(r, "\n");
    }
    snprintf(name, 24, "s%d", (int)(base + t.len));
    gram_buf_printf(r, "%s ::= \"\\\"\" s%d\n", name, (int)base);
    free(cps);
    free(t.n);
    return true;
}

/* The rule of one extra member (name, colon, value of additionalProperties)
 * into name[24]; false on an error. */
static bool extra_member(sc *s, const json *props, const json *ap, const char *path, char name[24]) {
    char key[24], p2[512];
    gram_sc_child_path(p2, sizeof p2, path, "additionalProperties");
    gram_buf val = { 0 };
    if (ap->type == JSON_BOOL) gram_buf_puts(&val, "jvalue");
    else if (!gram_sc_compile(s, ap, p2, &val)) { free(val.s); return false; }
    if (!other_name(s, props, key)) { free(val.s); return false; }
    snprintf(name, 24, "s%d", (int)s->next++);
    gram_buf_printf(&s->rules, "%s ::= %s ws \":\" ws %s ws\n", name, key, val.s ? val.s : "jvalue");
    if (val.oom) s->rules.oom = true;
    free(val.s);
    return true;
}

bool gram_sc_object(sc *s, const json *v, const char *path, gram_buf *out) {
    const json *props = json_get(v, "properties"), *req = json_get(v, "required");
    const json *ap = json_get(v, "additionalProperties"), *pn = json_get(v, "propertyNames");
    if (props && props->type != JSON_OBJ) return gram_sc_fail(s, path, "properties must be an object"), false;
    if (req && req->type != JSON_ARR) return gram_sc_fail(s, path, "required must be an array"), false;
    if (ap && ap->type != JSON_BOOL && ap->type != JSON_OBJ) {
        char p2[512];
        gram_sc_child_path(p2, sizeof p2, path, "additionalProperties");
        return gram_sc_fail(s, p2, "additionalProperties must be a schema (an object) or a boolean"), false;
    }
    for (const json *c = req ? req->child : NULL; c; c = c->next) {
        bool found = false;
        for (const json *p = props ? props->child : NULL; p && c->type == JSON_STR; p = p->next)
            found |= p->klen == c->len && memcmp(p->key, c->str, c->len) == 0;
        if (!found) return gram_sc_fail(s, path, "required names '%s', which properties does not define", c->type == JSON_STR ? c->str : "?"), false;
    }
    bool extras = ap && !(ap->type == JSON_BOOL && !ap->b);
    if (!props || props->n == 0) {
        if (pn && !s->o.ignore_unenforceable) {
            char p2[512];
            gram_sc_child_path(p2, sizeof p2, path, "propertyNames");
            gram_buf key = { 0 };
            if (!gram_sc_key(s, pn, p2, &key)) { free(key.s); return false; }
            if (!key.s) { gram_buf_puts(out, "\"{\" ws \"}\""); return true; }  /* no name allowed */
            if (ap && ap->type == JSON_BOOL && !ap->b) { free(key.s); gram_buf_puts(out, "\"{\" ws \"}\""); return true; }
            char name[24];
            gram_buf val = { 0 };
            gram_sc_child_path(p2, sizeof p2, path, "additionalProperties");
            if (ap && ap->type == JSON_OBJ && !gram_sc_compile(s, ap, p2, &val)) { free(key.s); free(val.s); return false; }
            snprintf(name, sizeof name, "s%d", (int)s->next++);
            gram_buf_printf(&s->rules, "%s ::= %s ws \":\" ws %s ws\n", name, key.s, val.s ? val.s : "jvalue");
            free(key.s);
            free(val.s);
            gram_buf_printf(out, "\"{\" ws (%s (\",\" ws %s)*)? \"}\"", name, name);
            return true;
        }
        if (ap && ap->type == JSON_BOOL && !ap->b) { gram_buf_puts(out, "\"{\" ws \"}\""); return true; }
        if (!ap || ap->type == JSON_BOOL) { gram_buf_puts(out, "jobject"); return true; }
        char p2[512], name[24];
        gram_sc_child_path(p2, sizeof p2, path, "additionalProperties");
        gram_buf val = { 0 };
        if (!gram_sc_compile(s, ap, p2, &val)) { free(val.s); return false; }
        snprintf(name, sizeof name, "s%d", (int)s->next++);
        gram_buf_printf(&s->rules, "%s ::= jstring ws \":\" ws %s ws\n", name, val.s ? val.s : "jvalue");
        free(val.s);
        gram_buf_printf(out, "\"{\" ws (%s (\",\" ws %s)*)? \"}\"", name, name);
        return true;
    }
    if (pn && !s->o.ignore_unenforceable) {
        char p2[512];
        gram_sc_child_path(p2, sizeof p2, path, "propertyNames");
        return gram_sc_fail(s, p2, "propertyNames is supported only for objects without properties (checking the "
                            "declared names against it is not done); remove it, or compile ignoring it"), false;
    }
    int32_t k = (int32_t)props->n;
    int32_t base = s->next;
    s->next += 3 * k + 1;                   /* kv_i, first_i, cont_i names */
    int32_t i = 0;
    for (const json *p = props->child; p; p = p->next, i++) {
        char p2[512];
        snprintf(p2, sizeof p2, "%s/properties/%.*s", path, (int)(p->klen > 200 ? 200 : p->klen), p->key);
        gram_buf val = { 0 };
        if (!gram_sc_compile(s, p, p2, &val)) { free(val.s); return false; }
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
    char ex[24] = "";
    if (extras && !extra_member(s, props, ap, path, ex)) return false;
    if (s->o.any_order && k >= 2 && k <= GRAM_ANY_ORDER_MAX) {
        /* any order: a rule per set of members not written yet, before the first
         * member (first) and after one (cont); "" once every required one is in;
         * an extra member keeps the set */
        int32_t sub = s->next;
        s->next += 2 * (1 << k);
        unsigned reqmask = 0;
        i = 0;
        for (const json *p = props->child; p; p = p->next, i++)
            if (in_required(req, p->key, p->klen)) reqmask |= 1u << i;
        for (unsigned set = 0; set < (1u << k); set++)
            for (int cont = 0; cont < 2; cont++) {
                gram_buf_printf(&s->rules, "s%d ::= ", (int)(sub + 2 * (int)set + cont));
                bool first = true;
                if (!(set & reqmask)) { gram_buf_puts(&s->rules, "\"\""); first = false; }
                for (int32_t j = 0; j < k; j++) {
                    if (!(set >> j & 1)) continue;
                    gram_buf_printf(&s->rules, "%s%ss%d s%d", first ? "" : " | ", cont ? "\",\" ws " : "",
                                    (int)(base + 3 * j), (int)(sub + 2 * (int)(set & ~(1u << j)) + 1));
                    first = false;
                }
                if (*ex) gram_buf_printf(&s->rules, " | %s%s s%d", cont ? "\",\" ws " : "", ex, (int)(sub + 2 * (int)set + 1));
                gram_buf_puts(&s->rules, "\n");
            }
        gram_buf_printf(out, "\"{\" ws s%d \"}\"", (int)(sub + 2 * ((1 << k) - 1)));
        return true;
    }
    if (*ex) {
        /* declared order with extra members between: from position i (the next
         * declared member written is at >= i) an extra member stays at i, a
         * declared one j >= i (every one before it optional) moves to j + 1.
         * first_i / cont_i: before any member / after one; the *d forms skip
         * optional members without taking an extra one (one parse per text). */
        int32_t fb = s->next;
        s->next += 4 * (k + 1);
        i = 0;
        const json *p = props->child;
        for (i = 0; i <= k; i++, p = p ? p->next : NULL) {
            int32_t f = fb + 4 * i, fd = f + 1, c = f + 2, cd = f + 3, cn = fb + 4 * (i + 1) + 2;
            gram_buf_printf(&s->rules, "s%d ::= %s s%d | s%d\n", (int)f, ex, (int)c, (int)fd);
            gram_buf_printf(&s->rules, "s%d ::= \",\" ws %s s%d | s%d\n", (int)c, ex, (int)c, (int)cd);
            if (i == k) {
                gram_buf_printf(&s->rules, "s%d ::= \"\"\ns%d ::= \"\"\n", (int)fd, (int)cd);
                continue;
            }
            bool opt = !in_required(req, p->key, p->klen);
            gram_buf_printf(&s->rules, "s%d ::= s%d s%d", (int)fd, (int)(base + 3 * i), (int)cn);
            if (opt) gram_buf_printf(&s->rules, " | s%d", (int)(fd + 4));
            gram_buf_printf(&s->rules, "\ns%d ::= \",\" ws s%d s%d", (int)cd, (int)(base + 3 * i), (int)cn);
            if (opt) gram_buf_printf(&s->rules, " | s%d", (int)(cd + 4));
            gram_buf_puts(&s->rules, "\n");
        }
        gram_buf_printf(out, "\"{\" ws s%d \"}\"", (int)fb);
        return true;
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
