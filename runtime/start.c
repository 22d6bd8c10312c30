/* start.c — a program's life in the runtime: start-up (MPI, the command line, the world size,
 * BLAS threads), what every rank must agree on before it takes part in a collective with the
 * others, the memory check, and at the end the --stats report and shut-down. (NCCL's set-up
 * will hang off tpcrt_init here.)
 *
 * Ranks are separate processes that mpirun may start from different binaries (MPMD:
 * `mpirun -np 1 A : -np 1 B`) with different command lines. If they run different programs, or
 * the same one with arguments that steer collectives differently (--bench counts, inputs read by
 * rank 0 and broadcast or made on every rank), they call different collectives, or the same ones
 * with different sizes: a hang, or a corrupted heap. So every rank puts what must agree into a
 * fixed-size record, and one MPI_Allgather gives every rank every record. Every rank then
 * compares each rank's record with rank 0's in the same order, finds the same first difference,
 * prints it in one line naming both ranks, and leaves through MPI_Finalize with status 1
 * (tpcrt_fail_everywhere): every rank knows, so nobody waits.
 *
 * This happens twice. tpcrt_init agrees on the command line's outcome, the program and the
 * arguments, before the first broadcast of tpcrt_inputs_load; tpcrt_check_start, once inputs
 * have bound the dimensions, agrees on all of that again and on the dimensions, and checks that
 * the ranks on each node (same host name) fit in its MemAvailable together.
 *
 * What need not agree: --weights PATH (each rank may see the checkpoint at its own path),
 * --input paths (rank 0 reads them), --output (rank 0 writes), --threads. --stats is rank 0's.
 */
#include <mpi.h> /* first: internal.h declares tpcrt_comm after it */

#include "internal.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

enum {
    HOST_LEN = 64,         /* of a host name in a record, NUL included */
    PROGRAM_NAME_LEN = 48, /* of a program name in a record, for messages only */
};

typedef struct StartRecord {
    int32_t args_status; /* TpcrtArgsStatus: the rest means nothing unless TPCRT_ARGS_OK */
    int32_t tp;
    uint64_t program_hash, name_hash;
    char program_name[PROGRAM_NAME_LEN];
    int32_t random_weights, random_input, stats, bench;
    uint64_t weights_seed, input_seed;
    uint32_t inputs_from_files; /* bit i: input i comes from --input */
    int32_t ndims;              /* -1 before the inputs have bound them */
    uint64_t dim_name_hash[TPCRT_MAX_IO];
    int64_t dim_value[TPCRT_MAX_IO];
    int64_t weight_bytes, activation_bytes, memory_available; /* -1: not known */
    char host[HOST_LEN];
    char output_refused[TPCRT_ERROR_LEN]; /* rank 0's: why it cannot write an --output */
} StartRecord;

static uint64_t text_hash(const char *text)
{
    uint64_t h = 0xcbf29ce484222325u; /* FNV-1a */
    for (const unsigned char *c = (const unsigned char *)text; *c; c++)
        h = (h ^ *c) * 0x100000001b3u;
    return h;
}

/* A "Key: N kB" line of a /proc file, in bytes, or -1 where it does not say. */
static int64_t proc_bytes(const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    char line[256];
    long long kb = -1;
    size_t n = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, key, n) && line[n] == ':' && sscanf(line + n + 1, "%lld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb < 0 || kb > INT64_MAX / 1024 ? -1 : kb * 1024;
}

/* MemAvailable from /proc/meminfo in bytes, or -1 where it does not say. */
int64_t tpcrt_memory_available(void)
{
    return proc_bytes("/proc/meminfo", "MemAvailable");
}

