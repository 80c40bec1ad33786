/* trun: a whole training run (trun.h): model, data, loop, output, record. */
#include "trun.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chat.h"
#include "gguf.h"
#include "json.h"
#include "model.h"
#include "pool.h"
#include "sha256.h"
#include "store.h"
#include "tdata.h"
#include "tgemm.h"
#include "tok.h"

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

void trun_spec_default(trun_spec *s) {
    memset(s, 0, sizeof *s);
    s->cfg = (tmodel_cfg){ 0, 64, 172, 5, 8, 4, 512, 10000.0f, 1e-5f, true };
    s->init_seed = 1;
    s->sep = "\n\n";
    s->val_frac = 0.05;
    train_opts_default(&s->opts);
}

typedef struct run {
    const trun_spec *s;
    model *base;
    tok *own_tok;
    const tok *tk;
    gguf *vocab_src;        /* opened for its tokenizer.* keys (owned) */
    tmodel *tm;
    tdata *data;
    pool *pool;
    train *tr;
    int64_t run_id;
    trun_step_fn step;
    void *ud;
    trun_result *res;
    int stop;               /* what step returned to stop the run (TRUN_STOP_INT: a Ctrl-C) */
} run;

static bool is_gguf(const char *path) {
    FILE *f = fopen(path, "rb");
    char m[4] = { 0 };
    bool y = f && fread(m, 1, 4, f) == 4 && memcmp(m, "GGUF", 4) == 0;
    if (f) fclose(f);
    return y;
}

static int open_model(run *r, char *err, size_t errlen) {
    const trun_spec *s = r->s;
    if (s->base) {
        r->tk = model_tok(s->base);
        return tmodel_create_from(&r->tm, s->base, err, errlen) ? TRAIN_EINVAL : TRAIN_OK;
    }
    if (s->base_model) {
        model_params mp = { .tokenizer_path = s->tokenizer, .l2c_exact = true };   /* int8 llama2.c: widened exactly */
        if (model_open(&r->base, s->base_model, &mp, err, errlen)) return TRAIN_EINVAL;
        r->tk = model_tok(r->base);
        int rc = tmodel_create_from(&r->tm, r->base, err, errlen);
        return rc ? TRAIN_EINVAL : TRAIN_OK;
    }
    if (!s->tokenizer) return fail(err, errlen, TRAIN_EINVAL, "a new model needs a tokenizer (a GGUF, "
                                   "tokenizer.bin or tokenizer.json)");
    if (is_gguf(s->tokenizer)) {
        if (gguf_open(&r->vocab_src, s->tokenizer, err, errlen) ||
            tok_from_gguf(&r->own_tok, r->vocab_src, err, errlen))
            return TRAIN_EINVAL;
    } else if (tok_open(&r->own_tok, s->tokenizer, err, errlen)) {
        return TRAIN_EINVAL;
    }
    r->tk = r->own_tok;
    tmodel_cfg c = s->cfg;
    if (c.n_vocab == 0) c.n_vocab = tok_n_vocab(r->tk);
    if (c.n_vocab != tok_n_vocab(r->tk))
        return fail(err, errlen, TRAIN_EINVAL, "%s: the tokenizer has %d tokens, the shape asks for %d",
                    s->tokenizer, tok_n_vocab(r->tk), c.n_vocab);
    return tmodel_create_random(&r->tm, &c, s->init_seed, err, errlen) ? TRAIN_EINVAL : TRAIN_OK;
}

