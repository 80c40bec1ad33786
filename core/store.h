/* store: a workspace folder and the SQLite database that keeps its sessions,
 * branch trees, models, experiment runs, per-run records and metrics.
 *
 * A workspace is a folder (default workspaces/default) holding
 *   logitlab.db     the database (SQLite, WAL mode; docs/workspaces.md has
 *                   every table and column),
 *   logitlab.lock   the writer's lock (flock; holds the writer's pid),
 *   config.lua      default model, sampler and plugins (written once, when
 *                   the workspace is created; the store never reads it),
 *   plugins/        the workspace's own plugins.
 *
 * Sharing: one writer per workspace. A read-write store_open takes an
 * exclusive flock on logitlab.lock for the store's lifetime; a second
 * read-write open (another process, or the same one) fails with STORE_EBUSY
 * and a message naming the holder's pid. Read-only opens (STORE_RDONLY: the
 * `runs` and `export` commands, sqlite3, pandas) take no lock and see the
 * last committed state while a writer works.
 *
 * Save as you go: writes go into one open transaction that is committed
 * when it is flush_ms old (checked on every write and by store_tick), on
 * store_flush and on store_close. The caller's event loop calls store_tick
 * every 100 ms or so; then every write is on disk (synchronous=FULL: it
 * survives kill -9 and power loss) within flush_ms + one tick. Each write
 * call is atomic on its own (a savepoint): it happens entirely or not at all.
 *
 * Errors: functions return STORE_OK (0) or a negative STORE_E* code and
 * write one line into err (err may be NULL). Messages about the workspace
 * name its folder; a damaged database gets a suggestion of what to do.
 *
 * Memory: objects returned through `**out` are new, one allocation each
 * (strings and arrays inside it point into the same block): release them
 * with store_free. Every `const char *` argument is borrowed for the call.
 *
 * Threads: a store is used by one thread at a time; store_interrupt may be
 * called from any thread.
 *
 * Times are Unix seconds (double, millisecond resolution); ids are the
 * tables' INTEGER PRIMARY KEYs (> 0; 0 means "none" in arguments and fields).
 */
#ifndef STORE_H
#define STORE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define STORE_SCHEMA_VERSION 2            /* the schema this build writes */
#define STORE_APP_ID 0x4c4c4142           /* PRAGMA application_id: "LLAB" */
#define STORE_DB_NAME "logitlab.db"
#define STORE_LOCK_NAME "logitlab.lock"
#define STORE_CONFIG_NAME "config.lua"
#define STORE_DEFAULT_DIR "workspaces/default"
/* Whether `name` (a file name, no folder) is one of the files a workspace's
 * store owns: the database with its -wal, -shm and -journal files and its
 * pre-upgrade copies (.bak-vN), the lock and config.lua. Nothing else may
 * write, replace or remove them (lab.fs refuses them). */
bool store_own_file(const char *name);
/* Whether `path` is one of those files of the workspace `dir`: by name in
 * that folder (whether or not it exists yet), or by identity (a symbolic or
 * hard link to one). Commands that write a file a user names check it, so
 * that a typo cannot replace or truncate the workspace's database. */
bool store_own_path(const char *dir, const char *path);
/* Whether `path` is such a file of whatever workspace holds it: the folder
 * it is in (or, for a link, the folder of what it names) has a logitlab.db
 * and the file is one of that workspace's own. For outputs named without a
 * workspace (quantize, convert, synth). */
bool store_own_path_any(const char *path);
#define STORE_FLUSH_MS 500                /* default batching window */
#define STORE_MAX_TOP 256                 /* alternatives kept per token */

enum {
    STORE_OK = 0,
    STORE_EIO = -1,         /* the file system or SQLite failed (disk full, I/O error) */
    STORE_ENOMEM = -2,
    STORE_EINVAL = -3,      /* a bad argument: invalid JSON, unknown status, bad SQL */
    STORE_ENOTFOUND = -4,   /* no workspace there, or no row with that id */
    STORE_EBUSY = -5,       /* another process writes to this workspace */
    STORE_ENEWER = -6,      /* written by a newer logitlab: refused, untouched */
    STORE_ECORRUPT = -7,    /* not a logitlab database, or damaged */
    STORE_EREADONLY = -8,   /* a write on a read-only store; a query that would write */
    STORE_EINTERRUPT = -9,  /* store_interrupt stopped it */
};

/* ---- opening a workspace ------------------------------------------------ */

enum {
    STORE_RDONLY = 1,       /* no lock, no writes; the workspace must exist */
    STORE_NOCREATE = 2,     /* read-write, but fail with ENOTFOUND if there is no database */
};

