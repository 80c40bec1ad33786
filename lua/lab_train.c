/* lab_train: lab.train{...}, the trainer (core/trun) from Lua.
 *
 *   lab.train{model = m | shape = {...}, vocab = m, texts = {...}, sep = "\n\n",
 *             examples = {{prompt=, completion=}, ...}, generator = fn, n = N,
 *             output = "out.gguf", steps = 200, batch = 8, seq_len = 128, ...,
 *             on_step = function(s) ... end}
 *     -> {output=, steps=, loss=, val_loss=, run=, params=, data_sha256=} | nil, err
 *
 * The output path follows lab.fs's rules (relative to the workspace, never
 * outside it). With background = true it returns a Training at once and
 * trains on a thread of its own (lab_train_bg.c). Otherwise the run blocks
 * the calling state while it trains; on_step
 * (called after every step with {step, steps, loss, val_loss, lr, grad_norm,
 * tok_per_s, elapsed_s, eta_s}) may return true to stop, and an error in it
 * stops the run and is returned as (nil, err). Everything is read from the
 * arguments (and the generator run) before anything is allocated.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lhost_impl.h"
#include "model.h"
#include "store.h"
#include "trun.h"

static lua_Number num_field(lua_State *L, int t, const char *k, lua_Number dflt) {
    lua_getfield(L, t, k);
    if (!lua_isnil(L, -1) && !lua_isnumber(L, -1))
        luaL_error(L, "lab.train: %s must be a number, got %s", k, luaL_typename(L, -1));
    lua_Number v = lua_isnil(L, -1) ? dflt : lua_tonumber(L, -1);
    lua_pop(L, 1);
    return v;
}

static bool bool_field(lua_State *L, int t, const char *k, bool dflt) {
    lua_getfield(L, t, k);
    bool v = lua_isnil(L, -1) ? dflt : lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

typedef struct cbctx {
    lua_State *L;
    int fn;                 /* stack index of on_step, 0 for none */
    char err[512];
    bool failed;
    bool interrupted;       /* Ctrl-C stopped the run */
} cbctx;

static void set_num(lua_State *L, const char *k, double v) {
    if (isnan(v)) return;   /* absent: val_loss when not measured */
    lua_pushnumber(L, v);
    lua_setfield(L, -2, k);
}

/* Before the first step (the host's thread: a foreground run): the <unk> warning. */
static void on_ready(void *ud, const trun_result *r, const char *kernel) {
    (void)kernel;
    cbctx *c = ud;
    lab_train_warn(lhost_of(c->L), r);
}

static int on_step(void *ud, const train_stat *s) {
    cbctx *c = ud;
    lua_State *L = c->L;
    /* Ctrl-C (the workbench's console, logitlab repl): the run stops at this
     * step with its checkpoint and lab.train raises the interrupt, as the
     * count hook does in Lua code. Training is C: without this check a
     * foreground run held the workbench, deaf to Ctrl-C, until its last step. */
    lstate *st = lhost_state(L);
    lhost_busy_tick(st);
    if (atomic_load(&st->h->interrupt)) {
        c->interrupted = true;
        return TRUN_STOP_INT;
    }
    if (!c->fn) return 0;
    lua_pushvalue(L, c->fn);
    lua_createtable(L, 0, 10);
    lua_pushinteger(L, s->step);
    lua_setfield(L, -2, "step");
    lua_pushinteger(L, s->steps);
    lua_setfield(L, -2, "steps");
    set_num(L, "loss", s->loss);
    set_num(L, "val_loss", s->val_loss);
    set_num(L, "lr", s->lr);
    set_num(L, "grad_norm", s->grad_norm);
    set_num(L, "tok_per_s", s->tok_per_s);
    set_num(L, "elapsed_s", s->elapsed_s);
    set_num(L, "eta_s", s->eta_s);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        snprintf(c->err, sizeof c->err, "on_step: %s", lua_tostring(L, -1));
        c->failed = true;
        lua_pop(L, 1);
        return 1;
    }
    int stop = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return stop;
}

/* examples: a list of {prompt=, completion=}; generator(i) returns one, n
 * times. Strings stay anchored in the table at `keep`. Returns the count. */
