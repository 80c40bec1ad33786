/* store_impl: the store's private struct and the helpers shared by
 * store.c (opening, locking, the save-as-you-go transaction, errors),
 * store_schema.c (the schema and its migrations), store_tree.c (models,
 * sessions, nodes, tokens) and store_run.c (runs, records, metrics, queries).
 * Nothing outside core/store*.c includes this.
 *
 * Every allocation of the store goes through sqlite3_malloc64/sqlite3_free,
 * so a test that replaces SQLite's allocator fails the store's own
 * allocations too. */
#ifndef STORE_IMPL_H
#define STORE_IMPL_H
#include "store.h"

#include <locale.h>
#include <sqlite3.h>
#include <stdatomic.h>

/* Slots of cached statements: prepared on first use (SQLITE_PREPARE_PERSISTENT)
 * from the SQL their one caller passes, finalized by store_close. They are
 * the statements of the token loop and the transaction control. */
enum {
    ST_BEGIN, ST_COMMIT, ST_SAVEPOINT, ST_RELEASE, ST_ROLLBACK_TO,
    ST_TOK_NEXT, ST_TOK_INSERT, ST_NODE_TOUCH, ST_METRIC_SET, ST_RECORD_ADD,
    ST_COUNT
};

struct store {
    sqlite3 *db;
    char *dir;                  /* as given */
    char *dbpath;               /* dir/logitlab.db */
    int lock_fd;                /* flock'ed logitlab.lock; -1 when read-only */
    int flags, flush_ms;
    int version;                /* schema version of the database */
    bool txn;                   /* the save-as-you-go transaction is open */
    double txn_t0;              /* monotonic seconds when it began */
    int64_t pending;            /* write calls in it */
    int64_t losses;             /* batches SQLite rolled back (store_losses) */
    bool in_query;              /* store_query_step is running */
    atomic_int stop;            /* store_interrupt was called */
    int in_write;               /* a write call is between store_wr_begin and store_wr_end */
    /* Runs written in the open batch, and runs that lost writes when a
     * batch could not be saved (a full disk): such a run never ends "ok". */
    int64_t *batch_runs, *lost_runs;
    int n_batch_runs, cap_batch_runs, n_lost_runs, cap_lost_runs;
    bool lost_untracked;        /* a batch was lost while a run id could not be noted (no memory) */
    bool batch_untracked;
    char *scratch;              /* grown on demand, reused: top-k JSON */
    size_t scratch_cap;
    sqlite3_stmt *st[ST_COUNT];
};

/* The error message prefix for a store: "DIR: ". */
int store_fail(const store *s, int code, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Maps SQLite's rc (and the connection's message) to a STORE_E* code and
 * writes "DIR: what: sqlite message" with a suggestion for damaged files. */
int store_dberr(const store *s, int rc, const char *what, char *err, size_t errlen);

/* A prepared statement for sql: cached in slot `which` (>= 0; reset and
 * unbound, sql must be the same at every call), or a new one (which < 0:
 * the caller finalizes it). NULL on failure, with err set. */
sqlite3_stmt *store_stmt(store *s, int which, const char *sql, char *err, size_t errlen);
/* Steps a statement that returns no rows (or whose rows are ignored) and
 * resets it; STORE_OK or a mapped error. */
int store_step_done(store *s, sqlite3_stmt *st, const char *what, char *err, size_t errlen);
/* Runs SQL text with no parameters (schema changes, pragmas). */
int store_exec(store *s, const char *sql, const char *what, char *err, size_t errlen);

/* Write calls: store_wr_begin opens the batch transaction if needed and a
 * savepoint for this call; store_wr_end releases it (rc == 0) or rolls the
 * call back, then commits if the batch is due. Returns the final status. */
int store_wr_begin(store *s, char *err, size_t errlen);
/* Notes that the open batch holds writes of run `run` (> 0). */
void store_wr_run(store *s, int64_t run);
/* Whether run `run` lost writes with a batch that could not be saved. */
bool store_run_lost(const store *s, int64_t run);
int store_wr_end(store *s, int rc, char *err, size_t errlen);

double store_time(void);       /* wall clock, Unix seconds */

/* Binds text that may be NULL (bound as SQL NULL). */
int store_bind_text(sqlite3_stmt *st, int i, const char *text);
/* A copy of the scratch-buffer kind: grows s->scratch to n bytes. */
char *store_scratch(store *s, size_t n);

/* The C numeric locale, so that floats are written and read with '.'
 * whatever setlocale the TUI did. (locale_t)0 if it cannot be created. */
locale_t store_c_locale(void);

/* Packs rows of a list into one block for store_free: items of size esz
 * in an array, followed by the strings they point to. String fields hold
 * offsets while packing and become pointers in store_pack_done_. */
typedef struct store_pack {
    char *items; size_t esz, n, cap;
    char *strs; size_t slen, scap;
    bool oom;
} store_pack;
void *store_pack_item(store_pack *p);                 /* a new zeroed item; NULL when out of memory */
/* Records a string (NULL stays NULL) for the field at *field. */
void store_pack_str(store_pack *p, const char **field, const char *s, size_t n);
/* The block (fields listed by offset in the item become pointers) or NULL
 * when out of memory; *n gets the item count. Frees the pack either way. */
void *store_pack_done(store_pack *p, const size_t *fields, int nf, int64_t *n);
void store_pack_free(store_pack *p);

/* Schema (store_schema.c): migrates from version `from` up to `to` inside
 * one transaction. */
int store_migrate(store *s, int from, int to, char *err, size_t errlen);
#endif
