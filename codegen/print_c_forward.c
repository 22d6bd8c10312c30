/* print_c_forward.c — forward's steps as C: each IR statement as a comment (with its keyword
 * arguments, shape and layout) above the one call a step is; a weights group's loop as a for
 * over its blocks; steps on rank 0 alone under `if (rank == 0)`, with what the other ranks do
 * instead under else. forward declares only the locals its steps read.
 */
#include "print_c.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- comments ------------------------------------------------------------------------------ */

static void comment_arg(Printer *pr, FILE *out, const Value *v)
{
    if (v->kind == VAL_RESULT && v->def->attrs.inlined) {
        const Op *op = v->def;
        fprintf(out, "%s(", op_info[op->kind].name);
        for (int i = 0; i < op->nargs; i++) {
            if (i)
                fputs(", ", out);
            comment_arg(pr, out, op->args[i]);
        }
        fputc(')', out);
    } else if (v->kind == VAL_WEIGHT) {
        fprintf(out, "%s%s", v->weight->group ? "l." : "", v->weight->name);
    } else if (v->kind == VAL_CONST) {
        fprintf(out, "%g", v->constant);
    } else {
        fputs(value_name(v), out);
    }
}

/* The keyword arguments of a statement, as the model wrote them: ", eps=1e-05". */
static void comment_attrs(FILE *out, const Op *op)
{
    const Attrs *at = &op->attrs;
    switch (op->kind) {
    case OP_RMSNORM:
    case OP_LAYERNORM: fprintf(out, ", eps=%g", at->eps); break;
    case OP_ROPE:
        fprintf(out, ", heads=%" PRId64 ", theta=%g", at->heads, at->theta);
        if (at->rotary_dim)
            fprintf(out, ", rotary_dim=%" PRId64, at->rotary_dim);
        if (at->rope_style == ROPE_GPTJ)
            fputs(", style=gptj", out);
        break;
    case OP_ATTENTION:
        fprintf(out, ", heads=%" PRId64 ", kv_heads=%" PRId64, at->heads, at->kv_heads);
        if (at->has_scale)
            fprintf(out, ", scale=%g", at->scale);
        fprintf(out, ", causal=%s", at->causal ? "true" : "false");
        break;
    case OP_MEAN:
    case OP_SUM: fprintf(out, ", dim=%d", at->dim); break;
    default: break;
    }
}

/* "// h = rmsnorm(x, l.attn_norm, eps=1e-05)    [batch, seq, 4096] R": the statement, its
 * shape and layout, from the IR. */
static void comment(Printer *pr, int depth, const Op *op)
{
    char shape[256] = "", layout[16] = "", *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    if (!out)
        internal_error("open_memstream: %s", strerror(errno));
    for (int i = 0; i < op->nresults; i++)
        fprintf(out, "%s%s", i ? ", " : "", value_name(op->results[i]));
    fprintf(out, "%s%s(", op->nresults ? " = " : "", op_info[op->kind].name);
    for (int i = 0; i < op->nargs; i++) {
        if (i)
            fputs(", ", out);
        comment_arg(pr, out, op->args[i]);
    }
    comment_attrs(out, op);
    fputc(')', out);
    const Value *r = op->nresults ? op->results[0] : NULL;
    if (r) {
        shape_str(pr->p->g, &r->shape, shape, sizeof shape);
        fprintf(out, "    %s %s", shape, layout_str(&r->layout, layout, sizeof layout));
        if (r->layout.kind == LAYOUT_S && pr->tp > 1) {
            char ranges[256];
            fprintf(out, " (rank 0: %s)", layout_ranges_str(&r->layout, 0, ranges, sizeof ranges));
        }
    }
    fclose(out);
    fprintf(pr->out, "\n%*s// %s\n", 4 * depth, "", c_comment(pr->a, text));
    free(text);
}

/* ---- steps --------------------------------------------------------------------------------- */

