/* rt_program — stands in for a program tpc builds, to test its life in libtpcrt:
 *     rt_program TP VARIANT -- PROGRAM-OPTIONS
 * TP is the world size it is "built" for. VARIANT "two" declares inputs x f32[batch, seq, 4]
 * (normal), ids i32[batch, seq] (ids below 10, checked against a table "embed") and
 * mask f32[seq] (ones), and output y = 2 x + ids f32[batch, seq, 4]; VARIANT "one" declares
 * only tokens i32[batch, 3] (below 7) and y = 1.5 tokens f32[batch, 3]. Rank 0 prints the
 * arguments, the bound dimensions and the inputs; every rank checks it got the same inputs.
 * With --bench N it times N pretend forwards (an all-reduce and a millisecond's work each).
 */
#include "internal.h"

#include <mpi.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const TpcrtTensorDecl two_inputs[] = {
    {.name = "x", .dtype = TPCRT_F32, .ndim = 3, .dim_names = {"batch", "seq"},
     .dim_sizes = {0, 0, 4}, .random = TPCRT_RANDOM_NORMAL},
    {.name = "ids", .dtype = TPCRT_I32, .ndim = 2, .dim_names = {"batch", "seq"},
     .random = TPCRT_RANDOM_IDS, .id_limit = 10},
    {.name = "mask", .dtype = TPCRT_F32, .ndim = 1, .dim_names = {"seq"},
     .random = TPCRT_RANDOM_ONES},
};
static const TpcrtTensorDecl two_outputs[] = {
    {.name = "y", .dtype = TPCRT_F32, .ndim = 3, .dim_names = {"batch", "seq"},
     .dim_sizes = {0, 0, 4}},
};
static const TpcrtTensorDecl one_inputs[] = {
    {.name = "tokens", .dtype = TPCRT_I32, .ndim = 2, .dim_names = {"batch"},
     .dim_sizes = {0, 3}, .random = TPCRT_RANDOM_IDS, .id_limit = 7},
};
static const TpcrtTensorDecl one_outputs[] = {
    {.name = "y", .dtype = TPCRT_F32, .ndim = 2, .dim_names = {"batch"}, .dim_sizes = {0, 3}},
};

static int64_t shape_of(const TpcrtTensorDecl *decl, const TpcrtDims *dims, int64_t *shape)
{
    int64_t count = 1;
    for (int d = 0; d < decl->ndim; d++) {
        shape[d] = decl->dim_names[d] ? tpcrt_dim(dims, decl->dim_names[d]) : decl->dim_sizes[d];
        count *= shape[d];
    }
    return count;
}

static void print_args(const TpcrtProgram *prog, const TpcrtArgs *args)
{
    if (args->weights)
        printf("args: --weights %s", args->weights);
    else
        printf("args: --random-weights %llu", (unsigned long long)args->weights_seed);
    printf(", --threads %d, --bench %d, --stats %s", args->threads, args->bench,
           args->stats ? "yes" : "no");
    for (int i = 0; i < prog->ninputs; i++)
        if (args->input_paths[i])
            printf(", input %s <- %s", prog->inputs[i].name, args->input_paths[i]);
    for (int i = 0; i < prog->noutputs; i++)
        if (args->output_paths[i])
            printf(", output %s -> %s", prog->outputs[i].name, args->output_paths[i]);
    printf("\n");
}

static void print_inputs(const TpcrtProgram *prog, const TpcrtDims *dims, void **data)
{
    printf("dims:");
    for (int i = 0; i < dims->n; i++)
        printf(" %s=%lld", dims->names[i], (long long)dims->values[i]);
    printf("\n");
    for (int i = 0; i < prog->ninputs; i++) {
        const TpcrtTensorDecl *in = &prog->inputs[i];
        int64_t shape[TPCRT_MAX_DIMS], count = shape_of(in, dims, shape);
        char text[TPCRT_SHAPE_LEN];
        printf("%s: %s %s:", in->name, tpcrt_dtype_name(in->dtype),
               tpcrt_shape_string(text, sizeof text, in->ndim, shape));
        for (int64_t k = 0; k < count && k < 8; k++) {
            if (in->dtype == TPCRT_I32)
                printf(" %d", ((const int32_t *)data[i])[k]);
            else
                printf(" %.4g", ((const float *)data[i])[k]);
        }
        printf("%s\n", count > 8 ? " ..." : "");
    }
}

