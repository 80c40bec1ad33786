/* model_impl: the model's private struct and the helpers its two loaders
 * share: model.c (GGUF, the common parts) and model_l2c.c (llama2.c
 * checkpoints). Nothing outside core/model*.c includes this. */
#ifndef MODEL_IMPL_H
#define MODEL_IMPL_H
#include "model.h"
#include <pthread.h>

struct model {
    char *path;
    model_info info;
    struct gguf *g;                /* GGUF source, or NULL */
    void *map; size_t map_size;    /* llama2.c mapping */
    struct tok *tok;
    model_weight tok_embd, output;
    const float *output_norm;
    model_layer *layers;           /* (n_layers) */
    float *inv_freq;               /* (rope_dim / 2) */
    float *owned;                  /* norms widened from F16, if any */
    void *wbuf;                    /* llama2.c v2: weights converted from int8 groups */
    model_l2c_array *arrays;       /* llama2.c: where each array lies in the file */
    int32_t n_arrays;
    /* objects shared by the model's contexts (model_share.c), behind share_lock */
    pthread_mutex_t share_lock;
    struct model_share *shares;
};

/* model_share.c: sets up and frees the shared objects' list (model_open, model_close). */
void model_share_init(model *m);
void model_share_fini(model *m);

/* Fills err with "PATH: message"; returns -1. */
/* model_l2c.c: model_sniff for what is not GGUF: the n first bytes b of path
 * (all of a shorter file) against read_header's checks. */
int model_l2c_sniff(const char *path, const unsigned char *b, size_t n, char *err, size_t errlen);
int model_fail(char *err, size_t errlen, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The file name without folder and extension. */
void model_file_stem(const char *path, char *out, size_t n);
/* Checks the hyperparameters both formats share; sets head_dim, rope_dim. */
int model_check_hparams(model *m, char *err, size_t errlen);
/* m->inv_freq from rope_base and rope_dim, divided by factors if given. */
int model_make_inv_freq(model *m, const float *factors, char *err, size_t errlen);
/* Reads a llama2.c checkpoint (any version) into m; its tokenizer too. */
int model_load_llama2c(model *m, const model_params *p, char *err, size_t errlen);

#endif
