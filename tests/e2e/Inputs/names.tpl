# A small Llama whose names are the generated C's own: variables named after the program's
# helpers (attention, read), its kernels (rmsnorm, attention_softmax), an input after its
# declarations table (program), and a standalone tanh, whose kernel would be math.h's tanh.
# For tests/e2e/names.test.
model names

config {
  vocab        = 96
  hidden       = 32
  layers       = 2
  heads        = 4
  kv_heads     = 2
  head_dim     = hidden / heads
  intermediate = 48
  eps          = 1e-5
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

forward(program: i32[batch, seq]) -> (logits) {
  x = embedding(program, embed)
  for l in layer {
    attention = rmsnorm(x, l.attn_norm, eps)
    read = rope(linear(attention, l.wq), heads=heads, theta=10000.0)
    attention_softmax = rope(linear(attention, l.wk), heads=kv_heads, theta=10000.0)
    rmsnorm = linear(attention, l.wv)
    a = attention(read, attention_softmax, rmsnorm, heads=heads, kv_heads=kv_heads, causal=true)
    x = x + linear(a, l.wo)
    attention = rmsnorm(x, l.mlp_norm, eps)
    x = x + linear(silu(linear(attention, l.gate)) * linear(attention, l.up), l.down)
  }
  squashed = tanh(rmsnorm(x, norm, eps))
  logits = linear(squashed, lm_head)
  return logits
}
