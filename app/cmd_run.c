/* cmd_run: `logitlab run [options] SCRIPT.lua [args...]`. Options end at the
 * script: everything after it goes to the script as `arg` / `...`. The host
 * runs the script as a task and ticks until it and everything it started
 * (tasks, timers) has finished; the exit status is 1 when the script or one
 * of its tasks failed (the error and traceback on stderr).
 *
 * The workspace: -w DIR is lab.fs's folder and lab.store's workspace; a
 * folder that does not exist yet is created as a new workspace.
 * Without it lab.fs has none (nil, err), while lab.store uses the default
 * workspace (workspaces/default, as `logitlab runs`, `export` and the
 * workbench), opened only if the script calls it.
 *
 * Ctrl-C: the first raises "script: interrupted" in the script, an error
 * pcall catches (lhost_opts.script_int_catchable), wherever its tasks wait:
 * the engine step stops at the model's next layer, a Training awaited after
 * its step, timers alone stop; its cleanup runs, and the runs it
 * leaves open end "interrupted"; uncaught, the exit status is 130. A second
 * one stops the script as the REPL's does (pcall cannot catch it): its runs
 * still end "interrupted" with their records saved, exit status 130. A
 * third (the process stuck in a long C call) exits at once, 130: SQLite
 * keeps the last committed batch, and the runs left "running" read
 * "interrupted" when the workspace is next opened. Started with SIGINT
 * ignored (a background job of a non-interactive shell), it stays ignored.
 */
#include "cmd_run.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lhost.h"
#include "pdirs.h"
#include "store.h"
#include "tok.h"

#define CMD "run"

static const cli_opt opts[] = { CMD_RUN_OPTS };
static const cli_spec spec = {
    CMD, "[options] SCRIPT.lua [args...]",
    "Runs a Lua script with the lab API (docs/lua-api.md), without the workbench.\n"
    "Arguments after the script are the script's: arg[1], arg[2], ... and `...`.\n"
    "lab.store records into the workspace (-w DIR, default " STORE_DEFAULT_DIR ").",
    opts, (int)(sizeof opts / sizeof opts[0]), 0, 0,
};

static lhost *volatile g_host;
static volatile sig_atomic_t g_ints;

/* Only async-signal-safe calls here: lhost_interrupt, write, _exit. */
static void on_sigint(int sig) {
    (void)sig;
    int n = ++g_ints;
    if (!g_host) n = 3;                 /* the script is over: the host is being freed, nothing to stop */
    if (n == 2) {
        static const char m[] = "\nlogitlab run: interrupted again: stopping the script (Ctrl-C once more exits at once)\n";
        ssize_t r = write(2, m, sizeof m - 1);
        (void)r;
    } else if (n >= 3) {
        static const char m[] = "\nlogitlab run: Ctrl-C again: exiting now (runs left open read "
                                "\"interrupted\" when the workspace is next opened)\n";
        ssize_t r = write(2, m, sizeof m - 1);
        (void)r;
        _exit(CMD_RUN_INTERRUPTED);
    }
    if (g_host) lhost_interrupt(g_host);
}

int cmd_run_host(const char *cmd, const cli_args *a, bool catchable, lhost **out) {
    long mem = 1024, threads = 0;
    double budget = 60;
    int rc = cli_int(cmd, "--mem", a->val[3], 1, 1L << 20, &mem);
    if (!rc) rc = cli_int(cmd, "--threads", a->val[4], 0, 1024, &threads);
    if (rc) return rc;
    if (a->val[2]) {
        char *end;
        budget = strtod(a->val[2], &end);
        if (!*a->val[2] || *end || !(budget >= 0) || isinf(budget))
            return cli_usage_error(cmd, "--budget must be a number of seconds >= 0, got '%s'", a->val[2]);
    }
    if (a->val[5]) {           /* the syntax now; names and ids are read against each model's vocabulary */
        char terr[256];
        int32_t ids[LHOST_MAX_END];
        if (strlen(a->val[5]) >= sizeof ((lhost_opts *)0)->end_tokens)
            return cli_usage_error(cmd, "--end-tokens: at most %d bytes", (int)sizeof ((lhost_opts *)0)->end_tokens - 1);
        if (tok_parse_ids(NULL, a->val[5], ids, LHOST_MAX_END, terr, sizeof terr) < 0)
            return cli_usage_error(cmd, "--end-tokens: %s", terr);
    }
    struct stat wst;           /* a file is no workspace: lab.store would not record, lab.fs not write */
    if (a->val[0] && stat(a->val[0], &wst) == 0 && !S_ISDIR(wst.st_mode))
        return cli_fail(cmd, "-w %s: not a folder (a workspace is a folder)", a->val[0]);
    if (a->val[0] && access(a->val[0], F_OK) != 0) {
        /* a new workspace: made as the workbench makes one (folder,
         * config.lua, plugins/, logitlab.db), so lab.fs has its folder */
        store *s;
        char serr[1024];
        if (store_open(&s, a->val[0], NULL, serr, sizeof serr) != STORE_OK) return cli_fail(cmd, "%s", serr);
        store_close(s);
    }
    pdirs pd;                       /* plugins/ here, and beside the program */
    pdirs_default(&pd);
    lhost_opts o;
    lhost_opts_default(&o);
    o.plugin_dirs = pd.list;
    o.workspace = a->val[0];
    o.store_dir = a->val[0] ? NULL : STORE_DEFAULT_DIR;   /* lab.store's default, opened on first use */
    o.budget_s = budget > 0 ? budget : -1;
    o.mem_cap = (size_t)mem << 20;
    o.n_threads = (int)threads;
    o.script_int_catchable = catchable;
    if (a->val[5]) snprintf(o.end_tokens, sizeof o.end_tokens, "%s", a->val[5]);
    char err[1024];
    if (lhost_create(out, &o, err, sizeof err) != LHOST_OK) return cli_fail(cmd, "%s", err);
    if (a->val[1]) lhost_plugin_load_all(*out);
    return CLI_OK;
}

