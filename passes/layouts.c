/* layouts.c — the layout rule of every op (ops.def's layout_rule column), and propagation.
 *
 * Propagation walks the graph in order. Each op's rule looks at the layouts its arguments have,
 * picks the cheapest way to compute (converting arguments where it must), and gives its results
 * their layouts. A conversion is found once per value and target, and every user that needs
 * that target reads the same converted value; collectives.c inserts the op. Conversions are
 * lazy: a partial sum stays partial through ops that are linear in it (P + P, P + R with the R
 * term added on one rank, P * R, mean) and is reduced only where an op needs it whole, so one
 * all-reduce serves a whole chain (GPT-J's x + attention + mlp reduces once).
 *
 * Weights are not converted at run time: a weight another op needs split is simply loaded split.
 * The rules, each with the Megatron / vLLM piece it reproduces, are the rule_* functions below.
 */
#include "passes.h"

#include <string.h>

/* ---- layouts ------------------------------------------------------------------------------- */

static Layout split_layout(Arena *a, int tp, int dim, int64_t unit, int nseg)
{
    Layout l = {.kind = LAYOUT_S, .dim = dim, .unit = unit, .nseg = nseg};
    l.seg = arena_array(a, (size_t)nseg, sizeof *l.seg);
    for (int s = 0; s < nseg; s++)
        l.seg[s].ranks = arena_array(a, (size_t)tp, sizeof(Range));
    return l;
}

/* The same split moved to dimension `dim`. */
static Layout at_dim(Layout l, int dim)
{
    l.dim = dim;
    return l;
}

