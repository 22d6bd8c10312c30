/* shard: choose how every projection and embedding is split, and so the layout (R, S, P) of
 * every value and the slice of every weight each rank holds.
 *
 * requires shapes, fused projections
 * provides Op.attrs.parallel on every linear, matmul and embedding; Value.layout; Weight.layout;
 *          Graph.estimate; gather_output on column-parallel projections (the naive plan, which
 *          collectives inserts and elide prunes)
 * breaks   nothing; inserts no collectives (collectives.c does)
 *
 * The decisions are the cost model's (cost.c): the plan whose estimated per-rank time, with
 * collectives placed as elision will leave them, is lowest. The search starts from every
 * projection column-parallel and changes one decision at a time while that lowers the estimate;
 * the Megatron pattern (column, elementwise, row: one all-reduce per MLP and per attention
 * block) comes out of the costs. Hints (@col, @row, @replicated) fix a decision. Embedding tables
 * are not searched: a lookup reads the same rows whatever the split, so a table is split over
 * the vocabulary when holding it whole would cost memory (Megatron's VocabParallelEmbedding) and
 * replicated when it is small (GPT-2's position table, BERT's token types).
 */
#include "passes.h"

#include <inttypes.h>

enum { MAX_ROUNDS = 8 };

/* Tables below this size are replicated: they cost little memory, and no collective. */
static const int64_t SMALL_TABLE_BYTES = 16 << 20;

typedef struct Site {
    Op *op;
    Parallel options[3];
    int noptions;
} Site;

static bool is_table(const Op *op)
{
    return op->kind == OP_EMBEDDING;
}

/* A decision of the plan: a projection, or an embedding of a declared table. */
static bool is_site(const Op *op)
{
    return ir_is_projection(op) || (is_table(op) && op->args[1]->kind == VAL_WEIGHT);
}

static int64_t weight_bytes(const Weight *w)
{
    return 4 * shape_elements(&w->shape);
}

static Parallel from_hint(const Op *op)
{
    switch (op->attrs.hint) {
    case HINT_COL: return PAR_COLUMN;
    case HINT_ROW: return PAR_ROW;
    default:       return PAR_REPLICATED;
    }
}

/* The decisions open to a site: a hint fixes one; a table is split by the vocabulary when it is
 * large and kept whole when small; a projection may be column, row or replicated. */
static int site_options(Site *s)
{
    const Op *op = s->op;
    s->noptions = 0;
    if (op->attrs.hint)
        s->options[s->noptions++] = from_hint(op);
    else if (is_table(op))
        s->options[s->noptions++] =
            weight_bytes(op->args[1]->weight) < SMALL_TABLE_BYTES ? PAR_REPLICATED : PAR_ROW;
    else {
        s->options[s->noptions++] = PAR_COLUMN;
        s->options[s->noptions++] = PAR_ROW;
        s->options[s->noptions++] = PAR_REPLICATED;
    }
    return s->noptions;
}

/* A split that leaves a rank without a whole unit of some piece cannot run: how many such
 * (piece, rank) pairs a plan has. */
static int idle_ranks(const Propagation *p)
{
    int idle = 0;
    for (int i = 0; i < p->weight_uses.len; i++) {
        const Layout *l = &p->weight_uses.items[i].layout;
        for (int s = 0; l->kind == LAYOUT_S && s < l->nseg; s++)
            for (int r = 0; r < p->tp; r++)
                idle += l->seg[s].ranks[r].end <= l->seg[s].ranks[r].start;
    }
    return idle;
}

static bool every_rank_has_work(const Propagation *p)
{
    return idle_ranks(p) == 0;
}

/* The cost model's estimate of a propagated plan, with a plan that leaves ranks idle priced
 * out of the search. */
static double price(const Propagation *p)
{
    return layout_seconds(p) + 1e6 * idle_ranks(p);
}

static double estimate(Graph *g, int tp, Propagation *p)
{
    layout_propagate(g, tp, false, p);
    return price(p);
}

/* Coordinate descent from the greedy plan: try each other decision of each site; keep what
 * lowers the estimate. A plan costs a propagation, linear in the ops; the search stops after
 * PASS_SEARCH_BUDGET op visits, so a huge model keeps the greedy plan rather than taking hours. */
