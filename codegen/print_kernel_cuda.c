/* print_kernel_cuda.c — the CUDA backend of the kernel form: each kernel a __global__ function
 * and a launcher with the C backend's signature, so the host code calls it as it calls a C
 * kernel.
 *
 * The mapping, from the form's one promise (kernel.h: the outermost loop is over independent
 * rows, the innermost loops over contiguous elements):
 *   - a kernel that is one loop with loops inside runs a row per block (a grid-stride loop over
 *     blocks); a kernel that is one loop with none inside runs an element per thread over the
 *     whole grid; anything else (and a kernel whose rows move in place: serial_rows) runs in
 *     one block;
 *   - within a block, every innermost loop is spread over the block's threads (thread t takes
 *     elements t, t + blockDim.x, ...); every other statement runs in every thread alike (its
 *     values are the same in all: they depend on rows and parameters only), except a store,
 *     which thread 0 makes;
 *   - a reduction in an innermost loop is each thread's partial, then tpc_block_sum / max
 *     (warp shuffles, then the warps' partials through shared memory), whose result every
 *     thread gets, bit for bit the same;
 *   - after a loop that stores, __syncthreads(): the next loop may read what another thread
 *     wrote, as the sequential C reads what an earlier iteration wrote.
 * Math is CUDA's (expf, rsqrtf, ...): within a few ulp of the C path's.
 */
#include "codegen.h"
#include "kernel.h"

#include <string.h>

enum { BLOCK_THREADS = 256 };

static const char *const cuda_calls[KF_COUNT] = {
    [KF_EXP] = "expf", [KF_TANH] = "tanhf", [KF_ERF] = "erff", [KF_SQRT] = "sqrtf",
    [KF_RSQRT] = "rsqrtf", [KF_SIN] = "sinf", [KF_COS] = "cosf", [KF_POW] = "powf",
    [KF_MAX] = "tpc_maxf", [KF_MIN] = "tpc_minf", [KF_ABS] = "fabsf"};

bool kernel_has_loop(const KStmt *s)
{
    for (; s; s = s->next)
        if (s->kind == KS_FOR || (s->kind == KS_IF && (kernel_has_loop(s->body) ||
                                                       kernel_has_loop(s->orelse))))
            return true;
    return false;
}

static bool has_reduce(const KStmt *s)
{
    for (; s; s = s->next)
        if (s->kind == KS_REDUCE || (s->kind == KS_IF && (has_reduce(s->body) ||
                                                          has_reduce(s->orelse))))
            return true;
    return false;
}

bool kernel_stores(const KStmt *s)
{
    for (; s; s = s->next)
        if (s->kind == KS_STORE || kernel_stores(s->body) || kernel_stores(s->orelse))
            return true;
    return false;
}

KernelMapping kernel_cuda_mapping(const Kernel *k)
{
    const KStmt *top = k->body;
    if (!top || top->next || top->kind != KS_FOR || k->serial_rows)
        return MAP_BLOCK;
    if (kernel_has_loop(top->body))
        return MAP_ROWS;
    return has_reduce(top->body) ? MAP_BLOCK : MAP_ELEMENTS;
}

static void expr(FILE *out, const Kernel *k, const KExpr *e)
{
    kernel_print_expr(out, k, e, cuda_calls);
}

static void indent(FILE *out, int depth)
{
    fprintf(out, "%*s", 4 * depth, "");
}

/* var = var op value, as the C backend writes a reduction step. */
static void reduce_step(FILE *out, const Kernel *k, const KStmt *s)
{
    const char *v = k->vars[s->var];
    if (s->reduce == KR_SUM)
        fprintf(out, "%s = (%s + ", v, v);
    else
        fprintf(out, "%s = %s(%s, ", v, k->var_types[s->var] == KT_F64 ? "fmax" : "tpc_maxf", v);
    expr(out, k, s->value);
    fputs(");\n", out);
}

typedef void StmtsPrinter(FILE *out, const Kernel *k, const KStmt *s, int depth);

/* if (cond) { body } else { orelse }, each branch by `stmts` (the line's indent is printed). */
static void print_if(FILE *out, const Kernel *k, const KStmt *s, int depth, StmtsPrinter *stmts)
{
    fputs("if (", out);
    expr(out, k, s->value);
    fputs(") {\n", out);
    stmts(out, k, s->body, depth + 1);
    if (s->orelse) {
        indent(out, depth);
        fputs("} else {\n", out);
        stmts(out, k, s->orelse, depth + 1);
    }
    indent(out, depth);
    fputs("}\n", out);
}

