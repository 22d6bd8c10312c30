# Shape rules, with symbolic dimensions: broadcasting, products, norms, embeddings, heads that
# must divide their dimension, GQA (heads % kv_heads), split and concat sizes, reductions.
# RUN: not %tpc %s --emit ir 2>&1 | FileCheck %s
model shapes
config { hidden = 8  inter = 12  heads = 4  kv_heads = 3 }
weights {
  up   : [inter, hidden] = "up"
  down : [hidden, inter] = "down"
  conv : [hidden, inter] = "conv"
  n    : [inter]         = "n"
  b    : [hidden]        = "b"
  table: [10, hidden]    = "table"
}
forward(x: f32[batch, seq, hidden], other: f32[batch, len, hidden], ids: i32[batch, seq],
        m: f32[batch, len]) -> (y) {
  a1 = linear(x, up) * x
# CHECK: [[@LINE-1]]:22: error: shape mismatch in '*': [batch, seq, 12] vs [batch, seq, 8]
  a2 = x + other
# CHECK: [[@LINE-1]]:10: error: shape mismatch in '+': [batch, seq, 8] vs [batch, len, 8]
  a3 = linear(x, down)
# CHECK: [[@LINE-1]]:8: error: shape mismatch in 'linear': x [batch, seq, 8] has 8 features, but the weight [8, 12] (stored [out, in]) takes 12
  a4 = matmul(x, up)
# CHECK: [[@LINE-1]]:8: error: shape mismatch in 'matmul': x [batch, seq, 8] has 8 features, but the weight [12, 8] (stored [in, out]) takes 12
  a5 = linear(x, up, b)
# CHECK: [[@LINE-1]]:8: error: the bias of 'linear' must be [12] (the weight's out), saw [8]
  a6 = rmsnorm(x, n, 1e-5)
# CHECK: [[@LINE-1]]:8: error: the weight of 'rmsnorm' must be [8] to match the input [batch, seq, 8], saw [12]
  a7 = embedding(ids, up) + ids
# CHECK: [[@LINE-1]]:27: error: the right operand of '+' must be f32, not i32 (i32 values are ids: they feed embedding and positions)
  a8 = rope(linear(x, up), heads=5)
# CHECK: [[@LINE-1]]:8: error: the last dimension 12 of 'rope' input is not a multiple of heads=5
  a9 = rope(x, heads=2, rotary_dim=3)
# CHECK: [[@LINE-1]]:36: error: rotary_dim must be even and from 2 to head_dim (4), saw 3
  b1 = attention(x, x, x, heads=3, causal=true)
# CHECK: [[@LINE-1]]:8: error: q's last dimension 8 is not a multiple of heads=3
  b2 = attention(linear(x, up), x, x, heads=heads, kv_heads=kv_heads, causal=true)
# CHECK: [[@LINE-1]]:8: error: heads (4) must be a multiple of kv_heads (3)
  b3 = attention(x, other, other, heads=2, causal=false)
# CHECK: [[@LINE-1]]:8: error: q and k of 'attention' must agree on [batch, seq], saw [batch, seq, 8] and [batch, len, 8]
  b4 = attention(x, x, x, heads=2, causal=false, mask=m)
# CHECK: [[@LINE-1]]:8: error: the mask of 'attention' must be [batch, seq] like k's first two dimensions, saw [batch, len]
  c1, c2 = split(x, 3, 4)
# CHECK: [[@LINE-1]]:12: error: split sizes add up to 7, but the last dimension is 8
  c3 = concat(x, ids)
# CHECK: [[@LINE-1]]:8: error: every argument of 'concat' must be f32, not i32 (i32 values are ids: they feed embedding and positions)
  c4 = mean(x, 3)
# CHECK: [[@LINE-1]]:16: error: dimension 3 is out of range for a tensor of 3 dimensions
  c5 = sum(x, 1, mask=m)
# CHECK: [[@LINE-1]]:8: error: the mask of 'sum' over dimension 1 must be [batch, seq], saw [batch, len]
  c6 = silu(ids)
# CHECK: [[@LINE-1]]:8: error: the argument of 'silu' must be f32, not i32 (i32 values are ids: they feed embedding and positions)
  c7 = rope(x, heads=0)
# CHECK: [[@LINE-1]]:22: error: heads must be at least 1
  y = x
  return y
}