static int load_data(run *r, char *err, size_t errlen) {
    const trun_spec *s = r->s;
    if (s->n_text + s->n_jsonl + s->n_texts == 0 && s->n_examples == 0)
        return fail(err, errlen, TRAIN_EINVAL, "no data: give text files, JSONL files or examples");
    r->data = tdata_create(r->tk, s->opts.seq_len, s->opts.seed, s->val_frac);
    if (!r->data) return fail(err, errlen, TRAIN_EINVAL, "bad sequence length %d or validation fraction %g",
                              s->opts.seq_len, s->val_frac);
    if (s->chat_template && *s->chat_template) {
        int kind = chat_kind_named(s->chat_template);
        if (!kind && strcmp(s->chat_template, "model") != 0)
            return fail(err, errlen, TRAIN_EINVAL, "unknown chat template '%s' (model, llama3, chatml, llama2, "
                        "gemma, phi3 or zephyr)", s->chat_template);
        if (!kind) {
            const model *m = s->base ? s->base : r->base;
            const char *t = m ? model_get_info(m)->chat_template : NULL, *gt;
            size_t gl;
            char *own = NULL;   /* a GGUF string is not NUL-terminated */
            if (!m && r->vocab_src && gguf_get_str(r->vocab_src, "tokenizer.chat_template", &gt, &gl) == 0 &&
                (own = malloc(gl + 1))) {
                memcpy(own, gt, gl);
                own[gl] = 0;
                t = own;
            }
            const char *who = m ? model_path(m) : s->tokenizer ? s->tokenizer : "the tokenizer";
            if (!t) return fail(err, errlen, TRAIN_EINVAL, "--chat-template model: %s has no chat template; name "
                                "a family instead (llama3, chatml, llama2, gemma, phi3, zephyr)", who);
            kind = chat_detect(t);
            free(own);
            if (!kind)
                return fail(err, errlen, TRAIN_EINVAL, "--chat-template model: the chat template of %s is not "
                            "one of the known families (llama3, chatml, llama2, gemma, phi3, zephyr); name one", who);
        }
        tdata_set_chat(r->data, kind);
        r->res->chat = kind;
    }
    for (int i = 0; i < s->n_text; i++)
        if (tdata_add_text_file(r->data, s->text_files[i], s->sep, err, errlen)) return TRAIN_EFORMAT;
    for (int i = 0; i < s->n_texts; i++) {
        char name[32];
        snprintf(name, sizeof name, "text %d", i + 1);
        if (tdata_add_text(r->data, name, s->texts[i], s->text_lens[i], s->sep, err, errlen)) return TRAIN_EFORMAT;
    }
    for (int i = 0; i < s->n_jsonl; i++)
        if (tdata_add_jsonl_file(r->data, s->jsonl_files[i], err, errlen)) return TRAIN_EFORMAT;
    for (int64_t i = 0; i < s->n_examples; i++) {
        char where[64];
        snprintf(where, sizeof where, "example %lld", (long long)i + 1);
        const trun_example *e = &s->examples[i];
        if (tdata_add_example(r->data, where, e->prompt ? e->prompt : "", e->prompt ? e->plen : 0, e->completion,
                              e->clen, err, errlen))
            return TRAIN_EFORMAT;
    }
    return tdata_finish(r->data, err, errlen) ? TRAIN_EINVAL : TRAIN_OK;
}

void trun_ckpt_path(const char *ws_dir, const char *output, char *out, size_t cap) {
    const char *base = strrchr(output, '/');
    base = base ? base + 1 : output;
    if (ws_dir) {
        snprintf(out, cap, "%s/train", ws_dir);
        mkdir(out, 0777);
        snprintf(out + strlen(out), cap - strlen(out), "/%s.ckpt", base);
    } else {
        snprintf(out, cap, "%s.ckpt", output);
    }
}

static void ckpt_path(const trun_spec *s, char *out, size_t cap) {
    if (s->opts.ckpt_path) { snprintf(out, cap, "%s", s->opts.ckpt_path); return; }
    trun_ckpt_path(s->ws ? store_dir(s->ws) : NULL, s->output, out, cap);
}

void trun_record_step(store *ws, int64_t run_id, const train_stat *st) {
    store_metric_set(ws, run_id, "loss", st->step, st->loss, NULL, 0);
    store_metric_set(ws, run_id, "lr", st->step, st->lr, NULL, 0);
    store_metric_set(ws, run_id, "grad_norm", st->step, st->grad_norm, NULL, 0);
    store_metric_set(ws, run_id, "tok_per_s", st->step, st->tok_per_s, NULL, 0);
    if (!isnan(st->val_loss)) store_metric_set(ws, run_id, "val_loss", st->step, st->val_loss, NULL, 0);
}

static int on_step(void *ud, const train_stat *st) {
    run *r = ud;
    if (r->s->ws && r->run_id) trun_record_step(r->s->ws, r->run_id, st);
    r->res->loss = st->loss;
    if (!isnan(st->val_loss)) r->res->val_loss = st->val_loss;
    r->res->steps = st->step;
    int v = r->step ? r->step(r->ud, st) : 0;
    if (v) r->stop = v;
    return v;
}

