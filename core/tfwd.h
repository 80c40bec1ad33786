/* tfwd: the training forward pass with saved activations and its backward,
 * for B sequences of T tokens. Every buffer is allocated once, in
 * tfwd_create, for the largest batch; nothing is allocated per step.
 *
 * Loss: the mean cross-entropy over the positions whose target is >= 0.
 * tfwd_backward adds scale * d(loss)/d(weights) into a gradient view (so
 * gradient accumulation over micro-batches is scale = 1/n_micro).
 */
#ifndef TFWD_H
#define TFWD_H
#include <stddef.h>
#include <stdint.h>

#include "tmodel.h"

struct pool;
typedef struct tfwd tfwd;

/* NULL when out of memory. The pool is borrowed (may be NULL). */
tfwd *tfwd_create(const tmodel *m, int B, int T, struct pool *p);
void tfwd_destroy(tfwd *f);
/* Bytes of activations held. */
size_t tfwd_bytes(const tfwd *f);

/* tokens, targets: (B, T). Returns the mean loss (NaN when no target
 * counts) and sets *count to the number of counted targets. The logits of
 * the last call stay readable through tfwd_logits until the backward. */
double tfwd_forward(tfwd *f, const int32_t *tokens, const int32_t *targets, int *count);
const float *tfwd_logits(const tfwd *f);   /* (B*T, V) */
/* Gradients of the last forward, times scale, added into g. */
void tfwd_backward(tfwd *f, tmodel_w *g, float scale);
#endif