static void line(Printer *pr, int depth, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void line(Printer *pr, int depth, const char *fmt, ...)
{
    fprintf(pr->out, "%*s", 4 * depth, "");
    va_list ap;
    va_start(ap, fmt);
    vfprintf(pr->out, fmt, ap);
    va_end(ap);
    fputc('\n', pr->out);
}

static void print_steps(Printer *pr, const Step *s, int depth);

static const char *beta_c(Beta beta)
{
    return beta == BETA_ZERO ? "0.0f" : beta == BETA_ONE ? "1.0f" : "rank == 0 ? 1.0f : 0.0f";
}

/* One step as one statement (a call); a LOOP as a for over the group's blocks. */
static void print_statement(Printer *pr, const Step *s, int depth)
{
    Program *p = pr->p;
    switch (s->kind) {
    case STEP_KERNEL: {
        const char *call = arena_printf(pr->a, "%s(", p->kernels.items[s->kernel]->name);
        for (int i = 0; i < s->nargs; i++)
            call = arena_printf(pr->a, "%s%s%s", call, i ? ", " : "", arg_c(pr, &s->args[i]));
        line(pr, depth, "%s);", call);
        return;
    }
    case STEP_GEMM:
        if (s->beta == BETA_RANK0) {
            pr->used_rank = true;
            line(pr, depth, "// the replicated term is rank 0's alone: the others start from 0");
        }
        line(pr, depth, "%s(%s, %s, %s, %s, %s, %s, %s, %s, %s);",
             s->bf16 ? (pr->cuda ? "linear_rows_bf16" : "tpcrt_linear_bf16")
             : s->in_out ? "matmul_rows" : "linear_rows",
             ref_c(pr, s->y), size_c(pr, s->ld_y),
             ref_c(pr, s->x), size_c(pr, s->ld_x), ref_c(pr, s->w), size_c(pr, s->m),
             size_c(pr, s->n), size_c(pr, s->k), beta_c(s->beta));
        return;
    case STEP_ATTENTION:
        line(pr, depth, "attention(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s,", ref_c(pr, s->out),
             size_c(pr, s->ld_out), ref_c(pr, s->q), size_c(pr, s->ld_q), ref_c(pr, s->key),
             size_c(pr, s->ld_k), ref_c(pr, s->value), size_c(pr, s->ld_v), ref_c(pr, s->mask),
             ref_c(pr, s->scores));
        line(pr, depth + 2, "%s, %s, %s, %s, %s, %s, %" PRId64 ",", size_c(pr, s->batch),
             size_c(pr, s->seq), size_c(pr, s->past), size_c(pr, s->kv_rows),
             size_c(pr, s->heads), size_c(pr, s->kv_heads), s->head_dim);
        line(pr, depth + 2, "%s, %" PRId64 ", %s, %s, %d);", size_c(pr, s->first_head),
             s->kv_group, size_c(pr, s->first_kv), c_float(pr->a, s->scale), s->causal);
        return;
    case STEP_ROPE_TABLE: {
        const char *theta = c_double(pr->a, s->theta);
        fprintf(pr->out, "\n%*s// RoPE's cos and sin at theta %s, for the positions of this %s\n",
                4 * depth, "", theta, pr->p->generation && s->past->nterms ? "step" : "forward");
        line(pr, depth, "%s(%s, %s, %s, %" PRId64 ", %s);",
             p->kernels.items[s->table_kernel]->name, ref_c(pr, s->table), size_c(pr, s->past),
             size_c(pr, s->seq), s->rotary, theta);
        return;
    }
    case STEP_CACHE_APPEND:
        line(pr, depth, "kv_append(%s, %s, %s, %s, %s, %s, %s, %s);", ref_c(pr, s->out),
             ref_c(pr, s->in), size_c(pr, s->ld_k), size_c(pr, s->batch), size_c(pr, s->seq),
             size_c(pr, s->count), size_c(pr, s->past), size_c(pr, s->kv_rows));
        return;
    case STEP_CHECK_IDS:
        if (pr->cuda && !pr->on_host) {
            line(pr, depth, "// %s: checked on the host before it was copied (check_inputs)",
                 ref_c(pr, s->in));
            return;
        }
        line(pr, depth, "tpcrt_check_ids(%s, %s, %" PRId64 ", %s, %s);", ref_c(pr, s->in),
             size_c(pr, s->count), s->limit, c_string(pr->a, s->names[0]),
             c_string(pr->a, s->names[1]));
        return;
    case STEP_ALL_REDUCE:
        line(pr, depth, "tpcrt_%sall_reduce_sum(%s, %s);", pr->cuda ? "cuda_" : "",
             ref_c(pr, s->out), size_c(pr, s->count));
        return;
    case STEP_ALL_GATHER:
    case STEP_GATHER_ROOT:
    case STEP_REDUCE_SCATTER:
        line(pr, depth, "tpcrt_%s%s(%s, %s, %s, &%s);", pr->cuda ? "cuda_" : "",
             s->kind == STEP_ALL_GATHER    ? "all_gather"
             : s->kind == STEP_GATHER_ROOT ? "gather_to_root"
                                           : "reduce_scatter",
             ref_c(pr, s->in), ref_c(pr, s->out), size_c(pr, s->rows),
             p->splits.items[s->split].name);
        return;
    case STEP_COPY:
        if (s->note) {
            fputc('\n', pr->out);
            line(pr, depth, "// %s", c_comment(pr->a, s->note));
        }
        if (pr->cuda)
            line(pr, depth, "tpcrt_cuda_copy(%s, %s, %s);", ref_c(pr, s->out), ref_c(pr, s->in),
                 size_c(pr, s->count));
        else
            line(pr, depth, "memcpy(%s, %s, sizeof(float) * (%s));", ref_c(pr, s->out),
                 ref_c(pr, s->in), size_c(pr, s->count));
        return;
    case STEP_NOTE: line(pr, depth, "// %s", c_comment(pr->a, s->note)); return;
    case STEP_LOOP:
        fputc('\n', pr->out);
        line(pr, depth, "for (int i = 0; i < %" PRId64 "; i++) {", s->group->count);
        line(pr, depth + 1, "const struct %s *l = &w->%s[i];", p->groups.items[s->group_index],
             c_identifier(pr->a, s->group->name));
        print_steps(pr, s->body, depth + 1);
        print_steps(pr, s->carry, depth + 1);
        line(pr, depth, "}");
        return;
    }
    unreachable();
}

/* Steps in order, each statement's comment above its first step; consecutive steps on rank 0
 * alone share one `if (rank == 0)`. */
static void print_steps(Printer *pr, const Step *s, int depth)
{
    while (s) {
        if (s->first && s->op)
            comment(pr, depth, s->op);
        if (!s->rank0) {
            print_statement(pr, s, depth);
            s = s->next;
            continue;
        }
        pr->used_rank = true;
        const Step *last = s;
        while (last->next && last->next->rank0 && !last->next->first && !last->otherwise)
            last = last->next;
        if (last == s) {
            line(pr, depth, "if (rank == 0) /* the replicated term, added once */");
            print_statement(pr, s, depth + 1);
        } else {
            line(pr, depth, "if (rank == 0) { /* the replicated terms, added once */");
            for (const Step *t = s; t != last->next; t = t->next)
                print_statement(pr, t, depth + 1);
            line(pr, depth, "}");
        }
        if (last->otherwise) {
            line(pr, depth, "else");
            print_statement(pr, last->otherwise, depth + 1);
        }
        s = last->next;
    }
}

/* ---- forward ------------------------------------------------------------------------------- */

static void mark_ref(const Ref *r, bool *buffers, bool *inputs, bool *symbols)
{
    if (r->kind == REF_BUFFER)
        buffers[r->index] = true;
    if (r->kind == REF_INPUT)
        inputs[r->index] = true;
    mark_symbols(r->offset, symbols);
}

/* What forward's steps read: buffers, inputs and symbols it declares as locals (no more). */
static void mark_steps(const Step *s, bool *buffers, bool *inputs, bool *symbols)
{
    for (; s; s = s->next) {
        const Ref *refs[] = {&s->y, &s->x, &s->w, &s->q, &s->key, &s->value, &s->mask, &s->out,
                             &s->scores, &s->table, &s->in};
        for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++)
            mark_ref(refs[i], buffers, inputs, symbols);
        for (int i = 0; i < s->nargs; i++) {
            mark_ref(&s->args[i].ref, buffers, inputs, symbols);
            mark_symbols(s->args[i].size, symbols);
        }
        const Size *sizes[] = {s->ld_y, s->ld_x, s->m, s->n, s->k, s->ld_q, s->ld_k, s->ld_v,
                               s->ld_out, s->batch, s->seq, s->heads, s->kv_heads, s->count,
                               s->rows, s->past, s->kv_rows};
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
            mark_symbols(sizes[i], symbols);
        if (s->otherwise)
            mark_steps(s->otherwise, buffers, inputs, symbols);
        mark_steps(s->body, buffers, inputs, symbols);
        mark_steps(s->carry, buffers, inputs, symbols);
    }
}

