/* kv: segment-chain KV cache bookkeeping (see kv.h).
 *
 * Invariants:
 * - seg.refs = live sequences whose leaf it is + segments whose parent it is.
 * - a sequence's length lies in [leaf.start, leaf.start + leaf.len].
 * - a segment's positions [start, start+len) occupy its blocks in order:
 *   position start+i is cell blk[i / KV_BLOCK] * KV_BLOCK + i % KV_BLOCK.
 * - every block is either on the free stack or owned by exactly one segment.
 */
#include "kv.h"
#include <stdlib.h>
#include <string.h>

typedef struct seg {
    int32_t parent;      /* segment index or -1 */
    int32_t start, len;
    int32_t nblk, capblk;
    int32_t *blk;
    int32_t refs;        /* 0 = slot free */
    int32_t depth;       /* segments from the root, for run bounds */
    int32_t use;         /* kv_trim's scratch: the end of the longest use */
} seg;

typedef struct sq { int32_t leaf, len; bool alive; } sq;

struct kv {
    int32_t n_blocks, *free_blk, n_free;
    seg *segs; int32_t n_segs, cap_segs;
    int32_t *free_seg, n_free_seg;
    sq *seqs; int32_t n_seq_max, n_alive;
    int32_t used;
    int32_t max_depth;
};

kv *kv_create(int32_t n_blocks, int32_t n_seq_max) {
    kv *k = calloc(1, sizeof *k);
    if (!k) return NULL;
    k->n_blocks = n_blocks;
    k->free_blk = malloc(sizeof(int32_t) * (size_t)(n_blocks > 0 ? n_blocks : 1));
    k->seqs = calloc((size_t)n_seq_max, sizeof *k->seqs);
    k->n_seq_max = n_seq_max;
    if (!k->free_blk || !k->seqs) { kv_destroy(k); return NULL; }
    for (int32_t i = 0; i < n_blocks; i++) k->free_blk[i] = n_blocks - 1 - i;
    k->n_free = n_blocks;
    return k;
}

void kv_destroy(kv *k) {
    if (!k) return;
    for (int32_t i = 0; i < k->n_segs; i++) free(k->segs[i].blk);
    free(k->segs); free(k->free_seg); free(k->free_blk); free(k->seqs);
    free(k);
}

static int32_t seg_new(kv *k, int32_t parent, int32_t start) {
    int32_t s;
    if (k->n_free_seg) s = k->free_seg[--k->n_free_seg];
    else {
        if (k->n_segs == k->cap_segs) {
            int32_t cap = k->cap_segs ? k->cap_segs * 2 : 64;
            seg *ns = realloc(k->segs, (size_t)cap * sizeof *ns);
            int32_t *nf = realloc(k->free_seg, (size_t)cap * sizeof *nf);
            if (ns) k->segs = ns;
            if (nf) k->free_seg = nf;
            if (!ns || !nf) return -1;
            k->cap_segs = cap;
        }
        s = k->n_segs++;
        k->segs[s].blk = NULL; k->segs[s].capblk = 0;
    }
    seg *g = &k->segs[s];
    g->parent = parent; g->start = start; g->len = 0; g->nblk = 0; g->refs = 1;
    g->depth = parent >= 0 ? k->segs[parent].depth + 1 : 0;
    if (g->depth > k->max_depth) k->max_depth = g->depth;
    if (parent >= 0) k->segs[parent].refs++;
    return s;
}

static void seg_truncate(kv *k, seg *g, int32_t len) {
    int32_t keep = (len + KV_BLOCK - 1) / KV_BLOCK;
    while (g->nblk > keep) k->free_blk[k->n_free++] = g->blk[--g->nblk];
    k->used -= g->len - len;
    g->len = len;
}

static void seg_release(kv *k, int32_t s) {
    while (s >= 0) {
        seg *g = &k->segs[s];
        if (--g->refs > 0) return;
        seg_truncate(k, g, 0);
        int32_t parent = g->parent;
        k->free_seg[k->n_free_seg++] = s;
        s = parent;
    }
}

static sq *live(const kv *k, int32_t id) {
    if (id < 0 || id >= k->n_seq_max || !k->seqs[id].alive) return NULL;
    return &k->seqs[id];
}

static int32_t free_seq_id(const kv *k) {
    for (int32_t i = 0; i < k->n_seq_max; i++) if (!k->seqs[i].alive) return i;
    return -1;
}

int32_t kv_seq_create(kv *k) {
    int32_t id = free_seq_id(k);
    if (id < 0) return -1;
    k->seqs[id] = (sq){ -1, 0, true };
    k->n_alive++;
    return id;
}

int32_t kv_seq_fork(kv *k, int32_t seq) {
    sq *s = live(k, seq);
    int32_t id = s ? free_seq_id(k) : -1;
    if (id < 0) return -1;
    s = &k->seqs[seq];
    k->seqs[id] = *s;
    if (s->leaf >= 0) k->segs[s->leaf].refs++;
    k->n_alive++;
    return id;
}

void kv_seq_drop(kv *k, int32_t seq) {
    sq *s = live(k, seq);
    if (!s) return;
    seg_release(k, s->leaf);
    s->alive = false; s->leaf = -1; s->len = 0;
    k->n_alive--;
}

