/* parser.y — the .tpl grammar (spec/LANGUAGE.md).
 *
 * A pure, reentrant LALR(1) parser with locations (byte offsets) and no conflicts (%expect 0).
 * Every list is left-recursive, so long files use constant stack; actions only build AST nodes
 * through ast.c. Syntax errors say what was expected and what was seen, name the bracket a
 * missing closer would close, and the parser recovers at the next statement or declaration;
 * it gives up at the error limit (20). The grammar rule sits above each group of actions.
 */
%code requires {
#include "frontend.h"
typedef void *yyscan_t;
typedef struct LexState LexState;
}

%code provides {
int tpl_lex(TPL_STYPE *yylval, Loc *yylloc, yyscan_t scanner);
}

%code {
#include "lex.h"

#include <string.h>

#define YYMAXDEPTH 5000
#define A (ls->arena)

/* A rule's location spans its first to its last symbol; an empty rule sits where the previous
 * symbol ended. */
#define YYLLOC_DEFAULT(Cur, Rhs, N)                                                                \
    do {                                                                                           \
        if (N) {                                                                                   \
            (Cur).src = YYRHSLOC(Rhs, 1).src;                                                      \
            (Cur).start = YYRHSLOC(Rhs, 1).start;                                                  \
            (Cur).end = YYRHSLOC(Rhs, N).end;                                                      \
        } else {                                                                                   \
            (Cur).src = YYRHSLOC(Rhs, 0).src;                                                      \
            (Cur).start = (Cur).end = YYRHSLOC(Rhs, 0).end;                                        \
        }                                                                                          \
    } while (0)

static void tpl_error(Loc *loc, yyscan_t scanner, LexState *ls, const char *msg);
/* After an error: stop at the error limit; else forget the brackets the bad statement left
 * open, so later messages name the right one. */
#define RECOVER                                                                                    \
    do {                                                                                           \
        if (diag_full(ls->diag))                                                                   \
            YYABORT;                                                                               \
        lex_forget_open(ls);                                                                       \
    } while (0)
}

%define api.pure full
%define api.prefix {tpl_}
%define api.location.type {Loc}
%define parse.error custom
%define parse.lac full
%locations
%expect 0
%lex-param {yyscan_t scanner}
%parse-param {yyscan_t scanner} {LexState *ls}

%union {
    Ident *ident;
    int64_t integer;
    double real;
    const char *string;
    Expr *expr;
    Arg *arg;
    Stmt *stmt;
    List *list;
    WeightDecl *weight;
    GroupDecl *group;
    Param *param;
}

%token MODEL "'model'" CONFIG "'config'" WEIGHTS "'weights'" FORWARD "'forward'"
%token FOR "'for'" IN "'in'" RETURN "'return'" TRUE "'true'" FALSE "'false'" ARROW "'->'"
%token <ident> IDENT "a name"
%token <integer> INTEGER "an integer"
%token <real> FLOAT "a number"
%token <string> STRING "a string"

%type <expr> expr primary call
%type <arg> arg
%type <list> exprs args arg_list names targets stmts group_weights params
%type <stmt> stmt
%type <weight> weight
%type <group> group
%type <param> param

%left '+' '-'
%left '*' '/' '%'
%precedence NEG

%%

/* module: MODEL NAME [config] [weights] forward */
module:
    model config_section weights_section forward_section
    ;

model:
    MODEL IDENT                     { ls->module->name = *$2; ls->module->has_model = true; }
    ;

/* config { NAME = EXPR ... } */
config_section:
    %empty
  | CONFIG '{' config_items '}'
    ;

config_items:
    %empty
  | config_items IDENT '=' expr     {
                                        ConfigItem *c = arena_alloc(A, sizeof *c);
                                        c->name = *$2;
                                        c->value = $4;
                                        ast_list_append(A, &ls->module->config, c);
                                    }
  | config_items ';'
  | config_items error              { RECOVER; }
    ;

/* weights { NAME : [DIMS] = "name"   GROUP[COUNT] { ... } } */
weights_section:
    %empty
  | WEIGHTS '{' weight_items '}'
    ;

weight_items:
    %empty
  | weight_items weight             {
                                        WeightItem *w = arena_alloc(A, sizeof *w);
                                        w->weight = $2;
                                        ast_list_append(A, &ls->module->weights, w);
                                    }
  | weight_items group              {
                                        WeightItem *w = arena_alloc(A, sizeof *w);
                                        w->group = $2;
                                        ast_list_append(A, &ls->module->weights, w);
                                    }
  | weight_items ';'
  | weight_items error              { RECOVER; }
    ;

weight:
    IDENT ':' '[' exprs ']' '=' STRING {
                                        $$ = arena_alloc(A, sizeof *$$);
                                        $$->name = *$1;
                                        $$->dims = *$4;
                                        $$->checkpoint = $7;
                                        $$->checkpoint_loc = @7;
                                    }
    ;

