/* parser.y — the .tpl grammar (docs/language.md).
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

/* A token kind the parser expected, described generically: "a name", "a number", "')'". */
static const char *describe_expected(yysymbol_kind_t kind)
{
    if (kind == YYSYMBOL_INTEGER || kind == YYSYMBOL_FLOAT)
        return "a number";
    const char *name = yysymbol_name(kind);
    if (name[0] == '"') /* "a name" -> a name */
        return kind == YYSYMBOL_IDENT ? "a name" : kind == YYSYMBOL_STRING ? "a string" : name;
    return name;
}

/* The token the parser saw, as the user wrote it: "name 'x'", "number '12'", "string "gptj"",
 * "'forward'", "end of file". Names, numbers and strings are clipped to TPC_MAX_QUOTED. */
static void describe_seen(char *buf, size_t size, yysymbol_kind_t kind, Loc loc)
{
    const char *text = loc.src->text + loc.start;
    int n = (int)(loc.end - loc.start);
    int shown = n < TPC_MAX_QUOTED ? n : TPC_MAX_QUOTED;
    const char *more = n > TPC_MAX_QUOTED ? "..." : "";
    if (kind == YYSYMBOL_YYEOF) {
        snprintf(buf, size, "end of file");
    } else if (kind == YYSYMBOL_IDENT || kind == YYSYMBOL_INTEGER || kind == YYSYMBOL_FLOAT) {
        snprintf(buf, size, "%s '%.*s%s'", kind == YYSYMBOL_IDENT ? "name" : "number", shown,
                 text, more);
    } else if (kind == YYSYMBOL_STRING) {
        /* the text between the quotes (an unterminated string has no closing one) */
        int body = n - 1 - (n >= 2 && text[n - 1] == '"');
        shown = body < TPC_MAX_QUOTED ? body : TPC_MAX_QUOTED;
        snprintf(buf, size, "string \"%.*s%s\"", shown, text + 1,
                 body > TPC_MAX_QUOTED ? "..." : "");
    } else {
        snprintf(buf, size, "%s", yysymbol_name(kind));
    }
}

static bool is_keyword(yysymbol_kind_t kind)
{
    return kind >= YYSYMBOL_MODEL && kind <= YYSYMBOL_FALSE;
}

/* The closer of the innermost open parenthesis or square bracket: "')'". Braces hold
 * statement lists, where a closing brace is always possible and rarely what is missing; at the
 * end of the file, though, an open brace is exactly what is wrong. */
static const char *innermost_closer(const LexState *ls, bool at_end)
{
    if (ls->depth == 0)
        return NULL;
    char open = ls->open[ls->depth - 1];
    return open == '(' ? "')'" : open == '[' ? "']'" : at_end ? "'}'" : NULL;
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
    yysymbol_kind_t token = yypcontext_token(ctx);
    bool at_end = token == YYSYMBOL_YYEOF;
    char saw[128], msg[512] = "";
    size_t len = 0;
    describe_seen(saw, sizeof saw, token, loc);
    const char *closer = innermost_closer(ls, at_end);
    bool closes = false, comma = false, name = false;
    for (int i = 0; i < n; i++) {
        closes |= closer && !strcmp(yysymbol_name(expected[i]), closer);
        comma |= !strcmp(yysymbol_name(expected[i]), "','");
        name |= expected[i] == YYSYMBOL_IDENT;
    }
    int line, col;
    if (ls->depth > 0)
        loc_line_col(ls->open_loc[ls->depth - 1], &line, &col);
    if (n > MAX_LISTED && closes) {
        len += (size_t)snprintf(msg, sizeof msg, "%s%s", comma ? "',' or " : "", closer);
    } else if (n > 0 && n <= MAX_LISTED) {
        const char *listed[MAX_LISTED];
        int nlisted = 0;
        for (int i = 0; i < n; i++) {  /* an integer and a float are both "a number" */
            const char *what = describe_expected(expected[i]);
            bool repeated = false;
            for (int j = 0; j < nlisted; j++)
                repeated |= !strcmp(listed[j], what);
            if (!repeated)
                listed[nlisted++] = what;
        }
        for (int i = 0; i < nlisted; i++)
            len += (size_t)snprintf(msg + len, sizeof msg - len, "%s%s",
                                    i == 0 ? "" : i == nlisted - 1 ? " or " : ", ", listed[i]);
    } else if (at_end && ls->depth > 0) {
        diag_error(ls->diag, loc, "unexpected end of file ('%c' at line %d is not closed)",
                   ls->open[ls->depth - 1], line);
        return 0;
    } else if (lex_starts_line(ls, ls->previous) && ls->previous.start < loc.start) {
        /* `y = x +` then `z = ...`: the name that starts the next line was read as the end of
         * the unfinished statement, and the '=' after it is where the parse fails. */
        int previous_line;
        loc_line_col(ls->previous, &previous_line, &col);
        diag_error(ls->diag, loc, "unexpected %s (is the statement before line %d "
                   "unfinished?)", saw, previous_line);
        return 0;
    } else {
        diag_error(ls->diag, loc, "unexpected %s", saw);
        return 0;
    }
    if (closes)
        snprintf(msg + len, sizeof msg - len, " (to close '%c' at line %d)",
                 ls->open[ls->depth - 1], line);
    diag_error(ls->diag, loc, "expected %s, saw %s%s", msg, saw,
               name && is_keyword(token) ? " (a keyword)" : "");
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
