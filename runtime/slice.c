/* slice.c — reading a rank's slice of a tensor: which bytes, in which order, into where.
 *
 * A slice is, per dimension, a list of ranges laid side by side. Let p be the innermost
 * dimension that is not whole. Everything inside p is read whole, so each range of p, at each
 * index of the dimensions outside p, is a run of consecutive elements in the file: a block.
 * Ranges of p that touch are merged first. A row split of [rows, cols] is one block (one read);
 * a column split is a block per row.
 *
 * A block lands in dst as rows of cols elements, each row at its own offset (dst_strides say
 * where), walked in file order. The destination is f32 (tpcrt_slice_read) or bf16
 * (tpcrt_slice_read_bf16). Data already of the destination's type whose block is contiguous in
 * dst is read straight into it; anything else goes through the reader's staging buffer, a few
 * rows at a time, and is converted on the way.
 *
 * Uses libc only (the fuzzer builds this file alone). Reads go through the reader's callback:
 * pread on a checkpoint file, memcpy from the input in the fuzzer.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- dtypes ---------------------------------------------------------------------------------- */

static float float_from_bits(uint32_t bits)
{
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

float tpcrt_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
    if (exponent == 0x1f) /* inf and nan, the payload kept */
        return float_from_bits(sign | 0x7f800000 | mantissa << 13);
    if (exponent != 0) /* normal: the exponent rebiased from 15 to 127 */
        return float_from_bits(sign | (exponent + 112) << 23 | mantissa << 13);
    float magnitude = (float)mantissa * 0x1p-24f; /* zero and subnormal: exact in f32 */
    return sign ? -magnitude : magnitude;
}

float tpcrt_bf16_to_f32(uint16_t bits)
{
    return float_from_bits((uint32_t)bits << 16);
}

/* n elements of `type` at src into the f32 dst[0], dst[stride], ... */
static void convert(TpcrtStoredType type, const unsigned char *src, int64_t n, float *dst,
                    int64_t stride)
{
    uint16_t half;
    if (type == TPCRT_STORED_F32 && stride == 1) {
        memcpy(dst, src, (size_t)n * sizeof *dst);
    } else if (type == TPCRT_STORED_F32) {
        for (int64_t i = 0; i < n; i++)
            memcpy(&dst[i * stride], src + 4 * i, sizeof *dst);
    } else if (type == TPCRT_STORED_F16) {
        for (int64_t i = 0; i < n; i++) {
            memcpy(&half, src + 2 * i, sizeof half);
            dst[i * stride] = tpcrt_f16_to_f32(half);
        }
    } else {
        for (int64_t i = 0; i < n; i++) {
            memcpy(&half, src + 2 * i, sizeof half);
            dst[i * stride] = tpcrt_bf16_to_f32(half);
        }
    }
}

/* The same into a bf16 dst: BF16 copied, F32 rounded, F16 through f32 and rounded. */
static void convert_bf16(TpcrtStoredType type, const unsigned char *src, int64_t n,
                         uint16_t *dst, int64_t stride)
{
    uint16_t half;
    float f;
    if (type == TPCRT_STORED_BF16 && stride == 1) {
        memcpy(dst, src, (size_t)n * sizeof *dst);
    } else if (type == TPCRT_STORED_BF16) {
        for (int64_t i = 0; i < n; i++)
            memcpy(&dst[i * stride], src + 2 * i, sizeof *dst);
    } else if (type == TPCRT_STORED_F16) {
        for (int64_t i = 0; i < n; i++) {
            memcpy(&half, src + 2 * i, sizeof half);
            dst[i * stride] = tpcrt_f32_to_bf16(tpcrt_f16_to_f32(half));
        }
    } else {
        for (int64_t i = 0; i < n; i++) {
            memcpy(&f, src + 4 * i, sizeof f);
            dst[i * stride] = tpcrt_f32_to_bf16(f);
        }
    }
}

/* ---- geometry -------------------------------------------------------------------------------- */

static int range_count(const TpcrtDimSlice *s)
{
    return s->nranges ? s->nranges : 1;
}

static TpcrtRange range_at(const TpcrtDimSlice *s, int64_t size, int i)
{
    return s->nranges ? s->ranges[i] : (TpcrtRange){0, size};
}