typedef struct store_opts {
    int flags;              /* STORE_RDONLY | STORE_NOCREATE */
    int flush_ms;           /* batching window (STORE_FLUSH_MS); 0 = commit every write */
    int busy_ms;            /* how long to wait for SQLite's own locks (5000) */
    int max_version;        /* migrate up to this version (0 = STORE_SCHEMA_VERSION);
                               tests use 1 to build a first-schema database */
} store_opts;

typedef struct store store;

void store_opts_default(store_opts *o);

/* Opens (read-write: creating the folder, config.lua, plugins/ and the
 * database if missing) the workspace in dir. An older schema is migrated
 * forward in one transaction after a copy is kept as logitlab.db.bak-vN; a
 * newer one is refused (STORE_ENEWER) without writing to any file; a file
 * that is not a logitlab database gets STORE_ECORRUPT and a suggestion.
 * Runs still marked running (their process died) become "interrupted".
 * o may be NULL (defaults). On failure *out is NULL. */
int store_open(store **out, const char *dir, const store_opts *o, char *err, size_t errlen);
/* Commits what is pending and closes; NULL is fine. Call store_flush first
 * to see a commit error. */
void store_close(store *s);
/* Commits the pending writes now. */
int store_flush(store *s, char *err, size_t errlen);
/* Commits if the pending writes are flush_ms old. Returns 1 when it
 * committed, 0 when there was nothing due, or an error. Cheap: call it from
 * the event loop. */
int store_tick(store *s, char *err, size_t errlen);
/* Number of write calls not yet committed. */
int64_t store_pending(const store *s);
/* How many times a batch was rolled back by SQLite (a failed commit or
 * write: full disk, I/O error) since store_open, whichever caller's call
 * failed. Several callers share one store (the workbench and lab.store):
 * each compares this count to know that writes it was told succeeded
 * are gone. */
int64_t store_losses(const store *s);
/* Asks the running store_query_step to stop (any thread; a runaway plugin
 * query): it fails with STORE_EINTERRUPT. Writes are not interrupted (that
 * would drop the unsaved batch). The request holds until the next
 * store_query_open. */
void store_interrupt(store *s);
/* PRAGMA integrity_check: STORE_OK, or STORE_ECORRUPT with the first problem. */
int store_check(store *s, char *err, size_t errlen);

const char *store_dir(const store *s);     /* the folder, as given; borrowed */
bool store_rdonly(const store *s);
int store_version(const store *s);         /* schema version of the open database */

/* Releases anything a store function returned through **out; NULL is fine. */
void store_free(void *p);

/* ---- models seen -------------------------------------------------------- */

typedef struct store_model {
    int64_t id;
    const char *sha256;     /* 64 lowercase hex digits */
    const char *path;       /* where it was last seen */
    int64_t size;           /* bytes */
    const char *metadata;   /* JSON object given by the caller ("{}" if none) */
    double first_seen, last_seen;
} store_model;

/* Records the model file at path: hashes it (streaming) unless a model with
 * the same path, size and modification time is known, then adds it or
 * updates its path, metadata (when not NULL) and last_seen. *id and
 * sha_hex (65 bytes: the hex digest) are filled when not NULL. */
int store_model_add(store *s, const char *path, const char *metadata_json, int64_t *id,
                    char *sha_hex, char *err, size_t errlen);
/* Hashing a multi-GB file takes seconds (about 200 MB/s). To keep it off
 * the UI thread: store_model_has says whether path is known unchanged (1,
 * sha_hex filled; 0 not; < 0 error); if not, hash it elsewhere with
 * sha256_file (core/sha256.h, no store needed) and record the result with
 * store_model_add_hashed. */
int store_model_has(store *s, const char *path, char *sha_hex, char *err, size_t errlen);
int store_model_add_hashed(store *s, const char *path, const char *sha_hex, const char *metadata_json,
                           int64_t *id, char *err, size_t errlen);
int store_model_get(store *s, int64_t id, store_model **out, char *err, size_t errlen);

/* ---- sessions ------------------------------------------------------------ */

typedef struct store_session {
    int64_t id;
    const char *name;
    int64_t model;          /* models.id, 0 = none */
    int64_t selected;       /* the selected node (end of the selected path), 0 = none */
    const char *ui;         /* JSON the TUI keeps (panes, scroll); opaque to the store */
    double created, updated;
} store_session;

int store_session_add(store *s, const char *name, int64_t model, int64_t *id, char *err, size_t errlen);
int store_session_set_name(store *s, int64_t id, const char *name, char *err, size_t errlen);
/* Saves what reopening restores: the selected node (0 = none; it must be a
 * node of this session) and ui (JSON; NULL leaves it as it is). */
