# Mistral decoder (MistralForCausalLM), Hugging Face tensor names. Sliding-window attention is
# not modelled (full causal attention; identical for seq <= sliding_window = 4096).
# Defaults: Mistral-7B-v0.1.
#
# RUN: %tpc %s --emit ir | FileCheck %s
# RUN: %tpc %s --emit ir -D layers=2 -D hidden=256 -D heads=4 -D kv_heads=2 -D intermediate=512 -D vocab=1000 | FileCheck %s --check-prefix=SMALL
# CHECK: model mistral
# CHECK: @layer.wk {{.*}}: f32[1024,4096]
# CHECK: for @layer[32] iter(
# CHECK: rope {{.*}}heads=8, theta=10000 :
# CHECK: attention {{.*}}heads=32, kv_heads=8, causal=true : f32[batch,seq,4096]
# CHECK: silu
# CHECK: %logits = linear {{.*}}@lm_head {{.*}}: f32[batch,seq,32000]
# CHECK-NEXT: return %logits
# SMALL: @layer.wk {{.*}}: f32[128,256]
# SMALL: for @layer[2] iter(
# SMALL: attention {{.*}}heads=4, kv_heads=2, causal=true : f32[batch,seq,256]
# SMALL: %logits = linear {{.*}}: f32[batch,seq,1000]
model mistral

config {
  vocab        = 32000
  hidden       = 4096
  layers       = 32
  heads        = 32
  kv_heads     = 8
  head_dim     = hidden / heads
  intermediate = 14336
  eps          = 1e-5
  rope_theta   = 10000.0
}

weights {
  embed : [vocab, hidden] = "model.embed_tokens.weight"
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
  norm    : [hidden]        = "model.norm.weight"
  lm_head : [vocab, hidden] = "lm_head.weight"
}

forward(tokens: i32[batch, seq]) -> (logits) {
  x = embedding(tokens, embed)
  for l in layer {
    h = rmsnorm(x, l.attn_norm, eps)
    q = rope(linear(h, l.wq), heads=heads, theta=rope_theta)
    k = rope(linear(h, l.wk), heads=kv_heads, theta=rope_theta)
    v = linear(h, l.wv)
    x = x + linear(attention(q, k, v, heads=heads, kv_heads=kv_heads, causal=true), l.wo)
    h = rmsnorm(x, l.mlp_norm, eps)
    x = x + linear(silu(linear(h, l.gate)) * linear(h, l.up), l.down)
  }
  logits = linear(rmsnorm(x, norm, eps), lm_head)
  return logits
}
