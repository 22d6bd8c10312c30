/* program.c — --emit c and bin: the per-rank program, lowered to the program form (lower.c)
 * and printed as C (print_c.c) into OUTDIR/NAME.c, with the library's header NAME.h and the
 * executable's NAME_main.c (print_c_library.c) and the Makefile beside them (build.c);
 * --emit program: the form itself (dump.c).
 */
#include "program.h"

#include <stdlib.h>

const char *emit_program(Graph *g, const Options *opt, const char *source_path)
{
    if (!check_program_name(g))
        return NULL;
    Program *p = lower_program(g);
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

void emit_program_form(FILE *out, Graph *g)
{
    program_dump(out, lower_program(g));
}