/* The settings as JSON, for the run record. */
static void settings_json(const run *r, char *out, size_t cap) {
    const trun_spec *s = r->s;
    const train_opts *o = &s->opts;
    const tmodel_cfg *c = &r->tm->cfg;
    const char *base = s->base ? model_path(s->base) : s->base_model ? s->base_model : "";
    char eo[1024], eb[1024];
    if (json_escape(s->output, strlen(s->output), NULL, 0) >= sizeof eo ||
        json_escape(base, strlen(base), NULL, 0) >= sizeof eb) {
        snprintf(eo, sizeof eo, "\"(long path)\"");
        snprintf(eb, sizeof eb, "\"(long path)\"");
    } else {
        json_escape(s->output, strlen(s->output), eo, sizeof eo);
        json_escape(base, strlen(base), eb, sizeof eb);
    }
    snprintf(out, cap,
             "{\"output\":%s,\"base\":%s,\"dim\":%d,\"ffn\":%d,\"layers\":%d,\"heads\":%d,\"kv_heads\":%d,"
             "\"vocab\":%d,\"ctx\":%d,\"tied\":%s,\"params\":%zu,\"batch\":%d,\"seq_len\":%d,\"accum\":%d,"
             "\"steps\":%lld,\"warmup\":%lld,\"lr\":%g,\"lr_min\":%g,\"weight_decay\":%g,\"beta1\":%g,\"beta2\":%g,"
             "\"eps\":%g,\"clip\":%g,\"val_frac\":%g,\"chat_template\":\"%s\",\"data_sha256\":\"%s\",\"rows_train\":%lld,\"rows_val\":%lld}",
             eo, eb, c->dim, c->ffn_dim, c->n_layers, c->n_heads,
             c->n_kv_heads, c->n_vocab, c->ctx, c->tied ? "true" : "false", r->tm->n_params, o->batch, o->seq_len,
             o->accum, (long long)o->steps, (long long)o->warmup, o->lr, o->lr_min, o->weight_decay, o->beta1,
             o->beta2, o->eps, o->clip, s->val_frac, chat_name(r->res->chat), r->res->data_sha256, (long long)r->res->rows_train,
             (long long)r->res->rows_val);
}

static void cleanup(run *r) {
    train_destroy(r->tr);
    tdata_destroy(r->data);
    tmodel_destroy(r->tm);
    pool_destroy(r->pool);
    tok_destroy(r->own_tok);
    gguf_close(r->vocab_src);
    model_close(r->base);
}

/* Whether the output can be written where it is asked for, checked before
 * training: a missing or read-only folder found at the end lost the run. */
static int check_output(const char *path, char *err, size_t errlen) {
    char dir[4096];
    const char *sl = strrchr(path, '/');
    size_t n = sl ? (sl == path ? 1 : (size_t)(sl - path)) : 1;
    if (n >= sizeof dir) return fail(err, errlen, TRAIN_EINVAL, "%s: the output's path is too long", path);
    memcpy(dir, sl ? path : ".", n);
    dir[n] = 0;
    struct stat sb;
    if (!*path || (sl && !sl[1])) return fail(err, errlen, TRAIN_EINVAL, "%s: the output must name a file", path);
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return fail(err, errlen, TRAIN_EINVAL, "%s: the output is a folder, not a file", path);
    if (stat(dir, &sb) != 0)
        return fail(err, errlen, TRAIN_EIO, "%s: cannot write the output: folder %s: %s", path, dir, strerror(errno));
    if (!S_ISDIR(sb.st_mode)) return fail(err, errlen, TRAIN_EIO, "%s: cannot write the output: %s is not a folder", path, dir);
    if (access(dir, W_OK) != 0)
        return fail(err, errlen, TRAIN_EIO, "%s: cannot write the output into %s: %s", path, dir, strerror(errno));
    return TRAIN_OK;
}

