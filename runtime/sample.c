/* sample.c — the next id of every row, from logits split over the vocabulary, never gathered.
 *
 * Semantics: Hugging Face's generate. Temperature 0 is greedy (the warpers are ignored, as with
 * do_sample=False). Otherwise, in the order of HF's logits warpers: scores = logits / T; top-k
 * keeps the k best; top-p keeps, of those, the smallest prefix, best first, whose probability
 * (softmax over what top-k kept) reaches p, and always the best one; one id is drawn from the
 * softmax of what is kept. "Best first" is one total order, larger logit first, then lower id,
 * so that every tie is decided by id the way greedy's is (torch.argmax takes the first of equal
 * maxima): top-k keeps exactly k (where HF keeps every logit equal to the k-th as well), a cut
 * of top-p inside a group of equal logits keeps its lower ids, and top_k = 1 or a tiny top_p is
 * greedy. NaN logits are never chosen nor counted; a row that is NaN at every id ends the job,
 * every rank saying so. A row of -inf gives its lowest id; +inf logits share all the
 * probability.
 *
 * A draw is the Gumbel-max trick: the kept id with the largest score + g, where
 * g = -log(-log u) and u in (0, 1) is a pure function of (seed, step, row, id) (random.c's
 * counter-based hash), has the distribution softmax(scores) over the kept ids. So a draw is a
 * distributed argmax like greedy's, and a seed gives the same ids at every world size and split
 * provided the kept set is decided exactly. It is: the order is total, and probabilities are
 * masses exp((logit - max) / T) in fixed point (2^40 for the largest logit; those below 2^-41
 * are 0 and are dropped by top-p), whose integer sums do not depend on the order they are added
 * in, so no sum over ranks can come out differently at another world size.
 *
 * Messages per call, for all rows at once, the same on every rank (R rows, W ranks):
 *   greedy, temperature alone:  1 all-reduce MAXLOC of R (double, int) pairs.
 *   top-k, with or without top-p: 1 all-gather of k order keys (8 bytes) per rank per row, whose
 *       union holds the global k best, so that every rank decides top-k and top-p and draws
 *       alone, the same id: nothing more. The cost grows with k (k = 50: 400 bytes per rank per
 *       row).
 *   top-p without top-k: the kept set is unbounded (a flat row keeps most of the vocabulary), so
 *       the threshold is found instead: 1 all-reduce MAX of R floats (the normaliser's max), then
 *       a radix select of the threshold logit, 8 bits a round, 4 all-reduces of a 256-bucket
 *       mass histogram per row (2 KiB), then the MAXLOC; where the cut falls inside a group of
 *       equal logits that ranks hold several of, 1 all-gather of R + 1 int64 per rank tells each
 *       rank how many of the group's lower ids the others hold. 6 or 7 in all.
 * and, at the first call and whenever the vocabulary size changes, 1 all-gather of every rank's
 * range, checked: the ranges partition [0, vocab) (some may be empty), or every rank holds it
 * all (a replicated head; each rank then works on a balanced share of it). Which messages a call
 * makes never depends on the layout, only on its arguments, so a wrong layout gives wrong ids but
 * no rank waits forever.
 *
 * Scratch grows to the largest call seen and is kept: a call allocates nothing once the sizes
 * have been seen. Time inside every MPI call goes to tpcrt_collective_seconds.
 */
#include <mpi.h> /* first: internal.h declares tpcrt_comm after it */

#include "internal.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum {
    MASS_BITS = 40,              /* the largest logit's mass is 2^40 */
    MASS_CUTOFF = 29,            /* (logit - max) / T below -29: exp() * 2^40 < 0.31, mass 0 */
    VOCAB_LIMIT = 1 << 23,       /* below it, 2^40 per id sums below 2^63 */
    RADIX_BITS = 8,              /* of the threshold's 32-bit key, per round */
    RADIX_BUCKETS = 1 << RADIX_BITS,
    RADIX_ROUNDS = 32 / RADIX_BITS,
    NO_ID = INT_MAX,             /* a rank's best when it holds nothing to choose */
};

/* -log(-log u) for u at most 1 - 2^-54, the largest the hash gives: 37.4. */
static const double gumbel_max = 38.0;

/* One row's best on a rank, as MPI_DOUBLE_INT lays it out: MAXLOC breaks ties to the lower id. */
typedef struct Best {
    double score;
    int id;
} Best;

