# Lexical errors: unterminated strings are reported at their opening quote, bad bytes by value.
# RUN: not %tpc %s --emit ir 2>&1 | FileCheck %s
model lexical
config { hidden = 8  big = 99999999999999999999 }
# CHECK: [[@LINE-1]]:28: error: integer literal too large (limit is 9223372036854775807)
weights {
  w : [hidden, hidden] = "w.weight
# CHECK: [[@LINE-1]]:26: error: unterminated string (a string ends on the line it starts)
  v : [hidden] = "bad\escape"
# CHECK: [[@LINE-1]]:22: error: unknown escape '\e' (a string may escape only \" and \\)
}
forward(x: f32[n, hidden]) -> (y) {
  y = x ` 1
# CHECK: [[@LINE-1]]:9: error: unexpected character '`'
  return y
}
