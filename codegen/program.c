/* program.c — the per-rank program for --target cpu: one C file with the code of every rank,
 * which picks its part by its MPI rank, linked with OpenBLAS and libtpcrt.
 *
 * The file reads like a forward function written by hand (llm.c's gpt2_forward): a Weights
 * struct with a pointer per weight (a group's as an array of per-block structs, never
 * unrolled), one allocation carved into them, the memory plan's activation buffers allocated
 * once, and `forward` with each IR statement as a comment above the code that computes it.
 * Sizes a rank holds are numbers where every rank holds the same, and fields of rank_sizes[]
 * where they differ (uneven splits). Everything here prints what the passes decided.
 *
 * Sections of this file follow the output's: names and sizes, kernels, tables, weights,
 * buffers, forward, main.
 */
#include "codegen.h"
#include "kernel.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct RankSize { /* a size that differs by rank: a field of RankSizes */
    const char *name;
    int64_t *per_rank;
} RankSize;

typedef struct KernelText {
    const char *key;  /* the kernel printed under a placeholder name */
    const char *name;
    const char *text;
} KernelText;

typedef struct Emitter {
    Graph *g;
    Arena *a;
    const Options *opt;
    int tp;
    FILE *out;              /* forward()'s text while it is built */
    Vec(RankSize) sizes;
    Vec(KernelText) kernels;
    Vec(const char *) tables; /* static tables, printed before forward */
    StrMap used_names;     /* every name of the file's one scope of names (fixed_names first) */
    StrMap next_suffix;    /* stem -> the next number unique_name tries */
    StrMap size_names;     /* per-rank sizes ("12,12,11") -> their RankSize */
    StrMap group_structs;  /* group name -> its struct's tag */
    const char **slot_names;
    const char **symbol_names; /* by symbol: forward's and allocate_buffers' local */
    const char **input_names;  /* by input: forward's local */
    const char *attention_softmax; /* the attention launcher's kernel, or NULL when unused */
} Emitter;

static const char *cols_expr(Emitter *e, const Value *v);
static const char *rows_expr(Emitter *e, const Value *v);

/* ---- names ------------------------------------------------------------------------------------ */

/* Names the generated file defines or calls at file scope: its own functions, tables and
 * macros, the prelude's math (kernel_print_c_prelude) and the C library's functions its code
 * calls (an op's name, `exp`, would make a kernel that clashes with math.h's). unique_name
 * never gives a model's name one of these: emit_program marks them used first. */
static const char *const fixed_names[] = {
    /* the program's own */
    "TP", "RankSizes", "rank_sizes", "RANK_SIZES", "Weights",
    "load_weights", "weight_elements", "BUFFERS", "largest", "buffer_elements", "linear_rows", "matmul_rows",
    "attention", "forward", "inputs", "outputs", "program", "main",
    /* the prelude's */
    "tpc_maxf", "tpc_minf", "tpc_expf", "tpc_tanhf", "tpc_erff", "tpc_rsqrtf",
    /* the C library's: what forward and kernels call, and math.h's functions named like ops */
    "memcpy", "snprintf", "sqrtf", "floorf", "fabsf", "sinf", "cosf", "powf", "expf",
    "tanhf", "erff", "exp", "tanh", "erf", "sqrt", "sin", "cos", "pow", "fmax", "fmin", "fabs",
    "div", "abs", "log", "logf"};

/* Names a model's name must not take in C: keywords (GNU C's too), the types and macros of the
 * headers the file includes (macros are called in capitals, but for these), the names GCC
 * predefines in GNU modes (`linux` is 1), and the parameters and locals of the functions where
 * model names are locals too (forward; buffer_elements and main, which declare the symbolic
 * dimensions). Any name in capitals may be some header's macro (EOF, NAN, M_PI): reserved
 * too. A reserved name is given a trailing '_'. */
