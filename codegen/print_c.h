/* print_c.h — what the two halves of the C printer share: print_c.c prints the file (sizes,
 * weights, buffers, tables, main), print_c_forward.c prints forward's steps. */
#ifndef TPC_PRINT_C_H
#define TPC_PRINT_C_H

#include "program.h"

typedef struct RankSize { /* a field of RankSizes: one per distinct per-rank vector */
    const char *name;
    const int64_t *per_rank;
} RankSize;

typedef struct Printer {
    Program *p;
    Arena *a;
    int tp;
    FILE *out;
    Vec(RankSize) sizes;
    StrMap size_names;   /* "12,12,11," -> "rs->name" */
    bool used_rank_sizes;/* the function being printed reads rs-> */
    bool used_rank;      /* ... or rank */
    bool cuda;           /* --target cuda: the host's C (kernels in NAME_kernels.cu, pointers
                            to device memory, cuBLAS and NCCL through libtpcrt_cuda) */
    bool on_host;        /* printing check_inputs: the ids are host memory */
} Printer;

/* print_c.c */
const char *per_rank_c(Printer *pr, const char *name, const int64_t *values);
const char *size_c(Printer *pr, const Size *s);
const char *ref_c(Printer *pr, Ref r);
const char *arg_c(Printer *pr, const Arg *arg);
void mark_symbols(const Size *s, bool *used);
const char *main_dim(Printer *pr, const Value *v, int d); /* a number, or dims[symbol] */
/* run_forward's parts: `tokens`, what one forward computes for --bench's tokens/s (the first
 * input's dimensions but features); where output i is, as run_forward names it */
void print_bench_tokens(Printer *pr, FILE *out);
const char *output_ref_c(Printer *pr, int i);
void print_locals(Printer *pr, FILE *out, const bool *symbols);

/* print_c_forward.c */
void print_function(Printer *pr, FILE *out, const Step *steps, const char *head);
void print_forward(Printer *pr, FILE *out);

/* print_c_generate.c: generation's state and step (before the program's declaration), and its
 * driver (after it); nothing when the model cannot generate */
void print_generation(Printer *pr, FILE *out);
void print_generation_driver(Printer *pr, FILE *out);
void print_generation_main(Printer *pr, FILE *out);

/* print_c_cuda.c: --target cuda's host parts: the kernels' declarations and the launchers of
 * GEMMs and attention (cuBLAS), the command line's forward (a CUDA graph for --bench) and main
 * (the device, inputs copied to it, outputs back) */
void print_cuda_launchers(Printer *pr, FILE *out);
/* print_c.c: the attention launcher, BLAS or (cuda) cuBLAS */
void print_attention_launcher(FILE *out, const char *softmax, bool cuda);
void print_cuda_run_forward(Printer *pr, FILE *out);
void print_cuda_main(Printer *pr, FILE *out);

/* print_c_library.c: the library's functions (the end of NAME.c) */
void print_library(Printer *pr, FILE *out);

#endif /* TPC_PRINT_C_H */
