# A sharding hint decides how a call's weight is split (docs/language.md, "Hints"): on linear,
# matmul or embedding whose weight is a value computed in forward, not a declared weight, it
# would be silently ignored, so it is an error.
# RUN: not %tpc %s --emit ir 2>&1 | FileCheck %s
model hints
config { hidden = 8  vocab = 16 }
weights {
  w     : [hidden, hidden] = "w"
  table : [vocab, hidden]  = "table"
}
forward(x: f32[s, hidden], ids: i32[s]) -> (y) {
  m = linear(x, w) @col
  t = matmul(x, m) @col
# CHECK: [[@LINE-1]]:17: error: a sharding hint splits a weight: the 'w' of 'matmul' must be a declared weight, not a value computed in forward
  u = linear(x, m, x) @row
# CHECK: [[@LINE-1]]:17: error: a sharding hint splits a weight: the 'w' of 'linear' must be a declared weight, not a value computed in forward
  e = embedding(ids, embedding(ids, table)) @replicated
# CHECK: [[@LINE-1]]:22: error: a sharding hint splits a weight: the 'table' of 'embedding' must be a declared weight, not a value computed in forward
  y = m + embedding(ids, table) @replicated
  return y
}
