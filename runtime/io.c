/* io.c — the program's inputs and outputs.
 *
 * Inputs come from .npy files (--input), from text (--prompt, through the tokenizer) or are
 * made (--random-input). Rank 0 reads the files and the tokenizer and checks each input against
 * its declaration — dtype, rank, fixed sizes — and binds the symbolic dimensions, so a mistake
 * is reported once; then it broadcasts the shapes and the data. Random inputs are a function of
 * (seed, input name, index), so every rank makes the same ones itself. Outputs are written by
 * rank 0.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Where each bound dimension's value came from, for messages: "--dim" or an input's name. */
typedef struct Bindings {
    TpcrtDims *dims;
    const char *source[TPCRT_MAX_IO];
} Bindings;

/* Binds every symbolic dimension of input `decl` to its size in shape; on rank 0, before the
 * shapes are broadcast, a size that disagrees with an earlier binding ends the job. */
static void bind_dims(Bindings *b, const TpcrtTensorDecl *decl, const int64_t *shape)
{
    TpcrtDims *dims = b->dims;
    for (int d = 0; d < decl->ndim; d++) {
        const char *name = decl->dim_names[d];
        if (!name)
            continue;
        int i = tpcrt_dims_find(dims, name);
        if (i >= 0 && dims->values[i] != shape[d] && b->source[i])
            tpcrt_fail("input '%s': dimension '%s': expected %lld (from input '%s'), saw %lld",
                       decl->name, name, (long long)dims->values[i], b->source[i],
                       (long long)shape[d]);
        if (i >= 0 && dims->values[i] != shape[d])
            tpcrt_fail("input '%s': dimension '%s': expected %lld (from --dim %s=%lld), saw %lld",
                       decl->name, name, (long long)dims->values[i], name,
                       (long long)dims->values[i], (long long)shape[d]);
        if (i < 0) {
            if (dims->n == TPCRT_MAX_IO)
                tpcrt_fail("input '%s': too many symbolic dimensions (limit is %d)", decl->name,
                           TPCRT_MAX_IO);
            dims->names[dims->n] = name;
            dims->values[dims->n] = shape[d];
            b->source[dims->n++] = decl->name;
        }
    }
}

/* Rank 0: reads input i's file and checks it against its declaration. */
static void read_input(const TpcrtTensorDecl *decl, const char *path, TpcrtArray *array)
{
    char err[TPCRT_ERROR_LEN], want[TPCRT_SHAPE_LEN], saw[TPCRT_SHAPE_LEN];
    if (!tpcrt_npy_read(path, array, err, sizeof err))
        tpcrt_fail("input '%s': %s", decl->name, err);
    if (array->dtype != decl->dtype)
        tpcrt_fail("input '%s': %s: expected dtype %s, saw %s", decl->name, path,
                   decl->dtype == TPCRT_I32 ? "i32 ('<i4' or '<i8')" : "f32 ('<f4')",
                   tpcrt_dtype_name(array->dtype));
    bool ok = array->ndim == decl->ndim;
    for (int d = 0; ok && d < decl->ndim; d++)
        ok = decl->dim_names[d] || decl->dim_sizes[d] == array->shape[d];
    if (!ok)
        tpcrt_fail("input '%s': %s: expected shape %s, saw %s", decl->name, path,
                   tpcrt_decl_shape_string(want, sizeof want, decl),
                   tpcrt_shape_string(saw, sizeof saw, array->ndim, array->shape));
}

static int64_t element_count(int ndim, const int64_t *shape, const char *input)
{
    char text[TPCRT_SHAPE_LEN];
    int64_t count = 1;
    for (int d = 0; d < ndim; d++)
        if (tpcrt_mul_overflows(count, shape[d], &count) || count > INT64_MAX / 4)
            tpcrt_fail("input '%s': shape %s: more than 2^63 bytes", input,
                       tpcrt_shape_string(text, sizeof text, ndim, shape));
    return count;
}

/* ---- --prompt -------------------------------------------------------------------------------- */

