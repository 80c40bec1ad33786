/* model: loads the Llama architecture from GGUF or a llama2.c checkpoint.
 *
 * GGUF: hyperparameters from the llama.* keys (GGUF spec, "LLM" section),
 * weights used in place in the mapping after every tensor's type and shape
 * is checked against them. llama2.c checkpoints are read by model_l2c.c.
 * Invariant: after model_open every model_weight points at rows*cols elements
 * of a supported type, and every norm at `dim` F32 values.
 */
#include "model_impl.h"
#include "gguf.h"
#include "fio.h"
#include "qtypes.h"
#include "tok.h"
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int model_fail(char *err, size_t errlen, const char *path, const char *fmt, ...) {
    if (err && errlen) {
        int k = snprintf(err, errlen, "%s: ", path);
        va_list ap;
        va_start(ap, fmt);
        if (k >= 0 && (size_t)k < errlen) vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
        va_end(ap);
    }
    return -1;
}

void model_close(model *m) {
    if (!m) return;
    model_share_fini(m);
    gguf_close(m->g);
    if (m->map) munmap(m->map, m->map_size);
    tok_destroy(m->tok);
    free(m->layers); free(m->inv_freq); free(m->owned); free(m->wbuf); free(m->arrays);
    free((char *)m->info.chat_template);
    free(m->path);
    free(m);
}

const model_info *model_get_info(const model *m) { return &m->info; }
const tok *model_tok(const model *m) { return m->tok; }
const gguf *model_gguf(const model *m) { return m->g; }
const char *model_path(const model *m) { return m->path; }
int32_t model_l2c_arrays(const model *m, const model_l2c_array **out) { *out = m->arrays; return m->n_arrays; }
const model_weight *model_tok_embd(const model *m) { return &m->tok_embd; }
const model_weight *model_output(const model *m) { return &m->output; }
const float *model_output_norm(const model *m) { return m->output_norm; }
const model_layer *model_get_layer(const model *m, int32_t il) { return &m->layers[il]; }
const float *model_rope_inv_freq(const model *m) { return m->inv_freq; }

void model_file_stem(const char *path, char *out, size_t n) {
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    snprintf(out, n, "%s", b);
    char *dot = strrchr(out, '.');
    if (dot && dot != out) *dot = 0;
}

/* Checks hyperparameters shared by both formats. */
int model_check_hparams(model *m, char *err, size_t errlen) {
    model_info *h = &m->info;
    const char *p = m->path;
    if (h->dim <= 0 || h->dim > 65536) return model_fail(err, errlen, p, "embedding length %d out of range", h->dim);
    if (h->n_layers <= 0 || h->n_layers > 1024) return model_fail(err, errlen, p, "block count %d out of range", h->n_layers);
    if (h->n_heads <= 0 || h->dim % h->n_heads) return model_fail(err, errlen, p, "head count %d does not divide embedding length %d", h->n_heads, h->dim);
    if (h->n_kv_heads <= 0 || h->n_heads % h->n_kv_heads) return model_fail(err, errlen, p, "KV head count %d does not divide head count %d", h->n_kv_heads, h->n_heads);
    if (h->ffn_dim <= 0 || h->ffn_dim > 1 << 20) return model_fail(err, errlen, p, "feed-forward length %d out of range", h->ffn_dim);
    if (h->n_vocab <= 0 || h->n_vocab > 1 << 24) return model_fail(err, errlen, p, "vocabulary size %d out of range", h->n_vocab);
    if (h->ctx_train <= 0 || h->ctx_train > 1 << 24)
        return model_fail(err, errlen, p, "context length %d out of range (1..16777216)", h->ctx_train);
    h->head_dim = h->dim / h->n_heads;
    if (h->rope_dim <= 0) h->rope_dim = h->head_dim;
    if (h->rope_dim > h->head_dim || h->rope_dim % 2) return model_fail(err, errlen, p, "rope dimension %d invalid for head size %d", h->rope_dim, h->head_dim);
    if (!(h->rope_base > 0) || !isfinite(h->rope_base)) return model_fail(err, errlen, p, "rope frequency base %g invalid", h->rope_base);
    if (!(h->rms_eps > 0) || h->rms_eps > 1) return model_fail(err, errlen, p, "RMS norm epsilon %g invalid", h->rms_eps);
    return 0;
}

