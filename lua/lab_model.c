/* lab_model: lab.model.open and the Model userdata: info, tokenize,
 * detokenize, piece, token lookup, close.
 *
 * A Model userdata holds a reference to an lmodel (model + ctx); sequences,
 * jobs and logits hold their own, so closing or collecting the Model does
 * not pull the context from under them: the last reference frees it, on
 * whichever thread drops it. Uservalue 1 holds an optional chat template
 * override (opts.chat_template).
 *
 * Models of one file share its `model` (an lfile in the host's list, found
 * by device, inode, size and modification time, with the same tokenizer and
 * exact_int8 options): each has its own context, and the contexts share the
 * CPU backend's weight copies (model_share), so opening the same file twice
 * (two thread counts, pass_rows, an ensemble naming one file twice) does not
 * hold its repacked weights twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctx.h"
#include "lhost_impl.h"
#include "logits.h"
#include "model.h"
#include "sha256.h"
#include "tok.h"

#define MODEL_T "lab.Model"

typedef struct model_ud {
    lmodel *lm;             /* NULL once closed */
} model_ud;

/* An open model file (see the header comment); refs guarded by the host's files_lock. */
typedef struct lfile {
    int refs;
    model *m;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    char *tok;              /* tokenizer path given, or NULL */
    bool exact;
    struct lfile *next;
} lfile;

static bool same_str(const char *a, const char *b) { return a == b || (a && b && strcmp(a, b) == 0); }

/* The model of path with options mp: an open one of the same file (taking a
 * reference), else opened now. NULL with err set on failure. */
static lfile *file_open(lhost *h, const char *path, const model_params *mp, char *err, size_t errlen) {
    struct stat st;
    bool have = stat(path, &st) == 0;
    pthread_mutex_lock(&h->files_lock);
    lfile *f = h->files;
    while (f && !(have && f->dev == st.st_dev && f->ino == st.st_ino && f->size == st.st_size &&
                  f->mtime.tv_sec == st.st_mtim.tv_sec && f->mtime.tv_nsec == st.st_mtim.tv_nsec &&
                  same_str(f->tok, mp->tokenizer_path) && f->exact == mp->l2c_exact))
        f = f->next;
    if (f) f->refs++;
    pthread_mutex_unlock(&h->files_lock);
    if (f) return f;
    /* opened outside the lock (seconds for a large file); two Models opening
     * one file at the very same time may each open it: correct, just not shared */
    if (!(f = calloc(1, sizeof *f)) || (mp->tokenizer_path && !(f->tok = strdup(mp->tokenizer_path)))) {
        if (f) free(f);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (model_open(&f->m, path, mp, err, errlen) != 0) { free(f->tok); free(f); return NULL; }
    f->refs = 1;
    f->exact = mp->l2c_exact;
    if (have) {
        f->dev = st.st_dev; f->ino = st.st_ino; f->size = st.st_size; f->mtime = st.st_mtim;
        pthread_mutex_lock(&h->files_lock);
        f->next = h->files;
        h->files = f;
        pthread_mutex_unlock(&h->files_lock);
    }
    return f;
}

/* Drops a reference; the last closes the model (after every context of it is destroyed). */
static void file_close(lhost *h, lfile *f) {
    if (!f) return;
    pthread_mutex_lock(&h->files_lock);
    bool last = --f->refs == 0;
    if (last)
        for (lfile **p = &h->files; *p; p = &(*p)->next)
            if (*p == f) { *p = f->next; break; }
    pthread_mutex_unlock(&h->files_lock);
    if (!last) return;
    model_close(f->m);
    free(f->tok);
    free(f);
}

void lab_model_ref(lmodel *m) { atomic_fetch_add(&m->refs, 1); }

void lab_model_unref(lmodel *m) {
    if (!m || atomic_fetch_sub(&m->refs, 1) != 1) return;
    ctx_destroy(m->c);
    file_close(m->host, m->file);
    free(m);
}

void lab_model_sync(lua_State *L, lmodel *m) { lwork_wait_model(lhost_of(L)->work, m); }

lmodel *lab_model_check(lua_State *L, int idx) {
    model_ud *u = luaL_checkudata(L, idx, MODEL_T);
    if (!u->lm) luaL_argerror(L, idx, "the model is closed");
    return u->lm;
}

bool lab_model_is_open(lua_State *L, int idx) {
    model_ud *u = luaL_testudata(L, idx, MODEL_T);
    return u && u->lm;
}

void lab_model_push(lua_State *L, lmodel *m) {
    model_ud *u = lua_newuserdatauv(L, sizeof *u, 1);
    u->lm = NULL;
    luaL_setmetatable(L, MODEL_T);
    lab_model_ref(m);
    u->lm = m;
}

static bool is_file(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, R_OK) == 0;
}

