/* tpc-tokenize — a Hugging Face tokenizer.json from the command line, through libtpcrt's own
 * tokenizer (runtime/tokenizer.c), the code --prompt uses:
 *
 *     tpc-tokenize TOKENIZER.json            each line of stdin -> its ids, space-separated
 *     tpc-tokenize TOKENIZER.json --decode   each line of ids   -> the text
 *
 * Encoding prints tokenizer.encode(line).ids of HF (special tokens, truncation and padding as
 * the file says); decoding prints tokenizer.decode(ids) (special tokens skipped). A line is the
 * text up to '\n', without it. --time adds one line on stderr: the bytes encoded and MB/s,
 * counting the encode calls only (bench/tokenizer.py reads it).
 */
#include "tpcrt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int usage(void)
{
    fputs("usage: tpc-tokenize TOKENIZER.json [--decode] [--time] < lines\n", stderr);
    return 2;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int encode_lines(TpcrtTokenizer *tok, bool timed)
{
    char *line = NULL, err[512];
    size_t cap = 0, bytes = 0;
    ssize_t n;
    long number = 0;
    double seconds = 0;
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        number++;
        if (n > 0 && line[n - 1] == '\n')
            n--;
        TpcrtEncoding enc;
        double start = timed ? now() : 0;
        bool ok = tpcrt_tokenizer_encode(tok, line, (size_t)n, &enc, err, sizeof err);
        if (timed)
            seconds += now() - start;
        if (!ok) {
            fprintf(stderr, "tpc-tokenize: line %ld: %s\n", number, err);
            free(line);
            return 1;
        }
        bytes += (size_t)n;
        for (int64_t i = 0; i < enc.n; i++)
            printf(i ? " %d" : "%d", enc.ids[i]);
        putchar('\n');
        tpcrt_encoding_free(&enc);
    }
    free(line);
    if (timed)
        fprintf(stderr, "tpc-tokenize: encoded %zu bytes in %.3f s: %.2f MB/s\n", bytes, seconds,
                seconds > 0 ? (double)bytes / seconds / 1e6 : 0.0);
    return 0;
}

static int decode_lines(TpcrtTokenizer *tok)
{
    char *line = NULL;
    size_t cap = 0, idcap = 0;
    int32_t *ids = NULL;
    long number = 0;
    while (getline(&line, &cap, stdin) >= 0) {
        number++;
        size_t count = 0;
        for (char *p = line, *end;; p = end) {
            while (*p == ' ' || *p == '\t')
                p++;
            if (*p == '\n' || *p == '\r' || *p == 0)
                break;
            errno = 0;
            long v = strtol(p, &end, 10);
            if (end == p || errno || v < INT32_MIN || v > INT32_MAX ||
                (*end && *end != ' ' && *end != '\t' && *end != '\n' && *end != '\r')) {
                fprintf(stderr, "tpc-tokenize: line %ld: ids (decimal integers separated by "
                        "spaces) expected\n", number);
                free(line);
                free(ids);
                return 1;
            }
            if (count == idcap) {
                idcap = idcap ? idcap * 2 : 64;
                ids = realloc(ids, idcap * sizeof *ids);
                if (!ids) {
                    fputs("tpc-tokenize: out of memory\n", stderr);
                    exit(1);
                }
            }
            ids[count++] = (int32_t)v;
        }
        size_t len;
        char *text = tpcrt_tokenizer_decode(tok, ids, (int64_t)count, true, &len);
        fwrite(text, 1, len, stdout);
        putchar('\n');
        free(text);
    }
    free(line);
    free(ids);
    return 0;
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    bool decode = false, timed = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--decode") == 0)
            decode = true;
        else if (strcmp(argv[i], "--time") == 0)
            timed = true;
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs("usage: tpc-tokenize TOKENIZER.json [--decode] [--time] < lines\n", stdout);
            return 0;
        } else if (argv[i][0] == '-' || path)
            return usage();
        else
            path = argv[i];
    }
    if (!path)
        return usage();
    static char buffer[1 << 16];
    setvbuf(stdout, buffer, _IOFBF, sizeof buffer);
    char err[512];
    TpcrtTokenizer *tok = tpcrt_tokenizer_load(path, err, sizeof err);
    if (!tok) {
        fprintf(stderr, "tpc-tokenize: %s\n", err);
        return 1;
    }
    int status = decode ? decode_lines(tok) : encode_lines(tok, timed);
    tpcrt_tokenizer_free(tok);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "tpc-tokenize: cannot write the output: %s\n", strerror(errno));
        return 1;
    }
    return status;
}
