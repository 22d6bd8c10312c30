/* print_kernel_c.c — the C backend of the kernel form: each kernel a static function.
 *
 * Buffers are plain pointers: elementwise kernels run in place (out == x), which restrict
 * would forbid. The innermost loops carry `#pragma omp simd`, with the reductions they make
 * named, so that gcc vectorises them under -fopenmp-simd (an element is read before it is
 * written, so in place is safe). Math goes through helpers that vectorise (tpc_expf and the
 * ones built on it) rather than libm calls that do not.
 */
#include "codegen.h"
#include "kernel.h"

#include <string.h>

static const char *type_name(KType t)
{
    switch (t) {
    case KT_INT: return "int64_t";
    case KT_F32: return "float";
    case KT_I32: return "int32_t";
    case KT_F64: return "double";
    }
    return "?";
}

/* The C backend's names of math functions: ones that vectorise (the prelude's) for f32. */
static const char *const f32_calls[KF_COUNT] = {
    [KF_EXP] = "tpc_expf", [KF_TANH] = "tpc_tanhf", [KF_ERF] = "tpc_erff",
    [KF_SQRT] = "sqrtf", [KF_RSQRT] = "tpc_rsqrtf", [KF_SIN] = "sinf", [KF_COS] = "cosf",
    [KF_POW] = "powf", [KF_MAX] = "tpc_maxf", [KF_MIN] = "tpc_minf", [KF_ABS] = "fabsf"};

const char *kernel_c_type(KType t)
{
    return type_name(t);
}

void kernel_print_expr(FILE *out, const Kernel *k, const KExpr *e, const char *const *calls)
{
    static const char *const ops[] = {[KB_ADD] = "+", [KB_SUB] = "-", [KB_MUL] = "*",
                                      [KB_DIV] = "/", [KB_MOD] = "%", [KB_LT] = "<",
                                      [KB_LE] = "<=", [KB_EQ] = "==", [KB_AND] = "&&"};
    static const char *const f64_calls[KF_COUNT] = {
        [KF_EXP] = "exp", [KF_TANH] = "tanh", [KF_ERF] = "erf", [KF_SQRT] = "sqrt",
        [KF_RSQRT] = "1.0 / sqrt", [KF_SIN] = "sin", [KF_COS] = "cos", [KF_POW] = "pow",
        [KF_MAX] = "fmax", [KF_MIN] = "fmin", [KF_ABS] = "fabs"};
    switch (e->kind) {
    case KX_INT: fprintf(out, "%lld", (long long)e->i); break;
    case KX_FLOAT: {
        char num[48];
        c_number(num, sizeof num, e->f, e->type != KT_F64);
        fputs(num, out);
        break;
    }
    case KX_PARAM: fputs(k->params[e->index].name, out); break;
    case KX_VAR: fputs(k->vars[e->index], out); break;
    case KX_LOAD:
        fprintf(out, "%s[", k->params[e->index].name);
        kernel_print_expr(out, k, e->a, calls);
        fputc(']', out);
        break;
    case KX_CALL:
        fprintf(out, "%s(", (e->type == KT_F64 ? f64_calls : calls)[e->op]);
        kernel_print_expr(out, k, e->a, calls);
        if (e->b) {
            fputs(", ", out);
            kernel_print_expr(out, k, e->b, calls);
        }
        fputc(')', out);
        break;
    case KX_BINARY:
        fputc('(', out);
        kernel_print_expr(out, k, e->a, calls);
        fprintf(out, " %s ", ops[e->op]);
        kernel_print_expr(out, k, e->b, calls);
        fputc(')', out);
        break;
    case KX_SELECT:
        fputc('(', out);
        kernel_print_expr(out, k, e->a, calls);
        fputs(" ? ", out);
        kernel_print_expr(out, k, e->b, calls);
        fputs(" : ", out);
        kernel_print_expr(out, k, e->c, calls);
        fputc(')', out);
        break;
    case KX_CAST:
        fprintf(out, "(%s)", type_name(e->type));
        kernel_print_expr(out, k, e->a, calls);
        break;
    }
}

static bool has_loop(const KStmt *s)
{
    for (; s; s = s->next)
        if (s->kind == KS_FOR || (s->kind == KS_IF && (has_loop(s->body) || has_loop(s->orelse))))
            return true;
    return false;
}

/* The loop's reductions (KS_REDUCE), which omp simd runs in parallel lanes. */
static void print_reductions(FILE *out, const Kernel *k, const KStmt *body)
{
    for (const KStmt *s = body; s; s = s->next)
        if (s->kind == KS_REDUCE)
            fprintf(out, " reduction(%s:%s)", s->reduce == KR_SUM ? "+" : "max", k->vars[s->var]);
}