/* path as given, else a bare name in the model folders. */
bool lab_model_find(lhost *h, const char *name, char *out, size_t cap) {
    if (is_file(name)) {
        snprintf(out, cap, "%s", name);
        return true;
    }
    if (strchr(name, '/')) return false;
    for (int i = 0; h->model_dirs && h->model_dirs[i]; i++) {
        snprintf(out, cap, "%s/%s", h->model_dirs[i], name);
        if (is_file(out)) return true;
    }
    return false;
}

static int opt_int(lua_State *L, int t, const char *k, lua_Integer lo, lua_Integer hi, lua_Integer dflt) {
    lua_Integer v = dflt;
    if (lua_getfield(L, t, k) != LUA_TNIL) {
        if (!lua_isinteger(L, -1)) luaL_error(L, "bad option '%s' (an integer expected, got %s)", k, luaL_typename(L, -1));
        v = lua_tointeger(L, -1);
        if (v < lo || v > hi) luaL_error(L, "bad option '%s' (must be in [%I, %I])", k, lo, hi);
    }
    lua_pop(L, 1);
    return (int)v;
}

static const char *opt_str(lua_State *L, int t, const char *k) {
    const char *v = NULL;
    int ty = lua_getfield(L, t, k);
    if (ty != LUA_TNIL && ty != LUA_TSTRING) luaL_error(L, "bad option '%s' (a string expected, got %s)", k, luaL_typename(L, -1));
    if (ty == LUA_TSTRING) v = lua_tostring(L, -1);
    lua_pop(L, 1);                       /* the string stays alive in the options table */
    return v;
}

/* The end-tokens value at idx (a string "bos,13", or a list of ids and the
 * names bos, eos, eot, unk) as tok_parse_ids's text in buf; raises on a
 * value of another type (what: the option's name in the message). */
void lab_end_spec(lua_State *L, int idx, const char *what, char *buf, size_t cap) {
    idx = lua_absindex(L, idx);
    buf[0] = 0;
    if (lua_type(L, idx) == LUA_TSTRING) {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        if (n >= cap) luaL_error(L, "%s: at most %d bytes", what, (int)cap - 1);
        memcpy(buf, s, n + 1);
        return;
    }
    if (lua_type(L, idx) != LUA_TTABLE)
        luaL_error(L, "%s must be a list of token ids and names (bos, eos, eot, unk) or a string \"bos,13\", got %s", what,
                   luaL_typename(L, idx));
    size_t used = 0;
    lua_Integer n = luaL_len(L, idx);
    for (lua_Integer i = 1; i <= n; i++) {
        int ty = lua_geti(L, idx, i);
        char item[32];
        if (ty == LUA_TNUMBER && lua_isinteger(L, -1))
            snprintf(item, sizeof item, "%lld", (long long)lua_tointeger(L, -1));
        else if (ty == LUA_TSTRING && lua_rawlen(L, -1) < sizeof item && !strchr(lua_tostring(L, -1), ','))
            snprintf(item, sizeof item, "%s", lua_tostring(L, -1));
        else
            luaL_error(L, "%s entry %d must be a token id (an integer) or bos, eos, eot, unk; got %s", what, (int)i,
                       luaL_typename(L, -1));
        lua_pop(L, 1);
        size_t k = strlen(item);
        if (used + k + 2 > cap) luaL_error(L, "%s: too many entries", what);
        if (used) buf[used++] = ',';
        memcpy(buf + used, item, k + 1);
        used += k;
    }
}

