/* safetensors.c — the safetensors header: its length, its JSON, validated.
 *
 * A file is an 8-byte little-endian header length N, N bytes of JSON, then the data section.
 * The JSON maps each tensor's name to {"dtype", "shape", "data_offsets": [begin, end]}, offsets
 * counted from the start of the data section, beside an optional "__metadata__" object of
 * strings. jansson keeps integers as 64-bit integers (JSON_DECODE_INT_AS_REAL is not set), so
 * offsets past 2^53 are exact. Before any data is read every tensor is checked: a known dtype, a
 * shape of non-negative sizes whose byte size (overflow-checked) is the length of its offsets,
 * offsets inside the data section, and no byte shared by two tensors. Other keys in a tensor's
 * entry are ignored, as the reference reader ignores them.
 *
 * Uses libc and jansson only (the fuzzer builds this file alone). Messages say "TENSOR: what was
 * expected, what was seen"; the caller puts the file name in front.
 */
#include "internal.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    int size;
} stored_types[TPCRT_STORED_COUNT] = {
    [TPCRT_STORED_F32] = {"F32", 4},          [TPCRT_STORED_F16] = {"F16", 2},
    [TPCRT_STORED_BF16] = {"BF16", 2},        [TPCRT_STORED_F64] = {"F64", 8},
    [TPCRT_STORED_I64] = {"I64", 8},          [TPCRT_STORED_U64] = {"U64", 8},
    [TPCRT_STORED_I32] = {"I32", 4},          [TPCRT_STORED_U32] = {"U32", 4},
    [TPCRT_STORED_I16] = {"I16", 2},          [TPCRT_STORED_U16] = {"U16", 2},
    [TPCRT_STORED_I8] = {"I8", 1},            [TPCRT_STORED_U8] = {"U8", 1},
    [TPCRT_STORED_BOOL] = {"BOOL", 1},        [TPCRT_STORED_F8_E4M3] = {"F8_E4M3", 1},
    [TPCRT_STORED_F8_E5M2] = {"F8_E5M2", 1},  [TPCRT_STORED_F8_E8M0] = {"F8_E8M0", 1},
};

const char *tpcrt_stored_type_name(TpcrtStoredType type)
{
    return stored_types[type].name;
}

int tpcrt_stored_type_size(TpcrtStoredType type)
{
    return stored_types[type].size;
}

bool tpcrt_stored_type_readable(TpcrtStoredType type)
{
    return type == TPCRT_STORED_F32 || type == TPCRT_STORED_F16 || type == TPCRT_STORED_BF16;
}

const char *tpcrt_stored_shape_string(char *buf, size_t len, const TpcrtTensorInfo *t)
{
    if (t->ndim <= TPCRT_MAX_DIMS)
        return tpcrt_shape_string(buf, len, t->ndim, t->shape);
    char head[TPCRT_SHAPE_LEN];
    tpcrt_shape_string(head, sizeof head, TPCRT_MAX_DIMS, t->shape);
    snprintf(buf, len, "%.*s, ...] (%d dimensions)", (int)strlen(head) - 1, head, t->ndim);
    return buf;
}

static bool stored_type_find(const char *name, TpcrtStoredType *type)
{
    for (int t = 0; t < TPCRT_STORED_COUNT; t++)
        if (strcmp(stored_types[t].name, name) == 0) {
            *type = (TpcrtStoredType)t;
            return true;
        }
    return false;
}

bool tpcrt_safetensors_header_length(const unsigned char *prefix, uint64_t file_size,
                                     uint64_t *header_len, char *err, size_t errlen)
{
    if (file_size < 8)
        return tpcrt_error(err, errlen, "expected at least 8 bytes (the header length), saw a "
                           "%llu-byte file", (unsigned long long)file_size);
    uint64_t len;
    memcpy(&len, prefix, 8);
    if (len > TPCRT_HEADER_LIMIT)
        return tpcrt_error(err, errlen, "expected a header length below %d bytes, saw %llu "
                           "(not a safetensors file?)", TPCRT_HEADER_LIMIT,
                           (unsigned long long)len);
    if (len > file_size - 8)
        return tpcrt_error(err, errlen, "header length %llu runs past the end of the file "
                           "(%llu bytes)", (unsigned long long)len,
                           (unsigned long long)file_size);
    *header_len = len;
    return true;
}

/* ---- one tensor's entry ---------------------------------------------------------------------- */

const char *tpcrt_json_text(const void *value, char *buf, size_t len)
{
    const json_t *v = value;
    /* ASCII only: every control character, and anything else not ASCII, comes out as \uXXXX,
     * and cutting the text short cannot split a character. */
    char *text = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_ENSURE_ASCII) : NULL;
    if (!text)
        return v ? "a JSON value" : "none";
    if (snprintf(buf, len, "%s", text) >= (int)len && len > 4)
        strcpy(buf + len - 4, "...");
    free(text);
    return buf;
}

