/* lhost: the Lua host. Runs scripts, the REPL and plugins over the `lab` API
 * (docs/lua-api.md) and is the only thing app/ (the CLI and the TUI) calls in
 * lua/.
 *
 * Shape. One host owns: a worker thread that runs engine work (ctx_eval
 * batches) off the caller's thread; one lua_State per plugin (each with its
 * own allocator capped at opts.mem_cap, its own sandboxed environment) plus
 * one for scripts and the REPL; the tasks (coroutines), timers and UI hooks
 * those states created. Plugin code runs in coroutines: `lab.await(job)`
 * yields until the worker finishes, and lhost_tick resumes it. Nothing in
 * lua/ blocks the caller except lhost_run_file(wait=true) and lhost_drain.
 *
 * Threads. Every function here is called from one thread (the TUI's or the
 * CLI's), except lhost_interrupt, which any thread or a signal handler may
 * call. The lhost_ui callbacks are called on that same thread, from inside
 * lhost_* calls; they must not call back into lhost_* (record, then act after
 * the call returns), except `print`, which only writes.
 *
 * Typical TUI use: lhost_create with a filled lhost_ui; lhost_plugin_load_all;
 * in the event loop poll stdin and lhost_wake_fd() with a timeout of at
 * most lhost_next_ms(), then lhost_tick(h, 0); call lhost_command_run /
 * lhost_key_run / lhost_pane_draw / lhost_pane_key / lhost_status_get by the
 * ids the adapter received; lhost_interrupt on the kill key;
 * lhost_destroy at exit.
 *
 * Budgets. Every entry into Lua (a task's resume, a timer, a UI callback, a
 * REPL line) runs under a budget: an instruction-count hook stops it after
 * budget_s seconds (and after budget_instr VM instructions, when set) with
 * "plugin NAME: time budget of X s exceeded". A plugin over its budget or
 * its memory cap, or raising an error, gets a traceback on the console and
 * is disabled; the host and the other plugins go on. A script or REPL line
 * that fails only ends that script or line. Lua may raise its own budget
 * with lab.budget{seconds=...} (long experiments).
 *
 * Workspace store. lab.store (runs, records, metrics, read-only queries)
 * uses opts.store, or a store lhost opens itself (opts.store_dir). Runs a
 * Lua state began and did not end are ended for it: when the script ends
 * ("ok", or "failed" with its error), when a plugin is disabled, unloaded or
 * fails ("cancelled", or "failed" with its error), at lhost_destroy.
 *
 * Headless. With opts.ui == NULL, lab.print goes to stdout, errors to
 * stderr, and the UI hooks (lab.ui.*) are accepted and do nothing.
 *
 * Errors: 0 ok or a negative LHOST_E*, and a one-line message in err.
 */
#ifndef LHOST_H
#define LHOST_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct lhost lhost;
struct store;

enum {
    LHOST_OK = 0,
    LHOST_EINVAL = -1,      /* bad argument, unknown id, bad manifest */
    LHOST_ENOMEM = -2,
    LHOST_ELUA = -3,        /* the Lua code raised an error (message in err) */
    LHOST_EINCOMPLETE = -4, /* lhost_eval: the line is an unfinished chunk; add lines */
    LHOST_ENOENT = -5,      /* no such file or plugin */
    LHOST_EDISABLED = -6,   /* the plugin owning the id is disabled */
    LHOST_EBUDGET = -7      /* stopped: time budget, memory cap or lhost_interrupt */
};

/* ---- the UI adapter: implemented by the TUI, NULL in headless mode -------
 *
 * Hook ids are positive, unique for the host's lifetime, never reused. When a
 * plugin is disabled, reloaded or unloaded, `del` is called for each of its
 * hooks before it goes. Strings passed to callbacks are borrowed for the
 * duration of the call: copy what you keep. Any slot may be NULL.
 *
 * Key names (key bindings and pane keys), one spelling each: a printable
 * character as itself ("j", "?", "J"), "C-a".."C-z", "M-x" (Alt), "Enter",
 * "Esc", "Tab", "S-Tab", "Backspace", "Delete", "Insert", "Up", "Down",
 * "Left", "Right", "Home", "End", "PageUp", "PageDown", "F1".."F12", "Space".
 * lhost_key_valid says whether a name is one of them. */
