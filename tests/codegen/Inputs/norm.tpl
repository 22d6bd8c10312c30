# An RMSNorm, a scaled residual and an attention whose scale is a whole number: every
# constant prints as a floating constant C reads back exactly ("1.0f", never "1f").
model norm

config {
  hidden = 8
  heads  = 2
  eps    = 1e-6
  scale  = 1.0
  hidden_mlp = 4
}

weights {
  w  : [hidden] = "norm.weight"
  up : [hidden_mlp, hidden] = "up.weight"
  down : [hidden, hidden_mlp] = "down.weight"
}

forward(x: f32[batch, seq, hidden]) -> (y) {
  h = rmsnorm(x, w, eps)
  a = attention(h, h, h, heads=heads, scale=scale, causal=true)
  y = x * 1 + a * 2.0 + linear(silu(linear(h, up)), down) * 0
  return y
}
