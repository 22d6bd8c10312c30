/* print.c — the IR as text: one op a line, stable for FileCheck (docs/cli.md, "The IR as
 * printed").
 *
 *   %h = rmsnorm %x, @layer.attn_norm, eps=1e-05           : f32[batch,seq,4096] R
 *   %gate = linear %h, @layer.gate                         : f32[batch,seq,11008] S(2) ; rank 1 holds 3670:7339
 *
 * Values print as %name when the source named them (a suffix .1, .2 tells rebindings apart) and
 * %N otherwise; weights as @name or @group.name; scalars and float attributes as the shortest
 * decimal that reads back as the same double; checkpoint names as .tpl strings (\" and \\
 * escaped). After the sharding pass, every value shows its layout and every split value the
 * range `rank` holds.
 */
#include "ir.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

enum { TYPE_COLUMN = 60 };

typedef struct Printer {
    FILE *out;
    Graph *g;
    int rank;
    StrMap seen; /* name -> how many values used it so far (as a pointer-sized count) */
    Vec(const char *) names; /* by Value.id; grows by doubling, so naming stays linear */
} Printer;

static void name_value(Printer *p, Value *v)
{
    v->id = p->names.len;
    vec_push(p->g->arena, &p->names, NULL);
    if (!v->name) {
        p->names.items[v->id] = arena_printf(p->g->arena, "%%%d", v->id);
        return;
    }
    intptr_t n = (intptr_t)strmap_get(&p->seen, v->name);
    strmap_put(&p->seen, v->name, (void *)(n + 1));
    p->names.items[v->id] = n ? arena_printf(p->g->arena, "%%%s.%" PRIdPTR, v->name, n)
                              : arena_printf(p->g->arena, "%%%s", v->name);
}

static void name_block(Printer *p, Block *b)
{
    for (int i = 0; i < b->nparams; i++)
        name_value(p, b->params[i]);
    for (Op *op = b->first; op; op = op->next) {
        if (op->body)
            name_block(p, op->body);
        for (int i = 0; i < op->nresults; i++)
            name_value(p, op->results[i]);
    }
}

const char *double_str(double x, char *buf, size_t size)
{
    for (int digits = 15; digits < 17; digits++) {
        snprintf(buf, size, "%.*g", digits, x);
        if (strtod(buf, NULL) == x)
            return buf;
    }
    snprintf(buf, size, "%.17g", x);
    return buf;
}

static int print_double(FILE *out, const char *before, double x)
{
    char buf[32];
    return fprintf(out, "%s%s", before, double_str(x, buf, sizeof buf));
}

/* A checkpoint name as a .tpl string: in quotes, with '"' and '\' escaped, and control bytes
 * shown as \xNN (they would act on the terminal; a .tpl string cannot spell them). */
int ir_print_string(FILE *out, const char *s)
{
    int n = fprintf(out, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f)
            n += fprintf(out, "\\x%02x", c);
        else
            n += fprintf(out, c == '"' || c == '\\' ? "\\%c" : "%c", c);
    }
    return n + fprintf(out, "\"");
}

static const char *weight_ref(Printer *p, const Weight *w)
{
    return w->group ? arena_printf(p->g->arena, "@%s.%s", w->group->name, w->name)
                    : arena_printf(p->g->arena, "@%s", w->name);
}

static const char *value_ref(Printer *p, const Value *v)
{
    switch (v->kind) {
    case VAL_WEIGHT: return weight_ref(p, v->weight);
    case VAL_CONST:  return arena_strdup(p->g->arena, double_str(v->constant, (char[32]){0}, 32));
    default:         return v->id >= 0 && v->id < p->names.len ? p->names.items[v->id] : "%?";
    }
}

/* "f32[batch,seq,4096]": compact, unlike messages' "[batch, seq, 4096]". */
static int print_shape(Printer *p, DType dtype, const Shape *s)
{
    int n = fprintf(p->out, "%s[", dtype_name(dtype));
    for (int i = 0; i < s->rank; i++) {
        Dim d = s->dims[i];
        if (d.sym >= 0)
            n += fprintf(p->out, "%s%s", i ? "," : "", p->g->symbols.items[d.sym]);
        else
            n += fprintf(p->out, "%s%" PRId64, i ? "," : "", d.size);
    }
    return n + fprintf(p->out, "]");
}

/* "f32[batch,seq,4096] S(2)" */
static int print_type(Printer *p, const Value *v)
{
    char layout[32];
    int n = print_shape(p, v->dtype, &v->shape);
    if (v->layout.kind != LAYOUT_NONE && p->g->tp > 1)
        n += fprintf(p->out, " %s", layout_str(&v->layout, layout, sizeof layout));
    return n;
}

