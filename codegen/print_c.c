/* print_c.c — the per-rank program form (program.h) printed as one C file, with OpenBLAS and
 * libtpcrt, holding the code of every rank, which picks its part by its MPI rank.
 *
 * The file reads like a forward function written by hand (llm.c's gpt2_forward): a Weights
 * struct with a pointer per weight (a group's as an array of per-block structs, never
 * unrolled), one allocation carved into them, the memory plan's buffers allocated once, and
 * `forward` (print_c_forward.c) with each IR statement as a comment above the code that
 * computes it. A size that differs by rank is a field of rank_sizes[] (`rs->wq`); everything
 * else is a number or a symbolic dimension. This file decides nothing: it spells what lower.c
 * decided.
 *
 * Sections follow the output: sizes and pointers, weights, buffers, the file.
 */
#include "print_c.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ---- sizes and pointers -------------------------------------------------------------------- */

/* A number when every rank has the same, else a field of rank_sizes[] named after `name`. */
const char *per_rank_c(Printer *pr, const char *name, const int64_t *values)
{
    bool same = true;
    for (int r = 1; r < pr->tp; r++)
        same &= values[r] == values[0];
    if (same)
        return arena_printf(pr->a, "%" PRId64, values[0]);
    char *key = arena_strdup(pr->a, "");
    for (int r = 0; r < pr->tp; r++)
        key = arena_printf(pr->a, "%s%" PRId64 ",", key, values[r]);
    const char *ref = strmap_get(&pr->size_names, key);
    if (!ref) {
        RankSize s = {program_name(pr->p, name ? name : "size"), values};
        vec_push(pr->a, &pr->sizes, s);
        ref = arena_printf(pr->a, "rs->%s", s.name);
        strmap_put(&pr->size_names, key, (void *)ref);
    }
    pr->used_rank_sizes = pr->used_rank = true;
    return ref;
}

/* A size as C: "batch * seq * 4096", "rs->wq", "2 * seq + rs->k_at". */
const char *size_c(Printer *pr, const Size *s)
{
    const char *text = NULL;
    for (int i = 0; i < s->nterms; i++) {
        const SizeTerm *t = &s->terms[i];
        const char *term = NULL;
        for (int k = 0; k < t->nsyms; k++)
            term = term ? arena_printf(pr->a, "%s * %s", term, pr->p->symbols[t->syms[k]])
                        : pr->p->symbols[t->syms[k]];
        const char *coef = per_rank_c(pr, s->name, t->coef);
        if (!term)
            term = coef;
        else if (strcmp(coef, "1"))
            term = arena_printf(pr->a, "%s * %s", term, coef);
        text = text ? arena_printf(pr->a, "%s + %s", text, term) : term;
    }
    return text ? text : "0";
}

/* A pointer as C: a buffer (at a view's offset), an input, or a weight through w or l. */
const char *ref_c(Printer *pr, Ref r)
{
    const char *base;
    switch (r.kind) {
    case REF_NONE: return "NULL";
    case REF_INPUT: return pr->p->inputs[r.index];
    case REF_WEIGHT: {
        const WeightField *f = &pr->p->fields.items[r.index];
        return arena_printf(pr->a, "%s->%s", f->group ? "l" : "w", f->name);
    }
    case REF_BUFFER: base = pr->p->buffers.items[r.index].name; break;
    case REF_CACHE: {
        const StateField *f = &pr->p->generation->state.items[r.index];
        base = arena_printf(pr->a, "cache->%s[%s]", f->name, f->group ? "i" : "0");
        break;
    }
    default: unreachable();
    }
    if (r.ids) /* buffers are float; ids made in forward are i32 */
        base = arena_printf(pr->a, "(int32_t *)%s", base);
    if (r.offset && r.offset->nterms)
        base = arena_printf(pr->a, "%s + %s", base, size_c(pr, r.offset));
    return base;
}

const char *arg_c(Printer *pr, const Arg *arg)
{
    switch (arg->kind) {
    case ARG_REF: return ref_c(pr, arg->ref);
    case ARG_SIZE: return size_c(pr, arg->size);
    case ARG_FLOAT: return c_float(pr->a, arg->f);
    case ARG_INT: return arena_printf(pr->a, "%" PRId64, arg->i);
    }
    unreachable();
}

/* The locals a function of `rank` (and of dims[], when symbols is not NULL) declares before its
 * body, which has been printed already: rs when the body reads rank_sizes (else (void)rank,
 * unless it reads rank itself), and the symbolic dimensions it reads (else (void)dims). */
void print_locals(Printer *pr, FILE *out, const bool *symbols)
{
    if (pr->used_rank_sizes)
        fprintf(out, "    const struct RankSizes *rs = &rank_sizes[rank];\n");
    else if (!pr->used_rank)
        fprintf(out, "    (void)rank;\n");
    if (!symbols)
        return;
    bool any = false;
    for (int i = 0; i < pr->p->nsymbols; i++)
        if (symbols[i]) {
            fprintf(out, "    const int64_t %s = dims[%d];\n", pr->p->symbols[i], i);
            any = true;
        }
    if (!any)
        fprintf(out, "    (void)dims;\n");
}

