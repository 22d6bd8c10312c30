# Syntax errors say what was expected and what was seen, and name the bracket a missing closer
# would close. The parser recovers at the next statement, so each error here is reported.
# RUN: not %tpc %s --emit ir 2>&1 | FileCheck %s
model syntax
config { hidden = 8 }
weights { w : [hidden, hidden] = "w" }
forward(x: f32[n, hidden]) -> (y) {
  a = linear(x, w
  b = x * * 2
# CHECK: [[@LINE-1]]:3: error: expected ',' or ')' (to close '(' at line [[#@LINE-2]]), saw name 'b'
# CHECK-NEXT: {{^}}    b = x * * 2
# CHECK-NEXT: {{^}}    ^{{$}}
# CHECK: [[@LINE-4]]:11: error: unexpected '*'
  c = x $ 2
# CHECK: [[@LINE-1]]:9: error: unexpected character '$'
  ok = x
  d = [x]
# CHECK: [[@LINE-1]]:7: error: unexpected '['
  ok2 = x
  e = linear(x w)
# CHECK: [[@LINE-1]]:16: error: expected ',' or ')' (to close '(' at line [[#@LINE-1]]), saw name 'w'
  ok3 = x
  f = x +
  y = x
# CHECK: [[@LINE-1]]:5: error: unexpected '=' (is the statement before line [[#@LINE-1]] unfinished?)
  return y
}
