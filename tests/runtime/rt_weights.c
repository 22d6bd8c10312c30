/* rt_weights — reads slices of weights the way a built program does, one process per rank:
 *     rt_weights OUTDIR [--sleep S] [--io] [--discard] [--block B] [--bf16] SPEC... -- OPTIONS
 * Each SPEC is NAME=SHAPE@DIMS[@LAYOUT]: NAME any length, its every "{i}" read as block B
 * (--block; without it the name is used as it is); SHAPE like 8x6 (empty for a scalar); DIMS
 * one entry per dimension, comma-separated, each `*` (whole) or the ranks' ranges: one group
 * for every rank or a group per rank separated by '/', a group being ranges a-b joined by '+'.
 * LAYOUT is how the slice is laid out in memory: c (C order, dst_strides NULL), t (transposed)
 * or pad (every other element, rows padded; the gaps must stay untouched). Rank R writes
 * OUTDIR/NAME.rR.npy in C order (transposed for t), NAME with "{i}" replaced and cut to its
 * first 200 bytes, which check_slices.py compares with NumPy's slicing.
 * --sleep S makes the load last S seconds more (the progress line); --io prints each rank's
 * read_bytes from /proc/self/io during the load (opening included) and the time spent in
 * tpcrt_weights_read;
 * --discard writes nothing (large reads);
 * --bf16 reads with tpcrt_weights_read_bf16 into a bf16 buffer (its gaps 0xffff, a NaN) and
 * writes it widened to f32, which is exact (check_slices.py --bf16 rounds its reference).
 */
#include "internal.h"

#include <math.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { MAX_SPECS = 32, MAX_RANGES = 16 };

typedef enum { LAYOUT_C, LAYOUT_T, LAYOUT_PAD } Layout;

typedef struct Spec {
    char *name; /* the pattern, "{i}" not yet replaced */
    int ndim;
    int64_t shape[TPCRT_MAX_DIMS], local[TPCRT_MAX_DIMS];
    TpcrtDimSlice slice[TPCRT_MAX_DIMS];
    TpcrtRange ranges[TPCRT_MAX_DIMS][MAX_RANGES];
    Layout layout;
} Spec;

static int world, rank;

static _Noreturn void usage(const char *why, const char *text)
{
    fprintf(stderr, "rt_weights: %s: '%s'\n", why, text);
    exit(2);
}

/* This rank's group of one dimension's entry: "*", "a-b+c-d", or groups joined by '/'. */
static void parse_dim(Spec *s, int d, const char *entry)
{
    const char *group = entry;
    if (strchr(entry, '/'))
        for (int r = 0; r < rank; r++) {
            group = strchr(group, '/');
            if (!group)
                usage("expected a group of ranges per rank", entry);
            group++;
        }
    TpcrtDimSlice *slice = &s->slice[d];
    *slice = (TpcrtDimSlice){0, s->ranges[d]};
    if (group[0] == '*')
        return;
    for (const char *p = group; *p && *p != '/';) {
        char *end;
        long long a = strtoll(p, &end, 10), b;
        if (*end != '-' || slice->nranges == MAX_RANGES)
            usage("expected ranges a-b joined by '+'", entry);
        b = strtoll(end + 1, &end, 10);
        s->ranges[d][slice->nranges++] = (TpcrtRange){a, b};
        p = *end == '+' ? end + 1 : end;
    }
}

static void parse_spec(Spec *s, const char *text)
{
    char *copy = strdup(text); /* the name points into it for the life of the program */
    char *eq = strchr(copy, '='), *at = eq ? strchr(eq, '@') : NULL;
    if (!eq || !at)
        usage("expected NAME=SHAPE@DIMS[@LAYOUT]", text);
    *eq = *at = '\0';
    s->name = copy;
    char *layout = strchr(at + 1, '@');
    if (layout)
        *layout++ = '\0';
    s->layout = !layout || strcmp(layout, "c") == 0 ? LAYOUT_C :
                strcmp(layout, "t") == 0            ? LAYOUT_T : LAYOUT_PAD;

    s->ndim = 0;
    for (char *dim = strtok(eq + 1, "x"); dim; dim = strtok(NULL, "x"))
        s->shape[s->ndim++] = atoll(dim);
    int d = 0;
    for (char *entry = strtok(at + 1, ","); entry; entry = strtok(NULL, ","))
        if (d < s->ndim)
            parse_dim(s, d++, entry);
    if (d != s->ndim)
        usage("expected an entry per dimension", text);
}