/* What top-p without top-k has found of a row's threshold so far. */
typedef struct Nucleus {
    bool active;     /* still cutting (false: nothing to cut, keep everything) */
    float max;       /* the row's largest logit */
    int64_t target;  /* the mass the kept prefix must reach: ceil(p * total) */
    int64_t above;   /* the mass of keys above the prefix found */
    int64_t group;   /* after the last round: the mass of the keys equal to it */
    uint32_t prefix; /* the threshold key's digits found so far */
} Nucleus;

/* The columns of a row this rank works on: local columns [skip, skip + count), ids from first. */
typedef struct Share {
    int64_t skip, first, count;
} Share;

typedef struct Scratch {
    void *data;
    size_t bytes;
} Scratch;

enum { SCRATCH_BEST, SCRATCH_CUT, SCRATCH_KEYS, SCRATCH_GATHERED, SCRATCH_MERGED, SCRATCH_HEADS,
       SCRATCH_HISTOGRAM, SCRATCH_WEIGHTS,
       SCRATCH_AT, SCRATCH_CANDIDATES, SCRATCH_NUCLEUS, SCRATCH_MAX, SCRATCH_TIES, SCRATCH_COUNT };

static struct {
    int64_t checked_vocab; /* the layout was checked at this vocabulary size (0: never) */
    Scratch scratch[SCRATCH_COUNT];
} sampler;

/* Scratch buffer `which`, grown to at least n elements of `size` bytes. */
static void *scratch(int which, int64_t n, size_t size)
{
    Scratch *s = &sampler.scratch[which];
    size_t bytes = (size_t)(n > 0 ? n : 1) * size;
    if (bytes > s->bytes) {
        tpcrt_free(s->data);
        s->data = tpcrt_alloc(bytes, "sampling scratch");
        s->bytes = bytes;
    }
    return s->data;
}

void tpcrt_sample_free(void)
{
    for (int i = 0; i < SCRATCH_COUNT; i++)
        tpcrt_free(sampler.scratch[i].data);
    memset(&sampler, 0, sizeof sampler);
}

size_t tpcrt_sample_scratch_bytes(void)
{
    size_t bytes = 0;
    for (int i = 0; i < SCRATCH_COUNT; i++)
        bytes += sampler.scratch[i].bytes;
    return bytes;
}

/* ---- messages: the only MPI calls, each timed ------------------------------------------------ */

static void all_reduce(void *buf, int64_t count, MPI_Datatype type, MPI_Op op)
{
    double start = tpcrt_now();
    mpi_check(MPI_Allreduce(MPI_IN_PLACE, buf, (int)count, type, op, tpcrt_comm()));
    tpcrt_collective_time_add(tpcrt_now() - start);
}

static void all_gather(const void *mine, void *all, int64_t count, MPI_Datatype type)
{
    double start = tpcrt_now();
    mpi_check(MPI_Allgather(mine, (int)count, type, all, (int)count, type, tpcrt_comm()));
    tpcrt_collective_time_add(tpcrt_now() - start);
}

/* ---- the order: larger logit first, then lower id -------------------------------------------- */

/* A logit (not NaN) as a key whose unsigned order is the logit's order; -0 is +0. */
static uint32_t value_key(float v)
{
    uint32_t bits;
    v += 0.0f;
    memcpy(&bits, &v, sizeof bits);
    return bits >> 31 ? ~bits : bits | 0x80000000u;
}

