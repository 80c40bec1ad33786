/* tops: per-op forward and backward of training (tops.h). Sums run in a
 * fixed order (never split across threads), so a result depends on the
 * inputs alone. */
#include "tops.h"

#include <math.h>
#include <string.h>

#include "pool.h"

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

static void rope(float *x, int n, int T, int n_heads, int hd, const float *inv_freq, float sign) {
    int half = hd / 2;
    for (int r = 0; r < n; r++) {
        int pos = r % T;
        for (int j = 0; j < half; j++) {
            /* the same angle the inference engine computes (double, then
             * rounded), so trained and served logits agree */
            double th = (double)pos * (double)inv_freq[j];
            float co = (float)cos(th), si = sign * (float)sin(th);
            for (int h = 0; h < n_heads; h++) {
                float *v = x + (size_t)r * n_heads * hd + (size_t)h * hd;
                float a = v[2 * j], b = v[2 * j + 1];
                v[2 * j] = a * co - b * si;
                v[2 * j + 1] = a * si + b * co;
            }
        }
    }
}

void tops_rope_fwd(float *x, int n, int T, int n_heads, int head_dim, const float *inv_freq) {
    rope(x, n, T, n_heads, head_dim, inv_freq, 1.0f);
}

void tops_rope_bwd(float *dx, int n, int T, int n_heads, int head_dim, const float *inv_freq) {
    rope(dx, n, T, n_heads, head_dim, inv_freq, -1.0f);
}

void tops_swiglu_fwd(float *h, const float *g, const float *u, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float s = 1.0f / (1.0f + expf(-g[i]));
        h[i] = g[i] * s * u[i];
    }
}

/* silu(g) = g s(g), silu' = s (1 + g (1 - s)). */
void tops_swiglu_bwd(float *dg, float *du, const float *dh, const float *g, const float *u, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float s = 1.0f / (1.0f + expf(-g[i]));
        float si = g[i] * s;
        dg[i] = dh[i] * u[i] * s * (1.0f + g[i] * (1.0f - s));
        du[i] = dh[i] * si;
    }
}

/* ---- attention ---- */

typedef struct attn_job {
    const tops_attn *a;
    float *out, *probs, *dq, *dk, *dv;
    const float *q, *k, *v, *dout, *cprobs;
} attn_job;

static float dot(const float *x, const float *y, int n) {
    float s = 0.0f;
    for (int i = 0; i < n; i++) s += x[i] * y[i];
    return s;
}

static void attn_fwd_item(const attn_job *j, int b, int h) {
    const tops_attn *a = j->a;
    int T = a->T, hd = a->hd, g = h / (a->H / a->KVH);
    size_t qs = (size_t)a->H * hd, ks = (size_t)a->KVH * hd;
    float scale = 1.0f / sqrtf((float)hd);
    for (int i = 0; i < T; i++) {
        const float *qi = j->q + (size_t)(b * T + i) * qs + (size_t)h * hd;
        float *p = j->probs + (((size_t)b * a->H + h) * T + i) * T;
        float mx = -INFINITY;
        for (int t = 0; t <= i; t++) {
            p[t] = dot(qi, j->k + (size_t)(b * T + t) * ks + (size_t)g * hd, hd) * scale;
            if (p[t] > mx) mx = p[t];
        }
        float sum = 0.0f;
        for (int t = 0; t <= i; t++) sum += p[t] = expf(p[t] - mx);
        float inv = 1.0f / sum;
        float *o = j->out + (size_t)(b * T + i) * qs + (size_t)h * hd;
        memset(o, 0, sizeof(float) * (size_t)hd);
        for (int t = 0; t <= i; t++) {
            p[t] *= inv;
            const float *vt = j->v + (size_t)(b * T + t) * ks + (size_t)g * hd;
            for (int e = 0; e < hd; e++) o[e] += p[t] * vt[e];
        }
        for (int t = i + 1; t < T; t++) p[t] = 0.0f;
    }
}

static void attn_fwd_run(void *arg, int ith, int nth) {
    attn_job *j = arg;
    long lo, hi;
    pool_split((long)j->a->B * j->a->H, ith, nth, &lo, &hi);
    for (long it = lo; it < hi; it++) attn_fwd_item(j, (int)(it / j->a->H), (int)(it % j->a->H));
}

void tops_attn_fwd(pool *p, const tops_attn *a, float *out, float *probs, const float *q, const float *k,
                   const float *v) {
    attn_job j = { .a = a, .out = out, .probs = probs, .q = q, .k = k, .v = v };
    if (p) pool_run(p, attn_fwd_run, &j);
    else attn_fwd_run(&j, 0, 1);
}

