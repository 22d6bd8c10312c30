# A table of 2^31 elements, and a weight after it: offsets past 2^31 elements on one rank.
model big

config {
  rows = 131072
  cols = 16384
}

weights {
  table : [rows, cols] = "table"
  scale : [cols] = "scale"
}

forward(ids: i32[batch, seq]) -> (y) {
  y = embedding(ids, table) * scale
  return y
}
