/* cmd_export: `logitlab export -w DIR [--run ID] --format jsonl|csv [-o FILE]`
 * writes the runs of a workspace (all, or one) with their records and
 * metrics to stdout or a file. The workspace is opened read-only, so this
 * works while a workbench is using it (it sees what has been committed).
 *
 * -o FILE never harms what is there on a failure: the run is checked before
 * any file is touched; a regular file (or a new one) is written as a
 * temporary file beside it and renamed into place only when complete
 * (fout.h: a symbolic link is followed, so the link stays and its target is
 * replaced); anything else (/dev/null, a FIFO, a terminal) is written in
 * place and never removed.
 */
#include "cmd_export.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "fout.h"
#include "store.h"

enum { O_WORKSPACE, O_RUN, O_FORMAT, O_OUTPUT };
static const cli_opt opts[] = {
    { "workspace", 'w', "DIR", "the workspace folder (default " STORE_DEFAULT_DIR ")" },
    { "run", 0, "ID", "only this run (default: every run, then the records of no run)" },
    { "format", 0, "FMT", "jsonl (default: one JSON object per line) or csv (RFC 4180)" },
    { "output", 'o', "FILE", "write to FILE instead of stdout" },
};
static const cli_spec spec = {
    "export", "[-w DIR] [--run ID] [--format jsonl|csv] [-o FILE]",
    "Writes runs with their records and metrics, for pandas, jq or a spreadsheet.\n"
    "JSON Lines: {\"type\":\"run\"|\"record\"|\"metric\",...} per line. CSV: the columns\n"
    "type,run,id,name,step,value,time,data, one row per run, record and metric.\n"
    "docs/workspaces.md describes both.",
    opts, (int)(sizeof opts / sizeof opts[0]), 0, 0,
};

int cmd_export(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&spec, argc, argv, &a);
    if (rc) return rc == CLI_HELP ? CLI_OK : rc;
    long run = 0;
    if ((rc = cli_int("export", "--run", a.val[O_RUN], 1, 0x7fffffffffffffffL, &run))) return rc;
    int fmt = a.val[O_FORMAT] ? store_export_format(a.val[O_FORMAT]) : STORE_JSONL;
    if (fmt < 0) return cli_usage_error("export", "--format must be jsonl or csv, got '%s'", a.val[O_FORMAT]);
    const char *dir = a.val[O_WORKSPACE] ? a.val[O_WORKSPACE] : STORE_DEFAULT_DIR;
    store_opts o;
    store_opts_default(&o);
    o.flags = STORE_RDONLY;
    store *s;
    char err[1024];
    if (a.val[O_OUTPUT] && store_own_path(dir, a.val[O_OUTPUT]))
        return cli_usage_error("export", "-o %s is a file of the workspace %s itself (its data would be replaced)",
                               a.val[O_OUTPUT], dir);
    if (store_open(&s, dir, &o, err, sizeof err)) return cli_fail("export", "%s", err);
    if (run) {   /* a run that is not there fails before any output exists */
        store_run *r = NULL;
        rc = store_run_get(s, run, &r, err, sizeof err);
        store_free(r);
        if (rc) {
            store_close(s);
            return cli_fail("export", "%s", err);
        }
    }
    const char *path = a.val[O_OUTPUT];
    fout of = { .f = stdout };
    if (path && strcmp(path, "-") != 0 && fout_open(&of, path, err, sizeof err)) {
        store_close(s);
        return cli_fail("export", "%s", err);
    }
    rc = store_export(s, of.f, fmt, run, err, sizeof err);
    store_close(s);
    if (of.f != stdout && fout_close(&of, rc == 0, err, sizeof err) && !rc) rc = STORE_EIO;
    return rc ? cli_fail("export", "%s", err) : CLI_OK;
}
