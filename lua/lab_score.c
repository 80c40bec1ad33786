/* lab_score: scoring continuations on the KV cache (seq:score and
 * lab.score_batch), one engine step for many continuations of one or many
 * sequences.
 *
 * A continuation is scored in a temporary fork of its sequence, made,
 * evaluated and dropped on the worker: the sequence itself does not change
 * and its prefix is never evaluated again. The fork is rewound by one token
 * and that token evaluated again, so the row predicting the first
 * continuation token comes from the engine (a position's logits are a
 * property of the sequence alone, so it is the row the sequence had);
 * pending tokens of the sequence are evaluated in the fork too. Only the
 * rows that predict a continuation token are asked of the forward pass, and
 * each is reduced on the worker (log-softmax of the next token in double, as
 * core/score.c does, and the top-k on request), so no n_vocab row reaches
 * Lua.
 *
 * lab.score (priv.score_submit) is here too: a continuation after a prompt
 * scored from scratch by core/score.c, with the same result table.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "lhost_impl.h"
#include "logits.h"
#include "model.h"
#include "score.h"
#include "tok.h"

typedef struct sc_item {
    lmodel *m;              /* borrowed: the job holds a reference in models[] */
    int32_t seq;            /* the sequence's id */
    int32_t pos0;           /* position of toks[0] in the fork */
    int32_t n_pre, n_cont;  /* toks = n_pre tokens before the continuation, then it */
    int32_t *toks;          /* (n_pre + n_cont) */
    float *lp;              /* (n_cont) */
    int32_t *top_id;        /* (n_cont * top) or NULL */
    float *top_lp;
    double sum;
    int32_t fork;           /* worker: the fork's id, or -1 */
    int32_t n_took;         /* worker, in shared steps: entries whose rows were taken */
} sc_item;

typedef struct sc_job {
    int n_items;
    int32_t top;            /* k of the top-k per position, 0 = none */
    bool single;
    sc_item items[];
} sc_job;

/* Reduces the row of entry t of item it (it predicts toks[t + 1]). */
static void reduce(const sc_job *sj, sc_item *it, int32_t t, const float *row, int32_t nv) {
    int32_t j = t - (it->n_pre - 1);
    double lse = logits_logsumexp(row, nv);
    double l = (double)row[it->toks[t + 1]] - lse;
    it->lp[j] = (float)l;
    it->sum += l;
    if (!sj->top) return;
    int32_t *ids = it->top_id + (size_t)j * (size_t)sj->top;
    int32_t k = logits_top_k(row, nv, sj->top, ids);
    for (int32_t i = 0; i < sj->top; i++) {
        if (i >= k) ids[i] = -1;
        it->top_lp[(size_t)j * (size_t)sj->top + i] = i < k ? (float)((double)row[ids[i]] - lse) : -INFINITY;
    }
}

static bool wanted(const sc_item *it, int32_t t) { return t >= it->n_pre - 1 && t < it->n_pre + it->n_cont - 1; }

static void flush(ljob *j, lmodel *m, ctx_entry *e, int *owner, int32_t *tpos, int k) {
    sc_job *sj = j->p;
    char err[256];
    m->steps++;
    if (ctx_eval(m->c, e, k, err, sizeof err) != 0) {
        j->status = LHOST_EINVAL;
        snprintf(j->err, sizeof j->err, "%s", err);
        return;
    }
    m->evaluated += k;
    int32_t r = 0;
    for (int i = 0; i < k; i++)
        if (e[i].logits) reduce(sj, &sj->items[owner[i]], tpos[i], ctx_logits(m->c, r++), m->n_vocab);
}