int model_make_inv_freq(model *m, const float *factors, char *err, size_t errlen) {
    int32_t half = m->info.rope_dim / 2;
    m->inv_freq = malloc(sizeof(float) * (size_t)half);
    if (!m->inv_freq) return model_fail(err, errlen, m->path, "out of memory");
    for (int32_t j = 0; j < half; j++) {
        /* theta_j = base^(-2j/d) (RoFormer, Su et al. 2021); Llama 3.1 divides by
         * a per-frequency factor stored in rope_freqs.weight */
        double f = pow((double)m->info.rope_base, -2.0 * j / m->info.rope_dim);
        if (factors) f /= factors[j];
        m->inv_freq[j] = (float)f;
    }
    return 0;
}

/* ---------------- GGUF ---------------- */

static int find_weight(model *m, const char *name, int64_t rows, int64_t cols, bool optional,
                       model_weight *w, char *err, size_t errlen) {
    const gguf_tensor *t = gguf_find_tensor(m->g, name);
    if (!t) {
        if (optional) { w->data = NULL; return 0; }
        return model_fail(err, errlen, m->path, "tensor '%s' is missing", name);
    }
    const qt_traits *tr = qt_get((int)t->type);
    if (!tr || !tr->supported)
        return model_fail(err, errlen, m->path, "tensor '%s' has type %s, which logitlab cannot compute with",
                    name, tr ? tr->name : "unknown");
    uint64_t ne1 = t->n_dims > 1 ? t->ne[1] : 1;
    if (t->n_dims > 2 || (int64_t)t->ne[0] != cols || (int64_t)ne1 != rows)
        return model_fail(err, errlen, m->path, "tensor '%s' has shape [%llu, %llu], expected [%lld, %lld]",
                    name, (unsigned long long)t->ne[0], (unsigned long long)ne1, (long long)cols, (long long)rows);
    w->data = t->data; w->type = (int32_t)t->type; w->rows = rows; w->cols = cols;
    return 0;
}

/* A 1-D F32 (or F16, widened into m->owned at `slot`) vector of n values. */
static int find_vec(model *m, const char *name, int64_t n, const float **out, float *slot,
                    char *err, size_t errlen) {
    model_weight w;
    if (find_weight(m, name, 1, n, false, &w, err, errlen)) return -1;
    if (w.type == QT_F32) { *out = w.data; return 0; }
    qt_dequantize_row(w.type, w.data, slot, n);
    *out = slot;
    return 0;
}

static int gguf_i32(const gguf *g, const char *key, int32_t dflt, int32_t *out) {
    int64_t v;
    int rc = gguf_get_i64(g, key, &v);
    if (rc == GGUF_ENOTFOUND) { *out = dflt; return 0; }
    if (rc || v < INT32_MIN || v > INT32_MAX) return -1;
    *out = (int32_t)v;
    return 0;
}

