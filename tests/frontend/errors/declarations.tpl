# Declarations: duplicate weights, groups and inputs; dimensions and counts that are not
# positive integers; checkpoint names and the {i} block index; input types; outputs.
# RUN: not %tpc %s --emit ir 2>&1 | FileCheck %s
model declarations
config { hidden = 8  layers = 2  half = 0.5 }
weights {
  w : [hidden, hidden] = "w"
  w : [hidden] = "w2"
# CHECK: [[@LINE-1]]:3: error: weight 'w' is declared twice (first at line [[#@LINE-2]])
  zero : [hidden, 0] = "zero"
# CHECK: [[@LINE-1]]:19: error: a weight's dimension must be at least 1, saw 0
  frac : [half] = "frac"
# CHECK: [[@LINE-1]]:11: error: a weight's dimension must be an integer, saw 0.5
  noindex : [hidden] = "layers.{i}.x"
# CHECK: [[@LINE-1]]:24: error: '{i}' is the block index of a group; 'noindex' is not in one
  empty : [hidden] = ""
# CHECK: [[@LINE-1]]:22: error: empty checkpoint name
  braces : [hidden] = "layers.{j}.x"
# CHECK: [[@LINE-1]]:23: error: checkpoint names may hold '{i}' (the block index) and no other braces
  layer[layers] {
    a : [hidden] = "layers.a"
# CHECK: [[@LINE-1]]:20: error: a group's checkpoint name needs '{i}', the block index: every block has its own tensor
    b : [hidden] = "layers.{i}.b"
    b : [hidden] = "layers.{i}.b2"
# CHECK: [[@LINE-1]]:5: error: weight 'b' is declared twice (first at line [[#@LINE-2]])
  }
  none[0] { c : [hidden] = "c.{i}" }
# CHECK: [[@LINE-1]]:8: error: a group's count must be at least 1, saw 0
}
forward(x: f32[n, hidden], x: f32[n, hidden], t: f16[n], hidden: f32[n]) -> (y, y) {
# CHECK: [[@LINE-1]]:28: error: input 'x' is already an input
# CHECK: [[@LINE-2]]:50: error: unknown type 'f16' (expected f32 or i32)
# CHECK: [[@LINE-3]]:58: error: input 'hidden' is already a config value
# CHECK: [[@LINE-4]]:81: error: output 'y' is named twice
  y = linear(x, w)
  return y, y
}
