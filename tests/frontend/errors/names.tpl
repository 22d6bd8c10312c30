# Name resolution in forward: unknown names, groups and loop variables used as values, members
# that do not exist or are used outside their loop, and names that may not be rebound.
# RUN: not %tpc %s --emit ir 2>&1 | FileCheck %s
model names
config { hidden = 8  layers = 2  eps = 1e-5 }
weights {
  embed : [16, hidden] = "embed"
  layer[layers] {
    norm : [hidden]         = "layers.{i}.norm"
    w    : [hidden, hidden] = "layers.{i}.w"
  }
}
forward(x: f32[n, hidden]) -> (y) {
  a = linear(x, wq)
# CHECK: [[@LINE-1]]:17: error: unknown name 'wq'
  b = linear(x, layer)
# CHECK: [[@LINE-1]]:17: error: 'layer' is a weights group; its weights are used inside 'for l in layer { ... }' as 'l.NAME'
  c = rmsnorm(x, l.norm, eps)
# CHECK: [[@LINE-1]]:18: error: 'l' is not a loop variable ('l.norm' needs 'for l in GROUP')
  for l in layer {
    d = linear(x, l.wrong)
# CHECK: [[@LINE-1]]:21: error: group 'layer' has no weight 'wrong'
    e = l
# CHECK: [[@LINE-1]]:9: error: 'l' is a block of group 'layer'; use one of its weights, 'l.NAME'
    x2 = x + nothing
# CHECK: [[@LINE-1]]:14: error: unknown name 'nothing'
  }
  for l in notgroup {
# CHECK: [[@LINE-1]]:12: error: 'notgroup' is not a weights group
  }
  hidden = x
# CHECK: [[@LINE-1]]:3: error: 'hidden' is a config value and cannot be rebound (choose another name)
  embed = x
# CHECK: [[@LINE-1]]:3: error: 'embed' is a weight and cannot be rebound (choose another name)
  layer = x
# CHECK: [[@LINE-1]]:3: error: 'layer' is a weights group and cannot be rebound (choose another name)
  x = x * 2
# CHECK: [[@LINE-1]]:3: error: 'x' is an input and cannot be rebound (choose another name)
  eps = x
# CHECK: [[@LINE-1]]:3: error: 'eps' is a config value and cannot be rebound (choose another name)
  f = frobnicate(x)
# CHECK: [[@LINE-1]]:7: error: unknown function 'frobnicate'
  y = x
  return y
}