static void print_rank_range(Printer *p, const Value *v)
{
    if (v->layout.kind != LAYOUT_S || p->g->tp < 2)
        return;
    char ranges[512];
    fprintf(p->out, " ; rank %d holds %s", p->rank,
            layout_ranges_str(&v->layout, p->rank, ranges, sizeof ranges));
}

static int print_attrs(Printer *p, const Op *op)
{
    const Attrs *a = &op->attrs;
    FILE *o = p->out;
    int n = 0;
    switch (op->kind) {
    case OP_RMSNORM:
    case OP_LAYERNORM: n += print_double(o, ", eps=", a->eps); break;
    case OP_ROPE:
        n += fprintf(o, ", heads=%" PRId64, a->heads);
        n += print_double(o, ", theta=", a->theta);
        if (a->rope_style == ROPE_GPTJ)
            n += fprintf(o, ", style=gptj");
        if (a->rotary_dim)
            n += fprintf(o, ", rotary_dim=%" PRId64, a->rotary_dim);
        break;
    case OP_ATTENTION:
        n += fprintf(o, ", heads=%" PRId64 ", kv_heads=%" PRId64 ", causal=%s", a->heads,
                     a->kv_heads, a->causal ? "true" : "false");
        if (a->has_scale)
            n += print_double(o, ", scale=", a->scale);
        break;
    case OP_SPLIT:
        for (int i = 0; i < a->nsizes; i++)
            n += fprintf(o, ", %" PRId64, a->sizes[i]);
        break;
    case OP_MEAN:
    case OP_SUM: n += fprintf(o, ", dim=%d", a->dim); break;
    default: break;
    }
    if (a->to_root)
        n += fprintf(o, ", root=0");
    if (a->inlined)
        n += fprintf(o, ", inlined");
    static const char *const hints[] = {"", " @col", " @row", " @replicated"};
    n += fprintf(o, "%s", hints[a->hint]);
    return n;
}

static void print_block(Printer *p, const Block *b, int depth);

static void print_op(Printer *p, const Op *op, int depth)
{
    FILE *o = p->out;
    int n = fprintf(o, "%*s", 2 * depth, "");
    for (int i = 0; i < op->nresults; i++)
        n += fprintf(o, "%s%s", i ? ", " : "", p->names.items[op->results[i]->id]);
    if (op->nresults)
        n += fprintf(o, " = ");
    n += fprintf(o, "%s", op_info[op->kind].name);
    if (op->kind == OP_FOR) {
        n += fprintf(o, " @%s[%" PRId64 "]", op->group->name, op->group->count);
        for (int i = 0; i < op->body->nparams; i++)
            n += fprintf(o, "%s%s = %s", i ? ", " : " iter(",
                         p->names.items[op->body->params[i]->id], value_ref(p, op->args[i]));
        n += fprintf(o, "%s {\n", op->body->nparams ? ")" : "");
        print_block(p, op->body, depth + 1);
        n = fprintf(o, "%*s}", 2 * depth, "");
    } else {
        for (int i = 0; i < op->nargs; i++)
            n += fprintf(o, "%s%s", i ? ", " : " ", value_ref(p, op->args[i]));
        n += print_attrs(p, op);
    }
    if (op->nresults) {
        fprintf(o, "%*s: ", n < TYPE_COLUMN ? TYPE_COLUMN - n : 1, "");
        for (int i = 0; i < op->nresults; i++) {
            if (i)
                fprintf(o, ", ");
            print_type(p, op->results[i]);
        }
        if (op->nresults == 1)
            print_rank_range(p, op->results[0]);
        for (int i = 0; i < op->nresults && op->results[i]->slot >= 0; i++)
            fprintf(o, "%s%d", i ? ", " : " ; buffer ", op->results[i]->slot);
    }
    fputc('\n', o);
}

static void print_block(Printer *p, const Block *b, int depth)
{
    for (const Op *op = b->first; op; op = op->next)
        print_op(p, op, depth);
}

/* "[1024:2048, 0:4096]": per dimension, what `rank` holds of a weight split along `l->dim`;
 * `segment` picks one piece of a segmented layout (-1: all of them, "0:1024 | 0:256"). */
