/* rt_sample — tpcrt_sample checked against a plain C reference over the full rows, at any world
 * size. Every rank makes the same full logits (a function of the row and id alone) and hands
 * tpcrt_sample its columns under three layouts: balanced, uneven (out of rank order, one rank
 * empty from 3 ranks on) and replicated. It checks that the layouts give the same ids, that
 * greedy is the first largest logit, that top_k = 1 and a tiny top_p are greedy, that every
 * draw is an id the reference keeps, that temperature changes something, and that the
 * frequencies of 20000 draws match the reference's probabilities (chi-square); it prints a
 * digest of every id drawn, which sample.test compares between world sizes. The scratch must
 * not grow when the same calls come again.
 * --nan-row: a row of NaN; --bad-layout: ranges that overlap; --bench: the cost of a call.
 */
#include <mpi.h> /* first: tpcrt.h declares tpcrt_attach after it */

#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { NLAYOUTS = 3, MAX_RANKS = 16 };

static const char *const layout_names[NLAYOUTS] = {"balanced", "uneven", "replicated"};

static int world, rank;

/* ---- layouts --------------------------------------------------------------------------------- */

/* Rank r's range of the vocabulary in `layout`. Uneven: ranks in reverse order, rank q's share
 * growing as (q + 1)^2, rank 1 empty from 3 ranks on. */
static TpcrtRange layout_range(int layout, int64_t vocab, int r)
{
    if (layout == 2)
        return (TpcrtRange){0, vocab};
    int64_t weight[MAX_RANKS], total = 0, before = 0;
    for (int q = 0; q < world; q++) {
        weight[q] = layout == 0 ? 1 : world >= 3 && q == 1 ? 0 : (q + 1) * (q + 1);
        total += weight[q];
    }
    if (layout == 0)
        for (int q = 0; q < r; q++)
            before += weight[q];
    else
        for (int q = world - 1; q > r; q--)
            before += weight[q];
    return (TpcrtRange){vocab * before / total, vocab * (before + weight[r]) / total};
}

/* ---- the logits: a function of (set, row, id) ------------------------------------------------ */

typedef struct Set {
    const char *name;
    int64_t vocab, rows;
    float *full; /* [rows, vocab] */
} Set;

static const float small_logits[16] = {1.0f,  0.5f,  2.0f, -1.0f,  0.0f, 1.5f, -0.5f, 0.25f,
                                       3.0f, -2.0f, 0.75f, 1.25f, -3.0f, 2.5f, 0.1f, -0.25f};

/* Rows of every kind a sampler must get right. */
static float mixed_logit(uint64_t key, int64_t row, int64_t id, int64_t vocab)
{
    float normal = tpcrt_random_normal(key, (uint64_t)(row * vocab + id));
    switch (row) {
    case 0: return 2 * normal;
    case 1: return 5 * normal;
    case 2: return id == 17 || id == vocab / 2 - 20 || id == vocab - 1 ? 20.0f : normal;
    case 3: return roundf(8 * normal) / 4;                        /* bf16-like: ties everywhere */
    case 4: return id % 7 == 3 || id == 100 ? NAN : 3 * normal;   /* NaNs */
    case 5: return id % 5 == 0 ? NAN : -INFINITY;                 /* -inf and NaN only */
    case 6: return id == 600 || id == 300 ? INFINITY : normal;    /* two +inf */
    case 7: return 0.0f;                                          /* all equal */
    case 8: return id == vocab - 1 ? 9.0f : normal;               /* the last id */
    case 9: return id == 555 ? -4.0f : NAN;                       /* one id not NaN */
    case 10: return id % 250 == 0 ? 6.0f : normal;                /* ties at range starts */
    case 11: return id % 250 == 249 ? 6.0f : normal;              /* ... and ends */
    case 12: return id >= 490 && id < 510 ? 4.0f : normal - 10;   /* a group of 20 ties */
    default: return (float)(row - 12) * normal;
    }
}

static float big_logit(uint64_t key, int64_t row, int64_t id, int64_t vocab)
{
    float normal = tpcrt_random_normal(key, (uint64_t)(row * vocab + id));
    switch (row) {
    case 0: return 3 * normal;
    case 1: return id % 32071 == 5 ? 16.0f : 3 * normal;
    case 2: return roundf(16 * normal) / 8;
    default: return normal;
    }
}