static void print_stmts(FILE *out, const Kernel *k, const KStmt *s, int depth)
{
    for (; s; s = s->next) {
        fprintf(out, "%*s", 4 * depth, "");
        switch (s->kind) {
        case KS_FOR:
            if (!has_loop(s->body)) {
                fprintf(out, "#pragma omp simd");
                print_reductions(out, k, s->body);
                fprintf(out, "\n%*s", 4 * depth, "");
            }
            fprintf(out, "for (int64_t %s = ", k->vars[s->var]);
            kernel_print_expr(out, k, s->lo, f32_calls);
            fprintf(out, "; %s < ", k->vars[s->var]);
            kernel_print_expr(out, k, s->hi, f32_calls);
            fprintf(out, "; %s++) {\n", k->vars[s->var]);
            print_stmts(out, k, s->body, depth + 1);
            fprintf(out, "%*s}\n", 4 * depth, "");
            break;
        case KS_LET:
            fprintf(out, "%s %s = ", type_name(k->var_types[s->var]), k->vars[s->var]);
            kernel_print_expr(out, k, s->value, f32_calls);
            fputs(";\n", out);
            break;
        case KS_ASSIGN:
            fprintf(out, "%s = ", k->vars[s->var]);
            kernel_print_expr(out, k, s->value, f32_calls);
            fputs(";\n", out);
            break;
        case KS_REDUCE: {
            const char *v = k->vars[s->var];
            if (s->reduce == KR_SUM)
                fprintf(out, "%s = (%s + ", v, v);
            else
                fprintf(out, "%s = %s(%s, ", v, k->var_types[s->var] == KT_F64 ? "fmax" : "tpc_maxf",
                        v);
            kernel_print_expr(out, k, s->value, f32_calls);
            fputs(");\n", out);
            break;
        }
        case KS_STORE:
            fprintf(out, "%s[", k->params[s->buffer].name);
            kernel_print_expr(out, k, s->index, f32_calls);
            fputs("] = ", out);
            kernel_print_expr(out, k, s->value, f32_calls);
            fputs(";\n", out);
            break;
        case KS_IF:
            fputs("if (", out);
            kernel_print_expr(out, k, s->value, f32_calls);
            fputs(") {\n", out);
            print_stmts(out, k, s->body, depth + 1);
            if (s->orelse) {
                fprintf(out, "%*s} else {\n", 4 * depth, "");
                print_stmts(out, k, s->orelse, depth + 1);
            }
            fprintf(out, "%*s}\n", 4 * depth, "");
            break;
        }
    }
}

void kernel_print_c_params(FILE *out, const Kernel *k, int indent)
{
    for (int i = 0; i < k->nparams; i++) {
        const KParam *p = &k->params[i];
        if (i)
            fputs(i % 4 == 0 ? ",\n" : ", ", out);
        if (i && i % 4 == 0)
            fprintf(out, "%*s", indent, "");
        if (p->buffer)
            fprintf(out, "%s%s *%s", p->written ? "" : "const ", type_name(p->type), p->name);
        else
            fprintf(out, "%s %s", type_name(p->type), p->name);
    }
}

void kernel_print_c(FILE *out, const Kernel *k)
{
    fprintf(out, "/* %s */\nstatic void %s(", k->comment, k->name);
    kernel_print_c_params(out, k, (int)strlen(k->name) + 13);
    fputs(")\n{\n", out);
    print_stmts(out, k, k->body, 1);
    fputs("}\n\n", out);
}

void kernel_print_c_declaration(FILE *out, const Kernel *k, const char *symbol)
{
    fprintf(out, "/* %s */\nextern void %s(", k->comment, k->name);
    kernel_print_c_params(out, k, (int)strlen(k->name) + 13);
    fprintf(out, ") __asm__(\"%s\");\n\n", symbol);
}

void kernel_print_c_prelude(FILE *out)
{
    fputs("/* Math that vectorises (with -fno-trapping-math, which the Makefile gives: no libm call,\n"
          " * no fminf, whose NaN rules gcc will not turn into vector code): expf by range reduction\n"
          " * (x = n ln2 + r) and Cephes' degree-6 polynomial for e^r, scaled by 2^n through the\n"
          " * exponent bits (relative error below 2e-7); tanh and erf built on it; rsqrt as 1/sqrt. */\n"
          "static inline float tpc_maxf(float a, float b)\n"
          "{\n"
          "    return a > b ? a : b;\n"
          "}\n\n"
          "static inline float tpc_minf(float a, float b)\n"
          "{\n"
          "    return a < b ? a : b;\n"
          "}\n\n"
          "static inline float tpc_expf(float x)\n"
          "{\n"
          "    float in = x;\n"
          "    x = x < -87.3f ? -87.3f : x > 88.7f ? 88.7f : x == x ? x : 0.0f; /* NaN: below */\n"
          "    float n = floorf(x * 1.44269504f + 0.5f);\n"
          "    float r = x - n * 0.693359375f + n * 2.12194440e-4f;\n"
          "    float p = 1.9875691500e-4f;\n"
          "    p = p * r + 1.3981999507e-3f;\n"
          "    p = p * r + 8.3334519073e-3f;\n"
          "    p = p * r + 4.1665795894e-2f;\n"
          "    p = p * r + 1.6666665459e-1f;\n"
          "    p = p * r + 5.0000001201e-1f;\n"
          "    p = p * r * r + r + 1.0f;\n"
          "    int32_t bits = ((int32_t)n + 127) << 23;\n"
          "    float scale;\n"
          "    memcpy(&scale, &bits, sizeof scale);\n"
          "    return in == in ? p * scale : in; /* NaN in, NaN out */\n"
          "}\n\n"
          "static inline float tpc_tanhf(float x)\n"
          "{\n"
          "    float e = tpc_expf(-2.0f * fabsf(x));\n"
          "    float t = (1.0f - e) / (1.0f + e);\n"
          "    return x < 0 ? -t : t;\n"
          "}\n\n"
          "/* erf by Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7). */\n"
          "static inline float tpc_erff(float x)\n"
          "{\n"
          "    float a = fabsf(x), t = 1.0f / (1.0f + 0.3275911f * a);\n"
          "    float p = t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f\n"
          "              + t * (-1.453152027f + t * 1.061405429f))));\n"
          "    float y = 1.0f - p * tpc_expf(-a * a);\n"
          "    return x < 0 ? -y : y;\n"
          "}\n\n"
          "static inline float tpc_rsqrtf(float x)\n"
          "{\n"
          "    return 1.0f / sqrtf(x);\n"
          "}\n\n",
          out);
}
