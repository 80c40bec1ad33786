/* backend_cuda: the CUDA implementation of backend.h.
 *
 * The backend owns one CUDA stream; every operation is queued on it, and only
 * to_dev, to_host, a scratch buffer that grows, and free wait for the GPU, so
 * a forward pass runs ahead of the GPU until it copies the logits out.
 * Weights: prepare() copies every tensor of the model to GPU memory as stored
 * (quantized weights stay quantized) and files the copy under its host
 * address; operations translate the model_weight / norm / inv_freq pointers
 * they receive through that map. Host arrays passed to operations (token ids,
 * positions, cells, attention runs, gather indices) go through upload slots
 * (mem.cuh). The numbers: mm.cu (matrix products), attn.cu (attention),
 * eltw.cu (the rest); core/backend_cpu.c is the reference for all of them.
 *
 * Errors never exit: operations that return a status return -1 and keep the
 * message (backend_cuda_last_error); those without one record it and make the
 * next operation with a status fail, so the forward pass reports it.
 */
#include "attn.cuh"
#include "cuerr.cuh"
#include "eltw.cuh"
#include "mem.cuh"
#include "mm.cuh"
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
extern "C" {
#include "backend.h"
#include "backend_cuda.h"
#include "model.h"
#include "qtypes.h"
}

enum { SLOT_TOK, SLOT_POS, SLOT_CELLS, SLOT_IDX, SLOT_NORM, SLOT_FREQ, N_SLOTS };

/* A host address and its device copy. */
typedef struct wentry { const void *host; void *dev; size_t bytes; } wentry;

typedef struct cuda {
    backend base;                 /* first: a backend * is a cuda * */
    cudaStream_t st;
    mm mat;                       /* matrix products */
    attn at;
    wentry *map; size_t map_cap, map_n;   /* open addressing, map_cap a power of two */
    mem_slot slot[N_SLOTS];
    mem_buf rows;                 /* get_rows staging when source and destination overlap */
    bool pending;                 /* a status-less operation failed; see the top comment */
    char msg[256];
} cuda;

static cuda *C(backend *b) { return (cuda *)b; }

/* ---- errors ---- */

static void note_cuda(cuda *c, cudaError_t rc, const char *what) {
    cuerr_cuda(rc, what, c->msg, sizeof c->msg);
    c->pending = true;
}

/* The status of an operation that returns one: -1 if an earlier status-less
 * operation failed (its message stays in c->msg). */
static int take_pending(cuda *c) {
    if (!c->pending) return 0;
    c->pending = false;
    return -1;
}

static int fail(cuda *c, const char *msg) {
    snprintf(c->msg, sizeof c->msg, "%s", msg);
    return -1;
}

/* ---- the weight map ---- */

static size_t slot_of(const void *p, size_t cap) {
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 31;
    x *= 0x9e3779b97f4a7c15ull;
    return (size_t)(x >> 32) & (cap - 1);
}

static wentry *map_find(cuda *c, const void *host) {
    if (!c->map_cap || !host) return NULL;
    for (size_t i = slot_of(host, c->map_cap);; i = (i + 1) & (c->map_cap - 1)) {
        if (c->map[i].host == host) return &c->map[i];
        if (!c->map[i].host) return NULL;
    }
}

/* Room for one more entry (load <= 1/2). */
static int map_reserve(cuda *c) {
    if (2 * (c->map_n + 1) <= c->map_cap) return 0;
    size_t cap = c->map_cap ? 2 * c->map_cap : 256;
    wentry *m = (wentry *)calloc(cap, sizeof *m);
    if (!m) return fail(c, "cuda: out of host memory for the weight map");
    for (size_t i = 0; i < c->map_cap; i++) {
        if (!c->map[i].host) continue;
        size_t j = slot_of(c->map[i].host, cap);
        while (m[j].host) j = (j + 1) & (cap - 1);
        m[j] = c->map[i];
    }
    free(c->map);
    c->map = m; c->map_cap = cap;
    return 0;
}

/* Device copy of `need` bytes filed under host address p, or NULL. */
static const void *dev_of(cuda *c, const void *p, size_t need) {
    wentry *e = map_find(c, p);
    return e && e->bytes >= need ? e->dev : NULL;
}

