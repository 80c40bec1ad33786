/* lhost_impl: what the files of lua/ share behind lhost.h. Not for app/.
 *
 * Objects and who owns them:
 *   lhost   the host: options, states, tasks, timers, UI hooks, the worker.
 *   lstate  one lua_State (a plugin, or the scripts state for run/REPL),
 *           owned by the host; its allocator counts bytes against mem_cap.
 *   ltask   a coroutine the host resumes (a script, a REPL line, a command
 *           or key handler, a timer callback, lab.spawn); owned by the host,
 *           the thread pinned in its state's registry.
 *   ltimer  lab.after / lab.every; owned by the host.
 *   lhook   a UI hook (command, key, pane, status); owned by the host, its
 *           handler pinned in its state's registry.
 *   ljob    work for the worker thread (or a completion the Lua thread
 *           signals); refcounted: the submitter, the worker, a waiting task.
 *   lmodel  a model with its context; refcounted (Lua userdata, seqs, jobs,
 *           logits), freed by whoever drops the last reference.
 * Everything but ljob.done, lmodel.refs/busy and lhost.interrupt is touched
 * only by the host's thread.
 */
#ifndef LHOST_IMPL_H
#define LHOST_IMPL_H
#include <lauxlib.h>
#include <pthread.h>
#include <lua.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lhost.h"

struct model;
struct ctx;
struct store;

#define LAB_API_LEVEL 1
/* Entries into Lua may nest (a handler runs a command, which runs a
 * handler...); past this depth lhost_call refuses, so that a handler that
 * calls itself cannot overflow the C stack. */
#define LHOST_MAX_NEST 32
/* Command and key handlers get their first slice at once only below this
 * depth; deeper ones wait for the next tick. */
#define LHOST_EAGER_NEST 8
#define LAB_VERSION "0.1.0"

#if LUA_VERSION_NUM == 504 && LUA_VERSION_RELEASE_NUM < 50406
#define lhost_closethread(L, from) lua_resetthread(L)
#else
#define lhost_closethread(L, from) lua_closethread(L, from)
#endif

typedef struct lstate lstate;
typedef struct ltask ltask;
typedef struct ltimer ltimer;
typedef struct lhook lhook;
typedef struct ljob ljob;
typedef struct lmodel lmodel;
typedef struct lwork lwork;

/* A run a state began with lab.store.run_begin and has not ended. */
typedef struct lrun {
    int64_t id;
    int owner;              /* id of the task that began it, 0 if none */
} lrun;

/* An entry that has run this long without returning is a runaway: the UI
 * says "Ctrl-C stops it", and Ctrl-C then stops it for good (and disables
 * a plugin); Ctrl-C that lands in a shorter entry of a plugin (a task
 * between two awaits, an event handler) is one catchable error instead. */
#define LHOST_RUNAWAY_S 0.5

/* Why an entry into Lua was stopped (sticky until the entry ends). */
enum { LSTOP_NONE = 0, LSTOP_TIME, LSTOP_INSTR, LSTOP_INTERRUPT, LSTOP_MEM, LSTOP_TASK };

