# Statements: destructuring only from split, split sizes against its names, loops that nest,
# return inside a loop, a return list that does not match '-> (...)', statements after return.
# RUN: not %tpc %s --emit ir 2>&1 | FileCheck %s
model statements
config { hidden = 8  layers = 2 }
weights {
  w : [hidden, hidden] = "w"
  layer[layers] { v : [hidden, hidden] = "layers.{i}.v" }
}
forward(x: f32[n, hidden]) -> (y, z) {
  a, b = linear(x, w)
# CHECK: [[@LINE-1]]:10: error: only 'split' gives several values; 2 names are bound here
  c, d = split(x, 4, 4, 0)
# CHECK: [[@LINE-1]]:10: error: 'split' into 3 parts is bound to 2 names
  e, f = split(x, 2, 2, 4)
# CHECK: [[@LINE-1]]:10: error: 'split' into 3 parts is bound to 2 names
  g = split(x, 4, 4)
# CHECK: [[@LINE-1]]:7: error: 'split' gives several values: bind them with 'a, b = split(x, ...)'
  p, q = split(x, 4, 5)
# CHECK: [[@LINE-1]]:10: error: split sizes add up to 9, but the last dimension is 8
  for l in layer {
    for m in layer { }
# CHECK: [[@LINE-1]]:5: error: loops do not nest (this one is inside the loop over 'layer')
    return x
# CHECK: [[@LINE-1]]:5: error: return inside a loop (it ends forward, after the loops)
  }
  s = 2 * 3
# CHECK: [[@LINE-1]]:3: error: 's' would be a number; names in forward hold tensors (put numbers in config)
  y = x
  return z, y
# CHECK: [[@LINE-1]]:10: error: return's value 1 is 'z', but '-> (...)' names output 1 'y'
  t = x
}
