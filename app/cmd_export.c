/* cmd_export: `logitlab export -w DIR [--run ID] --format jsonl|csv [-o FILE]`
 * writes the runs of a workspace (all, or one) with their records and
 * metrics to stdout or a file. The workspace is opened read-only, so this
 * works while a workbench is using it (it sees what has been committed).
 *
 * -o FILE never harms what is there on a failure: the run is checked before
 * any file is touched; a regular file (or a new one) is written as a
 * temporary file beside it and renamed into place only when complete (a
 * symbolic link is followed, so the link stays and its target is
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

/* Where -o writes: *tmp (a new temporary file to rename onto *final) for a
 * regular or new file, else the path itself (tmp[0] = 0). */
typedef struct out_file {
    FILE *f;
    char final[PATH_MAX];
    char tmp[PATH_MAX + 16];
} out_file;

static mode_t umask_get(void) {
    mode_t m = umask(0);   /* the only way to read it; the CLI has one thread here */
    umask(m);
    return m;
}

static int out_open(out_file *o, const char *path, char *err, size_t errlen) {
    o->tmp[0] = 0;
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode)) return snprintf(err, errlen, "%s is a folder", path), -1;
        snprintf(o->final, sizeof o->final, "%s", path);
        o->f = fopen(path, "wb");   /* a device or a FIFO: written in place, never unlinked */
        if (!o->f) return snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno)), -1;
        return 0;
    }
    /* a link is followed: the file it names is replaced, the link stays */
    if (!realpath(path, o->final)) {
        if (errno != ENOENT) return snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno)), -1;
        snprintf(o->final, sizeof o->final, "%s", path);
    }
    snprintf(o->tmp, sizeof o->tmp, "%s.XXXXXX", o->final);
    int fd = mkstemp(o->tmp);
    if (fd < 0) {
        o->tmp[0] = 0;
        return snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno)), -1;
    }
    /* mkstemp makes 0600: keep the old file's permissions, or a new file's */
    if (fchmod(fd, stat(o->final, &st) == 0 ? st.st_mode & 07777 : 0666 & ~umask_get()) != 0) {}
    if (!(o->f = fdopen(fd, "wb"))) {
        close(fd);
        unlink(o->tmp);
        return snprintf(err, errlen, "cannot write %s: out of memory", path), -1;
    }
    return 0;
}

/* Closes; on success renames the temporary file into place, on failure
 * removes it. Returns 0 or -1 (err set unless already failed). */
static int out_close(out_file *o, bool ok, char *err, size_t errlen) {
    bool wrote = fflush(o->f) == 0 && !ferror(o->f) && (!o->tmp[0] || fsync(fileno(o->f)) == 0);
    int e = errno;
    wrote = fclose(o->f) == 0 && wrote;
    if (ok && !wrote) snprintf(err, errlen, "cannot write %.900s: %s", o->final, strerror(e ? e : EIO));
    ok = ok && wrote;
    if (o->tmp[0]) {
        if (ok && rename(o->tmp, o->final) != 0) {
            snprintf(err, errlen, "cannot write %.900s: %s", o->final, strerror(errno));
            ok = false;
        }
        if (!ok) unlink(o->tmp);
    }
    return ok ? 0 : -1;
}

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
    out_file of = { .f = stdout };
    if (path && strcmp(path, "-") != 0 && out_open(&of, path, err, sizeof err)) {
        store_close(s);
        return cli_fail("export", "%s", err);
    }
    rc = store_export(s, of.f, fmt, run, err, sizeof err);
    store_close(s);
    if (of.f != stdout && out_close(&of, rc == 0, err, sizeof err) && !rc) rc = STORE_EIO;
    return rc ? cli_fail("export", "%s", err) : CLI_OK;
}
