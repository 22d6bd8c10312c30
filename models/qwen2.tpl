# Qwen2 decoder: Llama's block with biases on the q, k and v projections, Hugging Face's
# tensor names (Qwen2ForCausalLM). Defaults: Qwen2-0.5B, whose LM head is tied to the token
# embedding (tie_word_embeddings), so the checkpoint has no lm_head.weight.
model qwen2

config {
  vocab        = 151936
  hidden       = 896
  layers       = 24
  heads        = 14
  kv_heads     = 2
  head_dim     = hidden / heads
  intermediate = 4864
  eps          = 1e-6
  rope_theta   = 1000000.0
}

weights {
  embed : [vocab, hidden] = "model.embed_tokens.weight"
  layer[layers] {
    attn_norm : [hidden]                      = "model.layers.{i}.input_layernorm.weight"
    wq        : [heads * head_dim, hidden]    = "model.layers.{i}.self_attn.q_proj.weight"
    bq        : [heads * head_dim]            = "model.layers.{i}.self_attn.q_proj.bias"
    wk        : [kv_heads * head_dim, hidden] = "model.layers.{i}.self_attn.k_proj.weight"
    bk        : [kv_heads * head_dim]         = "model.layers.{i}.self_attn.k_proj.bias"
    wv        : [kv_heads * head_dim, hidden] = "model.layers.{i}.self_attn.v_proj.weight"
    bv        : [kv_heads * head_dim]         = "model.layers.{i}.self_attn.v_proj.bias"
    wo        : [hidden, heads * head_dim]    = "model.layers.{i}.self_attn.o_proj.weight"
    mlp_norm  : [hidden]                      = "model.layers.{i}.post_attention_layernorm.weight"
    gate      : [intermediate, hidden]        = "model.layers.{i}.mlp.gate_proj.weight"
    up        : [intermediate, hidden]        = "model.layers.{i}.mlp.up_proj.weight"
    down      : [hidden, intermediate]        = "model.layers.{i}.mlp.down_proj.weight"
  }
  norm : [hidden] = "model.norm.weight"
}

forward(tokens: i32[batch, seq]) -> (logits) {
  x = embedding(tokens, embed)
  for l in layer {
    h = rmsnorm(x, l.attn_norm, eps)
    q = rope(linear(h, l.wq, l.bq), heads=heads, theta=rope_theta)
    k = rope(linear(h, l.wk, l.bk), heads=kv_heads, theta=rope_theta)
    v = linear(h, l.wv, l.bv)
    x = x + linear(attention(q, k, v, heads=heads, kv_heads=kv_heads, causal=true), l.wo)
    h = rmsnorm(x, l.mlp_norm, eps)
    x = x + linear(silu(linear(h, l.gate)) * linear(h, l.up), l.down)
  }
  logits = linear(rmsnorm(x, norm, eps), embed)     # tied head
  return logits
}
