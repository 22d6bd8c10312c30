/* print_c_library.c — the program as a library: OUTDIR/NAME.h declares, and the end of NAME.c
 * defines, NAME_init, NAME_forward, NAME_prefill, NAME_decode and NAME_free over the same
 * weights, buffers, forward and generation step the command line uses; OUTDIR/NAME_main.c is
 * the executable's main, which runs NAME_main, the command line, also in the library. A serving
 * program links libNAME.a the way TensorRT-LLM's engines are linked into a server.
 */
#include "print_c.h"

#include <inttypes.h>
#include <string.h>

/* The product of an output's dimensions, as the library computes it from dims[]. */
static const char *output_elements(Printer *pr, const Value *v)
{
    const char *n = "(size_t)1";
    for (int d = 0; d < v->shape.rank; d++) {
        Dim dim = v->shape.dims[d];
        n = dim.sym >= 0 ? arena_printf(pr->a, "%s * (size_t)m->dims[%d]", n, dim.sym)
                         : arena_printf(pr->a, "%s * %" PRId64, n, dim.size);
    }
    return n;
}

/* The dims[] order the API takes: the forward's symbolic dimensions, by name. */
static const char *dims_order(Printer *pr)
{
    Graph *g = pr->p->g;
    const char *list = "";
    for (int i = 0; i < g->symbols.len; i++)
        list = arena_printf(pr->a, "%s%s%s", list, i ? ", " : "",
                            c_comment(pr->a, g->symbols.items[i]));
    return g->symbols.len ? list : "none";
}

char *print_library_header(Program *p, size_t *size)
{
    Graph *g = p->g;
    Printer pr = {.p = p, .a = p->a, .tp = p->tp};
    const char *n = g->name;
    char *guard = arena_printf(p->a, "TPC_%s_H", n);
    for (char *c = guard; *c; c++)
        if (*c >= 'a' && *c <= 'z')
            *c = (char)(*c - 'a' + 'A');
    char *text = NULL;
    FILE *out = open_memstream(&text, size);
    fprintf(out,
            "/* %s.h — %s as a library: the part of the model each of %d ranks runs, built by tpc.\n"
            " * Link lib%s.a with what the Makefile beside it links (its LDLIBS: libtpcrt, "
            "OpenBLAS, MPI).\n"
            " * Every rank of the communicator calls each function, together, in the same order; "
            "a\n * failure is one line on stderr and ends the job, as in the program. */\n"
            "#ifndef %s\n#define %s\n\n#include <mpi.h>\n#include <stdint.h>\n\n",
            n, n, p->tp, n, guard, guard);
    fprintf(out,
            "typedef struct %s_model %s_model;\n\n"
            "typedef struct %s_options {\n"
            "    uint64_t random_weights; /* no checkpoint: random weights from this seed (> 0), "
            "as\n                                --random-weights */\n"
            "    int threads;             /* BLAS threads per rank (0: 1) */\n"
            "    double temperature;      /* prefill and decode: 0 greedy, else sampling as\n"
            "                                --temperature, with top_k (0: all), top_p (0 or 1:\n"
            "                                all) and seed */\n"
            "    int64_t top_k;\n"
            "    double top_p;\n"
            "    uint64_t seed;\n"
            "    int64_t prefill_chunk;   /* prefill: the prompt this many tokens a step (0: all\n"
            "                                at once), as --prefill-chunk */\n"
            "} %s_options;\n\n",
            n, n, n, n);
    fprintf(out,
            "/* Loads this rank's weights from a checkpoint (a .safetensors file or a folder, "
            "as\n * --weights) on a communicator of %d ranks (MPI initialised by the caller). "
            "options may be\n * NULL. */\n"
            "%s_model *%s_init(MPI_Comm comm, const char *weights_path, const %s_options "
            "*options);\n\n",
            p->tp, n, n, n);
    fprintf(out,
            "/* One forward: inputs in the model's order (%s), dims the symbolic dimensions' "
            "values\n * (%s); rank 0 gets every output whole in outputs[i] (f32, C order; "
            "the other ranks' may\n * be NULL). */\n"
            "void %s_forward(%s_model *m, const void *const *inputs, const int64_t *dims,\n"
            "                float *const *outputs);\n\n",
            c_comment(pr.a, arena_printf(pr.a, "%d input%s", g->inputs.len,
                                         g->inputs.len == 1 ? "" : "s")),
            dims_order(&pr), n, n);
    if (p->generation) {
        fprintf(out,
                "/* Generation: the prompt's prefill, tokens [batch, seq], on a KV cache of "
                "max_context\n * positions per sequence; next[batch] gets the next id of each "
                "(greedy), on every rank. */\n"
                "void %s_prefill(%s_model *m, const int32_t *tokens, int64_t batch, int64_t seq,\n"
                "                int64_t max_context, int32_t *next);\n"
                "/* One decode step: ids[batch], the last ids, at the next position; next[batch] as "
                "above.\n * More positions than max_context ends the job with one line. */\n"
                "void %s_decode(%s_model *m, const int32_t *ids, int32_t *next);\n\n",
                n, n, n, n);
    } else {
        fprintf(out, "/* (%s: no %s_prefill and %s_decode) */\n\n",
                c_comment(pr.a, p->no_generation), n, n);
    }
    fprintf(out,
            "void %s_free(%s_model *m);\n\n"
            "/* The command line (docs/cli.md): what the executable %s runs. */\n"
            "int %s_main(int argc, char **argv);\n\n#endif\n",
            n, n, n, n);
    fclose(out);
    return text;
}

