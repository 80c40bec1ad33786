/* tdata: training data as rows of T+1 tokens with a loss mask, a seeded
 * train/validation split, and batches drawn from (seed, step) alone.
 *
 * Sources, tokenized with the model's tokenizer (BOS first, EOS last):
 * - text: documents split on a separator string; the training documents are
 *   concatenated and packed into windows of T+1 tokens (stride T), every
 *   position counted;
 * - examples (JSONL lines {"prompt": ..., "completion": ...}, or pairs a Lua
 *   generator hands over): one row each, padded, the loss only on the
 *   completion and its EOS.
 * Each document or example goes to validation with probability val_frac,
 * decided by a hash of (seed, its index): the split does not depend on the
 * order of the other inputs' sizes.
 *
 * Batches: row b of micro-batch k of step s is a hash of (seed, s, k, b)
 * modulo the number of training rows, so a run resumed at step s draws the
 * same batches as one that never stopped, with no sampler state to save.
 */
#ifndef TDATA_H
#define TDATA_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tok;
typedef struct tdata tdata;

enum { TDATA_TRAIN = 0, TDATA_VAL = 1 };
enum { TDATA_OK = 0, TDATA_EINVAL = -1, TDATA_ENOMEM = -2, TDATA_EIO = -3, TDATA_EFORMAT = -4 };

/* seq_len T >= 1; val_frac in [0, 1). The tokenizer is borrowed. */
tdata *tdata_create(const struct tok *tk, int seq_len, uint64_t seed, double val_frac);
void tdata_destroy(tdata *d);

/* Adds the documents of text[len] split on sep (NULL or "" = one
 * document). name is for messages ("FILE: ..."). Empty or whitespace-only
 * documents are skipped. Text that is not UTF-8 is refused, naming the byte. */
int tdata_add_text(tdata *d, const char *name, const char *text, size_t len, const char *sep,
                   char *err, size_t errlen);
int tdata_add_text_file(tdata *d, const char *path, const char *sep, char *err, size_t errlen);
/* One prompt/completion example; where names it in messages ("FILE:LINE").
 * The completion must not be empty. */
int tdata_add_example(tdata *d, const char *where, const char *prompt, size_t plen, const char *completion,
                      size_t clen, char *err, size_t errlen);
/* Formats the examples added from now on with a chat template family
 * (core/chat.h; CHAT_NONE: plain): the row is BOS, chat_format(kind, prompt)
 * (its markers parsed as special tokens), the completion, and
 * chat_turn_end(kind); the loss counts on the completion's tokens and the
 * turn's end, nothing else (no EOS after the turn's end). */
void tdata_set_chat(tdata *d, int kind);
/* A JSONL file of {"prompt": "...", "completion": "..."} lines (blank lines
 * skipped). */
int tdata_add_jsonl_file(tdata *d, const char *path, char *err, size_t errlen);

/* Packs what was added into rows. Fails when there are no training rows. */
int tdata_finish(tdata *d, char *err, size_t errlen);

int64_t tdata_n_rows(const tdata *d, int split);
/* Tokens whose loss counts, per split. */
int64_t tdata_n_targets(const tdata *d, int split);
/* How many tokens of the texts (prompts and completions, all splits; no
 * BOS/EOS) the tokenizer mapped to <unk>, and in *n_text how many it gave:
 * a model whose vocabulary does not cover the text (zh-poem's on English)
 * would learn to predict <unk>. */
int64_t tdata_n_unk(const tdata *d, int64_t *n_text);
/* sha256 of every row's tokens and mask in order (the run records it). */
void tdata_hash(const tdata *d, uint8_t out[32]);

/* Fills tokens and targets (B, T) for training step `step`, micro-batch
 * `micro`: inputs are a row's tokens 0..T-1, targets 1..T (-1 where the
 * loss does not count). */
void tdata_batch(const tdata *d, uint64_t step, int micro, int B, int32_t *tokens, int32_t *targets);
/* Validation batch i of nb: rows i*B .. i*B+B-1 of the M = nb*B validation
 * rows. When the split holds more than M rows they are spread over all of
 * it: row j is drawn (from the seed) out of the j-th of M equal stretches
 * of the split in insertion order, so data added kind by kind validates on
 * every kind in proportion; otherwise the whole split, wrapping. The same
 * rows at every validation of a run (and of its resumption). Returns false
 * when there is no validation data. */
bool tdata_val_batch(const tdata *d, int64_t i, int nb, int B, int32_t *tokens, int32_t *targets);
/* The index in the validation split of row j of M (above); -1 when empty. */
int64_t tdata_val_row(const tdata *d, int64_t j, int64_t M);
#endif
