/* size.c — sizes as a rank computes them: a sum of terms, each a per-rank integer coefficient
 * times a product of symbolic dimensions ("batch * seq * 4096", "rs->wq_rows * 4096" folded to
 * one per-rank number).
 *
 * Every constant part of a size is folded here, in 64 bits with overflow checks, so the
 * generated code never multiplies or adds two constants: in C that is int arithmetic, which
 * wraps past 2^31 (a 65536 x 32768 weight). What is left to run time is symbols (int64_t
 * variables) times one constant each, which C computes in 64 bits. The front end bounds every
 * shape (MAX_ELEMENTS), so a fold that overflows here is a bug of tpc's.
 */
#include "codegen.h"

#include <string.h>

static Size *size_new(Arena *a, int tp, int nterms)
{
    Size *s = arena_alloc(a, sizeof *s);
    s->tp = tp;
    s->terms = arena_array(a, (size_t)(nterms ? nterms : 1), sizeof *s->terms);
    return s;
}

static bool all_zero(const int64_t *coef, int tp)
{
    for (int r = 0; r < tp; r++)
        if (coef[r])
            return false;
    return true;
}

Size *size_per_rank(Arena *a, int tp, const int64_t *per_rank)
{
    Size *s = size_new(a, tp, 1);
    if (all_zero(per_rank, tp))
        return s;
    s->terms[0].coef = arena_array(a, (size_t)tp, sizeof(int64_t));
    memcpy(s->terms[0].coef, per_rank, sizeof(int64_t) * (size_t)tp);
    s->nterms = 1;
    return s;
}

Size *size_number(Arena *a, int tp, int64_t n)
{
    int64_t *per_rank = arena_array(a, (size_t)tp, sizeof(int64_t));
    for (int r = 0; r < tp; r++)
        per_rank[r] = n;
    return size_per_rank(a, tp, per_rank);
}

Size *size_symbol(Arena *a, int tp, int sym)
{
    Size *s = size_number(a, tp, 1);
    s->terms[0].nsyms = 1;
    s->terms[0].syms[0] = sym;
    return s;
}

static bool same_symbols(const SizeTerm *x, const SizeTerm *y)
{
    return x->nsyms == y->nsyms && !memcmp(x->syms, y->syms, sizeof(int) * (size_t)x->nsyms);
}

/* Adds term t into s, which has room for it: like terms combine. */
static void add_term(Arena *a, Size *s, const SizeTerm *t)
{
    for (int i = 0; i < s->nterms; i++) {
        SizeTerm *u = &s->terms[i];
        if (!same_symbols(u, t))
            continue;
        for (int r = 0; r < s->tp; r++)
            if (__builtin_add_overflow(u->coef[r], t->coef[r], &u->coef[r]))
                internal_error("a size overflows 64 bits");
        return;
    }
    SizeTerm *u = &s->terms[s->nterms++];
    *u = *t;
    u->coef = arena_array(a, (size_t)s->tp, sizeof(int64_t));
    memcpy(u->coef, t->coef, sizeof(int64_t) * (size_t)s->tp);
}

/* Drops the terms whose coefficients came to zero on every rank. */
static Size *compact(Size *s)
{
    int n = 0;
    for (int i = 0; i < s->nterms; i++)
        if (!all_zero(s->terms[i].coef, s->tp))
            s->terms[n++] = s->terms[i];
    s->nterms = n;
    return s;
}

Size *size_add(Arena *a, const Size *x, const Size *y)
{
    Size *s = size_new(a, x->tp, x->nterms + y->nterms);
    for (int i = 0; i < x->nterms; i++)
        add_term(a, s, &x->terms[i]);
    for (int i = 0; i < y->nterms; i++)
        add_term(a, s, &y->terms[i]);
    return compact(s);
}

Size *size_mul(Arena *a, const Size *x, const Size *y)
{
    Size *s = size_new(a, x->tp, x->nterms * y->nterms);
    int64_t *coef = arena_array(a, (size_t)x->tp, sizeof(int64_t));
    for (int i = 0; i < x->nterms; i++) {
        for (int j = 0; j < y->nterms; j++) {
            const SizeTerm *u = &x->terms[i], *v = &y->terms[j];
            SizeTerm t = {.nsyms = u->nsyms + v->nsyms, .coef = coef};
            if (t.nsyms > SIZE_MAX_SYMBOLS)
                internal_error("a size with more than %d symbolic factors", SIZE_MAX_SYMBOLS);
            /* merge the two sorted lists of symbols */
            for (int p = 0, q = 0, k = 0; k < t.nsyms; k++)
                t.syms[k] = q >= v->nsyms || (p < u->nsyms && u->syms[p] <= v->syms[q])
                                ? u->syms[p++]
                                : v->syms[q++];
            for (int r = 0; r < x->tp; r++)
                if (__builtin_mul_overflow(u->coef[r], v->coef[r], &coef[r]))
                    internal_error("a size overflows 64 bits");
            add_term(a, s, &t);
        }
    }
    return compact(s);
}

Size *size_div(Arena *a, const Size *x, int64_t n)
{
    Size *s = size_new(a, x->tp, x->nterms);
    for (int i = 0; i < x->nterms; i++) {
        SizeTerm t = x->terms[i];
        t.coef = arena_array(a, (size_t)x->tp, sizeof(int64_t));
        for (int r = 0; r < x->tp; r++) {
            if (x->terms[i].coef[r] % n)
                return NULL;
            t.coef[r] = x->terms[i].coef[r] / n;
        }
        add_term(a, s, &t);
    }
    return s;
}

bool size_number_of(const Size *s, int64_t *n)
{
    *n = 0;
    if (s->nterms == 0)
        return true;
    if (s->nterms > 1 || s->terms[0].nsyms)
        return false;
    for (int r = 1; r < s->tp; r++)
        if (s->terms[0].coef[r] != s->terms[0].coef[0])
            return false;
    *n = s->terms[0].coef[0];
    return true;
}

bool size_equal(const Size *x, const Size *y)
{
    if (x->nterms != y->nterms)
        return false;
    for (int i = 0; i < x->nterms; i++) {
        bool found = false;
        for (int j = 0; j < y->nterms && !found; j++)
            found = same_symbols(&x->terms[i], &y->terms[j]) &&
                    !memcmp(x->terms[i].coef, y->terms[j].coef, sizeof(int64_t) * (size_t)x->tp);
        if (!found)
            return false;
    }
    return true;
}

Size *size_named(Arena *a, const Size *s, const char *name)
{
    Size *named = arena_alloc(a, sizeof *named);
    *named = *s;
    named->name = name;
    return named;
}