/* 2000 copies of one row of 16: draws of the same distribution. Tied: ids 1, 5, 9 and 13 equal
 * and best, so that cuts fall inside the group, across ranks. */
static float stat_logit(bool tied, int64_t id)
{
    return tied ? (id % 4 == 1 ? 3.0f : small_logits[id] / 3) : small_logits[id];
}

static Set set_make(const char *name, int64_t vocab, int64_t rows)
{
    Set set = {name, vocab, rows, tpcrt_alloc((size_t)(vocab * rows) * sizeof(float), "logits")};
    uint64_t key = tpcrt_random_key(7, name);
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < vocab; j++) {
            float *v = &set.full[i * vocab + j];
            if (strcmp(name, "mixed") == 0)
                *v = mixed_logit(key, i, j, vocab);
            else if (strcmp(name, "big") == 0)
                *v = big_logit(key, i, j, vocab);
            else
                *v = stat_logit(strcmp(name, "tied") == 0, j);
        }
    return set;
}

/* ---- the reference: the definition, over a full row ------------------------------------------ */

static const float *sort_row;

/* Larger logit first, then lower id. */
static int compare_order(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    float u = sort_row[x], v = sort_row[y];
    return u > v ? -1 : u < v ? 1 : x < y ? -1 : x > y;
}

/* The row's ids that are not NaN, best first; returns how many. */
static int64_t reference_order(const float *row, int64_t vocab, int64_t *order)
{
    int64_t n = 0;
    for (int64_t j = 0; j < vocab; j++)
        if (!isnan(row[j]))
            order[n++] = j;
    sort_row = row;
    qsort(order, (size_t)n, sizeof *order, compare_order);
    return n;
}

/* How many of order[0..n) are kept, and prob[j] of each: temperature, top-k, top-p. */
static int64_t reference_kept(const float *row, const int64_t *order, int64_t n,
                              const TpcrtSampling *s, double *prob)
{
    if (s->top_k > 0 && s->top_k < n)
        n = s->top_k;
    float max = row[order[0]];
    double total = 0, before = 0;
    for (int64_t j = 0; j < n; j++) {
        float v = row[order[j]];
        prob[j] = v == max ? 1.0 : exp(((double)v - max) / s->temperature);
        total += prob[j];
    }
    int64_t kept = 0;
    while (kept < n && (s->top_p >= 1 || before < s->top_p * total))
        before += prob[kept++];
    for (int64_t j = 0; j < kept; j++)
        prob[j] /= before;
    return kept;
}

/* ---- running and checking -------------------------------------------------------------------- */

/* ids[step][row] from tpcrt_sample over this rank's columns in `layout`. */
static void sample_steps(const Set *set, int layout, const TpcrtSampling *s, int64_t steps,
                         int32_t *ids)
{
    TpcrtRange range = layout_range(layout, set->vocab, rank);
    int64_t count = range.end - range.start, ld = count + 3;
    float *local = tpcrt_alloc((size_t)(set->rows * ld) * sizeof *local, "local logits");
    for (int64_t i = 0; i < set->rows; i++)
        memcpy(local + i * ld, set->full + i * set->vocab + range.start,
               (size_t)count * sizeof *local);
    for (int64_t step = 0; step < steps; step++)
        tpcrt_sample(local, set->rows, ld, range.start, count, set->vocab, s, step,
                     ids + step * set->rows);
    tpcrt_free(local);
}

static uint64_t digest(const int32_t *ids, int64_t n)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (int64_t i = 0; i < n; i++)
        h = (h ^ (uint32_t)ids[i]) * 0x100000001b3u;
    return h;
}

typedef struct Config {
    const char *name;
    TpcrtSampling s;
} Config;

