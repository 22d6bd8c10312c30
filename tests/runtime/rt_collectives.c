/* rt_collectives — the collectives of libtpcrt checked exactly, at any world size: every split
 * kind (even, uneven, segmented, overlapping, empty, out of rank order) at one row and several,
 * every collective, and the repack buffer not growing when the same collectives run again.
 * --chunk N: all of that with at most N elements (broadcast: bytes) per MPI call, as collectives
 * of more than INT_MAX elements go (TPCRT_MAX_MESSAGE=N in the environment does the same);
 * --fail-on R: rank R fails while the others wait in an all-reduce. --bench: latencies
 * (tests/runtime/bench_runtime.sh).
 */
#include <mpi.h> /* first: tpcrt.h declares tpcrt_attach after it */

#include "internal.h"

#include <stdlib.h>
#include <string.h>

enum { MAX_SEG = 3, MAX_RANKS = 16, NSPLITS = 7 };

typedef struct Case {
    const char *name;
    TpcrtSplit split;
    TpcrtRange ranges[MAX_SEG * MAX_RANKS];
} Case;

static int world, rank;

/* [lo, hi) cut into `world` balanced pieces, the larger ones first; piece r scaled by unit. */
static TpcrtRange balanced(int64_t lo, int64_t units, int64_t unit, int r)
{
    int64_t base = units / world, extra = units % world;
    int64_t start = r * base + (r < extra ? r : extra);
    int64_t len = base + (r < extra);
    return (TpcrtRange){lo + start * unit, lo + (start + len) * unit};
}

static void case_add(Case *c, int seg, int r, TpcrtRange range)
{
    c->ranges[seg * world + r] = range;
}

/* One column block per rank, all the same size. */
static void split_even(Case *c)
{
    *c = (Case){.name = "even", .split = {1, c->ranges, 4 * world}};
    for (int r = 0; r < world; r++)
        case_add(c, 0, r, balanced(0, 4 * world, 1, r));
}

/* Sizes that differ by one. */
static void split_uneven(Case *c)
{
    *c = (Case){.name = "uneven", .split = {1, c->ranges, 3 * world + 2}};
    for (int r = 0; r < world; r++)
        case_add(c, 0, r, balanced(0, 3 * world + 2, 1, r));
}

/* A fused q | k | v of 6, 2 and 3 heads of 2 columns, each segment split by heads. */
static void split_segments(Case *c)
{
    *c = (Case){.name = "segments", .split = {3, c->ranges, 22}};
    for (int r = 0; r < world; r++) {
        case_add(c, 0, r, balanced(0, 6, 2, r));
        case_add(c, 1, r, balanced(12, 2, 2, r));
        case_add(c, 2, r, balanced(16, 3, 2, r));
    }
}

/* GQA: 4 query heads split, and each rank holds the kv head its queries read (overlapping). */
static void split_overlap(Case *c)
{
    *c = (Case){.name = "overlap", .split = {2, c->ranges, 12}};
    for (int r = 0; r < world; r++) {
        TpcrtRange q = balanced(0, 4, 2, r);
        int64_t kv_head = q.end > q.start ? q.start / 2 / 2 : 0;
        case_add(c, 0, r, q);
        case_add(c, 1, r, (TpcrtRange){8 + 2 * kv_head, 8 + 2 * kv_head + 2});
    }
}

/* The last rank holds nothing. */
static void split_empty(Case *c)
{
    *c = (Case){.name = "empty", .split = {1, c->ranges, world > 1 ? world - 1 : 1}};
    for (int r = 0; r < world; r++)
        case_add(c, 0, r, world == 1 ? (TpcrtRange){0, 1} : (TpcrtRange){r, r + 1});
    if (world > 1)
        case_add(c, 0, world - 1, (TpcrtRange){world - 1, world - 1});
}

/* Rank order reversed: rank 0 holds the last columns. */
static void split_reversed(Case *c)
{
    *c = (Case){.name = "reversed", .split = {1, c->ranges, 2 * world + 1}};
    for (int r = 0; r < world; r++)
        case_add(c, 0, r, balanced(0, 2 * world + 1, 1, world - 1 - r));
}

/* Every rank holds everything: a replicated value, split trivially. */
static void split_replicated(Case *c)
{
    *c = (Case){.name = "replicated", .split = {1, c->ranges, 5}};
    for (int r = 0; r < world; r++)
        case_add(c, 0, r, (TpcrtRange){0, 5});
}

