/* shape.c — shapes, and the shape rule of every op (ops.def's shape_rule column).
 *
 * Dimensions are numbers or symbols; a symbol equals only itself, and broadcasting stretches
 * only a dimension that is the number 1 (NumPy's rule, with symbols never assumed to be 1).
 * A rule either fills the results' shapes and dtypes or explains, in `why`, what it expected
 * and what it saw; sema prints that at the call, the verifier re-checks it after every pass.
 */
#include "ir.h"

#include <inttypes.h>
#include <string.h>

bool dim_equal(Dim a, Dim b)
{
    return a.sym == b.sym && (a.sym >= 0 || a.size == b.size);
}

bool shape_equal(const Shape *a, const Shape *b)
{
    if (a->rank != b->rank)
        return false;
    for (int i = 0; i < a->rank; i++)
        if (!dim_equal(a->dims[i], b->dims[i]))
            return false;
    return true;
}

Shape shape_of(int rank, const int64_t *sizes)
{
    Shape s = {.rank = rank};
    for (int i = 0; i < rank; i++)
        s.dims[i] = (Dim){.size = sizes[i], .sym = -1};
    return s;
}

int64_t shape_elements(const Shape *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++) {
        if (s->dims[i].sym >= 0)
            return -1;
        n *= s->dims[i].size;
    }
    return n;
}

static bool is_number(Dim d, int64_t n)
{
    return d.sym < 0 && d.size == n;
}

bool shape_broadcast(const Shape *a, const Shape *b, Shape *out)
{
    const Shape *longer = a->rank >= b->rank ? a : b;
    Shape s = {.rank = longer->rank};
    for (int i = 1; i <= s.rank; i++) {
        Dim da = i <= a->rank ? a->dims[a->rank - i] : (Dim){1, -1};
        Dim db = i <= b->rank ? b->dims[b->rank - i] : (Dim){1, -1};
        Dim d;
        if (dim_equal(da, db) || is_number(db, 1))
            d = da;
        else if (is_number(da, 1))
            d = db;
        else
            return false;
        s.dims[s.rank - i] = d;
    }
    *out = s;
    return true;
}

const char *dtype_name(DType t)
{
    return t == DT_I32 ? "i32" : "f32";
}

static const char *dim_str(const Graph *g, Dim d, char *buf, size_t size)
{
    if (d.sym >= 0)
        return g->symbols.items[d.sym];
    snprintf(buf, size, "%" PRId64, d.size);
    return buf;
}

char *shape_str(const Graph *g, const Shape *s, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = 0;
    n += (size_t)snprintf(buf + n, size - n, "[");
    for (int i = 0; i < s->rank && n < size; i++) {
        char num[24];
        n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? ", " : "",
                              dim_str(g, s->dims[i], num, sizeof num));
    }
    if (n < size)
        snprintf(buf + n, size - n, "]");
    return buf;
}

/* ---- the rules --------------------------------------------------------------------------- */

typedef struct Check {
    const Graph *g;
    const Op *op;
    char *why;
    size_t why_size;
} Check;

static bool fail(Check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(Check *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->why, c->why_size, fmt, ap);
    va_end(ap);
    return false;
}

static const char *arg_shape(Check *c, int i, char *buf, size_t size)
{
    return shape_str(c->g, &c->op->args[i]->shape, buf, size);
}

static Dim last_dim(const Shape *s)
{
    return s->dims[s->rank - 1];
}

static const char *operator_name(OpKind k)
{
    switch (k) {
    case OP_ADD: return "+";
    case OP_SUB: return "-";
    case OP_MUL: return "*";
    case OP_DIV: return "/";
    default:     return op_info[k].name;
    }
}

static bool need_f32(Check *c, int i, const char *what)
{
    if (c->op->args[i]->dtype == DT_F32)
        return true;
    return fail(c, "%s of '%s' must be f32, not i32 (i32 values are ids: they feed embedding "
                   "and positions)",
                what, operator_name(c->op->kind));
}

static bool need_rank(Check *c, int i, int min_rank, const char *what)
{
    if (c->op->args[i]->shape.rank >= min_rank)
        return true;
    char s[128];
    return fail(c, "%s of '%s' must have at least %d dimension%s, saw %s", what,
                op_info[c->op->kind].name, min_rank, min_rank == 1 ? "" : "s",
                arg_shape(c, i, s, sizeof s));
}

static bool need_exact_rank(Check *c, int i, int rank, const char *what)
{
    if (c->op->args[i]->shape.rank == rank)
        return true;
    char s[128];
    return fail(c, "%s of '%s' must have %d dimension%s, saw %s", what, op_info[c->op->kind].name,
                rank, rank == 1 ? "" : "s", arg_shape(c, i, s, sizeof s));
}

