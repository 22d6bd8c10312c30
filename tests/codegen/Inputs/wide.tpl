# An activation of more than 2^31 elements for a long sequence, and buffers after it.
model wide

config {
  cols = 16384
}

weights {
  table : [8, cols] = "table"
  bias  : [cols] = "bias"
}

forward(ids: i32[batch, seq]) -> (y) {
  e = embedding(ids, table) + bias
  y = mean(e, dim=-1)
  return y
}
