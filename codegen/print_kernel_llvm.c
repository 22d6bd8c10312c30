/* print_kernel_llvm.c — the LLVM backend of the kernel form: every kernel of a program built as
 * LLVM IR through the LLVM-C API, verified, optimised at O3 for a CPU and written as an object
 * file (or printed, --emit llvm). docs/llvm.md has the design; in short:
 *
 * - Each kernel is a function with the C backend's signature (int64_t -> i64, float -> float,
 *   a buffer -> a pointer to its elements), named PREFIX + its name, so that the C program
 *   calls it as it calls its own. Locals are allocas (SROA makes them registers).
 * - An expression is computed in the type C computes it in (the usual arithmetic conversions)
 *   and converted where C converts: on a store, an assignment, a call's argument. Integer
 *   arithmetic is nsw and indexing inbounds, which C's undefined overflow allows; `&&` and
 *   `?:` over an operand that may trap (a load, a division) branch, as C evaluates them.
 * - The innermost loops are what the C backend marks `omp simd`: their memory accesses are in
 *   an access group the loop declares parallel (llvm.loop.parallel_accesses, clang's lowering
 *   of omp simd), so in-place kernels (out == x) vectorise without runtime checks.
 * - A KS_REDUCE is the only operation with fast-math flags: sum as `fadd reassoc`, max as
 *   `fcmp/select nnan nsz` — what omp simd's reduction clause lets gcc do. LLVM-C 14 cannot
 *   set fast-math flags, so these few instructions (and the loop metadata, which needs distinct
 *   nodes the C API cannot make either) come from a fixed IR text read by LLVM's IR reader.
 * - a * b + c (one C expression, f32 or f64) is llvm.fmuladd: the contraction gcc makes under
 *   the Makefile's default -ffp-contract=fast, and nothing beyond it.
 * - Math is the C prelude's algorithm, built here (tpc_expf's range reduction and polynomial,
 *   tanh and erf on it); sqrt, floor and fabs are intrinsics; sin, cos and pow on f64 are
 *   libm's, as in C.
 */
#include "codegen.h"
#include "kernel.h"

#include <llvm/Config/llvm-config.h> /* LLVM_VERSION_MAJOR */
#include <llvm-c/Analysis.h>
#include <llvm-c/BitReader.h>
#include <llvm-c/Linker.h>
#include <llvm-c/Core.h>
#include <llvm-c/ErrorHandling.h>
#include <llvm-c/IRReader.h>
#include <llvm-c/Support.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum { MATH_EXPF, MATH_TANHF, MATH_ERFF, MATH_COUNT } MathHelper;

typedef struct Module {
    LLVMContextRef context;
    LLVMModuleRef module;
    LLVMBuilderRef b;
    LLVMTypeRef f32, f64, i64, i32, i1, void_type;
    LLVMValueRef math[MATH_COUNT];
    unsigned kind_group, kind_loop;
    LLVMValueRef *loops;   /* loop ids of the helper text (parallel_accesses), one per loop */
    int nloops, next_loop;
    bool nvptx;            /* the GPU form: the grid mapping of print_kernel_cuda.c */
} Module;

/* The kernel being built. */
typedef struct Function {
    Module *m;
    const Kernel *k;
    LLVMValueRef fn;
    LLVMValueRef params[KERNEL_MAX_PARAMS];
    LLVMValueRef vars[KERNEL_MAX_VARS]; /* allocas */
    LLVMValueRef group;                 /* the access group of the innermost loop, or NULL */
    bool block;                         /* nvptx: statements the whole block runs alike (not a
                                           thread's own elements) */
} Function;

/* ---- types ------------------------------------------------------------------------------- */

static LLVMTypeRef llvm_type(Module *m, KType t)
{
    switch (t) {
    case KT_INT: return m->i64;
    case KT_F32: return m->f32;
    case KT_I32: return m->i32;
    case KT_F64: return m->f64;
    }
    unreachable();
}

static bool is_float(KType t)
{
    return t == KT_F32 || t == KT_F64;
}

/* C's usual arithmetic conversions over these four types. */
static KType common_type(KType a, KType b)
{
    if (a == KT_F64 || b == KT_F64)
        return KT_F64;
    if (a == KT_F32 || b == KT_F32)
        return KT_F32;
    if (a == KT_INT || b == KT_INT)
        return KT_INT;
    return KT_I32;
}

static bool is_compare(const KExpr *e)
{
    return e->kind == KX_BINARY && (e->op == KB_LT || e->op == KB_LE || e->op == KB_EQ ||
                                    e->op == KB_AND);
}

/* The type C computes e in, as kernel_print_c prints it. */
static KType c_type(const Kernel *k, const KExpr *e)
{
    switch (e->kind) {
    case KX_INT: case KX_FLOAT: case KX_CAST: return e->type;
    case KX_PARAM: return k->params[e->index].type;
    case KX_VAR: return k->var_types[e->index];
    case KX_LOAD: return k->params[e->index].type;
    case KX_CALL: return c_type(k, e->a) == KT_F64 ? KT_F64 : KT_F32;
    case KX_BINARY:
        return is_compare(e) ? KT_INT : common_type(c_type(k, e->a), c_type(k, e->b));
    case KX_SELECT: return common_type(c_type(k, e->b), c_type(k, e->c));
    }
    unreachable();
}

/* May evaluating e fault (a load, an integer division), so that C's `&&` and `?:` must not
 * evaluate it unless taken? */
static bool may_trap(const Kernel *k, const KExpr *e)
{
    if (!e)
        return false;
    if (e->kind == KX_LOAD)
        return true;
    if (e->kind == KX_BINARY && (e->op == KB_DIV || e->op == KB_MOD) && !is_float(c_type(k, e)))
        return true;
    return may_trap(k, e->a) || may_trap(k, e->b) || may_trap(k, e->c);
}

static LLVMValueRef convert(Module *m, LLVMValueRef v, KType from, KType to)
{
    LLVMTypeRef t = llvm_type(m, to);
    if (from == to)
        return v;
    if (is_float(from) && is_float(to))
        return to == KT_F64 ? LLVMBuildFPExt(m->b, v, t, "") : LLVMBuildFPTrunc(m->b, v, t, "");
    if (is_float(to))
        return LLVMBuildSIToFP(m->b, v, t, "");
    if (is_float(from))
        return LLVMBuildFPToSI(m->b, v, t, "");
    return to == KT_INT ? LLVMBuildSExt(m->b, v, t, "") : LLVMBuildTrunc(m->b, v, t, "");
}

static LLVMValueRef constant(Module *m, KType t, double v)
{
    if (t == KT_F32)
        return LLVMConstReal(m->f32, (double)(float)v);
    if (t == KT_F64)
        return LLVMConstReal(m->f64, v);
    return LLVMConstInt(llvm_type(m, t), (unsigned long long)(int64_t)v, true);
}

/* ---- intrinsics and the math helpers ------------------------------------------------------- */

static LLVMValueRef intrinsic(Module *m, const char *name, LLVMTypeRef type, LLVMValueRef *args,
                              unsigned nargs)
{
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    if (!id)
        internal_error("no LLVM intrinsic %s", name);
    LLVMTypeRef types[] = {type};
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(m->module, id, types, 1);
    return LLVMBuildCall2(m->b, LLVMIntrinsicGetType(m->context, id, types, 1), fn, args, nargs, "");
}

static LLVMValueRef intrinsic1(Module *m, const char *name, LLVMTypeRef type, LLVMValueRef x)
{
    return intrinsic(m, name, type, &x, 1);
}

static LLVMValueRef libm_call(Module *m, const char *name, LLVMTypeRef type, LLVMValueRef *args,
                              unsigned nargs)
{
    char device_name[32];
    if (m->nvptx) { /* libdevice's, as CUDA C's sin and pow on double are */
        snprintf(device_name, sizeof device_name, "__nv_%s", name);
        name = device_name;
    }
    LLVMTypeRef params[] = {type, type};
    LLVMTypeRef fn_type = LLVMFunctionType(type, params, nargs, false);
    LLVMValueRef fn = LLVMGetNamedFunction(m->module, name);
    if (!fn)
        fn = LLVMAddFunction(m->module, name, fn_type);
    return LLVMBuildCall2(m->b, fn_type, fn, args, nargs, "");
}

static LLVMValueRef fconst(Module *m, float v)
{
    return LLVMConstReal(m->f32, v);
}

static LLVMValueRef select_less(Module *m, LLVMValueRef a, LLVMValueRef b, LLVMValueRef then,
                                LLVMValueRef otherwise)
{
    return LLVMBuildSelect(m->b, LLVMBuildFCmp(m->b, LLVMRealOLT, a, b, ""), then, otherwise, "");
}