void mark_symbols(const Size *s, bool *used)
{
    for (int i = 0; s && i < s->nterms; i++)
        for (int k = 0; k < s->terms[i].nsyms; k++)
            used[s->terms[i].syms[k]] = true;
}


/* ---- weights ------------------------------------------------------------------------------- */

/* How a field is kept when not as the checkpoint stores it. */
static const char *kept(const WeightField *f)
{
    return f->bf16 ? ", bf16 [out, in]" : f->weight->stored_in_out ? ", kept [in, out]" : "";
}

static void print_weights_struct(Printer *pr, FILE *out)
{
    Program *p = pr->p;
    Graph *g = p->g;
    for (int gi = 0; gi < g->groups.len; gi++) {
        fprintf(out, "struct %s { /* one block of %s */\n", p->groups.items[gi],
                c_comment(pr->a, g->groups.items[gi]->name));
        for (int i = 0; i < p->fields.len; i++) {
            const WeightField *f = &p->fields.items[i];
            char shape[128], layout[16];
            if (f->group == g->groups.items[gi])
                fprintf(out, "    %s *%s; /* %s %s%s */\n", f->bf16 ? "uint16_t" : "float",
                        f->name,
                        c_comment(pr->a, shape_str(g, &f->weight->shape, shape, sizeof shape)),
                        layout_str(&f->weight->layout, layout, sizeof layout), kept(f));
        }
        fprintf(out, "};\n\n");
    }
    fprintf(out, "typedef struct Weights {\n"
                 "    float *block; /* the one allocation the f32 weights point into%s */\n",
            pr->cuda ? " (device memory)" : "");
    if (p->weight_elements_bf16)
        fprintf(out, "    uint16_t *block_bf16; /* and the bf16 weights' */\n");
    for (int i = 0; i < p->fields.len; i++) {
        const WeightField *f = &p->fields.items[i];
        char shape[128], layout[16];
        if (!f->group)
            fprintf(out, "    %s *%s; /* %s %s%s */\n", f->bf16 ? "uint16_t" : "float", f->name,
                    c_comment(pr->a, shape_str(g, &f->weight->shape, shape, sizeof shape)),
                    layout_str(&f->weight->layout, layout, sizeof layout), kept(f));
    }
    for (int gi = 0; gi < g->groups.len; gi++) {
        bool any = false;
        for (int i = 0; i < p->fields.len; i++)
            any |= p->fields.items[i].group == g->groups.items[gi];
        if (any)
            fprintf(out, "    struct %s %s[%" PRId64 "];\n", p->groups.items[gi],
                    c_identifier(pr->a, g->groups.items[gi]->name), g->groups.items[gi]->count);
    }
    fprintf(out, "} Weights;\n\n");
}

/* The checkpoint's name as written; the runtime puts the block's index for each "{i}". */
static void print_read(Printer *pr, FILE *out, const WeightField *f, const WeightRead *rd,
                       const char *indent)
{
    const Weight *t = rd->tensor;
    /* --target cuda reads into the pinned staging buffer the field is uploaded from */
    const char *dst = pr->cuda ? (f->bf16 ? "(uint16_t *)stage" : "(float *)stage")
                               : arena_printf(pr->a, "%s->%s", f->group ? "l" : "w", f->name);
    if (rd->offset->nterms)
        dst = arena_printf(pr->a, "%s + %s", dst, size_c(pr, rd->offset));
    fprintf(out, "%stpcrt_weights_read%s(src, %s, %s, %d, (int64_t[]){", indent,
            f->bf16 ? "_bf16" : "", c_string(pr->a, t->checkpoint), f->group ? "i" : "-1",
            t->shape.rank);
    for (int d = 0; d < t->shape.rank; d++)
        fprintf(out, "%s%" PRId64, d ? ", " : "", t->shape.dims[d].size);
    fprintf(out, "},\n%s                   (TpcrtDimSlice[]){", indent);
    for (int d = 0; d < t->shape.rank; d++) {
        if (d == rd->range_dim) {
            const RangeTable *table = &pr->p->ranges.items[rd->ranges];
            fprintf(out, "%s{%d, %s[rank]}", d ? ", " : "", table->nranges, table->name);
        } else {
            fprintf(out, "%s{0, NULL}", d ? ", " : "");
        }
    }
    fprintf(out, "},\n%s                   (TpcrtInit){%s, %s}, %s, (int64_t[]){%s",
            indent, c_float(pr->a, rd->init_offset), c_float(pr->a, rd->init_scale), dst,
            size_c(pr, rd->strides[0]));
    if (t->shape.rank >= 2)
        fprintf(out, ", %s", size_c(pr, rd->strides[1]));
    fprintf(out, "});\n");
}

