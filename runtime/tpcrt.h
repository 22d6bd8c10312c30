/* tpcrt.h — libtpcrt, the runtime every program tpc builds links; the only header it includes.
 *
 * The runtime knows nothing of models or of the compiler. It offers: MPI start-up and the
 * built program's command line; collectives (all-reduce, all-gather, gather to rank 0,
 * reduce-scatter) with even or uneven, segmented or overlapping per-rank ranges; the safetensors
 * reader, which reads exactly a rank's ranges of a tensor with positioned reads; .npy read and
 * write; random tensors that are a function of (seed, name, index in the full tensor); the next
 * id drawn from logits split over the vocabulary (greedy, temperature, top-k, top-p); timing for
 * --bench and --stats.
 *
 * Failure: every error is one line on stderr, "tpc: rank R: <what, naming file and tensor>",
 * and ends the whole job (MPI_Abort), so no rank is ever left waiting in a collective.
 * Usage errors exit with status 2, everything else with 1.
 *
 * Conventions: sizes and indices are int64_t element counts; tensors are C order; "the slice"
 * of a tensor is, per dimension, the concatenation of the ranges a rank holds of it.
 */
#ifndef TPCRT_H
#define TPCRT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    TPCRT_MAX_DIMS    = 8,   /* dimensions of a tensor */
    TPCRT_MAX_IO      = 16,  /* inputs, outputs, bound dimension names */
    TPCRT_MAX_PROMPTS = 256, /* --prompt, a batch */
};

typedef enum { TPCRT_F32, TPCRT_I32 } TpcrtDType;

/* What --random-input makes for an input. */
typedef enum {
    TPCRT_RANDOM_NORMAL, /* f32, standard normal */
    TPCRT_RANDOM_IDS,    /* i32 ids uniform in [0, id_limit) */
    TPCRT_RANDOM_ONES,   /* f32 ones (masks: keep everything) */
} TpcrtRandomKind;

/* What --prompt fills an input with (the compiler marks the inputs; docs/tokenizer.md). */
typedef enum {
    TPCRT_ROLE_NONE = 0,
    TPCRT_ROLE_TOKENS,      /* i32 ids */
    TPCRT_ROLE_TOKEN_TYPES, /* i32 token type ids (BERT's segments) */
    TPCRT_ROLE_MASK,        /* attention mask, f32 or i32: 1 for a token, 0 for padding */
} TpcrtInputRole;

/* An input or output of the program; a dimension is a number or a name bound at run time. */
typedef struct TpcrtTensorDecl {
    const char *name;
    TpcrtDType dtype;
    int ndim;
    const char *dim_names[TPCRT_MAX_DIMS]; /* non-NULL: symbolic ("batch"), bound at run time */
    int64_t dim_sizes[TPCRT_MAX_DIMS];     /* the size where dim_names[i] is NULL */
    TpcrtRandomKind random;
    int64_t id_limit; /* TPCRT_RANDOM_IDS: ids are below it */
    TpcrtInputRole role;
} TpcrtTensorDecl;

/* What the generated program tells the runtime about itself. */
typedef struct TpcrtProgram {
    const char *name; /* the model's name, for usage lines and messages */
    int tp;           /* the world size the program was built for */
    int ninputs, noutputs;
    const TpcrtTensorDecl *inputs, *outputs;
    const char *no_generation; /* why --generate is refused ("bert cannot generate: ..."), or
                                  NULL: the program can generate */
    uint64_t hash; /* of the generated program: ranks whose programs differ refuse to start */
} TpcrtProgram;

/* Symbolic dimensions bound at run time, by name. */
typedef struct TpcrtDims {
    int n;
    const char *names[TPCRT_MAX_IO];
    int64_t values[TPCRT_MAX_IO];
} TpcrtDims;

