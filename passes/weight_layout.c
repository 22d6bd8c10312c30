/* weight-layout: how the program keeps each weight in memory.
 *
 * requires the ops that read each weight are final (fuse-projections, and collectives, which
 *          gives a weight read with two slices its second copy)
 * provides Weight.stored_in_out: a weight that only linears read is kept [in, out], transposed
 *          as it is loaded; any other keeps the checkpoint's layout
 *          Weight.bf16 (--dtype bf16): a weight that only projections read (linear's and
 *          matmul's weight) is kept as bf16 [out, in], the layout the bf16 kernels read
 *          (tpcrt_linear_bf16); a table an embedding also reads, norms and biases stay f32
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
    bool bf16 = opt->dtype == WEIGHTS_BF16;
    for (int i = 0; i < g->weights.len; i++) {
        Weight *w = g->weights.items[i];
        w->stored_in_out = w->used && w->shape.rank == 2 && w->segment_dim == 0;
        w->bf16 = bf16 && w->used && w->shape.rank == 2;
    }
    for (Op *op = g->top->first; op; op = ir_walk_next(op, g->top))
        for (int i = 0; i < op->nargs; i++) {
            if (op->args[i]->kind != VAL_WEIGHT)
                continue;
            Weight *w = op->args[i]->weight;
            bool projection = (op->kind == OP_LINEAR || op->kind == OP_MATMUL) && i == 1;
            if (!(op->kind == OP_LINEAR && i == 1))
                w->stored_in_out = false;
            if (!projection)
                w->bf16 = false;
        }
    for (int i = 0; i < g->weights.len; i++)
        if (g->weights.items[i]->bf16)
            g->weights.items[i]->stored_in_out = false; /* [out, in]: what the kernels read */
    return true;
}
