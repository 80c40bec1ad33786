/* worker: the engine thread of the workbench. It owns the model, the
 * context (all sequences of the branch tree live in its KV cache) and the
 * sampler chain; the UI thread never touches them, so the interface never
 * waits on a forward pass.
 *
 * The UI submits jobs (open a model, generate on a sequence, drop a
 * sequence); they run in order. Results come back as events, read with
 * worker_take after worker_fd polls readable (one byte per wake-up). Every
 * generated token arrives with its distributions (loom_tok), so the UI
 * thread only files records into the tree.
 *
 * Sequences are a cache of the tree's paths: a generation job names the
 * node's own seq if it has one, else a donor seq that shares a prefix of
 * the path (forked in O(1) and rewound), else builds the path from scratch.
 * The job then reports the seq now holding the path (WEV_SEQ).
 *
 * The sequence ids the UI sees are handles that are never given twice (the
 * engine reuses its own ids after a drop), so a handle the UI still holds
 * for a sequence that is gone names nothing, never another path.
 *
 * A full KV cache: a job may drop the sequences the request lists
 * (worker_req.evict: the hidden branches, least recently used first) one at
 * a time until its batch fits, reporting each (WEV_EVICT); only when none
 * is left does it fail, with a message naming -c.
 *
 * Threads: every function is for the UI thread except worker_stop, which
 * any thread (or a signal handler) may call.
 */
#ifndef WORKER_H
#define WORKER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctx.h"
#include "loom.h"
#include "smp.h"

struct model;
typedef struct worker worker;

enum { WORKER_OK = 0, WORKER_ENOMEM = -1, WORKER_ESYS = -2 };

/* Events. */
enum {
    WEV_READY = 1,  /* a model is open: model (borrowed until worker_retire after the next open), msg = its path */
    WEV_ERROR,      /* msg; node is the job's node or -1; reason 1: an open failed and the model open before stays */
    WEV_SEQ,        /* node's path now lives in seq */
    WEV_DIST,       /* tok: distributions of the existing token at pos of node's path: raw (prompt
                       tokens, rebuilt paths), or raw and post (worker_dist; no flags: it failed) */
    WEV_TOKEN,      /* tok: a new token at pos, appended to node */
    WEV_DONE,       /* a generation job ended: reason (msg: why, for WDONE_FULL) */
    WEV_EVICT       /* the job dropped seq (node's) to make room in the KV cache (worker_req.evict) */
};
enum { WDONE_LIMIT = 0, WDONE_EOS, WDONE_STOPPED, WDONE_FULL, WDONE_ERROR, WDONE_END /* a token of end_tokens */ };

typedef struct worker_ev {
    int kind;
    int32_t node, seq, pos;
    int reason;
    struct model *model;
    loom_tok tok;
    char msg[256];
} worker_ev;

/* A generation request. Everything is copied by worker_gen. */
typedef struct worker_req {
    int32_t node;           /* the tree node the tokens belong to */
    int32_t seq;            /* the node's own sequence, or -1 */
    int32_t donor;          /* a sequence sharing path[0..shared), or -1 */
    int32_t shared;
    const int32_t *path;    /* the node's path so far (n_path >= 1) */
    int32_t n_path;
    int32_t dist_from;      /* raw distributions for existing positions [dist_from, n_path) (WEV_DIST); n_path = none */
    int32_t dist_node;      /* the node those positions belong to (an ancestor of node) */
    int32_t n_new;          /* tokens to add: 0 prepares only, -1 = until end of text or a full context */
    bool stop_at_eos;
    const char *end_tokens; /* also stop at these (tok_parse_ids: "bos,13"), NULL = none */
    const smp_params *sp;   /* sampler values (bias ignored) */
    const char *spec;       /* stage order, NULL = default; "dist" is added when no selector ends it */
    const char *bias;       /* logit bias "ID=VALUE,..." for the chain's bias stage, NULL = none */
    uint32_t sp_version;    /* a change rebuilds the chain, which restarts the draw from the seed */
    const char *grammar;    /* constraint "KIND VALUE" (gram_from_option), NULL = none; first stage */
    int32_t grammar_from;   /* path position where the constrained text starts (after the prompt) */
    bool reseed;            /* token i of the job is drawn after smp_reseed(chain, smp_seed_mix(draw, draw_at + i)): */
    uint64_t draw;          /* its draw depends on (draw, its index) alone, so a node can be replayed */
    int32_t draw_at;
    const int32_t *evict;   /* (n_evict) sequences the job may drop when the KV cache is full, in this order */
    const int32_t *evict_node; /* (n_evict) the node each belongs to (for WEV_EVICT) */
    int32_t n_evict;
} worker_req;

typedef struct worker_stats {
    double tok_s;           /* tokens per second of the last generation */
    int32_t kv_used, kv_size, n_seq;
    int n_threads;
    char backend[16];
    int64_t n_generated;    /* since the model opened */
} worker_stats;

int worker_create(worker **out, char *err, size_t errlen);
/* Stops the running job, waits for the thread, frees the model. */
void worker_destroy(worker *w);
/* Readable when events are waiting. */
int worker_fd(const worker *w);

/* Jobs. Each returns 0 or WORKER_ENOMEM. worker_open: the model of the last
 * WEV_READY must no longer be used by the caller. */
int worker_open(worker *w, const char *path, const ctx_params *cp);
/* As worker_open; keep: when the file fails to open (past its header too:
 * a damaged tensor table, a missing tokenizer), the model open now stays
 * and WEV_ERROR says so with reason 1. Either way the new model is made
 * before the old is given up. */
int worker_open_keep(worker *w, const char *path, const ctx_params *cp, bool keep);
/* Frees the model parked by the last successful open unless it is in_use
 * (the model the UI took from its latest WEV_READY): call after each
 * WEV_READY. (Another open may have run meanwhile and parked the very model
 * that READY gave; it is freed at the next READY's call.) */
int worker_retire(worker *w, const struct model *in_use);
int worker_gen(worker *w, const worker_req *r);
/* Recomputes what the last token of r->path (at pos n_path - 1, n_path >= 2)
 * was drawn from: the raw distribution and the post-sampler one through the
 * chain of r->sp / r->spec with the path before it as history. One WEV_DIST
 * for r->dist_node comes back. A donor (r->donor, r->shared) saves
 * re-evaluating the shared prefix; r->seq, n_new and dist_from are ignored.
 * Sequences and generation's draw stream are left as they were. */
int worker_dist(worker *w, const worker_req *r);
int worker_drop(worker *w, int32_t seq);
/* Stops every job submitted so far at its next step (async-signal-safe). */
void worker_stop(worker *w);

/* Moves the waiting events out: *evs (valid until the next worker_take)
 * holds the returned count. Drains the wake-up pipe. */
int32_t worker_take(worker *w, const worker_ev **evs);
void worker_get_stats(worker *w, worker_stats *out);

#endif
