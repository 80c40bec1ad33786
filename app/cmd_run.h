/* cmd_run: `logitlab run SCRIPT.lua [args...]`: runs a Lua script headless
 * with the lab API (lua/lhost.h), and the host setup it shares with `repl`. */
#ifndef CMD_RUN_H
#define CMD_RUN_H
#include "cli.h"

struct lhost;

/* argv[0] is "run"; returns the process exit status (CLI_OK, CLI_FAIL, CLI_USAGE,
 * or CMD_RUN_INTERRUPTED when Ctrl-C stopped the script). */
int cmd_run(int argc, char **argv);

/* The options `run` and `repl` share (-w, --plugins, --budget, --mem, -t, --end-tokens),
 * in this order at the start of an option table. */
#define CMD_RUN_OPTS                                                                                          \
    { "workspace", 'w', "DIR", "workspace folder: lab.store records there, lab.fs reads and writes only under it, its plugins/ load too" }, \
    { "plugins", 0, NULL, "load the plugins in plugins/ and the workspace's plugins/ first" },               \
    { "budget", 0, "S", "time budget per Lua callback in seconds (default 60; 0 = none)" },                    \
    { "mem", 0, "MIB", "memory cap per Lua state in MiB (default 1024)" },                                   \
    { "threads", 't', "N", "engine threads per model (default: all cores)" },                                \
    { "end-tokens", 0, "LIST", "lab.generate also stops at these tokens in every model: bos, eos, eot, unk or ids (bos: where llama2.c models end a story)" }
enum { CMD_RUN_N_OPTS = 6 };
enum { CMD_RUN_INTERRUPTED = 130 };     /* 128 + SIGINT, as a shell reports a Ctrl-C'd command */

/* Creates the host from those options (a[0..6) as cli_parse filled them);
 * catchable: lhost_opts.script_int_catchable (run: yes; repl: no, Ctrl-C
 * there drops the line's work). Prints a message and returns CLI_FAIL /
 * CLI_USAGE on failure. */
int cmd_run_host(const char *cmd, const cli_args *a, bool catchable, struct lhost **out);
#endif
