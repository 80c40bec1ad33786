/* modelpath: where a model (or vocabulary) file named on the command line is
 * found.
 *
 * Lookup order for the model of a command: the -m / MODEL argument, else the
 * LOGITLAB_MODEL environment variable, else the default name
 * (MPATH_DEFAULT_MODEL). The chosen name is used as a path when such a file
 * exists; a bare name (no '/') is then looked up in models/ under the current
 * directory, $LOGITLAB_SHARED/models when that is set, and ../shared/models.
 */
#ifndef MODELPATH_H
#define MODELPATH_H
#include <stddef.h>

#define MPATH_DEFAULT_MODEL "stories260K.gguf"

enum { MPATH_OK = 0, MPATH_ENOTFOUND = -1 };

/* Resolves the model for a command: arg (may be NULL) or $LOGITLAB_MODEL or
 * the default, then mpath_find. On failure err lists every place searched. */
int mpath_resolve(const char *arg, char *out, size_t cap, char *err, size_t errlen);

/* Finds one file by path or bare name in the model folders. */
int mpath_find(const char *name, char *out, size_t cap, char *err, size_t errlen);

/* The i-th model folder (i from 0), or NULL past the last; for messages and
 * for looking up companion files such as vocabularies. */
const char *mpath_dir(int i, char *buf, size_t cap);
#endif