/* Where each element of the slice goes, in elements; returns the buffer's size. */
static int64_t layout_strides(const Spec *s, int64_t *strides)
{
    int n = s->ndim;
    int64_t size = 1;
    for (int d = 0; d < n; d++)
        size *= s->local[d];
    if (s->layout == LAYOUT_T) { /* dimension 0 fastest */
        int64_t stride = 1;
        for (int d = 0; d < n; d++) {
            strides[d] = stride;
            stride *= s->local[d];
        }
        return size;
    }
    if (s->layout == LAYOUT_PAD && n > 0) {
        strides[n - 1] = 2;
        for (int d = n - 2; d >= 0; d--)
            strides[d] = d == n - 2 ? 2 * s->local[n - 1] + 3 : strides[d + 1] * s->local[d + 1];
        return s->local[0] * strides[0] + 1;
    }
    int64_t stride = 1;
    for (int d = n - 1; d >= 0; d--) {
        strides[d] = stride;
        stride *= s->local[d];
    }
    return size;
}

/* The padded buffer's elements in C order; every element not in the slice must be untouched. */
static float *compact(const Spec *s, float *buf, int64_t size, const int64_t *strides)
{
    int64_t count = 1, index[TPCRT_MAX_DIMS] = {0};
    for (int d = 0; d < s->ndim; d++)
        count *= s->local[d];
    float *out = tpcrt_alloc((size_t)count * 4 + 4, "compact");
    bool *used = calloc((size_t)size + 1, 1);
    for (int64_t k = 0; k < count; k++) {
        int64_t offset = 0;
        for (int d = 0; d < s->ndim; d++)
            offset += index[d] * strides[d];
        out[k] = buf[offset];
        used[offset] = true;
        for (int d = s->ndim - 1; d >= 0 && ++index[d] == s->local[d]; d--)
            index[d] = 0;
    }
    for (int64_t i = 0; i < size; i++)
        if (!used[i] && !isnan(buf[i]))
            tpcrt_fail("%s: element %lld of the padded buffer was written", s->name,
                       (long long)i);
    free(used);
    return out;
}

/* The file a spec's slice goes to: the name with "{i}" replaced (as check_slices.py does),
 * cut to 200 bytes, which a file name can hold. */
static void out_path(char *path, size_t len, const char *outdir, const char *name, int64_t block)
{
    char stem[201];
    size_t n = 0;
    for (const char *p = name; *p && n < sizeof stem - 1;) {
        if (block >= 0 && strncmp(p, "{i}", 3) == 0) {
            n += (size_t)snprintf(stem + n, sizeof stem - n, "%lld", (long long)block);
            p += 3;
        } else {
            stem[n++] = *p++;
        }
    }
    stem[n < sizeof stem ? n : sizeof stem - 1] = '\0';
    if (snprintf(path, len, "%s/%s.r%d.npy", outdir, stem, rank) >= (int)len)
        usage("path too long", outdir);
}

/* Reads the slice into buf (f32) with tpcrt_weights_read, or with tpcrt_weights_read_bf16 into
 * a bf16 buffer then widened into buf; returns the seconds the read took. */
static double read_into(TpcrtWeights *w, Spec *s, int64_t block, bool bf16, float *buf,
                        int64_t size, const int64_t *strides)
{
    TpcrtInit init = {0.5f, 2.0f};
    const int64_t *dst_strides = s->layout == LAYOUT_C ? NULL : strides;
    if (!bf16) {
        double start = tpcrt_now();
        tpcrt_weights_read(w, s->name, block, s->ndim, s->shape, s->slice, init, buf,
                           dst_strides);
        return tpcrt_now() - start;
    }
    uint16_t *half = tpcrt_alloc((size_t)size * 2 + 2, s->name);
    for (int64_t i = 0; i < size; i++)
        half[i] = 0xffff;
    double start = tpcrt_now();
    tpcrt_weights_read_bf16(w, s->name, block, s->ndim, s->shape, s->slice, init, half,
                            dst_strides);
    double seconds = tpcrt_now() - start;
    for (int64_t i = 0; i < size; i++)
        buf[i] = tpcrt_bf16_to_f32(half[i]);
    tpcrt_free(half);
    return seconds;
}

