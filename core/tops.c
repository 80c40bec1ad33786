/* tops: per-op forward and backward of training (tops.h). Sums run in a
 * fixed order (never split across threads), so a result depends on the
 * inputs alone. */
#include "tops.h"

#include <math.h>
#include <string.h>

#include "pool.h"
#include "sgemm.h"
#include "tvec.h"
#include "vecdot.h"

void tops_rmsnorm_fwd(float *y, float *rstd, const float *x, const float *g, int n, int d, float eps) {
    for (int r = 0; r < n; r++) {
        const float *xr = x + (size_t)r * d;
        float *yr = y + (size_t)r * d;
        double ss = 0.0;
        for (int i = 0; i < d; i++) ss += (double)xr[i] * xr[i];
        float s = (float)(1.0 / sqrt(ss / d + eps));
        rstd[r] = s;
        for (int i = 0; i < d; i++) yr[i] = xr[i] * s * g[i];
    }
}

/* y = g x s, s = (mean x^2 + eps)^(-1/2):
 * dx_j = s g_j dy_j - s^3 / d x_j sum_i dy_i g_i x_i; dg_i = dy_i x_i s. */
void tops_rmsnorm_bwd(float *dx, float *dg, const float *dy, const float *x, const float *g,
                      const float *rstd, int n, int d) {
    for (int r = 0; r < n; r++) {
        const float *xr = x + (size_t)r * d, *dyr = dy + (size_t)r * d;
        float *dxr = dx + (size_t)r * d;
        float s = rstd[r];
        double dot = 0.0;
        for (int i = 0; i < d; i++) dot += (double)dyr[i] * g[i] * xr[i];
        float c = (float)(dot * s * s * s / d);
        for (int i = 0; i < d; i++) {
            dxr[i] += s * g[i] * dyr[i] - c * xr[i];
            dg[i] += dyr[i] * xr[i] * s;
        }
    }
}

void tops_rope_table(float *cs, int T, int head_dim, const float *inv_freq) {
    int half = head_dim / 2;
    for (int pos = 0; pos < T; pos++)
        for (int j = 0; j < half; j++) {
            double th = (double)pos * (double)inv_freq[j];
            cs[((size_t)pos * half + j) * 2] = (float)cos(th);
            cs[((size_t)pos * half + j) * 2 + 1] = (float)sin(th);
        }
}

static void rope(float *x, int n, int T, int n_heads, int hd, const float *cs, float sign) {
    int half = hd / 2;
    for (int r = 0; r < n; r++) {
        const float *c = cs + (size_t)(r % T) * half * 2;
        for (int h = 0; h < n_heads; h++) {
            float *v = x + (size_t)r * n_heads * hd + (size_t)h * hd;
            for (int j = 0; j < half; j++) {
                float co = c[2 * j], si = sign * c[2 * j + 1];
                float a = v[2 * j], b = v[2 * j + 1];
                v[2 * j] = a * co - b * si;
                v[2 * j + 1] = a * si + b * co;
            }
        }
    }
}

void tops_rope_fwd(float *x, int n, int T, int n_heads, int head_dim, const float *cs) {
    rope(x, n, T, n_heads, head_dim, cs, 1.0f);
}

void tops_rope_bwd(float *dx, int n, int T, int n_heads, int head_dim, const float *cs) {
    rope(dx, n, T, n_heads, head_dim, cs, -1.0f);
}

/* Vectorised in kernels/cpu/tvec (element by element: a value's result does
 * not depend on its place in the call). */
void tops_swiglu_fwd(float *h, const float *g, const float *u, size_t n) { tvec_swiglu_fwd(n, h, g, u); }

/* silu(g) = g s(g), silu' = s (1 + g (1 - s)). */
void tops_swiglu_bwd(float *dg, float *du, const float *dh, const float *g, const float *u, size_t n) {
    tvec_swiglu_bwd(n, dg, du, dh, g, u);
}

/* ---- attention ----
 * Per item (a sequence and a head) as blocked matrix products on one thread
 * (kernels/cpu/sgemm.h), never split, so a result depends on the sequence
 * alone. Causal: query rows go in blocks of ARB, each against the keys up to
 * its block's end only; scores past a row's own position are set to zero
 * (probs holds exact zeros there, so the products over positions may run
 * past them). Per thread scratch: one (T, T) block for dS. */

#define ARB 64

typedef struct attn_job {
    const tops_attn *a;
    float *out, *probs, *dq, *dk, *dv, *scratch;
    const float *q, *k, *v, *dout, *cprobs;
} attn_job;

static size_t per_thread(const tops_attn *a) { return (size_t)a->T * a->T + 16; }

size_t tops_attn_scratch(const tops_attn *a, int nth) { return (size_t)nth * per_thread(a); }