static void print_field_load(Printer *pr, FILE *out, const WeightField *f, const char *indent)
{
    const char *next = f->bf16 ? "next_bf16" : "next";
    fprintf(out, "%s%s->%s = %s;\n", indent, f->group ? "l" : "w", f->name, next);
    fprintf(out, "%s%s += %s;\n", indent, next, size_c(pr, f->elements));
    const char *bytes = arena_printf(pr->a, "sizeof(%s) * (size_t)(%s)",
                                     f->bf16 ? "uint16_t" : "float", size_c(pr, f->elements));
    if (pr->cuda)
        fprintf(out, "%sstage = tpcrt_cuda_stage(%s);\n", indent, bytes);
    for (int k = 0; k < f->nreads; k++)
        print_read(pr, out, f, &f->reads[k], indent);
    if (pr->cuda)
        fprintf(out, "%stpcrt_cuda_upload(%s->%s, stage, %s);\n", indent, f->group ? "l" : "w",
                f->name, bytes);
}

/* weight_elements and load_weights: one allocation for all this rank holds, carved in order;
 * every tensor read as its slice. */
static void print_loader(Printer *pr, FILE *out)
{
    Program *p = pr->p;
    Graph *g = p->g;
    bool bf16 = p->weight_elements_bf16 != NULL;
    pr->used_rank_sizes = pr->used_rank = false;
    const char *elements = size_c(pr, p->weight_elements);
    const char *elements_bf16 = bf16 ? size_c(pr, p->weight_elements_bf16) : "0";
    fprintf(out, "/* The elements of every %sweight this rank holds%s. */\n"
                 "static void weight_elements(int64_t *f32, int64_t *bf16, int rank)\n{\n",
            bf16 ? "f32 " : "", bf16 ? ", and of every bf16 one" : "");
    print_locals(pr, out, NULL);
    fprintf(out, "    *f32 = %s;\n    *bf16 = %s;\n}\n\n", elements, elements_bf16);
    fprintf(out, "/* The bytes of every weight this rank holds. */\n"
                 "static int64_t weight_bytes(int rank)\n{\n"
                 "    int64_t f32, bf16;\n"
                 "    weight_elements(&f32, &bf16, rank);\n"
                 "    return (int64_t)sizeof(float) * f32 + (int64_t)sizeof(uint16_t) * bf16;\n"
                 "}\n\n");

    char *text = NULL;
    size_t size = 0;
    FILE *body = open_memstream(&text, &size);
    pr->used_rank_sizes = false;
    pr->used_rank = true; /* weight_elements(..., rank) */
    for (int i = 0; i < p->fields.len; i++)
        if (!p->fields.items[i].group)
            print_field_load(pr, body, &p->fields.items[i], "    ");
    for (int gi = 0; gi < g->groups.len; gi++) {
        bool any = false;
        for (int i = 0; i < p->fields.len; i++)
            any |= p->fields.items[i].group == g->groups.items[gi];
        if (!any)
            continue;
        fprintf(body, "    for (int i = 0; i < %" PRId64 "; i++) {\n", g->groups.items[gi]->count);
        fprintf(body, "        struct %s *l = &w->%s[i];\n", p->groups.items[gi],
                c_identifier(pr->a, g->groups.items[gi]->name));
        for (int i = 0; i < p->fields.len; i++)
            if (p->fields.items[i].group == g->groups.items[gi])
                print_field_load(pr, body, &p->fields.items[i], "        ");
        fprintf(body, "    }\n");
    }
    fclose(body);
    fprintf(out, "/* Every weight this rank holds, in one allocation; each tensor read as its slice. */\n"
                 "static void load_weights(Weights *w, TpcrtWeights *src, int rank)\n{\n");
    print_locals(pr, out, NULL);
    fprintf(out, "    int64_t f32, bf16;\n"
                 "    weight_elements(&f32, &bf16, rank);\n"
                 "    float *next = tpcrt_%salloc(sizeof(float) * (size_t)f32, \"weights\");\n"
                 "    w->block = next;\n", pr->cuda ? "cuda_" : "");
    if (pr->cuda)
        fprintf(out, "    void *stage; /* each field is read here, then copied to the device */\n");
    if (bf16)
        fprintf(out, "    uint16_t *next_bf16 = tpcrt_%salloc(sizeof(uint16_t) * (size_t)bf16, "
                     "\"bf16 weights\");\n"
                     "    w->block_bf16 = next_bf16;\n", pr->cuda ? "cuda_" : "");
    else
        fprintf(out, "    (void)bf16;\n");
    fprintf(out, "    tpcrt_load_begin(weight_bytes(rank));\n");
    fputs(text, out);
    fprintf(out, "    tpcrt_load_end();\n%s}\n\n", pr->cuda ? "    tpcrt_cuda_load_end();\n" : "");
    free(text);
}