struct lstate {
    lhost *h;
    lua_State *L;
    char *name;             /* manifest name; "script" for the scripts state */
    char *path;
    char *description;
    char *error;            /* why it was disabled */
    int api_level;
    bool is_plugin;
    bool enabled;           /* false: L is closed (or closing) */
    bool dying;             /* disable requested while Lua of it is on the C stack */
    size_t mem, mem_cap;
    bool mem_over;          /* the allocator refused a block for the cap */
    bool grace;             /* host bookkeeping (error reports): 32 MiB over the cap allowed */
    double budget_s;        /* < 0: none */
    uint64_t budget_instr;  /* 0: none */
    /* the entry now running in this state */
    int depth;
    double deadline;        /* monotonic seconds; 0 = none */
    /* the running task's wall-time budget (lab.task_budget{seconds=}):
     * past it the hook stops the task (LSTOP_TASK); 0 = none */
    double task_deadline, task_seconds;
    uint64_t instr;
    int stop;               /* LSTOP_* */
    bool user_int;          /* this entry raised a catchable Ctrl-C; a later stop overrides it */
    int n_failed;           /* uncaught task errors (scripts) */
    char *last_err;         /* the last quiet task's error (run_file, eval) */
    bool cancel;            /* interrupted or disabled by the user: its runs end "cancelled" */
    char *script;           /* scripts state: base name of the script running, or NULL (REPL) */
    lrun *runs;             /* open runs, oldest first (lab_store.c) */
    int n_runs, cap_runs;
    /* lab.progress (lab_progress.c) */
    int prog_mode;          /* as asked (0: auto) */
    int prog_mode_pending;  /* the mode prog_pending was rendered for */
    double prog_interval;   /* < 0: the mode's default */
    double prog_next;       /* monotonic: nothing shown before it */
    char *prog_pending;     /* an update held back (throttled), or NULL */
    char *prog_text;        /* status mode: what the status bar shows, or NULL */
    lstate *next;
};

/* A saved entry (nested entries restore the outer one). */
typedef struct lentry {
    lstate *st;
    double deadline, task_deadline, task_seconds;
    uint64_t instr;
    int stop;
    bool user_int;
    lstate *prev;
} lentry;

/* ---- jobs and the worker (lwork.c) ----------------------------------- */

struct ljob {
    atomic_int refs;
    atomic_int done;        /* set (release) once the result fields are final */
    atomic_int cancel;      /* lwork_cancel asked a running job to stop */
    int status;             /* 0 or negative */
    char err[256];
    void (*run)(ljob *j);   /* on the worker; NULL for completions the host signals */
    /* Optional: runs several queued jobs together. The worker gives it the
     * jobs that follow each other at the head of the queue with the same
     * run_group, of any models (lab_run_parts: one step per model, or as
     * few as their entries fit). */
    void (*run_group)(ljob **js, int n);
    /* Optional: how the job takes part in an engine step shared with jobs
     * of other kinds and models (lab_merge.c); its run_group is then lab_run_parts. */
    const struct ljob_part *part;
    void (*free)(ljob *j);  /* frees the payload (any thread) */
    /* Pushes the results for lab.await once done (host thread); idx is the
     * Job userdata, whose uservalue 1 the submitter may have set. Returns
     * the number of values. NULL: true, or nil + err on failure. */
    int (*push)(lua_State *L, ljob *j, int idx);
    lmodel **models;        /* marked busy from submit to done */
    int n_models;
    ljob *next;             /* queue link */
    void *p;                /* payload */
};

/* A job's share of the engine steps of one model (on the worker,
 * lab_merge.c): eval, seq:score / lab.score_batch and lab.score jobs queued
 * together run as one ctx_eval per model, or as few consecutive ones as
 * their entries fit (n_batch each). A job of several models has a share for
 * each. A share is resumable: prep counts only what is left to do (an eval
 * job's tokens already appended are not evaluated again). */
struct ctx_entry;
typedef struct ljob_part {
    /* Makes what the job's entries for model m need (forks, sequences) and
     * returns how many entries it adds (0: none for m); -1 when it cannot
     * take part (nothing left made; err says why, for a job of several
     * models that then fails on it). */
    int (*prep)(ljob *j, lmodel *m, char *err, size_t errlen);
    /* Writes those entries at e, in the order they must be evaluated. */
    void (*fill)(ljob *j, lmodel *m, struct ctx_entry *e);
    /* After a step: the next n of its entries (e[0..n), in fill's order,
     * continuing where the last take stopped), whose rows with logits are
     * the engine's rows r0, r0 + 1, ... in order. */
    void (*take)(ljob *j, lmodel *m, const struct ctx_entry *e, int n, int32_t r0);
    /* Drops what prep made (NULL: nothing to drop). */
    void (*undo)(ljob *j, lmodel *m);
} ljob_part;
/* The run_group of jobs with a part: per model, in the order the models
 * first appear, the shares of all its jobs in as few engine steps as their
 * entries fit (a job larger than a batch is split across consecutive
 * steps). A job that cannot take part, or whose entries a failed step held
 * (the step then changes nothing), runs alone afterwards (run, or its share
 * for that model when it has several), resuming where it stopped. Kernels
 * are batch-invariant, so each job gets what it would alone. */