static int load_gguf(model *m, char *err, size_t errlen) {
    const gguf *g = m->g;
    model_info *h = &m->info;
    const char *s; size_t sl;
    if (gguf_get_str(g, "general.architecture", &s, &sl))
        return model_fail(err, errlen, m->path, "general.architecture is missing: not a model file");
    snprintf(h->arch, sizeof h->arch, "%.*s", (int)(sl < 31 ? sl : 31), s);
    if (strcmp(h->arch, "llama") != 0)
        return model_fail(err, errlen, m->path, "architecture '%s' is not supported (only llama)", h->arch);
    if (gguf_get_str(g, "general.name", &s, &sl) == 0)
        snprintf(h->name, sizeof h->name, "%.*s", (int)(sl < 127 ? sl : 127), s);
    else model_file_stem(m->path, h->name, sizeof h->name);
    snprintf(h->format, sizeof h->format, "gguf v%u", gguf_version(g));
    const gguf_tensor *emb = gguf_find_tensor(g, "token_embd.weight");
    if (!emb) return model_fail(err, errlen, m->path, "tensor 'token_embd.weight' is missing");
    struct { const char *key; int32_t *dst; int32_t dflt; } ik[] = {
        {"llama.embedding_length", &h->dim, -1},
        {"llama.feed_forward_length", &h->ffn_dim, -1},
        {"llama.block_count", &h->n_layers, -1},
        {"llama.attention.head_count", &h->n_heads, -1},
        {"llama.attention.head_count_kv", &h->n_kv_heads, 0},
        {"llama.rope.dimension_count", &h->rope_dim, 0},
        {"llama.context_length", &h->ctx_train, 2048},
        {"llama.vocab_size", &h->n_vocab, emb->n_dims > 1 ? (int32_t)emb->ne[1] : -1},
        {"general.file_type", &h->ftype, -1},
    };
    for (size_t i = 0; i < sizeof ik / sizeof ik[0]; i++) {
        if (gguf_i32(g, ik[i].key, ik[i].dflt, ik[i].dst))
            return model_fail(err, errlen, m->path, "metadata '%s' is not a valid integer", ik[i].key);
        if (*ik[i].dst == -1 && strcmp(ik[i].key, "general.file_type") != 0)
            return model_fail(err, errlen, m->path, "metadata '%s' is missing", ik[i].key);
    }
    if (h->n_kv_heads == 0) h->n_kv_heads = h->n_heads;
    h->rope_base = 10000.0f;
    h->rms_eps = 1e-5f;
    if (gguf_get_f32(g, "llama.rope.freq_base", &h->rope_base) == GGUF_ETYPE ||
        gguf_get_f32(g, "llama.attention.layer_norm_rms_epsilon", &h->rms_eps) == GGUF_ETYPE)
        return model_fail(err, errlen, m->path, "rope.freq_base or layer_norm_rms_epsilon is not a number");
    if (model_check_hparams(m, err, errlen)) return -1;
    if (gguf_get_str(g, "tokenizer.chat_template", &s, &sl) == 0) {
        char *ct = malloc(sl + 1);
        if (!ct) return model_fail(err, errlen, m->path, "out of memory");
        memcpy(ct, s, sl); ct[sl] = 0;
        h->chat_template = ct;
    }

    int32_t L = h->n_layers, D = h->dim, F = h->ffn_dim, KV = h->n_kv_heads * h->head_dim;
    m->layers = calloc((size_t)L, sizeof *m->layers);
    m->owned = malloc(sizeof(float) * ((size_t)(2 * L + 1) * D + (size_t)h->rope_dim));
    if (!m->layers || !m->owned) return model_fail(err, errlen, m->path, "out of memory");
    if (find_weight(m, "token_embd.weight", h->n_vocab, D, false, &m->tok_embd, err, errlen) ||
        find_weight(m, "output.weight", h->n_vocab, D, true, &m->output, err, errlen) ||
        find_vec(m, "output_norm.weight", D, &m->output_norm, m->owned + (size_t)2 * L * D, err, errlen))
        return -1;
    h->tied_output = m->output.data == NULL;
    if (h->tied_output) m->output = m->tok_embd;
    char name[96];
    for (int32_t il = 0; il < L; il++) {
        model_layer *ly = &m->layers[il];
        struct { const char *n; int64_t rows, cols; model_weight *w; } mats[] = {
            {"attn_q", D, D, &ly->wq}, {"attn_k", KV, D, &ly->wk}, {"attn_v", KV, D, &ly->wv},
            {"attn_output", D, D, &ly->wo}, {"ffn_gate", F, D, &ly->w_gate},
            {"ffn_up", F, D, &ly->w_up}, {"ffn_down", D, F, &ly->w_down},
        };
        for (size_t k = 0; k < sizeof mats / sizeof mats[0]; k++) {
            snprintf(name, sizeof name, "blk.%d.%s.weight", il, mats[k].n);
            if (find_weight(m, name, mats[k].rows, mats[k].cols, false, mats[k].w, err, errlen)) return -1;
        }
        snprintf(name, sizeof name, "blk.%d.attn_norm.weight", il);
        if (find_vec(m, name, D, &ly->attn_norm, m->owned + (size_t)(2 * il) * D, err, errlen)) return -1;
        snprintf(name, sizeof name, "blk.%d.ffn_norm.weight", il);
        if (find_vec(m, name, D, &ly->ffn_norm, m->owned + (size_t)(2 * il + 1) * D, err, errlen)) return -1;
    }
    const float *factors = NULL;
    if (gguf_find_tensor(g, "rope_freqs.weight")) {
        if (find_vec(m, "rope_freqs.weight", h->rope_dim / 2, &factors,
                     m->owned + (size_t)(2 * L + 1) * D, err, errlen)) return -1;
        h->has_rope_freqs = true;
    }
    if (model_make_inv_freq(m, factors, err, errlen)) return -1;
    if (tok_from_gguf(&m->tok, g, err, errlen)) return -1;
    if (tok_n_vocab(m->tok) != h->n_vocab)
        return model_fail(err, errlen, m->path, "tokenizer has %d tokens but the model %d",
                    tok_n_vocab(m->tok), h->n_vocab);
    return 0;
}

