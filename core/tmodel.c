/* tmodel: float32 master weights of a Llama model in one flat array (layout
 * in tmodel.h), made at random, widened from a loaded model, or written out
 * as an F32 GGUF that model_open reads back. */
#include "tmodel.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gguf.h"
#include "ggufw.h"
#include "model.h"
#include "qtypes.h"
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

int tmodel_check_cfg(const tmodel_cfg *c, char *err, size_t errlen) {
    if (c->n_vocab < 2 || c->dim < 2 || c->ffn_dim < 1 || c->n_layers < 1 || c->n_heads < 1 ||
        c->n_kv_heads < 1 || c->ctx < 2)
        return fail(err, errlen, TMODEL_EINVAL, "model shape: every dimension must be positive, dim and context at least 2 (vocab %d, dim %d, "
                    "ffn %d, layers %d, heads %d, kv heads %d, context %d)", c->n_vocab, c->dim, c->ffn_dim,
                    c->n_layers, c->n_heads, c->n_kv_heads, c->ctx);
    if (c->dim % c->n_heads || (c->dim / c->n_heads) % 2)
        return fail(err, errlen, TMODEL_EINVAL, "model shape: dim %d must split into %d heads of an even size",
                    c->dim, c->n_heads);
    if (c->n_heads % c->n_kv_heads)
        return fail(err, errlen, TMODEL_EINVAL, "model shape: %d heads do not divide into %d kv heads",
                    c->n_heads, c->n_kv_heads);
    if (!(c->rope_base > 0) || !(c->rms_eps > 0))
        return fail(err, errlen, TMODEL_EINVAL, "model shape: rope base and RMS epsilon must be positive");
    return TMODEL_OK;
}

size_t tmodel_n_params(const tmodel_cfg *c) {
    size_t D = (size_t)c->dim, F = (size_t)c->ffn_dim, V = (size_t)c->n_vocab;
    size_t KV = D / (size_t)c->n_heads * (size_t)c->n_kv_heads;
    size_t per = 2 * D + 2 * D * D + 2 * KV * D + 3 * F * D;
    return V * D + (size_t)c->n_layers * per + D + (c->tied ? 0 : V * D);
}

int tmodel_view(const tmodel_cfg *c, float *base, tmodel_w *v) {
    size_t D = (size_t)c->dim, F = (size_t)c->ffn_dim, V = (size_t)c->n_vocab;
    size_t KV = D / (size_t)c->n_heads * (size_t)c->n_kv_heads;
    v->base = base;
    v->layers = calloc((size_t)c->n_layers, sizeof *v->layers);
    if (!v->layers) return TMODEL_ENOMEM;
    float *p = base;
    v->tok_embd = p; p += V * D;
    for (int32_t il = 0; il < c->n_layers; il++) {
        tmodel_layer *l = &v->layers[il];
        l->attn_norm = p; p += D;
        l->wq = p; p += D * D;
        l->wk = p; p += KV * D;
        l->wv = p; p += KV * D;
        l->wo = p; p += D * D;
        l->ffn_norm = p; p += D;
        l->w_gate = p; p += F * D;
        l->w_up = p; p += F * D;
        l->w_down = p; p += D * F;
    }
    v->output_norm = p; p += D;
    v->output = c->tied ? v->tok_embd : p;
    return TMODEL_OK;
}

void tmodel_view_fini(tmodel_w *v) {
    free(v->layers);
    v->layers = NULL;
}

void tmodel_decay_mask(const tmodel_cfg *c, uint8_t *mask) {
    size_t D = (size_t)c->dim, F = (size_t)c->ffn_dim, V = (size_t)c->n_vocab;
    size_t KV = D / (size_t)c->n_heads * (size_t)c->n_kv_heads;
    memset(mask, 1, tmodel_n_params(c));
    size_t off = V * D;
    for (int32_t il = 0; il < c->n_layers; il++) {
        memset(mask + off, 0, D);                       /* attn_norm */
        off += D + 2 * D * D + 2 * KV * D;
        memset(mask + off, 0, D);                       /* ffn_norm */
        off += D + 3 * F * D;
    }
    memset(mask + off, 0, D);                           /* output_norm */
}

