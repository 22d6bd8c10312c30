/* collectives: insert the layout changes the plan needs, as ops (DESIGN.md: "Changing layout
 * is a collective").
 *
 * requires shard's decisions
 * provides all_reduce (P -> R), all_gather (S -> R), reduce_scatter (P -> S) and slice (R -> S,
 *          free) ops; to_root on those only rank 0 needs (outputs); every weight's slice; `once`
 *          on the partial sums whose replicated term rank 0 alone adds. This is the naive plan:
 *          a gather after every column-parallel projection (elide.c prunes it)
 * breaks   nothing
 *
 * Each conversion is one op, placed right after the value it converts (before a loop, for a
 * value from outside it), and read by every user that needs that layout.
 */
#include "passes.h"

#include <string.h>

/* A collective or a slice: the ops this file inserts, whose layout rule is LRULE_FIXED. */
static bool is_conversion(const Op *op)
{
    return op_info[op->kind].layout_rule == LRULE_FIXED;
}

/* What a conversion converted, through conversions of conversions (a gather, then a slice). */
static Value *unconverted(Value *v)
{
    while (v->kind == VAL_RESULT && is_conversion(v->def))
        v = v->def->args[0];
    return v;
}

void collectives_strip(Graph *g)
{
    for (Op *op = g->top->first; op; op = ir_walk_next(op, g->top))
        for (int i = 0; i < op->nargs; i++)
            if (op->args[i] && !is_conversion(op) && op->args[i] != unconverted(op->args[i]))
                ir_op_set_arg(op, i, unconverted(op->args[i]));
    Vec(Op *) dead = {0};
    for (Op *op = g->top->first; op; op = ir_walk_next(op, g->top))
        if (is_conversion(op))
            vec_push(g->arena, &dead, op);
    for (int i = dead.len - 1; i >= 0; i--)
        ir_op_remove(dead.items[i]);
    /* Second copies of weights go too; their ops read the weight itself again. */
    for (Op *op = g->top->first; op; op = ir_walk_next(op, g->top))
        for (int i = 0; i < op->nargs; i++)
            if (op->args[i]->kind == VAL_WEIGHT && op->args[i]->weight->clone_of)
                ir_op_set_arg(op, i, op->args[i]->weight->clone_of->value);
    int kept = 0;
    for (int i = 0; i < g->weights.len; i++)
        if (!g->weights.items[i]->clone_of)
            g->weights.items[kept++] = g->weights.items[i];
    g->weights.len = kept;
    g->converted = false;
}

/* Where a conversion of v goes: right after v's op, or first in the body whose parameter v
 * is, or first of all for an input. Later conversions of the same value follow earlier ones. */
static void place(Graph *g, Value *v, Op *op)
{
    Op *after = NULL;
    Block *b = g->top;
    if (v->kind == VAL_RESULT)
        after = v->def;
    else if (v->kind == VAL_PARAM)
        b = v->def->body;
    while (true) { /* skip conversions of v already placed */
        Op *next = after ? after->next : b->first;
        if (!next || !is_conversion(next) || next->args[0] != v)
            break;
        after = next;
    }
    if (after)
        ir_op_insert_after(after, op);
    else if (b->first)
        ir_op_insert_before(b->first, op);
    else
        ir_op_append(b, op);
}

static Value *convert(Graph *g, Value *v, OpKind kind, Layout to, bool to_root)
{
    Op *op = ir_op_new(g, kind, v->loc, &v, 1, 1);
    op->attrs.to_root = to_root;
    Value *r = op->results[0];
    r->shape = v->shape;
    r->dtype = v->dtype;
    r->layout = to;
    r->name = v->name;
    place(g, v, op);
    return r;
}

static Value *materialize(Graph *g, Value *v, const Conversion *c)
{
    if (v->layout.kind == LAYOUT_S && c->to.kind == LAYOUT_S) {
        /* split one way, needed another: gather, then take the other slice */
        Value *whole = convert(g, v, OP_ALL_GATHER, layout_replicated(), false);
        return convert(g, whole, OP_SLICE, c->to, false);
    }
    return convert(g, v, layout_conversion_kind(v->layout.kind, c->to.kind), c->to, c->to_root);
}