typedef struct lhost_ui {
    void *ud;   /* passed back to every callback */
    /* Console output: one message, no trailing newline needed; is_error for
     * errors and tracebacks (show them in red). text may hold newlines. */
    void (*print)(void *ud, const char *text, size_t len, bool is_error);
    /* A plugin registered a command (":name args" in the TUI). */
    void (*command_add)(void *ud, int id, const char *plugin, const char *name, const char *help);
    /* A global key binding. key is a key name as above. */
    void (*key_add)(void *ud, int id, const char *plugin, const char *key, const char *help);
    /* A pane: the TUI shows it with the title, calls lhost_pane_draw to get
     * its lines and lhost_pane_key for keys while it has focus. */
    void (*pane_add)(void *ud, int id, const char *plugin, const char *title);
    /* A status-bar item: the TUI calls lhost_status_get for its text. */
    void (*status_add)(void *ud, int id, const char *plugin, const char *name);
    /* Remove hook `id` (any kind). */
    void (*del)(void *ud, int id);
    /* Something a pane or status item shows changed (lab.ui.redraw()):
     * redraw soon. */
    void (*redraw)(void *ud);
    /* lab.ui.loom_open(text): open text (len bytes, not NUL-terminated) as a
     * prompt in the branch tree and show it. 0, or -1 with a message in err.
     * NULL: lab.ui.loom_open answers nil, err. */
    int (*loom_open)(void *ud, const char *text, size_t len, char *err, size_t errlen);
    /* Lua has been running for `seconds` without returning (a runaway loop
     * or a long computation): called from inside it, about four times a
     * second once past half a second, so that the UI can say that Ctrl-C
     * (lhost_interrupt) stops it. who: the plugin's name or "script". It
     * must not call into lhost. NULL: nothing. */
    void (*busy)(void *ud, const char *who, double seconds);
    /* lab.ui.loom_replay([id]): draw node id (-1: the selected one) of the
     * branch tree again as a sibling with its recorded settings and
     * generator state. 0, or -1 with a message in err. NULL: nil, err. */
    int (*loom_replay)(void *ud, int64_t id, char *err, size_t errlen);
    /* lab.ui.loom_path(): the token ids of the branch tree's selected path
     * (the prompt's, BOS included, then the generated ones) into ids, at
     * most cap of them; returns how many the path has (more than cap: ask
     * again with room), or -1 with a message in err. NULL: lab.ui.loom_path
     * answers nil, err. */
    int32_t (*loom_path)(void *ud, int32_t *ids, int32_t cap, char *err, size_t errlen);
    /* The number pane hook id is shown with (1-based: the digit or :pane N
     * that shows it), 0 when it is not on screen yet. NULL: none. */
    int (*pane_number)(void *ud, int id);
} lhost_ui;

/* ---- creating a host ----------------------------------------------------- */

