/* lab_seq: sequences (model:seq). The eval jobs over them (seq:submit,
 * lab.submit; seq:eval and lab.eval_batch are Lua on top) are lab_eval.c's;
 * lab.score's primitive lives in lab_score.c.
 *
 * A Seq keeps every token: [0, n_eval) are in the KV cache, [n_eval, n) are
 * pending (appended, not yet evaluated). A submit hands copies of the
 * pending tokens to the worker; when the job is done the Seq "settles":
 * n_eval grows by what the worker appended. Every method settles first, and
 * those that touch the ctx (fork, rewind, close, submit) wait for the job
 * and for the model's other jobs (lab_model_sync). Uservalues: 1 the Model,
 * 2 the token buffer (a userdata, so the GC owns it), 3 the Logits of the
 * last evaluated token while no token is pending (what seq:eval returns
 * again without work).
 */
#include "lab_seq.h"

#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "lab_eval.h"
#include "model.h"
#include "tok.h"

/* ---- settling -------------------------------------------------------- */

void lab_seq_settle(lua_State *L, seq_ud *s, bool wait) {
    if (!s->job) return;
    if (!lwork_job_done(s->job)) {
        if (!wait) return;
        lwork_wait(lhost_of(L)->work, s->job);
    }
    s->n_eval += lab_eval_n_done(s->job, s->item);
    lwork_job_unref(s->job);
    s->job = NULL;
}

seq_ud *lab_seq_check(lua_State *L, int idx) {
    seq_ud *s = luaL_checkudata(L, idx, SEQ_T);
    if (!s->lm) luaL_argerror(L, idx, "the sequence is closed");
    lab_seq_settle(L, s, false);
    return s;
}

/* Makes room for n_more tokens (a bigger buffer replaces uservalue 2). */
static void reserve(lua_State *L, int idx, seq_ud *s, int32_t n_more) {
    if (n_more > INT32_MAX / 2 - s->n) luaL_error(L, "too many tokens in one sequence");
    int32_t need = s->n + n_more;
    if (need <= s->cap) return;
    int32_t cap = s->cap ? s->cap : 16;
    while (cap < need) cap = cap > INT32_MAX / 4 ? need : cap * 2;
    idx = lua_absindex(L, idx);
    int32_t *b = lua_newuserdatauv(L, sizeof *b * (size_t)cap, 0);
    if (s->n) memcpy(b, s->toks, sizeof *b * (size_t)s->n);
    lua_setiuservalue(L, idx, 2);
    s->toks = b;
    s->cap = cap;
}

static void drop_cache(lua_State *L, int idx) {
    lua_pushnil(L);
    lua_setiuservalue(L, idx, 3);
}

/* Token ids from idx: integer, table of ids, or a string (tokenized; BOS
 * only when bos; cont: as text continuing a sequence, tok_encode_cont).
 * Pushes a userdata holding them. */
static int32_t *tokens_arg(lua_State *L, int idx, lmodel *lm, bool bos, bool special, bool cont, int32_t *n) {
    if (lua_type(L, idx) != LUA_TSTRING) return lab_check_tokens(L, idx, lm->n_vocab, n);
    size_t len;
    const char *text = lua_tolstring(L, idx, &len);
    if (len > (size_t)INT32_MAX / 2) luaL_argerror(L, idx, "text too long");
    const tok *t = model_tok(lm->m);
    int32_t cap = (int32_t)len + 8;
    int32_t *ids = lua_newuserdatauv(L, sizeof *ids * (size_t)cap, 0);
    char err[256];
    cont = cont && !bos;
    int32_t k = cont ? tok_encode_cont(t, text, len, special, ids, cap, err, sizeof err)
                     : tok_encode(t, text, len, bos, special, ids, cap, err, sizeof err);
    if (k > cap) {
        lua_pop(L, 1);
        cap = k;
        ids = lua_newuserdatauv(L, sizeof *ids * (size_t)cap, 0);
        k = cont ? tok_encode_cont(t, text, len, special, ids, cap, err, sizeof err)
                 : tok_encode(t, text, len, bos, special, ids, cap, err, sizeof err);
    }
    if (k < 0) luaL_argerror(L, idx, err);
    *n = k;
    return ids;
}

int32_t *lab_tokens_arg(lua_State *L, int idx, lmodel *lm, bool bos, bool special, bool cont, int32_t *n) {
    return tokens_arg(L, idx, lm, bos, special, cont, n);
}