/* The options table at 2 into cp, the tokenizer path and whether a chat
 * template is given; raises on unknown names and bad values. */
static void open_opts(lua_State *L, ctx_params *cp, const char **tokp, bool *has_tmpl, bool *exact) {
    if (lua_isnoneornil(L, 2)) return;
    luaL_checktype(L, 2, LUA_TTABLE);
    static const char *const known[] = { "n_ctx", "n_seq_max", "n_batch", "threads", "backend",
                                         "tokenizer", "chat_template", "exact_int8", "pass_rows", "end_tokens", NULL };
    lua_pushnil(L);
    while (lua_next(L, 2)) {
        lua_pop(L, 1);
        const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        int i = 0;
        while (k && known[i] && strcmp(known[i], k) != 0) i++;
        if (!k || !known[i])
            luaL_argerror(L, 2, lua_pushfstring(L, "unknown option '%s' (known: n_ctx, n_seq_max, n_batch, "
                                                   "threads, backend, tokenizer, chat_template, exact_int8, pass_rows, "
                                                   "end_tokens)",
                                                k ? k : luaL_typename(L, -1)));
    }
    cp->n_ctx = opt_int(L, 2, "n_ctx", 0, 1 << 24, 0);
    cp->n_seq_max = opt_int(L, 2, "n_seq_max", 0, 1 << 16, 0);
    cp->n_batch = opt_int(L, 2, "n_batch", 0, 1 << 16, 0);
    cp->n_threads = opt_int(L, 2, "threads", 0, 1024, cp->n_threads);
    cp->n_pass_rows = opt_int(L, 2, "pass_rows", 0, 1 << 16, 0);
    cp->backend = opt_str(L, 2, "backend");
    *tokp = opt_str(L, 2, "tokenizer");
    *has_tmpl = opt_str(L, 2, "chat_template") != NULL;
    lua_getfield(L, 2, "exact_int8");
    *exact = lua_toboolean(L, -1);
    lua_pop(L, 1);
}

/* lab.model.open(path [, {n_ctx=, n_seq_max=, threads=, backend=, tokenizer=, chat_template=, exact_int8=,
 *   end_tokens=}]) -> Model | nil, err. end_tokens (default: run --end-tokens) are where lab.generate
 *   stops besides EOS/EOT (model:info().end_tokens). Synchronous: weights are mapped, not read. */
static int l_open(lua_State *L) {
    const char *name = luaL_checkstring(L, 1);
    lhost *h = lhost_of(L);
    ctx_params cp;
    ctx_params_default(&cp);
    cp.n_threads = h->o.n_threads;
    const char *tokp = NULL;
    bool has_tmpl = false;
    bool exact = false;
    open_opts(L, &cp, &tokp, &has_tmpl, &exact);
    char ends[sizeof h->o.end_tokens];
    const char *end_from = "run --end-tokens";
    snprintf(ends, sizeof ends, "%s", h->o.end_tokens);
    if (lua_istable(L, 2) && lua_getfield(L, 2, "end_tokens") != LUA_TNIL) {
        lab_end_spec(L, -1, "bad option 'end_tokens'", ends, sizeof ends);
        end_from = "end_tokens";
    }
    if (lua_istable(L, 2)) lua_pop(L, 1);
    char path[4096], err[1024];
    if (!lab_model_find(h, name, path, sizeof path)) {
        size_t used = (size_t)snprintf(err, sizeof err, "no model file '%s'", name);
        for (int i = 0; !strchr(name, '/') && h->model_dirs && h->model_dirs[i] && used < sizeof err; i++)
            used += (size_t)snprintf(err + used, sizeof err - used, "%s%s/%s", i ? ", " : " (looked in ",
                                     h->model_dirs[i], name);
        if (!strchr(name, '/') && used < sizeof err) snprintf(err + used, sizeof err - used, ")");
        return lab_fail(L, "%s", err);
    }
    model_ud *u = lua_newuserdatauv(L, sizeof *u, 1);  /* before any malloc: it may raise */
    u->lm = NULL;
    luaL_setmetatable(L, MODEL_T);
    if (has_tmpl) {
        lua_getfield(L, 2, "chat_template");
        lua_setiuservalue(L, -2, 1);
    }
    lmodel *lm = calloc(1, sizeof *lm);
    if (!lm) return luaL_error(L, "out of memory");
    atomic_init(&lm->refs, 1);
    model_params mp = { .tokenizer_path = tokp, .l2c_exact = exact };
    if (!(lm->file = file_open(h, path, &mp, err, sizeof err))) {
        free(lm);
        return lab_fail(L, "%s", err);
    }
    lm->host = h;
    lm->m = lm->file->m;
    cp.pool = lhost_pool(h, cp.n_threads);
    if (ctx_create(&lm->c, lm->m, &cp, err, sizeof err) != 0) {
        file_close(h, lm->file);
        free(lm);
        return lab_fail(L, "%s: %s", path, err);
    }
    lm->n_vocab = model_get_info(lm->m)->n_vocab;
    u->lm = lm;
    if ((lm->n_end = tok_parse_ids(model_tok(lm->m), ends, lm->end, LHOST_MAX_END, err, sizeof err)) < 0) {
        u->lm = NULL;
        lab_model_unref(lm);
        return lab_fail(L, "%s: %s", end_from, err);
    }
    return 1;
}

