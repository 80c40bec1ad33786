/* backend: creation by name. The CUDA backend exists only in builds made with
 * `make CUDA=1`, which define LOGITLAB_CUDA and link kernels/cuda. */
#include "backend.h"
#include <stdio.h>
#include <string.h>

#ifndef LOGITLAB_CUDA
backend *backend_cuda_create(int n_threads, be_kvgeom geom, char *err, size_t errlen) {
    (void)n_threads; (void)geom;
    if (err && errlen) snprintf(err, errlen, "this logitlab was built without CUDA (rebuild with make CUDA=1)");
    return NULL;
}
#endif

backend *backend_create(const char *name, int n_threads, be_kvgeom geom, char *err, size_t errlen) {
    if (!name || !*name || strcmp(name, "cpu") == 0) {
        backend *b = backend_cpu_create(n_threads, geom);
        if (!b && err && errlen) snprintf(err, errlen, "cannot start the CPU backend (out of memory or threads)");
        return b;
    }
    if (strcmp(name, "cuda") == 0) return backend_cuda_create(n_threads, geom, err, errlen);
    if (err && errlen) snprintf(err, errlen, "unknown backend '%s' (known: cpu, cuda)", name);
    return NULL;
}