/* The ranges, empty ones skipped, make [0, size) in order. */
static bool dim_whole(const TpcrtDimSlice *s, int64_t size)
{
    int64_t next = 0;
    for (int i = 0; i < range_count(s); i++) {
        TpcrtRange r = range_at(s, size, i);
        if (r.start == r.end)
            continue;
        if (r.start != next)
            return false;
        next = r.end;
    }
    return next == size;
}

bool tpcrt_slice_check(int ndim, const int64_t *shape, const TpcrtDimSlice *slice,
                       int64_t *local, char *err, size_t errlen)
{
    for (int d = 0; d < ndim; d++) {
        const TpcrtDimSlice *s = slice ? &slice[d] : &(TpcrtDimSlice){0};
        if (s->nranges < 0 || (s->nranges > 0 && !s->ranges))
            return tpcrt_error(err, errlen, "dimension %d: expected a list of ranges, saw %d "
                               "ranges", d, s->nranges);
        local[d] = 0;
        for (int i = 0; i < range_count(s); i++) {
            TpcrtRange r = range_at(s, shape[d], i);
            if (r.start < 0 || r.start > r.end || r.end > shape[d])
                return tpcrt_error(err, errlen, "dimension %d: expected ranges inside [0, %lld), "
                                   "saw [%lld, %lld)", d, (long long)shape[d],
                                   (long long)r.start, (long long)r.end);
            if (__builtin_add_overflow(local[d], r.end - r.start, &local[d]))
                return tpcrt_error(err, errlen, "dimension %d: ranges too long", d);
        }
    }
    int64_t count = 1;
    for (int d = 0; d < ndim; d++)
        if (tpcrt_mul_overflows(count, local[d], &count))
            return tpcrt_error(err, errlen, "the slice has more than 2^63 elements");
    return true;
}

/* What every block of one slice shares. */
typedef struct Geometry {
    int ndim;
    const int64_t *shape;
    const TpcrtDimSlice *slice; /* never NULL: whole dimensions have nranges == 0 */
    const int64_t *dst_strides;
    int64_t file_stride[TPCRT_MAX_DIMS];
    int p; /* the innermost dimension that is not whole; 0 if all are */
} Geometry;

/* The block of merged range [start, end) of dimension p, which starts at local index `local`,
 * at the outer index whose first element and dst offset are given. */
static TpcrtBlock block_make(const Geometry *g, int64_t outer_first, int64_t outer_dst,
                             TpcrtRange r, int64_t local)
{
    int p = g->p, last = g->ndim - 1;
    TpcrtBlock b = {
        .first = outer_first + r.start * g->file_stride[p],
        .dst_base = outer_dst + local * g->dst_strides[p],
        .rows = 1,
        .cols = p == last ? r.end - r.start : g->shape[last],
        .dst_stride = g->dst_strides[last],
    };
    for (int d = p; d < last; d++) {
        b.extent[b.nouter] = d == p ? r.end - r.start : g->shape[d];
        b.stride[b.nouter] = g->dst_strides[d];
        b.rows *= b.extent[b.nouter++];
    }
    /* Contiguous in dst: every stride is the size of what is inside it. */
    int64_t inside = b.cols;
    b.dst_contiguous = b.cols <= 1 || b.dst_stride == 1;
    for (int j = b.nouter - 1; j >= 0 && b.dst_contiguous; j--) {
        b.dst_contiguous = b.extent[j] <= 1 || b.stride[j] == inside;
        inside *= b.extent[j];
    }
    return b;
}

/* Visits the blocks of dimension p at one outer index, merging ranges that touch. */
static bool visit_inner(const Geometry *g, int64_t outer_first, int64_t outer_dst,
                        TpcrtBlockVisit visit, void *ctx)
{
    const TpcrtDimSlice *s = &g->slice[g->p];
    int64_t size = g->shape[g->p], local = 0;
    for (int i = 0; i < range_count(s);) {
        TpcrtRange run = range_at(s, size, i++);
        while (i < range_count(s) && range_at(s, size, i).start == run.end)
            run.end = range_at(s, size, i++).end;
        TpcrtBlock b = block_make(g, outer_first, outer_dst, run, local);
        if (b.rows * b.cols > 0 && !visit(ctx, &b))
            return false;
        local += run.end - run.start;
    }
    return true;
}

/* Where an outer dimension stands: which range, how far into it, which local index. */
typedef struct OuterIndex {
    int range[TPCRT_MAX_DIMS];
    int64_t global[TPCRT_MAX_DIMS], local[TPCRT_MAX_DIMS];
} OuterIndex;

