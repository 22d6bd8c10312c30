/* rt_program — stands in for a program tpc builds, to test its life in libtpcrt:
 *     rt_program TP VARIANT -- PROGRAM-OPTIONS
 * TP is the world size it is "built" for. VARIANT is KIND[,hash=H][,activations=F]. KIND "two"
 * declares inputs x f32[batch, seq, 4] (normal), ids i32[batch, seq] (ids below 10, checked
 * against a table "embed") and mask f32[seq] (ones), and output y = 2 x + ids f32[batch, seq, 4];
 * "one" declares only tokens i32[batch, 3] (below 7) and y = 1.5 tokens f32[batch, 3]; "pair"
 * is "one" with a second output z f32[batch, seq], z[b, s] = s; "prompt" declares what --prompt
 * fills, marked by role: tokens and types i32[batch, seq] (below 100 and 2) and mask
 * f32[batch, seq], and y = tokens f32[batch, seq]. H is the program's hash (0 by
 * default): ranks started from different H are different programs. The program says it needs
 * 1 MB of weights and, as its activations, a buffer of F (default 4) times each output's
 * elements, the outputs at their start (tpcrt_size, tpcrt_buffers_*). It calls
 * tpcrt_check_start where a built program does: after
 * tpcrt_inputs_load, before the weights are opened. Rank 0 prints the arguments, the bound
 * dimensions and the inputs; every rank checks it got the same inputs. With --bench N it times
 * N pretend forwards (an all-reduce and a millisecond's work each).
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
    {.name = "z", .dtype = TPCRT_F32, .ndim = 2, .dim_names = {"batch", "seq"}},
};

static const TpcrtTensorDecl prompt_inputs[] = {
    {.name = "tokens", .dtype = TPCRT_I32, .ndim = 2, .dim_names = {"batch", "seq"},
     .random = TPCRT_RANDOM_IDS, .id_limit = 100, .role = TPCRT_ROLE_TOKENS},
    {.name = "types", .dtype = TPCRT_I32, .ndim = 2, .dim_names = {"batch", "seq"},
     .random = TPCRT_RANDOM_IDS, .id_limit = 2, .role = TPCRT_ROLE_TOKEN_TYPES},
    {.name = "mask", .dtype = TPCRT_F32, .ndim = 2, .dim_names = {"batch", "seq"},
     .random = TPCRT_RANDOM_ONES, .role = TPCRT_ROLE_MASK},
};
static const TpcrtTensorDecl prompt_outputs[] = {
    {.name = "y", .dtype = TPCRT_F32, .ndim = 2, .dim_names = {"batch", "seq"}},
};

enum { WEIGHT_BYTES = 1 << 20 };

/* What VARIANT says beyond the declarations. */
typedef struct Variant {
    uint64_t hash;
    int64_t activation_factor;
} Variant;

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

