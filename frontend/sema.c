/* sema.c — names, checks and lowering: from the AST to the graph IR.
 *
 * One walk over the module does it all, in source order, so every message points at the
 * construct it is about: the config is evaluated (config.c), weights and groups are declared,
 * inputs get their shapes (a dimension that is not a config value becomes a symbol), and each
 * statement of forward is lowered into ops whose shapes come from ir/shape.c's rules.
 *
 * An expression lowers to an Operand: a compile-time Number (folded on the spot), a tensor
 * Value, or a poison that stands for something already reported, so one mistake gives one
 * message. Names follow Python: rebinding makes a new value; a name rebound in a loop body is
 * carried into the next block and past the loop; a name first bound in the body is visible
 * after it with its last value. Built-in functions live apart from names. A name whose
 * declaration or binding failed is bound to a poison (a Binding with no value, a Declared marked
 * bad), so its later uses say nothing more.
 *
 * Limits (each an error, never a silent truncation): MAX_OPS ops in the graph, MAX_ARGS
 * outputs, MAX_CARRIED names bound in a loop body, INT32_MAX blocks in a group, MAX_ELEMENTS
 * elements in a weight (over all of a group's blocks), in all weights together
 * (MAX_TOTAL_ELEMENTS), and in a value (its numeric dimensions), so that byte counts computed
 * from them never overflow an int64_t.
 */
#include "frontend.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>
#include <strings.h>

enum { MAX_DEPTH = 1000, MAX_ARGS = 64, MAX_CARRIED = 4 * MAX_ARGS, MAX_OPS = 100000 };
#define MAX_ELEMENTS       ((int64_t)1 << 40)
#define MAX_TOTAL_ELEMENTS ((int64_t)1 << 44)

typedef enum { OPND_POISON, OPND_NUMBER, OPND_TENSOR } OperandKind;

typedef struct Operand {
    OperandKind kind;
    Number num;
    Value *v;
} Operand;

static const Operand POISON = {OPND_POISON};

/* What a name in forward can stand for. */
typedef enum { NAME_VALUE, NAME_INPUT, NAME_LOOP_VAR } BindingKind;

typedef struct Binding {
    BindingKind kind;
    Value *value; /* VALUE, INPUT */
    Group *group; /* LOOP_VAR */
    Loc loc;
} Binding;

typedef struct Scope {
    StrMap names; /* name -> Binding * */
    struct Scope *outer;
} Scope;

typedef struct Sema {
    Arena *a;
    Diag *diag;
    const Module *m;
    Config config;
    Graph *g;
    StrMap weights;     /* top-level weight or group name -> WeightItem-like entry */
    StrMap bad_groups;  /* a group whose name clashed -> its Declared: loops over it are silent */
    int64_t weight_elements; /* of every weight so far (MAX_TOTAL_ELEMENTS) */
    Scope *scope;
    Block *block;       /* where ops go */
    Op *loop;           /* the FOR being lowered, or NULL */
    int depth;
    int nops;           /* ops in the graph (MAX_OPS) */
    bool too_many_ops;  /* reported: lowering stops */
    Loc stmt_loc;       /* the statement being lowered */
} Sema;

typedef struct Declared { /* an entry of Sema.weights */
    bool bad;             /* its declaration had an error: uses say nothing more */
    Loc loc;              /* its name where it is declared */
    Weight *weight;       /* a top-level weight... */
    Value *value;
    Group *group;         /* ...or a group */
    StrMap members;       /* group: name -> Declared * */
} Declared;

static const char *clip(const Sema *s, const char *name)
{
    return ast_clip(s->a, name);
}

static int line_of(Loc loc)
{
    int line, col;
    loc_line_col(loc, &line, &col);
    return line;
}

/* ---- names --------------------------------------------------------------------------------- */

static Binding *lookup(const Sema *s, const char *name)
{
    for (const Scope *sc = s->scope; sc; sc = sc->outer) {
        Binding *b = strmap_get(&sc->names, name);
        if (b)
            return b;
    }
    return NULL;
}

static void bind(Sema *s, const char *name, BindingKind kind, Value *v, Loc loc)
{
    Binding *b = arena_alloc(s->a, sizeof *b);
    b->kind = kind;
    b->value = v;
    b->loc = loc;
    strmap_put(&s->scope->names, name, b);
}

static void push_scope(Sema *s)
{
    Scope *sc = arena_alloc(s->a, sizeof *sc);
    strmap_init(&sc->names, s->a);
    sc->outer = s->scope;
    s->scope = sc;
}

/* After a failed binding or declaration of `name`: its later uses are silent. An input stays
 * an input (so rebinding it is still refused); the loop variable is left as it is. */
static void bind_poison(Sema *s, const Ident *name)
{
    Binding *b = lookup(s, name->name);
    if (b && b->kind == NAME_LOOP_VAR)
        return;
    bind(s, name->name, b && b->kind == NAME_INPUT ? NAME_INPUT : NAME_VALUE, NULL, name->loc);
}

/* What else a name already is, for "may not rebind" messages; NULL when it is free. */
static const char *reserved_as(const Sema *s, const char *name)
{
    if (strmap_get(&s->config.values, name))
        return "a config value";
    Declared *d = strmap_get(&s->weights, name);
    if (d)
        return d->group ? "a weights group" : "a weight";
    Binding *b = lookup(s, name);
    if (b && b->kind == NAME_INPUT)
        return "an input";
    if (b && b->kind == NAME_LOOP_VAR)
        return "the loop variable";
    return NULL;
}

/* ---- operands ------------------------------------------------------------------------------ */

static Operand number(Number n)
{
    return n.ok ? (Operand){.kind = OPND_NUMBER, .num = n} : POISON;
}

static Operand tensor(Value *v)
{
    return (Operand){.kind = OPND_TENSOR, .v = v};
}

/* A tensor for a number used in tensor arithmetic: a scalar constant. */
static Value *as_value(Sema *s, Operand o)
{
    return o.kind == OPND_TENSOR ? o.v : ir_const(s->g, number_as_double(o.num));
}

/* Counts an op against MAX_OPS; past it, says so once, at the statement that crosses it. */
static bool count_op(Sema *s)
{
    if (s->nops < MAX_OPS) {
        s->nops++;
        return true;
    }
    if (!s->too_many_ops)
        diag_error(s->diag, s->stmt_loc, "too many operations in forward (limit is %d)", MAX_OPS);
    s->too_many_ops = true;
    return false;
}

/* The elements of a shape's numeric dimensions (a symbol counts as 1), or -1 on overflow. */
static int64_t numeric_elements(const Shape *shape)
{
    int64_t n = 1;
    for (int i = 0; i < shape->rank; i++)
        if (shape->dims[i].sym < 0 && __builtin_mul_overflow(n, shape->dims[i].size, &n))
            return -1;
    return n;
}

/* "1099511627776", or "more than 2^63" for a count that overflowed (-1). */
static const char *count_str(int64_t n, char *buf, size_t size)
{
    if (n < 0)
        snprintf(buf, size, "more than 2^63");
    else
        snprintf(buf, size, "%" PRId64, n);
    return buf;
}

/* A value's numeric dimensions hold at most MAX_ELEMENTS elements (and attention's scores,
 * [seq, seq] per head, too), so sizes in bytes fit an int64_t wherever they are computed. */
static bool check_size(Sema *s, const Op *op, const Shape *shape, Loc loc)
{
    char dims[256], count[32];
    int64_t n = numeric_elements(shape);
    if (n < 0 || n > MAX_ELEMENTS) {
        diag_error(s->diag, loc, "the result of '%s', %s, would have %s elements; the limit is "
                   "2^40", op_info[op->kind].name, shape_str(s->g, shape, dims, sizeof dims),
                   count_str(n, count, sizeof count));
        return false;
    }
    if (op->kind != OP_ATTENTION || shape->dims[1].sym >= 0) /* attention's is [b, s, H*d] */
        return true;
    int64_t seq = shape->dims[1].size, scores;
    bool overflow = __builtin_mul_overflow(seq, seq, &scores);
    if (overflow || scores > MAX_ELEMENTS) {
        diag_error(s->diag, loc, "attention's scores for a sequence of %" PRId64 ", [%" PRId64
                   ", %" PRId64 "], would have %s elements; the limit is 2^40", seq, seq, seq,
                   count_str(overflow ? -1 : scores, count, sizeof count));
        return false;
    }
    return true;
}