/* --tokenizer, or tokenizer.json in the --weights folder (or beside the --weights file). */
void tpcrt_tokenizer_path(const TpcrtArgs *args, char *buf, size_t len)
{
    struct stat st;
    int n;
    const char *slash = args->weights ? strrchr(args->weights, '/') : NULL;
    if (args->tokenizer)
        n = snprintf(buf, len, "%s", args->tokenizer);
    else if (stat(args->weights, &st) == 0 && S_ISDIR(st.st_mode))
        n = snprintf(buf, len, "%s/tokenizer.json", args->weights);
    else if (slash)
        n = snprintf(buf, len, "%.*s/tokenizer.json", (int)(slash - args->weights), args->weights);
    else
        n = snprintf(buf, len, "tokenizer.json");
    if (n < 0 || (size_t)n >= len)
        tpcrt_fail("--prompt: the tokenizer's path is longer than %zu bytes", len - 1);
}

/* Rank 0: input `index` (role `role`) from the encoded prompts, one row each; a row shorter than
 * the longest is padded with pad (ids), 0 (type ids) and 0 (mask). */
static void fill_from_prompts(const TpcrtTensorDecl *decl, TpcrtInputRole role,
                              const TpcrtEncoding *enc, int n, int64_t longest, int32_t pad,
                              TpcrtArray *array)
{
    char want[TPCRT_SHAPE_LEN], saw[TPCRT_SHAPE_LEN];
    int64_t shape[2] = {n, longest};
    int ndim = decl->ndim == 1 && n == 1 ? 1 : 2;
    bool ok = decl->ndim == ndim;
    for (int d = 0; ok && d < ndim; d++)
        ok = decl->dim_names[d] || decl->dim_sizes[d] == shape[d + 2 - ndim];
    if (!ok)
        tpcrt_fail("input '%s': expected shape %s, the prompts give %s (prompts, tokens)",
                   decl->name, tpcrt_decl_shape_string(want, sizeof want, decl),
                   tpcrt_shape_string(saw, sizeof saw, 2, shape));
    if (role != TPCRT_ROLE_MASK && decl->dtype != TPCRT_I32)
        tpcrt_fail("input '%s': --prompt fills it with ids, but it is declared f32", decl->name);
    *array = (TpcrtArray){.dtype = decl->dtype, .ndim = ndim};
    memcpy(array->shape, shape + 2 - ndim, (size_t)ndim * sizeof *shape);
    array->data = malloc((size_t)(n * longest) * 4); /* freed as a file's array is */
    if (!array->data)
        tpcrt_fail("input '%s': out of memory for %d prompts of %lld tokens", decl->name, n,
                   (long long)longest);
    for (int k = 0; k < n; k++)
        for (int64_t j = 0; j < longest; j++) {
            bool real = j < enc[k].n;
            int32_t v = role == TPCRT_ROLE_TOKENS ? (real ? enc[k].ids[j] : pad)
                      : role == TPCRT_ROLE_TOKEN_TYPES ? (real ? enc[k].type_ids[j] : 0)
                      : (real ? enc[k].mask[j] : 0);
            if (decl->dtype == TPCRT_I32)
                ((int32_t *)array->data)[k * longest + j] = v;
            else
                ((float *)array->data)[k * longest + j] = (float)v;
        }
}