static void record_fill(StartRecord *r, const TpcrtProgram *prog, const TpcrtArgs *args,
                        TpcrtArgsStatus status)
{
    *r = (StartRecord){.args_status = status, .ndims = -1, .weight_bytes = -1,
                       .activation_bytes = -1, .memory_available = -1};
    if (status != TPCRT_ARGS_OK)
        return;
    r->tp = prog->tp;
    r->program_hash = prog->hash;
    r->name_hash = text_hash(prog->name);
    snprintf(r->program_name, sizeof r->program_name, "%s", prog->name);
    r->random_weights = args->random_weights;
    r->weights_seed = args->random_weights ? args->weights_seed : 0;
    r->random_input = args->random_input;
    r->input_seed = args->random_input ? args->input_seed : 0;
    r->stats = args->stats;
    r->bench = args->bench;
    for (int i = 0; i < prog->ninputs && i < TPCRT_MAX_IO; i++)
        if (args->input_paths[i] || tpcrt_prompt_fills(prog, args, i)) /* rank 0 sends these */
            r->inputs_from_files |= 1u << i;
    if (gethostname(r->host, sizeof r->host) != 0)
        snprintf(r->host, sizeof r->host, "unknown host");
    r->host[sizeof r->host - 1] = '\0';
}

/* Every rank's record; free with tpcrt_free. */
static StartRecord *records_gather(const StartRecord *mine)
{
    int size = tpcrt_world_size();
    StartRecord *all = tpcrt_alloc((size_t)size * sizeof *all, "start-up records");
    mpi_check(MPI_Allgather(mine, (int)sizeof *mine, MPI_BYTE, all, (int)sizeof *mine, MPI_BYTE,
                            tpcrt_comm()));
    return all;
}

/* ---- comparing a rank's record with rank 0's ------------------------------------------------- */

/* Every check writes what differs into msg and is true when something does. */

static bool differ_program(const StartRecord *a, const StartRecord *r0, int rank, char *msg,
                           size_t len)
{
    if (a->program_hash == r0->program_hash && a->name_hash == r0->name_hash && a->tp == r0->tp)
        return false;
    char a_name[TPCRT_TEXT_LEN], r0_name[TPCRT_TEXT_LEN];
    snprintf(msg, len, "rank %d runs a different program (%s, -tp %d) than rank 0 (%s, -tp %d) "
             "(another build: a different model, -D or -tp): start the same binary on every "
             "rank", rank, tpcrt_escape(a->program_name, a_name, sizeof a_name), a->tp,
             tpcrt_escape(r0->program_name, r0_name, sizeof r0_name), r0->tp);
    return true;
}

/* "--random-weights 3", "--weights", "--bench 5", "no --bench", ... */
static const char *option_text(char *buf, size_t len, const char *option, bool given,
                               uint64_t value)
{
    if (given)
        snprintf(buf, len, "%s %llu", option, (unsigned long long)value);
    else
        snprintf(buf, len, "no %s", option);
    return buf;
}

static bool differ_option(const char *option, bool a_given, uint64_t a_value, bool r0_given,
                          uint64_t r0_value, int rank, char *msg, size_t len)
{
    if (a_given == r0_given && (!a_given || a_value == r0_value))
        return false;
    char a_text[64], r0_text[64];
    snprintf(msg, len, "rank %d was started with %s, rank 0 with %s: every rank needs the same "
             "%s", rank, option_text(a_text, sizeof a_text, option, a_given, a_value),
             option_text(r0_text, sizeof r0_text, option, r0_given, r0_value), option);
    return true;
}

static bool differ_weights(const StartRecord *a, const StartRecord *r0, int rank, char *msg,
                           size_t len)
{
    if (a->random_weights != r0->random_weights) {
        snprintf(msg, len, "rank %d was started with %s, rank 0 with %s: every rank needs the "
                 "same weights", rank, a->random_weights ? "--random-weights" : "--weights",
                 r0->random_weights ? "--random-weights" : "--weights");
        return true;
    }
    return differ_option("--random-weights", a->random_weights, a->weights_seed,
                         r0->random_weights, r0->weights_seed, rank, msg, len);
}

static bool differ_inputs(const TpcrtProgram *prog, const StartRecord *a, const StartRecord *r0,
                          int rank, char *msg, size_t len)
{
    uint32_t differ = a->inputs_from_files ^ r0->inputs_from_files;
    for (int i = 0; differ && i < prog->ninputs; i++)
        if (differ >> i & 1) {
            bool file = a->inputs_from_files >> i & 1;
            snprintf(msg, len, "rank %d %s input '%s', rank 0 %s: every rank needs the same "
                     "--input options (rank 0 reads the files)", rank,
                     file ? "was given --input for" : "makes (--random-input)",
                     prog->inputs[i].name, file ? "makes it (--random-input)" :
                     "was given --input for it");
            return true;
        }
    return differ_option("--random-input", a->random_input, a->input_seed, r0->random_input,
                         r0->input_seed, rank, msg, len);
}

