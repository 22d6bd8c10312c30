/* dump.c — --emit program: the per-rank program form as text, one step a line, for people
 * reading what a printer is given and for tests of the lowering (tests/codegen).
 *
 *   buffer x: max(batch*seq*64)
 *   weight layer.wq_wk_wv: 64*128 [per rank: 8192 8192]; read "model.layers.{i}..." rows ...
 *   gemm wq_wk_wv[0:...] = h @ l.wq_wk_wv^T  m=batch*seq n=64 k=64 beta=0
 *
 * A size prints as its terms, each symbol times its coefficient, which is a number or, where
 * ranks differ, the list of every rank's: "batch*seq*{64,64,32}".
 */
#include "program.h"

#include <inttypes.h>

static void size_dump(FILE *out, const Program *p, const Size *s)
{
    if (!s) {
        fputs("-", out);
        return;
    }
    if (s->nterms == 0)
        fputs("0", out);
    for (int i = 0; i < s->nterms; i++) {
        const SizeTerm *t = &s->terms[i];
        if (i)
            fputs(" + ", out);
        for (int k = 0; k < t->nsyms; k++)
            fprintf(out, "%s%s", k ? "*" : "", p->symbols[t->syms[k]]);
        bool same = true;
        for (int r = 1; r < p->tp; r++)
            same &= t->coef[r] == t->coef[0];
        if (same && t->nsyms && t->coef[0] == 1)
            continue;
        if (t->nsyms)
            fputc('*', out);
        if (same) {
            fprintf(out, "%" PRId64, t->coef[0]);
            continue;
        }
        fputc('{', out);
        for (int r = 0; r < p->tp; r++)
            fprintf(out, "%s%" PRId64, r ? "," : "", t->coef[r]);
        fputc('}', out);
    }
}

static void ref_dump(FILE *out, const Program *p, Ref r)
{
    switch (r.kind) {
    case REF_NONE: fputs("none", out); return;
    case REF_BUFFER: fputs(p->buffers.items[r.index].name, out); break;
    case REF_INPUT: fprintf(out, "input %s", p->inputs[r.index]); break;
    case REF_WEIGHT:
        fprintf(out, "%s%s", p->fields.items[r.index].group ? "l." : "",
                p->fields.items[r.index].name);
        break;
    case REF_CACHE:
        fprintf(out, "state %s%s", p->generation->state.items[r.index].name,
                p->generation->state.items[r.index].group ? "[l]" : "");
        break;
    }
    if (r.offset && r.offset->nterms) {
        fputs("+[", out);
        size_dump(out, p, r.offset);
        fputc(']', out);
    }
    if (r.ids)
        fputs(":i32", out);
}

/* " = x", " n=batch*seq": a label, then a pointer or a size. */
static void put_ref(FILE *out, const Program *p, const char *label, Ref r)
{
    fputs(label, out);
    ref_dump(out, p, r);
}

static void put_size(FILE *out, const Program *p, const char *label, const Size *s)
{
    fputs(label, out);
    size_dump(out, p, s);
}

static void steps_dump(FILE *out, const Program *p, const Step *s, int depth);

static void step_dump(FILE *out, const Program *p, const Step *s, int depth)
{
    static const char *const names[] = {
        [STEP_KERNEL] = "kernel", [STEP_GEMM] = "gemm", [STEP_ATTENTION] = "attention",
        [STEP_ROPE_TABLE] = "rope_table", [STEP_ALL_REDUCE] = "all_reduce",
        [STEP_ALL_GATHER] = "all_gather", [STEP_GATHER_ROOT] = "gather_to_root",
        [STEP_REDUCE_SCATTER] = "reduce_scatter", [STEP_COPY] = "copy", [STEP_LOOP] = "loop",
        [STEP_CHECK_IDS] = "check_ids", [STEP_NOTE] = "note",
        [STEP_CACHE_APPEND] = "cache_append"};
    fprintf(out, "%*s%s%s", 2 * depth, "", s->rank0 ? "rank0 " : "", names[s->kind]);
    switch (s->kind) {
    case STEP_KERNEL:
        fprintf(out, " %s(", p->kernels.items[s->kernel]->name);
        for (int i = 0; i < s->nargs; i++) {
            const Arg *a = &s->args[i];
            if (i)
                fputs(", ", out);
            if (a->kind == ARG_REF)
                ref_dump(out, p, a->ref);
            else if (a->kind == ARG_SIZE)
                size_dump(out, p, a->size);
            else if (a->kind == ARG_FLOAT)
                fprintf(out, "%g", a->f);
            else
                fprintf(out, "%" PRId64, a->i);
        }
        fputc(')', out);
        break;
    case STEP_GEMM:
        put_ref(out, p, " ", s->y);
        put_ref(out, p, " = ", s->x);
        put_ref(out, p, " @ ", s->w);
        put_size(out, p, s->in_out ? " m=" : "^T m=", s->m);
        put_size(out, p, " n=", s->n);
        put_size(out, p, " k=", s->k);
        fprintf(out, " beta=%s", s->beta == BETA_ZERO ? "0" : s->beta == BETA_ONE ? "1" : "rank0");
        break;
    case STEP_ATTENTION:
        put_ref(out, p, " ", s->out);
        put_ref(out, p, " = q ", s->q);
        put_ref(out, p, ", k ", s->key);
        put_ref(out, p, ", v ", s->value);
        put_size(out, p, " heads=", s->heads);
        put_size(out, p, " kv_heads=", s->kv_heads);
        put_size(out, p, " first_head=", s->first_head);
        fprintf(out, " head_dim=%" PRId64 " causal=%d", s->head_dim, s->causal);
        put_size(out, p, " past=", s->past);
        put_size(out, p, " kv_rows=", s->kv_rows);
        break;
    case STEP_CACHE_APPEND:
        put_ref(out, p, " ", s->out);
        put_ref(out, p, " <- ", s->in);
        put_size(out, p, " cols=", s->count);
        put_size(out, p, " at=", s->past);
        break;
    case STEP_ROPE_TABLE:
        put_ref(out, p, " ", s->table);
        put_size(out, p, " from=", s->past);
        fprintf(out, " rotary=%" PRId64 " theta=%g", s->rotary, s->theta);
        break;
    case STEP_CHECK_IDS:
        put_ref(out, p, " ", s->in);
        fprintf(out, " < %" PRId64, s->limit);
        break;
    case STEP_ALL_REDUCE:
    case STEP_COPY:
        put_ref(out, p, " ", s->out);
        put_ref(out, p, " <- ", s->in);
        put_size(out, p, " count=", s->count);
        break;
    case STEP_ALL_GATHER:
    case STEP_GATHER_ROOT:
    case STEP_REDUCE_SCATTER:
        put_ref(out, p, " ", s->out);
        put_ref(out, p, " <- ", s->in);
        put_size(out, p, " rows=", s->rows);
        fprintf(out, " split=%s", p->splits.items[s->split].name);
        break;
    case STEP_LOOP: fprintf(out, " %s[%" PRId64 "]", s->group->name, s->group->count); break;
    case STEP_NOTE: fprintf(out, " %s", s->note); break;
    }
    fputc('\n', out);
    if (s->otherwise) {
        fprintf(out, "%*selse\n", 2 * depth, "");
        step_dump(out, p, s->otherwise, depth + 1);
    }
    if (s->kind == STEP_LOOP) {
        steps_dump(out, p, s->body, depth + 1);
        steps_dump(out, p, s->carry, depth + 1);
    }
}

