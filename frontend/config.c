/* config.c — the config section: compile-time numbers, evaluated in order, with -D overrides.
 *
 * A value is an integer (int64) or a float (double). Integer arithmetic is checked for
 * overflow, and `/` on two integers is exact division: a remainder is an error, since
 * `head_dim = hidden / heads` must not silently truncate. A float anywhere makes the result a
 * float. `-D NAME=VALUE` replaces the value of NAME; the names after it are computed from the
 * new value (that is why the section is evaluated here, after the options are known). A -D
 * keeps the value's type: the model's own config is evaluated first, silently, to learn it; an
 * integer given for a float is promoted, a float given for an integer is an error.
 */
#include "frontend.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_EXPR_DEPTH = 1000 };

double number_as_double(Number n)
{
    return n.is_int ? (double)n.i : n.f;
}

const char *number_str(Number n, char *buf, size_t size)
{
    if (n.is_int) {
        snprintf(buf, size, "%" PRId64, n.i);
        return buf;
    }
    double_str(n.f, buf, size);
    if (isfinite(n.f) && !strpbrk(buf, ".e"))
        snprintf(buf + strlen(buf), size - strlen(buf), ".0");
    return buf;
}

static Number integer(int64_t i)
{
    return (Number){.ok = true, .is_int = true, .i = i};
}

static Number real(double f)
{
    return (Number){.ok = true, .f = f};
}

static const Number BAD = {.ok = false};

Number number_fold(char op, Number a, Number b, Loc loc, Diag *diag)
{
    if (a.is_int && b.is_int) {
        int64_t r;
        switch (op) {
        case '+': if (__builtin_add_overflow(a.i, b.i, &r)) goto overflow; return integer(r);
        case '-': if (__builtin_sub_overflow(a.i, b.i, &r)) goto overflow; return integer(r);
        case '*': if (__builtin_mul_overflow(a.i, b.i, &r)) goto overflow; return integer(r);
        case '/':
        case '%':
            if (b.i == 0) {
                diag_error(diag, loc, "division by zero");
                return BAD;
            }
            if (a.i == INT64_MIN && b.i == -1)
                goto overflow;
            if (op == '%')
                return integer(a.i % b.i);
            if (a.i % b.i != 0) {
                diag_error(diag, loc, "integer division %" PRId64 " / %" PRId64 " leaves a "
                           "remainder of %" PRId64 " (write a float, e.g. %" PRId64 ".0, for a "
                           "fraction)", a.i, b.i, a.i % b.i, a.i);
                return BAD;
            }
            return integer(a.i / b.i);
        }
        unreachable();
    }
    double x = number_as_double(a), y = number_as_double(b);
    switch (op) {
    case '+': return real(x + y);
    case '-': return real(x - y);
    case '*': return real(x * y);
    case '/':
        if (y == 0) {
            diag_error(diag, loc, "division by zero");
            return BAD;
        }
        return real(x / y);
    case '%':
        diag_error(diag, loc, "'%%' needs two integers");
        return BAD;
    }
    unreachable();
overflow:
    diag_error(diag, loc, "integer overflow in '%c' (%" PRId64 " %c %" PRId64 ")", op, a.i, op,
               b.i);
    return BAD;
}

static Number eval(const Config *config, const Expr *e, Diag *diag, int depth)
{
    if (depth > MAX_EXPR_DEPTH) {
        diag_error(diag, e->loc, "expression too deeply nested (limit is %d)", MAX_EXPR_DEPTH);
        return BAD;
    }
    switch (e->kind) {
    case EXPR_INT: return integer(e->ival);
    case EXPR_FLOAT: return real(e->fval);
    case EXPR_NAME: {
        ConfigValue *v = strmap_get(&config->values, e->name.name);
        if (!v) {
            Arena *a = config->values.arena;
            Suggestion sg;
            ast_suggest_init(&sg, e->name.name);
            for (int i = 0; i < config->order.len; i++)
                ast_suggest(&sg, config->order.items[i]->name);
            diag_error(diag, e->loc, "unknown name '%s'%s (expected a number or a config value "
                       "defined above)", ast_clip(a, e->name.name), ast_suggestion(a, &sg));
            return BAD;
        }
        return v->value;
    }
    case EXPR_NEG: {
        Number n = eval(config, e->lhs, diag, depth + 1);
        if (!n.ok)
            return BAD;
        if (n.is_int && n.i == INT64_MIN)
            return number_fold('-', integer(0), n, e->loc, diag);
        return n.is_int ? integer(-n.i) : real(-n.f);
    }
    case EXPR_BINARY: {
        Number a = eval(config, e->lhs, diag, depth + 1);
        Number b = eval(config, e->rhs, diag, depth + 1);
        if (!a.ok || !b.ok)
            return BAD;
        return number_fold(e->op, a, b, e->loc, diag);
    }
    case EXPR_BOOL:
        diag_error(diag, e->loc, "expected a number, saw '%s'", e->bval ? "true" : "false");
        return BAD;
    case EXPR_MEMBER:
    case EXPR_CALL:
        diag_error(diag, e->loc, "expected a number: config expressions are built from numbers, "
                   "config values and + - * / %% ( )");
        return BAD;
    }
    unreachable();
}