/* The built program's command line (docs/cli.md, "The built program"). */
typedef struct TpcrtArgs {
    const char *weights; /* --weights PATH, or NULL */
    bool random_weights; /* --random-weights SEED */
    uint64_t weights_seed;
    const char *input_paths[TPCRT_MAX_IO]; /* --input NAME=FILE, by input index; NULL if absent */
    bool random_input;                     /* --random-input SEED */
    uint64_t input_seed;
    TpcrtDims dims;                          /* --dim NAME=N */
    const char *output_paths[TPCRT_MAX_IO]; /* --output NAME=FILE, by output index */
    int bench;                               /* --bench N; 0 when absent */
    int threads;                             /* --threads T; default 1 */
    bool stats;                              /* --stats */
    const char *prompts[TPCRT_MAX_PROMPTS];  /* --prompt TEXT, in order: one row each */
    int nprompts;
    const char *tokenizer; /* --tokenizer FILE, or NULL: tokenizer.json beside --weights */
    /* generation (docs/cli.md, "Generation") */
    int64_t generate;        /* --generate N: new tokens per sequence; 0 when absent */
    int64_t max_context;     /* --max-context N; 0: the prompt + N */
    int64_t prefill_chunk;   /* --prefill-chunk N: the prompt N tokens a step; 0: all at once */
    int64_t eos;             /* --eos ID; -1: config.json's eos_token_id beside --weights */
    double temperature;      /* --temperature T; 0: greedy */
    int64_t top_k;           /* --top-k K; 0: every id */
    double top_p;            /* --top-p P; 1: every id */
    uint64_t seed;           /* --seed S */
    const char *tokens_output; /* --output tokens=FILE.npy: prompt and new ids */
} TpcrtArgs;

/* ---- world.c: start-up, failure, memory ------------------------------------------------------ */

/* MPI_Init, the command line (usage errors: rank 0, or the first rank that has one, prints one
 * line and usage, every rank exits 2), the first part of tpcrt_check_start's agreement (the same
 * program and arguments on every rank, before any collective could differ; --stats is rank
 * 0's), the world-size check against prog->tp (rank 0 prints one line, every rank exits 1), BLAS
 * threads per rank. Exactly one of --weights / --random-weights is required; every input needs
 * --input or --random-input. -h/--help prints usage and exits 0. If the caller has initialised
 * MPI already (a program embedding the model), that MPI is used, and tpcrt_finalize leaves
 * MPI_Finalize to the caller. */
void tpcrt_init(int *argc, char ***argv, const TpcrtProgram *prog, TpcrtArgs *args);
#ifdef MPI_VERSION /* with <mpi.h> included first */
/* A program used as a library (OUTDIR/NAME.h): MPI is the caller's, already initialised; the
 * runtime works on its own duplicate of `comm`, which must have prog->tp ranks (else one line,
 * and the job ends), with `threads` BLAS threads per rank. tpcrt_finalize frees the duplicate
 * and leaves MPI running. */
void tpcrt_attach(MPI_Comm comm, const TpcrtProgram *prog, int threads);
#endif
void tpcrt_finalize(void);
int tpcrt_rank(void);
int tpcrt_world_size(void);

/* One line "tpc: rank R: <message>" on stderr, then the whole job ends (status 1). Callable
 * before tpcrt_init too (the rank is then 0 and only this process exits). */
_Noreturn void tpcrt_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* 64-byte aligned, zeroed; failure names `what` and the size. */
void *tpcrt_alloc(size_t bytes, const char *what);
void tpcrt_free(void *p);

/* Bound value of a symbolic dimension; fails naming it when unbound. */
int64_t tpcrt_dim(const TpcrtDims *dims, const char *name);

/* After the inputs are bound and before anything is loaded, every rank calls this; in one
 * collective every rank learns that all run the same program (prog->hash, prog->name, prog->tp)
 * with the arguments that must agree (--bench, --random-weights and its seed, --random-input
 * and its seed, which inputs come from --input) and the same bound dimensions, and that the
 * ranks on each node (same host name) together fit in the memory it has available
 * (weight_bytes + activation_bytes of each rank on it, against the node's MemAvailable). A
 * mismatch is one line on every rank naming what differs (e.g. "rank 1 was started with
 * --bench 3, rank 0 with --bench 5"), and every rank exits 1. docs/runtime.md lists it all. */
void tpcrt_check_start(const TpcrtProgram *prog, const TpcrtArgs *args, const TpcrtDims *dims,
                       int64_t weight_bytes, int64_t activation_bytes);

/* The product of n sizes; when it does not fit in 64 bits (dimensions bound at run time can be
 * anything), one line naming the factors ends the job. */
int64_t tpcrt_size(int n, const int64_t *factors);

/* The activation buffers of a memory plan, carved from one allocation: buf[k] gets elements[k]
 * floats, each buffer 64-byte aligned (its elements rounded up to 16 floats; offsets are 64-bit).
 * tpcrt_buffers_bytes is the allocation's size, checked for overflow (one line, the job ends);
 * tpcrt_buffers_alloc allocates and carves (free the result with tpcrt_free). */