void lab_run_parts(ljob **js, int n);

ljob *lwork_job_new(void (*run)(ljob *), void (*free_fn)(ljob *), void *p);
void lwork_job_ref(ljob *j);
void lwork_job_unref(ljob *j);
bool lwork_job_done(const ljob *j);
/* Marks a completion job (no run function) done, on the host thread. */
void lwork_job_finish(ljob *j, int status, const char *err);

int lwork_create(lwork **out, char *err, size_t errlen);
/* Waits for the running job, fails the queued ones ("cancelled"). */
void lwork_destroy(lwork *w);
/* Queues j (takes a reference); its models are busy until it is done. */
int lwork_submit(lwork *w, ljob *j);
void lwork_wait(lwork *w, ljob *j);
/* Until no queued or running job uses m. */
void lwork_wait_model(lwork *w, lmodel *m);
/* While held (nested), queued jobs wait so that the jobs the tasks of one
 * tick pass submit run together (run_group); a blocking wait lets them go. */
/* Takes j out of the queue when it has not started: it is done, failed
 * with err; returns true. A job the worker is running is asked to stop: its
 * engine steps end within one layer (ctx_set_cancel) once every job sharing
 * them is asked, and it fails with "cancelled", what it appended before
 * kept (its sequences settle with those tokens evaluated, the rest still
 * pending); returns false. */
bool lwork_cancel(lwork *w, ljob *j, const char *err);
void lwork_hold(lwork *w);
void lwork_release(lwork *w);
int lwork_fd(const lwork *w);
/* Wakes the host's loop (any thread): a completion set by a thread of its own. */
void lwork_wake(lwork *w);
void lwork_clear_fd(lwork *w);

/* ---- models (lab_model.c) -------------------------------------------- */

struct lmodel {
    atomic_int refs;
    struct lfile *file;     /* the open file whose model m is (shared with other Models of it) */
    lhost *host;
    int busy;               /* jobs using ctx; guarded by the worker's lock */
    struct model *m;
    struct ctx *c;
    int32_t n_vocab;
    int64_t steps;          /* engine steps (ctx_eval) run for jobs; written by the worker */
    int64_t evaluated;      /* tokens those steps evaluated (KV entries written); written by the worker */
    uint64_t vocab_hash;    /* FNV-1a of the token strings, 0 until first asked (lab_model_vocab_hash) */
    char sha256[65];        /* hex SHA-256 of the weights file, "" until first asked (model:sha256) */
    int32_t end[LHOST_MAX_END];  /* end tokens (lab.model.open's end_tokens, or run --end-tokens): */
    int32_t n_end;               /* lab.generate stops at them as at EOS */
};

void lab_model_ref(lmodel *m);
void lab_model_unref(lmodel *m);
/* Waits until the worker does not use m's ctx (before touching it here). */
void lab_model_sync(lua_State *L, lmodel *m);
/* The lmodel of a Model userdata at idx (raises on misuse or a closed one). */
lmodel *lab_model_check(lua_State *L, int idx);
/* An end-tokens value (string or list) at idx as tok_parse_ids's text (lab_model.c). */
void lab_end_spec(lua_State *L, int idx, const char *what, char *buf, size_t cap);
/* Whether a and b have the same vocabulary (size and token strings);
 * when not, why in err. Hashes each vocabulary once. */
bool lab_model_same_vocab(lmodel *a, lmodel *b, char *err, size_t errlen);
/* Whether the value at idx is a Model that is not closed. */
bool lab_model_is_open(lua_State *L, int idx);
/* Pushes a Model userdata sharing m (takes a new reference). */
void lab_model_push(lua_State *L, lmodel *m);
/* Token ids at idx (a table of ids, or one integer id), each checked
 * against n_vocab, into a new userdata left on the stack. */