/* Statements each thread runs on its own elements (the body of a spread loop). */
static void thread_stmts(FILE *out, const Kernel *k, const KStmt *s, int depth)
{
    for (; s; s = s->next) {
        indent(out, depth);
        switch (s->kind) {
        case KS_LET:
            fprintf(out, "%s %s = ", kernel_c_type(k->var_types[s->var]), k->vars[s->var]);
            expr(out, k, s->value);
            fputs(";\n", out);
            break;
        case KS_ASSIGN:
            fprintf(out, "%s = ", k->vars[s->var]);
            expr(out, k, s->value);
            fputs(";\n", out);
            break;
        case KS_REDUCE: reduce_step(out, k, s); break;
        case KS_STORE:
            fprintf(out, "%s[", k->params[s->buffer].name);
            expr(out, k, s->index);
            fputs("] = ", out);
            expr(out, k, s->value);
            fputs(";\n", out);
            break;
        case KS_IF: print_if(out, k, s, depth, thread_stmts); break;
        case KS_FOR: internal_error("kernel %s: a loop inside an innermost loop", k->name);
        }
    }
}

/* The reductions of a spread loop's body (not inside its ifs: the builders put them at the
 * loop's top level). */
/* Whether the statement before a loop set var to its reduction's identity (0, or the lowest
 * float for max): then each thread's partial may start from it and nothing is carried. */
bool kernel_starts_at_identity(const KStmt *before, int var, KReduce op)
{
    for (; before; before = before->next)
        if ((before->kind == KS_LET || before->kind == KS_ASSIGN) && before->var == var)
            return before->value->kind == KX_FLOAT &&
                   (op == KR_SUM ? before->value->f == 0 : before->value->f <= -3.4028234e38);
    return false;
}

static void spread_loop(FILE *out, const Kernel *k, const KStmt *s, const KStmt *block, int depth)
{
    const char *v = k->vars[s->var];
    for (const KStmt *t = s->body; t; t = t->next)
        if (t->kind == KS_REDUCE && !kernel_starts_at_identity(block, t->var, t->reduce)) {
            /* each thread's partial starts from the identity; what the variable held before the
             * loop is combined with the block's total after it */
            const char *r = k->vars[t->var];
            bool f64 = k->var_types[t->var] == KT_F64;
            indent(out, depth);
            fprintf(out, "const %s %s_before = %s;\n", kernel_c_type(k->var_types[t->var]), r, r);
            indent(out, depth);
            fprintf(out, "%s = %s;\n", r,
                    t->reduce == KR_SUM ? (f64 ? "0.0" : "0.0f")
                                        : (f64 ? "-1.79769313486231570e+308" : "-3.40282347e+38f"));
        }
    indent(out, depth);
    fprintf(out, "for (int64_t %s = ", v);
    if (s->lo->kind != KX_INT || s->lo->i != 0) {
        expr(out, k, s->lo);
        fputs(" + ", out);
    }
    fprintf(out, "threadIdx.x; %s < ", v);
    expr(out, k, s->hi);
    fprintf(out, "; %s += blockDim.x) {\n", v);
    thread_stmts(out, k, s->body, depth + 1);
    indent(out, depth);
    fputs("}\n", out);
    for (const KStmt *t = s->body; t; t = t->next)
        if (t->kind == KS_REDUCE) {
            const char *r = k->vars[t->var];
            bool carried = !kernel_starts_at_identity(block, t->var, t->reduce);
            indent(out, depth);
            if (t->reduce == KR_SUM && carried)
                fprintf(out, "%s = %s_before + tpc_block_sum(%s);\n", r, r, r);
            else if (t->reduce == KR_SUM)
                fprintf(out, "%s = tpc_block_sum(%s);\n", r, r);
            else if (carried)
                fprintf(out, "%s = tpc_max(%s_before, tpc_block_max(%s));\n", r, r, r);
            else
                fprintf(out, "%s = tpc_block_max(%s);\n", r, r);
        }
    if (kernel_stores(s->body)) {
        indent(out, depth);
        fputs("__syncthreads(); /* what it stored, for every thread's next reads */\n", out);
    }
}

