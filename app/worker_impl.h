/* worker_impl: the structs worker.c (the thread, its queue, events, the
 * model) shares with worker_job.c (the engine work of JOB_GEN, JOB_DIST,
 * JOB_DROP), and the functions each calls in the other; all were static in
 * one worker.c until it passed ~800 lines. Nothing outside app/worker*.c
 * includes this; the worker's contract is worker.h. Fields marked "under
 * mu" are shared with the UI thread; the engine state is the worker
 * thread's alone. */
#ifndef WORKER_IMPL_H
#define WORKER_IMPL_H
#include "worker.h"

#include <pthread.h>
#include <stdatomic.h>

#include "ctx.h"
#include "gmatch.h"
#include "model.h"
#include "smp.h"
#include "tok.h"

enum { JOB_OPEN, JOB_GEN, JOB_DROP, JOB_DIST, JOB_RETIRE };

typedef struct job {
    int kind;
    unsigned serial;
    struct job *next;
    /* JOB_OPEN */
    char *path;
    ctx_params cp;
    bool keep;              /* the open model stays when this one fails (worker_open_keep) */
    const model *in_use;    /* JOB_RETIRE: the model the UI reads now (not freed) */
    /* JOB_GEN */
    worker_req r;           /* r.path points at path_ids, r.sp at sp, r.spec at spec */
    int32_t *path_ids;
    smp_params sp;
    char spec[256];
    char bias[256];
    char grammar[512];
    char end_tokens[128];
    bool has_spec;
    /* JOB_DROP */
    int32_t seq;
    /* room in the KV cache: r.evict / r.evict_node point into evict */
    int32_t *evict;
    int32_t evict_at;       /* the next entry to try */
} job;

struct worker {
    pthread_t th;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    job *head, *tail;       /* queue, under mu */
    bool quit;              /* under mu */
    worker_ev *evs[2];      /* double buffer: [fill] is filled under mu, the other was taken */
    int32_t n_ev[2], cap_ev[2];
    int fill;
    int pipe[2];
    atomic_uint submitted;  /* jobs submitted so far (their serials) */
    atomic_uint stop_upto;  /* jobs with serial <= this stop */
    worker_stats stats;     /* under mu */
    /* engine state: worker thread only */
    unsigned cur_serial;    /* the job running now */
    model *m;
    model *retired;         /* the model before the last open, kept until worker_retire: the UI may still read it */
    ctx *c;
    const tok *t;
    int32_t nv;
    smp *chain;
    smp *gstage;            /* the chain's grammar stage (borrowed), or NULL */
    gmatch_vocab *gvocab;   /* the open model's vocabulary for grammars, built on first use */
    uint32_t chain_version;
    bool have_chain;
    smp_cands cands;
    float *row, *post;      /* (nv) the last logits row; the post-sampler logits */
    int32_t row_seq, row_len;
    int32_t *handle;        /* (n_handle = the context's n_seq_max) the UI's handle of each sequence, -1 none */
    int32_t n_handle;
    int32_t next_handle;    /* handles are never given twice */
    int32_t *top;           /* (LOOM_TOPK) */
    ctx_entry *batch;       /* (n_batch) */
    int32_t n_stage;        /* observer capture for the token being sampled */
    int32_t stage_n[LOOM_STAGES];
    uint8_t stage_kind[LOOM_STAGES];
};

/* worker.c: events for the UI (under mu; a write on the pipe wakes it). */
void worker_post(worker *w, const worker_ev *e);
/* An event without a token; msg may be NULL (cut to fit). */
void worker_post_simple(worker *w, int kind, int32_t node, int32_t seq, int reason, const char *msg);
/* Refreshes the stats from the context; tok_s < 0 keeps the rate; add: tokens generated. */
void worker_update_stats(worker *w, double tok_s, int64_t add);

/* worker_job.c: the jobs on sequences, run on the worker thread. */
void worker_job_gen(worker *w, job *j);
void worker_job_dist(worker *w, job *j);
void worker_job_drop(worker *w, job *j);

#endif
