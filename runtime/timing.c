/* timing.c — the clock, time spent in collectives, the --bench line and the --stats lines.
 *
 * Both reports go to stdout from rank 0, one line each, in a form scripts read: the bench line
 * is spec/CLI.md's, and --stats gathers every rank's numbers so that they come out in rank
 * order.
 */
#include "internal.h"

#include <mpi.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double collective_seconds;

double tpcrt_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double tpcrt_collective_seconds(void)
{
    return collective_seconds;
}

void tpcrt_collective_time_add(double seconds)
{
    collective_seconds += seconds;
}

static int compare_seconds(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

void tpcrt_bench_report(const double *forward_seconds, int n, int64_t tokens_per_forward,
                        double collective_seconds_in_forwards)
{
    if (tpcrt_rank() != 0 || n <= 0)
        return;
    double *sorted = tpcrt_alloc((size_t)n * sizeof *sorted, "forward times");
    memcpy(sorted, forward_seconds, (size_t)n * sizeof *sorted);
    qsort(sorted, (size_t)n, sizeof *sorted, compare_seconds);
    double median = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    double total = 0;
    for (int i = 0; i < n; i++)
        total += sorted[i];
    printf("bench: median %.3f ms, min %.3f ms, max %.3f ms, %.1f tokens/s, collectives %.1f%%\n",
           median * 1e3, sorted[0] * 1e3, sorted[n - 1] * 1e3,
           median > 0 ? (double)tokens_per_forward / median : 0.0,
           total > 0 ? 100.0 * collective_seconds_in_forwards / total : 0.0);
    fflush(stdout);
    tpcrt_free(sorted);
}

/* The peak resident set (VmHWM) in bytes, or -1 where /proc does not say. */
static int64_t peak_memory(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %lld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb < 0 ? -1 : kb * 1024;
}

void tpcrt_stats_report(const TpcrtArgs *args, int64_t weight_bytes)
{
    if (!args->stats)
        return;
    int size = tpcrt_world_size();
    int64_t mine[3] = {weight_bytes, tpcrt_checkpoint_bytes_read(), peak_memory()};
    int64_t *all = tpcrt_alloc((size_t)size * sizeof mine, "stats");
    mpi_check(MPI_Gather(mine, 3, MPI_INT64_T, all, 3, MPI_INT64_T, 0, MPI_COMM_WORLD));
    for (int r = 0; tpcrt_rank() == 0 && r < size; r++)
        printf("stats: rank %d: weights %.1f MB, read %.1f MB, peak memory %.1f MB\n", r,
               (double)all[3 * r] / 1e6, (double)all[3 * r + 1] / 1e6,
               (double)all[3 * r + 2] / 1e6);
    fflush(stdout);
    tpcrt_free(all);
}
