/* build.c — building the program tpc wrote: `make` in the output folder, with the Makefile
 * emit_program wrote, so that `tpc` and a user who edits the C and types `make` build alike.
 * Flags and libraries come from this tpc's own build (tpc_config.h): the same C compiler,
 * OpenBLAS, Open MPI, jansson and this build's libtpcrt.
 */
#include "codegen.h"
#include "tpc_config.h"

#include <errno.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>

extern char **environ;

const char *build_cflags(void)
{
    return "-std=c17 -O3 -march=native -fopenmp-simd -fno-trapping-math -fno-math-errno "
           "-Wall -Wno-unused-function "
           "-I" TPC_RUNTIME_INCLUDE " -I" TPC_CBLAS_INCLUDE " " TPC_MPI_INCLUDES " "
           TPC_PROGRAM_CFLAGS;
}

const char *build_libs(void)
{
    return TPC_RUNTIME_LIBRARY " " TPC_LIBRARIES " " TPC_PROGRAM_LDFLAGS;
}

bool build_program(Graph *g, const Options *opt, const char *c_path)
{
    char make[] = "make", silent[] = "-s", quiet[] = "--no-print-directory", dir[] = "-C";
    char *argv[] = {make, silent, quiet, dir, (char *)opt->outdir, NULL};
    pid_t pid;
    int err = posix_spawnp(&pid, "make", NULL, NULL, argv, environ);
    if (err) {
        fprintf(stderr, "tpc: error: cannot run make to build '%s': %s\n", c_path, strerror(err));
        return false;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return false;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "tpc: error: building '%s/%s' failed (make in %s)\n", opt->outdir, g->name,
                opt->outdir);
        return false;
    }
    return true;
}