/* S = scale q k^T, P = softmax over keys 0..i of row i (zeros after). */
static void attn_fwd_item(const attn_job *j, int b, int h) {
    const tops_attn *a = j->a;
    int T = a->T, hd = a->hd, g = h / (a->H / a->KVH);
    size_t qs = (size_t)a->H * hd, ks = (size_t)a->KVH * hd;
    float scale = 1.0f / sqrtf((float)hd);
    const float *qb = j->q + (size_t)b * T * qs + (size_t)h * hd;
    const float *kb = j->k + (size_t)b * T * ks + (size_t)g * hd, *vb = j->v + (size_t)b * T * ks + (size_t)g * hd;
    float *P = j->probs + ((size_t)b * a->H + h) * T * T, *ob = j->out + (size_t)b * T * qs + (size_t)h * hd;
    for (int r0 = 0; r0 < T; r0 += ARB) {
        int r1 = r0 + ARB < T ? r0 + ARB : T;
        sgemm_f32(false, true, r1 - r0, r1, hd, qb + (size_t)r0 * qs, (int)qs, kb, (int)ks, 0.0f,
                  P + (size_t)r0 * T, T);
        for (int i = r0; i < r1; i++) {
            float *p = P + (size_t)i * T;
            tvec_softmax_row(i + 1, p, scale);
            memset(p + i + 1, 0, sizeof(float) * (size_t)(T - i - 1));
        }
        sgemm_f32(false, false, r1 - r0, hd, r1, P + (size_t)r0 * T, T, vb, (int)ks, 0.0f, ob + (size_t)r0 * qs,
                  (int)qs);
    }
}

static float *scratch_of(const attn_job *j, int ith) {
    return j->scratch + (size_t)ith * per_thread(j->a);
}

static void attn_fwd_run(void *arg, int ith, int nth) {
    attn_job *j = arg;
    long lo, hi;
    pool_split((long)j->a->B * j->a->H, ith, nth, &lo, &hi);
    for (long it = lo; it < hi; it++) attn_fwd_item(j, (int)(it / j->a->H), (int)(it % j->a->H));
}

/* One (sequence, kv head) pair: its query heads are the only writers of its
 * slices of dk and dv, summed head after head. With S = scale q k^T,
 * P = softmax(S), O = P V: dP = dO V^T, dS = P (dP - rowsum(P dP)),
 * dq = scale dS K, dk = scale dS^T Q, dv = P^T dO; the transposed products
 * go by blocks of key rows c0..c1 over the queries from c0 on (the earlier
 * ones do not see those keys). */
static void attn_bwd_item(const attn_job *j, int b, int g, float *dS) {
    const tops_attn *a = j->a;
    int T = a->T, hd = a->hd, gs = a->H / a->KVH;
    size_t qs = (size_t)a->H * hd, ks = (size_t)a->KVH * hd;
    float scale = 1.0f / sqrtf((float)hd);
    const float *kb = j->k + (size_t)b * T * ks + (size_t)g * hd, *vb = j->v + (size_t)b * T * ks + (size_t)g * hd;
    float *dkb = j->dk + (size_t)b * T * ks + (size_t)g * hd, *dvb = j->dv + (size_t)b * T * ks + (size_t)g * hd;
    for (int h = g * gs; h < (g + 1) * gs; h++) {
        const float *P = j->cprobs + ((size_t)b * a->H + h) * T * T;
        const float *dob = j->dout + (size_t)b * T * qs + (size_t)h * hd;
        const float *qb = j->q + (size_t)b * T * qs + (size_t)h * hd;
        float *dqb = j->dq + (size_t)b * T * qs + (size_t)h * hd;
        float beta = h == g * gs ? 0.0f : 1.0f;
        for (int r0 = 0; r0 < T; r0 += ARB) {
            int r1 = r0 + ARB < T ? r0 + ARB : T;
            sgemm_f32(false, true, r1 - r0, r1, hd, dob + (size_t)r0 * qs, (int)qs, vb, (int)ks, 0.0f,
                      dS + (size_t)r0 * T, T);                                          /* dP */
            for (int i = r0; i < r1; i++) {
                const float *p = P + (size_t)i * T;
                float *ds = dS + (size_t)i * T;
                tvec_softmax_bwd_row(i + 1, p, ds, scale);   /* scale dS */
                memset(ds + i + 1, 0, sizeof(float) * (size_t)(T - i - 1));
            }
            sgemm_f32(false, false, r1 - r0, hd, r1, dS + (size_t)r0 * T, T, kb, (int)ks, 0.0f,
                      dqb + (size_t)r0 * qs, (int)qs);                                  /* dq = dS K */
        }
        for (int c0 = 0; c0 < T; c0 += ARB) {
            int c1 = c0 + ARB < T ? c0 + ARB : T;
            sgemm_f32(true, false, c1 - c0, hd, T - c0, dS + (size_t)c0 * T + c0, T, qb + (size_t)c0 * qs, (int)qs,
                      beta, dkb + (size_t)c0 * ks, (int)ks);                            /* dk (+)= dS^T Q */
            sgemm_f32(true, false, c1 - c0, hd, T - c0, P + (size_t)c0 * T + c0, T, dob + (size_t)c0 * qs, (int)qs,
                      beta, dvb + (size_t)c0 * ks, (int)ks);                            /* dv (+)= P^T dO */
        }
    }
}

