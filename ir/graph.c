/* graph.c — building and editing the graph.
 *
 * Builders only record (ggml's habit): they allocate in the graph's arena and link ops into
 * blocks; checking is sema's and the verifier's. Ops of a block form a doubly linked list so
 * passes can insert collectives and remove ops in place. Use counts are kept up to date by
 * every function here that sets an argument.
 */
#include "ir.h"

#include <assert.h>
#include <string.h>

const OpInfo op_info[OP_COUNT] = {
#define OP(kind, name, min_args, max_args, shape_rule, layout_rule, flags)                          \
    [OP_##kind] = {name, min_args, max_args, shape_rule, layout_rule, flags},
#include "ops.def"
#undef OP
};
/* The name table is indexed by OpKind: one entry per line of ops.def. */
static_assert(sizeof op_info / sizeof op_info[0] == OP_COUNT, "op_info covers ops.def");

Graph *ir_graph_new(Arena *arena, const char *name)
{
    Graph *g = arena_alloc(arena, sizeof *g);
    g->arena = arena;
    g->name = name;
    g->tp = 1;
    g->top = ir_block_new(g, NULL);
    return g;
}

Block *ir_block_new(Graph *g, Op *parent)
{
    Block *b = arena_alloc(g->arena, sizeof *b);
    b->parent = parent;
    return b;
}

Value *ir_value_new(Graph *g, ValueKind kind, DType dtype, Shape shape)
{
    Value *v = arena_alloc(g->arena, sizeof *v);
    v->kind = kind;
    v->dtype = dtype;
    v->shape = shape;
    v->id = -1;
    v->slot = -1;
    return v;
}

Value *ir_const(Graph *g, double constant)
{
    Value *v = ir_value_new(g, VAL_CONST, DT_F32, (Shape){0});
    v->constant = constant;
    v->layout = layout_replicated();
    return v;
}

Value *ir_weight_value(Graph *g, Weight *w)
{
    Value *v = ir_value_new(g, VAL_WEIGHT, DT_F32, w->shape);
    v->weight = w;
    w->value = v;
    v->name = w->name;
    v->loc = w->loc;
    return v;
}

Op *ir_op_new(Graph *g, OpKind kind, Loc loc, Value **args, int nargs, int nresults)
{
    Op *op = arena_alloc(g->arena, sizeof *op);
    op->kind = kind;
    op->loc = loc;
    op->scratch = -1;
    op->nargs = nargs;
    op->args = arena_array(g->arena, (size_t)nargs, sizeof *op->args);
    for (int i = 0; i < nargs; i++)
        ir_op_set_arg(op, i, args[i]);
    op->nresults = nresults;
    op->results = arena_array(g->arena, (size_t)nresults, sizeof *op->results);
    for (int i = 0; i < nresults; i++) {
        Value *v = ir_value_new(g, VAL_RESULT, DT_F32, (Shape){0});
        v->def = op;
        v->index = i;
        v->loc = loc;
        op->results[i] = v;
    }
    return op;
}

void ir_op_set_arg(Op *op, int i, Value *v)
{
    if (op->args[i])
        op->args[i]->uses--;
    op->args[i] = v;
    if (v)
        v->uses++;
}

void ir_op_append(Block *b, Op *op)
{
    op->block = b;
    op->prev = b->last;
    op->next = NULL;
    if (b->last)
        b->last->next = op;
    else
        b->first = op;
    b->last = op;
}

void ir_op_insert_before(Op *before, Op *op)
{
    Block *b = before->block;
    op->block = b;
    op->next = before;
    op->prev = before->prev;
    if (before->prev)
        before->prev->next = op;
    else
        b->first = op;
    before->prev = op;
}

void ir_op_insert_after(Op *after, Op *op)
{
    if (after->next) {
        ir_op_insert_before(after->next, op);
        return;
    }
    ir_op_append(after->block, op);
}

void ir_op_remove(Op *op)
{
    Block *b = op->block;
    if (op->prev)
        op->prev->next = op->next;
    else
        b->first = op->next;
    if (op->next)
        op->next->prev = op->prev;
    else
        b->last = op->prev;
    for (int i = 0; i < op->nargs; i++)
        ir_op_set_arg(op, i, NULL);
    op->prev = op->next = NULL;
    op->block = NULL;
}

void ir_replace_uses(Block *b, Value *from, Value *to)
{
    for (Op *op = b->first; op; op = ir_walk_next(op, b))
        for (int i = 0; i < op->nargs; i++)
            if (op->args[i] == from)
                ir_op_set_arg(op, i, to);
}

void ir_number_ops(Block *b)
{
    int n = 0;
    for (Op *op = b->first; op; op = op->next) {
        op->order = n++;
        if (op->body)
            ir_number_ops(op->body);
    }
}

/* The op of `block` that contains `op` (op itself, or the FOR whose body holds it). */
static const Op *ancestor_in(const Op *op, const Block *block)
{
    while (op && op->block != block)
        op = op->block ? op->block->parent : NULL;
    return op;
}

bool ir_visible(const Value *v, const Op *use)
{
    switch (v->kind) {
    case VAL_INPUT:
    case VAL_WEIGHT:
    case VAL_CONST: return true;
    case VAL_PARAM: return ancestor_in(use, v->def->body) != NULL;
    case VAL_RESULT: {
        const Op *at = ancestor_in(use, v->def->block);
        return at && v->def->order < at->order;
    }
    }
    return false;
}

int ir_symbol(Graph *g, const char *name)
{
    for (int i = 0; i < g->symbols.len; i++)
        if (strcmp(g->symbols.items[i], name) == 0)
            return i;
    vec_push(g->arena, &g->symbols, name);
    return g->symbols.len - 1;
}

/* Pre-order walk of `root`: an op, then (for a FOR) its body, then the op after it. */
Op *ir_walk_next(const Op *op, const Block *root)
{
    if (op->body && op->body->first)
        return op->body->first;
    while (op) {
        if (op->next)
            return op->next;
        if (op->block == root)
            return NULL;
        op = op->block->parent;
    }
    return NULL;
}

/* ---- dead code -------------------------------------------------------------------------- */

/* Drops a loop's results that nothing reads, except carried ones (the next block reads them). */
static void prune_loop_results(Op *loop)
{
    Op *yield = loop->body->last;
    int keep = 0;
    for (int i = 0; i < loop->nresults; i++) {
        Value *r = loop->results[i];
        if (i >= loop->nargs && r->uses == 0) {
            ir_op_set_arg(yield, i, NULL);
            continue;
        }
        yield->args[keep] = yield->args[i];
        loop->results[keep] = r;
        r->index = keep;
        keep++;
    }
    yield->nargs = keep;
    loop->nresults = keep;
}

static void remove_dead_ops(Block *b)
{
    for (Op *op = b->last, *prev; op; op = prev) {
        prev = op->prev;
        if (op->kind == OP_RETURN || op->kind == OP_YIELD)
            continue;
        if (op->kind == OP_FOR) {
            prune_loop_results(op);
            remove_dead_ops(op->body);
            if (op->nresults > 0)
                continue;
        }
        bool used = false;
        for (int i = 0; i < op->nresults; i++)
            used |= op->results[i]->uses > 0;
        if (!used)
            ir_op_remove(op);
    }
}

void ir_remove_dead(Graph *g)
{
    remove_dead_ops(g->top);
}

void ir_mark_used_weights(Graph *g)
{
    for (int i = 0; i < g->weights.len; i++)
        g->weights.items[i]->used = false;
    for (Op *op = g->top->first; op; op = ir_walk_next(op, g->top))
        for (int i = 0; i < op->nargs; i++)
            if (op->args[i] && op->args[i]->kind == VAL_WEIGHT)
                op->args[i]->weight->used = true;
}

void ir_weight_insert_after(Graph *g, Weight *after, Weight *w)
{
    vec_push(g->arena, &g->weights, w);
    int at = g->weights.len - 1;
    while (at > 0 && g->weights.items[at - 1] != after) {
        g->weights.items[at] = g->weights.items[at - 1];
        at--;
    }
    g->weights.items[at] = w;
}

Users ir_users(Graph *g)
{
    Users u = {0};
    int n = 0;
    for (int i = 0; i < g->inputs.len; i++)
        g->inputs.items[i]->id = n++;
    for (Op *op = g->top->first; op; op = ir_walk_next(op, g->top)) {
        for (int i = 0; op->body && i < op->body->nparams; i++)
            op->body->params[i]->id = n++;
        for (int i = 0; i < op->nresults; i++)
            op->results[i]->id = n++;
    }
    u.nvalues = n;
    u.of = arena_array(g->arena, (size_t)n, sizeof *u.of);
    for (Op *op = g->top->first; op; op = ir_walk_next(op, g->top)) {
        for (int i = 0; i < op->nargs; i++) {
            Value *v = op->args[i];
            if (!v || v->kind == VAL_WEIGHT || v->kind == VAL_CONST)
                continue;
            Use use = {op, i};
            vec_push(g->arena, &u.of[v->id], use);
        }
    }
    return u;
}

Op *ir_only_user(const Users *users, const Value *v)
{
    if (v->kind == VAL_WEIGHT || v->kind == VAL_CONST)
        return NULL; /* not listed */
    const struct UseList *u = &users->of[v->id];
    return u->len == 1 ? u->items[0].op : NULL;
}

bool ir_gemm_epilogue(const Users *users, const Op *add, int i)
{
    if (add->kind != OP_ADD)
        return false;
    const Value *y = add->args[i], *r = add->args[1 - i], *sum = add->results[0];
    if (y->kind != VAL_RESULT || !ir_is_projection(y->def) || y->def->block != add->block)
        return false;
    return ir_only_user(users, y) == add && r != y && r->kind != VAL_CONST &&
           shape_equal(&y->shape, &sum->shape) && shape_equal(&r->shape, &sum->shape);
}

bool ir_is_projection(const Op *op)
{
    return (op_info[op->kind].flags & OPF_GEMM) && op->args[1]->kind == VAL_WEIGHT;
}

int ir_weight_out_dim(const Op *op)
{
    return op->kind == OP_MATMUL ? 1 : 0;
}

int64_t ir_count_ops(Graph *g)
{
    int64_t n = 0;
    for (Op *op = g->top->first; op; op = ir_walk_next(op, g->top))
        n++;
    return n;
}
