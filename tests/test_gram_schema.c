/* test_gram_schema: the JSON Schema compiler (core/gram_schema*.c) against
 * the Python jsonschema package's verdicts (tests/data/grammars/
 * schema_cases.json, made by tests/schema_cases.py and committed): every text
 * the compiled grammar accepts is valid, every valid text is accepted unless
 * the case is marked strict (a documented narrowing), every invalid one is
 * refused. Then random walks over the 32000-token Llama vocabulary, checked
 * by the independent validator tests/schema_ref.h, and the refusals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gguf.h"
#include "gmatch.h"
#include "gram.h"
#include "json.h"
#include "gmatch_walk.h"
#include "schema_ref.h"
#include "tok.h"

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint32_t rnd(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return (uint32_t)(rng >> 11); }

static gram_schema_opts opts_of(const json *o) {
    gram_schema_opts so = { 0 };
    so.any_order = json_bool(json_get(o, "any_order"), false);
    so.compact = json_bool(json_get(o, "compact"), false);
    return so;
}

/* Whole texts through one matcher each (a one-piece vocabulary: only the
 * automaton matters here). */
static void test_reference_cases(void) {
    char *text = check_slurp("tests/data/grammars/schema_cases.json", NULL);
    CHECK(text != NULL, "read tests/data/grammars/schema_cases.json");
    if (!text) return;
    char err[300];
    json_doc *d = json_parse(text, strlen(text), err, sizeof err);
    CHECK(d != NULL, "schema_cases.json parses: %s", err);
    if (!d) { free(text); return; }
    const char *pieces[1] = { "x" };
    size_t lens[1] = { 1 };
    gmatch_vocab *v = gmatch_vocab_create_pieces(pieces, lens, 1, -1, -1);
    for (const json *set = json_root(d)->child; set; set = set->next) {
        const char *name = json_str(json_get(set, "name"), "?");
        const json *st = json_get(set, "schema");
        gram_schema_opts so = opts_of(json_get(set, "opts"));
        gram *g;
        if (gram_from_schema_opts(&g, st->str, st->len, &so, err, sizeof err)) { CHECK(0, "%s: %s", name, err); continue; }
        gmatch_ctx *c = gmatch_ctx_create(g, v);
        gram_unref(g);
        int n = 0, bad = 0, valid = 0, strict = 0;
        for (const json *cs = json_get(set, "cases")->child; cs; cs = cs->next, n++) {
            const json *t = json_get(cs, "text");
            bool want = json_bool(json_get(cs, "valid"), false), str = json_bool(json_get(cs, "strict"), false);
            gmatch *m = gmatch_create(c);
            bool got = gmatch_accept_bytes(m, t->str, t->len) == 0 && gmatch_complete(m);
            gmatch_destroy(m);
            valid += want;
            strict += str;
            if (got != (want && !str) && bad++ < 5)
                CHECK(0, "%s: %s is %s (jsonschema: %s%s)", name, t->str, got ? "accepted" : "refused", want ? "valid" : "invalid",
                      str ? ", refused on purpose" : "");
        }
        CHECK(bad == 0 && n > 0, "%s: %d texts (%d valid, %d of them refused on purpose) as jsonschema says, %d differ", name, n, valid, strict, bad);
        gmatch_ctx_destroy(c);
    }
    gmatch_vocab_unref(v);
    json_free(d);
    free(text);
}

/* n_walks walks of schema_text; every ended one must validate. Returns how
 * many ended texts satisfied seen(text) (a property the caller wants to
 * have been exercised). */