/* Index of the script in argv: the first argument that is not an option
 * or an option's value. */
static int script_index(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (strcmp(s, "--") == 0) return i + 1;
        if (s[0] != '-' || !s[1]) return i;
        bool takes = false;
        for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++) {
            if (!opts[k].arg) continue;
            size_t n = strlen(opts[k].name);
            if ((s[1] == '-' && strcmp(s + 2, opts[k].name) == 0) ||
                (s[1] == opts[k].short_name && !s[2]))
                takes = true;
            else if (s[1] == '-' && strncmp(s + 2, opts[k].name, n) == 0 && s[2 + n] == '=')
                takes = false;
        }
        if (takes) i++;
    }
    return argc;
}

int cmd_run(int argc, char **argv) {
    int si = script_index(argc, argv);
    int pre = si < argc ? si : argc;
    if (si < argc && si > 0 && strcmp(argv[si - 1], "--") == 0) pre = si - 1;
    cli_args a;
    int rc = cli_parse(&spec, pre, argv, &a);
    if (rc == CLI_HELP) return CLI_OK;
    if (rc) return rc;
    if (si >= argc) return cli_usage_error(CMD, "missing the script (usage: logitlab run %s)", spec.usage);
    /* `run --plugins plugins x.lua`: a flag's would-be value is taken as the
     * script; when that is a folder, or no file and not named .lua, and an
     * argument follows (the script meant), say the flag takes no value */
    struct stat sst;
    const char *prev = si > 1 ? argv[si - 1] : "", *sc = argv[si];
    size_t sl = strlen(sc);
    bool missing = stat(sc, &sst) != 0, lua = sl >= 4 && strcmp(sc + sl - 4, ".lua") == 0;
    if (prev[0] == '-' && strcmp(prev, "--") != 0 && si + 1 < argc &&
        ((!missing && S_ISDIR(sst.st_mode)) || (missing && !lua))) {
        for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++) {
            if (opts[k].arg) continue;
            if ((prev[1] == '-' && strcmp(prev + 2, opts[k].name) == 0) || (opts[k].short_name && prev[1] == opts[k].short_name && !prev[2]))
                return cli_usage_error(CMD, "%s: %s (%s takes no value: the script is the first argument after the options)",
                                       sc, missing ? "no such file" : "a folder, not a regular file", prev);
        }
    }
    lhost *h;
    if ((rc = cmd_run_host(CMD, &a, true, &h)) != CLI_OK) return rc;
    static char err[65536];
    g_ints = 0;
    g_host = h;
    struct sigaction old;               /* kept ignored where it was inherited so (cli_sigint_catch) */
    bool caught = cli_sigint_catch(on_sigint, &old);
    rc = lhost_run_file(h, argv[si], argc - si - 1, argv + si + 1, true, err, sizeof err);
    int out_errno = lhost_out_errno(h);
    g_host = NULL;                      /* a Ctrl-C while the host is freed (its runs ended, the store flushed) exits */
    lhost_destroy(h);
    cli_sigint_restore(caught, &old);
    if (rc != LHOST_OK) {
        fflush(stdout);
        fprintf(stderr, "logitlab run: %s\n", err);
        if (g_ints) fprintf(stderr, "logitlab run: stopped by Ctrl-C (exit status %d)\n", CMD_RUN_INTERRUPTED);
        return g_ints ? CMD_RUN_INTERRUPTED : CLI_FAIL;
    }
    if (out_errno) return cli_fail(CMD, "cannot write the output (standard output): %s", strerror(out_errno));
    return CLI_OK;
}
