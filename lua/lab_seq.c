/* lab_seq: sequences (model:seq) and the engine jobs over them: eval
 * batches (seq:submit, lab.submit; seq:eval and lab.eval_batch are Lua on
 * top). lab.score's primitive lives in lab_score.c.
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
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "gmatch.h"
#include "lhost_impl.h"
#include "logits.h"
#include "model.h"
#include "tok.h"

#define SEQ_T "lab.Seq"

typedef struct seq_ud {
    lmodel *lm;             /* a reference; NULL once closed */
    int32_t id;             /* the ctx's sequence id */
    int32_t n_eval;         /* tokens in the KV cache */
    int32_t n, cap;         /* tokens in all, capacity of toks */
    int32_t *toks;          /* (cap), the buffer in uservalue 2 */
    ljob *job;              /* eval in flight (a reference) or NULL */
    int item;               /* this seq's item in job */
    gmatch *gm;             /* constraint over tokens [g_start, n), or NULL (owned) */
    int32_t g_start;
} seq_ud;

typedef struct eval_item {
    lmodel *m;              /* borrowed: the job holds a reference in models[] */
    int32_t seq, pos0, n;   /* n == 0: answered from the seq's cached logits */
    int32_t *toks;          /* (n) */
    int32_t n_rows;         /* rows kept: 1 (the last token), or n with `all` */
    float *row;             /* (n_rows * n_vocab) full rows, or NULL when reduced */
    int32_t *top_id;        /* (n_rows * top), -1 past the vocabulary */
    float *top_lp;          /* (n_rows * top) */
    float *ids_lp;          /* (n_rows * n_ids) */
    int32_t n_done;         /* tokens the worker appended */
} eval_item;

/* What an evaluation returns (seq:eval{...}): every position's row (all)
 * and, instead of full rows (reduced), only the top-k and/or the log-probs
 * of given ids, computed on the worker. */
typedef struct eval_opts {
    bool all;
    int32_t top;            /* 0: none */
    int32_t n_ids;          /* 0: none */
    int32_t *ids;           /* (n_ids) */
} eval_opts;

typedef struct eval_job {
    int n_items;
    bool single;
    eval_opts o;
    eval_item items[];
} eval_job;

static bool reduced(const eval_opts *o) { return o->top > 0 || o->n_ids > 0; }

/* ---- settling -------------------------------------------------------- */

static void settle(lua_State *L, seq_ud *s, bool wait) {
    if (!s->job) return;
    if (!lwork_job_done(s->job)) {
        if (!wait) return;
        lwork_wait(lhost_of(L)->work, s->job);
    }
    eval_job *ej = s->job->p;
    s->n_eval += ej->items[s->item].n_done;
    lwork_job_unref(s->job);
    s->job = NULL;
}

static seq_ud *check_seq(lua_State *L, int idx) {
    seq_ud *s = luaL_checkudata(L, idx, SEQ_T);
    if (!s->lm) luaL_argerror(L, idx, "the sequence is closed");
    settle(L, s, false);
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
    seq_ud *s = check_seq(L, idx);
    settle(L, s, true);
    *out = (lab_seq_state){ s->lm, s->id, s->n_eval, s->n, s->toks };
}

bool lab_is_seq(lua_State *L, int idx) { return luaL_testudata(L, idx, SEQ_T) != NULL; }

