/* elide: remove the naive plan's all-gathers that a column -> row chain does not need.
 *
 * requires collectives (the naive plan)
 * provides the plan without the gathers whose users accept the split value: a column-parallel
 *          output flowing through elementwise ops into a row-parallel projection, or into
 *          attention head by head, stays split (Megatron's MLP and attention blocks)
 * breaks   nothing
 *
 * A gather is removed when the plan without it costs no more: its users then work on the
 * split value, and whatever still needs it whole gathers it there. With --no-elide the naive
 * plan stays, to show what elision saves.
 */
#include "passes.h"


static double plan_cost(Graph *g, Propagation *p)
{
    layout_propagate(g, g->tp, false, p);
    return layout_seconds(p);
}

bool pass_elide(Graph *g, const Options *opt, Diag *diag)
{
    if (opt->no_elide || g->tp == 1)
        return true;
    collectives_strip(g);
    Propagation p;
    double best = plan_cost(g, &p);
    int64_t ops = 1 + ir_count_ops(g), gathers = 0;
    for (Op *op = g->top->first; op; op = ir_walk_next(op, g->top))
        gathers += op->attrs.gather_output;
    /* Each gather is weighed with a propagation of the whole plan; for a huge model every
     * gather goes at once (what the shard pass costed). */
    bool one_by_one = gathers * ops <= PASS_SEARCH_BUDGET;
    for (Op *op = g->top->first; op; op = ir_walk_next(op, g->top)) {
        if (!op->attrs.gather_output)
            continue;
        if (!one_by_one) {
            op->attrs.gather_output = false;
            continue;
        }
        op->attrs.gather_output = false;
        double cost = plan_cost(g, &p);
        if (cost <= best * (1 + 1e-3)) /* no worse: uneven splits may add a few bytes */
            best = cost;
        else
            op->attrs.gather_output = true;
    }
    collectives_apply(g);
    return true;
}