static float key_value(uint32_t key)
{
    uint32_t bits = key >> 31 ? key & 0x7fffffffu : ~key;
    float v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

/* (logit, id) as one key, larger for what comes first; never 0, which marks "none". */
static uint64_t order_key(float v, int64_t id)
{
    return (uint64_t)value_key(v) << 32 | (UINT32_MAX - (uint32_t)id);
}

static float order_value(uint64_t key)
{
    return key_value((uint32_t)(key >> 32));
}

/* ---- blocks: 16 logits at a time, passed over when their largest cannot matter -------------- */

enum { BLOCK = 16 };

typedef float Floats __attribute__((vector_size(16)));
typedef int32_t Mask __attribute__((vector_size(16)));

/* x where x > a, else a (a NaN in x never wins), lane by lane: what SSE's maxps and NEON's
 * fmax-free compare and select give, with no -ffast-math. */
static inline Floats floats_max(Floats a, Floats x)
{
    Mask take = x > a;
    return (Floats)(((Mask)x & take) | ((Mask)a & ~take));
}

/* The largest of x[0..BLOCK) that is not NaN; -inf when all are. */
static inline float block_max(const float *x)
{
    Floats v[BLOCK / 4], m = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
    memcpy(v, x, sizeof v);
    for (int i = 0; i < BLOCK / 4; i++)
        m = floats_max(m, v[i]);
    float a = m[1] > m[0] ? m[1] : m[0], b = m[3] > m[2] ? m[3] : m[2];
    return b > a ? b : a;
}

/* The first largest of row[0..n) that is not NaN, its index in *at (-1 when every one is NaN; the
 * first -inf when nothing is above it). */
static float row_max(const float *row, int64_t n, int64_t *at)
{
    float max = -INFINITY;
    int64_t j = 0;
    *at = -1;
    for (; j + BLOCK <= n; j += BLOCK) {
        float m = block_max(row + j);
        if (m > max) {
            max = m;
            for (*at = j; row[*at] != m; ++*at) {
            }
        }
    }
    for (; j < n; j++)
        if (row[j] > max) {
            max = row[j];
            *at = j;
        }
    for (j = 0; *at < 0 && j < n; j++)
        if (row[j] == row[j])
            *at = j;
    return max;
}

/* ---- mass: exp((v - max) / T) in units of 2^-40 ---------------------------------------------- */

/* exp((v - max) / T), the exponential in float (top-p's cut needs no more). */
static float weight(float v, float max, double temperature)
{
    if (v == max) /* max's own, and the only one where max is infinite */
        return 1.0f;
    return expf((float)(((double)v - (double)max) / temperature));
}

static int64_t weight_mass(float w)
{
    return (int64_t)((double)w * 0x1p40 + 0.5);
}

static int64_t mass(float v, float max, double temperature)
{
    return weight_mass(weight(v, max, temperature));
}

/* Below this a logit's mass is 0 and need not be computed. */
static double mass_floor(float max, double temperature)
{
    return (double)max - MASS_CUTOFF * temperature;
}

/* What a prefix must reach: ceil(p * total), in [1, total] (total > 0; the double may round
 * above it). */
static int64_t mass_target(int64_t total, double top_p)
{
    double target = ceil(top_p * (double)total);
    return target < 1 ? 1 : target >= (double)total ? total : (int64_t)target;
}

/* ---- the layout ------------------------------------------------------------------------------ */

static bool holds_all(int64_t first, int64_t count, int64_t vocab)
{
    return first == 0 && count == vocab;
}

/* The ranks' ranges, ranges[2r] = first and ranges[2r + 1] = count: do the non-empty ones cover
 * [0, vocab) once each? */
static bool layout_partitions(const int64_t *ranges, int world, int64_t vocab)
{
    int used = 0, nonempty = 0;
    for (int r = 0; r < world; r++)
        nonempty += ranges[2 * r + 1] > 0;
    for (int64_t next = 0; next < vocab; used++) {
        int at = -1;
        for (int r = 0; r < world; r++)
            if (ranges[2 * r + 1] > 0 && ranges[2 * r] == next)
                at = at < 0 ? r : world; /* two ranges starting at next: overlap */
        if (at < 0 || at == world)
            return false;
        next += ranges[2 * at + 1];
    }
    return used == nonempty;
}

static const char *layout_string(char *buf, size_t len, const int64_t *ranges, int world)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int r = 0; r < world && used < len; r++)
        used += (size_t)snprintf(buf + used, len - used, "%s[%lld, %lld)", r ? " " : "",
                                 (long long)ranges[2 * r],
                                 (long long)(ranges[2 * r] + ranges[2 * r + 1]));
    return buf;
}

/* One all-gather of every rank's range: a partition, or every rank holding all. Each rank sees
 * the same ranges and comes to the same verdict, so a failure is every rank's. */
static void layout_check(int64_t first, int64_t count, int64_t vocab)
{
    int world = tpcrt_world_size();
    int64_t mine[2] = {first, count};
    int64_t *ranges = scratch(SCRATCH_TIES, 2 * (int64_t)world, sizeof *ranges);
    all_gather(mine, ranges, 2, MPI_INT64_T);
    int whole = 0;
    for (int r = 0; r < world; r++)
        whole += holds_all(ranges[2 * r], ranges[2 * r + 1], vocab);
    if (whole != world && (whole > 0 || !layout_partitions(ranges, world, vocab))) {
        char text[TPCRT_ERROR_LEN];
        tpcrt_fail_everywhere("sample: internal error: the ranks' vocabulary ranges %s neither "
                              "partition [0, %lld) nor are each all of it",
                              layout_string(text, sizeof text, ranges, world), (long long)vocab);
    }
    sampler.checked_vocab = vocab;
}

