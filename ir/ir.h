/* ir.h — tpc's graph IR, and the support every layer of the compiler shares.
 *
 * A Graph is one model's forward function in SSA form: a list of ops, each producing values
 * with a dtype, a shape (dimensions may be symbolic: `batch`, `seq`) and a layout slot the
 * sharding pass fills. A weights group stays one FOR op with a body, so the IR of an 80-layer
 * model is the size of a one-layer model's. Weights are values too (printed `@name`), and so
 * are compile-time scalars (printed as numbers).
 *
 * Sections: support (arena, arrays, diagnostics) — shapes and layouts — the graph — one section
 * per file of ir/ with what it exports.
 */
#ifndef TPC_IR_H
#define TPC_IR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ============================================================================================
 * Support
 * ============================================================================================ */

/* arena.c — one arena per compilation, freed at once. Allocations are zeroed; sizes are
 * overflow-checked; running out of memory is a fatal error, never a NULL. */
typedef struct Arena Arena;
Arena *arena_new(void);
void arena_free(Arena *arena);
void *arena_alloc(Arena *arena, size_t size);
void *arena_array(Arena *arena, size_t count, size_t elem_size);
char *arena_strndup(Arena *arena, const char *s, size_t n);
char *arena_strdup(Arena *arena, const char *s);
char *arena_printf(Arena *arena, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
size_t arena_bytes(const Arena *arena); /* bytes handed out so far */

/* Growable arrays in the arena: `Vec(Op *) ops;` then `vec_push(arena, &ops, op)`. The old
 * storage stays in the arena when it grows (it is freed with the arena). */
#define Vec(T)                                                                                     \
    struct {                                                                                       \
        T *items;                                                                                  \
        int len, cap;                                                                              \
    }
void vec_grow(Arena *arena, void **items, int *cap, int needed, size_t elem_size);
#define vec_push(arena, v, x)                                                                      \
    do {                                                                                           \
        if ((v)->len == (v)->cap)                                                                  \
            vec_grow((arena), (void **)&(v)->items, &(v)->cap, (v)->len + 1,                       \
                     sizeof(*(v)->items));                                                         \
        (v)->items[(v)->len++] = (x);                                                              \
    } while (0)

/* strmap.c — string keys to pointers, in the arena; keys are not copied. */
typedef struct StrMapEntry {
    const char *key;
    void *value;
} StrMapEntry;
typedef struct StrMap {
    Arena *arena;
    StrMapEntry *entries;
    size_t cap, len;
} StrMap;
void strmap_init(StrMap *m, Arena *arena);
void *strmap_get(const StrMap *m, const char *key); /* NULL when absent */
void strmap_put(StrMap *m, const char *key, void *value);

/* diag.c — diagnostics. A Loc is a byte range of a Source; line and column are computed only
 * when a message is printed. Errors print "file:line:col: error: message", the line and a
 * caret; after `limit` errors the compiler stops ("too many errors"). */
typedef struct Source {
    const char *path; /* as given, or "<command line>" */
    const char *text;
    size_t size;
} Source;

typedef struct Loc {
    const Source *src; /* NULL: no location */
    uint32_t start, end;
} Loc;

typedef struct Diag {
    FILE *out;
    int errors;
    int limit; /* 20 */
} Diag;

void diag_init(Diag *diag, FILE *out);
void diag_error(Diag *diag, Loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void diag_verror(Diag *diag, Loc loc, const char *fmt, va_list ap);
void diag_note(Diag *diag, Loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
bool diag_full(const Diag *diag); /* the error limit is reached: stop looking for more */
void loc_line_col(Loc loc, int *line, int *col);

/* tpc's own bugs: "internal error at passes/shard.c:212: ..." and abort. Never for input. */
_Noreturn void ir_internal_error(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define internal_error(...) ir_internal_error(__FILE__, __LINE__, __VA_ARGS__)
#define unreachable()       internal_error("unreachable")

/* ============================================================================================
 * Shapes and layouts
 * ============================================================================================ */

enum { MAX_DIMS = 8 };

typedef enum { DT_F32, DT_I32 } DType;

/* A dimension: a number, or a symbol bound at run time (`batch`, `seq`). Symbols are indices
 * into Graph.symbols; a symbolic dimension equals only itself. */
typedef struct Dim {
    int64_t size; /* when sym < 0 */
    int sym;      /* -1: a number */
} Dim;

typedef struct Shape {
    int rank; /* 0: a scalar */
    Dim dims[MAX_DIMS];
} Shape;

/* How a value is spread over the ranks (DESIGN.md, "Layouts").
 *   R  replicated: every rank holds all of it.
 *   S  split along `dim`: the dimension is `nseg` segments laid side by side (a fused q|k|v is
 *      3, anything else 1); every segment is split by itself, rank r holding the element range
 *      seg[s].ranks[r] of segment s (offsets within the segment, multiples of `unit`, a head of
 *      head_dim elements or 1). Ranges are balanced, may be uneven, and may overlap (GQA's kv
 *      heads, which several ranks read).
 *   P  partial: every rank holds a full-shaped tensor; the value is their sum. */
typedef enum { LAYOUT_NONE, LAYOUT_R, LAYOUT_S, LAYOUT_P } LayoutKind;

typedef struct Range {
    int64_t start, end; /* [start, end) */
} Range;

typedef struct Segment {
    int64_t size;  /* elements of the dimension in this segment (global) */
    Range *ranks;  /* [tp]: what each rank holds of it */
} Segment;

typedef struct Layout {
    LayoutKind kind;
    int dim;       /* S */
    int64_t unit;  /* S: elements per unit; a unit is never cut */
    int nseg;      /* S */
    Segment *seg;  /* S: [nseg] */
} Layout;

/* ============================================================================================
 * The graph
 * ============================================================================================ */

typedef enum {
#define OP(kind, name, min_args, max_args, shape_rule, layout_rule, flags) OP_##kind,
#include "ops.def"
#undef OP
    OP_COUNT
} OpKind;

typedef enum {
    SHAPE_NONE, SHAPE_UNARY, SHAPE_BROADCAST, SHAPE_LINEAR, SHAPE_MATMUL, SHAPE_EMBEDDING,
    SHAPE_POSITIONS, SHAPE_NORM, SHAPE_ROPE, SHAPE_ATTENTION, SHAPE_SPLIT, SHAPE_CONCAT, SHAPE_REDUCE,
} ShapeRule;

typedef enum {
    LRULE_OUTPUT, LRULE_LOOP, LRULE_YIELD, LRULE_PROJECTION, LRULE_EMBEDDING, LRULE_REPLICATED,
    LRULE_WHOLE_LAST, LRULE_LINEAR_MAP, LRULE_ELEMENTWISE, LRULE_BINARY, LRULE_HEADS,
    LRULE_ATTENTION, LRULE_SPLIT, LRULE_REDUCE, LRULE_FIXED,
} LayoutRule;

enum {
    OPF_TERMINATOR  = 1 << 0, /* ends a block */
    OPF_REGION      = 1 << 1, /* has a body */
    OPF_GEMM        = 1 << 2, /* a matrix product with a weight: the vendor library's */
    OPF_ELEMENTWISE = 1 << 3,
    OPF_COLLECTIVE  = 1 << 4,
    OPF_ROWS        = 1 << 5, /* reads its arguments as rows with a stride: a split's piece is
                                 read in place, as columns of the split value's buffer */
    OPF_INPLACE     = 1 << 6, /* may write its result over an argument that dies there */
    OPF_MAP         = OPF_ELEMENTWISE | OPF_ROWS | OPF_INPLACE, /* every elementwise op */
};

typedef struct OpInfo {
    const char *name;
    int min_args, max_args;
    ShapeRule shape_rule;
    LayoutRule layout_rule;
    unsigned flags;
} OpInfo;
extern const OpInfo op_info[OP_COUNT];

/* A sharding hint on a call: `linear(h, l.wq) @col`. */
typedef enum { HINT_NONE, HINT_COL, HINT_ROW, HINT_REPLICATED } Hint;

/* How a projection (linear, matmul) or an embedding is split, chosen by the sharding pass:
 *   REPLICATED  every rank holds the whole weight and computes the whole result;
 *   COLUMN      the weight's output dimension is split: R in, S out (Megatron's
 *               ColumnParallelLinear; for an embedding, the embedding dimension);
 *   ROW         the weight's input dimension is split: S in, P out (RowParallelLinear; for an
 *               embedding, the vocabulary: VocabParallelEmbedding). */
typedef enum { PAR_REPLICATED, PAR_COLUMN, PAR_ROW } Parallel;

typedef struct Group Group;
typedef struct Weight Weight;
typedef struct Op Op;
typedef struct Value Value;
typedef struct Block Block;

/* A weight as the checkpoint stores it. fuse-projections makes two kinds of segmented weight,
 * whose output dimension `segment_dim` is made of pieces that are split over the ranks each by
 * itself: a fusion of several checkpoint tensors laid side by side (q|k|v, gate|up: `parts`),
 * and one checkpoint tensor that a `split` cuts into pieces (GPT-2's c_attn). */
struct Weight {
    const char *name;       /* "wq"; fused: "wq|wk|wv" */
    const char *checkpoint; /* "model.layers.{i}.self_attn.q_proj.weight"; NULL when fused */
    Shape shape;            /* as stored; numbers only */
    Group *group;           /* the group it belongs to, or NULL */
    Loc loc;
    Weight **parts;         /* fused: the checkpoint tensors, in order along segment_dim */
    int nparts;
    int64_t *segments;      /* sizes of the pieces along segment_dim; NULL: one piece */
    int nsegments;
    int segment_dim;        /* 0 for linear's [out, in] and for biases, 1 for matmul's [in, out] */
    Layout layout;          /* set by shard: the slice of the stored tensor each rank holds */
    bool used;              /* an op reads it (directly, not only as a part) */
    Value *value;           /* the value ops read it through */
    Weight *clone_of;       /* a second copy with another slice, for a second use */
    bool stored_in_out;     /* set by weight-layout: the program keeps it [in, out] (a linear's
                               weight transposed as it is loaded), not as the checkpoint does */
    bool bf16;              /* set by weight-layout (--dtype bf16): kept as bf16, [out, in]
                               whatever the checkpoint's layout (a matmul's transposed) */
};

/* `layer[layers] { ... }`: `count` blocks of the same weights; "{i}" in a checkpoint name is
 * the block's index. */
struct Group {
    const char *name;
    int64_t count;
    Vec(Weight *) weights;
    Loc loc;
};

typedef enum {
    VAL_RESULT, /* the result of an op */
    VAL_INPUT,  /* an input of forward */
    VAL_PARAM,  /* a block parameter: a value carried from one iteration of a loop to the next */
    VAL_WEIGHT, /* a weight, @name */
    VAL_CONST,  /* a compile-time scalar */
} ValueKind;

struct Value {
    ValueKind kind;
    int slot;         /* the activation buffer it lives in (memory plan), or -1 */
    Value *view_of;   /* a view: columns of another value's buffer (a split's piece), or NULL */
    int64_t *view_offset; /* [tp]: where the view's columns start in each of view_of's rows */
    int id;           /* %id; numbered when printed */
    DType dtype;
    Shape shape;
    Layout layout;    /* set by shard */
    const char *name; /* the source's name for it (x, h, q), for the printer and codegen */
    Op *def;          /* VAL_RESULT: the op; VAL_PARAM: the FOR op */
    int index;        /* which result of def, or which parameter */
    Weight *weight;   /* VAL_WEIGHT */
    double constant;  /* VAL_CONST */
    int uses;
    Loc loc;
};

typedef enum { ROPE_NEOX, ROPE_GPTJ } RopeStyle;

/* Attributes of ops; each op uses the ones its kind needs. */
typedef struct Attrs {
    int64_t heads, kv_heads;  /* rope, attention */
    int64_t rotary_dim;       /* rope: 0 means the whole head */
    RopeStyle rope_style;
    double theta;             /* rope */
    double eps;               /* rmsnorm, layernorm */
    double scale;             /* attention, when has_scale */
    bool has_scale, causal;
    int dim;                  /* mean, sum: the dimension reduced (from 0) */
    int64_t *sizes;           /* split: sizes along the last dimension */
    int nsizes;
    Hint hint;
    Parallel parallel;        /* linear, matmul, embedding: set by shard */
    bool gather_output;       /* a column-parallel projection whose output the naive plan
                                 gathers at once (Megatron's ColumnParallelLinear) */
    bool to_root;             /* all_gather, all_reduce: only rank 0 needs the result */
    bool inlined;             /* computed inside its one user's kernel (fuse-elementwise): an
                                 elementwise op in a chain, or a GEMM whose sum with a residual
                                 is its epilogue */
    bool once;                /* a partial sum that adds a replicated term (P + R, a bias of a
                                 row-parallel projection): rank 0 alone adds it, so it is counted
                                 once (set by collectives) */
} Attrs;

struct Op {
    OpKind kind;
    Loc loc;
    Value **args;
    int nargs;
    Value **results;
    int nresults;
    Attrs attrs;
    Group *group;     /* FOR: the weights group it runs over */
    Block *body;      /* FOR */
    Block *block;     /* the block holding this op */
    Op *prev, *next;
    int order;        /* position in its block, set by ir_number_ops */
    int scratch;      /* a buffer the op needs while it runs (memory plan), or -1 */
};

/* A list of ops. A FOR body's params are the values carried across iterations: param i starts
 * as the FOR's arg i and becomes the body's YIELD arg i; the FOR's results are the YIELD's args
 * after the last iteration (carried values first, then values first bound in the body). */
struct Block {
    Op *first, *last;
    Value **params;
    int nparams;
    Op *parent; /* the FOR owning it, or NULL for the graph's top block */
};

/* The static memory plan (passes/memory.c): activation buffers reused by liveness. A slot's
 * size is the largest of its terms, each a product of symbolic dimensions (bound when the
 * program learns its inputs' shapes) and a number of elements that may differ by rank. */
typedef struct SlotTerm {
    int nsyms;
    int syms[2 * MAX_DIMS];  /* symbol indices, with repeats (seq * seq) */
    int64_t *per_rank;       /* [tp] elements, times the symbols */
} SlotTerm;

typedef struct Slot {
    Vec(SlotTerm) terms;
} Slot;

/* The cost model's estimate of one forward on one rank (passes/cost.c), for the plan. */
typedef struct Estimate {
    int64_t batch, seq;             /* the workload: every symbolic dimension is one of these */
    double seconds;                 /* per forward, on the average rank */
    double compute_seconds, collective_seconds;
} Estimate;

typedef struct Graph {
    Arena *arena;
    const char *name;       /* model NAME */
    Loc name_loc;
    const Source *src;
    Vec(const char *) symbols; /* symbolic dimension names */
    Vec(Value *) inputs;
    Vec(const char *) output_names;
    Vec(Weight *) weights;  /* top-level weights and every group's, in declaration order */
    Vec(Group *) groups;
    Block *top;
    int tp;                 /* ranks; 1 until the sharding pass */
    bool sharded;           /* every value and used weight has a layout */
    bool converted;         /* the collectives are ops: each op reads its arguments in the
                               layouts its rule needs (set and cleared by passes/collectives.c) */
    Estimate estimate;      /* set by shard, updated by collectives and elide */
    Vec(Slot) slots;        /* set by plan-memory */
    int next_id;
} Graph;

/* graph.c — building and editing. Builders record; they check nothing (sema and the verifier
 * do). */
Graph *ir_graph_new(Arena *arena, const char *name);
Block *ir_block_new(Graph *g, Op *parent);
Op *ir_op_new(Graph *g, OpKind kind, Loc loc, Value **args, int nargs, int nresults);
void ir_op_append(Block *b, Op *op);
void ir_op_insert_before(Op *before, Op *op);
void ir_op_insert_after(Op *after, Op *op);
void ir_op_remove(Op *op);
void ir_op_set_arg(Op *op, int i, Value *v);
Value *ir_value_new(Graph *g, ValueKind kind, DType dtype, Shape shape);
Value *ir_const(Graph *g, double constant);
Value *ir_weight_value(Graph *g, Weight *w);
void ir_replace_uses(Block *b, Value *from, Value *to); /* in b and the blocks inside it */
void ir_number_ops(Block *b);                            /* sets Op.order, in nested blocks too */
/* Is v defined (and in scope) at `use`? Needs ir_number_ops. */
bool ir_visible(const Value *v, const Op *use);
int ir_symbol(Graph *g, const char *name);                /* interned */
/* Removes ops whose results nothing reads, and loop results nothing reads after the loop. */
void ir_remove_dead(Graph *g);
/* Who reads what: every value's readers, by Value.id, which ir_users numbers (inputs, then each
 * op's results and each loop's parameters in walk order). Weights and scalars are not listed.
 * The table is valid until the graph changes. */
typedef struct Use {
    Op *op;
    int arg;
} Use;
typedef struct Users {
    int nvalues;
    struct UseList {
        Use *items;
        int len, cap;
    } *of; /* [nvalues] */
} Users;
Users ir_users(Graph *g);
/* The op reading v, when exactly one op reads it (once); else NULL. */
Op *ir_only_user(const Users *users, const Value *v);
/* Can argument i of `add` be computed by its GEMM accumulating into the sum (an epilogue: the
 * other term is copied into the sum's buffer, then the GEMM adds with beta = 1)? Argument i
 * must be a linear or matmul with a weight, read by this add alone, in the add's block, and
 * both terms must have the sum's shape. Layouts are the caller's to check. */
bool ir_gemm_epilogue(const Users *users, const Op *add, int i);

/* A linear or matmul whose weight is a declared weight: a projection the sharding pass splits
 * (a product of two activations is not). */
bool ir_is_projection(const Op *op);
/* The dimension of a projection's weight that holds its outputs: 0 for linear's [out, in], 1
 * for matmul's [in, out]; the other holds its inputs. */
int ir_weight_out_dim(const Op *op);
/* Ops of the graph, those of loop bodies included. */
int64_t ir_count_ops(Graph *g);
/* Sets Weight.used from the ops that read each weight. */
void ir_mark_used_weights(Graph *g);
/* Puts w into g->weights right after `after` (so groups stay together when printed). */
void ir_weight_insert_after(Graph *g, Weight *after, Weight *w);
/* Every op of `root` and of the bodies inside it, each FOR before its body:
 *   for (Op *op = root->first; op; op = ir_walk_next(op, root)) */
Op *ir_walk_next(const Op *op, const Block *root);

/* shape.c — the shape rule of every op: sema reports its message at the call, the verifier
 * re-checks. `why` gets a message when the rule fails. */
bool shape_equal(const Shape *a, const Shape *b);
bool dim_equal(Dim a, Dim b);
Shape shape_of(int rank, const int64_t *sizes);
bool shape_broadcast(const Shape *a, const Shape *b, Shape *out);
/* Fills out[0..nresults) and *dtype, or explains in `why`. */
bool shape_infer(const Graph *g, const Op *op, Shape *out, DType *dtype, char *why,
                 size_t why_size);
int64_t shape_elements(const Shape *s); /* -1 when a dimension is symbolic */
char *shape_str(const Graph *g, const Shape *s, char *buf, size_t size); /* "[batch,seq,4096]" */
const char *dtype_name(DType t);

/* layout.c — the layout type: constructors, comparison, printing. */
Layout layout_replicated(void);
Layout layout_partial(void);
/* S(dim): `sizes` of nseg segments, each split evenly over tp ranks in whole units (a head
 * never cut); uneven counts give the first ranks one unit more. */
Layout layout_split_even(Arena *a, int tp, int dim, int64_t unit, int nseg, const int64_t *sizes);
/* What rank `rank` holds when `units` units of `unit` elements are split evenly over tp ranks
 * (the first units % tp ranks one more), in elements. */
Range layout_even_range(int64_t units, int tp, int rank, int64_t unit);
bool layout_equal(const Layout *a, const Layout *b, int tp);
int64_t layout_local_size(const Layout *l, int rank); /* elements of the split dim on a rank */
char *layout_str(const Layout *l, char *buf, size_t size); /* "R", "P", "S(2)" */
/* The ranges rank r holds, "[0:2752]" or "[0:512, 4096:4224, 5120:5248]" for segments. */
char *layout_ranges_str(const Layout *l, int rank, char *buf, size_t size);
/* Bytes rank `rank` sends in one collective over a value of `full_bytes`, by the ring
 * algorithms (nccl-tests' convention). Rank s holds part[s] bytes of the split side (an
 * all-gather's input, a reduce-scatter's output); `part` has tp entries, or 1 when every rank
 * holds as much. The cost model and the plan both count bytes with it. */
double layout_collective_bytes(OpKind kind, bool to_root, double full_bytes, const double *part,
                               int nparts, int tp, int rank);

/* print.c — one op a line, stable for FileCheck. `rank` chooses whose weight slices to show. */
void ir_print(FILE *out, Graph *g, int rank);
int ir_print_string(FILE *out, const char *s); /* "a\"b": a name shown quoted, controls as \xNN */
/* A double in the shortest of %.15g, %.16g and %.17g that reads back as the same number:
 * "1e-05", "0.1", "1234567.5" (%g's six digits would print 1.23457e+06). */
const char *double_str(double x, char *buf, size_t size);

/* verify.c — the IR's invariants: arity, SSA (defined before used, in scope), shapes against
 * their rules, layouts consistent once set. Returns false and reports after the named pass. */
bool ir_verify(Graph *g, const char *after_pass, FILE *err);

#endif /* TPC_IR_H */
