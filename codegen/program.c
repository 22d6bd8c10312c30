/* program.c — --emit c and bin: the per-rank program, lowered to the program form (lower.c)
 * and printed as C (print_c.c) into OUTDIR/NAME.c, with the library's header NAME.h and the
 * executable's NAME_main.c (print_c_library.c) and the Makefile beside them (build.c);
 * --emit program: the form itself (dump.c). --backend llvm builds the kernels through LLVM
 * (print_kernel_llvm.c) into NAME_kernels.o beside them; --emit llvm prints their IR.
 */
#include "program.h"

#include <stdlib.h>
#include <string.h>

/* --target cuda: the host's NAME.c, NAME_kernels.cu, NAME.h (NAME_main only: the library is
 * the CPU build's for now) and NAME_main.c. */
static const char *emit_cuda_program(Graph *g, Program *p, const Options *opt,
                                     const char *source_path)
{
    size_t size = 0;
    char *text = print_c(p, source_path, true, &size);
    const char *path = arena_printf(g->arena, "%s/%s.c", opt->outdir, g->name);
    bool written = write_file(path, text, size);
    free(text);
    if (opt->backend == BACKEND_LLVM) {
        text = print_cuda_driver_launchers(p, source_path, &size);
        written = written && write_file(arena_printf(g->arena, "%s/%s_kernels.c", opt->outdir,
                                                     g->name), text, size);
    } else {
        text = print_cuda_kernels(p, source_path, &size);
        written = written && write_file(arena_printf(g->arena, "%s/%s_kernels.cu", opt->outdir,
                                                     g->name), text, size);
    }
    free(text);
    const char *header = arena_printf(g->arena,
                                      "/* %s for CUDA GPUs: the command line (docs/cli.md), "
                                      "which %s_main.c's main runs. */\n"
                                      "#ifndef %s_H\n#define %s_H\n\n"
                                      "int %s_main(int argc, char **argv);\n\n#endif\n",
                                      g->name, g->name, g->name, g->name, g->name);
    written = written && write_file(arena_printf(g->arena, "%s/%s.h", opt->outdir, g->name),
                                    header, strlen(header));
    text = print_library_main(p, &size);
    written = written && write_file(arena_printf(g->arena, "%s/%s_main.c", opt->outdir, g->name),
                                    text, size);
    free(text);
    return written && write_makefile_cuda(g, opt) ? path : NULL;
}

/* --backend llvm: the kernels into OUTDIR/NAME_kernels.o (or, with `ir`, their IR printed), and
 * the program told to declare them instead of defining them. */
static bool build_kernels_llvm(Program *p, const Options *opt, FILE *ir)
{
    program_find_noalias(p);
    p->kernel_prefix = arena_printf(p->a, "%s_kernel_", p->g->name);
    p->kernel_cpu = opt->cpu;
    const char *object = ir ? NULL : arena_printf(p->a, "%s/%s_kernels.o", opt->outdir, p->g->name);
    return kernels_build_llvm(p->a, p->kernels.items, p->kernels.len, p->kernel_prefix,
                              &p->kernel_cpu, object, ir);
}

/* --backend llvm --target cuda: the kernels as PTX into OUTDIR/NAME.ptx (or, with `ir`, the
 * NVPTX module printed), for the oldest --cuda-arch; libdevice from the CUDA toolkit of nvcc. */
static bool build_kernels_nvptx(Program *p, const Options *opt, FILE *ir)
{
    const char *nvcc = build_find_nvcc(p->a);
    if (!nvcc)
        return false;
    program_find_noalias(p);
    p->kernel_prefix = arena_printf(p->a, "%s_kernel_", p->g->name);
    const char *libdevice = arena_printf(p->a, "%.*s/../nvvm/libdevice/libdevice.10.bc",
                                         (int)(strlen(nvcc) - 5), nvcc);
    const char *ptx = ir ? NULL : arena_printf(p->a, "%s/%s.ptx", opt->outdir, p->g->name);
    return kernels_build_nvptx(p->kernels.items, p->kernels.len, p->kernel_prefix,
                               build_ptx_arch(p->a, opt), p->weight_elements_bf16 != NULL,
                               libdevice, ptx, ir);
}

const char *emit_program(Graph *g, const Options *opt, const char *source_path)
{
    if (!check_program_name(g))
        return NULL;
    Program *p = lower_program(g);
    if (opt->target == TARGET_CUDA) { /* refused before any file is written, not by make */
        const char *nvcc = build_find_nvcc(p->a);
        if (!nvcc || !build_check_cuda_arch(p->a, nvcc, opt))
            return NULL;
    }
    if (opt->target == TARGET_CUDA && opt->backend == BACKEND_LLVM && !build_kernels_nvptx(p, opt, NULL))
        return NULL;
    if (opt->target == TARGET_CUDA)
        return emit_cuda_program(g, p, opt, source_path);
    if (opt->backend == BACKEND_LLVM && !build_kernels_llvm(p, opt, NULL))
        return NULL;
    size_t size = 0;
    char *text = print_c(p, source_path, false, &size);
    const char *path = arena_printf(g->arena, "%s/%s.c", opt->outdir, g->name);
    bool written = write_file(path, text, size);
    free(text);
    text = print_library_header(p, &size);
    written = written && write_file(arena_printf(g->arena, "%s/%s.h", opt->outdir, g->name),
                                    text, size);
    free(text);
    text = print_library_main(p, &size);
    written = written && write_file(arena_printf(g->arena, "%s/%s_main.c", opt->outdir, g->name),
                                    text, size);
    free(text);
    return written && write_makefile(g, opt) ? path : NULL;
}

bool emit_kernels_llvm(FILE *out, Graph *g, const Options *opt)
{
    if (opt->target == TARGET_CUDA)
        return build_kernels_nvptx(lower_program(g), opt, out);
    return build_kernels_llvm(lower_program(g), opt, out);
}

void emit_program_form(FILE *out, Graph *g)
{
    program_dump(out, lower_program(g));
}
