/* internal.h — what libtpcrt's files share with each other and with the runtime's own tests and
 * fuzzers. Generated programs include tpcrt.h only.
 *
 * npy.c, safetensors.c and slice.c use nothing but libc and jansson, so the fuzzers can build
 * them alone: they never end the job, but return false with a message in the caller's buffer
 * (err, errlen). The rest of the runtime turns such a message into tpcrt_fail's one line, with
 * the rank, the file and the tensor in front of it.
 */
#ifndef TPCRT_INTERNAL_H
#define TPCRT_INTERNAL_H

#include "tpcrt.h"

#include <stdio.h>
#include <string.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "libtpcrt reads and writes little-endian files with memcpy: it needs a little-endian host"
#endif

/* Writes a message into err and is false: `return tpcrt_error(err, errlen, "...", ...)`. */
#define tpcrt_error(err, errlen, ...) (snprintf((err), (errlen), __VA_ARGS__), false)

/* Checked size arithmetic on element counts and byte sizes (Lua's luaM_testsize). */
static inline bool tpcrt_mul_overflows(int64_t a, int64_t b, int64_t *product)
{
    return __builtin_mul_overflow(a, b, product);
}

/* Formats shape[0..ndim) as "[2, 3]" into buf; returns buf. */
static inline const char *tpcrt_shape_string(char *buf, size_t len, int ndim, const int64_t *shape)
{
    size_t used = (size_t)snprintf(buf, len, "[");
    for (int d = 0; d < ndim && used < len; d++)
        used += (size_t)snprintf(buf + used, len - used, "%s%lld", d ? ", " : "",
                                 (long long)shape[d]);
    if (used < len)
        snprintf(buf + used, len - used, "]");
    return buf;
}

/* "[batch, seq, 4]": a declaration's shape, symbolic dimensions by name; returns buf. */
static inline const char *tpcrt_decl_shape_string(char *buf, size_t len,
                                                  const TpcrtTensorDecl *decl)
{
    size_t used = (size_t)snprintf(buf, len, "[");
    for (int d = 0; d < decl->ndim && used < len; d++) {
        if (decl->dim_names[d])
            used += (size_t)snprintf(buf + used, len - used, "%s%s", d ? ", " : "",
                                     decl->dim_names[d]);
        else
            used += (size_t)snprintf(buf + used, len - used, "%s%lld", d ? ", " : "",
                                     (long long)decl->dim_sizes[d]);
    }
    if (used < len)
        snprintf(buf + used, len - used, "]");
    return buf;
}

/* The index of dimension `name` in dims, or -1 when it is not bound. */
static inline int tpcrt_dims_find(const TpcrtDims *dims, const char *name)
{
    for (int i = 0; i < dims->n; i++)
        if (strcmp(dims->names[i], name) == 0)
            return i;
    return -1;
}

static inline const char *tpcrt_dtype_name(TpcrtDType dtype)
{
    return dtype == TPCRT_I32 ? "i32" : "f32";
}

enum {
    TPCRT_ERROR_LEN = 512, /* the size of every message buffer */
    TPCRT_SHAPE_LEN = 200, /* the size of a tpcrt_shape_string buffer */
    TPCRT_TEXT_LEN = 160,  /* the size of a tpcrt_escape buffer for a name in a message */
    TPCRT_PATH_LEN = 1024, /* the size of a tpcrt_escape buffer for a path */
};

/* The length of the valid UTF-8 sequence of a printable character at s (at most `left` bytes
 * there), or 0: a control character (C0, DEL, C1), a byte that starts no character, a
 * sequence cut short, overlong, a surrogate or past U+10FFFF. */
static inline size_t tpcrt_printable_length(const unsigned char *s, size_t left)
{
    if (s[0] >= 0x20 && s[0] < 0x7f)
        return 1;
    size_t n = s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : s[0] >= 0xe0 && s[0] <= 0xef ? 3
             : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : 0;
    if (n == 0 || n > left)
        return 0;
    uint32_t code = s[0] & (0x7f >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        code = code << 6 | (s[i] & 0x3f);
    }
    static const uint32_t smallest[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < smallest[n] || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff) ||
        (code >= 0x80 && code <= 0x9f))
        return 0;
    return n;
}

