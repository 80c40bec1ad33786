/* gmatch: grammar matching over a vocabulary, the engine behind constrained
 * decoding.
 *
 * Three objects:
 *   gmatch_vocab  the token pieces of a tokenizer (tok_piece bytes) in a
 *                 prefix tree; built once per tokenizer, shared.
 *   gmatch_ctx    a grammar (gram.h) bound to a vocabulary, with the caches
 *                 that make masks fast; shared by every sequence that uses
 *                 the grammar. Not thread safe: one thread uses a ctx and
 *                 its matchers at a time.
 *   gmatch        one sequence's position in the grammar, with its history
 *                 (so it can rewind) and a cheap clone (for forks).
 *
 * A matcher state is the set of parse stacks (pushdown automaton
 * configurations) the bytes so far allow; states are interned and each one
 * caches its byte transitions and, once asked, its token mask. The mask of a
 * state is one walk of the vocabulary prefix tree with pruning (a subtree is
 * skipped as soon as its prefix cannot continue the grammar), after a probe
 * that settles most tokens at once: it finds byte groups and a length such
 * that every string of those groups up to that length continues the state,
 * so the subtrees made only of such pieces are taken from a cached bitset
 * without being walked (gmatch.c, "bulk acceptance"). States repeat (inside
 * a string, a number, a list), so most steps read a cached mask.
 *
 * EOS: the vocabulary's eos and eot tokens are allowed exactly where the
 * grammar is complete (a stack ran empty); accepting one finishes the
 * matcher, after which nothing is allowed. Tokens with an empty piece
 * (control tokens) are never allowed.
 *
 * Ownership: *_create return new objects the caller destroys; a ctx keeps a
 * reference to its gram and its vocab (vocabs are reference counted), a
 * matcher keeps one to its ctx, so they can be destroyed in any order.
 */
#ifndef GMATCH_H
#define GMATCH_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gram.h"

struct tok;
struct smp;

enum { GMATCH_OK = 0, GMATCH_EREJECT = -1, GMATCH_ENOMEM = -2 };

typedef struct gmatch_vocab gmatch_vocab;
typedef struct gmatch_ctx gmatch_ctx;
typedef struct gmatch gmatch;

/* From a tokenizer (pieces as tok_piece(unparse_special = false)). */
gmatch_vocab *gmatch_vocab_create(const struct tok *t);
/* From explicit pieces (tests, benchmarks): piece i is pieces[i][0..lens[i]). */
gmatch_vocab *gmatch_vocab_create_pieces(const char *const *pieces, const size_t *lens, int32_t n,
                                         int32_t eos, int32_t eot);
gmatch_vocab *gmatch_vocab_ref(gmatch_vocab *v);
void gmatch_vocab_unref(gmatch_vocab *v);
int32_t gmatch_vocab_n(const gmatch_vocab *v);
/* A token's bytes (borrowed). */
const char *gmatch_vocab_piece(const gmatch_vocab *v, int32_t id, size_t *len);

gmatch_ctx *gmatch_ctx_create(gram *g, gmatch_vocab *v);   /* takes references */
/* Bind time: gmatch_ctx_create precomputes the grammar's states (their byte
 * transitions and probes, see gmatch_probe.c) for at most
 * GMATCH_PRECOMPUTE_MS of this thread's CPU time (and 2048 states); states
 * past the budget are computed when a mask first needs them. The masks are
 * the same whatever the budget; only where the time is spent changes.
 * _budget: the same with a budget of budget_ms (0: nothing precomputed). */
#define GMATCH_PRECOMPUTE_MS 50.0
gmatch_ctx *gmatch_ctx_create_budget(gram *g, gmatch_vocab *v, double budget_ms);
void gmatch_ctx_destroy(gmatch_ctx *c);                    /* drops one reference */
gmatch_ctx *gmatch_ctx_ref(gmatch_ctx *c);
const gram *gmatch_ctx_gram(const gmatch_ctx *c);
gmatch_vocab *gmatch_ctx_vocab(const gmatch_ctx *c);
/* exact = true: every mask by the plain walk of the prefix tree, without
 * the bulk acceptance of gmatch.c (the masks are the same bit for bit; the
 * tests compare the two, benchmarks time both). */
void gmatch_ctx_set_exact(gmatch_ctx *c, bool exact);
/* A ctx in exact mode from the start, with nothing precomputed at bind time
 * (gmatch_precompute serves the bulk acceptance alone; the plain walk's
 * transitions are made as it meets them): the tests' reference matcher. */
gmatch_ctx *gmatch_ctx_create_exact(gram *g, gmatch_vocab *v);
/* Cache sizes, for benchmarks and the docs: interned states, cached masks. */
void gmatch_ctx_stats(const gmatch_ctx *c, int64_t *states, int64_t *masks, int64_t *bytes);

gmatch *gmatch_create(gmatch_ctx *c);          /* at the start of the grammar */
void gmatch_destroy(gmatch *m);
gmatch *gmatch_clone(const gmatch *m);          /* same position and history */
gmatch_ctx *gmatch_ctx_of(const gmatch *m);

/* The allowed tokens as a bitset over the vocabulary (bit i of word i/64),
 * owned by the ctx: valid until the next mask of this ctx is asked for (a
 * cached mask lives as long as the ctx, but past the cache budget one
 * scratch mask is reused). NULL when out of memory. */
const uint64_t *gmatch_mask(gmatch *m);
bool gmatch_allowed(gmatch *m, int32_t tok);
/* Number of allowed tokens (0: the grammar cannot go on). */
int32_t gmatch_count(gmatch *m);

/* Advances by a token; GMATCH_EREJECT (state unchanged) when it is not
 * allowed. */
int gmatch_accept(gmatch *m, int32_t tok);
/* Advances by raw bytes (tests, forced text). */
int gmatch_accept_bytes(gmatch *m, const char *s, size_t n);
/* The grammar could end here (eos would be allowed). */
bool gmatch_complete(const gmatch *m);
/* An eos was accepted: the text is finished. */
bool gmatch_finished(const gmatch *m);
/* Tokens accepted since the start; rewind(n) keeps the first n. */
int32_t gmatch_n(const gmatch *m);
int gmatch_rewind(gmatch *m, int32_t n);
void gmatch_reset(gmatch *m);

/* ---- the sampler-chain stage ------------------------------------------------
 * apply drops every candidate the matcher does not allow (p renormalized
 * when it was valid); SMP_EMASK when none is left. accept advances the
 * matcher (a rejected token is ignored: the caller forced it, and the mask
 * will show the state unchanged). reset goes back to the start.
 * The stage either owns its matcher (gmatch_smp_create) or reads the one the
 * caller binds before each apply (a per-sequence matcher; NULL: no
 * constraint this step). */
struct smp *gmatch_smp_create(gmatch *m);       /* takes ownership of m */
void gmatch_smp_bind(struct smp *s, gmatch *m); /* borrowed; NULL unbinds */
gmatch *gmatch_smp_matcher(struct smp *s);      /* the matcher in use, or NULL */
bool gmatch_smp_is(const struct smp *s);

#endif
