/* rt_npy — .npy files through libtpcrt: `rt_npy FILE...` reads each with tpcrt_npy_read and
 * again from memory with tpcrt_npy_parse, checks that both agree, and prints the dtype, shape
 * and first values, or the error. `rt_npy --copy IN OUT` reads IN and writes it to OUT.
 * npy.test holds the cases.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static void *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f || fseek(f, 0, SEEK_END) != 0) {
        fprintf(stderr, "rt_npy: cannot read %s\n", path);
        exit(1);
    }
    *size = (size_t)ftell(f);
    rewind(f);
    char *bytes = malloc(*size + 1);
    if (!bytes || fread(bytes, 1, *size, f) != *size)
        exit(1);
    fclose(f);
    return bytes;
}

static int64_t count_of(const TpcrtArray *a)
{
    int64_t n = 1;
    for (int d = 0; d < a->ndim; d++)
        n *= a->shape[d];
    return n;
}

static void print_array(const char *name, const TpcrtArray *a)
{
    char shape[TPCRT_SHAPE_LEN];
    printf("%s: %s %s:", name, tpcrt_dtype_name(a->dtype),
           tpcrt_shape_string(shape, sizeof shape, a->ndim, a->shape));
    int64_t n = count_of(a);
    for (int64_t i = 0; i < n && i < 8; i++) {
        if (a->dtype == TPCRT_I32)
            printf(" %d", ((const int32_t *)a->data)[i]);
        else
            printf(" %g", ((const float *)a->data)[i]);
    }
    printf("%s\n", n > 8 ? " ..." : "");
}

/* Both readers must say the same: the same error, or the same array. */
static void check_agree(const char *path, bool read_ok, const TpcrtArray *read, const char *err)
{
    size_t size;
    void *bytes = slurp(path, &size);
    TpcrtArray parsed;
    char perr[TPCRT_ERROR_LEN];
    bool parse_ok = tpcrt_npy_parse(bytes, size, &parsed, perr, sizeof perr);
    bool same = parse_ok == read_ok;
    if (same && read_ok)
        same = parsed.dtype == read->dtype && parsed.ndim == read->ndim &&
               memcmp(parsed.shape, read->shape, sizeof parsed.shape) == 0 &&
               memcmp(parsed.data, read->data, (size_t)count_of(read) * 4) == 0;
    if (same && !read_ok)
        same = strstr(err, perr) != NULL; /* the file reader puts the path in front */
    if (!same) {
        printf("FAIL: %s: tpcrt_npy_read and tpcrt_npy_parse disagree: '%s' / '%s'\n", path,
               read_ok ? "ok" : err, parse_ok ? "ok" : perr);
        exit(1);
    }
    if (parse_ok)
        free(parsed.data);
    free(bytes);
}

static int copy(const char *in, const char *out)
{
    TpcrtArray a = {0};
    char err[TPCRT_ERROR_LEN];
    bool ok = tpcrt_npy_read(in, &a, err, sizeof err) && tpcrt_npy_write(out, &a, err, sizeof err);
    if (!ok)
        printf("error: %s\n", err);
    free(a.data);
    return !ok;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--copy") == 0)
        return copy(argv[2], argv[3]);
    for (int i = 1; i < argc; i++) {
        TpcrtArray a;
        char err[TPCRT_ERROR_LEN];
        bool ok = tpcrt_npy_read(argv[i], &a, err, sizeof err);
        check_agree(argv[i], ok, &a, err);
        if (ok)
            print_array(base_name(argv[i]), &a);
        else
            printf("%s: error: %s\n", base_name(argv[i]), err);
        if (ok)
            free(a.data);
    }
    return 0;
}