/* Text nobody vouches for (a checkpoint's tensor names, dtypes and shard names, a path, an
 * argument), as a message may show it: printable ASCII and valid UTF-8 as they are, every other
 * byte as \xNN (ESC is "\x1b"), so a file cannot move the cursor or retitle the terminal of
 * whoever reads the error. `backslash` doubles backslashes too, so that the escaped text reads
 * back unambiguously; the last pass over a whole message (tpcrt_fail) leaves them, since the
 * parts it holds are escaped already. Cut short with "..." to fit in buf; returns buf. */
static inline const char *tpcrt_escape_text(const char *text, bool backslash, char *buf,
                                            size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t left = strlen(text), used = 0;
    if (len == 0)
        return buf;
    while (left > 0) {
        size_t n = tpcrt_printable_length(s, left), taken = n ? n : 1;
        bool doubled = backslash && s[0] == '\\';
        char escaped[5];
        if (n == 0 || doubled)
            snprintf(escaped, sizeof escaped, doubled ? "\\\\" : "\\x%02x", s[0]);
        size_t out = n == 0 || doubled ? strlen(escaped) : n;
        /* Room for this piece, and for "..." unless it is the last. */
        if (used + out + (taken == left ? 1 : 4) > len) {
            snprintf(buf + used, len - used, "%s", len - used >= 4 ? "..." : "");
            return buf;
        }
        memcpy(buf + used, n == 0 || doubled ? escaped : (const char *)s, out);
        used += out;
        s += taken;
        left -= taken;
    }
    buf[used] = '\0';
    return buf;
}

/* A name or a path from outside, for a message: tpcrt_escape_text with backslashes doubled. */
static inline const char *tpcrt_escape(const char *text, char *buf, size_t len)
{
    return tpcrt_escape_text(text, true, buf, len);
}

/* ---- world.c --------------------------------------------------------------------------------- */

#ifdef MPI_VERSION /* files that include <mpi.h> first: the ones that talk to the other ranks */
/* The program's ranks: MPI_COMM_WORLD, or the library's duplicate of its caller's (tpcrt_attach).
 * Every MPI call of the runtime goes over it. */
MPI_Comm tpcrt_comm(void);
#endif

/* Every MPI call goes through mpi_check: a failure ends the job naming the call and where. */
#define mpi_check(call) tpcrt_mpi_check((call), #call, __FILE__, __LINE__)
void tpcrt_mpi_check(int status, const char *call, const char *file, int line);

/* tpcrt_fail's line, where every rank has come to the same failure together (tpcrt_check_start
 * after its one collective): every rank prints its line and leaves with status 1 through
 * MPI_Finalize, so none is killed before it has said why. */
