/* qplan: which element type each tensor gets when a file is written with a
 * target type (synth, quantize), and llama.cpp's general.file_type labels.
 *
 * Rule (llama.cpp's fallbacks for rows that do not fill a block): 1-D tensors
 * are F32; a 2-D tensor whose row length is not a multiple of the target's
 * block gets a wider type with 32-element blocks (Q4_K -> Q5_0, Q5_K and Q6_K
 * -> Q8_0) when the row divides by 32, else F16.
 */
#ifndef QPLAN_H
#define QPLAN_H
#include <stdint.h>

/* Types a file can be written in (qt_type ids), for messages and checks. */
extern const int qplan_types[];
extern const int qplan_n_types;
/* "f32, f16, bf16, q8_0, ..." for help texts. */
const char *qplan_type_list(void);
/* True when type is one of qplan_types. */
int qplan_is_target(int type);

/* Type for a tensor of n_dims dims and rows of ne0 elements, given the target. */
int qplan_pick(int target, uint32_t n_dims, uint64_t ne0);

/* general.file_type (llama_ftype) for a target type, and a label for one. */
int qplan_ftype(int target);
const char *qplan_ftype_name(int ftype);
#endif
