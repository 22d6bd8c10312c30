/* weights.c — where weights come from: a checkpoint on disk, or random values.
 *
 * A checkpoint is a .safetensors file, or a folder holding model.safetensors, or
 * model.safetensors.index.json and the shards its "weight_map" names (Hugging Face's layout and
 * names, untouched). tpcrt_weights_open opens every file and validates every header before any
 * data is read — on every rank, so a bad header is reported wherever it is read. Files stay open
 * until tpcrt_weights_close; tpcrt_weights_read reads a rank's slice with positioned reads of its
 * bytes only (slice.c). Random weights are made by index in the full tensor (random.c), so a
 * slice holds the same values whatever the split.
 *
 * A name the program asks for is a pattern: every "{i}" in it becomes the weights group's
 * block index (name_expand). It is copied, never used as a printf format (a checkpoint's names
 * may hold '%'), and has no length limit. Every path is opened with tpcrt_open_regular, so a
 * FIFO or a device is refused at once instead of blocking, and every name or path from the
 * checkpoint is escaped (tpcrt_escape) before it reaches a message.
 *
 * tpcrt_weights_read fills f32 destinations, tpcrt_weights_read_bf16 bf16 ones (--dtype bf16):
 * one path (weights_read) for both, the destination's type passed down to slice.c's conversion
 * and to the random fill, which rounds the f32 values it makes.
 *
 * Also here: the count of bytes read from checkpoint files (--stats) and the progress line.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct WeightsFile {
    char *path;
    const char *shard; /* the name model.safetensors.index.json gives it, or NULL */
    int fd;            /* -1 until opened */
    TpcrtSafetensors header;
} WeightsFile;

/* A tensor of the checkpoint: the file it is in and what that file's header says of it. */
typedef struct Entry {
    const char *name;
    WeightsFile *file;
    const TpcrtTensorInfo *info;
} Entry;

struct TpcrtWeights {
    bool random;
    uint64_t seed;
    char *path; /* as given: named when a tensor is missing */
    int nfiles;
    WeightsFile *files;
    int nentries;
    Entry *entries; /* sorted by name */
    json_t *index;  /* model.safetensors.index.json, which owns the entries' names */
    TpcrtReader reader;
};

static int64_t bytes_read;

int64_t tpcrt_checkpoint_bytes_read(void)
{
    return bytes_read;
}

/* n zeroed elements of `size` bytes from tpcrt_alloc; free with tpcrt_free. */
static void *alloc_array(size_t n, size_t size, const char *what)
{
    size_t bytes;
    if (__builtin_mul_overflow(n, size, &bytes))
        tpcrt_fail("out of memory: %s needs %zu times %zu bytes", what, n, size);
    return tpcrt_alloc(bytes, what);
}

static char *copy_string(const char *s)
{
    size_t len = strlen(s) + 1;
    return memcpy(tpcrt_alloc(len, "a path"), s, len);
}

static char *path_join(const char *dir, const char *name)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    char *path = tpcrt_alloc(len, "a path");
    snprintf(path, len, "%s%s%s", dir, dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/", name);
    return path;
}

/* ---- files ----------------------------------------------------------------------------------- */

/* Reads exactly n bytes at offset: the reader callback of every checkpoint file. */
static bool file_read(void *ctx, uint64_t offset, void *buf, size_t n, char *err, size_t errlen)
{
    const WeightsFile *f = ctx;
    if (!tpcrt_read_at(f->fd, buf, n, offset, err, errlen))
        return false;
    bytes_read += (int64_t)n;
    return true;
}

/* Validates the header of the open file f; false with a message that does not name the file. */
static bool file_read_header(WeightsFile *f, char *err, size_t errlen)
{
    struct stat st;
    if (fstat(f->fd, &st) != 0)
        return tpcrt_error(err, errlen, "cannot stat: %s", strerror(errno));
    uint64_t size = (uint64_t)st.st_size, header_len;
    unsigned char prefix[8];
    if (!file_read(f, 0, prefix, size < 8 ? (size_t)size : 8, err, errlen) ||
        !tpcrt_safetensors_header_length(prefix, size, &header_len, err, errlen))
        return false;
    char *header = malloc(header_len ? header_len : 1);
    if (!header)
        return tpcrt_error(err, errlen, "out of memory for a %llu-byte header",
                           (unsigned long long)header_len);
    bool ok = file_read(f, 8, header, header_len, err, errlen) &&
              tpcrt_safetensors_parse(header, header_len, size, &f->header, err, errlen);
    free(header);
    return ok;
}

