/* mangle.c — the front end and the pass pipeline on mangled models, in one process.
 *
 * For every model file named on the command line: the file cut at every byte offset, copies
 * with random bytes changed, and copies with a random token deleted, doubled or swapped with
 * another. Each must be compiled or refused with messages — never a crash (the sanitizer build
 * runs this too), never a hang (lit's timeout). Prints what it tried and how it ended.
 *
 * usage: mangle [--seed S] [--flips N] [--edits N] MODEL.tpl ...
 */
#include "frontend.h"
#include "passes.h"

#include <stdlib.h>
#include <string.h>

typedef struct Tally {
    long accepted, refused;
} Tally;

static uint64_t rng_state;

static uint64_t next_random(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void compile_text(const char *text, size_t size, FILE *sink, Tally *t)
{
    Arena *a = arena_new();
    char *copy = arena_alloc(a, size + 1);
    memcpy(copy, text, size);
    Source *src = arena_alloc(a, sizeof *src);
    *src = (Source){"mangled.tpl", copy, size};
    Options opt = {.tp = 1, .emit = EMIT_IR};
    Diag diag;
    diag_init(&diag, sink);
    Module *m = parse_module(a, src, &diag);
    Graph *g = diag.errors == 0 ? sema_lower(a, m, &opt, &diag) : NULL;
    bool ok = g && pass_run_pipeline(g, &opt, &diag);
    if (ok)
        ir_print(sink, g, 0);
    if (ok)
        t->accepted++;
    else
        t->refused++;
    arena_free(a);
}

/* The byte range of token number `k` (whitespace-separated), or false past the end. */
static bool find_token(const char *s, size_t n, long k, size_t *start, size_t *end)
{
    size_t i = 0;
    for (long seen = 0; i < n; seen++) {
        while (i < n && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t'))
            i++;
        size_t b = i;
        while (i < n && !(s[i] == ' ' || s[i] == '\n' || s[i] == '\t'))
            i++;
        if (b == i)
            return false;
        if (seen == k) {
            *start = b;
            *end = i;
            return true;
        }
    }
    return false;
}

static long count_tokens(const char *s, size_t n)
{
    size_t b, e;
    long k = 0;
    while (find_token(s, n, k, &b, &e))
        k++;
    return k;
}

/* Deletes, doubles, or swaps with another a random token. */
static size_t edit_tokens(const char *s, size_t n, long tokens, char *out)
{
    size_t b1, e1, b2, e2;
    find_token(s, n, (long)(next_random() % (uint64_t)tokens), &b1, &e1);
    find_token(s, n, (long)(next_random() % (uint64_t)tokens), &b2, &e2);
    size_t len = 0;
    switch (next_random() % 3) {
    case 0: /* delete */
        memcpy(out, s, b1);
        memcpy(out + b1, s + e1, n - e1);
        return n - (e1 - b1);
    case 1: /* double */
        memcpy(out, s, e1);
        out[e1] = ' ';
        memcpy(out + e1 + 1, s + b1, e1 - b1);
        memcpy(out + e1 + 1 + (e1 - b1), s + e1, n - e1);
        return n + 1 + (e1 - b1);
    default: /* put token 2 in place of token 1 */
        memcpy(out, s, b1);
        len = b1;
        memcpy(out + len, s + b2, e2 - b2);
        len += e2 - b2;
        memcpy(out + len, s + e1, n - e1);
        return len + n - e1;
    }
}

static char *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)n + 1);
    if (!text || fread(text, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    fclose(f);
    *size = (size_t)n;
    return text;
}

int main(int argc, char **argv)
{
    long flips = 2000, edits = 2000;
    uint64_t seed = 1;
    FILE *sink = fopen("/dev/null", "w");
    int i = 1;
    for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
        if (!strcmp(argv[i], "--seed"))
            seed = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--flips"))
            flips = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--edits"))
            edits = atol(argv[i + 1]);
    }
    for (; i < argc; i++) {
        size_t n;
        char *text = read_file(argv[i], &n);
        char *buf = malloc(2 * n + 2);
        Tally cut = {0}, flip = {0}, edit = {0};
        rng_state = seed;
        compile_text(text, n, sink, &cut);
        if (cut.accepted != 1) {
            fprintf(stderr, "%s does not compile as it is\n", argv[i]);
            return 1;
        }
        cut = (Tally){0};
        for (size_t at = 0; at < n; at++)
            compile_text(text, at, sink, &cut);
        for (long k = 0; k < flips; k++) {
            memcpy(buf, text, n);
            buf[next_random() % n] = (char)(next_random() & 0xff);
            compile_text(buf, n, sink, &flip);
        }
        long tokens = count_tokens(text, n);
        for (long k = 0; k < edits; k++)
            compile_text(buf, edit_tokens(text, n, tokens, buf), sink, &edit);
        printf("%s: %zu cuts (%ld accepted), %ld flips (%ld accepted), %ld token edits (%ld "
               "accepted), no crash\n",
               argv[i], n, cut.accepted, flips, flip.accepted, edits, edit.accepted);
        free(buf);
        free(text);
    }
    fclose(sink);
    return 0;
}
