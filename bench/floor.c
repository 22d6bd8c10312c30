/* floor.c — the GEMM floor: a forward's BLAS calls, back to back, on one thread.
 *
 * A tpc program is its GEMMs plus everything between them (norms, RoPE, softmax, SiLU, the
 * copies of a split, collectives). This program makes the same GEMMs with nothing between
 * them, so tpc -tp 1 / floor says what the rest costs. The call list comes from one of:
 *
 *   --calls FILE   a list recorded from the tpc program itself by gemmtrace.so (bench.py does
 *                  this): exactly its calls, in order, on buffers laid out as the program's
 *                  were (a buffer the program reuses is reused here too);
 *   --model ...    a list built here from the model's shape and the layout and kernel choices
 *                  given as flags, to ask "what if": weights [out, in] or [in, out], sgemm or
 *                  sgemv at one token, fused projections or not, attention or not.
 *
 * Usage:
 *   floor --calls FILE                                     [timing options]
 *   floor --model mlp --hidden H --intermediate I --tokens T            [model options]
 *   floor --model decoder --hidden H --heads A --kv-heads G --intermediate I --layers L
 *         --tokens T                                                    [model options]
 *   floor --model linear --in K --out N --tokens T [--copies C]         [model options]
 * Model options:
 *   --layout nt|nn     weights stored [out, in] and multiplied as sgemm(N, T) — tpc's layout
 *                      today, a checkpoint's — or stored [in, out], sgemm(N, N)   (default nt)
 *   --m1 gemm|gemv     the weight products at one token: sgemm, or sgemv     (default gemm)
 *   --fuse 0|1         gate|up as one GEMM (decoder: q|k|v too), as tpc does  (default 1)
 *   --attention 0|1    decoder: attention's per-head GEMMs                    (default 1)
 *   --copies C         linear: C weight copies used in turn, so the weight comes from memory
 *                      as in a real model rather than from cache; times are per product
 *   --print-calls      print the call list (the --calls format) and exit
 * Timing options:
 *   --reps N           timed repetitions of the whole list (default 20)
 *   --warmup W         untimed repetitions first (default 2, as a tpc --bench run does)
 *   --go-on-stdin      after the warm-up, print "floor: ready" and wait for a line on stdin
 *                      before timing: bench.py starts two floors, one per core, and lets
 *                      them go together, so that both time while the other runs (the -tp 2
 *                      floor: what two busy cores give, with no collectives and no waiting)
 *   --per-call         also time each call alone and print them grouped by shape
 *   --clock wall|cpu   wall-clock time (default), or this process's CPU time: on a shared
 *                      machine, the time it was scheduled, for one-thread comparisons
 *   --huge             buffers of 2 MB and more on transparent huge pages (madvise), to see
 *                      what TLB misses cost (tpcrt_alloc does not ask for them)
 *
 * Prints one line, like tpc's --bench line:
 *   floor: median M ms, min A ms, max B ms, N calls
 *
 * The --calls format, one item a line ('#' starts a comment):
 *   region ID FLOATS ALIGN      a buffer of FLOATS floats starting ALIGN floats past a 64-byte
 *                               boundary (ids 0, 1, ... in order)
 *   sgemm TA TB M N K ALPHA A LDA B LDB BETA C LDC          row-major, as cblas_sgemm
 *   sgemv TA M N ALPHA A LDA X INCX BETA Y INCY              row-major, as cblas_sgemv
 * with TA, TB N or T and each operand REGION:OFFSET (in floats).
 */
#define _DEFAULT_SOURCE /* madvise */
#include <cblas.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

/* ---- the call list ---------------------------------------------------------------------- */

typedef struct Operand {
    int region;
    int64_t offset; /* floats from the region's start */
} Operand;

typedef struct Call {
    int gemv;           /* 0: sgemm, 1: sgemv */
    int ta, tb;         /* 1 = transposed; tb unused by sgemv */
    int m, n, k;        /* sgemv: m, n of A; k unused */
    float alpha, beta;
    Operand a, b, c;    /* sgemv: b is x, c is y */
    int lda, ldb, ldc;  /* sgemv: ldb is incx, ldc is incy */
} Call;