/* A rank holding all of the vocabulary (a replicated head; every rank does) works on a balanced
 * share of it, so that the shares partition it. */
static Share share_of(int64_t first, int64_t count, int64_t vocab)
{
    if (!holds_all(first, count, vocab) || tpcrt_world_size() == 1)
        return (Share){0, first, count};
    int64_t world = tpcrt_world_size(), r = tpcrt_rank();
    int64_t base = vocab / world, extra = vocab % world;
    int64_t start = r * base + (r < extra ? r : extra);
    return (Share){start, start, base + (r < extra)};
}

/* ---- greedy, and the one all-reduce every call ends with ------------------------------------- */

/* The row's largest logit, ties to the lower id; NaN never. */
static Best local_argmax(const float *row, Share share)
{
    int64_t at;
    float max = row_max(row, share.count, &at);
    return at < 0 ? (Best){-INFINITY, NO_ID} : (Best){max, (int)(share.first + at)};
}

/* Every row's best over all ranks into ids. A row no rank could choose from was NaN throughout:
 * every rank knows it at once. */
static void best_reduce(Best *best, int64_t rows, int32_t *ids)
{
    all_reduce(best, rows, MPI_DOUBLE_INT, MPI_MAXLOC);
    for (int64_t i = 0; i < rows; i++) {
        if (best[i].id == NO_ID)
            tpcrt_fail_everywhere("sample: row %lld of the logits is NaN at every id",
                                  (long long)i);
        ids[i] = best[i].id;
    }
}

/* ---- top-k: the global k best from the ranks' k best ----------------------------------------- */

static void heap_sift_up(uint64_t *heap, int64_t i)
{
    while (i > 0 && heap[(i - 1) / 2] > heap[i]) {
        uint64_t parent = heap[(i - 1) / 2];
        heap[(i - 1) / 2] = heap[i];
        heap[i] = parent;
        i = (i - 1) / 2;
    }
}

static void heap_sift_down(uint64_t *heap, int64_t n, int64_t i)
{
    for (;;) {
        int64_t least = i, left = 2 * i + 1, right = left + 1;
        if (left < n && heap[left] < heap[least])
            least = left;
        if (right < n && heap[right] < heap[least])
            least = right;
        if (least == i)
            return;
        uint64_t key = heap[i];
        heap[i] = heap[least];
        heap[least] = key;
        i = least;
    }
}

static int compare_descending(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x > y ? -1 : x < y;
}

/* The k best of the share as order keys, best first, 0 after the last when it has fewer. A
 * min-heap of the k best so far: once full, one comparison rejects almost every logit. */
static void local_best(const float *row, Share share, int64_t k, uint64_t *best)
{
    int64_t n = 0;
    float floor = -INFINITY;
    for (int64_t start = 0; start < share.count; start += BLOCK) {
        int64_t end = start + BLOCK < share.count ? start + BLOCK : share.count;
        if (n == k && end - start == BLOCK && !(block_max(row + start) >= floor))
            continue;
        for (int64_t j = start; j < end; j++) {
            float v = row[j];
            if (n == k ? !(v >= floor) : v != v)
                continue;
            uint64_t key = order_key(v, share.first + j);
            if (n < k) {
                best[n] = key;
                heap_sift_up(best, n++);
            } else if (key > best[0]) {
                best[0] = key;
                heap_sift_down(best, n, 0);
            }
            if (n == k)
                floor = order_value(best[0]);
        }
    }
    qsort(best, (size_t)n, sizeof *best, compare_descending);
    for (; n < k; n++)
        best[n] = 0;
}

/* The row's global k best, best first, into merged (the merge of every rank's list); returns
 * how many (fewer than k when the row has fewer logits that are not NaN). */
static int64_t global_best(const uint64_t *gathered, int64_t rows, int64_t row, int64_t k,
                           uint64_t *merged)
{
    int world = tpcrt_world_size();
    int64_t *heads = scratch(SCRATCH_HEADS, world, sizeof *heads);
    memset(heads, 0, (size_t)world * sizeof *heads);
    int64_t n = 0;
    for (; n < k; n++) {
        int pick = -1;
        uint64_t top = 0;
        for (int r = 0; r < world; r++) {
            uint64_t key = heads[r] < k ? gathered[(r * rows + row) * k + heads[r]] : 0;
            if (key > top) {
                top = key;
                pick = r;
            }
        }
        if (pick < 0)
            break;
        merged[n] = top;
        heads[pick]++;
    }
    return n;
}

