/* backend_cuda: what the CUDA backend offers beyond backend.h (the backend
 * itself is created with backend_cuda_create / backend_create("cuda")).
 *
 * Present only in builds made with `make CUDA=1` (LOGITLAB_CUDA defined).
 */
#ifndef BACKEND_CUDA_H
#define BACKEND_CUDA_H
#include <stddef.h>
#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Copies the host bytes [data, data + bytes) to GPU memory and files them
 * under their host address, where matmul, embed, rmsnorm and rope look up the
 * model_weight.data / norm / inv_freq pointers they are given. prepare() does
 * this for every tensor of the model; tests do it for weights they make. The
 * host bytes must not change while the backend lives. Uploading an address
 * again replaces its copy. 0, or -1 with err. */
int backend_cuda_upload(backend *b, const void *data, size_t bytes, char *err, size_t errlen);

/* The last error the backend met, "" if none. Operations without a status
 * (embed, rmsnorm, kv_store, swiglu, add, get_rows, to_dev, to_host) record
 * their failure here and make the next matmul, rope or attention return -1;
 * a failed to_host also fills its destination with NaN. */
const char *backend_cuda_last_error(const backend *b);

#ifdef __cplusplus
}
#endif
#endif