int store_session_set_state(store *s, int64_t id, int64_t selected, const char *ui_json,
                            char *err, size_t errlen);
int store_session_get(store *s, int64_t id, store_session **out, char *err, size_t errlen);
/* All sessions, most recently updated first; *out is an array of *n. */
int store_session_list(store *s, store_session **out, int64_t *n, char *err, size_t errlen);
/* Deletes the session and its whole tree; runs keep their data (session 0). */
int store_session_del(store *s, int64_t id, char *err, size_t errlen);

/* ---- the branch tree ------------------------------------------------------
 * A node is a run of tokens generated in one go; its text continues its
 * parent's. The first node of a session has parent 0 and usually holds the
 * prompt. Branching at the end of a node adds a child; branching inside
 * one splits it first (store_node_split). */

typedef struct store_node {
    int64_t id, session;
    int64_t parent;         /* 0 for a root */
    int64_t n_tok;          /* tokens in this node */
    const char *sampler;    /* JSON: the sampler settings the tokens came from */
    const char *label;      /* NULL = none */
    double created, updated;
} store_node;

/* sampler_json NULL = "{}". parent must be 0 or a node of the same session. */
int store_node_add(store *s, int64_t session, int64_t parent, const char *sampler_json, int64_t *id,
                   char *err, size_t errlen);
int store_node_set_label(store *s, int64_t id, const char *label, char *err, size_t errlen); /* NULL clears */
/* Deletes the node, its tokens and its whole subtree. A session whose
 * selected node goes gets selected = 0. */
int store_node_del(store *s, int64_t id, char *err, size_t errlen);
/* Splits node id before its token `at` (0 < at < n_tok): tokens [at, n)
 * move to a new child that also takes over id's children, its label and the
 * session's selection if it was id. *child gets the new node. */
int store_node_split(store *s, int64_t id, int64_t at, int64_t *child, char *err, size_t errlen);
int store_node_get(store *s, int64_t id, store_node **out, char *err, size_t errlen);
/* Every node of a session, parents before children (ascending id). */
int store_node_list(store *s, int64_t session, store_node **out, int64_t *n, char *err, size_t errlen);

/* Tokens with what was known when they were generated. On writes every
 * array but tok may be NULL (not recorded); reads fill every array. */
typedef struct store_toks {
    int64_t n;              /* tokens */
    int32_t k;              /* row stride of top_tok / top_logprob (max alternatives) */
    int32_t *tok;           /* (n) token ids */
    float *logprob;         /* (n) log-probability of the token; NAN = not recorded */
    int32_t *n_top;         /* (n) alternatives stored for each token, <= k */
    int32_t *top_tok;       /* (n, k) alternatives, most likely first */
    float *top_logprob;     /* (n, k) their log-probabilities (non-finite ones read back NAN) */
    double *t;              /* (n) when accepted; 0 on write = now */
} store_toks;

/* Appends one accepted token to node (at its end). top_tok/top_lp hold n_top
 * alternatives (may be NULL when n_top is 0). logprob NAN = unknown. */
int store_tok_add(store *s, int64_t node, int32_t tok, float logprob, int32_t n_top,
                  const int32_t *top_tok, const float *top_lp, char *err, size_t errlen);
/* Appends t->n tokens to node in one atomic write (arrays borrowed). */
int store_toks_add(store *s, int64_t node, const store_toks *t, char *err, size_t errlen);
/* The tokens of one node. */
int store_toks_get(store *s, int64_t node, store_toks **out, char *err, size_t errlen);
/* The tokens of the path root..node (the text a node ends), concatenated. */
int store_path_get(store *s, int64_t node, store_toks **out, char *err, size_t errlen);

/* ---- runs, records and metrics -------------------------------------------
 * A run is one execution of an experiment (a plugin with its parameters and
 * seed); records are what it wrote (lab.store.put(kind, table): kind + JSON);
 * metrics are numbers by name and step. */

typedef struct store_run_info {
    const char *plugin;             /* required */
    const char *params;             /* JSON; NULL = "{}" */
    int64_t seed;                   /* a uint64 seed is stored as its int64 bit pattern */
    bool has_seed;
    int64_t session;                /* 0 = none */
    const char *const *models;      /* sha256 hex of each model used, in order */
    int n_models;
} store_run_info;

