/* tpcrt_cuda.h — the part of libtpcrt that --target cuda programs call beside tpcrt.h: one GPU
 * per rank, its stream, device memory, weights staged through pinned memory, cuBLAS GEMMs and
 * NCCL collectives. Plain C over the CUDA runtime API, cuBLAS and NCCL, so the same source
 * builds against the real libraries (libtpcrt_cuda.a) and against the CPU harness of the CUDA
 * execution model (libtpcrt_cudasim.a, runtime/cudasim: docs/cudasim.md).
 *
 * Everything a forward calls is asynchronous on the one stream tpcrt_cuda_stream(): kernels,
 * copies, GEMMs and collectives are queued in order and nothing waits for the device, so a
 * forward can be captured as a CUDA graph and replayed. MPI is for set-up and failure only.
 * Every failure is one line naming what failed, and ends the job (tpcrt_fail).
 */
#ifndef TPCRT_CUDA_H
#define TPCRT_CUDA_H

#include <cuda_runtime_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tpcrt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- start-up ------------------------------------------------------------------------------ */

/* After tpcrt_init: the GPU of this rank (its rank among the ranks on its node), a stream, a
 * cuBLAS handle and the NCCL communicator (its unique id broadcast from rank 0 over MPI). No
 * driver, no device, or fewer devices than ranks on a node: one line naming the cause, and
 * every rank exits 1 (a collective: every rank calls it). */
void tpcrt_cuda_start(void);
/* Frees what tpcrt_cuda_start made; before tpcrt_finalize. */
void tpcrt_cuda_finish(void);
/* Every rank checks that its device has weight_bytes + activation_bytes free; when one has
 * not, one line names the rank, the device and the bytes, and every rank exits 1. */
void tpcrt_cuda_check_memory(int64_t weight_bytes, int64_t activation_bytes);

cudaStream_t tpcrt_cuda_stream(void);
/* Ends the job naming `what` unless err is cudaSuccess. */
void tpcrt_cuda_check(cudaError_t err, const char *what);
/* After a kernel launch: a launch that did not start (a bad configuration) ends the job. */
void tpcrt_cuda_launched(const char *kernel);
/* Waits for everything queued on the stream. */
void tpcrt_cuda_sync(void);

/* ---- memory -------------------------------------------------------------------------------- */

void *tpcrt_cuda_alloc(size_t bytes, const char *what); /* device memory; NULL for 0 bytes */
void tpcrt_cuda_free(void *device);
/* tpcrt_buffers_alloc's carving (the same sizes and alignment), in device memory. */
float *tpcrt_cuda_buffers_alloc(float **buf, const int64_t *elements, int n);

/* Weights: tpcrt_cuda_stage gives a pinned host buffer of `bytes` for the next weight (one of
 * two, used in turn: it waits until that buffer's last upload has finished), the weight is read
 * into it, and tpcrt_cuda_upload queues its copy to the device, so the next read proceeds while
 * it goes. tpcrt_cuda_load_end waits for the last copies and frees the staging buffers. */
void *tpcrt_cuda_stage(size_t bytes);
void tpcrt_cuda_upload(void *device, const void *stage, size_t bytes);
void tpcrt_cuda_load_end(void);

/* A host array to a new device allocation (synchronous; free with tpcrt_cuda_free). */
void *tpcrt_cuda_to_device(const void *host, size_t bytes, const char *what);
/* Host to an existing device allocation, synchronous. */
void tpcrt_cuda_copy_to_device(void *device, const void *host, size_t bytes);
/* Device to host, synchronous (after everything queued before it). */
void tpcrt_cuda_to_host(void *host, const void *device, size_t bytes);

/* Queued copies on the device: count floats; rows of cols floats, ld_* apart. */
void tpcrt_cuda_copy(float *dst, const float *src, int64_t count);
void tpcrt_cuda_copy_rows(float *dst, int64_t ld_dst, const float *src, int64_t ld_src,
                          int64_t rows, int64_t cols);

/* ---- GEMM ---------------------------------------------------------------------------------- */

/* c = alpha a b + beta c in row-major terms, as cblas_sgemm(CblasRowMajor, NoTrans, trans_b ?
 * Trans : NoTrans, ...): a is [m, k], b is [k, n] or, transposed, [n, k], c is [m, n], rows
 * ld_* apart. cuBLAS is column-major, so this is c^T = op(b)^T a^T there. f32 operands, f32
 * accumulation (CUBLAS_COMPUTE_32F, no TF32). */
void tpcrt_cuda_sgemm(bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                      const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                      float *c, int64_t ldc);

/* A bf16 GEMM of --dtype bf16: y = beta y + x w^T with x bf16 [m, k] (rows k apart), w bf16
 * [n, k] (nn.Linear's layout), y f32 [m, n] (rows ld_y apart); f32 accumulation. x comes from
 * tpcrt_cuda_scratch_bf16: a device buffer of at least `elements` bf16, grown when a larger one
 * is asked for (the first forward grows it; a graph captured after it allocates nothing). */
uint16_t *tpcrt_cuda_scratch_bf16(int64_t elements);
void tpcrt_cuda_gemm_bf16(int64_t m, int64_t n, int64_t k, const uint16_t *x, const uint16_t *w,
                          float beta, float *y, int64_t ld_y);

/* ---- collectives (NCCL), over the splits of tpcrt.h; queued on the stream -------------------- */

void tpcrt_cuda_all_reduce_sum(float *buf, int64_t count);
void tpcrt_cuda_all_gather(const float *local, float *full, int64_t rows,
                           const TpcrtSplit *split);
void tpcrt_cuda_gather_to_root(const float *local, float *full, int64_t rows,
                               const TpcrtSplit *split);
void tpcrt_cuda_reduce_scatter(const float *full, float *local, int64_t rows,
                               const TpcrtSplit *split);

/* ---- CUDA graphs --------------------------------------------------------------------------- */

/* What the stream is given between begin and end is recorded, not run; the result replays it
 * (tpcrt_cuda_graph_launch) until tpcrt_cuda_graph_free. */
typedef struct TpcrtCudaGraph TpcrtCudaGraph;
void tpcrt_cuda_graph_begin(void);
TpcrtCudaGraph *tpcrt_cuda_graph_end(void);
void tpcrt_cuda_graph_launch(TpcrtCudaGraph *graph);
void tpcrt_cuda_graph_free(TpcrtCudaGraph *graph);

/* --stats: device memory per rank (weights, activations, KV cache, cuBLAS workspace and
 * collectives' staging), gathered to rank 0. */
void tpcrt_cuda_stats_report(const TpcrtArgs *args, int64_t weight_bytes,
                             int64_t activation_bytes, int64_t kv_cache_bytes);

#ifdef __cplusplus
}
#endif

#endif /* TPCRT_CUDA_H */
