/* c_text.c — the only way text and numbers from a model file, a path or a checkpoint name reach
 * generated C: as a string literal, as comment text, or as a floating constant.
 *
 * Generated source is code, and what a user wrote is data: a checkpoint name holding `"` or
 * `??/` (a trigraph, for a compiler in a strict C mode) must not end its string literal, and a
 * path holding `*` followed by `/` must not end a comment. So each printer keeps a small set of
 * bytes that mean nothing special where it prints them, and writes every other byte as an
 * escape: octal in strings (always three digits, so a following digit cannot extend it), a
 * visible \xNN in comments, which nothing reads back. Numbers are printed so that the C
 * compiler reads back exactly the value tpc holds.
 */
#include "codegen.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Bytes that stand for themselves in a string literal and in a comment: no quote, backslash,
 * question mark (trigraphs), control byte or byte outside ASCII. */
static bool plain_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr(" _-.,:;/+=@#$%&*()[]{}<>|!~^'`", c));
}

const char *c_string(Arena *a, const char *bytes)
{
    size_t n = strlen(bytes);
    char *s = arena_alloc(a, 4 * n + 3), *out = s;
    *out++ = '"';
    for (const unsigned char *p = (const unsigned char *)bytes; *p; p++) {
        if (plain_byte(*p))
            *out++ = (char)*p;
        else
            out += sprintf(out, "\\%03o", *p);
    }
    *out++ = '"';
    *out = 0;
    return s;
}

const char *c_comment(Arena *a, const char *text)
{
    size_t n = strlen(text);
    char *s = arena_alloc(a, 4 * n + 1), *out = s;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        /* the '/' of a comment's end, and the '*' of a comment's start (gcc warns of those) */
        bool closes = *p == '/' && out > s && out[-1] == '*';
        bool opens = *p == '*' && out > s && out[-1] == '/';
        if (plain_byte(*p) && !closes && !opens)
            *out++ = (char)*p;
        else
            out += sprintf(out, "\\x%02x", *p);
    }
    *out = 0;
    return s;
}

/* The shortest decimal that reads back as v (as a float when f32), made a
 * floating constant: "1e-05f", "1.0f" ("1f" is not C), "10000.0". The front end refuses
 * values outside the type's range, so reaching one here is a bug of tpc's. */
void c_number(char *buf, size_t size, double v, bool f32)
{
    if (!isfinite(v) || (f32 && fabs(v) > FLT_MAX))
        internal_error("a floating constant outside %s's range reached codegen: %g",
                       f32 ? "float" : "double", v);
    char num[40];
    if (f32) {
        float x = (float)v; /* what the program computes with: 1e-50 is 0.0f, not a warning */
        for (int digits = 6; digits <= 9; digits++) {
            snprintf(num, sizeof num, "%.*g", digits, (double)x);
            if (strtof(num, NULL) == x)
                break;
        }
    } else {
        double_str(v, num, sizeof num); /* the IR printer's shortest double */
    }
    snprintf(buf, size, "%s%s%s", num, strpbrk(num, ".e") ? "" : ".0", f32 ? "f" : "");
}

const char *c_float(Arena *a, double v)
{
    char num[48];
    c_number(num, sizeof num, v, true);
    return arena_strdup(a, num);
}

const char *c_double(Arena *a, double v)
{
    char num[48];
    c_number(num, sizeof num, v, false);
    return arena_strdup(a, num);
}
