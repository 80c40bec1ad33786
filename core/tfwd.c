/* tfwd: forward with saved activations and the backward through it, op by
 * op in reverse (tops.h, tgemm.h). Shapes: N = B*T rows; D model width,
 * KV key/value width, F feed-forward width, V vocabulary. */
#include "tfwd.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "tgemm.h"
#include "tops.h"

typedef struct lact {
    float *x;            /* (N, D) the layer's input (residual stream) */
    float *xn1, *rstd1;  /* (N, D), (N) attention norm */
    float *q, *k, *v;    /* (N, D), (N, KV), (N, KV), after RoPE */
    float *probs;        /* (B, H, T, T) */
    float *att;          /* (N, D) attention output, before wo */
    float *xm;           /* (N, D) residual after attention */
    float *xn2, *rstd2;  /* (N, D), (N) feed-forward norm */
    float *g, *u, *h;    /* (N, F) gate, up, silu(gate) * up */
} lact;

struct tfwd {
    const tmodel *m;
    pool *pool;
    int B, T, N;
    lact *l;             /* (n_layers) */
    float *xL;           /* (N, D) final residual */
    float *xnf, *rstdf;  /* (N, D), (N) */
    float *logits;       /* (N, V) */
    float *row_loss;     /* (N) */
    float *lse;          /* (N) log-sum-exp of each row's logits */
    int32_t *tokens, *targets;   /* (N) copies of the last forward's */
    /* backward scratch */
    float *dx, *dxn, *datt, *dq, *dk, *dv;  /* (N, D) x4, (N, KV) x2 */
    float *dh, *dg, *du;                    /* (N, F) */
    float *att_scratch;                     /* tops_attn_scratch */
    float *rope_cs;                         /* (T, head_dim/2, 2) tops_rope_table */
    float *gemm_ws;                         /* tgemm_nt_ws_floats(N, D): x W^T into F or V columns */
    void *block;
    size_t bytes;
};

/* Carves every buffer from one allocation; a NULL base only counts. */
static size_t carve(tfwd *f, char *base) {
    const tmodel *m = f->m;
    size_t N = (size_t)f->N, D = (size_t)m->cfg.dim, KV = (size_t)m->kv_dim, F = (size_t)m->cfg.ffn_dim;
    size_t V = (size_t)m->cfg.n_vocab, H = (size_t)m->cfg.n_heads, T = (size_t)f->T, B = (size_t)f->B;
    size_t off = 0;
#define TAKE(ptr, nfl) do { if (base) (ptr) = (void *)(base + off); off += ((nfl) * 4 + 63) & ~(size_t)63; } while (0)
    for (int il = 0; il < m->cfg.n_layers; il++) {
        lact *a = &f->l[il];
        TAKE(a->x, N * D); TAKE(a->xn1, N * D); TAKE(a->rstd1, N);
        TAKE(a->q, N * D); TAKE(a->k, N * KV); TAKE(a->v, N * KV);
        TAKE(a->probs, B * H * T * T); TAKE(a->att, N * D); TAKE(a->xm, N * D);
        TAKE(a->xn2, N * D); TAKE(a->rstd2, N);
        TAKE(a->g, N * F); TAKE(a->u, N * F); TAKE(a->h, N * F);
    }
    TAKE(f->xL, N * D); TAKE(f->xnf, N * D); TAKE(f->rstdf, N);
    TAKE(f->logits, N * V); TAKE(f->row_loss, N); TAKE(f->lse, N);
    TAKE(f->tokens, N); TAKE(f->targets, N);
    TAKE(f->dx, N * D); TAKE(f->dxn, N * D); TAKE(f->datt, N * D); TAKE(f->dq, N * D);
    TAKE(f->dk, N * KV); TAKE(f->dv, N * KV);
    TAKE(f->dh, N * F); TAKE(f->dg, N * F); TAKE(f->du, N * F);
    tops_attn at = { f->B, f->T, m->cfg.n_heads, m->cfg.n_kv_heads, m->head_dim, NULL };
    TAKE(f->att_scratch, tops_attn_scratch(&at, f->pool ? pool_size(f->pool) : 1));
    TAKE(f->rope_cs, T * (size_t)m->head_dim);
    TAKE(f->gemm_ws, tgemm_nt_ws_floats(f->pool, f->N, m->cfg.dim));
#undef TAKE
    return off;
}

