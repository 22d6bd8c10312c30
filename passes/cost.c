/* cost.c — the cost model: the estimated time of one forward on one rank (DESIGN.md, "The cost
 * model").
 *
 * Rates are this machine's, measured (issue 6's hand-written C on one Zen 3 core with OpenBLAS
 * 0.3.21 and Open MPI 4.1.4): a GEMM is the larger of its FLOPs at sgemm's rate and its weight
 * bytes at the streaming rate (one token is weight-bandwidth bound); passes over activations
 * run at the memory rate; a collective costs a latency plus its bytes on the ring. The
 * workload is one prompt of 1024 tokens: every symbolic dimension named `batch` is 1, any
 * other 1024. It is that long because attention grows with the square of the sequence: at 128
 * tokens, a multi-query model (Gemma-2B, one kv head) was cheaper with q|k|v split by rows and
 * attention computed whole on every rank — 3 more all-reduces a layer, and at 4096 tokens 8x
 * the attention a rank should do. Only ratios between plans matter for the decisions; the
 * absolute figure is printed in the plan. Times are the average rank's (see layouts.c,
 * mean_local).
 */
#include "passes.h"

#include <string.h>

static const struct Machine {
    double gemm_flops;         /* sgemm, rows >= 128 */
    double weight_bytes;       /* streaming a weight (sgemv, or sgemm with few rows) */
    double memory_bytes;       /* elementwise passes */
    double collective_latency; /* one collective, small message, shared memory */
    double collective_bytes;   /* bytes per second a rank sends in a large collective */
} machine = {75e9, 15e9, 10e9, 20e-6, 5e9};

enum { WORKLOAD_BATCH = 1, WORKLOAD_SEQ = 1024 };

int64_t cost_dim(const Graph *g, Dim d)
{
    if (d.sym < 0)
        return d.size;
    return strcmp(g->symbols.items[d.sym], "batch") == 0 ? WORKLOAD_BATCH : WORKLOAD_SEQ;
}

int64_t cost_elements(const Graph *g, const Shape *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++)
        n *= cost_dim(g, s->dims[i]);
    return n;
}

void cost_workload(Estimate *e)
{
    e->batch = WORKLOAD_BATCH;
    e->seq = WORKLOAD_SEQ;
}

double cost_gemm(int64_t rows, int64_t in, int64_t out)
{
    double flops = 2.0 * (double)rows * (double)in * (double)out;
    double weight = 4.0 * (double)in * (double)out;
    double compute = flops / machine.gemm_flops, stream = weight / machine.weight_bytes;
    return compute > stream ? compute : stream;
}

double cost_pass(int64_t elements)
{
    return 4.0 * (double)elements / machine.memory_bytes;
}

/* A collective's latency, and the bytes the average rank sends (layout_collective_bytes)
 * when every rank holds `local_bytes` of the split side: ranks 1 to tp-1 send alike, and rank
 * 0 differs only in a gather to it. */
double cost_collective(OpKind kind, double full_bytes, double local_bytes, int tp, bool to_root)
{
    if (kind == OP_SLICE || tp < 2)
        return 0;
    double root = layout_collective_bytes(kind, to_root, full_bytes, &local_bytes, 1, tp, 0);
    double other = layout_collective_bytes(kind, to_root, full_bytes, &local_bytes, 1, tp, 1);
    return machine.collective_latency + (root + (tp - 1) * other) / tp / machine.collective_bytes;
}
