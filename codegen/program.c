/* program.c — --emit c and bin: the per-rank program, lowered to the program form (lower.c)
 * and printed as C (print_c.c) into OUTDIR/NAME.c, with the library's header NAME.h and the
 * executable's NAME_main.c (print_c_library.c) and the Makefile beside them (build.c);
 * --emit program: the form itself (dump.c). --backend llvm builds the kernels through LLVM
 * (print_kernel_llvm.c) into NAME_kernels.o beside them; --emit llvm prints their IR.
 */
#include "program.h"

#include <stdlib.h>

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

const char *emit_program(Graph *g, const Options *opt, const char *source_path)
{
    if (!check_program_name(g))
        return NULL;
    Program *p = lower_program(g);
    if (opt->backend == BACKEND_LLVM && !build_kernels_llvm(p, opt, NULL))
        return NULL;
    size_t size = 0;
    char *text = print_c(p, source_path, &size);
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

void emit_kernels_llvm(FILE *out, Graph *g, const Options *opt)
{
    build_kernels_llvm(lower_program(g), opt, out);
}

void emit_program_form(FILE *out, Graph *g)
{
    program_dump(out, lower_program(g));
}