typedef struct store_run {
    int64_t id;
    const char *plugin, *params;
    int64_t seed;
    bool has_seed;
    int64_t session;
    const char *status;     /* "running", "ok", "failed", "cancelled" or "interrupted" */
    const char *error;      /* NULL unless given to store_run_end */
    double started;
    double ended;           /* 0 while running */
    int n_models;
    const char *models;     /* sha256 hex of each model used, comma separated ("" if none) */
} store_run;

/* A metric's latest value (largest step) for a run. */
typedef struct store_metric {
    const char *name;
    int64_t step;
    double value;
} store_metric;

/* Starts a run (status "running", started = now). */
int store_run_begin(store *s, const store_run_info *info, int64_t *id, char *err, size_t errlen);
/* Ends a running run: status is "ok", "failed", "cancelled" or "interrupted"
 * (stopped by Ctrl-C, as store_open marks the runs of dead processes); error (may be
 * NULL) says why. The run's writes are committed before this returns. A run
 * asked to end "ok" whose writes were rolled back since this store opened (a
 * batch that could not be saved) ends "failed" with that reason, and the
 * call returns STORE_EIO saying so. */
int store_run_end(store *s, int64_t id, const char *status, const char *error, char *err, size_t errlen);
int store_run_get(store *s, int64_t id, store_run **out, char *err, size_t errlen);
/* All runs, newest first. */
int store_run_list(store *s, store_run **out, int64_t *n, char *err, size_t errlen);
/* Deletes a run with its records and metrics. */
int store_run_del(store *s, int64_t id, char *err, size_t errlen);
/* Appends a record: kind is a short name chosen by the plugin, json any JSON
 * value (lab.store.put serializes its table). run 0 = not part of a run. */
int store_record_add(store *s, int64_t run, const char *kind, const char *json, int64_t *id,
                     char *err, size_t errlen);
/* Sets metric name at step for run (replacing an earlier value there). */
int store_metric_set(store *s, int64_t run, const char *name, int64_t step, double value,
                     char *err, size_t errlen);
/* The latest value of every metric of run, by name; *out is an array of *n. */
int store_metric_last(store *s, int64_t run, store_metric **out, int64_t *n, char *err, size_t errlen);

/* ---- read-only queries (lab.store.query) ---------------------------------
 * One SELECT (or WITH ... SELECT, or a read-only PRAGMA such as table_info)
 * with ?, ?N, :name, @name or $name parameters. Anything that could write,
 * attach a file or end the save-as-you-go transaction is refused with
 * STORE_EREADONLY when it is prepared. Values returned by store_query_get
 * are valid until the next step or close. */

enum { STORE_NULL = 0, STORE_INT, STORE_REAL, STORE_TEXT, STORE_BLOB };

typedef struct store_value {
    int type;               /* STORE_NULL... */
    int64_t i;              /* STORE_INT */
    double r;               /* STORE_REAL */
    const char *s;          /* STORE_TEXT (NUL ended) / STORE_BLOB */
    size_t n;               /* bytes in s */
} store_value;

typedef struct store_query store_query;

int store_query_open(store *s, const char *sql, store_query **out, char *err, size_t errlen);
void store_query_close(store_query *q);                   /* NULL is fine */
int store_query_nparams(const store_query *q);
/* 1-based index of a named parameter ("name", ":name", "@name" or "$name"), 0 if none. */
int store_query_param(const store_query *q, const char *name);
/* Binds parameter i (1-based); the value is copied. */
int store_query_bind(store_query *q, int i, const store_value *v, char *err, size_t errlen);
/* 1: a row is ready; 0: done; < 0: an error. */
int store_query_step(store_query *q, char *err, size_t errlen);
int store_query_ncols(const store_query *q);
const char *store_query_colname(const store_query *q, int col);   /* 0-based */
void store_query_get(store_query *q, int col, store_value *out);
/* Rewinds to run again (bindings kept). */
void store_query_reset(store_query *q);

/* ---- export (`logitlab export`) -------------------------------------------
 * JSON Lines: one object per line with "type" first: a "run" line (its
 * fields), then the run's "record" lines (data embedded as JSON) and
 * "metric" lines. CSV (RFC 4180: CRLF line ends; fields holding , " CR or LF
 * quoted, quotes doubled): the header type,run,id,name,step,value,time,data
 * and one row per run, record and metric (long format, for pandas). */

enum { STORE_JSONL = 0, STORE_CSV = 1 };

/* "jsonl" / "csv" -> STORE_JSONL / STORE_CSV, or -1. */
int store_export_format(const char *name);
/* Writes run (0 = every run, then the records of no run) to f.
 * STORE_ENOTFOUND for an unknown run; STORE_EIO when f cannot be written. */
int store_export(store *s, FILE *f, int format, int64_t run, char *err, size_t errlen);
#endif