/* top-p over the kept best[0..n), best first: how many of them it keeps. */
static int64_t nucleus_of_list(const uint64_t *best, int64_t n, double temperature,
                               double top_p)
{
    float max = order_value(best[0]);
    int64_t total = 0, before = 0, j = 0;
    for (int64_t i = 0; i < n; i++)
        total += mass(order_value(best[i]), max, temperature);
    int64_t target = mass_target(total, top_p);
    for (; j < n && before < target; j++)
        before += mass(order_value(best[j]), max, temperature);
    return j;
}

/* ---- top-p alone: a radix select of the threshold over mass histograms ----------------------- */

/* The first round: the row's masses into hist by the top digit of their keys, and each logit's
 * weight into weights (0: NaN, or too small to count), so that no exponential is computed again. */
static void histogram_first(const float *row, Share share, const Nucleus *nucleus,
                            double temperature, float *weights, int64_t *hist)
{
    int shift = 32 - RADIX_BITS;
    double floor = mass_floor(nucleus->max, temperature);
    for (int64_t j = 0; j < share.count; j++) {
        if (j % BLOCK == 0 && j + BLOCK <= share.count && !((double)block_max(row + j) >= floor)) {
            memset(weights + j, 0, BLOCK * sizeof *weights);
            j += BLOCK - 1;
            continue;
        }
        float v = row[j];
        weights[j] = (double)v >= floor ? weight(v, nucleus->max, temperature) : 0;
        if (weights[j] > 0)
            hist[value_key(v) >> shift] += weight_mass(weights[j]);
    }
}

/* A later round: of the candidates (local columns at[0..n) with their weights; in the second
 * round, `all`, every column of the row), those whose digits above `shift` are the prefix go into hist by
 * that digit, and stay at the front of at and weights as the next round's candidates; returns
 * how many. */
static int64_t histogram_next(const float *row, int64_t n, int32_t *at, float *weights,
                              const Nucleus *nucleus, int round, bool all, int64_t *hist)
{
    int shift = 32 - RADIX_BITS * (round + 1);
    int64_t kept = 0;
    for (int64_t c = 0; c < n; c++) {
        int32_t j = all ? (int32_t)c : at[c];
        float w = weights[c];
        if (w == 0)
            continue;
        uint32_t key = value_key(row[j]);
        if (key >> (shift + RADIX_BITS) != nucleus->prefix)
            continue;
        hist[key >> shift & (RADIX_BUCKETS - 1)] += weight_mass(w);
        at[kept] = j;
        weights[kept++] = w;
    }
    return kept;
}

/* After a round's histogram (summed over ranks): the next digit, the largest whose bucket takes
 * the mass from above it to the target. */
static void nucleus_next_digit(Nucleus *nucleus, const int64_t *hist, int round, double top_p)
{
    if (round == 0) {
        int64_t total = 0;
        for (int b = 0; b < RADIX_BUCKETS; b++)
            total += hist[b];
        nucleus->active = total > 0;
        nucleus->target = total > 0 ? mass_target(total, top_p) : 0;
        nucleus->above = 0;
        nucleus->prefix = 0;
    }
    if (!nucleus->active)
        return;
    int b = RADIX_BUCKETS - 1;
    while (b > 0 && nucleus->above + hist[b] < nucleus->target)
        nucleus->above += hist[b--];
    nucleus->prefix = nucleus->prefix << RADIX_BITS | (uint32_t)b;
    nucleus->group = hist[b];
}

/* The local ids with key `key` in id order; *nth gets the n-th (1-based), when there is one. */
static int64_t count_key(const float *row, Share share, uint32_t key, int64_t n, int64_t *nth)
{
    float v = key_value(key);
    int64_t seen = 0;
    for (int64_t j = 0; j < share.count; j++)
        if (row[j] == v && ++seen == n)
            *nth = share.first + j;
    return seen;
}

/* Where the cut falls inside a group of equal logits (key K) that holds more than it keeps,
 * the group's lower ids are kept: each rank learns from one all-gather of every rank's count
 * of the group (and where its share starts) how many of them come before its own. */
