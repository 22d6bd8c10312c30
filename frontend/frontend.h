/* frontend.h — the front end: the .tpl language (docs/language.md) read by a flex scanner and a
 * bison parser into an AST, then checked and lowered into the graph IR.
 *
 * The front end knows nothing of ranks. Every AST node carries a Loc; the parser's actions only
 * build nodes (ast.c); config evaluation lives in config.c, names, shapes and lowering in
 * sema.c.
 */
#ifndef TPC_FRONTEND_H
#define TPC_FRONTEND_H

#include "ir.h"
#include "options.h"

typedef Vec(void *) List;

typedef struct Ident {
    const char *name;
    Loc loc;
} Ident;

typedef enum {
    EXPR_INT,     /* 123 */
    EXPR_FLOAT,   /* 1.5, 1e-5 */
    EXPR_BOOL,    /* true, false */
    EXPR_NAME,    /* x, hidden, silu (as a keyword value: style=gptj) */
    EXPR_MEMBER,  /* l.wq */
    EXPR_NEG,     /* -a */
    EXPR_BINARY,  /* a + b, a - b, a * b, a / b, a % b */
    EXPR_CALL,    /* f(a, b, key=c) @hint */
} ExprKind;

typedef struct Expr Expr;

typedef struct Arg {
    Ident keyword; /* name NULL for a positional argument */
    Expr *value;
} Arg;

struct Expr {
    ExprKind kind;
    Loc loc;       /* the whole expression; a binary operator's is the operator */
    int64_t ival;
    double fval;
    bool bval;
    Ident name;    /* NAME, the base of MEMBER, the callee of CALL */
    Ident member;  /* MEMBER */
    char op;       /* BINARY: + - * / % */
    Expr *lhs, *rhs;
    List args;     /* CALL: Arg * */
    Ident hint;    /* CALL: `@col`'s "col", or a NULL name */
};

typedef struct ConfigItem {
    Ident name;
    Expr *value;
} ConfigItem;

typedef struct WeightDecl {
    Ident name;
    List dims;       /* Expr * */
    const char *checkpoint;
    Loc checkpoint_loc;
} WeightDecl;

typedef struct GroupDecl {
    Ident name;
    Expr *count;
    List weights;    /* WeightDecl * */
} GroupDecl;

typedef struct WeightItem { /* an entry of `weights { }`: a weight, or a group of them */
    WeightDecl *weight;
    GroupDecl *group;
} WeightItem;

typedef struct Param {
    Ident name;
    Ident type;      /* f32 or i32 */
    List dims;       /* Expr * */
} Param;

typedef enum { STMT_ASSIGN, STMT_FOR, STMT_RETURN } StmtKind;

typedef struct Stmt {
    StmtKind kind;
    Loc loc;
    List targets;    /* ASSIGN: Ident *; more than one only for `a, b = split(...)` */
    Expr *value;     /* ASSIGN */
    Ident var, group;/* FOR: for VAR in GROUP */
    List body;       /* FOR: Stmt * */
    List values;     /* RETURN: Expr * */
} Stmt;

typedef struct Module {
    Ident name;
    bool has_model;
    List config;     /* ConfigItem * */
    List weights;    /* WeightItem * */
    List params;     /* Param * */
    List outputs;    /* Ident * */
    List body;       /* Stmt * */
    bool has_forward;
    Loc forward_loc;
} Module;

/* ---- ast.c: constructors the parser's actions call ---------------------------------------- */
Ident *ast_ident(Arena *a, const char *name, Loc loc);
Expr *ast_expr(Arena *a, ExprKind kind, Loc loc);
Expr *ast_binary(Arena *a, char op, Expr *lhs, Expr *rhs, Loc op_loc);
Expr *ast_call(Arena *a, Ident *callee, List *args, Loc loc);
Arg *ast_arg(Arena *a, Ident *keyword, Expr *value);
Stmt *ast_stmt(Arena *a, StmtKind kind, Loc loc);
List *ast_list(Arena *a);
List *ast_list_append(Arena *a, List *list, void *item);

/* How messages quote what the user wrote: a name, a token or a -D value is shown with at most
 * TPC_MAX_QUOTED characters, then "..." (a 16 MB name is not echoed). */
enum { TPC_MAX_QUOTED = 64 };
const char *ast_clip(Arena *a, const char *text);
/* "Did you mean": offer candidates one at a time; the closest within an edit distance of 2
 * (a typo, not another name) is kept, ties going to the first in alphabetical order. */
typedef struct Suggestion {
    const char *name;   /* what the user wrote */
    const char *best;   /* NULL: nothing close */
    int distance;
} Suggestion;
void ast_suggest_init(Suggestion *sg, const char *name);
void ast_suggest(Suggestion *sg, const char *candidate);
/* " (did you mean 'wq'?)", or "" when nothing was close. */
const char *ast_suggestion(Arena *a, const Suggestion *sg);

/* ---- parse.c: source text to AST ------------------------------------------------------------ */
/* Reads `path` (at most TPC_MAX_SOURCE bytes), or reports why not. */
enum { TPC_MAX_SOURCE = 16 << 20, TPC_MAX_NESTING = 256 };
Source *source_read(Arena *a, const char *path, Diag *diag);
Source *source_from_string(Arena *a, const char *path, const char *text);
/* Parses the whole file; syntax errors are reported, and the module holds what parsed. */
Module *parse_module(Arena *a, const Source *src, Diag *diag);

/* ---- config.c: the config section, with -D overrides ---------------------------------------- */
/* A compile-time number: the value of a config expression. */
typedef struct Number {
    bool ok, is_int;
    int64_t i;
    double f;
} Number;

typedef struct ConfigValue {
    const char *name;
    Number value;    /* not ok: its expression had an error, and uses say nothing more */
    Loc loc;
} ConfigValue;

typedef struct Config {
    StrMap values;   /* name -> ConfigValue * */
    Vec(ConfigValue *) order;
} Config;

void config_evaluate(Arena *a, const Module *m, const Options *opt, Config *config, Diag *diag);
/* Evaluates a compile-time expression of literals, config names and + - * / % ( ). Errors are
 * reported; the result has ok == false. `what` names the context ("a dimension"). */
Number config_eval_expr(const Config *config, const Expr *e, Diag *diag);
double number_as_double(Number n);
/* A number as messages show it: an integer as it is; a float with a decimal point or an exponent
 * ("16.0", "0.5", "1e-05") and the digits it takes to read back the same double. */
const char *number_str(Number n, char *buf, size_t size);
/* a OP b for OP in + - * / %, with config's rules (exact integer division, overflow checks). */
Number number_fold(char op, Number a, Number b, Loc loc, Diag *diag);

/* ---- sema.c: names, shapes, lowering into the graph ------------------------------------------- */
/* Returns the graph, or NULL when errors were reported. */
Graph *sema_lower(Arena *a, const Module *m, const Options *opt, Diag *diag);

#endif /* TPC_FRONTEND_H */
