# The benchmark's Llama-shaped decoder stack: hidden 1024, 16 heads over 4 kv heads,
# intermediate 2816, RMSNorm, RoPE, causal attention, SwiGLU; no embedding or head, so the
# layers are what is measured.
model decoder

config {
  hidden       = 1024
  layers       = 4
  heads        = 16
  kv_heads     = 4
  head_dim     = hidden / heads
  intermediate = 2816
  eps          = 1e-5
  rope_theta   = 10000.0
}

weights {
  layer[layers] {
    attn_norm : [hidden]                      = "model.layers.{i}.input_layernorm.weight"
    wq        : [heads * head_dim, hidden]    = "model.layers.{i}.self_attn.q_proj.weight"
    wk        : [kv_heads * head_dim, hidden] = "model.layers.{i}.self_attn.k_proj.weight"
    wv        : [kv_heads * head_dim, hidden] = "model.layers.{i}.self_attn.v_proj.weight"
    wo        : [hidden, heads * head_dim]    = "model.layers.{i}.self_attn.o_proj.weight"
    mlp_norm  : [hidden]                      = "model.layers.{i}.post_attention_layernorm.weight"
    gate      : [intermediate, hidden]        = "model.layers.{i}.mlp.gate_proj.weight"
    up        : [intermediate, hidden]        = "model.layers.{i}.mlp.up_proj.weight"
    down      : [hidden, intermediate]        = "model.layers.{i}.mlp.down_proj.weight"
  }
}

forward(x_in: f32[batch, seq, hidden]) -> (y) {
  x = x_in
  for l in layer {
    h = rmsnorm(x, l.attn_norm, eps)
    q = rope(linear(h, l.wq), heads=heads, theta=rope_theta)
    k = rope(linear(h, l.wk), heads=kv_heads, theta=rope_theta)
    v = linear(h, l.wv)
    x = x + linear(attention(q, k, v, heads=heads, kv_heads=kv_heads, causal=true), l.wo)
    h = rmsnorm(x, l.mlp_norm, eps)
    x = x + linear(silu(linear(h, l.gate)) * linear(h, l.up), l.down)
  }
  y = x
  return y
}
