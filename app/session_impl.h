/* session_impl: the helpers session.c (actions on the tree, sending jobs)
 * shares with session_ev.c (filing the worker's events); they were static
 * in one session.c until it passed ~800 lines. Nothing outside
 * app/session*.c includes this; the contract of the session itself is
 * session.h. All run on the UI thread. */
#ifndef SESSION_IMPL_H
#define SESSION_IMPL_H
#include "session.h"

/* An empty tree and no selection; bumps the epoch, so that events of jobs
 * still on their way (which name the old nodes) are dropped. */
void session_reset_tree(session *s);
/* Evaluates the selected path again when it holds tokens read back from a
 * workspace (LOOM_TOK_STORED), once the worker is idle and the model ready. */
void session_refresh_path(session *s);
/* Where the path of node begins to be generated text: the end of its root
 * (the prompt). A grammar constrains only what follows. */
int32_t session_prompt_end(session *s, int32_t node);
/* The evict list of a job for target (worker_req.evict / evict_node): the
 * sequences of hidden branches, least recently used first, the donor last.
 * *buf is new (the caller frees it after submitting; NULL when none). */
void session_hidden_seqs(session *s, int32_t target, worker_req *r, int32_t **buf);
/* The settings node's tokens came from (its sampler JSON) into sp and the
 * three strings ("" none): stage order, logit bias, grammar. */
void session_node_settings(const loom_node *n, smp_params *sp, char *spec, size_t spec_cap, char *bias, size_t bias_cap,
                           char *grammar, size_t grammar_cap);

#endif
