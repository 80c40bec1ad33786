/* lab_grammar: lab.grammar(text), lab.grammar.json_schema(table|text),
 * lab.grammar.regex(re), lab.grammar.choice{...} and the Grammar userdata
 * over a compiled gram (core/gram.h).
 *
 * A Grammar is vocabulary-free; lab_grammar_ctx binds it to a model's
 * vocabulary on first use and keeps that gmatch_ctx (with its mask caches)
 * for the next sequences of the same tokenizer. A bad grammar is an
 * expected failure: nil, err with the line and column.
 */
#include <stdlib.h>
#include <string.h>

#include "gmatch.h"
#include "gram.h"
#include "lhost_impl.h"
#include "model.h"
#include "tok.h"

#define GRAM_T "lab.Grammar"

typedef struct gram_ud {
    gram *g;
    char *gbnf;             /* the GBNF text it was compiled from */
    const tok *t;           /* the tokenizer c is bound to (borrowed; see lab_grammar_ctx) */
    lmodel *lm;             /* a reference keeping t alive */
    gmatch_ctx *c;
} gram_ud;

static gram_ud *check(lua_State *L, int idx) {
    gram_ud *u = luaL_checkudata(L, idx, GRAM_T);
    if (!u->g) luaL_argerror(L, idx, "the grammar is closed");
    return u;
}

bool lab_grammar_is(lua_State *L, int idx) { return luaL_testudata(L, idx, GRAM_T) != NULL; }

gmatch_ctx *lab_grammar_ctx(lua_State *L, int idx, lmodel *lm) {
    gram_ud *u = check(L, idx);
    const tok *t = model_tok(lm->m);
    if (u->c && u->t == t) return u->c;
    gmatch_vocab *v = gmatch_vocab_create(t);
    gmatch_ctx *c = v ? gmatch_ctx_create(u->g, v) : NULL;
    gmatch_vocab_unref(v);
    if (!c) luaL_error(L, "out of memory");
    gmatch_ctx_destroy(u->c);
    if (u->lm) lab_model_unref(u->lm);
    lab_model_ref(lm);
    u->lm = lm;
    u->c = c;
    u->t = t;
    return c;
}

/* Pushes a Grammar compiled from gbnf (taking it), or nil, err. */
static int push_gbnf(lua_State *L, char *gbnf) {
    gram_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
    memset(u, 0, sizeof *u);
    luaL_setmetatable(L, GRAM_T);
    u->gbnf = gbnf;
    char err[512];
    if (gram_parse(&u->g, gbnf, strlen(gbnf), err, sizeof err)) return lab_fail(L, "%s", err);
    return 1;
}

static char *dup_str(lua_State *L, const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (!d) luaL_error(L, "out of memory");
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

/* lab.grammar(gbnf) -> Grammar | nil, err  (called through the table) */
static int l_call(lua_State *L) {
    size_t n;
    /* argument 1 is the table itself: name the user's first argument in errors */
    if (lua_type(L, 2) != LUA_TSTRING)
        return luaL_error(L, "bad argument #1 to 'lab.grammar' (GBNF text expected, got %s)", luaL_typename(L, 2));
    const char *s = lua_tolstring(L, 2, &n);
    return push_gbnf(L, dup_str(L, s, n));
}

/* lab.grammar.json_schema(schema [, opts]) -> Grammar | nil, err; schema is a
 * table (encoded as lab.json.encode would) or JSON text; opts a table with
 * ignore_unenforceable, compact and any_order (booleans; see gram_schema_opts). */
static int l_schema(lua_State *L) {
    gram_schema_opts o = { 0 };
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        lua_pushnil(L);
        while (lua_next(L, 2)) {
            const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
            bool *f = !k ? NULL : strcmp(k, "ignore_unenforceable") == 0 ? &o.ignore_unenforceable
                                : strcmp(k, "compact") == 0 ? &o.compact
                                : strcmp(k, "any_order") == 0 ? &o.any_order : NULL;
            if (!f) return luaL_error(L, "lab.grammar.json_schema: unknown option '%s' (ignore_unenforceable, compact, any_order)",
                                      k ? k : luaL_typename(L, -2));
            if (!lua_isboolean(L, -1))
                return luaL_error(L, "lab.grammar.json_schema: option %s must be a boolean, got %s", k, luaL_typename(L, -1));
            *f = lua_toboolean(L, -1);
            lua_pop(L, 1);
        }
    }
    if (lua_type(L, 1) == LUA_TTABLE) {
        lua_settop(L, 1);
        lab_json_push(L, 1);
        lua_replace(L, 1);
    }
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    char *g, err[512];
    if (gram_schema_gbnf_opts(&g, s, n, &o, err, sizeof err)) return lab_fail(L, "%s", err);
    return push_gbnf(L, g);
}