/* Statements the whole block runs alike; innermost loops are spread over its threads. */
static void block_stmts(FILE *out, const Kernel *k, const KStmt *s, int depth)
{
    const KStmt *block = s;
    for (; s; s = s->next) {
        switch (s->kind) {
        case KS_FOR:
            if (!kernel_has_loop(s->body)) {
                spread_loop(out, k, s, block, depth);
                break;
            }
            indent(out, depth);
            fprintf(out, "for (int64_t %s = ", k->vars[s->var]);
            expr(out, k, s->lo);
            fprintf(out, "; %s < ", k->vars[s->var]);
            expr(out, k, s->hi);
            fprintf(out, "; %s++) {\n", k->vars[s->var]);
            block_stmts(out, k, s->body, depth + 1);
            indent(out, depth);
            fputs("}\n", out);
            break;
        case KS_STORE:
            indent(out, depth);
            fputs("if (threadIdx.x == 0)\n", out);
            thread_stmts(out, k, &(KStmt){.kind = KS_STORE, .buffer = s->buffer,
                                          .index = s->index, .value = s->value},
                         depth + 1);
            indent(out, depth);
            fputs("__syncthreads();\n", out);
            break;
        case KS_IF:
            indent(out, depth);
            print_if(out, k, s, depth, block_stmts);
            break;
        case KS_LET:
        case KS_ASSIGN:
        case KS_REDUCE: { /* outside a spread loop a reduction is a plain step, in every thread */
            KStmt one = *s;
            one.next = NULL;
            thread_stmts(out, k, &one, depth);
            break;
        }
        }
    }
}

/* The outermost loop spread over the grid: `for (v = lo + start; v < hi; v += stride)`, its
 * body at the block's level (a row per block) or the thread's (an element per thread). */
static void grid_loop(FILE *out, const Kernel *k, const KStmt *top, const char *start,
                      const char *stride, bool per_block)
{
    const char *v = k->vars[top->var];
    fprintf(out, "    for (int64_t %s = ", v);
    if (top->lo->kind != KX_INT || top->lo->i != 0) {
        expr(out, k, top->lo);
        fputs(" + ", out);
    }
    fprintf(out, "%s; %s < ", start, v);
    expr(out, k, top->hi);
    fprintf(out, "; %s += %s) {\n", v, stride);
    if (per_block)
        block_stmts(out, k, top->body, 2);
    else
        thread_stmts(out, k, top->body, 2);
    fputs("    }\n", out);
}

static void print_global(FILE *out, const Kernel *k, KernelMapping map)
{
    fprintf(out, "__global__ void __launch_bounds__(%d) %s_kernel(", BLOCK_THREADS, k->name);
    kernel_print_c_params(out, k, (int)strlen(k->name) + 53);
    fputs(")\n{\n", out);
    switch (map) {
    case MAP_ROWS: grid_loop(out, k, k->body, "blockIdx.x", "gridDim.x", true); break;
    case MAP_ELEMENTS:
        grid_loop(out, k, k->body, "(int64_t)blockIdx.x * blockDim.x + threadIdx.x",
                  "(int64_t)gridDim.x * blockDim.x", false);
        break;
    case MAP_BLOCK: block_stmts(out, k, k->body, 1); break;
    }
    fputs("}\n\n", out);
}

/* The launcher: the C kernel's signature; the grid from the outermost loop's count. */
void kernel_print_cuda_grid(FILE *out, const Kernel *k)
{
    KernelMapping map = kernel_cuda_mapping(k);
    const KStmt *top = k->body;
    if (map == MAP_BLOCK) {
        fputs("    int64_t tpc_blocks = 1;\n", out);
    } else {
        fputs("    int64_t tpc_count = ", out);
        expr(out, k, top->hi);
        if (top->lo->kind != KX_INT || top->lo->i != 0) {
            fputs(" - ", out);
            expr(out, k, top->lo);
        }
        fputs(";\n    if (tpc_count <= 0)\n        return;\n", out);
        if (map == MAP_ROWS)
            fputs("    int64_t tpc_blocks = tpc_count < TPC_MAX_BLOCKS ? tpc_count : TPC_MAX_BLOCKS;\n",
                  out);
        else
            fprintf(out, "    int64_t tpc_blocks = (tpc_count + %d) / %d;\n"
                         "    tpc_blocks = tpc_blocks < TPC_MAX_BLOCKS ? tpc_blocks : TPC_MAX_BLOCKS;\n",
                    BLOCK_THREADS - 1, BLOCK_THREADS);
    }
}

