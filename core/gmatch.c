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
 * The vocabulary and its prefix tree are in gmatch_vocab.c.
 */
#include "gmatch.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "gmatch_impl.h"
#include "smp.h"

#define CACHE_BUDGET ((int64_t)768 << 20)

/* ---- interning ------------------------------------------------------------- */

typedef struct state {
    int32_t first, n;       /* stacks: pool[first .. first + n) */
    bool complete;
    int32_t *trans;         /* (256) next state, -1 unknown; NULL until used */
    uint64_t *mask;         /* (words) NULL until asked */
    int32_t count;          /* allowed tokens, when mask is set */
    /* the probe's result for groups px (see probe_memo), when pmemo == 1 */
    uint64_t px, pdead_groups;
    int32_t palive, pdead;
    int8_t pmemo;           /* 0 none, 1 known, 2 being computed */
    bool gx_known;          /* gx: the groups the probe tries (state_groups) */
    uint64_t gx;
} state;

struct gmatch_ctx {
    int refs;
    gram *g;
    gmatch_vocab *v;
    int32_t words;
    /* stacks */
    int32_t *spos, *sbelow;
    int32_t ns, cap_s;
    int32_t *shash;         /* (hcap_s) stack ids, -1 empty */
    int32_t hcap_s;
    /* states */
    state *st;
    int32_t nst, cap_st;
    int32_t *pool;
    int64_t npool, cap_pool;
    int32_t *sthash;
    int32_t hcap_st;
    int64_t cached_bytes;
    /* scratch */
    int32_t *out;
    int32_t nout, cap_out;
    int32_t *walk;          /* (max_depth + 1) */
    uint64_t *tmp_mask;     /* a mask computed past the budget */
    int32_t tmp_state;
    int32_t start;
    /* bulk acceptance */
    bool exact;             /* masks by the plain walk only */
    int32_t nrep;           /* byte classes: one representative each */
    uint8_t rep[256], rep_grp[256];
    int16_t cls[256];       /* a byte's class */
    int16_t cls_first[256]; /* the bytes of class k: cls_first[k], cls_next[...], ... -1 */
    int16_t cls_next[256];
    int64_t *lay;           /* probe layers: states */
    int32_t nlay, cap_lay;
    int32_t *lay_off;       /* (cap_off) start of each layer in lay */
    int32_t cap_off;
    int8_t rep_utf8[256][8];/* utf8_step(u, rep[k]) */
};

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

/* The state after byte b, or 0 (dead), or -1 (out of memory). */
static int32_t advance(gmatch_ctx *c, int32_t sid, uint8_t b) {
    if (sid == 0) return 0;
    state *s = &c->st[sid];
    if (s->trans && s->trans[b] >= 0) return s->trans[b];
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
        if ((s->trans = malloc(sizeof *s->trans * 256))) {
            memset(s->trans, 0xff, sizeof *s->trans * 256);
            c->cached_bytes += 1024;
        }
    }
    if (s->trans) {                         /* bytes the grammar cannot tell apart go the same way */
        if (c->nrep) for (int32_t k = c->cls_first[c->cls[b]]; k >= 0; k = c->cls_next[k]) s->trans[k] = r;
        else s->trans[b] = r;
    }
    return r;
}

/* ---- bulk acceptance ----------------------------------------------------------
 * The plain mask of a state walks every live node of the prefix tree; inside
 * a free string that is nearly the whole vocabulary, and a counted
 * repetition (a string's maxLength, a number's digits) makes a new state at
 * every step, so each step paid a whole walk the first time. Instead, before
 * the walk a probe finds a set of byte groups x and a length L such that
 * every valid-UTF-8 prefix made of x's bytes and at most L bytes long is a
 * live continuation of the state (checked exhaustively: breadth first over
 * (state, UTF-8 progress) pairs, one byte per class of bytes the grammar
 * cannot tell apart). Every token whose piece fits x and is at most L long
 * is then allowed without being walked: the mask starts as the cached
 * bitset of those tokens, and the walk skips each subtree of the prefix tree
 * whose pieces all fit (the tree keeps per node the groups and the longest
 * piece below it). For ASCII groups the probe also finds the length past
 * which every such string is dead, so a subtree of ASCII pieces is settled
 * by length alone. Only the rest (pieces with a quote, a backslash, a
 * newline, ... ) is walked. The result is exactly the plain walk's mask; the
 * tests compare the two bit for bit (gmatch_ctx_set_exact).
 *
 * This is the same economy as the per-position precomputation of
 * context-independent tokens in XGrammar (Dong et al., "XGrammar: Flexible
 * and Efficient Structured Generation Engine for Large Language Models",
 * 2024) and llguidance's token "slices" (Moskal et al., 2024-2025): most
 * tokens are decided by a property of the position that is cheap to check,
 * and only the context-dependent rest is matched against the full stack.
 * It is done per state rather than per grammar element because a counted
 * repetition gives each element instance its own stack (a maxLength of 40
 * is 40 distinct rules), which a per-element table cannot share. */

