/* logits: arithmetic on one row of logits (n_vocab floats) and on the
 * distributions it stands for.
 *
 * - softmax / log-softmax / log-sum-exp, stable for any finite input and for
 *   -inf entries (masked tokens); sums are accumulated in double;
 * - entropy (nats or bits), KL and Jensen-Shannon divergence;
 * - top-k by partial selection and the rank of one token, both in the order
 *   "higher logit first, on a tie the lower id first" (llama.cpp's greedy
 *   order, and the order of the golden top-64 lists);
 * - weighted mixes of several rows with optional ReLU terms (proxy tuning,
 *   contrastive decoding, "generic prediction") behind a vocabulary check;
 * - bias and masks by token id or by text.
 *
 * Nothing here allocates except logits_bias (init/fini), the text matchers
 * and logits_keep_only (a scratch of n_keep floats). Rows have n > 0 entries.
 */
#ifndef LOGITS_H
#define LOGITS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tok;

enum { LOGITS_OK = 0, LOGITS_EINVAL = -1, LOGITS_ENOMEM = -2, LOGITS_EVOCAB = -3 };

#define LOGITS_LN2 0.69314718055994530942

/* log(sum(exp(x))); -inf when every entry is -inf. */
double logits_logsumexp(const float *x, int32_t n);
/* p[i] = exp(x[i]) / sum exp(x). p may be x. All -inf gives all 0. */
void logits_softmax(const float *x, int32_t n, float *p);
/* out[i] = x[i] - logsumexp(x). out may be x. */
void logits_log_softmax(const float *x, int32_t n, float *out);

/* Entropy of a probability vector, -sum p log p, in nats (0 log 0 = 0). */
double logits_entropy(const float *p, int32_t n);
/* Entropy of softmax(x) in nats, without materialising p. */
double logits_entropy_of(const float *x, int32_t n);
/* The same in bits. */
double logits_entropy_bits(const float *p, int32_t n);

/* KL(p || q) = sum p log(p/q) in nats over probability vectors; +inf when
 * some p[i] > 0 has q[i] == 0. */
double logits_kl(const float *p, const float *q, int32_t n);
/* Jensen-Shannon divergence in nats: (KL(p||m) + KL(q||m)) / 2 with
 * m = (p + q) / 2. Symmetric, finite, at most ln 2. */
double logits_js(const float *p, const float *q, int32_t n);

/* The k best ids into ids[0..k), best first; returns min(k, n). Partial
 * selection with a bounded heap, O(n log k): the row is never sorted. */
int32_t logits_top_k(const float *x, int32_t n, int32_t k, int32_t *ids);
/* 1-based rank of id: 1 + the number of tokens ahead of it (higher logit, or
 * equal logit and lower id). The argmax has rank 1. */
int32_t logits_rank(const float *x, int32_t n, int32_t id);
/* The id of rank 1. */
int32_t logits_argmax(const float *x, int32_t n);

/* ---- weighted mixes ---------------------------------------------------- */

/* One term of a mix: w * a, w * (a - b), or with relu w * max(0, a - b)
 * (w * max(0, a) when b is NULL). a and b are borrowed rows of n_a / n_b
 * entries (their vocabulary sizes). */
typedef struct logits_term {
    float w;
    const float *a, *b;
    int32_t n_a, n_b;
    bool relu;
} logits_term;

/* logits_mix flags. TRIM: rows of different lengths are cut to the shortest
 * (as the proxy-tuning reference code does when a model pads its vocabulary)
 * instead of being refused. */
enum { LOGITS_TRIM = 1 };

/* out[i] = sum over terms, for i < n, where n is the common length of every
 * row; returns n (<= cap) or a negative code: LOGITS_EVOCAB when lengths
 * differ and TRIM is not set, LOGITS_EINVAL for no terms, a NULL row or a
 * cap below n. out may alias a row. Examples, each one call:
 *   proxy tuning  s_M + a*(s_M+ - s_M-): {1,M}, {a,M+,M-}
 *   contrastive   s_big - b*s_small:     {1,big}, {-b,small}
 *   generic pred. v_b - a*ReLU(v_r - v_b): {1,v_b}, {-a,v_r,v_b,relu} */
int32_t logits_mix(float *out, int32_t cap, const logits_term *t, int32_t n_terms,
                   unsigned flags, char *err, size_t errlen);

/* Checks that two tokenizers share a vocabulary: same size and the same
 * token strings. With trim, sizes may differ and only the common prefix is
 * compared. *n_common (optional) receives the size to use. LOGITS_EVOCAB
 * with the first differing token named in err otherwise. */
int logits_vocab_check(const struct tok *a, const struct tok *b, bool trim,
                       int32_t *n_common, char *err, size_t errlen);

/* ---- bias and masks ---------------------------------------------------- */

/* A set of (id, bias) pairs, kept sorted by id with one entry per id (adding
 * to an id again sums the biases; -inf masks the token for good). */
typedef struct logits_bias {
    int32_t n, cap;
    int32_t *ids;
    float *val;
} logits_bias;

/* How a text names tokens (logits_bias_add_text, logits_ids_of_text). */
enum logits_match {
    LOGITS_MATCH_ENCODE = 0, /* the ids text encodes to (no BOS) */
    LOGITS_MATCH_EXACT,      /* every token whose piece is exactly text */
    LOGITS_MATCH_CONTAINS    /* every token whose piece contains text */
};

void logits_bias_init(logits_bias *b);
void logits_bias_fini(logits_bias *b);
/* Adds val to id's bias (id >= 0). LOGITS_ENOMEM or 0. */
int logits_bias_add(logits_bias *b, int32_t id, float val);
/* Adds val for every token text names; returns how many ids, or a negative
 * code (err says why; matching nothing is not an error). */
int32_t logits_bias_add_text(logits_bias *b, const struct tok *t, const char *text,
                             size_t len, int match, float val, char *err, size_t errlen);
/* Bias of id (0 when absent). */
float logits_bias_get(const logits_bias *b, int32_t id);
/* x[id] += bias for each entry with id < n. */
void logits_bias_apply(const logits_bias *b, float *x, int32_t n);
/* Copies src into dst (dst initialised); LOGITS_ENOMEM or 0. */
int logits_bias_copy(logits_bias *dst, const logits_bias *src);
/* Adds the entries of "ID=VALUE[,ID=VALUE...]" (VALUE may be -inf) with
 * 0 <= ID < n_vocab; LOGITS_EINVAL with err naming the bad entry. */
int logits_bias_parse(logits_bias *b, const char *spec, int32_t n_vocab, char *err, size_t errlen);

/* Ids text names under match into ids[0..cap); returns the count (which may
 * exceed cap: only cap were written) or a negative code. */
int32_t logits_ids_of_text(const struct tok *t, const char *text, size_t len, int match,
                           int32_t *ids, int32_t cap, char *err, size_t errlen);
/* Sets every entry whose id is not in keep[0..n_keep) to -inf (an allow-list
 * mask, e.g. for constrained choices). Ids outside [0, n) are ignored.
 * LOGITS_ENOMEM or 0. */
int logits_keep_only(float *x, int32_t n, const int32_t *keep, int32_t n_keep);

#endif
