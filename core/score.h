/* score: log-probabilities of given tokens under a model, and perplexity.
 *
 * Scoring is teacher forcing: the tokens are evaluated in batches (as large
 * as the context accepts) with logits kept only for the rows that predict a
 * scored token, and each row becomes log_softmax(row)[next token], computed
 * in double. This is what density-ratio rewards, verifiers and `ppl` call.
 *
 * Log-probabilities are natural logs (nats). The ctx is borrowed; every
 * function leaves the ctx's other sequences alone and, except score_seq,
 * drops the sequences it created.
 */
#ifndef SCORE_H
#define SCORE_H
#include <stddef.h>
#include <stdint.h>

struct ctx;

enum { SCORE_OK = 0, SCORE_EINVAL = -1, SCORE_ENOMEM = -2, SCORE_EFULL = -3, SCORE_EEVAL = -4 };

/* log p(toks[i] | toks[0..i)) for i in [n_prefix, n), in a temporary
 * sequence: lp[i - n_prefix] (lp may be NULL; it holds n - n_prefix floats)
 * and their sum in *sum (may be NULL). n_prefix >= 1: the first token has no
 * prediction (it is usually BOS). */
int score_tokens(struct ctx *c, const int32_t *toks, int32_t n, int32_t n_prefix,
                 float *lp, double *sum, char *err, size_t errlen);

/* Scores cont[0..n) as the continuation of seq and appends it to seq (fork
 * first to keep the original). row0 is the logits row that predicts cont[0]
 * (the last row the caller got for seq). lp (n floats) and sum may be NULL;
 * last (n_vocab floats, may be NULL) receives the row after cont[n-1], so
 * scoring and generation can go on from there. On failure seq may hold part
 * of cont. */
int score_seq(struct ctx *c, int32_t seq, const float *row0, const int32_t *cont, int32_t n,
              float *lp, double *sum, float *last, char *err, size_t errlen);

/* Perplexity with a sliding window (the strided method of Hugging Face's
 * "Perplexity of fixed-length models"): windows of `window` tokens start
 * every `stride` tokens; in each, only the tokens no earlier window scored
 * count, each predicted from up to window-1 tokens before it. Token 0 is
 * never scored. stride == window gives disjoint chunks; a smaller stride
 * gives every scored token more context at more cost. */
typedef struct score_ppl_params {
    int32_t window;    /* 0 = the free KV cells of the ctx */
    int32_t stride;    /* 0 = window / 2 */
    void (*progress)(void *ud, int64_t done, int64_t total); /* optional, after each window */
    void *ud;
} score_ppl_params;

typedef struct score_ppl_result {
    double nll;        /* sum of -log p over the scored tokens, nats */
    int64_t n_scored;
    double ppl;        /* exp(nll / n_scored) */
    int32_t n_windows, window, stride;
} score_ppl_result;

/* lp (optional, n floats): lp[i] = log p(toks[i] | its window), NaN for the
 * unscored token 0. p may be NULL for the defaults. */
int score_ppl(struct ctx *c, const int32_t *toks, int64_t n, const score_ppl_params *p,
              score_ppl_result *r, float *lp, char *err, size_t errlen);

#endif