static void cut_ties(const float *logits, int64_t rows, int64_t ld, Share share,
                     const Nucleus *nucleus, const int64_t *keep, uint64_t *cut)
{
    int64_t world = tpcrt_world_size();
    int64_t *mine = scratch(SCRATCH_KEYS, rows + 1, sizeof *mine);
    int64_t *all = scratch(SCRATCH_TIES, world * (rows + 1), sizeof *all);
    mine[0] = share.first;
    for (int64_t i = 0; i < rows; i++) {
        int64_t unused;
        mine[1 + i] = keep[i] > 0 ? count_key(logits + i * ld + share.skip, share,
                                              nucleus[i].prefix, 0, &unused) : 0;
    }
    all_gather(mine, all, rows + 1, MPI_INT64_T);
    for (int64_t i = 0; i < rows; i++) {
        if (keep[i] == 0)
            continue;
        int64_t before = 0, id = 0;
        for (int64_t r = 0; r < world; r++)
            before += all[r * (rows + 1)] < share.first ? all[r * (rows + 1) + 1 + i] : 0;
        int64_t here = keep[i] - before;
        uint32_t key = nucleus[i].prefix;
        if (here <= 0)
            cut[i] = (uint64_t)(key + 1) << 32; /* none of the group here */
        else if (here >= mine[1 + i])
            cut[i] = (uint64_t)key << 32; /* all of it */
        else {
            count_key(logits + i * ld + share.skip, share, key, here, &id);
            cut[i] = order_key(key_value(key), id);
        }
    }
}

/* Each row's cut under top-p with no top-k: 1 all-reduce of the maxima, RADIX_ROUNDS of
 * histograms, and the all-gather of cut_ties when a cut falls inside a group of ties. */
static void cut_top_p(const float *logits, int64_t rows, int64_t ld, Share share,
                      const TpcrtSampling *s, uint64_t *cut)
{
    Nucleus *nucleus = scratch(SCRATCH_NUCLEUS, rows, sizeof *nucleus);
    float *max = scratch(SCRATCH_MAX, rows, sizeof *max);
    int64_t *hist = scratch(SCRATCH_HISTOGRAM, rows * RADIX_BUCKETS, sizeof *hist);
    float *weights = scratch(SCRATCH_WEIGHTS, rows * share.count, sizeof *weights);
    int32_t *at = scratch(SCRATCH_AT, rows * share.count, sizeof *at);
    int64_t *candidates = scratch(SCRATCH_CANDIDATES, rows, sizeof *candidates);
    for (int64_t i = 0; i < rows; i++) {
        int64_t where;
        max[i] = row_max(logits + i * ld + share.skip, share.count, &where);
    }
    all_reduce(max, rows, MPI_FLOAT, MPI_MAX);
    for (int64_t i = 0; i < rows; i++)
        nucleus[i] = (Nucleus){.active = true, .max = max[i]};
    for (int round = 0; round < RADIX_ROUNDS; round++) {
        memset(hist, 0, (size_t)(rows * RADIX_BUCKETS) * sizeof *hist);
        for (int64_t i = 0; i < rows; i++) {
            const float *row = logits + i * ld + share.skip;
            float *w = weights + i * share.count;
            if (!nucleus[i].active)
                continue;
            if (round == 0)
                histogram_first(row, share, &nucleus[i], s->temperature, w,
                                hist + i * RADIX_BUCKETS);
            else
                candidates[i] = histogram_next(row, round == 1 ? share.count : candidates[i],
                                               at + i * share.count, w, &nucleus[i], round,
                                               round == 1, hist + i * RADIX_BUCKETS);
        }
        all_reduce(hist, rows * RADIX_BUCKETS, MPI_INT64_T, MPI_SUM);
        for (int64_t i = 0; i < rows; i++)
            nucleus_next_digit(&nucleus[i], hist + i * RADIX_BUCKETS, round, s->top_p);
    }
    /* The threshold key K of each row: the keys above it have mass `above` < target; of the
     * group at K (equal logits, the same mass each), the first `need` reach it. */
    int64_t *keep = (int64_t *)hist; /* the histograms are done with */
    bool ties = false;
    for (int64_t i = 0; i < rows; i++) {
        keep[i] = 0;
        cut[i] = 1;
        if (!nucleus[i].active)
            continue;
        int64_t each = mass(key_value(nucleus[i].prefix), nucleus[i].max, s->temperature);
        int64_t need = each > 0 ? (nucleus[i].target - nucleus[i].above + each - 1) / each : 0;
        cut[i] = (uint64_t)nucleus[i].prefix << 32;
        keep[i] = each > 0 && need < nucleus[i].group / each ? need : 0;
        ties |= keep[i] > 0;
    }
    if (ties)
        cut_ties(logits, rows, ld, share, nucleus, keep, cut);
}

