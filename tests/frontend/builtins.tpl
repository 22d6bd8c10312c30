# The shape rule of every built-in (spec/LANGUAGE.md, "Expressions and built-ins"), with
# symbolic dimensions and NumPy broadcasting.
# RUN: %tpc %s --emit ir --stop-after sema | FileCheck %s
model builtins
config { hidden = 8  inter = 12  heads = 4  kv = 2  vocab = 10  eps = 1e-5 }
weights {
  w    : [inter, hidden] = "w"
  b    : [inter]         = "b"
  conv : [hidden, inter] = "conv"
  n    : [hidden]        = "n"
  nb   : [hidden]        = "nb"
  table: [vocab, hidden] = "table"
  kvw  : [4, hidden]     = "kvw"
}
forward(x: f32[batch, seq, hidden], ids: i32[batch, seq], m: f32[batch, seq],
        row: f32[1, seq, 1]) -> (out, pooled) {
  a1 = linear(x, w)
# CHECK: %a1 = linear %x, @w {{ *}}: f32[batch,seq,12]
  a2 = linear(x, w, b)
# CHECK: %a2 = linear %x, @w, @b {{ *}}: f32[batch,seq,12]
  a = matmul(x, conv) + a1 + a2
# CHECK: matmul %x, @conv {{ *}}: f32[batch,seq,12]
  e = embedding(ids, table)
# CHECK: %e = embedding %ids, @table {{ *}}: f32[batch,seq,8]
  p = positions(ids)
# CHECK: %p = positions %ids {{ *}}: i32[batch,seq]
  e = e + embedding(p, table)
  r = rmsnorm(x, n, eps)
# CHECK: %r = rmsnorm %x, @n, eps=1e-05 {{ *}}: f32[batch,seq,8]
  r = layernorm(r, n, nb, 1e-12)
# CHECK: %r.1 = layernorm %r, @n, @nb, eps=1e-12 {{ *}}: f32[batch,seq,8]
  u = silu(x) + gelu(x) + gelu_tanh(x) + relu(x) + sigmoid(x) + tanh(x) + exp(x)
  u = sqrt(exp(u)) * rsqrt(exp(u)) - -u
# CHECK: neg
  s = softmax(u) + normalize(u)
# CHECK: softmax
# CHECK: normalize
  s1, s2, s3 = split(a, 4, 4, 4)
# CHECK: %s1, %s2, %s3 = split %a, 4, 4, 4 {{ *}}: f32[batch,seq,4], f32[batch,seq,4], f32[batch,seq,4]
  c = concat(s1, s3 + s2 * 0, x)
# CHECK: %c = concat %s1, {{.*}}, %x {{ *}}: f32[batch,seq,16]
  pooled = mean(x, 1) + sum(x, -2, mask=m) + mean(x, 1, mask=m)
# CHECK: mean %x, dim=1 {{ *}}: f32[batch,8]
# CHECK: sum %x, %m, dim=1 {{ *}}: f32[batch,8]
  q = rope(x, heads=heads, theta=10000.0)
# CHECK: %q = rope %x, heads=4, theta=10000 {{ *}}: f32[batch,seq,8]
  k = rope(linear(x, kvw), heads=kv, style=gptj, rotary_dim=2)
# CHECK: %k = rope {{.*}}, heads=2, theta=10000, style=gptj, rotary_dim=2 {{ *}}: f32[batch,seq,4]
  o = attention(q, k, linear(x, kvw), heads=heads, kv_heads=kv, causal=true, scale=0.5)
# CHECK: %o = attention %q, %k, {{.*}}, heads=4, kv_heads=2, causal=true, scale=0.5 {{ *}}: f32[batch,seq,8]
  o = o + attention(q, q, q, causal=false, heads=heads, mask=m)
# CHECK: attention %q, %q, %q, %m, heads=4, kv_heads=4, causal=false {{ *}}: f32[batch,seq,8]
  scaled = x * (hidden / 2) + 1.5 / x + row
# CHECK: mul %x, 4
# CHECK: div 1.5, %x
# CHECK: add {{.*}}, %row {{ *}}: f32[batch,seq,8]
  h = linear(x, w) @col + linear(x, w) @row + linear(x, w) @replicated
# CHECK: linear %x, @w @col
# CHECK: linear %x, @w @row
# CHECK: linear %x, @w @replicated
  out = concat(e, r, u, s, c, o, scaled, h) * sqrt(hidden * 2)
# CHECK: mul {{.*}}, 4 {{ *}}: f32[batch,seq,76]
  return out, pooled
# CHECK-NEXT: return %out, %pooled
}
