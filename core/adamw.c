/* adamw: optimizer step, schedule and clipping (adamw.h). The update runs
 * element-wise over slices of the pool (kernels/cpu/tvec: SIMD with the
 * scalar loop's roundings), so it is the same whatever the thread count. */
#include "adamw.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "tvec.h"

int adamw_init(adamw *o, const adamw_cfg *c, size_t n, const uint8_t *decay) {
    memset(o, 0, sizeof *o);
    o->cfg = *c;
    o->n = n;
    o->decay = decay;
    o->m = calloc(n ? n : 1, sizeof(float));
    o->v = calloc(n ? n : 1, sizeof(float));
    if (!o->m || !o->v) { adamw_fini(o); return -1; }
    return 0;
}

void adamw_fini(adamw *o) {
    free(o->m);
    free(o->v);
    o->m = o->v = NULL;
}

typedef struct job {
    adamw *o;
    float *p, lr, bc1, bc2sqrt;
    const float *g;
} job;

static void run(void *arg, int ith, int nth) {
    job *j = arg;
    adamw *o = j->o;
    long lo, hi;
    pool_split((long)o->n, ith, nth, &lo, &hi);
    if (hi <= lo) return;
    tvec_adamw_k k = { o->cfg.beta1, o->cfg.beta2, o->cfg.eps, 1.0f - j->lr * o->cfg.weight_decay, j->lr / j->bc1,
                       j->bc2sqrt };
    tvec_adamw((size_t)(hi - lo), j->p + lo, o->m + lo, o->v + lo, j->g + lo, o->decay ? o->decay + lo : NULL, &k);
}

void adamw_step(adamw *o, pool *p, float *params, const float *grads, float lr) {
    o->t++;
    job j = { o, params, lr, (float)(1.0 - pow(o->cfg.beta1, (double)o->t)),
              (float)sqrt(1.0 - pow(o->cfg.beta2, (double)o->t)), grads };
    if (p) pool_run(p, run, &j);
    else run(&j, 0, 1);
}

float adamw_lr(int64_t s, int64_t warmup, int64_t total, float lr_max, float lr_min) {
    if (s < warmup) return lr_max * (float)(s + 1) / (float)warmup;
    if (total <= warmup + 1) return lr_max;
    double r = (double)(s - warmup) / (double)(total - warmup - 1);
    if (r > 1.0) r = 1.0;
    return lr_min + (lr_max - lr_min) * (float)(0.5 * (1.0 + cos(M_PI * r)));
}

double adamw_clip(float *g, size_t n, double clip) {
    double norm = sqrt(tvec_sumsq(n, g));
    if (clip > 0 && norm > clip) tvec_scale(n, g, (float)(clip / (norm + 1e-6)));
    return norm;
}