typedef struct Region {
    int64_t floats, align;
    float *base;        /* allocated memory, and the region's start inside it */
    float *data;
} Region;

typedef struct List {
    Region *regions;
    int nregions, cap_regions;
    Call *calls;
    int ncalls, cap_calls;
} List;

static void *grow(void *p, int *cap, int need, size_t size)
{
    if (need <= *cap)
        return p;
    *cap = need * 2;
    p = realloc(p, (size_t)*cap * size);
    if (!p) {
        fprintf(stderr, "floor: out of memory\n");
        exit(1);
    }
    return p;
}

static int add_region(List *l, int64_t floats, int64_t align)
{
    l->regions = grow(l->regions, &l->cap_regions, l->nregions + 1, sizeof *l->regions);
    l->regions[l->nregions] = (Region){floats, align, NULL, NULL};
    return l->nregions++;
}

static void add_call(List *l, Call c)
{
    l->calls = grow(l->calls, &l->cap_calls, l->ncalls + 1, sizeof *l->calls);
    l->calls[l->ncalls++] = c;
}

static Operand at(int region) { return (Operand){region, 0}; }

/* ---- model-built lists (--model) ------------------------------------------------------- */

typedef struct Model {
    const char *kind;
    int hidden, intermediate, heads, kv_heads, layers, tokens, in, out, copies;
    int nn, gemv, fuse, attention;
} Model;

/* A linear layer as tpc's linear_rows: y[tokens, n] (row stride ld_y) = beta y + x[tokens, k]
 * (row stride ld_x) W^T, by sgemm with W [n, k] (nt) or [k, n] (nn), or by sgemv at one token. */
static void add_linear(List *l, const Model *m, int n, int k, Operand x, int ld_x, Operand w,
                       Operand y, int ld_y, float beta)
{
    int nn = m->nn, t = m->tokens;
    if (m->gemv && t == 1) /* nt: W [n, k], y = W x (no transpose); nn: W [k, n], y = W^T x */
        add_call(l, (Call){1, nn, 0, nn ? k : n, nn ? n : k, 0, 1.0f, beta, w, x, y,
                           nn ? n : k, 1, 1});
    else
        add_call(l, (Call){0, 0, !nn, t, n, k, 1.0f, beta, x, w, y, ld_x, nn ? n : k, ld_y});
}

static int weight(List *l, int64_t rows, int64_t cols) { return add_region(l, rows * cols, 0); }

/* The models' GEMMs as tpc emits them today: gate|up (and q|k|v) one GEMM into one buffer
 * whose column ranges are the pieces (views, no copies); silu * mul in place in gate|up's first
 * half, which down reads with row stride 2I; the residual adds ride on the GEMMs as beta = 1.
 * With --fuse 0 the pieces are separate GEMMs into separate buffers. */

static void build_linear(List *l, const Model *m)
{
    int x = add_region(l, (int64_t)m->tokens * m->in, 0);
    int y = add_region(l, (int64_t)m->tokens * m->out, 0);
    for (int i = 0; i < m->copies; i++)
        add_linear(l, m, m->out, m->in, at(x), m->in, at(weight(l, m->out, m->in)), at(y),
                   m->out, 0.0f);
}

/* The MLP: x [tokens, H] -> gate|up -> silu * mul -> down, into out with this beta. */
static void add_mlp(List *l, const Model *m, int x, int gu, int up, int out, float beta)
{
    int h = m->hidden, i = m->intermediate;
    if (m->fuse) {
        add_linear(l, m, 2 * i, h, at(x), h, at(weight(l, 2 * i, h)), at(gu), 2 * i, 0.0f);
        add_linear(l, m, h, i, at(gu), 2 * i, at(weight(l, h, i)), at(out), h, beta);
    } else {
        add_linear(l, m, i, h, at(x), h, at(weight(l, i, h)), at(gu), i, 0.0f);
        add_linear(l, m, i, h, at(x), h, at(weight(l, i, h)), at(up), i, 0.0f);
        add_linear(l, m, h, i, at(gu), i, at(weight(l, h, i)), at(out), h, beta);
    }
}