int trun_run(const trun_spec *s, trun_ready_fn ready, trun_step_fn step, void *ud, trun_result *res, char *err,
             size_t errlen) {
    memset(res, 0, sizeof *res);
    res->loss = res->val_loss = NAN;
    if (!s->output) return fail(err, errlen, TRAIN_EINVAL, "no output file");
    int orc = check_output(s->output, err, errlen);
    if (orc) return orc;
    run r = { .s = s, .step = step, .ud = ud, .res = res };
    int rc;
    if ((rc = open_model(&r, err, errlen)) || (rc = load_data(&r, err, errlen))) goto out;
    if (!(r.pool = pool_create(s->n_threads))) { rc = fail(err, errlen, TRAIN_ENOMEM, "cannot start threads"); goto out; }
    train_opts o = s->opts;
    if (o.ckpt_every >= 0) {
        ckpt_path(s, res->ckpt, sizeof res->ckpt);
        o.ckpt_path = res->ckpt;
    } else {
        snprintf(res->ckpt, sizeof res->ckpt, "none");
        o.ckpt_path = NULL;
        o.ckpt_every = 0;
    }
    if ((rc = train_create(&r.tr, r.tm, r.data, &o, r.pool, err, errlen))) goto out;
    uint8_t h[32];
    tdata_hash(r.data, h);
    sha256_hex(h, res->data_sha256);
    res->rows_train = tdata_n_rows(r.data, TDATA_TRAIN);
    res->rows_val = tdata_n_rows(r.data, TDATA_VAL);
    res->targets_train = tdata_n_targets(r.data, TDATA_TRAIN);
    res->tokens_unk = tdata_n_unk(r.data, &res->tokens_text);
    res->warning[0] = 0;
    if (res->tokens_text > 0 && res->tokens_unk >= TRUN_UNK_WARN * (double)res->tokens_text)
        snprintf(res->warning, sizeof res->warning,
                 "%lld of the data's %lld tokens (%.0f%%) are <unk>: the model's vocabulary does not cover this text, "
                 "and the run would teach it to predict <unk>", (long long)res->tokens_unk, (long long)res->tokens_text,
                 100.0 * (double)res->tokens_unk / (double)res->tokens_text);
    res->n_params = r.tm->n_params;
    struct stat sb;
    if (s->resume && o.ckpt_path && stat(res->ckpt, &sb) == 0) {
        if ((rc = train_load(r.tr, res->ckpt, err, errlen))) goto out;
        res->resumed_from = train_step_now(r.tr);
    }
    settings_json(&r, res->settings, sizeof res->settings);
    if (s->ws) {
        char serr[512];
        store_run_info ri = { .plugin = "train", .params = res->settings, .seed = (int64_t)s->opts.seed, .has_seed = true };
        if (store_run_begin(s->ws, &ri, &r.run_id, serr, sizeof serr)) {
            rc = fail(err, errlen, TRAIN_EIO, "%s", serr);
            goto out;
        }
        res->run_id = r.run_id;
    }
    if (ready) ready(ud, res, tgemm_impl_name());
    rc = train_run(r.tr, on_step, &r, err, errlen);
    if (rc == TRAIN_OK) {
        char name[256];
        const char *base = strrchr(s->output, '/');
        snprintf(name, sizeof name, "%s", s->name ? s->name : base ? base + 1 : s->output);
        char *dot = s->name ? NULL : strrchr(name, '.');
        if (dot) *dot = 0;
        const model *bm = s->base ? s->base : r.base;
        const gguf *src = r.vocab_src ? r.vocab_src : bm ? model_gguf(bm) : NULL;
        /* examples formatted with a family: the output carries that family's
         * template unless the source's already is one of it */
        const char *tmpl = NULL;
        if (res->chat != CHAT_NONE) {
            const char *gt;
            size_t gl;
            char *own = NULL;   /* a GGUF string is not NUL-terminated */
            if (src && gguf_get_str(src, "tokenizer.chat_template", &gt, &gl) == 0 && (own = malloc(gl + 1))) {
                memcpy(own, gt, gl);
                own[gl] = 0;
            }
            if (!own || chat_detect(own) != res->chat) tmpl = chat_template_source(res->chat);
            free(own);
        }
        if (tmodel_write_gguf(r.tm, s->output, name, r.tk, src, tmpl, err, errlen)) rc = TRAIN_EIO;
    }
    if (s->ws && r.run_id) {
        char serr[512];
        store_run_end(s->ws, r.run_id, rc == TRAIN_OK ? "ok" : rc != TRAIN_ESTOPPED ? "failed" :
                      r.stop == TRUN_STOP_INT ? "interrupted" : "cancelled",
                      rc == TRAIN_OK ? NULL : err, serr, sizeof serr);
    }
out:
    cleanup(&r);
    return rc;
}