_Noreturn void tpcrt_fail_everywhere(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same where the failure is rank 0's to say (its settings, its files): rank 0 prints the
 * one line, every rank leaves with status 1 through MPI_Finalize. */
_Noreturn void tpcrt_refuse(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- args.c: the built program's command line ------------------------------------------------ */

typedef enum { TPCRT_ARGS_OK, TPCRT_ARGS_HELP, TPCRT_ARGS_USAGE } TpcrtArgsStatus;

/* Parses argv[1..argc) into *args; on TPCRT_ARGS_USAGE, err says what was expected. */
TpcrtArgsStatus tpcrt_args_parse(int argc, char **argv, const TpcrtProgram *prog,
                                 TpcrtArgs *args, char *err, size_t errlen);
void tpcrt_usage_print(FILE *out, const TpcrtProgram *prog);
/* The input --prompt fills with `role`, or -1: the input the compiler marked so; a program with
 * no marks and exactly one i32 input has that one as its tokens. */
int tpcrt_prompt_input(const TpcrtProgram *prog, TpcrtInputRole role);
/* Whether --prompt (given) fills input `input`. */
bool tpcrt_prompt_fills(const TpcrtProgram *prog, const TpcrtArgs *args, int input);

/* io.c: the tokenizer --prompt uses: --tokenizer, or tokenizer.json beside --weights. */
void tpcrt_tokenizer_path(const TpcrtArgs *args, char *path, size_t len);
/* io.c: whether rank 0 can write every --output it was given (an existing file that is not a
 * regular one, or a folder it cannot create files in, is refused), without writing anything:
 * checked at start-up, so a long run does not end unwritten. False with one line in err. */
bool tpcrt_outputs_check(const TpcrtProgram *prog, const TpcrtArgs *args, char *err,
                         size_t errlen);

/* ---- start.c: what every rank must agree on ------------------------------------------------ */

/* In tpcrt_init, the first collective: every rank's argument status (a usage error on any rank
 * ends them all, status 2; *speaker is the rank that prints it), then that every rank runs the
 * same program with the arguments that must agree (else every rank fails with one line). Sets
 * args->stats to rank 0's, since --stats gathers from every rank. */
TpcrtArgsStatus tpcrt_start_agree(const TpcrtProgram *prog, TpcrtArgs *args,
                                  TpcrtArgsStatus status, int *speaker);
/* The node's MemAvailable (/proc/meminfo) in bytes, or -1 where it does not say. */
int64_t tpcrt_memory_available(void);

/* ---- npy.c ----------------------------------------------------------------------------------- */

/* Exactly n bytes at offset of the open file fd (pread, retried when interrupted); false with a
 * message when the file cannot be read or ends first. */
bool tpcrt_read_at(int fd, void *buf, size_t n, uint64_t offset, char *err, size_t errlen);
/* open(path, flags) of a regular file, never blocking: a FIFO, a device, a socket or a directory
 * is refused at once. -1 with a message saying what it is, or why open failed; the caller puts
 * the path in front. */
int tpcrt_open_regular(const char *path, int flags, char *err, size_t errlen);
/* "a FIFO", "a directory", ...: what a file that is not a regular one is, for messages. */
const char *tpcrt_file_kind(unsigned mode);

/* ---- random.c: values that are a function of (seed, name, index) ----------------------------- */

/* A stream of random values is named by its key; element k of the stream is independent of how
 * many elements anyone else drew. */
uint64_t tpcrt_random_key(uint64_t seed, const char *name);
uint64_t tpcrt_random_bits(uint64_t key, uint64_t k); /* element k: 64 bits; also a new key */
float tpcrt_random_uniform(uint64_t key, uint64_t k); /* in [-1, 1), a multiple of 2^-23 */
float tpcrt_random_normal(uint64_t key, uint64_t k);  /* standard normal (Box-Muller) */
int32_t tpcrt_random_id(uint64_t key, uint64_t k, int64_t limit); /* in [0, limit) */

/* ---- safetensors.c: the header, parsed and validated ----------------------------------------- */

enum {
    TPCRT_HEADER_LIMIT = 100 * 1000 * 1000, /* bytes of JSON header: larger is not a checkpoint */
};

/* Every dtype of the safetensors format that has a whole number of bytes per element. Only the
 * first three can be read (as f32); the others are validated and may sit in a checkpoint. */
typedef enum {
    TPCRT_STORED_F32,
    TPCRT_STORED_F16,
    TPCRT_STORED_BF16,
    TPCRT_STORED_F64,
    TPCRT_STORED_I64,
    TPCRT_STORED_U64,
    TPCRT_STORED_I32,
    TPCRT_STORED_U32,
    TPCRT_STORED_I16,
    TPCRT_STORED_U16,
    TPCRT_STORED_I8,
    TPCRT_STORED_U8,
    TPCRT_STORED_BOOL,
    TPCRT_STORED_F8_E4M3,
    TPCRT_STORED_F8_E5M2,
    TPCRT_STORED_F8_E8M0,
    TPCRT_STORED_COUNT
} TpcrtStoredType;

const char *tpcrt_stored_type_name(TpcrtStoredType type);
int tpcrt_stored_type_size(TpcrtStoredType type);
bool tpcrt_stored_type_readable(TpcrtStoredType type);

/* One tensor of a checkpoint file, as its header describes it (already validated). */
typedef struct TpcrtTensorInfo {
    const char *name;
    TpcrtStoredType dtype;
    int ndim;                      /* as stored: may exceed TPCRT_MAX_DIMS */
    int64_t shape[TPCRT_MAX_DIMS]; /* the first min(ndim, TPCRT_MAX_DIMS) dimensions */
    uint64_t offset;               /* of the tensor's first byte, from the start of the file */
    uint64_t nbytes;
} TpcrtTensorInfo;

/* A parsed header: every tensor lies inside the file, none overlaps another. */
typedef struct TpcrtSafetensors {
    uint64_t file_size, data_start; /* the data section is [data_start, file_size) */
    int ntensors;
    TpcrtTensorInfo *tensors; /* sorted by name */
    void *json;               /* the parsed header (a json_t *), which owns the names */
} TpcrtSafetensors;

/* The header length in the first 8 bytes of a file of file_size bytes (prefix holds them when
 * file_size >= 8); false unless the header fits in the file and under TPCRT_HEADER_LIMIT. */
bool tpcrt_safetensors_header_length(const unsigned char *prefix, uint64_t file_size,
                                     uint64_t *header_len, char *err, size_t errlen);
/* Parses and validates the JSON header (header_len bytes, read from just after the length). */
bool tpcrt_safetensors_parse(const char *header, uint64_t header_len, uint64_t file_size,
                             TpcrtSafetensors *st, char *err, size_t errlen);
/* "[2, 3]", or "[1, 2, 3, 4, 5, 6, 7, 8, ...] (9 dimensions)" past what a tensor of the runtime
 * can have; returns buf. */
const char *tpcrt_stored_shape_string(char *buf, size_t len, const TpcrtTensorInfo *t);
const TpcrtTensorInfo *tpcrt_safetensors_find(const TpcrtSafetensors *st, const char *name);
void tpcrt_safetensors_free(TpcrtSafetensors *st);
/* What a message says was seen: the JSON text of value (a json_t *), cut short to fit in buf;
 * "none" when value is NULL. */
const char *tpcrt_json_text(const void *value, char *buf, size_t len);

/* ---- slice.c: reading a rank's slice of a tensor --------------------------------------------- */

/* Checks slice[0..ndim) against shape (NULL: the whole tensor) and sets local[d], the slice's
 * extent in each dimension; false names the dimension and the range that does not fit. */
bool tpcrt_slice_check(int ndim, const int64_t *shape, const TpcrtDimSlice *slice,
                       int64_t *local, char *err, size_t errlen);

/* A block: elements [first, first + rows * cols) of the full tensor, consecutive there, which
 * land in dst as `rows` rows of `cols` elements, each row's elements dst_stride apart. The rows
 * are numbered by the nouter dimensions extent[], whose dst strides are stride[]; walk them in
 * order with tpcrt_block_rows_start and _next. */
typedef struct TpcrtBlock {
    int64_t first, rows, cols, dst_stride;
    int64_t dst_base;    /* where row 0 starts in dst */
    bool dst_contiguous; /* the whole block is consecutive in dst too */
    int nouter;
    int64_t extent[TPCRT_MAX_DIMS], stride[TPCRT_MAX_DIMS];
} TpcrtBlock;

typedef struct TpcrtRowWalk {
    int64_t index[TPCRT_MAX_DIMS];
    int64_t offset; /* where the current row starts in dst */
} TpcrtRowWalk;

void tpcrt_block_rows_start(const TpcrtBlock *block, TpcrtRowWalk *walk);
void tpcrt_block_rows_next(const TpcrtBlock *block, TpcrtRowWalk *walk);

/* Calls visit on every non-empty block of the slice (NULL: the whole tensor), in slice order;
 * stops and returns false when visit does. dst_strides as in tpcrt_weights_read, never NULL. A
 * scalar (ndim 0) is one block of one element. */
typedef bool (*TpcrtBlockVisit)(void *ctx, const TpcrtBlock *block);
bool tpcrt_slice_blocks(int ndim, const int64_t *shape, const TpcrtDimSlice *slice,
                        const int64_t *dst_strides, TpcrtBlockVisit visit, void *ctx);

/* Reads bytes [offset, offset + n) of a tensor's file into buf; false with a message. */
typedef bool (*TpcrtReadFn)(void *ctx, uint64_t offset, void *buf, size_t n, char *err,
                            size_t errlen);

typedef struct TpcrtReader {
    TpcrtReadFn read;
    void *ctx;
    unsigned char *staging; /* for conversion and scattering, allocated on first use */
    size_t staging_bytes;
} TpcrtReader;

enum { TPCRT_STAGING_BYTES = 4 << 20 };

/* Reads `slice` of tensor t into dst (strides dst_strides, in elements) as f32. Contiguous
 * ranges are one read each; F32 data whose destination is contiguous is read in place. */
bool tpcrt_slice_read(TpcrtReader *reader, const TpcrtTensorInfo *t, const TpcrtDimSlice *slice,
                      float *dst, const int64_t *dst_strides, char *err, size_t errlen);
void tpcrt_reader_free(TpcrtReader *reader);

/* The same, into bf16 destinations (tpcrt_weights_read_bf16): F32 rounded to nearest even,
 * BF16 copied (read in place where the destination is contiguous), F16 through f32. */
bool tpcrt_slice_read_bf16(TpcrtReader *reader, const TpcrtTensorInfo *t,
                           const TpcrtDimSlice *slice, uint16_t *dst, const int64_t *dst_strides,
                           char *err, size_t errlen);

float tpcrt_f16_to_f32(uint16_t bits);
float tpcrt_bf16_to_f32(uint16_t bits);

/* f32 -> bf16, rounded to nearest even; a NaN stays a NaN (quiet, its sign and high payload
 * kept), infinities stay infinite, what rounds past the largest bf16 becomes infinite. */
static inline uint16_t tpcrt_f32_to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)(u >> 16 | 0x40);
    return (uint16_t)((u + 0x7fffu + (u >> 16 & 1)) >> 16);
}

