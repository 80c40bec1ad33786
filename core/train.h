/* train: the training loop. Each step: gradient accumulation over micro-
 * batches, global-norm clipping, AdamW at the scheduled learning rate;
 * validation every K steps; checkpoints with exact resume.
 *
 * Exact resume: a step's batches come from (seed, step) (tdata.h), its
 * learning rate from the step, and a checkpoint holds the weights, AdamW's
 * moments and step count bit for bit. A run resumed from the checkpoint of
 * step s therefore computes the same floats as one that never stopped, on
 * the same machine and thread count.
 *
 * Checkpoints are written beside the target and renamed over it after an
 * fsync, so a crash or a full disk mid-write leaves the last good one; the
 * error then says so. A checkpoint ends with a checksum and records the
 * model shape, the settings that change the numbers and the data's hash:
 * resuming with anything else is refused with the difference named.
 */
#ifndef TRAIN_H
#define TRAIN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tmodel.h"

struct tdata;
struct pool;

typedef struct train_opts {
    int batch, seq_len, accum;      /* B sequences of T tokens, accum micro-batches a step */
    int64_t steps, warmup;
    float lr, lr_min, weight_decay, beta1, beta2, eps, clip;
    uint64_t seed;                  /* the data's seed is the tdata's; this one is recorded */
    int64_t val_every;              /* 0 = never (validation still runs at the end if data) */
    int val_batches;
    int64_t ckpt_every;             /* 0 = only at the end (when ckpt_path is set) */
    const char *ckpt_path;          /* NULL = no checkpoints */
} train_opts;

void train_opts_default(train_opts *o);

typedef struct train_stat {
    int64_t step, steps;            /* steps done, of */
    double loss;                    /* mean training loss of this step */
    double val_loss;                /* NaN when not measured at this step */
    double lr, grad_norm;
    double tok_per_s;               /* input tokens a second, this run so far */
    double elapsed_s, eta_s;
    double cpu_s;                   /* CPU time of the process (all threads) this run so far */
    int64_t tokens;                 /* input tokens processed this run */
    bool checkpointed;              /* a checkpoint was written after this step */
} train_stat;

/* Called after every step; a non-zero return stops the run (train_run then
 * returns TRAIN_ESTOPPED after writing a checkpoint if it has a path). */
typedef int (*train_step_fn)(void *ud, const train_stat *s);

typedef struct train train;

enum { TRAIN_OK = 0, TRAIN_EINVAL = -1, TRAIN_ENOMEM = -2, TRAIN_EIO = -3, TRAIN_EFORMAT = -4,
       TRAIN_ESTOPPED = -5 };

/* m and d are borrowed and must outlive the trainer; d is finished. The
 * pool may be NULL. Refuses a sequence length above the model's context. */
int train_create(train **out, tmodel *m, const struct tdata *d, const train_opts *o, struct pool *p,
                 char *err, size_t errlen);
void train_destroy(train *t);

int64_t train_step_now(const train *t);
/* Runs until opts.steps. */
int train_run(train *t, train_step_fn cb, void *ud, char *err, size_t errlen);
/* Mean loss over the validation batches (NaN without validation data). */
double train_validate(train *t);

int train_save(train *t, const char *path, char *err, size_t errlen);
/* Loads a checkpoint into the trainer (weights, optimizer, step). */
int train_load(train *t, const char *path, char *err, size_t errlen);
#endif
