# Loops follow Python: a name rebound in the body is carried into the next block and past the
# loop; a name first bound in the body is visible after it with its last value; a loop whose
# body changes a carried value's shape is an error.
# RUN: %tpc %s --emit ir --stop-after sema | FileCheck %s
# RUN: not %tpc %s --emit ir -D bad=1 2>&1 | FileCheck %s --check-prefix=ERR
model loops
config { hidden = 8  layers = 3  bad = 0  width = hidden + bad * 4 }
weights {
  layer[layers] {
    w : [width, hidden] = "layers.{i}.w"
    u : [hidden, hidden] = "layers.{i}.u"
  }
}
forward(input: f32[n, hidden]) -> (y) {
  x = input
  for l in layer {
    last = linear(x, l.u)
    x = linear(last, l.w)
# ERR: [[@LINE-1]]:5: error: 'x' changes shape in the loop body: f32[n, 8] when the loop starts, f32[n, 12] at the end of a block
  }
  y = x + last
  return y
}
# CHECK:      %[[R:.*]], %[[LAST:.*]] = for @layer[3] iter(%[[X:.*]] = %input) {
# CHECK-NEXT:   %last = linear %[[X]], @layer.u
# CHECK-NEXT:   %[[NEW:.*]] = linear %last, @layer.w
# CHECK-NEXT:   yield %[[NEW]], %last
# CHECK-NEXT: }
# CHECK-NEXT: %y = add %[[R]], %[[LAST]]
