/* lab_eval: eval jobs over sequences (see lab_eval.h). A submit hands
 * copies of each Seq's pending tokens to the worker; the Seq settles
 * (lab_seq_settle) when the job is done. */
#include "lab_eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "lab_seq.h"
#include "logits.h"
#include "model.h"

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

int32_t lab_eval_n_done(const ljob *j, int item) {
    const eval_job *ej = j->p;
    return ej->items[item].n_done;
}

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
        size_t at = (size_t)r * (size_t)o->top;
        lab_top_push(L, it->top_id + at, it->top_lp + at, o->top);
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
        if (s->job == j) lab_seq_settle(L, s, false);
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
        seq_ud *s = lab_seq_check(L, first + i);
        lab_seq_settle(L, s, true);
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
int lab_eval_seq_submit(lua_State *L) {
    lab_seq_check(L, 1);
    lua_settop(L, 2);
    eval_opts o;
    read_eval_opts(L, 2, "submit", &o);
    lua_pushvalue(L, 1);
    return submit(L, 3, 1, true, &o);
}

/* lab.submit({seq, ...} [, opts]) -> Job (lab.await gives a list of Logits) */
int lab_eval_submit(lua_State *L) {
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