static void search(Graph *g, int tp, Site *sites, int n)
{
    Propagation p;
    layout_propagate(g, tp, true, &p);
    double best = price(&p);
    int64_t evaluations = PASS_SEARCH_BUDGET / (1 + ir_count_ops(g));
    for (int round = 0; round < MAX_ROUNDS; round++) {
        bool changed = false;
        for (int i = 0; i < n; i++) {
            Op *op = sites[i].op;
            Parallel current = op->attrs.parallel;
            for (int k = 0; k < sites[i].noptions; k++) {
                if (sites[i].options[k] == current)
                    continue;
                if (evaluations-- <= 0) {
                    op->attrs.parallel = current;
                    return;
                }
                op->attrs.parallel = sites[i].options[k];
                double cost = estimate(g, tp, &p);
                if (cost < best * (1 - 1e-9)) {
                    best = cost;
                    current = op->attrs.parallel;
                    changed = true;
                }
            }
            op->attrs.parallel = current;
        }
        if (!changed)
            break;
    }
}

/* -tp larger than a dimension can take: name it, and the largest -tp that works. */
static bool check_tp(Graph *g, int tp, Diag *diag)
{
    for (Op *op = g->top->first; op; op = ir_walk_next(op, g->top)) {
        if (op->kind == OP_ATTENTION && op->attrs.heads < tp) {
            diag_error(diag, op->loc, "-tp %d is more than the %" PRId64 " heads of this "
                       "attention, and a head is never cut: the largest -tp that works is %" PRId64,
                       tp, op->attrs.heads, op->attrs.heads);
            return false;
        }
    }
    return true;
}

/* A projection left whole because no split gives every rank a unit of work: -tp is too large
 * for it. Names its dimensions and the largest -tp that would split it. */
static bool check_splittable(Graph *g, int tp, Site *sites, int n, Diag *diag)
{
    for (int i = 0; i < n; i++) {
        Op *op = sites[i].op;
        if (op->attrs.parallel != PAR_REPLICATED || op->attrs.hint || is_table(op))
            continue;
        bool splits = false;
        Propagation p;
        for (Parallel par = PAR_COLUMN; par <= PAR_ROW && !splits; par++) {
            op->attrs.parallel = par;
            estimate(g, tp, &p);
            splits = every_rank_has_work(&p);
        }
        op->attrs.parallel = PAR_REPLICATED;
        if (splits)
            continue;
        const Weight *w = op->args[1]->weight;
        int out_dim = ir_weight_out_dim(op);
        int64_t outs = w->shape.dims[out_dim].size, ins = w->shape.dims[1 - out_dim].size;
        diag_error(diag, op->loc, "-tp %d is more than the %" PRId64 " outputs and the %" PRId64
                   " inputs of '%s': the largest -tp that works is %" PRId64, tp, outs, ins,
                   w->name, outs > ins ? outs : ins);
        return false;
    }
    return true;
}

bool pass_shard(Graph *g, const Options *opt, Diag *diag)
{
    int tp = opt->tp;
    g->tp = tp;
    cost_workload(&g->estimate);
    if (tp > 1 && !check_tp(g, tp, diag))
        return false;
    Vec(Site) sites = {0};
    for (Op *op = g->top->first; op; op = ir_walk_next(op, g->top)) {
        if (!is_site(op))
            continue;
        Site s = {.op = op};
        site_options(&s);
        op->attrs.parallel = tp == 1 ? PAR_REPLICATED : s.options[0];
        op->attrs.gather_output = false;
        vec_push(g->arena, &sites, s);
    }
    if (tp > 1)
        search(g, tp, sites.items, sites.len);

    if (tp > 1 && !check_splittable(g, tp, sites.items, sites.len, diag))
        return false;
    Propagation p;
    estimate(g, tp, &p);
    layout_record_estimate(g, &p);

    /* The naive plan: every column-parallel output gathered at once. */
    for (int i = 0; i < sites.len; i++) {
        Op *op = sites.items[i].op;
        op->attrs.gather_output = op->attrs.parallel == PAR_COLUMN && !is_table(op);
    }
    g->sharded = true;
    return true;
}