/* Rank 0: the prompts through the tokenizer into the arrays of the inputs they fill. */
static void encode_prompts(const TpcrtProgram *prog, const TpcrtArgs *args, TpcrtArray *arrays)
{
    char path[4 * TPCRT_PATH_LEN], err[TPCRT_ERROR_LEN];
    tpcrt_tokenizer_path(args, path, sizeof path);
    TpcrtTokenizer *tok = tpcrt_tokenizer_load(path, err, sizeof err);
    if (!tok)
        tpcrt_fail("--prompt: %s", err);
    int n = args->nprompts;
    TpcrtEncoding *enc = tpcrt_alloc((size_t)n * sizeof *enc, "prompts");
    int64_t longest = 0, shortest = INT64_MAX;
    for (int k = 0; k < n; k++) {
        if (!tpcrt_tokenizer_encode(tok, args->prompts[k], strlen(args->prompts[k]), &enc[k], err,
                                    sizeof err))
            tpcrt_fail("--prompt %d: %s", k + 1, err);
        longest = enc[k].n > longest ? enc[k].n : longest;
        shortest = enc[k].n < shortest ? enc[k].n : shortest;
    }
    int32_t pad = tpcrt_tokenizer_pad_id(tok);
    int mask = tpcrt_prompt_input(prog, TPCRT_ROLE_MASK);
    char shown[TPCRT_PATH_LEN];
    if (longest == 0)
        tpcrt_fail("--prompt: the prompts give no tokens");
    if (shortest != longest && mask < 0)
        tpcrt_fail("--prompt: the prompts give %lld to %lld tokens, and %s has no attention mask "
                   "input to pad them with: give prompts of one length in tokens",
                   (long long)shortest, (long long)longest, prog->name);
    if (shortest != longest && pad < 0)
        tpcrt_fail("--prompt: the prompts give %lld to %lld tokens, and %s has no pad token: "
                   "give prompts of one length in tokens", (long long)shortest,
                   (long long)longest, tpcrt_escape(path, shown, sizeof shown));
    for (TpcrtInputRole role = TPCRT_ROLE_TOKENS; role <= TPCRT_ROLE_MASK; role++) {
        int i = tpcrt_prompt_input(prog, role);
        if (i >= 0)
            fill_from_prompts(&prog->inputs[i], role, enc, n, longest, pad, &arrays[i]);
    }
    for (int k = 0; k < n; k++)
        tpcrt_encoding_free(&enc[k]);
    tpcrt_free(enc);
    tpcrt_tokenizer_free(tok);
}

/* Where input i comes from: its file, "--prompt", or NULL (made from --random-input). */
static const char *input_source(const TpcrtProgram *prog, const TpcrtArgs *args, int i)
{
    return args->input_paths[i] ? args->input_paths[i]
         : tpcrt_prompt_fills(prog, args, i) ? "--prompt" : NULL;
}

/* Every input's shape from its file or its bound dimensions. */
static void input_shape(const TpcrtTensorDecl *decl, const char *path, const TpcrtDims *dims,
                        int64_t *shape)
{
    for (int d = 0; !path && d < decl->ndim; d++)
        shape[d] = decl->dim_names[d] ? tpcrt_dim(dims, decl->dim_names[d]) : decl->dim_sizes[d];
}

/* Before anything is allocated: inputs made from --dim sizes that cannot fit end the job with a
 * line, not the kernel's OOM killer. (tpcrt_check_start checks the whole plan, node by node.) */
static void check_inputs_fit(const TpcrtProgram *prog, const TpcrtArgs *args,
                             const TpcrtDims *dims, int64_t (*shapes)[TPCRT_MAX_DIMS])
{
    int64_t total = 0, largest = 0, available = tpcrt_memory_available();
    int which = 0;
    for (int i = 0; i < prog->ninputs; i++) {
        input_shape(&prog->inputs[i], input_source(prog, args, i), dims, shapes[i]);
        int64_t bytes = 4 * element_count(prog->inputs[i].ndim, shapes[i], prog->inputs[i].name);
        if (bytes > largest) {
            largest = bytes;
            which = i;
        }
        if (__builtin_add_overflow(total, bytes, &total))
            total = INT64_MAX;
    }
    if (available >= 0 && total > available)
        tpcrt_fail("the inputs need %.1f GB (input '%s' %.1f GB) but this node has %.1f GB "
                   "available: give smaller dimensions", (double)total / 1e9,
                   prog->inputs[which].name, (double)largest / 1e9, (double)available / 1e9);
}

static void make_random(const TpcrtTensorDecl *decl, uint64_t seed, int64_t count, void *data)
{
    uint64_t key = tpcrt_random_key(seed, decl->name);
    bool ids = decl->random == TPCRT_RANDOM_IDS;
    if (ids != (decl->dtype == TPCRT_I32) || (ids && decl->id_limit <= 0))
        tpcrt_fail("input '%s': internal error: random kind %d does not fit dtype %s", decl->name,
                   (int)decl->random, tpcrt_dtype_name(decl->dtype));
    for (int64_t k = 0; k < count; k++) {
        if (ids)
            ((int32_t *)data)[k] = tpcrt_random_id(key, (uint64_t)k, decl->id_limit);
        else if (decl->random == TPCRT_RANDOM_ONES)
            ((float *)data)[k] = 1.0f;
        else
            ((float *)data)[k] = tpcrt_random_normal(key, (uint64_t)k);
    }
}