/* ---- buffers ------------------------------------------------------------------------------- */

/* A term of a buffer's size: symbols bound at run time times a per-rank number, multiplied by
 * tpcrt_size, which ends the job when the product does not fit in 64 bits. */
static const char *term_c(Printer *pr, const Size *s)
{
    if (s->nterms != 1)
        internal_error("a buffer term is one product");
    const SizeTerm *t = &s->terms[0];
    const char *n = per_rank_c(pr, s->name, t->coef);
    if (!t->nsyms)
        return n;
    bool one = !strcmp(n, "1");
    const char *factors = NULL;
    for (int i = 0; i < t->nsyms; i++)
        factors = factors ? arena_printf(pr->a, "%s, %s", factors, pr->p->symbols[t->syms[i]])
                          : pr->p->symbols[t->syms[i]];
    return arena_printf(pr->a, "tpcrt_size(%d, (int64_t[]){%s%s%s})", t->nsyms + !one, factors,
                        one ? "" : ", ", one ? "" : n);
}

static void print_buffers(Printer *pr, FILE *out)
{
    Program *p = pr->p;
    bool *used = arena_array(pr->a, (size_t)p->nsymbols + 1, sizeof *used);
    for (int b = 0; b < p->buffers.len; b++)
        for (int t = 0; t < p->buffers.items[b].nterms; t++)
            mark_symbols(p->buffers.items[b].terms[t], used);
    char *text = NULL;
    size_t size = 0;
    FILE *body = open_memstream(&text, &size);
    pr->used_rank_sizes = pr->used_rank = false;
    for (int b = 0; b < p->buffers.len; b++) {
        const Buffer *buf = &p->buffers.items[b];
        const char *expr = "0";
        for (int t = 0; t < buf->nterms; t++)
            expr = t ? arena_printf(pr->a, "largest(%s, %s)", expr, term_c(pr, buf->terms[t]))
                     : term_c(pr, buf->terms[t]);
        fprintf(body, "    elements[%d] = %s; /* %s */\n", b, expr, buf->name);
    }
    fclose(body);
    fprintf(out, "enum { BUFFERS = %d };\n\n", p->buffers.len ? p->buffers.len : 1);
    fprintf(out, "static int64_t largest(int64_t a, int64_t b)\n{\n    return a > b ? a : b;\n}\n\n");
    fprintf(out, "/* The sizes of the memory plan's buffers for these input shapes: a buffer holds in\n"
                 " * turn the values whose lives do not overlap. */\n"
                 "static void buffer_elements(int64_t *elements, const int64_t *dims, int rank)\n{\n");
    print_locals(pr, out, used);
    fputs(text, out);
    fprintf(out, "}\n\n");
    free(text);
}

/* ---- the file ------------------------------------------------------------------------------ */

static const char launchers[] =
    "/* y = beta y + x w^T for m rows of x (w stored [n, k], as nn.Linear): one row streams w with\n"
    " * sgemv, which reads it once; more rows use sgemm. */\n"
    "static void linear_rows(float *y, int64_t ld_y, const float *x, int64_t ld_x, const float *w,\n"
    "                        int64_t m, int64_t n, int64_t k, float beta)\n"
    "{\n"
    "    if (m == 1)\n"
    "        cblas_sgemv(CblasRowMajor, CblasNoTrans, n, k, 1.0f, w, k, x, 1, beta, y, 1);\n"
    "    else\n"
    "        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, x, ld_x, w, k,\n"
    "                    beta, y, ld_y);\n"
    "}\n\n"
    "/* y = beta y + x w for m rows of x (w stored [k, n], as GPT-2's Conv1D). */\n"
    "static void matmul_rows(float *y, int64_t ld_y, const float *x, int64_t ld_x, const float *w,\n"
    "                        int64_t m, int64_t n, int64_t k, float beta)\n"
    "{\n"
    "    if (m == 1)\n"
    "        cblas_sgemv(CblasRowMajor, CblasTrans, k, n, 1.0f, w, n, x, 1, beta, y, 1);\n"
    "    else\n"
    "        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, x, ld_x, w, n,\n"
    "                    beta, y, ld_y);\n"
    "}\n\n";

/* The attention launcher, on the CPU (BLAS) or --target cuda's device (cuBLAS); `softmax` is
 * the name the program gave kernel_attention_softmax. One text for both: the head loop and the
 * GQA mapping are the same, only the two GEMMs' calls differ. */