typedef struct lhost_opts {
    /* Plugin folders, searched in order by lhost_plugin_load_all; each plugin
     * is DIR/NAME.lua or DIR/NAME/init.lua. NULL-terminated; NULL = none.
     * The workspace's plugins/ folder is added after these. */
    const char *const *plugin_dirs;
    /* Workspace folder: lab.fs reads and writes only under it; NULL = no
     * workspace (lab.fs returns nil, err). */
    const char *workspace;
    /* The workspace store lab.store writes to and queries (core/store.h),
     * opened read-write by the host program and BORROWED: it must stay open
     * until lhost_destroy has returned (which ends the runs Lua left open
     * and flushes it, but does not close it). lhost_tick calls store_tick
     * on it. NULL: lhost opens store_dir itself on the first lab.store call
     * that needs it (read-write; while another process holds the workspace,
     * writes give nil, err and queries open it read-only) and closes it in
     * lhost_destroy. */
    struct store *store;
    /* The folder lhost opens when store is NULL; NULL = workspace (and with
     * neither, lab.store returns nil, err). `logitlab run` and `repl` pass
     * workspaces/default when no -w is given. */
    const char *store_dir;
    /* Folders where lab.model.open looks up a bare model name (no '/') that
     * is not a file in the current folder; NULL-terminated; NULL = "models",
     * $LOGITLAB_SHARED/models, "../shared/models" (as the CLI). */
    const char *const *model_dirs;
    double budget_s;        /* time per Lua entry; 0 = 10 s; < 0 = no limit */
    uint64_t budget_instr;  /* VM instructions per entry; 0 = no limit */
    size_t mem_cap;         /* bytes per lua_State (plugin, or scripts/REPL); 0 = 512 MiB */
    int n_threads;          /* threads for each engine context; 0 = all cores */
    const lhost_ui *ui;     /* copied; NULL = headless */
    /* lhost_plugin_load_all loads only the plugins of these names (a file
     * NAME.lua or folder NAME/ of a plugin folder), NULL-terminated, and
     * names those it did not find on the console; NULL = every plugin. */
    const char *const *plugin_names;
    /* Ctrl-C (lhost_interrupt) in a script raises "script: interrupted", an
     * ordinary error that pcall catches (so its cleanup runs), in the code on
     * the CPU or in the tasks waiting in lab.await (on engine work, another
     * task or a background Training) or in lab.sleep (their Jobs cancelled,
     * a Training awaited stopped after its step), instead of the stop that
     * drops the scripts' tasks; a script left with only timers has them
     * stopped and ends with that error. `logitlab run` sets it: there a second Ctrl-C ends the
     * process. Plugins are unaffected. */
    bool script_int_catchable;
    /* The end tokens of every Model opened without lab.model.open's
     * end_tokens option, as tok_parse_ids reads them ("bos", "bos,13"; ""
     * none): `run --end-tokens` (llama2.c models end a story with BOS). */
    char end_tokens[128];
} lhost_opts;

enum { LHOST_MAX_END = 16 };    /* end tokens per Model */

void lhost_opts_default(lhost_opts *o);
int lhost_create(lhost **out, const lhost_opts *o, char *err, size_t errlen);
/* Cancels every task and timer, waits for the worker, frees every state. */
void lhost_destroy(lhost *h);

/* errno of the first write to stdout that failed (Lua's print without a UI),
 * 0 if none did: `logitlab run` reports it, as the stream itself no longer
 * can (it drops what it could not write). */
int lhost_out_errno(const lhost *h);

/* ---- scripts and the REPL ------------------------------------------------ */

/* Runs a Lua file in the scripts state as a task, with `arg` = {[0]=path,
 * argv[0..argc)} and `...` = the arguments. wait: drive lhost_tick (blocking
 * on the worker and timers) until the script and every task and timer it
 * started have finished (headless `logitlab run`); otherwise the script's
 * first slice runs now and lhost_tick runs the rest. LHOST_ELUA with the
 * error and traceback in err when it fails. */
int lhost_run_file(lhost *h, const char *path, int argc, char *const *argv, bool wait,
                   char *err, size_t errlen);

/* Evaluates one REPL chunk in the scripts state (globals persist between
 * calls): first as `return LINE` (an expression), else as a statement. Each
 * result is printed as by lab.inspect; errors are printed too (and returned).
 * LHOST_EINCOMPLETE when the chunk is unfinished (the caller reads another
 * line, appends it with '\n' and calls again). The chunk runs as a task, so
 * lab.await works; wait as in lhost_run_file. */
int lhost_eval(lhost *h, const char *chunk, bool wait, char *err, size_t errlen);

/* ---- the event loop ----------------------------------------------------- */

/* Resumes tasks whose engine work completed, fires due timers, and reaps
 * finished tasks; never blocks longer than timeout_ms (0 = poll only, -1 =
 * until something happens or nothing is pending). Returns the number of
 * tasks and timers still pending (0 = idle). */
int lhost_tick(lhost *h, int timeout_ms);

/* The workbench's session (its id in the workspace store; 0: none):
 * lab.store.run_begin records it with a run that names no session. */
