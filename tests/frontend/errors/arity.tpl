# Arity and keywords of the built-ins: too many or too few arguments, unknown and repeated
# keywords, positional after keyword, required keywords (heads=, causal=: no silent defaults),
# compile-time arguments given tensors, and hints where they do not apply.
# RUN: not %tpc %s --emit ir 2>&1 | FileCheck %s
model arity
config { hidden = 8  heads = 2  eps = 1e-5 }
weights {
  w : [hidden, hidden] = "w"
  b : [hidden]         = "b"
  n : [hidden]         = "n"
}
forward(x: f32[s, hidden], ids: i32[s]) -> (y) {
  a1 = linear(x)
# CHECK: [[@LINE-1]]:8: error: 'linear' needs its argument 'w'
  a2 = linear(x, w, b, b)
# CHECK: [[@LINE-1]]:24: error: too many arguments to 'linear' (it takes 3 positional arguments)
  a3 = silu(x, x)
# CHECK: [[@LINE-1]]:16: error: too many arguments to 'silu' (it takes 1 positional argument)
  a4 = rmsnorm(x, n)
# CHECK: [[@LINE-1]]:8: error: 'rmsnorm' needs its argument 'eps'
  a5 = rmsnorm(x, n, x)
# CHECK: [[@LINE-1]]:22: error: 'eps' of 'rmsnorm' must be a compile-time number (a literal or a config value), not a tensor
  a6 = rope(x, head=2)
# CHECK: [[@LINE-1]]:16: error: 'rope' has no parameter 'head' (its parameters: x, heads, theta, style, rotary_dim)
  a7 = rope(x)
# CHECK: [[@LINE-1]]:8: error: 'rope' needs its argument 'heads' (a keyword argument)
  a8 = attention(x, x, x, heads=heads)
# CHECK: [[@LINE-1]]:8: error: 'attention' needs its argument 'causal' (a keyword argument)
  a9 = attention(x, x, x, causal=true)
# CHECK: [[@LINE-1]]:8: error: 'attention' needs its argument 'heads' (a keyword argument)
  b1 = attention(x, x, x, heads=heads, causal=1)
# CHECK: [[@LINE-1]]:47: error: 'causal' must be true or false
  b2 = attention(x, x, x, heads=heads, causal=true, heads=2)
# CHECK: [[@LINE-1]]:53: error: 'heads' is given twice in 'attention'
  b3 = rope(x, heads=heads, 2)
# CHECK: [[@LINE-1]]:29: error: positional argument after a keyword argument in 'rope'
  b4 = rope(x, heads=heads, style=llama)
# CHECK: [[@LINE-1]]:35: error: 'style' of 'rope' must be neox or gptj
  b5 = mean(x)
# CHECK: [[@LINE-1]]:8: error: 'mean' needs its argument 'dim'
  b6 = mean(x, 1.5)
# CHECK: [[@LINE-1]]:16: error: 'dim' of 'mean' must be an integer, saw 1.5
  b7 = silu(x) @col
# CHECK: [[@LINE-1]]:17: error: a sharding hint applies to linear, matmul and embedding, not 'silu'
  b8 = linear(x, w) @diagonal
# CHECK: [[@LINE-1]]:22: error: unknown hint '@diagonal' (expected @col, @row or @replicated)
  b9 = concat()
# CHECK: [[@LINE-1]]:8: error: 'concat' takes 1 to 64 tensors
  c1 = split(x, 4, 4)
# CHECK: [[@LINE-1]]:8: error: 'split' gives several values: bind them with 'a, b = split(x, ...)'
  c2 = embedding(x, w)
# CHECK: [[@LINE-1]]:8: error: the ids of 'embedding' must be i32, saw f32 [s, 8]
  y = x
  return y
}
