/* layout.c — the layout type (DESIGN.md, "Layouts"): R, S with units, segments and per-rank
 * ranges, and P.
 *
 * Ranges are element offsets within their segment and always multiples of the unit, so a head
 * is never cut. layout_split_even balances whole units: with u units over tp ranks the first
 * u % tp ranks hold one unit more (11008 over 3 ranks: 3670, 3669, 3669 at unit 1).
 */
#include "ir.h"

#include <inttypes.h>
#include <string.h>

Layout layout_replicated(void)
{
    return (Layout){.kind = LAYOUT_R};
}

Layout layout_partial(void)
{
    return (Layout){.kind = LAYOUT_P};
}

Range layout_even_range(int64_t units, int tp, int rank, int64_t unit)
{
    int64_t base = units / tp, extra = units % tp;
    int64_t start = rank * base + (rank < extra ? rank : extra);
    int64_t n = base + (rank < extra);
    return (Range){start * unit, (start + n) * unit};
}

Layout layout_split_even(Arena *a, int tp, int dim, int64_t unit, int nseg, const int64_t *sizes)
{
    Layout l = {.kind = LAYOUT_S, .dim = dim, .unit = unit, .nseg = nseg};
    l.seg = arena_array(a, (size_t)nseg, sizeof *l.seg);
    for (int s = 0; s < nseg; s++) {
        l.seg[s].size = sizes[s];
        l.seg[s].ranks = arena_array(a, (size_t)tp, sizeof(Range));
        for (int r = 0; r < tp; r++)
            l.seg[s].ranks[r] = layout_even_range(sizes[s] / unit, tp, r, unit);
    }
    return l;
}

bool layout_equal(const Layout *a, const Layout *b, int tp)
{
    if (a->kind != b->kind)
        return false;
    if (a->kind != LAYOUT_S)
        return true;
    if (a->dim != b->dim || a->nseg != b->nseg)
        return false;
    for (int s = 0; s < a->nseg; s++) {
        if (a->seg[s].size != b->seg[s].size)
            return false;
        for (int r = 0; r < tp; r++)
            if (a->seg[s].ranks[r].start != b->seg[s].ranks[r].start ||
                a->seg[s].ranks[r].end != b->seg[s].ranks[r].end)
                return false;
    }
    return true;
}

int64_t layout_local_size(const Layout *l, int rank)
{
    int64_t n = 0;
    for (int s = 0; s < l->nseg; s++)
        n += l->seg[s].ranks[rank].end - l->seg[s].ranks[rank].start;
    return n;
}

char *layout_str(const Layout *l, char *buf, size_t size)
{
    switch (l->kind) {
    case LAYOUT_NONE: snprintf(buf, size, "?"); break;
    case LAYOUT_R:    snprintf(buf, size, "R"); break;
    case LAYOUT_P:    snprintf(buf, size, "P"); break;
    case LAYOUT_S:    snprintf(buf, size, "S(%d)", l->dim); break;
    }
    return buf;
}

/* A ring all-gather sends on what it received, so rank r sends every part but the next
 * rank's, which reaches it last; a ring reduce-scatter sends every part's partial sums but its
 * own part's; an all-reduce is both, 2 (tp-1)/tp of the value, also when rank 0 alone needs
 * the sum; a gather to rank 0 sends the rank's own part once, and rank 0 sends nothing. With
 * ranges that do not overlap, a ring's ranks send (tp-1)/tp of the value on average, however
 * uneven the split; ranks that share a part (GQA's kv heads) each send it. */
double layout_collective_bytes(OpKind kind, bool to_root, double full_bytes, const double *part,
                               int nparts, int tp, int rank)
{
    double own = part[nparts == 1 ? 0 : rank], next = part[nparts == 1 ? 0 : (rank + 1) % tp];
    double all = nparts == 1 ? tp * part[0] : 0;
    for (int s = 0; nparts > 1 && s < tp; s++)
        all += part[s];
    switch (kind) {
    case OP_ALL_REDUCE: return 2.0 * (tp - 1) / tp * full_bytes;
    case OP_ALL_GATHER:
        if (to_root)
            return rank == 0 ? 0 : own;
        return all - next;
    case OP_REDUCE_SCATTER: return all - own;
    default: return 0;
    }
}

/* "0:2752" for one segment; "0:512 | 0:128 | 0:128" for q|k|v (offsets within each segment). */
char *layout_ranges_str(const Layout *l, int rank, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = 0;
    for (int s = 0; s < l->nseg && n < size; s++) {
        Range r = l->seg[s].ranks[rank];
        n += (size_t)snprintf(buf + n, size - n, "%s%" PRId64 ":%" PRId64, s ? " | " : "",
                              r.start, r.end);
    }
    return buf;
}