/* Opens f->path, a regular file (why not goes into why), and validates its header (a failure
 * is one line naming the file). */
static bool file_open(WeightsFile *f, char *why, size_t whylen)
{
    char err[TPCRT_ERROR_LEN];
    f->fd = tpcrt_open_regular(f->path, O_RDONLY, why, whylen);
    if (f->fd >= 0 && !file_read_header(f, err, sizeof err))
        tpcrt_fail("%s: %s", f->path, err);
    return f->fd >= 0;
}

static void file_close(WeightsFile *f)
{
    if (f->fd >= 0)
        close(f->fd);
    tpcrt_safetensors_free(&f->header);
    tpcrt_free(f->path);
}

/* ---- the checkpoint's layouts ---------------------------------------------------------------- */

static void open_single(TpcrtWeights *w, const char *path)
{
    w->nfiles = 1;
    w->files = alloc_array(1, sizeof *w->files, "checkpoint files");
    w->files[0] = (WeightsFile){.path = copy_string(path), .fd = -1};
    char why[TPCRT_ERROR_LEN];
    if (!file_open(&w->files[0], why, sizeof why))
        tpcrt_fail("%s: %s", path, why);

    const TpcrtSafetensors *h = &w->files[0].header;
    w->nentries = h->ntensors;
    w->entries = alloc_array((size_t)h->ntensors, sizeof *w->entries, "checkpoint tensors");
    for (int i = 0; i < h->ntensors; i++) /* already sorted by name */
        w->entries[i] = (Entry){h->tensors[i].name, &w->files[0], &h->tensors[i]};
}

