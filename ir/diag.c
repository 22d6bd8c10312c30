/* diag.c — diagnostics: "file:line:col: error: message", the source line, a caret.
 *
 * Locations are byte offsets into a Source; the line and column are found only when a message
 * is printed. Columns count bytes from 1, as gcc and clang do. A line ends at "\n" or "\r\n".
 * An error at the end of the file is shown just after the end of its last non-empty line.
 * Non-printable bytes of a quoted line are shown as '?', one per UTF-8 character, so random
 * input cannot garble the terminal; of a long line only the part around the caret is quoted,
 * with "..." where it is cut. A message is at most MAX_MESSAGE bytes (callers also clip the
 * names they quote). After `limit` errors the compiler says so once and callers stop looking
 * (diag_full). A Diag whose `out` is NULL counts errors without printing them.
 */
#include "ir.h"

#include <stdlib.h>
#include <string.h>

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

/* An error at the end of the file (or of a -D's text) is shown just after the last character
 * that is not whitespace: "y = linear(x" then end of file puts the caret after the x. */
static Loc settle_at_end(Loc loc)
{
    const Source *src = loc.src;
    if (!src || loc.start < src->size)
        return loc;
    size_t at = src->size;
    while (at > 0 && (src->text[at - 1] == ' ' || src->text[at - 1] == '\t' ||
                      src->text[at - 1] == '\r' || src->text[at - 1] == '\n'))
        at--;
    loc.start = loc.end = (uint32_t)at;
    return loc;
}

/* Does byte i end its line ("\n", or the "\r" of "\r\n")? */
static bool ends_line(const Source *src, size_t i)
{
    const char *t = src->text;
    return t[i] == '\n' || (t[i] == '\r' && (i + 1 == src->size || t[i + 1] == '\n'));
}

/* Does byte i start a character on screen? A UTF-8 continuation byte after a non-ASCII byte
 * does not: "é" is one '?', not two. */
static bool starts_cell(const Source *src, size_t i, size_t begin)
{
    unsigned char c = (unsigned char)src->text[i];
    return !(c >= 0x80 && c < 0xc0 && i > begin && (unsigned char)src->text[i - 1] >= 0x80);
}

/* The quoted source line and a caret under loc.start (tildes under the rest of a one-line
 * range); of a very long line, only the part around the caret, with "..." where it is cut. */
static void print_line(FILE *out, Loc loc)
{
    enum { WINDOW = 80 };
    const Source *src = loc.src;
    size_t begin = loc.start, end = loc.start;
    while (begin > 0 && src->text[begin - 1] != '\n' && loc.start - begin < WINDOW)
        begin--;
    while (end < src->size && !ends_line(src, end) && end - loc.start < WINDOW)
        end++;
    bool cut_before = begin > 0 && src->text[begin - 1] != '\n';
    bool cut_after = end < src->size && !ends_line(src, end);
    size_t blank = begin;
    while (blank < end && (src->text[blank] == ' ' || src->text[blank] == '\t'))
        blank++;
    if (blank == end && !cut_before && !cut_after)
        return; /* a blank line (a blank file): nothing to point into */
    fputs(cut_before ? "    ..." : "    ", out);
    for (size_t i = begin; i < end; i++) {
        unsigned char c = (unsigned char)src->text[i];
        if (starts_cell(src, i, begin))
            fputc(c == '\t' || (c >= 32 && c < 127) ? c : '?', out);
    }
    fputs(cut_after ? "...\n    " : "\n    ", out);
    if (cut_before)
        fputs("   ", out);
    for (size_t i = begin; i < loc.start; i++)
        if (starts_cell(src, i, begin))
            fputc(src->text[i] == '\t' ? '\t' : ' ', out);
    fputc('^', out);
    for (size_t i = loc.start + 1; i < loc.end && i < end; i++)
        if (starts_cell(src, i, begin))
            fputc('~', out);
    fputc('\n', out);
}

/* Text from a model file or a path, shown with its control bytes as \xNN: an escape sequence
 * in a name must not act on the terminal. */
static void print_shown(FILE *out, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f)
            fprintf(out, "\\x%02x", c);
        else
            fputc(c, out);
    }
}

static void vreport(Diag *diag, Loc loc, const char *kind, const char *fmt, va_list ap)
{
    enum { MAX_MESSAGE = 1024 };
    FILE *out = diag->out;
    if (!out)
        return;
    char message[MAX_MESSAGE];
    int n = vsnprintf(message, sizeof message, fmt, ap);
    if (n >= (int)sizeof message)
        memcpy(message + sizeof message - 4, "...", 4);
    loc = settle_at_end(loc);
    if (loc.src) {
        int line, col;
        loc_line_col(loc, &line, &col);
        print_shown(out, loc.src->path);
        fprintf(out, ":%d:%d: %s: ", line, col, kind);
        print_shown(out, message);
        fputc('\n', out);
        print_line(out, loc);
    } else {
        fprintf(out, "tpc: %s: ", kind);
        print_shown(out, message);
        fputc('\n', out);
    }
}

void diag_verror(Diag *diag, Loc loc, const char *fmt, va_list ap)
{
    if (diag_full(diag))
        return;
    vreport(diag, loc, "error", fmt, ap);
    if (++diag->errors == diag->limit && diag->out)
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
