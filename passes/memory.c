/* plan-memory: give every activation a buffer, reusing the buffers of values that are dead.
 *
 * requires layouts, collectives and fuse-elementwise (what is computed where)
 * provides Value.slot for every op result and loop parameter that is stored; Value.view_of for
 *          split pieces read in place (columns of the split value's buffer); Op.scratch for
 *          ops that need a buffer while they run (attention's scores); Graph.slots, each
 *          slot's size the largest of its terms (symbolic dimensions times a per-rank count)
 * breaks   nothing
 *
 * A linear scan over the ops in order, a loop's body once (its buffers serve every block). A
 * slot is free after the last position any value in it is read; one read inside a loop but
 * made before it is read until the loop ends. Results computed inside another op's kernel
 * (inlined) take no buffer, and what they read is read where that kernel runs. An elementwise
 * kernel, a norm, rope or an all-reduce writes over an argument that dies there (x = x + y
 * costs no buffer). A split's pieces are views into the split value when every reader can
 * read strided rows (q, k and v of a fused projection are never copied out). A carried value
 * keeps one buffer across blocks: its parameter's, shared with the initial value when that dies
 * at the loop; a block that ends with the carried value elsewhere copies it back (codegen sees
 * the slots differ). The program allocates all slots at once, when it knows the inputs'
 * shapes, and never inside a forward (ggml-alloc's approach, by liveness).
 */
#include "passes.h"

#include <string.h>

typedef struct Planner {
    Graph *g;
    Users users;     /* every value's readers, by Value.id */
    int *last_use;   /* by value id: the last position reading it */
    int *slot_end;   /* by slot: the last position reading what it holds */
    int nslot_cap;
} Planner;

static bool is_activation(const Value *v)
{
    return v->kind == VAL_RESULT || v->kind == VAL_PARAM;
}

/* The op whose kernel computes op's result: op itself, or the user it is inlined into. */
static const Op *root(const Planner *pl, const Op *op)
{
    while (op->attrs.inlined)
        op = ir_only_user(&pl->users, op->results[0]);
    return op;
}

/* ---- sizes --------------------------------------------------------------------------------- */

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

/* The same symbols, with the same repeats, in any order. */
static bool same_symbols(const SlotTerm *a, const SlotTerm *b)
{
    if (a->nsyms != b->nsyms)
        return false;
    bool matched[2 * MAX_DIMS] = {false};
    for (int i = 0; i < a->nsyms; i++) {
        int j = 0;
        while (j < b->nsyms && (matched[j] || b->syms[j] != a->syms[i]))
            j++;
        if (j == b->nsyms)
            return false;
        matched[j] = true;
    }
    return true;
}

