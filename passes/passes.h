/* passes.h — the pass pipeline: one file, one entry point and one contract comment per pass,
 * run in the order of the table in pipeline.c, with the verifier after each.
 *
 * Passes know nothing of C: they decide (fusion, layouts, collectives, memory) and record their
 * decisions in the graph for codegen to print.
 */
#ifndef TPC_PASSES_H
#define TPC_PASSES_H

#include "ir.h"
#include "options.h"

/* How many op visits a pass may spend weighing plans, each weighing a propagation over the
 * whole graph: about a second. Past it a huge model keeps the plan it has (shard, elide). */
enum { PASS_SEARCH_BUDGET = 20000000 };

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

/* ---- the passes, in pipeline order ----------------------------------------------------------- */
bool pass_fuse_projections(Graph *g, const Options *opt, Diag *diag); /* fuse.c */
bool pass_shard(Graph *g, const Options *opt, Diag *diag);            /* shard.c */
bool pass_collectives(Graph *g, const Options *opt, Diag *diag);      /* collectives.c */
bool pass_elide(Graph *g, const Options *opt, Diag *diag);            /* elide.c */
bool pass_fuse_elementwise(Graph *g, const Options *opt, Diag *diag); /* fuse_elementwise.c */
bool pass_plan_memory(Graph *g, const Options *opt, Diag *diag);      /* memory.c */
bool pass_weight_layout(Graph *g, const Options *opt, Diag *diag);    /* weight_layout.c */

/* ---- cost.c: the cost model ------------------------------------------------------------------ */
int64_t cost_dim(const Graph *g, Dim d); /* a dimension's size in the costed workload */
int64_t cost_elements(const Graph *g, const Shape *s);
void cost_workload(Estimate *e);
double cost_gemm(int64_t rows, int64_t in, int64_t out);
double cost_pass(int64_t elements);
double cost_collective(OpKind kind, double full_bytes, double local_bytes, int tp, bool to_root);

/* ---- layouts.c: the layout rules and their propagation ---------------------------------------
 * Given the decisions (each projection's and embedding's Op.attrs.parallel and gather_output),
 * propagation gives every value its layout, every weight the slice each rank holds, and the
 * conversions (collectives) the graph needs, with the cost model's estimate. It reads a graph
 * without conversion ops and changes nothing but layouts; collectives.c inserts what it
 * found. */
typedef struct Conversion {
    Value *value;   /* the value as produced */
    Layout to;      /* the layout a user needs */
    bool to_root;   /* only rank 0 needs it (an output) */
    bool forced;    /* the naive plan's gather after a column-parallel projection: every later
                       user reads the gathered value; `from` is the value's own layout */
    Layout from;
    Value *result;  /* once inserted */
    int next;       /* the value's previous conversion, or -1 */
} Conversion;

typedef struct Redirect { /* argument `arg` of `op` reads conversion `conversion`'s result */
    Op *op;
    int arg;
    int conversion;
} Redirect;

typedef struct WeightUse { /* the slice each rank holds of the weight `op` reads as `arg` */
    Op *op;
    int arg;
    Layout layout;
} WeightUse;

typedef struct Propagation {
    Graph *g;
    int tp;
    Vec(Conversion) conversions;
    Vec(Redirect) redirects;
    Vec(WeightUse) weight_uses;
    double compute_seconds, collective_seconds;
    /* private to layouts.c */
    int64_t repeat;         /* how often the op being looked at runs per forward */
    bool greedy;
    Users users;            /* by Value.id: the ops that read each value */
    int *conversion_of;     /* by Value.id: its latest conversion (a chain through `next`) */
} Propagation;

/* With `greedy`, projections without a hint are decided as propagation reaches them (see
 * greedy_choice): the starting point of shard's search, in one pass. */
void layout_propagate(Graph *g, int tp, bool greedy, Propagation *p);
/* The estimated time of a propagated plan: computing plus collectives. */
double layout_seconds(const Propagation *p);
/* Records a propagated plan's estimate in g->estimate, for the plan. */
void layout_record_estimate(Graph *g, const Propagation *p);
/* The op that changes a value's layout kind `from` into `to`: P -> R all_reduce, S -> R
 * all_gather, P -> S reduce_scatter, R -> S slice; S -> S (another split) is an all_gather
 * followed by a slice, and gives all_gather. */
OpKind layout_conversion_kind(LayoutKind from, LayoutKind to);
/* The largest -tp the model can take, and the op that limits it (for the message). */
int layout_max_tp(Graph *g, const Op **limiting, const char **what, int64_t *units);

/* ---- collectives.c ----------------------------------------------------------------------------- */
/* Removes every conversion op (collectives and slices), giving back the graph shard made. */
void collectives_strip(Graph *g);
/* Propagates the decisions on a graph without conversions and inserts what they need:
 * conversion ops, weight slices; records the estimate. */
void collectives_apply(Graph *g);

#endif /* TPC_PASSES_H */
