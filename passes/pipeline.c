/* pipeline.c — the whole pipeline in one table (QBE's func()): which passes run, in order.
 *
 * After every pass the verifier runs; --print-after NAME and --print-after-all print the IR
 * (to stderr) after the passes they name.
 */
#include "passes.h"

#include <stdlib.h>
#include <string.h>

const Pass pass_pipeline[] = {
    {"fuse-projections", pass_fuse_projections, "one GEMM for projections of one input"},
    {"shard",            pass_shard,            "a layout for every value and weight"},
    {"collectives",      pass_collectives,      "the naive plan's collectives"},
    {"elide",            pass_elide,            "drop the gathers a column -> row chain skips"},
    {"fuse-elementwise", pass_fuse_elementwise, "one kernel per elementwise chain; GEMM epilogues"},
    {"plan-memory",      pass_plan_memory,      "activation buffers, reused by liveness"},
    {"weight-layout",    pass_weight_layout,    "weights only linears read kept [in, out]"},
    {NULL, NULL, NULL},
};
const int pass_count = (int)(sizeof pass_pipeline / sizeof pass_pipeline[0]) - 1;

const Pass *pass_find(const char *name)
{
    for (int i = 0; i < pass_count; i++)
        if (!strcmp(pass_pipeline[i].name, name))
            return &pass_pipeline[i];
    return NULL;
}

bool pass_run_pipeline(Graph *g, const Options *opt, Diag *diag)
{
    if (!ir_verify(g, "sema", stderr))
        internal_error("the front end built an invalid graph");
    if (opt->stop_after && !strcmp(opt->stop_after, "sema"))
        return true;
    for (int i = 0; i < pass_count; i++) {
        const Pass *p = &pass_pipeline[i];
        if (!p->run(g, opt, diag))
            return false;
        if (!ir_verify(g, p->name, stderr))
            internal_error("pass '%s' broke the IR", p->name);
        if (opt->print_after_all || (opt->print_after && !strcmp(opt->print_after, p->name))) {
            fprintf(stderr, "// ---- IR after %s ----\n", p->name);
            ir_print(stderr, g, opt->rank);
        }
        if (opt->stop_after && !strcmp(opt->stop_after, p->name))
            break;
    }
    return true;
}