int64_t tpcrt_buffers_bytes(const int64_t *elements, int n);
float *tpcrt_buffers_alloc(float **buf, const int64_t *elements, int n);
/* The carving alone, of a block of tpcrt_buffers_bytes (device memory, for --target cuda). */
void tpcrt_buffers_carve(float *block, float **buf, const int64_t *elements, int n);
/* Buffers kept across calls that need other sizes (a library's): when some elements[k] is more
 * than held[k], *block (NULL at first) is freed and allocated again for elements, buf carved
 * again and held updated, and the result is true; otherwise nothing changes. */
bool tpcrt_buffers_grow(float **block, float **buf, int64_t *held, const int64_t *elements,
                        int n);

/* ---- io.c: the program's inputs and outputs -------------------------------------------------- */

/* Reads (--input, .npy), makes (--random-input) or tokenizes (--prompt) every input, checks
 * dtype, rank and fixed sizes against its declaration, binds symbolic dims into *dims (two
 * inputs sharing a name must agree; --dim binds them for random inputs) and returns the data in
 * data[i] (f32 or i32; <i8 ids are converted, each checked to fit). Rank 0 reads the files and
 * the tokenizer and broadcasts. With --prompt, the tokens input gets one row per prompt, and the
 * token types and mask inputs (when the program has them) what the tokenizer gives; rows of
 * different lengths are padded with the tokenizer's pad id and masked when there is a mask
 * input, and refused when there is none. data[i] comes from tpcrt_alloc: free it with
 * tpcrt_free. A collective: every rank calls it. */
void tpcrt_inputs_load(const TpcrtProgram *prog, const TpcrtArgs *args, TpcrtDims *dims,
                       void **data);

/* Rank 0 writes output `index` to its --output file (an existing one that is not a regular
 * file is refused); without one, it prints a line with the output's shape, mean, standard
 * deviation and first values, and how many values are NaN or infinite when some are. */
void tpcrt_output_write(const TpcrtProgram *prog, const TpcrtArgs *args, int index,
                        const float *data, int ndim, const int64_t *shape);

/* Fails, naming the input and the table, unless every id is in [0, limit). */
void tpcrt_check_ids(const int32_t *ids, int64_t count, int64_t limit, const char *input,
                     const char *table);

/* ---- npy.c: NumPy .npy v1.0/2.0, <f4, <i4, <i8, C order -------------------------------------- */

typedef struct TpcrtArray {
    TpcrtDType dtype; /* <i8 files are read as i32 (each value checked to fit) */
    int ndim;
    int64_t shape[TPCRT_MAX_DIMS];
    void *data; /* malloc'd; free with free() */
} TpcrtArray;

/* These return false with a message in err (no abort): the fuzzer and the tests call them. */
bool tpcrt_npy_parse(const void *bytes, size_t size, TpcrtArray *out, char *err, size_t errlen);
bool tpcrt_npy_read(const char *path, TpcrtArray *out, char *err, size_t errlen);
bool tpcrt_npy_write(const char *path, const TpcrtArray *array, char *err, size_t errlen);

/* ---- weights.c: checkpoints and random weights ----------------------------------------------- */

typedef struct TpcrtRange {
    int64_t start, end; /* [start, end) */
} TpcrtRange;

/* A rank's share of one dimension: its ranges, laid side by side in this order. nranges == 0
 * means the whole dimension. */
typedef struct TpcrtDimSlice {
    int nranges;
    const TpcrtRange *ranges;
} TpcrtDimSlice;

/* The source of weights: a checkpoint (--weights) or random values (--random-weights). */
typedef struct TpcrtWeights TpcrtWeights;

/* Opens and validates every header of the checkpoint before any data is read: a .safetensors
 * file, or a folder with model.safetensors or model.safetensors.index.json plus its shards. */
TpcrtWeights *tpcrt_weights_open(const TpcrtArgs *args);
void tpcrt_weights_close(TpcrtWeights *w);

/* How a random weight is made: element k of the full tensor is offset + scale * u, u uniform in
 * [-1, 1) from (seed, name, k). Ignored when reading a checkpoint. */
typedef struct TpcrtInit {
    float offset, scale;
} TpcrtInit;