extern "C" int backend_cuda_upload(backend *b, const void *data, size_t bytes, char *err, size_t errlen) {
    cuda *c = C(b);
    void *dev = NULL;
    if (!data || !bytes) {
        if (err && errlen) snprintf(err, errlen, "cuda: nothing to upload");
        return -1;
    }
    if (map_reserve(c)) {
        if (err && errlen) snprintf(err, errlen, "%s", c->msg);
        return -1;
    }
    CUERR_TRY(cudaStreamSynchronize(c->st));   /* a copy being replaced may be in use */
    CUERR_TRY(cudaMalloc(&dev, bytes));
    /* on our stream, and waited for: a plain cudaMemcpy from pageable memory
     * may return before its DMA lands, and our stream does not wait for the
     * legacy default stream */
    cudaError_t rc = cudaMemcpyAsync(dev, data, bytes, cudaMemcpyHostToDevice, c->st);
    if (rc == cudaSuccess) rc = cudaStreamSynchronize(c->st);
    if (rc != cudaSuccess) {
        cudaFree(dev);
        return cuerr_cuda(rc, "cudaMemcpy (weights)", err, errlen);
    }
    wentry *e = map_find(c, data);
    if (e) {
        cudaFree(e->dev);
    } else {
        size_t i = slot_of(data, c->map_cap);
        while (c->map[i].host) i = (i + 1) & (c->map_cap - 1);
        e = &c->map[i];
        c->map_n++;
    }
    *e = wentry{ data, dev, bytes };
    return 0;
}

extern "C" const char *backend_cuda_last_error(const backend *b) { return ((const cuda *)b)->msg; }

/* ---- lifecycle ---- */

static void cu_destroy(backend *b) {
    cuda *c = C(b);
    if (c->st) cudaStreamSynchronize(c->st);
    for (size_t i = 0; i < c->map_cap; i++)
        if (c->map[i].host) cudaFree(c->map[i].dev);
    free(c->map);
    for (int i = 0; i < N_SLOTS; i++) mem_slot_free(&c->slot[i]);
    mem_buf_free(&c->rows);
    mm_fini(&c->mat);
    attn_fini(&c->at);
    if (c->st) cudaStreamDestroy(c->st);
    free(c);
}

/* A host block of the model to copy: a matrix (type, rows, cols) or floats. */
typedef struct tensor { const void *data; size_t bytes; int type; int64_t cols; } tensor;

static tensor matrix(const model_weight *w) {
    return tensor{ w->data, qt_row_size(w->type, w->cols) * (size_t)w->rows, w->type, w->cols };
}

static tensor floats(const float *p, size_t n) { return tensor{ p, n * sizeof(float), QT_F32, (int64_t)n }; }

/* Every tensor of m (tok_embd and output may be the same one). *n set. */
static tensor *model_tensors(const model *m, int *n) {
    const model_info *h = model_get_info(m);
    tensor *t = (tensor *)malloc(((size_t)h->n_layers * 9 + 4) * sizeof *t);
    if (!t) return NULL;
    int k = 0;
    t[k++] = matrix(model_tok_embd(m));
    t[k++] = matrix(model_output(m));
    t[k++] = floats(model_output_norm(m), (size_t)h->dim);
    t[k++] = floats(model_rope_inv_freq(m), (size_t)h->head_dim / 2);
    for (int32_t il = 0; il < h->n_layers; il++) {
        const model_layer *l = model_get_layer(m, il);
        t[k++] = floats(l->attn_norm, (size_t)h->dim);
        t[k++] = floats(l->ffn_norm, (size_t)h->dim);
        const model_weight *w[7] = { &l->wq, &l->wk, &l->wv, &l->wo, &l->w_gate, &l->w_up, &l->w_down };
        for (int j = 0; j < 7; j++) t[k++] = matrix(w[j]);
    }
    *n = k;
    return t;
}

