/* fuse: projections that read one input become one GEMM; a fused checkpoint tensor cut by
 * `split` becomes a segmented weight.
 *
 * requires shapes
 * provides fused LINEAR/MATMUL ops whose weight (and bias) lists the checkpoint tensors laid
 *          side by side (vLLM's QKVParallelLinear, MergedColumnParallelLinear), followed by a
 *          SPLIT giving each original result; Weight.segments on every segmented weight
 * breaks   nothing
 *
 * Two projections fuse when they read the same value, in the same block, with weights of the
 * same group, the same op kind and hint, and both or neither with a bias; a projection that
 * repeats another exactly is dropped for it. The segments are
 * what the sharding pass splits one by one, so each rank ends up with its own heads of q, of k
 * and of v — whether the checkpoint stores them apart (Llama's q_proj/k_proj/v_proj) or in one
 * tensor (GPT-2's c_attn, Phi-3's qkv_proj).
 */
#include "passes.h"

#include <string.h>

enum { MAX_FUSED = 16 };

/* A projection fuse-projections may fuse or cut: its weight a matrix from the checkpoint (not
 * fused yet), its bias, if any, a weight too. */
static bool is_projection(const Op *op)
{
    return ir_is_projection(op) && op->args[1]->weight->nparts == 0 &&
           op->args[1]->weight->shape.rank == 2 &&
           (op->nargs < 3 || op->args[2]->kind == VAL_WEIGHT);
}

static bool fusable(const Op *a, const Op *b)
{
    return is_projection(b) && b->kind == a->kind && b->args[0] == a->args[0] &&
           b->nargs == a->nargs && b->attrs.hint == a->attrs.hint &&
           b->args[1]->weight->group == a->args[1]->weight->group &&
           !b->args[1]->weight->nsegments && !a->args[1]->weight->nsegments;
}

/* A weight laid side by side from `parts` along `dim`. */
static Weight *fuse_weights(Graph *g, Weight **parts, int n, int dim)
{
    Weight *w = arena_alloc(g->arena, sizeof *w);
    w->parts = arena_array(g->arena, (size_t)n, sizeof *w->parts);
    w->segments = arena_array(g->arena, (size_t)n, sizeof *w->segments);
    w->nparts = w->nsegments = n;
    w->segment_dim = dim;
    w->group = parts[0]->group;
    w->loc = parts[0]->loc;
    w->shape = parts[0]->shape;
    w->shape.dims[dim].size = 0;
    w->used = true;
    const char *name = "";
    for (int i = 0; i < n; i++) {
        w->parts[i] = parts[i];
        w->segments[i] = parts[i]->shape.dims[dim].size;
        w->shape.dims[dim].size += w->segments[i];
        name = arena_printf(g->arena, "%s%s%s", name, i ? "|" : "", parts[i]->name);
    }
    w->name = name;
    ir_weight_insert_after(g, parts[n - 1], w);
    return w;
}

/* Every reader of `from` reads `to` instead (the table was made before any change). */
static void replace_uses(const Users *users, Value *from, Value *to)
{
    const struct UseList *u = &users->of[from->id];
    for (int k = 0; k < u->len; k++)
        if (u->items[k].op->args[u->items[k].arg] == from)
            ir_op_set_arg(u->items[k].op, u->items[k].arg, to);
}

/* Replaces the projections ops[0..n) with one fused projection and a split. */
static void fuse(Graph *g, const Users *users, Op **ops, int n)
{
    Op *first = ops[0];
    int dim = ir_weight_out_dim(first);
    Weight *parts[MAX_FUSED], *biases[MAX_FUSED];
    for (int i = 0; i < n; i++) {
        parts[i] = ops[i]->args[1]->weight;
        if (first->nargs == 3)
            biases[i] = ops[i]->args[2]->weight;
    }
    Value *args[3] = {first->args[0], ir_weight_value(g, fuse_weights(g, parts, n, dim))};
    if (first->nargs == 3)
        args[2] = ir_weight_value(g, fuse_weights(g, biases, n, 0));
    Op *fused = ir_op_new(g, first->kind, first->loc, args, first->nargs, 1);
    fused->attrs = first->attrs;
    Value *out = fused->results[0];
    out->dtype = DT_F32;
    out->shape = first->results[0]->shape;
    out->shape.dims[out->shape.rank - 1].size = args[1]->weight->shape.dims[dim].size;
    ir_op_insert_before(first, fused);

    Op *split = ir_op_new(g, OP_SPLIT, first->loc, &out, 1, n);
    split->attrs.nsizes = n;
    split->attrs.sizes = args[1]->weight->segments;
    ir_op_insert_after(fused, split);
    for (int i = 0; i < n; i++) {
        Value *old = ops[i]->results[0], *piece = split->results[i];
        piece->shape = old->shape;
        piece->dtype = DT_F32;
        piece->name = old->name;
        replace_uses(users, old, piece);
        ir_op_remove(ops[i]);
    }
}