int kv_seq_rewind(kv *k, int32_t seq, int32_t pos) {
    sq *s = live(k, seq);
    if (!s || pos < 0 || pos > s->len) return -1;
    /* climb until the leaf segment contains pos (or is the root) */
    while (s->leaf >= 0 && k->segs[s->leaf].start > pos) {
        int32_t parent = k->segs[s->leaf].parent;
        if (parent >= 0) k->segs[parent].refs++;
        seg_release(k, s->leaf);
        s->leaf = parent;
    }
    if (pos == 0 && s->leaf >= 0 && k->segs[s->leaf].start == 0 && k->segs[s->leaf].refs > 1) {
        seg_release(k, s->leaf);
        s->leaf = -1;
    }
    if (s->leaf >= 0) {
        seg *g = &k->segs[s->leaf];
        if (g->refs == 1 && g->start + g->len > pos) seg_truncate(k, g, pos - g->start);
    }
    s->len = pos;
    return 0;
}

int32_t kv_seq_len(const kv *k, int32_t seq) {
    const sq *s = live(k, seq);
    return s ? s->len : -1;
}

int32_t kv_n_seq(const kv *k) { return k->n_alive; }
int32_t kv_seq_max(const kv *k) { return k->n_seq_max; }

/* Makes the leaf of s a segment that s owns alone and that ends at s->len. */
static int own_leaf(kv *k, sq *s) {
    int32_t l = s->leaf;
    if (l >= 0) {
        seg *g = &k->segs[l];
        if (g->refs == 1 && g->start + g->len == s->len) return 0;
        if (g->refs == 1) { seg_truncate(k, g, s->len - g->start); return 0; }
    }
    int32_t n = seg_new(k, l, s->len);
    if (n < 0) return -1;
    if (l >= 0) k->segs[l].refs--;   /* s's reference moves to the new child */
    s->leaf = n;
    return 0;
}

int kv_seq_append(kv *k, int32_t seq, int32_t n, int32_t *cells) {
    sq *s = live(k, seq);
    if (!s || n < 0) return -1;
    if (n == 0) return 0;
    if (own_leaf(k, s)) return -1;
    seg *g = &k->segs[s->leaf];
    int32_t need = (g->len + n + KV_BLOCK - 1) / KV_BLOCK - g->nblk;
    if (need > k->n_free) return -1;
    if (g->nblk + need > g->capblk) {
        int32_t cap = g->capblk ? g->capblk : 4;
        while (cap < g->nblk + need) cap *= 2;
        int32_t *b = realloc(g->blk, (size_t)cap * sizeof *b);
        if (!b) return -1;
        g->blk = b; g->capblk = cap;
    }
    for (int32_t i = 0; i < need; i++) g->blk[g->nblk++] = k->free_blk[--k->n_free];
    for (int32_t i = 0; i < n; i++) {
        int32_t p = g->len + i;
        cells[i] = g->blk[p / KV_BLOCK] * KV_BLOCK + p % KV_BLOCK;
    }
    g->len += n;
    s->len += n;
    k->used += n;
    return 0;
}

int32_t kv_max_runs(const kv *k, int32_t len) {
    /* each segment on the chain adds at most one partial block at each end */
    return (len + KV_BLOCK - 1) / KV_BLOCK + 2 * (k->max_depth + 1);
}

int32_t kv_seq_runs(const kv *k, int32_t seq, int32_t len, kv_run *runs, int32_t cap) {
    const sq *s = live(k, seq);
    if (!s || len > s->len) return 0;
    /* walk leaf to root, writing runs from the back of the array forward */
    int32_t w = cap, end = len;
    for (int32_t l = s->leaf; l >= 0 && end > 0; l = k->segs[l].parent) {
        const seg *g = &k->segs[l];
        int32_t lo = g->start, hi = end < g->start + g->len ? end : g->start + g->len;
        for (int32_t p = hi; p > lo;) {
            int32_t i = p - 1 - g->start;           /* last position of the run */
            int32_t first = i - i % KV_BLOCK;       /* first index in its block */
            if (first < lo - g->start) first = lo - g->start;
            if (w == 0) return 0;
            runs[--w] = (kv_run){ g->blk[i / KV_BLOCK] * KV_BLOCK + first % KV_BLOCK, i - first + 1 };
            p = g->start + first;
        }
        end = lo;
    }
    int32_t n = cap - w;
    memmove(runs, runs + w, (size_t)n * sizeof *runs);
    return n;
}

int32_t kv_trim(kv *k) {
    int32_t before = k->used;
    for (int32_t i = 0; i < k->n_segs; i++) k->segs[i].use = k->segs[i].start;
    /* every live segment is on the chain of a live sequence: a sequence uses
     * its leaf up to its length, and each segment its parent up to its start */
    for (int32_t q = 0; q < k->n_seq_max; q++) {
        if (!k->seqs[q].alive) continue;
        int32_t end = k->seqs[q].len;
        for (int32_t l = k->seqs[q].leaf; l >= 0; l = k->segs[l].parent) {
            seg *g = &k->segs[l];
            if (end > g->use) g->use = end;
            end = g->start;
        }
    }
    for (int32_t i = 0; i < k->n_segs; i++) {
        seg *g = &k->segs[i];
        if (g->refs > 0 && g->use < g->start + g->len) seg_truncate(k, g, g->use - g->start);
    }
    return before - k->used;
}

int32_t kv_used_cells(const kv *k) { return k->used; }
int32_t kv_free_blocks(const kv *k) { return k->n_free; }
int32_t kv_n_blocks(const kv *k) { return k->n_blocks; }