/* x ? -t : t for x < 0 */
static LLVMValueRef odd(Module *m, LLVMValueRef x, LLVMValueRef t)
{
    return select_less(m, x, fconst(m, 0), LLVMBuildFNeg(m->b, t, ""), t);
}

static LLVMValueRef call_helper(Module *m, MathHelper h, LLVMValueRef x)
{
    LLVMTypeRef type = LLVMFunctionType(m->f32, &m->f32, 1, false);
    return LLVMBuildCall2(m->b, type, m->math[h], &x, 1, "");
}

/* a * b + c, fused where the CPU has FMA: what gcc makes of the prelude's a * b + c */
static LLVMValueRef mul_add(Module *m, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c)
{
    LLVMValueRef args[] = {a, b, c};
    return intrinsic(m, "llvm.fmuladd.f32", m->f32, args, 3);
}

/* tpc_expf of the C prelude, step by step (kernel_print_c_prelude). */
static LLVMValueRef build_expf(Module *m, LLVMValueRef in)
{
    LLVMBuilderRef b = m->b;
    LLVMValueRef x = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOEQ, in, in, ""), in, fconst(m, 0), "");
    x = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOGT, in, fconst(m, 88.7f), ""), fconst(m, 88.7f), x, "");
    x = select_less(m, in, fconst(m, -87.3f), fconst(m, -87.3f), x);
    LLVMValueRef n = intrinsic1(m, "llvm.floor.f32", m->f32,
                                mul_add(m, x, fconst(m, 1.44269504f), fconst(m, 0.5f)));
    LLVMValueRef r = mul_add(m, n, fconst(m, -0.693359375f), x);
    r = mul_add(m, n, fconst(m, 2.12194440e-4f), r);
    static const float poly[] = {1.3981999507e-3f, 8.3334519073e-3f, 4.1665795894e-2f,
                                 1.6666665459e-1f, 5.0000001201e-1f};
    LLVMValueRef p = fconst(m, 1.9875691500e-4f);
    for (size_t i = 0; i < sizeof poly / sizeof poly[0]; i++)
        p = mul_add(m, p, r, fconst(m, poly[i]));
    p = LLVMBuildFAdd(b, mul_add(m, LLVMBuildFMul(b, p, r, ""), r, r), fconst(m, 1), "p");
    LLVMValueRef bits = LLVMBuildShl(b, LLVMBuildAdd(b, LLVMBuildFPToSI(b, n, m->i32, ""),
                                                     LLVMConstInt(m->i32, 127, false), ""),
                                     LLVMConstInt(m->i32, 23, false), "");
    LLVMValueRef scaled = LLVMBuildFMul(b, p, LLVMBuildBitCast(b, bits, m->f32, "scale"), "");
    return LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOEQ, in, in, ""), scaled, in, "");
}

static LLVMValueRef build_tanhf(Module *m, LLVMValueRef x)
{
    LLVMBuilderRef b = m->b;
    LLVMValueRef e = call_helper(m, MATH_EXPF, LLVMBuildFMul(b, fconst(m, -2), intrinsic1(m, "llvm.fabs.f32", m->f32, x), ""));
    LLVMValueRef t = LLVMBuildFDiv(b, LLVMBuildFSub(b, fconst(m, 1), e, ""),
                                   LLVMBuildFAdd(b, fconst(m, 1), e, ""), "");
    return odd(m, x, t);
}

/* erf by Abramowitz and Stegun 7.1.26, as the prelude's tpc_erff */
static LLVMValueRef build_erff(Module *m, LLVMValueRef x)
{
    LLVMBuilderRef b = m->b;
    LLVMValueRef a = intrinsic1(m, "llvm.fabs.f32", m->f32, x);
    LLVMValueRef t = LLVMBuildFDiv(b, fconst(m, 1), LLVMBuildFAdd(b, fconst(m, 1), LLVMBuildFMul(b, fconst(m, 0.3275911f), a, ""), ""), "t");
    static const float c[] = {-1.453152027f, 1.421413741f, -0.284496736f, 0.254829592f};
    LLVMValueRef q = fconst(m, 1.061405429f);
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        q = mul_add(m, t, q, fconst(m, c[i]));
    LLVMValueRef p = LLVMBuildFMul(b, t, q, "");
    LLVMValueRef e = call_helper(m, MATH_EXPF, LLVMBuildFMul(b, LLVMBuildFNeg(b, a, ""), a, ""));
    LLVMValueRef y = mul_add(m, LLVMBuildFNeg(b, p, ""), e, fconst(m, 1));
    return odd(m, x, y);
}

static void build_math_helpers(Module *m)
{
    static const char *const names[MATH_COUNT] = {"tpc_expf", "tpc_tanhf", "tpc_erff"};
    LLVMValueRef (*const build[MATH_COUNT])(Module *, LLVMValueRef) = {build_expf, build_tanhf,
                                                                        build_erff};
    LLVMTypeRef type = LLVMFunctionType(m->f32, &m->f32, 1, false);
    unsigned inline_kind = LLVMGetEnumAttributeKindForName("alwaysinline", 12);
    for (int h = 0; h < MATH_COUNT; h++) {
        m->math[h] = LLVMAddFunction(m->module, names[h], type);
        LLVMSetLinkage(m->math[h], LLVMInternalLinkage);
        LLVMAddAttributeAtIndex(m->math[h], LLVMAttributeFunctionIndex,
                                LLVMCreateEnumAttribute(m->context, inline_kind, 0));
    }
    for (int h = 0; h < MATH_COUNT; h++) {
        LLVMPositionBuilderAtEnd(m->b, LLVMAppendBasicBlockInContext(m->context, m->math[h], "entry"));
        LLVMBuildRet(m->b, build[h](m, LLVMGetParam(m->math[h], 0)));
    }
}

/* ---- what LLVM-C 14 cannot build: fast-math flags and distinct metadata ----------------------- */

/* The reduction steps with the flags omp simd's reduction clause gives gcc, and `loops` loop
 * ids, each declaring its own access group parallel. Read by LLVM's IR reader. */
/* The GPU's block reductions, as print_kernel_cuda.c's tpc_block_sum / tpc_block_max: a
 * shuffle butterfly within each warp (every lane ends with the same bits), a barrier (the last
 * reduction's readers are done), each warp's lane 0 writes its partial to shared memory, a
 * barrier, then every thread combines the partials in warp order. One shared array per type
 * serves all of them: the leading barrier orders its reuse. */
static void nvptx_block_reduction(FILE *f, const char *op, const char *t, const char *s)
{
    bool sum = !strcmp(op, "sum");
    fprintf(f, "define internal %s @tpc_block_%s_%s(%s %%v0) #1 {\nentry:\n", t, op, s, t);
    for (int i = 0, lanes = 16; lanes > 0; i++, lanes /= 2) {
        fprintf(f, "  %%s%d = call %s @tpc_shfl_%s(%s %%v%d, i32 %d)\n", i, t, s, t, i, lanes);
        if (sum)
            fprintf(f, "  %%v%d = fadd %s %%v%d, %%s%d\n", i + 1, t, i, i);
        else
            fprintf(f, "  %%c%d = fcmp ogt %s %%v%d, %%s%d\n"
                       "  %%v%d = select i1 %%c%d, %s %%v%d, %s %%s%d\n",
                    i, t, i, i, i + 1, i, t, i, t, i);
    }
    fprintf(f, "  call void @llvm.nvvm.barrier0()\n"
               "  %%tid = call i32 @llvm.nvvm.read.ptx.sreg.tid.x()\n"
               "  %%lane = and i32 %%tid, 31\n  %%warp = lshr i32 %%tid, 5\n"
               "  %%first = icmp eq i32 %%lane, 0\n  br i1 %%first, label %%write, label %%read\n"
               "write:\n"
               "  %%slot = getelementptr inbounds [32 x %s], [32 x %s] addrspace(3)* @tpc_partial_%s, i32 0, i32 %%warp\n"
               "  store %s %%v5, %s addrspace(3)* %%slot\n  br label %%read\n"
               "read:\n  call void @llvm.nvvm.barrier0()\n"
               "  %%ntid = call i32 @llvm.nvvm.read.ptx.sreg.ntid.x()\n"
               "  %%warps = lshr i32 %%ntid, 5\n"
               "  %%p0 = getelementptr inbounds [32 x %s], [32 x %s] addrspace(3)* @tpc_partial_%s, i32 0, i32 0\n"
               "  %%t0 = load %s, %s addrspace(3)* %%p0\n  br label %%head\n"
               "head:\n  %%w = phi i32 [1, %%read], [%%wn, %%body]\n"
               "  %%t = phi %s [%%t0, %%read], [%%tn, %%body]\n"
               "  %%more = icmp ult i32 %%w, %%warps\n  br i1 %%more, label %%body, label %%done\n"
               "body:\n"
               "  %%pw = getelementptr inbounds [32 x %s], [32 x %s] addrspace(3)* @tpc_partial_%s, i32 0, i32 %%w\n"
               "  %%x = load %s, %s addrspace(3)* %%pw\n",
            t, t, s, t, t, t, t, s, t, t, t, t, t, s, t, t);
    if (sum)
        fprintf(f, "  %%tn = fadd %s %%t, %%x\n", t);
    else
        fprintf(f, "  %%ct = fcmp ogt %s %%t, %%x\n  %%tn = select i1 %%ct, %s %%t, %s %%x\n", t, t, t);
    fputs("  %wn = add i32 %w, 1\n  br label %head\ndone:\n  ret ", f);
    fprintf(f, "%s %%t\n}\n", t);
}

