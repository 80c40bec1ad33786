/* mem: growable device buffers and cached uploads through pinned memory
 * (see mem.cuh for the ordering rules they keep). */
#include "mem.cuh"
#include "cuerr.cuh"
#include <cstring>

static size_t round_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

int mem_grow(mem_buf *b, size_t bytes, cudaStream_t st, char *err, size_t errlen) {
    if (bytes <= b->cap) return 0;
    size_t cap = round_up(bytes > 2 * b->cap ? bytes : 2 * b->cap, 256);
    if (b->p) {
        CUERR_TRY(cudaStreamSynchronize(st));   /* queued kernels may still read it */
        cudaFree(b->p);
        b->p = NULL; b->cap = 0;
    }
    CUERR_TRY(cudaMalloc(&b->p, cap));
    b->cap = cap;
    return 0;
}

void mem_buf_free(mem_buf *b) {
    if (b->p) cudaFree(b->p);
    b->p = NULL; b->cap = 0;
}

/* Reallocates both halves of the slot for `bytes`; the old device copy may be
 * in use by queued kernels, and the old pinned one by a queued copy. */
static int slot_grow(mem_slot *s, size_t bytes, cudaStream_t st, char *err, size_t errlen) {
    size_t cap = round_up(bytes > 2 * s->cap ? bytes : 2 * s->cap, 256);
    CUERR_TRY(cudaStreamSynchronize(st));
    if (s->host) cudaFreeHost(s->host);
    if (s->dev) cudaFree(s->dev);
    s->host = s->dev = NULL; s->cap = 0; s->valid = false;
    CUERR_TRY(cudaMallocHost(&s->host, cap));
    CUERR_TRY(cudaMalloc(&s->dev, cap));
    s->cap = cap;
    return 0;
}

int mem_upload(mem_slot *s, const void *src, size_t bytes, cudaStream_t st, const void **dev,
               char *err, size_t errlen) {
    *dev = NULL;
    if (s->valid && s->len == bytes && memcmp(s->host, src, bytes) == 0) {
        *dev = s->dev;
        return 0;
    }
    if (!s->copied) CUERR_TRY(cudaEventCreateWithFlags(&s->copied, cudaEventDisableTiming));
    if (bytes > s->cap) {
        if (slot_grow(s, bytes, st, err, errlen)) return -1;
    } else {
        CUERR_TRY(cudaEventSynchronize(s->copied));   /* the last copy has read s->host */
    }
    s->valid = false;
    memcpy(s->host, src, bytes);
    CUERR_TRY(cudaMemcpyAsync(s->dev, s->host, bytes, cudaMemcpyHostToDevice, st));
    CUERR_TRY(cudaEventRecord(s->copied, st));
    s->len = bytes;
    s->valid = true;
    *dev = s->dev;
    return 0;
}

void mem_slot_free(mem_slot *s) {
    if (s->host) cudaFreeHost(s->host);
    if (s->dev) cudaFree(s->dev);
    if (s->copied) cudaEventDestroy(s->copied);
    memset(s, 0, sizeof *s);
}