/* Records an op with these arguments if its shape rule holds; else reports why at `loc`. */
static Op *emit_op(Sema *s, OpKind kind, Loc loc, Value **args, int nargs, const Attrs *attrs,
                   int nresults)
{
    if (!count_op(s))
        return NULL;
    Op *op = ir_op_new(s->g, kind, loc, args, nargs, nresults);
    if (attrs)
        op->attrs = *attrs;
    Shape shapes[MAX_ARGS];
    DType dtype;
    char why[512];
    if (!shape_infer(s->g, op, shapes, &dtype, why, sizeof why)) {
        diag_error(s->diag, loc, "%s", why);
        for (int i = 0; i < nargs; i++)
            ir_op_set_arg(op, i, NULL);
        return NULL;
    }
    for (int i = 0; i < nresults; i++) {
        if (!check_size(s, op, &shapes[i], loc)) {
            for (int j = 0; j < nargs; j++)
                ir_op_set_arg(op, j, NULL);
            return NULL;
        }
        op->results[i]->shape = shapes[i];
        op->results[i]->dtype = dtype;
    }
    ir_op_append(s->block, op);
    return op;
}

static Operand emit(Sema *s, OpKind kind, Loc loc, Value **args, int nargs, const Attrs *attrs)
{
    Op *op = emit_op(s, kind, loc, args, nargs, attrs, 1);
    return op ? tensor(op->results[0]) : POISON;
}

/* ---- expressions --------------------------------------------------------------------------- */

static Operand lower_expr(Sema *s, const Expr *e);

/* Offers every key of a map to a suggestion. */
static void suggest_keys(Suggestion *sg, const StrMap *map)
{
    for (size_t i = 0; i < map->cap; i++)
        if (map->entries[i].key)
            ast_suggest(sg, map->entries[i].key);
}

/* " (did you mean 'hidden'?)" among the names a plain name could mean here. */
static const char *suggest_name(const Sema *s, const char *name)
{
    Suggestion sg;
    ast_suggest_init(&sg, name);
    for (const Scope *sc = s->scope; sc; sc = sc->outer)
        suggest_keys(&sg, &sc->names);
    suggest_keys(&sg, &s->config.values);
    suggest_keys(&sg, &s->weights);
    return ast_suggestion(s->a, &sg);
}

static Operand lower_name(Sema *s, const Expr *e)
{
    const char *name = e->name.name;
    Binding *b = lookup(s, name);
    if (b && b->kind == NAME_LOOP_VAR) {
        diag_error(s->diag, e->loc, "'%s' is a block of group '%s'; use one of its weights, "
                   "'%s.NAME'", clip(s, name), clip(s, b->group->name), clip(s, name));
        return POISON;
    }
    if (b)
        return b->value ? tensor(b->value) : POISON;
    ConfigValue *c = strmap_get(&s->config.values, name);
    if (c)
        return number(c->value);
    Declared *d = strmap_get(&s->weights, name);
    if (d && d->bad)
        return POISON;
    if (d && d->weight) {
        d->weight->used = true;
        return tensor(d->value);
    }
    if (d) {
        diag_error(s->diag, e->loc, "'%s' is a weights group; its weights are used inside "
                   "'for l in %s { ... }' as 'l.NAME'", clip(s, name), clip(s, name));
        return POISON;
    }
    diag_error(s->diag, e->loc, "unknown name '%s'%s", clip(s, name), suggest_name(s, name));
    return POISON;
}

static Operand lower_member(Sema *s, const Expr *e)
{
    const char *base = clip(s, e->name.name), *member = clip(s, e->member.name);
    Binding *b = lookup(s, e->name.name);
    if (!b || b->kind != NAME_LOOP_VAR) {
        Declared *d = strmap_get(&s->weights, e->name.name);
        if (d && d->group)
            diag_error(s->diag, e->loc, "'%s.%s' is used outside a loop over '%s'", base, member,
                       base);
        else if (!(b && !b->value)) /* a poisoned name says nothing more */
            diag_error(s->diag, e->name.loc, "'%s' is not a loop variable ('%s.%s' needs 'for "
                       "%s in GROUP')", base, base, member, base);
        return POISON;
    }
    Declared *group = strmap_get(&s->weights, b->group->name);
    Declared *w = strmap_get(&group->members, e->member.name);
    if (w && w->bad)
        return POISON;
    if (!w) {
        Suggestion sg;
        ast_suggest_init(&sg, e->member.name);
        suggest_keys(&sg, &group->members);
        diag_error(s->diag, e->member.loc, "group '%s' has no weight '%s'%s",
                   clip(s, b->group->name), member, ast_suggestion(s->a, &sg));
        return POISON;
    }
    w->weight->used = true;
    return tensor(w->value);
}

/* A number the program computes with in f32 (a scalar in tensor arithmetic, eps, scale) must
 * be one: anything past FLT_MAX would become inf there, silently. */
static bool fits_f32(Sema *s, Number n, Loc loc, const char *what)
{
    double v = number_as_double(n);
    if (isfinite(v) && fabs(v) <= FLT_MAX)
        return true;
    char num[40];
    diag_error(s->diag, loc, "%s is %s, outside the range of f32 (at most %.9g in magnitude)", what,
               number_str(n, num, sizeof num), (double)FLT_MAX);
    return false;
}

static Operand lower_binary(Sema *s, const Expr *e)
{
    Operand l = lower_expr(s, e->lhs), r = lower_expr(s, e->rhs);
    if (l.kind == OPND_POISON || r.kind == OPND_POISON)
        return POISON;
    if (l.kind == OPND_NUMBER && r.kind == OPND_NUMBER)
        return number(number_fold(e->op, l.num, r.num, e->loc, s->diag));
    static const OpKind kinds[128] = {['+'] = OP_ADD, ['-'] = OP_SUB, ['*'] = OP_MUL,
                                      ['/'] = OP_DIV};
    if (e->op == '%') {
        diag_error(s->diag, e->loc, "'%%' is for integers in compile-time expressions, not "
                   "tensors");
        return POISON;
    }
    if ((l.kind == OPND_NUMBER && !fits_f32(s, l.num, e->lhs->loc, "this number")) ||
        (r.kind == OPND_NUMBER && !fits_f32(s, r.num, e->rhs->loc, "this number")))
        return POISON;
    Value *args[2] = {as_value(s, l), as_value(s, r)};
    return emit(s, kinds[(int)e->op], e->loc, args, 2, NULL);
}

static Operand lower_call(Sema *s, const Expr *e);

static Operand lower_expr(Sema *s, const Expr *e)
{
    if (++s->depth > MAX_DEPTH) {
        diag_error(s->diag, e->loc, "expression too long or too deeply nested (limit is %d "
                   "levels)", MAX_DEPTH);
        s->depth--;
        return POISON;
    }
    Operand o = POISON;
    switch (e->kind) {
    case EXPR_INT: o = number((Number){.ok = true, .is_int = true, .i = e->ival}); break;
    case EXPR_FLOAT: o = number((Number){.ok = true, .f = e->fval}); break;
    case EXPR_BOOL:
        diag_error(s->diag, e->loc, "'%s' is only a keyword argument's value (causal=%s)",
                   e->bval ? "true" : "false", e->bval ? "true" : "false");
        break;
    case EXPR_NAME: o = lower_name(s, e); break;
    case EXPR_MEMBER: o = lower_member(s, e); break;
    case EXPR_NEG: {
        Operand x = lower_expr(s, e->lhs);
        Number zero = {.ok = true, .is_int = true};
        if (x.kind == OPND_NUMBER)
            o = number(number_fold('-', zero, x.num, e->loc, s->diag));
        else if (x.kind == OPND_TENSOR)
            o = emit(s, OP_NEG, e->loc, &x.v, 1, NULL);
        break;
    }
    case EXPR_BINARY: o = lower_binary(s, e); break;
    case EXPR_CALL: o = lower_call(s, e); break;
    }
    s->depth--;
    return o;
}