void print_attention_launcher(FILE *out, const char *softmax, bool cuda)
{
    fprintf(out,
            "/* Attention over the heads this rank holds, one head's scores at a time: for each\n"
            " * sequence and query head, scores = q k^T in `scores` [seq, past + seq], softmax\n"
            " * (scaled, masked; a kernel), out = scores v (%s). The seq queries of a sequence\n"
            " * are at positions past.. (0 in forward); its keys and values are the first\n"
            " * past + seq of kv_rows rows (forward: seq; generation: the KV cache's context).\n"
            " * Rows of q, k, v and out are ld_* apart (they may be columns of a wider buffer).\n"
            " * Local query head h reads local kv head (first_head + h) / group - first_kv (GQA);\n"
            " * kv_heads is how many this rank holds. Without a mask the softmax is given a\n"
            " * pointer it never reads. */\n"
            "static void attention(float *out, int64_t ld_out, const float *q, int64_t ld_q,\n"
            "                      const float *k, int64_t ld_k, const float *v, int64_t ld_v,\n"
            "                      const float *mask, float *scores, int64_t batch, int64_t seq,\n"
            "                      int64_t past, int64_t kv_rows, int64_t heads, int64_t kv_heads,\n"
            "                      int64_t head_dim, int64_t first_head, int64_t group,\n"
            "                      int64_t first_kv, float scale, int causal)\n"
            "{\n"
            "    int64_t keys = past + seq;\n"
            "    for (int64_t b = 0; b < batch; b++) {\n"
            "        for (int64_t h = 0; h < heads; h++) {\n"
            "            int64_t kv = (first_head + h) / group - first_kv;\n"
            "            if (kv < 0 || kv >= kv_heads)\n"
            "                continue; /* not reached: the plan gives every rank the kv heads it reads */\n"
            "            const float *qh = q + b * seq * ld_q + h * head_dim;\n"
            "            const float *kh = k + b * kv_rows * ld_k + kv * head_dim;\n"
            "            const float *vh = v + b * kv_rows * ld_v + kv * head_dim;\n"
            "            float *oh = out + b * seq * ld_out + h * head_dim;\n",
            cuda ? "cuBLAS" : "BLAS");
    if (cuda)
        fputs("            tpcrt_cuda_sgemm(true, seq, keys, head_dim, 1.0f, qh, ld_q, kh, ld_k, 0.0f,\n"
              "                             scores, keys);\n",
              out);
    else
        fputs("            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, seq, keys, head_dim,\n"
              "                        1.0f, qh, ld_q, kh, ld_k, 0.0f, scores, keys);\n",
              out);
    fprintf(out,
            "            %s(scores, mask ? mask + b * keys : scores, seq, keys, scale, causal, past,\n"
            "                mask != NULL);\n",
            softmax);
    if (cuda)
        fputs("            tpcrt_cuda_sgemm(false, seq, head_dim, keys, 1.0f, scores, keys, vh, ld_v, 0.0f,\n"
              "                             oh, ld_out);\n",
              out);
    else
        fputs("            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, seq, head_dim, keys,\n"
              "                        1.0f, scores, keys, vh, ld_v, 0.0f, oh, ld_out);\n",
              out);
    fputs("        }\n    }\n}\n\n", out);
}

/* Generation's cache append. */
static const char kv_append_launcher[] =
    "/* A step's k or v (cols columns of batch * seq rows, ld apart) into the cache, which holds\n"
    " * kv_rows positions of each sequence: the step's rows go to positions past.. */\n"
    "static void kv_append(float *cache, const float *x, int64_t ld, int64_t batch, int64_t seq,\n"
    "                      int64_t cols, int64_t past, int64_t kv_rows)\n"
    "{\n"
    "    for (int64_t b = 0; b < batch; b++)\n"
    "        for (int64_t s = 0; s < seq; s++)\n"
    "            memcpy(cache + (b * kv_rows + past + s) * cols, x + (b * seq + s) * ld,\n"
    "                   sizeof(float) * (size_t)cols);\n"
    "}\n\n";

/* The kernels: defined here, or (--backend llvm) declared, built by LLVM into NAME_kernels.o. */
static void print_kernels(const Program *p, FILE *out)
{
    if (!p->kernel_prefix) {
        kernel_print_c_prelude(out);
        for (int i = 0; i < p->kernels.len; i++)
            kernel_print_c(out, p->kernels.items[i]);
        return;
    }
    fprintf(out, "/* The kernels, built through LLVM (--backend llvm) for the CPU %s into %s_kernels.o:\n"
                 " * each as the C backend would define it, linked under its name in that object. */\n",
            p->kernel_cpu, p->g->name);
    for (int i = 0; i < p->kernels.len; i++) {
        const Kernel *k = p->kernels.items[i];
        kernel_print_c_declaration(out, k, arena_printf(p->a, "%s%s", p->kernel_prefix, k->name));
    }
}

