/* weight-layout: how the program keeps each weight in memory.
 *
 * requires the ops that read each weight are final (fuse-projections, and collectives, which
 *          gives a weight read with two slices its second copy)
 * provides Weight.stored_in_out: a weight that only linears read is kept [in, out], transposed
 *          as it is loaded; any other keeps the checkpoint's layout
 * breaks   nothing
 *
 * With the weight [in, out], a GEMM of 2 to 128 rows runs without transposing it (OpenBLAS's
 * sgemm NN was 1.1 to 2.3 times faster than NT here; equal at 512 rows; one row streams it with
 * sgemv either way). A table an embedding also reads keeps [out, in], and a matmul's weight is
 * stored [in, out] in the checkpoint already.
 */
#include "passes.h"

bool pass_weight_layout(Graph *g, const Options *opt, Diag *diag)
{
    for (int i = 0; i < g->weights.len; i++) {
        Weight *w = g->weights.items[i];
        w->stored_in_out = w->used && w->shape.rank == 2 && w->segment_dim == 0;
    }
    for (Op *op = g->top->first; op; op = ir_walk_next(op, g->top))
        for (int i = 0; i < op->nargs; i++)
            if (op->args[i]->kind == VAL_WEIGHT && !(op->kind == OP_LINEAR && i == 1))
                op->args[i]->weight->stored_in_out = false;
    return true;
}