static void print_launcher(FILE *out, const Kernel *k)
{
    fprintf(out, "extern \"C\" void %s(", k->name);
    kernel_print_c_params(out, k, (int)strlen(k->name) + 17);
    fputs(")\n{\n", out);
    kernel_print_cuda_grid(out, k);
    fprintf(out, "    TPC_LAUNCH(%s_kernel, (unsigned)tpc_blocks, %d, tpcrt_cuda_stream())(", k->name,
            BLOCK_THREADS);
    for (int i = 0; i < k->nparams; i++)
        fprintf(out, "%s%s", i ? ", " : "", k->params[i].name);
    fprintf(out, ");\n    tpcrt_cuda_launched(\"%s\");\n}\n\n", k->name);
}

void kernel_print_cuda(FILE *out, const Kernel *k)
{
    KernelMapping map = kernel_cuda_mapping(k);
    static const char *const how[] = {[MAP_ROWS] = "a row per block",
                                       [MAP_ELEMENTS] = "an element per thread",
                                       [MAP_BLOCK] = "one block"};
    fprintf(out, "/* %s (%s) */\n", k->comment, how[map]);
    print_global(out, k, map);
    print_launcher(out, k);
}

void kernel_print_cuda_prelude(FILE *out)
{
    fputs("/* The launch: nvcc's <<<grid, block, shared, stream>>>, or the CPU harness's call\n"
          " * (runtime/cudasim, docs/cudasim.md), which runs the same kernel under the CUDA\n"
          " * execution model. */\n"
          "#ifdef __CUDACC__\n"
          "#define TPC_LAUNCH(kernel, grid, block, stream) kernel<<<grid, block, 0, stream>>>\n"
          "#else\n"
          "#define TPC_LAUNCH(kernel, grid, block, stream) \\\n"
          "    cudasim_launch(kernel, #kernel, grid, block, 0, stream)\n"
          "#endif\n\n"
          "enum { TPC_MAX_BLOCKS = 65535 }; /* more rows go round a grid-stride loop */\n\n"
          "/* libtpcrt's (runtime/cuda/tpcrt_cuda.h) */\n"
          "extern \"C\" cudaStream_t tpcrt_cuda_stream(void);\n"
          "extern \"C\" void tpcrt_cuda_launched(const char *kernel);\n\n"
          "static __device__ __forceinline__ float tpc_maxf(float a, float b)\n"
          "{\n"
          "    return a > b ? a : b;\n"
          "}\n\n"
          "static __device__ __forceinline__ float tpc_minf(float a, float b)\n"
          "{\n"
          "    return a < b ? a : b;\n"
          "}\n\n"
          "static __device__ __forceinline__ float tpc_max(float a, float b)\n"
          "{\n"
          "    return a > b ? a : b;\n"
          "}\n\n"
          "static __device__ __forceinline__ double tpc_max(double a, double b)\n"
          "{\n"
          "    return a > b ? a : b;\n"
          "}\n\n"
          "/* The sum (or max) of v over the block's threads, in every thread: within each warp by\n"
          " * shuffles (a butterfly: every lane ends with the same bits), then each thread adds the\n"
          " * warps' partials in the same order. The block is whole warps, at most 32. */\n"
          "template <typename T> static __device__ T tpc_block_sum(T v)\n"
          "{\n"
          "    __shared__ T partial[32];\n"
          "    for (int lanes = 16; lanes > 0; lanes /= 2)\n"
          "        v += __shfl_xor_sync(0xffffffffu, v, lanes);\n"
          "    __syncthreads(); /* the last reduction's readers are done with partial */\n"
          "    if (threadIdx.x % 32 == 0)\n"
          "        partial[threadIdx.x / 32] = v;\n"
          "    __syncthreads();\n"
          "    T total = partial[0];\n"
          "    for (unsigned w = 1; w < blockDim.x / 32; w++)\n"
          "        total += partial[w];\n"
          "    return total;\n"
          "}\n\n"
          "template <typename T> static __device__ T tpc_block_max(T v)\n"
          "{\n"
          "    __shared__ T partial[32];\n"
          "    for (int lanes = 16; lanes > 0; lanes /= 2)\n"
          "        v = tpc_max(v, __shfl_xor_sync(0xffffffffu, v, lanes));\n"
          "    __syncthreads();\n"
          "    if (threadIdx.x % 32 == 0)\n"
          "        partial[threadIdx.x / 32] = v;\n"
          "    __syncthreads();\n"
          "    T top = partial[0];\n"
          "    for (unsigned w = 1; w < blockDim.x / 32; w++)\n"
          "        top = tpc_max(top, partial[w]);\n"
          "    return top;\n"
          "}\n\n",
          out);
}