static void attn_bwd_run(void *arg, int ith, int nth) {
    attn_job *j = arg;
    long lo, hi;
    pool_split((long)j->a->B * j->a->KVH, ith, nth, &lo, &hi);
    float *sc = scratch_of(j, ith);
    for (long it = lo; it < hi; it++) attn_bwd_item(j, (int)(it / j->a->KVH), (int)(it % j->a->KVH), sc);
}

static void attn_go(pool *p, attn_job *j, pool_fn fn) {
    j->scratch = j->a->scratch;
    if (p) pool_run(p, fn, j);
    else fn(j, 0, 1);
}

void tops_attn_fwd(pool *p, const tops_attn *a, float *out, float *probs, const float *q, const float *k,
                   const float *v) {
    attn_job j = { .a = a, .out = out, .probs = probs, .q = q, .k = k, .v = v };
    attn_go(p, &j, attn_fwd_run);
}

void tops_attn_bwd(pool *p, const tops_attn *a, float *dq, float *dk, float *dv, const float *dout,
                   const float *probs, const float *q, const float *k, const float *v) {
    attn_job j = { .a = a, .dq = dq, .dk = dk, .dv = dv, .q = q, .k = k, .v = v, .dout = dout, .cprobs = probs };
    attn_go(p, &j, attn_bwd_run);
}

/* ---- cross-entropy ----
 * Softmax cross-entropy fused over the vocabulary: the forward reads a row
 * twice (its max, then the sum of exp(l - max) in registers: no copy, the
 * logits stay as they are for tfwd_logits); the backward turns the row into
 * its gradient in place in one pass, exp(l - lse) scale, then subtracts
 * scale at the target. exp is vd_exp_f32's (kernels/cpu/vexp_avx2.h). */

typedef struct xent_job {
    const float *logits;
    float *grad, *row_loss, *lse, scale;
    const int32_t *targets;
    int n, V;
} xent_job;

static void xent_fwd_run(void *arg, int ith, int nth) {
    xent_job *j = arg;
    long lo, hi;
    pool_split(j->n, ith, nth, &lo, &hi);
    for (long r = lo; r < hi; r++) {
        const float *l = j->logits + (size_t)r * j->V;
        int32_t t = j->targets[r];
        if (t < 0) { j->row_loss[r] = 0.0f; j->lse[r] = 0.0f; continue; }
        float mx = tvec_max(j->V, l);
        j->lse[r] = logf(tvec_sumexp(j->V, l, mx)) + mx;
        j->row_loss[r] = j->lse[r] - l[t];
    }
}

int tops_xent_fwd(pool *p, const float *logits, const int32_t *targets, int n, int V, float *row_loss,
                  float *lse) {
    xent_job j = { .logits = logits, .row_loss = row_loss, .lse = lse, .targets = targets, .n = n, .V = V };
    if (p) pool_run(p, xent_fwd_run, &j);
    else xent_fwd_run(&j, 0, 1);
    int count = 0;
    for (int r = 0; r < n; r++) count += targets[r] >= 0;
    return count;
}

static void xent_bwd_run(void *arg, int ith, int nth) {
    xent_job *j = arg;
    long lo, hi;
    pool_split(j->n, ith, nth, &lo, &hi);
    for (long r = lo; r < hi; r++) {
        float *l = j->grad + (size_t)r * j->V;
        int32_t t = j->targets[r];
        if (t < 0) { memset(l, 0, sizeof(float) * (size_t)j->V); continue; }
        tvec_expscale(j->V, l, j->lse[r], j->scale);
        l[t] -= j->scale;
    }
}

void tops_xent_bwd(pool *p, float *logits, const int32_t *targets, const float *lse, int n, int V, float scale) {
    xent_job j = { .grad = logits, .lse = (float *)lse, .scale = scale, .targets = targets, .n = n, .V = V };
    if (p) pool_run(p, xent_bwd_run, &j);
    else xent_bwd_run(&j, 0, 1);
}

void tops_embed_fwd(float *x, const float *e, const int32_t *ids, int n, int d) {
    for (int r = 0; r < n; r++) memcpy(x + (size_t)r * d, e + (size_t)ids[r] * d, sizeof(float) * (size_t)d);
}

void tops_embed_bwd(float *de, const float *dx, const int32_t *ids, int n, int d) {
    for (int r = 0; r < n; r++) {
        float *dr = de + (size_t)ids[r] * d;
        const float *xr = dx + (size_t)r * d;
        for (int i = 0; i < d; i++) dr[i] += xr[i];
    }
}