/* What the GPU form adds: the thread and block registers, barriers, shuffles, the block
 * reductions, and (to_bf16) the kernel that rounds a bf16 GEMM's rows, which is no kernel of
 * the form (print_c_cuda.c's tpc_to_bf16_kernel: __float2bfloat16 is cvt.rn.bf16.f32). */
static void nvptx_helpers(FILE *f, const char *prefix, bool to_bf16)
{
    fputs("declare i32 @llvm.nvvm.read.ptx.sreg.tid.x()\n"
          "declare i32 @llvm.nvvm.read.ptx.sreg.ntid.x()\n"
          "declare i32 @llvm.nvvm.read.ptx.sreg.ctaid.x()\n"
          "declare i32 @llvm.nvvm.read.ptx.sreg.nctaid.x()\n"
          "declare void @llvm.nvvm.barrier0()\n"
          "declare float @llvm.nvvm.shfl.sync.bfly.f32(i32, float, i32, i32)\n"
          "declare i32 @llvm.nvvm.shfl.sync.bfly.i32(i32, i32, i32, i32)\n"
          "declare i16 @llvm.nvvm.f2bf16.rn(float)\n"
          "@tpc_partial_f32 = internal addrspace(3) global [32 x float] undef, align 4\n"
          "@tpc_partial_f64 = internal addrspace(3) global [32 x double] undef, align 8\n"
          "define internal float @tpc_shfl_f32(float %v, i32 %lanes) #1 {\n"
          "  %r = call float @llvm.nvvm.shfl.sync.bfly.f32(i32 -1, float %v, i32 %lanes, i32 31)\n"
          "  ret float %r\n}\n"
          "define internal double @tpc_shfl_f64(double %v, i32 %lanes) #1 {\n"
          "  %bits = bitcast double %v to i64\n  %lo = trunc i64 %bits to i32\n"
          "  %high = lshr i64 %bits, 32\n  %hi = trunc i64 %high to i32\n"
          "  %slo = call i32 @llvm.nvvm.shfl.sync.bfly.i32(i32 -1, i32 %lo, i32 %lanes, i32 31)\n"
          "  %shi = call i32 @llvm.nvvm.shfl.sync.bfly.i32(i32 -1, i32 %hi, i32 %lanes, i32 31)\n"
          "  %zlo = zext i32 %slo to i64\n  %zhi = zext i32 %shi to i64\n"
          "  %up = shl i64 %zhi, 32\n  %both = or i64 %up, %zlo\n"
          "  %r = bitcast i64 %both to double\n  ret double %r\n}\n"
          "attributes #1 = { alwaysinline convergent nounwind }\n",
          f);
    nvptx_block_reduction(f, "sum", "float", "f32");
    nvptx_block_reduction(f, "max", "float", "f32");
    nvptx_block_reduction(f, "sum", "double", "f64");
    nvptx_block_reduction(f, "max", "double", "f64");
    if (!to_bf16)
        return;
    fprintf(f, "define void @%stpc_to_bf16(i16* noalias %%out, float* noalias readonly %%x, i64 %%ld_x, "
               "i64 %%rows, i64 %%cols) {\n"
               "entry:\n  %%n = mul nsw i64 %%rows, %%cols\n"
               "  %%tid32 = call i32 @llvm.nvvm.read.ptx.sreg.tid.x()\n"
               "  %%ntid32 = call i32 @llvm.nvvm.read.ptx.sreg.ntid.x()\n"
               "  %%ctaid32 = call i32 @llvm.nvvm.read.ptx.sreg.ctaid.x()\n"
               "  %%nctaid32 = call i32 @llvm.nvvm.read.ptx.sreg.nctaid.x()\n"
               "  %%tid = zext i32 %%tid32 to i64\n  %%ntid = zext i32 %%ntid32 to i64\n"
               "  %%ctaid = zext i32 %%ctaid32 to i64\n  %%nctaid = zext i32 %%nctaid32 to i64\n"
               "  %%block = mul nuw nsw i64 %%ctaid, %%ntid\n  %%start = add nuw nsw i64 %%block, %%tid\n"
               "  %%step = mul nuw nsw i64 %%nctaid, %%ntid\n  br label %%head\n"
               "head:\n  %%i = phi i64 [%%start, %%entry], [%%next, %%body]\n"
               "  %%more = icmp slt i64 %%i, %%n\n  br i1 %%more, label %%body, label %%done\n"
               "body:\n  %%row = sdiv i64 %%i, %%cols\n  %%col = srem i64 %%i, %%cols\n"
               "  %%at = mul nsw i64 %%row, %%ld_x\n  %%j = add nsw i64 %%at, %%col\n"
               "  %%px = getelementptr inbounds float, float* %%x, i64 %%j\n"
               "  %%v = load float, float* %%px, align 4\n"
               "  %%h = call i16 @llvm.nvvm.f2bf16.rn(float %%v)\n"
               "  %%po = getelementptr inbounds i16, i16* %%out, i64 %%i\n"
               "  store i16 %%h, i16* %%po, align 2\n"
               "  %%next = add nsw i64 %%i, %%step\n  br label %%head\n"
               "done:\n  ret void\n}\n", prefix);
}

static char *helper_text(int loops, bool nvptx, const char *prefix, bool to_bf16)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    if (!f)
        internal_error("open_memstream failed");
    fputs("define internal float @tpc_reduce_sum_f32(float %a, float %b) #0 {\n"
          "  %s = fadd reassoc float %a, %b\n  ret float %s\n}\n"
          "define internal double @tpc_reduce_sum_f64(double %a, double %b) #0 {\n"
          "  %s = fadd reassoc double %a, %b\n  ret double %s\n}\n"
          "define internal float @tpc_reduce_fma_f32(float %a, float %b, float %acc) #0 {\n"
          "  %s = call reassoc float @llvm.fmuladd.f32(float %a, float %b, float %acc)\n"
          "  ret float %s\n}\n"
          "define internal double @tpc_reduce_fma_f64(double %a, double %b, double %acc) #0 {\n"
          "  %s = call reassoc double @llvm.fmuladd.f64(double %a, double %b, double %acc)\n"
          "  ret double %s\n}\n"
          "declare float @llvm.fmuladd.f32(float, float, float)\n"
          "declare double @llvm.fmuladd.f64(double, double, double)\n"
          "define internal float @tpc_reduce_max_f32(float %a, float %b) #0 {\n"
          "  %c = fcmp nnan nsz ogt float %a, %b\n"
          "  %m = select nnan nsz i1 %c, float %a, float %b\n  ret float %m\n}\n"
          "define internal double @tpc_reduce_max_f64(double %a, double %b) #0 {\n"
          "  %m = call nnan nsz double @llvm.maxnum.f64(double %a, double %b)\n  ret double %m\n}\n"
          "declare double @llvm.maxnum.f64(double, double)\n"
          "attributes #0 = { alwaysinline nounwind readnone willreturn }\n",
          f);
    if (nvptx)
        nvptx_helpers(f, prefix, to_bf16);
    /* Each innermost loop: its access group is parallel; it is not interleaved (unrolled
     * over several vector registers): the rows here are short (a head's 32 pairs, a causal
     * row's growing keys), and 8-wide vectors interleaved 4 times left up to 31 elements of
     * each row to the scalar remainder (attention's softmax took 1.4-1.8x gcc's time); and
     * its vector loop is not unrolled at run time either, which would add a remainder loop and
     * its checks to every head of rope's 32 pairs. */
    fputs("!tpc.loops = !{", f);
    for (int i = 0; i < loops; i++)
        fprintf(f, "%s!%d", i ? ", " : "", 3 * i);
    fprintf(f, "}\n!%d = !{!\"llvm.loop.interleave.count\", i32 1}\n"
               "!%d = !{!\"llvm.loop.unroll.runtime.disable\"}\n", 3 * loops, 3 * loops + 1);
    for (int i = 0; i < loops; i++)
        fprintf(f, "!%d = distinct !{!%d, !%d, !%d, !%d}\n"
                   "!%d = !{!\"llvm.loop.parallel_accesses\", !%d}\n!%d = distinct !{}\n",
                3 * i, 3 * i, 3 * i + 1, 3 * loops, 3 * loops + 1, 3 * i + 1, 3 * i + 2, 3 * i + 2);
    fclose(f);
    return text;
}