static void build_mlp(List *l, const Model *m)
{
    int64_t t = m->tokens, i = m->intermediate;
    int x = add_region(l, t * m->hidden, 0), y = add_region(l, t * m->hidden, 0);
    int gu = add_region(l, t * 2 * i, 0), up = add_region(l, t * i, 0);
    add_mlp(l, m, x, gu, up, y, 0.0f);
}

/* Per layer: q|k|v; attention's two GEMMs per head (scores = q k^T, out = scores v; query
 * head j reads kv head j / group); wo and the MLP, each added to x. The activation buffers are
 * shared by the layers, the weights are not. */
static void build_decoder(List *l, const Model *m)
{
    int64_t t = m->tokens;
    int h = m->hidden, hd = h / m->heads, kvw = m->kv_heads * hd, group = m->heads / m->kv_heads;
    int qkv_w = h + 2 * kvw, i = m->intermediate;
    int x = add_region(l, t * h, 0), hbuf = add_region(l, t * h, 0);
    int big = add_region(l, t * (2 * i > qkv_w ? 2 * i : qkv_w), 0); /* q|k|v, then gate|up */
    int k = add_region(l, t * kvw, 0), v = add_region(l, t * kvw, 0), up = add_region(l, t * i, 0);
    int scores = add_region(l, t * t, 0);
    for (int layer = 0; layer < m->layers; layer++) {
        Operand q = at(big), kk = {big, h}, vv = {big, h + kvw};
        int ld_q = qkv_w, ld_kv = qkv_w;
        if (m->fuse) {
            add_linear(l, m, qkv_w, h, at(hbuf), h, at(weight(l, qkv_w, h)), at(big), qkv_w,
                       0.0f);
        } else {
            kk = at(k), vv = at(v), ld_q = h, ld_kv = kvw;
            add_linear(l, m, h, h, at(hbuf), h, at(weight(l, h, h)), q, h, 0.0f);
            add_linear(l, m, kvw, h, at(hbuf), h, at(weight(l, kvw, h)), kk, kvw, 0.0f);
            add_linear(l, m, kvw, h, at(hbuf), h, at(weight(l, kvw, h)), vv, kvw, 0.0f);
        }
        for (int head = 0; m->attention && head < m->heads; head++) {
            Operand qh = {q.region, q.offset + (int64_t)head * hd};
            Operand kh = {kk.region, kk.offset + (int64_t)(head / group) * hd};
            Operand vh = {vv.region, vv.offset + (int64_t)(head / group) * hd};
            Operand oh = {hbuf, (int64_t)head * hd};
            add_call(l, (Call){0, 0, 1, (int)t, (int)t, hd, 1.0f, 0.0f, qh, kh, at(scores),
                               ld_q, ld_kv, (int)t});
            add_call(l, (Call){0, 0, 0, (int)t, hd, (int)t, 1.0f, 0.0f, at(scores), vh, oh,
                               (int)t, ld_kv, h});
        }
        add_linear(l, m, h, h, at(hbuf), h, at(weight(l, h, h)), at(x), h, 1.0f);
        add_mlp(l, m, hbuf, big, up, x, 1.0f);
    }
}

/* ---- the --calls file ------------------------------------------------------------------- */

static int parse_operand(const char *s, Operand *o)
{
    long long off;
    return sscanf(s, "%d:%lld", &o->region, &off) == 2 && (o->offset = off, 1);
}