static int64_t gather_examples(lua_State *L, int args, int keep) {
    int64_t n = 0;
    lua_getfield(L, args, "examples");
    if (!lua_isnil(L, -1)) {
        luaL_checktype(L, -1, LUA_TTABLE);
        lua_Integer len = (lua_Integer)luaL_len(L, -1);
        for (lua_Integer i = 1; i <= len; i++) {
            lua_geti(L, -1, i);
            if (!lua_istable(L, -1)) luaL_error(L, "lab.train: examples[%d] is not a table", (int)i);
            lua_seti(L, keep, ++n);
        }
    }
    lua_pop(L, 1);
    lua_getfield(L, args, "generator");
    if (!lua_isnil(L, -1)) {
        luaL_checktype(L, -1, LUA_TFUNCTION);
        lua_Integer count = (lua_Integer)num_field(L, args, "n", 0);
        if (count < 1) luaL_error(L, "lab.train: a generator needs n > 0 (how many examples to draw)");
        for (lua_Integer i = 1; i <= count; i++) {
            lua_pushvalue(L, -1);
            lua_pushinteger(L, i);
            lua_call(L, 1, 1);              /* its errors are the caller's, as any call */
            if (!lua_istable(L, -1)) luaL_error(L, "lab.train: generator(%d) did not return {prompt=, completion=}", (int)i);
            lua_seti(L, keep, ++n);
        }
    }
    lua_pop(L, 1);
    for (int64_t i = 1; i <= n; i++) {
        lua_geti(L, keep, i);
        lua_getfield(L, -1, "completion");
        if (!lua_isstring(L, -1)) luaL_error(L, "lab.train: example %d has no completion string", (int)i);
        lua_getfield(L, -2, "prompt");
        if (!lua_isnil(L, -1) && !lua_isstring(L, -1)) luaL_error(L, "lab.train: example %d: prompt is not a string", (int)i);
        lua_pop(L, 3);
    }
    return n;
}

static void set_shape(lua_State *L, int args, trun_spec *s) {
    lua_getfield(L, args, "shape");
    luaL_checktype(L, -1, LUA_TTABLE);
    int t = lua_gettop(L);
    s->cfg.dim = (int32_t)num_field(L, t, "dim", 64);
    s->cfg.ffn_dim = (int32_t)num_field(L, t, "ffn", 172);
    s->cfg.n_layers = (int32_t)num_field(L, t, "layers", 5);
    s->cfg.n_heads = (int32_t)num_field(L, t, "heads", 8);
    s->cfg.n_kv_heads = (int32_t)num_field(L, t, "kv_heads", s->cfg.n_heads);
    s->cfg.ctx = (int32_t)num_field(L, t, "ctx", 512);
    s->cfg.tied = bool_field(L, t, "tied", true);
    lua_pop(L, 1);
}

static void set_opts(lua_State *L, int a, trun_spec *s) {
    train_opts *o = &s->opts;
    o->steps = (int64_t)num_field(L, a, "steps", 200);
    o->batch = (int)num_field(L, a, "batch", 8);
    o->seq_len = (int)num_field(L, a, "seq_len", 128);
    o->accum = (int)num_field(L, a, "accum", 1);
    o->lr = (float)num_field(L, a, "lr", 1e-3);
    o->lr_min = (float)num_field(L, a, "lr_min", o->lr / 10);
    o->warmup = (int64_t)num_field(L, a, "warmup", o->steps / 10 < 100 ? o->steps / 10 : 100);
    o->weight_decay = (float)num_field(L, a, "weight_decay", 0.1);
    o->beta1 = (float)num_field(L, a, "beta1", 0.9);
    o->beta2 = (float)num_field(L, a, "beta2", 0.95);
    o->eps = (float)num_field(L, a, "eps", 1e-8);
    o->clip = (float)num_field(L, a, "clip", 1.0);
    o->seed = (uint64_t)num_field(L, a, "seed", 1);
    o->val_every = (int64_t)num_field(L, a, "val_every", 100);
    o->val_batches = (int)num_field(L, a, "val_batches", 4);
    o->ckpt_every = (int64_t)num_field(L, a, "ckpt_every", 0);
    s->init_seed = o->seed;
    s->val_frac = num_field(L, a, "val", 0.05);
    s->resume = bool_field(L, a, "resume", false);
    s->n_threads = (int)num_field(L, a, "threads", 0);
}

/* Every key lab.train reads: any other is a typo (`stpes = 2` would
 * otherwise train the default 200 steps) and is refused. */
/* The Model at the top of the stack, the value of setting key: anything
 * else is named as such (luaL_checkudata on a field said "bad argument #-1
 * to '?'"). */