static int m_close(lua_State *L) {
    model_ud *u = luaL_checkudata(L, 1, MODEL_T);
    if (u->lm) lab_model_unref(u->lm);
    u->lm = NULL;
    return 0;
}

static void set_str(lua_State *L, const char *k, const char *v) {
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
}

static void set_int(lua_State *L, const char *k, lua_Integer v) {
    lua_pushinteger(L, v);
    lua_setfield(L, -2, k);
}

static void set_tok(lua_State *L, const tok *t, const char *k, int32_t id) {
    if (id < 0) return;
    set_int(L, k, id);
    size_t n;
    const char *s = tok_text(t, id, &n);
    if (!s) return;
    lua_pushlstring(L, s, n);
    lua_pushfstring(L, "%s_text", k);
    lua_insert(L, -2);
    lua_settable(L, -3);
}

/* model:info() -> table */
static int m_info(lua_State *L) {
    lmodel *lm = lab_model_check(L, 1);
    const model_info *in = model_get_info(lm->m);
    const tok *t = model_tok(lm->m);
    lua_createtable(L, 0, 26);
    set_str(L, "arch", in->arch);
    set_str(L, "name", in->name);
    set_str(L, "format", in->format);
    set_str(L, "path", model_path(lm->m));
    set_str(L, "tokenizer", tok_kind(t) == TOK_BPE ? "bpe" : "spm");
    set_int(L, "n_vocab", in->n_vocab);
    set_int(L, "n_ctx", ctx_kv_size(lm->c));
    set_int(L, "n_ctx_train", in->ctx_train);
    set_int(L, "n_batch", ctx_n_batch(lm->c));
    set_int(L, "dim", in->dim);
    set_int(L, "n_layers", in->n_layers);
    set_int(L, "n_heads", in->n_heads);
    set_int(L, "n_kv_heads", in->n_kv_heads);
    set_int(L, "n_params", (lua_Integer)in->n_params);
    set_str(L, "backend", ctx_backend_name(lm->c));
    set_int(L, "threads", ctx_n_threads(lm->c));
    int users = 0;
    size_t copy_bytes = 0;
    model_share_stats(lm->m, NULL, &users, &copy_bytes);
    set_int(L, "copy_users", users);
    set_int(L, "copy_bytes", (lua_Integer)copy_bytes);
    lua_pushboolean(L, tok_add_bos(t));
    lua_setfield(L, -2, "add_bos");
    /* exact_int8 as it applies: a version 2 checkpoint's int8 weights widened to
     * F32 (other files load the same either way); seq:save records it, as the
     * same file gives other weights (and other KV cells) with and without it */
    lua_pushboolean(L, lm->file->exact && strcmp(in->format, "llama2.c v2") == 0);
    lua_setfield(L, -2, "exact_int8");
    set_tok(L, t, "bos", tok_bos(t));
    set_tok(L, t, "eos", tok_eos(t));
    set_tok(L, t, "eot", tok_eot(t));
    lua_createtable(L, lm->n_end, 0);
    for (int32_t i = 0; i < lm->n_end; i++) {
        lua_pushinteger(L, lm->end[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "end_tokens");
    if (lua_getiuservalue(L, 1, 1) == LUA_TSTRING) {
        lua_setfield(L, -2, "chat_template");
    } else {
        lua_pop(L, 1);
        if (in->chat_template) set_str(L, "chat_template", in->chat_template);
    }
    return 1;
}

/* model:tokenize(text [, {bos=, special=}]) -> {ids} | nil, err */
static int m_tokenize(lua_State *L) {
    lmodel *lm = lab_model_check(L, 1);
    size_t len;
    const char *text = luaL_checklstring(L, 2, &len);
    const tok *t = model_tok(lm->m);
    bool bos = tok_add_bos(t), special = false, cont = false;
    if (!lua_isnoneornil(L, 3)) {
        luaL_checktype(L, 3, LUA_TTABLE);
        if (lua_getfield(L, 3, "bos") != LUA_TNIL) bos = lua_toboolean(L, -1);
        if (lua_getfield(L, 3, "special") != LUA_TNIL) special = lua_toboolean(L, -1);
        if (lua_getfield(L, 3, "context") != LUA_TNIL) cont = lua_toboolean(L, -1);
        lua_pop(L, 3);
    }
    if (cont && bos && lua_getfield(L, 3, "bos") != LUA_TNIL)
        return luaL_argerror(L, 3, "bos and context exclude each other (context: text continuing a sequence)");
    if (cont) bos = false;
    if (len > (size_t)INT32_MAX / 2) return luaL_argerror(L, 2, "text too long");
    int32_t cap = (int32_t)len + 8;
    /* the id buffer is a userdata: freed by the GC even if we raise */
    int32_t *ids = lua_newuserdatauv(L, sizeof *ids * (size_t)cap, 0);
    char err[256];
    int32_t n = cont ? tok_encode_cont(t, text, len, special, ids, cap, err, sizeof err)
                     : tok_encode(t, text, len, bos, special, ids, cap, err, sizeof err);
    if (n > cap) {
        cap = n;
        ids = lua_newuserdatauv(L, sizeof *ids * (size_t)cap, 0);
        n = cont ? tok_encode_cont(t, text, len, special, ids, cap, err, sizeof err)
                 : tok_encode(t, text, len, bos, special, ids, cap, err, sizeof err);
    }
    if (n < 0) return lab_fail(L, "%s", err);
    lua_createtable(L, n, 0);
    for (int32_t i = 0; i < n; i++) {
        lua_pushinteger(L, ids[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

/* Reads the token list at idx (a table of ids, or one id) into a new
 * userdata pushed on the stack; checks each id. */
int32_t *lab_check_tokens(lua_State *L, int idx, int32_t n_vocab, int32_t *n) {
    if (lua_isinteger(L, idx)) {
        lua_Integer v = lua_tointeger(L, idx);
        if (v < 0 || v >= n_vocab)
            luaL_argerror(L, idx, lua_pushfstring(L, "token id %I out of range [0, %d)", v, (int)n_vocab));
        int32_t *ids = lua_newuserdatauv(L, sizeof *ids, 0);
        ids[0] = (int32_t)v;
        *n = 1;
        return ids;
    }
    luaL_checktype(L, idx, LUA_TTABLE);
    lua_Integer len = luaL_len(L, idx);
    if (len < 0 || len > INT32_MAX / 8) luaL_argerror(L, idx, "too many tokens");
    int32_t *ids = lua_newuserdatauv(L, sizeof *ids * (size_t)(len ? len : 1), 0);
    for (lua_Integer i = 1; i <= len; i++) {
        int isnum;
        lua_Integer v = (lua_rawgeti(L, idx, i), lua_tointegerx(L, -1, &isnum));
        lua_pop(L, 1);
        if (!isnum) luaL_argerror(L, idx, lua_pushfstring(L, "token %I is not an integer id", i));
        if (v < 0 || v >= n_vocab)
            luaL_argerror(L, idx, lua_pushfstring(L, "token %I: id %I out of range [0, %d)", i, v, (int)n_vocab));
        ids[i - 1] = (int32_t)v;
    }
    *n = (int32_t)len;
    return ids;
}

/* Pushes the text of ids (tok_decode). */
void lab_push_text(lua_State *L, const tok *t, const int32_t *ids, int32_t n, bool special) {
    int32_t cap = n * 8 + 16;
    char *buf = lua_newuserdatauv(L, (size_t)cap, 0);
    int32_t len = tok_decode(t, ids, n, buf, cap, false, special);
    if (len > cap) {
        cap = len;
        buf = lua_newuserdatauv(L, (size_t)cap, 0);
        len = tok_decode(t, ids, n, buf, cap, false, special);
    }
    if (len < 0) luaL_error(L, "cannot detokenize (code %d)", (int)len);
    lua_pushlstring(L, buf, (size_t)len);
}

/* model:detokenize(ids [, {special=}]) -> string */
static int m_detokenize(lua_State *L) {
    lmodel *lm = lab_model_check(L, 1);
    int32_t n;
    const int32_t *ids = lab_check_tokens(L, 2, lm->n_vocab, &n);
    bool special = false;
    if (lua_istable(L, 3)) {
        lua_getfield(L, 3, "special");
        special = lua_toboolean(L, -1);
        lua_pop(L, 1);
    }
    lab_push_text(L, model_tok(lm->m), ids, n, special);
    return 1;
}

/* model:piece(id [, special=true]) -> the bytes of one token; control
 * tokens give their text, or "" when special is false */
static int m_piece(lua_State *L) {
    lmodel *lm = lab_model_check(L, 1);
    lua_Integer id = luaL_checkinteger(L, 2);
    bool special = lua_isnoneornil(L, 3) || lua_toboolean(L, 3);
    if (id < 0 || id >= lm->n_vocab)
        return luaL_argerror(L, 2, lua_pushfstring(L, "token id %I out of range [0, %d)", id, (int)lm->n_vocab));
    char buf[256];
    int32_t n = tok_piece(model_tok(lm->m), (int32_t)id, buf, (int32_t)sizeof buf, special);
    if (n < 0) n = 0;
    if (n > (int32_t)sizeof buf) n = (int32_t)sizeof buf;
    lua_pushlstring(L, buf, (size_t)n);
    return 1;
}

/* model:token_id(text) -> id of the exact vocabulary string, or nil */
static int m_token_id(lua_State *L) {
    lmodel *lm = lab_model_check(L, 1);
    size_t len;
    const char *s = luaL_checklstring(L, 2, &len);
    int32_t id = tok_find(model_tok(lm->m), s, len);
    if (id < 0) return lab_fail(L, "no token '%s' in the vocabulary", s);
    lua_pushinteger(L, id);
    return 1;
}

/* FNV-1a 64 over each token's string and length: one pass per model, so
 * that comparing two vocabularies afterwards costs nothing. */
static uint64_t vocab_hash(lmodel *lm) {
    if (lm->vocab_hash) return lm->vocab_hash;
    const tok *t = model_tok(lm->m);
    uint64_t h = 1469598103934665603ull;
    int32_t n = tok_n_vocab(t);
    for (int32_t id = 0; id < n; id++) {
        size_t len = 0;
        const char *s = tok_text(t, id, &len);
        for (size_t i = 0; s && i < len; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
        h = (h ^ (uint64_t)len ^ 0xff) * 1099511628211ull;
    }
    lm->vocab_hash = h ? h : 1;
    return lm->vocab_hash;
}

bool lab_model_same_vocab(lmodel *a, lmodel *b, char *err, size_t errlen) {
    if (a == b || (a->n_vocab == b->n_vocab && vocab_hash(a) == vocab_hash(b))) return true;
    if (logits_vocab_check(model_tok(a->m), model_tok(b->m), false, NULL, err, errlen) == 0)
        return true;    /* a hash collision of equal vocabularies: cannot happen, but the check decides */
    return false;
}

/* model:same_vocab(other) -> true | false, why */
static int m_same_vocab(lua_State *L) {
    lmodel *a = lab_model_check(L, 1), *b = lab_model_check(L, 2);
    char err[512];
    if (lab_model_same_vocab(a, b, err, sizeof err)) {
        lua_pushboolean(L, 1);
        return 1;
    }
    lua_pushboolean(L, 0);
    lua_pushstring(L, err);
    return 2;
}

/* model:sha256() -> the hex SHA-256 of the model file (hashed once per
 * open model: seconds for a multi-GB file) | nil, err */
static int m_sha256(lua_State *L) {
    lmodel *lm = lab_model_check(L, 1);
    if (!lm->sha256[0]) {
        uint8_t d[SHA256_LEN];
        char err[512];
        if (sha256_file(model_path(lm->m), d, NULL, err, sizeof err) != 0) return lab_fail(L, "%s", err);
        sha256_hex(d, lm->sha256);
    }
    lua_pushstring(L, lm->sha256);
    return 1;
}

/* model:kv() -> {cells=, used=, free=, seqs=, seq_max=, seq_free=, steps=, evaluated=} */
static int m_kv(lua_State *L) {
    lmodel *lm = lab_model_check(L, 1);
    lab_model_sync(L, lm);
    int32_t size = ctx_kv_size(lm->c), used = ctx_kv_used(lm->c), ns = ctx_n_seq(lm->c), nmax = ctx_n_seq_max(lm->c);
    lua_createtable(L, 0, 8);
    set_int(L, "cells", size);
    set_int(L, "used", used);
    set_int(L, "free", size - used);
    set_int(L, "seqs", ns);
    set_int(L, "seq_max", nmax);
    set_int(L, "seq_free", nmax - ns);
    set_int(L, "steps", (lua_Integer)lm->steps);
    set_int(L, "evaluated", (lua_Integer)lm->evaluated);
    return 1;
}

static int m_tostring(lua_State *L) {
    model_ud *u = luaL_checkudata(L, 1, MODEL_T);
    if (!u->lm) lua_pushliteral(L, "Model(closed)");
    else lua_pushfstring(L, "Model(%s)", model_path(u->lm->m));
    return 1;
}

static const luaL_Reg model_methods[] = {
    { "info", m_info },         { "tokenize", m_tokenize }, { "detokenize", m_detokenize },
    { "piece", m_piece },       { "token_id", m_token_id }, { "close", m_close },
    { "same_vocab", m_same_vocab }, { "kv", m_kv }, { "sha256", m_sha256 },
    { NULL, NULL },
};
static const luaL_Reg model_meta[] = {
    { "__gc", m_close }, { "__close", m_close }, { "__tostring", m_tostring }, { NULL, NULL },
};
static const luaL_Reg model_fns[] = { { "open", l_open }, { NULL, NULL } };

/* priv.end_ids(model, value) -> {ids} | nil, err: lab.generate's end_tokens
 * option read against the model's vocabulary; raises on a value of a wrong type. */
static int l_end_ids(lua_State *L) {
    lmodel *lm = lab_model_check(L, 1);
    char spec[128], err[256];
    lab_end_spec(L, 2, "option 'end_tokens'", spec, sizeof spec);
    int32_t ids[LHOST_MAX_END];
    int32_t n = tok_parse_ids(model_tok(lm->m), spec, ids, LHOST_MAX_END, err, sizeof err);
    if (n < 0) {
        lua_pushnil(L);
        lua_pushfstring(L, "option 'end_tokens': %s", err);
        return 2;
    }
    lua_createtable(L, n, 0);
    for (int32_t i = 0; i < n; i++) {
        lua_pushinteger(L, ids[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

int lab_open_model(lua_State *L) {
    lua_getfield(L, LUA_REGISTRYINDEX, "lab.priv");
    lua_pushcfunction(L, l_end_ids);
    lua_setfield(L, -2, "end_ids");
    lua_pop(L, 1);
    lab_class(L, MODEL_T, "Model", model_methods, model_meta);
    luaL_newlib(L, model_fns);
    return 1;
}
