# One mistake, one message: a name whose binding or declaration failed stands for a placeholder
# whose later uses say nothing (no "unknown name", no "must be a tensor, saw a number"). Of a
# call's arguments, a wrong one is reported before a missing one.
# RUN: not %tpc %s --emit ir 2>&1 | FileCheck %s --implicit-check-not=error:
model cascades
config { hidden = 8  layers = 2  eps = 1e-5 }
weights {
  w : [hidden, hidden] = "w"
  n : [hidden]         = "n"
  layers[2] { a : [hidden] = "layers.{i}.a" }
# CHECK: [[@LINE-1]]:3: error: group 'layers' is also a config value (defined at line 6)
  layer[layers] { v : [hidden, hidden] = "layer.{i}.v" }
}
forward(x: f32[s, hidden], t: f16[s, hidden], u: f32[s, 0], eps: f32[s], x: f32[s],
# CHECK: [[@LINE-1]]:31: error: unknown type 'f16' (expected f32 or i32)
# CHECK: [[@LINE-2]]:57: error: an input's dimension must be at least 1, saw 0
# CHECK: [[@LINE-3]]:61: error: input 'eps' is already a config value
# CHECK: [[@LINE-4]]:74: error: input 'x' is already an input
        z: f32[s, hidden]) -> (y) {
  hidden = linear(t, w)
# CHECK: [[@LINE-1]]:3: error: 'hidden' is a config value and cannot be rebound (choose another name)
  h1 = linear(hidden, w) + linear(u, w) + eps
  w = h1 * 2
# CHECK: [[@LINE-1]]:3: error: 'w' is a weight and cannot be rebound (choose another name)
  h2 = linear(w, w)
  for l in layers {
    h3 = h2 + l.a
  }
  h4 = h3 * 2
  for l in layer {
    h5 = linear(h4, l.vv)
# CHECK: [[@LINE-1]]:23: error: group 'layer' has no weight 'vv' (did you mean 'v'?)
    h6 = linear(h5, l.v)
  }
  h7 = h5 + h6
  h8, h9 = linear(h7, w)
# CHECK: [[@LINE-1]]:12: error: only 'split' gives several values; 2 names are bound here
  h10 = h8 + h9
  h11 = layernorm(z, n, 1e-5)
# CHECK: [[@LINE-1]]:25: error: 'b' of 'layernorm' must be a tensor, saw a number
  y = x + h11
  return y
}
