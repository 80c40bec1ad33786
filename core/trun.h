/* trun: one training run from a description, shared by `logitlab train` /
 * `finetune` and lab.train: opens the base model (or makes a new one of a
 * given shape with a tokenizer), tokenizes the data, trains (train.h) with a
 * checkpoint in the workspace, writes the GGUF, and records the run in the
 * workspace (settings, data hash, loss curves as metrics).
 *
 * Checkpoint: <workspace>/train/<output file name>.ckpt (or opts.ckpt_path
 * when set; none when opts.ckpt_every < 0); with resume, a run continues
 * from it bit for bit. It is kept
 * after the run, so the run can be extended only with the same settings.
 */
#ifndef TRUN_H
#define TRUN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tmodel.h"
#include "train.h"

struct store;
struct model;

typedef struct trun_example {
    const char *prompt, *completion;
    size_t plen, clen;
} trun_example;

typedef struct trun_spec {
    const char *base_model;         /* finetune: GGUF (F32/F16/BF16) or llama2.c; NULL = from scratch */
    const struct model *base;       /* finetune an open model instead (borrowed; its weights are copied) */
    const char *tokenizer;          /* from scratch: GGUF, tokenizer.bin or tokenizer.json */
    tmodel_cfg cfg;                 /* from scratch: the shape (n_vocab 0 = the tokenizer's) */
    uint64_t init_seed;             /* from scratch: the weights' seed */
    const char *const *text_files;  /* documents split on sep */
    int n_text;
    const char *sep;
    const char *const *texts;       /* in-memory texts, split on sep like files (borrowed) */
    const size_t *text_lens;
    int n_texts;
    const char *const *jsonl_files; /* {"prompt", "completion"} lines */
    int n_jsonl;
    const trun_example *examples;   /* e.g. from a Lua generator; borrowed */
    int64_t n_examples;
    /* Prompt/completion examples (JSONL and examples) through a chat
     * template (tdata_set_chat): NULL or "" = plain, "model" = the model's
     * own (its GGUF's tokenizer.chat_template, recognised by chat_detect),
     * or a family name (llama3, chatml, llama2, gemma, phi3, zephyr). */
    const char *chat_template;
    double val_frac;
    train_opts opts;
    const char *output;             /* the GGUF to write */
    const char *name;               /* general.name; NULL = the output's stem */
    struct store *ws;               /* workspace (borrowed; NULL = no run record, checkpoint beside output) */
    bool resume;                    /* continue from the checkpoint if there is one */
    int n_threads;                  /* 0 = all cores */
} trun_spec;

typedef struct trun_result {
    int64_t run_id;                 /* in the workspace, 0 without one */
    int64_t steps, rows_train, rows_val, targets_train;
    int64_t tokens_text, tokens_unk;  /* the data's text tokens, and those that are <unk> (tdata_n_unk) */
    char warning[256];              /* "" or why the run may not do what is meant (most of the text is <unk>) */
    size_t n_params;
    double loss, val_loss;          /* last step's */
    int64_t resumed_from;           /* step the checkpoint held, 0 for a fresh start */
    int chat;                       /* CHAT_* the examples went through */
    char ckpt[4096];
    char data_sha256[65];
    char settings[8192];            /* the run record's settings (JSON), set before the first step */
} trun_result;

/* After each step: 0 goes on; TRUN_STOP stops the run after it (checkpoint
 * written; recorded "cancelled"), TRUN_STOP_INT likewise for a Ctrl-C
 * (recorded "interrupted", as the runs of scripts Ctrl-C stops). */
enum { TRUN_STOP = 1, TRUN_STOP_INT = 2 };
typedef int (*trun_step_fn)(void *ud, const train_stat *s);
/* Called once before the first step with what was set up (for a header line). */
typedef void (*trun_ready_fn)(void *ud, const trun_result *r, const char *kernel);

void trun_spec_default(trun_spec *s);
/* The <unk> warning: given when at least this share of the text's tokens is <unk>. */
#define TRUN_UNK_WARN 0.05
/* The checkpoint path trun uses for output with a workspace at ws_dir
 * (<ws_dir>/train/<output file name>.ckpt; makes the folder). */
void trun_ckpt_path(const char *ws_dir, const char *output, char *out, size_t cap);
/* Records one step's metrics (loss, lr, grad_norm, tok_per_s, val_loss when
 * measured) in run run_id of ws: what trun does per step with a workspace,
 * for a caller that runs trun on another thread than its workspace's
 * (lab.train's background runs forward the steps and record them here). */
void trun_record_step(struct store *ws, int64_t run_id, const train_stat *st);
int trun_run(const trun_spec *s, trun_ready_fn ready, trun_step_fn step, void *ud, trun_result *res,
             char *err, size_t errlen);
#endif