Number config_eval_expr(const Config *config, const Expr *e, Diag *diag)
{
    return eval(config, e, diag, 0);
}

/* -D NAME=VALUE: VALUE is an integer or a float literal, optionally negative, with no spaces
 * (strtoll and strtod would skip leading ones only). */
static Number parse_define_value(const char *text)
{
    char *end;
    errno = 0;
    if (strpbrk(text, " \t\n\v\f\r"))
        return BAD;
    if (strpbrk(text, ".eE") == NULL) {
        long long i = strtoll(text, &end, 10);
        return *text && !*end && errno == 0 ? integer(i) : BAD;
    }
    double f = strtod(text, &end);
    if (!*text || *end || errno == ERANGE || !isfinite(f))
        return BAD;
    return real(f);
}

static const struct Define *find_define(const Options *opt, const char *name)
{
    const struct Define *found = NULL;
    for (int i = 0; i < opt->ndefines; i++)
        if (strcmp(opt->defines[i].name, name) == 0)
            found = &opt->defines[i]; /* the last -D of a name wins, as with cc */
    return found;
}

/* The location of the VALUE part of "-D NAME=VALUE" (its Source text is "NAME=VALUE"). */
static Loc define_value_loc(const struct Define *d)
{
    uint32_t start = (uint32_t)strlen(d->name) + 1;
    return (Loc){d->src, start, (uint32_t)d->src->size};
}

static void check_defines(Arena *a, const Module *m, const Options *opt, Diag *diag)
{
    for (int i = 0; i < opt->ndefines; i++) {
        const struct Define *d = &opt->defines[i];
        bool known = false;
        Suggestion sg;
        ast_suggest_init(&sg, d->name);
        for (int j = 0; j < m->config.len && !known; j++) {
            const char *name = ((ConfigItem *)m->config.items[j])->name.name;
            known = !strcmp(name, d->name);
            ast_suggest(&sg, name);
        }
        if (!known)
            diag_error(diag, (Loc){d->src, 0, (uint32_t)strlen(d->name)},
                       "-D %s: model '%s' has no config value '%s'%s", ast_clip(a, d->name),
                       m->name.name ? ast_clip(a, m->name.name) : "?", ast_clip(a, d->name),
                       strpbrk(d->name, " \t") ? " (no spaces around '=')"
                                                : ast_suggestion(a, &sg));
    }
}

/* The value of a -D, of the type the model gives NAME (`natural`, when it is known). */
static Number define_value(Arena *a, const struct Define *d, const ConfigValue *natural,
                           Diag *diag)
{
    const char *text = ast_clip(a, d->value), *name = ast_clip(a, d->name);
    Number v = parse_define_value(d->value);
    bool typed = natural && natural->value.ok;
    if (!v.ok) {
        diag_error(diag, define_value_loc(d), "-D %s=%s: expected an integer or a float%s",
                   name, text, strpbrk(d->value, " \t\n\v\f\r") ? " (without spaces)" : "");
    } else if (typed && natural->value.is_int && !v.is_int) {
        diag_error(diag, define_value_loc(d), "-D %s=%s: '%s' is an integer in the model", name,
                   text, name);
        return BAD;
    } else if (typed && !natural->value.is_int && v.is_int) {
        return real((double)v.i); /* -D eps=0 for eps = 1e-5: 0.0 */
    }
    return v;
}

/* Evaluates the section in order; with `opt`, its -D values replace the model's, checked
 * against the types in `natural` (the model's own values). */
static void evaluate(Arena *a, const Module *m, const Options *opt, const Config *natural,
                     Config *config, Diag *diag)
{
    strmap_init(&config->values, a);
    for (int i = 0; i < m->config.len; i++) {
        const ConfigItem *item = m->config.items[i];
        ConfigValue *prev = strmap_get(&config->values, item->name.name);
        if (prev) {
            int line, col;
            loc_line_col(prev->loc, &line, &col);
            diag_error(diag, item->name.loc, "config value '%s' is defined twice (first at line "
                       "%d)", ast_clip(a, item->name.name), line);
            continue;
        }
        ConfigValue *v = arena_alloc(a, sizeof *v);
        v->name = item->name.name;
        v->loc = item->name.loc;
        const struct Define *d = opt ? find_define(opt, v->name) : NULL;
        v->value = d ? define_value(a, d, strmap_get(&natural->values, v->name), diag)
                     : config_eval_expr(config, item->value, diag);
        strmap_put(&config->values, v->name, v);
        vec_push(a, &config->order, v);
    }
}

void config_evaluate(Arena *a, const Module *m, const Options *opt, Config *config, Diag *diag)
{
    check_defines(a, m, opt, diag);
    Config natural = {0};
    if (opt->ndefines) {
        Diag quiet; /* its errors are reported again, or made moot, by the real evaluation */
        diag_init(&quiet, NULL);
        evaluate(a, m, NULL, NULL, &natural, &quiet);
    }
    evaluate(a, m, opt, &natural, config, diag);
}