group:
    IDENT '[' expr ']' '{' group_weights '}' {
                                        $$ = arena_alloc(A, sizeof *$$);
                                        $$->name = *$1;
                                        $$->count = $3;
                                        $$->weights = *$6;
                                    }
    ;

group_weights:
    %empty                          { $$ = ast_list(A); }
  | group_weights weight            { $$ = ast_list_append(A, $1, $2); }
  | group_weights ';'               { $$ = $1; }
  | group_weights error             { $$ = $1; RECOVER; }
    ;

/* forward(IN: TYPE[DIMS], ...) -> (OUT, ...) { STATEMENTS } */
forward_section:
    FORWARD '(' params ')' ARROW '(' names ')' '{' stmts '}' {
                                        ls->module->has_forward = true;
                                        ls->module->forward_loc = @1;
                                        ls->module->params = *$3;
                                        ls->module->outputs = *$7;
                                        ls->module->body = *$10;
                                    }
    ;

params:
    %empty                          { $$ = ast_list(A); }
  | param                           { $$ = ast_list_append(A, ast_list(A), $1); }
  | params ',' param                { $$ = ast_list_append(A, $1, $3); }
    ;

param:
    IDENT ':' IDENT '[' exprs ']'   {
                                        $$ = arena_alloc(A, sizeof *$$);
                                        $$->name = *$1;
                                        $$->type = *$3;
                                        $$->dims = *$5;
                                    }
    ;

names:
    IDENT                           { $$ = ast_list_append(A, ast_list(A), $1); }
  | names ',' IDENT                 { $$ = ast_list_append(A, $1, $3); }
    ;

/* Statements: x = EXPR   a, b = split(...)   for l in GROUP { ... }   return a, b */
stmts:
    %empty                          { $$ = ast_list(A); }
  | stmts stmt                      { $$ = ast_list_append(A, $1, $2); }
  | stmts ';'                       { $$ = $1; }
  | stmts error                     { $$ = $1; RECOVER; }
    ;

stmt:
    targets '=' expr                {
                                        $$ = ast_stmt(A, STMT_ASSIGN, @$);
                                        $$->targets = *$1;
                                        $$->value = $3;
                                    }
  | FOR IDENT IN IDENT '{' stmts '}' {
                                        $$ = ast_stmt(A, STMT_FOR, @$);
                                        $$->var = *$2;
                                        $$->group = *$4;
                                        $$->body = *$6;
                                    }
  | RETURN exprs                    {
                                        $$ = ast_stmt(A, STMT_RETURN, @$);
                                        $$->values = *$2;
                                    }
    ;

targets:
    IDENT                           { $$ = ast_list_append(A, ast_list(A), $1); }
  | targets ',' IDENT               { $$ = ast_list_append(A, $1, $3); }
    ;

exprs:
    expr                            { $$ = ast_list_append(A, ast_list(A), $1); }
  | exprs ',' expr                  { $$ = ast_list_append(A, $1, $3); }
    ;

/* Expressions: + - * / % on numbers and tensors, unary -, calls with keyword arguments. */
expr:
    expr '+' expr                   { $$ = ast_binary(A, '+', $1, $3, @2); }
  | expr '-' expr                   { $$ = ast_binary(A, '-', $1, $3, @2); }
  | expr '*' expr                   { $$ = ast_binary(A, '*', $1, $3, @2); }
  | expr '/' expr                   { $$ = ast_binary(A, '/', $1, $3, @2); }
  | expr '%' expr                   { $$ = ast_binary(A, '%', $1, $3, @2); }
  | '-' expr %prec NEG              { $$ = ast_expr(A, EXPR_NEG, @$); $$->lhs = $2; }
  | primary
    ;

primary:
    INTEGER                         { $$ = ast_expr(A, EXPR_INT, @$); $$->ival = $1; }
  | FLOAT                           { $$ = ast_expr(A, EXPR_FLOAT, @$); $$->fval = $1; }
  | TRUE                            { $$ = ast_expr(A, EXPR_BOOL, @$); $$->bval = true; }
  | FALSE                           { $$ = ast_expr(A, EXPR_BOOL, @$); $$->bval = false; }
  | IDENT                           { $$ = ast_expr(A, EXPR_NAME, @$); $$->name = *$1; }
  | IDENT '.' IDENT                 {
                                        $$ = ast_expr(A, EXPR_MEMBER, @$);
                                        $$->name = *$1;
                                        $$->member = *$3;
                                    }
  | call
  | '(' expr ')'                    { $$ = $2; }
    ;

/* f(a, b, key=value) and an optional sharding hint: @col, @row, @replicated */
call:
    IDENT '(' args ')'              { $$ = ast_call(A, $1, $3, @$); }
  | IDENT '(' args ')' '@' IDENT    {
                                        $$ = ast_call(A, $1, $3, @$);
                                        $$->hint = *$6;
                                    }
    ;