static int alloc_model(tmodel **out, const tmodel_cfg *c, char *err, size_t errlen) {
    *out = NULL;
    int rc = tmodel_check_cfg(c, err, errlen);
    if (rc) return rc;
    tmodel *t = calloc(1, sizeof *t);
    if (!t) return fail(err, errlen, TMODEL_ENOMEM, "out of memory");
    t->cfg = *c;
    t->head_dim = c->dim / c->n_heads;
    t->kv_dim = t->head_dim * c->n_kv_heads;
    t->n_params = tmodel_n_params(c);
    t->data = calloc(t->n_params, sizeof(float));
    t->inv_freq = malloc(sizeof(float) * (size_t)(t->head_dim / 2));
    if (!t->data || !t->inv_freq || tmodel_view(c, t->data, &t->w)) {
        tmodel_destroy(t);
        return fail(err, errlen, TMODEL_ENOMEM, "out of memory for %zu parameters", tmodel_n_params(c));
    }
    for (int32_t j = 0; j < t->head_dim / 2; j++)
        t->inv_freq[j] = (float)pow((double)c->rope_base, -2.0 * j / (double)t->head_dim);
    *out = t;
    return TMODEL_OK;
}

void tmodel_destroy(tmodel *t) {
    if (!t) return;
    tmodel_view_fini(&t->w);
    free(t->data);
    free(t->inv_freq);
    free(t);
}

/* splitmix64 (Steele et al. 2014) drives a Box-Muller normal: the weights
 * depend on the seed alone. */