/* lab.grammar.regex(re) -> Grammar | nil, err */
static int l_regex(lua_State *L) {
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    char *g, err[512];
    if (gram_regex_gbnf(&g, s, n, err, sizeof err)) return lab_fail(L, "%s", err);
    return push_gbnf(L, g);
}

/* lab.grammar.choice{"a", "b", ...} -> Grammar */
static int l_choice(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_Integer n = luaL_len(L, 1);
    if (n < 1) return luaL_argerror(L, 1, "a non-empty list of strings expected");
    gram_buf b = { 0 };
    gram_buf_puts(&b, "root ::= ");
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, 1, i);
        size_t k;
        const char *s = lua_tolstring(L, -1, &k);
        if (!s) { free(b.s); return luaL_argerror(L, 1, "choices must be strings"); }
        if (i > 1) gram_buf_puts(&b, " | ");
        gram_buf_literal(&b, s, k);
        lua_pop(L, 1);
    }
    gram_buf_puts(&b, "\n");
    if (b.oom) { free(b.s); return luaL_error(L, "out of memory"); }
    return push_gbnf(L, b.s);
}

/* g:gbnf() -> the GBNF text (what a schema or regex became) */
static int g_gbnf(lua_State *L) {
    lua_pushstring(L, check(L, 1)->gbnf);
    return 1;
}

/* g:matches(text) -> bool: the whole text is in the language */
static int g_matches(lua_State *L) {
    gram_ud *u = check(L, 1);
    size_t n;
    const char *s = luaL_checklstring(L, 2, &n);
    const char *piece = "x";
    size_t len = 1;
    gmatch_vocab *v = gmatch_vocab_create_pieces(&piece, &len, 1, -1, -1);
    gmatch_ctx *c = v ? gmatch_ctx_create(u->g, v) : NULL;
    gmatch *m = c ? gmatch_create(c) : NULL;
    gmatch_vocab_unref(v);
    gmatch_ctx_destroy(c);
    if (!m) return luaL_error(L, "out of memory");
    bool ok = (n == 0 || gmatch_accept_bytes(m, s, n) == 0) && gmatch_complete(m);
    gmatch_destroy(m);
    lua_pushboolean(L, ok);
    return 1;
}

static int g_gc(lua_State *L) {
    gram_ud *u = luaL_checkudata(L, 1, GRAM_T);
    gmatch_ctx_destroy(u->c);
    u->c = NULL;
    if (u->lm) lab_model_unref(u->lm);
    u->lm = NULL;
    gram_unref(u->g);
    u->g = NULL;
    free(u->gbnf);
    u->gbnf = NULL;
    return 0;
}

static const luaL_Reg gram_methods[] = {
    { "gbnf", g_gbnf }, { "matches", g_matches }, { "close", g_gc }, { NULL, NULL },
};
static const luaL_Reg gram_meta[] = { { "__gc", g_gc }, { "__close", g_gc }, { NULL, NULL } };
static const luaL_Reg gram_fns[] = {
    { "json_schema", l_schema }, { "regex", l_regex }, { "choice", l_choice }, { NULL, NULL },
};

/* lab_open_grammar() -> the lab.grammar table (callable) */
int lab_open_grammar(lua_State *L) {
    lab_class(L, GRAM_T, "Grammar", gram_methods, gram_meta);
    luaL_newlib(L, gram_fns);
    lua_newtable(L);
    lua_pushcfunction(L, l_call);
    lua_setfield(L, -2, "__call");
    lua_setmetatable(L, -2);
    return 1;
}
