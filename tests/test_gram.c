/* test_gram: GBNF parsing and errors, the token mask against brute force
 * over small vocabularies, random constrained walks over the 32000-token
 * Llama vocabulary checked by an independent recognizer (gbnf_ref.h) and an
 * independent JSON Schema validator (schema_ref.h), regex and choices,
 * clone/rewind, and the sampler stage. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gbnf_ref.h"
#include "gguf.h"
#include "gmatch.h"
#include "gram.h"
#include "json.h"
#include "gmatch_walk.h"
#include "schema_ref.h"
#include "smp.h"
#include "tok.h"
#include "vecdot.h"
#include "smp_mass.h"

static uint64_t rng = 88172645463325252ULL;
static uint32_t rnd(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return (uint32_t)(rng >> 11); }

/* ---- parse errors -------------------------------------------------------- */

static bool accepts_text(gram *g, const char *s);

static void test_errors(void) {
    static const struct { const char *g, *want; } cases[] = {
        { "root ::= \"a\" |\n  \"b\" foo\n", "line 2 col 7: rule 'foo' is used but never defined" },
        { "root ::= [a-\n", "line 1 col 10: unterminated character class" },
        { "root ::= \"abc\n", "line 1 col 10: unterminated literal" },
        { "root ::= ( \"a\" \n", "expected ')'" },
        { "x ::= \"a\"\n", "no 'root' rule" },
        { "root ::= \"\\q\"\n", "line 1 col 11: unknown escape '\\q'" },
        { "root ::= a\na ::= a \"x\" | \"y\"\n", "left recursion (a -> a)" },
        { "root ::= \"a\"{3,1}\n", "line 1 col 13: repetition maximum below its minimum" },
        { "root ::= * \"a\"\n", "line 1 col 10: expected an item before '*'" },
        { "root ::= \"a\"\nroot ::= \"b\"\n", "line 2 col 1: rule 'root' defined twice" },
        { "root = \"a\"\n", "line 1 col 6: expected '::=' after the rule name" },
        { "", "empty grammar" },
        { "root ::= (\"a\"?)*\n", "left recursion" },
        { "root ::= \"a\" @\n", "line 1 col 14: expected a literal, a class" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        gram *g;
        char err[300];
        int rc = gram_parse(&g, cases[i].g, strlen(cases[i].g), err, sizeof err);
        CHECK(rc != 0 && !g && strstr(err, cases[i].want), "error case %zu: rc %d err '%s' (want '%s')", i, rc, err, cases[i].want);
    }
    gram *g;
    char err[300];
    CHECK(gram_parse(&g, "root ::= [\\u00e9-\\u00ff]+ \".\" # comment\n\n# x\n", 44, err, sizeof err) == 0, "class with escapes: %s", err);
    gram_unref(g);
    const char *s1 = "{\"type\": \"strin\"}";
    CHECK(gram_from_schema(&g, s1, strlen(s1), err, sizeof err) != 0 && strstr(err, "/type: unknown type 'strin'"), "schema type error: %s", err);
    const char *s2 = "{\"type\": \"object\",\n \"properties\": {\"a\": {\"type\": 3}}";
    CHECK(gram_from_schema(&g, s2, strlen(s2), err, sizeof err) != 0 && strstr(err, "line 2"), "schema parse error has a line: %s", err);
    const char *s3 = "{\"properties\": {\"a\": {\"type\": \"string\", \"pattern\": \"(ab\"}}}";
    CHECK(gram_from_schema(&g, s3, strlen(s3), err, sizeof err) != 0 && strstr(err, "/properties/a/pattern"), "pattern error path: %s", err);
    /* a $ref cycle with nothing in between is the schema's mistake (it said "a bug") */
    const char *s4 = "{\"$defs\": {\"a\": {\"$ref\": \"#/$defs/b\"}, \"b\": {\"$ref\": \"#/$defs/a\"}}, \"$ref\": \"#/$defs/a\"}";
    CHECK(gram_from_schema(&g, s4, strlen(s4), err, sizeof err) != 0 && strstr(err, "$refs reach themselves") &&
          strstr(err, "ref0 -> ref1 -> ref0") && !strstr(err, "a bug"), "$ref cycle: %s", err);
    CHECK(gram_from_regex(&g, "a(?=b)", 6, err, sizeof err) != 0 && strstr(err, "offset"), "regex error: %s", err);
    /* two quantifiers in a row: the regex's error at its offset (it was the
     * generated GBNF's "line 1 col 20: expected an item before '*'") */
    CHECK(gram_from_regex(&g, "a**", 3, err, sizeof err) != 0 && strstr(err, "regex offset 2: a second quantifier '*'"),
          "a**: %s", err);
    CHECK(gram_from_regex(&g, "a{2}{3}", 7, err, sizeof err) != 0 && strstr(err, "regex offset 4: a second quantifier '{'"),
          "a{2}{3}: %s", err);
    CHECK(gram_from_regex(&g, "(a{2}){3}", 9, err, sizeof err) == 0, "(a{2}){3}: %s", err);
    gram_unref(g);
    CHECK(gram_from_regex(&g, "a+?", 3, err, sizeof err) == 0, "a lazy ? is not a second quantifier: %s", err);
    gram_unref(g);
    const char *badc[] = { "ok", "x\xff\xfe" };
    CHECK(gram_from_choices(&g, badc, 2, err, sizeof err) == GRAM_ESYNTAX && !g &&
          strstr(err, "choice 2 is not valid UTF-8 (at byte 1)"), "choice with bad UTF-8: %s", err);
    /* oneOf whose branches can both match is refused, naming the path and the branches */
    const char *o1 = "{\"properties\":{\"a\":{\"oneOf\":[{\"type\":\"integer\"},{\"type\":\"number\",\"minimum\":5}]}}}";
    CHECK(gram_from_schema(&g, o1, strlen(o1), err, sizeof err) != 0 && strstr(err, "/properties/a/oneOf: branches 0 and 1 may both match"),
          "overlapping oneOf refused: %s", err);
    const char *o2 = "{\"oneOf\":[{\"enum\":[\"a\",1]},{\"type\":\"string\",\"maxLength\":3}]}";
    CHECK(gram_from_schema(&g, o2, strlen(o2), err, sizeof err) != 0 && strstr(err, "branches 0 and 1"), "a value in both branches: %s", err);
    const char *o3 = "{\"oneOf\":[{\"type\":\"integer\",\"maximum\":4},{\"type\":\"number\",\"minimum\":5},{\"enum\":[\"a\",4.5]},{\"type\":\"object\"}]}";
    CHECK(gram_from_schema(&g, o3, strlen(o3), err, sizeof err) == 0, "disjoint oneOf compiles: %s", err);
    gram_unref(g);
    const char *o4 = "{\"type\":\"number\",\"exclusiveMinimum\":0.1,\"exclusiveMaximum\":0.1}";
    CHECK(gram_from_schema(&g, o4, strlen(o4), err, sizeof err) != 0 && strstr(err, "no number lies in the range"), "an empty range is refused: %s", err);
    const char *o5 = "{\"type\":\"number\",\"minimum\":1e-20}";
    CHECK(gram_from_schema(&g, o5, strlen(o5), err, sizeof err) != 0 && strstr(err, "more than 16 fraction digits"), "a bound too fine: %s", err);
    /* keywords a grammar cannot check are refused (pointer and keyword), or skipped on request */
    static const struct { const char *schema, *want; } un[] = {
        { "{\"type\":\"array\",\"uniqueItems\":true}", "schema at /uniqueItems: 'uniqueItems' cannot be enforced" },
        { "{\"properties\":{\"a\":{\"not\":{\"type\":\"null\"}}}}", "schema at /properties/a/not: 'not' cannot" },
        { "{\"items\":{\"if\":{\"type\":\"string\"},\"then\":{\"maxLength\":2}}}", "schema at /items/if: 'if'" },
        { "{\"type\":\"array\",\"items\":{\"patternProperties\":{\"^x\":{}}}}", "/items/patternProperties: 'patternProperties'" },
        { "{\"$defs\":{\"d\":{\"dependentRequired\":{\"a\":[\"b\"]}}},\"$ref\":\"#/$defs/d\"}", "/dependentRequired: 'dependentRequired'" },
        { "{\"anyOf\":[{\"type\":\"object\",\"minProperties\":1}]}", "schema at /anyOf/0/minProperties" },
    };
    for (size_t i = 0; i < sizeof un / sizeof *un; i++) {
        CHECK(gram_from_schema(&g, un[i].schema, strlen(un[i].schema), err, sizeof err) != 0 && strstr(err, un[i].want)
              && strstr(err, "--schema-ignore-unenforceable"), "unenforceable %zu refused: %s", i, err);
        gram_schema_opts lax = { .ignore_unenforceable = true };
        CHECK(gram_from_schema_opts(&g, un[i].schema, strlen(un[i].schema), &lax, err, sizeof err) == 0, "ignored on request %zu: %s", i, err);
        gram_unref(g);
    }
    static const struct { const char *schema, *want; } mo[] = {
        { "{\"type\":\"number\",\"multipleOf\":1234.5}", "/multipleOf: multipleOf 1234.5: the digit automaton keeps the remainder of the digits mod 12345" },
        { "{\"type\":\"number\",\"multipleOf\":1e-20}", "/multipleOf: multipleOf 1e-20: a divisor needs at most 15 whole and 16 fraction digits" },
        { "{\"type\":\"number\",\"multipleOf\":0.5,\"minimum\":1e-20}", "schema at /: a bound needs more than 16 fraction digits" },
        { "{\"type\":\"integer\",\"multipleOf\":10,\"minimum\":1,\"maximum\":9}", "no multiple of 10 lies between" },
        { "{\"multipleOf\":3}", "multipleOf needs \"type\"" },
        { "{\"type\":\"integer\",\"multipleOf\":-2}", "multipleOf must be a number above 0" },
    };
    for (size_t i = 0; i < sizeof mo / sizeof *mo; i++)
        CHECK(gram_from_schema(&g, mo[i].schema, strlen(mo[i].schema), err, sizeof err) != 0 && strstr(err, mo[i].want),
              "multipleOf refusal %zu: %s", i, err);
    /* options as words before the file (the workbench's :grammar json-schema +compact FILE) */
    char sp[512];
    snprintf(sp, sizeof sp, "%s/logitlab-gram-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    int sfd = mkstemp(sp);
    FILE *sf = sfd >= 0 ? fdopen(sfd, "w") : NULL;
    CHECK(sf != NULL, "a temporary schema file");
    if (sf) {
        char v1[600], v2[600];
        snprintf(v1, sizeof v1, "+ignore-unenforceable +compact %s", sp);
        snprintf(v2, sizeof v2, "+tight %s", sp);
        fputs("{\"type\":\"array\",\"items\":{\"type\":\"integer\"},\"uniqueItems\":true}", sf);
        fclose(sf);
        CHECK(gram_from_option(&g, "json-schema", sp, err, sizeof err) != 0 && strstr(err, "uniqueItems"),
              "option words: refused without: %s", err);
        CHECK(gram_from_option(&g, "json-schema", v1, err, sizeof err) == 0,
              "option words: %s", err);
        if (g) { CHECK(accepts_text(g, "[1,2]") && !accepts_text(g, "[1, 2]"), "option words: compact applies"); gram_unref(g); }
        CHECK(gram_from_option(&g, "json-schema", v2, err, sizeof err) != 0
              && strstr(err, "unknown schema option '+tight'"), "unknown option word: %s", err);
        remove(sp);
    }
    /* a property named like a keyword is a name, not the keyword */
    const char *pn = "{\"properties\":{\"not\":{\"type\":\"integer\"},\"if\":{}}}";
    CHECK(gram_from_schema(&g, pn, strlen(pn), err, sizeof err) == 0, "properties named not/if: %s", err);
    gram_unref(g);
}

/* ---- brute force over a small vocabulary ------------------------------- */

typedef struct vset { char **p; size_t *l; int n; } vset;

static void vadd(vset *v, const char *s, size_t n) {
    v->p = realloc(v->p, sizeof *v->p * (size_t)(v->n + 1));
    v->l = realloc(v->l, sizeof *v->l * (size_t)(v->n + 1));
    v->p[v->n] = malloc(n + 1);
    memcpy(v->p[v->n], s, n);
    v->l[v->n++] = n;
}

/* Every printable ASCII byte, newline, UTF-8 whole and in pieces, random
 * strings over the grammar's own characters; the last token is EOS. */
static void small_vocab(vset *v, const char *text) {
    for (int c = 32; c < 127; c++) { char b = (char)c; vadd(v, &b, 1); }
    vadd(v, "\n", 1);
    const char *extra[] = { "\xc3\xa9", "\xc3", "\xa9", "\xe6\x97\xa5", "\xe6\x97", "\xa5", "\xc3\xa9x", "x\xc3", "\xf0\x9f\x98\x80", "\xf0\x9f" };
    for (size_t i = 0; i < sizeof extra / sizeof *extra; i++) vadd(v, extra[i], strlen(extra[i]));
    char alpha[128] = "";
    int na = 0;
    for (const char *p = text; *p && na < 100; p++)
        if (*p > 32 && *p < 127 && !strchr(alpha, *p) && *p != '#') { alpha[na++] = *p; alpha[na] = 0; }
    if (!na) alpha[na++] = 'a';              /* a text without printable characters */
    for (int i = 0; i < 120; i++) {
        char s[8];
        int n = 2 + (int)(rnd() % 4);
        for (int k = 0; k < n; k++) s[k] = rnd() % 4 == 0 ? ' ' : alpha[rnd() % (uint32_t)na];
        vadd(v, s, (size_t)n);
    }
    vadd(v, "", 0);                          /* EOS */
}

static void vfree(vset *v) {
    for (int i = 0; i < v->n; i++) free(v->p[i]);
    free(v->p);
    free(v->l);
}

static void brute(const char *name, const char *text, int walks, int steps) {
    gram *g;
    char err[300];
    if (gram_parse(&g, text, strlen(text), err, sizeof err)) { CHECK(0, "%s: %s", name, err); return; }
    rgram rg;
    CHECK(ref_load(&rg, text), "%s: the reference recognizer reads it", name);
    vset v = { 0 };
    small_vocab(&v, text);
    int eos = v.n - 1;
    gmatch_vocab *gv = gmatch_vocab_create_pieces((const char *const *)v.p, v.l, v.n, eos, -1);
    gmatch_ctx *c = gmatch_ctx_create(g, gv);
    gram_unref(g);
    gmatch_vocab_unref(gv);
    int bad = 0, checks = 0;
    char buf[512];
    for (int w = 0; w < walks && !bad; w++) {
        gmatch *m = gmatch_create(c);
        size_t n = 0;
        for (int s = 0; s < steps && !bad; s++) {
            int allowed[512], na = 0;
            for (int t = 0; t < v.n; t++) {
                bool a = gmatch_allowed(m, t);
                bool want;
                if (t == eos) want = ref_accepts(&rg, buf, n);
                else {
                    memcpy(buf + n, v.p[t], v.l[t]);
                    want = ref_viable(&rg, buf, n + v.l[t]);
                }
                checks++;
                if (a != want && bad++ < 3)
                    CHECK(0, "%s walk %d: after '%.*s' token '%.*s' allowed %d, brute force %d", name, w, (int)n, buf, (int)v.l[t], v.p[t], a, want);
                if (a) allowed[na++] = t;
            }
            CHECK(na == gmatch_count(m), "%s: count %d vs %d", name, na, gmatch_count(m));
            if (!na) break;
            int t = allowed[rnd() % (uint32_t)na];
            if (t == eos) break;
            CHECK(gmatch_accept(m, t) == 0, "%s: accept allowed", name);
            memcpy(buf + n, v.p[t], v.l[t]);
            n += v.l[t];
            if (n > 400) break;
        }
        gmatch_destroy(m);
    }
    CHECK(bad == 0, "%s: %d of %d mask bits disagree with brute force", name, bad, checks);
    gmatch_ctx_destroy(c);
    ref_free(&rg);
    vfree(&v);
}

/* ---- random walks over the Llama vocabulary --------------------------- */

static void walks_gbnf(gmatch_vocab *v, const char *file, int n_walks) {
    char p[256];
    snprintf(p, sizeof p, "tests/data/grammars/%s", file);
    char *text = check_slurp(p, NULL);
    if (!text) { CHECK(0, "read %s", p); return; }
    gram *g;
    char err[300];
    int rc = gram_parse(&g, text, strlen(text), err, sizeof err);
    CHECK(rc == 0, "%s: %s", file, err);
    rgram rg;
    CHECK(ref_load(&rg, text), "%s: reference loads", file);
    if (rc) { free(text); return; }
    gmatch_ctx *c = gmatch_ctx_create(g, v);
    gram_unref(g);
    int ended = 0, bad = 0;
    char buf[4096];
    for (int w = 0; w < n_walks; w++) {
        bool e;
        size_t n = gmatch_walk(c, 120, buf, sizeof buf, &e, rnd, false);
        bool ok = e ? ref_accepts(&rg, buf, n) : ref_viable(&rg, buf, n);
        if (getenv("GRAM_SHOW") && w < 2) printf("%s%s: %s\n", file, e ? "" : " (cut)", buf);
        ended += e;
        if (!ok && bad++ < 3) CHECK(0, "%s: walk %d (%s) gave '%s', which the reference refuses", file, w, e ? "ended" : "cut", buf);
    }
    CHECK(bad == 0 && ended > 0, "%s: %d walks, %d ended at EOS, %d refused", file, n_walks, ended, bad);
    gmatch_ctx_destroy(c);
    ref_free(&rg);
    free(text);
}

/* Whether text has a blank outside its JSON strings. */
static bool blank_outside_strings(const char *t) {
    bool in = false;
    for (; *t; t++) {
        if (in && *t == '\\' && t[1]) { t++; continue; }
        if (*t == '"') in = !in;
        else if (!in && (*t == ' ' || *t == '\t' || *t == '\n' || *t == '\r')) return true;
    }
    return false;
}

static void walks_schema_opts(gmatch_vocab *v, const char *schema_text, const char *name, int n_walks,
                              const gram_schema_opts *o) {
    gram *g;
    char err[300];
    int rc = gram_from_schema_opts(&g, schema_text, strlen(schema_text), o, err, sizeof err);
    CHECK(rc == 0, "%s: %s", name, err);
    if (rc) return;
    json_doc *sd = json_parse(schema_text, strlen(schema_text), err, sizeof err);
    gmatch_ctx *c = gmatch_ctx_create(g, v);
    gram_unref(g);
    int ended = 0, bad = 0;
    char buf[8192];
    for (int w = 0; w < n_walks; w++) {
        bool e;
        size_t n = gmatch_walk(c, 400, buf, sizeof buf, &e, rnd, false);
        if (!e) continue;
        ended++;
        if (getenv("GRAM_SHOW") && w < 6) printf("%s: %s\n", name, buf);
        json_doc *d = json_parse(buf, n, err, sizeof err);
        const char *why = d ? sr_validate(json_root(d), json_root(sd)) : err;
        if (!why && o && o->compact && blank_outside_strings(buf)) why = "a blank outside strings (compact)";
        if (why && bad++ < 3) CHECK(0, "%s: walk %d gave '%s': %s", name, w, buf, why);
        json_free(d);
    }
    CHECK(bad == 0 && ended > n_walks / 4, "%s: %d walks, %d ended, %d invalid", name, n_walks, ended, bad);
    gmatch_ctx_destroy(c);
    json_free(sd);
}

static void walks_schema(gmatch_vocab *v, const char *schema_text, const char *name, int n_walks) {
    walks_schema_opts(v, schema_text, name, n_walks, NULL);
}

/* ---- regex, choices, clone/rewind, the stage ------------------------------- */

static bool accepts_text(gram *g, const char *s) {
    const char *pieces[1] = { "x" };
    size_t lens[1] = { 1 };
    gmatch_vocab *v = gmatch_vocab_create_pieces(pieces, lens, 1, -1, -1);
    gmatch_ctx *c = gmatch_ctx_create(g, v);
    gmatch *m = gmatch_create(c);
    bool ok = gmatch_accept_bytes(m, s, strlen(s)) == 0 && gmatch_complete(m);
    if (!*s) ok = gmatch_complete(m);
    gmatch_destroy(m);
    gmatch_ctx_destroy(c);
    gmatch_vocab_unref(v);
    return ok;
}

/* Number ranges with fractions: exact decimal comparison at the bounds. */
static void test_number_ranges(void) {
    static const struct { const char *schema, *yes, *no; } nr[] = {
        { "{\"type\":\"number\",\"minimum\":0.25}", "0.25 0.3 0.2500001 0.250 1 7.5", "0.2 0.24999 0 -1 0.2499999999999999" },
        { "{\"type\":\"number\",\"exclusiveMinimum\":0.25,\"maximum\":2.5}", "0.2500001 2.5 2.50 2.4999 2", "0.25 0.250 2.51 3 2.5000000000000001" },
        { "{\"type\":\"number\",\"minimum\":-0.5,\"maximum\":-0.25}", "-0.5 -0.25 -0.3 -0.26 -0.4999", "-0.2 -0.51 0 -0.5000001 -0.24" },
        { "{\"type\":\"number\",\"minimum\":-2.5,\"exclusiveMaximum\":0}", "-2.5 -0.0001 -1 -2.4999999", "-2.6 0 0.0 -0.0 -2.5001" },
        { "{\"type\":\"number\",\"exclusiveMinimum\":0,\"maximum\":1}", "0.001 1 1.0 0.5 0.0000000000000001", "0 0.0 0.000 1.01 1.0000001" },
        { "{\"type\":\"number\",\"minimum\":0.1,\"maximum\":0.1}", "0.1 0.10", "0.11 0.09 0.1000000000000001" },
        { "{\"type\":\"number\",\"minimum\":-12.375,\"maximum\":99.9}", "-12.375 -12.37 -12 -0.5 0 99.9 99.89 12.5", "-12.38 -12.3751 99.91 100 -13" },
        { "{\"type\":\"number\",\"minimum\":0}", "0 1.5 2e10 0.5E-3 7e+2 0e5", "-1 -2e3 -0.5 1e" },
        { "{\"type\":\"number\",\"maximum\":0}", "0 -1.5 -2e10 -0.5E-3 -0e1", "1 2e3 0.5 3e-2" },
        { "{\"type\":\"number\",\"exclusiveMinimum\":0}", "1.5 0.001", "0 0e5 -1 2e3" },
    };
    for (size_t i = 0; i < sizeof nr / sizeof *nr; i++) {
        gram *g;
        char err[300];
        if (gram_from_schema(&g, nr[i].schema, strlen(nr[i].schema), err, sizeof err)) { CHECK(0, "%s: %s", nr[i].schema, err); continue; }
        for (int k = 0; k < 2; k++) {
            char list[200], *save = NULL;
            snprintf(list, sizeof list, "%s", k ? nr[i].no : nr[i].yes);
            for (char *w = strtok_r(list, " ", &save); w; w = strtok_r(NULL, " ", &save))
                CHECK(accepts_text(g, w) == !k, "%s: %s %s", nr[i].schema, w, k ? "refused" : "accepted");
        }
        gram_unref(g);
    }
}

/* minLength/maxLength count code points: an escaped surrogate pair
 * ("\ud83d\ude00", one emoji) is one, as a raw UTF-8 character is (it
 * counted as two: a generated "\ud83d\ude00" passed minLength 2); a lone
 * surrogate escape is none of them. */
static void test_string_lengths(void) {
    static const struct { const char *schema, *yes, *no; } sl[] = {
        { "{\"type\":\"string\",\"minLength\":2,\"maxLength\":3}",
          "\"ab\" \"abc\" \"\\u00e9\\u00e9\" \"\xc3\xa9\xc3\xa9\" \"\\ud83d\\ude00x\" \"\xf0\x9f\x98\x80\xf0\x9f\x98\x80\" \"a\\n\"",
          "\"a\" \"abcd\" \"\\ud83d\\ude00\" \"\xf0\x9f\x98\x80\" \"\\ud83dx\" \"\\ude00\\ud83dx\"" },
        { "{\"type\":\"string\",\"maxLength\":1}", "\"\\ud83d\\ude00\" \"\xf0\x9f\x98\x80\" \"\\uD83D\\uDE00\" \"\\u0041\" \"\"",
          "\"\\ud83d\\ude00\\ud83d\\ude00\" \"\\ud83d\" \"ab\"" },
        { "{\"type\":\"string\",\"minLength\":1}", "\"x\" \"\\ud83d\\ude00\" \"xyz\"", "\"\" \"\\ud83d\"" },
    };
    for (size_t i = 0; i < sizeof sl / sizeof *sl; i++) {
        gram *g;
        char err[300];
        if (gram_from_schema(&g, sl[i].schema, strlen(sl[i].schema), err, sizeof err)) { CHECK(0, "%s: %s", sl[i].schema, err); continue; }
        for (int k = 0; k < 2; k++) {
            char list[300], *save = NULL;
            snprintf(list, sizeof list, "%s", k ? sl[i].no : sl[i].yes);
            for (char *w = strtok_r(list, " ", &save); w; w = strtok_r(NULL, " ", &save))
                CHECK(accepts_text(g, w) == !k, "%s: %s %s", sl[i].schema, w, k ? "refused" : "accepted");
        }
        gram_unref(g);
    }
}

static void test_regex_choices(void) {
    static const struct { const char *re, *yes, *no; } rx[] = {
        { "[a-c]+x?", "abcx", "abxx" }, { "\\d{3}-\\d{2}", "123-45", "12-345" }, { "(?:ab|cd)*e", "abcde", "abce" },
        { "^h.llo$", "h\xc3\xa9llo", "hllo" }, { "[^0-9]{2}", "\xe6\x97\xa5z", "a1" }, { "a|", "", "b" },
        { "\\w+@\\w+\\.com", "me@x.com", "me@x.org" }, { "colou?r", "color", "colr" }, { "\\.\\*", ".*", "a*" },
    };
    for (size_t i = 0; i < sizeof rx / sizeof *rx; i++) {
        gram *g;
        char err[300];
        int rc = gram_from_regex(&g, rx[i].re, strlen(rx[i].re), err, sizeof err);
        CHECK(rc == 0, "regex %s: %s", rx[i].re, err);
        if (rc) continue;
        CHECK(accepts_text(g, rx[i].yes), "regex %s accepts '%s'", rx[i].re, rx[i].yes);
        CHECK(!accepts_text(g, rx[i].no), "regex %s refuses '%s'", rx[i].re, rx[i].no);
        gram_unref(g);
    }
    const char *ch[] = { "yes", "no", "maybe \"so\"" };
    gram *g;
    char err[200];
    CHECK(gram_from_choices(&g, ch, 3, err, sizeof err) == 0, "choices: %s", err);
    CHECK(accepts_text(g, "maybe \"so\"") && accepts_text(g, "no") && !accepts_text(g, "yesno"), "choices match exactly");
    gram_unref(g);
}

static void test_clone_rewind(gmatch_vocab *v) {
    char *text = check_slurp("tests/data/grammars/json.gbnf", NULL);
    gram *g;
    char err[200];
    if (!text || gram_parse(&g, text, strlen(text), err, sizeof err)) { CHECK(0, "json.gbnf"); free(text); return; }
    gmatch_ctx *c = gmatch_ctx_create(g, v);
    gram_unref(g);
    gmatch *m = gmatch_create(c);
    int32_t words = (gmatch_vocab_n(v) + 63) / 64;
    uint64_t *m0 = malloc((size_t)words * 8);
    memcpy(m0, gmatch_mask(m), (size_t)words * 8);
    CHECK(gmatch_accept_bytes(m, "{\"a\"", 4) == 0, "accept bytes");
    gmatch *k = gmatch_clone(m);
    CHECK(gmatch_accept_bytes(k, ": [1", 4) == 0 && gmatch_n(k) == 2 && gmatch_n(m) == 1, "clone diverges");
    CHECK(!gmatch_complete(k), "incomplete");
    CHECK(gmatch_accept_bytes(k, "]}", 2) == 0 && gmatch_complete(k), "complete after ]}");
    CHECK(gmatch_accept_bytes(k, "x", 1) == GMATCH_EREJECT && gmatch_n(k) == 3, "reject leaves the state");
    CHECK(gmatch_rewind(k, 0) == 0 && memcmp(gmatch_mask(k), m0, (size_t)words * 8) == 0, "rewind to the start gives the start mask");
    CHECK(gmatch_rewind(k, 5) != 0, "rewind past the end refused");
    int32_t eos = 2;                         /* </s> in the Llama vocabulary */
    CHECK(!gmatch_allowed(m, eos), "eos not allowed mid-object");
    gmatch_destroy(k);
    gmatch_destroy(m);
    /* the stage: masks the candidates, EOS only where complete, SMP_EMASK when nothing fits */
    smp *st = gmatch_smp_create(gmatch_create(c));
    smp_cands cands;
    int32_t n = gmatch_vocab_n(v);
    smp_cands_init(&cands, n);
    float *row = malloc(sizeof *row * (size_t)n);
    for (int32_t i = 0; i < n; i++) row[i] = (float)(rnd() % 1000) / 100.0f;
    smp_cands_set(&cands, row, n);
    CHECK(smp_apply(st, &cands) == 0 && cands.n > 0 && cands.n < n, "stage keeps %d of %d", cands.n, n);
    bool all_ok = true;
    gmatch *probe = gmatch_create(c);
    for (int32_t i = 0; i < cands.n; i++) all_ok &= gmatch_allowed(probe, cands.data[i].id);
    CHECK(all_ok, "stage keeps only allowed tokens");
    gmatch_destroy(probe);
    smp_destroy(st);
    const char *ch[] = { "A" };
    CHECK(gram_from_choices(&g, ch, 1, err, sizeof err) == 0, "choice A");
    gmatch_ctx *c2 = gmatch_ctx_create(g, v);
    gram_unref(g);
    gmatch *m2 = gmatch_create(c2);
    st = gmatch_smp_create(m2);
    int32_t a = -1, na = 0;               /* "A" and the byte token <0x41> */
    for (int32_t i = 0; i < n; i++) { size_t l; const char *p = gmatch_vocab_piece(v, i, &l); if (l == 1 && p[0] == 'A') { a = i; na++; } }
    smp_cands_set(&cands, row, n);
    CHECK(smp_apply(st, &cands) == 0 && cands.n == na && na >= 1, "choice: only 'A' (%d of %d)", cands.n, na);
    smp_accept(st, a);
    smp_cands_set(&cands, row, n);
    CHECK(smp_apply(st, &cands) == 0 && cands.n == 1 && cands.data[0].id == eos, "then only EOS");
    smp_accept(st, eos);
    smp_cands_set(&cands, row, n);
    CHECK(smp_apply(st, &cands) == SMP_EMASK, "after EOS nothing: SMP_EMASK");
    smp_destroy(st);
    gmatch_ctx_destroy(c2);
    free(row);
    smp_cands_fini(&cands);
    free(m0);
    gmatch_ctx_destroy(c);
    free(text);
}

/* The stage on lazy candidates (the columns, what the chain's first stage
 * gets) against the same candidates written to data[] first: the same
 * tokens in the same order with the same logits and p, bit for bit, with the
 * SIMD kernels on and off; a whole row (dense) and a subset (after a min-p),
 * normalized or not, along a walk of the tool schema that passes states
 * with few and with most tokens allowed. */
static void test_stage_columns(gmatch_vocab *v) {
    char *tool = check_slurp("tests/data/grammars/tool.json", NULL);
    gram *g;
    char err[256];
    if (!tool || gram_from_schema(&g, tool, strlen(tool), err, sizeof err)) { CHECK(0, "tool.json for the stage test"); free(tool); return; }
    free(tool);
    gmatch_ctx *c = gmatch_ctx_create(g, v);
    gram_unref(g);
    int32_t n = gmatch_vocab_n(v);
    float *row = malloc(sizeof *row * (size_t)n), *row0 = malloc(sizeof *row0 * (size_t)n);
    smp_cands a, b;
    smp_cands_init(&a, n);
    smp_cands_init(&b, n);
    smp *minp = smp_create_min_p(0.02f, 1);
    int row_kept = 1;
    int best = vd_isa();
    int compared = 0, bad = 0, dense_seen = 0, subset_seen = 0, few_seen = 0, most_seen = 0;
    for (int walk = 0; walk < 4; walk++) {
        gmatch *m = gmatch_create(c);
        for (int step = 0; step < 60 && !gmatch_finished(m); step++) {
            for (int32_t i = 0; i < n; i++) row[i] = (float)(rnd() % 2000) / 100.0f - 10.0f;
            int32_t allowed = gmatch_count(m);
            few_seen += allowed < n / 8;
            most_seen += allowed > n / 2;
            for (int mode = 0; mode < 8; mode++) {
                bool subset = mode & 1, norm = mode & 2, simd = mode & 4;
                vd_set_isa(simd ? best : VD_PORTABLE);
                smp_cands *x[2] = { &a, &b };
                int rc[2];
                /* a subset: min-p leaves the columns with explicit ids; a
                 * reads the row where it is (smp_cands_set_ref), which the
                 * stage must leave as it was */
                memcpy(row0, row, sizeof *row * (size_t)n);
                for (int k = 0; k < 2; k++) {
                    if (k == 0) smp_cands_set_ref(x[k], row, n);
                    else smp_cands_set(x[k], row, n);
                    if (norm) smp_mass_softmax(x[k]);
                    if (subset) {
                        x[k]->depth++;      /* as inside a chain: the columns stay after min-p */
                        (void)smp_apply(minp, x[k]);
                        x[k]->depth--;
                    }
                    if (k == 1) smp_cands_sync(x[k]);
                    smp *st = gmatch_smp_create(gmatch_clone(m));
                    rc[k] = smp_apply(st, x[k]);
                    smp_destroy(st);
                }
                smp_cands_sync(&a);
                row_kept &= !memcmp(row0, row, sizeof *row * (size_t)n);
                dense_seen += !subset;
                subset_seen += subset;
                bool same = rc[0] == rc[1] && a.n == b.n && a.normalized == b.normalized;
                for (int32_t i = 0; same && i < a.n; i++)
                    same = a.data[i].id == b.data[i].id && memcmp(&a.data[i].logit, &b.data[i].logit, 4) == 0 &&
                           memcmp(&a.data[i].p, &b.data[i].p, 4) == 0;
                for (int32_t i = 0; same && i < a.n; i++) same = gmatch_allowed(m, a.data[i].id);
                compared++;
                if (!same && bad++ < 3)
                    CHECK(0, "stage on columns == on data[] (walk %d step %d mode %d: n %d vs %d)", walk, step, mode, a.n, b.n);
            }
            vd_set_isa(best);
            smp_cands_set(&a, row, n);
            smp *st = gmatch_smp_create(gmatch_clone(m));
            int rc = smp_apply(st, &a);
            smp_destroy(st);
            if (rc || a.n == 0) break;
            if (gmatch_accept(m, a.data[rnd() % (uint32_t)a.n].id)) break;
        }
        gmatch_destroy(m);
    }
    vd_set_isa(best);
    CHECK(bad == 0 && compared > 200 && dense_seen && subset_seen && few_seen && most_seen,
          "stage on columns == on data[]: %d cases (few allowed %d, most %d)", compared, few_seen, most_seen);
    CHECK(row_kept, "the stage leaves a row read by smp_cands_set_ref as it was");
    smp_destroy(minp);
    smp_cands_fini(&a);
    smp_cands_fini(&b);
    free(row);
    free(row0);
    gmatch_ctx_destroy(c);
}

/* test_gram --schema SCHEMA TEXT | --gbnf GRAMMAR TEXT: the independent
 * checks for tests/test_grammar.sh. Exit 0 valid, 1 invalid, 3 a cut-off
 * text (JSON that does not parse / a viable GBNF prefix). */
static int check_file(const char *mode, const char *spec, const char *file) {
    char *sp = check_slurp(spec, NULL), *tx = check_slurp(file, NULL);
    if (!sp || !tx) { fprintf(stderr, "cannot read %s or %s\n", spec, file); return 2; }
    size_t n = strlen(tx);
    int rc;
    char err[256];
    if (!strcmp(mode, "--schema")) {
        json_doc *sd = json_parse(sp, strlen(sp), err, sizeof err), *d = json_parse(tx, n, err, sizeof err);
        const char *why = d && sd ? sr_validate(json_root(d), json_root(sd)) : "does not parse";
        rc = !d ? 3 : why ? 1 : 0;
        if (rc) fprintf(stderr, "%s: %s\n", file, why);
        json_free(d);
        json_free(sd);
    } else {
        rgram rg;
        if (!ref_load(&rg, sp)) { fprintf(stderr, "reference cannot read %s\n", spec); return 2; }
        rc = ref_accepts(&rg, tx, n) ? 0 : ref_viable(&rg, tx, n) ? 3 : 1;
        ref_free(&rg);
    }
    free(sp);
    free(tx);
    return rc;
}

/* Hostile sizes: groups nested past the limit are refused with the place
 * (100000 nested groups overflowed the parser's stack: a crash); a chain of
 * 100000 rules, each beginning with the next, compiles (the left-recursion
 * walk recursed per rule: a crash) and quickly (finding a rule by name was a
 * linear search: a minute), and closed into a cycle is named as one. */
static char *nested(int n) {
    char *t = malloc((size_t)n * 2 + 32);
    int k = sprintf(t, "root ::= ");
    memset(t + k, '(', (size_t)n); k += n;
    k += sprintf(t + k, "\"a\"");
    memset(t + k, ')', (size_t)n); k += n;
    strcpy(t + k, "\n");
    return t;
}

static void test_hostile_sizes(void) {
    gram *g = NULL;
    char err[300], *t = nested(1000);
    CHECK(gram_parse(&g, t, strlen(t), err, sizeof err) == 0, "1000 nested groups: %s", err);
    gram_unref(g);
    free(t);
    static const int deep[] = { 1001, 100000 };
    for (int i = 0; i < 2; i++) {
        t = nested(deep[i]);
        g = NULL;
        CHECK(gram_parse(&g, t, strlen(t), err, sizeof err) == GRAM_ESYNTAX && !g &&
              strstr(err, "line 1 col 1010: groups nested more than 1000 deep"), "%d nested groups: '%s'", deep[i], err);
        free(t);
    }
    enum { N = 100000 };
    size_t cap = (size_t)N * 32 + 64;
    t = malloc(cap);
    for (int cyc = 0; cyc < 2; cyc++) {
        size_t k = (size_t)sprintf(t, "root ::= r0\n");
        for (int i = 0; i < N; i++) k += (size_t)sprintf(t + k, "r%d ::= r%d \"x\"\n", i, i + 1);
        k += (size_t)sprintf(t + k, "r%d ::= %s\n", N, cyc ? "r0" : "\"a\"");
        g = NULL;
        int rc = gram_parse(&g, t, k, err, sizeof err);
        if (!cyc) CHECK(rc == 0 && g, "a chain of %d rules: %s", N, err);
        else CHECK(rc == GRAM_ESYNTAX && strstr(err, "line 2 col 1: left recursion (r0 -> r1 -> r2"),
                   "a cycle of %d rules: '%s'", N, err);
        gram_unref(g);
    }
    free(t);
}

int main(int argc, char **argv) {
    if (argc == 4) return check_file(argv[1], argv[2], argv[3]);
    test_errors();
    test_hostile_sizes();
    test_regex_choices();
    test_number_ranges();
    test_string_lengths();
    static const char *small[][2] = {
        { "arith", "root ::= expr\nexpr ::= term ([-+] term)*\nterm ::= [0-9]{1,3} | \"(\" expr \")\"\n" },
        { "unicode", "root ::= ([\\u00e0-\\u00ff] | [\\u65e5] | \"x\" | .)+ \"!\"\n" },
        { "neg", "root ::= \"\\\"\" [^\"\\\\]* \"\\\"\" \" \"?\n" },
        { "opt", "root ::= \"a\"? \"b\"{0,2} (\"c\" | \"cd\")* \"e\"\n" },
    };
    for (size_t i = 0; i < sizeof small / sizeof *small; i++) brute(small[i][0], small[i][1], 6, 12);
    const char *files[] = { "list.gbnf", "chess.gbnf", "arithmetic.gbnf" };
    for (size_t i = 0; i < 3; i++) {
        char p[128];
        snprintf(p, sizeof p, "tests/data/grammars/%s", files[i]);
        char *t = check_slurp(p, NULL);
        if (t) brute(files[i], t, 3, 10);
        else CHECK(0, "read %s", p);
        free(t);
    }
    /* schema compiler output, default and compact whitespace, by brute force too */
    const char *bs = "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\",\"minimum\":-5,\"maximum\":12},"
                     "\"b\":{\"enum\":[\"x\",[1]]},\"c\":{\"type\":\"integer\",\"multipleOf\":3},"
                     "\"d\":{\"type\":\"number\",\"minimum\":-1.25,\"exclusiveMaximum\":0.5}},\"required\":[\"a\"]}";
    for (int k = 0; k < 3; k++) {
        gram_schema_opts so = { .compact = k >= 1, .any_order = k == 2 };
        char *gb, err[300];
        if (gram_schema_gbnf_opts(&gb, bs, strlen(bs), &so, err, sizeof err)) { CHECK(0, "schema for brute force: %s", err); continue; }
        brute(k == 2 ? "schema any order" : k ? "schema compact" : "schema", gb, 4, 14);
        free(gb);
    }
    tok *t = NULL;
    gmatch_vocab *v = llama_vocab(&t);
    CHECK(v != NULL, "the Llama vocabulary loads");
    if (v) {
        const char *gs[] = { "json.gbnf", "list.gbnf", "arithmetic.gbnf", "chess.gbnf", "c.gbnf" };
        for (size_t i = 0; i < 5; i++) walks_gbnf(v, gs[i], 40);
        char *tool = check_slurp("tests/data/grammars/tool.json", NULL);
        gram_schema_opts compact = { .compact = true };
        if (tool) walks_schema(v, tool, "tool.json", 60), walks_schema_opts(v, tool, "tool.json compact", 40, &compact);
        else CHECK(0, "read tool.json");
        free(tool);
        const char *nested =
            "{\"type\":\"array\",\"minItems\":1,\"maxItems\":4,\"items\":{\"type\":\"object\",\"properties\":{"
            "\"k\":{\"type\":[\"string\",\"null\"],\"maxLength\":5},\"n\":{\"type\":\"integer\",\"exclusiveMinimum\":-3,\"maximum\":1234},"
            "\"sub\":{\"$ref\":\"#/$defs/node\"}},\"required\":[\"n\"]},"
            "\"$defs\":{\"node\":{\"type\":\"object\",\"properties\":{\"v\":{\"const\":{\"a\":[1,true]}},\"next\":{\"anyOf\":[{\"$ref\":\"#/$defs/node\"},{\"type\":\"null\"}]}},\"required\":[\"v\",\"next\"]}}}";
        walks_schema(v, nested, "nested", 60);
        /* oneOf told apart by type, by values and by range; number ranges with
         * negative and fractional bounds (the validator checks "exactly one") */
        const char *oneof =
            "{\"type\":\"array\",\"maxItems\":6,\"items\":{\"oneOf\":["
            "{\"type\":\"number\",\"minimum\":-2.5,\"maximum\":-0.5},"
            "{\"type\":\"integer\",\"minimum\":0,\"maximum\":30},"
            "{\"type\":\"number\",\"exclusiveMinimum\":30.5,\"exclusiveMaximum\":33},"
            "{\"enum\":[true,\"x\"]},{\"type\":\"integer\",\"minimum\":40},"
            "{\"type\":\"null\"}]}}";
        walks_schema(v, oneof, "oneOf+ranges", 80);
        /* multipleOf: listed in a range, a remainder automaton without bounds or from 0 */
        const char *mult =
            "{\"type\":\"array\",\"maxItems\":5,\"items\":{\"anyOf\":["
            "{\"type\":\"integer\",\"multipleOf\":7},{\"type\":\"integer\",\"multipleOf\":12,\"minimum\":0},"
            "{\"type\":\"number\",\"multipleOf\":3,\"minimum\":-40,\"exclusiveMaximum\":40},"
            "{\"type\":\"integer\",\"multipleOf\":5,\"maximum\":0}]}}";
        walks_schema(v, mult, "multipleOf", 80);
        /* fractions next to non-integer bounds, exclusive and not, both sides of zero */
        const char *ranges =
            "{\"type\":\"array\",\"maxItems\":6,\"items\":{\"anyOf\":["
            "{\"type\":\"number\",\"minimum\":0.25,\"maximum\":0.75},{\"type\":\"number\",\"exclusiveMinimum\":-3.125,\"maximum\":-2.5},"
            "{\"type\":\"number\",\"exclusiveMinimum\":7.3,\"exclusiveMaximum\":12.01},{\"type\":\"number\",\"minimum\":-0.001,\"maximum\":0.001},"
            "{\"type\":\"number\",\"maximum\":0}]}}";
        walks_schema(v, ranges, "partial units", 80);
        /* properties in any order: valid, and not only in the declared order */
        const char *ao = "{\"type\":\"object\",\"properties\":{\"p\":{\"type\":\"integer\"},\"q\":{\"type\":\"boolean\"},"
                         "\"r\":{\"type\":\"null\"},\"s\":{\"enum\":[1,\"x\"]}},\"required\":[\"p\",\"r\"]}";
        gram_schema_opts anyo = { .any_order = true, .compact = true };
        walks_schema_opts(v, ao, "any order", 80, &anyo);
        gram *ga;
        char e2[300];
        if (gram_from_schema_opts(&ga, ao, strlen(ao), &anyo, e2, sizeof e2) == 0) {
            CHECK(accepts_text(ga, "{\"r\":null,\"s\":\"x\",\"p\":-4}") && accepts_text(ga, "{\"p\":1,\"r\":null}")
                  && !accepts_text(ga, "{\"p\":1}") && !accepts_text(ga, "{\"p\":1,\"r\":null,\"p\":2}"),
                  "any order: every order, required ones, each once");
            gram_unref(ga);
        } else CHECK(0, "any order: %s", e2);
        test_clone_rewind(v);
        test_stage_columns(v);
        gmatch_vocab_unref(v);
    }
    tok_destroy(t);
    return check_done();
}
