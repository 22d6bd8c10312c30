/* ast.c — constructors for AST nodes: all the parser's actions call. Nodes live in the arena.
 * Also how messages about the AST quote names: clipped, with a "did you mean" for a typo.
 */
#include "frontend.h"

#include <string.h>

Ident *ast_ident(Arena *a, const char *name, Loc loc)
{
    Ident *id = arena_alloc(a, sizeof *id);
    id->name = name;
    id->loc = loc;
    return id;
}

Expr *ast_expr(Arena *a, ExprKind kind, Loc loc)
{
    Expr *e = arena_alloc(a, sizeof *e);
    e->kind = kind;
    e->loc = loc;
    return e;
}

/* A binary expression is located at its operator, where a shape mismatch is reported. */
Expr *ast_binary(Arena *a, char op, Expr *lhs, Expr *rhs, Loc op_loc)
{
    Expr *e = ast_expr(a, EXPR_BINARY, op_loc);
    e->op = op;
    e->lhs = lhs;
    e->rhs = rhs;
    return e;
}

Expr *ast_call(Arena *a, Ident *callee, List *args, Loc loc)
{
    Expr *e = ast_expr(a, EXPR_CALL, loc);
    e->name = *callee;
    e->args = *args;
    return e;
}

Arg *ast_arg(Arena *a, Ident *keyword, Expr *value)
{
    Arg *arg = arena_alloc(a, sizeof *arg);
    if (keyword)
        arg->keyword = *keyword;
    arg->value = value;
    return arg;
}

Stmt *ast_stmt(Arena *a, StmtKind kind, Loc loc)
{
    Stmt *s = arena_alloc(a, sizeof *s);
    s->kind = kind;
    s->loc = loc;
    return s;
}

List *ast_list(Arena *a)
{
    return arena_alloc(a, sizeof(List));
}

List *ast_list_append(Arena *a, List *list, void *item)
{
    vec_push(a, list, item);
    return list;
}

/* ---- quoting names in messages --------------------------------------------------------------- */

const char *ast_clip(Arena *a, const char *text)
{
    if (strnlen(text, TPC_MAX_QUOTED + 1) <= TPC_MAX_QUOTED)
        return text;
    return arena_printf(a, "%.*s...", TPC_MAX_QUOTED, text);
}

enum { MAX_SUGGEST_DISTANCE = 2 };

/* The optimal string alignment distance (Levenshtein's, with a swap of two neighbours counting
 * as one edit), or MAX_SUGGEST_DISTANCE + 1 when it is larger. Names longer than
 * TPC_MAX_QUOTED are never close. */
static int edit_distance(const char *a, const char *b)
{
    enum { N = TPC_MAX_QUOTED + 1, FAR = MAX_SUGGEST_DISTANCE + 1 };
    size_t la = strnlen(a, N), lb = strnlen(b, N);
    if (la == N || lb == N || (la > lb ? la - lb : lb - la) > MAX_SUGGEST_DISTANCE)
        return FAR;
    int d[N + 1][N + 1];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            int cost = a[i - 1] != b[j - 1];
            int best = d[i - 1][j - 1] + cost;
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb] < FAR ? d[la][lb] : FAR;
}

void ast_suggest_init(Suggestion *sg, const char *name)
{
    sg->name = name;
    sg->best = NULL;
    sg->distance = MAX_SUGGEST_DISTANCE + 1;
}

void ast_suggest(Suggestion *sg, const char *candidate)
{
    if (!strcmp(candidate, sg->name))
        return;
    int d = edit_distance(sg->name, candidate);
    /* a one-letter name is one edit from every other: only a real typo is worth offering */
    if (d > MAX_SUGGEST_DISTANCE || (size_t)d * 2 > strnlen(sg->name, TPC_MAX_QUOTED))
        return;
    if (d < sg->distance || (d == sg->distance && strcmp(candidate, sg->best) < 0)) {
        sg->best = candidate;
        sg->distance = d;
    }
}

const char *ast_suggestion(Arena *a, const Suggestion *sg)
{
    return sg->best ? arena_printf(a, " (did you mean '%s'?)", sg->best) : "";
}
