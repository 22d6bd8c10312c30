/* collectives.c — all-reduce, all-gather, gather to rank 0, reduce-scatter and broadcast over
 * tpcrt_comm(), for every split TpcrtSplit can say: even or uneven, segmented, overlapping.
 *
 * A collective over a split is three steps: pack what goes out into one buffer laid out rank by
 * rank, one MPI call on those contiguous per-rank blocks (the variable-count forms, so uneven
 * ranges need nothing more), unpack into place. Rank r's block is [rows, local_r]: row by row,
 * its range of every segment in order. When the split is one segment of consecutive ranges in
 * rank order and there is one row, the full matrix is already laid out rank by rank and the MPI
 * call reads or writes it in place.
 *
 * MPI counts and displacements are int. A collective whose blocks together fit in one call (at
 * most max_count elements, INT_MAX unless a test lowers it) is that one call. A larger one goes
 * rank by rank in pieces of at most max_count elements: a broadcast from each rank of its block
 * (all-gather), a send of it to rank 0 (gather to root), a reduction to each rank of its block
 * (reduce-scatter); all-reduce and broadcast go piece by piece too. Offsets into the buffers are
 * int64_t throughout: past 2^31 elements only the counts of one call are int.
 *
 * The repack buffer and the count tables are allocated once and grow only when a larger
 * collective comes, so a forward allocates nothing. Time inside every call, waiting included,
 * goes to tpcrt_collective_seconds.
 *
 * For NCCL the split geometry and the packing stay; the five transport functions at the end
 * change (uneven all-gather and reduce-scatter become grouped ncclSend/ncclRecv) and packing
 * runs on the device.
 */
#include <mpi.h> /* first: internal.h declares tpcrt_comm after it */

#include "internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

typedef struct Comm {
    int size, rank;
    int64_t *counts, *displs;   /* per rank, in elements: rank r's block in the packed buffer */
    int *call_counts, *call_displs; /* the same as int, when one call carries them all */
    bool one_call;              /* the blocks fit in one variable-count call */
    float *buffer;              /* the repack buffer */
    size_t capacity;            /* its elements */
    int64_t max_count;          /* the most elements one MPI call carries */
} Comm;

static Comm comm;

/* TPCRT_MAX_MESSAGE=N: for tests only, so that the pieces of collectives too large for one MPI
 * call can be checked with small ones. */
static int64_t max_count_from_environment(void)
{
    const char *text = getenv("TPCRT_MAX_MESSAGE");
    char *end = NULL;
    long long n = text ? strtoll(text, &end, 10) : 0;
    return text && *end == '\0' && n > 0 && n < INT_MAX ? n : INT_MAX;
}

void tpcrt_collectives_init(int world_size)
{
    size_t n = (size_t)world_size;
    comm.size = world_size;
    comm.rank = tpcrt_rank();
    comm.counts = tpcrt_alloc(n * sizeof *comm.counts, "collective counts");
    comm.displs = tpcrt_alloc(n * sizeof *comm.displs, "collective counts");
    comm.call_counts = tpcrt_alloc(n * sizeof *comm.call_counts, "collective counts");
    comm.call_displs = tpcrt_alloc(n * sizeof *comm.call_displs, "collective counts");
    comm.max_count = max_count_from_environment();
}

void tpcrt_collectives_free(void)
{
    tpcrt_free(comm.counts);
    tpcrt_free(comm.displs);
    tpcrt_free(comm.call_counts);
    tpcrt_free(comm.call_displs);
    tpcrt_free(comm.buffer);
    comm = (Comm){0};
}

void tpcrt_collectives_set_max_count(int64_t count)
{
    comm.max_count = count < 1 ? 1 : count < INT_MAX ? count : INT_MAX;
}

size_t tpcrt_collectives_buffer_bytes(void)
{
    return comm.capacity * sizeof *comm.buffer;
}

/* The repack buffer, grown to hold at least count elements. */
static float *buffer_reserve(int64_t count)
{
    if ((size_t)count > comm.capacity) {
        size_t grown = comm.capacity + comm.capacity / 2;
        tpcrt_free(comm.buffer);
        comm.capacity = grown > (size_t)count ? grown : (size_t)count;
        comm.buffer = tpcrt_alloc(comm.capacity * sizeof *comm.buffer, "collective buffer");
    }
    return comm.buffer;
}

/* ---- split geometry -------------------------------------------------------------------------- */

static TpcrtRange split_range(const TpcrtSplit *split, int seg, int rank)
{
    return split->ranges[seg * comm.size + rank];
}

int64_t tpcrt_split_local(const TpcrtSplit *split, int rank)
{
    int64_t local = 0;
    for (int seg = 0; seg < split->nseg; seg++)
        local += split_range(split, seg, rank).end - split_range(split, seg, rank).start;
    return local;
}