static void print_tables(Printer *pr, FILE *out)
{
    Program *p = pr->p;
    if (pr->sizes.len) {
        fprintf(out, "/* What differs between ranks: the sizes each holds of uneven splits. */\n"
                     "static const struct RankSizes {\n");
        for (int i = 0; i < pr->sizes.len; i++)
            fprintf(out, "    int64_t %s;\n", pr->sizes.items[i].name);
        fprintf(out, "} rank_sizes[TP] = {\n");
        for (int r = 0; r < pr->tp; r++) {
            fprintf(out, "    {");
            for (int i = 0; i < pr->sizes.len; i++)
                fprintf(out, "%s%" PRId64, i ? ", " : "", pr->sizes.items[i].per_rank[r]);
            fprintf(out, "}, /* rank %d */\n", r);
        }
        fprintf(out, "};\n\n");
    }
    for (int i = 0; i < p->ranges.len; i++) {
        const RangeTable *t = &p->ranges.items[i];
        fprintf(out, "static const TpcrtRange %s[TP][%d] = {", t->name, t->nranges);
        for (int r = 0; r < pr->tp; r++) {
            fprintf(out, "%s{", r ? ", " : "");
            for (int k = 0; k < t->nranges; k++) {
                Range range = t->ranges[r * t->nranges + k];
                fprintf(out, "%s{%" PRId64 ", %" PRId64 "}", k ? ", " : "", range.start, range.end);
            }
            fputc('}', out);
        }
        fprintf(out, "};\n");
    }
    for (int i = 0; i < p->splits.len; i++) {
        const SplitTable *t = &p->splits.items[i];
        fprintf(out, "static const TpcrtRange %s_ranges[] = {", t->name);
        for (int k = 0; k < t->nseg * pr->tp; k++)
            fprintf(out, "%s{%" PRId64 ", %" PRId64 "}", k ? ", " : "", t->ranges[k].start,
                    t->ranges[k].end);
        fprintf(out, "};\nstatic const TpcrtSplit %s = {%d, %s_ranges, %" PRId64 "};\n", t->name,
                t->nseg, t->name, t->full);
    }
    if (p->ranges.len || p->splits.len)
        fputc('\n', out);
}

static const char *header_comment(Printer *pr, const char *source_path)
{
    Graph *g = pr->p->g;
    int per_layer = 0, outside = 0;
    for (Op *op = g->top->first; op; op = ir_walk_next(op, g->top))
        if (op_info[op->kind].flags & OPF_COLLECTIVE)
            (op->block->parent ? &per_layer : &outside)[0]++;
    return arena_printf(pr->a,
                        "/* %s — the forward of every rank for -tp %d, generated by tpc from %s.\n"
                        " * Each rank runs the code below with its own sizes and slices; "
                        "collectives: %d per block, %d outside.\n"
                        " * Run: mpirun -np %d ./%s --weights CHECKPOINT --input NAME=FILE.npy "
                        "--output NAME=FILE.npy\n */\n",
                        g->name, pr->tp, c_comment(pr->a, source_path), per_layer, outside, pr->tp,
                        g->name);
}

/* FNV-1a, 64 bits: the program's fingerprint, which every rank compares at start-up. */
static uint64_t fingerprint(const char *text, size_t size)
{
    uint64_t h = 14695981039346656037u;
    for (size_t i = 0; i < size; i++)
        h = (h ^ (unsigned char)text[i]) * 1099511628211u;
    return h;
}

static void print_decl(Printer *pr, FILE *out, const Value *v, const char *name,
                       const InputInfo *info)
{
    static const char *const randoms[] = {"TPCRT_RANDOM_NORMAL", "TPCRT_RANDOM_IDS",
                                          "TPCRT_RANDOM_ONES"};
    static const char *const roles[] = {"TPCRT_ROLE_NONE", "TPCRT_ROLE_TOKENS",
                                        "TPCRT_ROLE_TOKEN_TYPES", "TPCRT_ROLE_MASK"};
    fprintf(out, "    {%s, %s, %d, {", c_string(pr->a, name),
            v->dtype == DT_I32 ? "TPCRT_I32" : "TPCRT_F32", v->shape.rank);
    for (int d = 0; d < v->shape.rank; d++) {
        Dim dim = v->shape.dims[d];
        fprintf(out, "%s%s", d ? ", " : "",
                dim.sym >= 0 ? c_string(pr->a, pr->p->g->symbols.items[dim.sym]) : "NULL");
    }
    fprintf(out, "}, {");
    for (int d = 0; d < v->shape.rank; d++)
        fprintf(out, "%s%" PRId64, d ? ", " : "",
                v->shape.dims[d].sym >= 0 ? 0 : v->shape.dims[d].size);
    fprintf(out, "}, %s, %" PRId64 ", %s},\n", randoms[info ? info->random : RANDOM_NORMAL],
            info ? info->id_limit : 0, roles[info ? info->role : ROLE_NONE]);
}

