/* options.h — the compiler's command line, as the driver (tpc.c) parses it: what the front end
 * (-D), the passes (-tp, --no-elide, --print-after) and codegen (-o, --emit) read of it. Kept out
 * of ir.h, which is the graph every layer shares; the runtime never sees it.
 */
#ifndef TPC_OPTIONS_H
#define TPC_OPTIONS_H

#include <stdbool.h>

typedef enum { EMIT_BIN, EMIT_C, EMIT_IR, EMIT_LLVM, EMIT_PLAN, EMIT_DOT, EMIT_PROGRAM } EmitKind;
typedef enum { TARGET_CPU, TARGET_CUDA } TargetKind;
typedef enum { BACKEND_C, BACKEND_LLVM } BackendKind;
typedef enum { WEIGHTS_F32, WEIGHTS_BF16 } WeightDType;

typedef struct Options {
    const char *input;      /* MODEL.tpl */
    const char *outdir;     /* -o */
    int tp;                 /* -tp */
    TargetKind target;
    BackendKind backend;
    WeightDType dtype;      /* --dtype: how the projections' weights are stored */
    const char *cuda_arch;  /* --cuda-arch sm_80,sm_90 (NULL: that) */
    EmitKind emit;
    const char *cpu;        /* --cpu: the CPU --backend llvm builds kernels for (NULL: this one) */
    int rank;               /* --rank */
    bool no_elide;
    bool sequence_parallel;
    const char *print_after; /* --print-after PASS */
    const char *stop_after;  /* --stop-after PASS ("sema": before the first pass) */
    bool print_after_all;
    struct Define {
        const char *name, *value;
        const struct Source *src; /* "<command line>", for messages */
    } *defines;
    int ndefines;
} Options;

#endif /* TPC_OPTIONS_H */