static uint64_t mix64(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void fill_normal(uint64_t *s, float *p, size_t n, double sd) {
    for (size_t i = 0; i < n; i += 2) {
        double u1 = ((double)(mix64(s) >> 11) + 1.0) / 9007199254740993.0;
        double u2 = (double)(mix64(s) >> 11) / 9007199254740992.0;
        double r = sqrt(-2.0 * log(u1)) * sd;
        p[i] = (float)(r * cos(2 * M_PI * u2));
        if (i + 1 < n) p[i + 1] = (float)(r * sin(2 * M_PI * u2));
    }
}

int tmodel_create_random(tmodel **out, const tmodel_cfg *c, uint64_t seed, char *err, size_t errlen) {
    tmodel *t;
    int rc = alloc_model(&t, c, err, errlen);
    if (rc) return rc;
    uint64_t s = seed * 0x2545f4914f6cdd1dull + 1;
    size_t D = (size_t)c->dim, F = (size_t)c->ffn_dim, V = (size_t)c->n_vocab, KV = (size_t)t->kv_dim;
    double sd = 0.02, sd_out = 0.02 / sqrt(2.0 * c->n_layers);   /* GPT-2's residual scaling */
    fill_normal(&s, t->w.tok_embd, V * D, sd);
    for (int32_t il = 0; il < c->n_layers; il++) {
        tmodel_layer *l = &t->w.layers[il];
        for (size_t i = 0; i < D; i++) l->attn_norm[i] = l->ffn_norm[i] = 1.0f;
        fill_normal(&s, l->wq, D * D, sd);
        fill_normal(&s, l->wk, KV * D, sd);
        fill_normal(&s, l->wv, KV * D, sd);
        fill_normal(&s, l->wo, D * D, sd_out);
        fill_normal(&s, l->w_gate, F * D, sd);
        fill_normal(&s, l->w_up, F * D, sd);
        fill_normal(&s, l->w_down, D * F, sd_out);
    }
    for (size_t i = 0; i < D; i++) t->w.output_norm[i] = 1.0f;
    if (!c->tied) fill_normal(&s, t->w.output, V * D, sd);
    *out = t;
    return TMODEL_OK;
}

static int widen(const model_weight *w, float *dst, int64_t rows, int64_t cols, const char *name,
                 const char *path, char *err, size_t errlen) {
    if (w->type != QT_F32 && w->type != QT_F16 && w->type != QT_BF16)
        return fail(err, errlen, TMODEL_ETYPE, "%s: %s is %s; training needs F32, F16 or BF16 weights "
                    "(a quantized model cannot be fine-tuned: start from its unquantized file)", path, name,
                    qt_get(w->type)->name);
    if (w->rows != rows || w->cols != cols)
        return fail(err, errlen, TMODEL_EINVAL, "%s: %s is %lldx%lld, expected %lldx%lld", path, name,
                    (long long)w->rows, (long long)w->cols, (long long)rows, (long long)cols);
    size_t rb = qt_row_size(w->type, cols);
    for (int64_t r = 0; r < rows; r++)
        qt_dequantize_row(w->type, (const char *)w->data + (size_t)r * rb, dst + (size_t)r * (size_t)cols, cols);
    return TMODEL_OK;
}

int tmodel_create_from(tmodel **out, const model *m, char *err, size_t errlen) {
    *out = NULL;
    const model_info *h = model_get_info(m);
    const char *path = model_path(m);
    if (h->rope_dim != h->head_dim)
        return fail(err, errlen, TMODEL_EINVAL, "%s: partial RoPE (%d of %d dims) is not supported for training",
                    path, h->rope_dim, h->head_dim);
    tmodel_cfg c = { h->n_vocab, h->dim, h->ffn_dim, h->n_layers, h->n_heads, h->n_kv_heads, h->ctx_train,
                     h->rope_base, h->rms_eps, h->tied_output };
    tmodel *t;
    int rc = alloc_model(&t, &c, err, errlen);
    if (rc) return rc;
    int64_t D = c.dim, F = c.ffn_dim, V = c.n_vocab, KV = t->kv_dim;
    rc = widen(model_tok_embd(m), t->w.tok_embd, V, D, "token_embd", path, err, errlen);
    for (int32_t il = 0; il < c.n_layers && !rc; il++) {
        const model_layer *ml = model_get_layer(m, il);
        tmodel_layer *l = &t->w.layers[il];
        memcpy(l->attn_norm, ml->attn_norm, sizeof(float) * (size_t)D);
        memcpy(l->ffn_norm, ml->ffn_norm, sizeof(float) * (size_t)D);
        rc = widen(&ml->wq, l->wq, D, D, "attn_q", path, err, errlen) ||
             widen(&ml->wk, l->wk, KV, D, "attn_k", path, err, errlen) ||
             widen(&ml->wv, l->wv, KV, D, "attn_v", path, err, errlen) ||
             widen(&ml->wo, l->wo, D, D, "attn_output", path, err, errlen) ||
             widen(&ml->w_gate, l->w_gate, F, D, "ffn_gate", path, err, errlen) ||
             widen(&ml->w_up, l->w_up, F, D, "ffn_up", path, err, errlen) ||
             widen(&ml->w_down, l->w_down, D, F, "ffn_down", path, err, errlen) ? TMODEL_ETYPE : 0;
    }
    if (!rc) memcpy(t->w.output_norm, model_output_norm(m), sizeof(float) * (size_t)D);
    if (!rc && !c.tied) rc = widen(model_output(m), t->w.output, V, D, "output", path, err, errlen);
    if (rc) { tmodel_destroy(t); return rc; }
    memcpy(t->inv_freq, model_rope_inv_freq(m), sizeof(float) * (size_t)(t->head_dim / 2));
    *out = t;
    return TMODEL_OK;
}

/* ---- writing ---- */

static int set_hparams(ggufw *w, const tmodel *t, const char *name) {
    const tmodel_cfg *c = &t->cfg;
    return ggufw_set_str(w, "general.architecture", "llama") | ggufw_set_str(w, "general.name", name) |
           ggufw_set_u32(w, "general.file_type", 0) |
           ggufw_set_u32(w, "llama.vocab_size", (uint32_t)c->n_vocab) |
           ggufw_set_u32(w, "llama.context_length", (uint32_t)c->ctx) |
           ggufw_set_u32(w, "llama.embedding_length", (uint32_t)c->dim) |
           ggufw_set_u32(w, "llama.block_count", (uint32_t)c->n_layers) |
           ggufw_set_u32(w, "llama.feed_forward_length", (uint32_t)c->ffn_dim) |
           ggufw_set_u32(w, "llama.rope.dimension_count", (uint32_t)t->head_dim) |
           ggufw_set_u32(w, "llama.attention.head_count", (uint32_t)c->n_heads) |
           ggufw_set_u32(w, "llama.attention.head_count_kv", (uint32_t)c->n_kv_heads) |
           ggufw_set_f32(w, "llama.attention.layer_norm_rms_epsilon", c->rms_eps) |
           ggufw_set_f32(w, "llama.rope.freq_base", c->rope_base);
}

/* An SPM vocabulary ("llama") from a loaded tokenizer: for llama2.c sources,
 * whose tokenizer.bin has no GGUF keys to copy. */
static int set_vocab_from_tok(ggufw *w, const tok *tk, char *err, size_t errlen) {
    if (tok_kind(tk) != TOK_SPM)
        return fail(err, errlen, TMODEL_EINVAL, "only an SPM vocabulary can be rebuilt from a tokenizer; "
                    "give a GGUF source for a BPE one");
    int32_t n = tok_n_vocab(tk);
    const char **s = malloc(sizeof *s * (size_t)n);
    size_t *l = malloc(sizeof *l * (size_t)n);
    float *sc = malloc(sizeof *sc * (size_t)n);
    int32_t *ty = malloc(sizeof *ty * (size_t)n);
    int rc = TMODEL_ENOMEM;
    if (!s || !l || !sc || !ty) { fail(err, errlen, rc, "out of memory"); goto out; }
    for (int32_t i = 0; i < n; i++) {
        s[i] = tok_text(tk, i, &l[i]);
        sc[i] = tok_score(tk, i);
        ty[i] = tok_attr(tk, i);
    }
    rc = ggufw_set_str(w, "tokenizer.ggml.model", "llama") | ggufw_set_str(w, "tokenizer.ggml.pre", "default") |
         ggufw_set_str_arr(w, "tokenizer.ggml.tokens", s, l, (uint64_t)n) |
         ggufw_set_arr(w, "tokenizer.ggml.scores", GGUF_T_F32, sc, (uint64_t)n) |
         ggufw_set_arr(w, "tokenizer.ggml.token_type", GGUF_T_I32, ty, (uint64_t)n) |
         ggufw_set_bool(w, "tokenizer.ggml.add_bos_token", tok_add_bos(tk));
    if (tok_bos(tk) >= 0) rc |= ggufw_set_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)tok_bos(tk));
    if (tok_eos(tk) >= 0) rc |= ggufw_set_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)tok_eos(tk));
    if (tok_unk(tk) >= 0) rc |= ggufw_set_u32(w, "tokenizer.ggml.unknown_token_id", (uint32_t)tok_unk(tk));
    if (rc) fail(err, errlen, rc = TMODEL_ENOMEM, "cannot set the vocabulary keys");