/* A dimension's name from its hash: the program's own spelling (ranks run the same program by
 * the time dimensions are compared). */
static const char *dim_name(const TpcrtProgram *prog, uint64_t hash)
{
    for (int io = 0; io < 2; io++) {
        const TpcrtTensorDecl *decls = io == 0 ? prog->inputs : prog->outputs;
        int n = io == 0 ? prog->ninputs : prog->noutputs;
        for (int i = 0; i < n; i++)
            for (int d = 0; d < decls[i].ndim; d++)
                if (decls[i].dim_names[d] && text_hash(decls[i].dim_names[d]) == hash)
                    return decls[i].dim_names[d];
    }
    return "?";
}

static int dim_find(const StartRecord *r, uint64_t hash)
{
    for (int i = 0; i < r->ndims; i++)
        if (r->dim_name_hash[i] == hash)
            return i;
    return -1;
}

/* "seq = 3", or "no value for seq". */
static void dim_text(char *buf, size_t len, const char *name, const StartRecord *r,
                     uint64_t hash)
{
    int i = dim_find(r, hash);
    if (i >= 0)
        snprintf(buf, len, "%s = %lld", name, (long long)r->dim_value[i]);
    else
        snprintf(buf, len, "no value for %s", name);
}

/* Rank 0's dimensions must be rank a's, with the same values, and no more. */
static bool differ_dims(const TpcrtProgram *prog, const StartRecord *a, const StartRecord *r0,
                        int rank, char *msg, size_t len)
{
    for (int pass = 0; pass < 2; pass++) {
        const StartRecord *from = pass == 0 ? r0 : a, *to = pass == 0 ? a : r0;
        for (int i = 0; i < from->ndims; i++) {
            int j = dim_find(to, from->dim_name_hash[i]);
            if (j >= 0 && to->dim_value[j] == from->dim_value[i])
                continue;
            const char *name = dim_name(prog, from->dim_name_hash[i]);
            char a_text[TPCRT_TEXT_LEN], r0_text[TPCRT_TEXT_LEN];
            dim_text(a_text, sizeof a_text, name, a, from->dim_name_hash[i]);
            dim_text(r0_text, sizeof r0_text, name, r0, from->dim_name_hash[i]);
            snprintf(msg, len, "rank %d has %s, rank 0 %s: every rank needs the same --dim "
                     "options and inputs", rank, a_text, r0_text);
            return true;
        }
    }
    return false;
}

/* The first difference between rank `rank`'s record and rank 0's, in msg; false when none. */
static bool record_differs(const TpcrtProgram *prog, const StartRecord *all, int rank,
                           bool with_dims, char *msg, size_t len)
{
    const StartRecord *a = &all[rank], *r0 = &all[0];
    return differ_program(a, r0, rank, msg, len) || differ_weights(a, r0, rank, msg, len) ||
           differ_inputs(prog, a, r0, rank, msg, len) ||
           differ_option("--bench", a->bench > 0, (uint64_t)a->bench, r0->bench > 0,
                         (uint64_t)r0->bench, rank, msg, len) ||
           (with_dims && differ_dims(prog, a, r0, rank, msg, len));
}

static void records_compare(const TpcrtProgram *prog, StartRecord *all, bool with_dims)
{
    char msg[TPCRT_ERROR_LEN];
    for (int rank = 1; rank < tpcrt_world_size(); rank++)
        if (record_differs(prog, all, rank, with_dims, msg, sizeof msg)) {
            tpcrt_free(all);
            tpcrt_fail_everywhere("%s", msg);
        }
}

/* ---- memory, node by node -------------------------------------------------------------------- */

static int64_t add_saturating(int64_t a, int64_t b)
{
    int64_t sum;
    return __builtin_add_overflow(a, b, &sum) ? INT64_MAX : sum;
}

/* The ranks on `first`'s node (same host name) together need more than its MemAvailable: msg
 * says so, from the point of view of `rank`. */