/* ---- the draw -------------------------------------------------------------------------------- */

static uint64_t noise_key(uint64_t seed, int64_t step, int64_t row)
{
    uint64_t key = tpcrt_random_key(seed, "tpcrt_sample");
    return tpcrt_random_bits(tpcrt_random_bits(key, (uint64_t)step), (uint64_t)row);
}

/* u in (0, 1) from 53 bits of the hash of an id. */
static double noise_uniform(uint64_t key, int64_t id)
{
    return ((double)(tpcrt_random_bits(key, (uint64_t)id) >> 11) + 0.5) * 0x1p-53;
}

/* Most ids lose, and are known to before their two logarithms: g(u) = -log(-log u) grows with u,
 * so an id whose z = logit / T is d below the best score so far loses when u < exp(-exp(-d)).
 * The table holds that bound at d = (i - 1) / 4, a quarter below where it is looked up: a margin
 * far above rounding, so an id passed over would have lost. */
enum { LOSES_STEPS = 4, LOSES_SIZE = 38 * LOSES_STEPS + 1 };
static double loses_below[LOSES_SIZE];

static void loses_init(void)
{
    for (int i = 0; i < LOSES_SIZE; i++)
        loses_below[i] = i == 0 ? 0 : exp(-exp(-(double)(i - 1) / LOSES_STEPS));
}

typedef struct Draw {
    Best best;
    double temperature;
    uint64_t noise;
} Draw;

/* Whether scores d below the best so far surely lose: when the best is below 2^40, where a
 * double's rounding is far below the margins. (Beyond, every id is drawn in full: passing one
 * over that ties the best after rounding could change the draw with the split.) */
static bool draw_can_pass(const Draw *draw)
{
    return fabs(draw->best.score) < 0x1p40;
}

/* Id `id` with logit v, kept, against the best so far; ties to the lower id. */
static void draw_try(Draw *draw, float v, int64_t id)
{
    double z = (double)v / draw->temperature, d = draw->best.score - z;
    bool pass = draw_can_pass(draw);
    if (pass && d >= gumbel_max)
        return;
    double u = noise_uniform(draw->noise, id);
    if (pass && d > 0 && u < loses_below[(int)(d * LOSES_STEPS)])
        return;
    double score = z - log(-log(u));
    if (draw->best.id == NO_ID || score > draw->best.score ||
        (score == draw->best.score && id < draw->best.id))
        draw->best = (Best){score, (int)id};
}

/* Whether logit v of id is kept by the cut (an order key; 1: everything not NaN). */
static bool kept(float v, int64_t id, float floor, uint64_t cut)
{
    return v > floor || (v == floor && (cut <= 1 || order_key(v, id) >= cut));
}

/* The share's kept id with the largest logit / T + Gumbel noise. The share's best logit is kept
 * if any is (what is kept is a prefix of the order) and goes first, so that the bound of
 * draw_try passes over most of the rest, and whole blocks whose largest logit could not win
 * with the largest noise. */
static Best local_draw(const float *row, Share share, uint64_t cut, double temperature,
                       uint64_t noise)
{
    float floor = cut > 1 ? order_value(cut) : -INFINITY;
    int64_t at;
    float max = row_max(row, share.count, &at);
    Draw draw = {{-INFINITY, NO_ID}, temperature, noise};
    if (at < 0 || !kept(max, share.first + at, floor, cut))
        return draw.best;
    draw_try(&draw, max, share.first + at);
    for (int64_t j = 0; j < share.count; j++) {
        if (j % BLOCK == 0 && j + BLOCK <= share.count) {
            float m = block_max(row + j);
            if (!(m >= floor) ||
                (draw_can_pass(&draw) && draw.best.score - (double)m / temperature >= gumbel_max)) {
                j += BLOCK - 1;
                continue;
            }
        }
        if (j != at && kept(row[j], share.first + j, floor, cut))
            draw_try(&draw, row[j], share.first + j);
    }
    return draw.best;
}

/* Under top-k every rank holds, after one all-gather, the row's global k best: every rank draws
 * from them alone, the same id, and nothing more is sent. */
