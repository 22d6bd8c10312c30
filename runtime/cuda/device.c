/* device.c — one GPU per rank: start-up (device by node-local rank, stream, cuBLAS, NCCL),
 * device memory, staged weight uploads, copies, the GEMM, CUDA graphs and --stats.
 *
 * The start-up refuses a machine it cannot run on in one line and on every rank: each rank
 * finds its own cause (no driver, no device, fewer devices than ranks on its node), the ranks
 * agree on the worst in one MPI all-reduce, and every rank leaves through MPI_Finalize, so
 * nobody waits for a rank that is gone.
 */
#include <mpi.h> /* first: internal.h declares tpcrt_comm after it */

#include "../internal.h"
#include "tpcrt_cuda.h"
#include "cuda_internal.h"

#include <cublas_v2.h>
#include <limits.h>
#include <nccl.h>
#include <stdlib.h>
#include <string.h>

TpcrtCuda tpcrt_cuda;

enum { WORKSPACE_BYTES = 32 << 20 }; /* cuBLAS's, set once so that graphs can capture GEMMs */

/* ---- failure ------------------------------------------------------------------------------- */

void tpcrt_cuda_check(cudaError_t err, const char *what)
{
    if (err != cudaSuccess)
        tpcrt_fail("CUDA: %s: %s (%s)", what, cudaGetErrorString(err), cudaGetErrorName(err));
}

void tpcrt_cuda_launched(const char *kernel)
{
    cudaError_t err = cudaGetLastError();
    if (err != cudaSuccess)
        tpcrt_fail("CUDA: kernel %s did not start: %s", kernel, cudaGetErrorString(err));
}

void tpcrt_cublas_check(cublasStatus_t status, const char *what)
{
    if (status != CUBLAS_STATUS_SUCCESS)
        tpcrt_fail("cuBLAS: %s: %s", what, cublasGetStatusString(status));
}

void tpcrt_nccl_check(ncclResult_t result, const char *what)
{
    if (result != ncclSuccess)
        tpcrt_fail("NCCL: %s: %s", what, ncclGetErrorString(result));
}

/* ---- start-up ------------------------------------------------------------------------------ */

/* What keeps a rank from having a device, worst last: the ranks agree on the largest. */
enum { DEVICE_OK, DEVICE_TOO_FEW, DEVICE_NONE };

void tpcrt_cuda_start(void)
{
    MPI_Comm comm = tpcrt_comm();
    int rank = tpcrt_rank(), size = tpcrt_world_size();
    MPI_Comm node;
    mpi_check(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node));
    int local_rank, local_size;
    mpi_check(MPI_Comm_rank(node, &local_rank));
    mpi_check(MPI_Comm_size(node, &local_size));
    mpi_check(MPI_Comm_free(&node));

    int devices = 0;
    cudaError_t err = cudaGetDeviceCount(&devices);
    int problem = err != cudaSuccess || devices == 0 ? DEVICE_NONE
                  : devices < local_size             ? DEVICE_TOO_FEW
                                                     : DEVICE_OK;
    int worst;
    mpi_check(MPI_Allreduce(&problem, &worst, 1, MPI_INT, MPI_MAX, comm));
    if (worst != DEVICE_OK) {
        /* each rank knows its own cause; rank 0 says the worst one, with its own details
         * when it has that cause, else in general */
        char line[TPCRT_ERROR_LEN];
        if (worst == DEVICE_NONE)
            snprintf(line, sizeof line,
                     "no CUDA device%s%s%s: this program was built with --target cuda; build with "
                     "--target cpu for this machine",
                     problem == DEVICE_NONE && err != cudaSuccess ? " (" : "",
                     problem == DEVICE_NONE && err != cudaSuccess ? cudaGetErrorString(err) : "",
                     problem == DEVICE_NONE && err != cudaSuccess ? ")" : "");
        else
            snprintf(line, sizeof line,
                     "a node has fewer CUDA devices than ranks (rank 0's: %d device%s, %d ranks): "
                     "one GPU per rank; start fewer ranks per node", devices,
                     devices == 1 ? "" : "s", local_size);
        tpcrt_refuse("%s", line);
    }

    tpcrt_cuda.device = local_rank;
    tpcrt_cuda_check(cudaSetDevice(local_rank), "cudaSetDevice");
    tpcrt_cuda_check(cudaStreamCreateWithFlags(&tpcrt_cuda.stream, cudaStreamNonBlocking),
                     "cudaStreamCreateWithFlags");
    tpcrt_cublas_check(cublasCreate(&tpcrt_cuda.blas), "cublasCreate");
    tpcrt_cublas_check(cublasSetStream(tpcrt_cuda.blas, tpcrt_cuda.stream), "cublasSetStream");
    tpcrt_cuda.workspace = tpcrt_cuda_alloc(WORKSPACE_BYTES, "cuBLAS workspace");
    tpcrt_cublas_check(cublasSetWorkspace(tpcrt_cuda.blas, tpcrt_cuda.workspace, WORKSPACE_BYTES),
                       "cublasSetWorkspace");

    ncclUniqueId id;
    if (rank == 0)
        tpcrt_nccl_check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    mpi_check(MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, comm));
    tpcrt_nccl_check(ncclCommInitRank(&tpcrt_cuda.nccl, size, id, rank), "ncclCommInitRank");
    tpcrt_cuda.started = true;
}

