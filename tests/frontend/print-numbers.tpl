# The IR loses nothing of what the file says: a number prints in the shortest form that reads
# back as the same double (not %g's six digits), and a checkpoint name prints as a .tpl string,
# with its '"' and '\' escaped.
# RUN: %tpc %s --emit ir --stop-after sema | FileCheck %s
model print_numbers
config { hidden = 64  heads = 2  theta = 1234567.5 }
weights {
  n : [hidden] = "odd \"name\" with a \\ in it"
# CHECK: @n {{ *}}: f32[64] {{ *}}= "odd \"name\" with a \\ in it"
}
forward(x: f32[b, s, hidden]) -> (y) {
  h = rmsnorm(x, 1.0 + n, 1.2345678901e-7) * 0.1
# CHECK: add 1, @n
# CHECK: rmsnorm %x, %{{.*}}, eps=1.2345678901e-07 {{ *}}:
# CHECK: mul %{{.*}}, 0.1 {{ *}}:
  q = rope(h, heads=heads, theta=theta)
# CHECK: rope %h, heads=2, theta=1234567.5 {{ *}}:
  y = attention(q, h, h, heads=heads, causal=true, scale=1 / sqrt(3)) * 100000000000000000000.0
# CHECK: attention %q, %h, %h, heads=2, kv_heads=2, causal=true, scale=0.5773502691896258 {{ *}}:
# CHECK: mul %{{.*}}, 1e+20 {{ *}}:
  return y
}
