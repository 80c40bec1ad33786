/* lab_json: lab.json.decode / lab.json.encode / lab.json.null, over
 * core/json for parsing.
 *
 * decode builds Lua values from the parsed tree inside a protected call, so
 * the C tree is freed even when the Lua side runs out of memory. null is a
 * unique light userdata (lab.json.null). encode writes tables whose keys are
 * 1..n as arrays and any other table (including {}) as an object with string
 * keys in sorted order, so the output is deterministic; cycles and nesting
 * beyond 200 levels are errors, as are functions and other userdata.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "lhost_impl.h"

static const char NULL_KEY = 'n';   /* lab.json.null = light userdata &NULL_KEY */
#define MAX_DEPTH 200

/* What decode builds from: the tree, its text (for positions) and what to
 * do with a key that repeats in one object. */
typedef struct dec {
    const json *root;
    const char *text;
    bool keep_last;         /* {duplicates = "last"} */
    char err[320];          /* set when a duplicate key stopped it */
} dec;

/* "line L col C" of byte offset at. */
static void line_col(const char *text, size_t at, char *out, size_t cap) {
    size_t line = 1, col = 1;
    for (size_t k = 0; k < at; k++) {
        if (text[k] == '\n') { line++; col = 1; } else col++;
    }
    snprintf(out, cap, "line %zu col %zu", line, col);
}

/* Pushes v; false (with d->err) at a key that repeats in its object: RFC
 * 8259 leaves duplicates undefined, and keeping one of them silently hides
 * a bug in whatever wrote the text. */
static bool push_value(lua_State *L, dec *d, const json *v) {
    luaL_checkstack(L, 4, "JSON nesting too deep");
    switch (v->type) {
    case JSON_NULL: lua_pushlightuserdata(L, (void *)&NULL_KEY); break;
    case JSON_BOOL: lua_pushboolean(L, v->b); break;
    case JSON_NUM:
        if (v->num == floor(v->num) && fabs(v->num) < 9007199254740992.0) lua_pushinteger(L, (lua_Integer)v->num);
        else lua_pushnumber(L, v->num);
        break;
    case JSON_STR: lua_pushlstring(L, v->str, v->len); break;
    case JSON_ARR: {
        lua_createtable(L, (int)v->n, 0);
        lua_Integer i = 1;
        for (const json *c = v->child; c; c = c->next) {
            if (!push_value(L, d, c)) return false;
            lua_rawseti(L, -2, i++);
        }
        break;
    }
    default: {
        lua_createtable(L, 0, (int)v->n);
        for (const json *c = v->child; c; c = c->next) {
            lua_pushlstring(L, c->key, c->klen);
            if (!d->keep_last) {
                lua_pushvalue(L, -1);
                if (lua_rawget(L, -3) != LUA_TNIL) {
                    const json *first = v->child;
                    while (first != c && !(first->klen == c->klen && memcmp(first->key, c->key, c->klen) == 0))
                        first = first->next;
                    char here[64], there[64];
                    line_col(d->text, c->at, here, sizeof here);
                    line_col(d->text, first->at, there, sizeof there);
                    snprintf(d->err, sizeof d->err,
                             "%s: duplicate key \"%.*s\" in an object (first at %s); decode(text, {duplicates = \"last\"}) keeps the last",
                             here, c->klen > 64 ? 64 : (int)c->klen, c->key, there);
                    return false;
                }
                lua_pop(L, 1);
            }
            if (!push_value(L, d, c)) return false;
            lua_rawset(L, -3);
        }
        break;
    }
    }
    return true;
}

static int push_root(lua_State *L) {
    dec *d = lua_touserdata(L, 1);
    if (!push_value(L, d, d->root)) lua_pushnil(L);
    return 1;
}

