/* train: the loop, validation and checkpoints (train.h).
 *
 * Checkpoint file (little-endian, as the machine writes it):
 *   "LLTRAIN1", u32 version, u32 header bytes, the header (shape, settings
 *   that change the numbers, the data hash, step, AdamW's t), then
 *   params, m, v (n_params floats each), then an FNV-1a 64 checksum of all
 *   bytes before it.
 */
#include "fout.h"
#include "train.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "adamw.h"
#include "pool.h"
#include "tdata.h"
#include "tfwd.h"

#define CKPT_MAGIC "LLTRAIN1"
#define CKPT_VERSION 1u

struct train {
    tmodel *m;
    const tdata *d;
    train_opts o;
    pool *pool;
    tfwd *fw;
    float *grad;            /* (n_params) */
    tmodel_w gv;
    uint8_t *decay;         /* (n_params) */
    adamw opt;
    int64_t step;
    int32_t *tokens, *targets;   /* (B, T) */
    uint8_t data_hash[32];
};

/* What a checkpoint must agree on with the trainer that loads it. */
typedef struct ckpt_head {
    int32_t n_vocab, dim, ffn_dim, n_layers, n_heads, n_kv_heads, ctx, tied;
    float rope_base, rms_eps;
    int32_t batch, seq_len, accum, pad;
    int64_t steps, warmup;
    float lr, lr_min, weight_decay, beta1, beta2, eps, clip, pad2;
    uint64_t seed;
    uint8_t data_hash[32];
    int64_t step, adam_t;
    uint64_t n_params;
} ckpt_head;

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

void train_opts_default(train_opts *o) {
    *o = (train_opts){ .batch = 8, .seq_len = 128, .accum = 1, .steps = 1000, .warmup = 100, .lr = 1e-3f,
                       .lr_min = 1e-4f, .weight_decay = 0.1f, .beta1 = 0.9f, .beta2 = 0.95f, .eps = 1e-8f,
                       .clip = 1.0f, .seed = 1, .val_every = 100, .val_batches = 4 };
}

int train_create(train **out, tmodel *m, const tdata *d, const train_opts *o, pool *p, char *err, size_t errlen) {
    *out = NULL;
    if (o->batch < 1 || o->seq_len < 1 || o->accum < 1 || o->steps < 1 || o->warmup < 0)
        return fail(err, errlen, TRAIN_EINVAL, "batch, sequence length, accumulation and steps must be positive");
    if (o->seq_len > m->cfg.ctx)
        return fail(err, errlen, TRAIN_EINVAL, "sequence length %d is above the model's context of %d tokens",
                    o->seq_len, m->cfg.ctx);
    /* each setting by its name, with its allowed range (written so NaN fails too) */
    const char *bad = NULL, *range = NULL;
    double got = 0;
    if (!(o->lr > 0)) bad = "lr", range = "> 0", got = o->lr;
    else if (!(o->lr_min >= 0)) bad = "lr_min", range = ">= 0", got = o->lr_min;
    else if (!(o->beta1 >= 0 && o->beta1 < 1)) bad = "beta1", range = "in [0, 1)", got = o->beta1;
    else if (!(o->beta2 >= 0 && o->beta2 < 1)) bad = "beta2", range = "in [0, 1)", got = o->beta2;
    else if (!(o->eps > 0)) bad = "eps", range = "> 0", got = o->eps;
    else if (!(o->weight_decay >= 0)) bad = "weight_decay", range = ">= 0", got = o->weight_decay;
    else if (!(o->clip >= 0)) bad = "clip", range = ">= 0 (0: off)", got = o->clip;
    if (bad) {
        char v[32];
        if (got != got) snprintf(v, sizeof v, "NaN");
        else snprintf(v, sizeof v, "%g", got);
        return fail(err, errlen, TRAIN_EINVAL, "optimizer setting %s = %s is out of range: it must be %s", bad, v, range);
    }
    if (tdata_n_rows(d, TDATA_TRAIN) == 0) return fail(err, errlen, TRAIN_EINVAL, "no training rows");
    train *t = calloc(1, sizeof *t);
    if (!t) return fail(err, errlen, TRAIN_ENOMEM, "out of memory");
    t->m = m; t->d = d; t->o = *o; t->pool = p;
    size_t n = m->n_params, nt = (size_t)o->batch * (size_t)o->seq_len;
    t->fw = tfwd_create(m, o->batch, o->seq_len, p);
    t->grad = calloc(n, sizeof(float));
    t->decay = malloc(n);
    t->tokens = malloc(nt * sizeof(int32_t));
    t->targets = malloc(nt * sizeof(int32_t));
    if (!t->fw || !t->grad || !t->decay || !t->tokens || !t->targets || tmodel_view(&m->cfg, t->grad, &t->gv)) {
        train_destroy(t);
        return fail(err, errlen, TRAIN_ENOMEM, "out of memory for the activations of %d x %d tokens", o->batch,
                    o->seq_len);
    }
    tmodel_decay_mask(&m->cfg, t->decay);
    adamw_cfg ac = { o->beta1, o->beta2, o->eps, o->weight_decay };
    if (adamw_init(&t->opt, &ac, n, t->decay)) {
        train_destroy(t);
        return fail(err, errlen, TRAIN_ENOMEM, "out of memory for the optimizer state");
    }
    tdata_hash(d, t->data_hash);
    *out = t;
    return TRAIN_OK;
}

