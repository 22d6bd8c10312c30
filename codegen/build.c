/* build.c — writing and building the program: its files, written whole or not at all, and
 * `make -f Makefile` in the output folder with the Makefile written here, so that `tpc` and a
 * user who edits the C and types `make` build alike. (-f: make would prefer a GNUmakefile or
 * makefile it finds in the folder to ours.)
 * Flags and libraries come from this tpc's own build (tpc_config.h): the same C compiler,
 * OpenBLAS, Open MPI, jansson and this build's libtpcrt.
 */
#include "codegen.h"
#include "tpc_config.h"

#include <errno.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

const char *build_cflags(void)
{
    return "-std=gnu17 -O3 -march=native -fopenmp-simd -fno-trapping-math -fno-math-errno "
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
    char make[] = "make", silent[] = "-s", quiet[] = "--no-print-directory", dir[] = "-C",
         file[] = "-f", makefile[] = "Makefile";
    char *argv[] = {make, silent, quiet, dir, (char *)opt->outdir, file, makefile, NULL};
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

/* Written to a fresh temporary beside it (mkstemp: never a file or link already there), then
 * renamed over it: a reader sees the old file or the new one, never half of one. */
bool write_file(const char *path, const char *text, size_t size)
{
    char *temporary = malloc(strlen(path) + 8);
    if (!temporary)
        internal_error("out of memory");
    sprintf(temporary, "%s.XXXXXX", path);
    int fd = mkstemp(temporary);
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (fd >= 0 && !f)
        close(fd);
    bool ok = f && fchmod(fileno(f), 0644) == 0 && fwrite(text, 1, size, f) == size;
    ok = f && fclose(f) == 0 && ok;
    if (ok && rename(temporary, path) != 0)
        ok = false;
    if (!ok) {
        fprintf(stderr, "tpc: error: cannot write '%s': %s\n", path, strerror(errno));
        if (fd >= 0)
            remove(temporary);
    }
    free(temporary);
    return ok;
}

bool check_program_name(const Graph *g)
{
    static const char *const makefiles[] = {"Makefile", "makefile", "GNUmakefile"};
    for (size_t i = 0; i < sizeof makefiles / sizeof makefiles[0]; i++) {
        if (strcasecmp(g->name, makefiles[i]))
            continue;
        Diag diag;
        diag_init(&diag, stderr);
        diag_error(&diag, g->name_loc, "a model may not be called '%s': the program is built with "
                   "the Makefile beside it, which has that name", g->name);
        return false;
    }
    return true;
}

bool write_makefile(Graph *g, const Options *opt)
{
    const char *n = g->name;
    /* --backend llvm: tpc wrote NAME_kernels.o (the kernels, through LLVM); the library holds it */
    const char *kernels = opt->backend == BACKEND_LLVM ? arena_printf(g->arena, " %s_kernels.o", n) : "";
    const char *text = arena_printf(g->arena,
                                    "# Builds %s and lib%s.a (the model as a library, %s.h), as tpc "
                                    "does: make\n"
                                    "CC = %s\n"
                                    "CFLAGS = %s\n"
                                    "LDLIBS = %s\n\n"
                                    "all: %s lib%s.a\n\n"
                                    "%s.o: %s.c %s.h\n\t$(CC) $(CFLAGS) -c -o $@ %s.c\n\n"
                                    "lib%s.a: %s.o%s\n\trm -f $@ && ar rcs $@ %s.o%s\n\n"
                                    "%s: %s_main.c %s.h lib%s.a\n"
                                    "\t$(CC) $(CFLAGS) -o $@ %s_main.c lib%s.a $(LDLIBS)\n",
                                    n, n, n, TPC_CC, build_cflags(), build_libs(), n, n, n, n, n,
                                    n, n, n, kernels, n, kernels, n, n, n, n, n, n);
    return write_file(arena_printf(g->arena, "%s/Makefile", opt->outdir), text, strlen(text));
}