/* lab.json.decode(text [, {duplicates = "error" | "last"}]) -> value | nil, err */
static int l_decode(lua_State *L) {
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    dec dc = { NULL, s, false, "" };
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        lua_pushnil(L);
        while (lua_next(L, 2)) {
            if (lua_type(L, -2) != LUA_TSTRING || strcmp(lua_tostring(L, -2), "duplicates") != 0)
                return luaL_argerror(L, 2, lua_pushfstring(L, "unknown option '%s' (known: duplicates)",
                                                           lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?"));
            const char *m = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
            if (strcmp(m, "last") == 0) dc.keep_last = true;
            else if (strcmp(m, "error") != 0)
                return luaL_argerror(L, 2, "duplicates must be \"error\" (the default) or \"last\"");
            lua_pop(L, 1);
        }
    }
    char err[256];
    json_doc *d = json_parse(s, len, err, sizeof err);
    if (!d) return lab_fail(L, "JSON: %s", err);
    dc.root = json_root(d);
    lua_pushcfunction(L, push_root);
    lua_pushlightuserdata(L, &dc);
    int rc = lua_pcall(L, 1, 1, 0);
    json_free(d);
    if (rc != LUA_OK) return lua_error(L);
    if (dc.err[0]) return lab_fail(L, "JSON: %s", dc.err);
    return 1;
}

/* The output grows in a userdata kept at a fixed stack slot (replaced
 * when it grows), so the GC owns it if encoding raises, and the stack above
 * it stays free for the values being walked. */
/* What encode does with inf, -inf and NaN, which JSON cannot hold. */
enum { NONFINITE_RAISE = 0, NONFINITE_NULL, NONFINITE_STRING };

typedef struct sbuf {
    lua_State *L;
    int slot;
    char *p;
    size_t n, cap;
    int nonfinite;
} sbuf;

static void sb_add(sbuf *s, const char *d, size_t n) {
    if (s->n + n > s->cap) {
        size_t cap = s->cap * 2 > s->n + n ? s->cap * 2 : s->n + n + 256;
        char *np = lua_newuserdatauv(s->L, cap, 0);
        if (s->n) memcpy(np, s->p, s->n);
        lua_replace(s->L, s->slot);
        s->p = np;
        s->cap = cap;
    }
    memcpy(s->p + s->n, d, n);
    s->n += n;
}

static void sb_str(sbuf *s, const char *z) { sb_add(s, z, strlen(z)); }

static void put_str(sbuf *s, int idx) {
    size_t n;
    const char *z = lua_tolstring(s->L, idx, &n);
    size_t need = json_escape(z, n, NULL, 0);
    char *o = lua_newuserdatauv(s->L, need + 1, 0);
    json_escape(z, n, o, need + 1);
    sb_add(s, o, need);
    lua_pop(s->L, 1);
}

static void encode(sbuf *s, int idx, int depth);

static int cmp_keys(lua_State *L) {
    lua_pushboolean(L, strcmp(lua_tostring(L, 1), lua_tostring(L, 2)) < 0);
    return 1;
}

static void encode_table(sbuf *s, int idx, int depth) {
    lua_State *L = s->L;
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
    lua_Integer count = 0;
    bool all_str = true;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        count++;
        if (lua_type(L, -2) != LUA_TSTRING) all_str = false;
        lua_pop(L, 1);
    }
    if (n > 0 && count == n) {                  /* an array */
        sb_str(s, "[");
        for (lua_Integer i = 1; i <= n; i++) {
            if (i > 1) sb_str(s, ",");
            lua_rawgeti(L, idx, i);
            encode(s, lua_gettop(L), depth + 1);
            lua_pop(L, 1);
        }
        sb_str(s, "]");
        return;
    }
    if (!all_str) luaL_error(L, "lab.json.encode: a table mixes array and object keys (or has non-string keys)");
    lua_createtable(L, (int)count, 0);          /* the keys, sorted */
    int keys = lua_gettop(L);
    lua_Integer k = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_rawseti(L, keys, ++k);
    }
    lua_getglobal(L, "table");
    if (lua_istable(L, -1) && lua_getfield(L, -1, "sort") == LUA_TFUNCTION) {
        lua_pushvalue(L, keys);
        lua_pushcfunction(L, cmp_keys);
        lua_call(L, 2, 0);
    }
    lua_settop(L, keys);
    sb_str(s, "{");
    for (lua_Integer i = 1; i <= k; i++) {
        if (i > 1) sb_str(s, ",");
        lua_rawgeti(L, keys, i);
        put_str(s, -1);
        sb_str(s, ":");
        lua_rawget(L, idx);
        encode(s, lua_gettop(L), depth + 1);
        lua_pop(L, 1);
    }
    sb_str(s, "}");
    lua_pop(L, 1);
}

