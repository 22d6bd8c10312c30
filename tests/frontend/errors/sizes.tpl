# Sizes that could overflow a byte count are errors, not wrap-arounds: a weight has at most 2^40
# elements (a group's weight over all its blocks), all weights together at most 2^44, a group at
# most 2^31 - 1 blocks, and the numeric dimensions of an input or a value at most 2^40 elements.
# RUN: not %tpc %s --emit ir 2>&1 | FileCheck %s --implicit-check-not=error:
model sizes
config { hidden = 8  big = 1048576  huge = 4294967296  layers = 4096  half = 8.0 }
weights {
  ok    : [hidden, hidden]         = "ok"
  wide  : [big, big, 2]            = "wide"
# CHECK: [[@LINE-1]]:3: error: weight 'wide' has 2199023255552 elements; the limit is 2^40
  wrap  : [huge, huge, huge, huge] = "wrap"
# CHECK: [[@LINE-1]]:3: error: weight 'wrap' has more than 2^63 elements; the limit is 2^40
  edge  : [big, big]               = "edge"
  layer[layers] { v : [big, 512] = "layers.{i}.v" }
# CHECK: [[@LINE-1]]:19: error: weight 'layer.v' has 2199023255552 elements in its 4096 blocks; the limit is 2^40
  many[3000000000] { u : [1] = "many.{i}.u" }
# CHECK: [[@LINE-1]]:8: error: a group's count must be at most 2147483647, saw 3000000000
  t1 : [big, big] = "t1"
  t2 : [big, big] = "t2"
  t3 : [big, big] = "t3"
  t4 : [big, big] = "t4"
  t5 : [big, big] = "t5"
  t6 : [big, big] = "t6"
  t7 : [big, big] = "t7"
  t8 : [big, big] = "t8"
  t9 : [big, big] = "t9"
  ta : [big, big] = "ta"
  tb : [big, big] = "tb"
  tc : [big, big] = "tc"
  td : [big, big] = "td"
  te : [big, big] = "te"
  tf : [big, big] = "tf"
# CHECK: [[@LINE-1]]:3: error: weight 'tf' brings the model's weights past 2^44 elements in all; the limit is 2^44
  frac : [half] = "frac"
# CHECK: [[@LINE-1]]:11: error: a weight's dimension must be an integer, saw 8.0
  column : [big, 1] = "column"
}
forward(x: f32[n, hidden], big_in: f32[big, big, 2], long: f32[2097152, 1],
# CHECK: [[@LINE-1]]:28: error: input 'big_in' would have 2199023255552 elements (not counting its symbolic dimensions); the limit is 2^40
        seq: f32[1, 2097152, 8]) -> (y) {
  a = linear(long, column)
# CHECK: [[@LINE-1]]:7: error: the result of 'linear', [2097152, 1048576], would have 2199023255552 elements; the limit is 2^40
  b = attention(seq, seq, seq, heads=1, causal=true)
# CHECK: [[@LINE-1]]:7: error: attention's scores for a sequence of 2097152, [2097152, 2097152], would have 4398046511104 elements; the limit is 2^40
  y = linear(x, ok)
  return y
}