/* ---- weights.c ------------------------------------------------------------------------------- */

int64_t tpcrt_checkpoint_bytes_read(void); /* bytes read from checkpoint files so far */

/* ---- gemm_bf16.c ---------------------------------------------------------------------------- */

/* Instruction-set levels, each including the ones before it. */
typedef enum {
    TPCRT_CPU_GENERIC,    /* plain C */
    TPCRT_CPU_AVX2,       /* AVX2 and FMA */
    TPCRT_CPU_AVX512,     /* AVX-512 F, BW and VL */
    TPCRT_CPU_AVX512BF16, /* and AVX512-BF16 */
} TpcrtCpu;

TpcrtCpu tpcrt_cpu_detected(void); /* what the CPU (and the OS) support */
/* What the runtime uses: the detected level, capped by TPCRT_CPU=generic|avx2|avx512|avx512bf16
 * (read once; another value ends the job with one line). */
TpcrtCpu tpcrt_cpu(void);
const char *tpcrt_cpu_name(TpcrtCpu cpu);

/* The kernels of tpcrt_linear_bf16 (gemm_bf16.c says what each does). */
typedef enum {
    TPCRT_BF16_GENERIC,
    TPCRT_BF16_AVX2,
    TPCRT_BF16_AVX512,
    TPCRT_BF16_DPBF16,
    TPCRT_BF16_BLAS,
    TPCRT_BF16_KERNELS
} TpcrtBf16Kernel;