static bool node_short(const StartRecord *all, int size, int first, int rank, char *msg,
                       size_t len)
{
    int64_t weights = 0, activations = 0, available = all[first].memory_available;
    int ranks = 0;
    bool mine = false;
    for (int r = 0; r < size; r++)
        if (strcmp(all[r].host, all[first].host) == 0) {
            weights = add_saturating(weights, all[r].weight_bytes);
            activations = add_saturating(activations, all[r].activation_bytes);
            ranks++;
            mine |= r == rank;
        }
    int64_t need = add_saturating(weights, activations);
    if (available < 0 || need <= available)
        return false;
    char host[TPCRT_TEXT_LEN], where[TPCRT_TEXT_LEN + 32];
    snprintf(where, sizeof where, "%s%s%s", mine ? "this node (" : "node ",
             tpcrt_escape(all[first].host, host, sizeof host), mine ? ")" : "");
    snprintf(msg, len, "the %d rank%s on %s need%s %.1f GB (weights %.1f GB, activations %.1f GB) "
             "but it has %.1f GB available: use more nodes, a larger -tp, or smaller "
             "dimensions", ranks, ranks == 1 ? "" : "s", where, ranks == 1 ? "s" : "",
             (double)need / 1e9, (double)weights / 1e9, (double)activations / 1e9,
             (double)available / 1e9);
    return true;
}

static void memory_compare(StartRecord *all)
{
    int size = tpcrt_world_size();
    char msg[TPCRT_ERROR_LEN];
    for (int first = 0; first < size; first++) {
        bool seen = false; /* the node was checked at a lower rank already */
        for (int r = 0; r < first && !seen; r++)
            seen = strcmp(all[r].host, all[first].host) == 0;
        if (!seen && node_short(all, size, first, tpcrt_rank(), msg, sizeof msg)) {
            tpcrt_free(all);
            tpcrt_fail_everywhere("%s", msg);
        }
    }
}

/* ---- the two agreements ---------------------------------------------------------------------- */

TpcrtArgsStatus tpcrt_start_agree(const TpcrtProgram *prog, TpcrtArgs *args,
                                  TpcrtArgsStatus status, int *speaker)
{
    StartRecord mine;
    record_fill(&mine, prog, args, status);
    StartRecord *all = records_gather(&mine);
    int size = tpcrt_world_size();
    TpcrtArgsStatus worst = TPCRT_ARGS_OK;
    for (int r = 0; r < size; r++) { /* a usage error outranks --help, which outranks none */
        TpcrtArgsStatus s = (TpcrtArgsStatus)all[r].args_status;
        if (s == TPCRT_ARGS_USAGE && worst != TPCRT_ARGS_USAGE)
            *speaker = r;
        if (s > worst)
            worst = s;
    }
    if (worst == TPCRT_ARGS_OK) {
        records_compare(prog, all, false);
        args->stats = all[0].stats;
    }
    tpcrt_free(all);
    return worst;
}

void tpcrt_check_start(const TpcrtProgram *prog, const TpcrtArgs *args, const TpcrtDims *dims,
                       int64_t weight_bytes, int64_t activation_bytes)
{
    if (weight_bytes < 0 || activation_bytes < 0)
        tpcrt_fail("internal error: %lld weight bytes, %lld activation bytes",
                   (long long)weight_bytes, (long long)activation_bytes);
    StartRecord mine;
    record_fill(&mine, prog, args, TPCRT_ARGS_OK);
    mine.ndims = dims->n < TPCRT_MAX_IO ? dims->n : TPCRT_MAX_IO;
    for (int i = 0; i < mine.ndims; i++) {
        mine.dim_name_hash[i] = text_hash(dims->names[i]);
        mine.dim_value[i] = dims->values[i];
    }
    mine.weight_bytes = weight_bytes;
    mine.activation_bytes = activation_bytes;
    mine.memory_available = tpcrt_memory_available();
    if (tpcrt_rank() == 0) /* the rank that writes them */
        tpcrt_outputs_check(prog, args, mine.output_refused, sizeof mine.output_refused);
    StartRecord *all = records_gather(&mine);
    records_compare(prog, all, true);
    if (all[0].output_refused[0]) {
        char refused[TPCRT_ERROR_LEN];
        memcpy(refused, all[0].output_refused, sizeof refused);
        refused[sizeof refused - 1] = '\0';
        tpcrt_free(all);
        tpcrt_refuse("%s", refused);
    }
    memory_compare(all);
    tpcrt_free(all);
}

