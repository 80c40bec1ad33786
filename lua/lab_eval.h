/* lab_eval: the eval jobs over sequences (seq:submit, lab.submit; seq:eval
 * and lab.eval_batch are Lua on top): the pending tokens of each Seq copied
 * to the worker, evaluated alone or in engine steps shared with other jobs
 * (lab_merge.c), and the rows kept as the options ask. */
#ifndef LAB_EVAL_H
#define LAB_EVAL_H
#include <stdint.h>
#include "lhost_impl.h"

/* seq:submit([opts]) -> Job (lab.await gives the Logits after the pending tokens) */
int lab_eval_seq_submit(lua_State *L);
/* lab.submit({seq, ...} [, opts]) -> Job (lab.await gives a list of Logits) */
int lab_eval_submit(lua_State *L);
/* Tokens the worker appended for item `item` of eval job j (j done). */
int32_t lab_eval_n_done(const ljob *j, int item);
#endif