static void encode(sbuf *s, int idx, int depth) {
    lua_State *L = s->L;
    if (depth > MAX_DEPTH) luaL_error(L, "lab.json.encode: nesting deeper than %d (a cycle?)", MAX_DEPTH);
    luaL_checkstack(L, 8, "JSON nesting too deep");
    char num[64];
    switch (lua_type(L, idx)) {
    case LUA_TNIL: sb_str(s, "null"); break;
    case LUA_TBOOLEAN: sb_str(s, lua_toboolean(L, idx) ? "true" : "false"); break;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) snprintf(num, sizeof num, "%lld", (long long)lua_tointeger(L, idx));
        else if (!isfinite(lua_tonumber(L, idx))) {
            double v = lua_tonumber(L, idx);
            const char *name = isnan(v) ? "nan" : v > 0 ? "inf" : "-inf";
            if (s->nonfinite == NONFINITE_RAISE)
                luaL_error(L, "lab.json.encode: cannot encode %s (JSON has no infinities or NaN; pass {nonfinite = \"null\"} "
                              "or {nonfinite = \"string\"})", name);
            snprintf(num, sizeof num, s->nonfinite == NONFINITE_NULL ? "null" : "\"%s\"", name);
        }
        else snprintf(num, sizeof num, "%.17g", lua_tonumber(L, idx));
        sb_str(s, num);
        break;
    case LUA_TSTRING: put_str(s, idx); break;
    case LUA_TTABLE: encode_table(s, idx, depth); break;
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == &NULL_KEY) {
            sb_str(s, "null");
            break;
        }
        /* fall through */
    default: luaL_error(L, "lab.json.encode: cannot encode a %s", luaL_typename(L, idx));
    }
}

static void json_push(lua_State *L, int idx, int nonfinite) {
    idx = lua_absindex(L, idx);
    sbuf s = { L, 0, NULL, 0, 0, nonfinite };
    s.p = lua_newuserdatauv(L, 256, 0);                /* [... buf] */
    s.slot = lua_gettop(L);
    s.cap = 256;
    encode(&s, idx, 0);
    lua_pushlstring(L, s.p, s.n);                      /* [... buf text] */
    lua_remove(L, s.slot);
}

/* lab.store's records: a non-finite number becomes null (documented). */
void lab_json_push(lua_State *L, int idx) { json_push(L, idx, NONFINITE_NULL); }

bool lab_json_is_null(lua_State *L, int idx) { return lua_touserdata(L, idx) == &NULL_KEY; }

/* lab.json.encode(value [, {nonfinite = "error" | "null" | "string"}]) -> string */
static int l_encode(lua_State *L) {
    luaL_checkany(L, 1);
    int mode = NONFINITE_RAISE;
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        lua_pushnil(L);
        while (lua_next(L, 2)) {
            lua_pop(L, 1);
            if (lua_type(L, -1) != LUA_TSTRING || strcmp(lua_tostring(L, -1), "nonfinite") != 0)
                return luaL_argerror(L, 2, "unknown option (known: nonfinite)");
        }
        lua_getfield(L, 2, "nonfinite");
        static const char *const modes[] = { "error", "null", "string", NULL };
        mode = luaL_checkoption(L, 3, "error", modes);
    }
    lua_settop(L, 1);
    json_push(L, 1, mode);
    return 1;
}

static const luaL_Reg json_fns[] = { { "decode", l_decode }, { "encode", l_encode }, { NULL, NULL } };

int lab_open_json(lua_State *L) {
    luaL_newlib(L, json_fns);
    lua_pushlightuserdata(L, (void *)&NULL_KEY);
    lua_setfield(L, -2, "null");
    return 1;
}