/* Reads this rank's slice of tensor `name`, whose stored shape must be shape[0..ndim) (else one
 * line naming the file, the tensor and both shapes). Every "{i}" in name becomes the decimal
 * `block` (the index of the weights group's block) when block >= 0; block < 0 uses name as it
 * is. A name may be any length, and '%' in it is an ordinary character. Random weights hash
 * the name after "{i}" is replaced. F32, F16, BF16 become f32. Element
 * (i0, i1, ...) of the slice (slice-local indices) goes to
 * dst[i0 * dst_strides[0] + i1 * dst_strides[1] + ...], so a caller can assemble fused weights
 * or transpose while reading. Only the slice's bytes are read (positioned reads).
 * slice may be NULL (the whole tensor), and so may dst_strides (the slice dense in C order);
 * ranges outside the shape are an internal error. */
void tpcrt_weights_read(TpcrtWeights *w, const char *name, int64_t block, int ndim,
                        const int64_t *shape, const TpcrtDimSlice *slice, TpcrtInit init,
                        float *dst, const int64_t *dst_strides);

/* tpcrt_weights_read into a bf16 destination (uint16_t bit patterns), with the same names,
 * shapes, slices and strides: F32 rounded to nearest even (a NaN stays NaN), BF16 copied
 * exactly, F16 through f32 (then rounded); random weights are the f32 path's values, rounded. */
void tpcrt_weights_read_bf16(TpcrtWeights *w, const char *name, int64_t block, int ndim,
                             const int64_t *shape, const TpcrtDimSlice *slice, TpcrtInit init,
                             uint16_t *dst, const int64_t *dst_strides);

/* Progress: a line on rank 0 when loading takes more than a second. bytes_to_load is this
 * rank's bytes of weights (its slices' elements times 4, or 2 for bf16 destinations):
 * tpcrt_weights_read and tpcrt_weights_read_bf16 count towards it. */
void tpcrt_load_begin(int64_t bytes_to_load);
void tpcrt_load_end(void);

/* ---- gemm_bf16.c: products with bf16 weights ------------------------------------------------ */

/* y = beta * y + x W^T: y f32 [m, n] (rows ld_y apart), x f32 [m, k] (rows ld_x apart), W bf16
 * [n, k] (nn.Linear's layout, rows k apart; a [k, n] checkpoint tensor is transposed when it is
 * read). beta 0 does not read y. Sums are f32 over the exact products of x and W; the kernel is
 * chosen at run time from the shape and the CPU, capped by the environment variable
 * TPCRT_CPU=generic|avx2|avx512|avx512bf16 (docs/runtime.md, "bf16 weights"). Single-threaded
 * except from 64 rows of x on, where OpenBLAS's sgemm may run on tiles of W (its --threads). */
void tpcrt_linear_bf16(float *y, int64_t ld_y, const float *x, int64_t ld_x, const uint16_t *w,
                       int64_t m, int64_t n, int64_t k, float beta);

/* ---- collectives.c: over the program's ranks ------------------------------------------------- */

/* How the last dimension of a [rows, full] matrix is split: rank r holds, of every segment s in
 * order, the columns ranges[s * world_size + r] of the full matrix, side by side. Ranges may be
 * uneven and may overlap (ranks that share data). A split of an inner dimension d of
 * [A, D, I] is the split of the last dimension of [A, D * I] with its ranges times I.
 * Collectives read and write only the columns some rank holds; local and full never overlap.
 * Every rank calls every collective, in the same order. */
typedef struct TpcrtSplit {
    int nseg;
    const TpcrtRange *ranges; /* [nseg][world_size] */
    int64_t full;             /* columns of the full matrix */
} TpcrtSplit;

/* Sum over ranks, in place. */
void tpcrt_all_reduce_sum(float *buf, int64_t count);
/* Every rank gets the full [rows, split->full] matrix from every rank's [rows, local] part. */
void tpcrt_all_gather(const float *local, float *full, int64_t rows, const TpcrtSplit *split);
/* As tpcrt_all_gather, but only rank 0 receives (outputs); full may be NULL elsewhere. */
void tpcrt_gather_to_root(const float *local, float *full, int64_t rows, const TpcrtSplit *split);
/* The sum over ranks of [rows, full], each rank keeping its own [rows, local] columns. */
void tpcrt_reduce_scatter(const float *full, float *local, int64_t rows, const TpcrtSplit *split);

/* ---- sample.c: the next id, from logits split over the vocabulary ---------------------------- */