void tpcrt_cuda_finish(void)
{
    if (!tpcrt_cuda.started)
        return;
    tpcrt_cuda_sync();
    ncclCommDestroy(tpcrt_cuda.nccl);
    cublasDestroy(tpcrt_cuda.blas);
    tpcrt_cuda_free(tpcrt_cuda.workspace);
    tpcrt_cuda_free(tpcrt_cuda.staging);
    tpcrt_cuda_free(tpcrt_cuda.scratch_bf16);
    cudaStreamDestroy(tpcrt_cuda.stream);
    tpcrt_cuda = (TpcrtCuda){0};
}

void tpcrt_cuda_check_memory(int64_t weight_bytes, int64_t activation_bytes)
{
    size_t free_bytes = 0, total_bytes = 0;
    tpcrt_cuda_check(cudaMemGetInfo(&free_bytes, &total_bytes), "cudaMemGetInfo");
    int64_t need = weight_bytes + activation_bytes + WORKSPACE_BYTES;
    int short_of = need > (int64_t)free_bytes, any;
    mpi_check(MPI_Allreduce(&short_of, &any, 1, MPI_INT, MPI_MAX, tpcrt_comm()));
    if (!any)
        return;
    /* the first rank that is short says so */
    int first = short_of ? tpcrt_rank() : INT_MAX, who;
    mpi_check(MPI_Allreduce(&first, &who, 1, MPI_INT, MPI_MIN, tpcrt_comm()));
    if (tpcrt_rank() == who)
        tpcrt_fail_everywhere("device %d has %.1f MB free of %.1f MB; this rank needs %.1f MB "
                              "(weights %.1f MB, activations %.1f MB, cuBLAS workspace %.1f MB): "
                              "use a larger -tp or smaller inputs",
                              tpcrt_cuda.device, (double)free_bytes / 1e6,
                              (double)total_bytes / 1e6, (double)need / 1e6,
                              (double)weight_bytes / 1e6, (double)activation_bytes / 1e6,
                              (double)WORKSPACE_BYTES / 1e6);
    fflush(stdout);
    mpi_check(MPI_Finalize());
    exit(1);
}

cudaStream_t tpcrt_cuda_stream(void)
{
    return tpcrt_cuda.stream;
}

void tpcrt_cuda_sync(void)
{
    tpcrt_cuda_check(cudaStreamSynchronize(tpcrt_cuda.stream), "cudaStreamSynchronize");
}

/* ---- memory -------------------------------------------------------------------------------- */

void *tpcrt_cuda_alloc(size_t bytes, const char *what)
{
    if (bytes == 0)
        return NULL;
    void *p = NULL;
    cudaError_t err = cudaMalloc(&p, bytes);
    if (err != cudaSuccess)
        tpcrt_fail("cannot allocate %.1f MB of device memory for %s: %s", (double)bytes / 1e6,
                   what, cudaGetErrorString(err));
    return p;
}

void tpcrt_cuda_free(void *device)
{
    if (device)
        cudaFree(device);
}

float *tpcrt_cuda_buffers_alloc(float **buf, const int64_t *elements, int n)
{
    int64_t bytes = tpcrt_buffers_bytes(elements, n);
    float *block = tpcrt_cuda_alloc((size_t)bytes, "activations");
    tpcrt_buffers_carve(block, buf, elements, n);
    return block;
}

/* ---- weights ------------------------------------------------------------------------------- */

