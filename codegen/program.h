/* program.h — the per-rank program form: what one rank runs, as data, between the sharded IR
 * and the printers.
 *
 * lower.c builds a Program from the graph after the passes; print_c.c prints it as C with
 * OpenBLAS and libtpcrt; dump.c prints it as text for tests. A CUDA printer prints the same
 * steps as kernel launches, cuBLAS calls and NCCL collectives; an LLVM-C builder builds the
 * same kernels. Everything a printer would otherwise work out is here: every size is a Size
 * (per-rank coefficients times symbols, never text), every pointer a Ref (a buffer of the
 * memory plan, an input, a weight), which rank does what (Step.rank0), how each weight is
 * assembled from checkpoint slices, and the kernels, each built once.
 *
 * Names (buffers, weight fields, groups, symbols) are chosen here, once, so that every
 * printer's program reads the same; they are C identifiers that clash with nothing a printer
 * defines (see lower.c's reserved names).
 */
#ifndef TPC_PROGRAM_H
#define TPC_PROGRAM_H

#include "codegen.h"
#include "kernel.h"

/* ---- pointers and arguments ---------------------------------------------------------------- */

typedef enum {
    REF_NONE,    /* no pointer (an absent mask) */
    REF_BUFFER,  /* buffer `index` of the memory plan */
    REF_INPUT,   /* input `index` of forward */
    REF_WEIGHT,  /* weight field `index` (a group's: of the block the loop is at) */
    REF_CACHE,   /* generation state `index` (Generation.state; a group's: the loop's block) */
} RefKind;

/* A pointer the program holds: a buffer (at `offset` elements: a view's columns), an input or
 * a weight. */
typedef struct Ref {
    RefKind kind;
    int index;
    Size *offset; /* NULL: none */
    bool ids;     /* the elements are i32 ids (a float buffer holds ids made in forward) */
} Ref;

typedef enum { ARG_REF, ARG_SIZE, ARG_FLOAT, ARG_INT } ArgKind;

/* An argument of a kernel call: a pointer, a size, an f32 constant or an integer. */
typedef struct Arg {
    ArgKind kind;
    Ref ref;
    Size *size;
    double f;
    int64_t i;
} Arg;

/* ---- steps --------------------------------------------------------------------------------- */

typedef enum {
    STEP_KERNEL,        /* kernels[kernel](args): the code between GEMMs (kernel.h) */
    STEP_GEMM,          /* y = beta y + x w, m rows: the vendor library's */
    STEP_ATTENTION,     /* attention over the heads this rank holds */
    STEP_ROPE_TABLE,    /* fill a RoPE table once, before the first layer */
    STEP_ALL_REDUCE,    /* sum over ranks, in place */
    STEP_ALL_GATHER,    /* every rank gets every rank's columns */
    STEP_GATHER_ROOT,   /* rank 0 gets every rank's columns */
    STEP_REDUCE_SCATTER,/* the sum, each rank keeping its columns */
    STEP_COPY,          /* out = in, `count` elements */
    STEP_LOOP,          /* the body once per block of a weights group */
    STEP_CHECK_IDS,     /* stop the job unless every id in `in` is below `limit` */
    STEP_NOTE,          /* nothing to compute; its comment says why (views) */
    STEP_CACHE_APPEND,  /* generation: a step's k or v rows into the cache at position past */
} StepKind;

/* beta of a GEMM: overwrite, accumulate, or accumulate on rank 0 only (whose output holds a
 * replicated term the partial sums add once). */
typedef enum { BETA_ZERO, BETA_ONE, BETA_RANK0 } Beta;

typedef struct Step Step;
struct Step {
    StepKind kind;
    const Op *op;   /* the IR statement it computes: the comment above it (NULL: none) */
    bool first;     /* the first step of its statement (the comment goes above it) */
    bool rank0;     /* on rank 0 only: a replicated term of a partial sum is added once */
    Step *otherwise;/* with rank0: what the other ranks do instead (NULL: nothing) */
    const char *note; /* NOTE, and a COPY of a carried value: a comment */

    int kernel;     /* KERNEL: index in Program.kernels */
    Arg *args;
    int nargs;

