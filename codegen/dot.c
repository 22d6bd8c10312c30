/* dot.c — the sharded graph for Graphviz (--emit dot): one node per op, coloured by the layout
 * of what it produces (R blue, S green, P orange), collectives as red octagons, weights as notes
 * with the slice `rank` holds, a weights group's loop as a cluster. `dot -Tpng` draws it.
 */
#include "codegen.h"

#include <inttypes.h>

static const char *fill(const Layout *l)
{
    switch (l->kind) {
    case LAYOUT_S: return "#d9ead3";
    case LAYOUT_P: return "#fce5cd";
    default:       return "#dae8fc";
    }
}

/* A node id for a value: its op's, the loop's parameter's, the input's or the weight's. */
static void node_id(FILE *out, const Value *v)
{
    switch (v->kind) {
    case VAL_RESULT: fprintf(out, "op%p", (const void *)v->def); break;
    case VAL_PARAM:  fprintf(out, "param%p", (const void *)v); break;
    case VAL_INPUT:  fprintf(out, "input%p", (const void *)v); break;
    case VAL_WEIGHT: fprintf(out, "weight%p", (const void *)v->weight); break;
    case VAL_CONST:  fprintf(out, "const%p", (const void *)v); break;
    }
}

static void shape_label(FILE *out, const Graph *g, const Value *v)
{
    fprintf(out, "%s[", dtype_name(v->dtype));
    for (int i = 0; i < v->shape.rank; i++) {
        Dim d = v->shape.dims[i];
        if (d.sym >= 0)
            fprintf(out, "%s%s", i ? "," : "", g->symbols.items[d.sym]);
        else
            fprintf(out, "%s%" PRId64, i ? "," : "", d.size);
    }
    char layout[16];
    fprintf(out, "] %s", layout_str(&v->layout, layout, sizeof layout));
}

static void weight_node(FILE *out, const Graph *g, const Weight *w, int rank)
{
    char layout[16], ranges[256];
    fprintf(out, "  weight%p [shape=note, fontsize=9, fillcolor=\"%s\", label=\"@%s%s%s\\n%s",
            (const void *)w, fill(&w->layout), w->group ? w->group->name : "",
            w->group ? "." : "", w->name, layout_str(&w->layout, layout, sizeof layout));
    if (w->layout.kind == LAYOUT_S && g->tp > 1)
        fprintf(out, " dim %d: %s on rank %d", w->layout.dim,
                layout_ranges_str(&w->layout, rank, ranges, sizeof ranges), rank);
    fprintf(out, "\"];\n");
}

static void op_node(FILE *out, const Graph *g, const Op *op)
{
    bool collective = op_info[op->kind].flags & OPF_COLLECTIVE;
    const Value *r = op->nresults ? op->results[0] : NULL;
    fprintf(out, "  op%p [shape=%s, fillcolor=\"%s\", label=\"", (const void *)op,
            collective ? "octagon" : op->kind == OP_RETURN ? "house" : "box",
            collective ? "#f4cccc" : r ? fill(&r->layout) : "#eeeeee");
    fprintf(out, "%s%s", op_info[op->kind].name, op->attrs.to_root ? " to rank 0" : "");
    if (r) {
        fprintf(out, "\\n");
        shape_label(out, g, r);
    }
    fprintf(out, "\"];\n");
}

static void edges(FILE *out, const Op *op)
{
    for (int i = 0; i < op->nargs; i++) {
        const Value *v = op->args[i];
        if (v->kind == VAL_CONST)
            continue;
        fprintf(out, "  ");
        node_id(out, v);
        fprintf(out, " -> op%p", (const void *)op);
        if (v->name && v->kind != VAL_WEIGHT)
            fprintf(out, " [label=\"%s\", fontsize=8]", v->name);
        fprintf(out, ";\n");
    }
}

static void emit_block(FILE *out, const Graph *g, const Block *b)
{
    for (const Op *op = b->first; op; op = op->next) {
        if (op->kind == OP_FOR) {
            fprintf(out, "  subgraph cluster_%p {\n  label=\"for %s x %" PRId64 "\";\n"
                         "  style=rounded; color=\"#888888\";\n",
                    (const void *)op, op->group->name, op->group->count);
            for (int i = 0; i < op->body->nparams; i++) {
                const Value *p = op->body->params[i];
                fprintf(out, "  param%p [shape=ellipse, fillcolor=\"%s\", label=\"%s\\n",
                        (const void *)p, fill(&p->layout), p->name ? p->name : "carried");
                shape_label(out, g, p);
                fprintf(out, "\"];\n  op%p -> param%p [style=dashed];\n", (const void *)op,
                        (const void *)p);
            }
            emit_block(out, g, op->body);
            fprintf(out, "  }\n");
        }
        op_node(out, g, op);
        edges(out, op);
    }
}

void emit_dot(FILE *out, Graph *g, int rank)
{
    fprintf(out, "digraph \"%s\" {\n  label=\"%s, -tp %d (weight slices of rank %d)\";\n"
                 "  labelloc=t; rankdir=TB;\n"
                 "  node [fontname=\"Helvetica\", fontsize=10, style=filled];\n"
                 "  edge [fontname=\"Helvetica\", color=\"#555555\"];\n",
            g->name, g->name, g->tp, rank);
    fprintf(out, "  subgraph cluster_legend {\n  label=\"layouts\"; fontsize=9;\n"
                 "  legend_r [label=\"R replicated\", fillcolor=\"#dae8fc\"];\n"
                 "  legend_s [label=\"S split\", fillcolor=\"#d9ead3\"];\n"
                 "  legend_p [label=\"P partial sums\", fillcolor=\"#fce5cd\"];\n"
                 "  legend_c [label=\"collective\", shape=octagon, fillcolor=\"#f4cccc\"];\n"
                 "  }\n");
    for (int i = 0; i < g->inputs.len; i++) {
        const Value *v = g->inputs.items[i];
        fprintf(out, "  input%p [shape=invhouse, fillcolor=\"%s\", label=\"%s\\n", (const void *)v,
                fill(&v->layout), v->name);
        shape_label(out, g, v);
        fprintf(out, "\"];\n");
    }
    for (int i = 0; i < g->weights.len; i++)
        if (g->weights.items[i]->used)
            weight_node(out, g, g->weights.items[i], rank);
    emit_block(out, g, g->top);
    fprintf(out, "}\n");
}