void lab_seq_get(lua_State *L, int idx, lab_seq_state *out) {
    seq_ud *s = lab_seq_check(L, idx);
    lab_seq_settle(L, s, true);
    *out = (lab_seq_state){ s->lm, s->id, s->n_eval, s->n, s->toks };
}

bool lab_is_seq(lua_State *L, int idx) { return luaL_testudata(L, idx, SEQ_T) != NULL; }

void lab_seq_set_cached(lua_State *L, int idx, int32_t n_eval) {
    seq_ud *s = lab_seq_check(L, idx);
    s->n_eval = n_eval;
}

/* ---- creating, appending, inspecting --------------------------------- */

/* model:seq([tokens]) -> Seq | nil, err */
static int l_seq(lua_State *L) {
    lmodel *lm = lab_model_check(L, 1);
    int32_t n = 0;
    const int32_t *init = NULL;
    if (!lua_isnoneornil(L, 2)) init = tokens_arg(L, 2, lm, tok_add_bos(model_tok(lm->m)), false, false, &n);
    seq_ud *s = lua_newuserdatauv(L, sizeof *s, 3);
    memset(s, 0, sizeof *s);
    s->id = -1;
    luaL_setmetatable(L, SEQ_T);
    int ud = lua_gettop(L);
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, ud, 1);
    reserve(L, ud, s, n > 16 ? n : 16);
    lab_model_sync(L, lm);
    int32_t id = ctx_seq_create(lm->c);
    if (id < 0) {           /* sequences nobody references may hold slots until collected */
        lua_gc(L, LUA_GCCOLLECT);
        lab_model_sync(L, lm);
        id = ctx_seq_create(lm->c);
    }
    if (id < 0) return lab_fail(L, "no free sequence: all %d are in use (close some, or open the model with a larger n_seq_max)", (int)ctx_n_seq(lm->c));
    lab_model_ref(lm);
    s->lm = lm;
    s->id = id;
    if (n) memcpy(s->toks, init, sizeof *init * (size_t)n);
    s->n = n;
    return 1;
}

/* seq:append(tokens [, {bos=false, special=false, context=true}]) -> seq.
 * tokens: an id, a table of ids, or a string (tokenized without BOS unless
 * bos=true; after the first token, as text continuing the sequence unless
 * context=false). */
static int s_append(lua_State *L) {
    seq_ud *s = lab_seq_check(L, 1);
    bool bos = false, special = false, context = true;
    if (!lua_isnoneornil(L, 3)) {
        luaL_checktype(L, 3, LUA_TTABLE);
        lua_getfield(L, 3, "bos");
        lua_getfield(L, 3, "special");
        bos = lua_toboolean(L, -2);
        special = lua_toboolean(L, -1);
        if (lua_getfield(L, 3, "context") != LUA_TNIL) context = lua_toboolean(L, -1);
        lua_pop(L, 3);
    }
    int32_t n;
    const int32_t *ids = tokens_arg(L, 2, s->lm, bos, special, context && s->n > 0, &n);
    if (n == 0) { lua_settop(L, 1); return 1; }
    if (s->gm) {                            /* all or nothing: the grammar must allow every token */
        int32_t at = gmatch_n(s->gm);
        for (int32_t i = 0; i < n; i++)
            if (gmatch_accept(s->gm, ids[i]) != 0) {
                gmatch_rewind(s->gm, at);
                return luaL_error(L, "token %d (at %d of the appended tokens) is not allowed by the sequence's grammar here", (int)ids[i], (int)i + 1);
            }
    }
    reserve(L, 1, s, n);
    memcpy(s->toks + s->n, ids, sizeof *ids * (size_t)n);
    s->n += n;
    drop_cache(L, 1);
    lua_settop(L, 1);
    return 1;
}