out:
    free(s); free(l); free(sc); free(ty);
    return rc;
}

static int set_vocab(ggufw *w, const tok *tk, const gguf *src, const char *chat_template, char *err,
                     size_t errlen) {
    if (!src || !gguf_get(src, "tokenizer.ggml.tokens")) {
        int rc = set_vocab_from_tok(w, tk, err, errlen);
        if (!rc && chat_template && ggufw_set_str(w, "tokenizer.chat_template", chat_template))
            return fail(err, errlen, TMODEL_ENOMEM, "cannot set tokenizer.chat_template");
        return rc;
    }
    for (int64_t i = 0; i < gguf_n_kv(src); i++) {
        const char *k = gguf_kv_key(src, i);
        if (chat_template && strcmp(k, "tokenizer.chat_template") == 0) continue;   /* replaced below */
        if (strncmp(k, "tokenizer.", 10) == 0 && ggufw_copy_kv(w, k, gguf_kv_value(src, i)))
            return fail(err, errlen, TMODEL_ENOMEM, "cannot copy %s", k);
    }
    if (chat_template && ggufw_set_str(w, "tokenizer.chat_template", chat_template))
        return fail(err, errlen, TMODEL_ENOMEM, "cannot set tokenizer.chat_template");
    return TMODEL_OK;
}