static int cu_prepare(backend *b, const model *m, char *err, size_t errlen) {
    cuda *c = C(b);
    int n = 0, rc = 0;
    tensor *t = model_tensors(m, &n);
    if (!t) {
        if (err && errlen) snprintf(err, errlen, "cuda: out of host memory");
        return -1;
    }
    size_t need = 0, fr = 0, total = 0;
    for (int i = 0; i < n && !rc; i++) {
        if (!mm_supported(t[i].type, t[i].cols) || !t[i].bytes) {
            if (err && errlen) snprintf(err, errlen, "cuda: tensor type %s with %lld columns is not supported",
                                        qt_get(t[i].type) ? qt_get(t[i].type)->name : "?", (long long)t[i].cols);
            rc = -1;
        }
        bool seen = map_find(c, t[i].data) != NULL;   /* a tied output is counted once */
        for (int j = 0; j < i && !seen; j++) seen = t[j].data == t[i].data;
        if (!seen) need += t[i].bytes;
    }
    if (!rc && cudaMemGetInfo(&fr, &total) == cudaSuccess && need > fr) {
        if (err && errlen) snprintf(err, errlen, "cuda: the model needs %.2f GiB of GPU memory, %.2f GiB of %.2f GiB are free",
                                    need / 1073741824.0, fr / 1073741824.0, total / 1073741824.0);
        rc = -1;
    }
    for (int i = 0; i < n && !rc; i++) {
        wentry *e = map_find(c, t[i].data);
        if (!(e && e->bytes >= t[i].bytes)) rc = backend_cuda_upload(b, t[i].data, t[i].bytes, err, errlen);
    }
    free(t);
    if (rc && err && errlen) snprintf(c->msg, sizeof c->msg, "%s", err);
    return rc;
}

static void *cu_alloc(backend *b, size_t bytes) {
    void *p = NULL;
    cudaError_t rc = cudaMalloc(&p, bytes ? bytes : 256);
    if (rc != cudaSuccess) {
        cuerr_cuda(rc, "cudaMalloc", C(b)->msg, sizeof C(b)->msg);   /* NULL is the status */
        return NULL;
    }
    return p;
}

static void cu_free(backend *b, void *p) {
    cudaError_t rc = cudaStreamSynchronize(C(b)->st);   /* queued kernels may still use p */
    if (rc == cudaSuccess) rc = cudaFree(p);
    if (rc != cudaSuccess) note_cuda(C(b), rc, "cudaFree");
}

static void cu_to_dev(backend *b, void *dst, const void *src, size_t bytes) {
    cuda *c = C(b);
    cudaError_t rc = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, c->st);
    if (rc == cudaSuccess) rc = cudaStreamSynchronize(c->st);   /* src may be pageable and reused */
    if (rc != cudaSuccess) note_cuda(c, rc, "to_dev");
}

static void cu_to_host(backend *b, void *dst, const void *src, size_t bytes) {
    cuda *c = C(b);
    cudaError_t rc = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, c->st);
    if (rc == cudaSuccess) rc = cudaStreamSynchronize(c->st);
    if (rc != cudaSuccess) {
        note_cuda(c, rc, "to_host");
        memset(dst, 0xff, bytes);   /* NaN floats: a failure can never pass for numbers */
    }
}

/* ---- operations ---- */

/* Device copy of a host array through slot s; NULL (and a pending error) on failure. */
static const void *upload(cuda *c, int s, const void *src, size_t bytes) {
    const void *dev = NULL;
    if (mem_upload(&c->slot[s], src, bytes, c->st, &dev, c->msg, sizeof c->msg)) {
        c->pending = true;
        return NULL;
    }
    return dev;
}

/* Device copy of n floats of model data at p: the prepared one, else uploaded through slot s. */
static const float *dev_floats(cuda *c, int s, const float *p, size_t n) {
    const void *d = dev_of(c, p, n * sizeof(float));
    return (const float *)(d ? d : upload(c, s, p, n * sizeof(float)));
}