static void sc_run(ljob *j) {
    sc_job *sj = j->p;
    for (int i = 0; i < sj->n_items; i++) {     /* from the start, also after a shared step that failed */
        sj->items[i].fork = -1;
        sj->items[i].sum = 0;
    }
    for (int mi = 0; mi < j->n_models && !j->status; mi++) {
        lmodel *m = j->models[mi];
        for (int i = 0; i < sj->n_items && !j->status; i++) {
            sc_item *it = &sj->items[i];
            if (it->m != m) continue;
            it->fork = ctx_seq_fork(m->c, it->seq);
            if (it->fork < 0 || ctx_seq_rewind(m->c, it->fork, it->pos0) != 0) {
                j->status = LHOST_EINVAL;
                snprintf(j->err, sizeof j->err,
                         "no free sequence slot to score in (all %d in use): close some sequences, or open the model with a larger n_seq_max",
                         (int)ctx_n_seq(m->c));
            }
        }
        int nb = ctx_n_batch(m->c);
        ctx_entry *e = malloc(sizeof *e * (size_t)nb);
        int *owner = malloc(sizeof *owner * (size_t)nb);
        int32_t *tpos = malloc(sizeof *tpos * (size_t)nb);
        if (!e || !owner || !tpos) {
            j->status = LHOST_ENOMEM;
            snprintf(j->err, sizeof j->err, "out of memory");
        }
        int k = 0;
        for (int i = 0; i < sj->n_items && !j->status; i++) {
            sc_item *it = &sj->items[i];
            if (it->m != m) continue;
            for (int32_t t = 0; t < it->n_pre + it->n_cont - 1 && !j->status; t++) {
                e[k] = (ctx_entry){ it->fork, it->pos0 + t, it->toks[t], wanted(it, t) };
                owner[k] = i;
                tpos[k++] = t;
                if (k == nb) { flush(j, m, e, owner, tpos, k); k = 0; }
            }
        }
        if (k && !j->status) flush(j, m, e, owner, tpos, k);
        free(e);
        free(owner);
        free(tpos);
        for (int i = 0; i < sj->n_items; i++)
            if (sj->items[i].m == m && sj->items[i].fork >= 0) {
                ctx_seq_drop(m->c, sj->items[i].fork);
                sj->items[i].fork = -1;
            }
    }
}

/* A score job's share of the steps of model m shared with other jobs
 * (lab_merge.c): a fork per item of m, made and rewound here, dropped by
 * sc_undo (the sequences never change, so a share that did not finish
 * starts again from scratch). */
static void sc_undo(ljob *j, lmodel *m) {
    sc_job *sj = j->p;
    for (int i = 0; i < sj->n_items; i++)
        if (sj->items[i].m == m && sj->items[i].fork >= 0) {
            ctx_seq_drop(m->c, sj->items[i].fork);
            sj->items[i].fork = -1;
        }
}

static int sc_prep(ljob *j, lmodel *m, char *err, size_t errlen) {
    sc_job *sj = j->p;
    int k = 0;
    for (int i = 0; i < sj->n_items; i++)
        if (sj->items[i].m == m) sj->items[i].fork = -1;
    for (int i = 0; i < sj->n_items; i++) {
        sc_item *it = &sj->items[i];
        if (it->m != m) continue;
        it->sum = 0;
        it->n_took = 0;
        it->fork = ctx_seq_fork(m->c, it->seq);
        if (it->fork < 0 || ctx_seq_rewind(m->c, it->fork, it->pos0) != 0) {
            if (it->fork < 0) it->fork = -1;
            snprintf(err, errlen,
                     "no free sequence slot to score in (all %d in use): close some sequences, or open the model with a larger n_seq_max",
                     (int)ctx_n_seq(m->c));
            sc_undo(j, m);
            return -1;
        }
        k += it->n_pre + it->n_cont - 1;
    }
    return k;
}

static void sc_fill(ljob *j, lmodel *m, ctx_entry *e) {
    sc_job *sj = j->p;
    int k = 0;
    for (int i = 0; i < sj->n_items; i++) {
        sc_item *it = &sj->items[i];
        if (it->m != m) continue;
        for (int32_t t = 0; t < it->n_pre + it->n_cont - 1; t++)
            e[k++] = (ctx_entry){ it->fork, it->pos0 + t, it->toks[t], wanted(it, t) };
    }
}

static void sc_take(ljob *j, lmodel *m, const ctx_entry *e, int n, int32_t r) {
    sc_job *sj = j->p;
    int q = 0;
    for (int i = 0; i < sj->n_items && q < n; i++) {
        sc_item *it = &sj->items[i];
        if (it->m != m) continue;
        for (int32_t t = it->n_took; t < it->n_pre + it->n_cont - 1 && q < n; t++, q++) {
            it->n_took++;
            if (e[q].logits) reduce(sj, it, t, ctx_logits(m->c, r++), m->n_vocab);
        }
    }
}

