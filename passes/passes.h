/* passes.h — the pass pipeline: one file, one entry point and one contract comment per pass,
 * run in the order of the table in pipeline.c, with the verifier after each.
 *
 * Passes know nothing of C: they decide (layouts, collectives, fusion, memory) and record their
 * decisions in the graph for codegen to print.
 */
#ifndef TPC_PASSES_H
#define TPC_PASSES_H

#include "ir.h"

/* A pass returns false when it reported an error the user can fix (a -tp too large). */
typedef bool (*PassFn)(Graph *g, const Options *opt, Diag *diag);

typedef struct Pass {
    const char *name; /* for --print-after */
    PassFn run;
    const char *summary;
} Pass;

/* ---- pipeline.c ------------------------------------------------------------------------------ */
extern const Pass pass_pipeline[];
extern const int pass_count;
const Pass *pass_find(const char *name);
/* Runs every pass, verifying after each and printing after those the options ask for (stderr).
 * Returns false when a pass reported an error. */
bool pass_run_pipeline(Graph *g, const Options *opt, Diag *diag);

#endif /* TPC_PASSES_H */
