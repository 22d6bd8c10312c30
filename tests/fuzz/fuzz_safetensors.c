/* fuzz_safetensors — libFuzzer harness for the safetensors reader; the input is a whole file.
 * Its header length and JSON header are validated; then each readable tensor (the first few) is
 * read whole and as a slice cut by bytes of the input, from memory, into buffers of exactly the
 * right size. AddressSanitizer sees a read outside the input or a write outside a buffer, and a
 * read the header check should have refused aborts. Always built with clang-14's sanitizers, so
 * the lit run is the same in both builds: it runs in the release one only.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

enum { MAX_TENSORS = 8, MAX_ELEMENTS = 1 << 20 };

typedef struct Memory {
    const uint8_t *data;
    size_t size;
} Memory;

static bool memory_read(void *ctx, uint64_t offset, void *buf, size_t n, char *err, size_t errlen)
{
    const Memory *m = ctx;
    if (offset > m->size || n > m->size - offset)
        abort(); /* the header check let a range outside the file through */
    memcpy(buf, m->data + offset, n);
    return true;
}

/* A small deterministic generator for cutting slices (splitmix64). */
static uint64_t next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Up to three ranges per dimension, possibly empty, overlapping or out of order. */
static void cut_slice(const TpcrtTensorInfo *t, uint64_t *state, TpcrtDimSlice *slice,
                      TpcrtRange (*ranges)[3])
{
    for (int d = 0; d < t->ndim; d++) {
        slice[d] = (TpcrtDimSlice){(int)(next(state) % 4), ranges[d]};
        for (int i = 0; i < slice[d].nranges; i++) {
            int64_t size = t->shape[d] + 1;
            int64_t a = (int64_t)(next(state) % (uint64_t)size);
            int64_t b = a + (int64_t)(next(state) % (uint64_t)(size - a));
            ranges[d][i] = (TpcrtRange){a, b};
        }
    }
}

static void read_slice(TpcrtReader *reader, const TpcrtTensorInfo *t, const TpcrtDimSlice *slice)
{
    int64_t local[TPCRT_MAX_DIMS], strides[TPCRT_MAX_DIMS], count = 1;
    char err[TPCRT_ERROR_LEN];
    if (!tpcrt_slice_check(t->ndim, t->shape, slice, local, err, sizeof err))
        return;
    for (int d = t->ndim - 1; d >= 0; d--) {
        strides[d] = count;
        count *= local[d];
    }
    if (count > MAX_ELEMENTS)
        return;
    float *dst = malloc((size_t)count * sizeof *dst + 1);
    tpcrt_slice_read(reader, t, slice, dst, strides, err, sizeof err);
    free(dst);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t header_len;
    TpcrtSafetensors st;
    char err[TPCRT_ERROR_LEN];
    if (!tpcrt_safetensors_header_length(data, size, &header_len, err, sizeof err) ||
        !tpcrt_safetensors_parse((const char *)data + 8, header_len, size, &st, err, sizeof err))
        return 0;
    Memory memory = {data, size};
    TpcrtReader reader = {memory_read, &memory, NULL, 0};
    uint64_t state = size;
    for (int i = 0; i < st.ntensors && i < MAX_TENSORS; i++) {
        const TpcrtTensorInfo *t = &st.tensors[i];
        if (!tpcrt_stored_type_readable(t->dtype) || t->ndim > TPCRT_MAX_DIMS)
            continue;
        TpcrtDimSlice slice[TPCRT_MAX_DIMS];
        TpcrtRange ranges[TPCRT_MAX_DIMS][3];
        read_slice(&reader, t, NULL);
        cut_slice(t, &state, slice, ranges);
        read_slice(&reader, t, slice);
    }
    tpcrt_reader_free(&reader);
    tpcrt_safetensors_free(&st);
    return 0;
}