int32_t *lab_check_tokens(lua_State *L, int idx, int32_t n_vocab, int32_t *n);
/* Pushes the text of ids (the tokenizer's decode). */
struct tok;
void lab_push_text(lua_State *L, const struct tok *t, const int32_t *ids, int32_t n, bool special);

/* ---- the host (lhost.c, lsched.c, lplugin.c) ------------------------- */

struct ltask {
    int id;
    lstate *st;
    lua_State *co;
    int ref;                /* registry ref of co in st->L */
    int nargs;              /* values waiting on co's stack for the first resume */
    bool started;
    ljob *wait;             /* awaited job (a reference), or NULL */
    double wake_at;         /* lab.sleep: monotonic deadline, or 0 */
    double deadline, seconds;   /* lab.task_budget{seconds=}: monotonic end, or 0 (past it the
                                 * task is woken from a sleep or an await to fail) */
    int kind;               /* LTASK_* */
    ljob *fin;              /* signalled when the task ends (lab.await(task)) */
    int res_ref;            /* registry ref of {ok, ...} once ended, or LUA_NOREF */
    unsigned gen;           /* tick pass that created it */
    bool quiet;             /* an error goes to st->last_err, not the console */
    bool failed;
    bool end_runs;          /* a script's main task not waited for: its end ends its runs */
    bool interrupted;       /* Ctrl-C while it awaited engine work: its lab.await raises */
    ltask *next;
};
enum { LTASK_PLAIN = 0, LTASK_MAIN, LTASK_REPL };

struct ltimer {
    int id;
    lstate *st;
    int fn_ref;
    double due, interval;   /* interval 0: once */
    int last_task;          /* the task of the last fire (a repeating timer
                             * does not fire again before that one starts) */
    ltimer *next;
};

enum { LHOOK_COMMAND = 1, LHOOK_KEY, LHOOK_PANE, LHOOK_STATUS };

struct lhook {
    int id, kind;
    lstate *st;
    int ref;                /* the handler (function) or, for panes, the handler table */
    char *name;             /* command name, key, pane title or status name */
    char *help;
    lhook *next;
};