/* A bad split is the compiler's bug, never the user's: it ends the job all the same. */
static void split_check(const TpcrtSplit *split, const char *op)
{
    if (split->nseg < 1 || split->full < 0)
        tpcrt_fail("%s: internal error: split of %d segments over %lld columns", op, split->nseg,
                   (long long)split->full);
    for (int seg = 0; seg < split->nseg; seg++)
        for (int r = 0; r < comm.size; r++) {
            TpcrtRange c = split_range(split, seg, r);
            if (c.start < 0 || c.start > c.end || c.end > split->full)
                tpcrt_fail("%s: internal error: segment %d of rank %d is [%lld, %lld), outside "
                           "[0, %lld)", op, seg, r, (long long)c.start, (long long)c.end,
                           (long long)split->full);
        }
}

/* The full matrix is the ranks' blocks one after another: no repacking needed. */
static bool split_in_place(const TpcrtSplit *split, int64_t rows)
{
    if (split->nseg != 1)
        return false;
    int64_t next = 0;
    int holders = 0;
    for (int r = 0; r < comm.size; r++) {
        TpcrtRange c = split_range(split, 0, r);
        if (c.start != next)
            return false;
        next = c.end;
        holders += c.end > c.start;
    }
    return next == split->full && (rows == 1 || holders <= 1);
}

/* counts[r] = rows * local_r and displs[r] their running sum; returns the total. */
static int64_t set_counts(const TpcrtSplit *split, int64_t rows, const char *op)
{
    int64_t total = 0;
    for (int r = 0; r < comm.size; r++) {
        int64_t count, next;
        if (rows < 0 || tpcrt_mul_overflows(rows, tpcrt_split_local(split, r), &count) ||
            __builtin_add_overflow(total, count, &next))
            tpcrt_fail("%s: %lld rows of %lld columns: more than 2^63 elements", op,
                       (long long)rows, (long long)split->full);
        comm.counts[r] = count;
        comm.displs[r] = total;
        total = next;
    }
    comm.one_call = total <= comm.max_count;
    for (int r = 0; comm.one_call && r < comm.size; r++) {
        comm.call_counts[r] = (int)comm.counts[r];
        comm.call_displs[r] = (int)comm.displs[r];
    }
    return total;
}

/* Rank r's block [rows, local_r] from its columns of full [rows, split->full]. */
static void pack(const float *full, float *block, int64_t rows, const TpcrtSplit *split, int r)
{
    for (int64_t i = 0; i < rows; i++) {
        const float *row = full + i * split->full;
        for (int seg = 0; seg < split->nseg; seg++) {
            TpcrtRange c = split_range(split, seg, r);
            memcpy(block, row + c.start, (size_t)(c.end - c.start) * sizeof *block);
            block += c.end - c.start;
        }
    }
}

/* The inverse of pack: rank r's block into its columns of full. */
static void unpack(const float *block, float *full, int64_t rows, const TpcrtSplit *split, int r)
{
    for (int64_t i = 0; i < rows; i++) {
        float *row = full + i * split->full;
        for (int seg = 0; seg < split->nseg; seg++) {
            TpcrtRange c = split_range(split, seg, r);
            memcpy(row + c.start, block, (size_t)(c.end - c.start) * sizeof *block);
            block += c.end - c.start;
        }
    }
}

/* ---- transport: the only MPI calls ----------------------------------------------------------- */

/* The elements of the next piece of a block of `count` from `done`. */
static int piece(int64_t count, int64_t done)
{
    return (int)(count - done < comm.max_count ? count - done : comm.max_count);
}

static void transport_all_reduce(float *buf, int64_t count)
{
    for (int64_t done = 0; done < count; done += comm.max_count)
        mpi_check(MPI_Allreduce(MPI_IN_PLACE, buf + done, piece(count, done), MPI_FLOAT, MPI_SUM,
                                tpcrt_comm()));
}

/* blocks[displs[r]...] gets every rank's block; this rank's comes from `block`. */
static void transport_all_gather(const float *block, float *blocks)
{
    if (comm.one_call) {
        mpi_check(MPI_Allgatherv(block, comm.call_counts[comm.rank], MPI_FLOAT, blocks,
                                 comm.call_counts, comm.call_displs, MPI_FLOAT, tpcrt_comm()));
        return;
    }
    memcpy(blocks + comm.displs[comm.rank], block,
           (size_t)comm.counts[comm.rank] * sizeof *block);
    for (int r = 0; r < comm.size; r++)
        for (int64_t done = 0; done < comm.counts[r]; done += comm.max_count)
            mpi_check(MPI_Bcast(blocks + comm.displs[r] + done, piece(comm.counts[r], done),
                                MPI_FLOAT, r, tpcrt_comm()));
}

