/* kernel_build.c — building kernels in the loop-level form (kernel.h). Nodes live in the arena. */
#include "kernel.h"

#include <string.h>

Kernel *kernel_new(Arena *a, const char *name, const char *comment)
{
    Kernel *k = arena_alloc(a, sizeof *k);
    k->arena = a;
    k->name = name;
    k->comment = comment;
    k->tails[0] = &k->body;
    return k;
}

static int add_param(Kernel *k, const char *name, KType type, bool buffer, bool written)
{
    if (k->nparams == KERNEL_MAX_PARAMS)
        internal_error("kernel %s: too many parameters", k->name);
    k->params[k->nparams] = (KParam){name, type, buffer, written, false};
    return k->nparams++;
}

int kernel_buffer(Kernel *k, const char *name, KType type, bool written)
{
    return add_param(k, name, type, true, written);
}

int kernel_scalar(Kernel *k, const char *name, KType type)
{
    return add_param(k, name, type, false, false);
}

int kernel_var(Kernel *k, const char *name, KType type)
{
    if (k->nvars == KERNEL_MAX_VARS)
        internal_error("kernel %s: too many variables", k->name);
    k->vars[k->nvars] = name;
    k->var_types[k->nvars] = type;
    return k->nvars++;
}

static KExpr *expr(Kernel *k, KExprKind kind, KType type)
{
    KExpr *e = arena_alloc(k->arena, sizeof *e);
    e->kind = kind;
    e->type = type;
    return e;
}

KExpr *kx_int(Kernel *k, int64_t v)
{
    KExpr *e = expr(k, KX_INT, KT_INT);
    e->i = v;
    return e;
}

KExpr *kx_float(Kernel *k, double v)
{
    KExpr *e = expr(k, KX_FLOAT, KT_F32);
    e->f = v;
    return e;
}

KExpr *kx_param(Kernel *k, int param)
{
    KExpr *e = expr(k, KX_PARAM, k->params[param].type);
    e->index = param;
    return e;
}

KExpr *kx_var(Kernel *k, int var)
{
    KExpr *e = expr(k, KX_VAR, k->var_types[var]);
    e->index = var;
    return e;
}

KExpr *kx_load(Kernel *k, int buffer, KExpr *index)
{
    KExpr *e = expr(k, KX_LOAD, k->params[buffer].type);
    e->index = buffer;
    e->a = index;
    return e;
}

/* Math is in the argument's precision: double for double, f32 otherwise. */
KExpr *kx_call(Kernel *k, KFunc f, KExpr *a)
{
    KExpr *e = expr(k, KX_CALL, a->type == KT_F64 ? KT_F64 : KT_F32);
    e->op = f;
    e->a = a;
    return e;
}

KExpr *kx_call2(Kernel *k, KFunc f, KExpr *a, KExpr *b)
{
    KExpr *e = kx_call(k, f, a);
    e->b = b;
    return e;
}

KExpr *kx_bin(Kernel *k, KBinary op, KExpr *a, KExpr *b)
{
    bool compare = op == KB_LT || op == KB_LE || op == KB_EQ || op == KB_AND;
    KType type = compare ? KT_INT : a->type == KT_F32 || b->type == KT_F32 ? KT_F32 : a->type;
    KExpr *e = expr(k, KX_BINARY, type);
    e->op = op;
    e->a = a;
    e->b = b;
    return e;
}

KExpr *kx_select(Kernel *k, KExpr *cond, KExpr *a, KExpr *b)
{
    KExpr *e = expr(k, KX_SELECT, a->type);
    e->a = cond;
    e->b = a;
    e->c = b;
    return e;
}

KExpr *kx_cast(Kernel *k, KType type, KExpr *a)
{
    KExpr *e = expr(k, KX_CAST, type);
    e->a = a;
    return e;
}