const char *tpcrt_bf16_kernel_name(TpcrtBf16Kernel kernel);
/* Whether tpcrt_cpu() allows the kernel. */
bool tpcrt_bf16_kernel_runs(TpcrtBf16Kernel kernel);
/* The kernel tpcrt_linear_bf16 uses for this shape at tpcrt_cpu()'s level. */
TpcrtBf16Kernel tpcrt_bf16_kernel_for(int64_t m, int64_t n, int64_t k);
/* tpcrt_linear_bf16 with this kernel (tests, the benchmark); one the level does not allow is an
 * internal error. */
void tpcrt_linear_bf16_with(TpcrtBf16Kernel kernel, float *y, int64_t ld_y, const float *x,
                            int64_t ld_x, const uint16_t *w, int64_t m, int64_t n, int64_t k,
                            float beta);

/* ---- collectives.c --------------------------------------------------------------------------- */

void tpcrt_collectives_init(int world_size);
void tpcrt_collectives_free(void);
/* Columns rank r holds under `split`. */
int64_t tpcrt_split_local(const TpcrtSplit *split, int rank);
/* Test hooks: the largest element count one MPI call carries (INT_MAX by default), and the
 * bytes of repack buffer held (which must not grow once a program's shapes have been seen). */
void tpcrt_collectives_set_max_count(int64_t count);
size_t tpcrt_collectives_buffer_bytes(void);
/* Rank 0's bytes to every rank; not counted as collective time (inputs, shapes). */
void tpcrt_broadcast_bytes(void *buf, int64_t bytes);