static int64_t gcd(int64_t a, int64_t b)
{
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* The layout an argument of shape `arg` needs so that it lines up, element for element, with a
 * result of shape `res` laid out as `l` (NumPy alignment from the right): the same split, or R
 * where the argument is broadcast along the split dimension. */
static Layout aligned(const Layout *l, const Shape *res, const Shape *arg)
{
    if (l->kind != LAYOUT_S)
        return *l;
    int d = l->dim - (res->rank - arg->rank);
    if (d < 0 || (arg->dims[d].sym < 0 && arg->dims[d].size == 1 &&
                  !(res->dims[l->dim].sym < 0 && res->dims[l->dim].size == 1)))
        return layout_replicated();
    return at_dim(*l, d);
}

/* ---- what each piece of a projection's output feeds: heads, and which heads -----------------
 * A column-parallel projection splits its output in whole heads when the output feeds rope or
 * attention, and a piece that feeds attention as k or v gets exactly the kv heads the rank's
 * query heads read (GQA; several ranks may hold the same kv head). */

typedef enum { ROLE_NONE, ROLE_QUERY, ROLE_KV } Role;

typedef struct Demand {
    int64_t unit; /* elements never to be cut: head_dim, or 1 */
    Role role;
    int64_t heads, kv_heads;
} Demand;

static void demand_of(const Propagation *p, const Value *v, Demand *d, int depth)
{
    if (v->kind == VAL_WEIGHT || v->kind == VAL_CONST || depth > 16)
        return;
    const struct UseList *u = &p->users.of[v->id];
    for (int k = 0; k < u->len; k++) {
        const Op *op = u->items[k].op;
        int arg = u->items[k].arg;
        int64_t last = v->shape.dims[v->shape.rank - 1].size;
        switch (op->kind) {
        case OP_ROPE:
            d->unit = d->unit * (last / op->attrs.heads) / gcd(d->unit, last / op->attrs.heads);
            demand_of(p, op->results[0], d, depth + 1);
            break;
        case OP_ATTENTION:
            if (arg > 2)
                break;
            d->role = arg == 0 ? ROLE_QUERY : ROLE_KV;
            d->heads = op->attrs.heads;
            d->kv_heads = op->attrs.kv_heads;
            int64_t head_dim = last / (arg == 0 ? op->attrs.heads : op->attrs.kv_heads);
            d->unit = d->unit * head_dim / gcd(d->unit, head_dim);
            break;
        default:
            if ((op_info[op->kind].flags & OPF_ELEMENTWISE) &&
                shape_equal(&op->results[0]->shape, &v->shape))
                demand_of(p, op->results[0], d, depth + 1);
            break;
        }
    }
}

/* The split that cuts a projection's output into pieces (through a bias add), or NULL. */
static const Op *pieces_of(const Propagation *p, const Value *out)
{
    for (int hop = 0; hop < 2; hop++) {
        const Op *user = ir_only_user(&p->users, out);
        if (!user)
            return NULL;
        if (user->kind == OP_SPLIT)
            return user;
        if (user->kind != OP_ADD)
            return NULL;
        out = user->results[0];
    }
    return NULL;
}

/* The kv heads that query heads `q` read, in elements of head_dim each: query head h reads kv
 * head h / group, so several ranks may hold the same kv head (GQA); a rank without query heads
 * (tp > heads) holds none. */
static Range kv_range(Range q, int64_t group, int64_t head_dim)
{
    int64_t first = q.start / group, last = q.end > q.start ? (q.end + group - 1) / group : first;
    return (Range){first * head_dim, last * head_dim};
}

/* Splits piece `s` of layout l (size elements) for its demand: evenly in whole units, or for
 * k and v, the kv heads each rank's query heads read. */
static void split_piece(Layout *l, int s, int64_t size, const Demand *d, int tp)
{
    l->seg[s].size = size;
    for (int r = 0; r < tp; r++)
        l->seg[s].ranks[r] =
            d->role == ROLE_KV
                ? kv_range(layout_even_range(d->heads, tp, r, 1), d->heads / d->kv_heads, d->unit)
                : layout_even_range(size / d->unit, tp, r, d->unit);
}

/* The column-parallel split of a projection's output, piece by piece (q|k|v), at `dim`. */
static Layout column_split(Propagation *p, const Op *op, int dim)
{
    const Weight *w = op->args[1]->weight;
    int64_t whole = w->shape.dims[ir_weight_out_dim(op)].size;
    int n = w->nsegments ? w->nsegments : 1;
    const Op *split = w->nsegments ? pieces_of(p, op->results[0]) : NULL;
    Layout l = split_layout(p->g->arena, p->tp, dim, 1, n);
    int64_t unit = 0;
    for (int s = 0; s < n; s++) {
        Demand d = {.unit = 1};
        if (split && split->nresults == n)
            demand_of(p, split->results[s], &d, 0);
        else if (n == 1)
            demand_of(p, op->results[0], &d, 0);
        split_piece(&l, s, n == 1 ? whole : w->segments[s], &d, p->tp);
        unit = gcd(unit, d.unit);
    }
    l.unit = unit ? unit : 1; /* every piece's ranges are multiples of it (see piece_unit) */
    return l;
}

/* ---- conversions --------------------------------------------------------------------------- */

static int64_t repeat_of(const Value *v)
{
    const Op *def = v->def;
    const Block *b = !def ? NULL : v->kind == VAL_PARAM ? def->body : def->block;
    return b && b->parent ? b->parent->group->count : 1;
}

/* Elements of the split dimension a rank holds, on average over the ranks. Plans are costed by
 * the average rank's time: a split that is uneven by a head costs its imbalance in every
 * alternative alike, and the average keeps decisions on what they change (collectives, and
 * who computes what); ranks that share kv heads each count them. */
static double mean_local(const Propagation *p, const Layout *l)
{
    double sum = 0;
    for (int r = 0; r < p->tp; r++)
        sum += (double)layout_local_size(l, r);
    return sum / p->tp;
}

/* Bytes of v in the costed workload, whole and on the average rank under layout l. */
static double bytes_of(const Propagation *p, const Value *v, const Layout *l, double *local)
{
    double full = 4.0 * (double)cost_elements(p->g, &v->shape);
    *local = full;
    if (l->kind == LAYOUT_S) {
        Dim d = v->shape.dims[l->dim];
        int64_t size = cost_dim(p->g, d);
        *local = full * mean_local(p, l) / (double)(size ? size : 1);
    }
    return full;
}

OpKind layout_conversion_kind(LayoutKind from, LayoutKind to)
{
    if (to == LAYOUT_R)
        return from == LAYOUT_P ? OP_ALL_REDUCE : OP_ALL_GATHER;
    return from == LAYOUT_P ? OP_REDUCE_SCATTER : from == LAYOUT_R ? OP_SLICE : OP_ALL_GATHER;
}

/* A collective, and the copies around it: a split of an inner dimension is gathered through a
 * buffer and repacked, packed before a reduce-scatter, and copied out by a slice (all-reduce
 * works in place). */
static double conversion_cost(const Propagation *p, const Value *v, const Layout *to, bool to_root)
{
    const Layout *from = &v->layout;
    double local, full = bytes_of(p, v, from->kind == LAYOUT_S ? from : to, &local);
    OpKind kind = layout_conversion_kind(from->kind, to->kind);
    double cost = cost_collective(kind, full, local, p->tp, to_root);
    if (from->kind == LAYOUT_S && to->kind == LAYOUT_S) /* gather, then slice */
        cost = cost_collective(OP_ALL_GATHER, full, local, p->tp, false) + cost_pass(local / 4);
    if (kind != OP_ALL_REDUCE)
        cost += cost_pass((int64_t)((kind == OP_SLICE ? local : full) / 4));
    return cost * (double)repeat_of(v);
}

static int find_conversion(const Propagation *p, const Value *v, const Layout *to)
{
    if (v->kind == VAL_WEIGHT || v->kind == VAL_CONST)
        return -1;
    for (int i = p->conversion_of[v->id]; i >= 0; i = p->conversions.items[i].next)
        if (layout_equal(&p->conversions.items[i].to, to, p->tp))
            return i;
    return -1;
}

static void add_conversion(Propagation *p, Conversion c)
{
    c.next = p->conversion_of[c.value->id];
    vec_push(p->g->arena, &p->conversions, c);
    p->conversion_of[c.value->id] = p->conversions.len - 1;
}

static bool is_weight(const Value *v)
{
    return v->kind == VAL_WEIGHT || v->kind == VAL_CONST;
}

/* What it costs to give v layout `to`: nothing if it has it, or a conversion already made, or
 * it is a weight (loaded as needed) or a scalar. */
static double cost_to(const Propagation *p, const Value *v, const Layout *to)
{
    if (is_weight(v) || layout_equal(&v->layout, to, p->tp) || find_conversion(p, v, to) >= 0)
        return 0;
    return conversion_cost(p, v, to, false);
}

static void use_weight(Propagation *p, Op *op, int arg, Layout l)
{
    WeightUse u = {op, arg, l};
    vec_push(p->g->arena, &p->weight_uses, u);
    op->args[arg]->weight->layout = l;
    op->args[arg]->layout = l;
}

/* Argument `arg` of op must have layout `to`: convert it unless it has. */
static void need(Propagation *p, Op *op, int arg, Layout to, bool to_root)
{
    Value *v = op->args[arg];
    if (v->kind == VAL_CONST)
        return;
    if (v->kind == VAL_WEIGHT) {
        use_weight(p, op, arg, to);
        return;
    }
    if (layout_equal(&v->layout, &to, p->tp) && !(to_root && v->layout.kind != LAYOUT_R))
        return;
    int c = find_conversion(p, v, &to);
    if (c < 0) {
        Conversion conv = {.value = v, .to = to, .to_root = to_root};
        p->collective_seconds += conversion_cost(p, v, &to, to_root);
        add_conversion(p, conv);
        c = p->conversions.len - 1;
    }
    Redirect r = {op, arg, c};
    vec_push(p->g->arena, &p->redirects, r);
}

/* ---- the cost of computing ----------------------------------------------------------------- */

/* Elements of v on the average rank. */
static int64_t local_elements(const Propagation *p, const Value *v)
{
    double local;
    bytes_of(p, v, &v->layout, &local);
    return (int64_t)(local / 4);
}

static void add_compute(Propagation *p, double seconds)
{
    p->compute_seconds += seconds * (double)p->repeat;
}

/* ---- the rules ----------------------------------------------------------------------------- */

static void set_result(Op *op, Layout l)
{
    for (int i = 0; i < op->nresults; i++)
        op->results[i]->layout = l;
}

/* linear(x, w[, b]) and matmul(x, w) with a weight, by the decision in op->attrs.parallel:
 *   COLUMN      x R, w split on its output dim, y S   (Megatron's ColumnParallelLinear; the
 *               output split in whole heads, GQA's k and v by the heads each rank reads:
 *               vLLM's QKVParallelLinear, MergedColumnParallelLinear for gate|up);
 *   ROW         x S, w split on its input dim to match, y P; a bias is added on one rank
 *               (RowParallelLinear);
 *   REPLICATED  x R, w R, y R. */
/* The greedy choice, made as propagation reaches the op: row-parallel on an input split along its
 * last dimension (the second half of a column -> row pair), column-parallel on anything else;
 * whichever of them leaves no rank without a unit, else replicated. */
static Parallel greedy_choice(Propagation *p, const Op *op)
{
    const Value *x = op->args[0], *y = op->results[0];
    const Weight *w = op->args[1]->weight;
    int out_dim = ir_weight_out_dim(op);
    bool split_input = x->layout.kind == LAYOUT_S && x->layout.dim == x->shape.rank - 1;
    if (split_input && w->shape.dims[1 - out_dim].size >= p->tp)
        return PAR_ROW;
    Layout l = column_split(p, op, y->shape.rank - 1);
    bool every_rank = true;
    for (int s = 0; s < l.nseg; s++)
        for (int r = 0; r < p->tp; r++)
            every_rank &= l.seg[s].ranks[r].end > l.seg[s].ranks[r].start;
    if (every_rank)
        return PAR_COLUMN;
    return w->shape.dims[1 - out_dim].size >= p->tp ? PAR_ROW : PAR_REPLICATED;
}

static void rule_projection(Propagation *p, Op *op)
{
    Value *x = op->args[0], *y = op->results[0];
    const Weight *w = op->args[1]->weight;
    int out_dim = ir_weight_out_dim(op), in_dim = 1 - out_dim, last = y->shape.rank - 1;
    int64_t in = w->shape.dims[in_dim].size, out = w->shape.dims[out_dim].size, rows;
    rows = cost_elements(p->g, &x->shape) / in;
    if (p->greedy && !op->attrs.hint && p->tp > 1)
        op->attrs.parallel = greedy_choice(p, op);
    switch (op->attrs.parallel) {
    case PAR_REPLICATED:
        need(p, op, 0, layout_replicated(), false);
        for (int i = 1; i < op->nargs; i++)
            need(p, op, i, layout_replicated(), false);
        y->layout = layout_replicated();
        add_compute(p, cost_gemm(rows, in, out));
        break;
    case PAR_COLUMN: {
        need(p, op, 0, layout_replicated(), false);
        Layout l = column_split(p, op, last);
        need(p, op, 1, at_dim(l, out_dim), false);
        if (op->nargs == 3)
            need(p, op, 2, at_dim(l, 0), false);
        y->layout = l;
        add_compute(p, cost_gemm(rows, in, (int64_t)mean_local(p, &l)));
        if (op->attrs.gather_output) { /* the naive plan: gather at once, and users see R */
            Layout whole = layout_replicated();
            Conversion c = {.value = y, .to = whole, .forced = true, .from = l};
            p->collective_seconds += conversion_cost(p, y, &whole, false);
            add_conversion(p, c);
            y->layout = whole;
        }
        break;
    }
    case PAR_ROW: {
        Layout l = x->layout;
        if (l.kind != LAYOUT_S || l.dim != last) {
            int64_t size = in;
            l = layout_split_even(p->g->arena, p->tp, last, 1, 1, &size);
            need(p, op, 0, l, false);
        }
        need(p, op, 1, at_dim(l, in_dim), false);
        if (op->nargs == 3)
            need(p, op, 2, layout_replicated(), false);
        y->layout = layout_partial();
        add_compute(p, cost_gemm(rows, (int64_t)mean_local(p, &l), out));
        break;
    }
    }
}

/* embedding(ids, table): ROW splits the vocabulary, each rank looking up the ids it holds
 * and giving zeros for the rest, so the result is P (Megatron's VocabParallelEmbedding);
 * COLUMN splits the embedding dimension (S); REPLICATED keeps the table whole. */
static void rule_embedding(Propagation *p, Op *op)
{
    const Weight *w = op->args[1]->weight;
    Value *y = op->results[0];
    int64_t vocab = w->shape.dims[0].size, dim = w->shape.dims[1].size;
    need(p, op, 0, layout_replicated(), false);
    switch (op->attrs.parallel) {
    case PAR_REPLICATED:
        need(p, op, 1, layout_replicated(), false);
        y->layout = layout_replicated();
        break;
    case PAR_ROW:
        need(p, op, 1, layout_split_even(p->g->arena, p->tp, 0, 1, 1, &vocab), false);
        y->layout = layout_partial();
        break;
    case PAR_COLUMN: {
        Layout l = layout_split_even(p->g->arena, p->tp, 1, 1, 1, &dim);
        need(p, op, 1, l, false);
        y->layout = at_dim(l, y->shape.rank - 1);
        break;
    }
    }
    add_compute(p, cost_pass(local_elements(p, y)));
}

/* Norms, softmax, normalize, concat: the last dimension whole (Megatron keeps norms
 * replicated). */
static void rule_whole(Propagation *p, Op *op)
{
    for (int i = 0; i < op->nargs; i++)
        need(p, op, i, layout_replicated(), false);
    set_result(op, layout_replicated());
    add_compute(p, cost_pass(cost_elements(p->g, &op->results[0]->shape)));
}

/* Elementwise ops: S and R pass through; the nonlinear ones need P summed first, the linear
 * ones (neg) keep it. */
static void rule_elementwise(Propagation *p, Op *op, bool linear)
{
    Layout l = op->args[0]->layout;
    if (l.kind == LAYOUT_P && !linear) {
        l = layout_replicated();
        need(p, op, 0, l, false);
    }
    set_result(op, l);
    add_compute(p, cost_pass(local_elements(p, op->results[0])));
}

/* x + linear(...): the sum is the GEMM's epilogue (it accumulates into x), so it costs no pass
 * of its own (fuse_elementwise.c makes it so, by the same test). */
static bool adds_to_gemm(const Propagation *p, const Op *op)
{
    return ir_gemm_epilogue(&p->users, op, 0) || ir_gemm_epilogue(&p->users, op, 1);
}

typedef struct Choice {
    Layout out;
    Layout args[2];
    double cost;
} Choice;

static void consider(const Propagation *p, const Op *op, Layout out, Layout a, Layout b,
                     Choice *best)
{
    double cost = cost_to(p, op->args[0], &a) + cost_to(p, op->args[1], &b);
    if (cost < best->cost)
        *best = (Choice){out, {a, b}, cost};
}

/* add, sub, mul, div with broadcasting. Candidates, cheapest first on ties: keep an argument's
 * split (the other sliced to match, free for R); R; and P where it stays correct — P + P, P + R
 * with the R term added on one rank only (how a row-parallel bias, or a replicated position
 * table added to a vocab-parallel embedding, is counted once), P * R, P / R. */
static void rule_binary(Propagation *p, Op *op)
{
    const Value *a = op->args[0], *b = op->args[1];
    const Shape *rs = &op->results[0]->shape;
    Choice best = {.cost = 1e300};
    for (int i = 0; i < 2; i++) {
        const Layout *l = &op->args[i]->layout;
        if (l->kind != LAYOUT_S)
            continue;
        int rd = l->dim + (rs->rank - op->args[i]->shape.rank);
        Layout out = at_dim(*l, rd);
        consider(p, op, out, aligned(&out, rs, &a->shape), aligned(&out, rs, &b->shape), &best);
    }
    /* A partial argument already summed for another user is read summed: the partial copy can
     * then die at the all-reduce, which works in place. */
    Layout r = layout_replicated(), pa = layout_partial();
    bool ap = a->layout.kind == LAYOUT_P && find_conversion(p, a, &r) < 0;
    bool bp = b->layout.kind == LAYOUT_P && find_conversion(p, b, &r) < 0;
    if (ap || bp || a->layout.kind == LAYOUT_P || b->layout.kind == LAYOUT_P) {
        switch (op->kind) {
        case OP_ADD:
        case OP_SUB:
            consider(p, op, pa, ap ? pa : r, bp ? pa : r, &best);
            break;
        case OP_MUL:
            consider(p, op, pa, ap ? pa : r, ap ? r : pa, &best);
            break;
        default: /* div: only the numerator may be partial */
            consider(p, op, pa, pa, r, &best);
            break;
        }
    }
    consider(p, op, r, r, r, &best);
    need(p, op, 0, best.args[0], false);
    need(p, op, 1, best.args[1], false);
    set_result(op, best.out);
    if (!adds_to_gemm(p, op))
        add_compute(p, cost_pass(local_elements(p, op->results[0])));
}

/* A split in whole heads of the last dimension, as rope and attention work head by head. */
static bool split_in_heads(const Value *v, int64_t heads)
{
    const Layout *l = &v->layout;
    int64_t head_dim = v->shape.dims[v->shape.rank - 1].size / heads;
    return l->kind == LAYOUT_S && l->dim == v->shape.rank - 1 && l->nseg == 1 &&
           l->unit % head_dim == 0;
}

/* rope: each rank rotates the heads it holds; anything but a split in whole heads is made
 * whole first. The result is laid out as the argument it reads. */
static void rule_rope(Propagation *p, Op *op)
{
    Layout l = op->args[0]->layout;
    if (!split_in_heads(op->args[0], op->attrs.heads)) {
        l = layout_replicated();
        need(p, op, 0, l, false);
    }
    set_result(op, l);
    add_compute(p, cost_pass(local_elements(p, op->results[0])));
}

/* The kv layout that query layout q needs for GQA: each rank the kv heads its query heads
 * read (Megatron and vLLM replicate kv heads across ranks when tp > kv_heads). */
static Layout kv_layout(Propagation *p, const Layout *q, const Op *op)
{
    int64_t heads = op->attrs.heads, kv = op->attrs.kv_heads, group = heads / kv;
    const Shape *ks = &op->args[1]->shape;
    int64_t head_dim = ks->dims[ks->rank - 1].size / kv;
    int64_t q_head_dim = q->seg[0].size / heads;
    Layout l = split_layout(p->g->arena, p->tp, q->dim, head_dim, 1);
    l.seg[0].size = kv * head_dim;
    for (int r = 0; r < p->tp; r++) {
        Range heads_held = {q->seg[0].ranks[r].start / q_head_dim,
                            q->seg[0].ranks[r].end / q_head_dim};
        l.seg[0].ranks[r] = kv_range(heads_held, group, head_dim);
    }
    return l;
}

/* attention works head by head: q split in whole heads, k and v split by the kv heads those
 * query heads read, the mask whole; the result is split like q. */
static void rule_attention(Propagation *p, Op *op)
{
    Value *q = op->args[0], *y = op->results[0];
    int64_t heads = op->attrs.heads;
    int64_t b = cost_dim(p->g, q->shape.dims[0]), s = cost_dim(p->g, q->shape.dims[1]);
    int64_t head_dim = q->shape.dims[2].size / heads, local_heads = heads;
    if (split_in_heads(q, heads) && p->tp > 1) {
        Layout kv = kv_layout(p, &q->layout, op);
        need(p, op, 1, kv, false);
        need(p, op, 2, kv, false);
        y->layout = q->layout;
        local_heads = (int64_t)mean_local(p, &q->layout) / head_dim;
    } else {
        for (int i = 0; i < 3; i++)
            need(p, op, i, layout_replicated(), false);
        y->layout = layout_replicated();
    }
    if (op->nargs == 4)
        need(p, op, 3, layout_replicated(), false);
    add_compute(p, cost_gemm(b * s, head_dim, s * local_heads) * 2);
}

/* The unit of one piece of a segmented split: the whole value's unit serves every piece (the
 * gcd of theirs: q's heads and k's single elements give 1), so each piece's is found again from
 * its own ranges, which column_split cut in that piece's units. */
static int64_t piece_unit(const Segment *seg, int tp)
{
    int64_t unit = seg->size;
    for (int r = 0; r < tp; r++)
        unit = gcd(gcd(unit, seg->ranks[r].start), seg->ranks[r].end);
    return unit ? unit : 1;
}

/* split: a value split piece by piece (a column-parallel q|k|v) gives each piece its own
 * split; R and P pass through; anything else is gathered first. */
static void rule_split(Propagation *p, Op *op)
{
    const Value *x = op->args[0];
    const Layout *l = &x->layout;
    bool by_piece = l->kind == LAYOUT_S && l->dim == x->shape.rank - 1 && l->nseg == op->nresults;
    for (int s = 0; by_piece && s < l->nseg; s++)
        by_piece = l->seg[s].size == op->attrs.sizes[s];
    if (by_piece) {
        for (int s = 0; s < op->nresults; s++) {
            Layout piece = *l;
            piece.nseg = 1;
            piece.seg = &l->seg[s];
            piece.unit = piece_unit(&l->seg[s], p->tp);
            op->results[s]->layout = piece;
        }
        return;
    }
    if (l->kind == LAYOUT_S)
        need(p, op, 0, layout_replicated(), false);
    set_result(op, l->kind == LAYOUT_P ? *l : layout_replicated());
}

/* mean and sum over a dimension: a split elsewhere stays (one dimension fewer); a split of the
 * reduced dimension gives partial sums; P stays P (the reduction is linear). */
static void rule_reduce(Propagation *p, Op *op)
{
    const Layout *l = &op->args[0]->layout;
    int dim = op->attrs.dim;
    Layout out = *l;
    if (l->kind == LAYOUT_S && l->dim == dim)
        out = layout_partial();
    else if (l->kind == LAYOUT_S && l->dim > dim)
        out.dim--;
    if (op->nargs == 2)
        need(p, op, 1, layout_replicated(), false);
    set_result(op, out);
    add_compute(p, cost_pass(local_elements(p, op->args[0])));
}

/* Outputs are whole on rank 0: gathered or reduced there alone. */
static void rule_output(Propagation *p, Op *op)
{
    for (int i = 0; i < op->nargs; i++)
        if (op->args[i]->layout.kind != LAYOUT_R)
            need(p, op, i, layout_replicated(), true);
}

static void propagate_block(Propagation *p, Block *b);

/* A loop: carried values keep one layout across blocks. A partial value entering is summed
 * first; a block that ends with a carried value in another layout converts it back before the
 * next block. */
static void rule_loop(Propagation *p, Op *op)
{
    Block *body = op->body;
    for (int i = 0; i < op->nargs; i++) {
        Layout l = op->args[i]->layout;
        if (l.kind == LAYOUT_P || l.kind == LAYOUT_NONE)
            l = layout_replicated();
        need(p, op, i, l, false);
        body->params[i]->layout = l;
    }
    int64_t saved = p->repeat;
    p->repeat *= op->group->count;
    propagate_block(p, body);
    Op *yield = body->last;
    for (int i = 0; i < op->nargs; i++)
        need(p, yield, i, body->params[i]->layout, false);
    p->repeat = saved;
    for (int i = 0; i < op->nresults; i++)
        op->results[i]->layout = i < op->nargs ? body->params[i]->layout
                                               : yield->args[i]->layout;
}

static void apply_rule(Propagation *p, Op *op)
{
    switch (op_info[op->kind].layout_rule) {
    case LRULE_PROJECTION:
        if (ir_is_projection(op))
            rule_projection(p, op);
        else
            rule_whole(p, op); /* a product of two activations: keep it whole */
        break;
    case LRULE_EMBEDDING:
        if (op->args[1]->kind == VAL_WEIGHT)
            rule_embedding(p, op);
        else
            rule_whole(p, op); /* a table computed in the forward: kept whole */
        break;
    case LRULE_REPLICATED: set_result(op, layout_replicated()); break;
    case LRULE_WHOLE_LAST: rule_whole(p, op); break;
    case LRULE_ELEMENTWISE: rule_elementwise(p, op, false); break;
    case LRULE_LINEAR_MAP: rule_elementwise(p, op, true); break;
    case LRULE_BINARY: rule_binary(p, op); break;
    case LRULE_HEADS: rule_rope(p, op); break;
    case LRULE_ATTENTION: rule_attention(p, op); break;
    case LRULE_SPLIT: rule_split(p, op); break;
    case LRULE_REDUCE: rule_reduce(p, op); break;
    case LRULE_OUTPUT: rule_output(p, op); break;
    case LRULE_LOOP: rule_loop(p, op); break;
    case LRULE_YIELD: break; /* rule_loop looks after it */
    case LRULE_FIXED: internal_error("propagation met a conversion op; strip them first");
    }
}

static void propagate_block(Propagation *p, Block *b)
{
    for (Op *op = b->first; op; op = op->next)
        apply_rule(p, op);
}

double layout_seconds(const Propagation *p)
{
    return p->compute_seconds + p->collective_seconds;
}

void layout_record_estimate(Graph *g, const Propagation *p)
{
    g->estimate.compute_seconds = p->compute_seconds;
    g->estimate.collective_seconds = p->collective_seconds;
    g->estimate.seconds = layout_seconds(p);
}

void layout_propagate(Graph *g, int tp, bool greedy, Propagation *p)
{
    *p = (Propagation){.g = g, .tp = tp, .repeat = 1, .greedy = greedy};
    p->users = ir_users(g);
    p->conversion_of = arena_array(g->arena, (size_t)p->users.nvalues + 1, sizeof(int));
    for (int i = 0; i < p->users.nvalues; i++)
        p->conversion_of[i] = -1;
    for (int i = 0; i < g->weights.len; i++) {
        Weight *w = g->weights.items[i];
        w->layout = layout_replicated();
        if (w->value)
            w->value->layout = w->layout;
    }
    for (int i = 0; i < g->inputs.len; i++)
        g->inputs.items[i]->layout = layout_replicated();
    propagate_block(p, g->top);
}

/* ---- how far a model can be split ------------------------------------------------------------ */

/* Attention splits whole query heads, so -tp may not exceed them; a column-parallel
 * projection needs a unit per rank in each piece. */
int layout_max_tp(Graph *g, const Op **limiting, const char **what, int64_t *units)
{
    int64_t best = 1 << 30;
    for (Op *op = g->top->first; op; op = ir_walk_next(op, g->top)) {
        if (op->kind == OP_ATTENTION && op->attrs.heads < best) {
            best = op->attrs.heads;
            *limiting = op;
            *what = "heads";
        }
    }
    *units = best;
    return (int)best;
}