static const Config configs[] = {
    {"greedy", {0, 0, 1, 0}},
    {"t1", {1.0, 0, 1, 42}},
    {"t0.7", {0.7, 0, 1, 42}},
    {"t1-k5", {1.0, 5, 1, 43}},
    {"t0.8-k40-p0.9", {0.8, 40, 0.9, 44}},
    {"t1-p0.9", {1.0, 0, 0.9, 45}},
    {"t1.3-p0.5", {1.3, 0, 0.5, 46}},
    {"t1-k1", {1.0, 1, 1, 47}},
    {"t1-p1e-9", {1.0, 0, 1e-9, 48}},
    {"t2-k3-p0.6", {2.0, 3, 0.6, 49}},
};
enum { NCONFIGS = sizeof configs / sizeof configs[0] };

static void fail_if(bool bad, const char *what, const Set *set, const Config *c, int64_t step,
                    int64_t row, int32_t id)
{
    if (bad)
        tpcrt_fail("%s: set %s, %s, step %lld, row %lld: id %d", what, set->name, c->name,
                   (long long)step, (long long)row, id);
}

/* Runs every config on the set under every layout, steps times, and checks it; ids of config c
 * end in all + c * steps * rows. */
static void check_set(const Set *set, int64_t steps, int32_t *all)
{
    int64_t n = steps * set->rows;
    int32_t *ids = tpcrt_alloc((size_t)n * sizeof *ids, "ids");
    int64_t *order = tpcrt_alloc((size_t)(set->rows * set->vocab) * sizeof *order, "order");
    int64_t *valid = tpcrt_alloc((size_t)set->rows * sizeof *valid, "valid");
    double *prob = tpcrt_alloc((size_t)set->vocab * sizeof *prob, "prob");
    bool *kept = tpcrt_alloc((size_t)set->vocab * sizeof *kept, "kept");
    for (int64_t i = 0; i < set->rows; i++)
        valid[i] = reference_order(set->full + i * set->vocab, set->vocab,
                                   order + i * set->vocab);
    for (int c = 0; c < NCONFIGS; c++) {
        int32_t *mine = all + c * n;
        for (int layout = 0; layout < NLAYOUTS; layout++) {
            sample_steps(set, layout, &configs[c].s, steps, layout ? ids : mine);
            for (int64_t k = 0; layout && k < n; k++)
                if (ids[k] != mine[k])
                    tpcrt_fail("set %s, %s: layout %s gave id %d at step %lld row %lld, "
                               "balanced %d", set->name, configs[c].name, layout_names[layout],
                               ids[k], (long long)(k / set->rows), (long long)(k % set->rows),
                               mine[k]);
        }
        for (int64_t i = 0; i < set->rows; i++) {
            const float *row = set->full + i * set->vocab;
            const int64_t *o = order + i * set->vocab;
            int64_t nkept = configs[c].s.temperature == 0
                                ? 1 : reference_kept(row, o, valid[i], &configs[c].s, prob);
            memset(kept, 0, (size_t)set->vocab * sizeof *kept);
            for (int64_t j = 0; j < nkept; j++)
                kept[o[j]] = true;
            for (int64_t step = 0; step < steps; step++) {
                int32_t id = mine[step * set->rows + i];
                fail_if(id < 0 || id >= set->vocab || !kept[id], "an id the reference does not "
                        "keep", set, &configs[c], step, i, id);
                fail_if(configs[c].s.temperature == 0 && id != o[0], "not the greedy id", set,
                        &configs[c], step, i, id);
            }
        }
    }
    tpcrt_free(kept);
    tpcrt_free(prob);
    tpcrt_free(valid);
    tpcrt_free(order);
    tpcrt_free(ids);
}

static int config_index(const char *name)
{
    for (int c = 0; c < NCONFIGS; c++)
        if (strcmp(configs[c].name, name) == 0)
            return c;
    tpcrt_fail("test: no config %s", name);
}

/* Greedy's ids against those of another config: how many differ. */
static int64_t differ(const int32_t *all, int64_t n, const char *a, const char *b)
{
    int64_t count = 0;
    for (int64_t k = 0; k < n; k++)
        count += all[config_index(a) * n + k] != all[config_index(b) * n + k];
    return count;
}

