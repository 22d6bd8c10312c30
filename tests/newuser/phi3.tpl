# Phi-3 decoder (Phi3ForCausalLM), Hugging Face tensor names: q, k and v come from one fused
# qkv_proj weight, gate and up from one fused gate_up_proj weight (gate first, as HF's
# `gate, up = gate_up.chunk(2, dim=-1)`). Defaults: Phi-3-mini-4k-instruct.
#
# RUN: %tpc %s --emit ir | FileCheck %s
# RUN: %tpc %s --emit ir -D layers=2 -D hidden=256 -D heads=8 -D kv_heads=2 -D intermediate=640 | FileCheck %s --check-prefix=GQA
# CHECK: @layer.qkv {{.*}}: f32[9216,3072]
# CHECK: @layer.gate_up {{.*}}: f32[16384,3072]
# CHECK: for @layer[32] iter(
# CHECK: %q, %k, %v = split {{.*}}, 3072, 3072, 3072 :
# CHECK: attention {{.*}}heads=32, kv_heads=32, causal=true
# CHECK: %g, %u = split {{.*}}, 8192, 8192 :
# CHECK: %logits = linear {{.*}}: f32[batch,seq,32064]
# GQA: @layer.qkv {{.*}}: f32[384,256]
# GQA: split {{.*}}, 256, 64, 64 : f32[batch,seq,256]{{.*}}, f32[batch,seq,64]{{.*}}, f32[batch,seq,64]
# GQA: split {{.*}}, 640, 640 :
model phi3

config {
  vocab        = 32064
  hidden       = 3072
  layers       = 32
  heads        = 32
  kv_heads     = 32
  head_dim     = hidden / heads
  intermediate = 8192
  eps          = 1e-5
  rope_theta   = 10000.0
}

weights {
  embed : [vocab, hidden] = "model.embed_tokens.weight"
  layer[layers] {
    attn_norm : [hidden]                                  = "model.layers.{i}.input_layernorm.weight"
    qkv       : [(heads + 2 * kv_heads) * head_dim, hidden] = "model.layers.{i}.self_attn.qkv_proj.weight"
    wo        : [hidden, heads * head_dim]                = "model.layers.{i}.self_attn.o_proj.weight"
    mlp_norm  : [hidden]                                  = "model.layers.{i}.post_attention_layernorm.weight"
    gate_up   : [2 * intermediate, hidden]                = "model.layers.{i}.mlp.gate_up_proj.weight"
    down      : [hidden, intermediate]                    = "model.layers.{i}.mlp.down_proj.weight"
  }
  norm    : [hidden]        = "model.norm.weight"
  lm_head : [vocab, hidden] = "lm_head.weight"
}

forward(tokens: i32[batch, seq]) -> (logits) {
  x = embedding(tokens, embed)
  for l in layer {
    h = rmsnorm(x, l.attn_norm, eps)
    q, k, v = split(linear(h, l.qkv), heads * head_dim, kv_heads * head_dim, kv_heads * head_dim)
    q = rope(q, heads=heads, theta=rope_theta)
    k = rope(k, heads=kv_heads, theta=rope_theta)
    x = x + linear(attention(q, k, v, heads=heads, kv_heads=kv_heads, causal=true), l.wo)
    h = rmsnorm(x, l.mlp_norm, eps)
    g, u = split(linear(h, l.gate_up), intermediate, intermediate)
    x = x + linear(u * silu(g), l.down)
  }
  logits = linear(rmsnorm(x, norm, eps), lm_head)
  return logits
}
