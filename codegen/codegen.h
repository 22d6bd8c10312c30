/* codegen.h — what tpc emits from the sharded graph: the plan (JSON), the graph (Graphviz) and
 * the per-rank programs. Codegen decides nothing a pass could decide: it prints the plan it is
 * given. It sees ir.h only.
 */
#ifndef TPC_CODEGEN_H
#define TPC_CODEGEN_H

#include "ir.h"

/* ---- plan.c: --emit plan ----------------------------------------------------------------------- */
void emit_plan(FILE *out, Graph *g, const Options *opt);

/* ---- dot.c: --emit dot ------------------------------------------------------------------------- */
void emit_dot(FILE *out, Graph *g, int rank);

/* ---- program.c: the per-rank program (--target cpu): C with OpenBLAS and libtpcrt ------------- */
/* Writes OUTDIR/NAME.c and OUTDIR/Makefile; returns the C file's path, or NULL (reported). */
const char *emit_program(Graph *g, const Options *opt, const char *source_path);

/* ---- build.c: building what emit_program wrote --------------------------------------------------- */
/* Runs make in the output folder (the Makefile emit_program wrote); false when it fails. */
bool build_program(Graph *g, const Options *opt, const char *c_path);
const char *build_cflags(void); /* what the Makefile compiles and links with */
const char *build_libs(void);

/* ---- kernels.c: the kernels between GEMMs, in the loop-level form (kernel.h) ------------------ */
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
struct Kernel *kernel_fill_rows(Arena *a);
struct Kernel *kernel_add_rows(Arena *a);

#endif /* TPC_CODEGEN_H */