#define LHOST_MAX_POOLS 8
struct lhost {
    lhost_opts o;           /* strings point into the copies below */
    char **plugin_dirs;     /* NULL-terminated copies, workspace/plugins last */
    char **plugin_names;    /* copies of opts.plugin_names, or NULL: every plugin */
    char **model_dirs;
    char *workspace;        /* realpath, or NULL */
    lhost_ui ui;
    bool has_ui;
    int out_errno;          /* errno of the first failed write to stdout (lhost_print), 0 while none failed */
    char *prog_line;        /* the progress line on the terminal (lab_progress.c), or NULL */
    lstate *prog_owner;     /* the state that drew it */
    lstate *states;
    lstate *scripts;        /* created on first use */
    ltask *tasks;
    ltimer *timers;
    lhook *hooks;
    int next_id;            /* tasks, timers, hooks */
    unsigned gen;
    lwork *work;
    atomic_int interrupt;
    atomic_int n_training;  /* background lab.train threads not yet done (lhost_trainings) */
    struct tjob *trainings; /* every state's Trainings not yet collected (lab.trainings; host thread) */
    lstate *running;        /* innermost state whose Lua is on the C stack */
    int in_wait;            /* run_file / eval are ticking: they take Ctrl-C */
    bool soft_int_used;     /* script_int_catchable: the catchable Ctrl-C was given; later ones stop */
    int nest;               /* entries into Lua on the C stack, all states */
    double entry_t0;        /* when the outermost entry began (ui.busy) */
    double busy_at;         /* the next ui.busy call, not before */
    int64_t session;        /* lhost_set_session */
    /* lhost_pane_draw's output, valid until the next call */
    bool drawing;           /* a pane's on_draw is running: no nested draw */
    lhost_line *lines;
    int n_lines, cap_lines;
    char *text;
    size_t n_text, cap_text;
    /* lab.store (lab_store.c); used on the host's thread only */
    struct store *store;    /* read-write: opts.store (borrowed) or opened lazily (owned) */
    bool store_owned;
    struct store *store_ro; /* read-only fallback while another process writes; owned */
    char *store_dir;        /* what is opened lazily; NULL = no workspace */
    int store_rc;           /* why the last read-write open failed (STORE_E*), 0 */
    char *store_err;        /* its message */
    double store_retry;     /* monotonic time before which a busy workspace is not tried again */
    bool store_warned;      /* a failed commit was reported; quiet until one succeeds */
    double store_tick_at;   /* monotonic time of the budget hook's next store tick */
    struct store *_Atomic querying; /* the store a query step runs on, for lhost_interrupt */
    /* Thread pools the models' contexts borrow, one per thread count: every
     * ctx_eval runs on the one worker thread, so contexts never overlap, and
     * three models of a proxy-tuning step share one set of threads instead
     * of leaving two idle pools spinning against the busy one. */
    struct pool *pools[LHOST_MAX_POOLS];
    int n_pools;
    /* Model files open (lab_model.c): Models of one file with the same model
     * options share one `model`, so their contexts share its weight copies.
     * Behind files_lock: a Model's last reference may drop on the worker. */
    pthread_mutex_t files_lock;
    struct lfile *files;
};
/* The shared pool of n_threads (0 = all cores), created on first use; NULL
 * when it cannot be started (the context then starts its own). */
struct pool *lhost_pool(lhost *h, int n_threads);

double lhost_now(void);
/* The lstate of any thread of a state (the registry key). */
lstate *lhost_state(lua_State *L);
/* For C work that runs long inside one entry (a foreground lab.train):
 * the UI's "running Lua ... Ctrl-C stops it" line, as the count hook
 * shows it for Lua code. */
void lhost_busy_tick(lstate *st);
lhost *lhost_of(lua_State *L);

/* Creates a state: allocator, sandbox, the lab API. NULL with err set. */
/* Loads a Lua text chunk from a file, named "@path", onto L's stack (or
 * the error message; returns luaL_loadfile's codes): the file must be a
 * regular file of at most LHOST_MAX_CHUNK bytes (a FIFO would block, a
 * device never end), read into memory counted against the state's cap. */
#define LHOST_MAX_CHUNK ((uint64_t)16 << 20)
int lhost_loadfile(lua_State *L, const char *path);

/* The most memory any state of h may have: opts.mem_cap (--mem), or
 * 512 MiB. lab.budget and lab.plugin.load never go above it. */
size_t lhost_mem_ceiling(const lhost *h);
lstate *lhost_state_create(lhost *h, const char *name, bool is_plugin, size_t mem_cap,
                           double budget_s, char *err, size_t errlen);
/* Removes its tasks, timers and hooks, closes L (now, or when the outermost
 * entry leaves), records why. The lstate stays listed (plugins) until freed. */
void lhost_state_disable(lstate *st, const char *why);
void lhost_state_free(lstate *st);

/* Entries into Lua: set the budget, track nesting. */
void lhost_enter(lstate *st, lentry *e);
void lhost_leave(lentry *e);
/* The message for the stop reason of st (a budget, interrupt, memory). */
const char *lhost_stop_msg(lstate *st, char *buf, size_t cap);
/* Console output (UI print, else stdout / stderr). */
void lhost_print(lhost *h, const char *s, size_t n, bool is_error);
/* Calls fn(L, ud) protected in st's main thread under the budget. On error
 * err gets the message with a traceback and a plugin is disabled when
 * kill_plugin. Returns LHOST_OK, LHOST_ELUA or LHOST_EBUDGET. */