/* ---- the program's life: start-up, shut-down, the report at the end ----------------------- */

static struct {
    int rank, size;
    MPI_Comm comm;         /* the program's ranks: MPI_COMM_WORLD, or a library's own copy of
                              the communicator it was given (tpcrt_attach) */
    bool mpi_started_here; /* tpcrt_init called MPI_Init, so tpcrt_finalize ends MPI */
    bool attached;         /* tpcrt_attach: the communicator is the runtime's own duplicate */
} world = {.comm = MPI_COMM_WORLD};

/* Leaves every rank with `status` once rank 0 has had its say: only where every rank knows it
 * must leave, so none is left waiting for another in a collective. */
static _Noreturn void world_exit(int status)
{
    fflush(stdout);
    fflush(stderr);
    mpi_check(MPI_Finalize());
    exit(status);
}

/* OpenBLAS picks its kernels as it loads, from the CPU's model number; a CPU newer than it
 * knows (this project's EPYC under Debian's 0.3.21) gets its oldest x86-64 kernels, Prescott's
 * SSE3, 2 to 4.5 times slower at every GEMM of 32 rows and more than the AVX-512 ones the CPU
 * runs (bench/bf16_gemm, docs/runtime.md "BLAS kernels"). So, before MPI starts, a program
 * whose OpenBLAS took kernels below the CPU's instruction sets (found here, at run time)
 * starts itself again once with OPENBLAS_CORETYPE naming the kernels the CPU runs. A user's
 * own OPENBLAS_CORETYPE is left alone; TPCRT_BLAS_PICKED keeps what OpenBLAS took, for --stats. */
/* The process's own command line as it was started (/proc/self/cmdline), for execv: the
 * caller's argv may have been shifted (a harness passes argv + k). NULL where it cannot. */
static char **own_command_line(void)
{
    static char text[1 << 16];
    static char *argv[1024];
    FILE *f = fopen("/proc/self/cmdline", "rb");
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f)
        fclose(f);
    if (n == 0 || n == sizeof text - 1)
        return NULL;
    text[n] = '\0';
    size_t argc = 0, most = sizeof argv / sizeof argv[0] - 1;
    for (size_t at = 0; at < n && argc < most; at += strlen(text + at) + 1)
        argv[argc++] = text + at;
    argv[argc] = NULL;
    return argc ? argv : NULL;
}

static void blas_kernels_choose(void)
{
    if (getenv("OPENBLAS_CORETYPE"))
        return;
    static const char *const avx512_cores[] = {"SkylakeX", "Cooperlake", "SapphireRapids"};
    static const char *const avx2_cores[] = {"Haswell", "Zen", "SkylakeX", "Cooperlake",
                                             "SapphireRapids"};
    __builtin_cpu_init();
    bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                  __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
                  __builtin_cpu_supports("avx512cd");
    bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    const char *core = openblas_get_corename();
    const char *const *good = avx512 ? avx512_cores : avx2_cores;
    size_t ngood = avx512 ? 3 : 5;
    if (!core || !(avx512 || avx2))
        return;
    for (size_t i = 0; i < ngood; i++)
        if (!strcasecmp(core, good[i]))
            return;
    char **argv = own_command_line();
    if (!argv)
        return;
    setenv("TPCRT_BLAS_PICKED", core, 1);
    setenv("OPENBLAS_CORETYPE", avx512 ? "SkylakeX" : "Haswell", 1);
    execv("/proc/self/exe", argv);
    unsetenv("OPENBLAS_CORETYPE"); /* could not: go on with what OpenBLAS took */
    unsetenv("TPCRT_BLAS_PICKED");
}