static bool rule_unary(Check *c, Shape *out, DType *dt)
{
    if (!need_f32(c, 0, "the argument"))
        return false;
    out[0] = c->op->args[0]->shape;
    *dt = DT_F32;
    return true;
}

static bool rule_broadcast(Check *c, Shape *out, DType *dt)
{
    if (!need_f32(c, 0, "the left operand") || !need_f32(c, 1, "the right operand"))
        return false;
    if (!shape_broadcast(&c->op->args[0]->shape, &c->op->args[1]->shape, out)) {
        char a[128], b[128];
        return fail(c, "shape mismatch in '%s': %s vs %s", operator_name(c->op->kind),
                    arg_shape(c, 0, a, sizeof a), arg_shape(c, 1, b, sizeof b));
    }
    *dt = DT_F32;
    return true;
}

/* linear: x [..., in] @ w[out, in]^T (+ b[out]); matmul: x [..., in] @ w[in, out]. */
static bool rule_product(Check *c, Shape *out, DType *dt, bool transposed)
{
    const char *form = transposed ? "[out, in]" : "[in, out]";
    const char *name = op_info[c->op->kind].name;
    if (!need_f32(c, 0, "the input") || !need_f32(c, 1, "the weight") ||
        !need_rank(c, 0, 1, "the input") || !need_exact_rank(c, 1, 2, "the weight"))
        return false;
    const Shape *x = &c->op->args[0]->shape, *w = &c->op->args[1]->shape;
    Dim in = transposed ? w->dims[1] : w->dims[0];
    Dim outd = transposed ? w->dims[0] : w->dims[1];
    if (!dim_equal(last_dim(x), in)) {
        char a[128], b[128];
        return fail(c, "shape mismatch in '%s': x %s has %s features, but the weight %s "
                       "(stored %s) takes %s",
                    name, arg_shape(c, 0, a, sizeof a),
                    dim_str(c->g, last_dim(x), (char[24]){0}, 24), arg_shape(c, 1, b, sizeof b),
                    form, dim_str(c->g, in, (char[24]){0}, 24));
    }
    if (c->op->nargs == 3) {
        const Shape *b = &c->op->args[2]->shape;
        if (!need_f32(c, 2, "the bias"))
            return false;
        if (b->rank != 1 || !dim_equal(b->dims[0], outd)) {
            char bs[128];
            return fail(c, "the bias of '%s' must be [%s] (the weight's out), saw %s", name,
                        dim_str(c->g, outd, (char[24]){0}, 24), arg_shape(c, 2, bs, sizeof bs));
        }
    }
    out[0] = *x;
    out[0].dims[x->rank - 1] = outd;
    *dt = DT_F32;
    return true;
}

static bool rule_embedding(Check *c, Shape *out, DType *dt)
{
    if (c->op->args[0]->dtype != DT_I32) {
        char a[128];
        return fail(c, "the ids of 'embedding' must be i32, saw f32 %s",
                    arg_shape(c, 0, a, sizeof a));
    }
    if (!need_f32(c, 1, "the table") || !need_exact_rank(c, 1, 2, "the table"))
        return false;
    const Shape *ids = &c->op->args[0]->shape;
    if (ids->rank + 1 > MAX_DIMS)
        return fail(c, "too many dimensions (limit is %d)", MAX_DIMS);
    out[0] = *ids;
    out[0].dims[out[0].rank++] = c->op->args[1]->shape.dims[1];
    *dt = DT_F32;
    return true;
}

static bool rule_positions(Check *c, Shape *out, DType *dt)
{
    if (!need_rank(c, 0, 1, "the argument"))
        return false;
    out[0] = c->op->args[0]->shape;
    *dt = DT_I32;
    return true;
}

/* rmsnorm(x, w, eps), layernorm(x, w, b, eps): w and b are [d], x is [..., d]. */
static bool rule_norm(Check *c, Shape *out, DType *dt)
{
    if (!need_f32(c, 0, "the input") || !need_rank(c, 0, 1, "the input"))
        return false;
    Dim d = last_dim(&c->op->args[0]->shape);
    for (int i = 1; i < c->op->nargs; i++) {
        const Shape *w = &c->op->args[i]->shape;
        if (!need_f32(c, i, i == 1 ? "the weight" : "the bias"))
            return false;
        if (w->rank != 1 || !dim_equal(w->dims[0], d)) {
            char a[128], b[128];
            return fail(c, "the %s of '%s' must be [%s] to match the input %s, saw %s",
                        i == 1 ? "weight" : "bias", op_info[c->op->kind].name,
                        dim_str(c->g, d, (char[24]){0}, 24), arg_shape(c, 0, a, sizeof a),
                        arg_shape(c, i, b, sizeof b));
        }
    }
    out[0] = c->op->args[0]->shape;
    *dt = DT_F32;
    return true;
}

