/* lower_generate.c — generation, derived from forward: the step that computes new tokens of
 * each sequence against a KV cache (prefill: the prompt, at position 0; decode: one token at a
 * time), and the state it keeps between steps.
 *
 * A model written as a forward from token ids to logits, with causal attention, generates with
 * no change to its source: the step is forward's statements lowered again with three changes.
 * Positions start at `past` (RoPE's table and a learned position table's ids); each attention
 * appends the step's k (after RoPE) and v to its cache and attends over the cache's first
 * past + seq positions; and the logits are left split over the vocabulary where the last
 * projection put them (the sampler never gathers them). The cache holds exactly the columns of
 * k and v a rank computes: the kv heads its query heads read, GQA's overlap included.
 *
 * Which models qualify is written in docs/language.md ("Generation"); for any other, the reason
 * is kept for the built program's --generate to print.
 */
#include "lower.h"

#include <string.h>

/* Why the model cannot generate (a phrase), or NULL. */
static const char *why_not(Lower *L)
{
    Graph *g = L->g;
    if (g->inputs.len != 1 || L->p->input_info[0].role != ROLE_TOKENS)
        return "it does not take exactly one input, token ids";
    const Value *tokens = g->inputs.items[0];
    const Shape *ts = &tokens->shape;
    if (ts->rank != 2 || ts->dims[0].sym < 0 || ts->dims[1].sym < 0 ||
        ts->dims[0].sym == ts->dims[1].sym)
        return arena_printf(L->a, "its input '%s' is not i32 [batch, seq]", tokens->name);
    const Op *ret = g->top->last;
    int64_t vocab = L->p->input_info[0].id_limit;
    const Shape *os = ret->nargs == 1 ? &ret->args[0]->shape : NULL;
    if (!os || os->rank != 3 || os->dims[0].sym != ts->dims[0].sym ||
        os->dims[1].sym != ts->dims[1].sym || os->dims[2].sym >= 0 || os->dims[2].size != vocab)
        return arena_printf(L->a, "its output is not logits [%s, %s, %lld] over the %lld ids "
                                  "its tokens index",
                            g->symbols.items[ts->dims[0].sym], g->symbols.items[ts->dims[1].sym],
                            (long long)vocab, (long long)vocab);
    for (Op *op = g->top->first; op; op = ir_walk_next(op, g->top)) {
        int line, col;
        loc_line_col(op->loc, &line, &col);
        if (op->kind == OP_ATTENTION && (!op->attrs.causal || op->nargs == 4))
            return arena_printf(L->a, "its attention at line %d is not causal", line);
        if (op->kind == OP_MEAN || op->kind == OP_SUM)
            return arena_printf(L->a, "its %s at line %d mixes positions",
                                op_info[op->kind].name, line);
        if (op->block->parent && op->block->parent->block->parent)
            return "it has a loop inside a loop";
    }
    return NULL;
}

/* The most positions a learned position table allows (its rows), or 0 when none limits. */
static int64_t position_limit(const Graph *g)
{
    int64_t limit = 0;
    for (Op *op = g->top->first; op; op = ir_walk_next(op, g->top)) {
        const Value *ids = op->kind == OP_EMBEDDING ? op->args[0] : NULL;
        if (ids && ids->kind == VAL_RESULT && ids->def->kind == OP_POSITIONS) {
            int64_t rows = op->args[1]->shape.dims[0].size;
            limit = limit && limit < rows ? limit : rows;
        }
    }
    return limit;
}

/* Whether what follows the layers' loop works row by row on the loop's results alone (a final
 * norm, the head): then only each sequence's last row need go on (lower_forward.c). */
static bool last_only(const Graph *g)
{
    const Op *loop = NULL;
    for (const Op *op = g->top->first; op; op = op->next) {
        if (op->kind == OP_FOR) {
            if (loop)
                return false;
            loop = op;
            continue;
        }
        if (!loop || op->kind == OP_RETURN)
            continue;
        if (op->kind == OP_ATTENTION || op->kind == OP_ROPE || op->kind == OP_POSITIONS ||
            op->kind == OP_EMBEDDING || op->kind == OP_MEAN || op->kind == OP_SUM)
            return false;
        for (int i = 0; i < op->nargs; i++) {
            const Value *v = op->args[i];
            bool after = v->kind == VAL_RESULT && v->def->block == g->top &&
                         v->def->order >= loop->order;
            if (v->kind != VAL_WEIGHT && v->kind != VAL_CONST && !after)
                return false;
            if (v->kind == VAL_RESULT && v->def == loop && v->shape.rank != 3)
                return false;
        }
    }
    return loop != NULL;
}

