/* gmatch_impl.h: what gmatch.c (states, masks) and gmatch_vocab.c (the
 * vocabulary's prefix tree and token slices) share. Not a public header. */
#ifndef GMATCH_IMPL_H
#define GMATCH_IMPL_H
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "gmatch.h"

#define N_SLICES 16
#define N_LENBITS 64

/* Tokens whose signature fits a group set x, by characters: ids[0 .. upto[l])
 * are those of at most l characters. */
typedef struct slice {
    uint64_t x;
    int32_t *ids;
    int32_t *upto;          /* (max_chars + 1) */
} slice;

/* A cached bitset of slice x's tokens of at most l characters. */
typedef struct lenbits {
    uint64_t x;
    int32_t l;
    uint64_t *bits;
} lenbits;



/* A node of the prefix tree (see gmatch_vocab). */
typedef struct gnode {
    uint64_t sig;           /* byte groups of every piece in the subtree, BAD_BIT if one is not UTF-8 */
    int32_t kid;            /* first child */
    int32_t tok, ntok;      /* the tokens ending here: the id itself when ntok == 1 (most
                             * nodes: saves a cache miss), else sorted[tok .. tok + ntok) */
    uint16_t nkid;          /* children (<= 256) */
    uint16_t nmax;          /* most characters of a piece in the subtree */
} gnode;

struct gmatch_vocab {
    int refs;
    int32_t n;              /* tokens */
    char *bytes;            /* all pieces */
    int64_t *off;           /* (n + 1) piece i = bytes[off[i] .. off[i+1]) */
    int32_t eos, eot;
    /* the prefix tree (nn nodes, numbered as in renumber()): the children of a
     * node are the consecutive nodes kid .. kid + nkid, the roots 0 .. nroot;
     * a node's byte is apart (kbyte) so that a walk tests a run of siblings
     * against a state's transition row reading one byte each */
    int32_t nn, nroot;
    uint8_t *kbyte;         /* (nn) */
    struct gnode *node;     /* (nn) */
    int32_t *sorted;        /* token ids by piece */
    int32_t nsorted;        /* tokens in the tree */
    int32_t max_depth;
    uint16_t *tch;          /* (n) a token's characters, a partial last one counted */
    int32_t max_chars;
    uint64_t *tsig;         /* (n) a token's byte groups (BAD_BIT: not in the tree or not UTF-8) */
    int32_t gcnt[64];       /* tokens in the tree with a byte of group g */
    int32_t probe_cap;      /* characters the probe looks ahead (see state_mask) */
    /* slices and their bitsets depend on the vocabulary alone: shared by every
     * grammar bound to it, built on first use under the lock */
    pthread_mutex_t lock;
    slice sl[N_SLICES];
    int32_t nsl;
    lenbits lb[N_LENBITS];
    int32_t nlb, next_lb;
};

/* ---- byte groups and UTF-8 steps (for the skipping walk) -------------------
 * Every byte belongs to one of 54 groups: ASCII digits, a-f, g-z, A-F, G-Z,
 * space, tab, newline, return, other controls, each punctuation character
 * alone, and the UTF-8 byte ranges RFC 3629's table distinguishes. A piece's
 * signature is the set of its groups; BAD_BIT marks a piece that is not a
 * prefix of valid UTF-8 (as the grammar's classes accept: no surrogates, no
 * overlongs). Groups are coarse on purpose: a state that allows every byte
 * of a group (inside a string: all letters) lets whole subtrees be accepted
 * at once. */
#define BAD_BIT (1ULL << 63)
#define PARTIAL_BIT (1ULL << 62)             /* the piece ends inside a character */
#define ASCII_GROUPS ((1ULL << 42) - 1)
#define HIGH_GROUPS (((1ULL << 53) - 1) & ~ASCII_GROUPS)

/* A byte's group (0..53) and the UTF-8 progress after byte b from progress
 * u (-1: invalid); see gmatch_vocab.c. */
int gmatch_byte_group(uint8_t b);
int gmatch_utf8_step(int u, uint8_t b);
/* Whether a piece of signature sig is made of x's groups alone. */
static inline bool gmatch_fits(uint64_t sig, uint64_t x) { return !(sig & ~PARTIAL_BIT & ~x); }
/* ORs into m (the vocabulary's bitset size) every token of at most l
 * characters made of x's groups; false when out of memory. Thread safe. */
bool gmatch_vocab_or_slice(gmatch_vocab *v, uint64_t *m, uint64_t x, int32_t l);

/* ---- the grammar side (gmatch.c, gmatch_probe.c) ------------------------- */

typedef struct state {
    int32_t first, n;       /* stacks: pool[first .. first + n) */
    bool complete;
    int32_t *trans;         /* (nrep) next state per byte class (cls), -1 unknown; NULL until used */
    uint64_t *mask;         /* (words) NULL until asked */
    int32_t count;          /* allowed tokens, when mask is set */
    /* the probe's result for groups px (see probe_memo), when pmemo == 1 */
    uint64_t px, pdead_groups;
    int32_t palive, pdead;
    int8_t pmemo;           /* 0 none, 1 known */
    bool pbusy;             /* on the chain being followed (a cycle test) */
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
    struct wrun *walk;      /* (cap_walk) the mask's walk: runs of children to read */
    int32_t cap_walk;
    uint64_t *tmp_mask;     /* a mask computed past the budget */
    int32_t tmp_state;
    int32_t start;
    /* bulk acceptance */
    bool exact;             /* masks by the plain walk only */
    int32_t nrep;           /* byte classes: one representative each */
    uint8_t rep[256], rep_grp[256];
    int16_t cls[256];       /* a byte's class */
    int64_t *lay;           /* probe layers: states */
    int32_t nlay, cap_lay;
    int32_t *lay_off;       /* (cap_off) start of each layer in lay */
    int32_t cap_off;
    int8_t rep_utf8[256][8];/* utf8_step(u, rep[k]) */
};

#define INF_LEN INT32_MAX

/* The state after byte b from sid, or 0 (dead), or -1 (out of memory). */
int32_t gmatch_advance(gmatch_ctx *c, int32_t sid, uint8_t b);
/* gmatch_probe.c: byte classes (at create), the bind-time precomputation,
 * a state's probe groups, the remembered probe along a string chain, and
 * the breadth-first probe (see there). */
void gmatch_byte_classes(gmatch_ctx *c);
void gmatch_precompute(gmatch_ctx *c, double budget_ms);
uint64_t gmatch_state_groups(gmatch_ctx *c, int32_t sid, bool *oom);
bool gmatch_probe_memo(gmatch_ctx *c, int32_t sid, uint64_t x, int32_t cap, int32_t depth,
                       int32_t *alive, int32_t *dead, uint64_t *dg, bool *cut);
bool gmatch_probe_chars(gmatch_ctx *c, int32_t sid, uint64_t x, int32_t cap, int32_t *alive, int32_t *dead);

#endif