static void steps_dump(FILE *out, const Program *p, const Step *s, int depth)
{
    for (; s; s = s->next) {
        if (s->first && s->op) {
            int line, col;
            loc_line_col(s->op->loc, &line, &col);
            fprintf(out, "%*s# %s, line %d\n", 2 * depth, "", op_info[s->op->kind].name, line);
        }
        step_dump(out, p, s, depth);
    }
}

void program_dump(FILE *out, const Program *p)
{
    fprintf(out, "program %s -tp %d\n", p->g->name, p->tp);
    for (int i = 0; i < p->buffers.len; i++) {
        const Buffer *b = &p->buffers.items[i];
        fprintf(out, "buffer %s: max(", b->name);
        for (int t = 0; t < b->nterms; t++) {
            if (t)
                fputs(", ", out);
            size_dump(out, p, b->terms[t]);
        }
        fputs(")\n", out);
    }
    for (int i = 0; i < p->fields.len; i++) {
        const WeightField *f = &p->fields.items[i];
        fprintf(out, "weight %s%s: ", f->group ? "l." : "", f->name);
        size_dump(out, p, f->elements);
        fputc('\n', out);
        for (int k = 0; k < f->nreads; k++) {
            const WeightRead *rd = &f->reads[k];
            fputs("  read ", out);
            ir_print_string(out, rd->tensor->checkpoint);
            if (rd->range_dim >= 0) {
                const RangeTable *t = &p->ranges.items[rd->ranges];
                fprintf(out, " dim %d ranges", rd->range_dim);
                for (int r = 0; r < p->tp; r++) {
                    fputs(r ? " |" : "", out);
                    for (int n = 0; n < t->nranges; n++) {
                        Range range = t->ranges[r * t->nranges + n];
                        fprintf(out, " %" PRId64 ":%" PRId64, range.start, range.end);
                    }
                }
            }
            fputs(" at ", out);
            size_dump(out, p, rd->offset);
            fputs(" strides ", out);
            size_dump(out, p, rd->strides[0]);
            if (rd->strides[1]) {
                fputs(",", out);
                size_dump(out, p, rd->strides[1]);
            }
            fputc('\n', out);
        }
    }
    for (int i = 0; i < p->kernels.len; i++)
        fprintf(out, "kernel %s: %s\n", p->kernels.items[i]->name,
                p->kernels.items[i]->comment ? p->kernels.items[i]->comment : "");
    fputs("forward\n", out);
    steps_dump(out, p, p->forward, 1);
    const Generation *gen = p->generation;
    if (!gen) {
        fprintf(out, "no generation: %s\n", p->no_generation);
        return;
    }
    for (int i = 0; i < gen->state.len; i++) {
        const StateField *f = &gen->state.items[i];
        fprintf(out, "state %s%s: ", f->name, f->group ? "[l]" : "");
        size_dump(out, p, f->elements);
        fputc('\n', out);
    }
    fputs("generation step", out);
    put_ref(out, p, ", logits ", gen->logits);
    put_size(out, p, " vocab from ", gen->vocab_first);
    put_size(out, p, ", ", gen->vocab_held);
    fprintf(out, " of %" PRId64 "\n", gen->vocab);
    steps_dump(out, p, gen->step, 1);
}
