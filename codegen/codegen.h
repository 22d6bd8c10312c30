/* codegen.h — what tpc emits from the sharded graph: the plan (JSON), the graph (Graphviz) and
 * the per-rank programs. Codegen decides nothing a pass could decide: it prints the plan it is
 * given. It sees ir.h only.
 */
#ifndef TPC_CODEGEN_H
#define TPC_CODEGEN_H

#include "ir.h"
#include "options.h"

/* ---- sharding_plan.c: --emit plan ------------------------------------------------------------ */
void emit_plan(FILE *out, Graph *g, const Options *opt);

/* ---- dot.c: --emit dot ------------------------------------------------------------------------- */
void emit_dot(FILE *out, Graph *g, int rank);

/* ---- program.c: the per-rank program (--target cpu): C with OpenBLAS and libtpcrt ------------- */
/* Writes OUTDIR/NAME.c and OUTDIR/Makefile; returns the C file's path, or NULL (reported). */
const char *emit_program(Graph *g, const Options *opt, const char *source_path);
/* --emit llvm: the kernels' LLVM IR, optimised for --cpu (print_kernel_llvm.c); false when
 * it could not be made (no nvcc for --target cuda's libdevice: reported) */
bool emit_kernels_llvm(FILE *out, Graph *g, const Options *opt);
/* --emit program: the per-rank program form (program.h) as text */
void emit_program_form(FILE *out, Graph *g);

/* ---- build.c: writing and building the program --------------------------------------------------- */
/* Runs make in the output folder (the Makefile emit_program wrote); false when it fails. */
bool build_program(Graph *g, const Options *opt, const char *c_path);
bool write_file(const char *path, const char *text, size_t size); /* whole or not at all */
bool write_makefile(Graph *g, const Options *opt);                 /* OUTDIR/Makefile */
bool write_makefile_cuda(Graph *g, const Options *opt);            /* --target cuda's */
bool check_program_name(const Graph *g); /* not a name make reads as a makefile (reported) */
const char *build_cflags(void); /* what the Makefile compiles and links with */
const char *build_libs(void);
/* --target cuda: nvcc's path (ptxas, fatbinary and nvvm/ are beside it), or NULL (reported) */
const char *build_find_nvcc(Arena *a);
/* Every architecture of --cuda-arch one this nvcc builds for (CUDA 13 dropped sm_70 and older;
 * sm_90a is checked as sm_90), from `nvcc --list-gpu-code`; else one line naming those it
 * builds for, and false. An nvcc that cannot list them is not checked. */
bool build_check_cuda_arch(Arena *a, const char *nvcc, const Options *opt);
/* --backend llvm --target cuda: the architecture the PTX is built for (sm_80) */
const char *build_ptx_arch(Arena *a, const Options *opt);

/* ---- size.c: sizes as a rank computes them, folded at compile time ------------------------------ */
/* A sum of terms, each a per-rank coefficient times a product of symbolic dimensions: what is
 * constant is folded here in 64 bits, so generated code never does arithmetic on two
 * constants (int arithmetic in C). No term has a zero coefficient on every rank; zero has none. */
enum { SIZE_MAX_SYMBOLS = 8 };
typedef struct SizeTerm {
    int nsyms;
    int syms[SIZE_MAX_SYMBOLS]; /* symbols of the graph, sorted */
    int64_t *coef;              /* [tp] */
} SizeTerm;
typedef struct Size {
    int tp, nterms;
    SizeTerm *terms;
    const char *name; /* what a printer calls a coefficient that differs by rank, or NULL */
} Size;
Size *size_number(Arena *a, int tp, int64_t n);
Size *size_per_rank(Arena *a, int tp, const int64_t *per_rank);
Size *size_symbol(Arena *a, int tp, int sym);
Size *size_add(Arena *a, const Size *x, const Size *y);
Size *size_mul(Arena *a, const Size *x, const Size *y);
Size *size_div(Arena *a, const Size *x, int64_t n); /* NULL unless every coefficient divides */
bool size_number_of(const Size *s, int64_t *n);     /* the same number on every rank? */
bool size_equal(const Size *x, const Size *y);
Size *size_named(Arena *a, const Size *s, const char *name); /* a copy called `name` */

/* ---- c_text.c: the one way user text and numbers reach generated C ---------------------------- */
const char *c_string(Arena *a, const char *bytes); /* a string literal, quotes included */
const char *c_comment(Arena *a, const char *text); /* text safe inside a comment of either kind */
const char *c_float(Arena *a, double v);           /* "1e-05f": reads back as (float)v exactly */
const char *c_double(Arena *a, double v);          /* "10000.0": reads back as v exactly */
void c_number(char *buf, size_t size, double v, bool f32); /* either, into buf (48 bytes do) */

/* ---- kernel_library.c: the kernels between GEMMs, in the loop-level form (kernel.h) ----------- */
struct Kernel;
/* An elementwise kernel computes a tree of elementwise ops over [rows, cols] of the output;
 * each leaf is read as rows of its own (stride ld: a view's rows are wider), as a vector over
 * the columns (a bias), one value per row, or a scalar. */
typedef enum { ARG_ROWS, ARG_VECTOR, ARG_PER_ROW, ARG_SCALAR } ElementArgKind;
typedef struct ElementArg {
    ElementArgKind kind;
    int param, ld_param;    /* set by the builder */
} ElementArg;
typedef struct ElementNode {
    OpKind op;                     /* an inner node: the op */
    int nargs;
    struct ElementNode *args[2];
    int leaf;                      /* >= 0: a leaf, by index */
} ElementNode;
struct Kernel *kernel_elementwise(Arena *a, const char *name, const ElementNode *tree,
                                  ElementArg *leaves, int nleaves);
struct Kernel *kernel_rmsnorm(Arena *a);
struct Kernel *kernel_layernorm(Arena *a);
struct Kernel *kernel_softmax(Arena *a);
struct Kernel *kernel_normalize(Arena *a);
struct Kernel *kernel_rope(Arena *a, RopeStyle style);
struct Kernel *kernel_rope_table(Arena *a);
struct Kernel *kernel_attention_softmax(Arena *a);
struct Kernel *kernel_embedding(Arena *a);
struct Kernel *kernel_positions(Arena *a);
struct Kernel *kernel_reduce(Arena *a, bool mean, bool masked);
struct Kernel *kernel_copy_columns(Arena *a);
struct Kernel *kernel_last_rows(Arena *a);
struct Kernel *kernel_fill_rows(Arena *a);
struct Kernel *kernel_add_rows(Arena *a);

#endif /* TPC_CODEGEN_H */