static int walks(gmatch_vocab *v, const char *schema_text, const char *name, int n_walks, const gram_schema_opts *o,
                 bool (*seen)(const char *)) {
    gram *g;
    char err[300];
    int rc = gram_from_schema_opts(&g, schema_text, strlen(schema_text), o, err, sizeof err);
    CHECK(rc == 0, "%s: %s", name, err);
    if (rc) return 0;
    json_doc *sd = json_parse(schema_text, strlen(schema_text), err, sizeof err);
    gmatch_ctx *c = gmatch_ctx_create(g, v);
    gram_unref(g);
    int ended = 0, bad = 0, hits = 0;
    char buf[8192];
    for (int w = 0; w < n_walks; w++) {
        bool e;
        size_t n = gmatch_walk(c, 300, buf, sizeof buf, &e, rnd, true);
        if (getenv("GRAM_SHOW") && !e && w < 3) printf("%s (cut): %s\n", name, buf);
        if (!e) continue;
        ended++;
        if (getenv("GRAM_SHOW") && w < 8) printf("%s: %s\n", name, buf);
        json_doc *d = json_parse(buf, n, err, sizeof err);
        const char *why = d ? sr_validate(json_root(d), json_root(sd)) : err;
        if (why && bad++ < 3) CHECK(0, "%s: walk %d gave '%s': %s", name, w, buf, why);
        if (!why && seen && seen(buf)) hits++;
        json_free(d);
    }
    CHECK(bad == 0 && ended > n_walks / 4, "%s: %d walks, %d ended, %d invalid", name, n_walks, ended, bad);
    gmatch_ctx_destroy(c);
    json_free(sd);
    return hits;
}

/* A member other than a, ab, é was written (the extras were exercised). */
static bool has_extra(const char *t) {
    json_doc *d = json_parse(t, strlen(t), NULL, 0);
    bool any = false;
    for (const json *m = d ? json_root(d)->child : NULL; m; m = m->next)
        any |= strcmp(m->key, "a") && strcmp(m->key, "ab") && strcmp(m->key, "\xc3\xa9") && strcmp(m->key, "p") && strcmp(m->key, "q");
    json_free(d);
    return any;
}

/* Members not in the declared (alphabetical) order. */
static bool out_of_order(const char *t) {
    json_doc *d = json_parse(t, strlen(t), NULL, 0);
    bool out = false;
    for (const json *m = d ? json_root(d)->child : NULL; m && m->next; m = m->next) out |= strcmp(m->key, m->next->key) > 0;
    json_free(d);
    return out;
}

static bool has_item(const char *t) { return strlen(t) > 2 && t[0] == '['; }