/* ---- built-in functions -------------------------------------------------------------------- */

typedef enum { P_TENSOR, P_NUMBER, P_INT, P_BOOL, P_STYLE } ParamKind;

typedef struct ParamSpec {
    const char *name;
    ParamKind kind;
    bool required;
    bool keyword_only;
} ParamSpec;

typedef enum { CALL_PLAIN, CALL_SPLIT, CALL_CONCAT, CALL_MATH } CallForm;

typedef struct Builtin {
    const char *name;
    OpKind op;
    CallForm form;
    bool hintable;
    ParamSpec params[6];
} Builtin;

#define T(n)   {n, P_TENSOR, true, false}
#define T_OPT(n) {n, P_TENSOR, false, false}
#define KW(n, k, req) {n, k, req, true}

/* Every built-in of docs/language.md with its parameters, in positional order. */
static const Builtin builtins[] = {
    {"linear",     OP_LINEAR,    CALL_PLAIN,  true,  {T("x"), T("w"), T_OPT("b")}},
    {"matmul",     OP_MATMUL,    CALL_PLAIN,  true,  {T("x"), T("w")}},
    {"embedding",  OP_EMBEDDING, CALL_PLAIN,  true,  {T("ids"), T("table")}},
    {"positions",  OP_POSITIONS, CALL_PLAIN,  false, {T("x")}},
    {"rmsnorm",    OP_RMSNORM,   CALL_PLAIN,  false, {T("x"), T("w"), {"eps", P_NUMBER, true, false}}},
    {"layernorm",  OP_LAYERNORM, CALL_PLAIN,  false, {T("x"), T("w"), T("b"), {"eps", P_NUMBER, true, false}}},
    {"silu",       OP_SILU,      CALL_MATH,   false, {T("x")}},
    {"gelu",       OP_GELU,      CALL_MATH,   false, {T("x")}},
    {"gelu_tanh",  OP_GELU_TANH, CALL_MATH,   false, {T("x")}},
    {"relu",       OP_RELU,      CALL_MATH,   false, {T("x")}},
    {"sigmoid",    OP_SIGMOID,   CALL_MATH,   false, {T("x")}},
    {"tanh",       OP_TANH,      CALL_MATH,   false, {T("x")}},
    {"exp",        OP_EXP,       CALL_MATH,   false, {T("x")}},
    {"sqrt",       OP_SQRT,      CALL_MATH,   false, {T("x")}},
    {"rsqrt",      OP_RSQRT,     CALL_MATH,   false, {T("x")}},
    {"softmax",    OP_SOFTMAX,   CALL_PLAIN,  false, {T("x")}},
    {"normalize",  OP_NORMALIZE, CALL_PLAIN,  false, {T("x")}},
    {"split",      OP_SPLIT,     CALL_SPLIT,  false, {T("x")}},
    {"concat",     OP_CONCAT,    CALL_CONCAT, false, {T("x")}},
    {"mean",       OP_MEAN,      CALL_PLAIN,  false, {T("x"), {"dim", P_INT, true, false}, KW("mask", P_TENSOR, false)}},
    {"sum",        OP_SUM,       CALL_PLAIN,  false, {T("x"), {"dim", P_INT, true, false}, KW("mask", P_TENSOR, false)}},
    {"rope",       OP_ROPE,      CALL_PLAIN,  false, {T("x"), KW("heads", P_INT, true), KW("theta", P_NUMBER, false),
                                                      KW("style", P_STYLE, false), KW("rotary_dim", P_INT, false)}},
    {"attention",  OP_ATTENTION, CALL_PLAIN,  false, {T("q"), T("k"), T("v"), KW("heads", P_INT, true),
                                                      KW("causal", P_BOOL, true), KW("kv_heads", P_INT, false)}},
};
/* attention's scale= and mask= keywords: more than six parameters, kept apart. */
static const ParamSpec attention_extra[] = {KW("scale", P_NUMBER, false), KW("mask", P_TENSOR, false)};

static int nparams(const Builtin *b)
{
    int n = 0;
    while (n < 6 && b->params[n].name)
        n++;
    return n;
}

static const Builtin *find_builtin(const char *name)
{
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
        if (!strcmp(builtins[i].name, name))
            return &builtins[i];
    return NULL;
}

/* The parameters of a call, each bound to the argument that gives it (or NULL). */
typedef struct Bound {
    const ParamSpec *spec[8];
    const Expr *arg[8];
    int n;
} Bound;

static const Expr *bound_arg(const Bound *b, const char *name)
{
    for (int i = 0; i < b->n; i++)
        if (!strcmp(b->spec[i]->name, name))
            return b->arg[i];
    return NULL;
}

static void list_keywords(const Bound *b, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = 0;
    for (int i = 0; i < b->n && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? ", " : "", b->spec[i]->name);
}

/* Python's rules: positional arguments first, in order; then keywords, each at most once. */
static bool bind_args(Sema *s, const Expr *call, const Builtin *fn, Bound *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < nparams(fn); i++)
        out->spec[out->n++] = &fn->params[i];
    if (fn->op == OP_ATTENTION)
        for (size_t i = 0; i < sizeof attention_extra / sizeof attention_extra[0]; i++)
            out->spec[out->n++] = &attention_extra[i];
    int positional = 0;
    bool ok = true, seen_keyword = false;
    for (int i = 0; i < call->args.len; i++) {
        const Arg *arg = call->args.items[i];
        if (!arg->keyword.name) {
            if (seen_keyword) {
                diag_error(s->diag, arg->value->loc, "positional argument after a keyword "
                           "argument in '%s'", fn->name);
                ok = false;
            } else if (positional >= out->n || out->spec[positional]->keyword_only) {
                int max = 0;
                while (max < out->n && !out->spec[max]->keyword_only)
                    max++;
                diag_error(s->diag, arg->value->loc, "too many arguments to '%s' (it takes %d "
                           "positional argument%s)", fn->name, max, max == 1 ? "" : "s");
                return false;
            } else {
                out->arg[positional++] = arg->value;
            }
            continue;
        }
        seen_keyword = true;
        int j = 0;
        while (j < out->n && strcmp(out->spec[j]->name, arg->keyword.name))
            j++;
        if (j == out->n) {
            char names[256];
            list_keywords(out, names, sizeof names);
            diag_error(s->diag, arg->keyword.loc, "'%s' has no parameter '%s' (its parameters: "
                       "%s)", fn->name, clip(s, arg->keyword.name), names);
            ok = false;
        } else if (out->arg[j]) {
            diag_error(s->diag, arg->keyword.loc, "'%s' is given twice in '%s'",
                       arg->keyword.name, fn->name);
            ok = false;
        } else {
            out->arg[j] = arg->value;
        }
    }
    return ok;
}

/* Called once the given arguments are known to be right: a wrong one (`layernorm(x, w, 1e-5)`
 * gives 'b' a number) explains a missing one better than "needs its argument 'eps'" would. */
static bool check_required(Sema *s, const Expr *call, const Builtin *fn, const Bound *b)
{
    for (int j = 0; j < b->n; j++) {
        if (b->spec[j]->required && !b->arg[j]) {
            diag_error(s->diag, call->loc, "'%s' needs its argument '%s'%s", fn->name,
                       b->spec[j]->name, b->spec[j]->keyword_only ? " (a keyword argument)" : "");
            return false;
        }
    }
    return true;
}