    /* GEMM: w kept [n, k] (nn.Linear's, as stored) unless in_out ([k, n]); bf16: w is bf16
     * [n, k] (tpcrt_linear_bf16); ld_* are strides */
    bool in_out, bf16;
    Beta beta;
    Ref y, x, w;
    Size *ld_y, *ld_x, *m, *n, *k;

    /* ATTENTION: q, k, v and out rows are ld_* apart; q's local head h reads local kv head
     * (first_head + h) / group - first_kv; scores is a scratch buffer [seq, past + seq]. The
     * seq queries of a sequence are at positions past.. (0 in forward); its keys and values
     * are the first past + seq of kv_rows rows (forward: seq; generation: the cache's
     * context). CACHE_APPEND: `count` columns of in's batch * seq rows (ld_k apart) to rows
     * past.. of each sequence's kv_rows in `out`. */
    Ref q, key, value, mask, out, scores;
    Size *ld_q, *ld_k, *ld_v, *ld_out, *batch, *seq, *heads, *kv_heads, *first_head, *first_kv;
    Size *past, *kv_rows;
    int64_t head_dim, kv_group; /* query heads per kv head */
    double scale;
    bool causal;

    /* ROPE_TABLE: table of the seq positions from `past`, rotary columns each, at theta */
    Ref table;
    int64_t rotary;
    double theta;
    int table_kernel;

    /* collectives and COPY: in -> out; count elements, or rows of split `split`; CHECK_IDS:
     * count ids in `in`, names[0] the ids' and names[1] the table's */
    Ref in;
    Size *count, *rows;
    int split;          /* index in Program.splits */
    int64_t limit;
    const char *names[2];

    /* LOOP */
    const Group *group;
    int group_index;    /* index in Program.groups */
    Step *body;         /* a list through next */
    Step *carry;        /* copies at the end of each block (carried values), a list */

    Step *next;
};

/* ---- tables -------------------------------------------------------------------------------- */

/* How the last dimension of a [rows, full] matrix is split: [nseg][tp] ranges, in the runtime's
 * TpcrtSplit order. */
typedef struct SplitTable {
    const char *name;
    int nseg;
    Range *ranges; /* [nseg * tp + r] */
    int64_t full;
} SplitTable;

/* The ranges each rank reads of one dimension of a stored tensor: [tp][nranges]. */
typedef struct RangeTable {
    const char *name;
    int nranges;
    Range *ranges; /* [r * nranges + i] */
} RangeTable;

/* ---- weights ------------------------------------------------------------------------------- */

/* One read of a stored tensor: the rank's slice of each dimension into the field at `offset`
 * with strides (element (o, i) of the slice to offset + o * strides[0] + i * strides[1]). */
typedef struct WeightRead {
    const Weight *tensor;   /* the checkpoint tensor: its name ("{i}": the block) and shape */
    int range_dim;          /* the dimension read in ranges (-1: whole) */
    int ranges;             /* its RangeTable (when range_dim >= 0) */
    Size *offset;
    Size *strides[2];
    float init_offset, init_scale; /* --random-weights: offset + scale * u, u in [-1, 1) */
} WeightRead;

/* A field of the weights: one tensor the forward reads, assembled from one read or, fused,
 * from one per part. */
typedef struct WeightField {
    const Weight *weight;
    const char *name;
    const Group *group;     /* NULL: top level */
    Size *elements;         /* this rank's (a block's, in a group) */
    WeightRead *reads;
    int nreads;
    bool bf16;              /* kept as bf16 [out, in] (Weight.bf16), else f32 */
} WeightField;

/* ---- the program --------------------------------------------------------------------------- */

typedef struct Buffer {
    const char *name;       /* by role: the first value's name, or what the values share */
    Size **terms;           /* the buffer holds the largest of these */
    int nterms;
} Buffer;

/* What --random-input makes for an input, and what a tokenizer fills it with (--prompt). */
typedef enum { RANDOM_NORMAL, RANDOM_IDS, RANDOM_ONES } RandomKind;
typedef enum { ROLE_NONE, ROLE_TOKENS, ROLE_TOKEN_TYPES, ROLE_MASK } InputRole;
typedef struct InputInfo {
    RandomKind random;
    int64_t id_limit;   /* RANDOM_IDS: ids are below it (the smallest table they index) */
    InputRole role;
} InputInfo;