/* How the next id is chosen, as Hugging Face's generate does (docs/runtime.md, "Sampling"). */
typedef struct TpcrtSampling {
    double temperature; /* 0: greedy (top_k and top_p are then ignored); else finite, > 0 */
    int64_t top_k;      /* keep the k best; 0 (or k >= vocab): no limit */
    double top_p;       /* keep the smallest prefix, best first, of probability >= p; in (0, 1],
                         * 1: no limit */
    uint64_t seed;
} TpcrtSampling;

/* One id per row into ids[0..rows), the same on every rank; a collective: every rank calls it.
 * logits: this rank's columns of the [rows, vocab] logits, rows ld apart, holding ids
 * [first, first + count). The ranks' ranges partition [0, vocab) (uneven, some maybe empty), or
 * every rank holds all of it (first 0, count vocab: a replicated head, the same values on every
 * rank); checked at the first call and when vocab changes. Nothing is gathered: greedy is one
 * all-reduce of R (value, id) pairs; docs/runtime.md lists the messages of the others.
 * Ties go to the lower id, in greedy and in top-k's and top-p's cuts alike; NaN logits are never
 * chosen, and a row that is NaN at every id ends the job. The draw of row i is a function of
 * (seed, step, i, the full logits) alone: the same ids at every world size and split. `step`
 * numbers the call (the position generated), so that one seed gives a new draw at each step.
 * vocab is below 2^23. Bad arguments are the caller's to refuse: here they are internal errors. */
void tpcrt_sample(const float *logits, int64_t rows, int64_t ld, int64_t first, int64_t count,
                  int64_t vocab, const TpcrtSampling *s, int64_t step, int32_t *ids);

/* ---- timing.c: --bench and --stats ----------------------------------------------------------- */

double tpcrt_now(void);                 /* seconds, monotonic */
double tpcrt_collective_seconds(void);  /* time inside collective calls so far, waiting included */
/* Rank 0 prints "bench: median M ms, min A ms, max B ms, T tokens/s, collectives C%" from n
 * forward times and the collective time spent in them ("collectives not timed" when that is
 * negative: on a GPU, where collectives run on the device's stream). */
void tpcrt_bench_report(const double *forward_seconds, int n, int64_t tokens_per_forward,
                        double collective_seconds);
/* With --stats, one line per rank: weight bytes, bytes read from the checkpoint, peak resident
 * memory, and with --generate the KV cache's bytes (kv_cache_bytes > 0). (Changed from "every rank prints": the lines are gathered and rank 0 prints them in
 * rank order, since mpirun interleaves ranks' output in any order; so every rank calls it.) */
void tpcrt_stats_report(const TpcrtArgs *args, int64_t weight_bytes, int64_t kv_cache_bytes);

/* ---- generate.c: prefill and decode ---------------------------------------------------------- */

/* What a program that can generate gives the runtime (the model stays in the program): `step`
 * computes seq new tokens of each of `batch` sequences, ids tokens[batch, seq], at positions
 * past.. past + seq - 1, on the cache the earlier steps filled, and returns this rank's logits
 * of them: [batch * seq rows, ld apart] (last_only: [batch rows], each sequence's last
 * position) of the vocabulary's columns [vocab_first, vocab_first + vocab_held). Every rank
 * calls it at once (it runs collectives). */
typedef struct TpcrtGenerator {
    void *self;
    const float *(*step)(void *self, const int32_t *tokens, int64_t batch, int64_t seq,
                         int64_t past);
    int64_t vocab, vocab_first, vocab_held, ld_logits;
    int64_t positions; /* the most positions the model has (a learned table's rows); 0: none */
    bool last_only;    /* the step's logits are of each sequence's last position only: rows b */
} TpcrtGenerator;

/* The next id of each of `batch` sequences from a step's logits (seq positions each, or the
 * last only), as --generate picks it: tpcrt_sample with `sampling` (NULL: greedy), whose noise
 * `position` (the new id's) numbers. The same ids on every rank; a collective. */
void tpcrt_next_ids(const TpcrtGenerator *g, const TpcrtSampling *sampling,
                    const float *logits, int64_t batch, int64_t seq, int64_t position,
                    int32_t *next);

/* Whether this run generates (--generate), agreed by every rank first: a rank started with
 * other generation options than rank 0's ends the job with one line (a collective, which every
 * rank calls before any other of generation's, so that none waits in one the others skip). */
