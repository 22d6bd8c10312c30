/* tpc.c — the driver: options -> front end -> pass pipeline -> codegen -> build.
 *
 * Command line as docs/cli.md: silence on success, `file:line:col: error:` for bad input
 * (exit 1), one line and the usage for bad usage (exit 2).
 */
#include "codegen.h"
#include "frontend.h"
#include "passes.h"
#include "tpc_config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { EXIT_INPUT = 1, EXIT_USAGE = 2, MAX_TP = 4096 };

/* The compilation's memory; at file scope so that exiting on a usage error leaks nothing. */
static Arena *arena;

static const char usage[] =
    "usage: tpc MODEL.tpl [-tp N] [-o DIR] [-D NAME=VALUE ...]\n"
    "           [--emit bin|c|ir|llvm|plan|dot|program]\n"
    "           [--target cpu|cuda] [--cuda-arch sm_XY,...] [--backend c|llvm] [--cpu NAME]\n"
    "           [--dtype f32|bf16] [--rank R]\n"
    "           [--no-elide] [--sequence-parallel] [--print-after PASS] [--print-after-all] [-h]\n"
    "           [--version]\n";

static const char help[] =
    "Compile a dense model (.tpl) for N tensor-parallel ranks.\n"
    "\n"
    "  -tp N, --tp N          ranks to split the model over (default 1)\n"
    "  -o DIR                 output folder, made if missing (default out)\n"
    "  -D NAME=VALUE          override a config value; later config values are recomputed\n"
    "  --emit KIND            bin (default): the program in DIR; c: sources and a Makefile;\n"
    "                         ir: the IR after the last pass, on stdout; plan: the sharding plan\n"
    "                         as JSON; dot: the sharded graph for Graphviz; llvm: the kernels'\n"
    "                         LLVM IR, optimised (O3) for --cpu (NVPTX with --target cuda),\n"
    "                         on stdout;\n"
    "                         program: the per-rank program form codegen prints, on stdout\n"
    "  --target cpu|cuda      C with OpenBLAS and MPI, or CUDA C with cuBLAS and NCCL\n"
    "  --cuda-arch LIST       with --target cuda: the GPUs' code, e.g. sm_80,sm_90 (the\n"
    "                         default; PTX of the last is kept for newer GPUs)\n"
    "  --backend c|llvm       kernels as C source (default), or built through the LLVM-C API\n"
    "                         into DIR/NAME_kernels.o (vectorised for --cpu); with --target\n"
    "                         cuda, as PTX (DIR/NAME.ptx) that ptxas assembles for --cuda-arch\n"
    "  --cpu NAME             with --backend llvm: the CPU the kernels are built for, an LLVM\n"
    "                         name (skylake-avx512, znver3, x86-64); default this machine's\n"
    "  --dtype f32|bf16       the stored type of the projections' weights (default f32;\n"
    "                         bf16 with --target cuda);\n"
    "                         activations stay f32 (CUDA rounds a bf16 GEMM's input rows)\n"
    "  --rank R               with ir/dot: show the slices rank R holds (default 0)\n"
    "  --no-elide             keep every all-gather of the naive plan\n"
    "  --sequence-parallel    reduce-scatter / all-gather around norms instead of all-reduce\n"
    "  --print-after PASS     print the IR after PASS on stderr (passes: %s)\n"
    "  --print-after-all      print the IR after every pass on stderr\n"
    "  --stop-after PASS      run the pipeline up to PASS (sema: none of it); for testing\n"
    "  -h, --help             this help\n"
    "  --version              tpc's version\n";

static _Noreturn void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static _Noreturn void usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("tpc: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fputs(usage, stderr);
    exit(EXIT_USAGE);
}

/* --cuda-arch: sm_ and digits (a letter after them: sm_90a), comma-separated; it goes into
 * the Makefile's nvcc line, so nothing else may. */
static void check_cuda_arch(const char *list)
{
    const char *s = list;
    for (;;) {
        if (strncmp(s, "sm_", 3) != 0 || !isdigit((unsigned char)s[3]))
            break;
        s += 3;
        while (isdigit((unsigned char)*s))
            s++;
        if (isalpha((unsigned char)*s))
            s++;
        if (*s == '\0')
            return;
        if (*s++ != ',')
            break;
    }
    usage_error("--cuda-arch '%s': expected GPU architectures such as sm_80,sm_90", list);
}

static void print_help(void)
{
    char names[512] = "";
    size_t n = 0;
    for (int i = 0; i < pass_count; i++)
        n += (size_t)snprintf(names + n, sizeof names - n, "%s%s", i ? ", " : "",
                              pass_pipeline[i].name);
    fputs(usage, stdout);
    fputc('\n', stdout);
    printf(help, pass_count ? names : "none yet");
}

static int parse_int(const char *flag, const char *text, int min, int max)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (!*text || *end || errno || v < min || v > max)
        usage_error("%s expects an integer from %d to %d, saw '%s'", flag, min, max, text);
    return (int)v;
}

