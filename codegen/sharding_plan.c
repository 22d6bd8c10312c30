/* sharding_plan.c — the sharding plan as JSON (--emit plan; README, "What tpc shows"): for
 * each rank the checkpoint tensors it reads and the slice of each, its weight bytes; the collectives of one
 * forward with their shapes and the bytes each rank sends per token; the bytes of the memory
 * plan's buffers for the estimate's workload; and the cost model's estimate. Group weights are listed once with "blocks": N ("{i}" in the name); a fused weight
 * is listed as the checkpoint tensors it is made of.
 */
#include "codegen.h"
#include "program.h"

#include <inttypes.h>
#include <string.h>

typedef struct Json {
    FILE *out;
    int depth;
} Json;

static void json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

static void json_shape(FILE *out, const Graph *g, const Shape *s)
{
    fputc('[', out);
    for (int i = 0; i < s->rank; i++) {
        if (i)
            fputs(", ", out);
        if (s->dims[i].sym >= 0)
            json_string(out, g->symbols.items[s->dims[i].sym]);
        else
            fprintf(out, "%" PRId64, s->dims[i].size);
    }
    fputc(']', out);
}

static const char *layout_name(const Layout *l, char *buf, size_t size)
{
    return layout_str(l, buf, size);
}

/* ---- collectives --------------------------------------------------------------------------- */

/* Elements per token of a shape: the product of its dimensions that are numbers. */
static int64_t token_elements(const Shape *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++)
        if (s->dims[i].sym < 0)
            n *= s->dims[i].size;
    return n;
}

/* Bytes each rank sends per token in collective `op` (layout_collective_bytes): [tp]. */
static double *collective_bytes_per_token(const Graph *g, const Op *op)
{
    const Value *split = op->kind == OP_REDUCE_SCATTER ? op->results[0] : op->args[0];
    const Layout *l = &split->layout;
    double *part = arena_array(g->arena, (size_t)g->tp, sizeof *part);
    double *bytes = arena_array(g->arena, (size_t)g->tp, sizeof *bytes);
    for (int r = 0; r < g->tp; r++) { /* a split dimension counts the rank's part of it */
        part[r] = 4.0 * (double)token_elements(&split->shape);
        if (l->kind == LAYOUT_S && split->shape.dims[l->dim].sym < 0)
            part[r] = part[r] / (double)split->shape.dims[l->dim].size *
                      (double)layout_local_size(l, r);
    }
    double full = 4.0 * (double)token_elements(&op->results[0]->shape);
    for (int r = 0; r < g->tp; r++)
        bytes[r] = layout_collective_bytes(op->kind, op->attrs.to_root, full, part, g->tp, g->tp, r);
    return bytes;
}

static const char *json_value_name(const Value *v)
{
    return v->name ? v->name : "";
}

static void emit_collective(FILE *out, Graph *g, const Op *op, bool first)
{
    char from[16];
    const Op *loop = op->block->parent;
    int line, col;
    loc_line_col(op->loc, &line, &col);
    fprintf(out, "%s\n    {\"op\": \"%s\", \"value\": ", first ? "" : ",", op_info[op->kind].name);
    json_string(out, json_value_name(op->args[0]));
    fprintf(out, ", \"shape\": ");
    json_shape(out, g, &op->results[0]->shape);
    fprintf(out, ", \"from\": \"%s\", \"to_root\": %s, \"per_forward\": %" PRId64,
            layout_name(&op->args[0]->layout, from, sizeof from),
            op->attrs.to_root ? "true" : "false", loop ? loop->group->count : 1);
    if (loop)
        fprintf(out, ", \"in_group\": \"%s\"", loop->group->name);
    fprintf(out, ", \"line\": %d, \"bytes_per_token\": [", line);
    double *bytes = collective_bytes_per_token(g, op);
    for (int r = 0; r < g->tp; r++)
        fprintf(out, "%s%.6g", r ? ", " : "", bytes[r]);
    fprintf(out, "]}");
}