char *print_library_main(Program *p, size_t *size)
{
    const char *n = p->g->name;
    char *text = NULL;
    FILE *out = open_memstream(&text, size);
    fprintf(out,
            "/* %s's executable: the command line, which lib%s.a holds with the model. */\n"
            "#include \"%s.h\"\n\n"
            "int main(int argc, char **argv)\n{\n    return %s_main(argc, argv);\n}\n",
            n, n, n, n);
    fclose(out);
    return text;
}

/* The library's functions, at the end of NAME.c. */
void print_library(Printer *pr, FILE *out)
{
    Program *p = pr->p;
    Graph *g = p->g;
    const char *n = g->name;
    const Generation *gen = p->generation;
    fprintf(out, "/* ---- the library (%s.h) ---- */\n\n", n);
    fprintf(out,
            "struct %s_model {\n"
            "    Weights w;\n"
            "    int rank;\n"
            "    TpcrtSampling sampling;\n"
            "    int64_t prefill_chunk;\n"
            "    int64_t dims[%d];\n"
            "    int64_t elements[BUFFERS]; /* what the buffers hold now */\n"
            "    float *buf[BUFFERS];\n"
            "    float *block;\n",
            n, p->nsymbols ? p->nsymbols : 1);
    if (gen)
        fprintf(out,
                "    int64_t cache_sizes[CACHE_PARTS]; /* what the cache holds now */\n"
                "    float *cache_parts[CACHE_PARTS];\n"
                "    float *cache_block;\n"
                "    Cache cache;\n"
                "    Model model;\n"
                "    TpcrtGenerator generator;\n");
    fprintf(out, "};\n\n");
    fprintf(out,
            "%s_model *%s_init(MPI_Comm comm, const char *weights_path, const %s_options "
            "*options)\n{\n"
            "    tpcrt_attach(comm, &program, options ? options->threads : 1);\n"
            "    %s_model *m = tpcrt_alloc(sizeof *m, \"model\");\n"
            "    m->rank = tpcrt_rank();\n"
            "    if (options && options->prefill_chunk < 0)\n"
            "        tpcrt_fail(\"%s_init: prefill_chunk %%lld: expected 0 (the prompt in one "
            "step) or more\", (long long)options->prefill_chunk);\n"
            "    m->prefill_chunk = options ? options->prefill_chunk : 0;\n"
            "    if (options) {\n"
            "        double top_p = options->top_p > 0 && options->top_p < 1 ? options->top_p : 1;\n"
            "        m->sampling = (TpcrtSampling){options->temperature, options->top_k, top_p,\n"
            "                                      options->seed};\n"
            "    } else {\n"
            "        m->sampling = (TpcrtSampling){0, 0, 1, 0};\n"
            "    }\n"
            "    TpcrtArgs args = {.weights = weights_path};\n"
            "    if (options && options->random_weights) {\n"
            "        args.weights = NULL;\n"
            "        args.random_weights = true;\n"
            "        args.weights_seed = options->random_weights;\n"
            "    }\n"
            "    TpcrtWeights *src = tpcrt_weights_open(&args);\n"
            "    load_weights(&m->w, src, m->rank);\n"
            "    tpcrt_weights_close(src);\n"
            "    return m;\n}\n\n",
            n, n, n, n, n);
    fprintf(out,
            "/* The buffers for m->dims: grown when a call needs more, never inside a step. */\n"
            "static void library_buffers(%s_model *m)\n{\n"
            "    int64_t elements[BUFFERS];\n"
            "    buffer_elements(elements, m->dims, m->rank);\n"
            "    tpcrt_buffers_grow(&m->block, m->buf, m->elements, elements, BUFFERS);\n"
            "}\n\n",
            n);
    fprintf(out,
            "void %s_forward(%s_model *m, const void *const *inputs, const int64_t *dims,\n"
            "                float *const *outputs)\n{\n"
            "    memcpy(m->dims, dims, sizeof(int64_t) * %d);\n"
            "    library_buffers(m);\n"
            "    forward(&m->w, m->buf, (void *const *)inputs, m->dims, m->rank);\n"
            "    if (m->rank != 0)\n"
            "        return;\n",
            n, n, g->symbols.len);
    const Op *ret = g->top->last;
    for (int i = 0; i < ret->nargs; i++) {
        Ref r = p->outputs[i];
        fprintf(out, "    memcpy(outputs[%d], %s[%d], sizeof(float) * %s);\n", i,
                r.kind == REF_INPUT ? "inputs" : "m->buf", r.index,
                output_elements(pr, ret->args[i]));
    }
    fprintf(out, "}\n\n");
    if (gen) {
        fprintf(out,
                "void %s_prefill(%s_model *m, const int32_t *tokens, int64_t batch, int64_t seq,\n"
                "                int64_t max_context, int32_t *next)\n{\n"
                "    if (max_context < seq + 1%s)\n"
                "        tpcrt_fail(\"%s_prefill: max_context %%lld: expected %%lld (the prompt "
                "and a new token) to %%lld\",\n"
                "                   (long long)max_context, (long long)seq + 1, (long long)%s);\n"
                "    m->dims[%d] = batch;\n"
                "    /* the buffers hold a prefill step: the prompt, or prefill_chunk of it */\n"
                "    m->dims[%d] = m->prefill_chunk && m->prefill_chunk < seq ? m->prefill_chunk\n"
                "                                                             : seq;\n"
                "    m->dims[%d] = 0;\n"
                "    m->dims[%d] = max_context;\n"
                "    library_buffers(m);\n"
                "    int64_t sizes[CACHE_PARTS];\n"
                "    cache_elements(sizes, m->dims, m->rank);\n"
                "    if (tpcrt_buffers_grow(&m->cache_block, m->cache_parts, m->cache_sizes, sizes,\n"
                "                           CACHE_PARTS))\n"
                "        cache_carve(&m->cache, m->cache_parts);\n"
                "    m->model = (Model){&m->w, m->buf, m->dims, m->rank, &m->cache};\n"
                "    m->generator = generator_of(&m->model);\n"
                "    int64_t last;\n"
                "    const float *logits = tpcrt_prefill(&m->generator, tokens, batch, seq,\n"
                "                                        m->prefill_chunk, &last);\n"
                "    tpcrt_next_ids(&m->generator, &m->sampling, logits, batch, last, seq, next);\n"
                "    m->dims[%d] = seq; /* past: the positions the cache holds */\n"
                "}\n\n",
                n, n, gen->positions ? arena_printf(pr->a, " || max_context > %" PRId64, gen->positions)
                               : "",
                n, gen->positions ? arena_printf(pr->a, "%" PRId64, gen->positions) : "INT32_MAX",
                gen->batch, gen->seq, gen->past, gen->context, gen->past);
        fprintf(out,
                "void %s_decode(%s_model *m, const int32_t *ids, int32_t *next)\n{\n"
                "    int64_t past = m->dims[%d], batch = m->dims[%d];\n"
                "    if (!m->cache_block)\n"
                "        tpcrt_fail(\"%s_decode: expected %s_prefill first\");\n"
                "    if (past >= m->dims[%d])\n"
                "        tpcrt_fail(\"%s_decode: the cache's %%lld positions are full: prefill "
                "again with a larger max_context\", (long long)m->dims[%d]);\n"
                "    const float *logits = model_step(&m->model, ids, batch, 1, past);\n"
                "    tpcrt_next_ids(&m->generator, &m->sampling, logits, batch, 1, past + 1, next);\n"
                "    m->dims[%d] = past + 1;\n"
                "}\n\n",
                n, n, gen->past, gen->batch, n, n, gen->context, n, gen->context, gen->past);
    }
    fprintf(out,
            "void %s_free(%s_model *m)\n{\n"
            "    if (!m)\n        return;\n"
            "    tpcrt_free(m->w.block);\n%s"
            "    tpcrt_free(m->block);\n%s"
            "    tpcrt_free(m);\n"
            "    tpcrt_finalize();\n}\n\n",
            n, n, p->weight_elements_bf16 ? "    tpcrt_free(m->w.block_bf16);\n" : "",
            gen ? "    tpcrt_free(m->cache_block);\n" : "");
}
