/* tmodel: the trainable form of a Llama-architecture model: every weight in
 * float32 (the master weights), in one flat array with a fixed layout.
 *
 * Layout (the order tests/train_ref.py mirrors):
 *   tok_embd (V, D); per layer: attn_norm (D), wq (D, D), wk (KV, D),
 *   wv (KV, D), wo (D, D), ffn_norm (D), w_gate (F, D), w_up (F, D),
 *   w_down (D, F); then output_norm (D) and, unless tied, output (V, D).
 * Matrices are (out, in) row-major, as GGUF stores them; RoPE rotates the
 * adjacent pairs (2j, 2j+1) of each head, as the inference engine does.
 * Gradients and the optimizer moments use the same layout (tmodel_view over
 * any array of tmodel_n_params floats).
 */
#ifndef TMODEL_H
#define TMODEL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct model;
struct tok;
struct gguf;

typedef struct tmodel_cfg {
    int32_t n_vocab, dim, ffn_dim, n_layers, n_heads, n_kv_heads, ctx;
    float rope_base, rms_eps;
    bool tied;              /* output matrix = tok_embd */
} tmodel_cfg;

typedef struct tmodel_layer {
    float *attn_norm, *wq, *wk, *wv, *wo, *ffn_norm, *w_gate, *w_up, *w_down;
} tmodel_layer;

/* Pointers into one flat array of the layout above. */
typedef struct tmodel_w {
    float *base;
    float *tok_embd, *output_norm, *output;   /* output == tok_embd when tied */
    tmodel_layer *layers;                     /* n_layers, owned by the view */
} tmodel_w;

typedef struct tmodel {
    tmodel_cfg cfg;
    int32_t head_dim, kv_dim;
    size_t n_params;
    float *data;            /* (n_params) master weights */
    tmodel_w w;
    float *inv_freq;        /* (head_dim / 2) RoPE inverse frequencies */
} tmodel;

enum { TMODEL_OK = 0, TMODEL_EINVAL = -1, TMODEL_ENOMEM = -2, TMODEL_ETYPE = -3, TMODEL_EIO = -4 };

/* Checks a configuration (positive dims, heads dividing dim, kv heads
 * dividing heads, even head size). */
int tmodel_check_cfg(const tmodel_cfg *c, char *err, size_t errlen);
size_t tmodel_n_params(const tmodel_cfg *c);
/* Fills v with pointers into base (n_params floats); tmodel_view_fini frees
 * the layer table only. */
int tmodel_view(const tmodel_cfg *c, float *base, tmodel_w *v);
void tmodel_view_fini(tmodel_w *v);
/* True for the entries that are norm gains (no weight decay). */
void tmodel_decay_mask(const tmodel_cfg *c, uint8_t *mask);

/* A new model with seeded random weights (N(0, 0.02^2) matrices, the output
 * projections of each block scaled by 1/sqrt(2 n_layers), gains 1). */
int tmodel_create_random(tmodel **out, const tmodel_cfg *c, uint64_t seed, char *err, size_t errlen);
/* A new model with the weights of m widened to F32. Only F32, F16 and BF16
 * weights are accepted: quantized ones fail with TMODEL_ETYPE. */
int tmodel_create_from(tmodel **out, const struct model *m, char *err, size_t errlen);
void tmodel_destroy(tmodel *t);

/* Writes an F32 GGUF that model_open reads: the hyper-parameters, the
 * weights, and the tokenizer tk (every tokenizer.* key of src_gguf when it is
 * given, else an SPM vocabulary built from tk). chat_template, when not
 * NULL, is written as tokenizer.chat_template (in place of the source's).
 * The file appears whole or not at all (written beside, then renamed). */
int tmodel_write_gguf(const tmodel *t, const char *path, const char *name, const struct tok *tk,
                      const struct gguf *src_gguf, const char *chat_template, char *err, size_t errlen);
#endif