static int add_state(Lower *L, const char *name, const Group *group, Size *elements,
                     Size *per_position)
{
    StateField f = {program_name(L->p, name), group, elements, per_position};
    vec_push(L->a, &L->gen->state, f);
    return L->gen->state.len - 1;
}

/* The cache of k or v of an attention: [batch, context, the columns this rank computes]. */
int generation_cache(Lower *L, const Op *attention, const Value *kv)
{
    const Op *loop = attention->block->parent;
    Size *width = cols_size(L, kv);
    Size *per_sequence = size_mul(L->a, size_symbol(L->a, L->tp, L->gen->context), width);
    Size *elements = size_mul(L->a, size_symbol(L->a, L->tp, L->gen->batch), per_sequence);
    return add_state(L, c_identifier(L->a, value_name(kv)),
                     loop ? loop->group : NULL, size_named(L->a, elements, "cache_elements"),
                     width);
}

/* Attention's scores, [seq, context]: one for every attention (they run one at a time). */
int generation_scores(Lower *L)
{
    for (int i = 0; i < L->gen->state.len; i++)
        if (!L->gen->state.items[i].per_position)
            return i;
    Size *elements = size_mul(L->a, size_symbol(L->a, L->tp, L->gen->seq),
                              size_symbol(L->a, L->tp, L->gen->context));
    return add_state(L, "attention_scores", NULL, size_named(L->a, elements, "scores_elements"), NULL);
}

void lower_generation(Lower *L)
{
    Program *p = L->p;
    Graph *g = L->g;
    const char *why = why_not(L);
    if (why) {
        p->no_generation = arena_printf(L->a, "%s cannot generate: %s", g->name, why);
        return;
    }
    Generation *gen = arena_alloc(L->a, sizeof *gen);
    const Value *tokens = g->inputs.items[0];
    gen->tokens = 0;
    gen->batch = tokens->shape.dims[0].sym;
    gen->seq = tokens->shape.dims[1].sym;
    gen->past = p->nsymbols;
    p->symbols[p->nsymbols++] = program_name(p, "past");
    gen->context = p->nsymbols;
    p->symbols[p->nsymbols++] = program_name(p, "context");
    gen->vocab = p->input_info[0].id_limit;
    gen->positions = position_limit(g);
    gen->last_only = last_only(g);

    L->gen = gen;
    L->past = size_symbol(L->a, L->tp, gen->past);
    lower_steps(L, &gen->step);
    L->gen = NULL;

    /* the logits as the last projection left them: split over the vocabulary, or whole */
    const Value *logits = g->top->last->args[0];
    if (logits->kind == VAL_RESULT && logits->def->kind == OP_ALL_GATHER)
        logits = logits->def->args[0];
    const Layout *l = &logits->layout;
    bool split = l->kind == LAYOUT_S && l->dim == 2;
    if (split && l->nseg != 1)
        internal_error("logits split in segments");
    if (!split && l->kind != LAYOUT_R)
        internal_error("logits neither split over the vocabulary nor replicated");
    int64_t *first = arena_array(L->a, (size_t)L->tp, sizeof(int64_t));
    int64_t *held = arena_array(L->a, (size_t)L->tp, sizeof(int64_t));
    for (int r = 0; r < L->tp; r++) {
        first[r] = split ? l->seg[0].ranks[r].start : 0;
        held[r] = split ? l->seg[0].ranks[r].end - first[r] : gen->vocab;
    }
    gen->logits = ref_of(L, logits);
    gen->ld_logits = ld_size(L, logits);
    gen->vocab_first = size_named(L->a, size_per_rank(L->a, L->tp, first), "vocab_first");
    gen->vocab_held = size_named(L->a, size_per_rank(L->a, L->tp, held), "vocab_held");
    Size *per_position = size_number(L->a, L->tp, 0);
    for (int i = 0; i < gen->state.len; i++) {
        const StateField *f = &gen->state.items[i];
        if (f->per_position)
            per_position = size_add(L->a, per_position,
                                    size_mul(L->a, f->per_position,
                                             size_number(L->a, L->tp,
                                                         f->group ? f->group->count : 1)));
    }
    gen->cache_per_position = size_named(L->a, per_position, "cache_per_position");
    p->generation = gen;
}