tfwd *tfwd_create(const tmodel *m, int B, int T, pool *p) {
    if (B < 1 || T < 1) return NULL;
    tfwd *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    f->m = m; f->pool = p; f->B = B; f->T = T; f->N = B * T;
    f->l = calloc((size_t)m->cfg.n_layers, sizeof *f->l);
    if (!f->l) { free(f); return NULL; }
    f->bytes = carve(f, NULL);
    f->block = aligned_alloc(64, f->bytes);
    if (!f->block) { tfwd_destroy(f); return NULL; }
    memset(f->block, 0, f->bytes);
    carve(f, f->block);
    tops_rope_table(f->rope_cs, T, m->head_dim, m->inv_freq);
    return f;
}

void tfwd_destroy(tfwd *f) {
    if (!f) return;
    free(f->block);
    free(f->l);
    free(f);
}

size_t tfwd_bytes(const tfwd *f) { return f->bytes; }
const float *tfwd_logits(const tfwd *f) { return f->logits; }

double tfwd_forward(tfwd *f, const int32_t *tokens, const int32_t *targets, int *count) {
    const tmodel *m = f->m;
    const tmodel_cfg *c = &m->cfg;
    const tmodel_w *w = &m->w;
    pool *p = f->pool;
    int N = f->N, D = c->dim, KV = m->kv_dim, F = c->ffn_dim, V = c->n_vocab;
    tops_attn at = { f->B, f->T, c->n_heads, c->n_kv_heads, m->head_dim, f->att_scratch };
    memcpy(f->tokens, tokens, sizeof(int32_t) * (size_t)N);
    memcpy(f->targets, targets, sizeof(int32_t) * (size_t)N);
    tops_embed_fwd(f->l[0].x, w->tok_embd, tokens, N, D);
    for (int il = 0; il < c->n_layers; il++) {
        lact *a = &f->l[il];
        const tmodel_layer *ly = &w->layers[il];
        float *xout = il + 1 < c->n_layers ? f->l[il + 1].x : f->xL;
        /* x_mid = x + wo attn(rope(wq xn), rope(wk xn), wv xn), xn = rmsnorm(x) */
        tops_rmsnorm_fwd(a->xn1, a->rstd1, a->x, ly->attn_norm, N, D, c->rms_eps);
        tgemm_nt(p, N, D, D, a->xn1, ly->wq, 0.0f, a->q);
        tgemm_nt(p, N, KV, D, a->xn1, ly->wk, 0.0f, a->k);
        tgemm_nt(p, N, KV, D, a->xn1, ly->wv, 0.0f, a->v);
        tops_rope_fwd(a->q, N, f->T, c->n_heads, m->head_dim, f->rope_cs);
        tops_rope_fwd(a->k, N, f->T, c->n_kv_heads, m->head_dim, f->rope_cs);
        tops_attn_fwd(p, &at, a->att, a->probs, a->q, a->k, a->v);
        memcpy(a->xm, a->x, sizeof(float) * (size_t)N * D);
        tgemm_nt(p, N, D, D, a->att, ly->wo, 1.0f, a->xm);
        /* x_out = x_mid + w_down (silu(w_gate xn) * w_up xn), xn = rmsnorm(x_mid) */
        tops_rmsnorm_fwd(a->xn2, a->rstd2, a->xm, ly->ffn_norm, N, D, c->rms_eps);
        tgemm_nt_ws(p, N, F, D, a->xn2, ly->w_gate, 0.0f, a->g, f->gemm_ws);
        tgemm_nt_ws(p, N, F, D, a->xn2, ly->w_up, 0.0f, a->u, f->gemm_ws);
        tops_swiglu_fwd(a->h, a->g, a->u, (size_t)N * F);
        memcpy(xout, a->xm, sizeof(float) * (size_t)N * D);
        tgemm_nt(p, N, D, F, a->h, ly->w_down, 1.0f, xout);
    }
    tops_rmsnorm_fwd(f->xnf, f->rstdf, f->xL, w->output_norm, N, D, c->rms_eps);
    tgemm_nt_ws(p, N, V, D, f->xnf, w->output, 0.0f, f->logits, f->gemm_ws);
    /* the loss alone: the logits stay for tfwd_logits; the backward turns
     * them into gradients with the log-sum-exps kept here */
    int n = tops_xent_fwd(p, f->logits, targets, N, V, f->row_loss, f->lse);
    double sum = 0.0;
    for (int r = 0; r < N; r++) sum += f->row_loss[r];
    if (count) *count = n;
    return n ? sum / n : NAN;
}