/* q [b, s, H*d], k and v [b, s, K*d], mask [b, s]; H % K == 0. */
static bool rule_attention(Check *c, Shape *out, DType *dt)
{
    const Attrs *a = &c->op->attrs;
    static const char *const names[] = {"q", "k", "v", "the mask"};
    for (int i = 0; i < c->op->nargs; i++)
        if (!need_f32(c, i, names[i]) || !need_exact_rank(c, i, i < 3 ? 3 : 2, names[i]))
            return false;
    const Shape *q = &c->op->args[0]->shape, *k = &c->op->args[1]->shape;
    const Shape *v = &c->op->args[2]->shape;
    char s1[128], s2[128];
    if (!shape_equal(k, v))
        return fail(c, "k and v of 'attention' must have the same shape, saw %s and %s",
                    arg_shape(c, 1, s1, sizeof s1), arg_shape(c, 2, s2, sizeof s2));
    if (!dim_equal(q->dims[0], k->dims[0]) || !dim_equal(q->dims[1], k->dims[1]))
        return fail(c, "q and k of 'attention' must agree on [batch, seq], saw %s and %s",
                    arg_shape(c, 0, s1, sizeof s1), arg_shape(c, 1, s2, sizeof s2));
    if (a->heads < 1 || a->kv_heads < 1 || a->heads % a->kv_heads != 0)
        return fail(c, "heads (%" PRId64 ") must be a multiple of kv_heads (%" PRId64 ")",
                    a->heads, a->kv_heads);
    Dim qd = last_dim(q), kd = last_dim(k);
    if (qd.sym >= 0 || kd.sym >= 0)
        return fail(c, "the last dimensions of q and k must be numbers (heads * head_dim)");
    if (qd.size % a->heads != 0)
        return fail(c, "q's last dimension %" PRId64 " is not a multiple of heads=%" PRId64,
                    qd.size, a->heads);
    int64_t head_dim = qd.size / a->heads;
    if (kd.size != a->kv_heads * head_dim)
        return fail(c, "k's last dimension must be kv_heads * head_dim = %" PRId64 " * %" PRId64
                       " = %" PRId64 ", saw %" PRId64,
                    a->kv_heads, head_dim, a->kv_heads * head_dim, kd.size);
    if (c->op->nargs == 4) {
        const Shape *m = &c->op->args[3]->shape;
        if (!dim_equal(m->dims[0], k->dims[0]) || !dim_equal(m->dims[1], k->dims[1]))
            return fail(c, "the mask of 'attention' must be [batch, seq] like k's first two "
                           "dimensions, saw %s",
                        arg_shape(c, 3, s1, sizeof s1));
    }
    out[0] = *q;
    *dt = DT_F32;
    return true;
}

static bool rule_rope(Check *c, Shape *out, DType *dt)
{
    const Attrs *a = &c->op->attrs;
    if (!need_f32(c, 0, "the input") || !need_exact_rank(c, 0, 3, "the input"))
        return false;
    Dim d = last_dim(&c->op->args[0]->shape);
    if (d.sym >= 0)
        return fail(c, "the last dimension of 'rope' input must be a number (heads * head_dim)");
    if (a->heads < 1 || d.size % a->heads != 0)
        return fail(c, "the last dimension %" PRId64 " of 'rope' input is not a multiple of "
                       "heads=%" PRId64,
                    d.size, a->heads);
    int64_t head_dim = d.size / a->heads;
    if (!a->rotary_dim && head_dim % 2 != 0)
        return fail(c, "rope needs an even head_dim, saw %" PRId64 " (%" PRId64 " / heads=%" PRId64
                       ")",
                    head_dim, d.size, a->heads);
    int64_t rotary = a->rotary_dim ? a->rotary_dim : head_dim;
    if (rotary < 2 || rotary > head_dim || rotary % 2 != 0)
        return fail(c, "rotary_dim must be even and from 2 to head_dim (%" PRId64 "), saw %" PRId64,
                    head_dim, rotary);
    out[0] = c->op->args[0]->shape;
    *dt = DT_F32;
    return true;
}

