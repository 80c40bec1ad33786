/* gmatch_memo: remembered walks below a leaving byte (state_mask in gmatch.c
 * records and reads them).
 *
 * Inside a string of maxLength L every counter position is its own state,
 * and each one's first mask walked the subtrees below the pieces' closing
 * quote (`",`, `"}`, `":"` ...: at 128256 tokens most of the ~4000 nodes a
 * string state reads) although after the quote they all continue in the same
 * state. The walk below (node, state) is remembered as a token list the
 * first time and ORed in afterwards. Entries made by the current mask are
 * pending (not findable) until memo_finish sorts its records into the pool:
 * within one walk a node is met once, so none is looked for twice. */

#include <stdlib.h>
#include <string.h>

#include "gmatch_impl.h"

static uint64_t memo_key(int32_t node, int32_t state) {
    uint64_t h = (uint64_t)(uint32_t)node << 32 | (uint32_t)state;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

int32_t gmatch_memo_find(const gmatch_ctx *c, int32_t node, int32_t state) {
    if (!c->hcap_sm) return -1;
    int32_t j = (int32_t)(memo_key(node, state) & (uint64_t)(c->hcap_sm - 1));
    for (int32_t e; (e = c->smhash[j]) >= 0; j = (j + 1) & (c->hcap_sm - 1))
        if (c->sm[e].node == node && c->sm[e].state == state) return e;
    return -1;
}

int32_t gmatch_memo_new(gmatch_ctx *c, int32_t node, int32_t state) {
    if (c->nsm == c->cap_sm) {
        int32_t cap = c->cap_sm ? 2 * c->cap_sm : 256;
        smemo *p = realloc(c->sm, sizeof *p * (size_t)cap);
        if (!p) return -1;
        c->sm = p;
        c->cap_sm = cap;
    }
    c->sm[c->nsm] = (smemo){ node, state, -1, 0 };
    return c->nsm++;
}

bool gmatch_memo_rec(gmatch_ctx *c, int32_t e, int32_t id) {
    if (c->nrec == c->cap_rec) {
        int64_t cap = c->cap_rec ? 2 * c->cap_rec : 4096;
        int32_t *p = realloc(c->rec, sizeof *p * 2 * (size_t)cap);
        if (!p) return false;
        c->rec = p;
        c->cap_rec = cap;
    }
    c->rec[2 * c->nrec] = e;
    c->rec[2 * c->nrec + 1] = id;
    c->nrec++;
    return true;
}

void gmatch_memo_drop(gmatch_ctx *c, int32_t nsm0) { c->nsm = nsm0; c->nrec = 0; }

/* The pending entries nsm0.. get their tokens (the records, by entry) and
 * become findable; false: out of memory (they are dropped). */
bool gmatch_memo_finish(gmatch_ctx *c, int32_t nsm0) {
    int32_t ne = c->nsm - nsm0;
    if (!ne) return true;
    int64_t need = c->nspool + c->nrec;
    if (need > c->cap_spool) {
        int64_t cap = c->cap_spool ? c->cap_spool : 4096;
        while (cap < need) cap *= 2;
        int32_t *p = realloc(c->spool, sizeof *p * (size_t)cap);
        if (!p) { gmatch_memo_drop(c, nsm0); return false; }
        c->spool = p;
        c->cap_spool = cap;
    }
    if (2 * (c->nsm + 1) > c->hcap_sm) {
        int32_t cap = c->hcap_sm ? c->hcap_sm : 1024;
        while (2 * (c->nsm + 1) > cap) cap *= 2;
        int32_t *h = malloc(sizeof *h * (size_t)cap);
        if (!h) { gmatch_memo_drop(c, nsm0); return false; }
        memset(h, 0xff, sizeof *h * (size_t)cap);
        for (int32_t e = 0; e < nsm0; e++) {
            int32_t j = (int32_t)(memo_key(c->sm[e].node, c->sm[e].state) & (uint64_t)(cap - 1));
            while (h[j] >= 0) j = (j + 1) & (cap - 1);
            h[j] = e;
        }
        free(c->smhash);
        c->smhash = h;
        c->hcap_sm = cap;
    }
    for (int64_t r = 0; r < c->nrec; r++) c->sm[c->rec[2 * r]].n++;      /* counts, then offsets */
    int64_t off = c->nspool;
    for (int32_t e = nsm0; e < c->nsm; e++) { c->sm[e].off = off; off += c->sm[e].n; c->sm[e].n = 0; }
    for (int64_t r = 0; r < c->nrec; r++) {
        smemo *s = &c->sm[c->rec[2 * r]];
        c->spool[s->off + s->n++] = c->rec[2 * r + 1];
    }
    c->nspool = off;
    c->cached_bytes += (int64_t)c->nrec * 4 + (int64_t)ne * (int64_t)sizeof(smemo);
    for (int32_t e = nsm0; e < c->nsm; e++) {
        int32_t j = (int32_t)(memo_key(c->sm[e].node, c->sm[e].state) & (uint64_t)(c->hcap_sm - 1));
        while (c->smhash[j] >= 0) j = (j + 1) & (c->hcap_sm - 1);
        c->smhash[j] = e;
    }
    c->nrec = 0;
    return true;
}