static void cu_embed(backend *b, const model_weight *emb, const int32_t *tok, int32_t n, float *x) {
    cuda *c = C(b);
    if (n <= 0) return;
    const void *w = dev_of(c, emb->data, qt_row_size(emb->type, emb->cols) * (size_t)emb->rows);
    if (!w) {
        fail(c, "cuda: the token embedding was not uploaded (prepare)");
        c->pending = true;
        return;
    }
    const int32_t *dtok = (const int32_t *)upload(c, SLOT_TOK, tok, (size_t)n * sizeof(int32_t));
    mm_weight dw = { w, emb->type, emb->rows, emb->cols };
    if (dtok && mm_dequant_rows(&c->mat, &dw, dtok, n, x, c->msg, sizeof c->msg)) c->pending = true;
}

static void cu_rmsnorm(backend *b, float *y, const float *x, const float *w, int32_t n, int32_t dim,
                       float eps) {
    cuda *c = C(b);
    const float *dw = dev_floats(c, SLOT_NORM, w, (size_t)dim);
    cudaError_t rc;
    if (dw && (rc = eltw_rmsnorm(c->st, y, x, dw, n, dim, eps)) != cudaSuccess) note_cuda(c, rc, "rmsnorm");
}

static int cu_matmul(backend *b, int nw, const model_weight *const *w, const float *x, int32_t n,
                     float *const *y) {
    cuda *c = C(b);
    if (take_pending(c)) return -1;
    if (nw > MM_MAX_W) return fail(c, "cuda: more than 8 weights in one matmul");
    mm_weight dw[MM_MAX_W];
    for (int k = 0; k < nw; k++) {
        const void *d = dev_of(c, w[k]->data, qt_row_size(w[k]->type, w[k]->cols) * (size_t)w[k]->rows);
        if (!d) return fail(c, "cuda: a weight was not uploaded (prepare / backend_cuda_upload)");
        dw[k] = mm_weight{ d, w[k]->type, w[k]->rows, w[k]->cols };
    }
    return mm_matmul(&c->mat, nw, dw, x, n, y, c->msg, sizeof c->msg);
}

static int cu_rope(backend *b, float *x, int32_t n, int32_t n_heads, int32_t head_dim, int32_t rope_dim,
                   const int32_t *pos, const float *inv_freq) {
    cuda *c = C(b);
    if (take_pending(c)) return -1;
    if (n <= 0 || rope_dim < 2) return 0;
    const int32_t *dpos = (const int32_t *)upload(c, SLOT_POS, pos, (size_t)n * sizeof(int32_t));
    const float *dfreq = dev_floats(c, SLOT_FREQ, inv_freq, (size_t)rope_dim / 2);
    if (!dpos || !dfreq) return take_pending(c);
    cudaError_t rc = eltw_rope(c->st, x, n, n_heads, head_dim, rope_dim, dpos, dfreq);
    return rc == cudaSuccess ? 0 : cuerr_cuda(rc, "rope", c->msg, sizeof c->msg);
}

static void cu_kv_store(backend *b, void *kvbuf, int32_t il, int32_t n, const float *k, const float *v,
                        const int32_t *cells) {
    cuda *c = C(b);
    if (n <= 0) return;
    const int32_t *dcells = (const int32_t *)upload(c, SLOT_CELLS, cells, (size_t)n * sizeof(int32_t));
    cudaError_t rc;
    if (dcells && (rc = eltw_kv_store(c->st, (float *)kvbuf, b->kv.n_layers, b->kv.kv_dim, il, n, k, v,
                                      dcells)) != cudaSuccess)
        note_cuda(c, rc, "kv_store");
}

static int cu_attention(backend *b, const void *kvbuf, int32_t il, int32_t n, const be_attn *at,
                        const float *q, float *out) {
    cuda *c = C(b);
    if (take_pending(c)) return -1;
    return attn_run(&c->at, c->st, (const float *)kvbuf, &b->kv, il, n, at, q, out, c->msg, sizeof c->msg);
}

static void cu_swiglu(backend *b, float *g, const float *u, size_t n) {
    cudaError_t rc = eltw_swiglu(C(b)->st, g, u, n);
    if (rc != cudaSuccess) note_cuda(C(b), rc, "swiglu");
}

static void cu_add(backend *b, float *x, const float *y, size_t n) {
    cudaError_t rc = eltw_add(C(b)->st, x, y, n);
    if (rc != cudaSuccess) note_cuda(C(b), rc, "add");
}

/* A gather from x into an overlapping y goes through staging, so that every
 * row is read before any is written. */