#define INF_LEN INT32_MAX
#define PROBE_WORK 20000            /* advances per probe before giving up (no skipping) */

/* Bytes that every set of the grammar and the group table treat alike have
 * the same transitions from every state: one representative each (the probe
 * tries those), and advance fills a whole class at once. */
static void byte_classes(gmatch_ctx *c) {
    const gram *g = c->g;
    c->nrep = 0;
    for (int b = 0; b < 256; b++) {
        int32_t k;
        for (k = 0; k < c->nrep; k++) {
            uint8_t r = c->rep[k];
            if (gmatch_byte_group((uint8_t)b) != c->rep_grp[k]) continue;
            int32_t s;
            for (s = 0; s < g->n_set; s++) if (gram_set_has(g, s, (uint8_t)b) != gram_set_has(g, s, r)) break;
            if (s == g->n_set) break;
        }
        if (k == c->nrep) {
            c->rep[k] = (uint8_t)b;
            c->rep_grp[k] = (uint8_t)gmatch_byte_group((uint8_t)b);
            c->cls_first[k] = -1;
            c->nrep++;
        }
        c->cls[b] = (int16_t)k;
    }
    for (int32_t k = 0; k < c->nrep; k++)
        for (int u = 0; u < 8; u++) c->rep_utf8[k][u] = (int8_t)gmatch_utf8_step(u, c->rep[k]);
    for (int b = 255; b >= 0; b--) {        /* lists in increasing byte order */
        c->cls_next[b] = c->cls_first[c->cls[b]];
        c->cls_first[c->cls[b]] = (int16_t)b;
    }
}

