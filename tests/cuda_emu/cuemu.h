/* cuemu: just enough of CUDA to run kernels/cuda/*.cu on the CPU, as a
 * logic check on machines without a GPU (tests/cuda_emu/run.sh).
 *
 * Model: a launch runs its blocks one after another; the threads of a block
 * are fibers (ucontext) of the calling thread that switch only where they
 * wait. __syncthreads is a barrier of the block, a warp shuffle a barrier of
 * the 32 lanes around a shared exchange buffer, so code where a warp or block
 * is not converged stops with "cuemu: deadlock" instead of passing.
 * __shared__ becomes `static` (blocks never overlap); dynamic shared memory
 * and cudaMalloc memory start filled with 0xff bytes (NaN), so reading what
 * was never written shows. Numerics: the same IEEE float operations on the
 * host (build with -ffp-contract=off so that nothing is fused), fp16/bf16
 * conversions from kernels/cpu/qtypes.c, cuBLAS through OpenBLAS.
 * What it cannot show: timing, races the barriers hide, alignment faults,
 * and the real intrinsics' code generation.
 */
#ifndef CUEMU_H
#define CUEMU_H
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static

/* ---- vector and index types ---- */
struct dim3 {
    unsigned x, y, z;
    dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {}
};
struct emu_uint3 { unsigned x, y, z; };
extern emu_uint3 threadIdx, blockIdx;   /* one launch at a time, from one thread */
extern dim3 blockDim, gridDim;

struct float2 { float x, y; };
struct alignas(16) float4 { float x, y, z, w; };
struct alignas(16) int4 { int x, y, z, w; };
struct alignas(8) uint2 { unsigned x, y; };
struct alignas(16) uint4 { unsigned x, y, z, w; };
inline float2 make_float2(float x, float y) { return { x, y }; }
inline float4 make_float4(float x, float y, float z, float w) { return { x, y, z, w }; }
inline uint2 make_uint2(unsigned x, unsigned y) { return { x, y }; }

/* ---- fp16 / bf16 ---- */
extern "C" {
float qt_f16_to_f32(uint16_t h);
uint16_t qt_f32_to_f16(float f);
float qt_bf16_to_f32(uint16_t h);
uint16_t qt_f32_to_bf16(float f);
}
struct __half { uint16_t bits; };
struct __half2 { __half x, y; };
struct __nv_bfloat16 { uint16_t bits; };
struct __nv_bfloat162 { __nv_bfloat16 x, y; };
inline float __half2float(__half h) { return qt_f16_to_f32(h.bits); }
inline __half __float2half_rn(float f) { return { qt_f32_to_f16(f) }; }
inline __half __ushort_as_half(unsigned short u) { return { u }; }
inline float2 __half22float2(__half2 h) { return { __half2float(h.x), __half2float(h.y) }; }
inline float __bfloat162float(__nv_bfloat16 h) { return qt_bf16_to_f32(h.bits); }
inline __nv_bfloat16 __float2bfloat16_rn(float f) { return { qt_f32_to_bf16(f) }; }
inline float2 __bfloat1622float2(__nv_bfloat162 h) { return { __bfloat162float(h.x), __bfloat162float(h.y) }; }

/* ---- arithmetic intrinsics ---- */
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline int __float2int_rn(float f) { return (int)lrintf(f); }
using std::max;
using std::min;

/* ---- execution ---- */
void __syncthreads();
uint64_t emu_shfl_xor(uint64_t v, int o);
void *emu_dyn_smem();
template <class T>
inline T __shfl_xor_sync(unsigned mask, T v, int o) {
    static_assert(sizeof(T) <= 8, "shuffle of at most 8 bytes");
    (void)mask;
    uint64_t u = 0;
    memcpy(&u, &v, sizeof v);
    u = emu_shfl_xor(u, o);
    memcpy(&v, &u, sizeof v);
    return v;
}

/* ---- runtime API ---- */
enum cudaError_t { cudaSuccess = 0, cudaErrorInvalidValue = 1, cudaErrorMemoryAllocation = 2,
                   cudaErrorNoDevice = 100 };
enum cudaMemcpyKind { cudaMemcpyHostToHost, cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice };
typedef struct emu_stream *cudaStream_t;
typedef struct emu_event *cudaEvent_t;
#define cudaStreamNonBlocking 1u
#define cudaEventDisableTiming 2u
struct cudaDeviceProp { char name[256]; int major, minor, multiProcessorCount; };

const char *cudaGetErrorName(cudaError_t e);
const char *cudaGetErrorString(cudaError_t e);
cudaError_t cudaGetLastError();
cudaError_t cudaGetDeviceCount(int *n);
cudaError_t cudaGetDevice(int *d);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int d);
cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total);
cudaError_t cudaMalloc(void **p, size_t n);
template <class T> inline cudaError_t cudaMalloc(T **p, size_t n) { return cudaMalloc((void **)p, n); }
cudaError_t cudaFree(void *p);
cudaError_t cudaMallocHost(void **p, size_t n);
cudaError_t cudaFreeHost(void *p);
cudaError_t cudaMemcpy(void *d, const void *s, size_t n, cudaMemcpyKind k);
cudaError_t cudaMemcpyAsync(void *d, const void *s, size_t n, cudaMemcpyKind k, cudaStream_t st);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned flags);
cudaError_t cudaStreamDestroy(cudaStream_t s);
cudaError_t cudaStreamSynchronize(cudaStream_t s);
cudaError_t cudaEventCreateWithFlags(cudaEvent_t *e, unsigned flags);
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s);
cudaError_t cudaEventSynchronize(cudaEvent_t e);
cudaError_t cudaEventDestroy(cudaEvent_t e);

/* kernel<<<grid, block, smem, stream>>>(args) is rewritten by run.sh to
 * emu_launch(grid, block, smem, stream, [&] { kernel(args); }). */
void emu_run(dim3 grid, dim3 block, size_t smem, const std::function<void()> &body);
inline void emu_launch(dim3 grid, dim3 block, size_t smem, cudaStream_t, const std::function<void()> &body) {
    emu_run(grid, block, smem, body);
}

/* ---- cuBLAS ---- */
typedef struct emu_blas *cublasHandle_t;
enum cublasStatus_t { CUBLAS_STATUS_SUCCESS = 0, CUBLAS_STATUS_INVALID_VALUE = 7 };
enum cublasOperation_t { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1 };
enum cudaDataType { CUDA_R_32F = 0, CUDA_R_16F = 2, CUDA_R_16BF = 14 };
enum cublasComputeType_t { CUBLAS_COMPUTE_32F = 68 };
enum cublasGemmAlgo_t { CUBLAS_GEMM_DEFAULT = -1 };
cublasStatus_t cublasCreate(cublasHandle_t *h);
cublasStatus_t cublasDestroy(cublasHandle_t h);
cublasStatus_t cublasSetStream(cublasHandle_t h, cudaStream_t s);
const char *cublasGetStatusString(cublasStatus_t s);
cublasStatus_t cublasSgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                           const float *alpha, const float *A, int lda, const float *B, int ldb,
                           const float *beta, float *C, int ldc);
cublasStatus_t cublasGemmEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                            const void *alpha, const void *A, cudaDataType at, int lda, const void *B,
                            cudaDataType bt, int ldb, const void *beta, void *C, cudaDataType ct, int ldc,
                            cublasComputeType_t compute, cublasGemmAlgo_t algo);
#endif