/* The layout each weight was given first; a later use wanting another gets its own copy. */
static void slice_weights(Graph *g, Propagation *p)
{
    StrMap given; /* weight pointer (as a key string) -> WeightUse * */
    strmap_init(&given, g->arena);
    for (int i = 0; i < p->weight_uses.len; i++) {
        WeightUse *u = &p->weight_uses.items[i];
        Weight *w = u->op->args[u->arg]->weight;
        const char *key = arena_printf(g->arena, "%p", (void *)w);
        WeightUse *first = strmap_get(&given, key);
        if (!first) {
            strmap_put(&given, key, u);
            w->layout = u->layout;
            continue;
        }
        if (layout_equal(&first->layout, &u->layout, g->tp))
            continue;
        Weight *copy = arena_alloc(g->arena, sizeof *copy);
        *copy = *w;
        copy->clone_of = w;
        copy->layout = u->layout;
        ir_weight_insert_after(g, w, copy);
        ir_op_set_arg(u->op, u->arg, ir_weight_value(g, copy));
    }
}

/* A partial sum that adds a replicated term (P + R; a projection's bias when its output is
 * partial) must add it on one rank only, or the all-reduce would count it tp times: rank 0 adds
 * it (DESIGN.md, "P + R when the replicated term is added on exactly one rank"). */
static void mark_once(Graph *g)
{
    for (Op *op = g->top->first; op; op = ir_walk_next(op, g->top)) {
        op->attrs.once = false;
        if (!op->nresults || op->results[0]->layout.kind != LAYOUT_P)
            continue;
        if (op->kind == OP_ADD || op->kind == OP_SUB)
            for (int i = 0; i < op->nargs; i++)
                op->attrs.once |= op->args[i]->layout.kind == LAYOUT_R ||
                                  op->args[i]->kind == VAL_CONST;
        if (op_info[op->kind].flags & OPF_GEMM)
            op->attrs.once = op->nargs == 3;
    }
}

/* Inserts what a propagation found: conversion ops, weight slices. */
static void insert(Graph *g, Propagation *p)
{
    Value **gathered = arena_array(g->arena, (size_t)p->users.nvalues, sizeof *gathered);
    /* The naive plan's gathers first: every other user of the value reads the gathered one. */
    for (int i = 0; i < p->conversions.len; i++) {
        Conversion *c = &p->conversions.items[i];
        if (!c->forced)
            continue;
        Value *v = c->value;
        v->layout = c->from;
        c->result = convert(g, v, OP_ALL_GATHER, c->to, false);
        const struct UseList *readers = &p->users.of[v->id];
        for (int k = 0; k < readers->len; k++)
            ir_op_set_arg(readers->items[k].op, readers->items[k].arg, c->result);
        gathered[v->id] = c->result;
    }
    for (int i = 0; i < p->conversions.len; i++) {
        Conversion *c = &p->conversions.items[i];
        if (c->forced)
            continue;
        Value *v = gathered[c->value->id] ? gathered[c->value->id] : c->value;
        c->result = materialize(g, v, c);
    }
    for (int i = 0; i < p->redirects.len; i++) {
        Redirect *r = &p->redirects.items[i];
        ir_op_set_arg(r->op, r->arg, p->conversions.items[r->conversion].result);
    }
    slice_weights(g, p);
    ir_mark_used_weights(g);
    mark_once(g);
    g->converted = true;
}

void collectives_apply(Graph *g)
{
    Propagation p;
    layout_propagate(g, g->tp, false, &p);
    insert(g, &p);
    layout_record_estimate(g, &p);
}

bool pass_collectives(Graph *g, const Options *opt, Diag *diag)
{
    collectives_strip(g);
    collectives_apply(g);
    return true;
}