static void cu_get_rows(backend *b, float *y, const float *x, const int32_t *idx, int32_t n, int32_t dim) {
    cuda *c = C(b);
    if (n <= 0) return;
    int32_t top = 0;
    for (int32_t i = 0; i < n; i++) if (idx[i] > top) top = idx[i];
    size_t out = (size_t)n * dim * sizeof(float);
    uintptr_t y0 = (uintptr_t)y, y1 = y0 + out, x0 = (uintptr_t)x, x1 = x0 + ((size_t)top + 1) * dim * sizeof(float);
    bool overlap = y0 < x1 && x0 < y1;
    const int32_t *didx = (const int32_t *)upload(c, SLOT_IDX, idx, (size_t)n * sizeof(int32_t));
    if (!didx) return;
    if (overlap && mem_grow(&c->rows, out, c->st, c->msg, sizeof c->msg)) {
        c->pending = true;
        return;
    }
    float *dst = overlap ? (float *)c->rows.p : y;
    cudaError_t rc = eltw_get_rows(c->st, dst, x, didx, n, dim);
    if (rc == cudaSuccess && overlap) rc = cudaMemcpyAsync(y, dst, out, cudaMemcpyDeviceToDevice, c->st);
    if (rc != cudaSuccess) note_cuda(c, rc, "get_rows");
}

static const backend_ops cuda_ops = {
    "cuda", cu_destroy, cu_prepare, cu_alloc, cu_free, cu_to_dev, cu_to_host,
    cu_embed, cu_rmsnorm, cu_matmul, cu_rope, cu_kv_store, cu_attention,
    cu_swiglu, cu_add, cu_get_rows,
    NULL,   /* matmul_check: the output product's logits are checked on the host (forward.c) */
    NULL,   /* rope_attention: rope, kv_store and attention are separate calls */
    NULL,   /* matmul_swiglu: matmul and swiglu are separate calls */
};

/* The current device, if there is one this build can run on. */
static int pick_device(cudaDeviceProp *prop, char *err, size_t errlen) {
    int n = 0, dev = 0;
    cudaError_t rc = cudaGetDeviceCount(&n);
    if (rc != cudaSuccess) {
        (void)cudaGetLastError();
        if (err && errlen)
            snprintf(err, errlen, "no CUDA device (cudaGetDeviceCount: %s: %s)", cudaGetErrorName(rc), cudaGetErrorString(rc));
        return -1;
    }
    if (n == 0) {
        if (err && errlen) snprintf(err, errlen, "no CUDA device (cudaGetDeviceCount found none)");
        return -1;
    }
    CUERR_TRY(cudaGetDevice(&dev));
    CUERR_TRY(cudaGetDeviceProperties(prop, dev));
    if (prop->major < 8) {
        if (err && errlen)
            snprintf(err, errlen, "cuda: %s has compute capability %d.%d; this build needs 8.0 or newer",
                     prop->name, prop->major, prop->minor);
        return -1;
    }
    return 0;
}

extern "C" backend *backend_cuda_create(int n_threads, be_kvgeom geom, char *err, size_t errlen) {
    (void)n_threads;   /* the host only queues work: no CPU threads */
    cudaDeviceProp prop;
    if (pick_device(&prop, err, errlen) || !attn_supported(&geom, err, errlen)) return NULL;
    cuda *c = (cuda *)calloc(1, sizeof *c);
    if (!c) {
        if (err && errlen) snprintf(err, errlen, "cuda: out of host memory");
        return NULL;
    }
    c->base.ops = &cuda_ops;
    c->base.kv = geom;
    c->base.n_threads = 1;
    attn_init(&c->at, prop.multiProcessorCount);
    cudaError_t rc = cudaStreamCreateWithFlags(&c->st, cudaStreamNonBlocking);
    if (rc != cudaSuccess) {
        c->st = NULL;
        cuerr_cuda(rc, "cudaStreamCreate", err, errlen);
        cu_destroy(&c->base);
        return NULL;
    }
    if (mm_init(&c->mat, c->st, err, errlen)) {
        cu_destroy(&c->base);
        return NULL;
    }
    return &c->base;
}
