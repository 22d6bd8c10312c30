/* npy.c — NumPy .npy files: versions 1.0 and 2.0, dtypes '<f4', '<i4' and '<i8', C order.
 *
 * A file is the magic "\x93NUMPY", two version bytes, the header length (2 bytes in 1.0, 4 in
 * 2.0, little-endian), the header — a Python dict literal such as
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 * padded with spaces to a newline — then the data. The dict is parsed strictly: exactly those
 * three keys, each once, the values in the forms NumPy writes. Every length is checked against
 * the bytes there are before any data is touched, and the data must be exactly the size the
 * shape says. '<i8' ids are narrowed to i32, each checked to fit.
 *
 * Uses libc only (the fuzzer builds this file alone). Functions return false with a message.
 * tpcrt_read_at, the positioned read of an exact byte count, serves checkpoint files too.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char npy_magic[6] = "\x93NUMPY";

enum {
    NPY_PREAMBLE_V1 = 10,       /* magic, version, 2-byte header length */
    NPY_PREAMBLE_V2 = 12,       /* magic, version, 4-byte header length */
    NPY_HEADER_LIMIT = 1 << 20, /* bytes of header dict: NumPy itself stops at 10,000 */
    NPY_ALIGN = 64,             /* NumPy pads preamble + header to a multiple of this */
};

/* What a header says. */
typedef struct NpyHeader {
    TpcrtDType dtype; /* as returned: '<i8' is returned as i32 */
    int file_elem;    /* bytes per element in the file */
    int ndim;
    int64_t shape[TPCRT_MAX_DIMS];
    int64_t count;        /* elements */
    uint64_t data_offset; /* where the data starts */
} NpyHeader;

/* ---- preamble -------------------------------------------------------------------------------- */

/* Reads magic, version and header length from the avail bytes at the start of a file of
 * file_size bytes; sets where the header dict starts and its length. */
static bool npy_preamble(const unsigned char *bytes, size_t avail, uint64_t file_size,
                         uint64_t *header_start, uint64_t *header_len, char *err, size_t errlen)
{
    if (avail < NPY_PREAMBLE_V1 || memcmp(bytes, npy_magic, sizeof npy_magic) != 0)
        return tpcrt_error(err, errlen, "expected a .npy file (magic \\x93NUMPY), saw %s",
                           avail < NPY_PREAMBLE_V1 ? "a shorter file" : "other bytes");
    int major = bytes[6], minor = bytes[7];
    if ((major != 1 && major != 2) || minor != 0)
        return tpcrt_error(err, errlen, "expected .npy version 1.0 or 2.0, saw %d.%d", major,
                           minor);
    if (major == 1) {
        *header_start = NPY_PREAMBLE_V1;
        *header_len = (uint64_t)bytes[8] | (uint64_t)bytes[9] << 8;
    } else {
        if (avail < NPY_PREAMBLE_V2)
            return tpcrt_error(err, errlen, "expected a 12-byte version 2.0 preamble, saw a "
                               "%zu-byte file", avail);
        *header_start = NPY_PREAMBLE_V2;
        *header_len = (uint64_t)bytes[8] | (uint64_t)bytes[9] << 8 |
                      (uint64_t)bytes[10] << 16 | (uint64_t)bytes[11] << 24;
    }
    if (*header_len > NPY_HEADER_LIMIT)
        return tpcrt_error(err, errlen, "header length %llu is above the limit (%d bytes)",
                           (unsigned long long)*header_len, NPY_HEADER_LIMIT);
    if (*header_start + *header_len > file_size)
        return tpcrt_error(err, errlen, "header of %llu bytes runs past the end of the file "
                           "(%llu bytes)", (unsigned long long)*header_len,
                           (unsigned long long)file_size);
    return true;
}

/* ---- the header dict ------------------------------------------------------------------------- */

typedef struct Cursor {
    const char *start, *p, *end;
    char *err;
    size_t errlen;
} Cursor;

static void skip_space(Cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n'))
        c->p++;
}

static bool cursor_fail(Cursor *c, const char *expected)
{
    if (c->p >= c->end)
        return tpcrt_error(c->err, c->errlen, "header: expected %s, saw the end of the header",
                           expected);
    return tpcrt_error(c->err, c->errlen, "header: expected %s at byte %d, saw '%c'", expected,
                       (int)(c->p - c->start), *c->p >= ' ' && *c->p < 127 ? *c->p : '?');
}

