/* tui_store: the workbench's branch tree (loom) kept in a workspace session
 * (core/store.h), in both directions: tui_store_sync writes what changed in
 * the tree since the last call, tui_store_load reads a stored session back
 * into an empty tree.
 *
 * The mapping: each loom node is one store node (loom ids are indices, store
 * ids are rows); a loom split is a store_node_split; every token goes in as
 * it is accepted, with the raw log-probability (lp_raw) and the raw top
 * alternatives (the model's own distribution; the post-sampler one depends
 * on settings and is recomputed by the engine after a reload). A node's
 * `sampler` column holds its settings (smpjson.h) plus what the tree needs
 * to come back as it was:
 *
 *   {"origin":"prompt","k":1,"prompt":"Once upon a time","chat":false}   a root
 *   {"origin":"gen","k":2,"temp":0.8,...,"order":"..."}                 generated
 *   {"origin":"pick","k":3,"temp":0.8,...}                              a picked alternative (its first token)
 *
 * "k" numbers the nodes the workbench created, so a node is never equal to
 * its parent; a split tail (whose column store_node_split copies from the
 * head) is exactly equal to its parent's, which is how a reload knows it.
 *
 * What is written: nodes parents first, tokens once final, labels,
 * deletions (a deleted loom node deletes its store subtree). A prompt
 * token's distribution arrives after the token: while the engine is busy, a
 * node not yet stored that has a prompt token without one waits whole (a
 * new root waits for its prefill, so that a crash never leaves a root with
 * part of its prompt), and a stored one gets its tokens up to that one. Every store call is atomic, and the mapping
 * only moves past a call that succeeded, so a failed sync is retried by the
 * next one; after the store lost a whole batch (store.h: a failed commit)
 * the mapping is no longer true: tui_store_reset and write the tree into a
 * new session.
 *
 * Not thread-safe; the loom and the store belong to the caller.
 */
#ifndef TUI_STORE_H
#define TUI_STORE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loom.h"

struct store;
typedef struct tui_store tui_store;

/* 0, or -1 when out of memory. */
int tui_store_create(tui_store **out);
void tui_store_destroy(tui_store *m);      /* NULL is fine */
/* Forgets the mapping (the tree started over, or goes to another session);
 * nothing in the store changes. */
void tui_store_reset(tui_store *m);

/* Writes what changed in l since the last call into session (a session of
 * db). busy: the engine is still filling in distributions. Returns
 * STORE_OK or the first store error (err set); what succeeded stays done. */
int tui_store_sync(tui_store *m, struct store *db, int64_t session, const loom *l, bool busy,
                   char *err, size_t errlen);
/* Whether the last tui_store_sync wrote everything (nothing held back). */
bool tui_store_done(const tui_store *m);
/* The store id of loom node id, 0 when it is not stored. */
int64_t tui_store_node(const tui_store *m, int32_t id);
/* The loom id of store node id, -1 when none. */
int32_t tui_store_find(const tui_store *m, int64_t id);

/* Reads session's tree into l, which must hold no live node (loom_clear),
 * and maps it: roots with their prompts, children with their origins and
 * settings (loom_node.sampler, canonical), labels, tokens (flagged
 * LOOM_TOK_STORED: raw top alternatives and lp_raw only). A node whose
 * parent is missing is skipped. STORE_OK or a store error. */
int tui_store_load(tui_store *m, struct store *db, int64_t session, loom *l, char *err, size_t errlen);
/* tui_store_load giving nodes back the loom ids they had: want holds
 * n_want pairs (store id, loom id) (tui_ws keeps them with the session), so
 * that #ID in labels, commands and notes names the same node after a
 * reopen. Used only when every id in it is free in l (at or after its end);
 * a node not in it gets a new id after them all, and after next - 1 (the
 * tree's end when it was saved: 0 unknown). */
int tui_store_load_ids(tui_store *m, struct store *db, int64_t session, loom *l, const int64_t *want,
                       int32_t n_want, int32_t next, char *err, size_t errlen);

#endif