static int count_innermost(const KStmt *s, bool *has_loop)
{
    int n = 0;
    for (; s; s = s->next) {
        if (s->kind != KS_FOR && s->kind != KS_IF)
            continue;
        bool inner = false;
        n += count_innermost(s->body, &inner) + count_innermost(s->orelse, &inner);
        if (s->kind == KS_FOR)
            n += !inner;
        *has_loop = true;
    }
    return n;
}

static bool has_loop(const KStmt *s)
{
    for (; s; s = s->next)
        if (s->kind == KS_FOR || (s->kind == KS_IF && (has_loop(s->body) || has_loop(s->orelse))))
            return true;
    return false;
}

static void module_open(Module *m, Kernel *const *kernels, int n, bool nvptx, const char *prefix,
                        bool to_bf16)
{
    m->context = LLVMContextCreate();
    m->nvptx = nvptx;
    int loops = 0;
    for (int i = 0; i < n && !nvptx; i++) { /* the GPU's loops are spread, not vectorised */
        bool unused = false;
        loops += count_innermost(kernels[i]->body, &unused);
    }
    char *text = helper_text(loops, nvptx, prefix, to_bf16);
    LLVMMemoryBufferRef buffer = LLVMCreateMemoryBufferWithMemoryRangeCopy(text, strlen(text), "tpc helpers");
    free(text);
    char *message = NULL;
    if (LLVMParseIRInContext(m->context, buffer, &m->module, &message))
        internal_error("LLVM cannot read tpc's helper IR: %s", message);
    LLVMSetModuleIdentifier(m->module, "kernels", 7);
    m->b = LLVMCreateBuilderInContext(m->context);
    m->f32 = LLVMFloatTypeInContext(m->context);
    m->f64 = LLVMDoubleTypeInContext(m->context);
    m->i64 = LLVMInt64TypeInContext(m->context);
    m->i32 = LLVMInt32TypeInContext(m->context);
    m->i1 = LLVMInt1TypeInContext(m->context);
    m->void_type = LLVMVoidTypeInContext(m->context);
    m->kind_group = LLVMGetMDKindIDInContext(m->context, "llvm.access.group", 17);
    m->kind_loop = LLVMGetMDKindIDInContext(m->context, "llvm.loop", 9);
    m->nloops = (int)LLVMGetNamedMetadataNumOperands(m->module, "tpc.loops");
    m->loops = calloc((size_t)m->nloops + 1, sizeof *m->loops);
    LLVMGetNamedMetadataOperands(m->module, "tpc.loops", m->loops);
    build_math_helpers(m);
}

/* The next loop id of the helper text, and its access group. */
static LLVMValueRef next_loop_id(Module *m, LLVMValueRef *group)
{
    if (m->next_loop >= m->nloops)
        internal_error("more innermost loops than counted (%d)", m->nloops);
    LLVMValueRef id = m->loops[m->next_loop++];
    LLVMValueRef ops[4]; /* itself, parallel_accesses, interleave count, no runtime unroll */
    LLVMGetMDNodeOperands(id, ops);
    LLVMValueRef parallel[2];
    LLVMGetMDNodeOperands(ops[1], parallel);
    *group = parallel[1];
    return id;
}

/* ---- expressions --------------------------------------------------------------------------- */

static LLVMValueRef gen(Function *f, const KExpr *e);
static LLVMValueRef gen_cond(Function *f, const KExpr *e);

static LLVMValueRef gen_as(Function *f, const KExpr *e, KType to)
{
    return convert(f->m, gen(f, e), c_type(f->k, e), to);
}

static LLVMValueRef element(Function *f, int buffer, const KExpr *index)
{
    LLVMValueRef i = gen_as(f, index, KT_INT);
    return LLVMBuildInBoundsGEP2(f->m->b, llvm_type(f->m, f->k->params[buffer].type),
                                 f->params[buffer], &i, 1, "");
}

static LLVMValueRef in_group(Function *f, LLVMValueRef access)
{
    if (f->group)
        LLVMSetMetadata(access, f->m->kind_group, f->group);
    return access;
}

/* a ? b : c, each evaluated only when C evaluates it: a select, or branches when an arm may
 * trap. */
static LLVMValueRef gen_choice(Function *f, LLVMValueRef cond, const KExpr *then,
                               const KExpr *otherwise, KType type, LLVMValueRef constant_else)
{
    Module *m = f->m;
    if (!may_trap(f->k, then) && !may_trap(f->k, otherwise))
        return LLVMBuildSelect(m->b, cond, then ? gen_as(f, then, type) : constant_else,
                               otherwise ? gen_as(f, otherwise, type) : constant_else, "");
    LLVMBasicBlockRef blocks[3] = {LLVMAppendBasicBlockInContext(m->context, f->fn, "then"),
                                   LLVMAppendBasicBlockInContext(m->context, f->fn, "else"),
                                   LLVMAppendBasicBlockInContext(m->context, f->fn, "join")};
    LLVMBuildCondBr(m->b, cond, blocks[0], blocks[1]);
    LLVMValueRef values[2];
    LLVMBasicBlockRef from[2];
    const KExpr *arms[2] = {then, otherwise};
    for (int i = 0; i < 2; i++) {
        LLVMPositionBuilderAtEnd(m->b, blocks[i]);
        values[i] = arms[i] ? gen_as(f, arms[i], type) : constant_else;
        from[i] = LLVMGetInsertBlock(m->b);
        LLVMBuildBr(m->b, blocks[2]);
    }
    LLVMPositionBuilderAtEnd(m->b, blocks[2]);
    LLVMValueRef phi = LLVMBuildPhi(m->b, LLVMTypeOf(values[0]), "");
    LLVMAddIncoming(phi, values, from, 2);
    return phi;
}

static LLVMValueRef gen_compare(Function *f, const KExpr *e)
{
    Module *m = f->m;
    if (e->op == KB_AND) { /* a && b: b only when a holds */
        LLVMValueRef a = gen_cond(f, e->a);
        if (!may_trap(f->k, e->b))
            return LLVMBuildAnd(m->b, a, gen_cond(f, e->b), "");
        Module *mm = m;
        LLVMBasicBlockRef rhs = LLVMAppendBasicBlockInContext(mm->context, f->fn, "and.rhs");
        LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(mm->context, f->fn, "and.join");
        LLVMBasicBlockRef from[2] = {LLVMGetInsertBlock(m->b), NULL};
        LLVMBuildCondBr(m->b, a, rhs, join);
        LLVMPositionBuilderAtEnd(m->b, rhs);
        LLVMValueRef values[2] = {LLVMConstInt(m->i1, 0, false), gen_cond(f, e->b)};
        from[1] = LLVMGetInsertBlock(m->b);
        LLVMBuildBr(m->b, join);
        LLVMPositionBuilderAtEnd(m->b, join);
        LLVMValueRef phi = LLVMBuildPhi(m->b, m->i1, "");
        LLVMAddIncoming(phi, values, from, 2);
        return phi;
    }
    KType t = common_type(c_type(f->k, e->a), c_type(f->k, e->b));
    LLVMValueRef a = gen_as(f, e->a, t), b = gen_as(f, e->b, t);
    if (is_float(t)) {
        LLVMRealPredicate p = e->op == KB_LT ? LLVMRealOLT : e->op == KB_LE ? LLVMRealOLE : LLVMRealOEQ;
        return LLVMBuildFCmp(m->b, p, a, b, "");
    }
    LLVMIntPredicate p = e->op == KB_LT ? LLVMIntSLT : e->op == KB_LE ? LLVMIntSLE : LLVMIntEQ;
    return LLVMBuildICmp(m->b, p, a, b, "");
}