/* A shard's name from the index: a file in the folder, never a path out of it. */
static bool shard_name_ok(const char *name)
{
    return *name && !strchr(name, '/') && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

static const json_t *index_weight_map(const char *index_path, const json_t *root)
{
    const json_t *map = json_object_get(root, "weight_map");
    char seen[64], shown[TPCRT_TEXT_LEN];
    if (!json_is_object(map))
        tpcrt_fail("%s: expected an object \"weight_map\" (tensor name -> shard file), saw %s",
                   index_path, tpcrt_json_text(map, seen, sizeof seen));
    const char *name;
    const json_t *shard;
    json_object_foreach((json_t *)map, name, shard)
        if (!json_is_string(shard) || !shard_name_ok(json_string_value(shard)))
            tpcrt_fail("%s: %s: expected the name of a shard file in the folder, saw %s",
                       index_path, tpcrt_escape(name, shown, sizeof shown),
                       tpcrt_json_text(shard, seen, sizeof seen));
    return map;
}

/* The file for shard `name`, opened the first time it is named. */
static WeightsFile *index_shard(TpcrtWeights *w, const char *index_path, const char *dir,
                                const char *tensor, const char *name)
{
    for (int i = 0; i < w->nfiles; i++)
        if (strcmp(w->files[i].shard, name) == 0)
            return &w->files[i];
    WeightsFile *f = &w->files[w->nfiles++];
    *f = (WeightsFile){.path = path_join(dir, name), .shard = name, .fd = -1};
    char why[TPCRT_ERROR_LEN], shown_tensor[TPCRT_TEXT_LEN], shown_shard[TPCRT_TEXT_LEN];
    if (!file_open(f, why, sizeof why))
        tpcrt_fail("%s: %s: weight_map names shard '%s': %s", index_path,
                   tpcrt_escape(tensor, shown_tensor, sizeof shown_tensor),
                   tpcrt_escape(name, shown_shard, sizeof shown_shard), why);
    return f;
}

static int entry_by_name(const void *a, const void *b)
{
    return strcmp(((const Entry *)a)->name, ((const Entry *)b)->name);
}

static void open_index(TpcrtWeights *w, const char *index_path, const char *dir)
{
    json_error_t jerr;
    char why[TPCRT_ERROR_LEN], shown[TPCRT_TEXT_LEN], shown_shard[TPCRT_TEXT_LEN];
    int fd = tpcrt_open_regular(index_path, O_RDONLY, why, sizeof why);
    if (fd < 0)
        tpcrt_fail("%s: %s", index_path, why);
    w->index = json_loadfd(fd, JSON_REJECT_DUPLICATES, &jerr);
    close(fd);
    if (!w->index) /* jansson's text quotes what it saw near the error: escaped */
        tpcrt_fail("%s: expected JSON, saw an error at line %d: %s", index_path, jerr.line,
                   tpcrt_escape_text(jerr.text, false, shown, sizeof shown));
    const json_t *map = index_weight_map(index_path, w->index);

    size_t n = json_object_size(map);
    w->files = alloc_array(n, sizeof *w->files, "checkpoint files"); /* a shard per tensor */
    w->entries = alloc_array(n, sizeof *w->entries, "checkpoint tensors");
    const char *name;
    const json_t *shard;
    json_object_foreach((json_t *)map, name, shard) {
        const char *file = json_string_value(shard);
        WeightsFile *f = index_shard(w, index_path, dir, name, file);
        const TpcrtTensorInfo *info = tpcrt_safetensors_find(&f->header, name);
        if (!info)
            tpcrt_fail("%s: %s: expected in shard '%s' as weight_map says, saw no such tensor "
                       "there", index_path, tpcrt_escape(name, shown, sizeof shown),
                       tpcrt_escape(file, shown_shard, sizeof shown_shard));
        w->entries[w->nentries++] = (Entry){name, f, info};
    }
    qsort(w->entries, (size_t)w->nentries, sizeof *w->entries, entry_by_name);
}

/* Whatever it is: a model.safetensors that is a FIFO is refused by name, not passed over. */
static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* As Hugging Face's from_pretrained looks: model.safetensors first, then the index. */
static void open_folder(TpcrtWeights *w, const char *dir)
{
    char *single = path_join(dir, "model.safetensors");
    char *index = path_join(dir, "model.safetensors.index.json");
    if (exists(single))
        open_single(w, single);
    else if (exists(index))
        open_index(w, index, dir);
    else
        tpcrt_fail("%s: expected model.safetensors or model.safetensors.index.json in the "
                   "folder, saw neither", dir);
    tpcrt_free(index);
    tpcrt_free(single);
}

TpcrtWeights *tpcrt_weights_open(const TpcrtArgs *args)
{
    TpcrtWeights *w = tpcrt_alloc(sizeof *w, "checkpoint");
    w->reader.read = file_read;
    if (args->random_weights) {
        w->random = true;
        w->seed = args->weights_seed;
        return w;
    }
    if (!args->weights)
        tpcrt_fail("expected --weights PATH or --random-weights SEED");
    w->path = copy_string(args->weights);
    struct stat st;
    if (stat(w->path, &st) != 0)
        tpcrt_fail("%s: cannot open: %s", args->weights, strerror(errno));
    if (S_ISDIR(st.st_mode)) {
        open_folder(w, w->path);
    } else if (ends_with(w->path, ".json")) {
        char *dir = copy_string(w->path), *slash = strrchr(dir, '/');
        if (slash)
            slash[1] = '\0';
        open_index(w, w->path, slash ? dir : ".");
        tpcrt_free(dir);
    } else {
        open_single(w, w->path);
    }
    return w;
}

void tpcrt_weights_close(TpcrtWeights *w)
{
    if (!w)
        return;
    for (int i = 0; i < w->nfiles; i++)
        file_close(&w->files[i]);
    tpcrt_free(w->files);
    tpcrt_free(w->entries);
    json_decref(w->index);
    tpcrt_reader_free(&w->reader);
    tpcrt_free(w->path);
    tpcrt_free(w);
}

/* ---- reading --------------------------------------------------------------------------------- */

static const Entry *find_entry(const TpcrtWeights *w, const char *name)
{
    Entry key = {.name = name};
    return bsearch(&key, w->entries, (size_t)w->nentries, sizeof key, entry_by_name);
}

/* Into dst, f32 or (bf16) uint16_t bf16. */
static void read_checkpoint(TpcrtWeights *w, const char *name, int ndim, const int64_t *shape,
                            const TpcrtDimSlice *slice, void *dst, bool bf16,
                            const int64_t *dst_strides)
{
    const Entry *e = find_entry(w, name);
    if (!e)
        tpcrt_fail("%s: %s: expected a tensor of this name, the checkpoint has none (it has %d "
                   "tensors)", w->path, name, w->nentries);
    const TpcrtTensorInfo *t = e->info;
    const char *path = e->file->path;
    bool same = t->ndim == ndim;
    for (int d = 0; same && d < ndim; d++)
        same = t->shape[d] == shape[d];
    char want[TPCRT_SHAPE_LEN], saw[TPCRT_SHAPE_LEN], err[TPCRT_ERROR_LEN];
    if (!same)
        tpcrt_fail("%s: %s: expected shape %s, saw %s", path, name,
                   tpcrt_shape_string(want, sizeof want, ndim, shape),
                   tpcrt_stored_shape_string(saw, sizeof saw, t));
    if (!tpcrt_stored_type_readable(t->dtype))
        tpcrt_fail("%s: %s: expected dtype F32, F16 or BF16, saw %s", path, name,
                   tpcrt_stored_type_name(t->dtype));
    w->reader.ctx = e->file;
    bool ok = bf16 ? tpcrt_slice_read_bf16(&w->reader, t, slice, dst, dst_strides, err, sizeof err)
                   : tpcrt_slice_read(&w->reader, t, slice, dst, dst_strides, err, sizeof err);
    if (!ok)
        tpcrt_fail("%s: %s: %s", path, name, err);
}

typedef struct RandomFill {
    uint64_t key;
    TpcrtInit init;
    void *dst;
    bool bf16; /* dst is uint16_t bf16: the f32 values, rounded */
} RandomFill;

static bool random_block(void *ctx, const TpcrtBlock *b)
{
    const RandomFill *fill = ctx;
    TpcrtRowWalk walk;
    tpcrt_block_rows_start(b, &walk);
    for (int64_t row = 0; row < b->rows; row++, tpcrt_block_rows_next(b, &walk)) {
        uint64_t first = (uint64_t)(b->first + row * b->cols);
        for (int64_t j = 0; j < b->cols; j++) {
            float value =
                fill->init.offset + fill->init.scale * tpcrt_random_uniform(fill->key, first + j);
            int64_t at = walk.offset + j * b->dst_stride;
            if (fill->bf16)
                ((uint16_t *)fill->dst)[at] = tpcrt_f32_to_bf16(value);
            else
                ((float *)fill->dst)[at] = value;
        }
    }
    return true;
}

static void progress_add(int64_t bytes);

/* Checks the full shape and the slice; sets the slice's element count. */
static void check_request(const TpcrtWeights *w, const char *name, int ndim, const int64_t *shape,
                          const TpcrtDimSlice *slice, int64_t *local, int64_t *count)
{
    char err[TPCRT_ERROR_LEN];
    const char *source = w->random ? "random weights" : w->path;
    int64_t full = 1;
    if (ndim < 0 || ndim > TPCRT_MAX_DIMS)
        tpcrt_fail("%s: %s: internal error: expected at most %d dimensions, saw %d", source,
                   name, TPCRT_MAX_DIMS, ndim);
    for (int d = 0; d < ndim; d++)
        if (shape[d] < 0 || tpcrt_mul_overflows(full, shape[d], &full))
            tpcrt_fail("%s: %s: internal error: bad shape", source, name);
    if (!tpcrt_slice_check(ndim, shape, slice, local, err, sizeof err))
        tpcrt_fail("%s: %s: internal error: slice: %s", source, name, err);
    *count = 1;
    for (int d = 0; d < ndim; d++)
        *count *= local[d]; /* no overflow: tpcrt_slice_check counted them */
    if (*count > INT64_MAX / (int64_t)sizeof(float))
        tpcrt_fail("%s: %s: %lld elements are more than 2^63 bytes", source, name,
                   (long long)*count);
}

/* `name` with every "{i}" replaced by the decimal block (block >= 0), from tpcrt_alloc. No
 * printf: a checkpoint's names may hold '%', and have any length. */
static char *name_expand(const char *name, int64_t block)
{
    static const char marker[] = "{i}";
    enum { MARKER_LEN = sizeof marker - 1 };
    char digits[24];
    size_t ndigits = block >= 0 ? (size_t)snprintf(digits, sizeof digits, "%lld",
                                                   (long long)block) : 0;
    size_t len = strlen(name), markers = 0;
    for (const char *p = block >= 0 ? strstr(name, marker) : NULL; p;
         p = strstr(p + MARKER_LEN, marker))
        markers++;
    /* Digits are never longer than 20 bytes and a marker 3: no overflow below SIZE_MAX / 8. */
    if (len > SIZE_MAX / 8)
        tpcrt_fail("weight name of %zu bytes: too long", len);
    char *expanded = tpcrt_alloc(len + markers * ndigits + 1, "a weight name"), *out = expanded;
    for (const char *p = name; *p;) {
        if (markers && strncmp(p, marker, MARKER_LEN) == 0) {
            memcpy(out, digits, ndigits);
            out += ndigits;
            p += MARKER_LEN;
        } else {
            *out++ = *p++;
        }
    }
    *out = '\0';
    return expanded;
}

/* tpcrt_weights_read and tpcrt_weights_read_bf16: dst is f32, or uint16_t bf16 when bf16. */
static void weights_read(TpcrtWeights *w, const char *name_pattern, int64_t block, int ndim,
                         const int64_t *shape, const TpcrtDimSlice *slice, TpcrtInit init,
                         void *dst, bool bf16, const int64_t *dst_strides)
{
    char *name = name_expand(name_pattern, block);
    int64_t local[TPCRT_MAX_DIMS], count, strides[TPCRT_MAX_DIMS];
    check_request(w, name, ndim, shape, slice, local, &count);
    if (!dst_strides) { /* the slice, dense in C order */
        int64_t stride = 1;
        for (int d = ndim - 1; d >= 0; d--) {
            strides[d] = stride;
            stride *= local[d];
        }
        dst_strides = strides;
    }
    if (w->random) {
        RandomFill fill = {tpcrt_random_key(w->seed, name), init, dst, bf16};
        tpcrt_slice_blocks(ndim, shape, slice, dst_strides, random_block, &fill);
    } else {
        read_checkpoint(w, name, ndim, shape, slice, dst, bf16, dst_strides);
    }
    progress_add(count * (bf16 ? (int64_t)sizeof(uint16_t) : (int64_t)sizeof(float)));
    tpcrt_free(name);
}

void tpcrt_weights_read(TpcrtWeights *w, const char *name_pattern, int64_t block, int ndim,
                        const int64_t *shape, const TpcrtDimSlice *slice, TpcrtInit init,
                        float *dst, const int64_t *dst_strides)
{
    weights_read(w, name_pattern, block, ndim, shape, slice, init, dst, false, dst_strides);
}

void tpcrt_weights_read_bf16(TpcrtWeights *w, const char *name_pattern, int64_t block, int ndim,
                             const int64_t *shape, const TpcrtDimSlice *slice, TpcrtInit init,
                             uint16_t *dst, const int64_t *dst_strides)
{
    weights_read(w, name_pattern, block, ndim, shape, slice, init, dst, true, dst_strides);
}

/* ---- progress -------------------------------------------------------------------------------- */

/* Rank 0 shows how far a load that takes more than a second has come: on a terminal one line
 * rewritten in place, in a log a line every few seconds; and what it took, at the end. */
static struct {
    bool active, shown, tty;
    double start, last;
    int64_t total, done;
} progress;

enum { PROGRESS_AFTER = 1, PROGRESS_EVERY_LOG = 5 }; /* seconds */

void tpcrt_load_begin(int64_t bytes_to_load)
{
    progress.active = true;
    progress.shown = false;
    progress.tty = isatty(STDERR_FILENO);
    progress.start = progress.last = tpcrt_now();
    progress.total = bytes_to_load;
    progress.done = 0;
}

static void progress_add(int64_t bytes)
{
    progress.done += bytes;
    if (!progress.active || tpcrt_rank() != 0)
        return;
    double now = tpcrt_now();
    double every = progress.tty ? 0.25 : PROGRESS_EVERY_LOG;
    if (now - progress.start < PROGRESS_AFTER || (progress.shown && now - progress.last < every))
        return;
    progress.shown = true;
    progress.last = now;
    fprintf(stderr, "%stpc: loading weights: %.0f of %.0f MB (%.0f%%), %.1f s%s",
            progress.tty ? "\r" : "", progress.done / 1e6, progress.total / 1e6,
            progress.total ? 100.0 * (double)progress.done / (double)progress.total : 100.0,
            now - progress.start, progress.tty ? "" : "\n");
}

void tpcrt_load_end(void)
{
    if (!progress.active)
        return;
    progress.active = false;
    double seconds = tpcrt_now() - progress.start;
    if (tpcrt_rank() != 0 || seconds < PROGRESS_AFTER)
        return;
    fprintf(stderr, "%stpc: loaded %.0f MB of weights in %.1f s (%.0f MB/s per rank)\n",
            progress.tty && progress.shown ? "\r\033[K" : "", progress.done / 1e6, seconds,
            progress.done / 1e6 / seconds);
}