static void report_set(const Set *set, int64_t steps, const int32_t *all)
{
    int64_t n = steps * set->rows;
    if (rank != 0)
        return;
    printf("set %s: %lld rows of %lld, %lld steps, %d layouts agree, every id kept\n", set->name,
           (long long)set->rows, (long long)set->vocab, (long long)steps, NLAYOUTS);
    for (int c = 0; c < NCONFIGS; c++)
        printf("  %-14s digest %016llx first %d %d %d\n", configs[c].name,
               (unsigned long long)digest(all + c * n, n), all[c * n], all[c * n + 1],
               all[c * n + 2]);
    printf("  greedy: top_k 1 differs on %lld, top_p 1e-9 on %lld, temperature 1 on %lld of %lld\n",
           (long long)differ(all, n, "greedy", "t1-k1"),
           (long long)differ(all, n, "greedy", "t1-p1e-9"),
           (long long)differ(all, n, "greedy", "t1"), (long long)n);
    fflush(stdout);
}

/* ---- frequencies ----------------------------------------------------------------------------- */

/* Draws of `stat` rows times `steps` against the reference's probabilities: a draw the reference
 * does not keep fails at once; the kept ids' counts give a chi-square, which must be below a
 * bound a correct sampler exceeds with probability about 1e-4. The same at every world size,
 * since the draws are. */
static void check_frequencies(const Set *set, const Config *c, int64_t steps)
{
    int64_t n = steps * set->rows, order[16], counts[16] = {0};
    double prob[16];
    int32_t *ids = tpcrt_alloc((size_t)n * sizeof *ids, "ids");
    sample_steps(set, 0, &c->s, steps, ids);
    int64_t valid = reference_order(set->full, set->vocab, order);
    int64_t kept = reference_kept(set->full, order, valid, &c->s, prob);
    for (int64_t k = 0; k < n; k++)
        counts[ids[k]]++;
    double chi2 = 0;
    int64_t seen = 0;
    for (int64_t j = 0; j < kept; j++) {
        double expected = prob[j] * (double)n;
        chi2 += (counts[order[j]] - expected) * (counts[order[j]] - expected) / expected;
        seen += counts[order[j]];
    }
    if (seen != n)
        tpcrt_fail("frequencies %s %s: %lld of %lld draws outside the %lld ids kept", set->name,
                   c->name, (long long)(n - seen), (long long)n, (long long)kept);
    double dof = (double)(kept - 1), bound = dof + 5 * sqrt(2 * dof) + 5;
    if (!(chi2 <= bound))
        tpcrt_fail("frequencies %s %s: chi-square %.1f over %g degrees of freedom, above %.1f",
                   set->name, c->name, chi2, dof, bound);
    if (rank == 0)
        printf("frequencies %s %-14s %lld draws over %2lld ids: chi-square %5.1f <= %4.1f\n",
               set->name, c->name, (long long)n, (long long)kept, chi2, bound);
    tpcrt_free(ids);
}

/* ---- the checks ------------------------------------------------------------------------------ */

static void run_checks(bool print)
{
    enum { MIXED_STEPS = 6, BIG_STEPS = 2, STAT_ROWS = 2000, STAT_STEPS = 10 };
    Set mixed = set_make("mixed", 1000, 16), big = set_make("big", 128256, 4);
    int32_t *all = tpcrt_alloc((size_t)NCONFIGS * MIXED_STEPS * 16 * sizeof *all, "ids");
    check_set(&mixed, MIXED_STEPS, all);
    if (print)
        report_set(&mixed, MIXED_STEPS, all);
    if (print)
        check_set(&big, BIG_STEPS, all);
    if (print)
        report_set(&big, BIG_STEPS, all);
    tpcrt_free(all);
    if (print) {
        Set plain = set_make("plain", 16, STAT_ROWS), tied = set_make("tied", 16, STAT_ROWS);
        static const char *const names[] = {"t1", "t0.7", "t1-k5", "t1-p0.9", "t1.3-p0.5",
                                            "t2-k3-p0.6", "t0.8-k40-p0.9"};
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            check_frequencies(&plain, &configs[config_index(names[i])], STAT_STEPS);
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            check_frequencies(&tied, &configs[config_index(names[i])], STAT_STEPS);
        tpcrt_free(plain.full);
        tpcrt_free(tied.full);
    }
    tpcrt_free(mixed.full);
    tpcrt_free(big.full);
}

