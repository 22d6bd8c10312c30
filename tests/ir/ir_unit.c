/* ir_unit.c — unit tests of ir/ pieces easier to test directly than through a model:
 * balanced layout ranges, broadcasting with symbolic dimensions, the arena and the string map.
 * Prints one line per check that fails and "ir_unit: N checks passed" at the end.
 */
#include "ir.h"

#include <string.h>

static int checks, failures;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        checks++;                                                                                  \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            printf("FAILED %s:%d: %s\n", __FILE__, __LINE__, #cond);                               \
        }                                                                                          \
    } while (0)

static void test_split_even(Arena *a)
{
    /* 11008 over 3 ranks at unit 1: balanced, the first rank one more. */
    int64_t inter = 11008;
    Layout l = layout_split_even(a, 3, 2, 1, 1, &inter);
    CHECK(layout_local_size(&l, 0) == 3670 && layout_local_size(&l, 1) == 3669 &&
          layout_local_size(&l, 2) == 3669);
    CHECK(l.seg[0].ranks[1].start == 3670 && l.seg[0].ranks[2].end == 11008);
    /* 32 heads of 128 over 3 ranks: 11, 11, 10 heads; a head is never cut. */
    int64_t q = 32 * 128;
    Layout h = layout_split_even(a, 3, 2, 128, 1, &q);
    CHECK(layout_local_size(&h, 0) == 11 * 128 && layout_local_size(&h, 2) == 10 * 128);
    for (int r = 0; r < 3; r++)
        CHECK(h.seg[0].ranks[r].start % 128 == 0 && h.seg[0].ranks[r].end % 128 == 0);
    /* Segments q|k|v each split by themselves. */
    int64_t sizes[3] = {768, 768, 768};
    Layout s = layout_split_even(a, 2, 2, 64, 3, sizes);
    CHECK(s.nseg == 3 && layout_local_size(&s, 1) == 3 * 384);
    CHECK(s.seg[2].ranks[1].start == 384 && s.seg[2].ranks[1].end == 768);
    char buf[128];
    CHECK(!strcmp(layout_ranges_str(&s, 1, buf, sizeof buf), "384:768 | 384:768 | 384:768"));
    CHECK(layout_equal(&s, &s, 2) && !layout_equal(&s, &h, 2));
    Layout r = layout_replicated(), p = layout_partial();
    CHECK(!layout_equal(&r, &p, 2) && !strcmp(layout_str(&p, buf, sizeof buf), "P"));
}

static void test_broadcast(Graph *g)
{
    int batch = ir_symbol(g, "batch"), seq = ir_symbol(g, "seq");
    CHECK(ir_symbol(g, "batch") == batch);
    Shape x = {3, {{0, batch}, {0, seq}, {4096, -1}}};
    Shape w = {1, {{4096, -1}}};
    Shape one = {3, {{1, -1}, {0, seq}, {1, -1}}};
    Shape other = {3, {{0, batch}, {0, ir_symbol(g, "len")}, {4096, -1}}};
    Shape out;
    CHECK(shape_broadcast(&x, &w, &out) && shape_equal(&out, &x));
    CHECK(shape_broadcast(&one, &x, &out) && shape_equal(&out, &x));
    CHECK(!shape_broadcast(&x, &other, &out)); /* seq is not len */
    Shape scalar = {0};
    CHECK(shape_broadcast(&scalar, &x, &out) && shape_equal(&out, &x));
    char buf[64];
    CHECK(!strcmp(shape_str(g, &x, buf, sizeof buf), "[batch, seq, 4096]"));
    CHECK(shape_elements(&w) == 4096 && shape_elements(&x) == -1);
}

static void test_strmap(Arena *a)
{
    StrMap m;
    strmap_init(&m, a);
    char *keys[5000];
    for (int i = 0; i < 5000; i++) {
        keys[i] = arena_printf(a, "key%d", i);
        strmap_put(&m, keys[i], keys[i]);
    }
    CHECK(m.len == 5000 && strmap_get(&m, "key4321") == keys[4321]);
    CHECK(strmap_get(&m, "key5000") == NULL);
    strmap_put(&m, keys[7], NULL);
    CHECK(m.len == 5000 && strmap_get(&m, "key7") == NULL);
}

int main(void)
{
    Arena *a = arena_new();
    Graph *g = ir_graph_new(a, "unit");
    test_split_even(a);
    test_broadcast(g);
    test_strmap(a);
    void *big = arena_alloc(a, 3 << 20); /* larger than a chunk */
    CHECK(big && ((char *)big)[(3 << 20) - 1] == 0);
    arena_free(a);
    printf("ir_unit: %d checks passed, %d failed\n", checks - failures, failures);
    return failures != 0;
}
