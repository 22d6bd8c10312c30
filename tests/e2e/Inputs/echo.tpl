# An output that is an input too, and not the first one (tests/e2e/output-input.test).
model echo

config {
  hidden = 8
}

weights {
  up : [hidden, hidden] = "up_proj.weight"
}

forward(a: f32[batch, hidden], x: f32[batch, hidden]) -> (x, y) {
  y = linear(a, up)
  return x, y
}