/* The same projection twice (same input, weight, bias and hint) is computed once. */
static bool same_projection(const Op *a, const Op *b)
{
    bool same = b->kind == a->kind && b->nargs == a->nargs && b->attrs.hint == a->attrs.hint;
    for (int i = 0; same && i < a->nargs; i++)
        same = a->args[i] == b->args[i];
    return same;
}

typedef Vec(Op *) OpList;

/* The projections of one block that read one value, in order: what may fuse. */
static void fuse_readers(Graph *g, const Users *users, OpList *readers)
{
    for (int i = 0; i < readers->len; i++) {
        Op *op = readers->items[i];
        if (!op || !is_projection(op))
            continue;
        Op *group[MAX_FUSED] = {op};
        int n = 1;
        for (int j = i + 1; j < readers->len && n < MAX_FUSED; j++) {
            Op *other = readers->items[j];
            if (!other)
                continue;
            Op *same = NULL;
            for (int k = 0; k < n && !same; k++)
                same = same_projection(group[k], other) ? group[k] : NULL;
            if (same) {
                replace_uses(users, other->results[0], same->results[0]);
                ir_op_remove(other);
                readers->items[j] = NULL;
            } else if (fusable(op, other)) {
                group[n++] = other;
                readers->items[j] = NULL;
            }
        }
        if (n > 1)
            fuse(g, users, group, n);
    }
}

/* Projections of a block grouped by the value they read (each group in program order). */
static void fuse_block(Graph *g, const Users *users, Block *b)
{
    OpList *by_input = arena_array(g->arena, (size_t)users->nvalues + 1, sizeof *by_input);
    OpList inputs = {0}; /* the values read, in order of first reader */
    for (Op *op = b->first; op; op = op->next) {
        if (op->body)
            fuse_block(g, users, op->body);
        if (!is_projection(op) || op->args[0]->kind == VAL_CONST ||
            op->args[0]->kind == VAL_WEIGHT)
            continue;
        OpList *list = &by_input[op->args[0]->id];
        if (!list->len)
            vec_push(g->arena, &inputs, op);
        vec_push(g->arena, list, op);
    }
    for (int i = 0; i < inputs.len; i++)
        fuse_readers(g, users, &by_input[inputs.items[i]->args[0]->id]);
}

/* `split(matmul(a, c_attn) [+ bias], q, k, v)`: the weight (and bias) get the split's pieces. */
static void mark_split_weights(Graph *g)
{
    Users users = ir_users(g);
    for (Op *op = g->top->first; op; op = ir_walk_next(op, g->top)) {
        if (!is_projection(op) || op->args[1]->weight->nsegments)
            continue;
        Op *user = ir_only_user(&users, op->results[0]);
        Weight *bias = op->nargs == 3 ? op->args[2]->weight : NULL;
        if (user && user->kind == OP_ADD && user->args[1]->kind == VAL_WEIGHT &&
            user->args[1]->shape.rank == 1) {
            bias = user->args[1]->weight;
            user = ir_only_user(&users, user->results[0]);
        }
        if (!user || user->kind != OP_SPLIT)
            continue;
        Weight *w = op->args[1]->weight;
        w->segments = user->attrs.sizes;
        w->nsegments = user->attrs.nsizes;
        w->segment_dim = ir_weight_out_dim(op);
        if (bias && !bias->nsegments && bias->shape.dims[0].size == w->shape.dims[w->segment_dim].size) {
            bias->segments = w->segments;
            bias->nsegments = w->nsegments;
        }
    }
}

bool pass_fuse_projections(Graph *g, const Options *opt, Diag *diag)
{
    Users users = ir_users(g);
    fuse_block(g, &users, g->top);
    mark_split_weights(g);
    ir_mark_used_weights(g);
    return true;
}
