/* fout: writing files that users and scripts name, by replacing them.
 *
 * Every writer of a file the user names (GGUF outputs of quantize, convert,
 * synth and train, export -o, the workbench's :w and :export, training
 * checkpoints, lab.fs.write) writes a temporary ".NAME.XXXXXX.tmp" beside
 * NAME and renames it over NAME only when the whole file was written, so a
 * run that fails late (a bad argument found after the model loaded, a full
 * disk, Ctrl-C, a kill) leaves the old NAME whole, and a process that maps
 * NAME never sees it truncated.
 *
 * The writer holds an flock on its temporary while it is open. A temporary
 * whose writer died is unlocked (the kernel drops the lock with the
 * process): fout_sweep removes those, once they are FOUT_STALE_S old (the
 * age covers the instant between creating a temporary and locking it, and
 * writers that did not lock). Two processes on one folder never remove each
 * other's live temporaries: a live one is locked.
 */
#ifndef FOUT_H
#define FOUT_H
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#define FOUT_STALE_S 300

/* Creates the temporary of a replacing write of full, which must be a
 * regular file or absent (a symbolic link, folder or device is refused with
 * *why: callers that follow links resolve them first), locked, mode as
 * full's or, for a new file, `mode` less the umask. Its path goes to tmp.
 * Returns the descriptor, or -1 with *why (a static string). */
int fout_tmp_create(const char *full, mode_t mode, char *tmp, size_t cap, const char **why);

/* Closes fd, then renames tmp over full when err is 0, else removes tmp.
 * Returns 0 or an errno value (err if it was set). */
int fout_tmp_commit(int fd, const char *tmp, const char *full, int err);

/* Whether a file name (no folder) is such a temporary: '.', a name, '.',
 * six letters or digits, ".tmp". */
bool fout_is_temporary(const char *name);

/* Removes the stale temporaries (unlocked, at least min_age_s seconds
 * since their last write) in dir and, depth > 0, in its subfolders to that
 * depth (links are not followed). With name set, only the temporaries of
 * that file name. Returns how many were removed. */
int fout_sweep(const char *dir, const char *name, int depth, double min_age_s);

/* A replacing write through stdio. A link is followed (the file it names is
 * replaced, the link stays); a device or FIFO is written in place; a folder
 * is refused. Opening sweeps the stale temporaries of the same name. (A
 * writer that fills a temporary it made with fout_tmp_create writes its
 * descriptor: ggufw_begin_file.) */
typedef struct fout {
    FILE *f;
    char path[PATH_MAX];       /* what is replaced (the link's target) */
    char tmp[PATH_MAX];        /* the temporary; "" when written in place */
} fout;

/* 0, or -1 with "PATH: why" in err. */
int fout_open(fout *o, const char *path, char *err, size_t errlen);
/* Finishes: with ok, flushes and renames into place (0, or -1 with
 * "PATH: why" in err); without, discards the temporary (returns -1, err
 * untouched). Either way o->f is closed. */
int fout_close(fout *o, bool ok, char *err, size_t errlen);
#endif