static void print_program_decl(Printer *pr, FILE *out, uint64_t hash)
{
    Graph *g = pr->p->g;
    const Op *ret = g->top->last;
    fprintf(out, "static const TpcrtTensorDecl inputs[] = {\n");
    for (int i = 0; i < g->inputs.len; i++)
        print_decl(pr, out, g->inputs.items[i], g->inputs.items[i]->name, &pr->p->input_info[i]);
    fprintf(out, "};\nstatic const TpcrtTensorDecl outputs[] = {\n");
    for (int i = 0; i < ret->nargs; i++)
        print_decl(pr, out, ret->args[i], g->output_names.items[i], NULL);
    fprintf(out, "};\n/* The last field is the fingerprint of everything above it: ranks compare it. */\n"
                 "static const TpcrtProgram program = {%s, TP, %d, %d, inputs, outputs,\n"
                 "                                     %s,\n"
                 "                                     0x%016" PRIx64 "u};\n\n",
            c_string(pr->a, g->name), g->inputs.len, ret->nargs,
            pr->p->no_generation ? c_string(pr->a, pr->p->no_generation) : "NULL", hash);
}

/* The i-th dimension of v, as main computes it: a number or a bound symbol. */
const char *main_dim(Printer *pr, const Value *v, int d)
{
    Dim dim = v->shape.dims[d];
    return dim.sym >= 0 ? arena_printf(pr->a, "dims[%d]", dim.sym)
                        : arena_printf(pr->a, "%" PRId64, dim.size);
}

static void print_main(Printer *pr, FILE *out)
{
    Graph *g = pr->p->g;
    fprintf(out, "/* The command line (docs/cli.md); %s_main.c's main runs it. */\n"
                 "int %s_main(int argc, char **argv)\n{\n", g->name, g->name);
    fprintf(out, "    TpcrtArgs args;\n"
                 "    tpcrt_init(&argc, &argv, &program, &args);\n"
                 "    int rank = tpcrt_rank();\n"
                 "    TpcrtDims bound = {0};\n"
                 "    void *in[%d];\n"
                 "    tpcrt_inputs_load(&program, &args, &bound, in);\n"
                 "    int64_t dims[%d];\n", g->inputs.len ? g->inputs.len : 1,
            pr->p->nsymbols ? pr->p->nsymbols : 1);
    for (int i = 0; i < g->symbols.len; i++)
        fprintf(out, "    dims[%d] = tpcrt_dim(&bound, %s);\n", i,
                c_string(pr->a, g->symbols.items[i]));
    fprintf(out, "    int64_t elements[BUFFERS];\n"
                 "    buffer_elements(elements, dims, rank);\n");
    if (pr->p->generation)
        print_generation_main(pr, out);
    fprintf(out, "    /* every rank runs this program with the same arguments, and fits its node */\n"
                 "    tpcrt_check_start(&program, &args, &bound,\n"
                 "                      weight_bytes(rank),\n"
                 "                      tpcrt_buffers_bytes(elements, BUFFERS)%s);\n\n"
                 "    TpcrtWeights *src = tpcrt_weights_open(&args);\n"
                 "    static Weights w;\n"
                 "    load_weights(&w, src, rank);\n"
                 "    tpcrt_weights_close(src);\n"
                 "    float *buf[BUFFERS];\n"
                 "    float *block = tpcrt_buffers_alloc(buf, elements, BUFFERS);\n\n",
            pr->p->generation ? " + cache_bytes" : "");
    bool gen = pr->p->generation != NULL;
    fprintf(out, "%s"
                 "    tpcrt_stats_report(&args, weight_bytes(rank), %s);\n"
                 "    for (int k = 0; k < %d; k++)\n"
                 "        tpcrt_free(in[k]);\n"
                 "    tpcrt_free(w.block);\n"
                 "%s"
                 "    tpcrt_free(block);\n"
                 "    tpcrt_finalize();\n"
                 "    return 0;\n}\n",
            gen ? "    int64_t kv_bytes = 0; /* --generate's KV cache, for --stats */\n"
                  "    if (args.generate > 0)\n"
                  "        kv_bytes = generate(&w, buf, in, dims, rank, &args, cache_sizes);\n"
                  "    else\n"
                  "        run_forward(&w, buf, in, dims, rank, &args);\n"
                : "    run_forward(&w, buf, in, dims, rank, &args);\n",
            gen ? "kv_bytes" : "0", g->inputs.len,
            pr->p->weight_elements_bf16 ? "    tpcrt_free(w.block_bf16);\n" : "");
}

void print_bench_tokens(Printer *pr, FILE *out)
{
    const Graph *g = pr->p->g;
    fprintf(out, "        int64_t tokens = 1;\n");
    const Value *first = g->inputs.len ? g->inputs.items[0] : NULL;
    for (int d = 0; first && d < first->shape.rank - (first->dtype == DT_F32 ? 1 : 0); d++)
        fprintf(out, "        tokens *= %s;\n", main_dim(pr, first, d));
}

const char *output_ref_c(Printer *pr, int i)
{
    Ref r = pr->p->outputs[i];
    if (r.offset && r.offset->nterms)
        internal_error("an output that is a view");
    return arena_printf(pr->a, "%s[%d]", r.kind == REF_INPUT ? "in" : "buf", r.index);
}

