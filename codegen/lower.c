/* lower.c — from the sharded graph to the per-rank program form (program.h): names, sizes,
 * buffers, weights and the steps of forward, as data. Nothing here prints; every decision a
 * printer would otherwise make is made here once.
 *
 * Sections follow the form: names, sizes and pointers, kernels, tables, forward (lower_forward.c
 * lowers the ops), weights, buffers.
 */
#include "lower.h"

#include <inttypes.h>
#include <string.h>

/* ---- names --------------------------------------------------------------------------------- */

/* Names a program defines or calls at file scope, in every printer: its own functions, tables
 * and macros, the C prelude's math and the C library's functions its code calls (an op named
 * `exp` would otherwise make a kernel that clashes with math.h's). A model's name never takes
 * one of these: lower_program marks them used first. */
static const char *const fixed_names[] = {
    /* the program's own */
    "TP", "RankSizes", "rank_sizes", "Weights", "load_weights", "weight_elements", "weight_bytes", "BUFFERS",
    "largest", "buffer_elements", "linear_rows", "matmul_rows", "attention", "forward",
    "inputs", "outputs", "program", "main", "kv_append", "Cache", "CACHE_PARTS",
    "cache_elements", "cache_carve", "kv_cache_per_position", "generate_step", "Model",
    "model_step", "generator_of", "generate", "run_forward", "library_buffers",
    /* the prelude's */
    "tpc_maxf", "tpc_minf", "tpc_expf", "tpc_tanhf", "tpc_erff", "tpc_rsqrtf",
    /* the C library's: what forward and kernels call, and math.h's functions named like ops */
    "memcpy", "snprintf", "sqrtf", "floorf", "fabsf", "sinf", "cosf", "powf", "expf", "tanhf",
    "erff", "exp", "tanh", "erf", "sqrt", "sin", "cos", "pow", "fmax", "fmin", "fabs", "div",
    "abs", "log", "logf", "read", "write", "free", "malloc", "exit"};

/* Names a model's name must not take in C: keywords (GNU C's too), the types and macros of the
 * headers the file includes (macros are called in capitals, but for these), the names GCC
 * predefines in GNU modes (`linux` is 1), and the parameters and locals of the functions where
 * model names are locals too (forward; buffer_elements, which declares the symbolic
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
        /* forward's parameters and locals, and generate_step's */
        "w", "buf", "in", "dims", "rank", "rs", "l", "i", "cache",
        /* buffer_elements' */
        "elements"};
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
const char *c_identifier(Arena *a, const char *name)
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

/* A name not used yet in the program's one scope of names: base, base_2, base_3, ... (the next
 * number to try for each base is remembered, so a thousand rebindings of x cost a thousand
 * steps). */
const char *program_name(Program *p, const char *base)
{
    const char *stem = c_identifier(p->a, base), *name = stem;
    intptr_t n = (intptr_t)strmap_get(&p->suffixes, stem);
    if (!n)
        n = 2;
    while (strmap_get(&p->names, name))
        name = arena_printf(p->a, "%s_%" PRIdPTR, stem, n++);
    strmap_put(&p->suffixes, stem, (void *)n);
    strmap_put(&p->names, name, (void *)name);
    return name;
}

/* What a value is called: its name in the model, or for one the model did not name, what made
 * it (the weight of a projection: "wo" for linear(a, l.wo); a piece of wq|wk|wv: "wq"; else the
 * op). */
