/* mem: device scratch buffers that grow on demand, and uploads of small host
 * arrays (token ids, positions, cells, attention plans) through pinned
 * staging memory.
 *
 * Everything here is ordered on one stream, the backend's. A buffer that grows
 * first waits for that stream, so no queued kernel still reads the old memory
 * when it is freed. An upload slot copies host data into its own pinned
 * buffer, then queues the copy to the device; it reuses the device copy when
 * the bytes equal the previous upload (a decode step passes the same positions
 * to both rope calls of every layer, and the same attention runs to every
 * layer), and waits for its previous copy before overwriting the pinned
 * buffer that copy reads from.
 */
#ifndef MEM_CUH
#define MEM_CUH
#include <cstddef>
#include <cuda_runtime.h>

typedef struct mem_buf { void *p; size_t cap; } mem_buf;

typedef struct mem_slot {
    void *host;          /* pinned, cap bytes: the last upload's bytes */
    void *dev;           /* device, cap bytes */
    size_t cap, len;
    cudaEvent_t copied;  /* recorded after the last host -> device copy */
    bool valid;          /* host/dev hold `len` bytes of a finished upload */
} mem_slot;

/* Makes b at least `bytes` long (contents not kept). 0, or -1 with err. */
int mem_grow(mem_buf *b, size_t bytes, cudaStream_t st, char *err, size_t errlen);
void mem_buf_free(mem_buf *b);

/* Device copy of src[bytes] (host memory, read before the call returns),
 * valid for kernels queued on st after this call and until the slot's next
 * upload. *dev is set; 0, or -1 with err. */
int mem_upload(mem_slot *s, const void *src, size_t bytes, cudaStream_t st, const void **dev,
               char *err, size_t errlen);
void mem_slot_free(mem_slot *s);

#endif
