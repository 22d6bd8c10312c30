/* nccl.c — the collectives of a --target cuda program over NCCL, for every split TpcrtSplit can
 * say (even or uneven, segmented, overlapping), queued on the rank's stream.
 *
 * As on the CPU (collectives.c), a collective over a split packs each rank's block [rows,
 * local_r] (row by row, its range of every segment), moves the blocks, and unpacks into place;
 * here packing is a 2-D copy per segment on the device (cudaMemcpy2DAsync), and the blocks
 * move by NCCL calls grouped between ncclGroupStart and ncclGroupEnd: an all-gather is one
 * broadcast from each rank (even or uneven alike), a gather to rank 0 a send from each rank, a
 * reduce-scatter one reduction to each rank. Even splits laid out in place could be one
 * ncclAllGather with no packing; that is for a GPU to measure against this (docs/cuda.md).
 */
#include <mpi.h> /* first: internal.h declares tpcrt_comm after it */

#include "../internal.h"
#include "cuda_internal.h"
#include "tpcrt_cuda.h"

static TpcrtRange range_of(const TpcrtSplit *split, int seg, int rank)
{
    return split->ranges[seg * tpcrt_world_size() + rank];
}

/* The packing buffer, grown to hold at least count floats (the first forward grows it; a graph
 * captured after that allocates nothing). */
static float *staging(int64_t count)
{
    if (count > tpcrt_cuda.staging_capacity) {
        tpcrt_cuda_sync();
        tpcrt_cuda_free(tpcrt_cuda.staging);
        tpcrt_cuda.staging = tpcrt_cuda_alloc(sizeof(float) * (size_t)count, "collectives");
        tpcrt_cuda.staging_capacity = count;
        tpcrt_cuda.collective_bytes = (int64_t)sizeof(float) * count;
    }
    return tpcrt_cuda.staging;
}

/* displs[r] = where rank r's block starts in the packed buffer; returns the total. */
static int64_t block_offsets(const TpcrtSplit *split, int64_t rows, int64_t *displs)
{
    int64_t total = 0;
    for (int r = 0; r < tpcrt_world_size(); r++) {
        int64_t count;
        displs[r] = total;
        if (rows < 0 || tpcrt_mul_overflows(rows, tpcrt_split_local(split, r), &count) ||
            __builtin_add_overflow(total, count, &total))
            tpcrt_fail("collective: %lld rows of %lld columns: more than 2^63 elements",
                       (long long)rows, (long long)split->full);
    }
    return total;
}

/* The floats of rank r's block. */
static int64_t block_count(const int64_t *displs, int64_t total, int r)
{
    return (r + 1 < tpcrt_world_size() ? displs[r + 1] : total) - displs[r];
}

/* Rank r's block to (pack) or from (unpack) its columns of full [rows, split->full]. */
static void move_block(float *full, float *block, int64_t rows, const TpcrtSplit *split, int r,
                       bool pack)
{
    int64_t local = tpcrt_split_local(split, r), at = 0;
    for (int seg = 0; seg < split->nseg; seg++) {
        TpcrtRange c = range_of(split, seg, r);
        if (pack)
            tpcrt_cuda_copy_rows(block + at, local, full + c.start, split->full, rows,
                                 c.end - c.start);
        else
            tpcrt_cuda_copy_rows(full + c.start, split->full, block + at, local, rows,
                                 c.end - c.start);
        at += c.end - c.start;
    }
}

void tpcrt_cuda_all_reduce_sum(float *buf, int64_t count)
{
    if (count > 0)
        tpcrt_nccl_check(ncclAllReduce(buf, buf, (size_t)count, ncclFloat32, ncclSum,
                                       tpcrt_cuda.nccl, tpcrt_cuda.stream), "ncclAllReduce");
}

void tpcrt_cuda_all_gather(const float *local, float *full, int64_t rows,
                           const TpcrtSplit *split)
{
    int size = tpcrt_world_size(), rank = tpcrt_rank();
    int64_t displs[size];
    int64_t total = block_offsets(split, rows, displs);
    float *packed = staging(total);
    tpcrt_nccl_check(ncclGroupStart(), "ncclGroupStart");
    for (int r = 0; r < size; r++) {
        int64_t count = block_count(displs, total, r);
        if (count > 0)
            tpcrt_nccl_check(ncclBroadcast(r == rank ? local : packed + displs[r],
                                           packed + displs[r], (size_t)count, ncclFloat32, r,
                                           tpcrt_cuda.nccl, tpcrt_cuda.stream), "ncclBroadcast");
    }
    tpcrt_nccl_check(ncclGroupEnd(), "ncclGroupEnd");
    for (int r = 0; r < size; r++)
        move_block(full, packed + displs[r], rows, split, r, false);
}

void tpcrt_cuda_gather_to_root(const float *local, float *full, int64_t rows,
                               const TpcrtSplit *split)
{
    int size = tpcrt_world_size(), rank = tpcrt_rank();
    int64_t displs[size];
    int64_t total = block_offsets(split, rows, displs);
    int64_t mine = block_count(displs, total, rank);
    if (rank != 0) {
        if (mine > 0)
            tpcrt_nccl_check(ncclSend(local, (size_t)mine, ncclFloat32, 0, tpcrt_cuda.nccl,
                                      tpcrt_cuda.stream), "ncclSend");
        return;
    }
    float *packed = staging(total);
    tpcrt_nccl_check(ncclGroupStart(), "ncclGroupStart");
    for (int r = 1; r < size; r++) {
        int64_t count = block_count(displs, total, r);
        if (count > 0)
            tpcrt_nccl_check(ncclRecv(packed + displs[r], (size_t)count, ncclFloat32, r,
                                      tpcrt_cuda.nccl, tpcrt_cuda.stream), "ncclRecv");
    }
    tpcrt_nccl_check(ncclGroupEnd(), "ncclGroupEnd");
    move_block(full, (float *)local, rows, split, 0, false);
    for (int r = 1; r < size; r++)
        move_block(full, packed + displs[r], rows, split, r, false);
}

void tpcrt_cuda_reduce_scatter(const float *full, float *local, int64_t rows,
                               const TpcrtSplit *split)
{
    int size = tpcrt_world_size(), rank = tpcrt_rank();
    int64_t displs[size];
    int64_t total = block_offsets(split, rows, displs);
    float *packed = staging(total);
    for (int r = 0; r < size; r++)
        move_block((float *)full, packed + displs[r], rows, split, r, true);
    tpcrt_nccl_check(ncclGroupStart(), "ncclGroupStart");
    for (int r = 0; r < size; r++) {
        int64_t count = block_count(displs, total, r);
        if (count > 0)
            tpcrt_nccl_check(ncclReduce(packed + displs[r], r == rank ? local : packed + displs[r],
                                        (size_t)count, ncclFloat32, ncclSum, r, tpcrt_cuda.nccl,
                                        tpcrt_cuda.stream), "ncclReduce");
    }
    tpcrt_nccl_check(ncclGroupEnd(), "ncclGroupEnd");
}
