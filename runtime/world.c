/* world.c — start-up and shut-down, the world-size check, failure, aligned memory.
 *
 * The world is MPI_COMM_WORLD, with MPI_ERRORS_RETURN so that every MPI call's status comes back
 * to mpi_check, which ends the job with one line naming the call. Ending the job is MPI_Abort:
 * it takes every rank down, so none is left waiting in a collective. Usage errors and a wrong
 * world size are seen alike by every rank (same command line, same world): rank 0 says so, and
 * every rank leaves through MPI_Finalize with the same status.
 */
#include "internal.h"

#include <cblas.h>
#include <mpi.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
/* In the AddressSanitizer build only: Open MPI unloads the plugins it does not select (in
 * MPI_Init) and the others (in MPI_Finalize); LeakSanitizer, which reports at exit, can then no
 * longer name their frames, and tests/lsan.supp cannot suppress the allocations they keep. So
 * nothing is ever unloaded: this definition takes the place of libdl's. */
int dlclose(void *handle);
int dlclose(void *handle)
{
    return 0;
}
#endif

static struct {
    int rank, size;
    bool mpi_started_here; /* tpcrt_init called MPI_Init, so tpcrt_finalize ends MPI */
} world;

/* Leaves every rank with `status` once rank 0 has had its say. */
static _Noreturn void world_exit(int status)
{
    fflush(stdout);
    fflush(stderr);
    mpi_check(MPI_Finalize());
    exit(status);
}

static void world_start(int *argc, char ***argv)
{
    int started = 0;
    mpi_check(MPI_Initialized(&started));
    if (!started) {
        if (MPI_Init(argc, argv) != MPI_SUCCESS) {
            fprintf(stderr, "tpc: MPI_Init failed\n");
            exit(1);
        }
        world.mpi_started_here = true;
    }
    mpi_check(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    mpi_check(MPI_Comm_rank(MPI_COMM_WORLD, &world.rank));
    mpi_check(MPI_Comm_size(MPI_COMM_WORLD, &world.size));
}

static void world_parse_args(int argc, char **argv, const TpcrtProgram *prog, TpcrtArgs *args)
{
    char err[TPCRT_ERROR_LEN];
    TpcrtArgsStatus status = tpcrt_args_parse(argc, argv, prog, args, err, sizeof err);
    if (status == TPCRT_ARGS_OK)
        return;
    if (world.rank == 0 && status == TPCRT_ARGS_HELP)
        tpcrt_usage_print(stdout, prog);
    if (world.rank == 0 && status == TPCRT_ARGS_USAGE) {
        fprintf(stderr, "tpc: rank 0: %s\n", err);
        tpcrt_usage_print(stderr, prog);
    }
    world_exit(status == TPCRT_ARGS_HELP ? 0 : 2);
}

static void world_check_size(const TpcrtProgram *prog)
{
    if (world.size == prog->tp)
        return;
    if (world.rank == 0)
        fprintf(stderr,
                "tpc: rank 0: %s was built for %d rank%s (-tp %d), started with %d: "
                "run it with mpirun -np %d\n",
                prog->name, prog->tp, prog->tp == 1 ? "" : "s", prog->tp, world.size, prog->tp);
    world_exit(1);
}

void tpcrt_init(int *argc, char ***argv, const TpcrtProgram *prog, TpcrtArgs *args)
{
    world_start(argc, argv);
    world_parse_args(*argc, *argv, prog, args);
    world_check_size(prog);
    openblas_set_num_threads(args->threads);
    tpcrt_collectives_init(world.size);
}

void tpcrt_finalize(void)
{
    tpcrt_collectives_free();
    fflush(stdout);
    if (world.mpi_started_here)
        mpi_check(MPI_Finalize());
}

int tpcrt_rank(void)
{
    return world.rank;
}

int tpcrt_world_size(void)
{
    return world.size;
}

/* The line goes out in one write, so lines of different ranks do not interleave. */
void tpcrt_fail(const char *fmt, ...)
{
    char line[4096];
    int used = snprintf(line, sizeof line, "tpc: rank %d: ", world.rank);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + used, sizeof line - (size_t)used - 1, fmt, ap);
    va_end(ap);
    strcat(line, "\n");
    fflush(stdout);
    if (write(STDERR_FILENO, line, strlen(line)) < 0) {
        /* Nothing better to do: the status still says it failed. */
    }

    /* Unchecked: there is nothing left to do when these fail but exit. */
    int started = 0, finished = 0;
    MPI_Initialized(&started);
    MPI_Finalized(&finished);
    if (started && !finished)
        MPI_Abort(MPI_COMM_WORLD, 1);
    exit(1);
}

void tpcrt_mpi_check(int status, const char *call, const char *file, int line)
{
    if (status == MPI_SUCCESS)
        return;
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(status, text, &len) != MPI_SUCCESS)
        snprintf(text, sizeof text, "error %d", status);
    tpcrt_fail("%s failed at %s:%d: %s", call, file, line, text);
}

/* Large blocks (a rank's weights, its activations) are aligned to 2 MiB and offered to the
 * kernel for transparent huge pages: streaming a weight then takes a TLB miss per 2 MiB, not
 * per 4 KiB (a one-token decoder step was about 15% faster that way here). */
enum { HUGE_PAGE = 2 << 20 };

void *tpcrt_alloc(size_t bytes, const char *what)
{
    size_t rounded = (bytes + 63) & ~(size_t)63;
    if (rounded < bytes)
        tpcrt_fail("out of memory: %s needs %zu bytes", what, bytes);
    bool huge = rounded >= 2 * (size_t)HUGE_PAGE;
    void *p = NULL;
    if (posix_memalign(&p, huge ? HUGE_PAGE : 64, rounded ? rounded : 64) != 0)
        tpcrt_fail("out of memory: %s needs %zu bytes", what, bytes);
#ifdef MADV_HUGEPAGE
    if (huge)
        madvise(p, rounded, MADV_HUGEPAGE); /* advice only: without THP it changes nothing */
#endif
    memset(p, 0, rounded);
    return p;
}

void tpcrt_free(void *p)
{
    free(p);
}

int64_t tpcrt_dim(const TpcrtDims *dims, const char *name)
{
    int i = tpcrt_dims_find(dims, name);
    if (i >= 0)
        return dims->values[i];
    tpcrt_fail("dimension '%s' is not bound: expected it from an input's shape or from --dim %s=N",
               name, name);
}
