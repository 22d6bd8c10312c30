# GPT-2 with Hugging Face's tensor names (the Hub's gpt2 model.safetensors, no "transformer."
# prefix). Its Conv1D layers store weights as [in, out] and are used with matmul; c_attn is one
# fused [hidden, 3 * hidden] tensor split into q, k and v; the LM head is tied to wte.
# Defaults: GPT-2 small (124M).
model gpt2

config {
  vocab        = 50257
  n_positions  = 1024
  hidden       = 768
  layers       = 12
  heads        = 12
  intermediate = 4 * hidden
  eps          = 1e-5
}

weights {
  wte : [vocab, hidden]       = "wte.weight"
  wpe : [n_positions, hidden] = "wpe.weight"
  h[layers] {
    ln_1_w    : [hidden]                 = "h.{i}.ln_1.weight"
    ln_1_b    : [hidden]                 = "h.{i}.ln_1.bias"
    c_attn_w  : [hidden, 3 * hidden]     = "h.{i}.attn.c_attn.weight"
    c_attn_b  : [3 * hidden]             = "h.{i}.attn.c_attn.bias"
    c_proj_w  : [hidden, hidden]         = "h.{i}.attn.c_proj.weight"
    c_proj_b  : [hidden]                 = "h.{i}.attn.c_proj.bias"
    ln_2_w    : [hidden]                 = "h.{i}.ln_2.weight"
    ln_2_b    : [hidden]                 = "h.{i}.ln_2.bias"
    c_fc_w    : [hidden, intermediate]   = "h.{i}.mlp.c_fc.weight"
    c_fc_b    : [intermediate]           = "h.{i}.mlp.c_fc.bias"
    mlp_proj_w: [intermediate, hidden]   = "h.{i}.mlp.c_proj.weight"
    mlp_proj_b: [hidden]                 = "h.{i}.mlp.c_proj.bias"
  }
  ln_f_w : [hidden] = "ln_f.weight"
  ln_f_b : [hidden] = "ln_f.bias"
}

forward(tokens: i32[batch, seq]) -> (logits) {
  x = embedding(tokens, wte) + embedding(positions(tokens), wpe)
  for b in h {
    a = layernorm(x, b.ln_1_w, b.ln_1_b, eps)
    q, k, v = split(matmul(a, b.c_attn_w) + b.c_attn_b, hidden, hidden, hidden)
    a = attention(q, k, v, heads=heads, causal=true)
    x = x + (matmul(a, b.c_proj_w) + b.c_proj_b)
    a = layernorm(x, b.ln_2_w, b.ln_2_b, eps)
    x = x + (matmul(gelu_tanh(matmul(a, b.c_fc_w) + b.c_fc_b), b.mlp_proj_w) + b.mlp_proj_b)
  }
  logits = linear(layernorm(x, ln_f_w, ln_f_b, eps), wte)   # tied head: x @ wte^T
  return logits
}