/* ---- generation ---------------------------------------------------------------------------- */

/* State that lives across the steps of a generation: the KV cache (k after RoPE and v of the kv
 * heads a rank holds, per attention and block, [batch, context, width]) and attention's scores
 * scratch, sized for the longest step (the prompt). `elements` is per block, in the program's
 * symbols (batch, seq, context). */
typedef struct StateField {
    const char *name;
    const Group *group;     /* NULL: one (not in a weights group) */
    Size *elements;
    Size *per_position;     /* a cache's elements per position of one sequence; NULL: scratch */
} StateField;

/* Generation, derived from forward (docs/language.md, "Generation"): `step` computes seq new
 * tokens of each sequence at positions past.. past + seq - 1 (the prompt: past 0; then one at a
 * time), appending their k and v to the cache and reading the cache for attention. It ends
 * with this rank's columns [vocab_first, vocab_first + vocab_held) of the logits of every row in
 * `logits` (rows ld_logits apart), never gathered: the sampler works on them where they are. */
typedef struct Generation {
    Step *step;             /* a list through next */
    int tokens;             /* the input the new ids go to */
    int batch, seq, past, context; /* symbols */
    Vec(StateField) state;
    Ref logits;
    Size *ld_logits, *vocab_first, *vocab_held;
    int64_t vocab;
    int64_t positions;      /* the rows of a learned position table: the most positions; 0: none */
    bool last_only;         /* after the layers, the step computes each sequence's last position
                               only: its logits are batch rows, not batch * seq */
    Size *cache_per_position; /* elements of every cache per position of one sequence */
} Generation;

typedef struct Program {
    Graph *g;
    Arena *a;
    int tp;
    const char **symbols;   /* the name of each symbolic dimension: forward's, then generation's */
    int nsymbols;
    const char **inputs;    /* forward's name of each input */
    InputInfo *input_info;  /* of each input */
    Ref *outputs;           /* where each output is when forward returns (rank 0 writes it) */
    Vec(Buffer) buffers;
    Vec(WeightField) fields;
    Vec(const char *) groups; /* each group's struct tag, by Graph.groups index */
    Vec(Kernel *) kernels;  /* each once; Kernel.name is its name in the program */
    Vec(SplitTable) splits;
    Vec(RangeTable) ranges;
    Step *forward;          /* a list through next */
    Size *weight_elements;  /* every f32 weight this rank holds */
    Size *weight_elements_bf16; /* every bf16 weight (--dtype bf16); NULL: none */
    int attention_softmax;  /* the kernel every ATTENTION calls on a head's scores; -1: none */
    const char *kernel_prefix; /* --backend llvm: the kernels are NAME_kernels.o's, each linked as
                                  prefix + name, built for kernel_cpu; NULL: printed as C */
    const char *kernel_cpu;
    Generation *generation; /* NULL when the model cannot generate: */
    const char *no_generation; /* why (one line for the built program's --generate) */
    StrMap names;           /* every name given (lower.c) */
    StrMap suffixes;
} Program;

/* lower.c */
Program *lower_program(Graph *g);
const char *program_name(Program *p, const char *base); /* a fresh C name (lower.c's rules) */
const char *c_identifier(Arena *a, const char *name);   /* "wq|wk|wv" -> "wq_wk_wv" */
const char *value_name(const Value *v); /* the model's name for v, or what made it */

/* kernel_alias.c: KParam.noalias of every kernel, from every call */
void program_find_noalias(Program *p);

/* dump.c: the form as text, one step a line (tests/codegen) */
void program_dump(FILE *out, const Program *p);

/* print_c.c: the C file and the fingerprint of what it prints; for --target cuda (cuda), the
 * host's C, and NAME_kernels.cu (print_c_cuda.c) */
char *print_c(Program *p, const char *source_path, bool cuda, size_t *size);
char *print_cuda_kernels(Program *p, const char *source_path, size_t *size);
/* print_c_library.c: NAME.h, the library's header, and NAME_main.c, the executable's main */
char *print_library_header(Program *p, size_t *size);
char *print_library_main(Program *p, size_t *size);

#endif /* TPC_PROGRAM_H */
