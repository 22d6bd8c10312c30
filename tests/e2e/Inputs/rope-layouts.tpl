# rope on pieces of a fused projection, and on a value split across heads.
model rope_layouts
config { vocab = 50  hidden = 64  heads = 4 }
weights {
  table : [vocab, hidden]  = "table.weight"
  wq    : [hidden, hidden] = "wq.weight"
  wk    : [hidden, hidden] = "wk.weight"
  wo    : [hidden, hidden] = "wo.weight"
}
forward(ids: i32[batch, seq]) -> (y) {
  x = rope(embedding(ids, table) @col, heads=heads)
  q = rope(linear(x, wq), heads=heads)
  k = linear(x, wk)
  y = linear(q * gelu(k), wo)
  return y
}
