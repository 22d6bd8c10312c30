# Dimensions named after allocate_buffers' helper (largest) and local (total), and an input
# named after forward's parameter (rank). For tests/e2e/names.test.
model dims

config {
  hidden = 8
}

weights {
  up   : [4 * hidden, hidden] = "up_proj.weight"
  down : [hidden, 4 * hidden] = "down_proj.weight"
}

forward(rank: f32[largest, total, hidden]) -> (y) {
  y = linear(gelu(linear(rank, up)), down)
  return y
}
