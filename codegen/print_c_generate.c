/* print_c_generate.c — generation (program.h's Generation) as C: the cache a rank keeps between
 * steps, the step itself (print_function, as forward), and the driver that hands the step to
 * the runtime's generation loop (tpcrt_generate). Like the rest of the printer, it spells what
 * lower_generate.c decided.
 */
#include "print_c.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* The parts of the cache, one per state field and block, in order. */
static int cache_parts(const Generation *gen)
{
    int n = 0;
    for (int i = 0; i < gen->state.len; i++)
        n += gen->state.items[i].group ? (int)gen->state.items[i].group->count : 1;
    return n;
}

/* A size that is one product (a cache part's elements) as a tpcrt_size call. */
static const char *product_c(Printer *pr, const Size *s)
{
    if (s->nterms != 1)
        internal_error("a cache's size is one product");
    const SizeTerm *t = &s->terms[0];
    const char *factors = "";
    for (int i = 0; i < t->nsyms; i++)
        factors = arena_printf(pr->a, "%s%s, ", factors, pr->p->symbols[t->syms[i]]);
    return arena_printf(pr->a, "tpcrt_size(%d, (int64_t[]){%s%s})", t->nsyms + 1, factors,
                        per_rank_c(pr, s->name, t->coef));
}

/* The Cache struct, the sizes of its parts and how they are carved from one allocation. */
static void print_cache(Printer *pr, FILE *out)
{
    Program *p = pr->p;
    const Generation *gen = p->generation;
    fprintf(out, "/* What generation keeps between steps: each attention's k (after RoPE) and v "
                 "of the kv\n * heads this rank holds, [batch, context, columns] per block, and "
                 "attention's scores. */\ntypedef struct Cache {\n");
    for (int i = 0; i < gen->state.len; i++) {
        const StateField *f = &gen->state.items[i];
        fprintf(out, "    float *%s[%" PRId64 "];%s\n", f->name, f->group ? f->group->count : 1,
                f->group ? arena_printf(pr->a, " /* per block of %s */",
                                        c_comment(pr->a, f->group->name)) : "");
    }
    fprintf(out, "} Cache;\n\nenum { CACHE_PARTS = %d };\n\n", cache_parts(gen));

    bool *used = arena_array(pr->a, (size_t)p->nsymbols + 1, sizeof *used);
    for (int i = 0; i < gen->state.len; i++)
        mark_symbols(gen->state.items[i].elements, used);
    char *text = NULL;
    size_t size = 0;
    FILE *body = open_memstream(&text, &size);
    pr->used_rank_sizes = pr->used_rank = false;
    int part = 0;
    for (int i = 0; i < gen->state.len; i++) {
        const StateField *f = &gen->state.items[i];
        const char *elements = product_c(pr, f->elements);
        if (f->group)
            fprintf(body, "    for (int i = 0; i < %" PRId64 "; i++)\n        elements[%d + i] = "
                          "%s; /* %s[i] */\n", f->group->count, part, elements, f->name);
        else
            fprintf(body, "    elements[%d] = %s; /* %s */\n", part, elements, f->name);
        part += f->group ? (int)f->group->count : 1;
    }
    fclose(body);
    fprintf(out, "/* The elements of each part of the cache, for these dimensions. */\n"
                 "static void cache_elements(int64_t *elements, const int64_t *dims, int rank)\n"
                 "{\n");
    print_locals(pr, out, used);
    fputs(text, out);
    free(text);
    fprintf(out, "}\n\n/* The cache's parts, carved from one allocation. */\n"
                 "static void cache_carve(Cache *cache, float *const *parts)\n{\n");
    part = 0;
    for (int i = 0; i < gen->state.len; i++) {
        const StateField *f = &gen->state.items[i];
        if (f->group)
            fprintf(out, "    for (int i = 0; i < %" PRId64 "; i++)\n        cache->%s[i] = "
                         "parts[%d + i];\n", f->group->count, f->name, part);
        else
            fprintf(out, "    cache->%s[0] = parts[%d];\n", f->name, part);
        part += f->group ? (int)f->group->count : 1;
    }
    pr->used_rank_sizes = pr->used_rank = false;
    const char *per_position = size_c(pr, gen->cache_per_position);
    fprintf(out, "}\n\n/* The elements of k and v the cache holds per position of a sequence. */\n"
                 "static int64_t kv_cache_per_position(int rank)\n{\n");
    print_locals(pr, out, NULL);
    fprintf(out, "    return %s;\n}\n\n", per_position);
}

