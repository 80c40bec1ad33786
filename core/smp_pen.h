/* smp_pen: the sampler stages that change logits by the text and by the
 * caller's table: the penalties (repetition, frequency, presence over the
 * last N tokens) and the logit bias. Part of the smp module (smp.h declares
 * the public constructors smp_create_penalties and smp_create_bias, which
 * call these); split from smp.c in session 9 of issue 14, code unchanged.
 */
#ifndef SMP_PEN_H
#define SMP_PEN_H
#include <stdbool.h>
#include <stdint.h>

#include "smp.h"

struct logits_bias;

/* smp_create_penalties (smp.h): NULL when an argument is out of range or
 * memory runs out. */
smp *smp_pen_create(int32_t last_n, float repeat, float freq, float presence);
/* smp_create_bias (smp.h): copies b (NULL: an empty table). */
smp *smp_pen_create_bias(const struct logits_bias *b);
/* Whether s is one of these stages and handles lazy candidates (the
 * columns) itself: the penalties always, the bias when its table is empty
 * (the other stages' own checks are in smp.c). */
bool smp_pen_takes_columns(const smp *s);
/* Whether s keeps the columns' range (smp_cands.range_ok) true to them
 * when it ran on them: the same stages (the penalties update it). */
#define smp_pen_keeps_range smp_pen_takes_columns

#endif
