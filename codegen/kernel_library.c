/* kernel_library.c — the kernels of the ops between GEMMs and collectives, in the loop-level form.
 *
 * Each builder describes one op's computation over its local data, with sizes as parameters,
 * so one kernel serves every op of its kind and shape pattern (the program prints each distinct
 * kernel once). Names of parameters are the ones the C backend prints.
 */
#include "codegen.h"
#include "kernel.h"

/* ---- elementwise ---------------------------------------------------------------------------- */

/* The function an elementwise op applies, on loaded operands. */
static KExpr *apply(Kernel *k, OpKind op, KExpr *x, KExpr *y)
{
    switch (op) {
    case OP_ADD: return kx_add(k, x, y);
    case OP_SUB: return kx_sub(k, x, y);
    case OP_MUL: return kx_mul(k, x, y);
    case OP_DIV: return kx_div(k, x, y);
    case OP_NEG: return kx_sub(k, kx_float(k, 0), x);
    case OP_EXP: return kx_call(k, KF_EXP, x);
    case OP_TANH: return kx_call(k, KF_TANH, x);
    case OP_SQRT: return kx_call(k, KF_SQRT, x);
    case OP_RSQRT: return kx_call(k, KF_RSQRT, x);
    case OP_RELU: return kx_call2(k, KF_MAX, x, kx_float(k, 0));
    case OP_SIGMOID:
        return kx_div(k, kx_float(k, 1), kx_add(k, kx_float(k, 1), kx_call(k, KF_EXP, kx_sub(k, kx_float(k, 0), x))));
    case OP_SILU: /* x * sigmoid(x) */
        return kx_div(k, x, kx_add(k, kx_float(k, 1), kx_call(k, KF_EXP, kx_sub(k, kx_float(k, 0), x))));
    case OP_GELU: /* 0.5 x (1 + erf(x / sqrt 2)) */
        return kx_mul(k, kx_mul(k, kx_float(k, 0.5), x),
                      kx_add(k, kx_float(k, 1), kx_call(k, KF_ERF, kx_mul(k, x, kx_float(k, 0.7071067811865476)))));
    case OP_GELU_TANH: { /* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
        KExpr *cube = kx_mul(k, kx_mul(k, x, x), x);
        KExpr *inner = kx_mul(k, kx_float(k, 0.7978845608028654),
                              kx_add(k, x, kx_mul(k, kx_float(k, 0.044715), cube)));
        return kx_mul(k, kx_mul(k, kx_float(k, 0.5), x),
                      kx_add(k, kx_float(k, 1), kx_call(k, KF_TANH, inner)));
    }
    default: unreachable();
    }
}

static KExpr *leaf_value(Kernel *k, const ElementArg *a, int r, int c)
{
    switch (a->kind) {
    case ARG_ROWS:
        return kx_load(k, a->param, kx_add(k, kx_mul(k, kx_var(k, r), kx_param(k, a->ld_param)), kx_var(k, c)));
    case ARG_VECTOR: return kx_load(k, a->param, kx_var(k, c));
    case ARG_PER_ROW: return kx_load(k, a->param, kx_var(k, r));
    case ARG_SCALAR: return kx_param(k, a->param);
    }
    unreachable();
}

static KExpr *tree_value(Kernel *k, const ElementNode *n, const ElementArg *leaves, int r, int c)
{
    if (n->leaf >= 0)
        return leaf_value(k, &leaves[n->leaf], r, c);
    KExpr *x = tree_value(k, n->args[0], leaves, r, c);
    KExpr *y = n->nargs > 1 ? tree_value(k, n->args[1], leaves, r, c) : NULL;
    return apply(k, n->op, x, y);
}

static void describe(Arena *a, const ElementNode *n, char **text)
{
    if (n->leaf >= 0) {
        *text = arena_printf(a, "%sin%d", *text, n->leaf);
        return;
    }
    *text = arena_printf(a, "%s%s(", *text, op_info[n->op].name);
    for (int i = 0; i < n->nargs; i++) {
        if (i)
            *text = arena_printf(a, "%s, ", *text);
        describe(a, n->args[i], text);
    }
    *text = arena_printf(a, "%s)", *text);
}

Kernel *kernel_elementwise(Arena *a, const char *name, const ElementNode *tree,
                           ElementArg *leaves, int nleaves)
{
    char *what = arena_strdup(a, "");
    describe(a, tree, &what);
    Kernel *k = kernel_new(a, name, arena_printf(a, "out = %s, elementwise over [rows, cols]", what));
    int out = kernel_buffer(k, "out", KT_F32, true), ld_out = kernel_scalar(k, "ld_out", KT_INT);
    for (int i = 0; i < nleaves; i++) {
        ElementArg *e = &leaves[i];
        const char *name_i = arena_printf(a, "in%d", i);
        e->param = e->kind == ARG_SCALAR ? kernel_scalar(k, name_i, KT_F32)
                                         : kernel_buffer(k, name_i, KT_F32, false);
        if (e->kind == ARG_ROWS)
            e->ld_param = kernel_scalar(k, arena_printf(a, "ld_in%d", i), KT_INT);
    }
    int rows = kernel_scalar(k, "rows", KT_INT), cols = kernel_scalar(k, "cols", KT_INT);
    int r = kernel_var(k, "r", KT_INT), c = kernel_var(k, "c", KT_INT);
    ks_for(k, r, kx_int(k, 0), kx_param(k, rows));
    ks_for(k, c, kx_int(k, 0), kx_param(k, cols));
    ks_store(k, out, kx_add(k, kx_mul(k, kx_var(k, r), kx_param(k, ld_out)), kx_var(k, c)),
             tree_value(k, tree, leaves, r, c));
    ks_end(k);
    ks_end(k);
    return k;
}

/* ---- normalisations over rows ------------------------------------------------------------ */
/* Each reads rows of x (stride ld_x) and writes rows of out (stride ld_out): either may be a
 * view into a wider buffer, and out may be x. */

typedef struct RowKernel {
    Kernel *k;
    int out, ld_out, x, ld_x, rows, dim, r, c, in_row, out_row;
} RowKernel;

static RowKernel row_kernel(Arena *a, const char *name, const char *comment)
{
    RowKernel rk = {.k = kernel_new(a, name, comment)};
    Kernel *k = rk.k;
    rk.out = kernel_buffer(k, "out", KT_F32, true);
    rk.ld_out = kernel_scalar(k, "ld_out", KT_INT);
    rk.x = kernel_buffer(k, "x", KT_F32, false);
    rk.ld_x = kernel_scalar(k, "ld_x", KT_INT);
    rk.rows = kernel_scalar(k, "rows", KT_INT);
    rk.dim = kernel_scalar(k, "dim", KT_INT);
    rk.r = kernel_var(k, "r", KT_INT);
    rk.c = kernel_var(k, "c", KT_INT);
    rk.in_row = kernel_var(k, "in", KT_INT);
    rk.out_row = kernel_var(k, "at", KT_INT);
    return rk;
}

/* for r < rows: in = r * ld_x; at = r * ld_out; ... (the caller closes the loop) */
static void open_rows(RowKernel *rk)
{
    Kernel *k = rk->k;
    ks_for(k, rk->r, kx_int(k, 0), kx_param(k, rk->rows));
    ks_let(k, rk->in_row, kx_mul(k, kx_var(k, rk->r), kx_param(k, rk->ld_x)));
    ks_let(k, rk->out_row, kx_mul(k, kx_var(k, rk->r), kx_param(k, rk->ld_out)));
}

static KExpr *x_at(RowKernel *rk)
{
    return kx_load(rk->k, rk->x, kx_add(rk->k, kx_var(rk->k, rk->in_row), kx_var(rk->k, rk->c)));
}

static KExpr *out_index(RowKernel *rk)
{
    return kx_add(rk->k, kx_var(rk->k, rk->out_row), kx_var(rk->k, rk->c));
}

/* sum over c of f(x[in + c]) into var `acc` */
static void sum_row(RowKernel *rk, int acc, KExpr *(*term)(RowKernel *, KExpr *), KExpr *extra)
{
    Kernel *k = rk->k;
    ks_let(k, acc, kx_float(k, 0));
    ks_for(k, rk->c, kx_int(k, 0), kx_param(k, rk->dim));
    ks_reduce(k, acc, KR_SUM, term(rk, extra));
    ks_end(k);
}

static KExpr *square(RowKernel *rk, KExpr *unused)
{
    (void)unused;
    return kx_mul(rk->k, x_at(rk), x_at(rk));
}

static KExpr *value(RowKernel *rk, KExpr *unused)
{
    (void)unused;
    return x_at(rk);
}

static KExpr *centred_square(RowKernel *rk, KExpr *mean)
{
    KExpr *d = kx_sub(rk->k, x_at(rk), mean);
    return kx_mul(rk->k, d, kx_sub(rk->k, x_at(rk), mean));
}

/* rmsnorm: out = x * rsqrt(mean(x^2) + eps) * w, row by row. */
Kernel *kernel_rmsnorm(Arena *a)
{
    RowKernel rk = row_kernel(a, "rmsnorm", "out = x * rsqrt(mean(x^2) + eps) * w over each row");
    Kernel *k = rk.k;
    int w = kernel_buffer(k, "w", KT_F32, false), eps = kernel_scalar(k, "eps", KT_F32);
    int ss = kernel_var(k, "sum", KT_F32), scale = kernel_var(k, "scale", KT_F32);
    open_rows(&rk);
    sum_row(&rk, ss, square, NULL);
    ks_let(k, scale, kx_call(k, KF_RSQRT, kx_add(k, kx_div(k, kx_var(k, ss), kx_cast(k, KT_F32, kx_param(k, rk.dim))), kx_param(k, eps))));
    ks_for(k, rk.c, kx_int(k, 0), kx_param(k, rk.dim));
    ks_store(k, rk.out, out_index(&rk), kx_mul(k, kx_mul(k, x_at(&rk), kx_var(k, scale)), kx_load(k, w, kx_var(k, rk.c))));
    ks_end(k);
    ks_end(k);
    return k;
}

/* layernorm: (x - mean) / sqrt(var + eps) * w + b, row by row (biased variance, as PyTorch). */
Kernel *kernel_layernorm(Arena *a)
{
    RowKernel rk = row_kernel(a, "layernorm", "out = (x - mean) * rsqrt(var + eps) * w + b over each row");
    Kernel *k = rk.k;
    int w = kernel_buffer(k, "w", KT_F32, false), b = kernel_buffer(k, "b", KT_F32, false);
    int eps = kernel_scalar(k, "eps", KT_F32);
    int sum = kernel_var(k, "sum", KT_F32), mean = kernel_var(k, "mean", KT_F32);
    int var = kernel_var(k, "var", KT_F32), scale = kernel_var(k, "scale", KT_F32);
    KExpr *n = kx_cast(k, KT_F32, kx_param(k, rk.dim));
    open_rows(&rk);
    sum_row(&rk, sum, value, NULL);
    ks_let(k, mean, kx_div(k, kx_var(k, sum), n));
    sum_row(&rk, var, centred_square, kx_var(k, mean));
    ks_let(k, scale, kx_call(k, KF_RSQRT, kx_add(k, kx_div(k, kx_var(k, var), n), kx_param(k, eps))));
    ks_for(k, rk.c, kx_int(k, 0), kx_param(k, rk.dim));
    KExpr *norm = kx_mul(k, kx_sub(k, x_at(&rk), kx_var(k, mean)), kx_var(k, scale));
    ks_store(k, rk.out, out_index(&rk), kx_add(k, kx_mul(k, norm, kx_load(k, w, kx_var(k, rk.c))), kx_load(k, b, kx_var(k, rk.c))));
    ks_end(k);
    ks_end(k);
    return k;
}

/* softmax over each row, max-subtracted. */
Kernel *kernel_softmax(Arena *a)
{
    RowKernel rk = row_kernel(a, "softmax_rows", "out = softmax(x) over each row");
    Kernel *k = rk.k;
    int top = kernel_var(k, "top", KT_F32), sum = kernel_var(k, "sum", KT_F32);
    int e = kernel_var(k, "e", KT_F32);
    open_rows(&rk);
    ks_let(k, top, kx_float(k, -3.4028234663852886e38));
    ks_for(k, rk.c, kx_int(k, 0), kx_param(k, rk.dim));
    ks_reduce(k, top, KR_MAX, x_at(&rk));
    ks_end(k);
    ks_let(k, sum, kx_float(k, 0));
    ks_for(k, rk.c, kx_int(k, 0), kx_param(k, rk.dim));
    ks_let(k, e, kx_call(k, KF_EXP, kx_sub(k, x_at(&rk), kx_var(k, top))));
    ks_store(k, rk.out, out_index(&rk), kx_var(k, e));
    ks_reduce(k, sum, KR_SUM, kx_var(k, e));
    ks_end(k);
    ks_for(k, rk.c, kx_int(k, 0), kx_param(k, rk.dim));
    ks_store(k, rk.out, out_index(&rk), kx_div(k, kx_load(k, rk.out, out_index(&rk)), kx_var(k, sum)));
    ks_end(k);
    ks_end(k);
    return k;
}

/* normalize: x / max(||x||, 1e-12) over each row, as F.normalize. */
Kernel *kernel_normalize(Arena *a)
{
    RowKernel rk = row_kernel(a, "normalize_rows", "out = x / max(||x||, 1e-12) over each row");
    Kernel *k = rk.k;
    int ss = kernel_var(k, "sum", KT_F32), scale = kernel_var(k, "scale", KT_F32);
    open_rows(&rk);
    sum_row(&rk, ss, square, NULL);
    ks_let(k, scale, kx_div(k, kx_float(k, 1), kx_call2(k, KF_MAX, kx_call(k, KF_SQRT, kx_var(k, ss)), kx_float(k, 1e-12))));
    ks_for(k, rk.c, kx_int(k, 0), kx_param(k, rk.dim));
    ks_store(k, rk.out, out_index(&rk), kx_mul(k, x_at(&rk), kx_var(k, scale)));
    ks_end(k);
    ks_end(k);
    return k;
}

/* ---- rope ----------------------------------------------------------------------------------- */

/* cos and sin of position p times theta^(-2j / rotary_dim), for p < seq and j < rotary_dim / 2,
 * computed in double: table[p * rotary_dim + 2j] = cos, [.. + 2j + 1] = sin. Once a forward. */
Kernel *kernel_rope_table(Arena *a)
{
    Kernel *k = kernel_new(a, "rope_table", "RoPE's cos and sin for positions first.. first + seq - 1, every pair");
    int table = kernel_buffer(k, "table", KT_F32, true);
    int first = kernel_scalar(k, "first", KT_INT);
    int seq = kernel_scalar(k, "seq", KT_INT), rotary = kernel_scalar(k, "rotary_dim", KT_INT);
    int theta = kernel_scalar(k, "theta", KT_F64);
    int p = kernel_var(k, "p", KT_INT), j = kernel_var(k, "j", KT_INT);
    int angle = kernel_var(k, "angle", KT_F64);
    ks_for(k, p, kx_int(k, 0), kx_param(k, seq));
    ks_for(k, j, kx_int(k, 0), kx_div(k, kx_param(k, rotary), kx_int(k, 2)));
    KExpr *exponent = kx_div(k, kx_cast(k, KT_F64, kx_mul(k, kx_int(k, -2), kx_var(k, j))),
                             kx_cast(k, KT_F64, kx_param(k, rotary)));
    KExpr *freq = kx_call2(k, KF_POW, kx_param(k, theta), exponent);
    ks_let(k, angle, kx_mul(k, kx_cast(k, KT_F64, kx_add(k, kx_param(k, first), kx_var(k, p))), freq));
    KExpr *cosv = kx_call(k, KF_COS, kx_var(k, angle)), *sinv = kx_call(k, KF_SIN, kx_var(k, angle));
    KExpr *at = kx_add(k, kx_mul(k, kx_var(k, p), kx_param(k, rotary)), kx_mul(k, kx_int(k, 2), kx_var(k, j)));
    ks_store(k, table, at, kx_cast(k, KT_F32, cosv));
    ks_store(k, table, kx_add(k, at, kx_int(k, 1)), kx_cast(k, KT_F32, sinv));
    ks_end(k);
    ks_end(k);
    return k;
}

/* Rotary embedding of `heads` heads of head_dim per row, at position row % seq: the first
 * rotary_dim elements of each head rotated in pairs (j, j + rotary_dim/2) (neox) or (2j, 2j + 1)
 * (gptj) by the table's angle for (position, j); the rest copied. */
Kernel *kernel_rope(Arena *a, RopeStyle style)
{
    Kernel *k = kernel_new(a, style == ROPE_GPTJ ? "rope_gptj" : "rope_neox",
                           style == ROPE_GPTJ ? "rotary embedding, interleaved pairs (GPT-J)"
                                              : "rotary embedding, rotate_half (GPT-NeoX, Llama)");
    int out = kernel_buffer(k, "out", KT_F32, true), ld_out = kernel_scalar(k, "ld_out", KT_INT);
    int x = kernel_buffer(k, "x", KT_F32, false), ld_x = kernel_scalar(k, "ld_x", KT_INT);
    int table = kernel_buffer(k, "table", KT_F32, false);
    int rows = kernel_scalar(k, "rows", KT_INT), seq = kernel_scalar(k, "seq", KT_INT);
    int heads = kernel_scalar(k, "heads", KT_INT), head_dim = kernel_scalar(k, "head_dim", KT_INT);
    int rotary = kernel_scalar(k, "rotary_dim", KT_INT);
    int r = kernel_var(k, "r", KT_INT), h = kernel_var(k, "h", KT_INT), j = kernel_var(k, "j", KT_INT);
    int c = kernel_var(k, "c", KT_INT), angles = kernel_var(k, "angles", KT_INT);
    int in = kernel_var(k, "in", KT_INT), at = kernel_var(k, "at", KT_INT);
    int x0 = kernel_var(k, "x0", KT_F32), x1 = kernel_var(k, "x1", KT_F32);
    int cs = kernel_var(k, "cos_a", KT_F32), sn = kernel_var(k, "sin_a", KT_F32);
    ks_for(k, r, kx_int(k, 0), kx_param(k, rows));
    ks_let(k, angles, kx_mul(k, kx_bin(k, KB_MOD, kx_var(k, r), kx_param(k, seq)), kx_param(k, rotary)));
    ks_for(k, h, kx_int(k, 0), kx_param(k, heads));
    ks_let(k, in, kx_add(k, kx_mul(k, kx_var(k, r), kx_param(k, ld_x)), kx_mul(k, kx_var(k, h), kx_param(k, head_dim))));
    ks_let(k, at, kx_add(k, kx_mul(k, kx_var(k, r), kx_param(k, ld_out)), kx_mul(k, kx_var(k, h), kx_param(k, head_dim))));
    ks_for(k, j, kx_int(k, 0), kx_div(k, kx_param(k, rotary), kx_int(k, 2)));
    /* the pair: (j, j + rotary/2) or (2j, 2j + 1) */
    KExpr *first = style == ROPE_GPTJ ? kx_mul(k, kx_int(k, 2), kx_var(k, j)) : kx_var(k, j);
    KExpr *second = style == ROPE_GPTJ ? kx_add(k, kx_mul(k, kx_int(k, 2), kx_var(k, j)), kx_int(k, 1))
                                       : kx_add(k, kx_var(k, j), kx_div(k, kx_param(k, rotary), kx_int(k, 2)));
    KExpr *angle = kx_add(k, kx_var(k, angles), kx_mul(k, kx_int(k, 2), kx_var(k, j)));
    ks_let(k, cs, kx_load(k, table, angle));
    ks_let(k, sn, kx_load(k, table, kx_add(k, angle, kx_int(k, 1))));
    ks_let(k, x0, kx_load(k, x, kx_add(k, kx_var(k, in), first)));
    ks_let(k, x1, kx_load(k, x, kx_add(k, kx_var(k, in), second)));
    ks_store(k, out, kx_add(k, kx_var(k, at), first), kx_sub(k, kx_mul(k, kx_var(k, x0), kx_var(k, cs)), kx_mul(k, kx_var(k, x1), kx_var(k, sn))));
    ks_store(k, out, kx_add(k, kx_var(k, at), second), kx_add(k, kx_mul(k, kx_var(k, x1), kx_var(k, cs)), kx_mul(k, kx_var(k, x0), kx_var(k, sn))));
    ks_end(k);
    ks_for(k, c, kx_param(k, rotary), kx_param(k, head_dim)); /* what is not rotated is copied */
    ks_store(k, out, kx_add(k, kx_var(k, at), kx_var(k, c)), kx_load(k, x, kx_add(k, kx_var(k, in), kx_var(k, c))));
    ks_end(k);
    ks_end(k);
    ks_end(k);
    return k;
}

/* ---- attention's softmax --------------------------------------------------------------------- */

/* One head's scores [rows, cols] (queries by keys), scaled, masked, softmaxed over keys. Query
 * i is at position past + i (past: the keys before the step's first query, in generation). A
 * causal row stops at its own position (the keys after it get probability 0, and cost nothing);
 * a key the mask drops (key_mask[j] == 0) scores the lowest float, as Hugging Face's masks make
 * it, so a row with every key dropped comes out uniform, not NaN. */
Kernel *kernel_attention_softmax(Arena *a)
{
    Kernel *k = kernel_new(a, "attention_softmax",
                           "scores = softmax(scale * scores, masked) over each query's keys");
    int s = kernel_buffer(k, "scores", KT_F32, true);
    int mask = kernel_buffer(k, "key_mask", KT_F32, false);
    int rows = kernel_scalar(k, "rows", KT_INT), cols = kernel_scalar(k, "cols", KT_INT);
    int scale = kernel_scalar(k, "scale", KT_F32), causal = kernel_scalar(k, "causal", KT_INT);
    int past = kernel_scalar(k, "past", KT_INT), masked = kernel_scalar(k, "has_mask", KT_INT);
    int i = kernel_var(k, "i", KT_INT), j = kernel_var(k, "j", KT_INT);
    int base = kernel_var(k, "row", KT_INT), keys = kernel_var(k, "keys", KT_INT);
    int top = kernel_var(k, "top", KT_F32), sum = kernel_var(k, "sum", KT_F32);
    int v = kernel_var(k, "v", KT_F32), e = kernel_var(k, "e", KT_F32);
    int inv = kernel_var(k, "inv", KT_F32);
    ks_for(k, i, kx_int(k, 0), kx_param(k, rows));
    ks_let(k, base, kx_mul(k, kx_var(k, i), kx_param(k, cols)));
    ks_let(k, keys, kx_select(k, kx_param(k, causal), kx_add(k, kx_add(k, kx_param(k, past), kx_var(k, i)), kx_int(k, 1)), kx_param(k, cols)));
    ks_let(k, top, kx_float(k, -3.4028234663852886e38));
    ks_for(k, j, kx_int(k, 0), kx_var(k, keys));
    KExpr *dropped = kx_bin(k, KB_AND, kx_param(k, masked),
                            kx_bin(k, KB_EQ, kx_load(k, mask, kx_var(k, j)), kx_float(k, 0)));
    KExpr *at = kx_add(k, kx_var(k, base), kx_var(k, j));
    ks_let(k, v, kx_select(k, dropped, kx_float(k, -3.4028234663852886e38), kx_mul(k, kx_load(k, s, at), kx_param(k, scale))));
    ks_store(k, s, at, kx_var(k, v));
    ks_reduce(k, top, KR_MAX, kx_var(k, v));
    ks_end(k);
    ks_let(k, sum, kx_float(k, 0));
    ks_for(k, j, kx_int(k, 0), kx_var(k, keys));
    KExpr *at2 = kx_add(k, kx_var(k, base), kx_var(k, j));
    ks_let(k, e, kx_call(k, KF_EXP, kx_sub(k, kx_load(k, s, at2), kx_var(k, top))));
    ks_store(k, s, at2, kx_var(k, e));
    ks_reduce(k, sum, KR_SUM, kx_var(k, e));
    ks_end(k);
    ks_let(k, inv, kx_div(k, kx_float(k, 1), kx_var(k, sum)));
    ks_for(k, j, kx_int(k, 0), kx_var(k, keys));
    KExpr *at3 = kx_add(k, kx_var(k, base), kx_var(k, j));
    ks_store(k, s, at3, kx_mul(k, kx_load(k, s, at3), kx_var(k, inv)));
    ks_end(k);
    ks_for(k, j, kx_var(k, keys), kx_param(k, cols));
    ks_store(k, s, kx_add(k, kx_var(k, base), kx_var(k, j)), kx_float(k, 0));
    ks_end(k);
    ks_end(k);
    return k;
}

/* ---- lookups, positions, reductions, copies -------------------------------------------------- */

/* embedding: each row of out is the table row of its id when this rank holds it (rows
 * [first, first + count) of the table), zeros otherwise. */
Kernel *kernel_embedding(Arena *a)
{
    Kernel *k = kernel_new(a, "embedding", "out[r] = table[ids[r] - first] for the ids this rank holds, else 0");
    int out = kernel_buffer(k, "out", KT_F32, true), ids = kernel_buffer(k, "ids", KT_I32, false);
    int table = kernel_buffer(k, "table", KT_F32, false);
    int rows = kernel_scalar(k, "rows", KT_INT), dim = kernel_scalar(k, "dim", KT_INT);
    int first = kernel_scalar(k, "first", KT_INT), count = kernel_scalar(k, "count", KT_INT);
    int r = kernel_var(k, "r", KT_INT), c = kernel_var(k, "c", KT_INT);
    int local = kernel_var(k, "local", KT_INT);
    ks_for(k, r, kx_int(k, 0), kx_param(k, rows));
    ks_let(k, local, kx_sub(k, kx_cast(k, KT_INT, kx_load(k, ids, kx_var(k, r))), kx_param(k, first)));
    KExpr *held = kx_bin(k, KB_AND, kx_bin(k, KB_LE, kx_int(k, 0), kx_var(k, local)), kx_bin(k, KB_LT, kx_var(k, local), kx_param(k, count)));
    ks_if(k, held);
    ks_for(k, c, kx_int(k, 0), kx_param(k, dim));
    ks_store(k, out, kx_add(k, kx_mul(k, kx_var(k, r), kx_param(k, dim)), kx_var(k, c)),
             kx_load(k, table, kx_add(k, kx_mul(k, kx_var(k, local), kx_param(k, dim)), kx_var(k, c))));
    ks_end(k);
    ks_else(k);
    ks_for(k, c, kx_int(k, 0), kx_param(k, dim));
    ks_store(k, out, kx_add(k, kx_mul(k, kx_var(k, r), kx_param(k, dim)), kx_var(k, c)), kx_float(k, 0));
    ks_end(k);
    ks_end(k);
    ks_end(k);
    return k;
}

Kernel *kernel_positions(Arena *a)
{
    Kernel *k = kernel_new(a, "positions", "out[i] = first + i % seq: each element's position along the last dimension");
    int out = kernel_buffer(k, "out", KT_I32, true);
    int n = kernel_scalar(k, "n", KT_INT), seq = kernel_scalar(k, "seq", KT_INT);
    int first = kernel_scalar(k, "first", KT_INT);
    int i = kernel_var(k, "i", KT_INT);
    ks_for(k, i, kx_int(k, 0), kx_param(k, n));
    ks_store(k, out, kx_var(k, i), kx_cast(k, KT_I32, kx_add(k, kx_param(k, first), kx_bin(k, KB_MOD, kx_var(k, i), kx_param(k, seq)))));
    ks_end(k);
    return k;
}

/* mean or sum of x viewed as [outer, count, inner] over its middle dimension, optionally only
 * where mask [outer, count] is 1: out[o, c] = sum_j x[o, j, c] m[o, j] / (mean: sum_j m[o, j],
 * at least 1e-9, as sentence-transformers' mean pooling). */
Kernel *kernel_reduce(Arena *a, bool mean, bool masked)
{
    Kernel *k = kernel_new(a, arena_printf(a, "%s%s", mean ? "mean" : "sum", masked ? "_masked" : ""),
                           arena_printf(a, "out = %s of x [outer, count, inner] over count%s",
                                        mean ? "mean" : "sum", masked ? ", where mask is 1" : ""));
    int out = kernel_buffer(k, "out", KT_F32, true), x = kernel_buffer(k, "x", KT_F32, false);
    int m = masked ? kernel_buffer(k, "mask", KT_F32, false) : -1;
    int outer = kernel_scalar(k, "outer", KT_INT), count = kernel_scalar(k, "count", KT_INT);
    int inner = kernel_scalar(k, "inner", KT_INT);
    int o = kernel_var(k, "o", KT_INT), j = kernel_var(k, "j", KT_INT), c = kernel_var(k, "c", KT_INT);
    int total = kernel_var(k, "total", KT_F32), w = kernel_var(k, "weight", KT_F32);
    ks_for(k, o, kx_int(k, 0), kx_param(k, outer));
    ks_for(k, c, kx_int(k, 0), kx_param(k, inner));
    ks_store(k, out, kx_add(k, kx_mul(k, kx_var(k, o), kx_param(k, inner)), kx_var(k, c)), kx_float(k, 0));
    ks_end(k);
    ks_let(k, total, kx_float(k, 0));
    ks_for(k, j, kx_int(k, 0), kx_param(k, count));
    ks_let(k, w, masked ? kx_load(k, m, kx_add(k, kx_mul(k, kx_var(k, o), kx_param(k, count)), kx_var(k, j)))
                        : kx_float(k, 1));
    ks_reduce(k, total, KR_SUM, kx_var(k, w));
    ks_for(k, c, kx_int(k, 0), kx_param(k, inner));
    KExpr *dst = kx_add(k, kx_mul(k, kx_var(k, o), kx_param(k, inner)), kx_var(k, c));
    KExpr *src = kx_add(k, kx_mul(k, kx_add(k, kx_mul(k, kx_var(k, o), kx_param(k, count)), kx_var(k, j)), kx_param(k, inner)), kx_var(k, c));
    ks_store(k, out, dst, kx_add(k, kx_load(k, out, dst), kx_mul(k, kx_load(k, x, src), kx_var(k, w))));
    ks_end(k);
    ks_end(k);
    if (mean) {
        ks_for(k, c, kx_int(k, 0), kx_param(k, inner));
        KExpr *at = kx_add(k, kx_mul(k, kx_var(k, o), kx_param(k, inner)), kx_var(k, c));
        ks_store(k, out, at, kx_div(k, kx_load(k, out, at), kx_call2(k, KF_MAX, kx_var(k, total), kx_float(k, 1e-9))));
        ks_end(k);
    }
    ks_end(k);
    return k;
}

/* Columns [from, from + cols) of each row of in (rows of in_cols) to columns [to, to + cols) of
 * out (rows of out_cols): split, concat and slice are made of these. */
Kernel *kernel_copy_columns(Arena *a)
{
    Kernel *k = kernel_new(a, "copy_columns", "out[r, to + c] = in[r, from + c] for c < cols");
    int out = kernel_buffer(k, "out", KT_F32, true), in = kernel_buffer(k, "in", KT_F32, false);
    int rows = kernel_scalar(k, "rows", KT_INT), cols = kernel_scalar(k, "cols", KT_INT);
    int out_cols = kernel_scalar(k, "out_cols", KT_INT), to = kernel_scalar(k, "to", KT_INT);
    int in_cols = kernel_scalar(k, "in_cols", KT_INT), from = kernel_scalar(k, "from", KT_INT);
    int r = kernel_var(k, "r", KT_INT), c = kernel_var(k, "c", KT_INT);
    ks_for(k, r, kx_int(k, 0), kx_param(k, rows));
    ks_for(k, c, kx_int(k, 0), kx_param(k, cols));
    ks_store(k, out, kx_add(k, kx_add(k, kx_mul(k, kx_var(k, r), kx_param(k, out_cols)), kx_param(k, to)), kx_var(k, c)),
             kx_load(k, in, kx_add(k, kx_add(k, kx_mul(k, kx_var(k, r), kx_param(k, in_cols)), kx_param(k, from)), kx_var(k, c))));
    ks_end(k);
    ks_end(k);
    return k;
}

/* Generation: each sequence's last row (of seq, rows ld apart) moved to row b, in place: what
 * follows the last attention is needed at the last position only (the next id's logits).
 * Row b * seq + seq - 1 is never below row b, so rows move down in order without clobbering a
 * row still to move. */
Kernel *kernel_last_rows(Arena *a)
{
    Kernel *k = kernel_new(a, "last_rows", "x[b, :cols] = x[b * seq + seq - 1, :cols]: each sequence's last row, in place");
    k->serial_rows = true; /* row b takes a later row's place: in order, nothing is lost */
    int x = kernel_buffer(k, "x", KT_F32, true), ld = kernel_scalar(k, "ld", KT_INT);
    int batch = kernel_scalar(k, "batch", KT_INT), seq = kernel_scalar(k, "seq", KT_INT);
    int cols = kernel_scalar(k, "cols", KT_INT);
    int b = kernel_var(k, "b", KT_INT), c = kernel_var(k, "c", KT_INT);
    int from = kernel_var(k, "from", KT_INT);
    ks_for(k, b, kx_int(k, 0), kx_param(k, batch));
    ks_let(k, from, kx_mul(k, kx_sub(k, kx_mul(k, kx_add(k, kx_var(k, b), kx_int(k, 1)), kx_param(k, seq)), kx_int(k, 1)), kx_param(k, ld)));
    ks_for(k, c, kx_int(k, 0), kx_param(k, cols));
    ks_store(k, x, kx_add(k, kx_mul(k, kx_var(k, b), kx_param(k, ld)), kx_var(k, c)),
             kx_load(k, x, kx_add(k, kx_var(k, from), kx_var(k, c))));
    ks_end(k);
    ks_end(k);
    return k;
}

/* Each row of out (stride ld_out) gets the vector b added: a bias, in a GEMM's epilogue. */
Kernel *kernel_add_rows(Arena *a)
{
    Kernel *k = kernel_new(a, "add_rows", "out[r, c] += b[c]: a bias before a GEMM adds to out");
    int out = kernel_buffer(k, "out", KT_F32, true), ld = kernel_scalar(k, "ld_out", KT_INT);
    int b = kernel_buffer(k, "b", KT_F32, false);
    int rows = kernel_scalar(k, "rows", KT_INT), cols = kernel_scalar(k, "cols", KT_INT);
    int r = kernel_var(k, "r", KT_INT), c = kernel_var(k, "c", KT_INT);
    ks_for(k, r, kx_int(k, 0), kx_param(k, rows));
    ks_for(k, c, kx_int(k, 0), kx_param(k, cols));
    KExpr *at = kx_add(k, kx_mul(k, kx_var(k, r), kx_param(k, ld)), kx_var(k, c));
    ks_store(k, out, at, kx_add(k, kx_load(k, out, at), kx_load(k, b, kx_var(k, c))));
    ks_end(k);
    ks_end(k);
    return k;
}

/* Every row of out is the vector b: the start of a GEMM that adds a bias (beta = 1). */
Kernel *kernel_fill_rows(Arena *a)
{
    Kernel *k = kernel_new(a, "fill_rows", "out[r, c] = b[c]: a bias, before the GEMM adds to it");
    int out = kernel_buffer(k, "out", KT_F32, true), b = kernel_buffer(k, "b", KT_F32, false);
    int rows = kernel_scalar(k, "rows", KT_INT), cols = kernel_scalar(k, "cols", KT_INT);
    int r = kernel_var(k, "r", KT_INT), c = kernel_var(k, "c", KT_INT);
    ks_for(k, r, kx_int(k, 0), kx_param(k, rows));
    ks_for(k, c, kx_int(k, 0), kx_param(k, cols));
    ks_store(k, out, kx_add(k, kx_mul(k, kx_var(k, r), kx_param(k, cols)), kx_var(k, c)), kx_load(k, b, kx_var(k, c)));
    ks_end(k);
    ks_end(k);
    return k;
}
