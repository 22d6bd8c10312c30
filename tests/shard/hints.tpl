# Hints override the cost model for one op and never change the result: the compiler inserts
# what the hinted layout needs. Here the MLP is forced row-then-column (the reverse of
# Megatron's): @row on `up` takes a local slice of x and gives partial sums that gelu needs
# whole (all_reduce); @col on `down` then splits the output, gathered for the output only.
# @replicated keeps a projection whole on every rank.
# RUN: %tpc %s -tp 2 --emit ir --stop-after elide | FileCheck %s
model hints
config { hidden = 1024  intermediate = 4096 }
weights {
  up   : [intermediate, hidden] = "up.weight"
  down : [hidden, intermediate] = "down.weight"
  head : [hidden, hidden]       = "head.weight"
}
forward(x: f32[batch, seq, hidden]) -> (y, z) {
  h = linear(gelu(linear(x, up) @row), down) @col
  y = h
  z = linear(h, head) @replicated
  return y, z
}
# CHECK:      @up {{.*}}: f32[4096,1024] S(1)
# CHECK:      @down {{.*}}: f32[1024,4096] S(0)
# CHECK:      @head {{.*}}: f32[1024,1024] R
# CHECK:      %[[S:.*]] = slice %x {{ *}}: f32[batch,seq,1024] S(2)
# CHECK-NEXT: %[[U:.*]] = linear %[[S]], @up @row {{ *}}: f32[batch,seq,4096] P
# CHECK-NEXT: %[[R:.*]] = all_reduce %[[U]] {{ *}}: f32[batch,seq,4096] R
# CHECK-NEXT: %[[G:.*]] = gelu %[[R]] {{ *}}: f32[batch,seq,4096] R
# CHECK-NEXT: %h = linear %[[G]], @down @col {{ *}}: f32[batch,seq,1024] S(2)
# CHECK-NEXT: %[[H:.*]] = all_gather %h {{ *}}: f32[batch,seq,1024] R
# CHECK-NEXT: %z = linear %[[H]], @head @replicated {{ *}}: f32[batch,seq,1024] R
# CHECK-NEXT: return %[[H]], %z