static bool is_collective(const Op *op)
{
    return op_info[op->kind].flags & OPF_COLLECTIVE;
}

/* Totals per forward: collectives inside a loop count once per block. */
static void emit_summary(FILE *out, Graph *g)
{
    int per_layer = 0, outside = 0;
    double *bytes = arena_array(g->arena, (size_t)g->tp, sizeof *bytes);
    for (Op *op = g->top->first; op; op = ir_walk_next(op, g->top)) {
        if (!is_collective(op))
            continue;
        const Op *loop = op->block->parent;
        int64_t times = loop ? loop->group->count : 1;
        if (loop)
            per_layer++;
        else
            outside++;
        double *sent = collective_bytes_per_token(g, op);
        for (int r = 0; r < g->tp; r++)
            bytes[r] += (double)times * sent[r];
    }
    fprintf(out, "  \"summary\": {\"collectives_per_block\": %d, \"collectives_outside_blocks\": "
                 "%d, \"bytes_per_token\": [", per_layer, outside);
    for (int r = 0; r < g->tp; r++)
        fprintf(out, "%s%.6g", r ? ", " : "", bytes[r]);
    fprintf(out, "]},\n");
}

/* ---- weights ------------------------------------------------------------------------------- */

/* The ranges of dimension `d` rank r holds of weight w: [[start, end], ...] in the stored
 * tensor (segment offsets added), or [[0, size]] for a whole dimension. `piece` picks one
 * segment of a fused weight (-1: all). */
static int64_t emit_dim_ranges(FILE *out, const Weight *w, const Layout *l, int d, int r,
                               int piece)
{
    int64_t size = w->shape.dims[d].size, held = 0, offset = 0;
    fputc('[', out);
    if (l->kind != LAYOUT_S || l->dim != d) {
        fprintf(out, "[0, %" PRId64 "]]", size);
        return size;
    }
    bool first = true;
    for (int s = 0; s < l->nseg; s++) {
        Range range = l->seg[s].ranks[r];
        if (piece < 0 || piece == s) {
            int64_t base = piece < 0 ? offset : 0;
            fprintf(out, "%s[%" PRId64 ", %" PRId64 "]", first ? "" : ", ", base + range.start,
                    base + range.end);
            held += range.end - range.start;
            first = false;
        }
        offset += l->seg[s].size;
    }
    fputc(']', out);
    return held;
}

/* One checkpoint tensor: its name, stored shape, and the slice rank r reads; returns the bytes
 * the program holds of it (2 per element when it keeps it as bf16). */
static int64_t emit_tensor(FILE *out, const Graph *g, const Weight *w, const Layout *l, int r,
                           int piece, bool bf16, bool *first)
{
    fprintf(out, "%s\n        {\"checkpoint\": ", *first ? "" : ",");
    *first = false;
    json_string(out, w->checkpoint);
    if (w->group)
        fprintf(out, ", \"blocks\": %" PRId64, w->group->count);
    fprintf(out, ", \"shape\": ");
    json_shape(out, g, &w->shape);
    fprintf(out, ", \"slice\": [");
    int64_t elements = 1;
    for (int d = 0; d < w->shape.rank; d++) {
        if (d)
            fputs(", ", out);
        elements *= emit_dim_ranges(out, w, l, d, r, piece);
    }
    int64_t bytes = (bf16 ? 2 : 4) * elements * (w->group ? w->group->count : 1);
    fprintf(out, "], \"bytes\": %" PRId64 "%s}", bytes, bf16 ? ", \"dtype\": \"bf16\"" : "");
    return bytes;
}

