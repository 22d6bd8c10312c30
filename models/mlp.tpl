# The seed's two-layer MLP: up-projection, GELU, down-projection.
# Sharded, it is Megatron's MLP: column-parallel up, row-parallel down, one all-reduce.
model mlp

config {
  hidden       = 128
  intermediate = 512
}

weights {
  up   : [intermediate, hidden] = "up_proj.weight"
  down : [hidden, intermediate] = "down_proj.weight"
}

forward(x: f32[batch, seq, hidden]) -> (y) {
  y = linear(gelu(linear(x, up)), down)
  return y
}
