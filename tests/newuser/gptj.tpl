# GPT-J (GPTJForCausalLM), Hugging Face tensor names. Rotary on the first rotary_dim = 64 dims
# of each 256-wide head, interleaved pairs (rotate_every_two: style=gptj); attention and MLP
# read the same ln_1 output and are added to the residual together (parallel residual);
# q/k/v/out projections have no bias; the LM head is untied and has a bias. gelu_new = tanh form.
# Defaults: EleutherAI/gpt-j-6b.
#
# RUN: %tpc %s --emit ir | FileCheck %s
# RUN: %tpc %s --emit ir -D layers=2 -D hidden=256 -D heads=4 -D rotary_dim=16 -D vocab=1000 | FileCheck %s --check-prefix=SMALL
# CHECK: @lm_head_b {{.*}}: f32[50400]{{.*}}= "lm_head.bias"
# CHECK: for @h[28] iter(
# CHECK: rope {{.*}}heads=16, theta=10000, style=gptj, rotary_dim=64 : f32[batch,seq,4096]
# CHECK: gelu_tanh
# CHECK: %logits = linear {{.*}}, @lm_head_w, @lm_head_b {{.*}}: f32[batch,seq,50400]
# SMALL: for @h[2] iter(
# SMALL: rope {{.*}}heads=4, theta=10000, style=gptj, rotary_dim=16 : f32[batch,seq,256]
# SMALL: f32[batch,seq,1024]
model gptj

config {
  vocab        = 50400
  hidden       = 4096
  layers       = 28
  heads        = 16
  head_dim     = hidden / heads
  rotary_dim   = 64
  intermediate = 4 * hidden
  eps          = 1e-5
  rope_theta   = 10000.0
}

weights {
  wte : [vocab, hidden] = "transformer.wte.weight"
  h[layers] {
    ln_1_w   : [hidden]               = "transformer.h.{i}.ln_1.weight"
    ln_1_b   : [hidden]               = "transformer.h.{i}.ln_1.bias"
    wq       : [hidden, hidden]       = "transformer.h.{i}.attn.q_proj.weight"
    wk       : [hidden, hidden]       = "transformer.h.{i}.attn.k_proj.weight"
    wv       : [hidden, hidden]       = "transformer.h.{i}.attn.v_proj.weight"
    wo       : [hidden, hidden]       = "transformer.h.{i}.attn.out_proj.weight"
    fc_in_w  : [intermediate, hidden] = "transformer.h.{i}.mlp.fc_in.weight"
    fc_in_b  : [intermediate]         = "transformer.h.{i}.mlp.fc_in.bias"
    fc_out_w : [hidden, intermediate] = "transformer.h.{i}.mlp.fc_out.weight"
    fc_out_b : [hidden]               = "transformer.h.{i}.mlp.fc_out.bias"
  }
  ln_f_w    : [hidden]        = "transformer.ln_f.weight"
  ln_f_b    : [hidden]        = "transformer.ln_f.bias"
  lm_head_w : [vocab, hidden] = "lm_head.weight"
  lm_head_b : [vocab]         = "lm_head.bias"
}

forward(tokens: i32[batch, seq]) -> (logits) {
  x = embedding(tokens, wte)
  for b in h {
    a = layernorm(x, b.ln_1_w, b.ln_1_b, eps)
    q = rope(linear(a, b.wq), heads=heads, theta=rope_theta, style=gptj, rotary_dim=rotary_dim)
    k = rope(linear(a, b.wk), heads=heads, theta=rope_theta, style=gptj, rotary_dim=rotary_dim)
    v = linear(a, b.wv)
    attn = linear(attention(q, k, v, heads=heads, causal=true), b.wo)
    ff = linear(gelu_tanh(linear(a, b.fc_in_w, b.fc_in_b)), b.fc_out_w, b.fc_out_b)
    x = x + attn + ff
  }
  logits = linear(layernorm(x, ln_f_w, ln_f_b, eps), lm_head_w, lm_head_b)
  return logits
}