void *tpcrt_cuda_stage(size_t bytes)
{
    Staging *s = &tpcrt_cuda.stage[tpcrt_cuda.next_stage];
    if (s->pending)
        tpcrt_cuda_check(cudaEventSynchronize(s->done), "waiting for a weight's upload");
    s->pending = false;
    if (bytes > s->capacity) {
        if (s->host)
            cudaFreeHost(s->host);
        s->host = NULL;
        cudaError_t err = cudaMallocHost(&s->host, bytes);
        if (err != cudaSuccess)
            tpcrt_fail("cannot allocate %.1f MB of pinned memory to stage a weight: %s",
                       (double)bytes / 1e6, cudaGetErrorString(err));
        s->capacity = bytes;
        if (!s->done)
            tpcrt_cuda_check(cudaEventCreateWithFlags(&s->done, cudaEventDisableTiming),
                             "cudaEventCreateWithFlags");
    }
    memset(s->host, 0, bytes); /* as tpcrt_alloc's weights on the CPU: zero where no read writes */
    return s->host;
}

void tpcrt_cuda_upload(void *device, const void *stage, size_t bytes)
{
    Staging *s = &tpcrt_cuda.stage[tpcrt_cuda.next_stage];
    if (stage != s->host)
        tpcrt_fail("internal error: a weight uploaded from a buffer tpcrt_cuda_stage did not give");
    tpcrt_cuda_check(cudaMemcpyAsync(device, stage, bytes, cudaMemcpyHostToDevice,
                                     tpcrt_cuda.stream), "uploading a weight");
    tpcrt_cuda_check(cudaEventRecord(s->done, tpcrt_cuda.stream), "cudaEventRecord");
    s->pending = true;
    tpcrt_cuda.next_stage ^= 1;
}

void tpcrt_cuda_load_end(void)
{
    tpcrt_cuda_sync();
    for (int i = 0; i < 2; i++) {
        Staging *s = &tpcrt_cuda.stage[i];
        if (s->host)
            cudaFreeHost(s->host);
        if (s->done)
            cudaEventDestroy(s->done);
        *s = (Staging){0};
    }
}

/* ---- copies -------------------------------------------------------------------------------- */

void *tpcrt_cuda_to_device(const void *host, size_t bytes, const char *what)
{
    void *device = tpcrt_cuda_alloc(bytes, what);
    if (bytes)
        tpcrt_cuda_check(cudaMemcpy(device, host, bytes, cudaMemcpyHostToDevice), what);
    return device;
}

void tpcrt_cuda_copy_to_device(void *device, const void *host, size_t bytes)
{
    tpcrt_cuda_sync(); /* the device may still read what is there */
    if (bytes)
        tpcrt_cuda_check(cudaMemcpy(device, host, bytes, cudaMemcpyHostToDevice),
                         "copying to the device");
}

void tpcrt_cuda_to_host(void *host, const void *device, size_t bytes)
{
    tpcrt_cuda_sync();
    if (bytes)
        tpcrt_cuda_check(cudaMemcpy(host, device, bytes, cudaMemcpyDeviceToHost),
                         "copying to the host");
}

void tpcrt_cuda_copy(float *dst, const float *src, int64_t count)
{
    if (count > 0 && dst != src)
        tpcrt_cuda_check(cudaMemcpyAsync(dst, src, sizeof(float) * (size_t)count,
                                         cudaMemcpyDeviceToDevice, tpcrt_cuda.stream),
                         "cudaMemcpyAsync");
}

void tpcrt_cuda_copy_rows(float *dst, int64_t ld_dst, const float *src, int64_t ld_src,
                          int64_t rows, int64_t cols)
{
    if (rows <= 0 || cols <= 0)
        return;
    tpcrt_cuda_check(cudaMemcpy2DAsync(dst, sizeof(float) * (size_t)ld_dst, src,
                                       sizeof(float) * (size_t)ld_src, sizeof(float) * (size_t)cols,
                                       (size_t)rows, cudaMemcpyDeviceToDevice, tpcrt_cuda.stream),
                     "cudaMemcpy2DAsync");
}

/* ---- GEMM ---------------------------------------------------------------------------------- */

/* cuBLAS takes int sizes: a larger one is refused rather than cut. */
static int blas_int(int64_t v, const char *what)
{
    if (v < 0 || v > INT_MAX)
        tpcrt_fail("cuBLAS: %s is %lld, outside [0, 2^31)", what, (long long)v);
    return (int)v;
}