static void test_walks(void) {
    tok *t = NULL;
    gmatch_vocab *v = llama_vocab(&t);
    CHECK(v != NULL, "the Llama vocabulary loads");
    if (!v) return;
    /* (required members are rare in random walks: the reference cases test them) */
    const char *ex =
        "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"},\"ab\":{\"type\":\"string\",\"maxLength\":3},"
        "\"\xc3\xa9\":{\"type\":\"boolean\"}},"
        "\"additionalProperties\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":9}}";
    gram_schema_opts compact = { .compact = true }, anyo = { .compact = true, .any_order = true };
    int h = walks(v, ex, "extras beside properties", 80, &compact, has_extra);
    CHECK(h > 5, "extras beside properties: %d valid texts with an extra member", h);
    const char *ao = "{\"type\":\"object\",\"properties\":{\"p\":{\"type\":\"integer\"},\"q\":{\"type\":\"boolean\"}},"
                     "\"additionalProperties\":{\"type\":\"string\",\"maxLength\":4}}";
    h = walks(v, ao, "extras, any order", 80, &anyo, has_extra);
    CHECK(h > 5, "extras, any order: %d valid texts with an extra member", h);
    const char *nested = "{\"type\":\"array\",\"maxItems\":3,\"items\":{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"integer\"}},"
                         "\"additionalProperties\":{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"null\"}},"
                         "\"additionalProperties\":{\"type\":\"boolean\"}}}}";
    walks(v, nested, "nested extras", 60, NULL, NULL);
    const char *pp = "{\"type\":\"object\",\"patternProperties\":{\"^[a-z]{1,3}_[0-9]$\":{\"type\":\"boolean\"}}}";
    walks(v, pp, "patternProperties", 60, &compact, NULL);
    const char *pn = "{\"type\":\"object\",\"propertyNames\":{\"pattern\":\"^[a-z]{1,4}$\"},\"additionalProperties\":{\"type\":\"integer\"}}";
    walks(v, pn, "propertyNames pattern", 60, &compact, NULL);
    /* any order beyond 6 properties (up to GRAM_ANY_ORDER_MAX) */
    const char *ao8 = "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"null\"},\"b\":{\"type\":\"null\"},"
                      "\"c\":{\"type\":\"null\"},\"d\":{\"type\":\"null\"},\"e\":{\"type\":\"null\"},\"f\":{\"type\":\"null\"},"
                      "\"g\":{\"type\":\"null\"},\"h\":{\"type\":\"boolean\"}},\"additionalProperties\":false}";
    int nonempty, shuffled = walks(v, ao8, "any order, 8 properties", 80, &anyo, out_of_order);
    CHECK(shuffled > 5, "any order, 8 properties: %d valid texts out of the declared order", shuffled);
    /* oneOf whose branches overlap in listed values (checked "exactly one") */
    const char *one = "{\"type\":\"array\",\"maxItems\":5,\"items\":{\"oneOf\":[{\"type\":\"string\"},{\"enum\":[\"a\",\"b\",1,true]},"
                      "{\"type\":\"integer\",\"minimum\":0,\"maximum\":10},{\"const\":5},{\"type\":\"boolean\"},{\"type\":\"number\",\"minimum\":20}]}}";
    nonempty = walks(v, one, "oneOf overlapping in values", 120, &compact, has_item);
    CHECK(nonempty > 10, "oneOf overlapping in values: %d valid arrays with items", nonempty);
    /* multipleOf with fractional divisors, bounds of any size, both signs */
    const char *mult =
        "{\"type\":\"array\",\"maxItems\":6,\"items\":{\"anyOf\":["
        "{\"type\":\"number\",\"multipleOf\":0.25,\"minimum\":-1000,\"maximum\":1000.3},"
        "{\"type\":\"number\",\"multipleOf\":0.01,\"exclusiveMinimum\":-2},"
        "{\"type\":\"integer\",\"multipleOf\":7,\"minimum\":3},"
        "{\"type\":\"number\",\"multipleOf\":1.5,\"maximum\":-4.5},"
        "{\"type\":\"integer\",\"multipleOf\":997,\"minimum\":-100000,\"maximum\":100000}]}}";
    nonempty = walks(v, mult, "multipleOf", 120, &compact, has_item);
    CHECK(nonempty > 10, "multipleOf: %d valid arrays with numbers", nonempty);
    gmatch_vocab_unref(v);
    tok_destroy(t);
}

