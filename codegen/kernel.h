/* kernel.h — the loop-level form of kernels: the code between GEMMs and collectives, described
 * once and printed by each backend (C text now; CUDA C and LLVM-C print the same form).
 *
 * A Kernel has parameters (buffers and scalars) and a body of statements: counted loops, local
 * variables, stores to buffers, and conditionals. Expressions are typed (64-bit integers for
 * indices, f32 and i32 for data) and hold no C text: a backend decides how `exp` or a loop is
 * written. The outermost loop of a kernel is over independent rows, which a backend may run in
 * parallel; the innermost loops are over contiguous elements, which it may vectorise.
 */
#ifndef TPC_KERNEL_H
#define TPC_KERNEL_H

#include "ir.h"

typedef enum { KT_INT, KT_F32, KT_I32, KT_F64 } KType; /* KT_INT: int64_t, for indices */

typedef enum {
    KX_INT,    /* literal integer */
    KX_FLOAT,  /* literal float */
    KX_PARAM,  /* a scalar parameter */
    KX_VAR,    /* a loop variable or a local */
    KX_LOAD,   /* buffer[index] */
    KX_CALL,   /* a math function of one or two values */
    KX_BINARY, /* arithmetic and comparisons */
    KX_SELECT, /* c ? a : b */
    KX_CAST,   /* to the expression's type */
} KExprKind;

typedef enum {
    KF_EXP, KF_TANH, KF_ERF, KF_SQRT, KF_RSQRT, KF_SIN, KF_COS, KF_POW, KF_MAX, KF_MIN, KF_ABS,
    KF_COUNT
} KFunc;

typedef enum { KB_ADD, KB_SUB, KB_MUL, KB_DIV, KB_MOD, KB_LT, KB_LE, KB_EQ, KB_AND } KBinary;

typedef struct KExpr KExpr;
struct KExpr {
    KExprKind kind;
    KType type;
    int64_t i;      /* INT */
    double f;       /* FLOAT */
    int index;      /* PARAM, VAR, LOAD (the buffer's parameter) */
    int op;         /* CALL: KFunc; BINARY: KBinary */
    KExpr *a, *b, *c;
};

typedef enum {
    KS_FOR,    /* for var in [lo, hi): body */
    KS_LET,    /* var = value (declares var) */
    KS_ASSIGN, /* var = value */
    KS_STORE,  /* buffer[index] = value */
    KS_IF,     /* if cond: body else: orelse */
    KS_REDUCE, /* var = var op value, a reduction over the loop it is in: a backend may run
                  the loop in parallel (C: omp simd reduction; CUDA: a warp or block reduction;
                  LLVM: a vector reduction) */
} KStmtKind;

typedef enum { KR_SUM, KR_MAX } KReduce;

typedef struct KStmt KStmt;
struct KStmt {
    KStmtKind kind;
    int var;          /* FOR, LET, ASSIGN */
    int buffer;       /* STORE: the buffer's parameter */
    KReduce reduce;   /* REDUCE */
    KExpr *lo, *hi;   /* FOR */
    KExpr *index;     /* STORE */
    KExpr *value;     /* LET, ASSIGN, STORE; IF: the condition */
    KStmt *body;      /* FOR, IF: a list through next */
    KStmt *orelse;    /* IF */
    KStmt *next;
};

enum { KERNEL_MAX_PARAMS = 24, KERNEL_MAX_VARS = 48 };

typedef struct KParam {
    const char *name;
    KType type;
    bool buffer;      /* a pointer to elements of `type` */
    bool written;     /* a buffer the kernel stores to */
    bool noalias;     /* at no call does it overlap a buffer the call writes, nor (written) any
                         other buffer: kernel_alias.c decides, the LLVM backend says noalias */
} KParam;

typedef struct Kernel {
    const char *name;
    const char *comment; /* what it computes, one line */
    KParam params[KERNEL_MAX_PARAMS];
    int nparams;
    const char *vars[KERNEL_MAX_VARS];
    KType var_types[KERNEL_MAX_VARS];
    int nvars;
    KStmt *body;
    bool serial_rows; /* the outermost loop's rows are not independent (they move in place): a
                         backend runs them in order */
    Arena *arena;
    /* private: the blocks being built, innermost last (where the next statement goes) */
    KStmt **tails[16];
    KStmt *open_if[16];
    int depth;
} Kernel;