/* Moves to the next index of dimension d among its ranges; false after the last. */
static bool outer_step(const Geometry *g, OuterIndex *o, int d)
{
    const TpcrtDimSlice *s = &g->slice[d];
    o->local[d]++;
    if (++o->global[d] < range_at(s, g->shape[d], o->range[d]).end)
        return true;
    while (++o->range[d] < range_count(s)) {
        TpcrtRange r = range_at(s, g->shape[d], o->range[d]);
        if (r.end > r.start) {
            o->global[d] = r.start;
            return true;
        }
    }
    return false;
}

/* Sets dimension d to its first index; false when its slice is empty. */
static bool outer_reset(const Geometry *g, OuterIndex *o, int d)
{
    o->range[d] = -1;
    o->local[d] = -1;
    o->global[d] = 0;
    const TpcrtDimSlice *s = &g->slice[d];
    while (++o->range[d] < range_count(s)) {
        TpcrtRange r = range_at(s, g->shape[d], o->range[d]);
        if (r.end > r.start) {
            o->global[d] = r.start;
            o->local[d] = 0;
            return true;
        }
    }
    return false;
}

/* Every index of the dimensions outside p, last fastest (file order). */
static bool visit_outer(const Geometry *g, TpcrtBlockVisit visit, void *ctx)
{
    OuterIndex o;
    for (int d = 0; d < g->p; d++)
        if (!outer_reset(g, &o, d))
            return true; /* an empty slice: nothing to read */
    for (;;) {
        int64_t first = 0, dst = 0;
        for (int d = 0; d < g->p; d++) {
            first += o.global[d] * g->file_stride[d];
            dst += o.local[d] * g->dst_strides[d];
        }
        if (!visit_inner(g, first, dst, visit, ctx))
            return false;
        int d = g->p - 1;
        while (d >= 0 && !outer_step(g, &o, d))
            outer_reset(g, &o, d--);
        if (d < 0)
            return true;
    }
}

bool tpcrt_slice_blocks(int ndim, const int64_t *shape, const TpcrtDimSlice *slice,
                        const int64_t *dst_strides, TpcrtBlockVisit visit, void *ctx)
{
    static const TpcrtDimSlice whole[TPCRT_MAX_DIMS];
    static const int64_t one[1] = {1}, scalar_stride[1] = {1};
    if (ndim == 0) /* a scalar is a tensor of shape [1] */
        return tpcrt_slice_blocks(1, one, whole, scalar_stride, visit, ctx);

    Geometry g = {.ndim = ndim, .shape = shape, .slice = slice ? slice : whole,
                  .dst_strides = dst_strides};
    int64_t stride = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        g.file_stride[d] = stride;
        stride *= shape[d];
    }
    g.p = ndim - 1;
    while (g.p > 0 && dim_whole(&g.slice[g.p], shape[g.p]))
        g.p--;
    return visit_outer(&g, visit, ctx);
}

void tpcrt_block_rows_start(const TpcrtBlock *block, TpcrtRowWalk *walk)
{
    memset(walk->index, 0, sizeof walk->index);
    walk->offset = block->dst_base;
}

void tpcrt_block_rows_next(const TpcrtBlock *block, TpcrtRowWalk *walk)
{
    for (int j = block->nouter - 1; j >= 0; j--) {
        walk->offset += block->stride[j];
        if (++walk->index[j] < block->extent[j])
            return;
        walk->offset -= block->stride[j] * block->extent[j];
        walk->index[j] = 0;
    }
}

/* ---- reading --------------------------------------------------------------------------------- */

typedef struct ReadSlice {
    TpcrtReader *reader;
    const TpcrtTensorInfo *tensor;
    void *dst;
    bool bf16; /* dst is uint16_t bf16, else float */
    int esize; /* of the stored elements */
    char *err;
    size_t errlen;
} ReadSlice;

/* Element `offset` of dst. */
static void *dst_at(const ReadSlice *rs, int64_t offset)
{
    return rs->bf16 ? (void *)((uint16_t *)rs->dst + offset) : (void *)((float *)rs->dst + offset);
}

/* n stored elements at src into dst from element `offset` on, stride apart. */
static void convert_to(const ReadSlice *rs, const unsigned char *src, int64_t n, int64_t offset,
                       int64_t stride)
{
    if (rs->bf16)
        convert_bf16(rs->tensor->dtype, src, n, dst_at(rs, offset), stride);
    else
        convert(rs->tensor->dtype, src, n, dst_at(rs, offset), stride);
}

