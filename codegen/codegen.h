/* codegen.h — what tpc emits from the sharded graph: the plan (JSON), the graph (Graphviz) and
 * the per-rank programs. Codegen decides nothing a pass could decide: it prints the plan it is
 * given. It sees ir.h only.
 */
#ifndef TPC_CODEGEN_H
#define TPC_CODEGEN_H

#include "ir.h"

/* ---- plan.c: --emit plan ----------------------------------------------------------------------- */
void emit_plan(FILE *out, Graph *g, const Options *opt);

/* ---- dot.c: --emit dot ------------------------------------------------------------------------- */
void emit_dot(FILE *out, Graph *g, int rank);

/* ---- shared by the emitters (plan.c) ------------------------------------------------------------ */
/* Bytes rank r sends in collective `op`, per token (per element of the dimensions bound at run
 * time), by the ring convention of nccl-tests: all-reduce 2(p-1)/p of the data, all-gather and
 * reduce-scatter what the ring forwards, a gather to rank 0 the rank's own part. */
double collective_bytes_per_token(const Graph *g, const Op *op, int rank);

#endif /* TPC_CODEGEN_H */
