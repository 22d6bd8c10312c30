/* lower_forward.c — the steps of forward: each IR statement (op) becomes the kernel calls,
 * GEMMs, attention and collectives that compute it on one rank, in order; a weights group's
 * loop becomes a LOOP step. What a statement's steps read and write are Refs, their sizes Sizes.
 *
 * The one decision about ranks that is made per statement was made by a pass: a partial sum
 * that adds a replicated term adds it on rank 0 only (Attrs.once, passes/collectives.c); the
 * steps that do it are marked rank0.
 */
#include "lower.h"

#include <string.h>

/* ---- steps and arguments ------------------------------------------------------------------- */

/* A new step of the statement being lowered, appended to the current list. */
static Step *step(Lower *L, StepKind kind)
{
    Step *s = arena_alloc(L->a, sizeof *s);
    s->kind = kind;
    s->op = L->op;
    s->first = !L->op_started;
    L->op_started = true;
    *L->tail = s;
    L->tail = &s->next;
    return s;
}

/* A step kept aside (what the other ranks do instead of a rank-0 step). */
static Step *aside(Lower *L, StepKind kind)
{
    Step *s = arena_alloc(L->a, sizeof *s);
    s->kind = kind;
    s->op = L->op;
    return s;
}

static Arg ref_arg(Ref r)
{
    return (Arg){.kind = ARG_REF, .ref = r};
}

static Arg size_arg(Size *s)
{
    return (Arg){.kind = ARG_SIZE, .size = s};
}

static Arg int_arg(int64_t i)
{
    return (Arg){.kind = ARG_INT, .i = i};
}

static Arg float_arg(double f)
{
    return (Arg){.kind = ARG_FLOAT, .f = f};
}

/* A call of kernel k with n arguments. */
static Step *call(Lower *L, Kernel *k, int n, const Arg *args)
{
    Step *s = step(L, STEP_KERNEL);
    s->kernel = use_kernel(L, k);
    s->nargs = n;
    s->args = arena_array(L->a, (size_t)n, sizeof *s->args);
    memcpy(s->args, args, sizeof *args * (size_t)n);
    return s;
}

static Step *copy(Lower *L, Step *s, Ref out, Ref in, Size *count)
{
    s->out = out;
    s->in = in;
    s->count = count;
    return s;
}

/* ---- elementwise chains and GEMMs ---------------------------------------------------------- */

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
    bool per_row = ar == orank && arg->shape.dims[ar - 1].sym < 0 &&
                   arg->shape.dims[ar - 1].size == 1;
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
    return v->kind == VAL_RESULT && v->def->attrs.inlined &&
           (op_info[v->def->kind].flags & OPF_GEMM);
}