const char *value_name(const Value *v)
{
    if (v->kind == VAL_WEIGHT)
        return v->weight->name;
    if (v->name)
        return v->name;
    const Op *op = v->def;
    if (v->kind == VAL_RESULT && op->kind == OP_SPLIT) {
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

/* ---- sizes and pointers -------------------------------------------------------------------- */

/* Dimension d of v as this rank holds it (a weight as it was loaded). */
Size *dim_size(Lower *L, const Value *v, int d)
{
    Dim dim = v->shape.dims[d];
    const Layout *l = v->kind == VAL_WEIGHT ? &v->weight->layout : &v->layout;
    if (dim.sym >= 0 && L->last_position && dim.sym == L->gen->seq)
        return size_number(L->a, L->tp, 1); /* generation: one row per sequence from here */
    if (dim.sym >= 0)
        return size_symbol(L->a, L->tp, dim.sym);
    if (l->kind != LAYOUT_S || l->dim != d)
        return size_number(L->a, L->tp, dim.size);
    int64_t *per_rank = arena_array(L->a, (size_t)L->tp, sizeof(int64_t));
    for (int r = 0; r < L->tp; r++)
        per_rank[r] = layout_local_size(l, r);
    return size_named(L->a, size_per_rank(L->a, L->tp, per_rank), value_name(v));
}

/* The product of dims [from, to) of v. */
Size *dims_size(Lower *L, const Value *v, int from, int to)
{
    Size *s = size_number(L->a, L->tp, 1);
    for (int d = from; d < to; d++)
        s = size_mul(L->a, s, dim_size(L, v, d));
    return size_named(L->a, s, arena_printf(L->a, "%s_size", value_name(v)));
}

Size *rows_size(Lower *L, const Value *v)
{
    return size_named(L->a, dims_size(L, v, 0, v->shape.rank - 1),
                      arena_printf(L->a, "%s_rows", value_name(v)));
}

Size *cols_size(Lower *L, const Value *v)
{
    return v->shape.rank ? dim_size(L, v, v->shape.rank - 1) : size_number(L->a, L->tp, 1);
}

Size *elements_size(Lower *L, const Value *v)
{
    return size_named(L->a, dims_size(L, v, 0, v->shape.rank),
                      arena_printf(L->a, "%s_elements", value_name(v)));
}

/* The distance between v's rows: its columns, or for a view those of the value it is in. */
Size *ld_size(Lower *L, const Value *v)
{
    return cols_size(L, v->view_of ? v->view_of : v);
}

static int input_index(const Graph *g, const Value *v)
{
    for (int i = 0; i < g->inputs.len; i++)
        if (g->inputs.items[i] == v)
            return i;
    internal_error("'%s' is not an input", v->name ? v->name : "?");
}

/* The weight field that holds w. */
static int field_of(const Lower *L, const Weight *w)
{
    for (int i = 0; i < L->p->fields.len; i++)
        if (L->p->fields.items[i].weight == w)
            return i;
    internal_error("weight '%s' has no field", w->name);
}

/* Where v is: a buffer (at its view's offset), an input or a weight. */
Ref ref_of(Lower *L, const Value *v)
{
    if (v->kind == VAL_WEIGHT)
        return (Ref){REF_WEIGHT, field_of(L, v->weight), NULL, false};
    if (v->kind == VAL_INPUT)
        return (Ref){REF_INPUT, input_index(L->g, v), NULL, v->dtype == DT_I32};
    if (v->slot < 0)
        internal_error("value without a buffer");
    Ref ref = {REF_BUFFER, v->slot, NULL, v->dtype == DT_I32};
    if (v->view_of) { /* columns of a wider value's rows */
        Size *at = size_per_rank(L->a, L->tp, v->view_offset);
        ref.offset = at->nterms ? size_named(L->a, at, arena_printf(L->a, "%s_at", value_name(v)))
                                : NULL;
    }
    return ref;
}

/* Do a and b point at the same element? (An all-reduce in place, a carried value that stays in
 * its buffer, a residual that already is the sum's buffer.) */
bool ref_equal(Ref a, Ref b)
{
    if (a.kind != b.kind || a.index != b.index)
        return false;
    if (!a.offset && !b.offset)
        return true;
    if (!a.offset || !b.offset) { /* one has none: the other's must come to zero */
        const Size *s = a.offset ? a.offset : b.offset;
        return s->nterms == 0;
    }
    return size_equal(a.offset, b.offset);
}

/* ---- kernels ------------------------------------------------------------------------------- */

/* The index of kernel k in the program: the same kernel built twice (equal parameters and
 * body, kernel_equal) is kept once, under the first one's name. */
int use_kernel(Lower *L, Kernel *k)
{
    Program *p = L->p;
    for (int i = 0; i < p->kernels.len; i++)
        if (kernel_equal(p->kernels.items[i], k))
            return i;
    k->name = program_name(p, k->name);
    vec_push(p->a, &p->kernels, k);
    return p->kernels.len - 1;
}

/* ---- tables -------------------------------------------------------------------------------- */

/* The split of v's split dimension d, as a TpcrtSplit of [rows, cols * inner]. */
int split_table(Lower *L, const Value *v)
{
    const Layout *l = &v->layout;
    int64_t inner = 1;
    for (int d = l->dim + 1; d < v->shape.rank; d++) {
        if (v->shape.dims[d].sym >= 0)
            internal_error("a split of a dimension before a symbolic one");
        inner *= v->shape.dims[d].size;
    }
    SplitTable t = {program_name(L->p, arena_printf(L->a, "%s_split", value_name(v))), l->nseg,
                    arena_array(L->a, (size_t)(l->nseg * L->tp), sizeof(Range)), 0};
    int64_t offset = 0;
    for (int s = 0; s < l->nseg; s++) {
        for (int r = 0; r < L->tp; r++) {
            Range range = l->seg[s].ranks[r];
            t.ranges[s * L->tp + r] = (Range){(offset + range.start) * inner,
                                              (offset + range.end) * inner};
        }
        offset += l->seg[s].size;
    }
    t.full = offset * inner;
    vec_push(L->a, &L->p->splits, t);
    return L->p->splits.len - 1;
}

/* The ranges each rank reads of a stored tensor's split dimension: piece `piece` of a fused
 * weight's layout (offsets within the part), or every piece (offsets within the tensor). */
int range_table(Lower *L, const char *name, const Layout *l, int piece)
{
    int first = piece < 0 ? 0 : piece, last = piece < 0 ? l->nseg : piece + 1;
    RangeTable t = {program_name(L->p, arena_printf(L->a, "%s_ranges", name)), last - first,
                    arena_array(L->a, (size_t)(L->tp * (last - first)), sizeof(Range))};
    for (int r = 0; r < L->tp; r++) {
        int64_t offset = 0;
        for (int s = 0; s < l->nseg; s++) {
            Range range = l->seg[s].ranks[r];
            if (s >= first && s < last) {
                int64_t base = piece < 0 ? offset : 0;
                t.ranges[r * t.nranges + s - first] = (Range){base + range.start,
                                                              base + range.end};
            }
            offset += l->seg[s].size;
        }
    }
    vec_push(L->a, &L->p->ranges, t);
    return L->p->ranges.len - 1;
}

/* ---- weights ------------------------------------------------------------------------------- */

/* What rank r holds of dimension d of weight w (stored shape). */
static int64_t held(const Weight *w, int d, int r)
{
    const Layout *l = &w->layout;
    if (l->kind != LAYOUT_S || l->dim != d)
        return w->shape.dims[d].size;
    return layout_local_size(l, r);
}

static Size *weight_dim(Lower *L, const Weight *w, int d)
{
    int64_t *per_rank = arena_array(L->a, (size_t)L->tp, sizeof(int64_t));
    for (int r = 0; r < L->tp; r++)
        per_rank[r] = held(w, d, r);
    return size_named(L->a, size_per_rank(L->a, L->tp, per_rank),
                      arena_printf(L->a, "%s_%s", w->name, d ? "cols" : "rows"));
}

/* How a random weight is made (--random-weights): matrices uniform with scale 1/sqrt(fan-in),
 * norm weights near 1, biases small. */
static void random_init(const Graph *g, const Weight *w, WeightRead *read)
{
    bool norm = false, matmul = false;
    for (Op *op = g->top->first; op; op = ir_walk_next(op, g->top))
        for (int i = 0; i < op->nargs; i++)
            if (op->args[i]->kind == VAL_WEIGHT && op->args[i]->weight == w) {
                norm |= (op->kind == OP_RMSNORM || op->kind == OP_LAYERNORM) && i == 1;
                matmul |= op->kind == OP_MATMUL;
            }
    read->init_offset = norm ? 1.0f : 0.0f;
    read->init_scale = 0.1f;
    if (w->shape.rank == 2) {
        int64_t fan_in = matmul ? w->shape.dims[0].size : w->shape.dims[1].size;
        read->init_offset = 0.0f;
        read->init_scale = (float)(1.0 / sqrt((double)fan_in));
    }
}

/* A read of one stored tensor (`piece` of its layout, or all of it) at `offset`. */
static WeightRead weight_read(Lower *L, const Weight *tensor, const Weight *holder,
                              const Layout *l, int piece, Size *offset, Size **strides)
{
    WeightRead read = {.tensor = tensor, .range_dim = -1, .offset = offset,
                       .strides = {strides[0], strides[1]}};
    if (l->kind == LAYOUT_S && l->dim < tensor->shape.rank) {
        read.range_dim = l->dim;
        read.ranges = range_table(L, c_identifier(L->a, tensor->name), l, piece);
    }
    random_init(L->g, holder, &read);
    return read;
}

static bool read_by_matmul(const Graph *g, const Weight *w)
{
    for (Op *op = g->top->first; op; op = ir_walk_next(op, g->top))
        if (op->kind == OP_MATMUL && op->args[1]->kind == VAL_WEIGHT && op->args[1]->weight == w)
            return true;
    return false;
}

/* A field of the weights: a tensor, or a fused one read part by part. Element (o, i) of the
 * slice goes to [o * cols + i], or kept [in, out] (Weight.stored_in_out) to [i * rows + o]. */
static void lower_weight(Lower *L, const Weight *w)
{
    WeightField f = {.weight = w, .group = w->group, .bf16 = w->bf16};
    const char *base = c_identifier(L->a, w->name);
    f.name = w->clone_of ? arena_printf(L->a, "%s_copy", base) : base;
    f.elements = size_number(L->a, L->tp, 1);
    for (int d = 0; d < w->shape.rank; d++)
        f.elements = size_mul(L->a, f.elements, weight_dim(L, w, d));
    f.elements = size_named(L->a, f.elements, arena_printf(L->a, "%s_elements", w->name));
    Size *one = size_number(L->a, L->tp, 1), *zero = size_number(L->a, L->tp, 0);
    Size *rows = w->shape.rank == 2 ? weight_dim(L, w, 0) : one;
    Size *cols = w->shape.rank == 2 ? weight_dim(L, w, 1) : one;
    Size *strides[2] = {one, NULL};
    /* bf16 is kept [out, in]: a matmul's [in, out] weight is transposed as it is read */
    bool transpose = w->stored_in_out || (w->bf16 && read_by_matmul(L->g, w));
    if (w->shape.rank == 2) {
        strides[0] = transpose ? one : cols;
        strides[1] = transpose ? rows : one;
    }
    if (!w->nparts) {
        f.nreads = 1;
        f.reads = arena_alloc(L->a, sizeof *f.reads);
        f.reads[0] = weight_read(L, w, w, &w->layout, -1, zero, strides);
    } else {
        /* Fused: part k's rows (columns, kept transposed or for a matmul's [in, out]) follow
         * part k-1's, each the rank's own piece when the split runs along the parts. */
        const Layout *l = &w->layout;
        bool by_piece = l->kind == LAYOUT_S && l->dim == w->segment_dim;
        bool along_rows = w->segment_dim == 0 && !w->stored_in_out;
        bool along_cols_kept_rows = w->segment_dim == 1 && transpose; /* bf16 matmul */
        Size *offset = zero; /* of part k, in rows or columns */
        f.nreads = w->nparts;
        f.reads = arena_array(L->a, (size_t)w->nparts, sizeof *f.reads);
        for (int k = 0; k < w->nparts; k++) {
            const Weight *part = w->parts[k];
            int64_t *size = arena_array(L->a, (size_t)L->tp, sizeof(int64_t));
            for (int r = 0; r < L->tp; r++)
                size[r] = by_piece ? l->seg[k].ranks[r].end - l->seg[k].ranks[r].start
                                   : part->shape.dims[w->segment_dim].size;
            Size *first = along_rows ? size_mul(L->a, offset, cols)
                        : along_cols_kept_rows ? size_mul(L->a, offset, rows) : offset;
            first = size_named(L->a, first, arena_printf(L->a, "%s_at", part->name));
            f.reads[k] = weight_read(L, part, w, l, by_piece ? k : -1, first, strides);
            offset = size_add(L->a, offset, size_per_rank(L->a, L->tp, size));
        }
    }
    vec_push(L->a, &L->p->fields, f);
}

/* Every weight a rank holds, top-level ones first, then each group's, in declaration order:
 * the order they are carved from one allocation. */
static void lower_weights(Lower *L)
{
    Graph *g = L->g;
    for (int gi = 0; gi < g->groups.len; gi++) {
        char *name = (char *)c_identifier(L->a, g->groups.items[gi]->name);
        name = arena_strdup(L->a, name);
        if (name[0] >= 'a' && name[0] <= 'z')
            name[0] = (char)(name[0] - 'a' + 'A');
        vec_push(L->a, &L->p->groups, program_name(L->p, arena_printf(L->a, "%sWeights", name)));
    }
    for (int i = 0; i < g->weights.len; i++)
        if (g->weights.items[i]->used && !g->weights.items[i]->group)
            lower_weight(L, g->weights.items[i]);
    for (int gi = 0; gi < g->groups.len; gi++)
        for (int i = 0; i < g->weights.len; i++)
            if (g->weights.items[i]->used && g->weights.items[i]->group == g->groups.items[gi])
                lower_weight(L, g->weights.items[i]);
    Size *total[2] = {size_number(L->a, L->tp, 0), size_number(L->a, L->tp, 0)};
    bool any_bf16 = false;
    for (int i = 0; i < L->p->fields.len; i++) {
        const WeightField *f = &L->p->fields.items[i];
        int64_t blocks = f->group ? f->group->count : 1;
        total[f->bf16] = size_add(L->a, total[f->bf16],
                                  size_mul(L->a, f->elements, size_number(L->a, L->tp, blocks)));
        any_bf16 |= f->bf16;
    }
    L->p->weight_elements = size_named(L->a, total[0], "weights_held");
    if (any_bf16)
        L->p->weight_elements_bf16 = size_named(L->a, total[1], "weights_held_bf16");
}

/* ---- buffers ------------------------------------------------------------------------------- */

typedef Vec(const char *) Names;

static void hold(Lower *L, Names *names, const char *name)
{
    for (int k = 0; k < names->len; k++)
        if (!strcmp(names->items[k], name))
            return;
    vec_push(L->a, names, name);
}

/* A buffer is named by its role: the one name its values share (x, the residual stream), the
 * two it holds in turn ("h_or_logits"), or, holding more, "work1", "work2": working space. */
static void name_buffers(Lower *L)
{
    Graph *g = L->g;
    Names *held = arena_array(L->a, (size_t)g->slots.len + 1, sizeof *held);
    bool *carried = arena_array(L->a, (size_t)g->slots.len + 1, sizeof *carried);
    for (Op *op = g->top->first; op; op = ir_walk_next(op, g->top)) {
        for (int i = 0; op->body && i < op->body->nparams; i++) {
            const Value *p = op->body->params[i];
            if (p->slot >= 0) {
                carried[p->slot] = true;
                held[p->slot].len = 0;
                vec_push(L->a, &held[p->slot], p->name ? p->name : "t");
            }
        }
        if (op->scratch >= 0)
            hold(L, &held[op->scratch], op->kind == OP_ROPE ? "rope_cache" : "scores");
        for (int i = 0; i < op->nresults; i++) {
            const Value *v = op->results[i];
            if (v->slot >= 0 && !v->view_of && !carried[v->slot])
                hold(L, &held[v->slot], value_name(v));
        }
    }
    int work = 0;
    for (int s = 0; s < g->slots.len; s++) {
        const char *name = held[s].len ? c_identifier(L->a, held[s].items[0]) : "unused";
        if (held[s].len == 2)
            name = arena_printf(L->a, "%s_or_%s", name, c_identifier(L->a, held[s].items[1]));
        if (held[s].len > 2)
            name = arena_printf(L->a, "work%d", ++work);
        Buffer b = {program_name(L->p, name), NULL, g->slots.items[s].terms.len};
        b.terms = arena_array(L->a, (size_t)b.nterms + 1, sizeof *b.terms);
        for (int t = 0; t < b.nterms; t++) {
            const SlotTerm *term = &g->slots.items[s].terms.items[t];
            Size *size = size_per_rank(L->a, L->tp, term->per_rank);
            for (int k = 0; k < term->nsyms; k++)
                size = size_mul(L->a, size, size_symbol(L->a, L->tp, term->syms[k]));
            b.terms[t] = size_named(L->a, size, "buffer_elements");
        }
        vec_push(L->a, &L->p->buffers, b);
    }
}

/* ---- inputs -------------------------------------------------------------------------------- */

/* What --random-input makes for each input: ids below the smallest table they index, ones for a
 * mask, normal values otherwise; and what a tokenizer fills it with: the ids of the largest
 * table are the tokens, other ids token types. */
static void lower_inputs(Lower *L)
{
    Graph *g = L->g;
    Program *p = L->p;
    p->input_info = arena_array(L->a, (size_t)g->inputs.len + 1, sizeof *p->input_info);
    int64_t largest = 0;
    for (int i = 0; i < g->inputs.len; i++) {
        const Value *input = g->inputs.items[i];
        InputInfo *info = &p->input_info[i];
        info->random = input->dtype == DT_I32 ? RANDOM_IDS : RANDOM_NORMAL;
        for (Op *op = g->top->first; op; op = ir_walk_next(op, g->top)) {
            for (int a = 0; a < op->nargs; a++) {
                if (op->args[a] != input)
                    continue;
                if (op->kind == OP_EMBEDDING && a == 0) {
                    int64_t vocab = op->args[1]->shape.dims[0].size;
                    info->id_limit = info->id_limit && info->id_limit < vocab ? info->id_limit
                                                                              : vocab;
                }
                if ((op->kind == OP_ATTENTION && a == 3) ||
                    ((op->kind == OP_MEAN || op->kind == OP_SUM) && a == 1))
                    info->random = RANDOM_ONES;
            }
        }
        if (info->random == RANDOM_ONES) {
            info->id_limit = 0;
            info->role = ROLE_MASK;
        }
        if (info->random == RANDOM_IDS && info->id_limit > largest)
            largest = info->id_limit;
    }
    for (int i = 0; i < g->inputs.len; i++) {
        InputInfo *info = &p->input_info[i];
        if (info->random == RANDOM_IDS && info->id_limit)
            info->role = info->id_limit == largest ? ROLE_TOKENS : ROLE_TOKEN_TYPES;
    }
}

/* ---- the program --------------------------------------------------------------------------- */

Program *lower_program(Graph *g)
{
    Program *p = arena_alloc(g->arena, sizeof *p);
    *p = (Program){.g = g, .a = g->arena, .tp = g->tp, .attention_softmax = -1};
    strmap_init(&p->names, g->arena);
    strmap_init(&p->suffixes, g->arena);
    for (size_t i = 0; i < sizeof fixed_names / sizeof fixed_names[0]; i++)
        strmap_put(&p->names, fixed_names[i], (void *)fixed_names[i]);
    Lower L = {.g = g, .p = p, .a = g->arena, .tp = g->tp};
    /* the names forward declares first: symbolic dimensions, inputs, buffers */
    p->symbols = arena_array(p->a, (size_t)g->symbols.len + 2, sizeof *p->symbols);
    for (int i = 0; i < g->symbols.len; i++)
        p->symbols[i] = program_name(p, g->symbols.items[i]);
    p->nsymbols = g->symbols.len;
    p->inputs = arena_array(p->a, (size_t)g->inputs.len + 1, sizeof *p->inputs);
    for (int i = 0; i < g->inputs.len; i++)
        p->inputs[i] = program_name(p, g->inputs.items[i]->name);
    lower_inputs(&L);
    name_buffers(&L);
    lower_weights(&L);
    lower_forward(&L);
    lower_generation(&L);
    const Op *ret = g->top->last;
    p->outputs = arena_array(p->a, (size_t)ret->nargs + 1, sizeof *p->outputs);
    for (int i = 0; i < ret->nargs; i++)
        p->outputs[i] = ref_of(&L, ret->args[i]);
    return p;
}
