/* adamw: the AdamW optimizer (Loshchilov and Hutter 2019) over a flat F32
 * parameter array, the learning-rate schedule (linear warmup, then cosine
 * decay to a floor) and global-norm gradient clipping.
 *
 * The update is PyTorch's torch.optim.AdamW, term for term: decoupled decay
 * p *= 1 - lr wd (where the mask allows), then
 * p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
 * State (m, v, t) is plain data so checkpoints can save it bit for bit.
 */
#ifndef ADAMW_H
#define ADAMW_H
#include <stddef.h>
#include <stdint.h>

struct pool;

typedef struct adamw_cfg {
    float beta1, beta2, eps, weight_decay;
} adamw_cfg;

typedef struct adamw {
    adamw_cfg cfg;
    size_t n;
    int64_t t;              /* steps taken */
    float *m, *v;           /* (n) first and second moments */
    const uint8_t *decay;   /* (n) 1 where weight decay applies; borrowed, may be NULL (all) */
} adamw;

/* 0, or -1 when out of memory. */
int adamw_init(adamw *o, const adamw_cfg *c, size_t n, const uint8_t *decay);
void adamw_fini(adamw *o);
void adamw_step(adamw *o, struct pool *p, float *params, const float *grads, float lr);

/* Learning rate of step s (0-based) of total: linear warmup over `warmup`
 * steps to lr_max, then cosine to lr_min at the last step. */
float adamw_lr(int64_t s, int64_t warmup, int64_t total, float lr_max, float lr_min);

/* Global L2 norm of g (n), summed in double in a fixed order; when it is
 * above clip > 0 the gradients are scaled down to norm clip. Returns the
 * norm before clipping. */
double adamw_clip(float *g, size_t n, double clip);
#endif