void lhost_set_session(lhost *h, int64_t session);
/* Milliseconds until the next timer or sleep is due, 0 when work is ready
 * now, -1 when nothing is due (tasks may still wait on the engine: those
 * wake through lhost_wake_fd). A bound for the TUI's input timeout. */
int lhost_next_ms(const lhost *h);
/* A file descriptor that becomes readable when the worker finished a job
 * (poll it with stdin, then call lhost_tick); lhost_tick empties it. A TUI
 * that does not poll it should tick every ~20 ms while tasks are pending. */
int lhost_wake_fd(const lhost *h);
/* lhost_tick until idle (or until lhost_interrupt). */
int lhost_drain(lhost *h);

/* Stops the Lua code running now with "interrupted" (checked every 1000 VM
 * instructions): in a plugin's entry younger than half a second one error,
 * "plugin NAME: interrupted", that pcall catches (the plugin stays); past
 * that a stop pcall cannot swallow, and a plugin so stopped is disabled. While lhost_run_file or
 * lhost_eval wait (wait = true) or lhost_drain runs, it also cancels the
 * scripts' pending tasks and timers and they return LHOST_EBUDGET. When no
 * Lua runs, the request is dropped at the next lhost_tick. It also wakes
 * the host's poll (lhost_wake_fd), so a run or eval waiting for the engine
 * sees it at once, not when the job ends. Thread-safe and
 * async-signal-safe (the REPL calls it from its SIGINT handler; the TUI from
 * another thread or between two ticks while a callback hangs). */
void lhost_interrupt(lhost *h);

/* Background lab.train runs (any state's) still training: the workbench
 * asks before quitting stops them (each after its step, checkpoint kept). */
int lhost_trainings(lhost *h);
/* Ctrl-C for the work that waits rather than runs (the host's thread only,
 * not a signal handler): every task suspended in lab.await on engine work
 * not yet done (a Job: an eval, a search's step) is woken at the next tick
 * by an error from that lab.await: in a plugin "plugin NAME: interrupted",
 * which its pcall catches to end the work cleanly (the plugin stays); in a
 * script or the console the sticky stop lhost_interrupt gives. A Job still
 * queued is cancelled (awaited again, it fails "cancelled (Ctrl-C)"); one
 * the worker is running stops at the model's next layer and fails
 * "cancelled", the batches it finished kept. Tasks sleeping or awaiting
 * another task, and work begun later, are not touched. Returns how many
 * tasks it woke. */
int lhost_interrupt_waiting(lhost *h);

/* ---- plugins ------------------------------------------------------------- */

typedef struct lhost_plugin_info {
    const char *name;           /* manifest name */
    const char *path;           /* the file it was loaded from */
    const char *description;
    int api_level;
    bool enabled;
    const char *error;          /* why it was disabled, or NULL */
    size_t mem_used;            /* bytes its lua_State holds */
} lhost_plugin_info;

/* Loads every plugin found in the plugin folders; a plugin that fails is
 * reported on the console and skipped. Returns how many loaded. */
int lhost_plugin_load_all(lhost *h);
/* Loads one plugin by file path or by name (searched in the folders:
 * DIR/NAME.lua, DIR/NAME/init.lua). The chunk must return a manifest
 * {name=, api_level=, description=, on_load=, on_unload=}; it is checked,
 * then on_load's first slice runs. A loaded plugin of the same name is
 * replaced only once the new one loaded (a broken new version leaves the old
 * one running). LHOST_ENOENT, LHOST_ELUA or LHOST_EBUDGET with err set. */
int lhost_plugin_load(lhost *h, const char *name_or_path, char *err, size_t errlen);
/* Loads the plugin's file again (its on_unload runs before the old state
 * closes). */
int lhost_plugin_reload(lhost *h, const char *name, char *err, size_t errlen);
/* Stops the plugin's tasks and timers, removes its hooks, closes its state;
 * it stays listed as disabled. */
int lhost_plugin_disable(lhost *h, const char *name, char *err, size_t errlen);
int lhost_plugin_count(const lhost *h);
/* In load order. Borrowed strings, valid until the next lhost_* call. i in
 * [0, count). */
int lhost_plugin_get(const lhost *h, int i, lhost_plugin_info *out);