/* e as C's truth value: i1 */
static LLVMValueRef gen_cond(Function *f, const KExpr *e)
{
    if (is_compare(e))
        return gen_compare(f, e);
    KType t = c_type(f->k, e);
    LLVMValueRef v = gen(f, e);
    if (is_float(t))
        return LLVMBuildFCmp(f->m->b, LLVMRealUNE, v, constant(f->m, t, 0), "");
    return LLVMBuildICmp(f->m->b, LLVMIntNE, v, constant(f->m, t, 0), "");
}

static bool is_product(const Kernel *k, const KExpr *e, KType t)
{
    return e->kind == KX_BINARY && e->op == KB_MUL && c_type(k, e) == t;
}

/* a * b + c in one expression: llvm.fmuladd (fused where the CPU has FMA), as gcc contracts. */
static LLVMValueRef gen_fmuladd(Function *f, const KExpr *e, KType t)
{
    Module *m = f->m;
    const KExpr *product = is_product(f->k, e->a, t) ? e->a : e->b;
    const KExpr *addend = product == e->a ? e->b : e->a;
    LLVMValueRef x = gen_as(f, product->a, t), y = gen_as(f, product->b, t);
    LLVMValueRef z = gen_as(f, addend, t);
    if (e->op == KB_SUB && product == e->a)
        z = LLVMBuildFNeg(m->b, z, "");
    else if (e->op == KB_SUB)
        x = LLVMBuildFNeg(m->b, x, "");
    LLVMValueRef args[] = {x, y, z};
    return intrinsic(m, t == KT_F32 ? "llvm.fmuladd.f32" : "llvm.fmuladd.f64", llvm_type(m, t), args, 3);
}

static LLVMValueRef gen_binary(Function *f, const KExpr *e)
{
    Module *m = f->m;
    if (is_compare(e))
        return LLVMBuildZExt(m->b, gen_compare(f, e), m->i64, "");
    KType t = common_type(c_type(f->k, e->a), c_type(f->k, e->b));
    if (is_float(t) && (e->op == KB_ADD || e->op == KB_SUB) &&
        (is_product(f->k, e->a, t) || is_product(f->k, e->b, t)))
        return gen_fmuladd(f, e, t);
    LLVMValueRef a = gen_as(f, e->a, t), b = gen_as(f, e->b, t);
    LLVMBuilderRef bd = m->b;
    if (is_float(t)) {
        switch (e->op) {
        case KB_ADD: return LLVMBuildFAdd(bd, a, b, "");
        case KB_SUB: return LLVMBuildFSub(bd, a, b, "");
        case KB_MUL: return LLVMBuildFMul(bd, a, b, "");
        case KB_DIV: return LLVMBuildFDiv(bd, a, b, "");
        case KB_MOD: return LLVMBuildFRem(bd, a, b, "");
        default: unreachable();
        }
    }
    switch (e->op) {
    case KB_ADD: return LLVMBuildNSWAdd(bd, a, b, "");
    case KB_SUB: return LLVMBuildNSWSub(bd, a, b, "");
    case KB_MUL: return LLVMBuildNSWMul(bd, a, b, "");
    case KB_DIV: return LLVMBuildSDiv(bd, a, b, "");
    case KB_MOD: return LLVMBuildSRem(bd, a, b, "");
    default: unreachable();
    }
}

static LLVMValueRef gen_call(Function *f, const KExpr *e)
{
    Module *m = f->m;
    KType t = c_type(f->k, e);
    LLVMTypeRef type = llvm_type(m, t);
    LLVMValueRef args[2] = {gen_as(f, e->a, t), e->b ? gen_as(f, e->b, t) : NULL};
    bool f64 = t == KT_F64;
    switch ((KFunc)e->op) {
    case KF_EXP: return f64 ? libm_call(m, "exp", type, args, 1) : call_helper(m, MATH_EXPF, args[0]);
    case KF_TANH: return f64 ? libm_call(m, "tanh", type, args, 1) : call_helper(m, MATH_TANHF, args[0]);
    case KF_ERF: return f64 ? libm_call(m, "erf", type, args, 1) : call_helper(m, MATH_ERFF, args[0]);
    case KF_SQRT: return intrinsic1(m, f64 ? "llvm.sqrt.f64" : "llvm.sqrt.f32", type, args[0]);
    case KF_RSQRT:
        return LLVMBuildFDiv(m->b, constant(m, t, 1),
                             intrinsic1(m, f64 ? "llvm.sqrt.f64" : "llvm.sqrt.f32", type, args[0]), "");
    case KF_SIN: return libm_call(m, f64 ? "sin" : "sinf", type, args, 1);
    case KF_COS: return libm_call(m, f64 ? "cos" : "cosf", type, args, 1);
    case KF_POW: return libm_call(m, f64 ? "pow" : "powf", type, args, 2);
    case KF_ABS: return intrinsic1(m, f64 ? "llvm.fabs.f64" : "llvm.fabs.f32", type, args[0]);
    case KF_MAX: /* tpc_maxf: a > b ? a : b; fmax on f64 */
        if (f64)
            return intrinsic(m, "llvm.maxnum.f64", type, args, 2);
        return LLVMBuildSelect(m->b, LLVMBuildFCmp(m->b, LLVMRealOGT, args[0], args[1], ""),
                               args[0], args[1], "");
    case KF_MIN:
        if (f64)
            return intrinsic(m, "llvm.minnum.f64", type, args, 2);
        return LLVMBuildSelect(m->b, LLVMBuildFCmp(m->b, LLVMRealOLT, args[0], args[1], ""),
                               args[0], args[1], "");
    case KF_COUNT: break;
    }
    unreachable();
}

/* e's value, in c_type(e) */
static LLVMValueRef gen(Function *f, const KExpr *e)
{
    Module *m = f->m;
    switch (e->kind) {
    case KX_INT: return constant(m, e->type, (double)e->i);
    case KX_FLOAT: return constant(m, e->type, e->f);
    case KX_PARAM: return f->params[e->index];
    case KX_VAR:
        return LLVMBuildLoad2(m->b, llvm_type(m, f->k->var_types[e->index]), f->vars[e->index],
                              f->k->vars[e->index]);
    case KX_LOAD:
        return in_group(f, LLVMBuildLoad2(m->b, llvm_type(m, f->k->params[e->index].type),
                                          element(f, e->index, e->a), ""));
    case KX_CALL: return gen_call(f, e);
    case KX_BINARY: return gen_binary(f, e);
    case KX_SELECT:
        return gen_choice(f, gen_cond(f, e->a), e->b, e->c, c_type(f->k, e), NULL);
    case KX_CAST: return gen_as(f, e->a, e->type);
    }
    unreachable();
}

/* ---- statements ---------------------------------------------------------------------------- */

static void gen_stmts(Function *f, const KStmt *s);

static void store_var(Function *f, int var, LLVMValueRef v)
{
    LLVMBuildStore(f->m->b, v, f->vars[var]);
}

static LLVMBasicBlockRef block(Function *f, const char *name)
{
    return LLVMAppendBasicBlockInContext(f->m->context, f->fn, name);
}

/* for (var = lo + offset; var < hi; var += step) body, offset 0 and step 1 when NULL (i64
 * values, the GPU's thread or block index and count). Host: the innermost loops declared
 * parallel, as omp simd. */
static void gen_loop(Function *f, const KStmt *s, LLVMValueRef offset, LLVMValueRef step)
{
    Module *m = f->m;
    KType t = f->k->var_types[s->var];
    LLVMValueRef lo = gen_as(f, s->lo, t);
    if (offset)
        lo = LLVMBuildNSWAdd(m->b, lo, convert(m, offset, KT_INT, t), "");
    store_var(f, s->var, lo);
    LLVMBasicBlockRef head = block(f, "for.head"), body = block(f, "for.body"),
                      exit = block(f, "for.end");
    LLVMBuildBr(m->b, head);
    LLVMPositionBuilderAtEnd(m->b, head);
    KType ct = common_type(t, c_type(f->k, s->hi));
    LLVMValueRef i = LLVMBuildLoad2(m->b, llvm_type(m, t), f->vars[s->var], "");
    LLVMValueRef more = is_float(ct) ? LLVMBuildFCmp(m->b, LLVMRealOLT, convert(m, i, t, ct), gen_as(f, s->hi, ct), "")
                                     : LLVMBuildICmp(m->b, LLVMIntSLT, convert(m, i, t, ct), gen_as(f, s->hi, ct), "");
    LLVMBuildCondBr(m->b, more, body, exit);
    LLVMPositionBuilderAtEnd(m->b, body);
    LLVMValueRef outer = f->group, loop_id = NULL;
    if (!m->nvptx && !has_loop(s->body))
        loop_id = next_loop_id(m, &f->group);
    gen_stmts(f, s->body);
    f->group = outer;
    i = LLVMBuildLoad2(m->b, llvm_type(m, t), f->vars[s->var], "");
    LLVMValueRef by = step ? convert(m, step, KT_INT, t) : LLVMConstInt(llvm_type(m, t), 1, false);
    store_var(f, s->var, LLVMBuildNSWAdd(m->b, i, by, ""));
    LLVMValueRef latch = LLVMBuildBr(m->b, head);
    if (loop_id)
        LLVMSetMetadata(latch, m->kind_loop, loop_id);
    LLVMPositionBuilderAtEnd(m->b, exit);
}