static void sample_top_k(const float *logits, int64_t rows, int64_t ld, Share share,
                         const TpcrtSampling *s, int64_t step, int32_t *ids)
{
    int64_t k = s->top_k, world = tpcrt_world_size();
    uint64_t *mine = scratch(SCRATCH_KEYS, rows * k, sizeof *mine);
    uint64_t *gathered = scratch(SCRATCH_GATHERED, world * rows * k, sizeof *gathered);
    uint64_t *merged = scratch(SCRATCH_MERGED, k, sizeof *merged);
    for (int64_t i = 0; i < rows; i++)
        local_best(logits + i * ld + share.skip, share, k, mine + i * k);
    all_gather(mine, gathered, rows * k, MPI_UINT64_T);
    for (int64_t i = 0; i < rows; i++) {
        int64_t n = global_best(gathered, rows, i, k, merged);
        if (n == 0)
            tpcrt_fail_everywhere("sample: row %lld of the logits is NaN at every id",
                                  (long long)i);
        if (s->top_p < 1)
            n = nucleus_of_list(merged, n, s->temperature, s->top_p);
        Draw draw = {{-INFINITY, NO_ID}, s->temperature, noise_key(s->seed, step, i)};
        for (int64_t j = 0; j < n; j++)
            draw_try(&draw, order_value(merged[j]), UINT32_MAX - (uint32_t)merged[j]);
        ids[i] = draw.best.id;
    }
}

/* ---- tpcrt_sample ---------------------------------------------------------------------------- */

static void sample_check(int64_t rows, int64_t ld, int64_t first, int64_t count, int64_t vocab,
                         const TpcrtSampling *s)
{
    int64_t world = tpcrt_world_size(), k = s->top_k;
    if (vocab < 1 || vocab >= VOCAB_LIMIT || first < 0 || count < 0 || first > vocab - count)
        tpcrt_fail("sample: internal error: ids [%lld, %lld) of a vocabulary of %lld (limit %d)",
                   (long long)first, (long long)(first + count), (long long)vocab, VOCAB_LIMIT);
    if (rows < 0 || rows > INT_MAX / RADIX_BUCKETS || (rows > 1 && ld < count))
        tpcrt_fail("sample: internal error: %lld rows of %lld logits, %lld apart",
                   (long long)rows, (long long)count, (long long)ld);
    if (!isfinite(s->temperature) || s->temperature < 0 || k < 0 || !(s->top_p > 0) ||
        !(s->top_p <= 1))
        tpcrt_fail("sample: internal error: temperature %g, top_k %lld, top_p %g",
                   s->temperature, (long long)k, s->top_p);
    if (k > 0 && k < vocab && rows > 0 && k > INT_MAX / world / rows)
        tpcrt_fail("sample: internal error: top_k %lld of %lld rows at %lld ranks: more than "
                   "2^31 keys to gather", (long long)k, (long long)rows, (long long)world);
}

void tpcrt_sample(const float *logits, int64_t rows, int64_t ld, int64_t first, int64_t count,
                  int64_t vocab, const TpcrtSampling *s, int64_t step, int32_t *ids)
{
    sample_check(rows, ld, first, count, vocab, s);
    if (loses_below[LOSES_SIZE - 1] == 0)
        loses_init();
    if (vocab != sampler.checked_vocab)
        layout_check(first, count, vocab);
    if (rows == 0)
        return;
    Share share = share_of(first, count, vocab);
    Best *best = scratch(SCRATCH_BEST, rows, sizeof *best);
    if (s->temperature == 0) {
        for (int64_t i = 0; i < rows; i++)
            best[i] = local_argmax(logits + i * ld + share.skip, share);
        best_reduce(best, rows, ids);
        return;
    }
    if (s->top_k > 0 && s->top_k < vocab) {
        sample_top_k(logits, rows, ld, share, s, step, ids);
        return;
    }
    uint64_t *cut = scratch(SCRATCH_CUT, rows, sizeof *cut);
    if (s->top_p < 1)
        cut_top_p(logits, rows, ld, share, s, cut);
    else
        for (int64_t i = 0; i < rows; i++)
            cut[i] = 1;
    for (int64_t i = 0; i < rows; i++)
        best[i] = local_draw(logits + i * ld + share.skip, share, cut[i], s->temperature,
                             noise_key(s->seed, step, i));
    best_reduce(best, rows, ids);
}