/* A compile-time argument: a number from literals and config values. */
static bool const_arg(Sema *s, const Builtin *fn, const char *param, const Expr *e, bool want_int,
                      Number *out)
{
    Operand o = lower_expr(s, e);
    if (o.kind == OPND_POISON)
        return false;
    if (o.kind != OPND_NUMBER) {
        diag_error(s->diag, e->loc, "'%s' of '%s' must be a compile-time number (a literal or a "
                   "config value), not a tensor", param, fn->name);
        return false;
    }
    if (want_int && !o.num.is_int) {
        char num[40];
        diag_error(s->diag, e->loc, "'%s' of '%s' must be an integer, saw %s", param, fn->name,
                   number_str(o.num, num, sizeof num));
        return false;
    }
    *out = o.num;
    return true;
}

static bool tensor_arg(Sema *s, const Builtin *fn, const char *param, const Expr *e, Value **out)
{
    Operand o = lower_expr(s, e);
    if (o.kind == OPND_POISON)
        return false;
    if (o.kind != OPND_TENSOR) {
        diag_error(s->diag, e->loc, "'%s' of '%s' must be a tensor, saw a number", param,
                   fn->name);
        return false;
    }
    *out = o.v;
    return true;
}

static bool bool_arg(Sema *s, const char *param, const Expr *e, bool *out)
{
    if (e->kind != EXPR_BOOL) {
        bool cased = e->kind == EXPR_NAME &&
                     (!strcasecmp(e->name.name, "true") || !strcasecmp(e->name.name, "false"));
        diag_error(s->diag, e->loc, "'%s' must be true or false%s", param,
                   cased ? " (true and false are lowercase)" : "");
        return false;
    }
    *out = e->bval;
    return true;
}

/* Attributes from the keyword and compile-time arguments; false when one was bad. */
static bool call_attrs(Sema *s, const Builtin *fn, const Bound *b, Attrs *at)
{
    bool ok = true;
    Number n;
    const Expr *e;
    at->theta = 10000.0; /* Hugging Face's default rope_theta */
    if ((e = bound_arg(b, "eps")))
        ok &= const_arg(s, fn, "eps", e, false, &n) && fits_f32(s, n, e->loc, "'eps'") &&
              ((at->eps = number_as_double(n)), true);
    if ((e = bound_arg(b, "heads")))
        ok &= const_arg(s, fn, "heads", e, true, &n) && ((at->heads = n.i), true);
    at->kv_heads = at->heads;
    if ((e = bound_arg(b, "kv_heads")))
        ok &= const_arg(s, fn, "kv_heads", e, true, &n) && ((at->kv_heads = n.i), true);
    if ((e = bound_arg(b, "theta"))) {
        char num[40];
        if (!const_arg(s, fn, "theta", e, false, &n)) {
            ok = false;
        } else if (!(number_as_double(n) > 0) || !isfinite(number_as_double(n))) {
            diag_error(s->diag, e->loc, "'theta' of 'rope' must be a number greater than 0, saw "
                       "%s", number_str(n, num, sizeof num));
            ok = false;
        } else {
            at->theta = number_as_double(n);
        }
    }
    if ((e = bound_arg(b, "rotary_dim")))
        ok &= const_arg(s, fn, "rotary_dim", e, true, &n) && ((at->rotary_dim = n.i), true);
    if ((e = bound_arg(b, "scale"))) {
        ok &= const_arg(s, fn, "scale", e, false, &n) && fits_f32(s, n, e->loc, "'scale'") &&
              ((at->scale = number_as_double(n)), true);
        at->has_scale = true;
    }
    if ((e = bound_arg(b, "causal")))
        ok &= bool_arg(s, "causal", e, &at->causal);
    if ((e = bound_arg(b, "style"))) {
        if (e->kind == EXPR_NAME && !strcmp(e->name.name, "gptj"))
            at->rope_style = ROPE_GPTJ;
        else if (!(e->kind == EXPR_NAME && !strcmp(e->name.name, "neox"))) {
            diag_error(s->diag, e->loc, "'style' of 'rope' must be neox or gptj");
            ok = false;
        }
    }
    if ((e = bound_arg(b, "dim"))) /* counted from the end when negative: see lower_call */
        ok &= const_arg(s, fn, "dim", e, true, &n) &&
              ((at->dim = (int)(n.i < -MAX_DIMS ? -MAX_DIMS - 1 : n.i > MAX_DIMS ? MAX_DIMS : n.i)),
               true);
    if (ok && ((at->heads < 1 && bound_arg(b, "heads")) ||
               (at->kv_heads < 1 && bound_arg(b, "kv_heads")))) {
        diag_error(s->diag, bound_arg(b, at->heads < 1 ? "heads" : "kv_heads")->loc,
                   "heads must be at least 1");
        ok = false;
    }
    return ok;
}

/* A number through a unary built-in: sqrt(head_dim) in a scale, folded now. */
static Operand fold_math(Sema *s, const Builtin *fn, Number n, Loc loc)
{
    double x = number_as_double(n), r;
    switch (fn->op) {
    case OP_SQRT: r = sqrt(x); break;
    case OP_RSQRT: r = 1 / sqrt(x); break;
    case OP_EXP: r = exp(x); break;
    case OP_TANH: r = tanh(x); break;
    case OP_SIGMOID: r = 1 / (1 + exp(-x)); break;
    default:
        diag_error(s->diag, loc, "'%s' of a number: only sqrt, rsqrt, exp, tanh and sigmoid fold "
                   "at compile time", fn->name);
        return POISON;
    }
    if (!isfinite(r)) {
        char num[40];
        diag_error(s->diag, loc, "'%s(%s)' is not a finite number", fn->name,
                   number_str(n, num, sizeof num));
        return POISON;
    }
    return number((Number){.ok = true, .f = r});
}

static Operand lower_variadic_concat(Sema *s, const Expr *call, const Builtin *fn)
{
    Value *args[MAX_ARGS];
    int n = 0;
    bool ok = true;
    if (call->args.len == 0 || call->args.len > MAX_ARGS) {
        diag_error(s->diag, call->loc, "'concat' takes 1 to %d tensors", MAX_ARGS);
        return POISON;
    }
    for (int i = 0; i < call->args.len; i++) {
        const Arg *arg = call->args.items[i];
        if (arg->keyword.name) {
            diag_error(s->diag, arg->keyword.loc, "'concat' takes no keyword arguments");
            ok = false;
            continue;
        }
        ok &= tensor_arg(s, fn, "every argument", arg->value, &args[n++]);
    }
    return ok ? emit(s, OP_CONCAT, call->loc, args, n, NULL) : POISON;
}

static bool parse_hint(Sema *s, const Builtin *fn, const Ident *name, Hint *out);

/* split(x, n0, n1, ...): its results are bound by `a, b, ... = split(...)`. */
static Op *lower_split(Sema *s, const Expr *call, int ntargets)
{
    const Builtin *fn = find_builtin("split");
    int nsizes = call->args.len - 1;
    Hint hint = HINT_NONE; /* split takes none: parse_hint says so, as for any other call */
    if (call->hint.name && !parse_hint(s, fn, &call->hint, &hint))
        return NULL;
    if (call->args.len < 3 || nsizes > MAX_ARGS) {
        diag_error(s->diag, call->loc, "'split' takes a tensor and at least two sizes (at most "
                   "%d)", MAX_ARGS);
        return NULL;
    }
    Attrs at = {.nsizes = nsizes};
    at.sizes = arena_array(s->a, (size_t)nsizes, sizeof *at.sizes);
    Value *x = NULL;
    bool ok = true;
    for (int i = 0; i < call->args.len; i++) {
        const Arg *arg = call->args.items[i];
        if (arg->keyword.name) {
            diag_error(s->diag, arg->keyword.loc, "'split' takes no keyword arguments");
            ok = false;
        } else if (i == 0) {
            ok &= tensor_arg(s, fn, "x", arg->value, &x);
        } else {
            Number n;
            ok &= const_arg(s, fn, "a size", arg->value, true, &n);
            at.sizes[i - 1] = n.i;
        }
    }
    if (!ok)
        return NULL;
    if (ntargets != nsizes) {
        diag_error(s->diag, call->loc, "'split' into %d parts is bound to %d name%s", nsizes,
                   ntargets, ntargets == 1 ? "" : "s");
        return NULL;
    }
    return emit_op(s, OP_SPLIT, call->loc, &x, 1, &at, nsizes);
}