/* "--emit ir" or "--emit=ir": the value of a flag that takes one. */
static const char *flag_value(int argc, char **argv, int *i, const char *flag)
{
    const char *arg = argv[*i];
    size_t n = strlen(flag);
    if (!strncmp(arg, flag, n) && arg[n] == '=')
        return arg + n + 1;
    if (*i + 1 >= argc)
        usage_error("%s expects a value", flag);
    return argv[++*i];
}

static bool is_flag(const char *arg, const char *flag)
{
    size_t n = strlen(flag);
    return !strncmp(arg, flag, n) && (arg[n] == 0 || arg[n] == '=');
}

static int choose(const char *flag, const char *value, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(value, names[i]))
            return i;
    char list[256] = "";
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", names[i]);
    usage_error("%s expects one of %s, saw '%s'", flag, list, value);
}

static void add_define(Arena *a, Options *opt, const char *text)
{
    const char *eq = strchr(text, '=');
    if (!eq || eq == text)
        usage_error("-D expects NAME=VALUE, saw '%s'", text);
    struct Define *d = &opt->defines[opt->ndefines++];
    d->name = arena_strndup(a, text, (size_t)(eq - text));
    d->value = eq + 1;
    d->src = source_from_string(a, "<command line>", text);
}

static void check_pass_name(const char *flag, const char *name, bool sema_too)
{
    if (!name || pass_find(name) || (sema_too && !strcmp(name, "sema")))
        return;
    char names[512] = "";
    size_t n = 0;
    for (int i = 0; i < pass_count; i++)
        n += (size_t)snprintf(names + n, sizeof names - n, "%s%s", i ? ", " : "",
                              pass_pipeline[i].name);
    usage_error("%s: no pass is called '%s' (passes: %s%s)", flag, name,
                sema_too ? "sema, " : "", names);
}

static void parse_options(Arena *a, int argc, char **argv, Options *opt)
{
    static const char *const emits[] = {"bin", "c", "ir", "llvm", "plan", "dot", "program"};
    static const char *const targets[] = {"cpu", "cuda"};
    static const char *const backends[] = {"c", "llvm"};
    static const char *const dtypes[] = {"f32", "bf16"};
    *opt = (Options){.outdir = "out", .tp = 1, .emit = EMIT_BIN};
    opt->defines = arena_array(a, (size_t)argc, sizeof *opt->defines);
    bool dtype_given = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            print_help();
            exit(0);
        } else if (!strcmp(arg, "--version")) {
            printf("tpc %s\n", TPC_VERSION);
            exit(0);
        } else if (is_flag(arg, "-tp") || is_flag(arg, "--tp")) {
            opt->tp = parse_int("-tp", flag_value(argc, argv, &i, arg[1] == '-' ? "--tp" : "-tp"),
                                1, MAX_TP);
        } else if (is_flag(arg, "-o")) {
            opt->outdir = flag_value(argc, argv, &i, "-o");
        } else if (!strncmp(arg, "-o", 2) && arg[2]) {
            opt->outdir = arg + 2;
        } else if (!strcmp(arg, "-D")) {
            if (i + 1 >= argc)
                usage_error("-D expects NAME=VALUE");
            add_define(a, opt, argv[++i]);
        } else if (!strncmp(arg, "-D", 2)) {
            add_define(a, opt, arg + 2);
        } else if (is_flag(arg, "--emit")) {
            opt->emit = (EmitKind)choose("--emit", flag_value(argc, argv, &i, "--emit"), emits, 7);
        } else if (is_flag(arg, "--target")) {
            opt->target = (TargetKind)choose("--target", flag_value(argc, argv, &i, "--target"),
                                             targets, 2);
        } else if (is_flag(arg, "--cpu")) {
            opt->cpu = flag_value(argc, argv, &i, "--cpu");
            if (!*opt->cpu)
                usage_error("--cpu expects an LLVM CPU name such as skylake-avx512, saw ''");
        } else if (is_flag(arg, "--cuda-arch")) {
            opt->cuda_arch = flag_value(argc, argv, &i, "--cuda-arch");
            check_cuda_arch(opt->cuda_arch);
        } else if (is_flag(arg, "--dtype")) {
            opt->dtype = (WeightDType)choose("--dtype", flag_value(argc, argv, &i, "--dtype"),
                                             dtypes, 2);
            dtype_given = true;
        } else if (is_flag(arg, "--backend")) {
            opt->backend = (BackendKind)choose("--backend",
                                               flag_value(argc, argv, &i, "--backend"), backends, 2);
        } else if (is_flag(arg, "--rank")) {
            opt->rank = parse_int("--rank", flag_value(argc, argv, &i, "--rank"), 0, MAX_TP - 1);
        } else if (!strcmp(arg, "--no-elide")) {
            opt->no_elide = true;
        } else if (!strcmp(arg, "--sequence-parallel")) {
            opt->sequence_parallel = true;
        } else if (is_flag(arg, "--print-after")) {
            opt->print_after = flag_value(argc, argv, &i, "--print-after");
        } else if (is_flag(arg, "--stop-after")) {
            opt->stop_after = flag_value(argc, argv, &i, "--stop-after");
        } else if (!strcmp(arg, "--print-after-all")) {
            opt->print_after_all = true;
        } else if (arg[0] == '-' && arg[1]) {
            usage_error("unknown option '%s'", arg);
        } else if (opt->input) {
            usage_error("one model file at a time ('%s' and '%s')", opt->input, arg);
        } else {
            opt->input = arg;
        }
    }
    if (!opt->input)
        usage_error("no model file given");
    if (!dtype_given && opt->target == TARGET_CUDA)
        opt->dtype = WEIGHTS_BF16; /* GPUs: bf16 projections by default, as vLLM serves them */
    if (opt->rank >= opt->tp)
        usage_error("--rank %d is not a rank of -tp %d (ranks are 0 to %d)", opt->rank, opt->tp,
                    opt->tp - 1);
    if (opt->emit == EMIT_LLVM)
        opt->backend = BACKEND_LLVM; /* what --emit llvm shows is what --backend llvm builds */
    if (opt->cpu && opt->backend != BACKEND_LLVM)
        usage_error("--cpu chooses the CPU of --backend llvm's kernels (the C backend builds for "
                    "this one, -march=native)");
    if (opt->cpu && opt->target == TARGET_CUDA)
        usage_error("--cpu chooses the CPU of --backend llvm's kernels; with --target cuda, "
                    "--cuda-arch chooses the GPUs");
    check_pass_name("--print-after", opt->print_after, false);
    check_pass_name("--stop-after", opt->stop_after, true);
}