static void read_calls(List *l, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        exit(1);
    }
    char line[512], kind[16], ta[4], tb[4], sa[64], sb[64], sc[64];
    for (int no = 1; fgets(line, sizeof line, f); no++) {
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        if (sscanf(line, "%15s", kind) != 1)
            continue;
        Call c = {0};
        long long floats, align;
        int ok;
        if (!strcmp(kind, "region")) {
            int id;
            ok = sscanf(line, "region %d %lld %lld", &id, &floats, &align) == 3 &&
                 id == l->nregions && floats >= 0 && align >= 0 && align < 16;
            if (ok)
                add_region(l, floats, align);
        } else if (!strcmp(kind, "sgemm")) {
            ok = sscanf(line, "sgemm %3s %3s %d %d %d %f %63s %d %63s %d %f %63s %d", ta, tb,
                        &c.m, &c.n, &c.k, &c.alpha, sa, &c.lda, sb, &c.ldb, &c.beta, sc,
                        &c.ldc) == 13;
            c.tb = tb[0] == 'T';
        } else if (!strcmp(kind, "sgemv")) {
            c.gemv = 1;
            ok = sscanf(line, "sgemv %3s %d %d %f %63s %d %63s %d %f %63s %d", ta, &c.m, &c.n,
                        &c.alpha, sa, &c.lda, sb, &c.ldb, &c.beta, sc, &c.ldc) == 11;
        } else {
            ok = 0;
        }
        if (ok && strcmp(kind, "region")) {
            c.ta = ta[0] == 'T';
            ok = parse_operand(sa, &c.a) && parse_operand(sb, &c.b) && parse_operand(sc, &c.c);
            if (ok)
                add_call(l, c);
        }
        if (!ok) {
            fprintf(stderr, "floor: %s:%d: cannot read: %s", path, no, line);
            exit(1);
        }
    }
    fclose(f);
}

static void print_operand(Operand o) { printf(" %d:%lld", o.region, (long long)o.offset); }

static void print_calls(const List *l)
{
    for (int r = 0; r < l->nregions; r++)
        printf("region %d %lld %lld\n", r, (long long)l->regions[r].floats,
               (long long)l->regions[r].align);
    for (int i = 0; i < l->ncalls; i++) {
        const Call *c = &l->calls[i];
        if (c->gemv)
            printf("sgemv %c %d %d %g", "NT"[c->ta], c->m, c->n, c->alpha);
        else
            printf("sgemm %c %c %d %d %d %g", "NT"[c->ta], "NT"[c->tb], c->m, c->n, c->k,
                   c->alpha);
        print_operand(c->a), printf(" %d", c->lda);
        print_operand(c->b), printf(" %d %g", c->ldb, c->beta);
        print_operand(c->c), printf(" %d\n", c->ldc);
    }
}

/* Every operand must lie inside its region, or a replay would scribble outside it. */
static void check_extent(const List *l, const Call *c, Operand o, int64_t rows, int64_t cols,
                         int64_t ld)
{
    if (o.region < 0 || o.region >= l->nregions) {
        fprintf(stderr, "floor: call names region %d of %d\n", o.region, l->nregions);
        exit(1);
    }
    int64_t end = o.offset + (rows > 0 ? (rows - 1) * ld + cols : 0);
    if (o.offset < 0 || end > l->regions[o.region].floats) {
        fprintf(stderr, "floor: %s %dx%dx%d reads region %d to %lld, past its %lld floats\n",
                c->gemv ? "sgemv" : "sgemm", c->m, c->n, c->k, o.region, (long long)end,
                (long long)l->regions[o.region].floats);
        exit(1);
    }
}

static void check_calls(const List *l)
{
    for (int i = 0; i < l->ncalls; i++) {
        const Call *c = &l->calls[i];
        if (c->gemv) {
            int64_t xlen = c->ta ? c->m : c->n, ylen = c->ta ? c->n : c->m;
            check_extent(l, c, c->a, c->m, c->n, c->lda);
            check_extent(l, c, c->b, xlen, 1, c->ldb);
            check_extent(l, c, c->c, ylen, 1, c->ldc);
        } else {
            check_extent(l, c, c->a, c->ta ? c->k : c->m, c->ta ? c->m : c->k, c->lda);
            check_extent(l, c, c->b, c->tb ? c->n : c->k, c->tb ? c->k : c->n, c->ldb);
            check_extent(l, c, c->c, c->m, c->n, c->ldc);
        }
    }
}

/* ---- running it ------------------------------------------------------------------------- */

static clockid_t clock_id = CLOCK_MONOTONIC;