static int add_t(ggufw *w, const char *name, uint64_t ne0, uint64_t ne1) {
    uint64_t ne[2] = { ne0, ne1 };
    return ggufw_add_tensor(w, name, 0 /* F32 */, ne1 > 1 ? 2 : 1, ne);
}

int tmodel_write_gguf(const tmodel *t, const char *path, const char *name, const tok *tk, const gguf *src,
                      const char *chat_template, char *err, size_t errlen) {
    const tmodel_cfg *c = &t->cfg;
    if (tok_n_vocab(tk) != c->n_vocab)
        return fail(err, errlen, TMODEL_EINVAL, "%s: the tokenizer has %d tokens, the model %d", path,
                    tok_n_vocab(tk), c->n_vocab);
    ggufw *w = ggufw_create();
    if (!w) return fail(err, errlen, TMODEL_ENOMEM, "out of memory");
    int rc = TMODEL_EINVAL;
    uint64_t D = (uint64_t)c->dim, F = (uint64_t)c->ffn_dim, V = (uint64_t)c->n_vocab, KV = (uint64_t)t->kv_dim;
    if (set_hparams(w, t, name)) { fail(err, errlen, rc, "cannot set the metadata"); goto out; }
    if ((rc = set_vocab(w, tk, src, chat_template, err, errlen))) goto out;
    rc = add_t(w, "token_embd.weight", D, V);
    for (int32_t il = 0; il < c->n_layers; il++) {
        struct { const char *n; uint64_t ne0, ne1; } ws[] = {
            {"attn_norm", D, 1}, {"attn_q", D, D}, {"attn_k", D, KV}, {"attn_v", D, KV},
            {"attn_output", D, D}, {"ffn_norm", D, 1}, {"ffn_gate", D, F}, {"ffn_up", D, F},
            {"ffn_down", F, D},
        };
        for (size_t k = 0; k < sizeof ws / sizeof ws[0]; k++) {
            char tn[64];
            snprintf(tn, sizeof tn, "blk.%d.%s.weight", il, ws[k].n);
            rc |= add_t(w, tn, ws[k].ne0, ws[k].ne1);
        }
    }
    rc |= add_t(w, "output_norm.weight", D, 1);
    if (!c->tied) rc |= add_t(w, "output.weight", D, V);
    if (rc) { fail(err, errlen, rc = TMODEL_ENOMEM, "cannot declare the tensors"); goto out; }
    /* the flat layout is the GGUF tensor order, so the data streams as is */
    rc = TMODEL_EIO;
    /* ggufw writes a temporary beside path and renames it at the end */
    if (ggufw_begin(w, path, err, errlen)) goto out;
    const float *p = t->data;
    size_t total = t->n_params;
    size_t sizes_cap = 4 + (size_t)c->n_layers * 9;
    size_t *sizes = malloc(sizeof *sizes * sizes_cap), ns = 0;
    if (!sizes) { fail(err, errlen, rc = TMODEL_ENOMEM, "out of memory"); goto out; }
    sizes[ns++] = V * D;
    for (int32_t il = 0; il < c->n_layers; il++) {
        size_t ls[9] = { D, D * D, KV * D, KV * D, D * D, D, F * D, F * D, D * F };
        for (int k = 0; k < 9; k++) sizes[ns++] = ls[k];
    }
    sizes[ns++] = D;
    if (!c->tied) sizes[ns++] = V * D;
    size_t done = 0;
    for (size_t i = 0; i < ns; i++) {
        if (ggufw_write_data(w, p + done, sizes[i] * sizeof(float), err, errlen)) { free(sizes); goto out; }
        done += sizes[i];
    }
    free(sizes);
    if (done != total) { fail(err, errlen, rc, "internal: layout size mismatch"); goto out; }
    if (ggufw_end(w, err, errlen)) goto out;
    rc = TMODEL_OK;
out:
    ggufw_destroy(w);
    return rc;
}