/* Options that belong to later stages of the roadmap say so plainly. */
static void refuse_unbuilt(const Options *opt)
{
    if (opt->target == TARGET_CUDA && !TPC_CUDA_FOUND)
        usage_error("--target cuda: this tpc was built without the CUDA toolkit (none in "
                    "$CUDA_HOME or /usr/local/cuda when it was configured)");
    if (opt->cuda_arch && opt->target != TARGET_CUDA)
        usage_error("--cuda-arch is for --target cuda");
    if (opt->sequence_parallel)
        usage_error("--sequence-parallel is not built yet");
}

/* mkdir -p */
static bool make_folder(const char *path)
{
    char *p = arena_strdup(arena, path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = 0;
        if (mkdir(p, 0777) != 0 && errno != EEXIST)
            return false;
        *s = '/';
    }
    return mkdir(p, 0777) == 0 || errno == EEXIST;
}

/* One tpc at a time writes and builds in a folder: a second one started on the same -o would
 * interleave its files with the first's. The lock is held until tpc exits. */
static bool lock_folder(const char *folder)
{
    const char *path = arena_printf(arena, "%s/.tpc.lock", folder);
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "tpc: error: cannot open the lock '%s': %s\n", path, strerror(errno));
        return false;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            fprintf(stderr, "tpc: error: another tpc is writing to '%s' (it holds '%s'); wait for "
                    "it, or give this one another -o\n", folder, path);
        else
            fprintf(stderr, "tpc: error: cannot lock '%s': %s\n", path, strerror(errno));
        close(fd);
        return false;
    }
    return true;
}

/* --emit c: the program's source and a Makefile in -o's folder; --emit bin: built too. */
static int emit_files(Graph *g, const Options *opt)
{
    if (!make_folder(opt->outdir)) {
        fprintf(stderr, "tpc: error: cannot make the folder '%s': %s\n", opt->outdir,
                strerror(errno));
        return EXIT_INPUT;
    }
    if (!lock_folder(opt->outdir))
        return EXIT_INPUT;
    const char *c_path = emit_program(g, opt, opt->input);
    if (!c_path)
        return EXIT_INPUT;
    if (opt->emit == EMIT_BIN && !build_program(g, opt, c_path))
        return EXIT_INPUT;
    return 0;
}

int main(int argc, char **argv)
{
    arena = arena_new();
    Options opt;
    parse_options(arena, argc, argv, &opt);
    refuse_unbuilt(&opt);

    Diag diag;
    diag_init(&diag, stderr);
    int status = EXIT_INPUT;
    const Source *src = source_read(arena, opt.input, &diag);
    Module *module = src ? parse_module(arena, src, &diag) : NULL;
    Graph *g = module && diag.errors == 0 ? sema_lower(arena, module, &opt, &diag) : NULL;
    if (g && pass_run_pipeline(g, &opt, &diag)) {
        status = 0;
        if (opt.emit == EMIT_IR)
            ir_print(stdout, g, opt.rank);
        else if (opt.emit == EMIT_PLAN)
            emit_plan(stdout, g, &opt);
        else if (opt.emit == EMIT_DOT)
            emit_dot(stdout, g, opt.rank);
        else if (opt.emit == EMIT_PROGRAM)
            emit_program_form(stdout, g);
        else if (opt.emit == EMIT_LLVM && !emit_kernels_llvm(stdout, g, &opt))
            status = 1;
        if (opt.emit == EMIT_BIN || opt.emit == EMIT_C)
            status = emit_files(g, &opt);
    }
    arena_free(arena);
    return status;
}
