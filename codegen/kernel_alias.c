/* kernel_alias.c — which buffer parameters of the program's kernels never overlap another:
 * what the LLVM backend marks noalias (KParam.noalias).
 *
 * Every call of every kernel is looked at (forward's steps and generation's, loops' bodies and
 * carries, rank 0's alternatives, the RoPE tables' fills, and attention's calls of its softmax). Two pointers of a call
 * may overlap when they are the same buffer of the memory plan (views of one buffer, or in
 * place: rmsnorm(x, x), rope with out == x), the same weight field or cache, or when either is
 * an input: a library caller may pass anything, an output of the last forward included.
 * Buffers, weights and caches are allocations of their own. A parameter is noalias when, at
 * every call, no parameter it may overlap is written by the kernel (or, written itself, when
 * it may overlap no other). A kernel called from nowhere seen here gets none.
 */
#include "program.h"

static bool may_overlap(const Ref *a, const Ref *b)
{
    if (a->kind == REF_NONE || b->kind == REF_NONE)
        return false;
    if (a->kind == REF_INPUT || b->kind == REF_INPUT)
        return a->kind == REF_INPUT || b->kind == REF_BUFFER;
    return a->kind == b->kind && a->index == b->index;
}

/* shared[k][i]: a call of kernel k passes parameter i something a written parameter overlaps;
 * shared[k][KERNEL_MAX_PARAMS]: kernel k is called */
static void mark_call(const Kernel *k, bool *shared, const Ref **refs)
{
    shared[KERNEL_MAX_PARAMS] = true;
    for (int i = 0; i < k->nparams; i++)
        for (int j = 0; j < k->nparams; j++) {
            if (i == j || !refs[i] || !refs[j] || !may_overlap(refs[i], refs[j]))
                continue;
            if (k->params[i].written || k->params[j].written)
                shared[i] = true;
        }
}

static void mark_steps(Program *p, bool **shared, const Step *s)
{
    for (; s; s = s->next) {
        if (s->kind == STEP_KERNEL) {
            const Kernel *k = p->kernels.items[s->kernel];
            if (s->nargs != k->nparams)
                internal_error("kernel %s called with %d arguments for %d parameters", k->name,
                               s->nargs, k->nparams);
            const Ref *refs[KERNEL_MAX_PARAMS] = {0};
            for (int i = 0; i < s->nargs; i++)
                refs[i] = s->args[i].kind == ARG_REF && k->params[i].buffer ? &s->args[i].ref : NULL;
            mark_call(k, shared[s->kernel], refs);
        } else if (s->kind == STEP_ATTENTION && p->attention_softmax >= 0) {
            /* attention(..) calls softmax(scores, key_mask, ..): the scratch and a mask input */
            const Ref *refs[KERNEL_MAX_PARAMS] = {&s->scores, &s->mask};
            mark_call(p->kernels.items[p->attention_softmax], shared[p->attention_softmax], refs);
        } else if (s->kind == STEP_ROPE_TABLE) {
            const Ref *refs[KERNEL_MAX_PARAMS] = {&s->table};
            mark_call(p->kernels.items[s->table_kernel], shared[s->table_kernel], refs);
        }
        mark_steps(p, shared, s->body);
        mark_steps(p, shared, s->carry);
        mark_steps(p, shared, s->otherwise);
    }
}

void program_find_noalias(Program *p)
{
    bool **shared = arena_array(p->a, (size_t)p->kernels.len + 1, sizeof *shared);
    for (int k = 0; k < p->kernels.len; k++)
        shared[k] = arena_array(p->a, KERNEL_MAX_PARAMS + 1, sizeof **shared);
    mark_steps(p, shared, p->forward);
    if (p->generation)
        mark_steps(p, shared, p->generation->step);
    for (int k = 0; k < p->kernels.len; k++) {
        Kernel *kernel = p->kernels.items[k];
        for (int i = 0; i < kernel->nparams; i++)
            kernel->params[i].noalias = kernel->params[i].buffer && shared[k][KERNEL_MAX_PARAMS] &&
                                         !shared[k][i];
    }
}