void tfwd_backward(tfwd *f, tmodel_w *g, float scale) {
    const tmodel *m = f->m;
    const tmodel_cfg *c = &m->cfg;
    const tmodel_w *w = &m->w;
    pool *p = f->pool;
    int N = f->N, D = c->dim, KV = m->kv_dim, F = c->ffn_dim, V = c->n_vocab;
    tops_attn at = { f->B, f->T, c->n_heads, c->n_kv_heads, m->head_dim, f->att_scratch };
    int count = 0;
    for (int r = 0; r < N; r++) count += f->targets[r] >= 0;
    if (!count) return;
    /* logits become d(scale * mean loss)/dlogits */
    tops_xent_bwd(p, f->logits, f->targets, f->lse, N, V, scale / (float)count);
    tgemm_tn(p, V, D, N, f->logits, f->xnf, 1.0f, g->output);       /* dWout += dl^T xnf */
    tgemm_nn(p, N, D, V, f->logits, w->output, 0.0f, f->dxn);       /* dxnf = dl Wout */
    memset(f->dx, 0, sizeof(float) * (size_t)N * D);
    tops_rmsnorm_bwd(f->dx, g->output_norm, f->dxn, f->xL, w->output_norm, f->rstdf, N, D);
    for (int il = c->n_layers - 1; il >= 0; il--) {
        lact *a = &f->l[il];
        const tmodel_layer *ly = &w->layers[il];
        tmodel_layer *gl = &g->layers[il];
        /* feed-forward block; dx is d/d(x_out) and becomes d/d(x_mid) */
        tgemm_nn(p, N, F, D, f->dx, ly->w_down, 0.0f, f->dh);        /* dh = dx Wd */
        tgemm_tn(p, D, F, N, f->dx, a->h, 1.0f, gl->w_down);          /* dWd += dx^T h */
        tops_swiglu_bwd(f->dg, f->du, f->dh, a->g, a->u, (size_t)N * F);
        tgemm_nn(p, N, D, F, f->dg, ly->w_gate, 0.0f, f->dxn);
        tgemm_nn(p, N, D, F, f->du, ly->w_up, 1.0f, f->dxn);
        tgemm_tn(p, F, D, N, f->dg, a->xn2, 1.0f, gl->w_gate);
        tgemm_tn(p, F, D, N, f->du, a->xn2, 1.0f, gl->w_up);
        tops_rmsnorm_bwd(f->dx, gl->ffn_norm, f->dxn, a->xm, ly->ffn_norm, a->rstd2, N, D);
        /* attention block; dx becomes d/d(x) */
        tgemm_nn(p, N, D, D, f->dx, ly->wo, 0.0f, f->datt);
        tgemm_tn(p, D, D, N, f->dx, a->att, 1.0f, gl->wo);
        tops_attn_bwd(p, &at, f->dq, f->dk, f->dv, f->datt, a->probs, a->q, a->k, a->v);
        tops_rope_bwd(f->dq, N, f->T, c->n_heads, m->head_dim, f->rope_cs);
        tops_rope_bwd(f->dk, N, f->T, c->n_kv_heads, m->head_dim, f->rope_cs);
        tgemm_nn(p, N, D, D, f->dq, ly->wq, 0.0f, f->dxn);
        tgemm_nn(p, N, D, KV, f->dk, ly->wk, 1.0f, f->dxn);
        tgemm_nn(p, N, D, KV, f->dv, ly->wv, 1.0f, f->dxn);
        tgemm_tn(p, D, D, N, f->dq, a->xn1, 1.0f, gl->wq);
        tgemm_tn(p, KV, D, N, f->dk, a->xn1, 1.0f, gl->wk);
        tgemm_tn(p, KV, D, N, f->dv, a->xn1, 1.0f, gl->wv);
        tops_rmsnorm_bwd(f->dx, gl->attn_norm, f->dxn, a->x, ly->attn_norm, a->rstd1, N, D);
    }
    tops_embed_bwd(g->tok_embd, f->dx, f->tokens, N, D);
}