/* Rank 0: reads the inputs given as files and the prompts, checks them, binds their
 * dimensions; then every rank has their shapes, and binds the same dimensions. */
static void read_files(const TpcrtProgram *prog, const TpcrtArgs *args, Bindings *b,
                       TpcrtArray *arrays, int64_t (*shapes)[TPCRT_MAX_DIMS])
{
    bool root = tpcrt_rank() == 0;
    if (root && args->nprompts)
        encode_prompts(prog, args, arrays);
    for (int i = 0; root && i < prog->ninputs; i++) {
        if (!input_source(prog, args, i))
            continue;
        if (args->input_paths[i])
            read_input(&prog->inputs[i], args->input_paths[i], &arrays[i]);
        memcpy(shapes[i], arrays[i].shape, sizeof shapes[i]);
        bind_dims(b, &prog->inputs[i], shapes[i]);
    }
    tpcrt_broadcast_bytes(shapes, (int64_t)(TPCRT_MAX_IO * sizeof shapes[0]));
    for (int i = 0; !root && i < prog->ninputs; i++)
        if (input_source(prog, args, i))
            bind_dims(b, &prog->inputs[i], shapes[i]);
}

/* Input i's data on every rank: rank 0's file, broadcast, or made from the seed. */
static void *input_data(const TpcrtTensorDecl *decl, const TpcrtArgs *args, const char *path,
                        TpcrtArray *array, const int64_t *shape)
{
    int64_t count = element_count(decl->ndim, shape, decl->name);
    void *data = tpcrt_alloc((size_t)count * 4, decl->name);
    if (!path) {
        make_random(decl, args->input_seed, count, data);
        return data;
    }
    if (array->data)
        memcpy(data, array->data, (size_t)count * 4);
    tpcrt_broadcast_bytes(data, count * 4);
    free(array->data);
    return data;
}

void tpcrt_inputs_load(const TpcrtProgram *prog, const TpcrtArgs *args, TpcrtDims *dims,
                       void **data)
{
    TpcrtArray arrays[TPCRT_MAX_IO] = {0};
    int64_t shapes[TPCRT_MAX_IO][TPCRT_MAX_DIMS] = {{0}};
    Bindings b = {.dims = dims};
    *dims = args->dims;
    read_files(prog, args, &b, arrays, shapes);
    check_inputs_fit(prog, args, dims, shapes);
    for (int i = 0; i < prog->ninputs; i++)
        data[i] = input_data(&prog->inputs[i], args, input_source(prog, args, i), &arrays[i],
                             shapes[i]);
}

/* ", 3 of 64 values are NaN and 1 infinite": what made mean and std nan or inf. */
static void print_non_finite(int64_t n, int64_t nans, int64_t infs)
{
    if (!nans && !infs)
        return;
    printf(", %lld of %lld value%s %s ", (long long)(nans ? nans : infs), (long long)n,
           n == 1 ? "" : "s", (nans ? nans : infs) == 1 ? "is" : "are");
    if (nans && infs)
        printf("NaN and %lld infinite", (long long)infs);
    else
        printf("%s", nans ? "NaN" : "infinite");
}

/* Without --output, rank 0 shows what came out: shape, mean, spread and the first values. NaN
 * and infinities are counted and said, and make mean and std what they are (nan, inf): a
 * summary must not look healthy when the output is not. */