static void forward(const TpcrtProgram *prog, const TpcrtDims *dims, void **data, float **out)
{
    int64_t shape[TPCRT_MAX_DIMS], count = shape_of(&prog->outputs[0], dims, shape);
    for (int64_t k = 0; k < count; k++) {
        if (prog->inputs == prompt_inputs)
            out[0][k] = (float)((const int32_t *)data[0])[k];
        else if (prog->ninputs == 1)
            out[0][k] = 1.5f * (float)((const int32_t *)data[0])[k];
        else
            out[0][k] = 2 * ((const float *)data[0])[k] + (float)((const int32_t *)data[1])[k / 4];
    }
    if (prog->noutputs == 2) {
        count = shape_of(&prog->outputs[1], dims, shape);
        for (int64_t k = 0; k < count; k++)
            out[1][k] = (float)(k % shape[1]);
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

/* A memory plan's buffers: F times each output's elements (products of bound dimensions,
 * through tpcrt_size), carved by tpcrt_buffers_*. */
static void plan_elements(const TpcrtProgram *prog, const TpcrtDims *dims, const Variant *variant,
                          int64_t *elements)
{
    for (int i = 0; i < prog->noutputs; i++) {
        const TpcrtTensorDecl *out = &prog->outputs[i];
        int64_t factors[TPCRT_MAX_DIMS + 1] = {variant->activation_factor};
        for (int d = 0; d < out->ndim; d++)
            factors[1 + d] = out->dim_names[d] ? tpcrt_dim(dims, out->dim_names[d])
                                               : out->dim_sizes[d];
        elements[i] = tpcrt_size(1 + out->ndim, factors);
    }
}

/* Inputs in, the start checked, ids checked, the outputs out, as a built program's main does. */
static void run(const TpcrtProgram *prog, const TpcrtArgs *args, const Variant *variant)
{
    TpcrtDims dims;
    void *data[3];
    tpcrt_inputs_load(prog, args, &dims, data);
    int64_t elements[2];
    plan_elements(prog, &dims, variant, elements);
    tpcrt_check_start(prog, args, &dims, WEIGHT_BYTES,
                      tpcrt_buffers_bytes(elements, prog->noutputs));
    TpcrtWeights *w = tpcrt_weights_open(args);
    if (tpcrt_rank() == 0) {
        print_args(prog, args);
        print_inputs(prog, &dims, data);
    }
    check_identical(prog, &dims, data);
    const TpcrtTensorDecl *ids = &prog->inputs[prog->ninputs == 1 ? 0 : 1];
    int64_t shape[TPCRT_MAX_DIMS], tokens = shape_of(ids, &dims, shape);
    tpcrt_check_ids(data[ids - prog->inputs], tokens, ids->id_limit, ids->name, "embed");

    float *out[2] = {NULL, NULL};
    float *block = tpcrt_buffers_alloc(out, elements, prog->noutputs);
    for (int i = 0; i < prog->noutputs; i++)
        if ((uintptr_t)out[i] % 64 != 0)
            tpcrt_fail("test: buffer %d is not 64-byte aligned", i);
    forward(prog, &dims, data, out);
    for (int i = 0; i < prog->noutputs; i++) {
        shape_of(&prog->outputs[i], &dims, shape);
        tpcrt_output_write(prog, args, i, out[i], prog->outputs[i].ndim, shape);
    }
    if (args->bench)
        bench(args, tokens);
    tpcrt_stats_report(args, 0, 0);

    tpcrt_free(block);
    for (int i = 0; i < prog->ninputs; i++)
        tpcrt_free(data[i]);
    tpcrt_weights_close(w);
}

/* KIND[,hash=H][,activations=F] */
static void parse_variant(const char *text, TpcrtProgram *prog, Variant *variant)
{
    size_t kind_len = strcspn(text, ",");
    bool one = strncmp(text, "one", kind_len) == 0, pair = strncmp(text, "pair", kind_len) == 0;
    bool prompt = strncmp(text, "prompt", kind_len) == 0;
    prog->ninputs = one || pair ? 1 : 3;
    prog->noutputs = pair ? 2 : 1;
    prog->inputs = prompt ? prompt_inputs : one || pair ? one_inputs : two_inputs;
    prog->outputs = prompt ? prompt_outputs : one || pair ? one_outputs : two_outputs;
    *variant = (Variant){.activation_factor = 4};
    for (const char *p = strchr(text, ','); p; p = strchr(p + 1, ',')) {
        if (strncmp(p, ",hash=", 6) == 0)
            variant->hash = strtoull(p + 6, NULL, 10);
        else if (strncmp(p, ",activations=", 13) == 0)
            variant->activation_factor = strtoll(p + 13, NULL, 10);
    }
    prog->hash = variant->hash;
}

int main(int argc, char **argv)
{
    if (argc < 4 || strcmp(argv[3], "--") != 0) {
        fprintf(stderr, "usage: rt_program TP KIND[,hash=H][,activations=F] -- OPTIONS\n");
        return 2;
    }
    TpcrtProgram prog = {.name = "rt_program", .tp = atoi(argv[1])};
    Variant variant;
    parse_variant(argv[2], &prog, &variant);
    int program_argc = argc - 3;
    char **program_argv = argv + 3; /* "--" stands in for argv[0] */
    TpcrtArgs args;
    tpcrt_init(&program_argc, &program_argv, &prog, &args);
    run(&prog, &args, &variant);
    tpcrt_finalize();
    return 0;
}