void tpcrt_cuda_sgemm(bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                      const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                      float *c, int64_t ldc)
{
    if (m == 0 || n == 0)
        return;
    /* row-major c [m, n] is column-major c^T [n, m]: c^T = op(b)^T a^T, where b as stored is
     * column-major b^T ([n, k] for row-major [k, n]: no transpose) */
    tpcrt_cublas_check(cublasGemmEx(tpcrt_cuda.blas, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                                    CUBLAS_OP_N, blas_int(n, "n"), blas_int(m, "m"),
                                    blas_int(k, "k"), &alpha, b, CUDA_R_32F, blas_int(ldb, "ldb"),
                                    a, CUDA_R_32F, blas_int(lda, "lda"), &beta, c, CUDA_R_32F,
                                    blas_int(ldc, "ldc"), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                       "cublasGemmEx");
}

uint16_t *tpcrt_cuda_scratch_bf16(int64_t elements)
{
    if (elements > tpcrt_cuda.scratch_bf16_capacity) {
        tpcrt_cuda_sync();
        tpcrt_cuda_free(tpcrt_cuda.scratch_bf16);
        tpcrt_cuda.scratch_bf16 = tpcrt_cuda_alloc(sizeof(uint16_t) * (size_t)elements,
                                                   "bf16 GEMM rows");
        tpcrt_cuda.scratch_bf16_capacity = elements;
    }
    return tpcrt_cuda.scratch_bf16;
}

void tpcrt_cuda_gemm_bf16(int64_t m, int64_t n, int64_t k, const uint16_t *x, const uint16_t *w,
                          float beta, float *y, int64_t ld_y)
{
    if (m == 0 || n == 0)
        return;
    float alpha = 1.0f;
    /* column-major: y^T [n, m] = w [n, k] (stored as w^T: transposed) x^T [k, m] */
    tpcrt_cublas_check(cublasGemmEx(tpcrt_cuda.blas, CUBLAS_OP_T, CUBLAS_OP_N, blas_int(n, "n"),
                                    blas_int(m, "m"), blas_int(k, "k"), &alpha, w, CUDA_R_16BF,
                                    blas_int(k, "k"), x, CUDA_R_16BF, blas_int(k, "k"), &beta, y,
                                    CUDA_R_32F, blas_int(ld_y, "ld_y"), CUBLAS_COMPUTE_32F,
                                    CUBLAS_GEMM_DEFAULT),
                       "cublasGemmEx (bf16)");
}

/* ---- CUDA graphs --------------------------------------------------------------------------- */

struct TpcrtCudaGraph {
    cudaGraph_t graph;
    cudaGraphExec_t exec;
};

void tpcrt_cuda_graph_begin(void)
{
    tpcrt_cuda_check(cudaStreamBeginCapture(tpcrt_cuda.stream, cudaStreamCaptureModeThreadLocal),
                     "cudaStreamBeginCapture");
}

TpcrtCudaGraph *tpcrt_cuda_graph_end(void)
{
    TpcrtCudaGraph *g = tpcrt_alloc(sizeof *g, "a CUDA graph");
    tpcrt_cuda_check(cudaStreamEndCapture(tpcrt_cuda.stream, &g->graph), "cudaStreamEndCapture");
    tpcrt_cuda_check(cudaGraphInstantiate(&g->exec, g->graph, 0), "cudaGraphInstantiate");
    return g;
}

void tpcrt_cuda_graph_launch(TpcrtCudaGraph *g)
{
    tpcrt_cuda_check(cudaGraphLaunch(g->exec, tpcrt_cuda.stream), "cudaGraphLaunch");
}

void tpcrt_cuda_graph_free(TpcrtCudaGraph *g)
{
    if (!g)
        return;
    cudaGraphExecDestroy(g->exec);
    cudaGraphDestroy(g->graph);
    tpcrt_free(g);
}

/* ---- --stats ------------------------------------------------------------------------------- */

void tpcrt_cuda_stats_report(const TpcrtArgs *args, int64_t weight_bytes,
                             int64_t activation_bytes, int64_t kv_cache_bytes)
{
    if (!args->stats)
        return;
    int size = tpcrt_world_size();
    int64_t mine[5] = {weight_bytes, activation_bytes, kv_cache_bytes, WORKSPACE_BYTES,
                       tpcrt_cuda.collective_bytes};
    int64_t *all = tpcrt_alloc((size_t)size * sizeof mine, "stats");
    mpi_check(MPI_Gather(mine, 5, MPI_INT64_T, all, 5, MPI_INT64_T, 0, tpcrt_comm()));
    for (int r = 0; tpcrt_rank() == 0 && r < size; r++) {
        const int64_t *s = all + 5 * r;
        printf("stats: rank %d: device memory: weights %.1f MB, activations %.1f MB, kv cache "
               "%.1f MB, cuBLAS workspace %.1f MB, collectives %.1f MB\n", r, (double)s[0] / 1e6,
               (double)s[1] / 1e6, (double)s[2] / 1e6, (double)s[3] / 1e6, (double)s[4] / 1e6);
    }
    fflush(stdout);
    tpcrt_free(all);
}