static void print_slice(Printer *p, const Shape *shape, const Layout *l, int segment)
{
    if (l->kind != LAYOUT_S || p->g->tp < 2)
        return;
    fprintf(p->out, " ; rank %d holds [", p->rank);
    for (int d = 0; d < shape->rank; d++) {
        char ranges[512];
        if (d != l->dim) {
            fprintf(p->out, "%s0:%" PRId64, d ? ", " : "", shape->dims[d].size);
        } else if (segment < 0) {
            fprintf(p->out, "%s%s", d ? ", " : "",
                    layout_ranges_str(l, p->rank, ranges, sizeof ranges));
        } else {
            Range r = l->seg[segment].ranks[p->rank];
            fprintf(p->out, "%s%" PRId64 ":%" PRId64, d ? ", " : "", r.start, r.end);
        }
    }
    fprintf(p->out, "]");
}

/* "@layer.wq : f32[4096,4096] S(0) = "model.layers.{i}.self_attn.q_proj.weight" ; rank 1 holds
 * [1024:2048, 0:4096]"; a fused weight, then each of its parts with the slice it gives. */
static void print_weight(Printer *p, const Weight *w, int depth)
{
    char layout[32];
    int n = fprintf(p->out, "%*s%s", 2 * depth, "", weight_ref(p, w));
    n += fprintf(p->out, "%*s : ", n < 24 ? 24 - n : 0, "");
    n += print_shape(p, DT_F32, &w->shape);
    if (w->layout.kind != LAYOUT_NONE && p->g->tp > 1)
        n += fprintf(p->out, " %s", layout_str(&w->layout, layout, sizeof layout));
    fprintf(p->out, "%*s = ", n < 48 ? 48 - n : 0, "");
    if (w->nparts)
        fprintf(p->out, "fused from %d tensors", w->nparts);
    else
        ir_print_string(p->out, w->checkpoint);
    if (w->nsegments && !w->nparts) {
        for (int i = 0; i < w->nsegments; i++)
            fprintf(p->out, "%s%" PRId64, i ? " | " : ", pieces ", w->segments[i]);
    }
    if (w->stored_in_out)
        fprintf(p->out, ", stored [in, out]");
    print_slice(p, &w->shape, &w->layout, -1);
    fputc('\n', p->out);
    for (int i = 0; i < w->nparts; i++) {
        const Weight *part = w->parts[i];
        n = fprintf(p->out, "%*s%s", 2 * depth + 2, "", weight_ref(p, part));
        n += fprintf(p->out, "%*s : ", n < 24 ? 24 - n : 0, "");
        n += print_shape(p, DT_F32, &part->shape);
        fprintf(p->out, "%*s = ", n < 48 ? 48 - n : 0, "");
        ir_print_string(p->out, part->checkpoint);
        if (w->layout.kind == LAYOUT_S && w->layout.dim == w->segment_dim) {
            Layout piece = w->layout;
            print_slice(p, &part->shape, &piece, i);
        } else {
            print_slice(p, &part->shape, &w->layout, -1);
        }
        fputc('\n', p->out);
    }
}

static void print_weights(Printer *p)
{
    Graph *g = p->g;
    fprintf(p->out, "weights {\n");
    const Group *open = NULL;
    for (int i = 0; i < g->weights.len; i++) {
        const Weight *w = g->weights.items[i];
        if (!w->used)
            continue;
        if (w->group != open) {
            if (open)
                fprintf(p->out, "  }\n");
            if (w->group)
                fprintf(p->out, "  %s[%" PRId64 "] {\n", w->group->name, w->group->count);
            open = w->group;
        }
        print_weight(p, w, open ? 2 : 1);
    }
    if (open)
        fprintf(p->out, "  }\n");
    fprintf(p->out, "}\n");
}

void ir_print(FILE *out, Graph *g, int rank)
{
    Printer p = {.out = out, .g = g, .rank = rank};
    strmap_init(&p.seen, g->arena);
    for (int i = 0; i < g->inputs.len; i++)
        name_value(&p, g->inputs.items[i]);
    name_block(&p, g->top);

    fprintf(out, "model %s", g->name);
    if (g->tp > 1)
        fprintf(out, " ; -tp %d, ranges of rank %d", g->tp, rank);
    fprintf(out, "\n");
    print_weights(&p);
    fprintf(out, "forward(");
    for (int i = 0; i < g->inputs.len; i++) {
        fprintf(out, "%s%s: ", i ? ", " : "", p.names.items[g->inputs.items[i]->id]);
        print_type(&p, g->inputs.items[i]);
    }
    fprintf(out, ") -> (");
    for (int i = 0; i < g->output_names.len; i++)
        fprintf(out, "%s%s", i ? ", " : "", g->output_names.items[i]);
    fprintf(out, ") {\n");
    print_block(&p, g->top, 1);
    fprintf(out, "}\n");
}