static bool same_size(const Graph *g, const SlotTerm *a, const SlotTerm *b)
{
    if (!same_symbols(a, b))
        return false;
    for (int r = 0; r < g->tp; r++)
        if (a->per_rank[r] != b->per_rank[r])
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

/* Slot s holds something read until `until`. */
static void hold(Planner *pl, int s, int until)
{
    if (s >= pl->nslot_cap) {
        int cap = 2 * (s + 8);
        int *grown = arena_array(pl->g->arena, (size_t)cap, sizeof *grown);
        if (pl->nslot_cap)
            memcpy(grown, pl->slot_end, sizeof *grown * (size_t)pl->nslot_cap);
        for (int i = pl->nslot_cap; i < cap; i++)
            grown[i] = -1;
        pl->slot_end = grown;
        pl->nslot_cap = cap;
    }
    if (until > pl->slot_end[s])
        pl->slot_end[s] = until;
}

/* A slot free at `position` whose values had the same symbolic dimensions, or a new one. */
static int take_slot(Planner *pl, const SlotTerm *t, int position, int until)
{
    Graph *g = pl->g;
    for (int s = 0; s < g->slots.len; s++) {
        if (pl->slot_end[s] >= position)
            continue;
        const Slot *slot = &g->slots.items[s];
        for (int i = 0; i < slot->terms.len; i++) {
            if (same_symbols(&slot->terms.items[i], t)) {
                fit(pl, s, t);
                pl->slot_end[s] = until;
                return s;
            }
        }
    }
    Slot fresh = {0};
    vec_push(g->arena, &g->slots, fresh);
    int s = g->slots.len - 1;
    hold(pl, s, until);
    fit(pl, s, t);
    return s;
}

/* ---- who reads what, and until when -------------------------------------------------------- */

static void number_positions(Block *b, int *positions)
{
    for (Op *op = b->first; op; op = op->next) {
        op->order = (*positions)++;
        if (op->body)
            number_positions(op->body, positions);
    }
}

static int loop_end(const Op *loop)
{
    return loop->body->last ? loop->body->last->order : loop->order;
}

static void note_use(Planner *pl, const Value *v, const Op *reader)
{
    if (!is_activation(v))
        return;
    const Op *user = root(pl, reader);
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

/* ---- views: split pieces read in place ----------------------------------------------------- */

/* Can `reader` (the op whose kernel reads v) read v as strided rows? */
static bool reads_strided(const Op *reader)
{
    return op_info[reader->kind].flags & OPF_ROWS;
}

/* May op's kernel write its result over an argument that dies there? */
static bool writes_in_place(const Op *op)
{
    return op_info[op->kind].flags & OPF_INPLACE;
}

/* Every op that reads v, directly or through ops that may write over it in place (rope over
 * q), can read strided rows; nothing keeps it past its base (a loop's carried value, an
 * output). */
static bool viewable(const Planner *pl, const Graph *g, const Value *v, int depth)
{
    if (depth > 8)
        return false;
    const struct UseList *readers = &pl->users.of[v->id];
    for (int k = 0; k < readers->len; k++) {
        const Op *op = readers->items[k].op, *reader = root(pl, op);
        if (!reads_strided(reader) || op->kind == OP_YIELD)
            return false;
        /* A GEMM reads its input whole and never writes over it; an elementwise kernel, rope
         * or a norm may write its result over v, which then must be a view too. */
        bool gemm_input = (op_info[op->kind].flags & OPF_GEMM) && readers->items[k].arg == 0;
        if (!gemm_input && writes_in_place(reader) && reader->nresults == 1 &&
            !viewable(pl, g, reader->results[0], depth + 1))
            return false;
    }
    return true;
}

static void make_views(Planner *pl)
{
    Graph *g = pl->g;
    for (Op *op = g->top->first; op; op = ir_walk_next(op, g->top)) {
        if (op->kind != OP_SPLIT || !is_activation(op->args[0]) || op->args[0]->view_of)
            continue;
        bool all = true;
        for (int i = 0; i < op->nresults && all; i++)
            all = viewable(pl, g, op->results[i], 0);
        if (!all)
            continue;
        int64_t *offset = arena_array(g->arena, (size_t)g->tp, sizeof(int64_t));
        for (int i = 0; i < op->nresults; i++) {
            Value *piece = op->results[i];
            piece->view_of = op->args[0];
            piece->view_offset = arena_array(g->arena, (size_t)g->tp, sizeof(int64_t));
            for (int r = 0; r < g->tp; r++) {
                piece->view_offset[r] = offset[r];
                offset[r] += piece->layout.kind == LAYOUT_S
                                 ? layout_local_size(&piece->layout, r)
                                 : piece->shape.dims[piece->shape.rank - 1].size;
            }
        }
    }
}

/* ---- allocation ---------------------------------------------------------------------------- */

/* The values `op`'s kernel reads element for element at the index it writes (so its result may
 * go over one that dies there): its arguments, and the leaves of what is inlined into it, but
 * not a GEMM's input, which a GEMM epilogue reads whole. */
static int aligned_reads(const Planner *pl, const Op *op, const Value **out, int n)
{
    for (int i = 0; i < op->nargs && n < 16; i++) {
        const Value *v = op->args[i];
        if (!is_activation(v))
            continue;
        if (v->kind == VAL_RESULT && v->def->attrs.inlined) {
            if (!(op_info[v->def->kind].flags & OPF_GEMM))
                n = aligned_reads(pl, v->def, out, n);
            continue;
        }
        out[n++] = v;
    }
    return n;
}

/* The value whose buffer op's result goes over, or NULL. */
static const Value *in_place_of(Planner *pl, const Op *op, const SlotTerm *t)
{
    if (!writes_in_place(op))
        return NULL;
    const Value *reads[16];
    int n = aligned_reads(pl, op, reads, 0);
    for (int i = 0; i < n; i++) {
        const Value *v = reads[i];
        if (v->slot < 0 || pl->last_use[v->id] != op->order ||
            !shape_equal(&v->shape, &op->results[0]->shape))
            continue;
        SlotTerm have = size_of(pl->g, v);
        if (!same_size(pl->g, &have, t))
            continue;
        bool read_whole = false; /* a GEMM epilogue's input may not be overwritten */
        for (int k = 0; k < op->nargs; k++) {
            const Value *a = op->args[k];
            if (a->kind == VAL_RESULT && a->def->attrs.inlined &&
                (op_info[a->def->kind].flags & OPF_GEMM) && a->def->args[0]->slot == v->slot)
                read_whole = true;
        }
        if (!read_whole)
            return v;
    }
    return NULL;
}

static void plan_block(Planner *pl, Block *b);

static void plan_loop(Planner *pl, Op *loop)
{
    Block *body = loop->body;
    int end = loop_end(loop);
    for (int i = 0; i < loop->nargs; i++) {
        Value *init = loop->args[i], *param = body->params[i];
        SlotTerm t = size_of(pl->g, param);
        bool shared = is_activation(init) && init->slot >= 0 && !init->view_of &&
                      pl->last_use[init->id] == loop->order;
        param->slot = shared ? init->slot : take_slot(pl, &t, loop->order, end);
        fit(pl, param->slot, &t);
        hold(pl, param->slot, end); /* every block starts with the carried value here */
    }
    plan_block(pl, body);
    Op *yield = body->last;
    for (int i = 0; i < loop->nresults; i++) {
        Value *r = loop->results[i];
        r->slot = i < loop->nargs ? body->params[i]->slot : yield->args[i]->slot;
        if (r->slot >= 0)
            hold(pl, r->slot, pl->last_use[r->id]);
    }
}

static void plan_scratch(Planner *pl, Op *op)
{
    if (op->kind != OP_ATTENTION)
        return;
    /* one head's scores at a time, [seq, seq] */
    Dim seq = op->args[0]->shape.dims[1];
    SlotTerm t = {.per_rank = arena_array(pl->g->arena, (size_t)pl->g->tp, sizeof(int64_t))};
    for (int k = 0; k < 2 && seq.sym >= 0; k++)
        t.syms[t.nsyms++] = seq.sym;
    for (int r = 0; r < pl->g->tp; r++)
        t.per_rank[r] = seq.sym >= 0 ? 1 : seq.size * seq.size;
    op->scratch = take_slot(pl, &t, op->order, op->order);
}

static void plan_op(Planner *pl, Op *op)
{
    if (op->kind == OP_FOR) {
        plan_loop(pl, op);
        return;
    }
    if (op->attrs.inlined)
        return; /* computed in its user's kernel */
    plan_scratch(pl, op);
    for (int i = 0; i < op->nresults; i++) {
        Value *v = op->results[i];
        int until = pl->last_use[v->id];
        if (v->view_of) { /* a split's piece: the split value's buffer lives as long */
            v->slot = v->view_of->slot;
            hold(pl, v->slot, until);
            continue;
        }
        SlotTerm t = size_of(pl->g, v);
        const Value *over = i == 0 ? in_place_of(pl, op, &t) : NULL;
        if (over) {
            v->slot = over->slot;
            v->view_of = over->view_of; /* rope over a view of q is that view */
            v->view_offset = over->view_offset;
            fit(pl, v->slot, &t);
            hold(pl, v->slot, until);
        } else {
            v->slot = take_slot(pl, &t, op->order, until < op->order ? op->order : until);
        }
    }
}

/* RoPE's cos and sin for every position and rotated pair, [seq, rotary_dim]: one table per
 * (theta, rotary_dim, positions), filled once at the start of a forward and read by every rope
 * op that shares it (every layer's q and k). */
static void plan_rope_tables(Planner *pl, int end)
{
    Graph *g = pl->g;
    Vec(Op *) made = {0};
    for (Op *op = g->top->first; op; op = ir_walk_next(op, g->top)) {
        if (op->kind != OP_ROPE)
            continue;
        const Value *x = op->args[0];
        Dim seq = x->shape.dims[x->shape.rank - 2];
        int64_t head_dim = x->shape.dims[x->shape.rank - 1].size / op->attrs.heads;
        int64_t rotary = op->attrs.rotary_dim ? op->attrs.rotary_dim : head_dim;
        for (int i = 0; i < made.len && op->scratch < 0; i++) {
            const Op *other = made.items[i];
            const Value *y = other->args[0];
            int64_t other_rotary = other->attrs.rotary_dim
                                       ? other->attrs.rotary_dim
                                       : y->shape.dims[y->shape.rank - 1].size / other->attrs.heads;
            if (other->attrs.theta == op->attrs.theta && other_rotary == rotary &&
                dim_equal(y->shape.dims[y->shape.rank - 2], seq))
                op->scratch = other->scratch;
        }
        if (op->scratch >= 0)
            continue;
        SlotTerm t = {.per_rank = arena_array(g->arena, (size_t)g->tp, sizeof(int64_t))};
        if (seq.sym >= 0)
            t.syms[t.nsyms++] = seq.sym;
        for (int r = 0; r < g->tp; r++)
            t.per_rank[r] = rotary * (seq.sym >= 0 ? 1 : seq.size);
        op->scratch = take_slot(pl, &t, 0, end);
        vec_push(g->arena, &made, op);
    }
}

static void plan_block(Planner *pl, Block *b)
{
    for (Op *op = b->first; op; op = op->next)
        plan_op(pl, op);
}

bool pass_plan_memory(Graph *g, const Options *opt, Diag *diag)
{
    Planner pl = {.g = g, .users = ir_users(g)};
    int n = pl.users.nvalues;
    for (Op *op = g->top->first; op; op = ir_walk_next(op, g->top))
        for (int i = 0; i < op->nresults; i++) {
            op->results[i]->slot = -1;
            op->results[i]->view_of = NULL;
        }
    pl.last_use = arena_array(g->arena, (size_t)n, sizeof *pl.last_use);
    for (int i = 0; i < n; i++)
        pl.last_use[i] = -1;
    int positions = 0;
    number_positions(g->top, &positions);
    g->slots.len = 0;
    make_views(&pl);
    liveness(&pl);
    /* A view's readers keep its split value alive. */
    for (Op *op = g->top->first; op; op = ir_walk_next(op, g->top))
        for (int i = 0; i < op->nresults; i++) {
            const Value *v = op->results[i];
            if (v->view_of && pl.last_use[v->id] > pl.last_use[v->view_of->id])
                pl.last_use[v->view_of->id] = pl.last_use[v->id];
        }
    plan_rope_tables(&pl, positions);
    plan_block(&pl, g->top);
    ir_number_ops(g->top); /* back to positions within blocks, as the verifier expects */
    return true;
}
