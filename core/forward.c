/* forward: the Llama forward pass, top to bottom (Touvron et al. 2023:
 * pre-norm RMSNorm blocks, RoPE on q and k, grouped-query attention, SwiGLU
 * feed-forward; llama2.c's run.c is the classic single-token reading).
 * Every buffer below is backend memory; shapes are given per buffer. */
#include "forward.h"
#include <stdlib.h>

struct fwd {
    backend *be;
    const model *m;
    int32_t n_batch;
    float *x;       /* (n, dim) residual stream */
    float *xb;      /* (n, dim) normed input / block output */
    float *q;       /* (n, dim) */
    float *k, *v;   /* (n, kv_dim) */
    float *att;     /* (n, dim) attention output */
    float *hb, *hb2;/* (n, ffn_dim) gate and up */
    float *logits;  /* (lcap, n_vocab); unused when be->host_mem (fwd_eval writes the caller's) */
    int32_t lcap;
    bool (*cancel)(void *ud);
    void *cancel_ud;
};

void fwd_set_cancel(fwd *f, bool (*cancel)(void *ud), void *ud) {
    f->cancel = cancel;
    f->cancel_ud = ud;
}

fwd *fwd_create(backend *be, const model *m, int32_t n_batch) {
    fwd *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    const model_info *h = model_get_info(m);
    size_t n = (size_t)n_batch, kvd = (size_t)h->n_kv_heads * h->head_dim;
    f->be = be; f->m = m; f->n_batch = n_batch;
    void *(*al)(backend *, size_t) = be->ops->alloc;
    f->x = al(be, n * h->dim * sizeof(float));
    f->xb = al(be, n * h->dim * sizeof(float));
    f->q = al(be, n * h->dim * sizeof(float));
    f->k = al(be, n * kvd * sizeof(float));
    f->v = al(be, n * kvd * sizeof(float));
    f->att = al(be, n * h->dim * sizeof(float));
    f->hb = al(be, n * h->ffn_dim * sizeof(float));
    f->hb2 = al(be, n * h->ffn_dim * sizeof(float));
    if (!f->x || !f->xb || !f->q || !f->k || !f->v || !f->att || !f->hb || !f->hb2) {
        fwd_destroy(f);
        return NULL;
    }
    return f;
}

void fwd_destroy(fwd *f) {
    if (!f) return;
    float *bufs[] = { f->x, f->xb, f->q, f->k, f->v, f->att, f->hb, f->hb2, f->logits };
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (bufs[i]) f->be->ops->free(f->be, bufs[i]);
    free(f);
}

int fwd_eval(fwd *f, void *kvbuf, int32_t n, const int32_t *tok, const int32_t *pos,
             const int32_t *cells, const be_attn *at, int32_t n_out, const int32_t *out_idx,
             float *logits, int32_t *bad, int32_t *amax) {
    backend *be = f->be;
    *bad = FWD_UNCHECKED;
    const backend_ops *o = be->ops;
    const model *m = f->m;
    const model_info *h = model_get_info(m);
    const float *inv_freq = model_rope_inv_freq(m);
    size_t D = (size_t)h->dim, F = (size_t)h->ffn_dim;

    if (n_out > f->lcap && !be->host_mem) {
        if (f->logits) o->free(be, f->logits);
        f->logits = o->alloc(be, (size_t)n_out * h->n_vocab * sizeof(float));
        f->lcap = f->logits ? n_out : 0;
        if (!f->logits) return -1;
    }

    o->embed(be, model_tok_embd(m), tok, n, f->x);
    for (int32_t il = 0; il < h->n_layers; il++) {
        /* a Ctrl-C waits at most one layer (a 512-token batch of a big
         * model takes seconds in all); the question changes no number */
        if (f->cancel && f->cancel(f->cancel_ud)) return FWD_CANCELLED;
        const model_layer *ly = model_get_layer(m, il);
        /* attention block: x += wo * attn(rope(wq xb), rope(wk xb), wv xb) */
        o->rmsnorm(be, f->xb, f->x, ly->attn_norm, n, h->dim, h->rms_eps);
        const model_weight *qkv[3] = { &ly->wq, &ly->wk, &ly->wv };
        float *qkv_out[3] = { f->q, f->k, f->v };
        if (o->matmul(be, 3, qkv, f->xb, n, qkv_out)) return -1;
        int ra = o->rope_attention ? o->rope_attention(be, kvbuf, il, n, f->q, f->k, f->v, h->rope_dim, pos,
                                                       inv_freq, cells, at, f->att) : 1;
        if (ra < 0) return -1;
        if (ra > 0) {
            if (o->rope(be, f->q, n, h->n_heads, h->head_dim, h->rope_dim, pos, inv_freq) ||
                o->rope(be, f->k, n, h->n_kv_heads, h->head_dim, h->rope_dim, pos, inv_freq))
                return -1;
            o->kv_store(be, kvbuf, il, n, f->k, f->v, cells);
            if (o->attention(be, kvbuf, il, n, at, f->q, f->att)) return -1;
        }
        const model_weight *wo = &ly->wo;
        if (o->matmul(be, 1, &wo, f->att, n, &f->xb)) return -1;
        o->add(be, f->x, f->xb, (size_t)n * D);
        /* feed-forward block: x += w_down (silu(w_gate xb) * w_up xb) */
        o->rmsnorm(be, f->xb, f->x, ly->ffn_norm, n, h->dim, h->rms_eps);
        int rs = o->matmul_swiglu ? o->matmul_swiglu(be, &ly->w_gate, &ly->w_up, f->xb, n, f->hb, f->hb2) : 1;
        if (rs < 0) return -1;
        if (rs > 0) {
            const model_weight *gu[2] = { &ly->w_gate, &ly->w_up };
            float *gu_out[2] = { f->hb, f->hb2 };
            if (o->matmul(be, 2, gu, f->xb, n, gu_out)) return -1;
            o->swiglu(be, f->hb, f->hb2, (size_t)n * F);
        }
        const model_weight *wd = &ly->w_down;
        if (o->matmul(be, 1, &wd, f->hb, n, &f->xb)) return -1;
        o->add(be, f->x, f->xb, (size_t)n * D);
    }
    if (n_out == 0) return 0;
    /* only the rows asked for go through the final norm and the output matrix */
    o->get_rows(be, f->xb, f->x, out_idx, n_out, h->dim);
    o->rmsnorm(be, f->xb, f->xb, model_output_norm(m), n_out, h->dim, h->rms_eps);
    const model_weight *wout = model_output(m);
    if (be->host_mem && o->matmul_check) return o->matmul_check(be, wout, f->xb, n_out, logits, bad, amax) ? -1 : 0;
    if (be->host_mem) return o->matmul(be, 1, &wout, f->xb, n_out, &logits) ? -1 : 0;
    if (o->matmul(be, 1, &wout, f->xb, n_out, &f->logits)) return -1;
    o->to_host(be, logits, f->logits, (size_t)n_out * h->n_vocab * sizeof(float));
    return 0;
}
