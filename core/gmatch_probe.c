/* gmatch_probe: the probe of a state for bulk acceptance and the ctx's
 * precomputation at bind time (see gmatch.c for states and masks). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gmatch_impl.h"

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

#define PROBE_WORK 20000            /* advances per probe before giving up (no skipping) */

/* Bytes that every set of the grammar and the group table treat alike have
 * the same transitions from every state: one representative each (the probe
 * tries those), and a state's transition row has one entry per class. */
void gmatch_byte_classes(gmatch_ctx *c) {
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
            c->nrep++;
        }
        c->cls[b] = (int16_t)k;
    }
    for (int32_t k = 0; k < c->nrep; k++)
        for (int u = 0; u < 8; u++) c->rep_utf8[k][u] = (int8_t)gmatch_utf8_step(u, c->rep[k]);
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
        int32_t n = gmatch_advance(c, t, c->rep[k]);
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
bool gmatch_probe_chars(gmatch_ctx *c, int32_t sid, uint64_t x, int32_t cap, int32_t *alive, int32_t *dead) {
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
        int32_t n = gmatch_advance(c, sid, c->rep[k]);
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
        int32_t n = gmatch_advance(c, sid, c->rep[k]);
        for (int32_t j = 0; j < c->nrep && n > 0; j++) {
            if (c->rep[j] >= 0x80 || !(x >> c->rep_grp[j] & 1)) continue;
            int32_t n2 = gmatch_advance(c, n, c->rep[j]);
            if (n2 < 0) { *oom = true; return 0; }
            if (n2 == 0) { keep &= ~(1ULL << c->rep_grp[k]); break; }
        }
        if (n < 0) { *oom = true; return 0; }
    }
    if ((keep & ASCII_GROUPS) || !(x & ASCII_GROUPS)) return keep;
    /* no ASCII group keeps a second character alive: the last character of a
     * maxLength, after which only the closing quote may come. Then the
     * groups whose characters all lead to one state (the one most ASCII
     * characters lead to): the probe finds alive = dead = 1 there, and the
     * walk skips every subtree but those that hold a quote */
    int32_t nx[256], best = 0, most = 0;
    for (int32_t k = 0; k < c->nrep; k++) {
        nx[k] = 0;
        if (c->rep[k] >= 0x80 || !(x >> c->rep_grp[k] & 1)) continue;
        if ((nx[k] = gmatch_advance(c, sid, c->rep[k])) < 0) { *oom = true; return 0; }
    }
    for (int32_t k = 0; k < c->nrep; k++) {
        if (nx[k] <= 0) continue;
        int32_t cnt = 0;
        for (int32_t j = 0; j < c->nrep; j++) cnt += nx[j] == nx[k];
        if (cnt > most) { most = cnt; best = nx[k]; }
    }
    uint64_t one = 0, other = 0;
    for (int32_t k = 0; k < c->nrep; k++) {
        if (c->rep[k] >= 0x80 || !(x >> c->rep_grp[k] & 1)) continue;
        if (nx[k] == best) one |= 1ULL << c->rep_grp[k];
        else other |= 1ULL << c->rep_grp[k];
    }
    return (one & ~other) | (x & HIGH_GROUPS);
}

