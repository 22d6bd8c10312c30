# Config evaluation: exact integer division, overflow, names defined before use, duplicates,
# and what config expressions may contain.
# RUN: not %tpc %s --emit ir 2>&1 | FileCheck %s
model config_errors
config {
  hidden   = 4096
  heads    = 30
  head_dim = hidden / heads
# CHECK: [[@LINE-1]]:21: error: integer division 4096 / 30 leaves a remainder of 16 (write a float, e.g. 4096.0, for a fraction)
  huge     = 9223372036854775807 * 2
# CHECK: [[@LINE-1]]:34: error: integer overflow in '*' (9223372036854775807 * 2)
  early    = later + 1
# CHECK: [[@LINE-1]]:14: error: unknown name 'later' (expected a number or a config value defined above)
  later    = 3
  hidden   = 5
# CHECK: [[@LINE-1]]:3: error: config value 'hidden' is defined twice (first at line 6)
  zero     = hidden % 0
# CHECK: [[@LINE-1]]:21: error: division by zero
  odd      = 2.5 % 2
# CHECK: [[@LINE-1]]:18: error: '%' needs two integers
  called   = silu(2)
# CHECK: [[@LINE-1]]:14: error: expected a number: config expressions are built from numbers, config values and + - * / % ( )
}
weights { w : [hidden, hidden] = "w" }
forward(x: f32[n, hidden]) -> (y) {
  y = linear(x, w)
  return y
}