/* ---- kernel_build.c: building kernels ---------------------------------------------------- */
Kernel *kernel_new(Arena *a, const char *name, const char *comment);
int kernel_buffer(Kernel *k, const char *name, KType type, bool written); /* a parameter */
int kernel_scalar(Kernel *k, const char *name, KType type);
int kernel_var(Kernel *k, const char *name, KType type);

KExpr *kx_int(Kernel *k, int64_t v);
KExpr *kx_float(Kernel *k, double v);
KExpr *kx_param(Kernel *k, int param);
KExpr *kx_var(Kernel *k, int var);
KExpr *kx_load(Kernel *k, int buffer, KExpr *index);
KExpr *kx_call(Kernel *k, KFunc f, KExpr *a);
KExpr *kx_call2(Kernel *k, KFunc f, KExpr *a, KExpr *b);
KExpr *kx_bin(Kernel *k, KBinary op, KExpr *a, KExpr *b);
KExpr *kx_select(Kernel *k, KExpr *cond, KExpr *a, KExpr *b);
KExpr *kx_cast(Kernel *k, KType type, KExpr *a);
#define kx_add(k, a, b) kx_bin(k, KB_ADD, a, b)
#define kx_sub(k, a, b) kx_bin(k, KB_SUB, a, b)
#define kx_mul(k, a, b) kx_bin(k, KB_MUL, a, b)
#define kx_div(k, a, b) kx_bin(k, KB_DIV, a, b)

/* Statements are appended to the innermost open block: ks_for opens a loop's body until
 * ks_end. */
void ks_for(Kernel *k, int var, KExpr *lo, KExpr *hi);
void ks_if(Kernel *k, KExpr *cond);
void ks_else(Kernel *k);
void ks_end(Kernel *k);
void ks_let(Kernel *k, int var, KExpr *value);
void ks_assign(Kernel *k, int var, KExpr *value);
void ks_reduce(Kernel *k, int var, KReduce op, KExpr *value); /* var was set before the loop */
void ks_store(Kernel *k, int buffer, KExpr *index, KExpr *value);

/* The same parameters, variables and body (names included): the same kernel, kept once. */
bool kernel_equal(const Kernel *a, const Kernel *b);

/* ---- print_kernel_c.c: the C backend ---------------------------------------------------------- */
void kernel_print_c(FILE *out, const Kernel *k);
/* The helpers kernels' C text uses (a vectorisable expf), printed once per program. */
void kernel_print_c_prelude(FILE *out);
/* Its prototype for a kernel defined elsewhere (--backend llvm), linked as `symbol`. */
void kernel_print_c_declaration(FILE *out, const Kernel *k, const char *symbol);

/* ---- print_kernel_llvm.c: the LLVM backend ---------------------------------------------------- */
/* The kernels as LLVM IR through the LLVM-C API, each a function of kernel_print_c's signature
 * named prefix + its name: verified (a failure is an internal error naming the kernel),
 * optimised at O3 for *cpu (NULL: the host's CPU and features; *cpu is then its name), written
 * as an object file to object_path (when not NULL) and printed to ir_out (when not NULL) after
 * optimisation. false: the object file could not be written (reported). */
bool kernels_build_llvm(Arena *a, Kernel *const *kernels, int n, const char *prefix,
                        const char **cpu, const char *object_path, FILE *ir_out);
/* What the other backends share with it: a kernel's C parameter list (its ABI: continuation
 * lines indented by `indent`), an expression with `calls` naming the f32 math functions, and
 * a type's C name. */
void kernel_print_c_params(FILE *out, const Kernel *k, int indent);
void kernel_print_expr(FILE *out, const Kernel *k, const KExpr *e, const char *const *calls);
const char *kernel_c_type(KType t);

/* ---- print_kernel_cuda.c: the CUDA backend ----------------------------------------------------- */
/* The __global__ kernel and its launcher, an extern "C" function with kernel_print_c's
 * signature that launches it on the runtime's stream. */
void kernel_print_cuda(FILE *out, const Kernel *k);
/* The device helpers (block reductions, tpc_maxf) and declarations the kernels use. */
void kernel_print_cuda_prelude(FILE *out);

#endif /* TPC_KERNEL_H */