/* ASCII groups outside x every byte of which kills state sid. */
static uint64_t gmatch_dead_groups(gmatch_ctx *c, int32_t sid, uint64_t x, bool *oom) {
    uint64_t live = 0, seen = 0;
    for (int32_t k = 0; k < c->nrep; k++) {
        if (c->rep[k] >= 0x80 || (x >> c->rep_grp[k] & 1)) continue;
        int32_t n = gmatch_advance(c, sid, c->rep[k]);
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
 * When the chain ends where every character of x dies (*alive == *dead),
 * D also kills that last state: D is the intersection over the whole chain,
 * its end included, so a piece of x and D of any length is decided too.
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
bool gmatch_probe_memo(gmatch_ctx *c, int32_t sid, uint64_t x, int32_t cap, int32_t depth,
                       int32_t *alive, int32_t *dead, uint64_t *dg, bool *cut) {
    state *st = &c->st[sid];
    *cut = false;
    if (st->pmemo == 1 && st->px == x) {
        *alive = st->palive;
        *dead = st->pdead;
        *dg = st->pdead_groups;
        return true;
    }
    if (depth >= 2 * cap || st->pbusy) {    /* too deep, or a cycle: nothing known */
        *alive = 0;
        *dead = INF_LEN;
        *dg = ASCII_GROUPS;
        *cut = true;
        return true;
    }
    bool oom = false;
    uint64_t d0 = gmatch_dead_groups(c, sid, x, &oom);
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
        c->st[sid].pbusy = true;        /* apart from pmemo: a result with other groups stays */
        bool ok = gmatch_probe_memo(c, n1, x, cap, depth + 1, &a1, &d1, &g1, &cutn);
        st = &c->st[sid];
        st->pbusy = false;
        if (!ok) return false;
        a = a1 == INF_LEN ? INF_LEN : (1 + a1 < cap ? 1 + a1 : cap);
        d = d1 == INF_LEN ? INF_LEN : 1 + d1;
        g = d0 & g1;
        if (cutn && a >= cap) cutn = false; /* capped anyway: exact as far as it is used */
    } else {
        if (!gmatch_probe_chars(c, sid, x, c->v->probe_cap, &a, &d)) return false;
        g = 0;
    }
    *alive = a;
    *dead = d;
    *dg = g;
    *cut = cutn;
    st = &c->st[sid];
    /* one result per state: a probe with another state's groups (a \uXXXX
     * escape's hex digits reaching the string's state) must not replace
     * the state's own, which its every mask reads */
    if (!cutn && (st->pmemo != 1 || (st->gx_known && st->gx == x))) {
        st->px = x;
        st->palive = a;
        st->pdead = d;
        st->pdead_groups = g;
        st->pmemo = 1;
    }
    return true;
}

/* The groups the probe of sid tries (probe_groups), remembered; 0 when
 * not worth it: when a group most pieces use is out of x, x covers few
 * tokens and the walk must read most of the tree anyway. A group whose
 * every byte kills sid (the space inside a [a-z]{1,8} pattern string,
 * where most SPM pieces start with a space) does not count as out: the
 * walk drops a dead child at its first byte, and a piece made of x and
 * the chain's dead groups is settled without a walk (state_mask). */
uint64_t gmatch_state_groups(gmatch_ctx *c, int32_t sid, bool *oom) {
    if (c->st[sid].gx_known) return c->st[sid].gx;
    uint64_t x = probe_groups(c, sid, oom);
    if (*oom) return 0;
    const gmatch_vocab *v = c->v;
    uint64_t d0 = x ? gmatch_dead_groups(c, sid, x, oom) : 0;
    if (*oom) return 0;
    bool popular_in = false;
    for (int g = 0; g < 53 && x; g++) {
        if (v->gcnt[g] <= v->nsorted / 2) continue;
        if (x >> g & 1) popular_in = true;
        else if (!(d0 >> g & 1)) x = 0;
    }
    /* and x must hold a popular group: a slice of a few tokens (a state
     * between JSON values whose only x is the space) saves no walk, and
     * its bitsets would crowd the vocabulary's cache (N_LENBITS) */
    if (!popular_in) x = 0;
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

/* This thread's CPU time in ms: the budget is CPU time, so that a loaded
 * machine does not cut the precomputation short (nor a quiet one lengthen
 * it): what is precomputed depends on the grammar and the CPU alone. */
static double thread_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A state's transitions (and then its probe) cost from a microsecond to
 * milliseconds (a random GBNF whose states hold thousands of stacks: 2048
 * states took 6.4 s at 128256 tokens), so the budget is time, checked
 * before each state; what is left stays lazy and the masks are the same
 * (tests/test_gmatch_fast compares masks under budgets 0 and the default
 * with the plain walk). */
void gmatch_precompute(gmatch_ctx *c, double budget_ms) {
    if (!(budget_ms > 0)) return;
    double until = thread_ms() + budget_ms;
    int32_t *q = malloc(sizeof *q * PRE_STATES);
    uint8_t *seen = calloc(PRE_STATES, 1);
    if (!q || !seen) { free(q); free(seen); return; }
    int32_t qh = 0, qt = 0;
    if (c->start > 0 && c->start < PRE_STATES) { q[qt++] = c->start; seen[c->start] = 1; }
    while (qh < qt) {
        if (thread_ms() > until) { qt = qh; break; }  /* explored: q[0 .. qh) */
        int32_t s = q[qh++];
        for (int32_t k = 0; k < c->nrep; k++) {
            int32_t n = gmatch_advance(c, s, c->rep[k]);
            if (n < 0) goto out;            /* out of memory: the rest stays lazy */
            if (n > 0 && n < PRE_STATES && !seen[n]) { seen[n] = 1; q[qt++] = n; }
        }
    }
    /* then each state's probe (the groups, the chain of a string) and the
     * vocabulary's token slices the probes will ask for */
    uint64_t *scratch = malloc((size_t)c->words * 8);
    if (!scratch) goto out;
    for (int32_t i = 0; i < qt; i++) {
        if (thread_ms() > until) break;
        bool oom = false, cut;
        int32_t s = q[i], alive, dead;
        uint64_t dg, x = gmatch_state_groups(c, s, &oom);
        if (oom) break;
        if (!x || !gmatch_probe_memo(c, s, x, c->v->max_chars, 0, &alive, &dead, &dg, &cut)) continue;
        if (!cut && !gmatch_vocab_or_slice(c->v, scratch, x, alive)) break;
    }
    free(scratch);
out:
    free(q);
    free(seen);
}