static bool parse_hint(Sema *s, const Builtin *fn, const Ident *name, Hint *out)
{
    static const char *const hints[] = {[HINT_COL] = "col", [HINT_ROW] = "row",
                                        [HINT_REPLICATED] = "replicated"};
    for (int h = HINT_COL; h <= HINT_REPLICATED; h++)
        if (!strcmp(name->name, hints[h]))
            *out = (Hint)h;
    if (*out == HINT_NONE) {
        diag_error(s->diag, name->loc, "unknown hint '@%s' (expected @col, @row or @replicated)",
                   clip(s, name->name));
        return false;
    }
    if (!fn->hintable) {
        diag_error(s->diag, name->loc, "a sharding hint applies to linear, matmul and "
                   "embedding, not '%s'", fn->name);
        return false;
    }
    return true;
}

/* rope's head_dim and rotary_dim, checked here where an explicit rotary_dim=0 can still be
 * told from none (the op's attribute 0 means "the whole head"). When the input's shape does
 * not give a head_dim, the shape rule explains why. */
static bool check_rope(Sema *s, const Expr *call, const Bound *b, const Value *x,
                       const Attrs *at)
{
    const Shape *shape = &x->shape;
    if (x->dtype != DT_F32 || shape->rank != 3 || shape->dims[2].sym >= 0 || at->heads < 1 ||
        shape->dims[2].size % at->heads != 0)
        return true;
    int64_t head_dim = shape->dims[2].size / at->heads;
    const Expr *rotary = bound_arg(b, "rotary_dim");
    int64_t r = at->rotary_dim;
    if (rotary && (r < 2 || r % 2 != 0 || r > head_dim)) {
        diag_error(s->diag, rotary->loc, "rotary_dim must be even and from 2 to head_dim (%" PRId64
                   "), saw %" PRId64, head_dim, r);
        return false;
    }
    if (!rotary && head_dim % 2 != 0) {
        diag_error(s->diag, call->loc, "rope needs an even head_dim, saw %" PRId64 " (%" PRId64
                   " / heads=%" PRId64 ")", head_dim, shape->dims[2].size, at->heads);
        return false;
    }
    return true;
}

static Operand lower_call(Sema *s, const Expr *e)
{
    const Builtin *fn = find_builtin(e->name.name);
    if (!fn) {
        Suggestion sg;
        ast_suggest_init(&sg, e->name.name);
        for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
            ast_suggest(&sg, builtins[i].name);
        diag_error(s->diag, e->name.loc, "unknown function '%s'%s", clip(s, e->name.name),
                   ast_suggestion(s->a, &sg));
        return POISON;
    }
    Hint hint = HINT_NONE;
    if (e->hint.name && !parse_hint(s, fn, &e->hint, &hint))
        return POISON;
    if (fn->form == CALL_SPLIT) {
        diag_error(s->diag, e->loc, "'split' gives several values: bind them with 'a, b = "
                   "split(x, ...)'");
        return POISON;
    }
    if (fn->form == CALL_CONCAT)
        return lower_variadic_concat(s, e, fn);

    Bound b;
    if (!bind_args(s, e, fn, &b))
        return POISON;
    if (fn->form == CALL_MATH) {
        if (!check_required(s, e, fn, &b))
            return POISON;
        Operand x = lower_expr(s, b.arg[0]);
        if (x.kind == OPND_NUMBER)
            return fold_math(s, fn, x.num, e->loc);
        return x.kind == OPND_TENSOR ? emit(s, fn->op, e->loc, &x.v, 1, NULL) : POISON;
    }
    Value *args[8];
    int nargs = 0;
    bool ok = true;
    for (int i = 0; i < b.n; i++)
        if (b.spec[i]->kind == P_TENSOR && b.arg[i])
            ok &= tensor_arg(s, fn, b.spec[i]->name, b.arg[i], &args[nargs++]);
    Attrs at = {.hint = hint};
    ok &= call_attrs(s, fn, &b, &at);
    if (!ok || !check_required(s, e, fn, &b))
        return POISON;
    if (fn->op == OP_ROPE && !check_rope(s, e, &b, args[0], &at))
        return POISON;
    if (hint && args[1]->kind != VAL_WEIGHT) { /* a hint decides how a weight is split */
        diag_error(s->diag, b.arg[1]->loc, "a sharding hint splits a weight: the '%s' of '%s' "
                   "must be a declared weight, not a value computed in forward", b.spec[1]->name,
                   fn->name);
        return POISON;
    }
    if (fn->op == OP_MEAN || fn->op == OP_SUM) {
        int rank = args[0]->shape.rank;
        if (at.dim < -rank || at.dim >= rank) {
            diag_error(s->diag, bound_arg(&b, "dim")->loc, "dimension %d is out of range for a "
                       "tensor of %d dimensions", at.dim, rank);
            return POISON;
        }
        if (at.dim < 0)
            at.dim += rank;
    }
    return emit(s, fn->op, e->loc, args, nargs, &at);
}

/* ---- statements ---------------------------------------------------------------------------- */

static void lower_stmts(Sema *s, const List *stmts, bool top);

static bool check_target(Sema *s, const Ident *t)
{
    const char *what = reserved_as(s, t->name);
    if (what) {
        diag_error(s->diag, t->loc, "'%s' is %s and cannot be rebound (choose another name)",
                   clip(s, t->name), what);
        return false;
    }
    return true;
}

/* Binds a statement's target (check_target has reported a name that may not be bound; it is
 * poisoned instead). */
static void assign(Sema *s, const Ident *t, Operand o)
{
    if (reserved_as(s, t->name)) {
        bind_poison(s, t);
        return;
    }
    if (o.kind == OPND_NUMBER) {
        diag_error(s->diag, t->loc, "'%s' would be a number; names in forward hold tensors "
                   "(put numbers in config)", clip(s, t->name));
        o = POISON;
    }
    Value *v = o.kind == OPND_TENSOR ? o.v : NULL;
    if (v && !v->name && v->kind == VAL_RESULT)
        v->name = t->name;
    bind(s, t->name, NAME_VALUE, v, t->loc);
}

static void lower_assign(Sema *s, const Stmt *st)
{
    for (int i = 0; i < st->targets.len; i++)
        check_target(s, st->targets.items[i]);
    if (st->targets.len == 1) {
        assign(s, st->targets.items[0], lower_expr(s, st->value));
        return;
    }
    const Expr *e = st->value;
    Op *op = NULL;
    if (e->kind != EXPR_CALL || strcmp(e->name.name, "split"))
        diag_error(s->diag, e->loc, "only 'split' gives several values; %d names are bound here",
                   st->targets.len);
    else
        op = lower_split(s, e, st->targets.len);
    for (int i = 0; i < st->targets.len; i++)
        assign(s, st->targets.items[i], op ? tensor(op->results[i]) : POISON);
}

/* Names a loop body assigns, in order of first assignment (nested statements included). */
static void assigned_names(Sema *s, const List *stmts, StrMap *seen, List *out)
{
    for (int i = 0; i < stmts->len; i++) {
        const Stmt *st = stmts->items[i];
        for (int j = 0; st->kind == STMT_ASSIGN && j < st->targets.len; j++) {
            const Ident *t = st->targets.items[j];
            if (!strmap_get(seen, t->name)) {
                strmap_put(seen, t->name, (void *)t);
                vec_push(s->a, out, (void *)t);
            }
        }
    }
}