/* One (sequence, kv head) pair: its query heads are the only writers of its
 * slices of dk and dv. With S = scale q k^T, P = softmax(S), O = P V:
 * dP = dO V^T, dS = P (dP - rowsum(P dP)), dq = scale dS K, dk = scale dS^T Q,
 * dv = P^T dO. */
static void attn_bwd_item(const attn_job *j, int b, int g) {
    const tops_attn *a = j->a;
    int T = a->T, hd = a->hd, gs = a->H / a->KVH;
    size_t qs = (size_t)a->H * hd, ks = (size_t)a->KVH * hd;
    float scale = 1.0f / sqrtf((float)hd);
    for (int t = 0; t < T; t++) {
        memset(j->dk + (size_t)(b * T + t) * ks + (size_t)g * hd, 0, sizeof(float) * (size_t)hd);
        memset(j->dv + (size_t)(b * T + t) * ks + (size_t)g * hd, 0, sizeof(float) * (size_t)hd);
    }
    float ds[T];    /* T <= the model's context: a few KB */
    for (int h = g * gs; h < (g + 1) * gs; h++)
        for (int i = 0; i < T; i++) {
            const float *p = j->cprobs + (((size_t)b * a->H + h) * T + i) * T;
            const float *doi = j->dout + (size_t)(b * T + i) * qs + (size_t)h * hd;
            const float *qi = j->q + (size_t)(b * T + i) * qs + (size_t)h * hd;
            float *dqi = j->dq + (size_t)(b * T + i) * qs + (size_t)h * hd;
            float sum = 0.0f;
            for (int t = 0; t <= i; t++) {
                ds[t] = dot(doi, j->v + (size_t)(b * T + t) * ks + (size_t)g * hd, hd);
                sum += p[t] * ds[t];
            }
            memset(dqi, 0, sizeof(float) * (size_t)hd);
            for (int t = 0; t <= i; t++) {
                float d = p[t] * (ds[t] - sum) * scale;
                const float *kt = j->k + (size_t)(b * T + t) * ks + (size_t)g * hd;
                float *dkt = j->dk + (size_t)(b * T + t) * ks + (size_t)g * hd;
                float *dvt = j->dv + (size_t)(b * T + t) * ks + (size_t)g * hd;
                for (int e = 0; e < hd; e++) {
                    dqi[e] += d * kt[e];
                    dkt[e] += d * qi[e];
                    dvt[e] += p[t] * doi[e];
                }
            }
        }
}

static void attn_bwd_run(void *arg, int ith, int nth) {
    attn_job *j = arg;
    long lo, hi;
    pool_split((long)j->a->B * j->a->KVH, ith, nth, &lo, &hi);
    for (long it = lo; it < hi; it++) attn_bwd_item(j, (int)(it / j->a->KVH), (int)(it % j->a->KVH));
}

void tops_attn_bwd(pool *p, const tops_attn *a, float *dq, float *dk, float *dv, const float *dout,
                   const float *probs, const float *q, const float *k, const float *v) {
    attn_job j = { .a = a, .dq = dq, .dk = dk, .dv = dv, .q = q, .k = k, .v = v, .dout = dout, .cprobs = probs };
    if (p) pool_run(p, attn_bwd_run, &j);
    else attn_bwd_run(&j, 0, 1);
}

/* ---- cross-entropy ---- */

typedef struct xent_job {
    float *logits, *row_loss, scale;
    const int32_t *targets;
    int n, V, grad;
} xent_job;

static void xent_run(void *arg, int ith, int nth) {
    xent_job *j = arg;
    long lo, hi;
    pool_split(j->n, ith, nth, &lo, &hi);
    for (long r = lo; r < hi; r++) {
        float *l = j->logits + (size_t)r * j->V;
        int32_t t = j->targets[r];
        if (t < 0) {
            j->row_loss[r] = 0.0f;
            if (j->grad) memset(l, 0, sizeof(float) * (size_t)j->V);
            continue;
        }
        float mx = l[0];
        for (int i = 1; i < j->V; i++) if (l[i] > mx) mx = l[i];
        double sum = 0.0;
        for (int i = 0; i < j->V; i++) sum += exp((double)(l[i] - mx));
        double lse = log(sum) + mx;
        j->row_loss[r] = (float)(lse - l[t]);
        if (!j->grad) continue;
        for (int i = 0; i < j->V; i++) l[i] = (float)exp((double)l[i] - lse) * j->scale;
        l[t] -= j->scale;
    }
}

int tops_xent(pool *p, float *logits, const int32_t *targets, int n, int V, float scale, int grad,
              float *row_loss) {
    xent_job j = { logits, row_loss, scale, targets, n, V, grad };
    if (p) pool_run(p, xent_run, &j);
    else xent_run(&j, 0, 1);
    int count = 0;
    for (int r = 0; r < n; r++) count += targets[r] >= 0;
    return count;
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
