/* session: the state of one workbench session and the actions on it, on
 * the UI thread. It holds the branch tree (loom), the selected node and the
 * token cursor, the prompt being edited, the sampler settings and the view
 * toggles; it sends engine work to the worker and files the worker's events
 * into the tree (session_poll).
 *
 * The path shown is root..cur. The cursor is a position in that path (the
 * token the inspector shows), or -1 to follow the last token while
 * generating. Structural actions (rewind, pick, delete, switching prompts)
 * are refused while a generation runs: Esc first.
 *
 * Messages for the user go to the status line (msg); warnings, errors and
 * model loads also go to the log callback (the console).
 *
 * A tree read back from a workspace (tokens flagged LOOM_TOK_STORED, no
 * engine sequences) is brought back to life on the engine as it is used:
 * once the model is ready, and whenever another path is selected, the
 * selected path is evaluated again (which rebuilds its sequence and the
 * full raw distributions); the token under the cursor gets its
 * post-sampler distribution recomputed with its node's sampler settings.
 *
 * A node holds tokens from one sampler setting: stepping after a change of
 * settings starts a child node.
 */
#ifndef SESSION_H
#define SESSION_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctx.h"
#include "field.h"
#include "loom.h"
#include "palette.h"
#include "smp.h"
#include "worker.h"

struct model;
struct tok;

enum { SESS_INFO = 0, SESS_WARN, SESS_ERROR };


typedef void (*session_log_fn)(void *ud, const char *text, bool is_error);

typedef struct session {
    worker *w;
    loom tree;
    /* the model (borrowed from the worker between WEV_READY and the next open) */
    const struct model *m;
    const struct tok *t;
    int32_t nv;
    char model_path[1024];
    char model_name[128];
    int chat_kind;              /* the model's template family (chat.h) */
    bool loading;
    bool keep_open;             /* the load is session_open_keep's: the tree and model stay until it succeeds */
    char open_path[1024];       /* its file */
    ctx_params cp;
    /* what is shown */
    int32_t cur;                /* selected node, -1 = none */
    int32_t cursor;             /* position in root..cur, -1 = the last token */
    int heat;                   /* enum pal_heat */
    bool show_post;             /* post-sampler probabilities in the inspector and colours */
    /* the prompt being edited */
    field prompt;
    bool chat;                  /* wrap it in the chat template */
    /* generation */
    int32_t gen_node;           /* node a job is writing into, -1 = idle */
    bool gen_free;              /* that job is a free run (not a step) */
    int32_t queued;             /* steps asked for while a step ran (key repeat) */
    int32_t freed;              /* hidden branches whose sequences the last job dropped for room */
    int32_t replay_of, replay_node;     /* a replay running: of which node, into which (-1 none) */
    smp_params sp;
    char spec[256];             /* stage order, "" = default */
    char bias[256];             /* logit bias "ID=VALUE,...", "" = none (:set bias) */
    char grammar[512];          /* constraint "KIND VALUE", "" = none (:set grammar, :grammar) */
    uint32_t sp_version;
    int32_t n_max;              /* tokens per free run */
    bool stop_at_eos;
    char end_tokens[128];       /* also stop at these ("bos,13"; "" none: :set end_tokens) */
    bool bos_hinted;            /* the running job's BOS hint was given */
    int32_t seq_budget;         /* live sequences kept before the least recently used are dropped */
    uint64_t clock;
    uint32_t epoch;             /* bumped whenever the tree starts over (session_open, session_clear) */
    bool dist_busy;             /* a worker_dist job is out for (dist_node, dist_pos) */
    int32_t dist_node, dist_pos;
    bool dirty;                 /* changes not yet saved (in the workspace, or by :save) */
    bool save_failed;           /* the workspace's last save failed (set by tui_ws) */
    char save_path[512];        /* where :save wrote last ("" none) */
    /* the status line's message */
    char msg[256];
    int msg_level;
    double msg_time;
    session_log_fn log;
    void *log_ud;
    uint64_t version;           /* bumped on every change the panes draw */
} session;

int session_init(session *s, char *err, size_t errlen);
void session_fini(session *s);

/* Opens a model (by path) on the worker; clears the tree. */
int session_open(session *s, const char *path);
/* Opens a model keeping the open one and its tree until the new one is
 * open (the workbench's :open): a file that fails, past its header too,
 * changes nothing but a message. Meanwhile no job starts ("the model is
 * still loading"). With no model open, or a load already under way, as
 * session_open. */
int session_open_keep(session *s, const char *path);
/* Empties the tree (dropping its sequences), keeping the model. */
void session_clear(session *s);
/* After a tree was put into s->tree from outside (a workspace): rebuilds the
 * selected path on the engine when the model is ready. */
void session_loaded(session *s);
/* The current sampler settings as canonical JSON (smpjson.h) into buf. */
void session_sampler_json(const session *s, char *buf, size_t cap);
/* Files the worker's events; returns true when something changed. */
bool session_poll(session *s);

/* Generates n tokens (1 = a step, -1 = a free run up to n_max) at the end of
 * the selected path, starting a new root when the prompt changed. */
void session_gen(session *s, int32_t n);
void session_stop(session *s);
/* A generation job is running. */
bool session_busy(const session *s);
/* Rewind: the cursor token becomes the last one; what followed stays in the
 * tree as a branch. */
void session_rewind(session *s);
/* Regenerate: rewind to just before the cursor token and run freely. */
void session_regen(session *s);
/* Branch at the cursor token with alternative id instead. */
void session_pick(session *s, int32_t id);
/* Replays node: a new sibling drawn again with the node's settings and
 * generator state (loom_node.draw), which reproduces its tokens exactly
 * when the model, the path before it, the bias and the grammar are the
 * same; the status says whether they are. */
void session_replay(session *s, int32_t node);
void session_select(session *s, int32_t node);
/* Switch to the previous (dir < 0) or next sibling of the nearest branching. */
void session_sibling(session *s, int dir);
void session_delete(session *s, int32_t node);
void session_label(session *s, int32_t node, const char *label);
/* Sets a sampler value by name ("temp", "top_k", ..., "order", "n", "seed"). */
int session_set(session *s, const char *name, const char *value, char *err, size_t errlen);
/* The current value of a setting as text; false for an unknown name. */
bool session_get(const session *s, const char *name, char *buf, size_t cap);
/* Names accepted by session_set, NULL-terminated. */
const char *const *session_setting_names(void);
void session_sampler_changed(session *s);

/* The position of the cursor token (resolving -1), or -1 with no tokens. */
int32_t session_cursor_pos(const session *s);
/* The token at pos of the selected path, or NULL. */
const loom_tok *session_tok(const session *s, int32_t pos);
int32_t session_len(const session *s);
/* The piece (bytes) of a token into buf; control tokens as their text. */
int32_t session_piece(const session *s, int32_t id, char *buf, int32_t cap);

/* Status-line message (also logged). */
void session_msg(session *s, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