static bool lay_push(gmatch_ctx *c, int64_t p) {
    if (c->nlay == c->cap_lay) {
        int32_t cap = c->cap_lay ? 2 * c->cap_lay : 256;
        int64_t *l = realloc(c->lay, sizeof *l * (size_t)cap);
        if (!l) return false;
        c->lay = l;
        c->cap_lay = cap;
    }
    c->lay[c->nlay++] = p;
    return true;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Every character made of x's bytes, from state t: adds the state after each
 * to the probe's next layer. *fail: one of them (or a prefix of one) is dead.
 * false: out of memory or past the work limit. */
static bool expand_chars(gmatch_ctx *c, int32_t t, int u, uint64_t x, int32_t *work, bool *fail) {
    for (int32_t k = 0; k < c->nrep; k++) {
        if (!(x >> c->rep_grp[k] & 1)) continue;
        int nu = c->rep_utf8[k][u];
        if (nu < 0) continue;
        if (++*work > PROBE_WORK) return false;
        int32_t n = advance(c, t, c->rep[k]);
        if (n < 0) return false;
        if (n == 0) { *fail = true; continue; }
        if (nu == 0) { if (!lay_push(c, n)) return false; }
        else if (!expand_chars(c, n, nu, x, work, fail)) return false;
    }
    return true;
}

/* Breadth first over characters from state sid: layer d holds the states
 * that the strings of d characters of x's bytes reach (whole layers: they
 * are a function of the previous one, so a repeat is a cycle and nothing new
 * follows). *alive = the most characters up to which every such string
 * lives (INF_LEN: all; cap when the probe stopped there), *dead = the count
 * past which none does (INF_LEN: some always live). false: out of memory or
 * past the work limit (then nothing may be concluded). */
static bool probe_chars(gmatch_ctx *c, int32_t sid, uint64_t x, int32_t cap, int32_t *alive, int32_t *dead) {
    *alive = *dead = INF_LEN;
    int32_t work = 0, nl = 1;
    c->nlay = 0;
    if (!lay_push(c, sid)) return false;
    if (c->cap_off < 2 && !(c->lay_off = realloc(c->lay_off, sizeof *c->lay_off * (size_t)(c->cap_off = 64)))) {
        c->cap_off = 0;
        return false;
    }
    c->lay_off[0] = 0;
    for (int32_t d = 0; d < cap; d++) {
        if (nl + 2 > c->cap_off) {
            int32_t ncap = 2 * c->cap_off;
            int32_t *o = realloc(c->lay_off, sizeof *o * (size_t)ncap);
            if (!o) return false;
            c->lay_off = o;
            c->cap_off = ncap;
        }
        int32_t a = c->lay_off[nl - 1], b = c->nlay;
        c->lay_off[nl] = b;
        bool fail = false;
        for (int32_t i = a; i < b; i++)
            if (!expand_chars(c, (int32_t)c->lay[i], 0, x, &work, &fail)) return false;
        if (fail && *alive == INF_LEN) *alive = d;
        int32_t e = c->nlay;
        if (e == b) { *dead = d; return true; }
        qsort(c->lay + b, (size_t)(e - b), sizeof *c->lay, cmp_i64);
        int32_t m = b + 1;
        for (int32_t i = b + 1; i < e; i++) if (c->lay[i] != c->lay[m - 1]) c->lay[m++] = c->lay[i];
        c->nlay = m;
        nl++;
        for (int32_t p = 0; p + 1 < nl; p++)
            if (c->lay_off[p + 1] - c->lay_off[p] == m - b &&
                memcmp(c->lay + c->lay_off[p], c->lay + b, sizeof *c->lay * (size_t)(m - b)) == 0)
                return true;
    }
    if (*alive == INF_LEN) *alive = cap;
    return true;
}

/* The groups to try: those whose every character keeps the state alive
 * and, for ASCII, still allows every other such ASCII byte after it (a
 * quote that closes a string does not: it leaves the loop). Non-ASCII
 * groups come all together (every lead with every continuation range) or
 * not at all, so any prefix of a character of x extends to one of x. A
 * heuristic: the probe checks whatever it picks. */
static uint64_t probe_groups(gmatch_ctx *c, int32_t sid, bool *oom) {
    uint64_t x = ASCII_GROUPS | HIGH_GROUPS;
    for (int32_t k = 0; k < c->nrep; k++) {
        int nu = c->rep_utf8[k][0];
        if (nu < 0) continue;
        int32_t n = advance(c, sid, c->rep[k]);
        if (n < 0) { *oom = true; return 0; }
        if (n == 0) { x &= ~(1ULL << c->rep_grp[k]); continue; }
        if (nu == 0) continue;
        int32_t work = 0, save = c->nlay;
        bool fail = false;
        if (!expand_chars(c, n, nu, HIGH_GROUPS, &work, &fail)) { *oom = true; return 0; }
        c->nlay = save;
        if (fail) x &= ~(1ULL << c->rep_grp[k]);
    }
    if ((x & HIGH_GROUPS) != HIGH_GROUPS) x &= ASCII_GROUPS;
    uint64_t keep = x;
    for (int32_t k = 0; k < c->nrep; k++) {
        if (c->rep[k] >= 0x80 || !(x >> c->rep_grp[k] & 1)) continue;
        int32_t n = advance(c, sid, c->rep[k]);
        for (int32_t j = 0; j < c->nrep && n > 0; j++) {
            if (c->rep[j] >= 0x80 || !(x >> c->rep_grp[j] & 1)) continue;
            int32_t n2 = advance(c, n, c->rep[j]);
            if (n2 < 0) { *oom = true; return 0; }
            if (n2 == 0) { keep &= ~(1ULL << c->rep_grp[k]); break; }
        }
        if (n < 0) { *oom = true; return 0; }
    }
    return keep;
}

/* ASCII groups outside x every byte of which kills state sid. */
static uint64_t dead_groups(gmatch_ctx *c, int32_t sid, uint64_t x, bool *oom) {
    uint64_t live = 0, seen = 0;
    for (int32_t k = 0; k < c->nrep; k++) {
        if (c->rep[k] >= 0x80 || (x >> c->rep_grp[k] & 1)) continue;
        int32_t n = advance(c, sid, c->rep[k]);
        if (n < 0) { *oom = true; return 0; }
        seen |= 1ULL << c->rep_grp[k];
        if (n > 0) live |= 1ULL << c->rep_grp[k];
    }
    return seen & ~live;
}

/* The probe of state sid for groups x, remembered per state, and its
 * ASCII "dead groups" D: every byte of D kills every state that a string
 * of fewer than *alive characters of x reaches, so a piece made of x and D
 * is either an x-piece (decided by length) or dies at its first D byte.
 *
 * Inside a string every character of x leads to one next state (the
 * counter of a maxLength moves on), so the probe of a state is one
 * character plus the probe of that next state: alive(s) = 1 + alive(s1)
 * (capped), dead(s) = 1 + dead(s1), D(s) = D0(s) & D(s1). The chain is
 * followed to its end once and every state on it remembers its result, so
 * the next states of a string cost one character's expansion, not `cap`
 * layers. Anything else (several next states, a cycle through other
 * states) falls back to the breadth-first probe_chars, with D empty. The
 * result may only be more cautious than the exact one (alive smaller,
 * dead larger, D smaller): dead == INF_LEN turns the length rule off.
 * The chain is followed as far as the vocabulary's longest piece (cap), while
 * the breadth-first probe, which pays for every layer, stops at probe_cap.
 * depth counts the characters followed; past 2 * cap the values are cut
 * (alive too small, not remembered unless it reached cap anyway).
 * false: out of memory or past the work limit. */
static bool probe_memo(gmatch_ctx *c, int32_t sid, uint64_t x, int32_t cap, int32_t depth,
                       int32_t *alive, int32_t *dead, uint64_t *dg, bool *cut) {
    state *st = &c->st[sid];
    *cut = false;
    if (st->pmemo == 1 && st->px == x) {
        *alive = st->palive;
        *dead = st->pdead;
        *dg = st->pdead_groups;
        return true;
    }
    if (depth >= 2 * cap || st->pmemo == 2) {   /* too deep, or a cycle: nothing known */
        *alive = 0;
        *dead = INF_LEN;
        *dg = ASCII_GROUPS;
        *cut = true;
        return true;
    }
    bool oom = false;
    uint64_t d0 = dead_groups(c, sid, x, &oom);
    if (oom) return false;
    int32_t work = 0, save = c->nlay;
    bool fail = false;
    if (!expand_chars(c, sid, 0, x, &work, &fail)) { c->nlay = save; return false; }
    int32_t n1 = -1;
    bool single = true;
    for (int32_t i = save; i < c->nlay; i++) {
        if (n1 < 0) n1 = (int32_t)c->lay[i];
        else if (c->lay[i] != n1) { single = false; break; }
    }
    c->nlay = save;
    int32_t a, d;
    uint64_t g;
    bool cutn = false;
    if (fail) {                             /* some character of x kills sid */
        a = 0;
        d = n1 < 0 ? 0 : INF_LEN;
        g = d0;
    } else if (n1 < 0) {                    /* x has no character: nothing to learn */
        a = 0;
        d = INF_LEN;
        g = 0;
    } else if (single && n1 == sid) {       /* a loop: every string of x lives */
        a = d = INF_LEN;
        g = d0;
    } else if (single) {
        int32_t a1, d1;
        uint64_t g1;
        c->st[sid].pmemo = 2;
        bool ok = probe_memo(c, n1, x, cap, depth + 1, &a1, &d1, &g1, &cutn);
        st = &c->st[sid];
        st->pmemo = 0;
        if (!ok) return false;
        a = a1 == INF_LEN ? INF_LEN : (1 + a1 < cap ? 1 + a1 : cap);
        d = d1 == INF_LEN ? INF_LEN : 1 + d1;
        g = d0 & g1;
        if (cutn && a >= cap) cutn = false; /* capped anyway: exact as far as it is used */
    } else {
        if (!probe_chars(c, sid, x, c->v->probe_cap, &a, &d)) return false;
        g = 0;
    }
    *alive = a;
    *dead = d;
    *dg = g;
    *cut = cutn;
    if (!cutn) {
        st = &c->st[sid];
        st->px = x;
        st->palive = a;
        st->pdead = d;
        st->pdead_groups = g;
        st->pmemo = 1;
    }
    return true;
}

/* The groups the probe of sid tries (probe_groups), remembered; 0 when
 * not worth it: when a group most pieces use is out, x covers few tokens. */
static uint64_t state_groups(gmatch_ctx *c, int32_t sid, bool *oom) {
    if (c->st[sid].gx_known) return c->st[sid].gx;
    uint64_t x = probe_groups(c, sid, oom);
    if (*oom) return 0;
    const gmatch_vocab *v = c->v;
    for (int g = 0; g < 53 && x; g++)
        if (!(x >> g & 1) && v->gcnt[g] > v->nsorted / 2) x = 0;
    c->st[sid].gx = x;
    c->st[sid].gx_known = true;
    return x;
}

void gmatch_ctx_set_exact(gmatch_ctx *c, bool exact) { c->exact = exact; }

/* ---- precomputation at bind time -------------------------------------------
 * A state's first mask used to pay for its byte transitions and those of
 * every state its probe looks through (inside a fresh JSON string: each
 * counter position of a maxLength, each half-read UTF-8 character, ~3000
 * transitions). Those depend on the grammar alone, and a schema's automaton
 * over byte classes is small (the tool-call schema: ~1600 states, ~120000
 * transitions, a few ms), so the ctx computes them breadth first from the
 * start when it is created, up to a budget; a grammar whose states do not
 * end (nested recursion) keeps the rest lazy. This moves work from the first
 * masks of a generation to compile time (XGrammar, Dong et al. 2024, does
 * the same with its per-position token tables). */
#define PRE_STATES 2048             /* states explored at bind time */

static void precompute(gmatch_ctx *c) {
    int32_t *q = malloc(sizeof *q * PRE_STATES);
    uint8_t *seen = calloc(PRE_STATES, 1);
    if (!q || !seen) { free(q); free(seen); return; }
    int32_t qh = 0, qt = 0;
    if (c->start > 0 && c->start < PRE_STATES) { q[qt++] = c->start; seen[c->start] = 1; }
    while (qh < qt) {
        int32_t s = q[qh++];
        for (int32_t k = 0; k < c->nrep; k++) {
            int32_t n = advance(c, s, c->rep[k]);
            if (n < 0) goto out;            /* out of memory: the rest stays lazy */
            if (n > 0 && n < PRE_STATES && !seen[n]) { seen[n] = 1; q[qt++] = n; }
        }
    }
    /* then each state's probe (the groups, the chain of a string) and the
     * vocabulary's token slices the probes will ask for */
    uint64_t *scratch = malloc((size_t)c->words * 8);
    if (!scratch) goto out;
    for (int32_t i = 0; i < qt; i++) {
        bool oom = false, cut;
        int32_t s = q[i], alive, dead;
        uint64_t dg, x = state_groups(c, s, &oom);
        if (oom) break;
        if (!x || !probe_memo(c, s, x, c->v->max_chars, 0, &alive, &dead, &dg, &cut)) continue;
        if (!cut && !gmatch_vocab_or_slice(c->v, scratch, x, alive)) break;
    }
    free(scratch);
out:
    free(q);
    free(seen);
}

/* ---- ctx --------------------------------------------------------------------- */

gmatch_ctx *gmatch_ctx_create(gram *g, gmatch_vocab *v) {
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
    c->walk = malloc(sizeof *c->walk * (size_t)(v->max_depth + 2));
    c->tmp_state = -1;
    if (!c->spos || !c->sbelow || !c->st || !c->pool || !c->walk || !grow_stack_hash(c) || !grow_state_hash(c)) goto fail;
    c->spos[0] = -1;                        /* the empty stack */
    c->sbelow[0] = -1;
    c->ns = 1;
    c->nst = 1;                             /* state 0: dead */
    c->nout = 0;
    for (int32_t a = g->rule_alt[g->root]; a < g->rule_alt[g->root + 1]; a++)
        if (!closure(c, g->alt[a], 0)) goto fail;
    if ((c->start = intern_state(c)) < 0) goto fail;
    byte_classes(c);
    precompute(c);
    return c;
fail:
    gmatch_ctx_destroy(c);
    return NULL;
}

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

/* The mask of state sid: one preorder walk of the prefix tree. */
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
    int32_t *walk = c->walk;
    int32_t count = 0;
    walk[0] = sid;
    if (sid != 0) {
        /* the probe (see "bulk acceptance"): every string of at most `alive` characters
         * of x's bytes lives; none of more than `dead` does */
        uint64_t x = 0, xd = 0;
        int32_t alive = 0, dead = 0;
        if (!c->exact) {
            bool oom = false;
            x = state_groups(c, sid, &oom);
            if (oom) { if (keep) free(m); return NULL; }
            uint64_t dg = 0;
            bool cut;
            if (x && !probe_memo(c, sid, x, v->max_chars, 0, &alive, &dead, &dg, &cut)) x = 0;
            if (x && cut) {                 /* a cycle cut the chain short: the exact probe */
                dg = 0;
                if (!probe_chars(c, sid, x, v->probe_cap, &alive, &dead)) x = 0;
            }
            xd = x | dg;
            if (x && !gmatch_vocab_or_slice(c->v, m, x, alive)) { if (keep) free(m); return NULL; }
        }
        for (int32_t i = 0; i < v->nn;) {
            int32_t d = v->ndepth[i];
            /* a dead byte first: most children of a live node are, and the test
             * reads less than the skip rule's */
            const int32_t *row = c->st[walk[d - 1]].trans;
            int32_t t = row && row[v->nbyte[i]] >= 0 ? row[v->nbyte[i]] : advance(c, walk[d - 1], v->nbyte[i]);
            if (t < 0) { if (keep) free(m); return NULL; }
            if (t == 0) { i = v->nend[i]; continue; }
            uint64_t sg = v->nsig[i];
            /* all pieces below fit x: each is in the bitset or dead (a piece ending inside
             * a character just past `dead` characters may live: walked) */
            if (x && gmatch_fits(sg, xd) && v->nmax[i] <= alive) {
                i = v->nend[i];             /* x-pieces are in the bitset, the others die at a D byte */
                continue;
            }
            if (x && gmatch_fits(sg, x) && alive == dead && !(sg & PARTIAL_BIT)) {
                i = v->nend[i];
                continue;
            }
            walk[d] = t;
            for (int32_t k = 0, j = v->ntok[i]; k < v->ntokn[i]; k++, j++) {
                int32_t id = v->sorted[j];
                m[id >> 6] |= 1ULL << (id & 63);
            }
            i++;
        }
        if (c->st[sid].complete) {
            if (v->eos >= 0 && v->eos < v->n) m[v->eos >> 6] |= 1ULL << (v->eos & 63);
            if (v->eot >= 0 && v->eot < v->n) m[v->eot >> 6] |= 1ULL << (v->eot & 63);
        }
        for (int32_t w = 0; w < c->words; w++) count += __builtin_popcountll(m[w]);
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
    for (size_t i = 0; i < n && sid > 0; i++) sid = advance(c, sid, (uint8_t)s[i]);
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

static int gstage_apply(smp *s, smp_cands *c) {
    gstage *g = s->ctx;
    gmatch *m = g->bound ? g->bound : g->own;
    if (!m) return SMP_OK;
    g->armed = true;
    const uint64_t *b = gmatch_mask(m);
    if (!b) return SMP_ENOMEM;
    int32_t n = 0, nv = m->c->v->n, allowed = m->c->st[cur(m)].count;
    double kept = 0;
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
    if (!s) { gmatch_destroy(m); free(g); }
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