/* ---- the GPU's grid mapping (print_kernel_cuda.c's, statement for statement) ---------------- */

/* A call of a function of the helper text (an NVVM intrinsic, a block reduction). */
static LLVMValueRef call_named(Module *m, const char *name, LLVMValueRef *args, unsigned nargs)
{
    LLVMValueRef fn = LLVMGetNamedFunction(m->module, name);
    if (!fn)
        internal_error("no %s in the NVPTX helpers", name);
    return LLVMBuildCall2(m->b, LLVMGlobalGetValueType(fn), fn, args, nargs, "");
}

/* A special register (tid.x, ntid.x, ctaid.x, nctaid.x) as an i64. */
static LLVMValueRef sreg(Module *m, const char *name)
{
    char intrinsic_name[64];
    snprintf(intrinsic_name, sizeof intrinsic_name, "llvm.nvvm.read.ptx.sreg.%s", name);
    return LLVMBuildZExt(m->b, call_named(m, intrinsic_name, NULL, 0), m->i64, name);
}

static void barrier(Module *m)
{
    call_named(m, "llvm.nvvm.barrier0", NULL, 0);
}

static LLVMValueRef max_of(Module *m, LLVMValueRef a, LLVMValueRef b) /* tpc_max: a > b ? a : b */
{
    return LLVMBuildSelect(m->b, LLVMBuildFCmp(m->b, LLVMRealOGT, a, b, ""), a, b, "");
}

/* An innermost loop in block code: spread over the block's threads, each reduction a thread's
 * partial (from the identity; what the variable held before is combined after), then the
 * block's; a barrier after it when it stores. `first`: the block's first statement. */
static void gen_spread(Function *f, const KStmt *s, const KStmt *first)
{
    Module *m = f->m;
    const Kernel *k = f->k;
    LLVMValueRef before[KERNEL_MAX_VARS] = {0};
    for (const KStmt *t = s->body; t; t = t->next) {
        if (t->kind != KS_REDUCE)
            continue;
        KType type = k->var_types[t->var];
        if (!is_float(type))
            internal_error("kernel %s: a block reduction of an integer", k->name);
        if (kernel_starts_at_identity(first, t->var, t->reduce))
            continue;
        before[t->var] = LLVMBuildLoad2(m->b, llvm_type(m, type), f->vars[t->var], "before");
        double identity = t->reduce == KR_SUM ? 0 : type == KT_F64 ? -1.79769313486231570e+308
                                                                   : -3.40282347e+38;
        store_var(f, t->var, constant(m, type, identity));
    }
    f->block = false;
    gen_loop(f, s, sreg(m, "tid.x"), sreg(m, "ntid.x"));
    f->block = true;
    for (const KStmt *t = s->body; t; t = t->next) {
        if (t->kind != KS_REDUCE)
            continue;
        KType type = k->var_types[t->var];
        char name[32];
        snprintf(name, sizeof name, "tpc_block_%s_%s", t->reduce == KR_SUM ? "sum" : "max",
                 type == KT_F64 ? "f64" : "f32");
        LLVMValueRef v = LLVMBuildLoad2(m->b, llvm_type(m, type), f->vars[t->var], "");
        LLVMValueRef total = call_named(m, name, &v, 1);
        if (before[t->var])
            total = t->reduce == KR_SUM ? LLVMBuildFAdd(m->b, before[t->var], total, "")
                                        : max_of(m, before[t->var], total);
        store_var(f, t->var, total);
    }
    if (kernel_stores(s->body))
        barrier(m);
}

/* A store in block code: thread 0 makes it, and every thread waits for it. */
static void gen_block_store(Function *f, const KStmt *s)
{
    Module *m = f->m;
    LLVMBasicBlockRef then = block(f, "thread0"), join = block(f, "thread0.end");
    LLVMBuildCondBr(m->b, LLVMBuildICmp(m->b, LLVMIntEQ, sreg(m, "tid.x"), LLVMConstInt(m->i64, 0, false), ""),
                    then, join);
    LLVMPositionBuilderAtEnd(m->b, then);
    LLVMValueRef v = gen_as(f, s->value, f->k->params[s->buffer].type);
    LLVMBuildStore(m->b, v, element(f, s->buffer, s->index));
    LLVMBuildBr(m->b, join);
    LLVMPositionBuilderAtEnd(m->b, join);
    barrier(m);
}

/* The kernel's body under its mapping (kernel_cuda_mapping). */
static void gen_grid(Function *f)
{
    Module *m = f->m;
    const KStmt *top = f->k->body;
    switch (kernel_cuda_mapping(f->k)) {
    case MAP_ROWS: /* a row per block, round a grid-stride loop */
        f->block = true;
        gen_loop(f, top, sreg(m, "ctaid.x"), sreg(m, "nctaid.x"));
        break;
    case MAP_ELEMENTS: { /* an element per thread over the grid */
        LLVMValueRef ntid = sreg(m, "ntid.x");
        LLVMValueRef first = LLVMBuildNSWAdd(m->b, LLVMBuildNSWMul(m->b, sreg(m, "ctaid.x"), ntid, ""),
                                             sreg(m, "tid.x"), "");
        f->block = false;
        gen_loop(f, top, first, LLVMBuildNSWMul(m->b, sreg(m, "nctaid.x"), ntid, ""));
        break;
    }
    case MAP_BLOCK:
        f->block = true;
        gen_stmts(f, top);
        break;
    }
}

/* Host: a plain loop (the innermost ones parallel). GPU: in block code, an innermost loop is
 * spread over the threads and any other runs alike in every thread. */
static void gen_for(Function *f, const KStmt *s, const KStmt *first)
{
    if (f->m->nvptx && f->block && !has_loop(s->body))
        gen_spread(f, s, first);
    else if (f->m->nvptx && !f->block)
        internal_error("kernel %s: a loop inside an innermost loop", f->k->name);
    else
        gen_loop(f, s, NULL, NULL);
}

static void gen_if(Function *f, const KStmt *s)
{
    Module *m = f->m;
    LLVMBasicBlockRef then = block(f, "if.then"), otherwise = block(f, "if.else"),
                      join = block(f, "if.end");
    LLVMBuildCondBr(m->b, gen_cond(f, s->value), then, otherwise);
    LLVMPositionBuilderAtEnd(m->b, then);
    gen_stmts(f, s->body);
    LLVMBuildBr(m->b, join);
    LLVMPositionBuilderAtEnd(m->b, otherwise);
    gen_stmts(f, s->orelse);
    LLVMBuildBr(m->b, join);
    LLVMPositionBuilderAtEnd(m->b, join);
}

