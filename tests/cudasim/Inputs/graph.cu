// CUDA Graphs by stream capture: a kernel, an async copy, a cuBLAS GEMM and a NCCL all-reduce
// captured on one stream run nothing until the graph is launched; two launches give what running
// the sequence twice gives.  Calls CUDA forbids during capture fail and invalidate it.
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <math.h>
#include <mpi.h>
#include <nccl.h>

#include "cudasim_check.h"

__global__ void affine(float *x, int n)  // x = 2 x + 1
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        x[i] = 2.0f * x[i] + 1.0f;
}

enum { ROWS = 2, COLS = 3, N = ROWS * COLS };

/* The captured sequence on the host, in double: x = 2x + 1; y = x; c += y y^T; c = sum over ranks
 * of c. */
static void reference(double *x, double *c, int size, int rank, int times)
{
    double xs[8][N], cs[8][ROWS * ROWS] = {{0}};
    for (int r = 0; r < size; r++)
        for (int i = 0; i < N; i++)
            xs[r][i] = r + 0.5 * i;
    for (int t = 0; t < times; t++) {
        for (int r = 0; r < size; r++) {
            for (int i = 0; i < N; i++)
                xs[r][i] = 2 * xs[r][i] + 1;
            for (int i = 0; i < ROWS; i++)
                for (int j = 0; j < ROWS; j++)
                    for (int p = 0; p < COLS; p++)
                        cs[r][j * ROWS + i] += xs[r][p * ROWS + i] * xs[r][p * ROWS + j];
        }
        for (int k = 0; k < ROWS * ROWS; k++) {
            double sum = 0;
            for (int r = 0; r < size; r++)
                sum += cs[r][k];
            for (int r = 0; r < size; r++)
                cs[r][k] = sum;
        }
    }
    for (int i = 0; i < N; i++)
        x[i] = xs[rank][i];
    for (int k = 0; k < ROWS * ROWS; k++)
        c[k] = cs[rank][k];
}

static int rank, size;

static void check(const char *what, const float *dx, const float *dc, int times)
{
    float x[N], c[ROWS * ROWS];
    double rx[N], rc[ROWS * ROWS];
    CUDA_CHECK(cudaMemcpy(x, dx, sizeof x, cudaMemcpyDeviceToHost));
    CUDA_CHECK(cudaMemcpy(c, dc, sizeof c, cudaMemcpyDeviceToHost));
    reference(rx, rc, size, rank, times);
    int ok = 1;
    for (int i = 0; i < N; i++)
        ok &= fabs(x[i] - rx[i]) <= 1e-6 * fabs(rx[i]);
    for (int k = 0; k < ROWS * ROWS; k++)
        ok &= fabs(c[k] - rc[k]) <= 1e-6 * fabs(rc[k]);
    int all;
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (rank == 0)
        printf("%s: %s (c[0] = %g)\n", what, all ? "as the sequence run that often" : "WRONG",
               c[0]);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    ncclUniqueId id;
    if (rank == 0)
        ncclGetUniqueId(&id);
    MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, MPI_COMM_WORLD);
    ncclComm_t comm;
    if (ncclCommInitRank(&comm, size, id, rank) != ncclSuccess)
        return 1;
    cudaStream_t s;
    CUDA_CHECK(cudaStreamCreate(&s));
    cublasHandle_t h;
    if (cublasCreate(&h) || cublasSetStream(h, s))
        return 1;

    float hx[N], *dx, *dy, *dc;
    for (int i = 0; i < N; i++)
        hx[i] = rank + 0.5f * i;
    CUDA_CHECK(cudaMalloc((void **)&dx, sizeof hx));
    CUDA_CHECK(cudaMalloc((void **)&dy, sizeof hx));
    CUDA_CHECK(cudaMalloc((void **)&dc, ROWS * ROWS * sizeof(float)));
    CUDA_CHECK(cudaMemcpy(dx, hx, sizeof hx, cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemset(dc, 0, ROWS * ROWS * sizeof(float)));

    cudaGraph_t graph;
    cudaGraphExec_t exec;
    float one = 1.0f;
    CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
    LAUNCH(affine, 1, 32, 0, s)(dx, N);
    CUDA_CHECK(cudaGetLastError());
    CUDA_CHECK(cudaMemcpyAsync(dy, dx, sizeof hx, cudaMemcpyDeviceToDevice, s));
    if (cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_T, ROWS, ROWS, COLS, &one, dy, CUDA_R_32F, ROWS, dy,
                     CUDA_R_32F, ROWS, &one, dc, CUDA_R_32F, ROWS, CUBLAS_COMPUTE_32F,
                     CUBLAS_GEMM_DEFAULT))
        return 1;
    if (ncclAllReduce(dc, dc, ROWS * ROWS, ncclFloat, ncclSum, comm, s))
        return 1;
    CUDA_CHECK(cudaStreamEndCapture(s, &graph));
    CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
    check("captured, not launched", dx, dc, 0);
    CUDA_CHECK(cudaGraphLaunch(exec, s));
    CUDA_CHECK(cudaStreamSynchronize(s));
    check("launched once", dx, dc, 1);
    CUDA_CHECK(cudaGraphLaunch(exec, s));
    CUDA_CHECK(cudaStreamSynchronize(s));
    check("launched twice", dx, dc, 2);
    CUDA_CHECK(cudaGraphExecDestroy(exec));
    CUDA_CHECK(cudaGraphDestroy(graph));

    if (rank == 0) {
        // A synchronous copy during capture: refused, and the capture is invalidated.
        CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
        LAUNCH(affine, 1, 32, 0, s)(dx, N);
        printf("cudaMemcpy while capturing: %s\n",
               cudaGetErrorName(cudaMemcpy(hx, dx, sizeof hx, cudaMemcpyDeviceToHost)));
        graph = (cudaGraph_t)&graph;
        cudaError_t e = cudaStreamEndCapture(s, &graph);
        printf("cudaStreamEndCapture: %s, graph %s\n", cudaGetErrorName(e), graph ? "made" : "none");
        (void)cudaGetLastError();  // clear it

        CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
        printf("cudaStreamSynchronize while capturing: %s\n",
               cudaGetErrorName(cudaStreamSynchronize(s)));
        printf("cudaStreamEndCapture: %s\n", cudaGetErrorName(cudaStreamEndCapture(s, &graph)));

        void *p;
        CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
        printf("cudaMalloc in global mode: %s\n", cudaGetErrorName(cudaMalloc(&p, 64)));
        cudaStreamEndCapture(s, &graph);
        CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeRelaxed));
        printf("cudaMalloc in relaxed mode: %s\n", cudaGetErrorName(cudaMalloc(&p, 64)));
        CUDA_CHECK(cudaStreamEndCapture(s, &graph));
        CUDA_CHECK(cudaGraphDestroy(graph));
        CUDA_CHECK(cudaFree(p));

        // The legacy stream would wait for the captured (blocking) stream.
        CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
        LAUNCH(affine, 1, 32, 0, 0)(dx, N);
        printf("kernel on stream 0 while capturing: %s\n", cudaGetErrorName(cudaGetLastError()));
        printf("cudaStreamEndCapture: %s\n", cudaGetErrorName(cudaStreamEndCapture(s, &graph)));
        printf("capture on stream 0: %s\n",
               cudaGetErrorName(cudaStreamBeginCapture(0, cudaStreamCaptureModeGlobal)));
    }
    cublasDestroy(h);
    CUDA_CHECK(cudaStreamDestroy(s));
    ncclCommDestroy(comm);
    MPI_Finalize();
    return 0;
}