void lab_seq_set_cached(lua_State *L, int idx, int32_t n_eval) {
    seq_ud *s = check_seq(L, idx);
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
    seq_ud *s = check_seq(L, 1);
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
    seq_ud *s = check_seq(L, 1);
    lua_createtable(L, s->n, 0);
    for (int32_t i = 0; i < s->n; i++) {
        lua_pushinteger(L, s->toks[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

/* seq:text([{special=false}]) */
static int s_text(lua_State *L) {
    seq_ud *s = check_seq(L, 1);
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
    seq_ud *s = check_seq(L, 1);
    settle(L, s, true);
    lua_createtable(L, 0, 2);
    lua_pushinteger(L, s->n_eval);
    lua_setfield(L, -2, "cells");
    lua_pushinteger(L, s->n - s->n_eval);
    lua_setfield(L, -2, "pending");
    return 1;
}

static int s_len(lua_State *L) {
    seq_ud *s = check_seq(L, 1);
    lua_pushinteger(L, s->n);
    return 1;
}

/* seq:pending() -> tokens appended but not evaluated (waits for a job in flight) */
static int s_pending(lua_State *L) {
    seq_ud *s = check_seq(L, 1);
    settle(L, s, true);
    lua_pushinteger(L, s->n - s->n_eval);
    return 1;
}

/* seq:model() -> its Model (a new handle when the first one was closed) */
static int s_model(lua_State *L) {
    seq_ud *s = check_seq(L, 1);
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
    seq_ud *s = check_seq(L, 1);
    settle(L, s, true);
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
    seq_ud *s = check_seq(L, 1);
    lua_Integer pos = luaL_checkinteger(L, 2);
    if (pos < 0 || pos > s->n)
        return luaL_argerror(L, 2, lua_pushfstring(L, "position %I outside [0, %d]", pos, (int)s->n));
    settle(L, s, true);
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
    settle(L, s, true);
    lab_model_sync(L, s->lm);
    ctx_seq_drop(s->lm->c, s->id);
    lab_model_unref(s->lm);
    s->lm = NULL;
}

/* ---- constraints ------------------------------------------------------ */

gmatch *lab_seq_gmatch(lua_State *L, int idx) { return check_seq(L, idx)->gm; }

void lab_seq_constrain(lua_State *L, int idx, int gidx) {
    seq_ud *s = check_seq(L, idx);
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
    seq_ud *s = check_seq(L, 1);
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
    seq_ud *s = check_seq(L, 1);
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
    seq_ud *s = check_seq(L, 1);
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

/* ---- eval jobs -------------------------------------------------------- */

/* Keeps row number r of item it: a copy, or its top-k and ids' log-probs. */
static void keep_row(const eval_opts *o, eval_item *it, int32_t r, const float *row, int32_t nv) {
    if (!reduced(o)) {
        memcpy(it->row + (size_t)r * (size_t)nv, row, sizeof(float) * (size_t)nv);
        return;
    }
    double lse = logits_logsumexp(row, nv);
    if (o->top) {
        int32_t *ids = it->top_id + (size_t)r * (size_t)o->top;
        float *lp = it->top_lp + (size_t)r * (size_t)o->top;
        int32_t k = logits_top_k(row, nv, o->top, ids);
        for (int32_t i = 0; i < o->top; i++) {
            if (i >= k) ids[i] = -1;
            lp[i] = i < k ? (float)((double)row[ids[i]] - lse) : -INFINITY;
        }
    }
    for (int32_t i = 0; i < o->n_ids; i++)
        it->ids_lp[(size_t)r * (size_t)o->n_ids + i] = (float)((double)row[o->ids[i]] - lse);
}

static void eval_flush(ljob *j, lmodel *m, ctx_entry *e, int *owner, int32_t *tpos, int k) {
    eval_job *ej = j->p;
    if (j->status) return;
    char err[256];
    int rc = ctx_eval(m->c, e, k, err, sizeof err);
    m->steps++;
    if (rc == 0) m->evaluated += k;
    if (rc != 0) {
        j->status = LHOST_EINVAL;
        snprintf(j->err, sizeof j->err, "%s", err);
        return;
    }
    int32_t r = 0;
    for (int i = 0; i < k; i++) {
        eval_item *it = &ej->items[owner[i]];
        it->n_done++;
        if (e[i].logits) keep_row(&ej->o, it, ej->o.all ? tpos[i] : 0, ctx_logits(m->c, r++), m->n_vocab);
    }
}

/* On the worker: each model's items in batches of at most n_batch entries,
 * logits kept for the last token of each item. */
static void eval_run(ljob *j) {
    eval_job *ej = j->p;
    for (int mi = 0; mi < j->n_models && !j->status; mi++) {
        lmodel *m = j->models[mi];
        int nb = ctx_n_batch(m->c);
        ctx_entry *e = malloc(sizeof *e * (size_t)nb);
        int *owner = malloc(sizeof *owner * (size_t)nb);
        int32_t *tpos = malloc(sizeof *tpos * (size_t)nb);
        if (!e || !owner || !tpos) {
            free(e);
            free(owner);
            free(tpos);
            j->status = LHOST_ENOMEM;
            snprintf(j->err, sizeof j->err, "out of memory");
            return;
        }
        int k = 0;
        for (int i = 0; i < ej->n_items && !j->status; i++) {
            eval_item *it = &ej->items[i];
            if (it->m != m) continue;
            for (int32_t t = it->n_done; t < it->n; t++) {     /* resumes after a shared step that failed */
                e[k] = (ctx_entry){ it->seq, it->pos0 + t, it->toks[t], ej->o.all || t == it->n - 1 };
                owner[k] = i;
                tpos[k++] = t;
                if (k == nb) { eval_flush(j, m, e, owner, tpos, k); k = 0; }
            }
        }
        if (k) eval_flush(j, m, e, owner, tpos, k);
        free(e);
        free(owner);
        free(tpos);
    }
}

/* The eval job's share of the steps of model m shared with other jobs
 * (lab_merge.c): the tokens of m's items not appended yet (n_done counts
 * those that are: a share resumes where a failed step left it), rows kept
 * as eval_run keeps them. */
static int eval_prep(ljob *j, lmodel *m, char *err, size_t errlen) {
    (void)err;
    (void)errlen;
    eval_job *ej = j->p;
    int k = 0;
    for (int i = 0; i < ej->n_items; i++)
        if (ej->items[i].m == m) k += ej->items[i].n - ej->items[i].n_done;
    return k;
}

static void eval_fill(ljob *j, lmodel *m, ctx_entry *e) {
    eval_job *ej = j->p;
    int k = 0;
    for (int i = 0; i < ej->n_items; i++) {
        eval_item *it = &ej->items[i];
        if (it->m != m) continue;
        for (int32_t t = it->n_done; t < it->n; t++)
            e[k++] = (ctx_entry){ it->seq, it->pos0 + t, it->toks[t], ej->o.all || t == it->n - 1 };
    }
}

/* The next n entries are those after the last token appended (n_done). */
static void eval_take(ljob *j, lmodel *m, const ctx_entry *e, int n, int32_t r) {
    eval_job *ej = j->p;
    int q = 0;
    for (int i = 0; i < ej->n_items && q < n; i++) {
        eval_item *it = &ej->items[i];
        if (it->m != m) continue;
        for (int32_t t = it->n_done; t < it->n && q < n; t++, q++) {
            it->n_done++;
            if (e[q].logits) keep_row(&ej->o, it, ej->o.all ? t : 0, ctx_logits(m->c, r++), m->n_vocab);
        }
    }
}

static const ljob_part eval_part = { eval_prep, eval_fill, eval_take, NULL };

static void eval_free(ljob *j) {
    eval_job *ej = j->p;
    for (int i = 0; ej && i < ej->n_items; i++) {
        free(ej->items[i].toks);
        free(ej->items[i].row);
        free(ej->items[i].top_id);
        free(ej->items[i].top_lp);
        free(ej->items[i].ids_lp);
    }
    if (ej) free(ej->o.ids);
    free(ej);
}

/* Pushes row r of item it as the options ask: a Logits, or {top=, logprobs=}. */
static void push_row(lua_State *L, const eval_opts *o, const eval_item *it, int32_t r) {
    int32_t nv = it->m->n_vocab;
    if (!reduced(o)) {
        lab_logits_push(L, it->m, it->row + (size_t)r * (size_t)nv, nv, false);
        return;
    }
    lua_createtable(L, 0, 2);
    if (o->top) {
        lua_createtable(L, o->top, 0);
        for (int32_t i = 0; i < o->top; i++) {
            size_t at = (size_t)r * (size_t)o->top + (size_t)i;
            if (it->top_id[at] < 0) break;
            lua_createtable(L, 0, 2);
            lua_pushinteger(L, it->top_id[at]);
            lua_setfield(L, -2, "id");
            lua_pushnumber(L, it->top_lp[at]);
            lua_setfield(L, -2, "logprob");
            lua_rawseti(L, -2, i + 1);
        }
        lua_setfield(L, -2, "top");
    }
    if (o->n_ids) {
        lua_createtable(L, o->n_ids, 0);
        for (int32_t i = 0; i < o->n_ids; i++) {
            lua_pushnumber(L, it->ids_lp[(size_t)r * (size_t)o->n_ids + (size_t)i]);
            lua_rawseti(L, -2, i + 1);
        }
        lua_setfield(L, -2, "logprobs");
    }
}

/* Results: one Logits (seq:submit) or a list (lab.submit); with `all`, a
 * list of rows per seq. Also settles the seqs and caches each one's
 * logits while nothing is pending. */
static int eval_push(lua_State *L, ljob *j, int idx) {
    eval_job *ej = j->p;
    bool plain = !ej->o.all && !reduced(&ej->o);
    lua_getiuservalue(L, idx, 1);                      /* [seqs] */
    int seqs = lua_gettop(L);
    lua_getfield(L, seqs, "cached");                   /* [seqs cached] */
    lua_createtable(L, ej->n_items, 0);                /* [seqs cached out] */
    for (int i = 0; i < ej->n_items; i++) {
        eval_item *it = &ej->items[i];
        if (it->n == 0) lua_rawgeti(L, seqs + 1, i + 1);
        else if (!ej->o.all) push_row(L, &ej->o, it, 0);
        else {
            lua_createtable(L, it->n_rows, 0);
            for (int32_t r = 0; r < it->n_rows; r++) {
                push_row(L, &ej->o, it, r);
                lua_rawseti(L, -2, r + 1);
            }
        }
        lua_rawgeti(L, seqs, i + 1);                   /* [... logits seq] */
        seq_ud *s = lua_touserdata(L, -1);
        if (s->job == j) settle(L, s, false);
        if (plain && s->lm && !s->job && s->n == s->n_eval && s->n_eval == it->pos0 + it->n) {
            lua_pushvalue(L, -2);
            lua_setiuservalue(L, -2, 3);
        }
        lua_pop(L, 1);
        lua_rawseti(L, -2, i + 1);
    }
    if (ej->single) lua_rawgeti(L, -1, 1);
    return 1;
}

/* Checks and settles the seqs at [first, first+count); raises on misuse. */
static void check_batch(lua_State *L, int first, int count) {
    luaL_checkstack(L, count + 8, "too many sequences");
    for (int i = 0; i < count; i++) {
        seq_ud *s = check_seq(L, first + i);
        settle(L, s, true);
        for (int k = 0; k < i; k++)
            if (lua_touserdata(L, first + k) == s) luaL_argerror(L, first + i, "the same sequence twice in one batch");
        if (s->n == 0) luaL_argerror(L, first + i, "the sequence is empty: append tokens first");
    }
}

/* Sets uservalue 1 of the Job at job to {seq, ..., cached = {[i] = Logits}}:
 * a seq with nothing pending answers with its cached row, or, having none,
 * gives its last token back to be evaluated again. Returns how many seqs
 * need the engine. */
static int batch_table(lua_State *L, int job, int first, int count, bool use_cache) {
    lua_createtable(L, count, 1);                      /* [seqs] */
    lua_newtable(L);                                   /* [seqs cached] */
    int n_work = 0;
    for (int i = 0; i < count; i++) {
        seq_ud *s = lua_touserdata(L, first + i);
        lua_pushvalue(L, first + i);
        lua_rawseti(L, -3, i + 1);
        if (s->n > s->n_eval) { n_work++; continue; }
        if (lua_getiuservalue(L, first + i, 3) != LUA_TNIL && use_cache) {
            lua_rawseti(L, -2, i + 1);
            continue;
        }
        lua_pop(L, 1);
        lab_model_sync(L, s->lm);
        if (ctx_seq_rewind(s->lm->c, s->id, s->n_eval - 1) != 0) luaL_error(L, "the engine refused to rewind");
        s->n_eval--;
        n_work++;
    }
    lua_setfield(L, -2, "cached");
    lua_setiuservalue(L, job, 1);
    return n_work;
}

/* Copies each seq's pending tokens into the job and collects its models;
 * false when out of memory (the job frees what was allocated). */
static bool fill_items(lua_State *L, ljob *j, eval_job *ej, int first, int count) {
    j->models = calloc((size_t)count, sizeof *j->models);
    if (!j->models) return false;
    for (int i = 0; i < count; i++) {
        seq_ud *s = lua_touserdata(L, first + i);
        eval_item *it = &ej->items[i];
        *it = (eval_item){ .m = s->lm, .seq = s->id, .pos0 = s->n_eval, .n = s->n - s->n_eval };
        if (!it->n) continue;
        const eval_opts *o = &ej->o;
        it->n_rows = o->all ? it->n : 1;
        size_t rows = (size_t)it->n_rows;
        it->toks = malloc(sizeof *it->toks * (size_t)it->n);
        if (!it->toks) return false;
        if (!reduced(o) && !(it->row = malloc(sizeof *it->row * rows * (size_t)s->lm->n_vocab))) return false;
        if (o->top && (!(it->top_id = malloc(sizeof *it->top_id * rows * (size_t)o->top)) ||
                       !(it->top_lp = malloc(sizeof *it->top_lp * rows * (size_t)o->top))))
            return false;
        if (o->n_ids && !(it->ids_lp = malloc(sizeof *it->ids_lp * rows * (size_t)o->n_ids))) return false;
        for (int32_t k = 0; k < o->n_ids; k++)
            if (o->ids[k] >= s->lm->n_vocab)
                luaL_error(L, "bad option 'ids' (token id %d out of range [0, %d) of a sequence's model)",
                           (int)o->ids[k], (int)s->lm->n_vocab);
        memcpy(it->toks, s->toks + s->n_eval, sizeof *it->toks * (size_t)it->n);
        int k = 0;
        while (k < j->n_models && j->models[k] != s->lm) k++;
        if (k == j->n_models) {
            lab_model_ref(s->lm);
            j->models[j->n_models++] = s->lm;
        }
    }
    return true;
}

/* Reads the eval options table at idx (nil: none) into o (ids malloc'd:
 * the caller frees them, or hands them to a job). Raises on misuse. */
static void read_eval_opts(lua_State *L, int idx, const char *fname, eval_opts *o) {
    *o = (eval_opts){ 0 };
    if (lua_isnoneornil(L, idx)) return;
    if (!lua_istable(L, idx))
        luaL_error(L, "bad argument #%d to '%s' (options {all=, top=, ids=} expected, got %s)", idx, fname, luaL_typename(L, idx));
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
        if (strcmp(k, "all") == 0) o->all = lua_toboolean(L, -1);
        else if (strcmp(k, "top") == 0) {
            if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 || lua_tointeger(L, -1) > 1000)
                luaL_error(L, "bad argument #%d to '%s' (top must be an integer in [1, 1000])", idx, fname);
            o->top = (int32_t)lua_tointeger(L, -1);
        } else if (strcmp(k, "ids") != 0) {
            luaL_error(L, "bad argument #%d to '%s' (unknown option '%s'; known: all, top, ids)", idx, fname, k);
        }
        lua_pop(L, 1);
    }
    if (lua_getfield(L, idx, "ids") != LUA_TNIL) {
        int32_t n;
        const int32_t *ids = lab_check_tokens(L, lua_gettop(L), INT32_MAX, &n);
        if (n < 1) luaL_error(L, "bad argument #%d to '%s' (ids must list at least one token id)", idx, fname);
        o->ids = malloc(sizeof *o->ids * (size_t)n);
        if (!o->ids) luaL_error(L, "out of memory");
        memcpy(o->ids, ids, sizeof *ids * (size_t)n);
        o->n_ids = n;
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

/* Submits the seqs at [first, first+count) as one job; pushes the Job.
 * o's ids pass to the job. */
static int submit(lua_State *L, int first, int count, bool single, eval_opts *o) {
    lab_job_push(L, NULL, "eval");                     /* [.. Job] */
    int job = lua_gettop(L);
    eval_job *ej = calloc(1, sizeof *ej + sizeof(eval_item) * (size_t)count);
    ljob *j = ej ? lwork_job_new(eval_run, eval_free, ej) : NULL;
    if (!j) {
        free(ej);
        free(o->ids);
        return luaL_error(L, "out of memory");
    }
    ej->o = *o;
    ej->single = single;
    j->push = eval_push;
    j->run_group = lab_run_parts;
    j->part = &eval_part;
    lab_job_set(L, job, j);                            /* the Job owns j (and the ids) from here */
    check_batch(L, first, count);
    int n_work = batch_table(L, job, first, count, !o->all && !reduced(o));
    ej->n_items = count;
    if (!fill_items(L, j, ej, first, count)) return luaL_error(L, "out of memory");
    if (n_work == 0) {
        lwork_job_finish(j, 0, NULL);
        return 1;
    }
    for (int i = 0; i < count; i++) {
        seq_ud *s = lua_touserdata(L, first + i);
        if (!ej->items[i].n) continue;
        lwork_job_ref(j);
        s->job = j;
        s->item = i;
    }
    lwork_submit(lhost_of(L)->work, j);
    return 1;
}

/* seq:submit([opts]) -> Job (lab.await gives the Logits after the pending tokens) */
static int s_submit(lua_State *L) {
    check_seq(L, 1);
    lua_settop(L, 2);
    eval_opts o;
    read_eval_opts(L, 2, "submit", &o);
    lua_pushvalue(L, 1);
    return submit(L, 3, 1, true, &o);
}

/* lab.submit({seq, ...} [, opts]) -> Job (lab.await gives a list of Logits) */
static int l_submit(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 2);
    lua_Integer n = luaL_len(L, 1);
    if (n < 1) return luaL_argerror(L, 1, "a list of one or more sequences expected");
    if (n > 4096) return luaL_argerror(L, 1, "at most 4096 sequences in one batch");
    luaL_checkstack(L, (int)n + 8, "too many sequences");
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, 1, i);
        if (!luaL_testudata(L, -1, SEQ_T))
            return luaL_argerror(L, 1, lua_pushfstring(L, "entry %I is not a Seq", i));
    }
    eval_opts o;
    read_eval_opts(L, 2, "submit", &o);
    return submit(L, 3, (int)n, false, &o);
}

static const luaL_Reg seq_methods[] = {
    { "append", s_append }, { "tokens", s_tokens }, { "text", s_text },     { "len", s_len },
    { "pending", s_pending }, { "model", s_model }, { "fork", s_fork },     { "rewind", s_rewind },
    { "submit", s_submit }, { "close", s_close },   { "kv", s_kv },
    { "constrain", s_constrain }, { "grammar_state", s_grammar_state }, { "allowed", s_allowed }, { NULL, NULL },
};
static const luaL_Reg seq_meta[] = {
    { "__gc", s_close }, { "__close", s_close }, { "__len", s_len }, { "__tostring", s_tostring }, { NULL, NULL },
};

/* lab_open_seq(lab): the Seq type, model:seq, lab.submit. */
int lab_open_seq(lua_State *L) {
    lab_class(L, SEQ_T, "Seq", seq_methods, seq_meta);
    lua_pushcfunction(L, l_submit);
    lua_setfield(L, 1, "submit");
    lua_getfield(L, LUA_REGISTRYINDEX, "lab.priv");
    lua_getfield(L, -1, "Model");
    lua_pushcfunction(L, l_seq);
    lua_setfield(L, -2, "seq");
    lua_pop(L, 2);
    lab_open_kvstate(L);
    return 0;
}
