/* build.c — writing and building the program: its files, written whole or not at all, and
 * `make -f Makefile` in the output folder with the Makefile written here, so that `tpc` and a
 * user who edits the C and types `make` build alike. (-f: make would prefer a GNUmakefile or
 * makefile it finds in the folder to ours.)
 * Flags and libraries come from this tpc's own build (tpc_config.h): the same C compiler,
 * OpenBLAS, Open MPI, jansson and this build's libtpcrt.
 */
#include "codegen.h"
#include "tpc_config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
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

/* ---- --target cuda ---------------------------------------------------------------------------- */

/* Whether path names an executable file. */
static bool executable(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* nvcc: $CUDA_HOME/bin/nvcc, else the first on PATH, else /usr/local/cuda/bin/nvcc. Its path
 * goes into the Makefile, so it may hold only characters make and the shell read as they are. */
const char *build_find_nvcc(Arena *a)
{
    const char *home = getenv("CUDA_HOME"), *found = NULL;
    if (home && *home && executable(arena_printf(a, "%s/bin/nvcc", home)))
        found = arena_printf(a, "%s/bin/nvcc", home);
    for (const char *path = getenv("PATH"); !found && path && *path;) {
        size_t n = strcspn(path, ":");
        const char *candidate = arena_printf(a, "%.*s/nvcc", (int)n, path);
        if (n && executable(candidate))
            found = candidate;
        path += n + (path[n] == ':');
    }
    if (!found && executable("/usr/local/cuda/bin/nvcc"))
        found = "/usr/local/cuda/bin/nvcc";
    if (!found) {
        fprintf(stderr, "tpc: error: --target cuda needs nvcc: none in $CUDA_HOME/bin, on PATH or "
                        "in /usr/local/cuda/bin (install the CUDA toolkit, or set CUDA_HOME)\n");
        return NULL;
    }
    if (found[strspn(found, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._+-")]) {
        fprintf(stderr, "tpc: error: nvcc's path '%s' has characters a Makefile cannot hold as "
                        "they are: install it, or link it, under a plain path\n", c_comment(a, found));
        return NULL;
    }
    return found;
}

/* What `nvcc --list-gpu-code` prints ("sm_75 sm_80 ..."), or NULL when it cannot be run or says
 * nothing (an nvcc older than CUDA 11 has no such option). */
static char *nvcc_gpu_codes(Arena *a, const char *nvcc)
{
    int fds[2];
    if (pipe(fds) != 0)
        return NULL;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    char list[] = "--list-gpu-code";
    char *argv[] = {(char *)nvcc, list, NULL};
    pid_t pid;
    int err = posix_spawn(&pid, nvcc, &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    char text[4096];
    size_t len = 0;
    ssize_t got;
    while (len < sizeof text - 1 && (got = read(fds[0], text + len, sizeof text - 1 - len)) != 0)
        if (got > 0)
            len += (size_t)got;
        else if (errno != EINTR)
            break;
    close(fds[0]);
    text[len] = '\0';
    int status = 1;
    if (!err)
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    if (err || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || !strstr(text, "sm_"))
        return NULL;
    for (char *c = text; *c; c++)
        if (*c == '\n')
            *c = ' ';
    text[strcspn(text, "\r")] = '\0';
    while (len && text[len - 1] == ' ')
        text[--len] = '\0';
    return arena_strdup(a, text);
}

bool build_check_cuda_arch(Arena *a, const char *nvcc, const Options *opt)
{
    const char *arch_list = opt->cuda_arch ? opt->cuda_arch : "sm_80,sm_90";
    const char *codes = nvcc_gpu_codes(a, nvcc);
    if (!codes)
        return true; /* make will say, if nvcc cannot */
    for (const char *s = arch_list; *s;) {
        size_t n = strcspn(s, ","), base = n; /* sm_90a, sm_100f: sm_90's, sm_100's variants */
        while (base > 3 && !isdigit((unsigned char)s[base - 1]))
            base--;
        bool listed = false;
        for (const char *c = codes; *c;) {
            size_t m = strcspn(c, " ");
            listed |= m == base && !strncmp(c, s, base);
            c += m + (c[m] == ' ');
        }
        if (!listed) {
            fprintf(stderr, "tpc: error: --cuda-arch %.*s: the nvcc here (%s) builds for %s\n",
                    (int)n, s, c_comment(a, nvcc), codes);
            return false;
        }
        s += n + (s[n] == ',');
    }
    return true;
}

/* nvcc's -gencode flags: each architecture's code, and PTX of the last for newer GPUs. */
static const char *gencode_flags(Arena *a, const char *arch_list)
{
    const char *flags = "", *last = NULL;
    for (const char *s = arch_list; *s;) {
        size_t n = strcspn(s, ",");
        const char *arch = arena_printf(a, "%.*s", (int)n - 3, s + 3); /* "80" of "sm_80" */
        flags = arena_printf(a, "%s -gencode arch=compute_%s,code=sm_%s", flags, arch, arch);
        last = arch;
        s += n + (s[n] == ',');
    }
    return arena_printf(a, "%s -gencode arch=compute_%s,code=compute_%s", flags, last, last);
}

/* The PTX's target (--backend llvm): the oldest architecture of --cuda-arch, which ptxas
 * assembles for each of them, capped at LLVM 14's newest (sm_86; PTX for it assembles for
 * sm_90 too). */
const char *build_ptx_arch(Arena *a, const Options *opt)
{
    long oldest = 0;
    for (const char *s = opt->cuda_arch ? opt->cuda_arch : "sm_80,sm_90"; *s;) {
        long arch = strtol(s + 3, NULL, 10);
        oldest = !oldest || arch < oldest ? arch : oldest;
        s += strcspn(s, ",");
        s += *s == ',';
    }
    return arena_printf(a, "sm_%ld", oldest < 86 ? oldest : 86);
}

/* --backend llvm: tpc wrote NAME.ptx (its kernels through LLVM) and NAME_kernels.c (their
 * launchers, which embed NAME.fatbin). ptxas assembles the PTX for each architecture (its -v
 * report kept, as nvcc's), fatbinary bundles the cubins with the PTX (for newer GPUs' JIT), gcc
 * builds the rest. No nvcc, and nothing the CPU harness can run. */
static bool write_makefile_cuda_llvm(Graph *g, const Options *opt, const char *nvcc)
{
    const char *n = g->name, *cuda_bin = arena_printf(g->arena, "%.*s", (int)(strlen(nvcc) - 4), nvcc);
    const char *ptxas = "", *images = "";
    for (const char *s = opt->cuda_arch ? opt->cuda_arch : "sm_80,sm_90"; *s;) {
        size_t len = strcspn(s, ",");
        const char *arch = arena_printf(g->arena, "%.*s", (int)len, s);
        ptxas = arena_printf(g->arena, "%s%s$(PTXAS) -O3 -v -arch=%s -o %s_%s.cubin %s.ptx", ptxas,
                             *ptxas ? " && " : "", arch, n, arch, n);
        images = arena_printf(g->arena, "%s --image3=kind=elf,sm=%s,file=%s_%s.cubin", images,
                              arch + 3, n, arch);
        s += len + (s[len] == ',');
    }
    const char *text = arena_printf(
        g->arena,
        "# Builds %s for CUDA GPUs from the kernels tpc built through LLVM (%s.ptx, --backend llvm):\n"
        "# ptxas assembles them for each architecture, fatbinary bundles the cubins with the PTX,\n"
        "# %s_kernels.c embeds the bundle and launches its entries through the CUDA driver API. make\n"
        "PTXAS = %sptxas\n"
        "FATBINARY = %sfatbinary\n"
        "CC = %s\n"
        "CFLAGS = %s\n"
        "CUDA_INCLUDES = %s\n"
        "LDLIBS = %s %s %s -lstdc++ -ldl\n\n"
        "all: %s\n\n"
        "# ptxas's report of each kernel (registers, spills) is kept beside it\n"
        "%s.fatbin: %s.ptx\n"
        "\t{ %s; } 2> %s_kernels.ptxas.txt || { cat %s_kernels.ptxas.txt >&2; exit 1; }\n"
        "\t$(FATBINARY) --create=$@ -64%s --image3=kind=ptx,sm=%s,file=%s.ptx\n\n"
        "%s_kernels.o: %s_kernels.c %s.fatbin\n"
        "\t$(CC) $(CFLAGS) $(CUDA_INCLUDES) -c -o $@ %s_kernels.c\n\n"
        "%s.o: %s.c %s.h\n\t$(CC) $(CFLAGS) $(CUDA_INCLUDES) -c -o $@ %s.c\n\n"
        "%s: %s_main.c %s.h %s.o %s_kernels.o\n"
        "\t$(CC) $(CFLAGS) -o $@ %s_main.c %s.o %s_kernels.o $(LDLIBS)\n\n"
        "sim:\n"
        "\t@echo 'make sim: the kernels of this build are PTX (tpc --backend llvm), which the CPU"
        " harness cannot run; build with --backend c for make sim' >&2; exit 1\n\n"
        ".PHONY: all sim\n",
        n, n, n, cuda_bin, cuda_bin, TPC_CC, build_cflags(), TPC_CUDA_INCLUDES,
        TPC_CUDA_RUNTIME_LIBRARY, TPC_CUDA_LIBS, build_libs(), n, n, n, ptxas, n, n, images,
        build_ptx_arch(g->arena, opt) + 3, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n);
    return write_file(arena_printf(g->arena, "%s/Makefile", opt->outdir), text, strlen(text));
}

bool write_makefile_cuda(Graph *g, const Options *opt)
{
    const char *n = g->name, *nvcc = build_find_nvcc(g->arena);
    if (!nvcc)
        return false;
    if (opt->backend == BACKEND_LLVM)
        return write_makefile_cuda_llvm(g, opt, nvcc);
    const char *arch = gencode_flags(g->arena, opt->cuda_arch ? opt->cuda_arch : "sm_80,sm_90");
    const char *text = arena_printf(
        g->arena,
        "# Builds %s for CUDA GPUs (nvcc, cuBLAS, NCCL, MPI), as tpc does: make\n"
        "# and %s-sim, the very same sources under the CPU harness of the CUDA execution model\n"
        "# (runtime/cudasim, docs/cudasim.md): make sim\n"
        "NVCC = %s\n"
        "CUDA_ARCH =%s\n"
        "CC = %s\n"
        "CXX = %s\n"
        "CFLAGS = %s\n"
        "CUDA_INCLUDES = %s\n"
        "LDLIBS = %s %s %s -lstdc++\n"
        "SIM_INCLUDES = -I%s\n"
        "SIM_CXXFLAGS = -std=gnu++17 -O1 -g -Wall " TPC_PROGRAM_CFLAGS "\n"
        "SIM_LDLIBS = %s %s -lstdc++\n\n"
        "all: %s\n\n"
        "# ptxas's report of each kernel (registers, spills) is kept beside it\n"
        "%s_kernels.o: %s_kernels.cu\n"
        "\t$(NVCC) -O3 -std=c++17 $(CUDA_ARCH) -Xptxas -v -c -o $@ %s_kernels.cu 2> %s_kernels.ptxas.txt"
        " || { cat %s_kernels.ptxas.txt >&2; exit 1; }\n\n"
        "%s.o: %s.c %s.h\n\t$(CC) $(CFLAGS) $(CUDA_INCLUDES) -c -o $@ %s.c\n\n"
        "%s: %s_main.c %s.h %s.o %s_kernels.o\n"
        "\t$(CC) $(CFLAGS) -o $@ %s_main.c %s.o %s_kernels.o $(LDLIBS)\n\n"
        "sim: %s-sim\n\n"
        "%s_kernels-sim.o: %s_kernels.cu\n"
        "\t$(CXX) $(SIM_CXXFLAGS) -x c++ $(SIM_INCLUDES) -c -o $@ %s_kernels.cu\n\n"
        "%s-sim.o: %s.c %s.h\n\t$(CC) $(CFLAGS) $(SIM_INCLUDES) -c -o $@ %s.c\n\n"
        "%s-sim: %s_main.c %s.h %s-sim.o %s_kernels-sim.o\n"
        "\t$(CC) $(CFLAGS) -o $@ %s_main.c %s-sim.o %s_kernels-sim.o $(SIM_LDLIBS)\n\n"
        ".PHONY: all sim\n",
        n, n, nvcc, arch, TPC_CC, TPC_CXX, build_cflags(), TPC_CUDA_INCLUDES,
        TPC_CUDA_RUNTIME_LIBRARY, TPC_CUDA_LIBS, build_libs(), TPC_CUDASIM_INCLUDE,
        TPC_CUDASIM_LIBRARIES, build_libs(), n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n,
        n, n, n, n, n, n, n, n, n, n, n, n, n, n);
    return write_file(arena_printf(g->arena, "%s/Makefile", opt->outdir), text, strlen(text));
}