bool tpcrt_generating(const TpcrtArgs *args);

/* The prompt's prefill, [batch, prompt_len] ids: in one step, or `chunk` tokens of each sequence
 * a step (0: one step), each step attending to the cache the steps before it filled. Returns
 * the last step's logits, and its tokens per sequence in *last_seq. */
const float *tpcrt_prefill(const TpcrtGenerator *g, const int32_t *prompt, int64_t batch,
                           int64_t prompt_len, int64_t chunk, int64_t *last_seq);

/* The tokens per sequence of generation's largest step, which the buffers are sized for: the
 * prompt's, or --prefill-chunk's when that is fewer. */
int64_t tpcrt_prefill_step(const TpcrtArgs *args, int64_t prompt);

/* The positions the cache holds per sequence: --max-context, or the prompt plus --generate.
 * More than the model's positions, or fewer than the prompt plus --generate, is one line from
 * rank 0 naming both, and every rank exits 1. Every rank's generation options are checked
 * against rank 0's first (a collective). */
int64_t tpcrt_generation_context(const TpcrtArgs *args, int64_t prompt, int64_t positions);

/* --generate: the prompt's prefill, then a decode step per new token until --generate tokens or
 * every row has ended at --eos (the rows that end first are filled with the eos id, as Hugging
 * Face's generate pads them); each new id picked from the logits where they are (greedy: one
 * all-reduce of 8 bytes per row). Rank 0 prints the ids as they come (the text, with a
 * tokenizer), writes --output tokens=FILE.npy (int32 [batch, prompt + new]), and with --bench K
 * times K generations after a warm-up: "bench: prefill median P ms, decode median D ms/token,
 * T tokens/s, collectives C%". A collective. */
void tpcrt_generate(const TpcrtProgram *prog, const TpcrtArgs *args, const TpcrtGenerator *g,
                    const int32_t *prompt, int64_t batch, int64_t prompt_len);

/* ---- tokenizer.c: Hugging Face tokenizer.json ------------------------------------------------ */

/* A tokenizer.json as Hugging Face tokenizers (0.15) reads it: added tokens matched first, then
 * the normalizer, the pre-tokenizer, the model (BPE, byte-level or with byte fallback;
 * WordPiece), the post-processor's template, truncation and padding. What a file asks for that
 * is not supported is refused at load, naming the component. docs/tokenizer.md lists it all.
 * These functions never end the job: they return NULL or false with one line in err. */
typedef struct TpcrtTokenizer TpcrtTokenizer;

/* One encoded text: ids, token type ids and attention mask (0 on padding), n of each,
 * malloc'd; free with tpcrt_encoding_free. */
typedef struct TpcrtEncoding {
    int64_t n;
    int32_t *ids, *type_ids, *mask;
} TpcrtEncoding;

TpcrtTokenizer *tpcrt_tokenizer_load(const char *path, char *err, size_t errlen);
/* The same from the file's bytes; `name` is what messages call it. */
TpcrtTokenizer *tpcrt_tokenizer_parse(const void *json, size_t size, const char *name, char *err,
                                      size_t errlen);
void tpcrt_tokenizer_free(TpcrtTokenizer *tok);

/* tokenizer.encode(text).ids of HF, with the special tokens the template adds. text is UTF-8
 * (len bytes; invalid UTF-8 is refused). Not thread-safe: it keeps a cache of words. */
bool tpcrt_tokenizer_encode(TpcrtTokenizer *tok, const char *text, size_t len,
                            TpcrtEncoding *out, char *err, size_t errlen);
void tpcrt_encoding_free(TpcrtEncoding *enc);

/* tokenizer.decode(ids, skip_special_tokens): malloc'd UTF-8, NUL-terminated, length in *len.
 * Ids the tokenizer does not know are skipped, as HF does. */
char *tpcrt_tokenizer_decode(const TpcrtTokenizer *tok, const int32_t *ids, int64_t n,
                             bool skip_special, size_t *len);

/* The id padding uses (the file's padding.pad_id, else the id of a "[PAD]", "<pad>" or
 * "<|endoftext|>" token), or -1 when it has none. */
int32_t tpcrt_tokenizer_pad_id(const TpcrtTokenizer *tok);
/* The vocabulary's size: one past the largest id. */
int64_t tpcrt_tokenizer_vocab_size(const TpcrtTokenizer *tok);

#endif /* TPCRT_H */