static void set_results(Sema *s, Op *loop, Value **yielded, int n)
{
    loop->nresults = n;
    loop->results = arena_array(s->a, (size_t)n, sizeof *loop->results);
    for (int i = 0; i < n; i++) {
        Value *r = ir_value_new(s->g, VAL_RESULT, yielded[i]->dtype, yielded[i]->shape);
        r->def = loop;
        r->index = i;
        r->name = yielded[i]->name;
        r->loc = loop->loc;
        loop->results[i] = r;
    }
}

/* A loop that is not lowered: the names its body binds are poisoned, so their uses after it
 * say nothing more. */
static void skip_loop(Sema *s, const List *names)
{
    for (int i = 0; i < names->len; i++)
        bind_poison(s, names->items[i]);
}

/* for VAR in GROUP { BODY }: one FOR op; carried names become the body's parameters. */
/* A loop being lowered: the names its body binds, and those of them bound before it, which
 * are carried from block to block (their values when the loop starts in init). */
typedef struct Loop {
    List names;
    Value *init[MAX_CARRIED];
    const Ident *carried[MAX_CARRIED];
    int ncarried;
    Op *op;
} Loop;

/* The group a `for` runs over, once everything about the loop itself is known to be right. */
static Group *loop_group(Sema *s, const Stmt *st, Loop *lp)
{
    Declared *d = strmap_get(&s->weights, st->group.name);
    if (s->loop) {
        diag_error(s->diag, st->loc, "loops do not nest (this one is inside the loop over '%s')",
                   clip(s, s->loop->group->name));
        return NULL;
    }
    if (!d || !d->group) {
        if (!strmap_get(&s->bad_groups, st->group.name)) {
            Suggestion sg;
            ast_suggest_init(&sg, st->group.name);
            for (int i = 0; i < s->g->groups.len; i++)
                ast_suggest(&sg, s->g->groups.items[i]->name);
            diag_error(s->diag, st->group.loc, "'%s' is not a weights group%s",
                       clip(s, st->group.name), ast_suggestion(s->a, &sg));
        }
        return NULL;
    }
    if (lp->names.len > MAX_CARRIED) {
        const Ident *t = lp->names.items[MAX_CARRIED];
        diag_error(s->diag, t->loc, "too many names bound in a loop body (limit is %d)",
                   MAX_CARRIED);
        return NULL;
    }
    if (!check_target(s, &st->var) || !count_op(s) || !count_op(s)) /* the FOR and its YIELD */
        return NULL;
    return d->group;
}

/* The FOR op, carrying the names bound before the loop that the body rebinds; the body's
 * scope, where the loop variable and the carried names (as the block's parameters) live. */
static void open_loop(Sema *s, const Stmt *st, Group *group, Loop *lp)
{
    for (int i = 0; i < lp->names.len; i++) {
        const Ident *t = lp->names.items[i];
        Binding *b = lookup(s, t->name);
        if (b && b->kind == NAME_VALUE && b->value) {
            lp->init[lp->ncarried] = b->value;
            lp->carried[lp->ncarried++] = t;
        }
    }
    Op *loop = ir_op_new(s->g, OP_FOR, st->loc, lp->init, lp->ncarried, 0);
    loop->group = group;
    loop->body = ir_block_new(s->g, loop);
    loop->body->nparams = lp->ncarried;
    loop->body->params = arena_array(s->a, (size_t)lp->ncarried, sizeof(Value *));
    ir_op_append(s->block, loop);
    push_scope(s);
    Binding *var = arena_alloc(s->a, sizeof *var);
    var->kind = NAME_LOOP_VAR;
    var->group = group;
    strmap_put(&s->scope->names, st->var.name, var);
    for (int i = 0; i < lp->ncarried; i++) {
        Value *p = ir_value_new(s->g, VAL_PARAM, lp->init[i]->dtype, lp->init[i]->shape);
        p->def = loop;
        p->index = i;
        p->name = lp->carried[i]->name;
        loop->body->params[i] = p;
        bind(s, lp->carried[i]->name, NAME_VALUE, p, lp->carried[i]->loc);
    }
    s->block = loop->body;
    s->loop = loop;
    lp->op = loop;
}

/* The body's yield: every carried name (with the shape it started with), then every name first
 * bound in the body, which is visible after the loop. False when a carried name changed shape
 * or lost its value to an error. */
static bool yield_loop(Sema *s, const Stmt *st, Loop *lp, const Ident **escaping, int *nescaping)
{
    Value *yielded[MAX_CARRIED];
    int n = 0;
    bool ok = true;
    for (int i = 0; i < lp->ncarried; i++) {
        Binding *b = strmap_get(&s->scope->names, lp->carried[i]->name);
        Value *v = b ? b->value : NULL;
        if (!v) {
            ok = false;
            continue;
        }
        const Value *init = lp->init[i];
        if (!shape_equal(&v->shape, &init->shape) || v->dtype != init->dtype) {
            char a[256], c[256];
            diag_error(s->diag, b->loc, "'%s' changes shape in the loop body: %s%s when the loop "
                       "starts, %s%s at the end of a block", clip(s, lp->carried[i]->name),
                       dtype_name(init->dtype), shape_str(s->g, &init->shape, a, sizeof a),
                       dtype_name(v->dtype), shape_str(s->g, &v->shape, c, sizeof c));
            ok = false;
        }
        yielded[n++] = v;
    }
    *nescaping = 0;
    for (int i = 0; i < lp->names.len && ok; i++) {
        const Ident *t = lp->names.items[i];
        Binding *b = strmap_get(&s->scope->names, t->name);
        bool is_carried = false;
        for (int j = 0; j < lp->ncarried; j++)
            is_carried |= lp->carried[j] == t;
        if (!is_carried && b && b->value) {
            escaping[(*nescaping)++] = t;
            yielded[n++] = b->value;
        }
    }
    if (!ok)
        return false;
    ir_op_append(lp->op->body, ir_op_new(s->g, OP_YIELD, st->loc, yielded, n, 0));
    set_results(s, lp->op, yielded, n);
    return true;
}

/* After the loop, the carried and escaping names are its results; a name the body bound to a
 * poison (its statement had an error) stays one. */
static void close_loop(Sema *s, Loop *lp, const Ident **escaping, int nescaping)
{
    for (int i = 0; i < lp->ncarried; i++)
        bind(s, lp->carried[i]->name, NAME_VALUE, lp->op->results[i], lp->carried[i]->loc);
    for (int i = 0; i < nescaping; i++)
        bind(s, escaping[i]->name, NAME_VALUE, lp->op->results[lp->ncarried + i],
             escaping[i]->loc);
    for (int i = 0; i < lp->names.len; i++) {
        const Ident *t = lp->names.items[i];
        Binding *b = lookup(s, t->name);
        if (!b || (b->kind == NAME_VALUE && (!b->value || b->value->def != lp->op)))
            bind_poison(s, t);
    }
}

/* for VAR in GROUP { ... }: a FOR op over the group's blocks (checks, the op and its scope,
 * the body, the yield, the names after it). */
static void lower_for(Sema *s, const Stmt *st)
{
    Loop lp = {0};
    StrMap seen;
    strmap_init(&seen, s->a);
    assigned_names(s, &st->body, &seen, &lp.names);
    Group *group = loop_group(s, st, &lp);
    if (!group) {
        skip_loop(s, &lp.names);
        return;
    }
    Block *outer_block = s->block;
    Scope *outer_scope = s->scope;
    open_loop(s, st, group, &lp);
    lower_stmts(s, &st->body, false);
    const Ident *escaping[MAX_CARRIED];
    int nescaping = 0;
    bool ok = yield_loop(s, st, &lp, escaping, &nescaping);
    s->block = outer_block;
    s->scope = outer_scope;
    s->loop = NULL;
    if (!ok) {
        skip_loop(s, &lp.names);
        return;
    }
    close_loop(s, &lp, escaping, nescaping);
}

