/* model: a Llama-architecture model loaded from GGUF (mmap, weights used in
 * place) or from a llama2.c checkpoint (.bin: versions 0 and 1 are F32 used
 * in place; version 2's int8 groups become Q8_0 blocks or F32, model_l2c.c).
 *
 * The model owns its weights, its tokenizer and (for GGUF) the mapping. It is
 * immutable after model_open, so several contexts may share one model.
 * Supported: Llama 1/2/3/3.1/3.2 as GGUF describes them (rope_freq_base, the
 * rope_freqs tensor, tied or separate output, GQA, RMSNorm epsilon).
 */
#ifndef MODEL_H
#define MODEL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gguf;
struct tok;
typedef struct model model;

typedef struct model_info {
    char arch[32];          /* "llama" */
    char name[128];         /* general.name or the file stem */
    char format[16];        /* "gguf v3", "llama2.c v2" */
    int32_t l2c_version;    /* llama2.c checkpoint version (0, 1, 2); -1 for GGUF */
    int32_t l2c_group;      /* llama2.c version 2: values per int8 group; else 0 */
    int32_t n_vocab, dim, ffn_dim, n_layers, n_heads, n_kv_heads, head_dim;
    int32_t rope_dim;       /* rotated dims per head (== head_dim for Llama) */
    int32_t ctx_train;      /* context length it was trained with */
    float rope_base, rms_eps;
    bool tied_output;       /* output matrix is token_embd */
    bool has_rope_freqs;    /* Llama 3.1 rope_freqs factors present */
    int32_t ftype;          /* general.file_type, -1 if absent */
    int32_t wtype;          /* the most common 2-D weight type (qt_type) */
    uint64_t n_params;
    uint64_t weight_bytes;
    uint64_t step_bytes;    /* weight bytes one decode step reads: every matrix and norm once and
                             * one row of token_embd (all of it when it is also the output) */
    const char *chat_template; /* NUL terminated copy, NULL if none */
} model_info;

/* Shared per-model objects: made once per model and shared by all its
 * contexts (the CPU backend's repacked and huge-page weight copies, one set
 * per ISA and page setting). model_share_get returns the object stored under
 * key (< 64 bytes), making it with make(arg, &bytes) if there is none, and
 * takes a reference; NULL if make returned NULL (nothing is stored then).
 * It is safe to call from several threads at once: make runs under the
 * model's lock, so contexts created together make one object and share it.
 * model_share_put drops a reference; the last one frees the object with the
 * destroy given to the get that made it. Every context must be destroyed
 * before model_close (which frees whatever is left). model_share_stats: the
 * objects held now, the references to them and their bytes (as make said). */
typedef void *(*model_share_make_fn)(void *arg, size_t *bytes);
typedef void (*model_share_free_fn)(void *obj);
void *model_share_get(const model *m, const char *key, model_share_make_fn make, model_share_free_fn destroy,
                      void *arg);
void model_share_put(const model *m, void *obj);
void model_share_stats(const model *m, int *objects, int *refs, size_t *bytes);

/* One weight matrix as stored: rows of `cols` elements of `type`. */
typedef struct model_weight {
    const void *data;
    int32_t type;           /* qt_type */
    int64_t rows, cols;
} model_weight;

typedef struct model_layer {
    const float *attn_norm, *ffn_norm;                  /* (dim) */
    model_weight wq, wk, wv, wo, w_gate, w_up, w_down;
} model_layer;

/* Where a llama2.c checkpoint keeps one array, and what it became. */
typedef struct model_l2c_array {
    char name[40];          /* the GGUF name of what it holds, "blk.0.attn_q.weight" */
    int64_t rows, cols;
    uint64_t offset, size;  /* bytes in the file: fp32 values, or (version 2) int8 codes */
    uint64_t scale_offset, scale_size; /* version 2 matrices: their fp32 group scales; else 0 */
    int32_t loaded_type;    /* qt_type the engine computes with; -1: not used (v0 RoPE tables) */
} model_l2c_array;

typedef struct model_params {
    const char *tokenizer_path; /* llama2.c only: tokenizer.bin; NULL looks beside the model */
    bool l2c_exact;             /* llama2.c version 2: every int8 matrix widened to F32 (code *
                                   scale, exact) instead of Q8_0 blocks where the groups allow */
} model_params;

/* Opens a GGUF or llama2.c file (chosen by content). On failure *out is NULL
 * and err reads "PATH: problem". */
int model_open(model **out, const char *path, const model_params *p, char *err, size_t errlen);
void model_close(model *m);
/* Whether path starts as a file model_open reads (the GGUF magic, or a
 * llama2.c header that model_open would accept): 0, or -1 with the error
 * model_open gives for it. Reads the first 256 bytes only, so a caller can
 * refuse a wrong file (a typo, a text file) at once, before it gives up the
 * model it has; model_open may still fail past the header. */
int model_sniff(const char *path, char *err, size_t errlen);

const model_info *model_get_info(const model *m);
const struct tok *model_tok(const model *m);
/* The GGUF the model was read from, or NULL for llama2.c checkpoints. */
const struct gguf *model_gguf(const model *m);
const char *model_path(const model *m);
/* llama2.c checkpoints: the arrays in file order (borrowed); 0 for GGUF. */
int32_t model_l2c_arrays(const model *m, const model_l2c_array **out);

/* Weights, for backends. */
const model_weight *model_tok_embd(const model *m);  /* (n_vocab rows, dim cols) */
const model_weight *model_output(const model *m);    /* (n_vocab, dim); may alias tok_embd */
const float *model_output_norm(const model *m);      /* (dim) */
const model_layer *model_get_layer(const model *m, int32_t il);
/* RoPE inverse frequencies (head_dim/2): base^(-2i/rope_dim) / rope_freqs[i]. */
const float *model_rope_inv_freq(const model *m);

#endif
