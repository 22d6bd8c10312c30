# Gemma decoder (GemmaForCausalLM), Hugging Face tensor names. GemmaRMSNorm scales by (1 + w):
# written `rmsnorm(x, 1.0 + w, eps)`. Gated MLP with GELU-tanh (gelu_pytorch_tanh); token
# embeddings scaled by sqrt(hidden); head_dim is its own config value (256, not hidden / heads);
# multi-query attention (kv_heads = 1); LM head tied to the embedding.
# Defaults: google/gemma-2b.
#
# RUN: %tpc %s --emit ir | FileCheck %s
# RUN: %tpc %s --emit ir -D hidden=256 -D layers=2 -D head_dim=32 | FileCheck %s --check-prefix=SMALL
# CHECK: @layer.wq {{.*}}: f32[2048,2048]
# CHECK: @layer.wk {{.*}}: f32[256,2048]
# CHECK: = mul {{.*}}, 45.25{{[0-9]*}} : f32[batch,seq,2048]
# CHECK: for @layer[18] iter(
# CHECK: add 1, @layer.attn_norm {{.*}}: f32[2048]
# CHECK: attention {{.*}}heads=8, kv_heads=1, causal=true : f32[batch,seq,2048]
# CHECK: gelu_tanh
# CHECK: %logits = linear {{.*}}, @embed {{.*}}: f32[batch,seq,256000]
# SMALL: @layer.wq {{.*}}: f32[256,256]
# SMALL: = mul {{.*}}, 16 : f32[batch,seq,256]
# SMALL: for @layer[2] iter(
model gemma

config {
  vocab        = 256000
  hidden       = 2048
  layers       = 18
  heads        = 8
  kv_heads     = 1
  head_dim     = 256
  intermediate = 16384
  eps          = 1e-6
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
  norm : [hidden] = "model.norm.weight"
}

forward(tokens: i32[batch, seq]) -> (logits) {
  x = embedding(tokens, embed) * sqrt(hidden)
  for l in layer {
    h = rmsnorm(x, 1.0 + l.attn_norm, eps)
    q = rope(linear(h, l.wq), heads=heads, theta=rope_theta)
    k = rope(linear(h, l.wk), heads=kv_heads, theta=rope_theta)
    v = linear(h, l.wv)
    x = x + linear(attention(q, k, v, heads=heads, kv_heads=kv_heads, causal=true), l.wo)
    h = rmsnorm(x, 1.0 + l.mlp_norm, eps)
    x = x + linear(gelu_tanh(linear(h, l.gate)) * linear(h, l.up), l.down)
  }
  logits = linear(rmsnorm(x, 1.0 + norm, eps), embed)
  return logits
}