/* The expression tree of an elementwise op with the ops inlined into it. */
static ElementNode *element_tree(Lower *L, const Op *op, const Value *out, Leaves *leaves)
{
    ElementNode *n = arena_alloc(L->a, sizeof *n);
    n->op = op->kind;
    n->nargs = op->nargs;
    n->leaf = -1;
    for (int i = 0; i < op->nargs; i++) {
        const Value *v = op->args[i];
        if (v->kind == VAL_RESULT && v->def->attrs.inlined && !is_inlined_gemm(v)) {
            n->args[i] = element_tree(L, v->def, out, leaves);
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
        ElementNode *leaf = arena_alloc(L->a, sizeof *leaf);
        leaf->leaf = k;
        n->args[i] = leaf;
    }
    return n;
}

/* "silu_mul" for mul(silu(a), b): the kernel's name, from the ops it computes. */
static const char *tree_name(Lower *L, const ElementNode *n)
{
    if (n->leaf >= 0)
        return NULL;
    const char *name = NULL;
    for (int i = 0; i < n->nargs; i++) {
        const char *inner = tree_name(L, n->args[i]);
        if (inner)
            name = name ? arena_printf(L->a, "%s_%s", name, inner) : inner;
    }
    return name ? arena_printf(L->a, "%s_%s", name, op_info[n->op].name) : op_info[n->op].name;
}

static void lower_epilogue(Lower *L, const Op *add);

/* An elementwise op and the chain inlined into it, as one kernel over [rows, cols]. A partial
 * sum plus a replicated term (Attrs.once) adds it on rank 0; the other ranks keep their partial
 * sums (copied, unless the result is written over them). */
static void lower_elementwise(Lower *L, const Op *op)
{
    for (int i = 0; i < op->nargs; i++)
        if (is_inlined_gemm(op->args[i])) {
            lower_epilogue(L, op);
            return;
        }
    const Value *y = op->results[0];
    Leaves leaves = {0};
    ElementNode *tree = element_tree(L, op, y, &leaves);
    Kernel *k = kernel_elementwise(L->a, tree_name(L, tree), tree, leaves.args, leaves.n);
    Arg args[2 + 2 * 16 + 2];
    int n = 0;
    args[n++] = ref_arg(ref_of(L, y));
    args[n++] = size_arg(ld_size(L, y));
    for (int i = 0; i < leaves.n; i++) {
        const Value *v = leaves.values[i];
        if (leaves.args[i].kind == ARG_SCALAR) {
            args[n++] = float_arg(v->constant);
        } else {
            args[n++] = ref_arg(ref_of(L, v));
            if (leaves.args[i].kind == ARG_ROWS)
                args[n++] = size_arg(ld_size(L, v));
        }
    }
    args[n++] = size_arg(rows_size(L, y));
    args[n++] = size_arg(cols_size(L, y));
    Step *s = call(L, k, n, args);
    if (!op->attrs.once)
        return;
    int replicated = op->args[0]->layout.kind == LAYOUT_P ? 1 : 0;
    if (op->kind == OP_SUB && replicated == 0)
        internal_error("R - P is not made by the sharding rules");
    s->rank0 = true;
    Ref partial = ref_of(L, op->args[1 - replicated]), out = ref_of(L, y);
    if (!ref_equal(partial, out))
        s->otherwise = copy(L, aside(L, STEP_COPY), out, partial, elements_size(L, y));
}

/* The GEMM of a linear or matmul into y: through its weight as kept ([n, k] as nn.Linear
 * stores it, or [k, n]: a matmul's, or a linear's the weight-layout pass keeps so). */
static Step *gemm(Lower *L, const Op *op, Ref y, Size *ld_y, Beta beta)
{
    const Value *x = op->args[0];
    Step *s = step(L, STEP_GEMM);
    s->bf16 = op->args[1]->kind == VAL_WEIGHT && op->args[1]->weight->bf16;
    s->in_out = !s->bf16 && !(op->kind == OP_LINEAR && !op->args[1]->weight->stored_in_out);
    s->beta = beta;
    s->y = y;
    s->ld_y = ld_y;
    s->x = ref_of(L, x);
    s->ld_x = ld_size(L, x);
    s->w = ref_of(L, op->args[1]);
    s->m = rows_size(L, x);
    s->n = cols_size(L, op->results[0]);
    s->k = cols_size(L, x);
    return s;
}

/* linear(x, w[, b]) and matmul(x, w): a bias is laid in the output first (beta = 1), on rank 0
 * alone when the output is partial (Attrs.once). */
static void lower_gemm(Lower *L, const Op *op)
{
    const Value *y = op->results[0];
    Beta beta = BETA_ZERO;
    if (op->nargs == 3) {
        Arg args[] = {ref_arg(ref_of(L, y)), ref_arg(ref_of(L, op->args[2])),
                      size_arg(rows_size(L, y)), size_arg(cols_size(L, y))};
        Step *fill = call(L, kernel_fill_rows(L->a), 4, args);
        fill->rank0 = op->attrs.once;
        beta = op->attrs.once ? BETA_RANK0 : BETA_ONE;
    }
    gemm(L, op, ref_of(L, y), ld_size(L, y), beta);
}

/* r + linear(...): the GEMM accumulates into the sum's buffer, which starts as r (beta = 1).
 * When the GEMM is partial and r replicated (the add's Attrs.once), r (and a bias) are added on
 * rank 0 alone: the other ranks' sums start from zero (beta = 0). A partial GEMM's bias (the
 * linear's Attrs.once) is rank 0's even when r is partial too (GPT-J's x + attn + ff: each
 * rank's r is its own partial sum, and the bias must be in only one of them). */
static void lower_epilogue(Lower *L, const Op *add)
{
    int g = is_inlined_gemm(add->args[0]) ? 0 : 1;
    const Op *mm = add->args[g]->def;
    const Value *r = add->args[1 - g], *out = add->results[0];
    Ref sum = ref_of(L, out);
    if (!ref_equal(ref_of(L, r), sum)) {
        Arg args[] = {ref_arg(sum), ref_arg(ref_of(L, r)), size_arg(rows_size(L, out)),
                      size_arg(cols_size(L, out)), size_arg(ld_size(L, out)), int_arg(0),
                      size_arg(ld_size(L, r)), int_arg(0)};
        call(L, kernel_copy_columns(L->a), 8, args)->rank0 = add->attrs.once;
    }
    if (mm->nargs == 3) {
        Arg args[] = {ref_arg(sum), size_arg(ld_size(L, out)), ref_arg(ref_of(L, mm->args[2])),
                      size_arg(rows_size(L, out)), size_arg(cols_size(L, out))};
        call(L, kernel_add_rows(L->a), 5, args)->rank0 = add->attrs.once || mm->attrs.once;
    }
    gemm(L, mm, sum, ld_size(L, out), add->attrs.once ? BETA_RANK0 : BETA_ONE);
}

/* ---- rows, attention, tables --------------------------------------------------------------- */

/* "out, ld_out, x, ld_x, rows, dim": how every row kernel is called; `extra` more follow. */
static Step *row_call(Lower *L, const Op *op, Kernel *k, int extra, const Arg *more)
{
    const Value *x = op->args[0], *y = op->results[0];
    Arg args[12] = {ref_arg(ref_of(L, y)), size_arg(ld_size(L, y)), ref_arg(ref_of(L, x)),
                    size_arg(ld_size(L, x)), size_arg(rows_size(L, x)),
                    size_arg(cols_size(L, x))};
    for (int i = 0; i < extra; i++)
        args[6 + i] = more[i];
    return call(L, k, 6 + extra, args);
}

static void lower_norm(Lower *L, const Op *op)
{
    if (op->kind == OP_RMSNORM) {
        Arg more[] = {ref_arg(ref_of(L, op->args[1])), float_arg(op->attrs.eps)};
        row_call(L, op, kernel_rmsnorm(L->a), 2, more);
    } else {
        Arg more[] = {ref_arg(ref_of(L, op->args[1])), ref_arg(ref_of(L, op->args[2])),
                      float_arg(op->attrs.eps)};
        row_call(L, op, kernel_layernorm(L->a), 3, more);
    }
}

/* The heads in x's columns: its columns over head_dim, which divides them on every rank. */
static Size *heads_size(Lower *L, const Value *x, int64_t head_dim)
{
    Size *heads = size_div(L->a, cols_size(L, x), head_dim);
    if (!heads)
        internal_error("a rank's columns of '%s' are not whole heads", value_name(x));
    return size_named(L->a, heads, arena_printf(L->a, "%s_heads", value_name(x)));
}

static void lower_rope(Lower *L, const Op *op)
{
    const Value *x = op->args[0];
    int64_t head_dim = x->shape.dims[x->shape.rank - 1].size / op->attrs.heads;
    int64_t rotary = op->attrs.rotary_dim ? op->attrs.rotary_dim : head_dim;
    const Value *y = op->results[0];
    /* (y, ld, x, ld, table, rows, seq, heads, head_dim, rotary): the table of cos and sin is
     * the op's scratch buffer, filled once before the first layer (lower_rope_tables) */
    Arg args[] = {ref_arg(ref_of(L, y)), size_arg(ld_size(L, y)), ref_arg(ref_of(L, x)),
                  size_arg(ld_size(L, x)), ref_arg((Ref){REF_BUFFER, op->scratch, NULL, false}),
                  size_arg(rows_size(L, x)), size_arg(dim_size(L, x, x->shape.rank - 2)),
                  size_arg(heads_size(L, x, head_dim)), int_arg(head_dim), int_arg(rotary)};
    call(L, kernel_rope(L->a, op->attrs.rope_style), 10, args);
}

/* Per-rank first heads of a split in head units (0 where the value is whole). */
static Size *first_head(Lower *L, const Value *v, int64_t head_dim, const char *name)
{
    int64_t *first = arena_array(L->a, (size_t)L->tp, sizeof(int64_t));
    for (int r = 0; r < L->tp; r++)
        first[r] = v->layout.kind == LAYOUT_S ? v->layout.seg[0].ranks[r].start / head_dim : 0;
    return size_named(L->a, size_per_rank(L->a, L->tp, first), name);
}

/* Generation: rows of k or v (after RoPE) to the cache at position past; the cache's Ref. */
static Ref cache_append(Lower *L, const Op *op, const Value *x)
{
    Step *s = step(L, STEP_CACHE_APPEND);
    s->in = ref_of(L, x);
    s->ld_k = ld_size(L, x);
    s->count = cols_size(L, x);
    s->batch = dim_size(L, x, 0);
    s->seq = dim_size(L, x, 1);
    s->past = L->past;
    s->kv_rows = size_symbol(L->a, L->tp, L->gen->context);
    s->out = (Ref){REF_CACHE, generation_cache(L, op, x), NULL, false};
    return s->out;
}

/* Attention over the heads this rank holds. In generation, the step's k and v go to the cache
 * first, and attention reads every position so far from there. */
static void lower_attention(Lower *L, const Op *op)
{
    const Value *q = op->args[0], *k = op->args[1], *v = op->args[2], *y = op->results[0];
    Ref key = ref_of(L, k), value = ref_of(L, v);
    if (L->gen) {
        key = cache_append(L, op, k);
        value = cache_append(L, op, v);
    }
    Step *s = step(L, STEP_ATTENTION);
    s->head_dim = q->shape.dims[2].size / op->attrs.heads;
    s->group = NULL;
    s->scale = op->attrs.has_scale ? op->attrs.scale : 1.0 / sqrt((double)s->head_dim);
    s->causal = op->attrs.causal;
    s->out = ref_of(L, y);
    s->ld_out = ld_size(L, y);
    s->q = ref_of(L, q);
    s->ld_q = ld_size(L, q);
    s->key = key;
    s->ld_k = L->gen ? cols_size(L, k) : ld_size(L, k);
    s->value = value;
    s->ld_v = L->gen ? cols_size(L, v) : ld_size(L, v);
    s->mask = op->nargs == 4 ? ref_of(L, op->args[3]) : (Ref){REF_NONE, 0, NULL, false};
    s->scores = L->gen ? (Ref){REF_CACHE, generation_scores(L), NULL, false}
                       : (Ref){REF_BUFFER, op->scratch, NULL, false};
    s->batch = dim_size(L, q, 0);
    s->seq = dim_size(L, q, 1);
    s->heads = heads_size(L, q, s->head_dim);
    s->kv_heads = heads_size(L, k, s->head_dim);
    s->first_head = first_head(L, q, s->head_dim, "first_head");
    s->first_kv = first_head(L, k, s->head_dim, "first_kv_head");
    s->kv_group = op->attrs.heads / op->attrs.kv_heads;
    s->past = L->past;
    s->kv_rows = L->gen ? size_symbol(L->a, L->tp, L->gen->context) : s->seq;
    L->p->attention_softmax = use_kernel(L, kernel_attention_softmax(L->a));
}

/* The cos and sin tables rope ops read, each filled once, before the first layer. */
static void lower_rope_tables(Lower *L)
{
    Graph *g = L->g;
    bool *made = arena_array(L->a, (size_t)g->slots.len + 1, sizeof *made);
    for (Op *op = g->top->first; op; op = ir_walk_next(op, g->top)) {
        if (op->kind != OP_ROPE || made[op->scratch])
            continue;
        made[op->scratch] = true;
        const Value *x = op->args[0];
        int64_t head_dim = x->shape.dims[x->shape.rank - 1].size / op->attrs.heads;
        L->op = NULL;
        Step *s = step(L, STEP_ROPE_TABLE);
        s->table = (Ref){REF_BUFFER, op->scratch, NULL, false};
        s->seq = dim_size(L, x, x->shape.rank - 2);
        s->past = L->past;
        s->rotary = op->attrs.rotary_dim ? op->attrs.rotary_dim : head_dim;
        s->theta = op->attrs.theta;
        s->table_kernel = use_kernel(L, kernel_rope_table(L->a));
    }
}

/* ---- lookups, copies, reductions ----------------------------------------------------------- */

static void lower_embedding(Lower *L, const Op *op)
{
    const Value *ids = op->args[0], *table = op->args[1], *y = op->results[0];
    const Layout *l = table->kind == VAL_WEIGHT ? &table->weight->layout : &table->layout;
    int64_t vocab = table->shape.dims[0].size;
    int64_t *first = arena_array(L->a, (size_t)L->tp, sizeof(int64_t));
    int64_t *count = arena_array(L->a, (size_t)L->tp, sizeof(int64_t));
    for (int r = 0; r < L->tp; r++) {
        bool rows = l->kind == LAYOUT_S && l->dim == 0;
        first[r] = rows ? l->seg[0].ranks[r].start : 0;
        count[r] = rows ? l->seg[0].ranks[r].end - first[r] : vocab;
    }
    Step *check = step(L, STEP_CHECK_IDS);
    check->in = ref_of(L, ids);
    check->count = elements_size(L, ids);
    check->limit = vocab;
    check->names[0] = value_name(ids);
    check->names[1] = value_name(table);
    Arg args[] = {ref_arg(ref_of(L, y)), ref_arg(ref_of(L, ids)), ref_arg(ref_of(L, table)),
                  size_arg(elements_size(L, ids)), size_arg(cols_size(L, y)),
                  size_arg(size_named(L->a, size_per_rank(L->a, L->tp, first), "vocab_first")),
                  size_arg(size_named(L->a, size_per_rank(L->a, L->tp, count), "vocab_held"))};
    call(L, kernel_embedding(L->a), 7, args);
}

/* copy_columns calls: pieces of a split, the inputs of a concat, a rank's slice. */
static void copy_columns(Lower *L, Ref out, Ref in, Size *rows, Size *cols, Size *out_cols,
                         Size *to, Size *in_cols, Size *from)
{
    Arg args[] = {ref_arg(out), ref_arg(in), size_arg(rows), size_arg(cols), size_arg(out_cols),
                  size_arg(to), size_arg(in_cols), size_arg(from)};
    call(L, kernel_copy_columns(L->a), 8, args);
}

static void lower_split(Lower *L, const Op *op)
{
    const Value *x = op->args[0];
    if (op->results[0]->view_of) { /* the pieces are read in place */
        step(L, STEP_NOTE)->note = arena_printf(L->a, "(views: the pieces are columns of %s's "
                                                      "rows)", value_name(x));
        return;
    }
    Size *offset = size_number(L->a, L->tp, 0);
    for (int i = 0; i < op->nresults; i++) {
        const Value *piece = op->results[i];
        copy_columns(L, ref_of(L, piece), ref_of(L, x), rows_size(L, x), cols_size(L, piece),
                     cols_size(L, piece), size_number(L->a, L->tp, 0), cols_size(L, x),
                     size_named(L->a, offset, arena_printf(L->a, "%s_at", value_name(piece))));
        offset = size_add(L->a, offset, cols_size(L, piece));
    }
}

static void lower_concat(Lower *L, const Op *op)
{
    const Value *y = op->results[0];
    Size *offset = size_number(L->a, L->tp, 0);
    for (int i = 0; i < op->nargs; i++) {
        const Value *x = op->args[i];
        copy_columns(L, ref_of(L, y), ref_of(L, x), rows_size(L, x), cols_size(L, x),
                     cols_size(L, y),
                     size_named(L->a, offset, arena_printf(L->a, "%s_at", value_name(x))),
                     cols_size(L, x), size_number(L->a, L->tp, 0));
        offset = size_add(L->a, offset, cols_size(L, x));
    }
}

/* R -> S: this rank's columns of each piece, side by side. */
static void lower_slice(Lower *L, const Op *op)
{
    const Value *x = op->args[0], *y = op->results[0];
    const Layout *l = &y->layout;
    if (l->dim != y->shape.rank - 1)
        internal_error("a slice of a dimension other than the last");
    int64_t seg_offset = 0;
    Size *to = size_number(L->a, L->tp, 0);
    for (int s = 0; s < l->nseg; s++) {
        int64_t *start = arena_array(L->a, (size_t)L->tp, sizeof(int64_t));
        int64_t *size = arena_array(L->a, (size_t)L->tp, sizeof(int64_t));
        for (int r = 0; r < L->tp; r++) {
            start[r] = seg_offset + l->seg[s].ranks[r].start;
            size[r] = l->seg[s].ranks[r].end - l->seg[s].ranks[r].start;
        }
        Size *cols = size_named(L->a, size_per_rank(L->a, L->tp, size), "slice_cols");
        copy_columns(L, ref_of(L, y), ref_of(L, x), rows_size(L, x), cols, cols_size(L, y),
                     size_named(L->a, to, "slice_to"), cols_size(L, x),
                     size_named(L->a, size_per_rank(L->a, L->tp, start), "slice_from"));
        to = size_add(L->a, to, cols);
        seg_offset += l->seg[s].size;
    }
}

static void lower_reduce(Lower *L, const Op *op)
{
    const Value *x = op->args[0];
    int d = op->attrs.dim, n = 0;
    Arg args[6];
    args[n++] = ref_arg(ref_of(L, op->results[0]));
    args[n++] = ref_arg(ref_of(L, x));
    if (op->nargs == 2)
        args[n++] = ref_arg(ref_of(L, op->args[1]));
    args[n++] = size_arg(dims_size(L, x, 0, d));
    args[n++] = size_arg(dim_size(L, x, d));
    args[n++] = size_arg(dims_size(L, x, d + 1, x->shape.rank));
    call(L, kernel_reduce(L->a, op->kind == OP_MEAN, op->nargs == 2), n, args);
}

static void lower_positions(Lower *L, const Op *op)
{
    Arg args[] = {ref_arg(ref_of(L, op->results[0])), size_arg(elements_size(L, op->args[0])),
                  size_arg(cols_size(L, op->args[0])), size_arg(L->past)};
    call(L, kernel_positions(L->a), 4, args);
}

/* ---- collectives and loops ----------------------------------------------------------------- */

static void lower_collective(Lower *L, const Op *op)
{
    const Value *x = op->args[0], *y = op->results[0];
    Ref in = ref_of(L, x), out = ref_of(L, y);
    Step *s;
    switch (op->kind) {
    case OP_ALL_REDUCE:
        if (!ref_equal(in, out))
            copy(L, step(L, STEP_COPY), out, in, elements_size(L, x));
        s = step(L, STEP_ALL_REDUCE);
        s->in = s->out = out;
        s->count = elements_size(L, x);
        break;
    case OP_ALL_GATHER:
        if (op->attrs.to_root && L->gen)
            return; /* an output: generation samples it where it is (lower_generate.c) */
        s = step(L, op->attrs.to_root ? STEP_GATHER_ROOT : STEP_ALL_GATHER);
        s->in = in;
        s->out = out;
        s->rows = dims_size(L, x, 0, x->layout.dim);
        s->split = split_table(L, x);
        break;
    case OP_REDUCE_SCATTER:
        s = step(L, STEP_REDUCE_SCATTER);
        s->in = in;
        s->out = out;
        s->rows = dims_size(L, y, 0, y->layout.dim);
        s->split = split_table(L, y);
        break;
    default: unreachable();
    }
}

static void lower_block(Lower *L, const Block *b);

/* A weights group's loop: a block's weights through `l`; carried values stay in their buffers
 * (the memory plan puts them there), or are copied in before it and back at each block's end. */
static void lower_loop(Lower *L, const Op *op)
{
    const Block *body = op->body;
    for (int i = 0; i < op->nargs; i++) {
        Ref init = ref_of(L, op->args[i]), param = ref_of(L, body->params[i]);
        if (!ref_equal(init, param))
            copy(L, step(L, STEP_COPY), param, init, elements_size(L, op->args[i]));
    }
    Step *loop = step(L, STEP_LOOP);
    loop->group = op->group;
    for (int gi = 0; gi < L->g->groups.len; gi++)
        if (L->g->groups.items[gi] == op->group)
            loop->group_index = gi;
    Step **after = L->tail;
    L->tail = &loop->body;
    lower_block(L, body);
    L->tail = &loop->carry;
    const Op *yield = body->last;
    for (int i = 0; i < op->nargs; i++) {
        const Value *v = yield->args[i], *param = body->params[i];
        Ref from = ref_of(L, v), to = ref_of(L, param);
        if (ref_equal(from, to))
            continue;
        L->op = NULL;
        Step *s = copy(L, step(L, STEP_COPY), to, from, elements_size(L, v));
        s->note = arena_printf(L->a, "%s carries into the next block",
                               param->name ? param->name : "t");
    }
    L->tail = after;
}

static void lower_op(Lower *L, const Op *op)
{
    if (op->kind == OP_YIELD || op->kind == OP_RETURN || op->attrs.inlined)
        return; /* an inlined op is computed where its user is */
    L->op = op->kind == OP_FOR ? NULL : op;
    L->op_started = false;
    unsigned flags = op_info[op->kind].flags;
    switch (op->kind) {
    case OP_FOR: lower_loop(L, op); return;
    case OP_LINEAR:
    case OP_MATMUL: lower_gemm(L, op); return;
    case OP_RMSNORM:
    case OP_LAYERNORM: lower_norm(L, op); return;
    case OP_SOFTMAX: row_call(L, op, kernel_softmax(L->a), 0, NULL); return;
    case OP_NORMALIZE: row_call(L, op, kernel_normalize(L->a), 0, NULL); return;
    case OP_ROPE: lower_rope(L, op); return;
    case OP_ATTENTION: lower_attention(L, op); return;
    case OP_EMBEDDING: lower_embedding(L, op); return;
    case OP_POSITIONS: lower_positions(L, op); return;
    case OP_SPLIT: lower_split(L, op); return;
    case OP_CONCAT: lower_concat(L, op); return;
    case OP_SLICE: lower_slice(L, op); return;
    case OP_MEAN:
    case OP_SUM: lower_reduce(L, op); return;
    default:
        if (flags & OPF_COLLECTIVE)
            lower_collective(L, op);
        else if (flags & OPF_ELEMENTWISE)
            lower_elementwise(L, op);
        else
            internal_error("codegen has no rule for %s", op_info[op->kind].name);
    }
}

/* Generation, after the layers' loop: what follows needs each sequence's last position only
 * (the logits of the next id), so its rows move to the first `batch` rows of their buffers and
 * everything after computes batch rows, not batch * seq (lower_generate.c decides when). */
static void lower_last_rows(Lower *L, const Op *loop)
{
    L->op = NULL;
    L->op_started = true;
    Step *note = step(L, STEP_NOTE);
    note->note = "from here, each sequence's last position only: the next id's logits";
    for (int i = 0; i < loop->nresults; i++) {
        const Value *v = loop->results[i];
        if (v->uses)
            call(L, kernel_last_rows(L->a), 5,
                 (Arg[]){ref_arg(ref_of(L, v)), size_arg(ld_size(L, v)),
                         size_arg(dim_size(L, v, 0)), size_arg(dim_size(L, v, 1)),
                         size_arg(cols_size(L, v))});
    }
    L->last_position = true;
}

static void lower_block(Lower *L, const Block *b)
{
    for (const Op *op = b->first; op; op = op->next) {
        lower_op(L, op);
        if (op->kind == OP_FOR && L->gen && L->gen->last_only && !b->parent)
            lower_last_rows(L, op);
    }
}

void lower_steps(Lower *L, Step **list)
{
    L->tail = list;
    L->last_position = false;
    lower_rope_tables(L);
    lower_block(L, L->g->top);
}

void lower_forward(Lower *L)
{
    L->past = size_number(L->a, L->tp, 0);
    lower_steps(L, &L->p->forward);
}