int lhost_call(lstate *st, lua_CFunction fn, void *ud, bool kill_plugin, char *err, size_t errlen);
/* A plugin's uncaught error: reported on the console, the plugin disabled. */
void lhost_plugin_failed(lstate *st, const char *err);
/* After a failed resume of co (or pcall on st->L when co is NULL): the
 * error object at the top of co becomes a message with co's traceback in
 * err. Protected; the error object is replaced by nil on co. */
void lhost_errmsg(lstate *st, lua_State *co, int status, char *err, size_t errlen);

/* Tasks (lsched.c). The function and nargs arguments on top of from's stack
 * (a thread of st) move to a new task, ready at the next tick pass. Raises
 * a memory error in from (call it protected). */
ltask *lsched_spawn(lstate *st, lua_State *from, int nargs, int kind);
ltask *lsched_find(lhost *h, lua_State *co);
/* Raises Ctrl-C's error in st's running code (L): a plugin's catchable
 * "plugin NAME: interrupted", anything else's sticky stop. */
int lhost_raise_interrupt(lua_State *L, lstate *st);
/* Whether a Ctrl-C just taken is the scripts' catchable one
 * (lhost_opts.script_int_catchable, once per lhost_run_file): then it is
 * marked given, and the caller raises it (lhost_raise_interrupt). */
bool lhost_take_soft_int(lstate *st);
/* Resumes t once (it must be ready). */
void lsched_resume(lhost *h, ltask *t);
void lsched_task_free(lhost *h, ltask *t);
/* Drops every task and timer of st. */
void lsched_drop_state(lhost *h, lstate *st);
int lsched_pending(const lhost *h, const lstate *st);   /* NULL st: all */
ltimer *lsched_timer_add(lstate *st, int fn_ref, double delay, double interval);
void lsched_timer_del(lhost *h, int id);
/* The budget hook runs at co's next instruction (then every HOOK_COUNT). */
void lhost_arm_hook(lua_State *co);

/* UI hooks (lab_ui.c) */
void lab_ui_drop_state(lhost *h, lstate *st);

/* Plugins (lplugin.c) */
lstate *lplugin_find(lhost *h, const char *name);
int lplugin_load_opts(lhost *h, const char *name_or_path, double budget_s, size_t mem_cap,
                      char *err, size_t errlen);

/* ---- the lab API (lab*.c) -------------------------------------------- */

/* Opens lab into L: the global `lab` and the sandboxed base library. */
int lab_open(lua_State *L);
/* Submodule openers: each pushes its table (or registers its types). */
int lab_open_model(lua_State *L);
int lab_open_seq(lua_State *L);
int lab_open_logits(lua_State *L);
int lab_open_smp(lua_State *L);
int lab_open_ui(lua_State *L);
int lab_open_fs(lua_State *L);
int lab_open_json(lua_State *L);
int lab_open_task(lua_State *L);
int lab_open_store(lua_State *L);
int lab_open_require(lua_State *L);     /* lab_require.c */
int lab_open_train(lua_State *L);       /* lab_train.c: lab.train into the lab table at 1 */
/* lab_train_bg.c: lab.train{background = true}. Registers the Training type. */
void lab_train_bg_open(lua_State *L);
/* lab.trainings() -> {status, ...}: every state's background trainings, each as
 * training:status() with owner= (the state's name: "script" or a plugin's). */
int lab_trainings(lua_State *L);
/* A run's <unk> counts (tokens=, unk_tokens=, warning= when given) into the table on top. */
struct trun_result;
void lab_train_push_unk(lua_State *L, const struct trun_result *r);
/* Prints the run's <unk> warning, if any, as an error line (console, stderr). */
void lab_train_warn(lhost *h, const struct trun_result *r);
/* Starts s on a thread (its inputs copied; lm, when not NULL, referenced) and
 * pushes a Training; ws_dir: the workspace the host records the run in, or
 * NULL. Returns 1, or 2 (nil, err). */
struct trun_spec;
int lab_train_start(lua_State *L, const struct trun_spec *s, lmodel *lm, const char *output_arg,
                    const char *ws_dir);