/* As transport_all_gather, into rank 0's blocks only (NULL elsewhere). */
enum { GATHER_TAG = 1 };

static void transport_gather(const float *block, float *blocks)
{
    if (comm.one_call) {
        mpi_check(MPI_Gatherv(block, comm.call_counts[comm.rank], MPI_FLOAT, blocks,
                              comm.call_counts, comm.call_displs, MPI_FLOAT, 0, tpcrt_comm()));
        return;
    }
    if (comm.rank != 0) {
        for (int64_t done = 0; done < comm.counts[comm.rank]; done += comm.max_count)
            mpi_check(MPI_Send(block + done, piece(comm.counts[comm.rank], done), MPI_FLOAT, 0,
                               GATHER_TAG, tpcrt_comm()));
        return;
    }
    memcpy(blocks + comm.displs[0], block, (size_t)comm.counts[0] * sizeof *block);
    for (int r = 1; r < comm.size; r++)
        for (int64_t done = 0; done < comm.counts[r]; done += comm.max_count)
            mpi_check(MPI_Recv(blocks + comm.displs[r] + done, piece(comm.counts[r], done),
                               MPI_FLOAT, r, GATHER_TAG, tpcrt_comm(), MPI_STATUS_IGNORE));
}

/* This rank's `block` gets the sum over ranks of its block in every rank's blocks. */
static void transport_reduce_scatter(const float *blocks, float *block)
{
    if (comm.one_call) {
        mpi_check(MPI_Reduce_scatter(blocks, block, comm.call_counts, MPI_FLOAT, MPI_SUM,
                                     tpcrt_comm()));
        return;
    }
    for (int r = 0; r < comm.size; r++)
        for (int64_t done = 0; done < comm.counts[r]; done += comm.max_count)
            mpi_check(MPI_Reduce(blocks + comm.displs[r] + done,
                                 r == comm.rank ? block + done : NULL,
                                 piece(comm.counts[r], done), MPI_FLOAT, MPI_SUM, r,
                                 tpcrt_comm()));
}

static void transport_broadcast(void *buf, int64_t bytes)
{
    for (int64_t done = 0; done < bytes; done += comm.max_count)
        mpi_check(MPI_Bcast((char *)buf + done, piece(bytes, done), MPI_BYTE, 0, tpcrt_comm()));
}

/* ---- the collectives ------------------------------------------------------------------------- */

void tpcrt_all_reduce_sum(float *buf, int64_t count)
{
    double start = tpcrt_now();
    transport_all_reduce(buf, count);
    tpcrt_collective_time_add(tpcrt_now() - start);
}

void tpcrt_all_gather(const float *local, float *full, int64_t rows, const TpcrtSplit *split)
{
    double start = tpcrt_now();
    split_check(split, "all_gather");
    int64_t total = set_counts(split, rows, "all_gather");
    if (split_in_place(split, rows)) {
        transport_all_gather(local, full);
    } else {
        float *blocks = buffer_reserve(total);
        transport_all_gather(local, blocks);
        for (int r = 0; r < comm.size; r++)
            unpack(blocks + comm.displs[r], full, rows, split, r);
    }
    tpcrt_collective_time_add(tpcrt_now() - start);
}

void tpcrt_gather_to_root(const float *local, float *full, int64_t rows, const TpcrtSplit *split)
{
    double start = tpcrt_now();
    split_check(split, "gather_to_root");
    int64_t total = set_counts(split, rows, "gather_to_root");
    if (split_in_place(split, rows)) {
        transport_gather(local, full);
    } else {
        float *blocks = comm.rank == 0 ? buffer_reserve(total) : NULL;
        transport_gather(local, blocks);
        for (int r = 0; comm.rank == 0 && r < comm.size; r++)
            unpack(blocks + comm.displs[r], full, rows, split, r);
    }
    tpcrt_collective_time_add(tpcrt_now() - start);
}

void tpcrt_reduce_scatter(const float *full, float *local, int64_t rows, const TpcrtSplit *split)
{
    double start = tpcrt_now();
    split_check(split, "reduce_scatter");
    int64_t total = set_counts(split, rows, "reduce_scatter");
    if (split_in_place(split, rows)) {
        transport_reduce_scatter(full, local);
    } else {
        float *blocks = buffer_reserve(total);
        for (int r = 0; r < comm.size; r++)
            pack(full, blocks + comm.displs[r], rows, split, r);
        transport_reduce_scatter(blocks, local);
    }
    tpcrt_collective_time_add(tpcrt_now() - start);
}

void tpcrt_broadcast_bytes(void *buf, int64_t bytes)
{
    transport_broadcast(buf, bytes);
}