/* var = var op value, with the reduction's flags (helper_text): the only reassociation */
static void gen_reduce(Function *f, const KStmt *s)
{
    Module *m = f->m;
    KType t = f->k->var_types[s->var];
    if (!is_float(t)) {
        LLVMValueRef v = LLVMBuildLoad2(m->b, llvm_type(m, t), f->vars[s->var], "");
        LLVMValueRef x = gen_as(f, s->value, t);
        LLVMValueRef r = s->reduce == KR_SUM ? LLVMBuildNSWAdd(m->b, v, x, "")
                                             : LLVMBuildSelect(m->b, LLVMBuildICmp(m->b, LLVMIntSGT, v, x, ""), v, x, "");
        store_var(f, s->var, r);
        return;
    }
    /* C: v = (v + value) in the common type, then converted to v's */
    KType ct = s->reduce == KR_SUM ? common_type(t, c_type(f->k, s->value)) : t;
    if (ct != t)
        internal_error("kernel %s: a %s reduction wider than its variable", f->k->name,
                       f->k->vars[s->var]);
    LLVMTypeRef type = llvm_type(m, t), params[] = {type, type, type};
    LLVMValueRef v = LLVMBuildLoad2(m->b, type, f->vars[s->var], ""), args[3];
    const char *name;
    unsigned nargs;
    if (s->reduce == KR_SUM && is_product(f->k, s->value, t)) {
        /* v + a * b contracted, as gcc does (rmsnorm's sum of squares: one FMA a vector) */
        name = t == KT_F32 ? "tpc_reduce_fma_f32" : "tpc_reduce_fma_f64";
        args[0] = gen_as(f, s->value->a, t);
        args[1] = gen_as(f, s->value->b, t);
        args[2] = v;
        nargs = 3;
    } else {
        name = s->reduce == KR_SUM ? (t == KT_F32 ? "tpc_reduce_sum_f32" : "tpc_reduce_sum_f64")
                                   : (t == KT_F32 ? "tpc_reduce_max_f32" : "tpc_reduce_max_f64");
        args[0] = v;
        args[1] = gen_as(f, s->value, t);
        nargs = 2;
    }
    LLVMValueRef fn = LLVMGetNamedFunction(m->module, name);
    LLVMTypeRef fn_type = LLVMFunctionType(type, params, nargs, false);
    store_var(f, s->var, LLVMBuildCall2(m->b, fn_type, fn, args, nargs, ""));
}

static void gen_stmts(Function *f, const KStmt *s)
{
    const Kernel *k = f->k;
    const KStmt *first = s;
    for (; s; s = s->next) {
        switch (s->kind) {
        case KS_FOR: gen_for(f, s, first); break;
        case KS_LET:
        case KS_ASSIGN: store_var(f, s->var, gen_as(f, s->value, k->var_types[s->var])); break;
        case KS_REDUCE: gen_reduce(f, s); break;
        case KS_STORE: {
            if (f->m->nvptx && f->block) {
                gen_block_store(f, s);
                break;
            }
            LLVMValueRef v = gen_as(f, s->value, k->params[s->buffer].type);
            in_group(f, LLVMBuildStore(f->m->b, v, element(f, s->buffer, s->index)));
            break;
        }
        case KS_IF: gen_if(f, s); break;
        }
    }
}

static void add_attribute(Module *m, LLVMValueRef fn, unsigned index, const char *name)
{
    unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
    LLVMAddAttributeAtIndex(fn, index, LLVMCreateEnumAttribute(m->context, kind, 0));
}

/* An entry of the PTX (LLVM 14 reads `ptx_kernel` from the nvvm.annotations named metadata:
 * !{fn, !"kernel", i32 1}), launched with 256 threads a block (__launch_bounds__(256):
 * !"maxntidx"). */
static void annotate_kernel(Module *m, LLVMValueRef fn)
{
    static const char *const keys[] = {"kernel", "maxntidx"};
    const unsigned long long values[] = {1, 256};
    for (int i = 0; i < 2; i++) {
        LLVMValueRef ops[] = {fn, LLVMMDStringInContext(m->context, keys[i], (unsigned)strlen(keys[i])),
                              LLVMConstInt(m->i32, values[i], false)};
        LLVMAddNamedMetadataOperand(m->module, "nvvm.annotations", LLVMMDNodeInContext(m->context, ops, 3));
    }
}

static void build_kernel(Module *m, const Kernel *k, const char *prefix)
{
    Function f = {.m = m, .k = k};
    LLVMTypeRef params[KERNEL_MAX_PARAMS];
    for (int i = 0; i < k->nparams; i++)
        params[i] = k->params[i].buffer ? LLVMPointerType(llvm_type(m, k->params[i].type), 0)
                                        : llvm_type(m, k->params[i].type);
    char symbol[512];
    snprintf(symbol, sizeof symbol, "%s%s", prefix, k->name);
    f.fn = LLVMAddFunction(m->module, symbol, LLVMFunctionType(m->void_type, params, (unsigned)k->nparams, false));
    add_attribute(m, f.fn, LLVMAttributeFunctionIndex, "nounwind");
    if (!m->nvptx) {
        add_attribute(m, f.fn, LLVMAttributeFunctionIndex, "uwtable");
        /* 512-bit vectors where the CPU has them (LLVM's x86 default prefers 256 even on
         * AVX-512 CPUs; gcc's -march=native build of the C kernels uses 512 here, and the kernel
         * study shows the difference): where it has not, the widest it has. */
        LLVMAddAttributeAtIndex(f.fn, LLVMAttributeFunctionIndex,
                                LLVMCreateStringAttribute(m->context, "prefer-vector-width", 19,
                                                          "512", 3));
    }
    for (int i = 0; i < k->nparams; i++) {
        f.params[i] = LLVMGetParam(f.fn, (unsigned)i);
        LLVMSetValueName2(f.params[i], k->params[i].name, strlen(k->params[i].name));
        if (k->params[i].buffer && k->params[i].noalias)
            add_attribute(m, f.fn, (unsigned)i + 1, "noalias");
        if (k->params[i].buffer && !k->params[i].written)
            add_attribute(m, f.fn, (unsigned)i + 1, "readonly");
    }
    LLVMPositionBuilderAtEnd(m->b, LLVMAppendBasicBlockInContext(m->context, f.fn, "entry"));
    for (int v = 0; v < k->nvars; v++)
        f.vars[v] = LLVMBuildAlloca(m->b, llvm_type(m, k->var_types[v]), k->vars[v]);
    if (m->nvptx)
        gen_grid(&f);
    else
        gen_stmts(&f, k->body);
    LLVMBuildRetVoid(m->b);
    if (m->nvptx)
        annotate_kernel(m, f.fn);
    char *message = NULL;
    if (LLVMVerifyModule(m->module, LLVMReturnStatusAction, &message))
        internal_error("the LLVM IR of kernel '%s' does not verify: %s", k->name, message);
    LLVMDisposeMessage(message);
}

/* ---- target, passes, output ------------------------------------------------------------------ */

/* LLVM's loop strength reduction is off for the host's kernels. On their short nested loops it
 * made the addresses of each version of an innermost loop (vector body, remainder, epilogue)
 * induction variables of the loops around it: about fifteen pointers per head of rope (32
 * pairs), spilled and reloaded at every head, 1.1-1.2x gcc's time at 32 rows; 0.9x without it.
 * The innermost loops lose nothing: x86's base + index * scale addressing does what it would.
 * LLVM's options belong to the process, so this is set once; a process builds either host or
 * NVPTX kernels, never both (program.c). */
static void host_codegen_options(void)
{
    static bool set;
    if (set)
        return;
    set = true;
    const char *args[] = {"tpc", "-disable-lsr"};
    LLVMParseCommandLineOptions(2, args, "");
}

/* --cpu NAME, for LLVM's fatal errors: a CPU LLVM knows that has no 64-bit mode (--cpu i686)
 * is a fatal error when its first function is compiled, which LLVM reports by exiting. */
static const char *named_cpu;

static void fatal_llvm_error(const char *reason)
{
    if (!named_cpu)
        internal_error("LLVM: %s", reason);
    fprintf(stderr, "tpc: --cpu %s: LLVM cannot build the kernels for this CPU (%s); name a 64-bit "
                    "x86 CPU, or none for this machine's\n", named_cpu, reason);
    exit(1);
}

/* The machine for a CPU named on the command line, or NULL when LLVM does not know the name
 * (reported). LLVM-C cannot ask a target whether it knows a CPU: LLVM prints "'NAME' is not a
 * recognized processor for this target" on stderr while the machine is made, and goes on with
 * no CPU at all (not even 64-bit), so what it prints then is read back; anything else it says
 * is passed on. */
static LLVMTargetMachineRef named_cpu_machine(LLVMTargetRef target, const char *triple,
                                              const char *cpu)
{
    fflush(stderr);
    FILE *said = tmpfile();
    int saved = said ? dup(STDERR_FILENO) : -1;
    if (saved >= 0 && dup2(fileno(said), STDERR_FILENO) < 0) {
        close(saved);
        saved = -1;
    }
    LLVMTargetMachineRef tm = LLVMCreateTargetMachine(target, triple, cpu, "",
                                                      LLVMCodeGenLevelAggressive, LLVMRelocPIC,
                                                      LLVMCodeModelDefault);
    if (saved < 0) {
        if (said)
            fclose(said);
        return tm;
    }
    dup2(saved, STDERR_FILENO);
    close(saved);
    bool unknown = false;
    char line[512];
    rewind(said);
    while (fgets(line, sizeof line, said)) {
        if (strstr(line, "is not a recognized processor"))
            unknown = true;
        else
            fputs(line, stderr);
    }
    fclose(said);
    if (!unknown)
        return tm;
    fprintf(stderr, "tpc: --cpu %s: LLVM %d does not know this CPU (`llc-%d -mcpu=help` lists the "
                    "names it knows); leave --cpu out to build for this machine's\n",
            cpu, LLVM_VERSION_MAJOR, LLVM_VERSION_MAJOR);
    LLVMDisposeTargetMachine(tm);
    return NULL;
}