void train_destroy(train *t) {
    if (!t) return;
    tfwd_destroy(t->fw);
    tmodel_view_fini(&t->gv);
    adamw_fini(&t->opt);
    free(t->grad); free(t->decay); free(t->tokens); free(t->targets);
    free(t);
}

int64_t train_step_now(const train *t) { return t->step; }

double train_validate(train *t) {
    int nb = t->o.val_batches > 0 ? t->o.val_batches : 1;
    double sum = 0;
    int64_t cnt = 0;
    for (int i = 0; i < nb; i++) {
        if (!tdata_val_batch(t->d, i, nb, t->o.batch, t->tokens, t->targets)) return NAN;
        int c;
        double l = tfwd_forward(t->fw, t->tokens, t->targets, &c);
        if (c) { sum += l * c; cnt += c; }
    }
    return cnt ? sum / (double)cnt : NAN;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* CPU seconds of the whole process, every thread (a loaded machine's wall
 * time says little; bench/train_peak.sh divides the work by this). */
static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* One optimizer step; returns the mean loss of its micro-batches. */
static double step_once(train *t, double *gnorm, float *lr) {
    const train_opts *o = &t->o;
    memset(t->grad, 0, sizeof(float) * t->m->n_params);
    double loss = 0;
    int counted = 0;
    for (int k = 0; k < o->accum; k++) {
        tdata_batch(t->d, (uint64_t)t->step, k, o->batch, t->tokens, t->targets);
        int c;
        double l = tfwd_forward(t->fw, t->tokens, t->targets, &c);
        if (!c) continue;
        loss += l;
        counted++;
        tfwd_backward(t->fw, &t->gv, 1.0f / (float)o->accum);
    }
    *gnorm = adamw_clip(t->grad, t->m->n_params, o->clip);
    *lr = adamw_lr(t->step, o->warmup, o->steps, o->lr, o->lr_min);
    adamw_step(&t->opt, t->pool, t->m->data, t->grad, *lr);
    t->step++;
    return counted ? loss / counted : NAN;
}

int train_run(train *t, train_step_fn cb, void *ud, char *err, size_t errlen) {
    const train_opts *o = &t->o;
    double t0 = now_s(), c0 = cpu_s();
    int64_t first = t->step, tokens = 0;
    while (t->step < o->steps) {
        train_stat s = { 0 };
        float lr;
        s.loss = step_once(t, &s.grad_norm, &lr);
        s.lr = lr;
        s.step = t->step;
        s.steps = o->steps;
        tokens += (int64_t)o->batch * o->seq_len * o->accum;
        s.tokens = tokens;
        s.elapsed_s = now_s() - t0;
        s.cpu_s = cpu_s() - c0;
        s.tok_per_s = tokens / (s.elapsed_s > 0 ? s.elapsed_s : 1e-9);
        s.eta_s = s.elapsed_s / (double)(t->step - first) * (double)(o->steps - t->step);
        bool last = t->step == o->steps;
        s.val_loss = (o->val_every > 0 && t->step % o->val_every == 0) || last ? train_validate(t) : NAN;
        if (o->ckpt_path && ((o->ckpt_every > 0 && t->step % o->ckpt_every == 0) || last)) {
            int rc = train_save(t, o->ckpt_path, err, errlen);
            if (rc) return rc;
            s.checkpointed = true;
        }
        if (cb && cb(ud, &s)) {
            if (o->ckpt_path && !s.checkpointed) {
                int rc = train_save(t, o->ckpt_path, err, errlen);
                if (rc) return rc;
            }
            return fail(err, errlen, TRAIN_ESTOPPED, "stopped at step %lld of %lld", (long long)t->step,
                        (long long)o->steps);
        }
    }
    return TRAIN_OK;
}

/* ---- checkpoints ---- */

static void make_head(const train *t, ckpt_head *h) {
    memset(h, 0, sizeof *h);
    const tmodel_cfg *c = &t->m->cfg;
    const train_opts *o = &t->o;
    h->n_vocab = c->n_vocab; h->dim = c->dim; h->ffn_dim = c->ffn_dim; h->n_layers = c->n_layers;
    h->n_heads = c->n_heads; h->n_kv_heads = c->n_kv_heads; h->ctx = c->ctx; h->tied = c->tied;
    h->rope_base = c->rope_base; h->rms_eps = c->rms_eps;
    h->batch = o->batch; h->seq_len = o->seq_len; h->accum = o->accum;
    h->steps = o->steps; h->warmup = o->warmup;
    h->lr = o->lr; h->lr_min = o->lr_min; h->weight_decay = o->weight_decay;
    h->beta1 = o->beta1; h->beta2 = o->beta2; h->eps = o->eps; h->clip = o->clip;
    h->seed = o->seed;
    memcpy(h->data_hash, t->data_hash, 32);
    h->step = t->step;
    h->adam_t = t->opt.t;
    h->n_params = t->m->n_params;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) { h ^= b[i]; h *= 0x100000001b3ull; }
    return h;
}

