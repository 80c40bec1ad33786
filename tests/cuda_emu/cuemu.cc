/* cuemu: the execution model, runtime API and cuBLAS of cuemu.h on the CPU. */
#include "cuemu.h"
#include <cblas.h>
#include <ucontext.h>
#include <vector>

emu_uint3 threadIdx, blockIdx;
dim3 blockDim, gridDim;

/* Fibers: the threads of a block run as ucontexts in the calling thread and
 * switch only where they wait (a barrier of the block or of a warp). */
struct fiber {
    ucontext_t ctx;
    std::vector<char> stack;
    int waiting;     /* -1 runnable, 0 at the block barrier, 1 + w at warp w's */
    bool done;
};

struct emu_block {
    unsigned nt;
    std::vector<fiber> fib;
    std::vector<unsigned> arrived;     /* [0] block, [1 + w] warp w */
    std::vector<uint64_t> xchg;        /* (threads) shuffle exchange */
    std::vector<unsigned char> smem;   /* dynamic shared memory */
    ucontext_t sched;
    unsigned cur;
    const std::function<void()> *body;
};
static emu_block *B;
static long launches;

static void fiber_main() {
    (*B->body)();
    B->fib[B->cur].done = true;
    swapcontext(&B->fib[B->cur].ctx, &B->sched);
}

/* Waits at barrier k (0: block, nt threads; 1 + w: warp w, 32 lanes). */
static void arrive(int k) {
    fiber &f = B->fib[B->cur];
    f.waiting = k;
    B->arrived[k]++;
    unsigned need = k == 0 ? B->nt : 32;
    if (B->arrived[k] == need) {   /* the last one releases everybody */
        B->arrived[k] = 0;
        for (unsigned t = 0; t < B->nt; t++)
            if (B->fib[t].waiting == k) B->fib[t].waiting = -1;
        return;
    }
    swapcontext(&f.ctx, &B->sched);
}

void __syncthreads() { arrive(0); }

uint64_t emu_shfl_xor(uint64_t v, int o) {
    unsigned t = B->cur, w = t / 32;
    B->xchg[t] = v;
    arrive(1 + w);
    uint64_t r = B->xchg[t ^ (unsigned)o];
    arrive(1 + w);
    return r;
}

void *emu_dyn_smem() { return B->smem.data(); }

/* Runs every fiber until all are done; aborts when none can move (a barrier
 * that not all of its threads reach: divergent code). */
static void run_block() {
    for (unsigned t = 0; t < B->nt; t++) {
        fiber &f = B->fib[t];
        getcontext(&f.ctx);
        f.ctx.uc_stack.ss_sp = f.stack.data();
        f.ctx.uc_stack.ss_size = f.stack.size();
        f.ctx.uc_link = NULL;
        makecontext(&f.ctx, fiber_main, 0);
        f.waiting = -1;
        f.done = false;
    }
    std::fill(B->arrived.begin(), B->arrived.end(), 0u);
    memset(B->smem.data(), 0xff, B->smem.size());
    for (;;) {
        bool moved = false, all_done = true;
        for (unsigned t = 0; t < B->nt; t++) {
            fiber &f = B->fib[t];
            if (f.done) continue;
            all_done = false;
            if (f.waiting >= 0) continue;
            B->cur = t;
            threadIdx = { t, 0, 0 };
            swapcontext(&B->sched, &f.ctx);
            moved = true;
        }
        if (all_done) return;
        if (!moved) {
            fprintf(stderr, "cuemu: deadlock in block (%u, %u, %u): threads wait at barriers others never reach\n",
                    blockIdx.x, blockIdx.y, blockIdx.z);
            abort();
        }
    }
}

void emu_run(dim3 grid, dim3 block, size_t smem, const std::function<void()> &body) {
    unsigned nt = block.x * block.y * block.z;
    if (block.y != 1 || block.z != 1 || nt % 32 || nt > 1024) {
        fprintf(stderr, "cuemu: unsupported block (%u, %u, %u)\n", block.x, block.y, block.z);
        abort();
    }
    emu_block b;
    b.nt = nt;
    b.fib.resize(nt);
    for (auto &f : b.fib) f.stack.resize(256 << 10);
    b.arrived.resize(1 + nt / 32);
    b.xchg.resize(nt);
    b.smem.resize(smem + 16);
    b.body = &body;
    B = &b;
    blockDim = block;
    gridDim = grid;
    launches++;
    for (unsigned z = 0; z < grid.z; z++)
        for (unsigned y = 0; y < grid.y; y++)
            for (unsigned x = 0; x < grid.x; x++) {
                blockIdx = { x, y, z };
                run_block();
            }
    B = NULL;
}

