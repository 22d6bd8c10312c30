# rope's rotary_dim, when given, is even and from 2 to head_dim (an explicit 0 is an error, not
# "the whole head"); without it, head_dim must be even; theta is greater than 0. A hint on split
# is an error like a hint on any call that takes none.
# RUN: not %tpc %s --emit ir 2>&1 | FileCheck %s --implicit-check-not=error:
model rope_errors
config { hidden = 256  heads = 4  odd = 252  theta = 0.0 }
forward(x: f32[b, s, hidden], o: f32[b, s, odd]) -> (y) {
  a1 = rope(x, heads=heads, rotary_dim=0)
# CHECK: [[@LINE-1]]:40: error: rotary_dim must be even and from 2 to head_dim (64), saw 0
  a2 = rope(x, heads=heads, rotary_dim=-2)
# CHECK: [[@LINE-1]]:40: error: rotary_dim must be even and from 2 to head_dim (64), saw -2
  a3 = rope(x, heads=heads, rotary_dim=66)
# CHECK: [[@LINE-1]]:40: error: rotary_dim must be even and from 2 to head_dim (64), saw 66
  a4 = rope(x, heads=heads, rotary_dim=31)
# CHECK: [[@LINE-1]]:40: error: rotary_dim must be even and from 2 to head_dim (64), saw 31
  a5 = rope(o, heads=heads)
# CHECK: [[@LINE-1]]:8: error: rope needs an even head_dim, saw 63 (252 / heads=4)
  a6 = rope(o, heads=heads, rotary_dim=62)
  a7 = rope(x, heads=heads, theta=theta)
# CHECK: [[@LINE-1]]:35: error: 'theta' of 'rope' must be a number greater than 0, saw 0.0
  a8 = rope(x, heads=heads, theta=-1.5)
# CHECK: [[@LINE-1]]:35: error: 'theta' of 'rope' must be a number greater than 0, saw -1.5
  a9 = rope(x, heads=16.0)
# CHECK: [[@LINE-1]]:22: error: 'heads' of 'rope' must be an integer, saw 16.0
  p, q = split(x, 128, 128) @col
# CHECK: [[@LINE-1]]:30: error: a sharding hint applies to linear, matmul and embedding, not 'split'
  y = rope(x, heads=heads, rotary_dim=64) + rope(x, heads=heads, rotary_dim=2) + p + q
  return y
}