static KStmt *append(Kernel *k, KStmtKind kind)
{
    KStmt *s = arena_alloc(k->arena, sizeof *s);
    s->kind = kind;
    KStmt **tail = k->tails[k->depth];
    *tail = s;
    k->tails[k->depth] = &s->next;
    return s;
}

static void open_block(Kernel *k, KStmt **head)
{
    if (k->depth + 1 == (int)(sizeof k->tails / sizeof k->tails[0]))
        internal_error("kernel %s: loops nested too deeply", k->name);
    k->tails[++k->depth] = head;
}

void ks_for(Kernel *k, int var, KExpr *lo, KExpr *hi)
{
    KStmt *s = append(k, KS_FOR);
    s->var = var;
    s->lo = lo;
    s->hi = hi;
    open_block(k, &s->body);
    k->open_if[k->depth] = NULL;
}

void ks_if(Kernel *k, KExpr *cond)
{
    KStmt *s = append(k, KS_IF);
    s->value = cond;
    open_block(k, &s->body);
    k->open_if[k->depth] = s;
}

void ks_else(Kernel *k)
{
    KStmt *s = k->open_if[k->depth];
    if (!s)
        internal_error("kernel %s: else without if", k->name);
    k->tails[k->depth] = &s->orelse;
}

void ks_end(Kernel *k)
{
    if (k->depth == 0)
        internal_error("kernel %s: end without a loop or if", k->name);
    k->depth--;
}

void ks_let(Kernel *k, int var, KExpr *value)
{
    KStmt *s = append(k, KS_LET);
    s->var = var;
    s->value = value;
}

void ks_assign(Kernel *k, int var, KExpr *value)
{
    KStmt *s = append(k, KS_ASSIGN);
    s->var = var;
    s->value = value;
}

void ks_reduce(Kernel *k, int var, KReduce op, KExpr *value)
{
    KStmt *s = append(k, KS_REDUCE);
    s->var = var;
    s->reduce = op;
    s->value = value;
}

void ks_store(Kernel *k, int buffer, KExpr *index, KExpr *value)
{
    KStmt *s = append(k, KS_STORE);
    s->buffer = buffer;
    s->index = index;
    s->value = value;
}

/* ---- equality: the same kernel built twice is one kernel ----------------------------------- */

static bool expr_equal(const KExpr *a, const KExpr *b)
{
    if (!a || !b)
        return a == b;
    return a->kind == b->kind && a->type == b->type && a->i == b->i &&
           (a->f == b->f || (a->f != a->f && b->f != b->f)) && a->index == b->index &&
           a->op == b->op && expr_equal(a->a, b->a) && expr_equal(a->b, b->b) &&
           expr_equal(a->c, b->c);
}

static bool stmts_equal(const KStmt *a, const KStmt *b)
{
    for (; a && b; a = a->next, b = b->next) {
        if (a->kind != b->kind || a->var != b->var || a->buffer != b->buffer ||
            a->reduce != b->reduce ||
            !expr_equal(a->lo, b->lo) || !expr_equal(a->hi, b->hi) ||
            !expr_equal(a->index, b->index) || !expr_equal(a->value, b->value) ||
            !stmts_equal(a->body, b->body) || !stmts_equal(a->orelse, b->orelse))
            return false;
    }
    return !a && !b;
}

static bool same_text(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

bool kernel_equal(const Kernel *a, const Kernel *b)
{
    if (a->nparams != b->nparams || a->nvars != b->nvars || a->serial_rows != b->serial_rows ||
        !same_text(a->comment, b->comment))
        return false;
    for (int i = 0; i < a->nparams; i++) {
        const KParam *p = &a->params[i], *q = &b->params[i];
        if (!same_text(p->name, q->name) || p->type != q->type || p->buffer != q->buffer ||
            p->written != q->written)
            return false;
    }
    for (int i = 0; i < a->nvars; i++)
        if (!same_text(a->vars[i], b->vars[i]) || a->var_types[i] != b->var_types[i])
            return false;
    return stmts_equal(a->body, b->body);
}