/* The command line's forward: once, --bench more times, then the outputs (rank 0 writes). */
static void print_run_forward(Printer *pr, FILE *out)
{
    Graph *g = pr->p->g;
    const Op *ret = g->top->last;
    fprintf(out, "/* One forward, then --bench timed ones; rank 0 writes or shows the outputs. */\n"
                 "static void run_forward(const Weights *w, float *const *buf, void *const *in,\n"
                 "                        const int64_t *dims, int rank, const TpcrtArgs *args)\n"
                 "{\n"
                 "    forward(w, buf, in, dims, rank);\n"
                 "    if (args->bench > 0) {\n"
                 "        double *times = tpcrt_alloc(sizeof(double) * (size_t)args->bench, \"bench\");\n"
                 "        forward(w, buf, in, dims, rank); /* warm-up */\n"
                 "        double collectives = tpcrt_collective_seconds();\n"
                 "        for (int k = 0; k < args->bench; k++) {\n"
                 "            double start = tpcrt_now();\n"
                 "            forward(w, buf, in, dims, rank);\n"
                 "            times[k] = tpcrt_now() - start;\n"
                 "        }\n");
    print_bench_tokens(pr, out);
    fprintf(out, "        tpcrt_bench_report(times, args->bench, tokens,\n"
                 "                           tpcrt_collective_seconds() - collectives);\n"
                 "        tpcrt_free(times);\n"
                 "    }\n");
    for (int i = 0; i < ret->nargs; i++) {
        const Value *v = ret->args[i];
        fprintf(out, "    tpcrt_output_write(&program, args, %d, %s, %d, (int64_t[]){", i,
                output_ref_c(pr, i), v->shape.rank);
        for (int d = 0; d < v->shape.rank; d++)
            fprintf(out, "%s%s", d ? ", " : "", main_dim(pr, v, d));
        fprintf(out, "});\n");
    }
    fprintf(out, "}\n\n");
}

char *print_c(Program *p, const char *source_path, bool cuda, size_t *size)
{
    Printer pr = {.p = p, .a = p->a, .tp = p->tp, .cuda = cuda};
    strmap_init(&pr.size_names, p->a);
    /* The sections that name per-rank sizes come first, into memory: the table of them is
     * printed above them. */
    char *weights = NULL, *buffers = NULL, *forward = NULL, *driver = NULL;
    size_t weights_size = 0, buffers_size = 0, forward_size = 0, driver_size = 0;
    FILE *wf = open_memstream(&weights, &weights_size);
    FILE *bf = open_memstream(&buffers, &buffers_size);
    FILE *ff = open_memstream(&forward, &forward_size);
    FILE *df = open_memstream(&driver, &driver_size);
    if (!wf || !bf || !ff || !df)
        internal_error("open_memstream: %s", strerror(errno));
    print_weights_struct(&pr, wf);
    print_loader(&pr, wf);
    print_buffers(&pr, bf);
    print_forward(&pr, ff);
    print_generation(&pr, ff);
    print_generation_driver(&pr, df);
    fclose(wf);
    fclose(bf);
    fclose(ff);
    fclose(df);

    char *text = NULL;
    FILE *out = open_memstream(&text, size);
    if (!out)
        internal_error("open_memstream: %s", strerror(errno));
    fputs(header_comment(&pr, source_path), out);
    fprintf(out, "#include <mpi.h> /* first: tpcrt.h then declares tpcrt_attach */\n\n"
                 "#include \"%s.h\"\n#include \"tpcrt.h\"\n%s\n%s#include <math.h>\n",
            p->g->name, cuda ? "#include \"tpcrt_cuda.h\"\n" : "", cuda ? "" : "#include <cblas.h>\n");
    fprintf(out, "#include <stdint.h>\n#include <stdio.h>\n#include <string.h>\n\n"
                 "enum { TP = %d };\n\n", p->tp);
    if (cuda) {
        print_cuda_launchers(&pr, out);
    } else {
        print_kernels(p, out);
        fputs(launchers, out);
        if (p->attention_softmax >= 0)
            print_attention_launcher(out, p->kernels.items[p->attention_softmax]->name, false);
        if (p->generation)
            fputs(kv_append_launcher, out);
    }
    if (!pr.sizes.len)
        fprintf(out, "struct RankSizes;\n\n");
    print_tables(&pr, out);
    fputs(weights, out);
    fputs(buffers, out);
    fputs(forward, out);
    fflush(out);
    print_program_decl(&pr, out, fingerprint(text, *size));
    fputs(driver, out);
    if (cuda) {
        print_cuda_run_forward(&pr, out);
        print_cuda_main(&pr, out);
    } else {
        print_run_forward(&pr, out);
        print_main(&pr, out);
        fputc('\n', out);
        print_library(&pr, out);
    }
    fclose(out);
    free(weights);
    free(buffers);
    free(forward);
    free(driver);
    return text;
}
