# Messages that say exactly what is wrong: a name declared twice says where it was first, a
# name that is also a config value says so, True and False point at the lowercase keywords, and
# an unknown name, member, function or group gets the closest known one (at most two edits).
# RUN: not %tpc %s --emit ir 2>&1 | FileCheck %s --implicit-check-not=error:
model suggestions
config { hidden = 8  layers = 2  eps = 1e-5  heads = 2 }
weights {
  embed : [16, hidden] = "embed"
  embed : [16, hidden] = "embed2"
# CHECK: [[@LINE-1]]:3: error: weight 'embed' is declared twice (first at line 8)
  eps : [hidden] = "eps"
# CHECK: [[@LINE-1]]:3: error: weight 'eps' is also a config value (defined at line 6)
  layer[layers] {
    wq   : [hidden, hidden] = "layers.{i}.wq"
    norm : [hidden]         = "layers.{i}.norm"
    norm : [hidden]         = "layers.{i}.norm2"
# CHECK: [[@LINE-1]]:5: error: weight 'norm' is declared twice (first at line [[#@LINE-2]])
    hidden : [hidden]       = "layers.{i}.hidden"
  }
  embed[layers] { x : [hidden] = "x.{i}" }
# CHECK: [[@LINE-1]]:3: error: group 'embed' is declared twice (first at line 8, as a weight)
}
forward(tokens: i32[b, s], mask: f32[b, s]) -> (y) {
  x = embedding(tokens, embd)
# CHECK: [[@LINE-1]]:25: error: unknown name 'embd' (did you mean 'embed'?)
  for l in layer {
    q = linear(x, l.wqq)
# CHECK: [[@LINE-1]]:21: error: group 'layer' has no weight 'wqq' (did you mean 'wq'?)
    h = rmsnorm(x, l.nrom, eps)
# CHECK: [[@LINE-1]]:22: error: group 'layer' has no weight 'nrom' (did you mean 'norm'?)
    a = attention(x, x, x, heads=heads, causal=True)
# CHECK: [[@LINE-1]]:48: error: 'causal' must be true or false (true and false are lowercase)
    k = attention(x, x, x, heads=heads, causal=FALSE)
# CHECK: [[@LINE-1]]:48: error: 'causal' must be true or false (true and false are lowercase)
  }
  for l in layr { }
# CHECK: [[@LINE-1]]:12: error: 'layr' is not a weights group (did you mean 'layer'?)
  z = silu(xx) + sigmoind(x) + rmsnorm(x, l.norm, epss)
# CHECK: [[@LINE-1]]:12: error: unknown name 'xx' (did you mean 'x'?)
# CHECK: [[@LINE-2]]:18: error: unknown function 'sigmoind' (did you mean 'sigmoid'?)
# CHECK: [[@LINE-3]]:43: error: 'l' is not a loop variable ('l.norm' needs 'for l in GROUP')
# CHECK: [[@LINE-4]]:51: error: unknown name 'epss' (did you mean 'eps'?)
  y = x
  return y
}
