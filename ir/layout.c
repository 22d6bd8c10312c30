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
