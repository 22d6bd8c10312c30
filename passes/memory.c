/* plan-memory: give every activation a buffer, reusing the buffers of values that are dead.
 *
 * requires layouts and collectives (the sizes each rank holds)
 * provides Value.slot for every op result and loop parameter, Op.scratch for ops that need a
 *          buffer while they run (attention's scores), Graph.slots with each slot's size as
 *          the largest of its terms (symbolic dimensions times a per-rank count)
 * breaks   nothing
 *
 * A linear scan over the ops in order, a loop's body once (its values are reused every block).
 * A value dies after its last use; one read inside a loop but defined before it lives until the
 * loop ends. An elementwise op, a norm, rope or an in-place all-reduce writes its result over
 * an argument that dies there (x = x + y costs no buffer). A carried value's parameter shares
 * its initial value's buffer when that dies at the loop, and the loop's result shares the
 * parameter's; a body that ends with the carried value elsewhere copies it back (codegen
 * sees the slots differ). The program allocates all slots at once, when it knows the inputs'
 * shapes, and never inside a forward (ggml-alloc's approach, by liveness rather than by
 * consumer counts).
 */
#include "passes.h"

#include <string.h>

typedef struct Planner {
    Graph *g;
    int *last_use;      /* by value id: the position of the last op reading it */
    bool *slot_free;    /* by slot */
    int nfree_cap;
    int position;
} Planner;

static bool is_activation(const Value *v)
{
    return v->kind == VAL_RESULT || v->kind == VAL_PARAM;
}

/* The value's size on each rank: its symbolic dimensions, and the product of the rest. */
static SlotTerm size_of(const Graph *g, const Value *v)
{
    SlotTerm t = {.per_rank = arena_array(g->arena, (size_t)g->tp, sizeof(int64_t))};
    for (int r = 0; r < g->tp; r++)
        t.per_rank[r] = 1;
    for (int d = 0; d < v->shape.rank; d++) {
        Dim dim = v->shape.dims[d];
        if (dim.sym >= 0) {
            t.syms[t.nsyms++] = dim.sym;
            continue;
        }
        for (int r = 0; r < g->tp; r++)
            t.per_rank[r] *= v->layout.kind == LAYOUT_S && v->layout.dim == d
                                 ? layout_local_size(&v->layout, r)
                                 : dim.size;
    }
    return t;
}

static bool same_symbols(const SlotTerm *a, const SlotTerm *b)
{
    if (a->nsyms != b->nsyms)
        return false;
    int count[64] = {0};
    for (int i = 0; i < a->nsyms; i++)
        count[a->syms[i] & 63]++;
    for (int i = 0; i < b->nsyms; i++)
        if (--count[b->syms[i] & 63] < 0)
            return false;
    return true;
}

/* Grows slot s to hold term t too. */
static void fit(Planner *pl, int s, const SlotTerm *t)
{
    Slot *slot = &pl->g->slots.items[s];
    for (int i = 0; i < slot->terms.len; i++) {
        SlotTerm *have = &slot->terms.items[i];
        if (same_symbols(have, t)) {
            for (int r = 0; r < pl->g->tp; r++)
                if (t->per_rank[r] > have->per_rank[r])
                    have->per_rank[r] = t->per_rank[r];
            return;
        }
    }
    vec_push(pl->g->arena, &slot->terms, *t);
}

static void set_free(Planner *pl, int s, bool is_free)
{
    if (s >= pl->nfree_cap) {
        int cap = 2 * (s + 8);
        bool *grown = arena_array(pl->g->arena, (size_t)cap, sizeof *grown);
        memcpy(grown, pl->slot_free, sizeof *grown * (size_t)pl->nfree_cap);
        pl->slot_free = grown;
        pl->nfree_cap = cap;
    }
    pl->slot_free[s] = is_free;
}

/* A free slot whose values had the same symbolic dimensions, or a new one. */
static int take_slot(Planner *pl, const SlotTerm *t)
{
    Graph *g = pl->g;
    for (int s = 0; s < g->slots.len; s++) {
        if (!pl->slot_free[s])
            continue;
        const Slot *slot = &g->slots.items[s];
        for (int i = 0; i < slot->terms.len; i++) {
            if (same_symbols(&slot->terms.items[i], t)) {
                set_free(pl, s, false);
                fit(pl, s, t);
                return s;
            }
        }
    }
    Slot fresh = {0};
    vec_push(g->arena, &g->slots, fresh);
    int s = g->slots.len - 1;
    set_free(pl, s, false);
    fit(pl, s, t);
    return s;
}

/* ---- liveness ------------------------------------------------------------------------------ */

static void number(Planner *pl, Block *b, int *positions)
{
    for (Op *op = b->first; op; op = op->next) {
        op->order = (*positions)++;
        if (op->body)
            number(pl, op->body, positions);
    }
}

/* The last position of a loop's body. */
static int loop_end(const Op *loop)
{
    return loop->body->last ? loop->body->last->order : loop->order;
}

static void note_use(Planner *pl, const Value *v, const Op *user)
{
    if (!is_activation(v))
        return;
    int at = user->order;
    const Op *loop = user->block->parent;
    /* Read inside a loop but made outside it: needed by every block. */
    bool outside = loop && !(v->kind == VAL_PARAM ? v->def == loop : v->def->block == loop->body);
    if (outside)
        at = loop_end(loop);
    if (at > pl->last_use[v->id])
        pl->last_use[v->id] = at;
}

