/* stream.c — the weight-streaming floor of a decode step: how fast one core reads memory.
 *
 * A decode step reads every weight a rank holds once (one token: each weight element is used
 * once), so no step can be faster than the rank's weight bytes over the read bandwidth its
 * core gets. This program measures that bandwidth the simplest way: a sum over a buffer far
 * larger than the caches, vectorised, the best of --passes passes.
 *
 *   stream --bytes N [--passes P] [--ready FILE] [--go FILE]
 *
 * prints "stream: B GB/s over N bytes". --ready/--go let a driver start two at once (one per
 * core, as two ranks run): each allocates and touches its buffer, creates --ready, waits for
 * --go to exist, then measures.
 */
#define _GNU_SOURCE /* clock_gettime, usleep under -std=c17 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Eight independent sums, so the adds are not one chain: the loads are what limit it. */
static float sum(const float *x, size_t n)
{
    float s[16] = {0};
    for (size_t i = 0; i + 16 <= n; i += 16)
        for (int k = 0; k < 16; k++)
            s[k] += x[i + k];
    float total = 0;
    for (int k = 0; k < 16; k++)
        total += s[k];
    return total;
}

int main(int argc, char **argv)
{
    size_t bytes = 0;
    int passes = 5;
    const char *ready = NULL, *go = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--bytes"))
            bytes = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--passes"))
            passes = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--ready"))
            ready = argv[i + 1];
        else if (!strcmp(argv[i], "--go"))
            go = argv[i + 1];
    }
    if (bytes < 64 || passes < 1) {
        fprintf(stderr, "usage: stream --bytes N [--passes P] [--ready FILE --go FILE]\n");
        return 2;
    }
    size_t n = bytes / sizeof(float) / 16 * 16;
    float *x = aligned_alloc(64, n * sizeof(float));
    if (!x) {
        fprintf(stderr, "stream: out of memory for %zu bytes\n", bytes);
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(i & 7);
    if (ready) {
        FILE *f = fopen(ready, "w");
        if (f)
            fclose(f);
        while (go && access(go, F_OK) != 0)
            usleep(1000);
    }
    double best = 1e30;
    volatile float sink = 0;
    for (int p = 0; p < passes; p++) {
        double start = now();
        sink += sum(x, n);
        double t = now() - start;
        best = t < best ? t : best;
    }
    printf("stream: %.2f GB/s over %zu bytes\n", (double)(n * sizeof(float)) / best / 1e9,
           n * sizeof(float));
    free(x);
    return sink == 12345.0f; /* keeps the sums */
}
