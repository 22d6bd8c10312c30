/* diag.c — diagnostics: "file:line:col: error: message", the source line, a caret.
 *
 * Locations are byte offsets into a Source; the line and column are found only when a message
 * is printed. Columns count bytes from 1, as gcc and clang do. Non-printable bytes of a quoted
 * line are shown as '?', so random input cannot garble the terminal. After `limit` errors the
 * compiler says so once and callers stop looking (diag_full).
 */
#include "ir.h"

#include <stdlib.h>

void diag_init(Diag *diag, FILE *out)
{
    diag->out = out;
    diag->errors = 0;
    diag->limit = 20;
}

bool diag_full(const Diag *diag)
{
    return diag->errors >= diag->limit;
}

void loc_line_col(Loc loc, int *line, int *col)
{
    *line = 1;
    *col = 1;
    if (!loc.src)
        return;
    const char *text = loc.src->text;
    size_t end = loc.start < loc.src->size ? loc.start : loc.src->size;
    size_t line_start = 0;
    for (size_t i = 0; i < end; i++) {
        if (text[i] == '\n') {
            (*line)++;
            line_start = i + 1;
        }
    }
    *col = (int)(end - line_start) + 1;
}

/* The quoted source line and a caret under loc.start (tildes under the rest of a one-line
 * range); of a very long line, only the part around the caret. Nothing for an error at the end
 * of the file. */
static void print_line(FILE *out, Loc loc)
{
    enum { WINDOW = 80 };
    const Source *src = loc.src;
    if (loc.start >= src->size)
        return;
    size_t begin = loc.start, end = loc.start;
    while (begin > 0 && src->text[begin - 1] != '\n' && loc.start - begin < WINDOW)
        begin--;
    while (end < src->size && src->text[end] != '\n' && end - loc.start < WINDOW)
        end++;
    fputs("    ", out);
    for (size_t i = begin; i < end; i++) {
        unsigned char c = (unsigned char)src->text[i];
        fputc(c == '\t' || (c >= 32 && c < 127) ? c : '?', out);
    }
    fputs("\n    ", out);
    for (size_t i = begin; i < loc.start; i++)
        fputc(src->text[i] == '\t' ? '\t' : ' ', out);
    fputc('^', out);
    for (size_t i = loc.start + 1; i < loc.end && i < end; i++)
        fputc('~', out);
    fputc('\n', out);
}

static void vreport(Diag *diag, Loc loc, const char *kind, const char *fmt, va_list ap)
{
    FILE *out = diag->out;
    if (loc.src) {
        int line, col;
        loc_line_col(loc, &line, &col);
        fprintf(out, "%s:%d:%d: %s: ", loc.src->path, line, col, kind);
    } else {
        fprintf(out, "tpc: %s: ", kind);
    }
    vfprintf(out, fmt, ap);
    fputc('\n', out);
    if (loc.src)
        print_line(out, loc);
}

void diag_verror(Diag *diag, Loc loc, const char *fmt, va_list ap)
{
    if (diag_full(diag))
        return;
    vreport(diag, loc, "error", fmt, ap);
    if (++diag->errors == diag->limit)
        fprintf(diag->out, "tpc: too many errors (limit is %d); stopping\n", diag->limit);
}

void diag_error(Diag *diag, Loc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_verror(diag, loc, fmt, ap);
    va_end(ap);
}

void diag_note(Diag *diag, Loc loc, const char *fmt, ...)
{
    if (diag_full(diag))
        return;
    va_list ap;
    va_start(ap, fmt);
    vreport(diag, loc, "note", fmt, ap);
    va_end(ap);
}

void ir_internal_error(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "tpc: internal error at %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}