/* The splits every world size is checked with. */
static void (*const split_makers[NSPLITS])(Case *) = {
    split_even, split_uneven, split_segments, split_overlap, split_empty, split_reversed,
    split_replicated,
};

static int make_cases(Case *cases)
{
    for (int i = 0; i < NSPLITS; i++)
        split_makers[i](&cases[i]);
    return NSPLITS;
}

/* The value at (row, column) of the full matrix, exact in f32. */
static float value(int64_t row, int64_t col)
{
    return (float)(row * 1000 + col);
}

/* Column j of rank r's block is column local_col(split, r, j) of the full matrix. */
static int64_t full_col(const TpcrtSplit *s, int r, int64_t j)
{
    for (int seg = 0; seg < s->nseg; seg++) {
        TpcrtRange c = s->ranges[seg * world + r];
        if (j < c.end - c.start)
            return c.start + j;
        j -= c.end - c.start;
    }
    tpcrt_fail("test: column %lld outside rank %d's block", (long long)j, r);
}

static void expect(bool ok, const char *op, const Case *c, int64_t rows, int64_t i, float want,
                   float saw)
{
    if (!ok)
        tpcrt_fail("%s, split '%s', %lld rows: element %lld: expected %g, saw %g", op, c->name,
                   (long long)rows, (long long)i, want, saw);
}

static bool covered(const TpcrtSplit *s, int64_t col)
{
    for (int i = 0; i < s->nseg * world; i++)
        if (col >= s->ranges[i].start && col < s->ranges[i].end)
            return true;
    return false;
}

static void check_gather(const Case *c, int64_t rows, bool to_root)
{
    const TpcrtSplit *s = &c->split;
    int64_t local = tpcrt_split_local(s, rank);
    float *block = tpcrt_alloc((size_t)(rows * local + 1) * 4, "block");
    float *full = tpcrt_alloc((size_t)(rows * s->full) * 4, "full");
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < local; j++)
            block[i * local + j] = value(i, full_col(s, rank, j));
    if (to_root)
        tpcrt_gather_to_root(block, full, rows, s);
    else
        tpcrt_all_gather(block, full, rows, s);
    for (int64_t k = 0; (!to_root || rank == 0) && k < rows * s->full; k++) {
        float want = covered(s, k % s->full) ? value(k / s->full, k % s->full) : 0;
        expect(full[k] == want, to_root ? "gather_to_root" : "all_gather", c, rows, k, want,
               full[k]);
    }
    tpcrt_free(block);
    tpcrt_free(full);
}

/* Rank r contributes (r + 1) * value: the sum is world (world + 1) / 2 * value. */
static void check_reduce_scatter(const Case *c, int64_t rows)
{
    const TpcrtSplit *s = &c->split;
    int64_t local = tpcrt_split_local(s, rank);
    float *full = tpcrt_alloc((size_t)(rows * s->full) * 4, "full");
    float *block = tpcrt_alloc((size_t)(rows * local + 1) * 4, "block");
    for (int64_t k = 0; k < rows * s->full; k++)
        full[k] = (float)(rank + 1) * value(k / s->full, k % s->full);
    tpcrt_reduce_scatter(full, block, rows, s);
    float ranks_sum = (float)(world * (world + 1) / 2);
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < local; j++) {
            float want = ranks_sum * value(i, full_col(s, rank, j));
            expect(block[i * local + j] == want, "reduce_scatter", c, rows, i * local + j, want,
                   block[i * local + j]);
        }
    tpcrt_free(full);
    tpcrt_free(block);
}

static void check_all_reduce_and_broadcast(void)
{
    enum { N = 1001 };
    static float buf[N];
    static const Case none = {.name = "none"};
    for (int k = 0; k < N; k++)
        buf[k] = (float)((rank + 1) * k);
    tpcrt_all_reduce_sum(buf, N);
    for (int k = 0; k < N; k++)
        expect(buf[k] == (float)(world * (world + 1) / 2 * k), "all_reduce", &none, 1, k,
               (float)(world * (world + 1) / 2 * k), buf[k]);
    if (rank == 0)
        printf("all_reduce ok\n");

    for (int k = 0; k < N; k++)
        buf[k] = rank == 0 ? (float)(3 * k + 1) : -1.0f;
    tpcrt_broadcast_bytes(buf, N * (int64_t)sizeof *buf);
    for (int k = 0; k < N; k++)
        expect(buf[k] == (float)(3 * k + 1), "broadcast", &none, 1, k, (float)(3 * k + 1),
               buf[k]);
    if (rank == 0)
        printf("broadcast ok\n");
}