/* Reads one spec's slice and writes it out; returns the seconds the read took. */
static double read_spec(TpcrtWeights *w, Spec *s, const char *outdir, bool discard,
                        int64_t block, bool bf16)
{
    char err[TPCRT_ERROR_LEN], path[4096];
    if (!tpcrt_slice_check(s->ndim, s->shape, s->slice, s->local, err, sizeof err))
        usage(err, s->name);
    int64_t strides[TPCRT_MAX_DIMS];
    int64_t size = layout_strides(s, strides);
    float *buf = tpcrt_alloc((size_t)size * 4, s->name);
    for (int64_t i = 0; i < size; i++)
        buf[i] = NAN;
    double seconds = read_into(w, s, block, bf16, buf, size, strides);

    if (discard) {
        tpcrt_free(buf);
        return seconds;
    }
    TpcrtArray array = {.dtype = TPCRT_F32, .ndim = s->ndim, .data = buf};
    for (int d = 0; d < s->ndim; d++)
        array.shape[d] = s->local[s->layout == LAYOUT_T ? s->ndim - 1 - d : d];
    if (s->layout == LAYOUT_PAD)
        array.data = compact(s, buf, size, strides);
    out_path(path, sizeof path, outdir, s->name, block);
    if (!tpcrt_npy_write(path, &array, err, sizeof err))
        tpcrt_fail("%s", err);
    if (array.data != buf)
        tpcrt_free(array.data);
    tpcrt_free(buf);
    return seconds;
}

static int64_t read_bytes_from_disk(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    char line[256];
    long long bytes = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "read_bytes: %lld", &bytes) == 1)
            break;
    if (f)
        fclose(f);
    return bytes;
}

/* What comes before "--". */
typedef struct Options {
    const char *outdir;
    double sleep_seconds;
    bool io, discard, bf16;
    int64_t block; /* -1: names are used as they are */
    int nspecs;
    Spec specs[MAX_SPECS];
} Options;

/* Parses argv[1..split), split being the index of "--". */
static void parse_options(int split, char **argv, Options *o)
{
    if (split < 2)
        usage("expected OUTDIR [--sleep S] [--io] [--discard] [--block B] [--bf16] SPEC... -- "
              "OPTIONS", "");
    o->outdir = argv[1];
    o->block = -1;
    for (int i = 2; i < split; i++) {
        if (strcmp(argv[i], "--sleep") == 0 && i + 1 < split)
            o->sleep_seconds = atof(argv[++i]);
        else if (strcmp(argv[i], "--io") == 0)
            o->io = true;
        else if (strcmp(argv[i], "--discard") == 0)
            o->discard = true;
        else if (strcmp(argv[i], "--bf16") == 0)
            o->bf16 = true;
        else if (strcmp(argv[i], "--block") == 0 && i + 1 < split)
            o->block = atoll(argv[++i]);
        else if (o->nspecs < MAX_SPECS)
            parse_spec(&o->specs[o->nspecs++], argv[i]);
    }
}

/* This rank's bytes of weights (f32, or bf16 with --bf16), the slices checked. */
static int64_t weight_bytes_of(Options *o)
{
    int64_t bytes = 0;
    for (int i = 0; i < o->nspecs; i++) {
        Spec *s = &o->specs[i];
        char err[TPCRT_ERROR_LEN];
        if (!tpcrt_slice_check(s->ndim, s->shape, s->slice, s->local, err, sizeof err))
            usage(err, s->name);
        int64_t count = 1;
        for (int d = 0; d < s->ndim; d++)
            count *= s->local[d];
        bytes += count * (o->bf16 ? 2 : 4);
    }
    return bytes;
}

/* Reads every spec's slice, as a program loads its weights. */
static void load(Options *o, const TpcrtArgs *args)
{
    int64_t io_before = read_bytes_from_disk(), weight_bytes = weight_bytes_of(o);
    TpcrtWeights *w = tpcrt_weights_open(args);
    tpcrt_load_begin(weight_bytes);
    if (o->sleep_seconds > 0)
        usleep((useconds_t)(o->sleep_seconds * 1e6));
    double seconds = 0;
    for (int i = 0; i < o->nspecs; i++)
        seconds += read_spec(w, &o->specs[i], o->outdir, o->discard, o->block, o->bf16);
    tpcrt_load_end();
    if (o->io)
        printf("rank %d: read_bytes %lld, %.0f MB in %.3f s, %.0f MB/s\n", rank,
               (long long)(read_bytes_from_disk() - io_before), (double)weight_bytes / 1e6,
               seconds, (double)weight_bytes / 1e6 / seconds);
    fflush(stdout);
    mpi_check(MPI_Barrier(MPI_COMM_WORLD));
    tpcrt_stats_report(args, weight_bytes, 0);
    tpcrt_weights_close(w);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_size(MPI_COMM_WORLD, &world);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);

    int split = 1;
    while (split < argc && strcmp(argv[split], "--") != 0)
        split++;
    static Options options;
    parse_options(split, argv, &options);

    int program_argc = argc - split;
    char **program_argv = argv + split; /* "--" stands in for argv[0] */
    TpcrtProgram prog = {.name = "rt_weights", .tp = world};
    TpcrtArgs args;
    tpcrt_init(&program_argc, &program_argv, &prog, &args);
    load(&options, &args);
    tpcrt_finalize();
    MPI_Finalize();
    return 0;
}