/* ---- what the TUI calls back -------------------------------------------- */

/* Runs a registered command with the rest of the command line (may be "" or
 * NULL) as its argument; the handler runs as a task: its first slice now,
 * the rest from lhost_tick when it awaits. An error in it is reported on
 * the console and disables its plugin; the return value only says whether
 * the handler could be started (LHOST_EINVAL for an unknown id). */
int lhost_command_run(lhost *h, int id, const char *args, char *err, size_t errlen);
/* Id of a registered command by name, or LHOST_ENOENT. */
int lhost_command_find(const lhost *h, const char *name);
/* Runs a key binding's handler (as a task). */
int lhost_key_run(lhost *h, int id, char *err, size_t errlen);

/* How a pane's line is shown: on_draw may give a line as {text, style =
 * NAME}; the names are lhost_style_names (the TUI maps them to its palette). */
enum { LHOST_STYLE_NORMAL = 0, LHOST_STYLE_DIM, LHOST_STYLE_BOLD, LHOST_STYLE_OK, LHOST_STYLE_ERROR,
       LHOST_STYLE_WARN, LHOST_STYLE_LABEL, LHOST_STYLE_KEY, LHOST_STYLE_HEADER, LHOST_STYLE_SELECT,
       LHOST_STYLE_PROMPT, LHOST_N_STYLES };
extern const char *const lhost_style_names[LHOST_N_STYLES];
/* One line of a pane: text (UTF-8, no newline) borrowed from the host, and
 * its style (LHOST_STYLE_*). */
typedef struct lhost_line {
    const char *text;
    size_t len;
    int style;
} lhost_line;
/* Calls the pane's on_draw(width, height) (synchronously: it should not
 * wait on the engine) and returns its lines: *lines is valid until the next
 * lhost_* call, *n may exceed height (the TUI clips), text is UTF-8 and may
 * be wider than width. An error disables the plugin (LHOST_ELUA). */
int lhost_pane_draw(lhost *h, int id, int width, int height, const lhost_line **lines, int *n,
                    char *err, size_t errlen);
/* Flags from lhost_pane_key. */
enum { LHOST_KEY_IGNORED = 0, LHOST_KEY_HANDLED = 1, LHOST_KEY_REDRAW = 2 };
/* Gives the focused pane a key (a key name); returns LHOST_KEY_* flags, or a
 * negative code. */
int lhost_pane_key(lhost *h, int id, const char *key, char *err, size_t errlen);
/* Text of a status item into buf (NUL terminated, truncated to cap); 0 or
 * a negative code (buf then ""). Call it on every status-bar redraw. */
int lhost_status_get(lhost *h, int id, char *buf, size_t cap);
/* The live progress lines of the states (lab.progress in the workbench),
 * "NAME: text" joined by " | ", into buf (cut to cap); returns the length
 * ("" when none). For the status bar. */
size_t lhost_progress_status(lhost *h, char *buf, size_t cap);

/* Whether key is a valid key name (see lhost_ui). */
bool lhost_key_valid(const char *key);

/* ---- a workspace's config.lua -------------------------------------------- */

/* What config.lua set; NULL / 0 for what it left out. */
typedef struct lconfig {
    char *model;            /* the default model: a path or a name in the model folders */
    char **sampler;         /* name, value, name, value, ... NULL: settings for :set (session_set)
                             * as text, sorted by name ("chain" is read as "order") */
    int n_sampler;          /* pairs */
    char **plugins;         /* plugin names to load, sorted, NULL-terminated; none: every plugin */
    int n_plugins;
} lconfig;

/* Runs the config file at path in a sandboxed state of its own (1 s, 16 MiB)
 * and checks what it returns: { model = "...", sampler = { temp = 0.8, ... },
 * plugins = { "name", ... } }, every field optional. LHOST_OK; LHOST_ENOENT
 * when there is no file; otherwise an error (err names the file, the line or
 * the field) and out is empty. Free out with lconfig_free. */
int lconfig_read(const char *path, lconfig *out, char *err, size_t errlen);
void lconfig_free(lconfig *c);

#endif
