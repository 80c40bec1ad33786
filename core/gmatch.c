/* gmatch: interned parse-stack sets, their byte transitions and token masks
 * (see gmatch.h).
 *
 * Stacks are persistent lists interned as (pos, below) pairs: pos is an
 * element index of the gram, below the stack under it; id 0 is the empty
 * stack (the grammar is complete). The top of every stack in a state is a
 * byte-set element; the entries below are return positions. A reference
 * that ends its alternative pushes no return position (tail call), so
 * right-recursive repetitions keep stacks short and states recur.
 *
 * A state is a sorted set of stack ids, interned; id 0 is the dead state
 * (no stack: nothing can follow). For each state the ctx caches a 256-entry
 * transition row (filled lazily) and a token bitset (filled by one walk of
 * the prefix tree). Past a memory budget new rows and masks are computed
 * without being kept.
 *
 * The vocabulary and its prefix tree are in gmatch_vocab.c; the probe of
 * bulk acceptance and the precomputation at bind time in gmatch_probe.c.
 */
#include "gmatch.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "gmatch_impl.h"
#include "smp_mass.h"
#include "smp.h"
#include "vecdot.h"

#define CACHE_BUDGET ((int64_t)768 << 20)

/* A run of the mask's walk: the children kid .. kid + n of a live node, to
 * be read from `state`. */
typedef struct wrun {
    int32_t kid, n, state;
    int32_t tag;            /* the smemo entry being recorded, or -1 */
} wrun;

/* ---- interning ------------------------------------------------------------- */