enum { SEEN_LEN = 64 };

static bool parse_dtype(const char *name, const json_t *v, TpcrtTensorInfo *t, char *err,
                        size_t errlen)
{
    char seen[SEEN_LEN], shown[TPCRT_TEXT_LEN];
    if (!json_is_string(v))
        return tpcrt_error(err, errlen, "%s: expected \"dtype\": a string, saw %s", name,
                           tpcrt_json_text(v, seen, sizeof seen));
    if (!stored_type_find(json_string_value(v), &t->dtype))
        return tpcrt_error(err, errlen, "%s: expected a safetensors dtype (F32, F16, BF16, ...), "
                           "saw '%s'", name, tpcrt_escape(json_string_value(v), shown,
                                                          sizeof shown));
    return true;
}

/* Sets t->ndim and t->shape; *count is the product of every dimension. */
static bool parse_shape(const char *name, const json_t *v, TpcrtTensorInfo *t, int64_t *count,
                        char *err, size_t errlen)
{
    char seen[SEEN_LEN];
    if (!json_is_array(v))
        return tpcrt_error(err, errlen, "%s: expected \"shape\": an array, saw %s", name,
                           tpcrt_json_text(v, seen, sizeof seen));
    *count = 1;
    t->ndim = (int)json_array_size(v);
    for (size_t d = 0; d < json_array_size(v); d++) {
        const json_t *size = json_array_get(v, d);
        if (!json_is_integer(size) || json_integer_value(size) < 0)
            return tpcrt_error(err, errlen, "%s: expected shape sizes that are non-negative "
                               "integers, saw %s at dimension %zu", name,
                               tpcrt_json_text(size, seen, sizeof seen), d);
        int64_t n = json_integer_value(size);
        if (d < TPCRT_MAX_DIMS)
            t->shape[d] = n;
        if (tpcrt_mul_overflows(*count, n, count))
            return tpcrt_error(err, errlen, "%s: expected a shape of fewer than 2^63 elements, "
                               "saw more", name);
    }
    return true;
}

/* [begin, end) inside the data section, holding exactly count elements of t's dtype. */
static bool parse_offsets(const char *name, const json_t *v, int64_t count, uint64_t data_start,
                          uint64_t data_size, TpcrtTensorInfo *t, char *err, size_t errlen)
{
    const json_t *b = json_array_get(v, 0), *e = json_array_get(v, 1);
    char seen[SEEN_LEN];
    if (!json_is_array(v) || json_array_size(v) != 2 || !json_is_integer(b) ||
        !json_is_integer(e) || json_integer_value(b) < 0 || json_integer_value(e) < 0)
        return tpcrt_error(err, errlen, "%s: expected \"data_offsets\": [begin, end], two "
                           "non-negative integers, saw %s", name,
                           tpcrt_json_text(v, seen, sizeof seen));
    uint64_t begin = (uint64_t)json_integer_value(b), end = (uint64_t)json_integer_value(e);
    if (begin > end || end > data_size)
        return tpcrt_error(err, errlen, "%s: expected data_offsets inside the data section "
                           "[0, %llu), saw [%llu, %llu)", name, (unsigned long long)data_size,
                           (unsigned long long)begin, (unsigned long long)end);
    int64_t bytes;
    char shape[TPCRT_SHAPE_LEN];
    if (tpcrt_mul_overflows(count, tpcrt_stored_type_size(t->dtype), &bytes))
        return tpcrt_error(err, errlen, "%s: expected a shape of fewer than 2^63 bytes, saw "
                           "more", name);
    if ((uint64_t)bytes != end - begin)
        return tpcrt_error(err, errlen, "%s: expected %lld bytes for %s %s, data_offsets "
                           "[%llu, %llu) hold %llu", name, (long long)bytes,
                           tpcrt_stored_type_name(t->dtype),
                           tpcrt_stored_shape_string(shape, sizeof shape, t),
                           (unsigned long long)begin, (unsigned long long)end,
                           (unsigned long long)(end - begin));
    t->offset = data_start + begin;
    t->nbytes = end - begin;
    return true;
}

/* The messages below name the tensor by `shown`, its name escaped: a header is anybody's. */
static bool parse_tensor(const char *name, const json_t *entry, uint64_t data_start,
                         uint64_t data_size, TpcrtTensorInfo *t, char *err, size_t errlen)
{
    char seen[SEEN_LEN], shown[TPCRT_TEXT_LEN];
    tpcrt_escape(name, shown, sizeof shown);
    if (!json_is_object(entry))
        return tpcrt_error(err, errlen, "%s: expected an object with dtype, shape and "
                           "data_offsets, saw %s", shown,
                           tpcrt_json_text(entry, seen, sizeof seen));
    t->name = name;
    int64_t count;
    return parse_dtype(shown, json_object_get(entry, "dtype"), t, err, errlen) &&
           parse_shape(shown, json_object_get(entry, "shape"), t, &count, err, errlen) &&
           parse_offsets(shown, json_object_get(entry, "data_offsets"), count, data_start,
                         data_size, t, err, errlen);
}

