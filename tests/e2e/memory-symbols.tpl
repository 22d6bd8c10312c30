# RUN: %tpc %s --emit ir | FileCheck %s
# A buffer is reused only by a value whose size has the same symbolic dimensions: symbol 64
# (d64) is not symbol 0 (d0), so %v may not take %u's buffer, sized by d0 (symbols were
# compared modulo 64).
model symbols
forward(a: f32[d0, 4],
        p0: f32[d1, d2, d3, d4, d5, d6, d7, d8],
        p1: f32[d9, d10, d11, d12, d13, d14, d15, d16],
        p2: f32[d17, d18, d19, d20, d21, d22, d23, d24],
        p3: f32[d25, d26, d27, d28, d29, d30, d31, d32],
        p4: f32[d33, d34, d35, d36, d37, d38, d39, d40],
        p5: f32[d41, d42, d43, d44, d45, d46, d47, d48],
        p6: f32[d49, d50, d51, d52, d53, d54, d55, d56],
        p7: f32[d57, d58, d59, d60, d61, d62, d63],
        b: f32[d64, 4]) -> (y, z) {
  u = exp(a)
  # CHECK: %u = exp %a {{ *}}: f32[d0,4] ; buffer 0
  y = sum(u, dim=0)
  # CHECK-NEXT: %y = sum %u, dim=0 {{ *}}: f32[4] ; buffer 1
  v = exp(b)
  # CHECK-NEXT: %v = exp %b {{ *}}: f32[d64,4] ; buffer 2
  z = sum(v, dim=0)
  return y, z
}