args:
    %empty                          { $$ = ast_list(A); }
  | arg_list
    ;

arg_list:
    arg                             { $$ = ast_list_append(A, ast_list(A), $1); }
  | arg_list ',' arg                { $$ = ast_list_append(A, $1, $3); }
    ;

arg:
    expr                            { $$ = ast_arg(A, NULL, $1); }
  | IDENT '=' expr                  { $$ = ast_arg(A, $1, $3); }
    ;

%%

/* A token as the user wrote it: its name from the grammar, or for names and numbers, the text. */
static void describe_token(char *buf, size_t size, yysymbol_kind_t kind, Loc loc)
{
    if (kind == YYSYMBOL_YYEOF) {
        snprintf(buf, size, "end of file");
        return;
    }
    if (kind == YYSYMBOL_IDENT || kind == YYSYMBOL_INTEGER || kind == YYSYMBOL_FLOAT) {
        size_t n = loc.end - loc.start;
        if (n > 40)
            n = 40;
        snprintf(buf, size, "%s '%.*s'", kind == YYSYMBOL_IDENT ? "name" : "number", (int)n,
                 loc.src->text + loc.start);
        return;
    }
    const char *name = yysymbol_name(kind);
    size_t n = strlen(name);
    if (name[0] == '"' && n >= 2)   /* "a name" -> a name */
        snprintf(buf, size, "%.*s", (int)(n - 2), name + 1);
    else
        snprintf(buf, size, "%s", name);
}

/* The closer of the innermost open parenthesis or square bracket: "')'". Braces hold
 * statement lists, where a closing brace is always possible and rarely what is missing. */
static const char *innermost_closer(const LexState *ls)
{
    if (ls->depth == 0)
        return NULL;
    char open = ls->open[ls->depth - 1];
    return open == '(' ? "')'" : open == '[' ? "']'" : NULL;
}

/* "expected ')' (to close '(' at line 12), saw name 'x'". When many tokens could come next
 * but one of them closes the innermost bracket, that one is named: it is nearly always the
 * token that is missing. */
static int yyreport_syntax_error(const yypcontext_t *ctx, yyscan_t scanner, LexState *ls)
{
    enum { MAX_LISTED = 4 };
    yysymbol_kind_t expected[YYNTOKENS];
    int n = yypcontext_expected_tokens(ctx, expected, YYNTOKENS);
    Loc loc = *yypcontext_location(ctx);
    if (ls->stopped)      /* the scanner said why the input ended */
        return 0;
    char saw[96], msg[512] = "";
    size_t len = 0;
    describe_token(saw, sizeof saw, yypcontext_token(ctx), loc);
    const char *closer = innermost_closer(ls);
    bool closes = false, comma = false;
    for (int i = 0; i < n; i++) {
        closes |= closer && !strcmp(yysymbol_name(expected[i]), closer);
        comma |= !strcmp(yysymbol_name(expected[i]), "','");
    }
    if (n > MAX_LISTED && closes) {
        len += (size_t)snprintf(msg, sizeof msg, "%s%s", comma ? "',' or " : "", closer);
    } else if (n > 0 && n <= MAX_LISTED) {
        for (int i = 0; i < n; i++) {
            char name[96];
            describe_token(name, sizeof name, expected[i], loc);
            len += (size_t)snprintf(msg + len, sizeof msg - len, "%s%s",
                                    i == 0 ? "" : i == n - 1 ? " or " : ", ", name);
        }
    } else if (lex_starts_line(ls, ls->previous) && ls->previous.start < loc.start) {
        /* `y = x +` then `z = ...`: the name that starts the next line was read as the end of
         * the unfinished statement, and the '=' after it is where the parse fails. */
        int line, col;
        loc_line_col(ls->previous, &line, &col);
        diag_error(ls->diag, loc, "unexpected %s (is the statement before line %d "
                   "unfinished?)", saw, line);
        return 0;
    } else {
        diag_error(ls->diag, loc, "unexpected %s", saw);
        return 0;
    }
    if (closes) {
        int line, col;
        loc_line_col(ls->open_loc[ls->depth - 1], &line, &col);
        snprintf(msg + len, sizeof msg - len, " (to close '%c' at line %d)",
                 ls->open[ls->depth - 1], line);
    }
    diag_error(ls->diag, loc, "expected %s, saw %s", msg, saw);
    return 0;
}

/* Bison calls this only when its stack is full. */
static void tpl_error(Loc *loc, yyscan_t scanner, LexState *ls, const char *msg)
{
    if (!strcmp(msg, "memory exhausted"))
        diag_error(ls->diag, *loc, "too deeply nested (the parser's limit is %d levels)",
                   YYMAXDEPTH);
    else
        diag_error(ls->diag, *loc, "%s", msg);
}