/* The ljob lab.await waits on for the Training at idx, or NULL if it is not one. */
ljob *lab_train_awaitable(lua_State *L, int idx);
/* When fin is a Training's (lab_train_awaitable), asks the run to stop after
 * its current step, with its checkpoint, as training:stop() does; returns
 * whether it was one. Host thread. */
bool lab_train_stop_fin(ljob *fin);
/* lab.fs's rules for a file to write: the joined path, or NULL with *why. */
const char *lab_fs_resolve_new(lua_State *L, int idx, char *full, size_t cap, const char **why);
/* lab.fs's rules for a file to read: its real path (PATH_MAX), or NULL with *why. */
const char *lab_fs_resolve_existing(lua_State *L, int idx, char *full, const char **why);
/* Replacing a workspace file whole (lab.fs.write, seq:save) is core's fout_tmp_create/commit. */
/* lab.store's read-write store, opened on first use; NULL with err set. */
struct store *lab_store_writer(lhost *h, char *err, size_t errlen);
/* Installs the sandbox: only the allowed libraries and wrapped functions. */
void lsandbox_open(lua_State *L);
/* lpat.c: string.find/match/gmatch/gsub with a step count (the stock
 * matcher is one C call the count hook cannot stop) into the table at idx. */
#define LPAT_TICK 4096
void lpat_open(lua_State *L, int idx);
/* For C code that loops on a script's behalf (the pattern matcher, the
 * sandbox's table functions): counts n steps as instructions and raises the
 * entry's stop error (time, instructions, interrupt), as the count hook
 * does; nothing outside an entry. */
void lhost_step(lua_State *L, unsigned n);
/* lbound.c: table.insert/remove/move/concat that tick, table.sort whose
 * comparisons tick, string.rep by doubling (the globals table and string). */
void lbound_open(lua_State *L);

/* Declares a userdata type: metatable tname with the meta functions and
 * __index = a table of methods, also stored as priv[short] for the Lua
 * layer. Leaves nothing on the stack. */
void lab_class(lua_State *L, const char *tname, const char *short_name, const luaL_Reg *methods,
               const luaL_Reg *meta);
/* Expected failure: pushes nil, msg; returns 2. */
int lab_fail(lua_State *L, const char *fmt, ...);

/* Pushes a Job userdata over j (takes a reference) and returns it. */
void lab_job_push(lua_State *L, ljob *j, const char *kind);
/* Logits userdata from a row (copied; NULL leaves it to the caller to
 * fill); m may be NULL. Returns the row inside the userdata. */
float *lab_logits_push(lua_State *L, lmodel *m, const float *row, int32_t n, bool probs);
/* Pushes the list {{id=, logprob=}, ...} of a top-n slot (ids < 0 end it
 * early: past the vocabulary), as seq:eval's top= and lab.score's top. */
void lab_top_push(lua_State *L, const int32_t *id, const float *lp, int32_t n);
/* The logits row of the Logits at idx (probabilities become log p in a
 * temporary userdata pushed on the stack). */
const float *lab_logits_check(lua_State *L, int idx, int32_t *n);
/* Samples from row with the Sampler at idx; accept: tell the chain. */
int32_t lab_smp_sample(lua_State *L, int idx, const float *row, int32_t n, bool accept);
/* The run seed of L's state (lab.seed): samplers made without a seed draw theirs from it. */
uint64_t lab_smp_run_seed(lua_State *L);
/* Sequences for other files (lab_seq.c): a Seq's state once settled (its
 * eval in flight waited for; raises unless idx is an open Seq). toks is
 * borrowed from the Seq, valid while it is on the stack and not changed. */
typedef struct lab_seq_state {
    lmodel *lm;
    int32_t id, n_eval, n;
    const int32_t *toks;
} lab_seq_state;
void lab_seq_get(lua_State *L, int idx, lab_seq_state *out);
bool lab_is_seq(lua_State *L, int idx);
/* Marks tokens [0, n_eval) of the Seq at idx as in the KV cache (a state
 * restored into its sequence, lab_kvstate.c). */
