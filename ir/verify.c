/* verify.c — the IR's invariants, checked after every pass (QBE's ssacheck).
 *
 * Arity against ops.def; SSA (every argument defined before its use and in scope); shapes and
 * dtypes against their rules; FOR, YIELD and RETURN well formed; once layouts are set, every
 * value has one and split layouts are well formed; once the collectives are ops too,
 * elementwise ops combine split values only when their ranges match, and rope and attention
 * give their result q's layout. A failure is tpc's bug, never the user's: the driver reports
 * it as an internal error naming the pass that broke the IR.
 */
#include "ir.h"

#include <string.h>

typedef struct Verifier {
    Graph *g;
    FILE *err;
    const char *pass;
    bool ok;
    bool layouts; /* layouts are set (after shard) */
    bool converted; /* and ops read them as their rules need (after collectives) */
} Verifier;

static void bad(Verifier *v, const Op *op, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void bad(Verifier *v, const Op *op, const char *fmt, ...)
{
    if (!v->ok)
        return; /* the first problem is the one worth reading */
    v->ok = false;
    int line = 0, col = 0;
    if (op)
        loc_line_col(op->loc, &line, &col);
    fprintf(v->err, "tpc: internal error: the IR is invalid after '%s': %s (from line %d:%d): ",
            v->pass, op ? op_info[op->kind].name : "graph", line, col);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(v->err, fmt, ap);
    va_end(ap);
    fputc('\n', v->err);
}

static void check_layout(Verifier *v, const Op *op, const Value *val)
{
    const Layout *l = &val->layout;
    if (!v->layouts)
        return;
    if (l->kind == LAYOUT_NONE) {
        bad(v, op, "a value has no layout");
        return;
    }
    if (l->kind != LAYOUT_S)
        return;
    if (l->dim < 0 || l->dim >= val->shape.rank || l->nseg < 1 || l->unit < 1) {
        bad(v, op, "malformed S layout (dim %d of rank %d, %d segments)", l->dim,
            val->shape.rank, l->nseg);
        return;
    }
    int64_t total = 0;
    for (int s = 0; s < l->nseg; s++) {
        total += l->seg[s].size;
        for (int r = 0; r < v->g->tp; r++) {
            Range rr = l->seg[s].ranks[r];
            if (rr.start < 0 || rr.end > l->seg[s].size || rr.start > rr.end ||
                rr.start % l->unit || rr.end % l->unit)
                bad(v, op, "rank %d's range of segment %d is outside it or cuts a unit", r, s);
        }
    }
    Dim d = val->shape.dims[l->dim];
    if (d.sym < 0 && total != d.size)
        bad(v, op, "segments add up to %lld, the split dimension is %lld", (long long)total,
            (long long)d.size);
}

static void check_elementwise(Verifier *v, const Op *op)
{
    const Value *r = op->results[0];
    if (!v->converted || r->layout.kind != LAYOUT_S)
        return;
    for (int i = 0; i < op->nargs; i++) {
        const Value *a = op->args[i];
        if (a->shape.rank == r->shape.rank && a->layout.kind == LAYOUT_S &&
            !layout_equal(&a->layout, &r->layout, v->g->tp))
            bad(v, op, "argument %d is split differently from the result", i);
    }
}

/* rope and attention work head by head on the heads a rank holds of q: their result is laid
 * out as q is. */
static void check_heads(Verifier *v, const Op *op)
{
    if (v->converted && !layout_equal(&op->results[0]->layout, &op->args[0]->layout, v->g->tp))
        bad(v, op, "the result is laid out differently from q, the argument it is computed from");
}

static void check_shapes(Verifier *v, const Op *op)
{
    if (op_info[op->kind].shape_rule == SHAPE_NONE)
        return;
    Shape shapes[64];
    DType dtype;
    char why[512];
    if (op->nresults > 64) {
        bad(v, op, "too many results");
        return;
    }
    if (!shape_infer(v->g, op, shapes, &dtype, why, sizeof why)) {
        bad(v, op, "%s", why);
        return;
    }
    for (int i = 0; i < op->nresults; i++) {
        const Value *r = op->results[i];
        char want[256], got[256];
        if (!shape_equal(&shapes[i], &r->shape) || r->dtype != dtype)
            bad(v, op, "result %d is %s%s, its rule gives %s%s", i, dtype_name(r->dtype),
                shape_str(v->g, &r->shape, got, sizeof got), dtype_name(dtype),
                shape_str(v->g, &shapes[i], want, sizeof want));
    }
}

static void check_for(Verifier *v, const Op *op)
{
    const Block *body = op->body;
    const Op *yield = body ? body->last : NULL;
    if (!body || !op->group || body->nparams != op->nargs) {
        bad(v, op, "a loop needs a group, a body and one parameter per carried value");
        return;
    }
    if (!yield || yield->kind != OP_YIELD || yield->nargs != op->nresults) {
        bad(v, op, "the body must end in a yield of every result");
        return;
    }
    for (int i = 0; i < op->nresults; i++) {
        const Value *y = yield->args[i];
        if (!shape_equal(&y->shape, &op->results[i]->shape))
            bad(v, op, "result %d's shape differs from what the body yields", i);
        if (i < op->nargs && (!shape_equal(&y->shape, &body->params[i]->shape) ||
                              !shape_equal(&op->args[i]->shape, &body->params[i]->shape)))
            bad(v, op, "carried value %d changes shape across an iteration", i);
    }
}

static void check_op(Verifier *v, const Op *op)
{
    const OpInfo *info = &op_info[op->kind];
    if (op->nargs < info->min_args || op->nargs > info->max_args)
        bad(v, op, "%d arguments, expected %d to %d", op->nargs, info->min_args, info->max_args);
    for (int i = 0; i < op->nargs; i++) {
        if (!op->args[i])
            bad(v, op, "argument %d is missing", i);
        else if (!ir_visible(op->args[i], op))
            bad(v, op, "argument %d is used before it is defined, or out of its scope", i);
    }
    if (!v->ok)
        return;
    if ((info->flags & OPF_TERMINATOR) && op->next)
        bad(v, op, "a terminator must end its block");
    if (op->kind == OP_RETURN && op->block->parent)
        bad(v, op, "return inside a loop");
    if (op->kind == OP_YIELD && !op->block->parent)
        bad(v, op, "yield outside a loop");
    if (op->kind == OP_FOR)
        check_for(v, op);
    check_shapes(v, op);
    for (int i = 0; i < op->nresults; i++) {
        if (op->results[i]->def != op || op->results[i]->index != i)
            bad(v, op, "result %d does not point back at its op", i);
        check_layout(v, op, op->results[i]);
    }
    if (info->flags & OPF_ELEMENTWISE)
        check_elementwise(v, op);
    if (op->kind == OP_ROPE || op->kind == OP_ATTENTION)
        check_heads(v, op);
}

bool ir_verify(Graph *g, const char *after_pass, FILE *err)
{
    Verifier v = {.g = g, .err = err, .pass = after_pass, .ok = true};
    v.layouts = g->sharded;
    v.converted = g->sharded && g->converted;
    ir_number_ops(g->top);
    if (!g->top->last || g->top->last->kind != OP_RETURN)
        bad(&v, NULL, "the graph must end in return");
    for (Op *op = g->top->first; op && v.ok; op = ir_walk_next(op, g->top))
        check_op(&v, op);
    for (int i = 0; i < g->weights.len && v.ok; i++) {
        Weight *w = g->weights.items[i];
        if (v.layouts && w->used && w->layout.kind == LAYOUT_NONE)
            bad(&v, NULL, "weight '%s' has no layout", w->name);
    }
    return v.ok;
}