static const ljob_part sc_part = { sc_prep, sc_fill, sc_take, sc_undo };

static void sc_free(ljob *j) {
    sc_job *sj = j->p;
    for (int i = 0; sj && i < sj->n_items; i++) {
        free(sj->items[i].toks);
        free(sj->items[i].lp);
        free(sj->items[i].top_id);
        free(sj->items[i].top_lp);
    }
    free(sj);
}

/* Pushes {logprob=, n=, ppl=, logprobs={...}, tokens={...}, evaluated=} for
 * k scored tokens: lp (k) their log-probs, toks (k) the tokens themselves;
 * evaluated, the tokens the engine evaluated to score them (what
 * lab.task_budget charges). */
static void push_scored(lua_State *L, double sum, int32_t k, const float *lp, const int32_t *toks, int32_t evaluated) {
    lua_createtable(L, 0, 7);
    lua_pushinteger(L, evaluated);
    lua_setfield(L, -2, "evaluated");
    lua_pushnumber(L, sum);
    lua_setfield(L, -2, "logprob");
    lua_pushinteger(L, k);
    lua_setfield(L, -2, "n");
    lua_pushnumber(L, exp(-sum / k));
    lua_setfield(L, -2, "ppl");
    lua_createtable(L, k, 0);
    for (int32_t i = 0; i < k; i++) {
        lua_pushnumber(L, lp[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "logprobs");
    lua_createtable(L, k, 0);
    for (int32_t i = 0; i < k; i++) {
        lua_pushinteger(L, toks[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "tokens");
}

/* {logprob=, logprobs=, tokens=, n=, ppl=[, top={{{id=, logprob=}, ...}, ...}]} */
static void push_item(lua_State *L, const sc_job *sj, const sc_item *it) {
    int32_t k = it->n_cont;
    /* the fork re-evaluates its last evaluated token and the pending ones,
     * then every continuation token but the last (a target only) */
    push_scored(L, it->sum, k, it->lp, it->toks + it->n_pre, it->n_pre + it->n_cont - 1);
    if (!sj->top) return;
    lua_createtable(L, k, 0);
    for (int32_t i = 0; i < k; i++) {
        size_t at = (size_t)i * (size_t)sj->top;
        lab_top_push(L, it->top_id + at, it->top_lp + at, sj->top);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "top");
}

static int sc_push(lua_State *L, ljob *j, int idx) {
    (void)idx;
    sc_job *sj = j->p;
    if (sj->single) {
        push_item(L, sj, &sj->items[0]);
        return 1;
    }
    lua_createtable(L, sj->n_items, 0);
    for (int i = 0; i < sj->n_items; i++) {
        push_item(L, sj, &sj->items[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

/* The options table at idx (or none): top, special, context. */
typedef struct sc_opts { int32_t top; bool special, context; } sc_opts;

static void read_opts(lua_State *L, int idx, const char *fname, sc_opts *o) {
    *o = (sc_opts){ 0, false, true };
    if (lua_isnoneornil(L, idx)) return;
    luaL_checktype(L, idx, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
        if (strcmp(k, "top") == 0) {
            if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 || lua_tointeger(L, -1) > 1000)
                luaL_error(L, "bad argument #%d to '%s' (top must be an integer in [1, 1000])", idx, fname);
            o->top = (int32_t)lua_tointeger(L, -1);
        } else if (strcmp(k, "special") == 0) {
            o->special = lua_toboolean(L, -1);
        } else if (strcmp(k, "context") == 0) {
            o->context = lua_toboolean(L, -1);
        } else {
            luaL_error(L, "bad argument #%d to '%s' (unknown option '%s'; known: top, special, context)", idx, fname, k);
        }
        lua_pop(L, 1);
    }
}

/* Fills item it from the Seq at sidx and the continuation at cidx. Raises
 * on misuse, naming argument argn of fname (and the entry, in a batch). */
static void fill_item(lua_State *L, ljob *j, sc_item *it, int sidx, int cidx, const sc_opts *o,
                      const char *fname, int argn, const char *where) {
    lab_seq_state s;
    lab_seq_get(L, sidx, &s);
    if (lua_type(L, cidx) != LUA_TSTRING && lua_type(L, cidx) != LUA_TTABLE && !lua_isinteger(L, cidx))
        luaL_error(L, "bad argument #%d to '%s' (%sthe continuation must be text, a token id or a table of ids, got %s)",
                   argn, fname, where, luaL_typename(L, cidx));
    if (s.n < 1)
        luaL_error(L, "bad argument #%d to '%s' (%sthe sequence is empty: a continuation needs a token before it, such as BOS)",
                   argn, fname, where);
    int32_t nc;
    const int32_t *c = lab_tokens_arg(L, cidx, s.lm, false, o->special, o->context, &nc);
    if (nc < 1) luaL_error(L, "bad argument #%d to '%s' (%sthe continuation adds no tokens)", argn, fname, where);
    int32_t back = s.n_eval > 0 ? 1 : 0;
    it->m = s.lm;
    it->seq = s.id;
    it->pos0 = s.n_eval - back;
    it->n_pre = s.n - it->pos0;
    it->n_cont = nc;
    int32_t n = it->n_pre + nc;
    it->toks = malloc(sizeof *it->toks * (size_t)n);
    it->lp = malloc(sizeof *it->lp * (size_t)nc);
    if (o->top) {
        it->top_id = malloc(sizeof *it->top_id * (size_t)nc * (size_t)o->top);
        it->top_lp = malloc(sizeof *it->top_lp * (size_t)nc * (size_t)o->top);
    }
    if (!it->toks || !it->lp || (o->top && (!it->top_id || !it->top_lp))) luaL_error(L, "out of memory");
    memcpy(it->toks, s.toks + it->pos0, sizeof *it->toks * (size_t)it->n_pre);
    memcpy(it->toks + it->n_pre, c, sizeof *c * (size_t)nc);
    lua_pop(L, 1);
    int k = 0;
    while (k < j->n_models && j->models[k] != s.lm) k++;
    if (k == j->n_models) {
        lab_model_ref(s.lm);
        j->models[j->n_models++] = s.lm;
    }
}

/* Makes the job for count items; pushes the Job. */
static sc_job *new_job(lua_State *L, int count, const sc_opts *o, bool single, ljob **out) {
    lab_job_push(L, NULL, "score");
    sc_job *sj = calloc(1, sizeof *sj + sizeof(sc_item) * (size_t)count);
    ljob *j = sj ? lwork_job_new(sc_run, sc_free, sj) : NULL;
    if (!j) {
        free(sj);
        luaL_error(L, "out of memory");
        return NULL;
    }
    lab_job_set(L, -1, j);
    sj->top = o->top;
    sj->single = single;
    j->push = sc_push;
    j->run_group = lab_run_parts;
    j->part = &sc_part;
    j->models = calloc((size_t)count, sizeof *j->models);
    if (!j->models) luaL_error(L, "out of memory");
    *out = j;
    return sj;
}

/* priv.seq_score_submit(seq, continuation [, opts]) -> Job */
static int l_seq_score_submit(lua_State *L) {
    if (!lab_is_seq(L, 1)) luaL_typeerror(L, 1, "Seq");
    sc_opts o;
    read_opts(L, 3, "score", &o);
    lua_settop(L, 2);
    ljob *j;
    sc_job *sj = new_job(L, 1, &o, true, &j);          /* [seq cont Job] */
    sj->n_items = 1;
    fill_item(L, j, &sj->items[0], 1, 2, &o, "score", 2, "");
    lwork_submit(lhost_of(L)->work, j);
    return 1;
}

/* priv.score_batch_submit({{seq, cont}, ...} [, opts]) -> Job */
static int l_score_batch_submit(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    sc_opts o;
    read_opts(L, 2, "score_batch", &o);
    lua_settop(L, 1);
    lua_Integer n = luaL_len(L, 1);
    if (n < 1) return luaL_argerror(L, 1, "a list of one or more {seq, continuation} expected");
    if (n > 4096) return luaL_argerror(L, 1, "at most 4096 continuations in one batch");
    ljob *j;
    sc_job *sj = new_job(L, (int)n, &o, false, &j);    /* [list Job] */
    for (lua_Integer i = 1; i <= n; i++) {
        char where[32];
        snprintf(where, sizeof where, "entry %d: ", (int)i);
        if (lua_rawgeti(L, 1, i) != LUA_TTABLE) luaL_error(L, "bad argument #1 to 'score_batch' (%sa {seq, continuation} pair expected)", where);
        int e = lua_gettop(L);
        lua_rawgeti(L, e, 1);
        lua_rawgeti(L, e, 2);
        if (!lab_is_seq(L, e + 1)) luaL_error(L, "bad argument #1 to 'score_batch' (%sits first value must be a Seq)", where);
        sj->n_items = (int)i;
        fill_item(L, j, &sj->items[i - 1], e + 1, e + 2, &o, "score_batch", 1, where);
        lua_settop(L, 2);
    }
    lwork_submit(lhost_of(L)->work, j);
    return 1;
}

/* ---- lab.score: a continuation after a prompt, from scratch ---------------------------------------------------------- */

typedef struct score_job {
    lmodel *m;              /* borrowed: the job's models[0] */
    int32_t n, n_prefix;
    int32_t *toks;          /* (n) */
    float *lp;              /* (n - n_prefix) */
    double sum;
    int32_t seq;            /* worker, in a shared step: its sequence, or -1 */
    int32_t n_took;         /* worker, in shared steps: entries whose rows were taken */
} score_job;

static void score_run(ljob *j) {
    score_job *sj = j->p;
    char err[256];
    /* score_tokens' batches (model:kv().steps): 512 entries, halved until n_batch takes them */
    int chunk = 512;
    while (chunk > 1 && chunk > ctx_n_batch(sj->m->c)) chunk /= 2;
    sj->m->steps += (sj->n - 1 + chunk - 1) / chunk;
    if (score_tokens(sj->m->c, sj->toks, sj->n, sj->n_prefix, sj->lp, &sj->sum, err, sizeof err) != 0) {
        j->status = LHOST_EINVAL;
        snprintf(j->err, sizeof j->err, "%s", err);
    } else {
        sj->m->evaluated += sj->n - 1;  /* the prompt and the continuation but its last token */
    }
}

/* A lab.score job's share of a step shared with other jobs (lab_merge.c):
 * a new sequence, as core/score.c makes, with its reduction (the
 * log-softmax of the next token in double, summed in order); it takes part
 * only when its tokens are valid (score_tokens, alone, says why not). */
static int score_prep(ljob *j, lmodel *m, char *err, size_t errlen) {
    score_job *sj = j->p;
    sj->seq = -1;
    snprintf(err, errlen, "cannot score here");      /* single-model: it then runs alone and says why */
    if (sj->n_prefix < 1 || sj->n_prefix > sj->n) return -1;
    for (int32_t i = 0; i < sj->n; i++)
        if (sj->toks[i] < 0 || sj->toks[i] >= m->n_vocab) return -1;
    if ((sj->seq = ctx_seq_create(m->c)) < 0) {
        sj->seq = -1;
        return -1;
    }
    sj->sum = 0;
    sj->n_took = 0;
    return sj->n - 1;
}

static void score_fill(ljob *j, lmodel *m, ctx_entry *e) {
    (void)m;
    score_job *sj = j->p;
    for (int32_t t = 0; t < sj->n - 1; t++) e[t] = (ctx_entry){ sj->seq, t, sj->toks[t], t >= sj->n_prefix - 1 };
}

static void score_take(ljob *j, lmodel *m, const ctx_entry *e, int n, int32_t r) {
    score_job *sj = j->p;
    for (int32_t q = 0; q < n; q++) {
        int32_t t = sj->n_took++;
        if (!e[q].logits) continue;
        const float *row = ctx_logits(m->c, r++);
        double l = (double)row[sj->toks[t + 1]] - logits_logsumexp(row, m->n_vocab);
        sj->lp[t - (sj->n_prefix - 1)] = (float)l;
        sj->sum += l;
    }
}

static void score_undo(ljob *j, lmodel *m) {
    score_job *sj = j->p;
    if (sj->seq >= 0) ctx_seq_drop(m->c, sj->seq);
    sj->seq = -1;
}

static const ljob_part score_part = { score_prep, score_fill, score_take, score_undo };

static void score_free(ljob *j) {
    score_job *sj = j->p;
    if (!sj) return;
    free(sj->toks);
    free(sj->lp);
    free(sj);
}

/* {logprob=, logprobs={...}, tokens={...}, n=, ppl=, evaluated=} */
static int score_push(lua_State *L, ljob *j, int idx) {
    (void)idx;
    score_job *sj = j->p;
    push_scored(L, sj->sum, sj->n - sj->n_prefix, sj->lp, sj->toks + sj->n_prefix, sj->n - 1);
    return 1;
}

/* priv.score_submit(model, prompt, continuation) -> Job | nil, err.
 * Strings are tokenized together, so the boundary is the model's own; the
 * continuation is what follows the prompt's tokens. */
static int l_score_submit(lua_State *L) {
    lmodel *lm = lab_model_check(L, 1);
    if (lua_type(L, 2) != LUA_TSTRING && lua_type(L, 2) != LUA_TTABLE) luaL_typeerror(L, 2, "string or token table");
    if (lua_type(L, 3) != LUA_TSTRING && lua_type(L, 3) != LUA_TTABLE) luaL_typeerror(L, 3, "string or token table");
    bool bos = tok_add_bos(model_tok(lm->m));
    int32_t np, nc, nw = 0;
    const int32_t *p = lab_tokens_arg(L, 2, lm, bos, false, false, &np);       /* [.. P] */
    const int32_t *c = NULL, *w = NULL;
    int32_t n_prefix = np;
    if (lua_type(L, 2) == LUA_TSTRING && lua_type(L, 3) == LUA_TSTRING) {
        lua_pushfstring(L, "%s%s", lua_tostring(L, 2), lua_tostring(L, 3));
        w = lab_tokens_arg(L, -1, lm, bos, false, false, &nw);
        n_prefix = 0;
        while (n_prefix < np && n_prefix < nw && p[n_prefix] == w[n_prefix]) n_prefix++;
    } else {
        c = lab_tokens_arg(L, 3, lm, false, false, false, &nc);
        nw = np + nc;
    }
    if (n_prefix < 1) return lab_fail(L, "the prompt must give at least one token (BOS or text)");
    if (nw <= n_prefix) return lab_fail(L, "the continuation adds no tokens");
    lab_job_push(L, NULL, "score");
    score_job *sj = calloc(1, sizeof *sj);
    ljob *j = sj ? lwork_job_new(score_run, score_free, sj) : NULL;
    if (!j) { free(sj); return luaL_error(L, "out of memory"); }
    lab_job_set(L, -1, j);
    sj->toks = malloc(sizeof *sj->toks * (size_t)nw);
    sj->lp = malloc(sizeof *sj->lp * (size_t)(nw - n_prefix));
    j->models = malloc(sizeof *j->models);
    if (!sj->toks || !sj->lp || !j->models) return luaL_error(L, "out of memory");
    if (w) memcpy(sj->toks, w, sizeof *w * (size_t)nw);
    else {
        memcpy(sj->toks, p, sizeof *p * (size_t)np);
        memcpy(sj->toks + np, c, sizeof *c * (size_t)nc);
    }
    sj->n = nw;
    sj->n_prefix = n_prefix;
    sj->m = lm;
    lab_model_ref(lm);
    j->models[0] = lm;
    j->n_models = 1;
    j->push = score_push;
    j->run_group = lab_run_parts;
    j->part = &score_part;
    lwork_submit(lhost_of(L)->work, j);
    return 1;
}

int lab_open_score(lua_State *L) {
    lua_getfield(L, LUA_REGISTRYINDEX, "lab.priv");
    lua_pushcfunction(L, l_seq_score_submit);
    lua_setfield(L, -2, "seq_score_submit");
    lua_pushcfunction(L, l_score_batch_submit);
    lua_setfield(L, -2, "score_batch_submit");
    lua_pushcfunction(L, l_score_submit);
    lua_setfield(L, -2, "score_submit");
    lua_pop(L, 1);
    return 0;
}
