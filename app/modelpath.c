/* modelpath: resolves model names to files (order documented in modelpath.h
 * and the README). Only regular readable files count as found, so a folder
 * that happens to share a model's name is skipped, not opened.
 */
#include "modelpath.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool is_file(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, R_OK) == 0;
}

const char *mpath_dir(int i, char *buf, size_t cap) {
    const char *shared = getenv("LOGITLAB_SHARED");
    bool have_shared = shared && *shared;
    if (i == 0) return "models";
    if (i == 1 && have_shared) {
        snprintf(buf, cap, "%s/models", shared);
        return buf;
    }
    if (i == 1 + (have_shared ? 1 : 0)) return "../shared/models";
    return NULL;
}

int mpath_find(const char *name, char *out, size_t cap, char *err, size_t errlen) {
    if (is_file(name)) {
        snprintf(out, cap, "%s", name);
        return MPATH_OK;
    }
    struct stat st;
    if (strchr(name, '/') && stat(name, &st) == 0) {
        /* a path that is there but not a model to read: say what it is (it
         * read "no model file '/etc': looked at /etc"); a bare name goes on
         * to the model folders */
        const char *why = S_ISDIR(st.st_mode) ? "a folder, not a model file"
                        : !S_ISREG(st.st_mode) ? "not a regular file" : strerror(access(name, R_OK) ? errno : EIO);
        snprintf(err, errlen, "model '%s': %s", name, why);
        return MPATH_ENOTFOUND;
    }
    size_t used = (size_t)snprintf(err, errlen, "no model file '%s': looked at %s", name, name);
    if (strchr(name, '/')) {
        if (used < errlen) snprintf(err + used, errlen - used, " (give -m PATH or set LOGITLAB_MODEL)");
        return MPATH_ENOTFOUND;
    }
    char dbuf[4096], p[4096];
    for (int i = 0; mpath_dir(i, dbuf, sizeof dbuf); i++) {
        snprintf(p, sizeof p, "%s/%s", mpath_dir(i, dbuf, sizeof dbuf), name);
        if (is_file(p)) {
            snprintf(out, cap, "%s", p);
            return MPATH_OK;
        }
        if (used < errlen) used += (size_t)snprintf(err + used, errlen - used, ", %s", p);
    }
    if (used < errlen) snprintf(err + used, errlen - used, " (give -m PATH or set LOGITLAB_MODEL)");
    return MPATH_ENOTFOUND;
}

int mpath_resolve(const char *arg, char *out, size_t cap, char *err, size_t errlen) {
    const char *name = arg;
    if (!name || !*name) name = getenv("LOGITLAB_MODEL");
    if (!name || !*name) name = MPATH_DEFAULT_MODEL;
    return mpath_find(name, out, cap, err, errlen);
}
