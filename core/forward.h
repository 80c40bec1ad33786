/* forward: one evaluation of the Llama network over a batch of entries,
 * written against backend.h only (it never touches the numbers itself).
 *
 * fwd_create allocates the activation buffers for batches of up to n_batch
 * entries on the backend, once; fwd_eval reuses them. The fwd borrows the
 * backend and the model, which must outlive it.
 */
#ifndef FORWARD_H
#define FORWARD_H
#include <stdbool.h>
#include <stdint.h>
#include "backend.h"

typedef struct fwd fwd;

fwd *fwd_create(backend *be, const model *m, int32_t n_batch);
void fwd_destroy(fwd *f);

/* A question fwd_eval asks between layers: true stops the evaluation
 * (FWD_CANCELLED). It only reads, so an evaluation it lets finish is bit
 * for bit what it would have been. NULL: never asked. */
void fwd_set_cancel(fwd *f, bool (*cancel)(void *ud), void *ud);

/* Evaluates n entries (token tok[i] at position pos[i], K/V stored to cell
 * cells[i], attending as at[i] says) and writes the logits of entries
 * out_idx[0..n_out) to logits (host, n_out x n_vocab). *bad: the first of
 * those rows holding a NaN or Inf, -1 if none, FWD_UNCHECKED when the
 * backend did not check (the caller must). amax (n_out entries) non-NULL:
 * when *bad is -1, amax[i] = logits_argmax of row i, found by the backend's
 * check; not written when *bad is FWD_UNCHECKED. 0, -1 (no memory) or
 * FWD_CANCELLED (stopped between two layers: the K/V rows of the layers
 * done are stored in cells, the logits are not written). */
#define FWD_UNCHECKED (-2)
#define FWD_CANCELLED 1    /* fwd_eval's result when the cancel question said stop */
int fwd_eval(fwd *f, void *kvbuf, int32_t n, const int32_t *tok, const int32_t *pos,
             const int32_t *cells, const be_attn *at, int32_t n_out, const int32_t *out_idx,
             float *logits, int32_t *bad, int32_t *amax);
#endif
