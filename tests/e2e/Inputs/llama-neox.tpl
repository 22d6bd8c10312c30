# The Llama of models/llama.tpl with RoPE variants for tests/e2e/rope.test: rotate_half, partial rotation.
# tensor names (LlamaForCausalLM), so a checkpoint from the Hub loads without edits.
# Defaults: Meta-Llama-3-8B. Llama-2-7B is -D vocab=32000 -D kv_heads=32 -D intermediate=11008
# -D rope_theta=10000.0; a tied head (Llama 3.2 1B) uses `embed` for the logits.
model llama_rope

config {
  vocab        = 128256
  hidden       = 4096
  layers       = 32
  heads        = 32
  kv_heads     = 8
  head_dim     = hidden / heads        # integer division must be exact
  intermediate = 14336
  eps          = 1e-5
  rope_theta   = 500000.0
  rotary       = head_dim
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
    q = rope(linear(h, l.wq), heads=heads, theta=rope_theta, style=neox, rotary_dim=rotary)
    k = rope(linear(h, l.wk), heads=kv_heads, theta=rope_theta, style=neox, rotary_dim=rotary)
    v = linear(h, l.wv)
    x = x + linear(attention(q, k, v, heads=heads, kv_heads=kv_heads, causal=true), l.wo)
    h = rmsnorm(x, l.mlp_norm, eps)
    x = x + linear(silu(linear(h, l.gate)) * linear(h, l.up), l.down)
  }
  logits = linear(rmsnorm(x, norm, eps), lm_head)
  return logits
}
