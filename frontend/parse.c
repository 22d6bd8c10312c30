/* parse.c — reading a source file and running the scanner and parser over it.
 *
 * The file is read once into one buffer after a size check (TPC_MAX_SOURCE), and every token
 * refers back into it by byte offset. The scanner works on its own copy (yy_scan_bytes): flex
 * writes into the buffer it scans, and messages quote the original while the scanner runs.
 */
#include "frontend.h"
#include "lex.h"
#include "parser.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* From the flex scanner (lexer.l), whose header we do not include to keep its macros out. */
int tpl_lex_init_extra(LexState *extra, yyscan_t *scanner);
int tpl_lex_destroy(yyscan_t scanner);
void *tpl__scan_bytes(const char *bytes, int len, yyscan_t scanner);

static Source *source_new(Arena *a, const char *path, char *text, size_t size)
{
    Source *src = arena_alloc(a, sizeof *src);
    src->path = path;
    src->text = text;
    src->size = size;
    return src;
}

Source *source_read(Arena *a, const char *path, Diag *diag)
{
    /* O_NONBLOCK: a FIFO is refused below, not waited on */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
    if (fd >= 0 && !f)
        close(fd);
    struct stat st;
    if (!f || fstat(fileno(f), &st) != 0) {
        diag_error(diag, (Loc){0}, "cannot read '%s': %s", path, strerror(errno));
        if (f)
            fclose(f);
        return NULL;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > TPC_MAX_SOURCE) {
        if (S_ISREG(st.st_mode))
            diag_error(diag, (Loc){0}, "'%s' is %lld bytes; a model file may have at most %d",
                       path, (long long)st.st_size, TPC_MAX_SOURCE);
        else
            diag_error(diag, (Loc){0}, "'%s' is not a regular file", path);
        fclose(f);
        return NULL;
    }
    size_t size = (size_t)st.st_size;
    char *text = arena_alloc(a, size + 1);
    size_t got = fread(text, 1, size, f);
    fclose(f);
    if (got != size) {
        diag_error(diag, (Loc){0}, "cannot read '%s': it changed while being read", path);
        return NULL;
    }
    return source_new(a, path, text, size);
}

Source *source_from_string(Arena *a, const char *path, const char *text)
{
    size_t size = strlen(text);
    char *copy = arena_alloc(a, size + 1);
    memcpy(copy, text, size);
    return source_new(a, path, copy, size);
}

Module *parse_module(Arena *a, const Source *src, Diag *diag)
{
    LexState *ls = arena_alloc(a, sizeof *ls);
    ls->arena = a;
    ls->src = src;
    ls->diag = diag;
    ls->module = arena_alloc(a, sizeof *ls->module);
    yyscan_t scanner;
    if (tpl_lex_init_extra(ls, &scanner) != 0)
        internal_error("cannot start the scanner");
    tpl__scan_bytes(src->text, (int)src->size, scanner); /* size <= TPC_MAX_SOURCE */
    tpl_parse(scanner, ls);
    tpl_lex_destroy(scanner);
    return ls->module;
}