static bool check_metadata(const json_t *meta, char *err, size_t errlen)
{
    const char *key;
    const json_t *value;
    char seen[SEEN_LEN];
    if (!json_is_object(meta))
        return tpcrt_error(err, errlen, "__metadata__: expected an object of strings, saw %s",
                           tpcrt_json_text(meta, seen, sizeof seen));
    char shown[TPCRT_TEXT_LEN];
    json_object_foreach((json_t *)meta, key, value)
        if (!json_is_string(value))
            return tpcrt_error(err, errlen, "__metadata__: %s: expected a string, saw %s",
                               tpcrt_escape(key, shown, sizeof shown),
                               tpcrt_json_text(value, seen, sizeof seen));
    return true;
}

/* ---- the whole header ------------------------------------------------------------------------ */

static int by_offset(const void *a, const void *b)
{
    const TpcrtTensorInfo *x = a, *y = b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const TpcrtTensorInfo *)a)->name, ((const TpcrtTensorInfo *)b)->name);
}

/* Sorts by offset, then checks that no byte belongs to two tensors. */
static bool check_overlaps(TpcrtSafetensors *st, char *err, size_t errlen)
{
    qsort(st->tensors, (size_t)st->ntensors, sizeof *st->tensors, by_offset);
    const TpcrtTensorInfo *reach = NULL; /* the tensor that ends furthest so far */
    for (int i = 0; i < st->ntensors; i++) {
        const TpcrtTensorInfo *t = &st->tensors[i];
        if (t->nbytes == 0)
            continue;
        char shown[TPCRT_TEXT_LEN], shown_reach[TPCRT_TEXT_LEN];
        if (reach && t->offset < reach->offset + reach->nbytes)
            return tpcrt_error(err, errlen, "%s: expected data apart from every other tensor's, "
                               "saw bytes [%llu, %llu) shared with '%s'",
                               tpcrt_escape(t->name, shown, sizeof shown),
                               (unsigned long long)(t->offset - st->data_start),
                               (unsigned long long)(reach->offset + reach->nbytes -
                                                    st->data_start),
                               tpcrt_escape(reach->name, shown_reach, sizeof shown_reach));
        if (!reach || t->offset + t->nbytes > reach->offset + reach->nbytes)
            reach = t;
    }
    return true;
}

static bool parse_entries(const json_t *root, TpcrtSafetensors *st, char *err, size_t errlen)
{
    const char *key;
    const json_t *value;
    uint64_t data_size = st->file_size - st->data_start;
    json_object_foreach((json_t *)root, key, value) {
        if (strcmp(key, "__metadata__") == 0) {
            if (!check_metadata(value, err, errlen))
                return false;
            continue;
        }
        if (!parse_tensor(key, value, st->data_start, data_size, &st->tensors[st->ntensors++],
                          err, errlen))
            return false;
    }
    return true;
}

bool tpcrt_safetensors_parse(const char *header, uint64_t header_len, uint64_t file_size,
                             TpcrtSafetensors *st, char *err, size_t errlen)
{
    *st = (TpcrtSafetensors){.file_size = file_size, .data_start = 8 + header_len};
    json_error_t jerr;
    json_t *root = json_loadb(header, header_len, JSON_REJECT_DUPLICATES, &jerr);
    char shown[TPCRT_TEXT_LEN]; /* jansson's text quotes the header near the error */
    if (!root)
        return tpcrt_error(err, errlen, "header: expected JSON, saw an error at byte %d: %s",
                           jerr.position, tpcrt_escape_text(jerr.text, false, shown,
                                                            sizeof shown));
    st->json = root;
    if (!json_is_object(root)) {
        char seen[SEEN_LEN];
        snprintf(err, errlen, "header: expected a JSON object, saw %s",
                 tpcrt_json_text(root, seen, sizeof seen));
        tpcrt_safetensors_free(st);
        return false;
    }
    st->tensors = calloc(json_object_size(root) + 1, sizeof *st->tensors);
    bool ok = st->tensors ? parse_entries(root, st, err, errlen) && check_overlaps(st, err, errlen)
                          : tpcrt_error(err, errlen, "header: out of memory");
    if (!ok) {
        tpcrt_safetensors_free(st);
        return false;
    }
    qsort(st->tensors, (size_t)st->ntensors, sizeof *st->tensors, by_name);
    return true;
}

const TpcrtTensorInfo *tpcrt_safetensors_find(const TpcrtSafetensors *st, const char *name)
{
    TpcrtTensorInfo key = {.name = name};
    return bsearch(&key, st->tensors, (size_t)st->ntensors, sizeof key, by_name);
}

void tpcrt_safetensors_free(TpcrtSafetensors *st)
{
    free(st->tensors);
    json_decref(st->json);
    *st = (TpcrtSafetensors){0};
}