static bool rule_split(Check *c, Shape *out, DType *dt)
{
    const Attrs *a = &c->op->attrs;
    if (!need_f32(c, 0, "the input") || !need_rank(c, 0, 1, "the input"))
        return false;
    Dim d = last_dim(&c->op->args[0]->shape);
    int64_t total = 0;
    for (int i = 0; i < a->nsizes; i++) {
        if (a->sizes[i] < 1)
            return fail(c, "split sizes must be positive, saw %" PRId64, a->sizes[i]);
        total += a->sizes[i];
    }
    if (d.sym >= 0)
        return fail(c, "'split' needs a last dimension that is a number, saw %s",
                    arg_shape(c, 0, (char[128]){0}, 128));
    if (total != d.size)
        return fail(c, "split sizes add up to %" PRId64 ", but the last dimension is %" PRId64,
                    total, d.size);
    for (int i = 0; i < a->nsizes; i++) {
        out[i] = c->op->args[0]->shape;
        out[i].dims[out[i].rank - 1] = (Dim){a->sizes[i], -1};
    }
    *dt = DT_F32;
    return true;
}

static bool rule_concat(Check *c, Shape *out, DType *dt)
{
    const Shape *first = &c->op->args[0]->shape;
    int64_t total = 0;
    for (int i = 0; i < c->op->nargs; i++) {
        const Shape *s = &c->op->args[i]->shape;
        if (!need_f32(c, i, "every argument") || !need_rank(c, i, 1, "every argument"))
            return false;
        bool same = s->rank == first->rank;
        for (int d = 0; same && d < s->rank - 1; d++)
            same = dim_equal(s->dims[d], first->dims[d]);
        char a[128], b[128];
        if (!same)
            return fail(c, "'concat' arguments must agree on all but the last dimension, saw %s "
                           "and %s",
                        arg_shape(c, 0, a, sizeof a), arg_shape(c, i, b, sizeof b));
        if (last_dim(s).sym >= 0)
            return fail(c, "'concat' needs last dimensions that are numbers, saw %s",
                        arg_shape(c, i, a, sizeof a));
        total += last_dim(s).size;
    }
    out[0] = *first;
    out[0].dims[first->rank - 1] = (Dim){total, -1};
    *dt = DT_F32;
    return true;
}

/* mean/sum(x, dim[, mask]): the mask is [d0, ..., d_dim] of x, 1 keep / 0 drop. */
static bool rule_reduce(Check *c, Shape *out, DType *dt)
{
    const Shape *x = &c->op->args[0]->shape;
    int dim = c->op->attrs.dim;
    if (!need_f32(c, 0, "the input"))
        return false;
    if (dim < 0 || dim >= x->rank) {
        char s[128];
        return fail(c, "dimension %d is out of range for %s", dim, arg_shape(c, 0, s, sizeof s));
    }
    if (c->op->nargs == 2) {
        const Shape *m = &c->op->args[1]->shape;
        bool ok = need_f32(c, 1, "the mask") && m->rank == dim + 1;
        for (int i = 0; ok && i <= dim; i++)
            ok = dim_equal(m->dims[i], x->dims[i]);
        if (!ok) {
            Shape want = *x;
            want.rank = dim + 1;
            char s1[128], s2[128];
            return fail(c, "the mask of '%s' over dimension %d must be %s, saw %s",
                        op_info[c->op->kind].name, dim, shape_str(c->g, &want, s1, sizeof s1),
                        arg_shape(c, 1, s2, sizeof s2));
        }
    }
    out[0] = *x;
    memmove(&out[0].dims[dim], &out[0].dims[dim + 1], sizeof(Dim) * (size_t)(x->rank - dim - 1));
    out[0].rank--;
    *dt = DT_F32;
    return true;
}

bool shape_infer(const Graph *g, const Op *op, Shape *out, DType *dtype, char *why,
                 size_t why_size)
{
    Check c = {g, op, why, why_size};
    switch (op_info[op->kind].shape_rule) {
    case SHAPE_UNARY:     return rule_unary(&c, out, dtype);
    case SHAPE_ROPE:      return rule_rope(&c, out, dtype);
    case SHAPE_BROADCAST: return rule_broadcast(&c, out, dtype);
    case SHAPE_LINEAR:    return rule_product(&c, out, dtype, true);
    case SHAPE_MATMUL:    return rule_product(&c, out, dtype, false);
    case SHAPE_EMBEDDING: return rule_embedding(&c, out, dtype);
    case SHAPE_POSITIONS: return rule_positions(&c, out, dtype);
    case SHAPE_NORM:      return rule_norm(&c, out, dtype);
    case SHAPE_ATTENTION: return rule_attention(&c, out, dtype);
    case SHAPE_SPLIT:     return rule_split(&c, out, dtype);
    case SHAPE_CONCAT:    return rule_concat(&c, out, dtype);
    case SHAPE_REDUCE:    return rule_reduce(&c, out, dtype);
    case SHAPE_NONE:      return true;
    }
    unreachable();
}