void lab_seq_set_cached(lua_State *L, int idx, int32_t n_eval);
/* priv.kv_save / priv.kv_load / priv.kv_dims (lab_kvstate.c), registered by lab_open_seq. */
void lab_open_kvstate(lua_State *L);
/* Token ids from idx (an id, a table of ids, or text: BOS when bos, text
 * continuing a sequence when cont) into a new userdata left on the stack. */
int32_t *lab_tokens_arg(lua_State *L, int idx, lmodel *lm, bool bos, bool special, bool cont, int32_t *n);
int lab_open_score(lua_State *L);      /* lab_score.c: seq:score, lab.score_batch */
/* lab_grammar / constrained decoding (gmatch.h). */
struct gmatch_ctx;
struct gmatch;
int lab_open_grammar(lua_State *L);
bool lab_grammar_is(lua_State *L, int idx);
/* The Grammar at idx bound to lm's vocabulary (cached in the Grammar; borrowed). */
struct gmatch_ctx *lab_grammar_ctx(lua_State *L, int idx, lmodel *lm);
/* The model of the Logits at idx, or NULL. */
lmodel *lab_logits_model(lua_State *L, int idx);
/* The constraint matcher of the Seq at idx, or NULL (borrowed). */
struct gmatch *lab_seq_gmatch(lua_State *L, int idx);
/* Constrains the Seq at idx by the Grammar at gidx from its current length. */
void lab_seq_constrain(lua_State *L, int idx, int gidx);
/* As lab_smp_sample, with the Logits at lidx (for its model) and the Seq at
 * sidx (0: none) whose constraint applies. Returns SMP_EMASK when the
 * constraint leaves no token (the caller reports it). */
int32_t lab_smp_sample_seq(lua_State *L, int idx, int lidx, int sidx, bool accept);
/* Sets the ljob of the Job userdata at idx (created with j == NULL). */
void lab_job_set(lua_State *L, int idx, ljob *j);

/* Pushes the JSON text of the value at idx, as lab.json.encode (raises for
 * values JSON cannot hold). */
void lab_json_push(lua_State *L, int idx);
/* Whether the value at idx is lab.json.null. */
bool lab_json_is_null(lua_State *L, int idx);
/* A model file by path, or a bare name in the host's model folders (as
 * lab.model.open finds it) into out. */
bool lab_model_find(lhost *h, const char *name, char *out, size_t cap);

/* lab.store's side of the host (lab_store.c). Ends st's open runs whose
 * owner task is `owner` (0: all of them) with status and error (the first
 * line of a message with a traceback is kept); failures go to the console. */
void lab_store_end_runs(lstate *st, int owner, const char *status, const char *error);
/* store_tick on the host's store (lhost_tick). */
void lab_store_tick(lhost *h);
/* Stops the query step running now, if any (any thread, signal-safe). */
void lab_store_interrupt(lhost *h);
/* Flushes the store, closes what lhost opened (after every state closed). */
void lab_store_close(lhost *h);

/* lab.progress (lab_progress.c): registered into the lab table at the top
 * of the stack. tick shows updates held back whose time has come; due is
 * when the next one is (monotonic seconds, -1 none); hide/show clear the
 * terminal line around other output and draw it again; drop_state forgets
 * a closing state's line; close clears the terminal line (lhost_destroy). */
int lab_open_progress(lua_State *L);
void lab_progress_tick(lhost *h);
double lab_progress_due(const lhost *h);
void lab_progress_hide(lhost *h);
void lab_progress_show(lhost *h);
void lab_progress_drop_state(lstate *st);
void lab_progress_close(lhost *h);

/* Embedded Lua sources (generated from the lua/ Lua files into build/lua/embed.c). */
typedef struct lembed {
    const char *name;
    const char *src;
} lembed;
extern const lembed lembed_files[];

#endif