/* Skips space, then consumes `ch` if it is next. */
static bool accept(Cursor *c, char ch)
{
    skip_space(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

static bool expect(Cursor *c, char ch, const char *what)
{
    return accept(c, ch) || cursor_fail(c, what);
}

/* A quoted string without escapes, into buf. */
static bool parse_string(Cursor *c, char *buf, size_t len)
{
    skip_space(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return cursor_fail(c, "a quoted string");
    char quote = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != quote && *c->p != '\\' && *c->p != '\n' && n + 1 < len)
        buf[n++] = *c->p++;
    buf[n] = '\0';
    if (c->p >= c->end || *c->p != quote)
        return cursor_fail(c, "a short string without escapes, closed by its quote");
    c->p++;
    return true;
}

static bool parse_bool(Cursor *c, bool *value)
{
    skip_space(c);
    size_t left = (size_t)(c->end - c->p);
    if (left >= 4 && memcmp(c->p, "True", 4) == 0) {
        c->p += 4;
        *value = true;
        return true;
    }
    if (left >= 5 && memcmp(c->p, "False", 5) == 0) {
        c->p += 5;
        *value = false;
        return true;
    }
    return cursor_fail(c, "True or False");
}

/* A non-negative integer as Python writes it: no sign, no leading zeros, below 2^63. */
static bool parse_int(Cursor *c, int64_t *value)
{
    skip_space(c);
    if (c->p >= c->end || *c->p < '0' || *c->p > '9')
        return cursor_fail(c, "a dimension (a non-negative integer)");
    if (*c->p == '0' && c->p + 1 < c->end && c->p[1] >= '0' && c->p[1] <= '9')
        return cursor_fail(c, "an integer without leading zeros");
    int64_t v = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        if (tpcrt_mul_overflows(v, 10, &v) || __builtin_add_overflow(v, *c->p - '0', &v))
            return tpcrt_error(c->err, c->errlen, "header: expected a dimension below 2^63 at "
                               "byte %d, saw a larger one", (int)(c->p - c->start));
        c->p++;
    }
    *value = v;
    return true;
}

/* (), (n,), (n, m), (n, m,) ... */
static bool parse_shape(Cursor *c, NpyHeader *h)
{
    if (!expect(c, '(', "'(' opening the shape"))
        return false;
    h->ndim = 0;
    if (accept(c, ')'))
        return true;
    for (;;) {
        if (h->ndim == TPCRT_MAX_DIMS)
            return tpcrt_error(c->err, c->errlen, "header: expected at most %d dimensions, "
                               "saw more", TPCRT_MAX_DIMS);
        if (!parse_int(c, &h->shape[h->ndim++]))
            return false;
        bool comma = accept(c, ',');
        if (accept(c, ')')) {
            if (h->ndim == 1 && !comma)
                return tpcrt_error(c->err, c->errlen, "header: expected a tuple for shape, "
                                   "saw (%lld) (a one-element tuple is written (n,))",
                                   (long long)h->shape[0]);
            return true;
        }
        if (!comma)
            return cursor_fail(c, "',' or ')' in the shape");
    }
}

static bool parse_descr(Cursor *c, NpyHeader *h)
{
    char descr[16], shown[TPCRT_TEXT_LEN];
    if (!parse_string(c, descr, sizeof descr))
        return false;
    h->dtype = strcmp(descr, "<f4") == 0 ? TPCRT_F32 : TPCRT_I32;
    h->file_elem = strcmp(descr, "<i8") == 0 ? 8 : 4;
    if (strcmp(descr, "<f4") != 0 && strcmp(descr, "<i4") != 0 && strcmp(descr, "<i8") != 0)
        return tpcrt_error(c->err, c->errlen, "expected dtype '<f4', '<i4' or '<i8', saw '%s'",
                           tpcrt_escape(descr, shown, sizeof shown));
    return true;
}

enum { KEY_DESCR, KEY_FORTRAN, KEY_SHAPE, NKEYS };
static const char *const key_names[NKEYS] = {"descr", "fortran_order", "shape"};

static bool parse_entry(Cursor *c, NpyHeader *h, bool *seen)
{
    char key[32], shown[TPCRT_TEXT_LEN];
    if (!parse_string(c, key, sizeof key) || !expect(c, ':', "':' after a key"))
        return false;
    int k = 0;
    while (k < NKEYS && strcmp(key, key_names[k]) != 0)
        k++;
    if (k == NKEYS)
        return tpcrt_error(c->err, c->errlen, "header: expected the keys 'descr', "
                           "'fortran_order' and 'shape', saw '%s'",
                           tpcrt_escape(key, shown, sizeof shown));
    if (seen[k])
        return tpcrt_error(c->err, c->errlen, "header: expected '%s' once, saw it twice", key);
    seen[k] = true;

    if (k == KEY_DESCR)
        return parse_descr(c, h);
    if (k == KEY_SHAPE)
        return parse_shape(c, h);
    bool fortran = false;
    if (!parse_bool(c, &fortran))
        return false;
    if (fortran)
        return tpcrt_error(c->err, c->errlen, "expected C order (fortran_order False), saw "
                           "fortran_order True");
    return true;
}

static bool parse_dict(const char *text, size_t len, NpyHeader *h, char *err, size_t errlen)
{
    Cursor c = {text, text, text + len, err, errlen};
    bool seen[NKEYS] = {false};
    if (!expect(&c, '{', "'{' opening the header dict"))
        return false;
    /* Entries separated by commas, a trailing comma allowed (as in Python). */
    bool closed = accept(&c, '}');
    while (!closed) {
        if (!parse_entry(&c, h, seen))
            return false;
        if (accept(&c, ','))
            closed = accept(&c, '}');
        else if (expect(&c, '}', "',' or '}' after a value"))
            closed = true;
        else
            return false;
    }
    skip_space(&c);
    if (c.p != c.end)
        return cursor_fail(&c, "only spaces and a newline after the dict");
    for (int k = 0; k < NKEYS; k++)
        if (!seen[k])
            return tpcrt_error(err, errlen, "header: expected the key '%s', saw none",
                               key_names[k]);
    return true;
}

/* ---- the data -------------------------------------------------------------------------------- */

/* Element count and data offset, checked: the data must be exactly what the shape says. */
static bool npy_layout(NpyHeader *h, uint64_t data_offset, uint64_t file_size, char *err,
                       size_t errlen)
{
    int64_t count = 1, bytes;
    for (int d = 0; d < h->ndim; d++)
        if (tpcrt_mul_overflows(count, h->shape[d], &count))
            return tpcrt_error(err, errlen, "shape: expected fewer than 2^63 elements, saw more");
    if (tpcrt_mul_overflows(count, h->file_elem, &bytes) || (uint64_t)bytes > SIZE_MAX / 2)
        return tpcrt_error(err, errlen, "shape: %lld elements are too many bytes",
                           (long long)count);
    if (file_size - data_offset != (uint64_t)bytes)
        return tpcrt_error(err, errlen, "expected %lld bytes of data for the shape, saw %llu",
                           (long long)bytes, (unsigned long long)(file_size - data_offset));
    h->count = count;
    h->data_offset = data_offset;
    return true;
}

/* In place: 64-bit ids at the start of data become 32-bit ids, each checked to fit. */
static bool narrow_ids(void *data, int64_t count, char *err, size_t errlen)
{
    for (int64_t i = 0; i < count; i++) {
        int64_t v;
        memcpy(&v, (char *)data + 8 * i, 8);
        if (v < INT32_MIN || v > INT32_MAX)
            return tpcrt_error(err, errlen, "expected '<i8' values that fit in 32 bits, saw "
                               "%lld at index %lld", (long long)v, (long long)i);
        int32_t narrow = (int32_t)v;
        memcpy((char *)data + 4 * i, &narrow, 4); /* never ahead of the next read */
    }
    return true;
}

static void *alloc_data(const NpyHeader *h)
{
    return malloc(h->count ? (size_t)h->count * (size_t)h->file_elem : 1);
}

static void fill_array(TpcrtArray *out, const NpyHeader *h, void *data)
{
    out->dtype = h->dtype;
    out->ndim = h->ndim;
    memcpy(out->shape, h->shape, sizeof out->shape);
    out->data = data;
}

static bool npy_header(const unsigned char *bytes, size_t avail, uint64_t file_size,
                       NpyHeader *h, char *err, size_t errlen)
{
    uint64_t start, len;
    *h = (NpyHeader){0};
    return npy_preamble(bytes, avail, file_size, &start, &len, err, errlen) &&
           parse_dict((const char *)bytes + start, len, h, err, errlen) &&
           npy_layout(h, start + len, file_size, err, errlen);
}

bool tpcrt_npy_parse(const void *bytes, size_t size, TpcrtArray *out, char *err, size_t errlen)
{
    NpyHeader h;
    if (!npy_header(bytes, size, size, &h, err, errlen))
        return false;
    void *data = alloc_data(&h);
    if (!data)
        return tpcrt_error(err, errlen, "out of memory for %lld elements", (long long)h.count);
    memcpy(data, (const char *)bytes + h.data_offset, (size_t)h.count * (size_t)h.file_elem);
    if (h.file_elem == 8 && !narrow_ids(data, h.count, err, errlen)) {
        free(data);
        return false;
    }
    fill_array(out, &h, data);
    return true;
}

/* ---- files ----------------------------------------------------------------------------------- */

const char *tpcrt_file_kind(unsigned mode)
{
    return S_ISDIR(mode)  ? "a directory"
         : S_ISFIFO(mode) ? "a FIFO"
         : S_ISCHR(mode)  ? "a character device"
         : S_ISBLK(mode)  ? "a block device"
         : S_ISSOCK(mode) ? "a socket"
                          : "not a regular file";
}

/* O_NONBLOCK makes open() return at once on a FIFO (which would otherwise wait for a writer, or
 * a reader, forever); once fstat has said the file is regular, the flag is cleared again. A FIFO
 * opened for writing without a reader fails with ENXIO before fstat can look at it: stat says
 * what it is then. */
int tpcrt_open_regular(const char *path, int flags, char *err, size_t errlen)
{
    struct stat st;
    int fd = open(path, flags | O_NONBLOCK | O_CLOEXEC, 0666);
    bool refused = fd < 0 && errno == ENXIO && stat(path, &st) == 0 && !S_ISREG(st.st_mode);
    if (fd < 0 && !refused) {
        snprintf(err, errlen, "%s: %s", flags & O_CREAT ? "cannot create" : "cannot open",
                 strerror(errno));
        return -1;
    }
    if (fd >= 0 && fstat(fd, &st) == 0 && !S_ISREG(st.st_mode))
        refused = true;
    if (refused) {
        snprintf(err, errlen, "expected a regular file, saw %s", tpcrt_file_kind(st.st_mode));
    } else {
        int status = fcntl(fd, F_GETFL);
        if (status >= 0 && fcntl(fd, F_SETFL, status & ~O_NONBLOCK) == 0)
            return fd;
        snprintf(err, errlen, "cannot open: %s", strerror(errno));
    }
    if (fd >= 0)
        close(fd);
    return -1;
}

bool tpcrt_read_at(int fd, void *buf, size_t n, uint64_t offset, char *err, size_t errlen)
{
    for (size_t done = 0; done < n;) {
        ssize_t got = pread(fd, (char *)buf + done, n - done, (off_t)(offset + done));
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return tpcrt_error(err, errlen, "cannot read %zu bytes at offset %llu: %s", n,
                               (unsigned long long)offset, strerror(errno));
        if (got == 0)
            return tpcrt_error(err, errlen, "expected %zu bytes at offset %llu, saw the end of "
                               "the file (did it shrink?)", n, (unsigned long long)offset);
        done += (size_t)got;
    }
    return true;
}

/* The header of an open .npy file of `size` bytes: the preamble first, which says how long the
 * header is, then preamble and header together. */
static bool read_header(int fd, uint64_t size, NpyHeader *h, char *err, size_t errlen)
{
    unsigned char preamble[NPY_PREAMBLE_V2];
    size_t avail = size < sizeof preamble ? (size_t)size : sizeof preamble;
    uint64_t start, len;
    if (!tpcrt_read_at(fd, preamble, avail, 0, err, errlen) ||
        !npy_preamble(preamble, avail, size, &start, &len, err, errlen))
        return false;
    unsigned char *head = malloc(start + len);
    if (!head)
        return tpcrt_error(err, errlen, "out of memory for a %llu-byte header",
                           (unsigned long long)len);
    bool ok = tpcrt_read_at(fd, head, start + len, 0, err, errlen) &&
              npy_header(head, start + len, size, h, err, errlen);
    free(head);
    return ok;
}

/* The data h describes, as returned: '<i8' ids narrowed. */
static bool read_data(int fd, const NpyHeader *h, void **data, char *err, size_t errlen)
{
    *data = alloc_data(h);
    if (!*data)
        return tpcrt_error(err, errlen, "out of memory for %lld elements", (long long)h->count);
    size_t bytes = (size_t)h->count * (size_t)h->file_elem;
    if (tpcrt_read_at(fd, *data, bytes, h->data_offset, err, errlen) &&
        (h->file_elem != 8 || narrow_ids(*data, h->count, err, errlen)))
        return true;
    free(*data);
    return false;
}

static bool read_fd(int fd, TpcrtArray *out, char *err, size_t errlen)
{
    struct stat st;
    NpyHeader h;
    void *data;
    if (fstat(fd, &st) != 0)
        return tpcrt_error(err, errlen, "cannot stat: %s", strerror(errno));
    if (!read_header(fd, (uint64_t)st.st_size, &h, err, errlen) ||
        !read_data(fd, &h, &data, err, errlen))
        return false;
    fill_array(out, &h, data);
    return true;
}

bool tpcrt_npy_read(const char *path, TpcrtArray *out, char *err, size_t errlen)
{
    char why[TPCRT_ERROR_LEN];
    int fd = tpcrt_open_regular(path, O_RDONLY, why, sizeof why);
    bool ok = fd >= 0 && read_fd(fd, out, why, sizeof why);
    if (fd >= 0)
        close(fd);
    char shown[TPCRT_PATH_LEN];
    if (!ok)
        return tpcrt_error(err, errlen, "%s: %s", tpcrt_escape(path, shown, sizeof shown), why);
    return true;
}

/* The dict and its padding: preamble + header is a multiple of NPY_ALIGN, ending in '\n'. */
static size_t format_header(const TpcrtArray *array, char *buf, size_t len, size_t preamble)
{
    size_t n = (size_t)snprintf(buf, len, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                                array->dtype == TPCRT_I32 ? "<i4" : "<f4");
    for (int d = 0; d < array->ndim; d++)
        n += (size_t)snprintf(buf + n, len - n, "%s%lld", d ? ", " : "",
                              (long long)array->shape[d]);
    n += (size_t)snprintf(buf + n, len - n, "%s), }", array->ndim == 1 ? "," : "");
    while ((preamble + n + 1) % NPY_ALIGN != 0)
        buf[n++] = ' ';
    buf[n++] = '\n';
    return n;
}

static bool check_array(const TpcrtArray *array, int64_t *bytes, char *err, size_t errlen)
{
    if (array->ndim < 0 || array->ndim > TPCRT_MAX_DIMS)
        return tpcrt_error(err, errlen, "expected at most %d dimensions, saw %d", TPCRT_MAX_DIMS,
                           array->ndim);
    int64_t count = 1;
    for (int d = 0; d < array->ndim; d++)
        if (array->shape[d] < 0 || tpcrt_mul_overflows(count, array->shape[d], &count))
            return tpcrt_error(err, errlen, "dimension %d: expected a size, saw %lld", d,
                               (long long)array->shape[d]);
    if (tpcrt_mul_overflows(count, 4, bytes))
        return tpcrt_error(err, errlen, "%lld elements are too many bytes", (long long)count);
    return true;
}

bool tpcrt_npy_write(const char *path, const TpcrtArray *array, char *err, size_t errlen)
{
    int64_t bytes;
    if (!check_array(array, &bytes, err, errlen))
        return false;
    char header[TPCRT_MAX_DIMS * 24 + 2 * NPY_ALIGN + 64];
    size_t len = format_header(array, header, sizeof header, NPY_PREAMBLE_V1);
    unsigned char preamble[NPY_PREAMBLE_V1];
    memcpy(preamble, npy_magic, sizeof npy_magic);
    preamble[6] = 1; /* version 1.0: the header is always short */
    preamble[7] = 0;
    preamble[8] = (unsigned char)(len & 0xff);
    preamble[9] = (unsigned char)(len >> 8);

    /* No O_TRUNC: a file that turns out not to be regular is left as it was. */
    char why[TPCRT_ERROR_LEN], shown[TPCRT_PATH_LEN];
    int fd = tpcrt_open_regular(path, O_WRONLY | O_CREAT, why, sizeof why);
    if (fd < 0)
        return tpcrt_error(err, errlen, "%s: %s", tpcrt_escape(path, shown, sizeof shown), why);
    FILE *f = ftruncate(fd, 0) == 0 ? fdopen(fd, "wb") : NULL;
    if (!f) {
        int saved = errno;
        close(fd);
        return tpcrt_error(err, errlen, "%s: cannot create: %s",
                           tpcrt_escape(path, shown, sizeof shown), strerror(saved));
    }
    bool ok = fwrite(preamble, 1, sizeof preamble, f) == sizeof preamble &&
              fwrite(header, 1, len, f) == len &&
              fwrite(array->data, 1, (size_t)bytes, f) == (size_t)bytes;
    int saved = errno;
    if (fclose(f) != 0 && ok) {
        ok = false;
        saved = errno;
    }
    if (!ok)
        return tpcrt_error(err, errlen, "%s: cannot write: %s",
                           tpcrt_escape(path, shown, sizeof shown), strerror(saved));
    return true;
}