static int64_t emit_rank_weights(FILE *out, const Graph *g, int r)
{
    int64_t total = 0;
    bool first = true;
    for (int i = 0; i < g->weights.len; i++) {
        const Weight *w = g->weights.items[i];
        if (!w->used)
            continue;
        if (!w->nparts) {
            total += emit_tensor(out, g, w, &w->layout, r, -1, w->bf16, &first);
            continue;
        }
        for (int k = 0; k < w->nparts; k++) {
            const Layout *l = &w->layout;
            bool by_piece = l->kind == LAYOUT_S && l->dim == w->segment_dim;
            Weight part = *w->parts[k];
            part.group = w->group;
            total += emit_tensor(out, g, &part, l, r, by_piece ? k : -1, w->bf16, &first);
        }
    }
    return total;
}

/* Bytes of the memory plan's buffers on rank r for the estimate's workload (every symbolic
 * dimension named `batch` is its batch, any other its seq). */
static int64_t activation_bytes(const Graph *g, int r)
{
    int64_t total = 0;
    for (int s = 0; s < g->slots.len; s++) {
        int64_t largest = 0;
        const Slot *slot = &g->slots.items[s];
        for (int t = 0; t < slot->terms.len; t++) {
            const SlotTerm *term = &slot->terms.items[t];
            int64_t n = term->per_rank[r];
            for (int k = 0; k < term->nsyms; k++)
                n *= strcmp(g->symbols.items[term->syms[k]], "batch") ? g->estimate.seq
                                                                      : g->estimate.batch;
            if (n > largest)
                largest = n;
        }
        total += 4 * ((largest + 15) / 16 * 16);
    }
    return total;
}

/* The bytes of k and v rank r's KV cache holds per position of one sequence (generation:
 * lower_generate.c), or -1 when the model cannot generate. */
static int64_t kv_cache_bytes_per_token(const Program *p, int r)
{
    if (!p->generation)
        return -1;
    const Size *s = p->generation->cache_per_position;
    int64_t elements = 0;
    for (int i = 0; i < s->nterms; i++) {
        if (s->terms[i].nsyms)
            internal_error("a cache's width that depends on the input's shape");
        elements += s->terms[i].coef[r];
    }
    return 4 * elements;
}

void emit_plan(FILE *out, Graph *g, const Options *opt)
{
    const Program *p = lower_program(g);
    const Estimate *e = &g->estimate;
    fprintf(out, "{\n  \"model\": ");
    json_string(out, g->name);
    fprintf(out, ",\n  \"tp\": %d,\n  \"target\": \"%s\",\n", g->tp,
            opt->target == TARGET_CUDA ? "cuda" : "cpu");
    fprintf(out, "  \"estimate\": {\"batch\": %" PRId64 ", \"seq\": %" PRId64 ", \"seconds\": "
                 "%.6g, \"compute_seconds\": %.6g, \"collective_seconds\": %.6g},\n",
            e->batch, e->seq, e->seconds, e->compute_seconds, e->collective_seconds);
    emit_summary(out, g);
    fprintf(out, "  \"collectives\": [");
    bool first = true;
    for (Op *op = g->top->first; op; op = ir_walk_next(op, g->top)) {
        if (!is_collective(op))
            continue;
        emit_collective(out, g, op, first);
        first = false;
    }
    fprintf(out, "%s],\n  \"ranks\": [", first ? "" : "\n  ");
    for (int r = 0; r < g->tp; r++) {
        fprintf(out, "%s\n    {\"rank\": %d, \"weights\": [", r ? "," : "", r);
        int64_t bytes = emit_rank_weights(out, g, r);
        fprintf(out, "\n      ], \"weight_bytes\": %" PRId64 ", \"activation_bytes\": %" PRId64,
                bytes, activation_bytes(g, r));
        int64_t kv = kv_cache_bytes_per_token(p, r);
        if (kv >= 0) /* at the estimate's workload: batch sequences of seq positions */
            fprintf(out, ",\n      \"kv_cache_bytes\": {\"per_token\": %" PRId64 ", \"total\": "
                         "%" PRId64 "}", kv, kv * e->batch * e->seq);
        fputc('}', out);
    }
    fprintf(out, "\n  ]\n}\n");
}