static void lower_return(Sema *s, const Stmt *st, bool top)
{
    const Module *m = s->m;
    if (!top) {
        diag_error(s->diag, st->loc, "return inside a loop (it ends forward, after the loops)");
        return;
    }
    if (st->values.len != m->outputs.len) {
        diag_error(s->diag, st->loc, "return gives %d value%s, but forward declares %d output%s "
                   "in '-> (...)'", st->values.len, st->values.len == 1 ? "" : "s",
                   m->outputs.len, m->outputs.len == 1 ? "" : "s");
        return;
    }
    if (m->outputs.len > MAX_ARGS)
        return; /* declare_outputs has said so */
    Value *outs[MAX_ARGS];
    bool ok = true;
    for (int i = 0; i < st->values.len && ok; i++) {
        const Expr *e = st->values.items[i];
        const Ident *want = m->outputs.items[i];
        if (e->kind == EXPR_NAME && strcmp(e->name.name, want->name)) {
            diag_error(s->diag, e->loc, "return's value %d is '%s', but '-> (...)' names output "
                       "%d '%s'", i + 1, clip(s, e->name.name), i + 1, clip(s, want->name));
            ok = false;
            continue;
        }
        Operand o = lower_expr(s, e);
        if (o.kind == OPND_NUMBER)
            diag_error(s->diag, e->loc, "an output must be a tensor, not a number");
        if (o.kind != OPND_TENSOR) {
            ok = false;
            continue;
        }
        if (o.v->dtype != DT_F32) {
            diag_error(s->diag, e->loc, "output '%s' is i32; outputs are f32 tensors",
                       clip(s, want->name));
            ok = false;
        }
        outs[i] = o.v;
    }
    if (ok)
        emit_op(s, OP_RETURN, st->loc, outs, st->values.len, NULL, 0);
}

static void lower_stmts(Sema *s, const List *stmts, bool top)
{
    for (int i = 0; i < stmts->len && !diag_full(s->diag) && !s->too_many_ops; i++) {
        const Stmt *st = stmts->items[i];
        if (s->block->last && s->block->last->kind == OP_RETURN) {
            diag_error(s->diag, st->loc, "statement after return");
            return;
        }
        s->stmt_loc = st->loc;
        switch (st->kind) {
        case STMT_ASSIGN: lower_assign(s, st); break;
        case STMT_FOR: lower_for(s, st); break;
        case STMT_RETURN: lower_return(s, st, top); break;
        }
    }
}

/* ---- declarations ------------------------------------------------------------------------- */

/* A positive integer from a compile-time expression: a dimension or a count. */
static bool positive_int(Sema *s, const Expr *e, const char *what, int64_t *out)
{
    Number n = config_eval_expr(&s->config, e, s->diag);
    if (!n.ok)
        return false;
    if (!n.is_int || n.i < 1) {
        char num[40];
        if (n.is_int)
            diag_error(s->diag, e->loc, "%s must be at least 1, saw %" PRId64, what, n.i);
        else
            diag_error(s->diag, e->loc, "%s must be an integer, saw %s", what,
                       number_str(n, num, sizeof num));
        return false;
    }
    *out = n.i;
    return true;
}

static bool checkpoint_name_ok(Sema *s, const WeightDecl *wd, bool in_group)
{
    const char *name = wd->checkpoint;
    bool has_index = strstr(name, "{i}") != NULL;
    const char *brace = strpbrk(name, "{}");
    while (brace && !strncmp(brace, "{i}", 3))
        brace = strpbrk(brace + 3, "{}");
    if (!*name) {
        diag_error(s->diag, wd->checkpoint_loc, "empty checkpoint name");
        return false;
    }
    if (brace) {
        diag_error(s->diag, wd->checkpoint_loc, "checkpoint names may hold '{i}' (the block "
                   "index) and no other braces");
        return false;
    }
    if (in_group && !has_index) {
        diag_error(s->diag, wd->checkpoint_loc, "a group's checkpoint name needs '{i}', the "
                   "block index: every block has its own tensor");
        return false;
    }
    if (!in_group && has_index) {
        diag_error(s->diag, wd->checkpoint_loc, "'{i}' is the block index of a group; '%s' is "
                   "not in one", clip(s, wd->name.name));
        return false;
    }
    return true;
}

/* A weight holds at most MAX_ELEMENTS elements (a group's weight, over all its blocks), and
 * all weights together at most MAX_TOTAL_ELEMENTS. */
static bool check_weight_size(Sema *s, const Weight *w, const Ident *name)
{
    char count[32];
    int64_t n = numeric_elements(&w->shape), total = n;
    int64_t blocks = w->group ? w->group->count : 1;
    if (n >= 0 && __builtin_mul_overflow(n, blocks, &total))
        total = -1;
    if (total < 0 || total > MAX_ELEMENTS) {
        if (w->group && n >= 0 && n <= MAX_ELEMENTS)
            diag_error(s->diag, name->loc, "weight '%s.%s' has %s elements in its %" PRId64
                       " blocks; the limit is 2^40", clip(s, w->group->name), clip(s, w->name),
                       count_str(total, count, sizeof count), blocks);
        else
            diag_error(s->diag, name->loc, "weight '%s' has %s elements; the limit is 2^40",
                       clip(s, w->name), count_str(n, count, sizeof count));
        return false;
    }
    /* a 16 MiB file declares fewer than 2^21 weights of at most 2^40 elements: no overflow */
    bool under = s->weight_elements <= MAX_TOTAL_ELEMENTS;
    s->weight_elements += total;
    if (under && s->weight_elements > MAX_TOTAL_ELEMENTS) {
        diag_error(s->diag, name->loc, "weight '%s' brings the model's weights past 2^44 "
                   "elements in all; the limit is 2^44", clip(s, w->name));
        return false;
    }
    return true;
}

static Declared *declare_weight(Sema *s, const WeightDecl *wd, Group *group)
{
    Weight *w = arena_alloc(s->a, sizeof *w);
    w->name = wd->name.name;
    w->checkpoint = wd->checkpoint;
    w->group = group;
    w->loc = wd->name.loc;
    Declared *d = arena_alloc(s->a, sizeof *d);
    d->weight = w;
    d->loc = wd->name.loc;
    d->bad = true;
    bool ok = checkpoint_name_ok(s, wd, group != NULL);
    if (wd->dims.len > MAX_DIMS) {
        diag_error(s->diag, wd->name.loc, "too many dimensions (limit is %d)", MAX_DIMS);
        return d;
    }
    w->shape.rank = wd->dims.len;
    for (int i = 0; i < wd->dims.len; i++) {
        int64_t size = 1;
        ok &= positive_int(s, wd->dims.items[i], "a weight's dimension", &size);
        w->shape.dims[i] = (Dim){size, -1};
    }
    if (ok && check_weight_size(s, w, &wd->name)) {
        d->bad = false;
        vec_push(s->a, &s->g->weights, w);
        d->value = ir_weight_value(s->g, w);
    }
    return d;
}

static const char *declared_as(const Declared *d)
{
    return d->group ? "a group" : "a weight";
}

/* A weight's or group's name is new in its namespace: `scope`, and at the top level the config
 * values too. */
static bool name_is_free(Sema *s, const Ident *id, StrMap *scope, const char *what, bool top)
{
    const Declared *d = strmap_get(scope, id->name);
    const ConfigValue *c = top ? strmap_get(&s->config.values, id->name) : NULL;
    if (d) {
        bool same_kind = !strcmp(what, "group") == (d->group != NULL);
        diag_error(s->diag, id->loc, "%s '%s' is declared twice (first at line %d%s%s)", what,
                   clip(s, id->name), line_of(d->loc), same_kind ? "" : ", as ",
                   same_kind ? "" : declared_as(d));
        return false;
    }
    if (c) {
        diag_error(s->diag, id->loc, "%s '%s' is also a config value (defined at line %d)", what,
                   clip(s, id->name), line_of(c->loc));
        return false;
    }
    return true;
}

