/* rt_safetensors — safetensors headers through libtpcrt's parser, without MPI: for each FILE,
 * its tensors (name, dtype, shape, data offsets) or what is wrong with it. The files are read
 * whole into memory, so this checks the parser alone; weights-errors.test checks the same
 * messages through tpcrt_weights_open. safetensors-header.test holds the cases.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static unsigned char *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f || fseek(f, 0, SEEK_END) != 0) {
        fprintf(stderr, "rt_safetensors: cannot read %s\n", path);
        exit(1);
    }
    *size = (size_t)ftell(f);
    rewind(f);
    unsigned char *bytes = malloc(*size + 1);
    if (!bytes || fread(bytes, 1, *size, f) != *size)
        exit(1);
    fclose(f);
    return bytes;
}

static void print_tensors(const char *name, const TpcrtSafetensors *st)
{
    char shape[TPCRT_SHAPE_LEN];
    printf("%s: ok: %d tensors\n", name, st->ntensors);
    for (int i = 0; i < st->ntensors; i++) {
        const TpcrtTensorInfo *t = &st->tensors[i];
        printf("  %s %s %s at [%llu, %llu)\n", t->name, tpcrt_stored_type_name(t->dtype),
               tpcrt_stored_shape_string(shape, sizeof shape, t),
               (unsigned long long)(t->offset - st->data_start),
               (unsigned long long)(t->offset - st->data_start + t->nbytes));
    }
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        size_t size;
        unsigned char *bytes = slurp(argv[i], &size);
        uint64_t header_len;
        TpcrtSafetensors st;
        char err[TPCRT_ERROR_LEN];
        if (tpcrt_safetensors_header_length(bytes, size, &header_len, err, sizeof err) &&
            tpcrt_safetensors_parse((const char *)bytes + 8, header_len, size, &st, err,
                                    sizeof err)) {
            print_tensors(base_name(argv[i]), &st);
            tpcrt_safetensors_free(&st);
        } else {
            printf("%s: error: %s\n", base_name(argv[i]), err);
        }
        free(bytes);
    }
    return 0;
}