static bool reserved(const char *s)
{
    static const char *const words[] = {
        "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else",
        "enum", "extern", "float", "for", "goto", "if", "int", "long", "register", "return",
        "short", "signed", "sizeof", "static", "struct", "switch", "typedef", "union",
        "unsigned", "void", "volatile", "while", "inline", "restrict", "asm", "typeof",
        "alignas", "alignof", "noreturn", "thread_local", "static_assert", "complex",
        "imaginary", "int64_t", "int32_t", "uint64_t", "uint32_t", "int8_t", "uint8_t",
        "int16_t", "uint16_t", "intptr_t", "uintptr_t", "size_t", "ptrdiff_t", "bool", "true",
        "false", "stdin", "stdout", "stderr", "errno", "assert", "offsetof", "isnan", "isinf",
        "isfinite", "isnormal", "signbit", "fpclassify", "isgreater", "isgreaterequal",
        "isless", "islessequal", "islessgreater", "isunordered", "math_errhandling", "alloca",
        "unix", "linux", "i386", "va_list", "va_start", "va_arg", "va_end", "FILE",
        /* forward's parameters and locals */
        "w", "buf", "in", "dims", "rank", "rs", "l", "i",
        /* buffer_elements' and main's */
        "elements", "block", "k", "args", "src", "bound", "times", "tokens", "collectives",
        "start", "argc", "argv"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (!strcmp(s, words[i]))
            return true;
    bool lower = false;
    for (const char *p = s; *p; p++)
        lower |= *p >= 'a' && *p <= 'z';
    if (!lower)
        return true;
    /* the runtime's names, BLAS's and MPI's */
    static const char *const prefixes[] = {"tpcrt_", "Tpcrt", "TPCRT_", "cblas_", "Cblas",
                                           "CBLAS_", "MPI_", "mpi_", "PMPI_", "ompi_", "OMPI_"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (!strncmp(s, prefixes[i], strlen(prefixes[i])))
            return true;
    return false;
}

/* A C identifier from an IR name: "wq|wk|wv" -> "wq_wk_wv", "x.3" -> "x_3". */
static char *c_name(Arena *a, const char *name)
{
    char *s = arena_strdup(a, name && *name ? name : "t");
    for (char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
            *p = '_';
    if ((s[0] >= '0' && s[0] <= '9') || s[0] == '_') /* '_' and a capital: the compiler's */
        s = arena_printf(a, "t%s", s);
    if (reserved(s))
        s = arena_printf(a, "%s_", s);
    return s;
}

/* A name not used yet in the file's scope of names: base, base_2, base_3, ... (the next number
 * to try for each base is remembered, so a thousand rebindings of x cost a thousand steps). */
static const char *unique_name(Emitter *e, const char *base)
{
    const char *stem = c_name(e->a, base), *name = stem;
    intptr_t n = (intptr_t)strmap_get(&e->next_suffix, stem);
    if (!n)
        n = 2;
    while (strmap_get(&e->used_names, name))
        name = arena_printf(e->a, "%s_%" PRIdPTR, stem, n++);
    strmap_put(&e->next_suffix, stem, (void *)n);
    strmap_put(&e->used_names, name, (void *)name);
    return name;
}

static const char *symbol_name(const Emitter *e, int sym)
{
    return e->symbol_names[sym];
}

/* The names fixed before any model name: the file's own (fixed_names), then the symbolic
 * dimensions and the inputs, which forward declares before its buffers. */
static void name_fixed(Emitter *e)
{
    for (size_t i = 0; i < sizeof fixed_names / sizeof fixed_names[0]; i++)
        strmap_put(&e->used_names, fixed_names[i], (void *)fixed_names[i]);
    Graph *g = e->g;
    e->symbol_names = arena_array(e->a, (size_t)g->symbols.len + 1, sizeof *e->symbol_names);
    for (int i = 0; i < g->symbols.len; i++)
        e->symbol_names[i] = unique_name(e, g->symbols.items[i]);
    e->input_names = arena_array(e->a, (size_t)g->inputs.len + 1, sizeof *e->input_names);
    for (int i = 0; i < g->inputs.len; i++)
        e->input_names[i] = unique_name(e, g->inputs.items[i]->name);
}

/* A weight's field in Weights: its name, and a second copy of it (another slice of the same
 * tensor, for a second use) its name with "_copy". */
static const char *weight_field(Emitter *e, const Weight *w)
{
    return w->clone_of ? arena_printf(e->a, "%s_copy", c_name(e->a, w->name)) : c_name(e->a, w->name);
}

/* How the forward code reaches a weight: w->embed, or l->wq_wk_wv inside its group's loop. */
/* "LayerWeights" for group "layer": the struct of one block's weights. */
static const char *group_struct(Emitter *e, const Group *grp)
{
    const char *known = strmap_get(&e->group_structs, grp->name);
    if (known)
        return known;
    char *name = c_name(e->a, grp->name);
    if (name[0] >= 'a' && name[0] <= 'z')
        name[0] = (char)(name[0] - 'a' + 'A');
    const char *tag = unique_name(e, arena_printf(e->a, "%sWeights", name));
    strmap_put(&e->group_structs, grp->name, (void *)tag);
    return tag;
}

static const char *weight_ref(Emitter *e, const Weight *w)
{
    return arena_printf(e->a, "%s->%s", w->group ? "l" : "w", weight_field(e, w));
}

/* What a value is called in the program: its name in the model, or for one the model did not
 * name, what made it (the weight of a projection: "wo" for linear(a, l.wo); else the op). */
static const char *display_name(const Value *v)
{
    if (v->kind == VAL_WEIGHT)
        return v->weight->name;
    if (v->name)
        return v->name;
    const Op *op = v->def;
    if (v->kind == VAL_RESULT && op->kind == OP_SPLIT) { /* a piece of wq|wk|wv is "wq" */
        const Value *in = op->args[0];
        if (in->kind == VAL_RESULT && (op_info[in->def->kind].flags & OPF_GEMM) &&
            in->def->args[1]->kind == VAL_WEIGHT && in->def->args[1]->weight->nparts > v->index)
            return in->def->args[1]->weight->parts[v->index]->name;
    }
    if (v->kind == VAL_RESULT && (op_info[op->kind].flags & OPF_GEMM) &&
        op->args[1]->kind == VAL_WEIGHT)
        return op->args[1]->weight->name;
    return v->kind == VAL_RESULT ? op_info[op->kind].name : "t";
}

/* ---- sizes ------------------------------------------------------------------------------------- */

/* A number, when every rank holds as much; else a field of rank_sizes[] named after `name`. */
static const char *rank_size(Emitter *e, const char *name, const int64_t *per_rank)
{
    bool same = true;
    for (int r = 1; r < e->tp; r++)
        same &= per_rank[r] == per_rank[0];
    if (same)
        return arena_printf(e->a, "%" PRId64, per_rank[0]);
    char *key = arena_strdup(e->a, "");
    for (int r = 0; r < e->tp; r++)
        key = arena_printf(e->a, "%s%" PRId64 ",", key, per_rank[r]);
    const char *known = strmap_get(&e->size_names, key);
    if (known)
        return known;
    RankSize s = {unique_name(e, name), arena_array(e->a, (size_t)e->tp, sizeof(int64_t))};
    memcpy(s.per_rank, per_rank, sizeof(int64_t) * (size_t)e->tp);
    vec_push(e->a, &e->sizes, s);
    const char *ref = arena_printf(e->a, "rs->%s", s.name);
    strmap_put(&e->size_names, key, (void *)ref);
    return ref;
}

/* A size as C: "batch * seq * 4096", "rs->wq_rows" (a coefficient that differs by rank is a
 * field of rank_sizes[], named after `name`), "2 * seq + rs->k_at". */
static const char *size_c(Emitter *e, const Size *s, const char *name)
{
    const char *text = NULL;
    for (int i = 0; i < s->nterms; i++) {
        const SizeTerm *t = &s->terms[i];
        const char *term = NULL;
        for (int k = 0; k < t->nsyms; k++)
            term = term ? arena_printf(e->a, "%s * %s", term, symbol_name(e, t->syms[k]))
                        : symbol_name(e, t->syms[k]);
        const char *coef = rank_size(e, name, t->coef);
        if (!term)
            term = coef;
        else if (strcmp(coef, "1"))
            term = arena_printf(e->a, "%s * %s", term, coef);
        text = text ? arena_printf(e->a, "%s + %s", text, term) : term;
    }
    return text ? text : "0";
}

/* Dimension d of v as this rank holds it (a weight as it was loaded). */
static Size *dim_size(Emitter *e, const Value *v, int d)
{
    Dim dim = v->shape.dims[d];
    const Layout *l = v->kind == VAL_WEIGHT ? &v->weight->layout : &v->layout;
    if (dim.sym >= 0)
        return size_symbol(e->a, e->tp, dim.sym);
    if (l->kind != LAYOUT_S || l->dim != d)
        return size_number(e->a, e->tp, dim.size);
    int64_t *per_rank = arena_array(e->a, (size_t)e->tp, sizeof(int64_t));
    for (int r = 0; r < e->tp; r++)
        per_rank[r] = layout_local_size(l, r);
    return size_per_rank(e->a, e->tp, per_rank);
}

/* The product of dims [from, to) of v. */
static Size *dims_size(Emitter *e, const Value *v, int from, int to)
{
    Size *s = size_number(e->a, e->tp, 1);
    for (int d = from; d < to; d++)
        s = size_mul(e->a, s, dim_size(e, v, d));
    return s;
}

static Size *cols_size(Emitter *e, const Value *v)
{
    return v->shape.rank ? dim_size(e, v, v->shape.rank - 1) : size_number(e->a, e->tp, 1);
}

static const char *dim_expr(Emitter *e, const Value *v, int d)
{
    return size_c(e, dim_size(e, v, d), display_name(v));
}

static const char *dims_expr(Emitter *e, const Value *v, int from, int to)
{
    return size_c(e, dims_size(e, v, from, to), arena_printf(e->a, "%s_size", display_name(v)));
}

static const char *rows_expr(Emitter *e, const Value *v)
{
    return size_c(e, dims_size(e, v, 0, v->shape.rank - 1),
                  arena_printf(e->a, "%s_rows", display_name(v)));
}

static const char *cols_expr(Emitter *e, const Value *v)
{
    return size_c(e, cols_size(e, v), display_name(v));
}

static const char *elements_expr(Emitter *e, const Value *v)
{
    return size_c(e, dims_size(e, v, 0, v->shape.rank),
                  arena_printf(e->a, "%s_elements", display_name(v)));
}

/* Which input of forward v is. */
static int input_index(const Graph *g, const Value *v)
{
    for (int i = 0; i < g->inputs.len; i++)
        if (g->inputs.items[i] == v)
            return i;
    internal_error("'%s' is not an input", v->name ? v->name : "?");
}

/* The buffer holding v: an activation slot or an input. */
static const char *buffer(Emitter *e, const Value *v)
{
    if (v->kind == VAL_WEIGHT)
        return weight_ref(e, v->weight);
    if (v->kind == VAL_INPUT)
        return e->input_names[input_index(e->g, v)];
    if (v->slot < 0)
        internal_error("value without a buffer");
    if (v->dtype == DT_I32) /* buffers are float; ids made in the forward are i32 */
        return arena_printf(e->a, "(int32_t *)%s", e->slot_names[v->slot]);
    if (v->view_of) { /* columns of a wider value's rows */
        const char *offset = rank_size(e, arena_printf(e->a, "%s_at", display_name(v)),
                                       v->view_offset);
        return strcmp(offset, "0") ? arena_printf(e->a, "%s + %s", e->slot_names[v->slot], offset)
                                   : e->slot_names[v->slot];
    }
    return e->slot_names[v->slot];
}

/* The distance between v's rows: its columns, or for a view those of the value it is in. */
static const char *ld_expr(Emitter *e, const Value *v)
{
    return cols_expr(e, v->view_of ? v->view_of : v);
}

/* ---- kernels ---------------------------------------------------------------------------------- */

static char *print_kernel(Kernel *k)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    if (!f)
        internal_error("open_memstream: %s", strerror(errno));
    kernel_print_c(f, k);
    fclose(f);
    return text;
}

/* The name of kernel k in the program: the same kernel built twice is printed once. */
static const char *use_kernel(Emitter *e, Kernel *k)
{
    const char *base = k->name;
    k->name = "KERNEL";
    char *key = print_kernel(k);
    for (int i = 0; i < e->kernels.len; i++) {
        if (!strcmp(e->kernels.items[i].key, key)) {
            free(key);
            return e->kernels.items[i].name;
        }
    }
    k->name = unique_name(e, base);
    char *text = print_kernel(k);
    KernelText t = {arena_strdup(e->a, key), k->name, arena_strdup(e->a, text)};
    free(key);
    free(text);
    vec_push(e->a, &e->kernels, t);
    return t.name;
}

/* ---- tables of ranges --------------------------------------------------------------------------- */

static void add_table(Emitter *e, const char *text)
{
    vec_push(e->a, &e->tables, text);
}

/* A TpcrtSplit of v's split (last) dimension, in columns of [rows, cols * inner]. */
static const char *split_table(Emitter *e, const Value *v)
{
    const Layout *l = &v->layout;
    int64_t inner = 1;
    for (int d = l->dim + 1; d < v->shape.rank; d++) {
        if (v->shape.dims[d].sym >= 0)
            internal_error("a split of a dimension before a symbolic one");
        inner *= v->shape.dims[d].size;
    }
    const char *name = unique_name(e, arena_printf(e->a, "%s_split", display_name(v)));
    char *text = arena_printf(e->a, "static const TpcrtRange %s_ranges[] = {", name);
    int64_t offset = 0, full = 0;
    for (int s = 0; s < l->nseg; s++) {
        for (int r = 0; r < e->tp; r++) {
            Range range = l->seg[s].ranks[r];
            text = arena_printf(e->a, "%s%s{%" PRId64 ", %" PRId64 "}", text, s || r ? ", " : "",
                                (offset + range.start) * inner, (offset + range.end) * inner);
        }
        offset += l->seg[s].size;
    }
    full = offset * inner;
    text = arena_printf(e->a, "%s};\nstatic const TpcrtSplit %s = {%d, %s_ranges, %" PRId64 "};\n",
                        text, name, l->nseg, name, full);
    add_table(e, text);
    return name;
}

/* ---- forward: one statement per op --------------------------------------------------------- */

static void line(Emitter *e, int depth, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void line(Emitter *e, int depth, const char *fmt, ...)
{
    fprintf(e->out, "%*s", 4 * depth, "");
    va_list ap;
    va_start(ap, fmt);
    vfprintf(e->out, fmt, ap);
    va_end(ap);
    fputc('\n', e->out);
}

static void comment_arg(Emitter *e, const Value *v);

/* "// h = rmsnorm(x, @layer.attn_norm)   [batch, seq, 4096] R": the statement, its shape and
 * layout, from the IR. */
static void comment(Emitter *e, int depth, const Op *op)
{
    char shape[256] = "", layout[16] = "";
    const Value *r = op->nresults ? op->results[0] : NULL;
    FILE *forward = e->out;
    char *text = NULL;
    size_t size = 0;
    e->out = open_memstream(&text, &size);
    if (!e->out)
        internal_error("open_memstream: %s", strerror(errno));
    for (int i = 0; i < op->nresults; i++)
        fprintf(e->out, "%s%s", i ? ", " : "", display_name(op->results[i]));
    fprintf(e->out, "%s%s(", op->nresults ? " = " : "", op_info[op->kind].name);
    for (int i = 0; i < op->nargs; i++) {
        if (i)
            fputs(", ", e->out);
        comment_arg(e, op->args[i]);
    }
    fputc(')', e->out);
    if (r) {
        shape_str(e->g, &r->shape, shape, sizeof shape);
        fprintf(e->out, "    %s %s", shape, layout_str(&r->layout, layout, sizeof layout));
        if (r->layout.kind == LAYOUT_S && e->tp > 1) {
            char ranges[256];
            fprintf(e->out, " (rank 0: %s)", layout_ranges_str(&r->layout, 0, ranges, sizeof ranges));
        }
    }
    fclose(e->out);
    e->out = forward;
    fprintf(e->out, "\n%*s// %s\n", 4 * depth, "", c_comment(e->a, text));
    free(text);
}

/* An argument in a comment: its name, or what an op inlined into this one computes. */
static void comment_arg(Emitter *e, const Value *v)
{
    if (v->kind == VAL_RESULT && v->def->attrs.inlined) {
        const Op *op = v->def;
        fprintf(e->out, "%s(", op_info[op->kind].name);
        for (int i = 0; i < op->nargs; i++) {
            if (i)
                fputs(", ", e->out);
            comment_arg(e, op->args[i]);
        }
        fputc(')', e->out);
    } else if (v->kind == VAL_WEIGHT) {
        fprintf(e->out, "%s%s", v->weight->group ? "l." : "", v->weight->name);
    } else if (v->kind == VAL_CONST) {
        fprintf(e->out, "%g", v->constant);
    } else {
        fputs(display_name(v), e->out);
    }
}

static bool is_partial_plus_replicated(const Op *op, int *replicated_arg)
{
    if (op->results[0]->layout.kind != LAYOUT_P)
        return false;
    for (int i = 0; i < op->nargs; i++) {
        if (op->args[i]->layout.kind == LAYOUT_R || op->args[i]->kind == VAL_CONST) {
            *replicated_arg = i;
            return true;
        }
    }
    return false;
}

/* How a leaf of an elementwise kernel lines up with the result: whole rows, a vector along the
 * columns (a bias [h] against [b, s, h]), one value per row ([b, s, 1]), or a scalar. */
static ElementArgKind leaf_kind(const Value *arg, const Value *out)
{
    if (arg->kind == VAL_CONST)
        return ARG_SCALAR;
    if (shape_equal(&arg->shape, &out->shape))
        return ARG_ROWS;
    int ar = arg->shape.rank, orank = out->shape.rank, lead = 0;
    while (lead < ar - 1 && arg->shape.dims[lead].sym < 0 && arg->shape.dims[lead].size == 1)
        lead++;
    if (ar - lead == 1 && dim_equal(arg->shape.dims[ar - 1], out->shape.dims[orank - 1]))
        return ARG_VECTOR;
    bool per_row = ar == orank && arg->shape.dims[ar - 1].sym < 0 && arg->shape.dims[ar - 1].size == 1;
    for (int i = 0; per_row && i < ar - 1; i++)
        per_row = dim_equal(arg->shape.dims[i], out->shape.dims[i]);
    if (per_row)
        return ARG_PER_ROW;
    internal_error("this broadcast of an elementwise op is not supported by codegen yet");
}

typedef struct Leaves {
    ElementArg args[16];
    const Value *values[16];
    int n;
} Leaves;

static bool is_inlined_gemm(const Value *v)
{
    return v->kind == VAL_RESULT && v->def->attrs.inlined && (op_info[v->def->kind].flags & OPF_GEMM);
}

/* The expression tree of an elementwise op with the ops inlined into it. */
static ElementNode *element_tree(Emitter *e, const Op *op, const Value *out, Leaves *leaves)
{
    ElementNode *n = arena_alloc(e->a, sizeof *n);
    n->op = op->kind;
    n->nargs = op->nargs;
    n->leaf = -1;
    for (int i = 0; i < op->nargs; i++) {
        const Value *v = op->args[i];
        if (v->kind == VAL_RESULT && v->def->attrs.inlined && !is_inlined_gemm(v)) {
            n->args[i] = element_tree(e, v->def, out, leaves);
            continue;
        }
        int k = 0;
        while (k < leaves->n && leaves->values[k] != v)
            k++;
        if (k == leaves->n) {
            if (leaves->n == 16)
                internal_error("an elementwise chain with too many inputs");
            leaves->values[k] = v;
            leaves->args[k].kind = leaf_kind(v, out);
            leaves->n++;
        }
        ElementNode *leaf = arena_alloc(e->a, sizeof *leaf);
        leaf->leaf = k;
        n->args[i] = leaf;
    }
    return n;
}

static const char *tree_name(Emitter *e, const ElementNode *n)
{
    if (n->leaf >= 0)
        return NULL;
    const char *name = NULL;
    for (int i = 0; i < n->nargs; i++) {
        const char *inner = tree_name(e, n->args[i]);
        if (inner)
            name = name ? arena_printf(e->a, "%s_%s", name, inner) : inner;
    }
    return name ? arena_printf(e->a, "%s_%s", name, op_info[n->op].name) : op_info[n->op].name;
}

/* An elementwise op and the chain inlined into it, as one kernel over [rows, cols]. */
static const char *elementwise_call(Emitter *e, const Op *op, const char *out, const char *ld_out,
                                    Leaves *leaves, const ElementNode *tree)
{
    const Value *y = op->results[0];
    const char *name = use_kernel(e, kernel_elementwise(e->a, tree_name(e, tree), tree,
                                                        leaves->args, leaves->n));
    char *call = arena_printf(e->a, "%s(%s, %s", name, out, ld_out);
    for (int i = 0; i < leaves->n; i++) {
        const Value *v = leaves->values[i];
        switch (leaves->args[i].kind) {
        case ARG_SCALAR: call = arena_printf(e->a, "%s, %s", call, c_float(e->a, v->constant)); break;
        case ARG_ROWS: call = arena_printf(e->a, "%s, %s, %s", call, buffer(e, v), ld_expr(e, v)); break;
        default: call = arena_printf(e->a, "%s, %s", call, buffer(e, v)); break;
        }
    }
    return arena_printf(e->a, "%s, %s, %s);", call, rows_expr(e, y), cols_expr(e, y));
}

static void emit_epilogue(Emitter *e, const Op *add, int depth);

static void emit_elementwise(Emitter *e, const Op *op, int depth)
{
    for (int i = 0; i < op->nargs; i++)
        if (is_inlined_gemm(op->args[i])) {
            emit_epilogue(e, op, depth);
            return;
        }
    const Value *out = op->results[0];
    Leaves leaves = {0};
    ElementNode *tree = element_tree(e, op, out, &leaves);
    const char *call = elementwise_call(e, op, buffer(e, out), ld_expr(e, out), &leaves, tree);
    int r_arg;
    if (is_partial_plus_replicated(op, &r_arg) && (op->kind == OP_ADD || op->kind == OP_SUB)) {
        /* P + R: the replicated term is added on rank 0 alone, so it is counted once. */
        const Value *p = op->args[1 - r_arg];
        if (op->kind == OP_SUB && r_arg == 0)
            internal_error("R - P is not made by the sharding rules");
        line(e, depth, "if (rank == 0)");
        line(e, depth + 1, "%s", call);
        if (strcmp(buffer(e, p), buffer(e, out)))
            line(e, depth, "else\n%*smemcpy(%s, %s, sizeof(float) * (%s));", 4 * depth + 4, "",
                 buffer(e, out), buffer(e, p), elements_expr(e, out));
        return;
    }
    line(e, depth, "%s", call);
}

/* The GEMM of a linear or matmul into out with beta, by how its weight is kept: [out, in] (a
 * linear's, as the checkpoint stores it) or [in, out] (a matmul's, or a linear's weight the
 * weight-layout pass keeps so): through the launchers below, which stream w with sgemv for
 * one row. */
static void gemm_call(Emitter *e, const Op *op, const char *out, const char *ld_out,
                      const char *beta, int depth)
{
    const Value *x = op->args[0], *y = op->results[0];
    bool nt = op->kind == OP_LINEAR && !op->args[1]->weight->stored_in_out;
    line(e, depth, "%s(%s, %s, %s, %s, %s, %s, %s, %s, %s);",
         nt ? "linear_rows" : "matmul_rows", out, ld_out, buffer(e, x),
         ld_expr(e, x), buffer(e, op->args[1]), rows_expr(e, x), cols_expr(e, y),
         cols_expr(e, x), beta);
}

/* linear(x, w[, b]) and matmul(x, w): a bias is laid in the output first (beta = 1), on rank 0
 * alone when the output is partial. */
static void emit_gemm(Emitter *e, const Op *op, int depth)
{
    const Value *y = op->results[0];
    const char *beta = "0.0f";
    if (op->nargs == 3) {
        const char *fill = use_kernel(e, kernel_fill_rows(e->a));
        const char *call = arena_printf(e->a, "%s(%s, %s, %s, %s);", fill, buffer(e, y),
                                        buffer(e, op->args[2]), rows_expr(e, y), cols_expr(e, y));
        if (y->layout.kind == LAYOUT_P) { /* the bias once: on rank 0 */
            line(e, depth, "if (rank == 0)");
            line(e, depth + 1, "%s", call);
            beta = "rank == 0 ? 1.0f : 0.0f";
        } else {
            line(e, depth, "%s", call);
            beta = "1.0f";
        }
    }
    gemm_call(e, op, buffer(e, y), ld_expr(e, y), beta, depth);
}

/* r + linear(...): the GEMM accumulates into the sum's buffer, which starts as r (beta = 1).
 * When the GEMM is partial and r replicated, r (and a bias) are added on rank 0 alone: the
 * other ranks' sums start from zero (beta = 0). */
static void emit_epilogue(Emitter *e, const Op *add, int depth)
{
    int g = is_inlined_gemm(add->args[0]) ? 0 : 1;
    const Op *gemm = add->args[g]->def;
    const Value *r = add->args[1 - g], *out = add->results[0];
    bool once = gemm->results[0]->layout.kind == LAYOUT_P && r->layout.kind != LAYOUT_P;
    bool copy = strcmp(buffer(e, r), buffer(e, out)) != 0, bias = gemm->nargs == 3;
    int d = depth;
    if (once && (copy || bias))
        line(e, d++, "if (rank == 0) {");
    if (copy)
        line(e, d, "%s(%s, %s, %s, %s, %s, 0, %s, 0);", use_kernel(e, kernel_copy_columns(e->a)),
             buffer(e, out), buffer(e, r), rows_expr(e, out), cols_expr(e, out), ld_expr(e, out),
             ld_expr(e, r));
    if (bias)
        line(e, d, "%s(%s, %s, %s, %s, %s);", use_kernel(e, kernel_add_rows(e->a)), buffer(e, out),
             ld_expr(e, out), buffer(e, gemm->args[2]), rows_expr(e, out), cols_expr(e, out));
    if (once && (copy || bias))
        line(e, depth, "}");
    gemm_call(e, gemm, buffer(e, out), ld_expr(e, out), once ? "rank == 0 ? 1.0f : 0.0f" : "1.0f",
              depth);
}

/* "out, ld_out, x, ld_x, rows, dim": how every row kernel is called. */
static const char *row_args(Emitter *e, const Op *op)
{
    const Value *x = op->args[0], *y = op->results[0];
    return arena_printf(e->a, "%s, %s, %s, %s, %s, %s", buffer(e, y), ld_expr(e, y), buffer(e, x),
                        ld_expr(e, x), rows_expr(e, x), cols_expr(e, x));
}

static void emit_norm(Emitter *e, const Op *op, int depth)
{
    if (op->kind == OP_RMSNORM)
        line(e, depth, "%s(%s, %s, %s);", use_kernel(e, kernel_rmsnorm(e->a)), row_args(e, op),
             buffer(e, op->args[1]), c_float(e->a, op->attrs.eps));
    else
        line(e, depth, "%s(%s, %s, %s, %s);", use_kernel(e, kernel_layernorm(e->a)),
             row_args(e, op), buffer(e, op->args[1]), buffer(e, op->args[2]),
             c_float(e->a, op->attrs.eps));
}

static void emit_rows(Emitter *e, const Op *op, Kernel *k, int depth)
{
    line(e, depth, "%s(%s);", use_kernel(e, k), row_args(e, op));
}

/* The heads in columns of x: its columns over head_dim, which divides them on every rank. */
static const char *heads_expr(Emitter *e, const Value *x, int64_t head_dim)
{
    Size *heads = size_div(e->a, cols_size(e, x), head_dim);
    if (!heads)
        internal_error("a rank's columns of '%s' are not whole heads", display_name(x));
    return size_c(e, heads, arena_printf(e->a, "%s_heads", display_name(x)));
}

static void emit_rope(Emitter *e, const Op *op, int depth)
{
    const Value *x = op->args[0];
    int64_t head_dim = x->shape.dims[x->shape.rank - 1].size / op->attrs.heads;
    int64_t rotary = op->attrs.rotary_dim ? op->attrs.rotary_dim : head_dim;
    const char *seq = dim_expr(e, x, x->shape.rank - 2);
    const Value *y = op->results[0];
    line(e, depth, "%s(%s, %s, %s, %s, %s, %s, %s, %s, %" PRId64 ", %" PRId64 ");",
         use_kernel(e, kernel_rope(e->a, op->attrs.rope_style)), buffer(e, y), ld_expr(e, y),
         buffer(e, x), ld_expr(e, x), e->slot_names[op->scratch], rows_expr(e, x), seq,
         heads_expr(e, x, head_dim), head_dim, rotary);
}

static void emit_attention(Emitter *e, const Op *op, int depth)
{
    const Value *q = op->args[0], *k = op->args[1], *y = op->results[0];
    int64_t heads = op->attrs.heads, kv = op->attrs.kv_heads;
    int64_t head_dim = q->shape.dims[2].size / heads;
    double scale = op->attrs.has_scale ? op->attrs.scale : 1.0 / sqrt((double)head_dim);
    int64_t *first_head = arena_array(e->a, (size_t)e->tp, sizeof(int64_t));
    int64_t *first_kv = arena_array(e->a, (size_t)e->tp, sizeof(int64_t));
    for (int r = 0; r < e->tp; r++) {
        first_head[r] = q->layout.kind == LAYOUT_S ? q->layout.seg[0].ranks[r].start / head_dim : 0;
        first_kv[r] = k->layout.kind == LAYOUT_S ? k->layout.seg[0].ranks[r].start / head_dim : 0;
    }
    if (!e->attention_softmax) /* the launcher calls it by this name */
        e->attention_softmax = use_kernel(e, kernel_attention_softmax(e->a));
    const Value *v = op->args[2];
    line(e, depth, "attention(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s,", buffer(e, y),
         ld_expr(e, y), buffer(e, q), ld_expr(e, q), buffer(e, k), ld_expr(e, k), buffer(e, v),
         ld_expr(e, v), op->nargs == 4 ? buffer(e, op->args[3]) : "NULL",
         e->slot_names[op->scratch]);
    line(e, depth + 2, "%s, %s, %s, %s, %" PRId64 ",", dim_expr(e, q, 0), dim_expr(e, q, 1),
         heads_expr(e, q, head_dim), heads_expr(e, k, head_dim), head_dim);
    line(e, depth + 2, "%s, %" PRId64 ", %s, %s, %d);", rank_size(e, "first_head", first_head),
         heads / kv, rank_size(e, "first_kv_head", first_kv), c_float(e->a, scale),
         op->attrs.causal);
}

static void emit_embedding(Emitter *e, const Op *op, int depth)
{
    const Value *ids = op->args[0], *table = op->args[1], *y = op->results[0];
    const Layout *l = table->kind == VAL_WEIGHT ? &table->weight->layout : &table->layout;
    int64_t vocab = table->shape.dims[0].size;
    int64_t *first = arena_array(e->a, (size_t)e->tp, sizeof(int64_t));
    int64_t *count = arena_array(e->a, (size_t)e->tp, sizeof(int64_t));
    for (int r = 0; r < e->tp; r++) {
        bool rows = l->kind == LAYOUT_S && l->dim == 0;
        first[r] = rows ? l->seg[0].ranks[r].start : 0;
        count[r] = rows ? l->seg[0].ranks[r].end - first[r] : vocab;
    }
    line(e, depth, "tpcrt_check_ids(%s, %s, %" PRId64 ", %s, %s);", buffer(e, ids),
         elements_expr(e, ids), vocab, c_string(e->a, display_name(ids)),
         c_string(e->a, display_name(table)));
    line(e, depth, "%s(%s, %s, %s, %s, %s, %s, %s);", use_kernel(e, kernel_embedding(e->a)),
         buffer(e, y), buffer(e, ids), buffer(e, table), elements_expr(e, ids), cols_expr(e, y),
         rank_size(e, "vocab_first", first), rank_size(e, "vocab_held", count));
}

/* copy_columns calls: pieces of a split, the inputs of a concat, a rank's slice. */
static void copy_columns(Emitter *e, int depth, const char *out, const char *in, const char *rows,
                         const char *cols, const char *out_cols, const char *to,
                         const char *in_cols, const char *from)
{
    line(e, depth, "%s(%s, %s, %s, %s, %s, %s, %s, %s);", use_kernel(e, kernel_copy_columns(e->a)),
         out, in, rows, cols, out_cols, to, in_cols, from);
}

static void emit_split(Emitter *e, const Op *op, int depth)
{
    const Value *x = op->args[0];
    if (op->results[0]->view_of) { /* the pieces are read in place */
        line(e, depth, "// (views: the pieces are columns of %s's rows)",
             c_comment(e->a, display_name(x)));
        return;
    }
    Size *offset = size_number(e->a, e->tp, 0);
    for (int i = 0; i < op->nresults; i++) {
        const Value *piece = op->results[i];
        copy_columns(e, depth, buffer(e, piece), buffer(e, x), rows_expr(e, x), cols_expr(e, piece),
                     cols_expr(e, piece), "0", cols_expr(e, x),
                     size_c(e, offset, arena_printf(e->a, "%s_at", display_name(piece))));
        offset = size_add(e->a, offset, cols_size(e, piece));
    }
}

static void emit_concat(Emitter *e, const Op *op, int depth)
{
    const Value *y = op->results[0];
    Size *offset = size_number(e->a, e->tp, 0);
    for (int i = 0; i < op->nargs; i++) {
        const Value *x = op->args[i];
        copy_columns(e, depth, buffer(e, y), buffer(e, x), rows_expr(e, x), cols_expr(e, x),
                     cols_expr(e, y), size_c(e, offset, arena_printf(e->a, "%s_at", display_name(x))),
                     cols_expr(e, x), "0");
        offset = size_add(e->a, offset, cols_size(e, x));
    }
}

/* R -> S: this rank's columns of each piece, side by side. */
static void emit_slice(Emitter *e, const Op *op, int depth)
{
    const Value *x = op->args[0], *y = op->results[0];
    const Layout *l = &y->layout;
    if (l->dim != y->shape.rank - 1)
        internal_error("a slice of a dimension other than the last");
    int64_t seg_offset = 0;
    Size *to = size_number(e->a, e->tp, 0);
    for (int s = 0; s < l->nseg; s++) {
        int64_t *start = arena_array(e->a, (size_t)e->tp, sizeof(int64_t));
        int64_t *size = arena_array(e->a, (size_t)e->tp, sizeof(int64_t));
        for (int r = 0; r < e->tp; r++) {
            start[r] = seg_offset + l->seg[s].ranks[r].start;
            size[r] = l->seg[s].ranks[r].end - l->seg[s].ranks[r].start;
        }
        const char *cols = rank_size(e, "slice_cols", size);
        copy_columns(e, depth, buffer(e, y), buffer(e, x), rows_expr(e, x), cols, cols_expr(e, y),
                     size_c(e, to, "slice_to"), cols_expr(e, x), rank_size(e, "slice_from", start));
        to = size_add(e->a, to, size_per_rank(e->a, e->tp, size));
        seg_offset += l->seg[s].size;
    }
}

static void emit_reduce(Emitter *e, const Op *op, int depth)
{
    const Value *x = op->args[0];
    int d = op->attrs.dim;
    bool masked = op->nargs == 2;
    line(e, depth, "%s(%s, %s%s%s, %s, %s, %s);",
         use_kernel(e, kernel_reduce(e->a, op->kind == OP_MEAN, masked)), buffer(e, op->results[0]),
         buffer(e, x), masked ? ", " : "", masked ? buffer(e, op->args[1]) : "",
         dims_expr(e, x, 0, d), dim_expr(e, x, d), dims_expr(e, x, d + 1, x->shape.rank));
}

static void emit_collective(Emitter *e, const Op *op, int depth)
{
    const Value *x = op->args[0], *y = op->results[0];
    const char *in = buffer(e, x), *out = buffer(e, y);
    switch (op->kind) {
    case OP_ALL_REDUCE:
        if (strcmp(in, out))
            line(e, depth, "memcpy(%s, %s, sizeof(float) * (%s));", out, in, elements_expr(e, x));
        line(e, depth, "tpcrt_all_reduce_sum(%s, %s);", out, elements_expr(e, x));
        break;
    case OP_ALL_GATHER:
        line(e, depth, "%s(%s, %s, %s, &%s);",
             op->attrs.to_root ? "tpcrt_gather_to_root" : "tpcrt_all_gather", in, out,
             dims_expr(e, x, 0, x->layout.dim), split_table(e, x));
        break;
    case OP_REDUCE_SCATTER:
        line(e, depth, "tpcrt_reduce_scatter(%s, %s, %s, &%s);", in, out,
             dims_expr(e, y, 0, y->layout.dim), split_table(e, y));
        break;
    default: unreachable();
    }
}

static void emit_block(Emitter *e, const Block *b, int depth);

/* A weights group's loop: a block's weights through `l`; carried values stay in their buffers
 * (the memory plan puts them there), or are copied back at the end of a block. */
static void emit_loop(Emitter *e, const Op *op, int depth)
{
    const Block *body = op->body;
    for (int i = 0; i < op->nargs; i++) {
        const Value *init = op->args[i], *param = body->params[i];
        if (strcmp(buffer(e, init), buffer(e, param)))
            line(e, depth, "memcpy(%s, %s, sizeof(float) * (%s));", buffer(e, param),
                 buffer(e, init), elements_expr(e, init));
    }
    line(e, depth, "for (int i = 0; i < %" PRId64 "; i++) {", op->group->count);
    line(e, depth + 1, "const struct %s *l = &w->%s[i];", group_struct(e, op->group),
         c_name(e->a, op->group->name));
    emit_block(e, body, depth + 1);
    const Op *yield = body->last;
    for (int i = 0; i < op->nargs; i++) {
        const Value *v = yield->args[i], *param = body->params[i];
        if (strcmp(buffer(e, v), buffer(e, param))) {
            fprintf(e->out, "\n");
            line(e, depth + 1, "// %s carries into the next block",
                 c_comment(e->a, param->name ? param->name : "t"));
            line(e, depth + 1, "memcpy(%s, %s, sizeof(float) * (%s));", buffer(e, param),
                 buffer(e, v), elements_expr(e, v));
        }
    }
    line(e, depth, "}");
}

static void emit_op(Emitter *e, const Op *op, int depth)
{
    if (op->kind == OP_YIELD || op->kind == OP_RETURN)
        return;
    if (op->attrs.inlined) /* computed where its user is */
        return;
    if (op->kind != OP_FOR)
        comment(e, depth, op);
    unsigned flags = op_info[op->kind].flags;
    switch (op->kind) {
    case OP_FOR: fputc('\n', e->out); emit_loop(e, op, depth); return;
    case OP_LINEAR:
    case OP_MATMUL:
        if (!op->attrs.inlined) /* else its user's epilogue computes it */
            emit_gemm(e, op, depth);
        return;
    case OP_RMSNORM:
    case OP_LAYERNORM: emit_norm(e, op, depth); return;
    case OP_SOFTMAX: emit_rows(e, op, kernel_softmax(e->a), depth); return;
    case OP_NORMALIZE: emit_rows(e, op, kernel_normalize(e->a), depth); return;
    case OP_ROPE: emit_rope(e, op, depth); return;
    case OP_ATTENTION: emit_attention(e, op, depth); return;
    case OP_EMBEDDING: emit_embedding(e, op, depth); return;
    case OP_POSITIONS:
        line(e, depth, "%s(%s, %s, %s);", use_kernel(e, kernel_positions(e->a)),
             buffer(e, op->results[0]), elements_expr(e, op->args[0]), cols_expr(e, op->args[0]));
        return;
    case OP_SPLIT: emit_split(e, op, depth); return;
    case OP_CONCAT: emit_concat(e, op, depth); return;
    case OP_SLICE: emit_slice(e, op, depth); return;
    case OP_MEAN:
    case OP_SUM: emit_reduce(e, op, depth); return;
    default:
        if (flags & OPF_COLLECTIVE)
            emit_collective(e, op, depth);
        else if (flags & OPF_ELEMENTWISE)
            emit_elementwise(e, op, depth);
        else
            internal_error("codegen has no rule for %s", op_info[op->kind].name);
    }
}

static void emit_block(Emitter *e, const Block *b, int depth)
{
    for (const Op *op = b->first; op; op = op->next)
        emit_op(e, op, depth);
}

/* ---- weights ------------------------------------------------------------------------------------ */

/* What rank r holds of dimension d of weight w (stored shape), per piece. */
static int64_t held(const Weight *w, int d, int r)
{
    const Layout *l = &w->layout;
    if (l->kind != LAYOUT_S || l->dim != d)
        return w->shape.dims[d].size;
    return layout_local_size(l, r);
}

static Size *weight_dim(Emitter *e, const Weight *w, int d)
{
    int64_t *per_rank = arena_array(e->a, (size_t)e->tp, sizeof(int64_t));
    for (int r = 0; r < e->tp; r++)
        per_rank[r] = held(w, d, r);
    return size_per_rank(e->a, e->tp, per_rank);
}

static const char *weight_dim_expr(Emitter *e, const Weight *w, int d)
{
    return size_c(e, weight_dim(e, w, d), arena_printf(e->a, "%s_%s", w->name, d ? "cols" : "rows"));
}

/* The elements rank r holds of w (one block's, for a group's weight). */
static Size *weight_elements(Emitter *e, const Weight *w)
{
    Size *s = size_number(e->a, e->tp, 1);
    for (int d = 0; d < w->shape.rank; d++)
        s = size_mul(e->a, s, weight_dim(e, w, d));
    return s;
}

/* How a random weight is made (--random-weights): matrices uniform with scale 1/sqrt(fan-in),
 * norm weights near 1, biases small. */
static const char *init_of(Emitter *e, const Weight *w)
{
    bool norm = false, matmul = false;
    for (Op *op = e->g->top->first; op; op = ir_walk_next(op, e->g->top))
        for (int i = 0; i < op->nargs; i++)
            if (op->args[i]->kind == VAL_WEIGHT && op->args[i]->weight == w) {
                norm |= (op->kind == OP_RMSNORM || op->kind == OP_LAYERNORM) && i == 1;
                matmul |= op->kind == OP_MATMUL;
            }
    if (w->shape.rank == 2) {
        int64_t fan_in = matmul ? w->shape.dims[0].size : w->shape.dims[1].size;
        return arena_printf(e->a, "(TpcrtInit){0.0f, %s}", c_float(e->a, 1.0 / sqrt((double)fan_in)));
    }
    return norm ? "(TpcrtInit){1.0f, 0.1f}" : "(TpcrtInit){0.0f, 0.1f}";
}

/* The ranges rank r reads of dimension d of a stored tensor: piece `piece` of a fused weight's
 * layout (offsets within the part), or every piece (offsets within the tensor). */
static const char *slice_table(Emitter *e, const char *name, const Layout *l, int piece)
{
    int first = piece < 0 ? 0 : piece, last = piece < 0 ? l->nseg : piece + 1;
    const char *table = unique_name(e, arena_printf(e->a, "%s_ranges", name));
    char *text = arena_printf(e->a, "static const TpcrtRange %s[TP][%d] = {", table, last - first);
    for (int r = 0; r < e->tp; r++) {
        text = arena_printf(e->a, "%s%s{", text, r ? ", " : "");
        int64_t offset = 0;
        for (int s = 0; s < l->nseg; s++) {
            Range range = l->seg[s].ranks[r];
            if (s >= first && s < last) {
                int64_t base = piece < 0 ? offset : 0;
                text = arena_printf(e->a, "%s%s{%" PRId64 ", %" PRId64 "}", text,
                                    s > first ? ", " : "", base + range.start, base + range.end);
            }
            offset += l->seg[s].size;
        }
        text = arena_printf(e->a, "%s}", text);
    }
    add_table(e, arena_printf(e->a, "%s};\n", text));
    return table;
}

/* A read of one stored tensor: its slices per dimension, into dst with row stride `stride`. */
static void emit_read(Emitter *e, FILE *out, const Weight *tensor, const Layout *l, int piece,
                      const char *dst, const char *strides, const char *indent)
{
    /* the checkpoint's name as written; the runtime puts the block's index for each "{i}" */
    fprintf(out, "%stpcrt_weights_read(src, %s, %s, %d, (int64_t[]){", indent,
            c_string(e->a, tensor->checkpoint), tensor->group ? "i" : "-1", tensor->shape.rank);
    for (int d = 0; d < tensor->shape.rank; d++)
        fprintf(out, "%s%" PRId64, d ? ", " : "", tensor->shape.dims[d].size);
    fprintf(out, "},\n%s                   (TpcrtDimSlice[]){", indent);
    for (int d = 0; d < tensor->shape.rank; d++) {
        if (l->kind == LAYOUT_S && l->dim == d) {
            int n = piece < 0 ? l->nseg : 1;
            fprintf(out, "%s{%d, %s[rank]}", d ? ", " : "", n,
                    slice_table(e, c_name(e->a, tensor->name), l, piece));
        } else {
            fprintf(out, "%s{0, NULL}", d ? ", " : "");
        }
    }
    fprintf(out, "},\n%s                   %s, %s, (int64_t[]){%s});\n", indent, init_of(e, tensor), dst,
            strides);
}

/* One weight of the Weights struct: a tensor, or a fused one read part by part. Element (o, i)
 * of the slice goes to [o * cols + i], or kept [in, out] (Weight.stored_in_out) to
 * [i * rows + o]. */
static void emit_load_weight(Emitter *e, FILE *out, const Weight *w, const char *indent)
{
    const char *dst = arena_printf(e->a, "%s->%s", w->group ? "l" : "w", weight_field(e, w));
    fprintf(out, "%s%s = next;\n", indent, dst);
    fprintf(out, "%snext += %s;\n", indent,
            size_c(e, weight_elements(e, w), arena_printf(e->a, "%s_elements", w->name)));
    bool transposed = w->stored_in_out;
    const char *rows = w->shape.rank == 2 ? weight_dim_expr(e, w, 0) : "1";
    const char *cols = w->shape.rank == 2 ? weight_dim_expr(e, w, 1) : "1";
    const char *strides = w->shape.rank < 2 ? "1"
                          : transposed     ? arena_printf(e->a, "1, %s", rows)
                                           : arena_printf(e->a, "%s, 1", cols);
    if (!w->nparts) {
        emit_read(e, out, w, &w->layout, -1, dst, strides, indent);
        return;
    }
    /* Fused: part k's rows (columns, kept transposed or for a matmul's [in, out]) follow part
     * k-1's, each the rank's own piece when the split runs along the parts. */
    const Layout *l = &w->layout;
    bool by_piece = l->kind == LAYOUT_S && l->dim == w->segment_dim;
    Size *offset = size_number(e->a, e->tp, 0); /* of part k, in rows or columns */
    for (int k = 0; k < w->nparts; k++) {
        const Weight *part = w->parts[k];
        Weight tensor = *part;
        tensor.group = w->group;
        int64_t *size = arena_array(e->a, (size_t)e->tp, sizeof(int64_t));
        for (int r = 0; r < e->tp; r++)
            size[r] = by_piece ? l->seg[k].ranks[r].end - l->seg[k].ranks[r].start
                               : part->shape.dims[w->segment_dim].size;
        bool along_rows = w->segment_dim == 0 && !transposed;
        Size *row = w->shape.rank == 2 ? weight_dim(e, w, 1) : size_number(e->a, e->tp, 1);
        Size *first = along_rows ? size_mul(e->a, offset, row) : offset;
        const char *at = first->nterms == 0 ? dst
                         : arena_printf(e->a, "%s + %s", dst,
                                        size_c(e, first, arena_printf(e->a, "%s_at", part->name)));
        emit_read(e, out, &tensor, l, by_piece ? k : -1, at, strides, indent);
        offset = size_add(e->a, offset, size_per_rank(e->a, e->tp, size));
    }
}

/* A field of Weights, with the weight's stored shape, layout and how it is kept. */
static void weight_field_decl(Emitter *e, FILE *out, const Weight *w)
{
    char shape[128], layout[16];
    fprintf(out, "    float *%s; /* %s %s%s */\n", weight_field(e, w),
            c_comment(e->a, shape_str(e->g, &w->shape, shape, sizeof shape)),
            layout_str(&w->layout, layout, sizeof layout),
            w->stored_in_out ? ", kept [in, out]" : "");
}

static void emit_weights_struct(Emitter *e, FILE *out)
{
    Graph *g = e->g;
    for (int gi = 0; gi < g->groups.len; gi++) {
        const Group *grp = g->groups.items[gi];
        fprintf(out, "struct %s { /* one block of %s */\n", group_struct(e, grp),
                c_comment(e->a, grp->name));
        for (int i = 0; i < g->weights.len; i++) {
            const Weight *w = g->weights.items[i];
            if (w->used && w->group == grp)
                weight_field_decl(e, out, w);
        }
        fprintf(out, "};\n\n");
    }
    fprintf(out, "typedef struct Weights {\n    float *block; /* the one allocation the others point into */\n");
    for (int i = 0; i < g->weights.len; i++) {
        const Weight *w = g->weights.items[i];
        if (w->used && !w->group)
            weight_field_decl(e, out, w);
    }
    for (int gi = 0; gi < g->groups.len; gi++) {
        const Group *grp = g->groups.items[gi];
        bool any = false;
        for (int i = 0; i < g->weights.len; i++)
            any |= g->weights.items[i]->used && g->weights.items[i]->group == grp;
        if (any)
            fprintf(out, "    struct %s %s[%" PRId64 "];\n", group_struct(e, grp),
                    c_name(e->a, grp->name), grp->count);
    }
    fprintf(out, "} Weights;\n\n");
}

/* load_weights: one allocation for all this rank holds, carved in declaration order; every
 * tensor read as its slice. Returns the bytes. */
static void emit_loader(Emitter *e, FILE *out)
{
    Graph *g = e->g;
    char *text = NULL;
    size_t size = 0;
    FILE *body = open_memstream(&text, &size);
    Size *total = size_number(e->a, e->tp, 0);
    for (int i = 0; i < g->weights.len; i++) {
        const Weight *w = g->weights.items[i];
        if (w->used)
            total = size_add(e->a, total, size_mul(e->a, weight_elements(e, w),
                                                   size_number(e->a, e->tp, w->group ? w->group->count : 1)));
    }
    for (int i = 0; i < g->weights.len; i++) {
        const Weight *w = g->weights.items[i];
        if (w->used && !w->group)
            emit_load_weight(e, body, w, "    ");
    }
    for (int gi = 0; gi < g->groups.len; gi++) {
        const Group *grp = g->groups.items[gi];
        bool any = false;
        for (int i = 0; i < g->weights.len; i++)
            any |= g->weights.items[i]->used && g->weights.items[i]->group == grp;
        if (!any)
            continue;
        fprintf(body, "    for (int i = 0; i < %" PRId64 "; i++) {\n", grp->count);
        fprintf(body, "        struct %s *l = &w->%s[i];\n", group_struct(e, grp),
                c_name(e->a, grp->name));
        for (int i = 0; i < g->weights.len; i++) {
            const Weight *w = g->weights.items[i];
            if (w->used && w->group == grp)
                emit_load_weight(e, body, w, "        ");
        }
        fprintf(body, "    }\n");
    }
    fclose(body);
    const char *elements = size_c(e, total, "weights_held");
    fprintf(out, "/* The elements of every weight this rank holds. */\n"
                 "static int64_t weight_elements(int rank)\n{\n");
    if (strstr(elements, "rs->"))
        fprintf(out, "    const struct RankSizes *rs = &rank_sizes[rank];\n");
    else
        fprintf(out, "    (void)rank;\n");
    fprintf(out, "    return %s;\n}\n\n", elements);
    fprintf(out, "/* Every weight this rank holds, in one allocation; each tensor read as its slice. */\n"
                 "static void load_weights(Weights *w, TpcrtWeights *src, int rank)\n{\n");
    if (e->sizes.len)
        fprintf(out, "    const struct RankSizes *rs = &rank_sizes[rank];\n    (void)rs;\n");
    fprintf(out, "    int64_t bytes = (int64_t)sizeof(float) * weight_elements(rank);\n");
    fprintf(out, "    float *next = tpcrt_alloc((size_t)bytes, \"weights\");\n");
    fprintf(out, "    w->block = next;\n");
    fprintf(out, "    tpcrt_load_begin(bytes);\n");
    fputs(text, out);
    fprintf(out, "    tpcrt_load_end();\n}\n\n");
    free(text);
}

/* ---- buffers (the memory plan) ------------------------------------------------------------------ */

static void name_slots(Emitter *e)
{
    Graph *g = e->g;
    e->slot_names = arena_array(e->a, (size_t)g->slots.len + 1, sizeof *e->slot_names);
    for (Op *op = g->top->first; op; op = ir_walk_next(op, g->top)) {
        for (int i = 0; op->body && i < op->body->nparams; i++) {
            const Value *p = op->body->params[i];
            if (p->slot >= 0 && !e->slot_names[p->slot])
                e->slot_names[p->slot] = unique_name(e, p->name ? p->name : "t");
        }
        if (op->scratch >= 0 && !e->slot_names[op->scratch])
            e->slot_names[op->scratch] = unique_name(e, op->kind == OP_ROPE ? "rope_table" : "scores");
        for (int i = 0; i < op->nresults; i++) {
            const Value *v = op->results[i];
            if (v->slot >= 0 && !e->slot_names[v->slot])
                e->slot_names[v->slot] = unique_name(e, display_name(v));
        }
    }
    for (int s = 0; s < g->slots.len; s++)
        if (!e->slot_names[s])
            e->slot_names[s] = unique_name(e, "unused");
}

/* A term of a buffer's size: symbols bound at run time times a per-rank number, multiplied by
 * tpcrt_size, which ends the job when the product does not fit in 64 bits. */
static const char *term_expr(Emitter *e, const SlotTerm *t)
{
    const char *n = rank_size(e, "buffer_elements", t->per_rank);
    if (!t->nsyms)
        return n;
    bool one = !strcmp(n, "1");
    const char *factors = NULL;
    for (int i = 0; i < t->nsyms; i++)
        factors = factors ? arena_printf(e->a, "%s, %s", factors, symbol_name(e, t->syms[i]))
                          : symbol_name(e, t->syms[i]);
    return arena_printf(e->a, "tpcrt_size(%d, (int64_t[]){%s%s%s})", t->nsyms + !one, factors,
                        one ? "" : ", ", one ? "" : n);
}

static void emit_symbols(Emitter *e, FILE *out, int depth)
{
    for (int i = 0; i < e->g->symbols.len; i++)
        fprintf(out, "%*sconst int64_t %s = dims[%d];\n", 4 * depth, "", symbol_name(e, i), i);
    if (e->g->symbols.len)
        fprintf(out, "%*s(void)%s;\n", 4 * depth, "", symbol_name(e, 0));
}

static void emit_buffers(Emitter *e, FILE *out)
{
    Graph *g = e->g;
    fprintf(out, "enum { BUFFERS = %d };\n\n", g->slots.len ? g->slots.len : 1);
    fprintf(out, "static int64_t largest(int64_t a, int64_t b)\n{\n    return a > b ? a : b;\n}\n\n");
    fprintf(out, "/* The sizes of the memory plan's activation buffers for these input shapes: a buffer\n"
                 " * holds in turn the values whose lives do not overlap. */\n"
                 "static void buffer_elements(int64_t *elements, const int64_t *dims, int rank)\n{\n");
    if (e->sizes.len)
        fprintf(out, "    const struct RankSizes *rs = &rank_sizes[rank];\n    (void)rs;\n");
    fprintf(out, "    (void)rank;\n");
    emit_symbols(e, out, 1);
    for (int s = 0; s < g->slots.len; s++) {
        const Slot *slot = &g->slots.items[s];
        const char *expr = "0";
        for (int t = 0; t < slot->terms.len; t++)
            expr = t ? arena_printf(e->a, "largest(%s, %s)", expr, term_expr(e, &slot->terms.items[t]))
                     : term_expr(e, &slot->terms.items[t]);
        fprintf(out, "    elements[%d] = %s; /* %s */\n", s, expr, e->slot_names[s]);
    }
    fprintf(out, "}\n\n");
}

/* ---- the file ------------------------------------------------------------------------------------ */

static void emit_rank_sizes(Emitter *e, FILE *out)
{
    if (!e->sizes.len)
        return;
    fprintf(out, "/* What differs between ranks: the sizes each holds of uneven splits. */\n"
                 "static const struct RankSizes {\n");
    for (int i = 0; i < e->sizes.len; i++)
        fprintf(out, "    int64_t %s;\n", e->sizes.items[i].name);
    fprintf(out, "} rank_sizes[TP] = {\n");
    for (int r = 0; r < e->tp; r++) {
        fprintf(out, "    {");
        for (int i = 0; i < e->sizes.len; i++)
            fprintf(out, "%s%" PRId64, i ? ", " : "", e->sizes.items[i].per_rank[r]);
        fprintf(out, "}, /* rank %d */\n", r);
    }
    fprintf(out, "};\n\n");
}

static const char launchers[] =
    "/* y = beta y + x w^T for m rows of x (w stored [n, k], as nn.Linear): one row streams w with\n"
    " * sgemv, which reads it once; more rows use sgemm. */\n"
    "static void linear_rows(float *y, int64_t ld_y, const float *x, int64_t ld_x, const float *w,\n"
    "                        int64_t m, int64_t n, int64_t k, float beta)\n"
    "{\n"
    "    if (m == 1)\n"
    "        cblas_sgemv(CblasRowMajor, CblasNoTrans, n, k, 1.0f, w, k, x, 1, beta, y, 1);\n"
    "    else\n"
    "        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, x, ld_x, w, k,\n"
    "                    beta, y, ld_y);\n"
    "}\n\n"
    "/* y = beta y + x w for m rows of x (w stored [k, n], as GPT-2's Conv1D). */\n"
    "static void matmul_rows(float *y, int64_t ld_y, const float *x, int64_t ld_x, const float *w,\n"
    "                        int64_t m, int64_t n, int64_t k, float beta)\n"
    "{\n"
    "    if (m == 1)\n"
    "        cblas_sgemv(CblasRowMajor, CblasTrans, k, n, 1.0f, w, n, x, 1, beta, y, 1);\n"
    "    else\n"
    "        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, x, ld_x, w, n,\n"
    "                    beta, y, ld_y);\n"
    "}\n\n";

/* The attention launcher; `softmax` is the name the program gave kernel_attention_softmax. */
static void print_attention_launcher(FILE *out, const char *softmax)
{
    fprintf(out,
            "/* Attention over the heads this rank holds, one head's scores at a time: for each\n"
            " * sequence and query head, scores = q k^T in `scores` [seq, seq], softmax (scaled,\n"
            " * masked), out = scores v. Rows of q, k, v and out are ld_* apart (they may be columns\n"
            " * of a wider buffer). Local query head h reads local kv head\n"
            " * (first_head + h) / group - first_kv (GQA). */\n"
            "static void attention(float *out, int64_t ld_out, const float *q, int64_t ld_q,\n"
            "                      const float *k, int64_t ld_k, const float *v, int64_t ld_v,\n"
            "                      const float *mask, float *scores, int64_t batch, int64_t seq,\n"
            "                      int64_t heads, int64_t kv_heads, int64_t head_dim,\n"
            "                      int64_t first_head, int64_t group, int64_t first_kv, float scale,\n"
            "                      int causal)\n"
            "{\n"
            "    static const float no_mask = 1.0f;\n"
            "    (void)kv_heads;\n"
            "    for (int64_t b = 0; b < batch; b++) {\n"
            "        for (int64_t h = 0; h < heads; h++) {\n"
            "            int64_t kv = (first_head + h) / group - first_kv;\n"
            "            const float *qh = q + b * seq * ld_q + h * head_dim;\n"
            "            const float *kh = k + b * seq * ld_k + kv * head_dim;\n"
            "            const float *vh = v + b * seq * ld_v + kv * head_dim;\n"
            "            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, seq, seq, head_dim,\n"
            "                        1.0f, qh, ld_q, kh, ld_k, 0.0f, scores, seq);\n"
            "            %s(scores, mask ? mask + b * seq : &no_mask, seq, seq, scale,\n"
            "                causal, mask != NULL);\n"
            "            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, seq, head_dim, seq,\n"
            "                        1.0f, scores, seq, vh, ld_v, 0.0f,\n"
            "                        out + b * seq * ld_out + h * head_dim, ld_out);\n"
            "        }\n"
            "    }\n"
            "}\n\n",
            softmax);
}

static const char *random_kind(const Graph *g, const Value *input, int64_t *limit)
{
    *limit = 0;
    for (Op *op = g->top->first; op; op = ir_walk_next(op, g->top)) {
        for (int i = 0; i < op->nargs; i++) {
            if (op->args[i] != input)
                continue;
            if (op->kind == OP_EMBEDDING && i == 0) {
                int64_t vocab = op->args[1]->shape.dims[0].size;
                *limit = *limit && *limit < vocab ? *limit : vocab;
            }
            if ((op->kind == OP_ATTENTION && i == 3) || ((op->kind == OP_MEAN || op->kind == OP_SUM) && i == 1))
                return "TPCRT_RANDOM_ONES";
        }
    }
    return input->dtype == DT_I32 ? "TPCRT_RANDOM_IDS" : "TPCRT_RANDOM_NORMAL";
}

static void emit_decl(Emitter *e, FILE *out, const Value *v, const char *name)
{
    int64_t limit = 0;
    const char *random = v->kind == VAL_INPUT ? random_kind(e->g, v, &limit) : "TPCRT_RANDOM_NORMAL";
    fprintf(out, "    {%s, %s, %d, {", c_string(e->a, name),
            v->dtype == DT_I32 ? "TPCRT_I32" : "TPCRT_F32", v->shape.rank);
    for (int d = 0; d < v->shape.rank; d++) {
        Dim dim = v->shape.dims[d];
        if (dim.sym >= 0)
            fprintf(out, "%s%s", d ? ", " : "", c_string(e->a, e->g->symbols.items[dim.sym]));
        else
            fprintf(out, "%sNULL", d ? ", " : "");
    }
    fprintf(out, "}, {");
    for (int d = 0; d < v->shape.rank; d++)
        fprintf(out, "%s%" PRId64, d ? ", " : "", v->shape.dims[d].sym >= 0 ? 0 : v->shape.dims[d].size);
    fprintf(out, "}, %s, %" PRId64 "},\n", random, limit);
}

static const Op *return_op(const Graph *g)
{
    return g->top->last;
}

static void emit_program_decl(Emitter *e, FILE *out, uint64_t hash)
{
    Graph *g = e->g;
    fprintf(out, "static const TpcrtTensorDecl inputs[] = {\n");
    for (int i = 0; i < g->inputs.len; i++)
        emit_decl(e, out, g->inputs.items[i], g->inputs.items[i]->name);
    fprintf(out, "};\nstatic const TpcrtTensorDecl outputs[] = {\n");
    const Op *ret = return_op(g);
    for (int i = 0; i < ret->nargs; i++)
        emit_decl(e, out, ret->args[i], g->output_names.items[i]);
    fprintf(out, "};\n/* The last field is the fingerprint of everything above it: ranks compare it. */\n"
                 "static const TpcrtProgram program = {%s, TP, %d, %d, inputs, outputs,\n"
                 "                                     0x%016" PRIx64 "u};\n\n",
            c_string(e->a, g->name), g->inputs.len, ret->nargs, hash);
}

/* The i-th dimension of v, as main computes it: a number or a bound symbol. */
static const char *main_dim(Emitter *e, const Value *v, int d)
{
    Dim dim = v->shape.dims[d];
    return dim.sym >= 0 ? arena_printf(e->a, "dims[%d]", dim.sym)
                        : arena_printf(e->a, "%" PRId64, dim.size);
}

static void emit_main(Emitter *e, FILE *out)
{
    Graph *g = e->g;
    const Op *ret = return_op(g);
    fprintf(out, "int main(int argc, char **argv)\n{\n"
                 "    TpcrtArgs args;\n"
                 "    tpcrt_init(&argc, &argv, &program, &args);\n"
                 "    int rank = tpcrt_rank();\n"
                 "    TpcrtDims bound = {0};\n"
                 "    void *in[%d];\n"
                 "    tpcrt_inputs_load(&program, &args, &bound, in);\n"
                 "    int64_t dims[%d];\n", g->inputs.len ? g->inputs.len : 1,
            g->symbols.len ? g->symbols.len : 1);
    for (int i = 0; i < g->symbols.len; i++)
        fprintf(out, "    dims[%d] = tpcrt_dim(&bound, %s);\n", i,
                c_string(e->a, g->symbols.items[i]));
    fprintf(out, "    int64_t elements[BUFFERS];\n"
                 "    buffer_elements(elements, dims, rank);\n"
                 "    /* every rank runs this program with the same arguments, and fits its node */\n"
                 "    tpcrt_check_start(&program, &args, &bound,\n"
                 "                      (int64_t)sizeof(float) * weight_elements(rank),\n"
                 "                      tpcrt_buffers_bytes(elements, BUFFERS));\n\n"
                 "    TpcrtWeights *src = tpcrt_weights_open(&args);\n"
                 "    static Weights w;\n"
                 "    load_weights(&w, src, rank);\n"
                 "    tpcrt_weights_close(src);\n"
                 "    float *buf[BUFFERS];\n"
                 "    float *block = tpcrt_buffers_alloc(buf, elements, BUFFERS);\n\n"
                 "    forward(&w, buf, in, dims, rank);\n");
    fprintf(out, "    if (args.bench > 0) {\n"
                 "        double *times = tpcrt_alloc(sizeof(double) * (size_t)args.bench, \"bench\");\n"
                 "        forward(&w, buf, in, dims, rank); /* warm-up */\n"
                 "        double collectives = tpcrt_collective_seconds();\n"
                 "        for (int k = 0; k < args.bench; k++) {\n"
                 "            double start = tpcrt_now();\n"
                 "            forward(&w, buf, in, dims, rank);\n"
                 "            times[k] = tpcrt_now() - start;\n"
                 "        }\n"
                 "        int64_t tokens = 1;\n");
    const Value *first = g->inputs.len ? g->inputs.items[0] : NULL;
    for (int d = 0; first && d < first->shape.rank - (first->dtype == DT_F32 ? 1 : 0); d++)
        fprintf(out, "        tokens *= %s;\n", main_dim(e, first, d));
    fprintf(out, "        tpcrt_bench_report(times, args.bench, tokens,\n"
                 "                           tpcrt_collective_seconds() - collectives);\n"
                 "        tpcrt_free(times);\n"
                 "    }\n\n");
    for (int i = 0; i < ret->nargs; i++) {
        const Value *v = ret->args[i];
        fprintf(out, "    tpcrt_output_write(&program, &args, %d, %s, %d, (int64_t[]){", i,
                v->kind == VAL_INPUT ? arena_printf(e->a, "in[%d]", input_index(g, v))
                                     : arena_printf(e->a, "buf[%d]", v->slot),
                v->shape.rank);
        for (int d = 0; d < v->shape.rank; d++)
            fprintf(out, "%s%s", d ? ", " : "", main_dim(e, v, d));
        fprintf(out, "});\n");
    }
    fprintf(out, "    tpcrt_stats_report(&args, (int64_t)sizeof(float) * weight_elements(rank));\n"
                 "    for (int k = 0; k < %d; k++)\n"
                 "        tpcrt_free(in[k]);\n"
                 "    tpcrt_free(w.block);\n"
                 "    tpcrt_free(block);\n"
                 "    tpcrt_finalize();\n"
                 "    return 0;\n}\n", g->inputs.len);
}

/* The cos and sin tables rope ops read, each filled once, before the first layer. */
static void emit_rope_tables(Emitter *e)
{
    bool *made = arena_array(e->a, (size_t)e->g->slots.len + 1, sizeof *made);
    for (Op *op = e->g->top->first; op; op = ir_walk_next(op, e->g->top)) {
        if (op->kind != OP_ROPE || made[op->scratch])
            continue;
        made[op->scratch] = true;
        const Value *x = op->args[0];
        int64_t head_dim = x->shape.dims[x->shape.rank - 1].size / op->attrs.heads;
        int64_t rotary = op->attrs.rotary_dim ? op->attrs.rotary_dim : head_dim;
        const char *theta = c_double(e->a, op->attrs.theta);
        fprintf(e->out, "\n    // RoPE's cos and sin at theta %s, for every position\n", theta);
        line(e, 1, "%s(%s, %s, %" PRId64 ", %s);", use_kernel(e, kernel_rope_table(e->a)),
             e->slot_names[op->scratch], dim_expr(e, x, x->shape.rank - 2), rotary, theta);
    }
}

static void emit_forward(Emitter *e, char **text)
{
    Graph *g = e->g;
    size_t size = 0;
    e->out = open_memstream(text, &size);
    FILE *out = e->out;
    fprintf(out, "/* One forward of this rank's part of the model. */\n"
                 "static void forward(const Weights *w, float *const *buf, void *const *in,\n"
                 "                    const int64_t *dims, int rank)\n{\n");
    fprintf(out, "    const struct RankSizes *rs = RANK_SIZES;\n    (void)rs;\n    (void)rank;\n");
    emit_symbols(e, out, 1);
    for (int i = 0; i < g->inputs.len; i++) {
        const Value *v = g->inputs.items[i];
        fprintf(out, "    const %s *%s = in[%d];\n", v->dtype == DT_I32 ? "int32_t" : "float",
                e->input_names[i], i);
    }
    for (int s = 0; s < g->slots.len; s++)
        fprintf(out, "    float *%s = buf[%d];\n", e->slot_names[s], s);
    for (int i = 0; i < g->inputs.len; i++) /* an input may be read only as an output */
        fprintf(out, "    (void)%s;\n", e->input_names[i]);
    for (int s = 0; s < g->slots.len; s++)
        fprintf(out, "    (void)%s;\n", e->slot_names[s]);
    emit_rope_tables(e);
    emit_block(e, g->top, 1);
    fprintf(out, "}\n\n");
    fclose(out);
}

static const char *header_comment(Emitter *e, const char *source_path)
{
    Graph *g = e->g;
    int per_layer = 0, outside = 0;
    for (Op *op = g->top->first; op; op = ir_walk_next(op, g->top))
        if (op_info[op->kind].flags & OPF_COLLECTIVE)
            (op->block->parent ? &per_layer : &outside)[0]++;
    return arena_printf(e->a,
                        "/* %s — the forward of every rank for -tp %d, generated by tpc from %s.\n"
                        " * Each rank runs the code below with its own sizes and slices; collectives: "
                        "%d per block, %d outside.\n"
                        " * Run: mpirun -np %d ./%s --weights CHECKPOINT --input NAME=FILE.npy --output NAME=FILE.npy\n"
                        " */\n",
                        g->name, e->tp, c_comment(e->a, source_path), per_layer, outside, e->tp,
                        g->name);
}

/* FNV-1a, 64 bits: the program's fingerprint, which every rank compares at start-up. */
static uint64_t fingerprint(const char *text, size_t size)
{
    uint64_t h = 14695981039346656037u;
    for (size_t i = 0; i < size; i++)
        h = (h ^ (unsigned char)text[i]) * 1099511628211u;
    return h;
}

const char *emit_program(Graph *g, const Options *opt, const char *source_path)
{
    if (!check_program_name(g))
        return NULL;
    Emitter e = {.g = g, .a = g->arena, .opt = opt, .tp = g->tp};
    strmap_init(&e.used_names, g->arena);
    strmap_init(&e.next_suffix, g->arena);
    strmap_init(&e.size_names, g->arena);
    strmap_init(&e.group_structs, g->arena);
    name_fixed(&e);
    name_slots(&e);
    char *forward_text = NULL;
    emit_forward(&e, &forward_text);

    char *program_text = NULL;
    size_t program_size = 0;
    FILE *out = open_memstream(&program_text, &program_size);
    if (!out)
        internal_error("open_memstream: %s", strerror(errno));
    fputs(header_comment(&e, source_path), out);
    fprintf(out, "#include \"tpcrt.h\"\n\n#include <cblas.h>\n#include <math.h>\n#include <stdint.h>\n"
                 "#include <stdio.h>\n#include <string.h>\n\nenum { TP = %d };\n\n", e.tp);
    kernel_print_c_prelude(out);
    for (int i = 0; i < e.kernels.len; i++)
        fputs(e.kernels.items[i].text, out);
    fputs(launchers, out);
    if (e.attention_softmax)
        print_attention_launcher(out, e.attention_softmax);
    /* Loading may add sizes; print the loader into a buffer first. */
    char *loader = NULL;
    size_t loader_size = 0;
    FILE *lf = open_memstream(&loader, &loader_size);
    emit_weights_struct(&e, lf);
    emit_loader(&e, lf);
    char *buffers = NULL;
    size_t buffers_size = 0;
    FILE *bf = open_memstream(&buffers, &buffers_size);
    emit_buffers(&e, bf);
    fclose(bf);
    fclose(lf);
    emit_rank_sizes(&e, out);
    fprintf(out, "#define RANK_SIZES %s\n\n", e.sizes.len ? "&rank_sizes[rank]" : "NULL");
    if (!e.sizes.len)
        fprintf(out, "struct RankSizes;\n\n");
    for (int i = 0; i < e.tables.len; i++)
        fputs(e.tables.items[i], out);
    if (e.tables.len)
        fputc('\n', out);
    fputs(loader, out);
    fputs(buffers, out);
    fputs(forward_text, out);
    fflush(out);
    emit_program_decl(&e, out, fingerprint(program_text, program_size));
    emit_main(&e, out);
    free(loader);
    free(buffers);
    free(forward_text);
    fclose(out);
    const char *path = arena_printf(g->arena, "%s/%s.c", opt->outdir, g->name);
    bool written = write_file(path, program_text, program_size);
    free(program_text);
    return written && write_makefile(g, opt) ? path : NULL;
}