static int put(FILE *f, uint64_t *h, const void *p, size_t n) {
    *h = fnv(*h, p, n);
    return fwrite(p, 1, n, f) == n ? 0 : -1;
}

int train_save(train *t, const char *path, char *err, size_t errlen) {
    /* a temporary beside path, renamed over it when whole (fout.h) */
    fout *o = malloc(sizeof *o);
    char why[PATH_MAX + 256];
    if (!o) return fail(err, errlen, TRAIN_ENOMEM, "%s: out of memory", path);
    if (fout_open(o, path, why, sizeof why)) {
        free(o);
        return fail(err, errlen, TRAIN_EIO, "cannot write the checkpoint %s", why);
    }
    FILE *f = o->f;
    ckpt_head h;
    make_head(t, &h);
    uint32_t ver = CKPT_VERSION, hb = sizeof h;
    uint64_t sum = 0xcbf29ce484222325ull;
    size_t n = t->m->n_params * sizeof(float);
    errno = 0;
    int bad = put(f, &sum, CKPT_MAGIC, 8) || put(f, &sum, &ver, 4) || put(f, &sum, &hb, 4) ||
              put(f, &sum, &h, sizeof h) || put(f, &sum, t->m->data, n) || put(f, &sum, t->opt.m, n) ||
              put(f, &sum, t->opt.v, n);
    uint64_t s2 = sum;
    bad = bad || put(f, &s2, &sum, 8) || fflush(f) || fsync(fileno(f));
    int e = bad ? (errno ? errno : EIO) : 0;
    if (bad) fout_close(o, false, NULL, 0);
    else if (fout_close(o, true, why, sizeof why)) bad = 1;
    free(o);
    if (e)
        return fail(err, errlen, TRAIN_EIO, "%s: cannot write the checkpoint: %s; the last good checkpoint "
                    "(if any) is kept", path, strerror(e));
    if (bad)
        return fail(err, errlen, TRAIN_EIO, "cannot write the checkpoint %s; the last good checkpoint (if any) "
                    "is kept", why);
    return TRAIN_OK;
}

