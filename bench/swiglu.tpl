# The benchmark's SwiGLU MLP (Llama's MLP block alone): y = down(silu(gate(x)) * up(x)).
# Sizes are set with -D: hidden 1024 / intermediate 4096, and 2048 / 5632.
model swiglu

config {
  hidden       = 1024
  intermediate = 4096
}

weights {
  gate : [intermediate, hidden] = "gate_proj.weight"
  up   : [intermediate, hidden] = "up_proj.weight"
  down : [hidden, intermediate] = "down_proj.weight"
}

forward(x: f32[batch, seq, hidden]) -> (y) {
  y = linear(silu(linear(x, gate)) * linear(x, up), down)
  return y
}
