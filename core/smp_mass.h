/* smp_mass: the samplers' passes over a whole row, as flat float arrays
 * (internal to the smp module: smp.c and smp_mass.c; the SIMD loops are in
 * smp_simd.c).
 *
 * top-p and typical-p on rows over SMP_MASS_MIN tokens keep the
 * candidates that carry a probability mass without sorting the vocabulary
 * (a histogram of the mass by key, see smp_mass.c: the order of its sums is
 * fixed by the row, and tests/test_smp_fast.c checks the selection against
 * float64), and the dist draw finds its token without a second walk. The
 * softmax, min-p, temperature and the draw give bit for bit what their
 * plain forms would (tests/smp_ref.h).
 */
#ifndef SMP_MASS_H
#define SMP_MASS_H
#include "smp.h"

/* Rows up to this many candidates take the sorting paths in smp.c. */
#define SMP_MASS_MIN 1024

/* Nucleus over a row of more than SMP_MASS_MIN candidates that is not in
 * rank order: keeps the smallest set taken in rank order (logit descending,
 * id ascending, NaN last) whose mass reaches p and that has at least
 * min_keep members; kept candidates stay in their order, p renormalized.
 * 0 or SMP_ENOMEM. */
int smp_mass_top_p(smp_cands *c, double p, int32_t min_keep);
/* Locally typical selection over such a row: the same, ranked by the
 * distance |-log p_i - H| (ties by id). */
int smp_mass_typical(smp_cands *c, double p, int32_t min_keep);
/* Min-p on lazy candidates (tokens with l >= l_max + log v, in order,
 * p renormalized when some are dropped): 1 when done, 0 when the caller's
 * path must run (at least `keep` must pass, and the best logit must be
 * above -inf). */
int smp_mass_min_p(smp_cands *c, float v, int32_t keep);
/* The first j in [i, n) with x[j] >= v (NaN never is), or n. */
int32_t smp_mass_skip_below(const float *x, int32_t i, int32_t n, float v);
/* smp_cands_softmax that leaves lazy candidates in their columns. */
void smp_mass_softmax(smp_cands *c);
/* Divides the logits of lazy candidates by t (temperature). */
void smp_mass_div(smp_cands *c, float t);
/* The rule of a draw over more than SMP_MASS_MIN candidates that arrive
 * normalized (a truncation's renormalized set: top-p, typical-p, min-p,
 * pending or compacted) whose total T of p is within 2^-20 of 1 (every
 * such set's with mass: T is 1 within 2^-22): u = r * SMP_DRAW_U, not r * T,
 * and SMP_DRAW_AGAIN (draw again with the stream's next r) when u >= T.
 * A rejection, so the same distribution; a walk then stops at u's block
 * without summing the rest for T (session 13). */
#define SMP_DRAW_U (1.0 + 0x1p-20)
#define SMP_DRAW_NEAR1(t) ((t) >= 1.0 - 0x1p-20 && (t) <= SMP_DRAW_U)
enum { SMP_DRAW_AGAIN = -3 };
/* The dist draw on normalized candidates in id order: the first candidate
 * whose cumulative mass (summed in double, in order) exceeds u = r * total
 * (or r * SMP_DRAW_U, above, when `arrived` says they came normalized), or
 * the last with p > 0 when rounding runs out; -1 when none has p > 0,
 * SMP_DRAW_AGAIN. r in [0, 1). Sorts c by id first when it is not in id
 * order. */
int32_t smp_mass_draw(smp_cands *c, double r, int arrived);
/* The dist draw from the softmax of lazy candidates that are not
 * normalized. Over SMP_MASS_MIN candidates in id order: the draw of
 * smp_mass_draw by prefix sums taken at every 256th candidate from the
 * softmax's own eight lane sums (see smp_mass.c), leaving c->p_e (p
 * computed when asked for; normalized set); else smp_mass_softmax then
 * smp_mass_draw (SMP_DRAW_AGAIN: draw again). */
int32_t smp_mass_softmax_draw(smp_cands *c, double r);
/* Copies a row of n logits into c->col_logit, with c->rmax / c->rmin
 * (range_ok) found on the way where the SIMD loops run. */
void smp_mass_set_row(smp_cands *c, const float *logits, int32_t n);
/* The columns' logits in col_own when they are the caller's row
 * (smp_cands_set_ref): a copy (with the range on the way when unknown),
 * for a stage about to change them in place. */
void smp_mass_own(smp_cands *c);
/* P[0..n) = (float)(P * inv) */
void smp_mass_scale(float *P, int32_t n, double inv);
/* With c->p_e: col_p = p (the softmax), has_p and normalized set. */
void smp_mass_settle(smp_cands *c);

#endif