void print_generation(Printer *pr, FILE *out)
{
    Program *p = pr->p;
    const Generation *gen = p->generation;
    if (!gen)
        return;
    print_cache(pr, out);
    print_function(
        pr, out, gen->step,
        arena_printf(pr->a,
                     "/* One step of generation: %s new tokens of each sequence at positions "
                     "%s.. %s + %s - 1\n * (the prompt, then one at a time), their k and v "
                     "appended to the cache, attention over\n * every position so far; this "
                     "rank's logits stay where the last projection put them. */\n"
                     "static void generate_step(const Weights *w, float *const *buf, void *const "
                     "*in,\n                          const int64_t *dims, int rank, const Cache "
                     "*cache)",
                     p->symbols[gen->seq], p->symbols[gen->past], p->symbols[gen->past],
                     p->symbols[gen->seq]));
}

void print_generation_driver(Printer *pr, FILE *out)
{
    Program *p = pr->p;
    const Generation *gen = p->generation;
    if (!gen)
        return;
    Ref logits = gen->logits;
    if (logits.kind != REF_BUFFER || (logits.offset && logits.offset->nterms))
        internal_error("logits that are not a buffer of their own");
    /* --target cuda: the step runs on the device; its ids go there, this rank's logits come
     * back to the runtime's sampler */
    const char *logits_buffer = arena_printf(pr->a, "m->buf[%d]", logits.index);
    fprintf(out,
            "/* The model as the runtime's generation loop sees it: a step from ids to this "
            "rank's logits%s. */\n"
            "typedef struct Model {\n"
            "    const Weights *w;\n"
            "    float *const *buf;\n"
            "    int64_t *dims;\n"
            "    int rank;\n"
            "    const Cache *cache;\n"
            "%s"
            "} Model;\n\n"
            "static const float *model_step(void *self, const int32_t *tokens, int64_t batch,\n"
            "                               int64_t seq, int64_t past)\n"
            "{\n"
            "    Model *m = self;\n"
            "    m->dims[%d] = batch;\n"
            "    m->dims[%d] = seq;\n"
            "    m->dims[%d] = past;\n",
            pr->cuda ? "\n * (the step on the device; the ids copied there, the logits back)" : "",
            pr->cuda ? "    int32_t *tokens;     /* device: the step's ids */\n"
                       "    float *logits;       /* host: this rank's logits of the step */\n"
                       "    int64_t ld_logits;\n"
                     : "",
            gen->batch, gen->seq, gen->past);
    if (pr->cuda)
        fprintf(out,
                "    tpcrt_cuda_copy_to_device(m->tokens, tokens, sizeof(int32_t) * (size_t)(batch * seq));\n"
                "    void *in[1] = {m->tokens};\n"
                "    generate_step(m->w, m->buf, in, m->dims, m->rank, m->cache);\n"
                "    int64_t rows = %s;\n"
                "    tpcrt_cuda_to_host(m->logits, %s, sizeof(float) * (size_t)(rows * m->ld_logits)); /* %s */\n"
                "    return m->logits;\n"
                "}\n\n",
                gen->last_only ? "batch" : "batch * seq", logits_buffer,
                p->buffers.items[logits.index].name);
    else
        fprintf(out,
                "    void *in[1] = {(void *)tokens};\n"
                "    generate_step(m->w, m->buf, in, m->dims, m->rank, m->cache);\n"
                "    return %s; /* %s */\n"
                "}\n\n",
                logits_buffer, p->buffers.items[logits.index].name);
    pr->used_rank_sizes = pr->used_rank = false;
    const char *first = size_c(pr, gen->vocab_first), *held = size_c(pr, gen->vocab_held);
    const char *ld = size_c(pr, gen->ld_logits);
    fprintf(out, "/* The model as the runtime's generation sees it: its step, and where this rank's "
                 "logits lie. */\n"
                 "static TpcrtGenerator generator_of(Model *model)\n{\n"
                 "    int rank = model->rank;\n");
    print_locals(pr, out, NULL);
    fprintf(out, "    return (TpcrtGenerator){.self = model, .step = model_step, .vocab = %" PRId64
                 ",\n"
                 "                            .vocab_first = %s, .vocab_held = %s,\n"
                 "                            .ld_logits = %s, .positions = %" PRId64 ",\n"
                 "                            .last_only = %s};\n}\n\n",
            gen->vocab, first, held, ld, gen->positions, gen->last_only ? "true" : "false");
    fprintf(out,
            "/* --generate: the prompt's prefill, then one decode step per new token, on a cache "
            "sized for\n * them (tpcrt_generate picks each next id from the logits where they "
            "are). Returns the\n * bytes of k and v the cache held, for --stats. */\n"
            "static int64_t generate(const Weights *w, float *const *buf, void *const *in,\n"
            "                        int64_t *dims, int rank, const TpcrtArgs *args,\n"
            "                        const int64_t *cache_sizes)\n"
            "{\n"
            "    float *parts[CACHE_PARTS];\n"
            "    float *block = tpcrt_%sbuffers_alloc(parts, cache_sizes, CACHE_PARTS);\n"
            "    Cache cache;\n"
            "    cache_carve(&cache, parts);\n"
            "    Model model = {w, buf, dims, rank, &cache};\n"
            "    TpcrtGenerator generator = generator_of(&model);\n"
            "%s"
            "    tpcrt_generate(&program, args, &generator, in[%d], dims[%d], dims[%d]);\n"
            "%s"
            "    tpcrt_%sfree(block);\n"
            "    return tpcrt_size(4, (int64_t[]){dims[%d], dims[%d], kv_cache_per_position(rank),\n"
            "                                     (int64_t)sizeof(float)});\n"
            "}\n\n",
            pr->cuda ? "cuda_" : "",
            pr->cuda ? arena_printf(pr->a,
                                    "    /* the ids of a step go to the device, its logits come back */\n"
                                    "    int64_t tokens = tpcrt_size(2, (int64_t[]){dims[%d], dims[%d]});\n"
                                    "    model.tokens = tpcrt_cuda_alloc(sizeof(int32_t) * (size_t)tokens, \"ids\");\n"
                                    "    model.ld_logits = generator.ld_logits;\n"
                                    "    model.logits = tpcrt_alloc(sizeof(float) * (size_t)tpcrt_size(2,\n"
                                    "        (int64_t[]){%s, generator.ld_logits}), \"logits\");\n",
                                    gen->batch, gen->seq,
                                    gen->last_only ? arena_printf(pr->a, "dims[%d]", gen->batch)
                                                   : "tokens")
                     : "",
            gen->tokens, gen->batch, gen->seq,
            pr->cuda ? "    tpcrt_cuda_free(model.tokens);\n    tpcrt_free(model.logits);\n" : "",
            pr->cuda ? "cuda_" : "", gen->batch, gen->context);
}

/* main's part before tpcrt_check_start: the cache's size (it counts towards the node's
 * memory). */
void print_generation_main(Printer *pr, FILE *out)
{
    const Generation *gen = pr->p->generation;
    fprintf(out,
            "    int64_t cache_sizes[CACHE_PARTS], cache_bytes = 0;\n"
            "    if (tpcrt_generating(&args)) { /* the KV cache: the prompt and the new tokens */\n"
            "        int64_t prompt = dims[%d];\n"
            "        dims[%d] = 0;\n"
            "        dims[%d] = tpcrt_generation_context(&args, prompt, %" PRId64 ");\n"
            "        /* the buffers and the scores hold the largest step: the prompt, or\n"
            "         * --prefill-chunk of it */\n"
            "        dims[%d] = tpcrt_prefill_step(&args, prompt);\n"
            "        buffer_elements(elements, dims, rank);\n"
            "        cache_elements(cache_sizes, dims, rank);\n"
            "        cache_bytes = tpcrt_buffers_bytes(cache_sizes, CACHE_PARTS);\n"
            "        dims[%d] = prompt;\n"
            "    }\n",
            gen->seq, gen->past, gen->context, gen->positions, gen->seq, gen->seq);
}
