# Sums of GEMMs with one another and with elementwise chains: at most one GEMM accumulates into
# a sum (its epilogue), and a sum that is an epilogue is no elementwise kernel's.
model epilogues
config { hidden = 48 }
weights {
  n1 : [hidden]         = "n1.weight"
  n2 : [hidden]         = "n2.weight"
  w1 : [hidden, hidden] = "w1.weight"
  w2 : [hidden, hidden] = "w2.weight"
  w3 : [hidden, hidden] = "w3.weight"
  w4 : [hidden, hidden] = "w4.weight"
  w5 : [hidden, hidden] = "w5.weight"
  w6 : [hidden, hidden] = "w6.weight"
  w7 : [hidden, hidden] = "w7.weight"
}
forward(x: f32[batch, seq, hidden], z: f32[batch, seq, hidden]) -> (y) {
  a = rmsnorm(x, n1, 1e-5)
  b = rmsnorm(z, n2, 1e-5)
  s = linear(a, w1) + linear(b, w2)
  t = gelu(b) + linear(s, w3)
  u = gelu(linear(t, w4) + a)
  v = (linear(u, w5) + t) * a
  y = v + linear(x, w6) + linear(z, w7)
  return y
}