static void liveness(Planner *pl)
{
    Graph *g = pl->g;
    for (Op *op = g->top->first; op; op = ir_walk_next(op, g->top))
        for (int i = 0; i < op->nargs; i++)
            note_use(pl, op->args[i], op);
    /* A value first bound in a loop's body is read after it through the loop's result. */
    for (Op *op = g->top->first; op; op = op->next) {
        if (op->kind != OP_FOR)
            continue;
        Op *yield = op->body->last;
        for (int i = op->nargs; i < op->nresults; i++) {
            int after = pl->last_use[op->results[i]->id];
            if (after > pl->last_use[yield->args[i]->id])
                pl->last_use[yield->args[i]->id] = after;
        }
    }
}

/* ---- allocation ---------------------------------------------------------------------------- */

static bool writes_in_place(const Op *op)
{
    unsigned f = op_info[op->kind].flags;
    return (f & OPF_ELEMENTWISE) || op->kind == OP_RMSNORM || op->kind == OP_LAYERNORM ||
           op->kind == OP_SOFTMAX || op->kind == OP_NORMALIZE || op->kind == OP_ROPE ||
           op->kind == OP_ALL_REDUCE;
}

/* Frees the slots of arguments that die here, but not one a result was written over. */
static void release_dead(Planner *pl, const Op *op)
{
    for (int i = 0; i < op->nargs; i++) {
        const Value *v = op->args[i];
        bool taken = false;
        for (int k = 0; k < op->nresults; k++)
            taken |= op->results[k]->slot == v->slot;
        if (is_activation(v) && v->slot >= 0 && pl->last_use[v->id] == op->order && !taken)
            set_free(pl, v->slot, true);
    }
}

/* The slot of an argument dying here with the result's size, for an op that may overwrite it. */
static int in_place_slot(Planner *pl, const Op *op, const SlotTerm *t)
{
    if (!writes_in_place(op))
        return -1;
    for (int i = 0; i < op->nargs; i++) {
        const Value *v = op->args[i];
        if (!is_activation(v) || v->slot < 0 || pl->last_use[v->id] != op->order ||
            !shape_equal(&v->shape, &op->results[0]->shape))
            continue;
        SlotTerm have = size_of(pl->g, v);
        bool same = true; /* P -> R keeps the size; S -> S must split alike */
        for (int r = 0; r < pl->g->tp; r++)
            same &= have.per_rank[r] == t->per_rank[r];
        if (same)
            return v->slot;
    }
    return -1;
}

static void plan_block(Planner *pl, Block *b);

static void plan_loop(Planner *pl, Op *loop)
{
    Block *body = loop->body;
    for (int i = 0; i < loop->nargs; i++) {
        Value *init = loop->args[i], *param = body->params[i];
        SlotTerm t = size_of(pl->g, param);
        bool shared = is_activation(init) && pl->last_use[init->id] == loop->order;
        param->slot = shared ? init->slot : take_slot(pl, &t);
        fit(pl, param->slot, &t);
        set_free(pl, param->slot, false);
    }
    plan_block(pl, body);
    /* The loop's results: the carried values in their parameters' slots, the others where
     * the last block left them. */
    Op *yield = body->last;
    for (int i = 0; i < loop->nresults; i++) {
        Value *r = loop->results[i];
        r->slot = i < loop->nargs ? body->params[i]->slot : yield->args[i]->slot;
        if (r->slot >= 0)
            set_free(pl, r->slot, pl->last_use[r->id] <= loop->order);
    }
}

static void plan_op(Planner *pl, Op *op)
{
    if (op->kind == OP_FOR) {
        plan_loop(pl, op);
        return;
    }
    /* attention: one head's scores at a time, [seq, seq] */
    if (op->kind == OP_ATTENTION) {
        Dim seq = op->args[0]->shape.dims[1];
        SlotTerm t = {.per_rank = arena_array(pl->g->arena, (size_t)pl->g->tp, sizeof(int64_t))};
        for (int k = 0; k < 2 && seq.sym >= 0; k++)
            t.syms[t.nsyms++] = seq.sym;
        for (int r = 0; r < pl->g->tp; r++)
            t.per_rank[r] = seq.sym >= 0 ? 1 : seq.size * seq.size;
        op->scratch = take_slot(pl, &t);
    }
    for (int i = 0; i < op->nresults; i++) {
        Value *v = op->results[i];
        SlotTerm t = size_of(pl->g, v);
        int s = i == 0 ? in_place_slot(pl, op, &t) : -1;
        if (s >= 0) {
            fit(pl, s, &t);
            v->slot = s;
        } else {
            v->slot = take_slot(pl, &t);
        }
    }
    if (op->scratch >= 0)
        set_free(pl, op->scratch, true);
    release_dead(pl, op);
    for (int i = 0; i < op->nresults; i++) /* a result nothing reads */
        if (pl->last_use[op->results[i]->id] < 0 && op->results[i]->slot >= 0)
            set_free(pl, op->results[i]->slot, true);
}

static void plan_block(Planner *pl, Block *b)
{
    for (Op *op = b->first; op; op = op->next)
        plan_op(pl, op);
}

bool pass_plan_memory(Graph *g, const Options *opt, Diag *diag)
{
    Planner pl = {.g = g};
    int n = 0;
    for (int i = 0; i < g->inputs.len; i++)
        g->inputs.items[i]->id = n++;
    for (Op *op = g->top->first; op; op = ir_walk_next(op, g->top)) {
        for (int i = 0; op->body && i < op->body->nparams; i++)
            op->body->params[i]->id = n++;
        for (int i = 0; i < op->nresults; i++)
            op->results[i]->id = n++;
    }
    pl.last_use = arena_array(g->arena, (size_t)n, sizeof *pl.last_use);
    for (int i = 0; i < n; i++)
        pl.last_use[i] = -1;
    int positions = 0;
    number(&pl, g->top, &positions);
    g->slots.len = 0;
    liveness(&pl);
    plan_block(&pl, g->top);
    ir_number_ops(g->top); /* back to positions within blocks, as the verifier expects */
    return true;
}