static void print_summary(const char *name, const float *data, int ndim, const int64_t *shape)
{
    char text[TPCRT_SHAPE_LEN];
    int64_t n = element_count(ndim, shape, name), nans = 0, infs = 0;
    printf("%s: f32%s", name, tpcrt_shape_string(text, sizeof text, ndim, shape));
    double sum = 0, sum2 = 0;
    for (int64_t i = 0; i < n; i++) {
        nans += isnan(data[i]) != 0;
        infs += isinf(data[i]) != 0;
        sum += data[i];
        sum2 += (double)data[i] * data[i];
    }
    double mean = n ? sum / (double)n : 0, var = n ? sum2 / (double)n - mean * mean : 0;
    double std = nans || infs ? NAN : var > 0 ? sqrt(var) : 0.0; /* var < 0: rounding */
    printf(", mean %.6g, std %.6g", mean, std);
    print_non_finite(n, nans, infs);
    printf(", first [");
    for (int64_t i = 0; i < n && i < 5; i++)
        printf("%s%.6g", i ? ", " : "", data[i]);
    printf("%s]\n", n > 5 ? ", ..." : "");
    fflush(stdout);
}

/* One output target: an existing regular file we may write, or a new file in a folder we may
 * write in. */
static bool output_target_check(const char *name, const char *path, char *err, size_t errlen)
{
    char shown[TPCRT_PATH_LEN];
    struct stat st;
    if (stat(path, &st) == 0) {
        if (!S_ISREG(st.st_mode))
            return tpcrt_error(err, errlen, "output '%s': %s: expected a regular file, saw %s",
                               name, tpcrt_escape(path, shown, sizeof shown),
                               tpcrt_file_kind(st.st_mode));
        if (access(path, W_OK) != 0)
            return tpcrt_error(err, errlen, "output '%s': %s: cannot write: %s", name,
                               tpcrt_escape(path, shown, sizeof shown), strerror(errno));
        return true;
    }
    int saved = errno;
    char folder[4 * TPCRT_PATH_LEN];
    const char *slash = strrchr(path, '/');
    snprintf(folder, sizeof folder, "%.*s", slash ? (int)(slash - path) + 1 : 1,
             slash ? path : ".");
    if (saved == ENOENT && access(folder, W_OK | X_OK) == 0)
        return true;
    return tpcrt_error(err, errlen, "output '%s': %s: cannot create: %s", name,
                       tpcrt_escape(path, shown, sizeof shown),
                       strerror(saved == ENOENT ? errno : saved));
}

bool tpcrt_outputs_check(const TpcrtProgram *prog, const TpcrtArgs *args, char *err,
                         size_t errlen)
{
    for (int i = 0; i < prog->noutputs; i++)
        if (args->output_paths[i] &&
            !output_target_check(prog->outputs[i].name, args->output_paths[i], err, errlen))
            return false;
    int tokens = tpcrt_prompt_input(prog, TPCRT_ROLE_TOKENS);
    if (args->tokens_output && tokens >= 0)
        return output_target_check(prog->inputs[tokens].name, args->tokens_output, err, errlen);
    return true;
}

void tpcrt_output_write(const TpcrtProgram *prog, const TpcrtArgs *args, int index,
                        const float *data, int ndim, const int64_t *shape)
{
    if (tpcrt_rank() != 0 || index < 0 || index >= prog->noutputs)
        return;
    if (!args->output_paths[index]) {
        print_summary(prog->outputs[index].name, data, ndim, shape);
        return;
    }
    TpcrtArray array = {.dtype = TPCRT_F32, .ndim = ndim, .data = (void *)data};
    char err[TPCRT_ERROR_LEN];
    if (ndim < 0 || ndim > TPCRT_MAX_DIMS)
        tpcrt_fail("output '%s': internal error: %d dimensions", prog->outputs[index].name, ndim);
    memcpy(array.shape, shape, (size_t)ndim * sizeof *shape);
    if (!tpcrt_npy_write(args->output_paths[index], &array, err, sizeof err))
        tpcrt_fail("output '%s': %s", prog->outputs[index].name, err);
}

void tpcrt_check_ids(const int32_t *ids, int64_t count, int64_t limit, const char *input,
                     const char *table)
{
    for (int64_t i = 0; i < count; i++)
        if (ids[i] < 0 || ids[i] >= limit)
            tpcrt_fail("input '%s': index %lld: expected an id in [0, %lld) for '%s', saw %d",
                       input, (long long)i, (long long)limit, table, ids[i]);
}