/* FNV-1a over every input's bytes: rank 0's, broadcast, must equal every rank's own. */
static void check_identical(const TpcrtProgram *prog, const TpcrtDims *dims, void **data)
{
    uint64_t hash = 0xcbf29ce484222325u;
    for (int i = 0; i < prog->ninputs; i++) {
        int64_t shape[TPCRT_MAX_DIMS], count = shape_of(&prog->inputs[i], dims, shape);
        for (int64_t k = 0; k < count * 4; k++)
            hash = (hash ^ ((const unsigned char *)data[i])[k]) * 0x100000001b3u;
    }
    uint64_t root = hash;
    tpcrt_broadcast_bytes(&root, sizeof root);
    if (root != hash)
        tpcrt_fail("inputs differ from rank 0's");
    if (tpcrt_rank() == 0)
        printf("inputs identical on %d ranks\n", tpcrt_world_size());
}

static void forward(const TpcrtProgram *prog, const TpcrtDims *dims, void **data, float *y)
{
    int64_t shape[TPCRT_MAX_DIMS], count = shape_of(&prog->outputs[0], dims, shape);
    for (int64_t k = 0; k < count; k++) {
        if (prog->ninputs == 1)
            y[k] = 1.5f * (float)((const int32_t *)data[0])[k];
        else
            y[k] = 2 * ((const float *)data[0])[k] + (float)((const int32_t *)data[1])[k / 4];
    }
}

static void bench(const TpcrtArgs *args, int64_t tokens)
{
    double *seconds = tpcrt_alloc((size_t)args->bench * sizeof *seconds, "bench");
    float buf[256] = {0};
    double collectives = tpcrt_collective_seconds();
    for (int i = 0; i < args->bench; i++) {
        double start = tpcrt_now();
        tpcrt_all_reduce_sum(buf, 256);
        nanosleep(&(struct timespec){0, 1000000}, NULL);
        seconds[i] = tpcrt_now() - start;
    }
    tpcrt_bench_report(seconds, args->bench, tokens, tpcrt_collective_seconds() - collectives);
    tpcrt_free(seconds);
}

/* Inputs in, ids checked, the output out, as a built program's main does. */
static void run(const TpcrtProgram *prog, const TpcrtArgs *args)
{
    TpcrtWeights *w = tpcrt_weights_open(args);
    TpcrtDims dims;
    void *data[3];
    tpcrt_inputs_load(prog, args, &dims, data);
    if (tpcrt_rank() == 0) {
        print_args(prog, args);
        print_inputs(prog, &dims, data);
    }
    check_identical(prog, &dims, data);
    const TpcrtTensorDecl *ids = &prog->inputs[prog->ninputs == 1 ? 0 : 1];
    int64_t shape[TPCRT_MAX_DIMS], tokens = shape_of(ids, &dims, shape);
    tpcrt_check_ids(data[ids - prog->inputs], tokens, ids->id_limit, ids->name, "embed");

    int64_t count = shape_of(&prog->outputs[0], &dims, shape);
    float *y = tpcrt_alloc((size_t)count * 4, "y");
    forward(prog, &dims, data, y);
    tpcrt_output_write(prog, args, 0, y, prog->outputs[0].ndim, shape);
    if (args->bench)
        bench(args, tokens);
    tpcrt_stats_report(args, 0);

    tpcrt_free(y);
    for (int i = 0; i < prog->ninputs; i++)
        tpcrt_free(data[i]);
    tpcrt_weights_close(w);
}

int main(int argc, char **argv)
{
    if (argc < 4 || strcmp(argv[3], "--") != 0) {
        fprintf(stderr, "usage: rt_program TP one|two -- PROGRAM-OPTIONS\n");
        return 2;
    }
    bool one = strcmp(argv[2], "one") == 0;
    TpcrtProgram prog = {
        .name = "rt_program",
        .tp = atoi(argv[1]),
        .ninputs = one ? 1 : 3,
        .noutputs = 1,
        .inputs = one ? one_inputs : two_inputs,
        .outputs = one ? one_outputs : two_outputs,
    };
    int program_argc = argc - 3;
    char **program_argv = argv + 3; /* "--" stands in for argv[0] */
    TpcrtArgs args;
    tpcrt_init(&program_argc, &program_argv, &prog, &args);
    run(&prog, &args);
    tpcrt_finalize();
    return 0;
}
