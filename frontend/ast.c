/* ast.c — constructors for AST nodes: all the parser's actions call. Nodes live in the arena. */
#include "frontend.h"

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