static double now(void)
{
    struct timespec ts;
    clock_gettime(clock_id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Buffers 64-byte aligned plus the recorded offset, filled with small values (a weight's
 * scale: the numbers do not change a GEMM's time unless they are denormal, and these are not). */
static void allocate(List *l, int huge)
{
    uint32_t seed = 12345;
    for (int r = 0; r < l->nregions; r++) {
        Region *g = &l->regions[r];
        size_t bytes = (size_t)(g->floats + g->align + 16) * sizeof(float);
        size_t align = huge && bytes >= (2u << 20) ? 2u << 20 : 64;
        bytes = (bytes + align - 1) / align * align;
        g->base = aligned_alloc(align, bytes);
        if (!g->base) {
            fprintf(stderr, "floor: out of memory for region %d\n", r);
            exit(1);
        }
        if (align > 64)
            madvise(g->base, bytes, MADV_HUGEPAGE);
        g->data = g->base + g->align;
        for (int64_t i = 0; i < g->floats; i++) {
            seed = seed * 1664525u + 1013904223u;
            g->data[i] = ((float)(seed >> 8) / 16777216.0f - 0.5f) * 0.0625f;
        }
    }
}

static float *ptr(const List *l, Operand o) { return l->regions[o.region].data + o.offset; }

static void run_call(const List *l, const Call *c)
{
    enum CBLAS_TRANSPOSE ta = c->ta ? CblasTrans : CblasNoTrans;
    if (c->gemv)
        cblas_sgemv(CblasRowMajor, ta, c->m, c->n, c->alpha, ptr(l, c->a), c->lda,
                    ptr(l, c->b), c->ldb, c->beta, ptr(l, c->c), c->ldc);
    else
        cblas_sgemm(CblasRowMajor, ta, c->tb ? CblasTrans : CblasNoTrans, c->m, c->n, c->k,
                    c->alpha, ptr(l, c->a), c->lda, ptr(l, c->b), c->ldb, c->beta,
                    ptr(l, c->c), c->ldc);
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, compare_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* --per-call: each call's median time over the repetitions, summed over the calls of one
 * shape (kernel, transposes, M, N, K), in order of first appearance. */
static void per_call_report(const List *l, double *t, int reps)
{
    int n = l->ncalls;
    double *med = calloc((size_t)n, sizeof *med), *col = calloc((size_t)reps, sizeof *col);
    int *done = calloc((size_t)n, sizeof *done);
    for (int i = 0; i < n; i++) {
        for (int r = 0; r < reps; r++)
            col[r] = t[(size_t)r * n + i];
        med[i] = median(col, reps);
    }
    for (int i = 0; i < n; i++) {
        if (done[i])
            continue;
        const Call *c = &l->calls[i];
        double sum = 0;
        int count = 0;
        for (int j = i; j < n; j++) {
            const Call *d = &l->calls[j];
            if (!done[j] && d->gemv == c->gemv && d->ta == c->ta && d->tb == c->tb &&
                d->m == c->m && d->n == c->n && d->k == c->k) {
                done[j] = 1;
                sum += med[j];
                count++;
            }
        }
        if (c->gemv)
            printf("call: sgemv %c M=%d N=%d x%d: %.4f ms\n", "NT"[c->ta], c->m, c->n, count,
                   sum * 1e3);
        else
            printf("call: sgemm %c%c M=%d N=%d K=%d x%d: %.4f ms\n", "NT"[c->ta], "NT"[c->tb],
                   c->m, c->n, c->k, count, sum * 1e3);
    }
    free(med), free(col), free(done);
}

static void usage(void)
{
    fprintf(stderr, "usage: floor --calls FILE | --model mlp|decoder|linear ... "
                    "(see the comment at the top of bench/floor.c)\n");
    exit(2);
}

int main(int argc, char **argv)
{
    Model m = {.kind = NULL, .hidden = 1024, .intermediate = 4096, .heads = 16, .kv_heads = 4,
               .layers = 4, .tokens = 1, .in = 1024, .out = 1024, .copies = 8, .fuse = 1,
               .attention = 1};
    const char *calls = NULL;
    int reps = 20, warmup = 2, per_call = 0, print = 0, huge = 0, go_on_stdin = 0;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int *num = !strcmp(o, "--hidden")         ? &m.hidden
                   : !strcmp(o, "--intermediate") ? &m.intermediate
                   : !strcmp(o, "--heads")        ? &m.heads
                   : !strcmp(o, "--kv-heads")     ? &m.kv_heads
                   : !strcmp(o, "--layers")       ? &m.layers
                   : !strcmp(o, "--tokens")       ? &m.tokens
                   : !strcmp(o, "--in")           ? &m.in
                   : !strcmp(o, "--out")          ? &m.out
                   : !strcmp(o, "--copies")       ? &m.copies
                   : !strcmp(o, "--fuse")         ? &m.fuse
                   : !strcmp(o, "--attention")    ? &m.attention
                   : !strcmp(o, "--reps")         ? &reps
                   : !strcmp(o, "--warmup")       ? &warmup
                                                  : NULL;
        if (!strcmp(o, "--per-call"))
            per_call = 1;
        else if (!strcmp(o, "--print-calls"))
            print = 1;
        else if (!strcmp(o, "--huge"))
            huge = 1;
        else if (!strcmp(o, "--go-on-stdin"))
            go_on_stdin = 1;
        else if (!v)
            usage();
        else if (num)
            *num = atoi(v), i++;
        else if (!strcmp(o, "--calls"))
            calls = v, i++;
        else if (!strcmp(o, "--model"))
            m.kind = v, i++;
        else if (!strcmp(o, "--layout") && (!strcmp(v, "nt") || !strcmp(v, "nn")))
            m.nn = !strcmp(v, "nn"), i++;
        else if (!strcmp(o, "--m1") && (!strcmp(v, "gemm") || !strcmp(v, "gemv")))
            m.gemv = !strcmp(v, "gemv"), i++;
        else if (!strcmp(o, "--clock") && (!strcmp(v, "wall") || !strcmp(v, "cpu")))
            clock_id = !strcmp(v, "cpu") ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, i++;
        else
            usage();
    }
    if (!calls == !m.kind || reps < 1 || warmup < 0 || m.tokens < 1 || m.heads < 1 ||
        m.kv_heads < 1 || m.heads % m.kv_heads || m.hidden % m.heads || m.copies < 1)
        usage();

    List l = {0};
    if (calls)
        read_calls(&l, calls);
    else if (!strcmp(m.kind, "mlp"))
        build_mlp(&l, &m);
    else if (!strcmp(m.kind, "decoder"))
        build_decoder(&l, &m);
    else if (!strcmp(m.kind, "linear"))
        build_linear(&l, &m);
    else
        usage();
    check_calls(&l);
    if (print) {
        print_calls(&l);
        return 0;
    }

    openblas_set_num_threads(1);
    allocate(&l, huge);
    for (int r = 0; r < warmup; r++)
        for (int i = 0; i < l.ncalls; i++)
            run_call(&l, &l.calls[i]);
    if (go_on_stdin) {
        char line[16];
        printf("floor: ready\n");
        fflush(stdout);
        if (!fgets(line, sizeof line, stdin))
            return 1; /* the driver went away: nothing to time for */
    }
    double *times = malloc(sizeof *times * (size_t)reps);
    double *each = per_call ? malloc(sizeof *each * (size_t)reps * (size_t)l.ncalls) : NULL;
    for (int r = 0; r < reps; r++) {
        double start = now(), last = start;
        for (int i = 0; i < l.ncalls; i++) {
            run_call(&l, &l.calls[i]);
            if (each) { /* the clock between calls only when asked: ~20 ns each */
                double t = now();
                each[(size_t)r * l.ncalls + i] = t - last;
                last = t;
            }
        }
        times[r] = now() - start;
    }
    double med = median(times, reps);
    int per = !calls && !strcmp(m.kind, "linear") ? m.copies : 1; /* linear: per product */
    printf("floor: median %.3f ms, min %.3f ms, max %.3f ms, %d calls\n", med * 1e3 / per,
           times[0] * 1e3 / per, times[reps - 1] * 1e3 / per, l.ncalls / per);
    if (each)
        per_call_report(&l, each, reps);
    return 0;
}