/* Every collective over every split, at 1 and 3 rows. */
static void run_all(const Case *cases, int n, bool print)
{
    static const int64_t row_counts[] = {1, 3};
    const char *names[] = {"all_gather", "gather_to_root", "reduce_scatter"};
    for (int op = 0; op < 3; op++) {
        for (int i = 0; i < n; i++)
            for (int rc = 0; rc < 2; rc++) {
                if (op < 2)
                    check_gather(&cases[i], row_counts[rc], op == 1);
                else
                    check_reduce_scatter(&cases[i], row_counts[rc]);
            }
        if (print && rank == 0 && op == 0)
            printf("all_gather ok (%d splits x 2 row counts)\n", n);
        else if (print && rank == 0)
            printf("%s ok\n", names[op]);
    }
}

static void check_all(void)
{
    static Case cases[NSPLITS];
    int n = make_cases(cases);
    if (rank == 0)
        printf("collectives: %d splits at %d ranks\n", n, world);
    check_all_reduce_and_broadcast();
    run_all(cases, n, true);

    size_t bytes = tpcrt_collectives_buffer_bytes();
    run_all(cases, n, false);
    if (tpcrt_collectives_buffer_bytes() != bytes)
        tpcrt_fail("repack buffer grew from %zu to %zu bytes on the same collectives", bytes,
                   tpcrt_collectives_buffer_bytes());
    if (rank == 0)
        printf("repack buffer steady at %zu bytes\n", bytes);
    if (tpcrt_collective_seconds() <= 0)
        tpcrt_fail("no time counted in collectives");
    if (rank == 0)
        printf("collective time counted\n");
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median latency of all-reduce and all-gather at 4 KiB and 4 MiB per rank. */
static void bench(void)
{
    enum { ITERS = 200 };
    static const int64_t sizes[] = {1024, 1 << 20}; /* floats: 4 KiB, 4 MiB */
    for (int s = 0; s < 2; s++) {
        int64_t n = sizes[s];
        float *buf = tpcrt_alloc((size_t)(n * world) * 4, "bench");
        float *block = tpcrt_alloc((size_t)n * 4, "bench");
        TpcrtRange ranges[MAX_RANKS];
        for (int r = 0; r < world; r++)
            ranges[r] = (TpcrtRange){r * n, (r + 1) * n};
        TpcrtSplit split = {1, ranges, n * world};
        int iters = s == 0 ? ITERS * 10 : ITERS / 4;
        double *t = malloc((size_t)iters * 2 * sizeof *t);
        for (int op = 0; op < 2; op++)
            for (int i = -10; i < iters; i++) {
                mpi_check(MPI_Barrier(MPI_COMM_WORLD));
                double start = tpcrt_now();
                if (op == 0)
                    tpcrt_all_reduce_sum(buf, n);
                else
                    tpcrt_all_gather(block, buf, 1, &split);
                if (i >= 0)
                    t[op * iters + i] = tpcrt_now() - start;
            }
        for (int op = 0; op < 2 && rank == 0; op++) {
            qsort(t + op * iters, (size_t)iters, sizeof *t, compare_double);
            printf("bench: %d ranks: %-10s %7lld KiB per rank: median %9.1f us\n", world,
                   op ? "all_gather" : "all_reduce", (long long)(n * 4 / 1024),
                   t[op * iters + iters / 2] * 1e6);
        }
        free(t);
        tpcrt_free(block);
        tpcrt_free(buf);
    }
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_size(MPI_COMM_WORLD, &world);
    if (world > MAX_RANKS) {
        fprintf(stderr, "rt_collectives: at most %d ranks\n", MAX_RANKS);
        return 1;
    }
    TpcrtProgram prog = {.name = "rt_collectives", .tp = world};
    tpcrt_attach(MPI_COMM_WORLD, &prog, 1);
    rank = tpcrt_rank();

    if (argc == 3 && strcmp(argv[1], "--chunk") == 0) {
        tpcrt_collectives_set_max_count(atoi(argv[2]));
        check_all();
    } else if (argc == 3 && strcmp(argv[1], "--fail-on") == 0) {
        float x = 1;
        if (rank == atoi(argv[2]))
            tpcrt_fail("failing on purpose while the others wait");
        tpcrt_all_reduce_sum(&x, 1);
    } else if (argc == 2 && strcmp(argv[1], "--bench") == 0)
        bench();
    else
        check_all();
    tpcrt_finalize();
    MPI_Finalize();
    return 0;
}