static int s_tokens(lua_State *L) {
    seq_ud *s = lab_seq_check(L, 1);
    lua_createtable(L, s->n, 0);
    for (int32_t i = 0; i < s->n; i++) {
        lua_pushinteger(L, s->toks[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

/* seq:text([{special=false}]) */
static int s_text(lua_State *L) {
    seq_ud *s = lab_seq_check(L, 1);
    bool special = false;
    if (lua_istable(L, 2)) {
        lua_getfield(L, 2, "special");
        special = lua_toboolean(L, -1);
        lua_pop(L, 1);
    }
    lab_push_text(L, model_tok(s->lm->m), s->toks, s->n, special);
    return 1;
}

/* seq:kv() -> {cells=, pending=}: positions in the KV cache (shared with
 * forks where they share a prefix), and tokens waiting for evaluation */
static int s_kv(lua_State *L) {
    seq_ud *s = lab_seq_check(L, 1);
    lab_seq_settle(L, s, true);
    lua_createtable(L, 0, 2);
    lua_pushinteger(L, s->n_eval);
    lua_setfield(L, -2, "cells");
    lua_pushinteger(L, s->n - s->n_eval);
    lua_setfield(L, -2, "pending");
    return 1;
}

static int s_len(lua_State *L) {
    seq_ud *s = lab_seq_check(L, 1);
    lua_pushinteger(L, s->n);
    return 1;
}

/* seq:pending() -> tokens appended but not evaluated (waits for a job in flight) */
static int s_pending(lua_State *L) {
    seq_ud *s = lab_seq_check(L, 1);
    lab_seq_settle(L, s, true);
    lua_pushinteger(L, s->n - s->n_eval);
    return 1;
}

/* seq:model() -> its Model (a new handle when the first one was closed) */
static int s_model(lua_State *L) {
    seq_ud *s = lab_seq_check(L, 1);
    lua_getiuservalue(L, 1, 1);
    if (!lab_model_is_open(L, -1)) {
        lua_pop(L, 1);
        lab_model_push(L, s->lm);
        lua_pushvalue(L, -1);
        lua_setiuservalue(L, 1, 1);
    }
    return 1;
}

/* seq:fork() -> Seq | nil, err: shares the prefix in the KV cache (O(1)) */
static int s_fork(lua_State *L) {
    seq_ud *s = lab_seq_check(L, 1);
    lab_seq_settle(L, s, true);
    seq_ud *c = lua_newuserdatauv(L, sizeof *c, 3);
    memset(c, 0, sizeof *c);
    c->id = -1;
    luaL_setmetatable(L, SEQ_T);
    int ud = lua_gettop(L);
    lua_getiuservalue(L, 1, 1);
    lua_setiuservalue(L, ud, 1);
    reserve(L, ud, c, s->n > 16 ? s->n : 16);
    lua_getiuservalue(L, 1, 3);
    lua_setiuservalue(L, ud, 3);
    lab_model_sync(L, s->lm);
    int32_t id = ctx_seq_fork(s->lm->c, s->id);
    if (id < 0) {
        lua_gc(L, LUA_GCCOLLECT);
        lab_model_sync(L, s->lm);
        id = ctx_seq_fork(s->lm->c, s->id);
    }
    if (id < 0) return lab_fail(L, "no free sequence to fork into: all %d are in use", (int)ctx_n_seq(s->lm->c));
    lab_model_ref(s->lm);
    c->lm = s->lm;
    c->id = id;
    memcpy(c->toks, s->toks, sizeof *c->toks * (size_t)s->n);
    c->n = s->n;
    c->n_eval = s->n_eval;
    if (s->gm) {
        if (!(c->gm = gmatch_clone(s->gm))) return luaL_error(L, "out of memory");
        c->g_start = s->g_start;
    }
    return 1;
}

/* seq:rewind(pos) -> seq: keeps tokens [0, pos) */
static int s_rewind(lua_State *L) {
    seq_ud *s = lab_seq_check(L, 1);
    lua_Integer pos = luaL_checkinteger(L, 2);
    if (pos < 0 || pos > s->n)
        return luaL_argerror(L, 2, lua_pushfstring(L, "position %I outside [0, %d]", pos, (int)s->n));
    lab_seq_settle(L, s, true);
    if (pos == s->n) { lua_settop(L, 1); return 1; }
    if (pos < s->n_eval) {
        lab_model_sync(L, s->lm);
        if (ctx_seq_rewind(s->lm->c, s->id, (int32_t)pos) != 0) return luaL_error(L, "the engine refused to rewind");
        s->n_eval = (int32_t)pos;
    }
    s->n = (int32_t)pos;
    if (s->gm) {                            /* before the start: the constraint starts there again */
        if (pos >= s->g_start) gmatch_rewind(s->gm, (int32_t)pos - s->g_start);
        else { gmatch_reset(s->gm); s->g_start = (int32_t)pos; }
    }
    drop_cache(L, 1);
    lua_settop(L, 1);
    return 1;
}

static void seq_release(lua_State *L, seq_ud *s) {
    gmatch_destroy(s->gm);
    s->gm = NULL;
    if (!s->lm) return;
    lab_seq_settle(L, s, true);
    lab_model_sync(L, s->lm);
    ctx_seq_drop(s->lm->c, s->id);
    lab_model_unref(s->lm);
    s->lm = NULL;
}

/* ---- constraints ------------------------------------------------------ */

gmatch *lab_seq_gmatch(lua_State *L, int idx) { return lab_seq_check(L, idx)->gm; }

void lab_seq_constrain(lua_State *L, int idx, int gidx) {
    seq_ud *s = lab_seq_check(L, idx);
    gmatch_ctx *c = lab_grammar_ctx(L, gidx, s->lm);
    gmatch *m = gmatch_create(c);
    if (!m) luaL_error(L, "out of memory");
    gmatch_destroy(s->gm);
    s->gm = m;
    s->g_start = s->n;
}

/* seq:constrain(grammar | nil) -> seq: tokens appended from here on must
 * follow the grammar (samplers given the seq mask by it); nil removes it */
static int s_constrain(lua_State *L) {
    seq_ud *s = lab_seq_check(L, 1);
    if (lua_isnoneornil(L, 2)) {
        gmatch_destroy(s->gm);
        s->gm = NULL;
    } else {
        if (!lab_grammar_is(L, 2)) return luaL_argerror(L, 2, "a Grammar (lab.grammar) or nil expected");
        lab_seq_constrain(L, 1, 2);
    }
    lua_settop(L, 1);
    return 1;
}

/* seq:grammar_state() -> {start=, n=, allowed=, complete=, finished=} | nil */
static int s_grammar_state(lua_State *L) {
    seq_ud *s = lab_seq_check(L, 1);
    if (!s->gm) { lua_pushnil(L); return 1; }
    lua_createtable(L, 0, 5);
    lua_pushinteger(L, s->g_start);
    lua_setfield(L, -2, "start");
    lua_pushinteger(L, gmatch_n(s->gm));
    lua_setfield(L, -2, "n");
    lua_pushinteger(L, gmatch_count(s->gm));
    lua_setfield(L, -2, "allowed");
    lua_pushboolean(L, gmatch_complete(s->gm));
    lua_setfield(L, -2, "complete");
    lua_pushboolean(L, gmatch_finished(s->gm));
    lua_setfield(L, -2, "finished");
    return 1;
}

/* seq:allowed(id) -> bool: the constraint allows token id next (true without one) */
static int s_allowed(lua_State *L) {
    seq_ud *s = lab_seq_check(L, 1);
    lua_Integer id = luaL_checkinteger(L, 2);
    lua_pushboolean(L, !s->gm || (id >= 0 && id <= INT32_MAX && gmatch_allowed(s->gm, (int32_t)id)));
    return 1;
}

static int s_close(lua_State *L) {
    seq_ud *s = luaL_checkudata(L, 1, SEQ_T);
    seq_release(L, s);
    return 0;
}

static int s_tostring(lua_State *L) {
    seq_ud *s = luaL_checkudata(L, 1, SEQ_T);
    if (!s->lm) lua_pushliteral(L, "Seq(closed)");
    else lua_pushfstring(L, "Seq(%d tokens, %d pending)", (int)s->n, (int)(s->n - s->n_eval));
    return 1;
}

static const luaL_Reg seq_methods[] = {
    { "append", s_append }, { "tokens", s_tokens }, { "text", s_text },     { "len", s_len },
    { "pending", s_pending }, { "model", s_model }, { "fork", s_fork },     { "rewind", s_rewind },
    { "submit", lab_eval_seq_submit }, { "close", s_close },   { "kv", s_kv },
    { "constrain", s_constrain }, { "grammar_state", s_grammar_state }, { "allowed", s_allowed }, { NULL, NULL },
};
static const luaL_Reg seq_meta[] = {
    { "__gc", s_close }, { "__close", s_close }, { "__len", s_len }, { "__tostring", s_tostring }, { NULL, NULL },
};

/* lab_open_seq(lab): the Seq type, model:seq, lab.submit. */
int lab_open_seq(lua_State *L) {
    lab_class(L, SEQ_T, "Seq", seq_methods, seq_meta);
    lua_pushcfunction(L, lab_eval_submit);
    lua_setfield(L, 1, "submit");
    lua_getfield(L, LUA_REGISTRYINDEX, "lab.priv");
    lua_getfield(L, -1, "Model");
    lua_pushcfunction(L, l_seq);
    lua_setfield(L, -2, "seq");
    lua_pop(L, 2);
    lab_open_kvstate(L);
    return 0;
}