static void summarise(model *m) {
    model_info *h = &m->info;
    int counts[QT_COUNT] = {0};
    uint64_t params = (uint64_t)h->n_vocab * h->dim * (h->tied_output ? 1 : 2) + h->dim;
    uint64_t bytes = qt_row_size(m->tok_embd.type, h->dim) * (uint64_t)h->n_vocab;
    if (!h->tied_output) bytes += qt_row_size(m->output.type, h->dim) * (uint64_t)h->n_vocab;
    for (int32_t il = 0; il < h->n_layers; il++) {
        const model_layer *ly = &m->layers[il];
        const model_weight *ws[] = { &ly->wq, &ly->wk, &ly->wv, &ly->wo, &ly->w_gate, &ly->w_up, &ly->w_down };
        for (size_t k = 0; k < 7; k++) {
            params += (uint64_t)ws[k]->rows * ws[k]->cols;
            bytes += qt_row_size(ws[k]->type, ws[k]->cols) * (uint64_t)ws[k]->rows;
            if (ws[k]->type >= 0 && ws[k]->type < QT_COUNT) counts[ws[k]->type]++;
        }
        params += 2 * (uint64_t)h->dim;
    }
    int best = m->tok_embd.type;
    for (int t = 0; t < QT_COUNT; t++) if (counts[t] > counts[best]) best = t;
    h->wtype = best;
    h->n_params = params;
    h->weight_bytes = bytes;
    /* A step looks up one embedding row per sequence; the rest of the table is
     * read only where it is also the output matrix. Norms are f32 vectors. */
    uint64_t table = qt_row_size(m->tok_embd.type, h->dim) * (uint64_t)h->n_vocab;
    h->step_bytes = bytes - (h->tied_output ? 0 : table) + (h->tied_output ? 0 : qt_row_size(m->tok_embd.type, h->dim))
                    + sizeof(float) * (uint64_t)h->dim * (uint64_t)(2 * h->n_layers + 1);
}

int model_sniff(const char *path, char *err, size_t errlen) {
    unsigned char b[256];
    size_t got = 0;
    if (fio_head(path, b, sizeof b, &got, err, errlen)) return -1;   /* regular files only */
    if (got >= 4 && memcmp(b, "GGUF", 4) == 0) return 0;
    return model_l2c_sniff(path, b, got, err, errlen);
}

int model_open(model **out, const char *path, const model_params *p, char *err, size_t errlen) {
    *out = NULL;
    model *m = calloc(1, sizeof *m);
    if (!m || !(m->path = strdup(path))) { free(m); return model_fail(err, errlen, path, "out of memory"); }
    model_share_init(m);
    m->info.ftype = -1;
    m->info.l2c_version = -1;
    char magic[4] = {0};
    size_t got = 0;
    if (fio_head(path, magic, 4, &got, err, errlen)) { model_close(m); return -1; }   /* regular files only */
    int rc;
    if (got == 4 && memcmp(magic, "GGUF", 4) == 0 && p && p->tokenizer_path) {
        rc = model_fail(err, errlen, path, "a GGUF model carries its own tokenizer; a tokenizer file is only for "
                  "llama2.c checkpoints");
    } else if (got == 4 && memcmp(magic, "GGUF", 4) == 0) {
        rc = gguf_open(&m->g, path, err, errlen);
        if (rc == 0) rc = load_gguf(m, err, errlen);
    } else {
        rc = model_load_llama2c(m, p, err, errlen);
    }
    if (rc) { model_close(m); return -1; }
    summarise(m);
    *out = m;
    return 0;
}