/* ---- runtime API ---- */

const char *cudaGetErrorName(cudaError_t e) { return e == cudaSuccess ? "cudaSuccess" : "cudaErrorEmulated"; }
const char *cudaGetErrorString(cudaError_t e) { return e == cudaSuccess ? "no error" : "emulated failure"; }
cudaError_t cudaGetLastError() { return cudaSuccess; }
cudaError_t cudaGetDeviceCount(int *n) { *n = 1; return cudaSuccess; }
cudaError_t cudaGetDevice(int *d) { *d = 0; return cudaSuccess; }
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int) {
    snprintf(p->name, sizeof p->name, "cuemu");
    p->major = 9; p->minor = 0; p->multiProcessorCount = 132;
    return cudaSuccess;
}
cudaError_t cudaMemGetInfo(size_t *f, size_t *t) { *f = *t = (size_t)64 << 30; return cudaSuccess; }

cudaError_t cudaMalloc(void **p, size_t n) {
    *p = aligned_alloc(256, (n + 255) / 256 * 256);
    if (!*p) return cudaErrorMemoryAllocation;
    memset(*p, 0xff, n);   /* NaN until written */
    return cudaSuccess;
}
cudaError_t cudaFree(void *p) { free(p); return cudaSuccess; }
cudaError_t cudaMallocHost(void **p, size_t n) { return cudaMalloc(p, n); }
cudaError_t cudaFreeHost(void *p) { free(p); return cudaSuccess; }
cudaError_t cudaMemcpy(void *d, const void *s, size_t n, cudaMemcpyKind) { memmove(d, s, n); return cudaSuccess; }
cudaError_t cudaMemcpyAsync(void *d, const void *s, size_t n, cudaMemcpyKind k, cudaStream_t) { return cudaMemcpy(d, s, n, k); }
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned) { *s = (cudaStream_t)malloc(1); return cudaSuccess; }
cudaError_t cudaStreamDestroy(cudaStream_t s) { free(s); return cudaSuccess; }
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaEventCreateWithFlags(cudaEvent_t *e, unsigned) { *e = (cudaEvent_t)malloc(1); return cudaSuccess; }
cudaError_t cudaEventRecord(cudaEvent_t, cudaStream_t) { return cudaSuccess; }
cudaError_t cudaEventSynchronize(cudaEvent_t) { return cudaSuccess; }
cudaError_t cudaEventDestroy(cudaEvent_t e) { free(e); return cudaSuccess; }

/* ---- cuBLAS (column-major, as the real one) ---- */

cublasStatus_t cublasCreate(cublasHandle_t *h) { *h = (cublasHandle_t)malloc(1); return CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasDestroy(cublasHandle_t h) { free(h); return CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasSetStream(cublasHandle_t, cudaStream_t) { return CUBLAS_STATUS_SUCCESS; }
const char *cublasGetStatusString(cublasStatus_t s) { return s ? "CUBLAS_STATUS_INVALID_VALUE" : "CUBLAS_STATUS_SUCCESS"; }

cublasStatus_t cublasSgemm(cublasHandle_t, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                           const float *alpha, const float *A, int lda, const float *B, int ldb,
                           const float *beta, float *C, int ldc) {
    cblas_sgemm(CblasColMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k,
                *alpha, A, lda, B, ldb, *beta, C, ldc);
    return CUBLAS_STATUS_SUCCESS;
}

/* count elements of a 16-bit matrix widened to float */
static std::vector<float> widen(const void *p, cudaDataType t, size_t count) {
    std::vector<float> f(count);
    const uint16_t *h = (const uint16_t *)p;
    for (size_t i = 0; i < count; i++) f[i] = t == CUDA_R_16F ? qt_f16_to_f32(h[i]) : qt_bf16_to_f32(h[i]);
    return f;
}

cublasStatus_t cublasGemmEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                            const void *alpha, const void *A, cudaDataType at, int lda, const void *B,
                            cudaDataType bt, int ldb, const void *beta, void *C, cudaDataType ct, int ldc,
                            cublasComputeType_t, cublasGemmAlgo_t) {
    if (ct != CUDA_R_32F || at == CUDA_R_32F || bt == CUDA_R_32F) return CUBLAS_STATUS_INVALID_VALUE;
    /* stored columns: A is (lda, ta ? m : k), B is (ldb, tb ? k : n) */
    std::vector<float> a = widen(A, at, (size_t)lda * (ta ? m : k)), b = widen(B, bt, (size_t)ldb * (tb ? k : n));
    return cublasSgemm(h, ta, tb, m, n, k, (const float *)alpha, a.data(), lda, b.data(), ldb,
                       (const float *)beta, (float *)C, ldc);
}