/* Everything, then the mixed set's calls again: the scratch must not grow. */
static void check_all(void)
{
    run_checks(true);
    size_t bytes = tpcrt_sample_scratch_bytes();
    run_checks(false);
    if (tpcrt_sample_scratch_bytes() != bytes)
        tpcrt_fail("sampling scratch grew from %zu to %zu bytes on the same calls", bytes,
                   tpcrt_sample_scratch_bytes());
    if (tpcrt_collective_seconds() <= 0)
        tpcrt_fail("no time counted in collectives");
    if (rank == 0)
        printf("scratch steady, collective time counted\n");
}

/* A row of NaN among good ones. */
static void nan_row(void)
{
    Set set = set_make("mixed", 1000, 3);
    for (int64_t j = 0; j < set.vocab; j++)
        set.full[set.vocab + j] = NAN;
    int32_t ids[3];
    sample_steps(&set, 0, &configs[0].s, 1, ids);
}

/* Rank 0 holds [0, 600), rank 1 [500, 1000). */
static void bad_layout(void)
{
    float logits[600] = {0};
    int32_t id;
    int64_t first = rank == 0 ? 0 : 500, count = rank == 0 ? 600 : 1000 - 500;
    tpcrt_sample(logits, 1, count, first, count, 1000, &configs[0].s, 0, &id);
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median cost of a call at a vocabulary of 128256 split over the ranks, 1 and 8 rows. */
static void bench(void)
{
    enum { ITERS = 200, VOCAB = 128256 };
    static const char *const names[] = {"greedy", "t1", "t1-k5", "t0.8-k40-p0.9", "t1-p0.9"};
    static const TpcrtSampling k50 = {1.0, 50, 1, 1}, k50p = {1.0, 50, 0.9, 1};
    TpcrtRange range = layout_range(0, VOCAB, rank);
    int64_t count = range.end - range.start;
    float *logits = tpcrt_alloc((size_t)(8 * count) * sizeof *logits, "logits");
    uint64_t key = tpcrt_random_key(3, "bench");
    for (int64_t i = 0; i < 8; i++)
        for (int64_t j = 0; j < count; j++)
            logits[i * count + j] = 3 * tpcrt_random_normal(key, (uint64_t)(i * VOCAB + j));
    double *t = tpcrt_alloc(ITERS * sizeof *t, "times");
    int32_t ids[8];
    for (int rows = 1; rows <= 8; rows += 7)
        for (size_t c = 0; c < 7; c++) {
            const TpcrtSampling *s = c < 5 ? &configs[config_index(names[c])].s
                                   : c == 5 ? &k50 : &k50p;
            const char *name = c < 5 ? names[c] : c == 5 ? "t1-k50" : "t1-k50-p0.9";
            for (int i = -10; i < ITERS; i++) {
                mpi_check(MPI_Barrier(MPI_COMM_WORLD));
                double start = tpcrt_now();
                tpcrt_sample(logits, rows, count, range.start, count, VOCAB, s, i, ids);
                if (i >= 0)
                    t[i] = tpcrt_now() - start;
            }
            qsort(t, ITERS, sizeof *t, compare_double);
            if (rank == 0)
                printf("bench: %d ranks, vocab %d, %d rows, %-14s median %8.1f us\n", world,
                       VOCAB, rows, name, t[ITERS / 2] * 1e6);
        }
    tpcrt_free(t);
    tpcrt_free(logits);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_size(MPI_COMM_WORLD, &world);
    if (world > MAX_RANKS) {
        fprintf(stderr, "rt_sample: at most %d ranks\n", MAX_RANKS);
        return 1;
    }
    TpcrtProgram prog = {.name = "rt_sample", .tp = world};
    tpcrt_attach(MPI_COMM_WORLD, &prog, 1);
    rank = tpcrt_rank();

    if (argc == 2 && strcmp(argv[1], "--nan-row") == 0)
        nan_row();
    else if (argc == 2 && strcmp(argv[1], "--bad-layout") == 0)
        bad_layout();
    else if (argc == 2 && strcmp(argv[1], "--bench") == 0)
        bench();
    else
        check_all();
    tpcrt_finalize();
    MPI_Finalize();
    return 0;
}