static lmodel *model_field(lua_State *L, const char *key) {
    if (!luaL_testudata(L, -1, "lab.Model"))
        luaL_error(L, "lab.train: %s must be an open Model (lab.model.open), got %s", key, luaL_typename(L, -1));
    return lab_model_check(L, -1);
}

static const char *const TRAIN_KEYS[] = {
    "model", "shape", "vocab", "texts", "sep", "examples", "generator", "n", "output", "steps", "batch",
    "seq_len", "accum", "lr", "lr_min", "warmup", "weight_decay", "beta1", "beta2", "eps", "clip", "seed",
    "val", "val_every", "val_batches", "ckpt_every", "resume", "threads", "chat_template", "on_step",
    "background", NULL
};

static void check_keys(lua_State *L, int t) {
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "lab.train: the settings are a table of named fields");
        const char *k = lua_tostring(L, -1);
        int i = 0;
        while (TRAIN_KEYS[i] && strcmp(TRAIN_KEYS[i], k) != 0) i++;
        if (!TRAIN_KEYS[i]) luaL_error(L, "lab.train: unknown setting '%s' (docs/lua-api.md, \"Training\")", k);
    }
}

static int l_train(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    check_keys(L, 1);
    lhost *h = lhost_of(L);
    trun_spec s;
    trun_spec_default(&s);
    set_opts(L, 1, &s);
    /* the model: finetune an open one, or a new shape with a vocabulary */
    lua_getfield(L, 1, "model");
    if (!lua_isnil(L, -1)) s.base = model_field(L, "model")->m;
    lua_pop(L, 1);
    if (!s.base) {
        set_shape(L, 1, &s);
        lua_getfield(L, 1, "vocab");
        if (lua_isnil(L, -1)) luaL_error(L, "lab.train: give model = m (finetune) or shape = {...} and vocab = m");
        const model *vm = model_field(L, "vocab")->m;
        lua_pop(L, 1);
        if (!model_gguf(vm)) return lab_fail(L, "lab.train: vocab must be a GGUF model (its tokenizer is copied)");
        s.tokenizer = model_path(vm);
    }
    /* the output, confined to the workspace */
    char out[4096];
    const char *why;
    lua_getfield(L, 1, "output");
    if (!lua_isstring(L, -1)) luaL_error(L, "lab.train: output = \"file.gguf\" is required");
    if (!lab_fs_resolve_new(L, lua_gettop(L), out, sizeof out, &why))
        return lab_fail(L, "%s: %s", lua_tostring(L, -1), why);
    lua_pop(L, 1);
    s.output = out;
    lua_getfield(L, 1, "sep");      /* stays on the stack: keeps sep alive */
    if (!lua_isnil(L, -1)) s.sep = luaL_checkstring(L, -1);
    lua_getfield(L, 1, "chat_template");    /* stays on the stack too */
    if (!lua_isnil(L, -1)) s.chat_template = luaL_checkstring(L, -1);
    /* texts and examples, anchored in tables on the stack */
    lua_getfield(L, 1, "texts");
    int texts = lua_gettop(L);
    int n_texts = 0;
    if (!lua_isnil(L, texts)) {
        luaL_checktype(L, texts, LUA_TTABLE);
        n_texts = (int)luaL_len(L, texts);
        for (int i = 1; i <= n_texts; i++) {
            lua_geti(L, texts, i);
            if (!lua_isstring(L, -1)) luaL_error(L, "lab.train: texts[%d] is not a string", i);
            lua_pop(L, 1);
        }
    }
    lua_newtable(L);
    int keep = lua_gettop(L);
    int64_t n_ex = gather_examples(L, 1, keep);
    lua_getfield(L, 1, "on_step");
    int fn = lua_isnil(L, -1) ? 0 : lua_gettop(L);
    if (fn) luaL_checktype(L, fn, LUA_TFUNCTION);
    bool bg = bool_field(L, 1, "background", false);
    if (bg && fn)
        luaL_error(L, "lab.train: on_step runs only in the foreground; a background run is watched with "
                      "training:status() / training:history()");
    lmodel *blm = NULL;
    if (s.base) {
        lua_getfield(L, 1, "model");
        blm = lab_model_check(L, -1);
        lua_pop(L, 1);
        lab_model_sync(L, blm);         /* its weights are read below; no job may use it now */
    }
    char serr[512];
    bool has_ws = h->store || h->store_dir;     /* the TUI lends its store; run and scripts have a folder */
    store *ws = has_ws ? lab_store_writer(h, serr, sizeof serr) : NULL;
    if (has_ws && !ws) return lab_fail(L, "lab.train: %s", serr);
    s.ws = ws;
    /* nothing below raises: plain memory from here on */
    const char **tx = malloc(sizeof *tx * (size_t)(n_texts + 1));
    size_t *tl = malloc(sizeof *tl * (size_t)(n_texts + 1));
    trun_example *ex = malloc(sizeof *ex * (size_t)(n_ex + 1));
    if (!tx || !tl || !ex) {
        free(tx); free(tl); free(ex);
        return lab_fail(L, "lab.train: out of memory");
    }
    for (int i = 0; i < n_texts; i++) {
        lua_geti(L, texts, i + 1);
        tx[i] = lua_tolstring(L, -1, &tl[i]);   /* anchored by the texts table */
        lua_pop(L, 1);
    }
    for (int64_t i = 0; i < n_ex; i++) {
        lua_geti(L, keep, i + 1);
        lua_getfield(L, -1, "prompt");
        ex[i].prompt = lua_isstring(L, -1) ? lua_tolstring(L, -1, &ex[i].plen) : NULL;
        if (!ex[i].prompt) ex[i].plen = 0;
        lua_getfield(L, -2, "completion");
        ex[i].completion = lua_tolstring(L, -1, &ex[i].clen);
        lua_pop(L, 3);   /* the strings stay referenced by their example tables */
    }
    s.texts = tx;
    s.text_lens = tl;
    s.n_texts = n_texts;
    s.examples = ex;
    s.n_examples = n_ex;
    if (bg) {
        lua_getfield(L, 1, "output");
        const char *oarg = lua_tostring(L, -1);
        int n = lab_train_start(L, &s, blm, oarg, ws ? store_dir(ws) : NULL);
        free(tx); free(tl); free(ex);
        return n;
    }
    cbctx cb = { L, fn, "", false, false };
    trun_result res;
    char err[2048];
    int rc = trun_run(&s, on_ready, on_step, &cb, &res, err, sizeof err);
    free(tx); free(tl); free(ex);
    if (cb.interrupted) {           /* the entry stops here, as at the hook's next count */
        lstate *st = lhost_state(L);
        atomic_store(&st->h->interrupt, 0);
        if (lhost_take_soft_int(st)) return lhost_raise_interrupt(L, st);
        st->stop = LSTOP_INTERRUPT;
        st->cancel = true;
        char msg[256];
        lua_pushstring(L, lhost_stop_msg(st, msg, sizeof msg));
        return lua_error(L);
    }
    if (cb.failed) return lab_fail(L, "lab.train: %s", cb.err);
    if (rc) return lab_fail(L, "lab.train: %s", err);
    lua_createtable(L, 0, 8);
    lua_getfield(L, 1, "output");
    lua_setfield(L, -2, "output");
    lua_pushinteger(L, res.steps);
    lua_setfield(L, -2, "steps");
    set_num(L, "loss", res.loss);
    set_num(L, "val_loss", res.val_loss);
    lua_pushinteger(L, res.run_id);
    lua_setfield(L, -2, "run");
    lua_pushinteger(L, (lua_Integer)res.n_params);
    lua_setfield(L, -2, "params");
    lua_pushinteger(L, res.resumed_from);
    lua_setfield(L, -2, "resumed_from");
    lua_pushstring(L, res.data_sha256);
    lua_setfield(L, -2, "data_sha256");
    lab_train_push_unk(L, &res);
    return 1;
}

void lab_train_push_unk(lua_State *L, const trun_result *r) {
    lua_pushinteger(L, r->tokens_text);
    lua_setfield(L, -2, "tokens");
    lua_pushinteger(L, r->tokens_unk);
    lua_setfield(L, -2, "unk_tokens");
    if (r->warning[0]) {
        lua_pushstring(L, r->warning);
        lua_setfield(L, -2, "warning");
    }
}

void lab_train_warn(lhost *h, const trun_result *r) {
    if (!r->warning[0]) return;
    char msg[400];
    int n = snprintf(msg, sizeof msg, "lab.train: warning: %s", r->warning);
    lhost_print(h, msg, (size_t)(n < (int)sizeof msg ? n : (int)sizeof msg - 1), true);
}

int lab_open_train(lua_State *L) {
    /* [lab] */
    lua_pushcfunction(L, l_train);
    lua_setfield(L, 1, "train");
    lua_pushcfunction(L, lab_trainings);
    lua_setfield(L, 1, "trainings");
    lab_train_bg_open(L);
    return 0;
}