/* GROUP[COUNT] { ... }. A group whose name is taken is still read (its weights are checked),
 * and remembered in bad_groups, so that a loop over it says nothing more. */
static void declare_group(Sema *s, const GroupDecl *gd)
{
    bool named = name_is_free(s, &gd->name, &s->weights, "group", true);
    Group *grp = arena_alloc(s->a, sizeof *grp);
    grp->name = gd->name.name;
    grp->loc = gd->name.loc;
    grp->count = 1;
    bool ok = positive_int(s, gd->count, "a group's count", &grp->count);
    if (ok && grp->count > INT32_MAX) { /* generated code counts blocks in an int */
        diag_error(s->diag, gd->count->loc, "a group's count must be at most %d, saw %" PRId64,
                   INT32_MAX, grp->count);
        grp->count = 1;
        ok = false;
    }
    Declared *d = arena_alloc(s->a, sizeof *d);
    d->group = grp;
    d->loc = gd->name.loc;
    strmap_init(&d->members, s->a);
    for (int i = 0; i < gd->weights.len; i++) {
        const WeightDecl *wd = gd->weights.items[i];
        if (!name_is_free(s, &wd->name, &d->members, "weight", false))
            continue;
        Declared *w = declare_weight(s, wd, grp);
        strmap_put(&d->members, w->weight->name, w);
        if (!w->bad)
            vec_push(s->a, &grp->weights, w->weight);
    }
    d->bad = !ok || !named;
    if (!named) {
        strmap_put(&s->bad_groups, grp->name, d);
        return;
    }
    if (ok)
        vec_push(s->a, &s->g->groups, grp);
    strmap_put(&s->weights, grp->name, d);
}

static void declare_weights(Sema *s)
{
    for (int i = 0; i < s->m->weights.len; i++) {
        const WeightItem *item = s->m->weights.items[i];
        if (item->group) {
            declare_group(s, item->group);
        } else if (name_is_free(s, &item->weight->name, &s->weights, "weight", true)) {
            Declared *d = declare_weight(s, item->weight, NULL);
            strmap_put(&s->weights, d->weight->name, d);
        }
    }
}

/* An input's shape: a dimension is a config value, a number, or a new symbol bound at run
 * time; the numeric ones hold at most MAX_ELEMENTS elements. */
static bool input_shape(Sema *s, const Param *p, Shape *shape)
{
    if (p->dims.len > MAX_DIMS) {
        diag_error(s->diag, p->name.loc, "too many dimensions (limit is %d)", MAX_DIMS);
        return false;
    }
    *shape = (Shape){.rank = p->dims.len};
    bool ok = true;
    for (int i = 0; i < p->dims.len; i++) {
        const Expr *e = p->dims.items[i];
        if (e->kind == EXPR_NAME && !strmap_get(&s->config.values, e->name.name)) {
            shape->dims[i] = (Dim){0, ir_symbol(s->g, e->name.name)};
            continue;
        }
        int64_t size = 1;
        ok &= positive_int(s, e, "an input's dimension", &size);
        shape->dims[i] = (Dim){size, -1};
    }
    int64_t n = numeric_elements(shape);
    if (ok && (n < 0 || n > MAX_ELEMENTS)) {
        char count[32];
        diag_error(s->diag, p->name.loc, "input '%s' would have %s elements (not counting its "
                   "symbolic dimensions); the limit is 2^40", clip(s, p->name.name),
                   count_str(n, count, sizeof count));
        ok = false;
    }
    return ok;
}

/* forward(tokens: i32[batch, seq], ...). An input that cannot be declared is poisoned: it is
 * still an input, and its uses say nothing more. */
static void declare_input(Sema *s, const Param *p)
{
    DType dtype = DT_F32;
    bool ok = true;
    if (!strcmp(p->type.name, "i32")) {
        dtype = DT_I32;
    } else if (strcmp(p->type.name, "f32")) {
        diag_error(s->diag, p->type.loc, "unknown type '%s' (expected f32 or i32)",
                   clip(s, p->type.name));
        ok = false;
    }
    const char *what = reserved_as(s, p->name.name);
    if (what) {
        diag_error(s->diag, p->name.loc, "input '%s' is already %s", clip(s, p->name.name), what);
        ok = false;
    }
    Shape shape;
    ok &= input_shape(s, p, &shape);
    if (!ok) {
        bind(s, p->name.name, NAME_INPUT, NULL, p->name.loc);
        return;
    }
    Value *v = ir_value_new(s->g, VAL_INPUT, dtype, shape);
    v->name = p->name.name;
    v->loc = p->name.loc;
    vec_push(s->a, &s->g->inputs, v);
    bind(s, p->name.name, NAME_INPUT, v, p->name.loc);
}

static void declare_outputs(Sema *s)
{
    StrMap seen;
    strmap_init(&seen, s->a);
    for (int i = 0; i < s->m->outputs.len; i++) {
        const Ident *o = s->m->outputs.items[i];
        if (i == MAX_ARGS)
            diag_error(s->diag, o->loc, "too many outputs (limit is %d)", MAX_ARGS);
        if (strmap_get(&seen, o->name))
            diag_error(s->diag, o->loc, "output '%s' is named twice", clip(s, o->name));
        strmap_put(&seen, o->name, (void *)o);
        vec_push(s->a, &s->g->output_names, o->name);
    }
}

/* The end of the text, for messages about something missing. */
static Loc end_of(const Module *m, const Source *src)
{
    (void)m;
    return (Loc){src, (uint32_t)src->size, (uint32_t)src->size};
}

static bool check_sections(Sema *s, const Source *src)
{
    const Module *m = s->m;
    if (!m->has_model) {
        diag_error(s->diag, (Loc){src, 0, 0}, "a model file starts with 'model NAME'");
        return false;
    }
    if (!m->has_forward) {
        if (s->diag->errors == 0)
            diag_error(s->diag, end_of(m, src), "'forward(...) -> (...) { ... }' expected at end "
                       "of file");
        return false;
    }
    if (m->params.len == 0)
        diag_error(s->diag, m->forward_loc, "forward needs at least one input");
    return true;
}

Graph *sema_lower(Arena *a, const Module *m, const Options *opt, Diag *diag)
{
    const Source *src = m->name.loc.src ? m->name.loc.src : NULL;
    Sema s = {.a = a, .diag = diag, .m = m};
    if (!m->has_model || !src) {
        if (diag->errors == 0)
            diag_error(diag, (Loc){0}, "the file does not start with 'model NAME'");
        return NULL;
    }
    s.g = ir_graph_new(a, m->name.name);
    s.g->src = src;
    s.g->name_loc = m->name.loc;
    strmap_init(&s.weights, a);
    strmap_init(&s.bad_groups, a);
    push_scope(&s);
    s.block = s.g->top;
    config_evaluate(a, m, opt, &s.config, diag);
    if (!check_sections(&s, src))
        return NULL;
    declare_weights(&s);
    for (int i = 0; i < m->params.len; i++)
        declare_input(&s, m->params.items[i]);
    declare_outputs(&s);
    lower_stmts(&s, &m->body, true);
    if (diag->errors == 0 && (!s.g->top->last || s.g->top->last->kind != OP_RETURN)) {
        const Ident *first = m->outputs.len ? m->outputs.items[0] : NULL;
        diag_error(diag, m->forward_loc, "forward never returns (expected 'return %s%s' at its "
                   "end)", first ? ast_clip(a, first->name) : "...",
                   m->outputs.len > 1 ? ", ..." : "");
    }
    if (diag->errors)
        return NULL;
    ir_remove_dead(s.g);
    return s.g;
}