static int get(FILE *f, uint64_t *h, void *p, size_t n) {
    if (fread(p, 1, n, f) != n) return -1;
    *h = fnv(*h, p, n);
    return 0;
}

/* Names the first difference between a checkpoint and the trainer. */
static int differ(const ckpt_head *a, const ckpt_head *b, char *what, size_t wl) {
#define CMP(f, name) if (memcmp(&a->f, &b->f, sizeof a->f)) { snprintf(what, wl, "%s", name); return 1; }
    CMP(n_vocab, "vocabulary size") CMP(dim, "dim") CMP(ffn_dim, "ffn dim") CMP(n_layers, "layers")
    CMP(n_heads, "heads") CMP(n_kv_heads, "kv heads") CMP(tied, "tied output") CMP(rope_base, "rope base")
    CMP(rms_eps, "RMS epsilon") CMP(batch, "batch") CMP(seq_len, "sequence length") CMP(accum, "accumulation")
    CMP(steps, "steps") CMP(warmup, "warmup") CMP(lr, "learning rate") CMP(lr_min, "minimum learning rate")
    CMP(weight_decay, "weight decay") CMP(beta1, "beta1") CMP(beta2, "beta2") CMP(eps, "eps") CMP(clip, "clip")
    CMP(seed, "seed") CMP(data_hash, "data (its hash)")
#undef CMP
    return 0;
}

int train_load(train *t, const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) return fail(err, errlen, TRAIN_EIO, "%s: cannot open the checkpoint: %s", path, strerror(errno));
    char magic[8];
    uint32_t ver, hb;
    ckpt_head h, mine;
    uint64_t sum = 0xcbf29ce484222325ull, stored, dummy = 0;
    int rc = TRAIN_EFORMAT;
    size_t n = t->m->n_params * sizeof(float);
    float *p = malloc(n ? n : 1), *m = malloc(n ? n : 1), *v = malloc(n ? n : 1);
    if (!p || !m || !v) { rc = fail(err, errlen, TRAIN_ENOMEM, "out of memory"); goto out; }
    if (get(f, &sum, magic, 8) || memcmp(magic, CKPT_MAGIC, 8) || get(f, &sum, &ver, 4) || get(f, &sum, &hb, 4)) {
        fail(err, errlen, rc, "%s: not a logitlab training checkpoint", path);
        goto out;
    }
    if (ver != CKPT_VERSION || hb != sizeof h) {
        fail(err, errlen, rc, "%s: checkpoint version %u (this build reads %u)", path, ver, CKPT_VERSION);
        goto out;
    }
    if (get(f, &sum, &h, sizeof h) || get(f, &sum, p, n) || get(f, &sum, m, n) || get(f, &sum, v, n) ||
        get(f, &dummy, &stored, 8)) {
        fail(err, errlen, rc, "%s: the checkpoint is truncated", path);
        goto out;
    }
    if (stored != sum) { fail(err, errlen, rc, "%s: the checkpoint is damaged (checksum mismatch)", path); goto out; }
    make_head(t, &mine);
    char what[64];
    if (h.n_params != mine.n_params || differ(&h, &mine, what, sizeof what)) {
        fail(err, errlen, TRAIN_EINVAL, "%s: the checkpoint was made with another %s; resume with the same model, "
             "data and settings", path, h.n_params != mine.n_params ? "model" : what);
        rc = TRAIN_EINVAL;
        goto out;
    }
    memcpy(t->m->data, p, n);
    memcpy(t->opt.m, m, n);
    memcpy(t->opt.v, v, n);
    t->opt.t = h.adam_t;
    t->step = h.step;
    rc = TRAIN_OK;
out:
    fclose(f);
    free(p); free(m); free(v);
    return rc;
}