static bool read_bytes(ReadSlice *rs, int64_t first_element, int64_t count, void *buf)
{
    uint64_t offset = rs->tensor->offset + (uint64_t)first_element * (uint64_t)rs->esize;
    return rs->reader->read(rs->reader->ctx, offset, buf, (size_t)count * (size_t)rs->esize,
                            rs->err, rs->errlen);
}

/* Rows longer than the staging buffer, a piece at a time. */
static bool read_long_rows(ReadSlice *rs, const TpcrtBlock *b, int64_t piece)
{
    TpcrtRowWalk walk;
    tpcrt_block_rows_start(b, &walk);
    for (int64_t row = 0; row < b->rows; row++, tpcrt_block_rows_next(b, &walk))
        for (int64_t col = 0; col < b->cols; col += piece) {
            int64_t n = b->cols - col < piece ? b->cols - col : piece;
            if (!read_bytes(rs, b->first + row * b->cols + col, n, rs->reader->staging))
                return false;
            convert_to(rs, rs->reader->staging, n, walk.offset + col * b->dst_stride,
                       b->dst_stride);
        }
    return true;
}

/* As many whole rows per read as the staging buffer holds. */
static bool read_rows(ReadSlice *rs, const TpcrtBlock *b, int64_t rows_per_read)
{
    TpcrtRowWalk walk;
    tpcrt_block_rows_start(b, &walk);
    for (int64_t row = 0; row < b->rows; row += rows_per_read) {
        int64_t n = b->rows - row < rows_per_read ? b->rows - row : rows_per_read;
        if (!read_bytes(rs, b->first + row * b->cols, n * b->cols, rs->reader->staging))
            return false;
        for (int64_t i = 0; i < n; i++, tpcrt_block_rows_next(b, &walk))
            convert_to(rs, rs->reader->staging + i * b->cols * rs->esize, b->cols, walk.offset,
                       b->dst_stride);
    }
    return true;
}

static bool read_block(void *ctx, const TpcrtBlock *b)
{
    ReadSlice *rs = ctx;
    TpcrtStoredType same = rs->bf16 ? TPCRT_STORED_BF16 : TPCRT_STORED_F32;
    if (rs->tensor->dtype == same && b->dst_contiguous)
        return read_bytes(rs, b->first, b->rows * b->cols, dst_at(rs, b->dst_base));

    TpcrtReader *reader = rs->reader;
    if (!reader->staging) {
        reader->staging = malloc(TPCRT_STAGING_BYTES);
        reader->staging_bytes = TPCRT_STAGING_BYTES;
        if (!reader->staging)
            return tpcrt_error(rs->err, rs->errlen, "out of memory for the staging buffer");
    }
    int64_t piece = (int64_t)reader->staging_bytes / rs->esize;
    return b->cols > piece ? read_long_rows(rs, b, piece) : read_rows(rs, b, piece / b->cols);
}

static bool slice_read(TpcrtReader *reader, const TpcrtTensorInfo *t, const TpcrtDimSlice *slice,
                       void *dst, bool bf16, const int64_t *dst_strides, char *err, size_t errlen)
{
    if (!tpcrt_stored_type_readable(t->dtype) || t->ndim > TPCRT_MAX_DIMS)
        return tpcrt_error(err, errlen, "internal error: tensor '%s' is not readable", t->name);
    ReadSlice rs = {reader, t, dst, bf16, tpcrt_stored_type_size(t->dtype), err, errlen};
    return tpcrt_slice_blocks(t->ndim, t->shape, slice, dst_strides, read_block, &rs);
}

bool tpcrt_slice_read(TpcrtReader *reader, const TpcrtTensorInfo *t, const TpcrtDimSlice *slice,
                      float *dst, const int64_t *dst_strides, char *err, size_t errlen)
{
    return slice_read(reader, t, slice, dst, false, dst_strides, err, errlen);
}

bool tpcrt_slice_read_bf16(TpcrtReader *reader, const TpcrtTensorInfo *t,
                           const TpcrtDimSlice *slice, uint16_t *dst, const int64_t *dst_strides,
                           char *err, size_t errlen)
{
    return slice_read(reader, t, slice, dst, true, dst_strides, err, errlen);
}

void tpcrt_reader_free(TpcrtReader *reader)
{
    free(reader->staging);
    reader->staging = NULL;
    reader->staging_bytes = 0;
}
