/* fuse-elementwise: compute chains of elementwise ops in one pass over memory, and a GEMM's
 * sum with a residual in the GEMM itself.
 *
 * requires layouts and collectives (what runs where is settled)
 * provides Op.attrs.inlined on every op whose result is computed inside its one user: an
 *          elementwise op feeding another of the same shape and layout (silu(gate) * up is one
 *          kernel), and a linear or matmul whose only use is `r + linear(...)` (the GEMM
 *          accumulates into r: beta = 1, the residual connection costs no pass)
 * breaks   nothing; the IR keeps every op, so the printer and the verifier see them all
 */
#include "passes.h"

static bool is_elementwise(const Op *op)
{
    return op_info[op->kind].flags & OPF_ELEMENTWISE;
}

static bool same_form(const Graph *g, const Value *a, const Value *b)
{
    return shape_equal(&a->shape, &b->shape) && layout_equal(&a->layout, &b->layout, g->tp);
}

/* r + gemm: the GEMM writes over (a copy of) r with beta = 1. A partial GEMM adds a replicated
 * residual on rank 0 alone (beta = 1 there, 0 elsewhere), which is P + R's rule. Returns the
 * argument of `add` that is its epilogue's GEMM, or -1. When both terms are GEMMs
 * (linear(a, w1) + linear(b, w2)) only the first is: the other needs a buffer to start from. */
static int epilogue(Graph *g, const Users *users, const Op *add)
{
    for (int i = 0; i < 2; i++) {
        if (!ir_gemm_epilogue(users, add, i))
            continue;
        const Value *y = add->args[i], *r = add->args[1 - i];
        LayoutKind yk = y->layout.kind, rk = r->layout.kind;
        if ((yk == LAYOUT_P && (rk == LAYOUT_R || rk == LAYOUT_P)) ||
            (yk != LAYOUT_P && layout_equal(&y->layout, &r->layout, g->tp)))
            return i;
    }
    return -1;
}

/* Does the GEMM's kernel compute op (an add that is an epilogue)? Such a sum is no elementwise
 * kernel: nothing is inlined into it, and it is inlined into nothing. */
static bool has_epilogue(const Op *op)
{
    for (int i = 0; i < op->nargs; i++) {
        const Value *a = op->args[i];
        if (a->kind == VAL_RESULT && a->def->attrs.inlined &&
            (op_info[a->def->kind].flags & OPF_GEMM))
            return true;
    }
    return false;
}

/* How many elementwise ops one kernel may hold: real chains are a few ops long, and a longer
 * one (a thousand `y = y + x`) is cut into kernels of this many, with at most this many + 1
 * inputs. */
enum { MAX_CHAIN = 12 };

bool pass_fuse_elementwise(Graph *g, const Options *opt, Diag *diag)
{
    Users users = ir_users(g);
    /* Epilogues first, so that a sum a GEMM can accumulate into is never an elementwise
     * kernel's instead. */
    for (Op *op = g->top->first; op; op = ir_walk_next(op, g->top)) {
        int i = op->kind == OP_ADD ? epilogue(g, &users, op) : -1;
        if (i >= 0)
            op->args[i]->def->attrs.inlined = true;
    }
    int *chain = arena_array(g->arena, (size_t)users.nvalues + 1, sizeof *chain); /* by id */
    for (Op *op = g->top->first; op; op = ir_walk_next(op, g->top)) {
        if (!is_elementwise(op) || has_epilogue(op))
            continue;
        int length = 1; /* the ops op's kernel holds: itself and what is inlined into it */
        for (int i = 0; i < op->nargs; i++) {
            const Value *a = op->args[i];
            if (a->kind == VAL_RESULT && a->def->attrs.inlined)
                length += chain[a->id];
        }
        chain[op->results[0]->id] = length;
        Op *user = ir_only_user(&users, op->results[0]);
        if (user && user->block == op->block && is_elementwise(user) && !has_epilogue(user))
            op->attrs.inlined = length < MAX_CHAIN &&
                                same_form(g, op->results[0], user->results[0]) &&
                                op->results[0]->layout.kind != LAYOUT_P;
    }
    return true;
}