/* ---- timing.c -------------------------------------------------------------------------------- */

void tpcrt_collective_time_add(double seconds);

/* ---- sample.c -------------------------------------------------------------------------------- */

void tpcrt_sample_free(void);
/* Test hook: the bytes of scratch held, which must not grow once a call's sizes have been seen. */
size_t tpcrt_sample_scratch_bytes(void);

/* ---- unicode_tables.c: what tokenizer.c needs of Unicode (generated) ------------------------- */

/* Properties of a code point, as Hugging Face tokenizers sees them. */
enum {
    TPCRT_U_CLEAN_DROP = 1,      /* BertNormalizer's clean_text removes it (controls, U+FFFD) */
    TPCRT_U_CLEAN_SPACE = 2,     /* clean_text makes it ' ' (whitespace other than ' ') */
    TPCRT_U_CHINESE = 4,         /* handle_chinese_chars puts spaces around it */
    TPCRT_U_COMBINING_MARK = 8,  /* the StripAccents normalizer removes it */
    TPCRT_U_WHITESPACE = 16,     /* Rust's char::is_whitespace */
    TPCRT_U_PUNCT = 32,          /* BertPreTokenizer isolates it */
    TPCRT_U_BERT_MARK = 64,      /* BertNormalizer's strip_accents removes it after NFD (Mn) */
    TPCRT_U_WORD = 128,          /* Oniguruma's \w, as HF's regexes see it */
};
typedef struct TpcrtUnicodeRange {
    uint32_t first, last, value;
} TpcrtUnicodeRange;
typedef struct TpcrtUnicodeMap { /* code -> data[offset .. offset + count) */
    uint32_t code, offset, count;
} TpcrtUnicodeMap;
typedef struct TpcrtUnicodePair { /* first + second compose to composed (NFC) */
    uint32_t first, second, composed;
} TpcrtUnicodePair;

extern const TpcrtUnicodeRange tpcrt_unicode_flags[], tpcrt_unicode_ccc[];
extern const int tpcrt_unicode_flags_count, tpcrt_unicode_ccc_count;
extern const TpcrtUnicodeMap tpcrt_unicode_lower[], tpcrt_unicode_nfd[];
extern const uint32_t tpcrt_unicode_lower_data[], tpcrt_unicode_nfd_data[];
extern const int tpcrt_unicode_lower_count, tpcrt_unicode_nfd_count;
extern const TpcrtUnicodePair tpcrt_unicode_compose[];
extern const int tpcrt_unicode_compose_count;

#endif /* TPCRT_INTERNAL_H */