/* A function of the steps: `head` is its comment and signature up to the brace. It declares
 * the locals its steps read (rs, symbols, inputs, buffers) and no more. */
void print_function(Printer *pr, FILE *out, const Step *steps, const char *head)
{
    Program *p = pr->p;
    Graph *g = p->g;
    bool *buffers = arena_array(pr->a, (size_t)p->buffers.len + 1, sizeof *buffers);
    bool *inputs = arena_array(pr->a, (size_t)g->inputs.len + 1, sizeof *inputs);
    bool *symbols = arena_array(pr->a, (size_t)p->nsymbols + 1, sizeof *symbols);
    mark_steps(steps, buffers, inputs, symbols);
    char *text = NULL;
    size_t size = 0;
    pr->out = open_memstream(&text, &size);
    pr->used_rank_sizes = pr->used_rank = false;
    print_steps(pr, steps, 1);
    fclose(pr->out);
    fprintf(out, "%s\n{\n", head);
    print_locals(pr, out, symbols);
    for (int i = 0; i < g->inputs.len; i++)
        if (inputs[i])
            fprintf(out, "    const %s *%s = in[%d];\n",
                    g->inputs.items[i]->dtype == DT_I32 ? "int32_t" : "float", p->inputs[i], i);
    for (int b = 0; b < p->buffers.len; b++)
        if (buffers[b])
            fprintf(out, "    float *%s = buf[%d];\n", p->buffers.items[b].name, b);
    fputs(text, out);
    fprintf(out, "}\n\n");
    free(text);
}

void print_forward(Printer *pr, FILE *out)
{
    print_function(pr, out, pr->p->forward,
                   "/* One forward of this rank's part of the model. */\n"
                   "static void forward(const Weights *w, float *const *buf, void *const *in,\n"
                   "                    const int64_t *dims, int rank)");
}