/* The host's machine: the CPU named by --cpu (*cpu), or this one's, with its features, its
 * name then set in *cpu. NULL: --cpu names no CPU LLVM knows (reported). */
static LLVMTargetMachineRef target_machine(Arena *a, const char **cpu)
{
    host_codegen_options();
    LLVMInitializeNativeTarget();
    LLVMInitializeNativeAsmPrinter();
    char *triple = LLVMGetDefaultTargetTriple(), *message = NULL;
    LLVMTargetRef target;
    if (LLVMGetTargetFromTriple(triple, &target, &message))
        internal_error("LLVM has no target for %s: %s", triple, message);
    LLVMTargetMachineRef tm;
    if (*cpu) {
        named_cpu = *cpu;
        LLVMInstallFatalErrorHandler(fatal_llvm_error);
        tm = named_cpu_machine(target, triple, *cpu);
    } else {
        char *host_cpu = LLVMGetHostCPUName(), *host_features = LLVMGetHostCPUFeatures();
        *cpu = arena_strdup(a, host_cpu);
        tm = LLVMCreateTargetMachine(target, triple, host_cpu, host_features,
                                     LLVMCodeGenLevelAggressive, LLVMRelocPIC,
                                     LLVMCodeModelDefault);
        LLVMDisposeMessage(host_cpu);
        LLVMDisposeMessage(host_features);
    }
    LLVMDisposeMessage(triple);
    return tm;
}

/* LLVM's O3 pipeline for the target (its failure is a compiler bug), then the module printed
 * to ir_out when there is one (--emit llvm). */
static void optimise(Module *m, LLVMTargetMachineRef tm, FILE *ir_out)
{
    LLVMPassBuilderOptionsRef options = LLVMCreatePassBuilderOptions();
    LLVMErrorRef error = LLVMRunPasses(m->module, "default<O3>", tm, options);
    LLVMDisposePassBuilderOptions(options);
    if (error) {
        char *message = LLVMGetErrorMessage(error);
        internal_error("LLVM's O3 pipeline failed: %s", message);
    }
    if (ir_out) {
        char *text = LLVMPrintModuleToString(m->module);
        fputs(text, ir_out);
        LLVMDisposeMessage(text);
    }
}

/* The module as `type` (object code, or PTX: NVPTX's assembly) written whole to path when
 * there is one; then everything the build made is freed. false: path could not be written
 * (reported). */
static bool emit_and_close(Module *m, LLVMTargetMachineRef tm, LLVMCodeGenFileType type,
                           const char *path)
{
    bool ok = true;
    if (path) {
        LLVMMemoryBufferRef emitted = NULL;
        char *message = NULL;
        if (LLVMTargetMachineEmitToMemoryBuffer(tm, m->module, type, &message, &emitted))
            internal_error("LLVM cannot emit the kernels' %s: %s",
                           type == LLVMObjectFile ? "object code" : "PTX", message);
        ok = write_file(path, LLVMGetBufferStart(emitted), LLVMGetBufferSize(emitted));
        LLVMDisposeMemoryBuffer(emitted);
    }
    free(m->loops);
    LLVMDisposeBuilder(m->b);
    LLVMDisposeModule(m->module);
    LLVMDisposeTargetMachine(tm);
    LLVMContextDispose(m->context);
    return ok;
}

bool kernels_build_llvm(Arena *a, Kernel *const *kernels, int n, const char *prefix,
                        const char **cpu, const char *object_path, FILE *ir_out)
{
    LLVMTargetMachineRef tm = target_machine(a, cpu);
    if (!tm)
        return false;
    Module m = {0};
    module_open(&m, kernels, n, false, prefix, false);
    char *triple = LLVMGetTargetMachineTriple(tm);
    LLVMSetTarget(m.module, triple);
    LLVMDisposeMessage(triple);
    LLVMTargetDataRef layout = LLVMCreateTargetDataLayout(tm);
    LLVMSetModuleDataLayout(m.module, layout);
    LLVMDisposeTargetData(layout);
    for (int i = 0; i < n; i++)
        build_kernel(&m, kernels[i], prefix);

    optimise(&m, tm, ir_out);
    return emit_and_close(&m, tm, LLVMObjectFile, object_path);
}

/* ---- NVPTX ------------------------------------------------------------------------------------ */

/* libdevice (CUDA's math library as bitcode) linked in when a kernel calls one of its
 * functions (the f64 sin, cos and pow of RoPE's table), its definitions made internal so that
 * the optimiser keeps only what is called. */
static void link_libdevice(Module *m, const char *libdevice, const char *prefix)
{
    bool needed = false;
    for (LLVMValueRef fn = LLVMGetFirstFunction(m->module); fn; fn = LLVMGetNextFunction(fn))
        needed |= LLVMIsDeclaration(fn) && !strncmp(LLVMGetValueName(fn), "__nv_", 5);
    if (!needed)
        return;
    if (!libdevice)
        internal_error("a kernel calls libdevice, and there is no libdevice.10.bc");
    LLVMMemoryBufferRef buffer = NULL;
    LLVMModuleRef library = NULL;
    char *message = NULL;
    if (LLVMCreateMemoryBufferWithContentsOfFile(libdevice, &buffer, &message)) {
        fprintf(stderr, "tpc: error: cannot read CUDA's libdevice '%s': %s\n", libdevice, message);
        exit(EXIT_FAILURE);
    }
    if (LLVMParseBitcodeInContext2(m->context, buffer, &library))
        internal_error("LLVM cannot read CUDA's libdevice '%s'", libdevice);
    LLVMDisposeMemoryBuffer(buffer);
    LLVMSetTarget(library, LLVMGetTarget(m->module));
    LLVMSetDataLayout(library, LLVMGetDataLayoutStr(m->module));
    if (LLVMLinkModules2(m->module, library))
        internal_error("LLVM cannot link CUDA's libdevice '%s'", libdevice);
    size_t n = strlen(prefix);
    for (LLVMValueRef fn = LLVMGetFirstFunction(m->module); fn; fn = LLVMGetNextFunction(fn))
        if (!LLVMIsDeclaration(fn) && strncmp(LLVMGetValueName(fn), prefix, n))
            LLVMSetLinkage(fn, LLVMInternalLinkage);
}

bool kernels_build_nvptx(Kernel *const *kernels, int n, const char *prefix, const char *arch,
                         bool to_bf16, const char *libdevice, const char *ptx_path,
                         FILE *ir_out)
{
    LLVMInitializeNVPTXTargetInfo();
    LLVMInitializeNVPTXTarget();
    LLVMInitializeNVPTXTargetMC();
    LLVMInitializeNVPTXAsmPrinter();
    const char *triple = "nvptx64-nvidia-cuda";
    LLVMTargetRef target;
    char *message = NULL;
    if (LLVMGetTargetFromTriple(triple, &target, &message))
        internal_error("LLVM has no target for %s: %s", triple, message);
    LLVMTargetMachineRef tm = LLVMCreateTargetMachine(target, triple, arch, "",
                                                      LLVMCodeGenLevelAggressive, LLVMRelocDefault,
                                                      LLVMCodeModelDefault);
    Module m = {0};
    module_open(&m, kernels, n, true, prefix, to_bf16);
    LLVMSetTarget(m.module, triple);
    LLVMTargetDataRef layout = LLVMCreateTargetDataLayout(tm);
    LLVMSetModuleDataLayout(m.module, layout);
    LLVMDisposeTargetData(layout);
    for (int i = 0; i < n; i++)
        build_kernel(&m, kernels[i], prefix);
    if (to_bf16) {
        char name[512];
        snprintf(name, sizeof name, "%stpc_to_bf16", prefix);
        annotate_kernel(&m, LLVMGetNamedFunction(m.module, name));
    }
    link_libdevice(&m, libdevice, prefix);
    if (LLVMVerifyModule(m.module, LLVMReturnStatusAction, &message))
        internal_error("the NVPTX module does not verify: %s", message);
    LLVMDisposeMessage(message);

    optimise(&m, tm, ir_out);
    return emit_and_close(&m, tm, LLVMAssemblyFile, ptx_path);
}