static void test_refusals(void) {
    static const struct { const char *schema, *want; } rf[] = {
        { "{\"type\":\"string\",\"pattern\":\"^a+$\",\"maxLength\":3}", "schema at /: pattern with minLength/maxLength" },
        { "{\"type\":\"object\",\"properties\":{\"a\":{}},\"propertyNames\":{\"maxLength\":3}}",
          "schema at /propertyNames: propertyNames is supported only for objects without properties" },
        { "{\"type\":\"object\",\"propertyNames\":{\"format\":\"email\"}}", "schema at /propertyNames: 'format' in propertyNames is not supported" },
        { "{\"type\":\"object\",\"propertyNames\":{\"type\":\"integer\"}}", "schema at /propertyNames: propertyNames: type must be \"string\"" },
        { "{\"propertyNames\":{\"maxLength\":3}}", "schema at /propertyNames: 'propertyNames' cannot be enforced" },
        { "{\"type\":\"object\",\"properties\":{\"a\":{}},\"additionalProperties\":3}",
          "schema at /additionalProperties: additionalProperties must be a schema" },
        { "{\"type\":\"object\",\"properties\":{\"a\":{}},\"additionalProperties\":{\"type\":\"strin\"}}",
          "schema at /additionalProperties/type: unknown type 'strin'" },
        { "{\"patternProperties\":{\"^x\":{}}}", "schema at /patternProperties: 'patternProperties' cannot be enforced" },
        { "{\"type\":\"object\",\"patternProperties\":{\"^x\":{},\"^y\":{}}}", "schema at /patternProperties: more than one pattern" },
        { "{\"type\":\"object\",\"properties\":{\"a\":{}},\"patternProperties\":{\"^x\":{}}}",
          "schema at /patternProperties: patternProperties beside properties is not supported" },
        { "{\"type\":\"object\",\"patternProperties\":{\"^x\":{}},\"additionalProperties\":true}",
          "schema at /patternProperties: patternProperties with additionalProperties true" },
        { "{\"type\":\"object\",\"patternProperties\":{\"(?=x)\":{}}}", "schema at /patternProperties" },
        { "{\"oneOf\":[{\"type\":\"null\"},{\"const\":null}]}", "schema at /oneOf: no value matches exactly one branch" },
        { "{\"oneOf\":[{\"type\":\"string\",\"pattern\":\"^a\"},{\"enum\":[\"ab\"]}]}", "schema at /oneOf: branches 0 and 1 may both match" },
        { "{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"string\",\"maxLength\":2}]}", "schema at /oneOf: branches 0 and 1 may both match" },
        /* count keywords: the values, not "bad minItems/maxItems" */
        { "{\"type\":\"array\",\"items\":{\"type\":\"integer\"},\"minItems\":3,\"maxItems\":1}",
          "schema at /: minItems 3 is above maxItems 1: no value can satisfy both" },
        { "{\"type\":\"array\",\"minItems\":2.5}", "schema at /minItems: minItems must be a whole number >= 0, got 2.5" },
        { "{\"type\":\"array\",\"minItems\":\"3\"}", "schema at /minItems: minItems must be a whole number >= 0, got a string" },
        { "{\"type\":\"array\",\"maxItems\":-1}", "schema at /maxItems: maxItems must be a whole number >= 0, got -1" },
        { "{\"type\":\"array\",\"minItems\":20000}", "schema at /minItems: minItems 20000 is above 10000" },
        { "{\"properties\":{\"a\":{\"type\":\"string\",\"minLength\":5,\"maxLength\":2}}}",
          "schema at /properties/a: minLength 5 is above maxLength 2: no value can satisfy both" },
        { "{\"type\":\"string\",\"maxLength\":null}", "schema at /maxLength: maxLength must be a whole number >= 0, got null" },
    };
    for (size_t i = 0; i < sizeof rf / sizeof *rf; i++) {
        gram *g = NULL;
        char err[400] = "";
        int rc = gram_from_schema(&g, rf[i].schema, strlen(rf[i].schema), err, sizeof err);
        CHECK(rc != 0 && strstr(err, rf[i].want), "refused %zu: %s", i, err);
        if (!rc) gram_unref(g);
    }
    /* accepted: a minLength alone above the old default maximum (2000, which
     * refused it), a maxItems past the repetition limit (it said "a bug"),
     * and one past INT_MAX (cast to int before) */
    static const char *const ok[] = {
        "{\"type\":\"string\",\"minLength\":3000}", "{\"type\":\"array\",\"maxItems\":200000}",
        "{\"type\":\"array\",\"maxItems\":1e20}", "{\"type\":\"string\",\"maxLength\":1e20}",
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        gram *g = NULL;
        char err[400] = "";
        int rc = gram_from_schema(&g, ok[i], strlen(ok[i]), err, sizeof err);
        CHECK(rc == 0, "accepted %zu (%s): %s", i, ok[i], err);
        if (!rc) gram_unref(g);
    }
}

int main(void) {
    test_refusals();
    test_reference_cases();
    test_walks();
    return check_done();
}