static void world_start(int *argc, char ***argv)
{
    int started = 0;
    mpi_check(MPI_Initialized(&started));
    if (!started)
        blas_kernels_choose();
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

MPI_Comm tpcrt_comm(void)
{
    return world.comm;
}

/* Every rank parses its own command line (an MPMD launch may give ranks different ones); they
 * learn each other's outcome in tpcrt_start_agree, so that a usage error on any rank ends every
 * rank, and a rank that is told nothing of it never waits in a collective. The line is rank
 * 0's, or the first rank's that has one. */
static void world_parse_args(int argc, char **argv, const TpcrtProgram *prog, TpcrtArgs *args)
{
    char err[TPCRT_ERROR_LEN];
    TpcrtArgsStatus status = tpcrt_args_parse(argc, argv, prog, args, err, sizeof err);
    int speaker = -1;
    TpcrtArgsStatus worst = tpcrt_start_agree(prog, args, status, &speaker);
    if (worst == TPCRT_ARGS_OK)
        return;
    if (world.rank == 0 && worst == TPCRT_ARGS_HELP)
        tpcrt_usage_print(stdout, prog);
    if (world.rank == speaker && worst == TPCRT_ARGS_USAGE) {
        char shown[TPCRT_ERROR_LEN];
        fprintf(stderr, "tpc: rank %d: %s\n", world.rank,
                tpcrt_escape_text(err, false, shown, sizeof shown));
        tpcrt_usage_print(stderr, prog);
    }
    world_exit(worst == TPCRT_ARGS_HELP ? 0 : 2);
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

void tpcrt_attach(MPI_Comm comm, const TpcrtProgram *prog, int threads)
{
    int started = 0;
    MPI_Initialized(&started);
    if (!started)
        tpcrt_fail("%s: initialise MPI before the model (MPI_Init)", prog->name);
    mpi_check(MPI_Comm_dup(comm, &world.comm));
    world.attached = true;
    mpi_check(MPI_Comm_set_errhandler(world.comm, MPI_ERRORS_RETURN));
    mpi_check(MPI_Comm_rank(world.comm, &world.rank));
    mpi_check(MPI_Comm_size(world.comm, &world.size));
    if (world.size != prog->tp)
        tpcrt_fail("%s was built for %d rank%s (-tp %d), given a communicator of %d", prog->name,
                   prog->tp, prog->tp == 1 ? "" : "s", prog->tp, world.size);
    openblas_set_num_threads(threads > 0 ? threads : 1);
    tpcrt_collectives_init(world.size);
}

void tpcrt_finalize(void)
{
    tpcrt_collectives_free();
    tpcrt_sample_free();
    fflush(stdout);
    if (world.attached) {
        mpi_check(MPI_Comm_free(&world.comm));
        world.comm = MPI_COMM_WORLD;
        world.attached = false;
    }
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

/* The peak resident set (VmHWM) in bytes, or -1 where /proc does not say. */
static int64_t peak_memory(void)
{
    return proc_bytes("/proc/self/status", "VmHWM");
}

void tpcrt_stats_report(const TpcrtArgs *args, int64_t weight_bytes, int64_t kv_cache_bytes)
{
    if (!args->stats)
        return;
    int size = tpcrt_world_size();
    int64_t mine[4] = {weight_bytes, tpcrt_checkpoint_bytes_read(), peak_memory(),
                       kv_cache_bytes};
    int64_t *all = tpcrt_alloc((size_t)size * sizeof mine, "stats");
    mpi_check(MPI_Gather(mine, 4, MPI_INT64_T, all, 4, MPI_INT64_T, 0, tpcrt_comm()));
    for (int r = 0; tpcrt_rank() == 0 && r < size; r++) {
        printf("stats: rank %d: weights %.1f MB, read %.1f MB, peak memory %.1f MB", r,
               (double)all[4 * r] / 1e6, (double)all[4 * r + 1] / 1e6,
               (double)all[4 * r + 2] / 1e6);
        if (all[4 * r + 3] > 0)
            printf(", kv cache %.1f MB", (double)all[4 * r + 3] / 1e6);
        printf("\n");
    }
    const char *picked = getenv("TPCRT_BLAS_PICKED");
    char shown[TPCRT_TEXT_LEN];
    if (tpcrt_rank() == 0)
        printf("stats: OpenBLAS kernels %s%s%s%s\n", openblas_get_corename(),
               picked ? " (OpenBLAS took " : "",
               picked ? tpcrt_escape(picked, shown, sizeof shown) : "",
               picked ? " for this CPU: OPENBLAS_CORETYPE set from its instruction sets)" : "");
    fflush(stdout);
    tpcrt_free(all);
}
