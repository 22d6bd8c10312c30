/* timing.c — the clock, time spent in collectives, the --bench line and the --stats lines.
 *
 * Both reports go to stdout from rank 0, one line each, in a form scripts read: the bench line
 * is docs/cli.md's, and --stats gathers every rank's numbers so that they come out in rank
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
    printf("bench: median %.3f ms, min %.3f ms, max %.3f ms, %.1f tokens/s", median * 1e3,
           sorted[0] * 1e3, sorted[n - 1] * 1e3,
           median > 0 ? (double)tokens_per_forward / median : 0.0);
    if (collective_seconds_in_forwards >= 0)
        printf(", collectives %.1f%%\n",
               total > 0 ? 100.0 * collective_seconds_in_forwards / total : 0.0);
    else
        printf(", collectives not timed\n");
    fflush(stdout);
    tpcrt_free(sorted);
}