static uint64_t mix(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static bool grow_stack_hash(gmatch_ctx *c) {
    int32_t cap = c->hcap_s ? 2 * c->hcap_s : 1024;
    int32_t *h = malloc(sizeof *h * (size_t)cap);
    if (!h) return false;
    memset(h, 0xff, sizeof *h * (size_t)cap);
    for (int32_t i = 1; i < c->ns; i++) {
        uint64_t k = mix((uint64_t)(uint32_t)c->spos[i] << 32 | (uint32_t)c->sbelow[i]);
        int32_t j = (int32_t)(k & (uint64_t)(cap - 1));
        while (h[j] >= 0) j = (j + 1) & (cap - 1);
        h[j] = i;
    }
    free(c->shash);
    c->shash = h;
    c->hcap_s = cap;
    return true;
}

/* Id of stack (pos, below); -1 when out of memory. */
static int32_t intern_stack(gmatch_ctx *c, int32_t pos, int32_t below) {
    if (2 * (c->ns + 1) > c->hcap_s && !grow_stack_hash(c)) return -1;
    uint64_t k = mix((uint64_t)(uint32_t)pos << 32 | (uint32_t)below);
    int32_t j = (int32_t)(k & (uint64_t)(c->hcap_s - 1));
    while (c->shash[j] >= 0) {
        int32_t i = c->shash[j];
        if (c->spos[i] == pos && c->sbelow[i] == below) return i;
        j = (j + 1) & (c->hcap_s - 1);
    }
    if (c->ns == c->cap_s) {
        int32_t cap = 2 * c->cap_s;
        int32_t *p = realloc(c->spos, sizeof *p * (size_t)cap);
        if (!p) return -1;
        c->spos = p;
        int32_t *b = realloc(c->sbelow, sizeof *b * (size_t)cap);
        if (!b) return -1;
        c->sbelow = b;
        c->cap_s = cap;
    }
    c->spos[c->ns] = pos;
    c->sbelow[c->ns] = below;
    c->shash[j] = c->ns;
    return c->ns++;
}

static uint64_t hash_set(const int32_t *s, int32_t n) {
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ (uint64_t)n;
    for (int32_t i = 0; i < n; i++) h = mix(h ^ (uint32_t)s[i]) + 0x632be59bd9b4e019ULL;
    return h;
}

static bool grow_state_hash(gmatch_ctx *c) {
    int32_t cap = c->hcap_st ? 2 * c->hcap_st : 1024;
    int32_t *h = malloc(sizeof *h * (size_t)cap);
    if (!h) return false;
    memset(h, 0xff, sizeof *h * (size_t)cap);
    for (int32_t i = 1; i < c->nst; i++) {
        int32_t j = (int32_t)(hash_set(c->pool + c->st[i].first, c->st[i].n) & (uint64_t)(cap - 1));
        while (h[j] >= 0) j = (j + 1) & (cap - 1);
        h[j] = i;
    }
    free(c->sthash);
    c->sthash = h;
    c->hcap_st = cap;
    return true;
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Interns c->out[0..nout) as a state (sorted and deduplicated here); 0 when
 * empty, -1 when out of memory. */
static int32_t intern_state(gmatch_ctx *c) {
    if (c->nout == 0) return 0;
    if (c->nout > 1) qsort(c->out, (size_t)c->nout, sizeof *c->out, cmp_i32);
    int32_t n = 1;
    for (int32_t i = 1; i < c->nout; i++) if (c->out[i] != c->out[n - 1]) c->out[n++] = c->out[i];
    if (2 * (c->nst + 1) > c->hcap_st && !grow_state_hash(c)) return -1;
    uint64_t h = hash_set(c->out, n);
    int32_t j = (int32_t)(h & (uint64_t)(c->hcap_st - 1));
    while (c->sthash[j] >= 0) {
        const state *s = &c->st[c->sthash[j]];
        if (s->n == n && memcmp(c->pool + s->first, c->out, sizeof *c->out * (size_t)n) == 0) return c->sthash[j];
        j = (j + 1) & (c->hcap_st - 1);
    }
    if (c->nst == c->cap_st) {
        int32_t cap = 2 * c->cap_st;
        state *s = realloc(c->st, sizeof *s * (size_t)cap);
        if (!s) return -1;
        c->st = s;
        c->cap_st = cap;
    }
    if (c->npool + n > c->cap_pool) {
        int64_t cap = 2 * c->cap_pool;
        while (cap < c->npool + n) cap *= 2;
        int32_t *p = realloc(c->pool, sizeof *p * (size_t)cap);
        if (!p) return -1;
        c->pool = p;
        c->cap_pool = cap;
    }
    memcpy(c->pool + c->npool, c->out, sizeof *c->out * (size_t)n);
    state *s = &c->st[c->nst];
    memset(s, 0, sizeof *s);
    s->first = (int32_t)c->npool;
    s->n = n;
    s->complete = c->out[0] == 0;           /* sorted: the empty stack is first */
    c->npool += n;
    c->sthash[j] = c->nst;
    return c->nst++;
}

static bool out_push(gmatch_ctx *c, int32_t id) {
    if (c->nout == c->cap_out) {
        int32_t cap = c->cap_out ? 2 * c->cap_out : 64;
        int32_t *o = realloc(c->out, sizeof *o * (size_t)cap);
        if (!o) return false;
        c->out = o;
        c->cap_out = cap;
    }
    c->out[c->nout++] = id;
    return true;
}

/* Adds to out the stacks reached from position pos over `below` without
 * reading a byte: each has a byte-set element on top, or is empty. */
static bool closure(gmatch_ctx *c, int32_t pos, int32_t below) {
    const gram *g = c->g;
    for (;;) {
        gram_el e = g->el[pos];
        if (e.type == GEL_BYTES) {
            int32_t s = intern_stack(c, pos, below);
            return s >= 0 && out_push(c, s);
        }
        if (e.type == GEL_END) {
            if (below == 0) return out_push(c, 0);
            pos = c->spos[below];
            below = c->sbelow[below];
            continue;
        }
        int32_t nb = below;
        if (g->el[pos + 1].type != GEL_END && (nb = intern_stack(c, pos + 1, below)) < 0) return false;
        for (int32_t a = g->rule_alt[e.arg]; a < g->rule_alt[e.arg + 1]; a++)
            if (!closure(c, g->alt[a], nb)) return false;
        return true;
    }
}

/* The state after byte b, or 0 (dead), or -1 (out of memory). Rows are
 * per byte class (bytes the grammar cannot tell apart go the same way): a
 * few cache lines per state instead of 1 KB, which the mask's walk reads
 * for every child it tests. */
int32_t gmatch_advance(gmatch_ctx *c, int32_t sid, uint8_t b) {
    if (sid == 0) return 0;
    state *s = &c->st[sid];
    int32_t cl = c->cls[b];
    if (s->trans && s->trans[cl] >= 0) return s->trans[cl];
    c->nout = 0;
    int32_t first = s->first, n = s->n;
    for (int32_t i = 0; i < n; i++) {
        int32_t k = c->pool[first + i];
        if (k == 0) continue;
        int32_t pos = c->spos[k];
        if (gram_set_has(c->g, c->g->el[pos].arg, b) && !closure(c, pos + 1, c->sbelow[k])) return -1;
    }
    int32_t r = intern_state(c);
    if (r < 0) return -1;
    s = &c->st[sid];                        /* intern may have moved st */
    if (!s->trans && c->cached_bytes < CACHE_BUDGET) {
        if ((s->trans = malloc(sizeof *s->trans * (size_t)c->nrep))) {
            memset(s->trans, 0xff, sizeof *s->trans * (size_t)c->nrep);
            c->cached_bytes += (int64_t)sizeof *s->trans * c->nrep;
        }
    }
    if (s->trans) s->trans[cl] = r;
    return r;
}

/* ---- ctx --------------------------------------------------------------------- */

static gmatch_ctx *ctx_create(gram *g, gmatch_vocab *v, bool exact, double budget_ms) {
    gmatch_ctx *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->refs = 1;
    c->g = gram_ref(g);
    c->v = gmatch_vocab_ref(v);
    c->words = (v->n + 63) / 64;
    c->cap_s = 1024;
    c->spos = malloc(sizeof *c->spos * (size_t)c->cap_s);
    c->sbelow = malloc(sizeof *c->sbelow * (size_t)c->cap_s);
    c->cap_st = 256;
    c->st = calloc((size_t)c->cap_st, sizeof *c->st);
    c->cap_pool = 4096;
    c->pool = malloc(sizeof *c->pool * (size_t)c->cap_pool);
    c->tmp_state = -1;
    if (!c->spos || !c->sbelow || !c->st || !c->pool || !grow_stack_hash(c) || !grow_state_hash(c)) goto fail;
    c->spos[0] = -1;                        /* the empty stack */
    c->sbelow[0] = -1;
    c->ns = 1;
    c->nst = 1;                             /* state 0: dead */
    c->nout = 0;
    for (int32_t a = g->rule_alt[g->root]; a < g->rule_alt[g->root + 1]; a++)
        if (!closure(c, g->alt[a], 0)) goto fail;
    if ((c->start = intern_state(c)) < 0) goto fail;
    gmatch_byte_classes(c);                 /* before any advance: rows are per class */
    c->exact = exact;
    if (!exact) gmatch_precompute(c, budget_ms);   /* the plain walk has no use for the probes */
    return c;
fail:
    gmatch_ctx_destroy(c);
    return NULL;
}

gmatch_ctx *gmatch_ctx_create(gram *g, gmatch_vocab *v) { return ctx_create(g, v, false, GMATCH_PRECOMPUTE_MS); }
gmatch_ctx *gmatch_ctx_create_budget(gram *g, gmatch_vocab *v, double budget_ms) {
    return ctx_create(g, v, false, budget_ms);
}
gmatch_ctx *gmatch_ctx_create_exact(gram *g, gmatch_vocab *v) { return ctx_create(g, v, true, 0); }

gmatch_ctx *gmatch_ctx_ref(gmatch_ctx *c) {
    if (c) c->refs++;
    return c;
}

void gmatch_ctx_destroy(gmatch_ctx *c) {
    if (!c || --c->refs > 0) return;
    for (int32_t i = 0; i < c->nst; i++) { free(c->st[i].trans); free(c->st[i].mask); }
    free(c->st);
    free(c->pool);
    free(c->sthash);
    free(c->shash);
    free(c->spos);
    free(c->sbelow);
    free(c->out);
    free(c->walk);
    free(c->sm);
    free(c->smhash);
    free(c->spool);
    free(c->rec);
    free(c->tmp_mask);
    free(c->lay);
    free(c->lay_off);
    gram_unref(c->g);
    gmatch_vocab_unref(c->v);
    free(c);
}

const gram *gmatch_ctx_gram(const gmatch_ctx *c) { return c->g; }
gmatch_vocab *gmatch_ctx_vocab(const gmatch_ctx *c) { return c->v; }

void gmatch_ctx_stats(const gmatch_ctx *c, int64_t *states, int64_t *masks, int64_t *bytes) {
    int64_t m = 0;
    for (int32_t i = 0; i < c->nst; i++) m += c->st[i].mask != NULL;
    *states = c->nst - 1;
    *masks = m;
    *bytes = c->cached_bytes;
}

/* Set bits of m[0 .. n): without -mpopcnt the builtin is a library call per
 * word (~2000 at 128256 tokens); with the SIMD kernels on, the CPU has the
 * instruction. */
#if defined(__x86_64__)
__attribute__((target("popcnt"))) static int32_t popcount_hw(const uint64_t *m, int32_t n) {
    int64_t k = 0;
    for (int32_t w = 0; w < n; w++) k += __builtin_popcountll(m[w]);
    return (int32_t)k;
}
#endif

static int32_t popcount_words(const uint64_t *m, int32_t n) {
#if defined(__x86_64__)
    if (vd_isa() >= VD_AVX2) return popcount_hw(m, n);
#endif
    int64_t k = 0;
    for (int32_t w = 0; w < n; w++) k += __builtin_popcountll(m[w]);
    return (int32_t)k;
}

static bool walk_push(gmatch_ctx *c, int32_t *qt, int32_t kid, int32_t n, int32_t state, int32_t tag) {
    if (*qt == c->cap_walk) {
        int32_t cap = c->cap_walk ? 2 * c->cap_walk : 1024;
        wrun *w = realloc(c->walk, sizeof *w * (size_t)cap);
        if (!w) return false;
        c->walk = w;
        c->cap_walk = cap;
    }
    c->walk[(*qt)++] = (wrun){ kid, n, state, tag };
    return true;
}

/* The mask of state sid: one walk of the prefix tree. */
static const uint64_t *state_mask(gmatch_ctx *c, int32_t sid) {
    if (c->st[sid].mask) return c->st[sid].mask;
    if (sid == c->tmp_state) return c->tmp_mask;
    bool keep = c->cached_bytes < CACHE_BUDGET;
    uint64_t *m = keep ? calloc((size_t)c->words, 8) : c->tmp_mask;
    if (!keep) {
        if (!m && !(m = c->tmp_mask = malloc((size_t)c->words * 8))) return NULL;
        memset(m, 0, (size_t)c->words * 8);
    }
    if (!m) return NULL;
    const gmatch_vocab *v = c->v;
    int32_t count = 0;
    if (sid != 0) {
        /* the probe (see "bulk acceptance"): every string of at most `alive` characters
         * of x's bytes lives; none of more than `dead` does */
        uint64_t x = 0, xd = 0;
        int32_t alive = 0, dead = 0;
        bool endkill = false;
        if (!c->exact) {
            bool oom = false;
            x = gmatch_state_groups(c, sid, &oom);
            if (oom) { if (keep) free(m); return NULL; }
            uint64_t dg = 0;
            bool cut;
            if (x && !gmatch_probe_memo(c, sid, x, v->max_chars, 0, &alive, &dead, &dg, &endkill, &cut)) x = 0;
            if (x && cut) {                 /* a cycle cut the chain short: the exact probe */
                dg = 0;
                endkill = false;
                if (!gmatch_probe_chars(c, sid, x, v->probe_cap, &alive, &dead)) x = 0;
            }
            xd = x | dg;
            if (x && !gmatch_vocab_or_slice(c->v, m, x, alive)) { if (keep) free(m); return NULL; }
        }
        /* the live nodes' runs of children, first in first out: a run is
         * prefetched when it is queued and read when its turn comes, so the
         * cache misses of many runs overlap instead of following each other */
        int32_t qh = 0, qt = 0;
        const int16_t *cls = c->cls;
        /* when every subtree that fits xd is settled by the rules below (each of
         * its pieces is short enough, or the chain's end kills them all at their
         * first byte), the walk needs the other nodes alone: the spine */
        const gspine *sp = NULL;
        if (x && (alive >= v->max_chars || (alive == dead && endkill))) sp = gmatch_vocab_spine(c->v, xd);
        if (!walk_push(c, &qt, 0, sp ? sp->nroot : v->nroot, sid, -1)) { if (keep) free(m); return NULL; }
        int32_t nsm0 = c->nsm;
        c->nrec = 0;
        bool memo_on = x != 0 && c->cached_bytes < CACHE_BUDGET;
        while (qh < qt) {
            wrun r = c->walk[qh++];
            const int32_t *row = c->st[r.state].trans;
            for (int32_t j = r.kid, e = r.kid + r.n; j < e; j++) {
                int32_t t;
                uint8_t b = sp ? sp->byte[j] : v->kbyte[j];
                /* a dead byte first: most children of a live node are */
                if (!row || (t = row[cls[b]]) < 0) {
                    if ((t = gmatch_advance(c, r.state, b)) < 0) { gmatch_memo_drop(c, nsm0); if (keep) free(m); return NULL; }
                    row = c->st[r.state].trans;
                }
                if (t == 0) continue;
                int32_t i, tok, ntok, kid, nkid;
                if (sp) {                   /* a spine node: nothing below it fits */
                    const snode *q = &sp->nd[j];
                    i = q->node, tok = q->tok, ntok = q->ntok, kid = q->kid, nkid = q->nkid;
                } else {
                    const gnode *n = &v->node[j];
                    uint64_t sg = n->sig;
                    /* all pieces below fit x: each is in the bitset or dead (a piece ending inside
                     * a character just past `dead` characters may live: walked) */
                    if (x && gmatch_fits(sg, xd) && n->nmax <= alive) continue;   /* x-pieces are in the bitset, the others die at a D byte */
                    /* alive == dead: an x-piece longer than that is dead, and a D byte after k
                     * x-characters meets the chain's state s_k, k <= dead, which D kills (or
                     * one past `dead`, dead already); a partial last character past `dead`
                     * may live unless the chain's end kills every x byte (endkill) */
                    if (x && gmatch_fits(sg, xd) && alive == dead && (!(sg & PARTIAL_BIT) || endkill)) continue;
                    i = j, tok = n->tok, ntok = n->ntok, kid = n->kid, nkid = n->nkid;
                }
                if (ntok == 1) {
                    m[tok >> 6] |= 1ULL << (tok & 63);
                    if (r.tag >= 0 && !gmatch_memo_rec(c, r.tag, tok)) { gmatch_memo_drop(c, nsm0); if (keep) free(m); return NULL; }
                } else
                    for (int32_t k = 0; k < ntok; k++) {
                        int32_t id = v->sorted[tok + k];
                        m[id >> 6] |= 1ULL << (id & 63);
                        if (r.tag >= 0 && !gmatch_memo_rec(c, r.tag, id)) { gmatch_memo_drop(c, nsm0); if (keep) free(m); return NULL; }
                    }
                if (!nkid) continue;
                int32_t tag = r.tag;
                /* below a byte outside x and the dead groups (a string's closing
                 * quote) no subtree fits x, so the walk there is the plain walk
                 * from state t: its tokens are the same for every state of the
                 * string that reaches (node, t) and are remembered */
                if (tag < 0 && memo_on && nkid >= GMATCH_MEMO_MIN_KIDS && !(xd >> c->rep_grp[cls[b]] & 1)) {
                    int32_t f = gmatch_memo_find(c, i, t);
                    if (f >= 0) {
                        const int32_t *ids = c->spool + c->sm[f].off;
                        for (int32_t k = 0; k < c->sm[f].n; k++) m[ids[k] >> 6] |= 1ULL << (ids[k] & 63);
                        continue;
                    }
                    tag = gmatch_memo_new(c, i, t);        /* -1: out of memory, walked unremembered */
                }
                if (sp) {
                    __builtin_prefetch(&sp->byte[kid]);
                    __builtin_prefetch(&sp->nd[kid]);
                } else {
                    __builtin_prefetch(&v->kbyte[kid]);
                    __builtin_prefetch(&v->node[kid]);
                }
                if (!walk_push(c, &qt, kid, nkid, t, tag)) { gmatch_memo_drop(c, nsm0); if (keep) free(m); return NULL; }
            }
        }
        if (!gmatch_memo_finish(c, nsm0)) { if (keep) free(m); return NULL; }
        if (c->st[sid].complete) {
            if (v->eos >= 0 && v->eos < v->n) m[v->eos >> 6] |= 1ULL << (v->eos & 63);
            if (v->eot >= 0 && v->eot < v->n) m[v->eot >> 6] |= 1ULL << (v->eot & 63);
        }
        count = popcount_words(m, c->words);
    }
    c->st[sid].count = count;
    if (keep) {
        c->st[sid].mask = m;
        c->cached_bytes += (int64_t)c->words * 8;
    } else {
        c->tmp_state = sid;
    }
    return m;
}

/* ---- matchers --------------------------------------------------------------- */

struct gmatch {
    gmatch_ctx *c;
    int32_t *hist;          /* (n + 1) state after each accepted token; 0 after eos */
    int32_t n, cap;
};

gmatch *gmatch_create(gmatch_ctx *c) {
    gmatch *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->cap = 64;
    if (!(m->hist = malloc(sizeof *m->hist * (size_t)m->cap))) { free(m); return NULL; }
    m->c = gmatch_ctx_ref(c);
    m->hist[0] = c->start;
    return m;
}

void gmatch_destroy(gmatch *m) {
    if (!m) return;
    gmatch_ctx_destroy(m->c);
    free(m->hist);
    free(m);
}

gmatch *gmatch_clone(const gmatch *m) {
    gmatch *k = calloc(1, sizeof *k);
    if (!k) return NULL;
    k->cap = m->cap;
    if (!(k->hist = malloc(sizeof *k->hist * (size_t)k->cap))) { free(k); return NULL; }
    memcpy(k->hist, m->hist, sizeof *k->hist * (size_t)(m->n + 1));
    k->n = m->n;
    k->c = gmatch_ctx_ref(m->c);
    return k;
}

gmatch_ctx *gmatch_ctx_of(const gmatch *m) { return m->c; }
static int32_t cur(const gmatch *m) { return m->hist[m->n]; }

const uint64_t *gmatch_mask(gmatch *m) { return state_mask(m->c, cur(m)); }

bool gmatch_allowed(gmatch *m, int32_t tok) {
    if (tok < 0 || tok >= m->c->v->n) return false;
    const uint64_t *b = gmatch_mask(m);
    return b && (b[tok >> 6] >> (tok & 63) & 1);
}

int32_t gmatch_count(gmatch *m) {
    if (!gmatch_mask(m)) return 0;
    return m->c->st[cur(m)].count;
}

static int push(gmatch *m, int32_t s) {
    if (m->n + 2 > m->cap) {
        int32_t cap = 2 * m->cap;
        int32_t *h = realloc(m->hist, sizeof *h * (size_t)cap);
        if (!h) return GMATCH_ENOMEM;
        m->hist = h;
        m->cap = cap;
    }
    m->hist[++m->n] = s;
    return GMATCH_OK;
}

/* State after bytes s[n] from sid; 0 dead, -1 out of memory. */
static int32_t walk_bytes(gmatch_ctx *c, int32_t sid, const char *s, size_t n) {
    for (size_t i = 0; i < n && sid > 0; i++) sid = gmatch_advance(c, sid, (uint8_t)s[i]);
    return sid;
}

int gmatch_accept(gmatch *m, int32_t tok) {
    const gmatch_vocab *v = m->c->v;
    if (tok < 0 || tok >= v->n || cur(m) == 0) return GMATCH_EREJECT;
    if (tok == v->eos || tok == v->eot) {
        if (!m->c->st[cur(m)].complete) return GMATCH_EREJECT;
        return push(m, 0);
    }
    size_t len;
    const char *p = gmatch_vocab_piece(v, tok, &len);
    if (len == 0) return GMATCH_EREJECT;
    int32_t s = walk_bytes(m->c, cur(m), p, len);
    if (s < 0) return GMATCH_ENOMEM;
    if (s == 0) return GMATCH_EREJECT;
    return push(m, s);
}

int gmatch_accept_bytes(gmatch *m, const char *s, size_t n) {
    if (cur(m) == 0) return GMATCH_EREJECT;
    int32_t t = walk_bytes(m->c, cur(m), s, n);
    if (t < 0) return GMATCH_ENOMEM;
    if (t == 0) return GMATCH_EREJECT;
    return push(m, t);
}

bool gmatch_complete(const gmatch *m) { return cur(m) != 0 && m->c->st[cur(m)].complete; }
bool gmatch_finished(const gmatch *m) { return m->n > 0 && cur(m) == 0; }
int32_t gmatch_n(const gmatch *m) { return m->n; }

int gmatch_rewind(gmatch *m, int32_t n) {
    if (n < 0 || n > m->n) return GMATCH_EREJECT;
    m->n = n;
    return GMATCH_OK;
}

void gmatch_reset(gmatch *m) { m->n = 0; }

/* ---- the sampler stage ------------------------------------------------------ */

typedef struct gstage {
    gmatch *own;            /* owned, or NULL */
    gmatch *bound;          /* borrowed per-sequence matcher, or NULL */
    bool armed;             /* applied at least once since the last reset */
} gstage;

/* Whether the candidates at the allowed ids hold exactly those ids (so
 * data[id] is token id for every id the mask keeps). */
static bool identity(const smp_cands *c, const uint64_t *b, int32_t words) {
    for (int32_t w = 0; w < words; w++)
        for (uint64_t x = b[w]; x; x &= x - 1) {
            int32_t id = w * 64 + __builtin_ctzll(x);
            if (id >= c->n || c->data[id].id != id) return false;
        }
    return true;
}

#if defined(__x86_64__)
#include <immintrin.h>
/* keep_dense for 16 ids at a time: the mask's 16 bits are the compress
 * mask (compress in a register, then a full store: compressing into memory
 * is slow on some CPUs; the lanes past k are overwritten later or past n). */
__attribute__((target("avx512f,popcnt"))) static int32_t
keep_dense_avx512(const uint64_t *b, int32_t *id, float *L, float *P, int32_t n, int32_t *pi) {
    int32_t k = 0, i = 0;
    __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (; i + 16 <= n; i += 16) {
        __mmask16 m = (__mmask16)(b[i >> 6] >> (i & 63));
        if (m == 0xffff && k == i) { /* nothing dropped yet: only the ids to write */
            _mm512_storeu_si512(id + i, _mm512_add_epi32(iota, _mm512_set1_epi32(i)));
            k += 16;
            continue;
        }
        if (!m) continue;
        _mm512_storeu_si512(id + k, _mm512_maskz_compress_epi32(m, _mm512_add_epi32(iota, _mm512_set1_epi32(i))));
        _mm512_storeu_ps(L + k, _mm512_maskz_compress_ps(m, _mm512_loadu_ps(L + i)));
        if (P) _mm512_storeu_ps(P + k, _mm512_maskz_compress_ps(m, _mm512_loadu_ps(P + i)));
        k += __builtin_popcount(m);
    }
    *pi = i;
    return k;
}
#endif

/* Keeps, in place and in order, the lazy candidates whose id the mask
 * allows (ids past nv never are); returns how many. A whole row (dense: id
 * i at i) reads the mask a word at a time, sixteen ids per step with
 * AVX-512; a subset looks each id up. */
static int32_t keep_columns(smp_cands *c, const uint64_t *b, int32_t nv) {
    smp_mass_own(c);                    /* the caller's row is never written (smp_cands_set_ref) */
    int32_t n = c->n, k = 0, i = 0, *id = c->col_id;
    float *L = c->col_logit, *P = c->has_p ? c->col_p : NULL;
    if (!c->dense) {
        for (; i < n; i++) {
            int32_t t = id[i];
            uint32_t keep = t >= 0 && t < nv ? (uint32_t)(b[t >> 6] >> (t & 63) & 1) : 0;
            id[k] = t;
            L[k] = L[i];
            if (P) P[k] = P[i];
            k += (int32_t)keep;
        }
        return k;
    }
    int32_t lim = n < nv ? n : nv;
#if defined(__x86_64__)
    if (vd_isa() >= VD_AVX512) k = keep_dense_avx512(b, id, L, P, lim, &i);
#endif
    for (; i < lim; i++) {
        if (!(i & 63) && i + 64 <= lim && !b[i >> 6]) { i += 63; continue; }   /* a word of none */
        id[k] = i;
        L[k] = L[i];
        if (P) P[k] = P[i];
        k += (int32_t)(b[i >> 6] >> (i & 63) & 1);
    }
    return k;
}

static int gstage_apply(smp *s, smp_cands *c) {
    gstage *g = s->ctx;
    gmatch *m = g->bound ? g->bound : g->own;
    if (!m) return SMP_OK;
    g->armed = true;
    const uint64_t *b = gmatch_mask(m);
    if (!b) return SMP_ENOMEM;
    int32_t n = 0, nv = m->c->v->n, allowed = m->c->st[cur(m)].count;
    double kept = 0;
    if (c->lazy) {
        /* the columns (the chain's first stage gets the whole row): no data[] to write */
        n = keep_columns(c, b, nv);
        if (n < c->n) c->dense = false;
        if (c->normalized) for (int32_t i = 0; i < n; i++) kept += c->col_p[i];
        c->n = n;
        c->selected = -1;
        if (n == 0) return SMP_EMASK;
        if (c->normalized) {
            if (kept > 0) for (int32_t i = 0; i < n; i++) c->col_p[i] = (float)(c->col_p[i] / kept);
            else c->normalized = false;
        }
        return SMP_OK;
    }
    if (c->n == nv && allowed < nv / 8 && identity(c, b, m->c->words)) {
        /* few allowed, ids in order (the chain's first stage): visit the set bits only */
        for (int32_t w = 0; w < m->c->words; w++)
            for (uint64_t x = b[w]; x; x &= x - 1) {
                int32_t id = w * 64 + __builtin_ctzll(x);
                if (id < c->n) c->data[n++] = c->data[id];
            }
    } else {
        /* branch-free compaction: write always, advance when allowed */
        for (int32_t i = 0; i < c->n; i++) {
            int32_t id = c->data[i].id;
            uint32_t keep = id >= 0 && id < nv ? (uint32_t)(b[id >> 6] >> (id & 63) & 1) : 0;
            c->data[n] = c->data[i];
            n += (int32_t)keep;
        }
    }
    if (c->normalized) for (int32_t i = 0; i < n; i++) kept += c->data[i].p;
    c->n = n;
    c->selected = -1;
    if (n == 0) return SMP_EMASK;
    if (c->normalized) {
        if (kept > 0) for (int32_t i = 0; i < n; i++) c->data[i].p = (float)(c->data[i].p / kept);
        else c->normalized = false;
    }
    return SMP_OK;
}

/* Tokens accepted before the first apply are the prompt: not grammar text. */
static void gstage_accept(smp *s, int32_t tok) {
    gstage *g = s->ctx;
    if (g->own && g->armed && !g->bound) (void)gmatch_accept(g->own, tok);
}

static void gstage_reset(smp *s) {
    gstage *g = s->ctx;
    if (g->own) gmatch_reset(g->own);
    g->armed = false;
}

static void gstage_destroy(smp *s) {
    gstage *g = s->ctx;
    gmatch_destroy(g->own);
    free(g);
}

static const smp_iface gstage_iface = { "grammar", gstage_apply, gstage_accept, gstage_reset, gstage_destroy };

smp *gmatch_smp_create(gmatch *m) {
    gstage *g = calloc(1, sizeof *g);
    if (!g) { gmatch_destroy(m); return NULL; }
    g->own = m;
    smp *s = smp_create(&gstage_iface, g);
    if (!s) { gmatch_destroy(m); free(g); return NULL; }
    s->columns = true;
    return s;
}

bool gmatch_smp_is(const smp *s) { return s && s->iface == &gstage_iface; }

void gmatch_smp_bind(smp *s, gmatch *m) {
    assert(gmatch_smp_is(s) && "gmatch_smp_bind: not a grammar stage");
    ((gstage *)s->ctx)->bound = m;
}

gmatch *gmatch_smp_matcher(smp *s) {
    if (!gmatch_smp_is(s)) return NULL;
    gstage *g = s->ctx;
    return g->bound ? g->bound : g->own;
}
